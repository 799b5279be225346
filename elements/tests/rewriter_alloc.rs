//! A rewriter allocates nothing per packet once a flow exists: a long run
//! of a flow's packets and its replies through IPRewriter makes no more
//! heap allocations than a short one (the flow itself is made once).
//!
//! A counting `#[global_allocator]` counts the allocations of the thread
//! that turned counting on; with one scheduler thread, `Router::run` runs
//! every element on the calling thread.

#[path = "common/alloc_run.rs"]
mod alloc_run;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use alloc_run::counted_run as run_counted;

/// TCP 10.0.0.1:5 > 2.2.2.2:80, and its reply once mapped to 1.0.0.1:1024.
const FORWARD: &str =
    "450000280001000040066ccb0a00000102020202000500500000000100000000501003e89d920000";
const REPLY: &str =
    "4500002800010000400675cb0202020201000001005004000000000100000000501003e8a2970000";

fn config(packets: u64) -> String {
    format!(
        "rw :: IPRewriter(pattern 1.0.0.1 1024-65535# - - 0 1, drop);
         InfiniteSource(DATA \\<{FORWARD}>, LIMIT {packets}, BURST 32, STOP true)
              -> MarkIPHeader(0) -> [0]rw;
         InfiniteSource(DATA \\<{REPLY}>, LIMIT {packets}, BURST 32)
              -> MarkIPHeader(0) -> [1]rw;
         rw[0] -> fwd :: Counter -> Discard;
         rw[1] -> back :: Counter -> Discard;"
    )
}

fn counted_run(packets: u64) -> (u64, u64, u64) {
    let registry = click_elements::registry();
    let reads = ["fwd.count", "back.count"];
    let (allocs, n) = run_counted(&config(packets), &registry, None, &reads);
    (allocs, n[0], n[1])
}

#[test]
fn a_mapped_flow_allocates_nothing_per_packet() {
    let _ = counted_run(10_000); // warm-up: pools, thread caches
    let (short, fwd_short, back_short) = counted_run(10_000);
    let (long, fwd_long, back_long) = counted_run(200_000);
    assert_eq!((fwd_short, fwd_long), (10_000, 200_000));
    // Replies that came before the first forward packet had no mapping.
    assert!(
        back_short > 9_000 && back_long > 199_000,
        "{back_short} {back_long}"
    );
    assert!(
        long <= short + 16,
        "the path allocates: {short} allocations for 10,000 packets, {long} for 200,000"
    );
}
