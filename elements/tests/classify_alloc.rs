//! The classification and header-check path allocates nothing per packet:
//! a long run makes no more heap allocations than a short one through the
//! same router (Classifier, Strip, CheckIPHeader, IPClassifier with a
//! many-step graph, IPFilter, the transport checks, VLAN encapsulation).
//!
//! A counting `#[global_allocator]` counts the allocations of the thread
//! that turned counting on; with one scheduler thread, `Router::run` runs
//! every element on the calling thread.

#[path = "common/alloc_run.rs"]
mod alloc_run;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use alloc_run::counted_run as run_counted;

/// Two kinds of frames (UDP and TCP), through every hot element here.
fn config(packets: u64) -> String {
    let udp = "00112233445566778899aabb08004500003200000000401164b70a0000010a01020304d2162e001e000000000000000000000000000000000000000000000000";
    format!(
        "s :: InfiniteSource(DATA \\<{udp}>, LIMIT {packets}, BURST 32, STOP true) -> in :: Null;
         in -> cl :: Classifier(12/0800, 12/0806, -) -> Strip(14) -> CheckIPHeader(INTERFACES 10.0.0.9/24)
            -> ipc :: IPClassifier(tcp && dst port 80, udp && src net 10.0.0.0/8 && dst port 5678 && ip ttl > 3, icmp, -)
            -> Discard;
         ipc[1] -> CheckUDPHeader -> f :: IPFilter(allow dst host 10.1.2.3 or dst host 10.1.2.4, deny all)
            -> Unstrip(14) -> EtherVLANEncap(0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, 7) -> c :: Counter -> Discard;
         ipc[2] -> Discard; ipc[3] -> Discard; cl[1] -> Discard; cl[2] -> Discard;"
    )
}

fn counted_run(packets: u64) -> (u64, u64) {
    let registry = click_elements::registry();
    let (allocs, reads) = run_counted(&config(packets), &registry, None, &["c.count"]);
    (allocs, reads[0])
}

#[test]
fn the_classification_path_allocates_nothing_per_packet() {
    let _ = counted_run(20_000); // warm-up: pools, thread caches
    let (short, c_short) = counted_run(20_000);
    let (long, c_long) = counted_run(400_000);
    assert_eq!(c_short, 20000);
    assert_eq!(c_long, 400000);
    assert!(
        long <= short + 16,
        "the path allocates: {short} allocations for 20,000 packets, {long} for 400,000"
    );
}
