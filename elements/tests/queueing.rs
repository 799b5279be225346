//! MixedQueue, LinkUnqueue, DelayShaper, TimeSortedSched and the
//! timestamp elements (SetTimestampDelta, AdjustTimestamp, TimeFilter):
//! ordering, timing under simulated time, drops and handlers.

mod common;

use std::fmt::Write as _;

use click_elements::MixedQueue;
use click_engine::args::Args;
use click_engine::packet::{Batch, Packet};
use click_engine::{
    ClockMode, ConfigureCtx, Element, ElementClass, Handler, Harness, PacketCtx, PacketElement,
    Port, Processing, Router, RunOptions, DEFAULT_SIMTIME_START,
};

/// `Stamps`: passes packets on, remembering each one's timestamp
/// (`stamps`, as Click prints them, relative to the simulated start when
/// `RELATIVE true`) and paint (`paints`).
#[derive(Debug, Default)]
struct Stamps {
    relative: bool,
    stamps: String,
    paints: String,
}

impl ElementClass for Stamps {
    const CLASS: &'static str = "Stamps";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Stamps {
            relative: args.read("RELATIVE")?.unwrap_or(false),
            ..Stamps::default()
        })
    }
}

impl PacketElement for Stamps {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let mut ns = packet.anno().timestamp().as_signed_nanos();
        if self.relative {
            ns -= DEFAULT_SIMTIME_START.as_signed_nanos();
        }
        let sign = if ns < 0 { "-" } else { "" };
        let abs = ns.unsigned_abs();
        let _ = write!(
            self.stamps,
            "{sign}{}.{:06} ",
            abs / 1_000_000_000,
            abs % 1_000_000_000 / 1000
        );
        let _ = write!(self.paints, "{}", packet.anno().paint());
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("stamps"), Handler::read("paints")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "stamps" => Some(self.stamps.trim_end().to_string()),
            "paints" => Some(self.paints.clone()),
            _ => None,
        }
    }
}

/// Runs `config` under simulated time and returns the final reads.
fn run_sim(config: &str, reads: &[&str]) -> Vec<String> {
    let flat = click_lang::load_str(config, "config", &Default::default()).expect("parses");
    let mut registry = click_elements::registry();
    registry.add::<Stamps>().add::<common::probes::Number>();
    let router = Router::new(&flat, &registry)
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| format!("{d}\n")).collect::<String>()));
    let report = router
        .run(&RunOptions {
            final_reads: reads.iter().map(|r| r.to_string()).collect(),
            clock: ClockMode::Simulated(DEFAULT_SIMTIME_START),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| format!("{d}\n")).collect::<String>()));
    report
        .reads
        .into_iter()
        .map(|r| r.expect("handler reads").trim_end().to_string())
        .collect()
}

/// A configuration error, rendered.
fn config_error(config: &str) -> String {
    common::check(config).expect_err("the configuration is refused")
}

/// An IP summary dump of `timestamps` (one packet each) in a fresh file.
fn dump(name: &str, timestamps: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("queueing-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut text = String::from("!data timestamp\n");
    for t in timestamps {
        text.push_str(t);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn painted(color: u8) -> Packet {
    let mut p = Packet::from_slice(&[0u8; 60]).unwrap();
    p.anno_mut().set_paint(color);
    p
}

fn one(p: Packet) -> Batch {
    let mut b = Batch::new();
    b.push(p);
    b
}

fn paints(batch: Option<Batch>) -> Vec<u8> {
    batch
        .map(|b| b.iter().map(|p| p.anno().paint()).collect())
        .unwrap_or_default()
}

fn mixed_queue(config: &str) -> MixedQueue {
    let ctx = ConfigureCtx {
        name: "m",
        inputs: &[Processing::Push, Processing::Push],
        outputs: &[Processing::Pull, Processing::Push],
    };
    MixedQueue::configure(&mut Args::new(config), &ctx).unwrap()
}

#[test]
fn mixedqueue_appends_on_input_0_and_prepends_on_input_1() {
    let mut h = Harness::new("m");
    let mut m = mixed_queue("");
    h.with(|ctx| {
        m.initialize_for_test(ctx);
        // Click's example: A, B FIFO; C LIFO; D FIFO; E LIFO.
        for (port, color) in [(0, 1), (0, 2), (1, 3), (0, 4), (1, 5)] {
            m.push(port, one(painted(color)), ctx);
        }
        assert_eq!(m.read_handler("length").unwrap(), "5");
        assert_eq!(paints(m.pull(0, 32, ctx)), [5, 3, 1, 2, 4]);
        assert!(m.pull(0, 32, ctx).is_none());
    });
}

#[test]
fn a_full_mixedqueue_drops_new_fifo_packets_and_old_ones_for_lifo_packets() {
    let mut h = Harness::new("m");
    let mut m = mixed_queue("3");
    h.with(|ctx| {
        m.initialize_for_test(ctx);
        for color in 1..=3 {
            m.push(0, one(painted(color)), ctx);
        }
        m.push(0, one(painted(4)), ctx); // dropped itself
        m.push(1, one(painted(5)), ctx); // drops 3, the back
    });
    let dropped: Vec<u8> = h.take_output(1).iter().map(|p| p.anno().paint()).collect();
    assert_eq!(dropped, [4, 3]);
    h.with(|ctx| {
        assert_eq!(m.read_handler("drops").unwrap(), "2");
        assert_eq!(m.read_handler("highwater_length").unwrap(), "3");
        assert_eq!(paints(m.pull(0, 32, ctx)), [5, 1, 2]);
    });
}

/// `initialize` needs an `InitCtx`, which only a router gives; the
/// Harness tests reserve the queue's room through a capacity write.
trait InitForTest {
    fn initialize_for_test(&mut self, ctx: &mut click_engine::Ctx<'_>);
}

impl InitForTest for MixedQueue {
    fn initialize_for_test(&mut self, ctx: &mut click_engine::Ctx<'_>) {
        let capacity = self.read_handler("capacity").unwrap();
        self.write_handler("capacity", &capacity, ctx).unwrap();
    }
}

#[test]
fn mixedqueue_wakes_its_unqueue_and_sleeps_it_when_empty() {
    let reads = run_sim(
        "InfiniteSource(LIMIT 5, STOP false) -> Number -> m :: MixedQueue
            -> Unqueue -> r :: Stamps -> Discard;
         Idle -> [1]m;
         DriverManager(wait_time 1s, stop);",
        &["r.paints", "m.length", "m.drops"],
    );
    assert_eq!(reads, ["01234", "0", "0"]);
}

#[test]
fn linkunqueue_delivers_after_latency_plus_transmission_back_to_back() {
    // 100-byte packets at 100 kB/s take 1 ms each; the link adds 10 ms.
    // All three are pulled back to back at time 0, so they arrive at 11,
    // 12 and 13 ms.
    let reads = run_sim(
        "InfiniteSource(LENGTH 100, LIMIT 3, BURST 3, STOP false) -> Queue
            -> l :: LinkUnqueue(10ms, 100kBps) -> c :: Counter -> r :: Stamps(RELATIVE true) -> Discard;
         s :: Script(export a 0, export b 0, export d 0, export e 0, wait 10.5ms, set a $(c.count) $(l.size),
                     wait 1ms, set b $(c.count),
                     wait 1ms, set d $(c.count),
                     wait 1ms, set e $(c.count) $(l.size), stop);",
        &["s.a", "s.b", "s.d", "s.e", "r.stamps", "l.bandwidth"],
    );
    assert_eq!(
        reads,
        [
            "0 3",
            "1",
            "2",
            "3 0",
            "0.011000 0.012000 0.013000",
            "100000"
        ]
    );
}

#[test]
fn linkunqueue_spaces_packets_that_arrive_apart_by_their_arrival() {
    // One packet every 5 ms (RatedSource, 200/s) on a link that takes 1 ms
    // each: no queueing, each arrives 1 ms + 2 ms latency after it left.
    let reads = run_sim(
        "RatedSource(LENGTH 100, RATE 200, LIMIT 3, STOP false) -> Queue
            -> LinkUnqueue(2ms, 100kBps) -> r :: Stamps(RELATIVE true) -> Discard;
         DriverManager(wait_time 100ms, stop);",
        &["r.stamps"],
    );
    assert_eq!(reads, ["0.003000 0.008000 0.013000"]);
}

#[test]
fn linkunqueue_refuses_a_bandwidth_under_100_bytes_per_second() {
    let e = config_error("Idle -> Queue -> LinkUnqueue(1ms, 99Bps) -> Discard;");
    assert!(e.contains("bandwidth too small"), "{e}");
}

#[test]
fn delayshaper_hands_out_packets_once_due_and_stamps_them_then() {
    let reads = run_sim(
        "InfiniteSource(LIMIT 3, STOP false) -> SetTimestamp -> Queue
            -> DelayShaper(50ms) -> Unqueue -> c :: Counter -> r :: Stamps(RELATIVE true) -> Discard;
         s :: Script(export a 0, export b 0, wait 49ms, set a $(c.count), wait 2ms, set b $(c.count), stop);",
        &["s.a", "s.b", "r.stamps"],
    );
    assert_eq!(reads, ["0", "3", "0.050000 0.050000 0.050000"]);
}

#[test]
fn delayshaper_wakes_its_puller_when_packets_come_later() {
    // The second source starts at 100 ms; its packets leave 50 ms later.
    let reads = run_sim(
        "a :: InfiniteSource(LIMIT 1, STOP false) -> st :: SetTimestamp -> Queue
            -> DelayShaper(50ms) -> Unqueue -> r :: Stamps(RELATIVE true) -> Discard;
         b :: InfiniteSource(LIMIT 2, ACTIVE false, STOP false) -> st;
         DriverManager(wait_time 100ms, write b.active true, wait_time 100ms, stop);",
        &["r.stamps"],
    );
    assert_eq!(reads, ["0.050000 0.150000 0.150000"]);
}

#[test]
fn timesortedsched_merges_sorted_streams_and_notes_disorder() {
    let a = dump("tss-a", &["0.1", "0.4", "0.5"]);
    let b = dump("tss-b", &["0.2", "0.3", "0.6"]);
    let c = dump("tss-c", &["0.1", "0.4", "0.2"]);
    let config = |x: &str, y: &str, buffer: usize| {
        format!(
            "FromIPSummaryDump({x}) -> [0]t :: TimeSortedSched(STOP true, BUFFER {buffer});
             FromIPSummaryDump({y}) -> [1]t;
             t -> Unqueue(32) -> r :: Stamps -> Discard;"
        )
    };
    let reads = run_sim(&config(&a, &b, 1), &["r.stamps", "t.well_ordered"]);
    assert_eq!(
        reads,
        [
            "0.100000 0.200000 0.300000 0.400000 0.500000 0.600000",
            "true"
        ]
    );
    // 0.2 comes after 0.4 in its stream: out of order with a buffer of 1,
    // put right with a buffer of 3.
    let reads = run_sim(&config(&c, &b, 1), &["r.stamps", "t.well_ordered"]);
    assert_eq!(
        reads,
        [
            "0.100000 0.200000 0.300000 0.400000 0.200000 0.600000",
            "false"
        ]
    );
    let reads = run_sim(&config(&c, &b, 3), &["r.stamps", "t.well_ordered"]);
    assert_eq!(
        reads,
        [
            "0.100000 0.200000 0.200000 0.300000 0.400000 0.600000",
            "true"
        ]
    );
}

#[test]
fn timesortedsched_refuses_an_empty_buffer() {
    let e = config_error("Idle -> TimeSortedSched(BUFFER 0) -> Idle;");
    assert!(e.contains("BUFFER must be at least 1"), "{e}");
}

#[test]
fn settimestampdelta_measures_from_the_first_timestamp() {
    let f = dump("delta", &["5.0", "5.5", "7.25"]);
    let reads = run_sim(
        &format!(
            "FromIPSummaryDump({f}, STOP true) -> d :: SetTimestampDelta -> r :: Stamps -> Discard;"
        ),
        &["r.stamps", "d.first"],
    );
    assert_eq!(reads, ["0.000000 0.500000 2.250000", "5.000000"]);
}

#[test]
fn settimestampdelta_now_gives_ages() {
    // Packets stamped at the start, measured 10 ms later.
    let reads = run_sim(
        "InfiniteSource(LIMIT 2, STOP false) -> SetTimestamp -> Queue
            -> DelayUnqueue(10ms) -> AdjustTimestamp(-10ms) -> SetTimestampDelta(TYPE NOW)
            -> r :: Stamps -> Discard;
         DriverManager(wait_time 50ms, stop);",
        &["r.stamps"],
    );
    assert_eq!(reads, ["0.010000 0.010000"]);
}

#[test]
fn adjusttimestamp_moves_set_timestamps_and_zero_ones_only_with_all() {
    let f = dump("adjust", &["0.1", "1.0", "2.5"]);
    let reads = run_sim(
        &format!(
            "FromIPSummaryDump({f}, STOP true) -> a :: AdjustTimestamp(-1) -> r1 :: Stamps
                -> AdjustTimestamp(+1.5) -> r2 :: Stamps
                -> AdjustTimestamp(0.25, ALL true) -> r3 :: Stamps -> Discard;"
        ),
        &["r1.stamps", "r2.stamps", "r3.stamps", "a.time"],
    );
    assert_eq!(
        reads,
        [
            "-0.900000 0.000000 1.500000",
            "0.600000 0.000000 3.000000",
            "0.850000 0.250000 3.250000",
            "-1"
        ]
    );
}

#[test]
fn timefilter_passes_a_window_and_sends_the_rest_to_output_1() {
    let f = dump("filter", &["0.5", "1.0", "1.5", "2.0", "2.5"]);
    let reads = run_sim(
        &format!(
            "FromIPSummaryDump({f}, STOP true) -> t :: TimeFilter(1, 2) -> r :: Stamps -> Discard;
             t[1] -> rej :: Stamps -> Discard;"
        ),
        &["r.stamps", "rej.stamps", "t.interval"],
    );
    assert_eq!(
        reads,
        [
            "1.000000 1.500000",
            "0.500000 2.000000 2.500000",
            "1.000000"
        ]
    );
}

#[test]
fn timefilter_interval_counts_from_the_first_packet_and_end_call_extends_it() {
    // INTERVAL 1 from the first packet (3.0): [3, 4); at 4.2 the END_CALL
    // extends it by 1 once, so 4.2 and 4.9 pass and 6.0 does not.
    let f = dump("filter2", &["3.0", "3.5", "4.2", "4.9", "6.0"]);
    let reads = run_sim(
        &format!(
            "FromIPSummaryDump({f}, STOP true) -> t :: TimeFilter(INTERVAL 1, END_CALL s.run $t)
                -> c :: Counter -> Discard;
             s :: Script(TYPE PASSIVE, export at 0, init n 0, goto exit $(gt $n 0), set n $(add $n 1),
                         set at $1, write t.extend_interval 1);"
        ),
        &["c.count", "s.at", "t.end"],
    );
    assert_eq!(reads, ["4", "4.200000", "5.000000"]);
}

#[test]
fn timefilter_refuses_two_ends() {
    let e = config_error("Idle -> TimeFilter(END 2, INTERVAL 1) -> Idle;");
    assert!(e.contains("mutually exclusive"), "{e}");
}
