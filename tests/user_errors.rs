//! A user's first hour: inputs that used to hang, abort or mislead. Each
//! exits within a second, with the message asked for, never with a panic
//! or an abort.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the router with `args` and `stdin`, killed after two seconds:
/// (exit code, stdout, stderr, how long it took).
fn outcome(args: &[&str], stdin: &str) -> (Option<i32>, String, String, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run router");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let deadline = start + Duration::from_secs(2);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr),
        start.elapsed(),
    )
}

#[test]
fn an_empty_configuration_ends_as_clicks_does() {
    let dir = std::env::temp_dir().join(format!("router-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (empty, comments) = (dir.join("empty.click"), dir.join("comments.click"));
    std::fs::write(&empty, "").unwrap();
    std::fs::write(&comments, "// nothing here\n/* nor here */\n").unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (vec![empty.to_str().unwrap()], "empty.click"),
        (vec![comments.to_str().unwrap()], "comments.click"),
        (vec!["-e", ""], "config"),
        (vec![], "<stdin>"),
        (
            vec!["--check", comments.to_str().unwrap()],
            "comments.click",
        ),
    ];
    for (args, name) in cases {
        let (code, _, err, took) = outcome(&args, "");
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(
            err.contains(name) && err.contains("configuration has no elements, exiting"),
            "{args:?}: {err}"
        );
        assert!(took < Duration::from_secs(1), "{args:?} took {took:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_huge_queue_neither_aborts_nor_allocates_for_it() {
    for class in ["Queue", "SimpleQueue", "ThreadSafeQueue"] {
        let config = format!(
            "InfiniteSource(LIMIT 10, STOP true) -> q :: {class}(4000000000) -> Unqueue
               -> c :: Counter -> Discard;
             DriverManager(wait_stop, wait 20ms, stop);"
        );
        let (code, _, err, _) = outcome(&["--check", "-e", &config], "");
        assert_eq!(code, Some(0), "{class}: {err}");
        let (code, out, err, _) =
            outcome(&["-e", &config, "-h", "c.count", "-h", "q.capacity"], "");
        assert_eq!(code, Some(0), "{class}: {err}");
        assert_eq!(
            out, "c.count:\n10\n\nq.capacity:\n4000000000\n\n",
            "{class}"
        );
    }
}

#[test]
fn arguments_past_the_limits_say_the_limit() {
    let cases = [
        (
            "InfiniteSource(LENGTH 4000000000) -> Discard",
            "LENGTH 4000000000 is longer than the longest packet, 131072 bytes",
        ),
        (
            "Idle -> t :: Tee(100000) -> Discard",
            "N is 100000, but 1 output connected",
        ),
        ("RandomSource(100000) -> Discard", "bad length 100000"),
    ];
    for (config, message) in cases {
        let (code, _, err, took) = outcome(&["--check", "-e", config], "");
        assert_eq!(code, Some(1), "{config}: {err}");
        assert!(err.contains(message), "{config}: {err}");
        assert!(!err.contains("panicked"), "{config}: {err}");
        assert!(took < Duration::from_secs(1), "{config} took {took:?}");
    }
}

#[test]
fn packages_are_not_loaded_at_run_time_and_say_so() {
    let (code, _, err, _) = outcome(
        &["--check", "-e", "require(package \"foo\"); Idle -> Discard"],
        "",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("requirement 'foo' not available")
            && err.contains("build a router binary with those elements"),
        "{err}"
    );
    let (code, _, err, _) = outcome(
        &[
            "--check",
            "-e",
            "require(userlevel, compact_config); Idle -> Discard",
        ],
        "",
    );
    assert_eq!(
        code,
        Some(0),
        "the driver's own features are provided: {err}"
    );
}

#[test]
fn nothing_is_dropped_in_silence() {
    // Unstrip past the longest packet: dropped, said once, counted.
    let (code, out, err, _) = outcome(
        &[
            "--stats",
            "-h",
            "c.count",
            "-e",
            "InfiniteSource(LIMIT 2, LENGTH 10, STOP true) -> u :: Unstrip(200000)
               -> c :: Counter -> Print -> Discard",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "0\n");
    let warning = "dropped packets: too long to unstrip";
    assert_eq!(err.matches(warning).count(), 1, "said once: {err}");
    let row = err
        .lines()
        .find(|l| l.starts_with("u :: Unstrip"))
        .unwrap_or_else(|| panic!("no stats row: {err}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    // element (3 words), in, out, drops, cycles/pkt, reasons...
    assert_eq!(columns[3..6], ["2", "0", "2"], "{row}");
    assert!(
        row.ends_with("too long to unstrip: past the longest packet: 2"),
        "{row}"
    );
}

#[test]
fn stats_count_packets_by_port_pushed_and_pulled() {
    let (code, _, err, _) = outcome(
        &[
            "--stats",
            "-e",
            "InfiniteSource(LIMIT 100, BURST 8, STOP true) -> t :: Tee(2) -> q :: Queue
               -> u :: Unqueue -> Discard;
             t[1] -> d :: Discard;
             DriverManager(wait_stop, wait 20ms, stop);",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    let row = |name: &str| -> Vec<String> {
        let line = err
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}: {err}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("t :: Tee")[3..6], ["100", "0:100", "1:100"]);
    assert_eq!(
        row("q :: Queue")[3..5],
        ["100", "100"],
        "pulled out of the queue"
    );
    assert_eq!(row("u :: Unqueue")[3..5], ["100", "100"]);
    assert_eq!(row("d :: Discard")[3..5], ["100", "-"]);
}
