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

mod common;

use std::time::Duration;

use common::{router_within, values};

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

#[test]
fn a_paused_source_is_always_woken_and_never_overflows_the_queue() {
    let config = config();
    for run in 1..=RUNS {
        let args = [
            "-j",
            "2",
            "--no-affinity",
            "-h",
            "c.count",
            "-h",
            "q.length",
        ];
        let args = [&args[..], &["-h", "q.drops", "-e", &config]].concat();
        let Some(out) = router_within(&args, DEADLINE) else {
            panic!("run {run} stalled: a wake-up between the threads was lost");
        };
        let [counted, queued, dropped] = values(&out)[..] else {
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
    const EACH: u64 = 200_000;
    let config = format!(
        "s0 :: InfiniteSource(LENGTH 64, LIMIT {EACH}, STOP true) -> a :: Counter -> q :: ThreadSafeQueue(256);
         s1 :: InfiniteSource(LENGTH 64, LIMIT {EACH}, STOP true) -> b :: Counter -> q;
         q -> uq :: Unqueue -> c :: Counter -> Discard;
         StaticThreadSched(s0 0, s1 1, uq 1);
         DriverManager(wait_stop 2, wait 200ms, stop);"
    );
    let args = [
        "-j",
        "2",
        "--no-affinity",
        "-h",
        "a.count",
        "-h",
        "b.count",
        "-h",
        "c.count",
    ];
    let args = [
        &args[..],
        &["-h", "q.length", "-h", "q.drops", "-e", &config],
    ]
    .concat();
    let out =
        router_within(&args, DEADLINE).expect("stalled: a wake-up between the threads was lost");
    assert_eq!(values(&out), [EACH, EACH, 2 * EACH, 0, 0], "{out}");
}

#[test]
fn a_handler_call_wakes_the_parked_thread_it_goes_to() {
    // The Counter is on thread 1, idle once its one packet went by; the
    // Script on thread 0 reads it 100 times. Each read is a message to
    // thread 1 and must wake it: when the mailboxes held wakers of their
    // own, thread 1 answered only when its 50 ms idle park ran out, and
    // these reads took 5 s.
    const READS: u32 = 100;
    let config = format!(
        "src :: InfiniteSource(LIMIT 1, STOP false) -> q :: ThreadSafeQueue -> uq :: Unqueue -> c :: Counter -> Discard;
         s :: Script(wait 0.1s, set i 0, label l, set x $(c.count), set i $(add $i 1),
                     goto l $(lt $i {READS}), print $x, stop);
         StaticThreadSched(src 0, s 0, uq 1);"
    );
    let args = ["-j", "2", "--no-affinity", "-e", &config];
    let out = router_within(&args, Duration::from_secs(2))
        .expect("100 reads across threads took 2 s: the reads wait for the idle park to run out");
    assert_eq!(out, "1\n");
}
