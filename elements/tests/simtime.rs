//! Simulated time (`--simtime`): the clock is virtual, jumps to the next
//! timer when no task is runnable, and the run ends when nothing is left
//! to happen.

use std::time::{Duration, Instant};

use click_engine::{ClockMode, Router, RunOptions, DEFAULT_SIMTIME_START};

fn run_sim(config: &str, threads: usize, reads: &[&str]) -> Result<Vec<String>, String> {
    let flat = click_lang::load_str(config, "config", &Default::default()).expect("parses");
    let router = Router::new(&flat, &click_elements::registry()).expect("checks");
    let report = router
        .run(&RunOptions {
            threads,
            final_reads: reads.iter().map(|r| r.to_string()).collect(),
            clock: ClockMode::Simulated(DEFAULT_SIMTIME_START),
            ..Default::default()
        })
        .map_err(|e| e.iter().map(|d| format!("{d}\n")).collect::<String>())?;
    report
        .reads
        .into_iter()
        .map(|r| r.map(|v| v.trim_end().to_string()))
        .collect()
}

#[test]
fn timers_fire_in_order_at_exact_virtual_times() {
    // Each script records the virtual time its timer fired.
    let reads = run_sim(
        "a :: Script(export t 0, wait 0.3s, set t $(now));
         b :: Script(export t 0, wait 0.1s, set t $(now));
         d :: Script(export t 0, wait 0.2s, set t $(now));
         e :: Script(export t 0, wait 100s, set t $(now));",
        1,
        &["b.t", "d.t", "a.t", "e.t"],
    )
    .unwrap();
    assert_eq!(
        reads,
        [
            "1000000000.100000",
            "1000000000.200000",
            "1000000000.300000",
            "1000000100.000000"
        ]
    );
}

#[test]
fn a_run_with_only_timers_finishes_at_once_in_real_time() {
    let start = Instant::now();
    let reads = run_sim(
        "s :: Script(export t 0, wait 3600s, wait 3600s, set t $(now));",
        1,
        &["s.t"],
    )
    .unwrap();
    assert_eq!(reads, ["1000007200.000000"]);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn rated_source_sends_exactly_n_packets_in_n_milliseconds() {
    // At 1000 packets per second, packets leave at 0, 1, ..., 1999 ms.
    let start = Instant::now();
    let reads = run_sim(
        "RatedSource(RATE 1000) -> c :: Counter -> Discard;
         s :: Script(export n 0, wait 1.9995s, set n $(c.count), wait 1s, stop);",
        1,
        &["s.n", "c.count"],
    )
    .unwrap();
    assert_eq!(reads[0], "2000");
    assert!(matches!(reads[1].as_str(), "3000" | "3001"), "{reads:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn simulated_time_on_two_threads_ends_when_no_thread_has_a_timer() {
    // The timers are on thread 1; thread 0 has nothing at all. Time jumps
    // from one of thread 1's timers to the next, and once its source is
    // spent the run is over by itself.
    let start = Instant::now();
    let reads = run_sim(
        "ts :: TimedSource(1, LIMIT 3) -> c :: Counter -> Discard;
         StaticThreadSched(ts 1);
         Idle -> Discard;",
        2,
        &["c.count"],
    )
    .unwrap();
    assert_eq!(reads, ["3"]);
    assert!(start.elapsed() < Duration::from_secs(2));
}

// Handler calls on elements already on the call stack: writes run as soon
// as the current top-level call returns.

#[test]
fn a_packet_script_writes_to_the_unqueue_upstream_of_it() {
    let reads = run_sim(
        "InfiniteSource(LIMIT 5, STOP true)
            -> SimpleQueue
            -> unqueue :: Unqueue(LIMIT 1)
            -> s :: Script(TYPE PACKET, export count 0,
                           set count $(add $count 1), write unqueue.reset);
         DriverManager(pause, wait 0.1s);",
        1,
        &["s.count", "unqueue.count"],
    )
    .unwrap();
    assert_eq!(reads, ["5", "0"]);
}

#[test]
fn an_end_call_writes_back_into_its_own_source() {
    let reads = run_sim(
        "src :: InfiniteSource(LIMIT 2, END_CALL s.run) -> c :: Counter -> Discard;
         s :: Script(TYPE PASSIVE, export n 0, set n $(add $n 1),
                     goto done $(ge $n 3), write src.reset, label done);",
        1,
        &["s.n", "c.count", "src.count"],
    )
    .unwrap();
    assert_eq!(reads, ["3", "6", "2"]);
}

#[test]
fn a_packet_script_reading_an_element_on_the_call_stack_gets_busy() {
    let reads = run_sim(
        "InfiniteSource(LIMIT 1) -> Queue -> u :: Unqueue
            -> s :: Script(TYPE PACKET, export v x, set v $(u.count));",
        1,
        &["s.v", "u.count"],
    )
    .unwrap();
    // The packet cannot wait: the read failed (`u: busy`, reported on
    // stderr), so the expansion stayed unexpanded.
    assert_eq!(reads, ["$(u.count)", "1"]);
}

#[test]
fn other_scripts_wait_for_an_element_on_the_call_stack() {
    // `s` runs from c's COUNT_CALL, in the middle of up's push, and reads
    // up: it goes on from that instruction once the push returns (nothing
    // else moves meanwhile), and sees what Click shows, up at 3.
    let reads = run_sim(
        "InfiniteSource(LIMIT 5, BURST 1) -> up :: Counter -> c :: Counter(COUNT_CALL 3 s.run)
            -> Discard;
         s :: Script(TYPE PASSIVE, export before 0, export v x, export after 0,
                     set before $(add $before 1), set v $(up.count), set after $(add $after 1));",
        1,
        &["s.before", "s.v", "s.after", "up.count"],
    )
    .unwrap();
    // The instructions before the read ran once, the read and the rest
    // once, after the wait.
    assert_eq!(reads, ["1", "3", "1", "5"]);
}

#[test]
fn timedsink_pulls_at_its_pace_and_shaper_paces_output_0() {
    // 1 s of virtual time: TimedSink pulls every 10 ms (100 pulls); the
    // Shaper lets 20 per second through output 0, the rest of the pulls
    // find output 1.
    let reads = run_sim(
        "InfiniteSource(LIMIT 1000) -> s :: Shaper(20);
         s[0] -> c0 :: Counter -> [0]rr :: RoundRobinSched -> t :: TimedSink(10ms);
         s[1] -> c1 :: Counter -> [1]rr;
         DriverManager(wait 1005ms, stop);",
        1,
        &["t.count", "c0.count", "c1.count"],
    )
    .unwrap();
    assert_eq!(reads[0], "100");
    let shaped: u64 = reads[1].parse().unwrap();
    assert!((19..=21).contains(&shaped), "{reads:?}");
    assert_eq!(shaped + reads[2].parse::<u64>().unwrap(), 100);
}

#[test]
fn averagecounter_rates_over_the_counted_time() {
    // One packet each 10 ms of virtual time, 101 of them: 1 s from the
    // first to the last. With IGNORE 0.5, the 51 packets from 500 ms on
    // over the last 500 ms.
    let reads = run_sim(
        "TimedSource(10ms, LIMIT 101, STOP true) -> t :: Tee;
         t[0] -> a :: AverageCounter -> Discard;
         t[1] -> b :: AverageCounterMP(IGNORE 0.5) -> Discard;",
        1,
        &["a.count", "a.rate", "a.bit_rate", "b.count", "b.rate"],
    )
    .unwrap();
    // TimedSource's default packet is Click's 69 bytes: 101 * 69 * 8 bits.
    assert_eq!(reads, ["101", "101", "55752", "51", "102"]);
}

#[test]
fn bandwidthshaper_paces_bytes() {
    // 10000 bytes per second of 100-byte packets, pulled every 1 ms (from
    // 1 ms on) for 2 s of virtual time: one packet each 10 ms, 200. (A
    // TimedSink, not an Unqueue: a task pulling in vain would keep virtual
    // time crawling.)
    let reads = run_sim(
        "InfiniteSource(LENGTH 100) -> s :: BandwidthShaper(10000Bps) -> c :: Counter
             -> TimedSink(1ms);
         DriverManager(wait 2s, stop);",
        1,
        &["c.count", "c.byte_count", "s.rate"],
    )
    .unwrap();
    assert_eq!(reads, ["200", "20000", "10000"]);
}

/// Simulated time with two threads: a thread that wakes a task on the
/// other just before it goes idle itself must not let time jump past that
/// task (the packets crossing were lost 8 times in 10 before).
#[test]
fn time_does_not_jump_past_a_task_woken_on_another_thread() {
    for run in 0..20 {
        let out = run_sim(
            "s0 :: InfiniteSource(LENGTH 80, LIMIT 7, STOP true) -> q :: ThreadSafeQueue;
             q -> u :: Unqueue -> c :: Counter -> Discard;
             StaticThreadSched(u 1);
             DriverManager(wait_stop, wait 1s, stop);",
            2,
            &["c.count"],
        )
        .unwrap();
        assert_eq!(out, ["7"], "run {run}");
    }
}
