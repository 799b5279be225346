//! Hub, CheckPaint, StaticSwitch, RandomSample, MarkMACHeader and
//! Message: where packets go, what is counted, what is refused.

mod common;

use click_elements::{CheckPaint, MarkMACHeader, Message, RandomSample, StaticSwitch};
use click_engine::args::Args;
use click_engine::packet::Packet;
use click_engine::{ConfigureCtx, ElementClass, Harness, PacketElement, Processing};

fn make<T: ElementClass>(config: &str, noutputs: usize) -> Result<T, String> {
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "e",
        inputs: &[Processing::Push],
        outputs: &outputs,
    };
    T::configure(&mut Args::new(config), &ctx)
}

/// Runs `config` and returns the final reads of `handlers`, trimmed.
fn run(config: &str, threads: usize, handlers: &[&str]) -> Result<Vec<String>, String> {
    let reads = common::run(config, threads, handlers)?;
    Ok(reads.iter().map(|r| r.trim_end().to_string()).collect())
}

fn painted(color: u8) -> Packet {
    let mut p = Packet::from_slice(&[0u8; 60]).unwrap();
    p.anno_mut().set_paint(color);
    p
}

#[test]
fn hub_repeats_each_packet_to_every_other_port() {
    let reads = run(
        "InfiniteSource(LIMIT 3, STOP true) -> [1]h :: Hub;
         Idle -> [0]h; Idle -> [2]h;
         h[0] -> c0 :: Counter -> Discard;
         h[1] -> c1 :: Counter -> Discard;
         h[2] -> c2 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count", "c2.count"],
    )
    .unwrap();
    assert_eq!(reads, ["3", "0", "3"]);
}

#[test]
fn checkpaint_separates_one_colour() {
    let reads = run(
        "InfiniteSource(LIMIT 8, STOP true) -> Number -> cp :: CheckPaint(2)
            -> same :: Counter -> Discard;
         cp[1] -> other :: Counter -> Discard;",
        1,
        &["same.count", "other.count", "cp.color"],
    )
    .unwrap();
    assert_eq!(reads, ["1", "7", "2"]);
}

#[test]
fn checkpaint_with_one_output_drops_the_other_colours() {
    let mut h = Harness::new("cp");
    let mut cp: CheckPaint = make("3, PAINT", 1).unwrap();
    h.with(|ctx| {
        assert_eq!(cp.process(&mut painted(3), ctx), Some(0));
        assert_eq!(cp.process(&mut painted(4), ctx), Some(1));
        cp.write_handler("color", "4", ctx).unwrap();
        assert_eq!(cp.process(&mut painted(4), ctx), Some(0));
    });
    // In a router, output 1 missing: the engine drops and counts.
    let reads = run(
        "InfiniteSource(LIMIT 4, STOP true) -> Number -> CheckPaint(0) -> c :: Counter -> Discard;",
        1,
        &["c.count"],
    )
    .unwrap();
    assert_eq!(reads, ["1"]);
}

#[test]
fn staticswitch_sends_everything_to_one_output_or_drops_it() {
    let reads = run(
        "InfiniteSource(LIMIT 5, STOP true) -> s :: StaticSwitch(1);
         s[0] -> c0 :: Counter -> Discard;
         s[1] -> c1 :: Counter -> Discard;",
        1,
        &["c0.count", "c1.count"],
    )
    .unwrap();
    assert_eq!(reads, ["0", "5"]);
    let mut h = Harness::new("s");
    let mut s: StaticSwitch = make("-1", 2).unwrap();
    let mut beyond: StaticSwitch = make("2", 2).unwrap();
    h.with(|ctx| {
        assert_eq!(s.process(&mut painted(0), ctx), None);
        assert_eq!(beyond.process(&mut painted(0), ctx), None);
    });
}

#[test]
fn randomsample_passes_about_its_share_and_counts_the_rest() {
    let reads = run(
        "InfiniteSource(LIMIT 10000, STOP true) -> r :: RandomSample(0.25)
            -> kept :: Counter -> Discard;
         r[1] -> lost :: Counter -> Discard;",
        1,
        &[
            "kept.count",
            "lost.count",
            "r.drops",
            "r.sampling_prob",
            "r.drop_prob",
        ],
    )
    .unwrap();
    let kept: u64 = reads[0].parse().unwrap();
    assert!((2200..2800).contains(&kept), "{reads:?}");
    assert_eq!(kept + reads[1].parse::<u64>().unwrap(), 10000);
    assert_eq!(reads[1], reads[2]);
    assert_eq!(reads[3..], ["0.25", "0.75"]);
}

#[test]
fn randomsample_extremes_and_inactive() {
    let mut h = Harness::new("r");
    let mut none: RandomSample = make("DROP 1", 2).unwrap();
    let mut all: RandomSample = make("SAMPLE 0, ACTIVE false", 2).unwrap();
    h.with(|ctx| {
        for _ in 0..100 {
            assert_eq!(none.process(&mut painted(0), ctx), Some(1));
            assert_eq!(all.process(&mut painted(0), ctx), Some(0));
        }
        assert_eq!(none.read_handler("drops").unwrap(), "100");
        all.write_handler("active", "true", ctx).unwrap();
        assert_eq!(all.process(&mut painted(0), ctx), Some(1));
        assert!(all.write_handler("sampling_prob", "1.5", ctx).is_err());
    });
}

#[test]
fn randomsample_refuses_bad_probabilities() {
    assert!(make::<RandomSample>("1.5", 1).is_err());
    assert!(make::<RandomSample>("SAMPLE 0.5, DROP 0.5", 1).is_err());
    assert!(make::<RandomSample>("", 1).is_err());
}

#[test]
fn markmacheader_marks_the_mac_and_network_headers() {
    let mut h = Harness::new("m");
    let mut plain: MarkMACHeader = make("", 1).unwrap();
    let mut both: MarkMACHeader = make("4, 14", 1).unwrap();
    h.with(|ctx| {
        let mut p = Packet::from_slice(&[0u8; 40]).unwrap();
        assert_eq!(plain.process(&mut p, ctx), Some(0));
        assert_eq!(p.mac_header_offset(), Some(0));
        assert_eq!(both.process(&mut p, ctx), Some(0));
        assert_eq!(p.mac_header_offset(), Some(4));
        assert_eq!(p.network_header_offset(), Some(18));
        // Too short for the mark: dropped.
        let mut short = Packet::from_slice(&[0u8; 3]).unwrap();
        assert_eq!(both.process(&mut short, ctx), None);
        assert_eq!(short.mac_header_offset(), None);
    });
}

#[test]
fn message_informs_warns_or_refuses() {
    assert!(make::<Message>("\"hello\"", 0).is_ok());
    assert!(make::<Message>("careful, WARNING", 0).is_ok());
    assert_eq!(
        make::<Message>("\"no way\", ERROR", 0).unwrap_err(),
        "no way"
    );
    assert_eq!(
        make::<Message>("x, SHOUT", 0).unwrap_err(),
        "unrecognized message type"
    );
    let e = common::check("Message(\"not this one\", ERROR);").unwrap_err();
    assert!(e.contains("not this one"), "{e}");
}

#[test]
fn messages_are_collected_once_each_at_their_element() {
    let flat = click_lang::load_str(
        "m :: Message(\"hello\");\nw :: Message(careful, WARNING);",
        "config",
        &Default::default(),
    )
    .unwrap();
    let router = click_engine::Router::new(&flat, &click_elements::registry()).unwrap();
    let lines: Vec<String> = router.messages().iter().map(|d| d.click_line()).collect();
    assert_eq!(
        lines,
        [
            "config:1: While configuring 'm :: Message':\n  hello",
            "config:2: While configuring 'w :: Message':\n  warning: careful"
        ]
    );
}
