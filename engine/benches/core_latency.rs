//! Core-to-core latency: two threads pinned to the first two cores pass a
//! counter back and forth through one cache line; prints the round trip.
//!
//! Every packet that crosses threads moves cache lines between cores, so
//! this figure bounds what a `ThreadSafeQueue` can do. On a virtual machine
//! it also changes over time, as the host moves the virtual CPUs (here:
//! about 100 ns when they share a cache, about 500 ns when not), which is
//! why `configs/bench/run.sh` prints it next to every two-thread figure.
//!
//!     cargo bench -p click-engine --bench core_latency

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The shared line, alone in its cache line.
#[repr(align(128))]
struct Line(AtomicU64);

const ROUND_TRIPS: u64 = 500_000;

fn main() {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() < 2 {
        println!("core-to-core round trip: needs two cores");
        return;
    }
    let line = Arc::new(Line(AtomicU64::new(0)));
    let echo = {
        let (line, core) = (line.clone(), cores[1]);
        std::thread::spawn(move || {
            core_affinity::set_for_current(core);
            for i in 0..ROUND_TRIPS {
                while line.0.load(Ordering::Acquire) != 2 * i + 1 {
                    std::hint::spin_loop();
                }
                line.0.store(2 * i + 2, Ordering::Release);
            }
        })
    };
    core_affinity::set_for_current(cores[0]);
    let start = Instant::now();
    for i in 0..ROUND_TRIPS {
        line.0.store(2 * i + 1, Ordering::Release);
        while line.0.load(Ordering::Acquire) != 2 * i + 2 {
            std::hint::spin_loop();
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64;
    echo.join().expect("echo thread");
    println!("core-to-core round trip: {ns:.0} ns");
}
