//! The packet path allocates nothing: a run of 10 million packets makes no
//! more heap allocations than a run of 100 thousand through the same router.
//!
//! A counting `#[global_allocator]` wraps the system allocator. It counts
//! per thread, and only on threads that turned counting on, so the test
//! harness's own threads and concurrent tests do not disturb the figures;
//! with one scheduler thread, [`Router::run`] runs every element on the
//! calling thread. Each run
//! builds, initializes, runs and tears down a router: that costs a fixed
//! number of allocations, whatever the packet count, so the difference
//! between a long run and a short one is what the packet path allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port, Registry};
use click_engine::{Router, RunOptions};

/// Counts allocations (and reallocations, which may move) made by threads
/// whose `COUNTING` flag is set, in that thread's `ALLOCS`.
struct CountingAlloc;

thread_local! {
    // `const` initialization and no destructor: using them never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn note_alloc() {
    // `try_with`: allocations during thread teardown must not panic.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to `System` unchanged; counting has no
// effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc();
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Packets in the warm-up and the short run.
const SHORT: u64 = 100_000;
/// Packets in the long run.
const LONG: u64 = 10_000_000;
/// Allowed difference in allocations between the long and the short run:
/// zero per packet, with a little slack for one-off effects (a per-thread
/// cache refilled in a different pattern, a timer wheel slot).
const SLACK: u64 = 16;

/// The router under test: a source, a push path into a queue, a task
/// pulling it out, a tee cloning every packet, and two sinks.
fn config(packets: u64) -> String {
    format!(
        "src :: InfiniteSource(LENGTH 64, LIMIT {packets}, BURST 32, STOP true)
           -> c :: Counter -> Queue(1024) -> Unqueue(BURST 32) -> t :: Tee(2);
         t[0] -> d0 :: Counter -> Discard;
         t[1] -> d1 :: Counter -> Discard;"
    )
}

/// Builds the router outside the counted window, runs it on this thread
/// while counting, and returns (allocations during `run`, the three
/// counters' final counts).
fn counted_run(packets: u64) -> (u64, [u64; 3]) {
    counted_run_of(&config(packets), &click_elements::registry())
}

fn counted_run_of(config: &str, registry: &Registry) -> (u64, [u64; 3]) {
    let flat = click_lang::load_str(config, "zero_alloc", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router = Router::new(&flat, registry).unwrap_or_else(|e| panic!("{e:?}"));
    let opts = RunOptions {
        threads: 1,
        pin: None,
        final_reads: vec!["c.count".into(), "d0.count".into(), "d1.count".into()],
        ..Default::default()
    };
    let before = ALLOCS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let report = router.run(&opts);
    COUNTING.with(|c| c.set(false));
    let allocs = ALLOCS.with(Cell::get) - before;
    let report = report.unwrap_or_else(|e| panic!("{e:?}"));
    let counts: Vec<u64> = report
        .reads
        .into_iter()
        .map(|r| {
            r.expect("counter read handler")
                .trim()
                .parse::<u64>()
                .expect("a count")
        })
        .collect();
    (allocs, [counts[0], counts[1], counts[2]])
}

#[test]
fn packet_path_does_not_allocate() {
    // Warm-up: the packet pool is created on first use, thread caches fill.
    let (warm, _) = counted_run(SHORT);
    let (short, short_counts) = counted_run(SHORT);
    let started = Instant::now();
    let (long, long_counts) = counted_run(LONG);
    let elapsed = started.elapsed();
    eprintln!(
        "allocations: warm-up {warm}, {SHORT} packets {short}, {LONG} packets {long} \
         (long run took {elapsed:.2?}, {:.0} ns/packet)",
        elapsed.as_nanos() as f64 / LONG as f64
    );

    assert_eq!(
        short_counts, [SHORT; 3],
        "every packet passes every counter"
    );
    assert_eq!(long_counts, [LONG; 3], "every packet passes every counter");
    let extra = long.saturating_sub(short);
    assert!(
        extra <= SLACK,
        "the packet path allocates: {long} allocations for {LONG} packets vs {short} for \
         {SHORT} packets ({extra} more, about {:.3} per packet)",
        extra as f64 / (LONG - SHORT) as f64
    );
}

/// `Leaky`: boxes every packet's length, the mistake the test must catch.
struct Leaky(Option<Box<usize>>);

impl ElementClass for Leaky {
    const CLASS: &'static str = "Leaky";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Leaky(None))
    }
}

impl PacketElement for Leaky {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.0 = Some(Box::new(packet.len()));
        Some(0)
    }
}

/// The measurement itself works: an element allocating once per packet is
/// seen as about one allocation per packet.
#[test]
fn a_per_packet_allocation_is_detected() {
    let mut registry = click_elements::registry();
    registry.add::<Leaky>();
    let leaky = |n: u64| config(n).replace("-> c :: Counter ->", "-> c :: Counter -> Leaky ->");
    counted_run_of(&leaky(1_000), &registry);
    let (short, _) = counted_run_of(&leaky(10_000), &registry);
    let (long, counts) = counted_run_of(&leaky(30_000), &registry);
    assert_eq!(counts, [30_000; 3]);
    let extra = long - short;
    assert!(
        (20_000..=20_000 + SLACK).contains(&extra),
        "20,000 more packets through Leaky should cost 20,000 allocations, got {extra}"
    );
}

/// The route lookup path allocates nothing either: random destinations
/// through a RadixIPLookup whose batches split across two outputs.
#[test]
fn route_lookup_does_not_allocate() {
    let lookup = |n: u64| {
        format!(
            "src :: InfiniteSource(LENGTH 64, LIMIT {n}, BURST 32, STOP true)
               -> c :: Counter -> SetRandIPAddress(10.0.0.0/8)
               -> r :: RadixIPLookup(10.0.0.0/9 0, 10.128.0.0/9 10.0.0.1 1, 10.1.2.128/25 1);
             r[0] -> d0 :: Counter -> Discard;
             r[1] -> d1 :: Counter -> Discard;"
        )
    };
    let registry = click_elements::registry();
    counted_run_of(&lookup(SHORT), &registry);
    let (short, _) = counted_run_of(&lookup(SHORT), &registry);
    let (long, counts) = counted_run_of(&lookup(2_000_000), &registry);
    assert_eq!(counts[0], 2_000_000);
    assert_eq!(counts[1] + counts[2], 2_000_000, "{counts:?}");
    let extra = long.saturating_sub(short);
    assert!(
        extra <= SLACK,
        "the lookup path allocates: {long} allocations vs {short} ({extra} more)"
    );
}
