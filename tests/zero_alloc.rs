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

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port, Registry};
use click_engine::{Router, RunOptions};

#[path = "../elements/tests/common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{ALLOCS, ALL_ALLOCS, COUNTING, COUNTING_ALL};

/// Held by every test: one test counting every thread must be alone.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

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
    counted_run_on(config, registry, 1)
}

/// As [`counted_run_of`], on `threads` scheduler threads; with several, it
/// counts the allocations of every thread of the process.
fn counted_run_on(config: &str, registry: &Registry, threads: usize) -> (u64, [u64; 3]) {
    let flat = click_lang::load_str(config, "zero_alloc", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router = Router::new(&flat, registry).unwrap_or_else(|e| panic!("{e:?}"));
    let opts = RunOptions {
        threads,
        pin: None,
        final_reads: vec!["c.count".into(), "d0.count".into(), "d1.count".into()],
        ..Default::default()
    };
    let before = (ALLOCS.with(Cell::get), ALL_ALLOCS.load(Ordering::Relaxed));
    COUNTING.with(|c| c.set(threads == 1));
    COUNTING_ALL.store(threads > 1, Ordering::Relaxed);
    let report = router.run(&opts);
    COUNTING.with(|c| c.set(false));
    COUNTING_ALL.store(false, Ordering::Relaxed);
    let allocs = if threads == 1 {
        ALLOCS.with(Cell::get) - before.0
    } else {
        ALL_ALLOCS.load(Ordering::Relaxed) - before.1
    };
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
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

/// The annotation elements allocate nothing per packet either, including
/// PaintSwitch's path for colour 255, which sends packets one by one.
#[test]
fn annotation_elements_do_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = |packets: u64| {
        format!(
            "AddressInfo(net 10.0.0.0/8);
             src :: InfiniteSource(LENGTH 64, LIMIT {packets}, BURST 32, STOP true)
               -> c :: Counter -> SetIPAddress(net:bcast, ANNO AGGREGATE) -> SetTimestamp
               -> SetPacketType(BROADCAST) -> GetIPAddress(0) -> Paint(255)
               -> pt :: PaintTee(255) -> ps :: PaintSwitch;
             pt[1] -> Discard;
             ps[0] -> d0 :: Counter -> Discard;
             ps[1] -> d1 :: Counter -> Discard;"
        )
    };
    let registry = click_elements::registry();
    let long = LONG / 5;
    counted_run_of(&config(SHORT), &registry);
    let (short, short_counts) = counted_run_of(&config(SHORT), &registry);
    let (many, long_counts) = counted_run_of(&config(long), &registry);
    assert_eq!(short_counts, [SHORT; 3]);
    assert_eq!(long_counts, [long; 3]);
    let extra = many.saturating_sub(short);
    assert!(
        extra <= SLACK,
        "the annotation elements allocate: {many} allocations for {long} packets vs {short} \
         for {SHORT} ({extra} more)"
    );
}

/// `Alternate`: sends packets to outputs 0 and 1 in turn, so every batch is
/// split into runs of one packet (the costliest split).
struct Alternate(usize);

impl ElementClass for Alternate {
    const CLASS: &'static str = "Alternate";
    const PORT_COUNT: &'static str = "1/2";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Alternate(0))
    }
}

impl PacketElement for Alternate {
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.0 ^= 1;
        Some(self.0)
    }
}

/// Allocations of a long run against a short one, after a warm-up.
fn extra_allocations(config: impl Fn(u64) -> String, registry: &Registry, threads: usize) -> u64 {
    let long = LONG / 5;
    counted_run_on(&config(SHORT), registry, threads);
    let (short, short_counts) = counted_run_on(&config(SHORT), registry, threads);
    let (many, long_counts) = counted_run_on(&config(long), registry, threads);
    assert_eq!(short_counts, [SHORT, SHORT / 2, SHORT / 2]);
    assert_eq!(long_counts, [long, long / 2, long / 2]);
    many.saturating_sub(short)
}

/// A two-output split (runs of one packet each) allocates nothing.
#[test]
fn a_two_output_split_does_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut registry = click_elements::registry();
    registry.add::<Alternate>();
    let config = |packets: u64| {
        format!(
            "InfiniteSource(LENGTH 64, LIMIT {packets}, BURST 32, STOP true)
               -> c :: Counter -> a :: Alternate -> d0 :: Counter -> Discard;
             a[1] -> d1 :: Counter -> Discard;"
        )
    };
    let extra = extra_allocations(config, &registry, 1);
    assert!(
        extra <= SLACK,
        "the split allocates: {extra} more allocations"
    );
}

/// Two threads, packets crossing through a ThreadSafeQueue and split on
/// the far side: nothing allocates per packet on either thread.
#[test]
fn a_two_thread_path_does_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut registry = click_elements::registry();
    registry.add::<Alternate>();
    let config = |packets: u64| {
        format!(
            "src :: InfiniteSource(LENGTH 64, LIMIT {packets}, BURST 32, STOP true)
               -> c :: Counter -> q :: ThreadSafeQueue(1024) -> uq :: Unqueue(BURST 32)
               -> a :: Alternate -> d0 :: Counter -> Discard;
             a[1] -> d1 :: Counter -> Discard;
             StaticThreadSched(src 0, uq 1);
             // The source stops; the far side drains the queue meanwhile.
             DriverManager(wait_stop, wait 50ms, stop);"
        )
    };
    let extra = extra_allocations(config, &registry, 2);
    assert!(
        extra <= SLACK * 4,
        "the two-thread path allocates: {extra} more allocations"
    );
}

/// Counts the allocations `f` makes on this thread.
fn counted(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get) - before
}

/// The zero-copy device paths allocate nothing either: batches of ring
/// buffers wrapped in one call, cloned, freed (one release_batch into a
/// token queue), drained back and wrapped again, and the transmit path
/// taking buffers out of a batch; and a large packet taken, grown and
/// freed.
#[test]
fn device_and_large_packet_paths_do_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use click_engine::packet::{
        register_buffer_owner, token_queue, Batch, RegionId, RxBuffer, BATCH_CAPACITY,
    };
    use std::ptr::NonNull;

    const BUF: usize = 2048;
    let mem: &'static mut [u8] = Box::leak(vec![0u8; BUF * BATCH_CAPACITY].into_boxed_slice());
    let base = mem.as_mut_ptr();
    let rx_of = |token: u64| RxBuffer {
        token,
        buf: NonNull::new(base.wrapping_add(token as usize * BUF)).unwrap(),
        cap: BUF,
        head: 128,
        len: 64,
    };
    let (tx, mut returned) = token_queue(BATCH_CAPACITY);
    let owner = register_buffer_owner(Box::new(tx), RegionId(7)).unwrap();
    let mut free: Vec<u64> = (0..BATCH_CAPACITY as u64).collect();
    let mut bufs = Vec::with_capacity(BATCH_CAPACITY);
    let mut drained = [0u64; BATCH_CAPACITY];
    let mut rounds = |n: usize| {
        for round in 0..n {
            bufs.clear();
            bufs.extend(free.drain(..).map(rx_of));
            let mut b = Batch::new();
            // SAFETY: leaked buffers, each wrapped only while its token is
            // back in `free`.
            assert_eq!(unsafe { b.wrap_external(&owner, &bufs) }, BATCH_CAPACITY);
            if round % 2 == 0 {
                // Receive path: clones, then the batch and the clones freed.
                let mut clones = Batch::new();
                b[0].clone_into(8, &mut clones);
                drop(clones);
                drop(b);
            } else {
                // Transmit path: every buffer swapped out without a release.
                b.drain_external(RegionId(7), |r| free.push(r.unwrap().token));
            }
            let n = returned.drain(&mut drained);
            free.extend_from_slice(&drained[..n]);
            // A large packet, grown past its buffer, and freed.
            let mut p = Packet::new(9000).unwrap();
            p.push(200).unwrap().fill(1);
            let mut q = Packet::from_slice(&[0; 60]).unwrap();
            q.push(4000).unwrap().fill(2);
            drop((p, q));
        }
    };
    rounds(1000); // warm-up: thread caches, batch slots, the large region
    let short = counted(|| rounds(1_000));
    let long = counted(|| rounds(20_000));
    eprintln!("device paths: {short} allocations for 1000 rounds, {long} for 20000");
    assert_eq!(free.len(), BATCH_CAPACITY, "every buffer came back");
    assert!(
        long.saturating_sub(short) <= SLACK,
        "the device paths allocate: {long} allocations for 20000 rounds vs {short} for 1000"
    );
}

/// A pcap file of `n` Ethernet/IPv4/UDP frames of 60 bytes.
fn udp_trace(path: &std::path::Path, n: u64) {
    let mut f = Vec::with_capacity(24 + n as usize * 76);
    f.extend(0xa1b2_c3d4u32.to_le_bytes());
    f.extend(2u16.to_le_bytes());
    f.extend(4u16.to_le_bytes());
    f.extend([0u8; 8]);
    f.extend(65535u32.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    let mut frame = vec![0u8; 60];
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    frame[14..34].copy_from_slice(&[
        0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    frame[34..42].copy_from_slice(&[0x30, 0x39, 0, 53, 0, 26, 0, 0]);
    for i in 0..n {
        f.extend((1_700_000_000 + (i / 1000) as u32).to_le_bytes());
        f.extend(((i % 1000) as u32 * 1000).to_le_bytes());
        f.extend(60u32.to_le_bytes());
        f.extend(60u32.to_le_bytes());
        f.extend(&frame);
    }
    std::fs::write(path, f).unwrap();
}

/// FromDump reading its blocks, the printers and both trace writers
/// allocate nothing per packet.
#[test]
fn trace_elements_do_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("zero-alloc-traces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let long = 300_000;
    let config = |packets: u64| {
        let file = dir.join(format!("{packets}.pcap"));
        if !file.exists() {
            udp_trace(&file, packets);
        }
        format!(
            "FromDump({}, STOP true, FORCE_IP true) -> c :: Counter
               -> IPPrint(x, CONTENTS HEX, MAXLENGTH 32, OUTFILE /dev/null)
               -> Print(TIMESTAMP true, OUTFILE /dev/null)
               -> ToIPSummaryDump(/dev/null, FIELDS timestamp src dst sport dport proto len payload_len)
               -> ToDump(/dev/null, SNAPLEN 40) -> t :: Tee(2);
             t[0] -> d0 :: Counter -> Discard;
             t[1] -> d1 :: Counter -> Discard;",
            file.display()
        )
    };
    let registry = click_elements::registry();
    counted_run_of(&config(SHORT), &registry);
    let (short, short_counts) = counted_run_of(&config(SHORT), &registry);
    let (many, long_counts) = counted_run_of(&config(long), &registry);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(short_counts, [SHORT; 3]);
    assert_eq!(long_counts, [long; 3]);
    let extra = many.saturating_sub(short);
    assert!(
        extra <= SLACK,
        "the trace elements allocate: {many} allocations for {long} packets vs {short} \
         for {SHORT} ({extra} more)"
    );
}

/// The route lookup path allocates nothing either: random destinations
/// through a RadixIPLookup whose batches split across two outputs.
#[test]
fn route_lookup_does_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

/// The forwarding and ICMP elements allocate nothing per packet: options,
/// TTL, DSCP and ECN, addresses and checksums rewritten, every packet
/// fragmented and reassembled, answered with an ICMP error, encapsulated
/// four times and answered as a ping.
#[test]
fn forwarding_and_icmp_elements_do_not_allocate() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = |n: u64| {
        format!(
            "InfiniteSource(DATA \\<00112233445566778899aabb08004500003200000000401164b70a0000010a01020304d2162e001e000000000000000000000000000000000000000000000000>,
                            LIMIT {n}, BURST 32, STOP true)
               -> c :: Counter -> Strip(14) -> CheckIPHeader -> IPGWOptions(10.0.0.9)
               -> FixIPSrc(10.0.0.9) -> DecIPTTL -> SetIPDSCP(5) -> MarkIPCE(true)
               -> StoreIPAddress(10.1.1.1, src) -> SetIPChecksum -> SetUDPChecksum
               -> fr :: IPFragmenter(40) -> IPReassembler -> t :: Tee(2);
             fr[1] -> Discard;
             t[0] -> ICMPError(10.0.0.1, unreachable, port) -> FixIPSrc(10.9.9.9)
               -> d0 :: Counter -> Discard;
             t[1] -> UDPIPEncap(1.1.1.1, 1, 2.2.2.2, 2) -> IPEncap(4, 1.1.1.1, 2.2.2.2)
               -> ICMPPingEncap(1.1.1.1, 2.2.2.2) -> ICMPIPEncap(1.1.1.1, 2.2.2.2, echo)
               -> CheckIPHeader -> ICMPPingResponder -> d1 :: Counter -> Discard;"
        )
    };
    let registry = click_elements::registry();
    let long = 300_000;
    counted_run_of(&config(SHORT), &registry);
    let (short, short_counts) = counted_run_of(&config(SHORT), &registry);
    let (many, long_counts) = counted_run_of(&config(long), &registry);
    assert_eq!(short_counts, [SHORT; 3]);
    assert_eq!(long_counts, [long; 3]);
    let extra = many.saturating_sub(short);
    assert!(
        extra <= SLACK,
        "the forwarding elements allocate: {many} allocations for {long} packets vs {short} \
         for {SHORT} ({extra} more)"
    );
}
