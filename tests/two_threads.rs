//! Two scheduler threads joined by a ThreadSafeQueue: every packet arrives,
//! none is lost, and the run ends.
//!
//! A stress test for the hand-off between the threads. The source pauses
//! whenever the queue is full (its full notifier) and the consumer is made
//! slow (a chain of Counters), so the source sleeps and is woken from the
//! other thread hundreds of thousands of times per run. Before the
//! scheduler fenced its "unscheduled" store against the task's signal
//! reads, and before the full notifier was raised only with a batch of
//! room, about one run in ten of this shape stalled for ever with the
//! source asleep, or dropped a batch.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PACKETS: u64 = 3_000_000;
const RUNS: usize = 4;
/// Each run takes well under a second on the 2-core dev VM.
const DEADLINE: Duration = Duration::from_secs(30);

fn config() -> String {
    let work = "-> Counter ".repeat(32);
    format!(
        "src :: InfiniteSource(LENGTH 64, LIMIT {PACKETS}, BURST 32, STOP true, TIMESTAMP false);
         src -> q :: ThreadSafeQueue(256) -> uq :: Unqueue(BURST 32) {work} -> c :: Counter -> Discard;
         StaticThreadSched(src 0, uq 1);"
    )
}

/// Runs the router and returns its standard output; `None` if it had to be
/// killed at the deadline.
fn run_with_deadline(config: &str) -> Option<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(["-j", "2", "--no-pin", "-h", "c.count", "-h", "q.length"])
        .args(["-h", "q.drops", "-e", config])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run router");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for router") {
            assert!(status.success(), "router failed: {status}");
            let mut out = String::new();
            let mut stdout = child.stdout.take().expect("piped stdout");
            stdout.read_to_string(&mut out).expect("read router output");
            return Some(out);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_paused_source_is_always_woken_and_never_overflows_the_queue() {
    let config = config();
    for run in 1..=RUNS {
        let Some(out) = run_with_deadline(&config) else {
            panic!("run {run} stalled: a wake-up between the threads was lost");
        };
        let values: Vec<u64> = out.lines().filter_map(|l| l.parse().ok()).collect();
        let [counted, queued, dropped] = values[..] else {
            panic!("run {run}: unexpected handler output {out:?}");
        };
        // The run stops when the source has made its last packet; some may
        // still be in the queue then.
        assert_eq!(
            (counted + queued, dropped),
            (PACKETS, 0),
            "run {run}: every packet crossed or is still queued, none dropped: {out:?}"
        );
    }
}

#[test]
fn two_threads_push_into_one_queue() {
    // Click's ThreadSafeQueue takes pushes from several threads: one ring
    // per pushing thread, drained in turn by the puller (here on one of
    // the pushing threads itself).
    const EACH: u64 = 1_000_000;
    let config = format!(
        "s0 :: InfiniteSource(LENGTH 64, LIMIT {EACH}, STOP true) -> a :: Counter -> q :: ThreadSafeQueue(256);
         s1 :: InfiniteSource(LENGTH 64, LIMIT {EACH}, STOP true) -> b :: Counter -> q;
         q -> uq :: Unqueue -> c :: Counter -> Discard;
         StaticThreadSched(s0 0, s1 1, uq 1);
         DriverManager(wait_stop 2, wait 200ms, stop);"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(["-j", "2", "--no-pin", "-h", "a.count", "-h", "b.count"])
        .args([
            "-h", "c.count", "-h", "q.length", "-h", "q.drops", "-e", &config,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run router");
    let start = Instant::now();
    while child.try_wait().expect("wait for router").is_none() {
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("stalled");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    let mut stdout = child.stdout.take().expect("piped stdout");
    stdout.read_to_string(&mut out).expect("read router output");
    let values: Vec<u64> = out.lines().filter_map(|l| l.parse().ok()).collect();
    assert_eq!(values, [EACH, EACH, 2 * EACH, 0, 0], "{out}");
}
