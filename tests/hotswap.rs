//! Hot swapping (`router -R`): writing new configuration text to the
//! global `hotconfig` handler replaces the running router; elements of the
//! new router take the state of their namesakes (Click's `take_state`).
//! The control-socket side is in `controlsocket.rs`.

mod common;

use std::time::Duration;

/// A router whose Queue `q` holds ten packets (nothing pulls it) when a
/// Script swaps in a configuration that drains `q`, of capacity `$CAP`,
/// through Counter `c`.
const FILLED_QUEUE: &str = "InfiniteSource(LIMIT 10, STOP false) -> q :: Queue(100) -> Idle;
Script(wait 0.05s,
       write hotconfig Idle -> q :: SimpleQueue($CAP) -> Unqueue -> c :: Counter -> Discard;
                       DriverManager(wait 0.05s, stop))";

#[test]
fn a_queue_keeps_its_packets_across_a_swap() {
    let out = common::router(&[
        "-R",
        "-h",
        "c.count",
        "-h",
        "q.highwater_length",
        "-e",
        FILLED_QUEUE,
        "CAP=20",
    ]);
    // The handlers are read from the new router: its queue took the old
    // one's ten packets (a SimpleQueue takes a Queue's), and they flowed.
    assert_eq!(common::values(&out), [10, 10], "{out}");
}

#[test]
fn packets_that_do_not_fit_the_new_queue_are_freed_with_a_warning() {
    let (status, stdout, stderr) =
        common::router_outcome(&["-R", "-h", "c.count", "-e", FILLED_QUEUE, "CAP=4"]);
    assert!(status.success());
    assert_eq!(stdout, "4\n");
    assert!(
        stderr.contains("q: some packets lost (old length 10, new capacity 4)"),
        "{stderr}"
    );
}

#[test]
fn a_mixedqueue_takes_a_queues_packets_across_a_swap() {
    let config = "InfiniteSource(LIMIT 10, STOP false) -> q :: Queue(100) -> Idle;
Script(wait 0.05s,
       write hotconfig Idle -> q :: MixedQueue(6) -> Unqueue -> c :: Counter -> Discard;
                       Idle -> [1]q; DriverManager(wait 0.05s, stop))";
    let (status, stdout, stderr) = common::router_outcome(&["-R", "-h", "c.count", "-e", config]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "6\n");
    assert!(
        stderr.contains("q: some packets lost (old length 10, new capacity 6)"),
        "{stderr}"
    );
}

#[test]
fn hotconfig_exists_only_with_the_r_flag() {
    let config = "InfiniteSource(LIMIT 1, STOP true) -> Discard;
        Script(write hotconfig Idle -> Discard, print done)";
    let (_, _, stderr) = common::router_outcome(&["-e", config]);
    assert!(stderr.contains("no write handler 'hotconfig'"), "{stderr}");
}

#[test]
fn a_refused_configuration_leaves_the_old_router_running() {
    // The bad text fails the write (Script prints its error); the
    // router that runs on is still the first one.
    let config = "InfiniteSource(LIMIT 3, STOP true) -> c :: Counter -> Discard;
        Script(write hotconfig Print, print on)";
    let (status, stdout, stderr) = common::router_outcome(&["-R", "-h", "c.count", "-e", config]);
    assert!(status.success());
    assert_eq!(stdout, "3\n");
    assert!(
        stderr.contains("Router could not be initialized!"),
        "{stderr}"
    );
}

#[test]
fn thread_safe_queues_carry_their_packets_too() {
    // Ten packets wait in `q`; the new router's `q`, of either kind, gets
    // them all. A ThreadSafeQueue is pushed on thread 1 and pulled on
    // thread 0 (Idle), or pushed on thread 0 (Idle) and drained on thread
    // 1; a Queue stays on thread 0.
    for (old, src_on, new, unqueue_on) in [
        ("ThreadSafeQueue", 1, "ThreadSafeQueue", 1),
        ("ThreadSafeQueue", 1, "Queue", 0),
        ("Queue", 0, "ThreadSafeQueue", 1),
    ] {
        let config = format!(
            "src :: InfiniteSource(LIMIT 10, STOP false) -> q :: {old}(100) -> Idle;
             StaticThreadSched(src {src_on});
             Script(wait 0.05s,
                    write hotconfig Idle -> q :: {new}(50) -> u :: Unqueue -> c :: Counter -> Discard;
                                    StaticThreadSched(u {unqueue_on}); DriverManager(wait 0.05s, stop))"
        );
        let args = ["-j", "2", "-R", "-h", "c.count", "-e", &config];
        let out = common::router_within(&args, Duration::from_secs(10));
        assert_eq!(out.as_deref(), Some("10\n"), "{old} to {new}");
    }
}

#[test]
fn simulated_time_goes_on_across_a_swap() {
    // `writeq` and single quotes: the new text's `$(now)` is expanded by
    // the new Script, not by this one.
    let config = "Script(wait 5s, print $(now),
                         writeq hotconfig 'Script(wait 1s, print $(now), stop)')";
    let out = common::router(&["--simtime", "-R", "-e", config]);
    assert_eq!(out, "1000000005.000000\n1000000006.000000\n");
}
