//! The engine's model, probed with small routers: verdicts of pulled
//! elements, the order of split batches, several timers per element, and
//! elements reached from several threads.

mod common;
use common::{check, run};

/// Click's `a/ah` (CheckIPHeader, DecIPTTL): output 1 stays push when
/// output 0 is pulled, and the packets sent there arrive.
#[test]
fn a_pulled_agnostic_element_pushes_its_other_verdicts() {
    let out = run(
        "InfiniteSource(LIMIT 10, BURST 4, STOP true) -> q :: Queue
           -> a :: Alternate -> Unqueue(BURST 4) -> c0 :: Counter -> Discard;
         a[1] -> c1 :: Counter -> Discard;
         DriverManager(wait_stop, wait 20ms, stop);",
        1,
        &["c0.count", "c1.count", "q.length"],
    )
    .unwrap();
    assert_eq!(out, ["5\n", "5\n", "0\n"]);
}

/// The same on two threads: the pull runs on the Unqueue's thread, and so
/// does the push out of output 1 that it causes.
#[test]
fn a_pulled_agnostic_element_pushes_on_the_pulling_thread() {
    let out = run(
        "InfiniteSource(LIMIT 10, BURST 4, STOP true) -> q :: ThreadSafeQueue
           -> a :: Alternate -> u :: Unqueue(BURST 4) -> c0 :: Counter -> Discard;
         a[1] -> c1 :: Counter -> Discard;
         StaticThreadSched(u 1);
         DriverManager(wait_stop, wait 50ms, stop);",
        2,
        &["c0.count", "c1.count"],
    )
    .unwrap();
    assert_eq!(out, ["5\n", "5\n"]);
}

/// A split batch keeps the batch's order across ports: where the outputs
/// meet again, packets arrive as Click delivers them, one at a time.
#[test]
fn split_batches_keep_their_order_where_the_outputs_meet() {
    let out = run(
        "InfiniteSource(LIMIT 10, BURST 10, STOP true) -> Number -> a :: Alternate
           -> r :: Record -> Discard;
         a[1] -> r;",
        1,
        &["r.seq"],
    )
    .unwrap();
    assert_eq!(out, ["0123456789\n"]);
}

/// Pushes deferred by a cycle run first in, first out: packets come back
/// around the loop in the order they left.
#[test]
fn pushes_deferred_by_a_cycle_run_first_in_first_out() {
    // Packets 0..3 alternate between the exit and a loop back into `a`.
    // The pushes back into `a` wait until it returns (it is on the stack):
    // 1, then 3. Then 1 goes out (its turn is output 0) and 3 goes round
    // once more. Last in, first out would give 0231.
    let out = run(
        "InfiniteSource(LIMIT 4, BURST 4, STOP true) -> Number -> j :: Null -> a :: Alternate
           -> r :: Record -> Discard;
         a[1] -> j;",
        1,
        &["r.seq"],
    )
    .unwrap();
    assert_eq!(out, ["0213\n"]);
}

#[test]
fn an_element_has_as_many_timers_as_it_adds() {
    let out = run(
        "t :: Ticker; DriverManager(wait 60ms, stop);",
        1,
        &["t.fired"],
    )
    .unwrap();
    // 10 ms: timer 1; 20 ms: timer 2; 30, 35, 40 ms: the main one.
    assert_eq!(out, ["12000\n"]);
}

/// Two sources on two threads feed one Counter: each thread gets an
/// instance, and the handler adds them up. Nothing is lost.
#[test]
fn an_element_reached_from_two_threads_has_an_instance_on_each() {
    let out = run(
        "s0 :: InfiniteSource(LIMIT 10, BURST 3, STOP true) -> n :: Null -> c :: Counter -> d :: Discard;
         s1 :: InfiniteSource(LIMIT 10, BURST 3, STOP true) -> n;
         StaticThreadSched(s0 0, s1 1);
         DriverManager(wait_stop 2, stop);",
        2,
        &["c.count", "c.byte_count", "d.count", "n.config"],
    )
    .unwrap();
    assert_eq!(out[0], "20\n", "{out:?}");
    assert_eq!(out[2], "20\n", "{out:?}");
}

/// A write to an element with an instance per thread reaches every
/// instance: a reset clears both threads' counts.
#[test]
fn handler_writes_reach_every_instance() {
    let out = run(
        "s0 :: InfiniteSource(LIMIT 10, STOP true) -> c :: Counter -> d :: Discard;
         s1 :: InfiniteSource(LIMIT 10, STOP true) -> c;
         StaticThreadSched(s0 0, s1 1);
         DriverManager(wait_stop 2, write c.reset, stop);",
        2,
        &["c.count", "d.count"],
    )
    .unwrap();
    assert_eq!(out, ["0\n", "20\n"]);
}

/// A class that runs on one thread only, reached from two: an error that
/// says what to do, never a silent loss.
#[test]
fn a_one_thread_element_reached_from_two_threads_is_an_error() {
    let config = "s0 :: InfiniteSource(LIMIT 10, STOP true) -> q :: Queue -> Unqueue -> Discard;
                  s1 :: InfiniteSource(LIMIT 10, STOP true) -> q;
                  StaticThreadSched(s0 0, s1 1);";
    check(config).expect("one thread: fine");
    let err = run(config, 2, &[]).unwrap_err();
    assert!(
        err.contains("'q :: Queue' is reached from threads 0 and 1")
            && err.contains("put a ThreadSafeQueue between the threads"),
        "{err}"
    );
}

/// Where a splitter's outputs never meet again, each output gets its
/// packets in order, one batch per port (nothing downstream can see the
/// order across ports).
#[test]
fn split_batches_to_outputs_that_never_meet_keep_each_ports_order() {
    let out = run(
        "InfiniteSource(LIMIT 10, BURST 10, STOP true) -> Number -> a :: Alternate
           -> r0 :: Record -> Discard;
         a[1] -> r1 :: Record -> Discard;",
        1,
        &["r0.seq", "r1.seq"],
    )
    .unwrap();
    assert_eq!(out, ["02468\n", "13579\n"]);
}
