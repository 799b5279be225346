//! RatedSplitter: packets within the rate go to output 0, the rest to
//! output 1, and none is lost.

mod common;

use common::{router, values};

#[test]
fn rated_splitter_sends_the_excess_to_output_1() {
    let text = router(&[
        "--simtime",
        "-h",
        "u.count",
        "-h",
        "a.count",
        "-h",
        "b.count",
        "-e",
        "InfiniteSource -> Queue(10) -> u :: RatedUnqueue(10)
         -> rs :: RatedSplitter(RATE 2, BURST_SIZE 1);
         rs[0] -> a :: Counter -> Discard;
         rs[1] -> b :: Counter -> Discard;
         DriverManager(wait 10s, stop)",
    ]);
    let [unqueued, within, over] = values(&text)[..] else {
        panic!("unexpected output {text:?}")
    };
    // Click's rounding: RatedUnqueue(10) has a token every 101 ms after
    // its first, so 100 packets in 10 s; RatedSplitter(2) one every 501 ms,
    // so 20 of them go to output 0.
    assert_eq!((unqueued, within), (100, 20), "{text}");
    assert_eq!(within + over, unqueued);
}
