//! The example elements, run through the real parser and engine: counts per
//! port, handler values, copy-on-write, timers, configuration errors.

use std::fmt::Write as _;

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port, Processing, Router,
    RunOptions,
};
use click_engine::{Harness, PacketCtx};
use custom_element_example::{registry, run_config, LengthFilter};

/// Reads `handlers` after running `config`, as numbers.
fn counts(config: &str, handlers: &[&str]) -> Vec<u64> {
    run_config(config, handlers)
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("not a count: {v:?}"))
        })
        .collect()
}

/// Declares `lf` as `filter`, then sends it ten 100-byte packets and their
/// ten clones shortened to 50 bytes.
fn two_sizes(filter: &str) -> String {
    format!(
        "lf :: {filter};
         InfiniteSource(LENGTH 100, LIMIT 10, BURST 4, STOP true) -> t :: Tee(2);
         t[0] -> Strip(50) -> lf;
         t[1] -> lf;"
    )
}

#[test]
fn length_filter_routes_by_length() {
    let config = format!(
        "{}
         lf[0] -> long :: Counter -> Discard;
         lf[1] -> short :: Counter -> Discard;",
        two_sizes("LengthFilter(60, 1500)")
    );
    let got = counts(
        &config,
        &[
            "lf.passed",
            "lf.rejected",
            "long.count",
            "long.byte_count",
            "short.count",
            "short.byte_count",
        ],
    );
    assert_eq!(got, [10, 10, 10, 1000, 10, 500]);
}

#[test]
fn length_filter_bounds_are_inclusive_and_keywords_work() {
    let config = format!(
        "{}
         lf[0] -> ok :: Counter -> Discard;
         lf[1] -> Discard;",
        two_sizes("LengthFilter(MAX 100, MIN 50)")
    );
    assert_eq!(counts(&config, &["ok.count", "lf.rejected"]), [20, 0]);
}

#[test]
fn length_filter_without_output_1_drops_and_the_engine_counts_it() {
    let config = format!(
        "{}
         lf -> c :: Counter -> Discard;",
        two_sizes("LengthFilter(60, 1500)")
    );
    let flat = click_lang::load_str(&config, "config", &Default::default()).unwrap();
    let router = Router::new(&flat, &registry()).unwrap();
    let report = router
        .run(&RunOptions {
            final_reads: vec!["c.count".into(), "lf.rejected".into()],
            ..RunOptions::default()
        })
        .unwrap();
    let reads: Vec<String> = report.reads.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        reads,
        ["10\n", "10\n"],
        "handler values end in a newline, as Click's"
    );
    assert!(
        report.engine_drops.contains(&("lf".to_string(), 10)),
        "drops: {:?}",
        report.engine_drops
    );
}

#[test]
fn length_filter_is_push_only() {
    let e =
        config_error("InfiniteSource -> Queue -> lf :: LengthFilter(1, 2) -> Unqueue -> Discard;");
    assert!(e.contains("lf"), "{e}");
}

/// Renders the errors of building `config`, or panics if it builds.
fn config_error(config: &str) -> String {
    match run_config(config, &[]) {
        Ok(_) => panic!("expected an error for {config}"),
        Err(e) => e,
    }
}

#[test]
fn configuration_errors_name_the_element() {
    let e = config_error("Idle -> lf :: LengthFilter(100, 50) -> Discard;");
    assert!(e.contains("while configuring 'lf :: LengthFilter'"), "{e}");
    assert!(e.contains("MIN (100) is greater than MAX (50)"), "{e}");

    let e = config_error("Idle -> bad :: LengthFilter(100) -> Discard;");
    assert!(
        e.contains("bad :: LengthFilter") && e.contains("MAX"),
        "{e}"
    );

    let e = config_error("Idle -> lf :: LengthFilter(1, 2, 3) -> Discard;");
    assert!(
        e.contains("'lf :: LengthFilter'") && e.contains("too many"),
        "{e}"
    );

    let e = config_error("Idle -> lf :: LengthFilter(one, 2) -> Discard;");
    assert!(e.contains("MIN"), "{e}");

    let e = config_error("Idle -> d :: SetDSCP(64) -> Discard;");
    assert!(
        e.contains("'d :: SetDSCP'") && e.contains("out of range"),
        "{e}"
    );

    let e = config_error("Idle -> m :: RateMeter(0) -> Discard;");
    assert!(
        e.contains("'m :: RateMeter'") && e.contains("positive"),
        "{e}"
    );
}

#[test]
fn every_configuration_error_is_reported_at_once() {
    let e = config_error(
        "Idle -> a :: LengthFilter(9, 1) -> b :: SetDSCP(99) -> c :: RateMeter(INTERVAL x) -> Discard;",
    );
    assert_eq!(e.lines().count(), 3, "{e}");
    for name in ["a :: LengthFilter", "b :: SetDSCP", "c :: RateMeter"] {
        assert!(e.contains(name), "{name} missing in {e}");
    }
}

#[test]
fn port_counts_are_checked_before_configure() {
    let e = config_error("Idle -> lf :: LengthFilter(1, 2); lf[2] -> Discard; lf -> Discard;");
    assert!(e.contains("lf"), "{e}");
}

/// `Last`: remembers the bytes of the last packet through it, as hex. A
/// test element is an element like any other: define it in the test.
#[derive(Debug, Default)]
struct Last(String);

impl ElementClass for Last {
    const CLASS: &'static str = "Last";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Last::default())
    }
}

impl PacketElement for Last {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.0.clear();
        for b in packet.data() {
            let _ = write!(self.0, "{b:02x}");
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("hex")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "hex").then(|| self.0.clone())
    }
}

/// The Internet checksum of `header`, from scratch.
fn checksum(header: &[u8]) -> u16 {
    let mut s: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn set_dscp_writes_a_copy_and_keeps_the_checksum_valid() {
    // An IPv4 header (TOS 0x01: ECN bit set) with a valid checksum.
    let mut ip = [
        0x45u8, 0x01, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0,
        2,
    ];
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let config = format!(
        "InfiniteSource(DATA \\<{}>, LIMIT 5, STOP true) -> t :: Tee(2);
         t[0] -> d :: SetDSCP(46) -> marked :: Last -> Discard;
         t[1] -> orig :: Last -> Discard;",
        hex(&ip)
    );
    let flat = click_lang::load_str(&config, "config", &Default::default()).unwrap();
    let mut r = registry();
    r.add::<Last>();
    let report = Router::new(&flat, &r)
        .unwrap()
        .run(&RunOptions {
            final_reads: vec!["marked.hex".into(), "orig.hex".into(), "d.count".into()],
            ..RunOptions::default()
        })
        .unwrap();
    let reads: Vec<String> = report
        .reads
        .into_iter()
        .map(|r| r.unwrap().trim().to_string())
        .collect();

    // The clone Tee sent to SetDSCP was copied before the write...
    assert_eq!(reads[1], hex(&ip), "the original is untouched");
    // ...and carries DSCP 46 (EF), the ECN bits kept, a valid checksum.
    let marked: Vec<u8> = (0..reads[0].len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&reads[0][i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(marked[1], (46 << 2) | 0x01);
    assert_eq!(checksum(&marked), 0, "checksum verifies: {}", reads[0]);
    assert_eq!(reads[2], "5");
}

#[test]
fn set_dscp_passes_non_ip_packets_unchanged() {
    let got = run_config(
        "InfiniteSource(DATA \"not an IPv4 header\", LIMIT 3, STOP true)
           -> d :: SetDSCP(10) -> c :: Counter -> Discard;",
        &["d.not_ip", "d.count", "c.count"],
    )
    .unwrap();
    assert_eq!(got, ["3\n", "0\n", "3\n"]);
}

#[test]
fn rate_meter_measures_the_rate_on_its_timer() {
    // 2000 packets/s for half a second, measured every 50 ms.
    let got = counts(
        "RatedSource(RATE 2000, LIMIT 1000, STOP true) -> m :: RateMeter(50ms) -> Discard;",
        &["m.count", "m.byte_count", "m.intervals", "m.rate"],
    );
    let [count, bytes, intervals, rate] = got[..] else {
        unreachable!()
    };
    assert_eq!(count, 1000);
    assert!(bytes > 0);
    // ~10 intervals in 0.5 s; a loaded machine may fire fewer timers.
    assert!((3..=20).contains(&intervals), "intervals: {intervals}");
    // Generous bounds: shared CI cores make timing noisy.
    assert!((1000..=4000).contains(&rate), "rate: {rate} packets/s");
}

#[test]
fn rate_meter_works_in_a_pull_path() {
    let got = counts(
        // The source's stop event ends the script's `wait_stop`; the
        // queue drains during the `wait`.
        "InfiniteSource(LIMIT 500, BURST 16, STOP true) -> Queue(1000)
           -> m :: RateMeter -> Unqueue(BURST 32) -> c :: Counter -> Discard;
         DriverManager(wait_stop, wait 100ms, stop);",
        &["m.count", "c.count"],
    );
    assert_eq!(got, [500, 500]);
}

/// Elements can be unit-tested without a router: configure one directly
/// and call its methods.
#[test]
fn length_filter_handlers_without_a_router() {
    let ctx = ConfigureCtx {
        name: "lf",
        inputs: &[Processing::Push],
        outputs: &[Processing::Push, Processing::Push],
    };
    let mut lf = LengthFilter::configure(&mut Args::new("10, 20"), &ctx).unwrap();
    // A Harness gives the element the context a router would.
    let mut h = Harness::new("lf");
    let mut p = Packet::from_slice(&[0; 15]).unwrap();
    h.with(|ctx| {
        assert_eq!(lf.process(&mut p, ctx), Some(0));
        lf.write_handler("max", "12", ctx).unwrap();
        assert_eq!(lf.process(&mut p, ctx), Some(1));
        assert_eq!(
            lf.write_handler("min", "13", ctx).unwrap_err(),
            "MIN (13) is greater than MAX (12)"
        );
        assert_eq!(lf.read_handler("passed").as_deref(), Some("1"));
        assert_eq!(lf.read_handler("rejected").as_deref(), Some("1"));
        lf.write_handler("reset", "", ctx).unwrap();
        assert_eq!(lf.read_handler("rejected").as_deref(), Some("0"));
    });
}
