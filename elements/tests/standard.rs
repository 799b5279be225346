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
        err.contains("'q :: Queue' pull output 0 connected to 'Queue@2 :: Queue' push input 0"),
        "{err}"
    );
}

#[test]
fn unused_ports_are_errors() {
    let err = check("c :: Counter;").unwrap_err();
    assert!(err.contains("'c :: Counter' input 0 unused"), "{err}");
    assert!(err.contains("'c :: Counter' output 0 unused"), "{err}");
}

/// Parses a numeric handler reading.
fn num(s: &str) -> u64 {
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// A stopwatch: stops the router `secs` after start.
fn stop_after(secs: &str) -> String {
    format!("TimedSource(INTERVAL {secs}, LIMIT 0, STOP true) -> Discard;")
}

#[test]
fn idle_drops_pushes_and_never_feeds_pullers() {
    let config = format!(
        "src :: InfiniteSource(LIMIT 10, STOP true) -> Idle;
         Idle -> q :: Queue -> u :: Unqueue -> c :: Counter -> Discard;
         {}",
        stop_after("0.05")
    );
    let out = run(&config, 1, &["src.count", "c.count", "u.count"]).unwrap();
    assert_eq!(out, ["10\n", "0\n", "0\n"]);
}

#[test]
fn idle_ports_any_layout() {
    check("i, j :: Idle; i[0] -> [0]j; i[1] -> [1]j; i[2] -> [2]j; i[3] -> [3]j;").unwrap();
}

#[test]
fn null_and_tee_copy_every_packet_to_every_output() {
    let out = run(
        "InfiniteSource(LENGTH 10, LIMIT 100, BURST 32, STOP true) -> Null -> t :: Tee(3);
         t[0] -> c0 :: Counter -> Discard;
         t[1] -> c1 :: Counter -> Discard;
         t[2] -> c2 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count", "c2.byte_count"],
    )
    .unwrap();
    assert_eq!(out, ["100\n", "100\n", "1000\n"]);
}

#[test]
fn tee_n_must_match_outputs() {
    let err = check("Idle -> t :: Tee(3); t[0] -> Discard; t[1] -> Discard;").unwrap_err();
    assert!(err.contains("N is 3"), "{err}");
}

#[test]
fn tee_feedback_loop_through_a_queue_runs_like_click() {
    // Click's Tee-01: a packet circulating through a queue of one.
    let config = format!(
        "InfiniteSource(LIMIT 1) -> q :: Queue(CAPACITY 1) -> u :: Unqueue -> t :: Tee;
         t[1] -> c :: Counter -> Discard; t[0] -> q;
         {}",
        stop_after("0.05")
    );
    let out = run(&config, 1, &["c.count", "q.length"]).unwrap();
    assert!(num(&out[0]) > 1, "the packet keeps circulating: {out:?}");
    assert_eq!(out[1], "1\n");
}

#[test]
fn pull_tee_copies_pulled_packets_to_push_outputs() {
    let out = run(
        "InfiniteSource(LIMIT 50, BURST 8, STOP true) -> Queue -> pt :: PullTee(2);
         pt[0] -> Unqueue -> c0 :: Counter -> Discard;
         pt[1] -> c1 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count"],
    )
    .unwrap();
    assert_eq!(num(&out[0]), num(&out[1]));
    assert!(num(&out[0]) <= 50);
}

#[test]
fn paint_and_paint_switch_route_by_colour() {
    let out = run(
        "InfiniteSource(LIMIT 40, BURST 8, STOP true) -> p :: Paint(2) -> ps :: PaintSwitch;
         ps[0] -> c0 :: Counter -> Discard;
         ps[1] -> c1 :: Counter -> Discard;
         ps[2] -> c2 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count", "c2.count", "p.color"],
    )
    .unwrap();
    assert_eq!(out, ["0\n", "0\n", "40\n", "2\n"]);
}

#[test]
fn paint_switch_on_a_user_annotation_and_unconnected_colours_drop() {
    let out = run(
        "InfiniteSource(LIMIT 10, STOP true) -> Paint(7, 3) -> Paint(1) -> ps :: PaintSwitch(3);
         ps[0] -> c0 :: Counter -> Discard;
         ps[1] -> c1 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count"],
    )
    .unwrap();
    assert_eq!(out, ["0\n", "0\n"], "colour 7 has no output: dropped");
}

#[test]
fn switch_sends_everything_to_one_output() {
    let out = run(
        "InfiniteSource(LIMIT 30, BURST 4, STOP true) -> s :: Switch(1);
         s[0] -> c0 :: Counter -> Discard;
         s[1] -> c1 :: Counter -> Discard;
         InfiniteSource(LIMIT 30) -> s2 :: Switch(-1) -> c2 :: Counter -> Discard;
         InfiniteSource(LIMIT 30) -> s3 :: Switch(9) -> Discard;",
        1,
        &[
            "c0.count",
            "c1.count",
            "c2.count",
            "s.switch",
            "s2.switch",
            "s3.switch",
        ],
    )
    .unwrap();
    assert_eq!(out[..3], ["0\n", "30\n", "0\n"]);
    assert_eq!(out[3..], ["1\n", "-1\n", "-1\n"]);
}

#[test]
fn switch_writes_show_in_its_config() {
    // As Click's: `switch` stands for the first argument, so `config`
    // follows a write.
    let out = run(
        "Idle -> s :: Switch(1) -> Discard; s[1] -> Discard;
         Script(write s.switch 0, stop);",
        1,
        &["s.switch", "s.config"],
    )
    .unwrap();
    assert_eq!(out, ["0\n", "0\n"]);
}

#[test]
fn simple_queue_has_no_notifiers_so_overflow_drops() {
    let out = run(
        "InfiniteSource(LIMIT 100, BURST 32, STOP true) -> q :: SimpleQueue(10)
           -> Unqueue -> c :: Counter -> Discard;",
        1,
        &["c.count", "q.length", "q.drops", "q.capacity"],
    )
    .unwrap();
    let (c, len, drops) = (num(&out[0]), num(&out[1]), num(&out[2]));
    assert_eq!(c + len + drops, 100, "{out:?}");
    assert!(drops >= 22, "a burst of 32 into 10 slots drops: {out:?}");
    assert_eq!(out[3], "10\n");
}

#[test]
fn rated_source_paces_and_stops_at_its_limit() {
    let start = std::time::Instant::now();
    let out = run(
        "src :: RatedSource(DATA \"I love myself\\n\", RATE 1000, LIMIT 50, STOP true)
           -> Print(CONTENTS NONE, ACTIVE false) -> r :: Record -> c :: Counter -> Discard;",
        1,
        &["c.count", "c.byte_count", "src.count", "r.last"],
    )
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out[..3], ["50\n", "700\n", "50\n"]);
    assert_eq!(out[3].trim(), "49206c6f7665206d7973656c660a");
    assert!(
        elapsed.as_millis() >= 45,
        "50 packets at 1000/s: {elapsed:?}"
    );
    assert!(elapsed.as_secs() < 3, "{elapsed:?}");
}

#[test]
fn rated_source_in_pull_context() {
    let out = run(
        "src :: RatedSource(RATE 100000, LIMIT 20, STOP true) -> u :: Unqueue(BURST 8)
           -> c :: Counter -> Discard;",
        1,
        &["c.count"],
    )
    .unwrap();
    assert_eq!(out, ["20\n"]);
}

#[test]
fn timed_source_emits_one_packet_per_interval() {
    let start = std::time::Instant::now();
    let out = run(
        "src :: TimedSource(INTERVAL 0.01, LIMIT 5, STOP true) -> c :: Counter -> Discard;",
        1,
        &["c.count", "src.interval"],
    )
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out, ["5\n", "0.01\n"]);
    assert!(
        elapsed.as_millis() >= 55,
        "6 intervals of 10 ms: {elapsed:?}"
    );
}

#[test]
fn rated_unqueue_limits_the_rate_with_a_token_bucket() {
    // As Click's RatedUnqueue-01, over 0.3 s instead of 10 s.
    let config = format!(
        "InfiniteSource -> Queue(10) -> u1 :: RatedUnqueue(RATE 100) -> c1 :: Counter -> Discard;
         InfiniteSource -> Queue(10) -> RatedUnqueue(RATE 100, BURST_SIZE 50)
           -> c2 :: Counter -> Discard;
         {}",
        stop_after("0.3")
    );
    let out = run(&config, 1, &["c1.count", "c2.count", "u1.rate"]).unwrap();
    let (c1, c2) = (num(&out[0]), num(&out[1]));
    // A full bucket (2, resp. 50 tokens) plus 100 per second.
    assert!((26..=36).contains(&c1), "c1 {c1}");
    assert!((74..=84).contains(&c2), "c2 {c2}");
    assert_eq!(out[2], "100\n");
}

#[test]
fn round_robin_sched_alternates_between_inputs() {
    let config = format!(
        "InfiniteSource(LIMIT 10, BURST 10) -> Paint(1) -> q1 :: Queue;
         InfiniteSource(LIMIT 10, BURST 10) -> Paint(2) -> q2 :: Queue;
         q1 -> [0]rr :: RoundRobinSched; q2 -> [1]rr;
         rr -> Unqueue -> r :: Record -> Discard;
         {}",
        stop_after("0.05")
    );
    let out = run(&config, 1, &["r.seq"]).unwrap();
    let seq = out[0].trim();
    assert_eq!(seq.len(), 20, "{seq}");
    assert_eq!(seq.matches('1').count(), 10, "{seq}");
    // Once both queues hold packets, the inputs alternate.
    assert!(
        seq.contains("1212121212") || seq.contains("2121212121"),
        "{seq}"
    );
}

#[test]
fn prio_sched_drains_higher_priority_first() {
    let config = format!(
        "InfiniteSource(LIMIT 10, BURST 10) -> Paint(1) -> q1 :: Queue;
         InfiniteSource(LIMIT 10, BURST 10) -> Paint(2) -> q2 :: Queue;
         q1 -> [1]ps :: PrioSched; q2 -> [0]ps;
         ps -> Unqueue(BURST 4) -> r :: Record -> Discard;
         {}",
        stop_after("0.05")
    );
    let out = run(&config, 1, &["r.seq"]).unwrap();
    assert_eq!(out[0].trim(), "22222222221111111111");
}

#[test]
fn strip_and_unstrip_restore_the_bytes() {
    let out = run(
        "InfiniteSource(DATA \\<0102030405060708>, LIMIT 10, STOP true)
           -> Strip(3) -> a :: Counter -> ra :: Record -> Unstrip(3) -> b :: Counter
           -> rb :: Record -> Strip(100) -> c :: Counter -> Discard;",
        1,
        &[
            "a.byte_count",
            "b.byte_count",
            "c.byte_count",
            "ra.last",
            "rb.last",
        ],
    )
    .unwrap();
    assert_eq!(out[..3], ["50\n", "80\n", "0\n"]);
    assert_eq!(out[3].trim(), "0405060708");
    assert_eq!(out[4].trim(), "0102030405060708");
}

#[test]
fn print_passes_packets_through() {
    let out = run(
        "InfiniteSource(DATA \"\", LIMIT 1, STOP true) -> Print(2) -> c :: Counter -> Discard;",
        1,
        &["c.count"],
    )
    .unwrap();
    assert_eq!(out, ["1\n"]);
}

#[test]
fn static_thread_sched_checks_its_configuration() {
    check("StaticThreadSched(a 0, b 1);").unwrap();
    let err = check("StaticThreadSched(a x);").unwrap_err();
    assert!(err.contains("not a thread number"), "{err}");
    let err = check("StaticThreadSched(a);").unwrap_err();
    assert!(err.contains("expected ELEMENT THREAD"), "{err}");
}

#[test]
fn thread_safe_queue_on_one_thread() {
    let out = run(
        "src :: InfiniteSource(LENGTH 64, LIMIT 20000, BURST 32, STOP true)
           -> q :: ThreadSafeQueue(256) -> Unqueue(BURST 32) -> c :: Counter -> Discard;",
        1,
        &["c.count", "q.length", "q.drops"],
    )
    .unwrap();
    assert_eq!(out[2], "0\n", "the full notifier pauses the source");
    assert_eq!(num(&out[0]) + num(&out[1]), 20000);
}

#[test]
fn thread_safe_queue_moves_every_packet_between_two_threads() {
    let total = 200_000u64;
    let config = format!(
        "src :: InfiniteSource(LENGTH 64, LIMIT {total}, BURST 32)
           -> q :: ThreadSafeQueue(1024) -> uq :: Unqueue(BURST 32) -> c :: Counter -> Discard;
         StaticThreadSched(src 0, uq 1);
         // Stop once everything is counted (c is on thread 1: the Script on
         // thread 0 reads it through the control plane), or after 30 s.
         Script(init n 0,
                label poll, wait 10ms, set n $(add $n 1),
                goto poll $(and $(lt $(c.count) {total}) $(lt $n 3000)),
                stop);"
    );
    let out = run(&config, 2, &["src.count", "c.count", "q.length", "q.drops"]).unwrap();
    let (made, counted, queued, drops) = (num(&out[0]), num(&out[1]), num(&out[2]), num(&out[3]));
    assert_eq!(made, total, "{out:?}");
    assert_eq!(drops, 0, "the full notifier pauses the source: {out:?}");
    assert_eq!(counted + queued, total, "{out:?}");
    assert_eq!(
        counted, total,
        "the consumer drains everything in time: {out:?}"
    );
}

#[test]
fn counter_count_call_fires_before_the_nth_packet_even_inside_a_batch() {
    // Click's handlers/handlercall-01, with 32-packet batches: packets 1-4
    // reach s[0], the call switches s before packet 5 leaves the Counter.
    let out = run(
        "InfiniteSource(LIMIT 100, BURST 32, STOP true)
           -> Counter(COUNT_CALL 5 s.switch 1) -> s :: Switch -> c :: Counter -> d :: Discard;
         s[1] -> c1 :: Counter -> d;",
        1,
        &["c.count", "c1.count"],
    )
    .unwrap();
    assert_eq!(out, ["4\n", "96\n"]);
}

#[test]
fn counter_count_call_in_pull_context_and_inside_a_compound() {
    let out = run(
        "elementclass C { input -> Counter(COUNT_CALL 3 s.switch 1) -> s :: Switch -> [0]output; s[1] -> [1]output }
         InfiniteSource(LIMIT 10, BURST 8, STOP true) -> q :: Queue
           -> pc :: Counter(COUNT_CALL 6 sw.switch 1) -> Unqueue(BURST 8) -> sw :: Switch -> c :: Counter -> Discard;
         sw[1] -> cc :: C -> c1 :: Counter -> Discard;
         cc[1] -> c2 :: Counter -> Discard;",
        1,
        &["c.count", "c1.count", "c2.count"],
    )
    .unwrap();
    // Pull: packets 1-5 leave before the call, packet 6 after it. In the
    // compound, `s` is the compound's own Switch.
    assert_eq!(out, ["5\n", "2\n", "3\n"]);
}

#[test]
fn handlers_called_by_an_element_can_read_it() {
    // The Counter and the source are on the call stack when they call s.run;
    // they lend themselves for reads, so the Script sees their counts (the
    // write of q.capacity records what it saw).
    let out = run(
        "InfiniteSource(LIMIT 9, BURST 4, STOP true) -> c :: Counter(COUNT_CALL 5 s.run) -> Discard;
         s :: Script(TYPE PASSIVE, write q.capacity $(c.count));
         Idle -> q :: Queue(100) -> Idle;",
        1,
        &["q.capacity", "c.count"],
    )
    .unwrap();
    assert_eq!(out, ["5\n", "9\n"]);
    let out = run(
        "src :: InfiniteSource(LIMIT 7, END_CALL s.run) -> Discard;
         s :: Script(TYPE PASSIVE, write q.capacity $(src.count), stop);
         Idle -> q :: Queue(100) -> Idle;",
        1,
        &["q.capacity"],
    )
    .unwrap();
    assert_eq!(out, ["7\n"]);
}

#[test]
fn counter_count_call_needs_a_number_and_a_handler() {
    assert!(check("Idle -> Counter(COUNT_CALL x s.switch) -> Idle")
        .unwrap_err()
        .contains("COUNT_CALL type mismatch"));
    assert!(check("Idle -> Counter(COUNT_CALL 3) -> Idle")
        .unwrap_err()
        .contains("COUNT_CALL"));
}

#[test]
fn queue_capacity_write_shrinks_keeping_the_oldest() {
    let out = run(
        "i :: InfiniteSource(LIMIT 1000) -> q :: Queue -> Idle;
         Script(label a, wait 0.01s, goto a $(lt $(q.length) 1000),
                write q.capacity 10, stop);",
        1,
        &["i.count", "q.length", "q.capacity", "q.drops"],
    )
    .unwrap();
    assert_eq!(out, ["1000\n", "10\n", "10\n", "0\n"]);
}

#[test]
fn queue_capacity_write_grows_and_wakes_the_source() {
    // Click's standard/Queue-notifiers-01 without --simtime: a full queue
    // cut to 10, then grown to 1000, wakes the source, which fills it
    // again (990 more).
    let out = run(
        "i :: InfiniteSource -> q :: Queue -> Idle;
         Script(label a, wait 0.01s, goto a $(lt $(q.length) 1000),
                write q.capacity 10, write q.capacity 1000,
                label b, wait 0.01s, goto b $(lt $(q.length) 1000),
                wait 0.02s, stop);",
        1,
        &["i.count", "q.length", "q.capacity", "q.drops"],
    )
    .unwrap();
    assert_eq!(out, ["1990\n", "1000\n", "1000\n", "0\n"]);
}

#[test]
fn infinitesource_end_call_runs_at_the_limit_push_and_pull() {
    let out = run(
        "src :: InfiniteSource(LIMIT 5, END_CALL src2.active true) -> c :: Counter -> Discard;
         src2 :: InfiniteSource(LIMIT 3, ACTIVE false, STOP true) -> c2 :: Counter -> Discard;",
        1,
        &["c.count", "c2.count"],
    )
    .unwrap();
    assert_eq!(out, ["5\n", "3\n"]);
    let out = run(
        "InfiniteSource(LIMIT 3, END_CALL stop) -> Unqueue -> c :: Counter -> Discard;",
        1,
        &["c.count"],
    )
    .unwrap();
    assert_eq!(out, ["3\n"]);
    assert!(check("InfiniteSource(STOP true, END_CALL stop) -> Discard")
        .unwrap_err()
        .contains("mutually exclusive"));
    assert!(check("InfiniteSource(END_CALL nosuch) -> Discard")
        .unwrap_err()
        .contains("END_CALL"));
}

#[test]
fn infinitesource_length_and_data_writes_remake_the_packet() {
    let out = run(
        "s :: InfiniteSource(LIMIT 4, LENGTH 10, ACTIVE false, STOP true) -> c :: Counter -> Discard;
         Script(write s.length 2, write s.active true);",
        1,
        &["c.count", "c.byte_count", "s.length"],
    )
    .unwrap();
    assert_eq!(out, ["4\n", "8\n", "2\n"]);
    let out = run(
        "s :: InfiniteSource(LIMIT 1, ACTIVE false, STOP true) -> c :: Counter -> Discard;
         Script(write s.data abc, write s.active true);",
        1,
        &["c.byte_count", "s.data"],
    )
    .unwrap();
    assert_eq!(out, ["3\n", "abc\n"]);
}

#[test]
fn alignment_info_checks_its_pairs() {
    assert!(check("AlignmentInfo(src 8 2, dst 4 0 8 6); src :: Idle -> dst :: Discard;").is_ok());
    for bad in [
        "AlignmentInfo(src 8)",
        "AlignmentInfo(src 4 4)",
        "AlignmentInfo(src x 1)",
    ] {
        let err = check(&format!("{bad}; src :: Idle -> Discard;")).unwrap_err();
        assert!(err.contains("AlignmentInfo"), "{bad}: {err}");
    }
}

#[test]
fn clipboard_copies_in_pull_context_and_skips_short_packets() {
    // Pull on both pairs: the packet of input 0 ("XYZ") fills the
    // clipboard, which then overwrites bytes 0 and 2 of the packets pulled
    // through input 1; a packet too short for the ranges passes unchanged.
    let through = |data: &str| {
        let config = format!(
            r#"InfiniteSource("XYZ", LIMIT 1, STOP false) -> q0 :: Queue
                 -> [0] cb :: Clipboard(0/1, 2/1) [0] -> Unqueue -> Discard;
               InfiniteSource("{data}", LIMIT 2) -> q1 :: Queue -> [1] cb [1]
                 -> RatedUnqueue(100) -> r :: Record -> c :: Counter -> Discard;
               Script(wait 100ms, stop);"#
        );
        run(&config, 1, &["c.count", "r.last"]).unwrap()
    };
    assert_eq!(through("abc"), ["2\n", "58625a\n"]);
    assert_eq!(through("a"), ["2\n", "61\n"]);
}

#[test]
fn bypasses_in_a_row_reroute_when_written() {
    // Two Bypasses in a row, each with a counted detour back into itself:
    // the engine routes the source straight to the active detours, so
    // they see exactly the packets sent after each write.
    let out = run(
        "src :: InfiniteSource(LIMIT 30, BURST 1, ACTIVE false) -> b1 :: Bypass -> b2 :: Bypass
           -> all :: Counter -> Discard;
         b1 [1] -> d1 :: Counter -> [1] b1;
         b2 [1] -> d2 :: Counter -> [1] b2;
         Script(write src.limit 10, write src.active true, wait 20ms,
                write b1.active true, write src.limit 20, wait 20ms,
                write b2.active true, write src.limit 30, wait 20ms, stop);",
        1,
        &["all.count", "d1.count", "d2.count", "b1.active"],
    )
    .unwrap();
    assert_eq!(out, ["30\n", "20\n", "10\n", "true\n"]);
}

#[test]
fn an_inline_bypass_stays_on_the_path() {
    // INLINE: the detour's packets re-enter the Bypass (a deferred push),
    // and still all arrive.
    let out = run(
        "InfiniteSource(LIMIT 8, BURST 2, STOP true) -> b :: Bypass(true, INLINE true)
           -> c :: Counter -> Discard;
         b [1] -> d :: Counter -> [1] b;",
        1,
        &["c.count", "d.count"],
    )
    .unwrap();
    assert_eq!(out, ["8\n", "8\n"]);
}

#[test]
fn random_source_makes_fresh_packets_of_random_bytes() {
    let out = run(
        "RandomSource(64, 40, 8, STOP true) -> c :: Counter -> r :: Record -> Discard;",
        1,
        &["c.count", "c.byte_count", "r.last"],
    )
    .unwrap();
    assert_eq!(out[..2], ["40\n", "2560\n"]);
    let last = out[2].trim();
    assert_eq!(last.len(), 128, "64 bytes of hex: {last}");
    assert_ne!(&last[..16], &last[16..32], "random, not repeated: {last}");
    let err = run("RandomSource(65536) -> Discard;", 1, &[]).unwrap_err();
    assert!(err.contains("bad length 65536"), "{err}");
}
