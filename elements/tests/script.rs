//! Script and DriverManager, run end to end. Output that Click sends to
//! standard output is checked through `print >FILE`, which writes the same
//! text to a file.

mod common;
use common::{check, run};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A fresh temporary file path for one test.
fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("click-script-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn read(p: &PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn script_writes_handlers_and_reads_counters() {
    let f = temp("counters");
    let config = format!(
        "src :: InfiniteSource(LIMIT 10, ACTIVE false) -> c :: Counter -> Discard;
         Script(print >{0} $(c.count), write src.active true, wait 30ms,
                print >>{0} $(c.count), print >>{0} c.count, stop);",
        f.display()
    );
    let out = run(&config, 1, &["c.count"]).unwrap();
    assert_eq!(out, ["10\n"]);
    assert_eq!(read(&f), "0\n10\n10\n");
}

#[test]
fn goto_loop_counts() {
    let f = temp("loop");
    let config = format!(
        "s :: Script(set x 0, label l, printn >>{0} \"$x \", set x $(s.add $x 1),
                     goto l $(lt $x 5), print >>{0} \"done $x\", stop);",
        f.display()
    );
    run(&config, 1, &[]).unwrap();
    assert_eq!(read(&f), "0 1 2 3 4 done 5\n");
}

#[test]
fn wait_blocks_for_its_time() {
    let start = Instant::now();
    run("Script(wait 30ms, wait 0.02, stop);", 1, &[]).unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(45), "stopped after {took:?}");
    assert!(took < Duration::from_secs(10));
}

#[test]
fn arithmetic_like_click_script_04() {
    let f = temp("arith");
    let config = format!(
        "s0 :: Script(print >>{0} $(add 1 2 3), print >>{0} $(sub 10 2 2),
            print >>{0} $(min 10 6 20), print >>{0} $(max -1 6 3), print >>{0} $(mul 1 2 3),
            print >>{0} $(div 75 2.5 5), print >>{0} $(idiv 60 2 5),
            print >>{0} $(htonl $(ntohl 6)), print >>{0} $(htons $(ntohs 6)),
            write set foovar foo bar baz, print >>{0} $(shift foovar),
            print >>{0} $(shift foovar), print >>{0} $(get foovar), stop)",
        f.display()
    );
    run(&config, 1, &[]).unwrap();
    assert_eq!(read(&f), "6\n6\n6\n6\n6\n6\n6\n6\n6\nfoo\nbar\nbaz\n");
}

#[test]
fn passive_script_runs_from_another_like_click_script_02() {
    let f = temp("passive");
    let config = format!(
        "s0 :: Script(printn >{} $(s.run \"\\<0a 09 01>\"), stop);
         s :: Script(TYPE PASSIVE, returnq $1)",
        f.display()
    );
    run(&config, 1, &[]).unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), [0x0a, 0x09, 0x01]);
}

#[test]
fn jump_limit_disables_the_script_like_click_script_03() {
    run(
        "s0 :: Script(label a, goto a); s1 :: Script(wait 10ms, stop);",
        1,
        &[],
    )
    .unwrap();
}

#[test]
fn drivermanager_waits_for_two_stop_events() {
    let out = run(
        "a :: InfiniteSource(LIMIT 10, STOP true) -> ca :: Counter -> Discard;
         b :: InfiniteSource(LIMIT 50000, STOP true) -> cb :: Counter -> Discard;
         DriverManager(wait_stop 2, stop);",
        1,
        &["ca.count", "cb.count"],
    )
    .unwrap();
    assert_eq!(out, ["10\n", "50000\n"]);
}

#[test]
fn drivermanager_without_instructions_stops_at_the_first_event() {
    let out = run(
        "a :: InfiniteSource(LIMIT 10, STOP true) -> ca :: Counter -> Discard;
         DriverManager;",
        1,
        &["ca.count"],
    )
    .unwrap();
    assert_eq!(out, ["10\n"]);
}

#[test]
fn driver_script_steps_on_stop_events_and_runs_on_after() {
    let f = temp("driver");
    let config = format!(
        "a :: InfiniteSource(LIMIT 10, STOP true) -> ca :: Counter -> Discard;
         b :: InfiniteSource(LIMIT 1000, STOP true) -> cb :: Counter -> Discard;
         Script(TYPE DRIVER, print >{0} \"start\", pause, print >>{0} 'one',
                pause, wait 20ms, print >>{0} $(ca.count) $(cb.count))",
        f.display()
    );
    let start = Instant::now();
    run(&config, 1, &["cb.count"]).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(15));
    assert_eq!(read(&f), "start\none\n10 1000\n");
}

#[test]
fn stop_from_another_script_is_a_driver_stop_event() {
    let f = temp("stopevent");
    let config = format!(
        "DriverManager(pause, print >{0} \"stopped once\", pause, print >>{0} \"twice\");
         Script(wait 10ms, stop); Script(wait 30ms, write stop);",
        f.display()
    );
    run(&config, 1, &[]).unwrap();
    assert_eq!(read(&f), "stopped once\ntwice\n");
}

#[test]
fn script_errors_name_the_element() {
    let err = check("s :: Script(frob 1);").unwrap_err();
    assert!(
        err.contains('s') && err.contains("syntax error at 'frob'"),
        "{err}"
    );
    let err = check("t :: Script(goto nowhere);").unwrap_err();
    assert!(err.contains("no such label 'nowhere'"), "{err}");
    let err = check("DriverManager(stop); DriverManager(stop);");
    assert!(err.is_err() || run("DriverManager(stop); DriverManager(stop);", 1, &[]).is_err());
}

#[test]
fn packet_scripts_route_by_return_value() {
    let out = run(
        "src :: InfiniteSource(LIMIT 9, STOP true)
           -> s :: Script(TYPE PACKET, init i 0, set j $i, set i $(add $i 1),
                          set i $(if $(eq $i 3) 0 $i), return $j);
         s[0] -> c0 :: Counter -> Discard;
         s[1] -> c1 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count"],
    )
    .unwrap();
    // j cycles 0, 1, 2: port 2 does not exist, so those packets drop.
    assert_eq!(out, ["3\n", "3\n"]);
}

#[test]
fn a_print_that_waits_for_a_busy_element_prints_once() {
    // `s` runs in the middle of up's push (c's COUNT_CALL) and prints up's
    // count: once, with the value, after the push returns.
    let f = temp("busy-print");
    let config = format!(
        "InfiniteSource(LIMIT 5, BURST 1, STOP true) -> up :: Counter
            -> c :: Counter(COUNT_CALL 3 s.run) -> Discard;
         s :: Script(TYPE PASSIVE, print >>{} \"up=$(up.count) c=$(c.count)\");",
        f.display()
    );
    run(&config, 1, &[]).unwrap();
    assert_eq!(read(&f), "up=3 c=3\n");
}
