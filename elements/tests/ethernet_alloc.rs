//! The Ethernet and ARP path allocates nothing per packet: a long run
//! makes no more heap allocations than a short one through the same
//! router. It covers ARPQuerier's fast path (a known address), the
//! packets held until a reply and released by it, replies teaching the
//! table, a flood of unresolved destinations (held packets, queries,
//! evictions and the slim, all within the table's preallocated bounds),
//! ARPResponder's answers, EtherEncap, EtherRewrite and StoreEtherAddress.
//!
//! A counting `#[global_allocator]` counts the allocations of the thread
//! that turned counting on; with one scheduler thread, `Router::run` runs
//! every element on the calling thread.

use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

#[path = "common/alloc_run.rs"]
mod alloc_run;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use alloc_run::counted_run as run_counted;

/// `NextDst`: sets each packet's destination IP annotation to the next of
/// 100,000 addresses from 11.1.0.0, so a querier sees a flood of
/// destinations it cannot resolve.
struct NextDst(u32);

impl ElementClass for NextDst {
    const CLASS: &'static str = "NextDst";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(NextDst(0))
    }
}

impl PacketElement for NextDst {
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.0 = (self.0 + 1) % 100_000;
        p.anno_mut()
            .set_dst_ip(Ipv4Addr::from(0x0b01_0000 + self.0));
        Some(0)
    }
}

/// An IPv4/UDP frame from 10.0.0.9 to 10.0.0.2.
const IP_FRAME: &str = "02000000000902000000000108004500002e000000004011 66b50a0000090a00000204d2162e001a0000000000000000000000000000000000000000";

/// An ARP frame: `op` from 10.0.0.2 at 2:0:0:0:0:2 about 10.0.0.1.
fn arp_frame(op: u8) -> String {
    format!("ffffffffffff020000000002 0806 0001 0800 0604 000{op} 020000000002 0a000002 000000000000 0a000001")
}

fn config(packets: u64) -> String {
    format!(
        "ips :: InfiniteSource(DATA \\<{IP_FRAME}>, LIMIT {packets}, BURST 32, STOP true) -> t :: Tee(3);
         t[0] -> Strip(14) -> GetIPAddress(16)
              -> arpq :: ARPQuerier(10.0.0.1/24, 2:0:0:0:0:1) -> known :: Counter -> Discard;
         arpq[1] -> Discard;
         replies :: InfiniteSource(DATA \\<{reply}>, LIMIT {packets}, BURST 32, STOP true) -> [1]arpq;
         t[1] -> EtherRewrite(2:0:0:0:0:1, 2:0:0:0:0:3) -> StoreEtherAddress(2:0:0:0:0:4, src)
              -> Strip(14) -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:3) -> enc :: Counter -> Discard;
         t[2] -> Strip(14) -> NextDst
              -> flood :: ARPQuerier(11.0.0.1/8, 2:0:0:0:0:1, CAPACITY 256, ENTRY_CAPACITY 1024)
              -> Discard;
         flood[1] -> fq :: Counter -> Discard;
         Idle -> [1]flood;
         requests :: InfiniteSource(DATA \\<{request}>, LIMIT {packets}, BURST 32, STOP true)
              -> ar :: ARPResponder(10.0.0.1 2:0:0:0:0:1) -> answers :: Counter -> Discard;
         ar[1] -> Discard;
         DriverManager(wait_stop 3, stop);",
        reply = arp_frame(2),
        request = arp_frame(1),
    )
}

const READS: [&str; 5] = [
    "known.count",
    "enc.count",
    "fq.count",
    "answers.count",
    "flood.length",
];

fn counted_run(packets: u64) -> (u64, Vec<u64>) {
    let mut registry = click_elements::registry();
    registry.add::<NextDst>();
    run_counted(&config(packets), &registry, None, &READS)
}

#[test]
fn the_ethernet_and_arp_path_allocates_nothing_per_packet() {
    let _ = counted_run(10_000); // warm-up: pools, thread caches
    let (short, r_short) = counted_run(10_000);
    let (long, r_long) = counted_run(200_000);
    for (n, r) in [(10_000, &r_short), (200_000, &r_long)] {
        // Every IP packet went out, through the querier (held until the
        // first reply or found at once) and through the encapsulation
        // chain; every request was answered; every flood packet asked
        // (its address is new, or evicted since it last came round) and
        // the table kept at most its 256 packets.
        assert_eq!(&r[..2], [n, n], "{READS:?} {r:?}");
        assert_eq!(r[2], n, "{READS:?} {r:?}");
        assert_eq!(r[3], n, "{READS:?} {r:?}");
        assert!(r[4] <= 256, "{READS:?} {r:?}");
    }
    assert!(
        long <= short + 16,
        "the path allocates: {short} allocations for 10,000 packets, {long} for 200,000"
    );
}
