//! The elements of `queueing.rs` and `small_elements.rs` allocate nothing
//! per packet: a long run makes no more heap allocations than a short one
//! through the same router (MixedQueue on both inputs and dropping,
//! TimeSortedSched, DelayShaper, LinkUnqueue, the timestamp elements,
//! Hub, CheckPaint, StaticSwitch, RandomSample, MarkMACHeader), under
//! simulated time so the timed elements release packets without waiting.
//!
//! A counting `#[global_allocator]` counts the allocations of the thread
//! that turned counting on; with one scheduler thread, `Router::run` runs
//! every element on the calling thread.

use click_engine::{ClockMode, DEFAULT_SIMTIME_START};

#[path = "common/alloc_run.rs"]
mod alloc_run;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use alloc_run::counted_run as run_counted;

fn config(packets: u64) -> String {
    format!(
        "s0 :: InfiniteSource(LENGTH 64, LIMIT {packets}, BURST 32, STOP true)
            -> SetTimestamp -> [0]m :: MixedQueue(200);
         s1 :: InfiniteSource(LENGTH 64, LIMIT {packets}, BURST 32, STOP true)
            -> SetTimestamp -> [1]m;
         m -> Unqueue(32) -> Paint(1) -> CheckPaint(1) -> MarkMACHeader(0, 14)
            -> StaticSwitch(0) -> [0]h :: Hub;
         Idle -> [1]h;
         h[0] -> Discard;
         h[1] -> AdjustTimestamp(0.001) -> SetTimestampDelta -> TimeFilter(0, 1000000)
            -> RandomSample(1) -> q :: Queue(200) -> [0]tss :: TimeSortedSched(BUFFER 4);
         Idle -> [1]tss;
         tss -> DelayShaper(0) -> Unqueue(32) -> lq :: Queue(200)
            -> LinkUnqueue(0, 100Gbps) -> c :: Counter -> Discard;
         DriverManager(wait_stop 2, wait_time 10ms, stop);"
    )
}

const READS: [&str; 4] = ["c.count", "m.drops", "q.drops", "lq.drops"];

fn counted_run(packets: u64) -> (u64, Vec<u64>) {
    let clock = ClockMode::Simulated(DEFAULT_SIMTIME_START);
    let registry = click_elements::registry();
    run_counted(&config(packets), &registry, Some(clock), &READS)
}

#[test]
fn the_queueing_and_timestamp_elements_allocate_nothing_per_packet() {
    let _ = counted_run(10_000); // warm-up: pools, thread caches
    let (short, r_short) = counted_run(10_000);
    let (long, r_long) = counted_run(200_000);
    for (n, r) in [(10_000, &r_short), (200_000, &r_long)] {
        // Every packet of both sources came out, or was dropped by a
        // queue and counted there.
        assert_eq!(r.iter().sum::<u64>(), 2 * n, "{READS:?} {r:?}");
        assert!(r[0] > n, "{READS:?} {r:?}");
    }
    assert!(
        long <= short + 16,
        "the path allocates: {short} allocations for 10,000 packets each, {long} for 200,000"
    );
}
