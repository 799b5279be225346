//! The route lookup elements end to end: packets with many destinations
//! through a running router, on one thread and on two sharing a table.

mod common;
use common::{check, run};

#[test]
fn packets_split_by_route() {
    let out = run(
        "InfiniteSource(LIMIT 1000, BURST 32, STOP true)
           -> SetRandIPAddress(10.0.0.0/8)
           -> r :: RadixIPLookup(10.0.0.0/9 0, 10.128.0.0/9 10.0.0.1 1, 10.1.0.0/16 2);
         r[0] -> c0 :: Counter -> Discard;
         r[1] -> c1 :: Counter -> Discard;
         r[2] -> c2 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count", "c2.count"],
    )
    .unwrap();
    let n: Vec<u64> = out.iter().map(|s| s.trim().parse().unwrap()).collect();
    assert_eq!(n.iter().sum::<u64>(), 1000, "{n:?}");
    assert!(n[0] > 350 && n[1] > 350, "{n:?}");
}

#[test]
fn every_class_routes_the_same() {
    for class in [
        "RadixIPLookup",
        "DirectIPLookup",
        "RangeIPLookup",
        "LinearIPLookup",
        "StaticIPLookup",
    ] {
        let out = run(
            &format!(
                "InfiniteSource(LIMIT 500, STOP true) -> SetRandIPAddress(10.0.0.0/8, 64)
                   -> r :: {class}(10.0.0.0/8 0, 10.0.0.0/9 1, 10.64.0.0/10 2, 10.0.0.0/31 0);
                 r[0] -> c0 :: Counter -> Discard;
                 r[1] -> c1 :: Counter -> Discard;
                 r[2] -> c2 :: Counter -> Discard;"
            ),
            1,
            &["c0.count", "c1.count", "c2.count"],
        )
        .unwrap();
        let n: Vec<u64> = out.iter().map(|s| s.trim().parse().unwrap()).collect();
        assert_eq!(n.iter().sum::<u64>(), 500, "{class}: {n:?}");
        assert!(n.iter().all(|&c| c > 0), "{class}: {n:?}");
    }
}

/// Two threads reach one RadixIPLookup: each has an instance, all share
/// one table. A route added by a write (delivered to both instances,
/// applied once) routes both threads' packets.
#[test]
fn instances_on_two_threads_share_one_table() {
    let out = run(
        "r :: RadixIPLookup(0/0 0);
         s0 :: InfiniteSource(LIMIT 1000, ACTIVE false, STOP true) -> SetRandIPAddress(10.0.0.0/8) -> r;
         s1 :: InfiniteSource(LIMIT 1000, ACTIVE false, STOP true) -> SetRandIPAddress(10.0.0.0/8) -> r;
         r[0] -> c0 :: Counter -> Discard;
         r[1] -> c1 :: Counter -> Discard;
         StaticThreadSched(s0 0, s1 1);
         DriverManager(write r.add 10.0.0.0/8 10.9.9.9 1, write r.add 10.1.0.0/16 1,
                       write r.remove 10.1.0.0/16,
                       write s0.active true, write s1.active true, wait_stop 2, stop);",
        2,
        &["c0.count", "c1.count", "r.table", "r.lookup 10.2.3.4"],
    )
    .unwrap();
    assert_eq!(out[0], "0\n");
    assert_eq!(out[1], "2000\n");
    assert_eq!(out[2], "0.0.0.0/0\t\t-\t\t0\n10.0.0.0/8\t\t10.9.9.9\t1\n");
    assert_eq!(out[3], "1 10.9.9.9\n");
}

#[test]
fn bad_routes_are_configuration_errors() {
    let err = check("Idle -> r :: RadixIPLookup(10/16 0, 10.0.0.0/8 2) -> Discard;").unwrap_err();
    assert!(
        err.contains("while configuring 'r :: RadixIPLookup'"),
        "{err}"
    );
    assert!(
        err.contains("argument 1 should be 'ADDR/MASK [GATEWAY] OUTPUT'"),
        "{err}"
    );
    assert!(err.contains("argument 2 bad OUTPUT"), "{err}");
}
