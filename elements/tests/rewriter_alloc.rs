//! A rewriter allocates nothing per packet once a flow exists: a long run
//! of a flow's packets and its replies through IPRewriter makes no more
//! heap allocations than a short one (the flow itself is made once).
//!
//! A counting `#[global_allocator]` counts the allocations of the thread
//! that turned counting on; with one scheduler thread, `Router::run` runs
//! every element on the calling thread.

use std::cell::Cell;

use click_engine::{Router, RunOptions};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, COUNTING};

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
    let flat = click_lang::load_str(&config(packets), "alloc", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router =
        Router::new(&flat, &click_elements::registry()).unwrap_or_else(|e| panic!("{e:?}"));
    let opts = RunOptions {
        threads: 1,
        pin: None,
        final_reads: vec!["fwd.count".into(), "back.count".into()],
        ..Default::default()
    };
    COUNTING.with(|c| c.set(true));
    ALLOCS.with(|n| n.set(0));
    let report = router.run(&opts);
    COUNTING.with(|c| c.set(false));
    let report = report.unwrap_or_else(|e| panic!("{e:?}"));
    let reads: Vec<u64> = report
        .reads
        .into_iter()
        .map(|r| r.unwrap().trim().parse().unwrap())
        .collect();
    (ALLOCS.with(Cell::get), reads[0], reads[1])
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
