//! The generic elements, run end to end.

mod common;
use common::{check, run};

#[test]
fn source_counter_discard_counts_every_packet() {
    let out = run(
        "src :: InfiniteSource(LENGTH 64, LIMIT 1000, BURST 32, STOP true); src -> c :: Counter -> Discard;",
        1,
        &["c.count", "c.byte_count", "src.count"],
    )
    .unwrap();
    assert_eq!(out, ["1000\n", "64000\n", "1000\n"]);
}

#[test]
fn queue_and_unqueue_move_every_packet_without_drops() {
    let out = run(
        "src :: InfiniteSource(LENGTH 64, LIMIT 100000, BURST 32, STOP true);
         src -> q :: Queue(1024) -> Unqueue(BURST 32) -> c :: Counter -> Discard;",
        1,
        &["c.count", "q.drops", "q.length"],
    )
    .unwrap();
    let count: u64 = out[0].trim().parse().unwrap();
    let queued: u64 = out[2].trim().parse().unwrap();
    assert_eq!(out[1], "0\n", "the full notifier must pause the source");
    assert_eq!(
        count + queued,
        100000,
        "every packet is delivered or still queued"
    );
}

#[test]
fn push_to_pull_mismatch_is_reported_like_click() {
    let err = check("q :: Queue; q -> Queue -> Discard; Idle -> q;").unwrap_err();
    assert!(
        err.contains("pull output 0 connected to") || err.contains("unknown element class"),
        "{err}"
    );
}

#[test]
fn unused_ports_are_errors() {
    let err = check("c :: Counter;").unwrap_err();
    assert!(err.contains("'c :: Counter' input 0 unused"), "{err}");
    assert!(err.contains("'c :: Counter' output 0 unused"), "{err}");
}
