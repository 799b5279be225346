//! One router run with this thread's allocations counted, for the
//! zero-allocation tests (`*_alloc.rs`, each with `counting_alloc` beside
//! this module): with one scheduler thread, `Router::run` runs every
//! element on the calling thread, so the count is the run's.

use std::cell::Cell;

use click_engine::{ClockMode, Registry, Router, RunOptions};

use crate::counting_alloc::{ALLOCS, COUNTING};

/// Runs `config` on one thread with `registry` (in `clock`, if given),
/// counting the allocations made during the run; returns them and the
/// values of the handlers `reads` (counts) when it ended.
pub fn counted_run(
    config: &str,
    registry: &Registry,
    clock: Option<ClockMode>,
    reads: &[&str],
) -> (u64, Vec<u64>) {
    let flat = click_lang::load_str(config, "alloc", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router = Router::new(&flat, registry).unwrap_or_else(|e| panic!("{e:?}"));
    let mut opts = RunOptions {
        threads: 1,
        pin: None,
        final_reads: reads.iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    };
    if let Some(clock) = clock {
        opts.clock = clock;
    }
    COUNTING.with(|c| c.set(true));
    ALLOCS.with(|n| n.set(0));
    let report = router.run(&opts);
    COUNTING.with(|c| c.set(false));
    let report = report.unwrap_or_else(|e| panic!("{e:?}"));
    let values = report
        .reads
        .into_iter()
        .map(|r| r.unwrap().trim().parse().unwrap())
        .collect();
    (ALLOCS.with(Cell::get), values)
}
