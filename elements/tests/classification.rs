//! IPClassifier, IPFilter and Classifier: the compiled decision graph
//! against the plain interpreter of the same rules, on random rule sets and
//! random packets; and the pattern parsers on random text (they never
//! panic).

use click_elements::{Classifier, IPClassifier, IPFilter};
use click_engine::args::Args;
use click_engine::packet::Packet;
use click_engine::{ConfigureCtx, ElementClass, Processing};
use proptest::prelude::*;

fn configure<T: ElementClass>(patterns: &[String], noutputs: usize) -> Result<T, String> {
    let config = patterns.join(", ");
    let mut args = Args::new(&config);
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "c",
        inputs: &[Processing::Push],
        outputs: &outputs,
    };
    T::configure(&mut args, &ctx)
}

// ---- random patterns -------------------------------------------------------

/// A few values per field, so that random packets often match.
const HOSTS: &[&str] = &["10.0.0.1", "10.0.0.2", "10.1.0.1", "192.168.1.1"];
const NETS: &[&str] = &[
    "10.0.0.0/8",
    "10.0.0.0/24",
    "10.0.0.0/31",
    "0.0.0.0/0",
    "10.1.0.0 mask 255.255.0.0",
];
const PORTS: &[&str] = &["53", "80", "1024", "www", "domain", "0"];
const RELOPS: &[&str] = &["", "==", "!=", "<", ">", "<=", ">="];

fn pick<T: Clone + std::fmt::Debug + 'static>(xs: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(xs)
}

fn primitive() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "tcp",
            "udp",
            "icmp",
            "ip proto 47",
            "tcpudp",
            "ip proto != 6",
            "ip proto < 10"
        ])
        .prop_map(String::from),
        (
            pick(&["", "src ", "dst ", "src or dst ", "src and dst "]),
            pick(HOSTS)
        )
            .prop_map(|(q, h)| format!("{q}host {h}")),
        (pick(&["", "src ", "dst "]), pick(NETS)).prop_map(|(q, n)| format!("{q}net {n}")),
        (
            pick(&["", "src ", "dst "]),
            pick(&["", "tcp ", "udp "]),
            pick(RELOPS),
            pick(PORTS)
        )
            .prop_map(|(q, p, r, v)| format!("{q}{p}port {r} {v}")),
        (
            pick(&[
                ("ttl", 255u32),
                ("tos", 255),
                ("dscp", 63),
                ("hl", 15),
                ("vers", 15),
                ("id", 65535),
                ("len", 65535)
            ]),
            pick(RELOPS),
            0u32..300
        )
            .prop_map(|((f, max), r, v)| format!("ip {f} {r} {}", v % (max + 1))),
        (
            pick(&["ip", "transp", "tcp", "udp"]),
            0u32..24,
            1u32..4,
            pick(RELOPS),
            0u32..256
        )
            .prop_map(|(h, pos, len, r, v)| {
                let len = len.min(4 - pos % 4);
                format!("{h}[{pos}:{len}] {r} {v}")
            }),
        (
            pick(&["ip", "transp"]),
            0u32..24,
            1u32..255,
            pick(RELOPS),
            0u32..256
        )
            .prop_map(|(h, pos, m, r, v)| format!("{h}[{pos}] & {m} {r} {v}")),
        pick(&[
            "tcp syn",
            "tcp ack",
            "tcp fin",
            "tcp opt rst",
            "tcp syn ack",
            "tcp win > 1000"
        ])
        .prop_map(String::from),
        pick(&[
            "icmp type echo",
            "icmp type echo-reply",
            "icmp type > 5",
            "icmp type != 8"
        ])
        .prop_map(String::from),
        pick(&["ip frag", "ip unfrag", "ip ect", "ip ce", "true", "false"]).prop_map(String::from),
        // (in parentheses: a primitive without qualifiers after an ether
        // one would be an ether test too, as in Click)
        pick(&[
            "(ether host 0:1:2:3:4:5)",
            "(src ether host 2:2:2:2:2:2)",
            "(dst ether host 1:1:1:1:1:1)"
        ])
        .prop_map(String::from),
        pick(&[
            "src port 80 or 53",
            "dst host 10.0.0.1 or 10.0.0.2",
            "port 53 or > 60000"
        ])
        .prop_map(String::from),
    ]
}

fn expression() -> impl Strategy<Value = String> {
    primitive().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                pick(&[" and ", " && ", " ", " or ", " || "]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            (pick(&["not ", "!", "! "]), inner.clone()).prop_map(|(n, e)| format!("{n}({e})")),
            inner.clone().prop_map(|e| format!("({e})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("({c}) ? ({a}) : ({b})")),
        ]
    })
}

// ---- random packets ----------------------------------------------------------

/// An Ethernet + IPv4 frame built from random choices, with the MAC and
/// network headers marked as CheckIPHeader would (or not), sometimes cut
/// short.
#[derive(Debug, Clone)]
struct Frame {
    bytes: Vec<u8>,
    ihl_words: usize,
    mark: bool,
    mac: bool,
}

fn frame() -> impl Strategy<Value = Frame> {
    (
        pick(&[[0u8, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]]),
        pick(&[[2u8, 2, 2, 2, 2, 2], [0, 1, 2, 3, 4, 5]]),
        (
            pick(&[5usize, 5, 5, 6, 8]),
            pick(&[4u8, 4, 4, 6]),
            any::<u8>(),
            pick(&[64u8, 1, 255, 0]),
        ),
        (
            pick(&[6u8, 17, 1, 47, 6, 17]),
            pick(&[0u16, 0, 0x2000, 0x0010, 0x4000, 0x1fff]),
        ),
        (pick(HOSTS), pick(HOSTS)),
        (
            pick(&[53u16, 80, 1024, 0, 65535, 60001, 8]),
            pick(&[53u16, 80, 1024, 0, 2]),
        ),
        (any::<u8>(), any::<u16>()),
        prop::collection::vec(any::<u8>(), 0..24),
        (any::<bool>(), any::<bool>(), prop::option::of(0usize..80)),
    )
        .prop_map(
            |(
                dst,
                src,
                (ihl, ver, tos, ttl),
                (proto, frag),
                (s, d),
                (sp, dp),
                (flags, win),
                tail,
                (mark, mac, cut),
            )| {
                let mut b = Vec::new();
                b.extend_from_slice(&dst);
                b.extend_from_slice(&src);
                b.extend_from_slice(&[0x08, 0x00]);
                let total = (ihl * 4 + 20 + tail.len()) as u16;
                b.push((ver << 4) | ihl as u8);
                b.push(tos);
                b.extend_from_slice(&total.to_be_bytes());
                b.extend_from_slice(&[0x12, 0x34]);
                b.extend_from_slice(&frag.to_be_bytes());
                b.push(ttl);
                b.push(proto);
                b.extend_from_slice(&[0, 0]);
                let ip = |a: &str| a.parse::<std::net::Ipv4Addr>().unwrap().octets();
                b.extend_from_slice(&ip(s));
                b.extend_from_slice(&ip(d));
                b.resize(14 + ihl * 4, 1);
                // a transport header: ports, then TCP-like fields (type = first byte for ICMP)
                b.extend_from_slice(&sp.to_be_bytes());
                b.extend_from_slice(&dp.to_be_bytes());
                b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0x50, flags]);
                b.extend_from_slice(&win.to_be_bytes());
                b.extend_from_slice(&[0, 0, 0, 0]);
                b.extend_from_slice(&tail);
                if let Some(n) = cut {
                    b.truncate(n);
                }
                Frame {
                    bytes: b,
                    ihl_words: ihl,
                    mark,
                    mac,
                }
            },
        )
}

fn packet(f: &Frame) -> Packet {
    let mut p = Packet::from_slice(&f.bytes).expect("pool");
    if f.mac {
        p.set_mac_header(0).unwrap();
    }
    if f.mark && p.len() >= 14 {
        let hl = (f.ihl_words * 4).min(p.len() - 14);
        p.set_network_header(14, hl).unwrap();
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, max_global_rejects: 20000, ..ProptestConfig::default() })]

    /// The compiled graph gives every packet the output the rules give
    /// when evaluated one after the other (2,000 rule sets, 24 frames
    /// each).
    #[test]
    fn ipclassifier_graph_agrees_with_the_interpreter(
        rules in prop::collection::vec(expression(), 1..8),
        frames in prop::collection::vec(frame(), 24),
    ) {
        let mut patterns = rules.clone();
        patterns.push("-".to_string());
        // Random values may be out of a field's range: such rule sets are
        // rejected (proptest fails the test if that happens too often).
        let c = configure::<IPClassifier>(&patterns, patterns.len());
        prop_assume!(c.is_ok(), "{:?}", c.err());
        let c = c.unwrap();
        for f in &frames {
            let p = packet(f);
            prop_assert_eq!(
                c.classify(&p), c.interpret(&p),
                "patterns {:?}\nframe {:?}\nprogram:\n{}", patterns, f, c.program().unparse()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, max_global_rejects: 5000, ..ProptestConfig::default() })]

    /// The same for IPFilter's actions, with many rules (multi-way steps,
    /// and budgets that split rule lists).
    #[test]
    fn ipfilter_graph_agrees_with_the_interpreter(
        rules in prop::collection::vec((pick(&["allow", "deny", "1", "2"]), expression()), 1..40),
        frames in prop::collection::vec(frame(), 24),
    ) {
        let patterns: Vec<String> = rules.iter().map(|(a, e)| format!("{a} {e}")).collect();
        let c = configure::<IPFilter>(&patterns, 3);
        prop_assume!(c.is_ok(), "{:?}", c.err());
        let c = c.unwrap();
        for f in &frames {
            let p = packet(f);
            prop_assert_eq!(c.classify(&p), c.interpret(&p), "patterns {:?}\nframe {:?}", patterns, f);
        }
    }

    /// Classifier: random clauses, wildcards, masks, negations.
    #[test]
    fn classifier_graph_agrees_with_the_interpreter(
        rules in prop::collection::vec(
            prop::collection::vec((any::<bool>(), 0u32..20, prop::collection::vec((0u8..4, any::<bool>()), 1..4), any::<bool>()), 0..4),
            1..12),
        frames in prop::collection::vec(prop::collection::vec(0u8..4, 0..24), 32),
    ) {
        let patterns: Vec<String> = rules.iter().map(|clauses| {
            let mut s = String::new();
            for (neg, off, bytes, masked) in clauses {
                if *neg { s.push('!'); }
                s.push_str(&format!("{off}/"));
                for (b, wild) in bytes { s.push_str(&if *wild { format!("?{b:x}") } else { format!("0{b:x}") }); }
                if *masked {
                    s.push('%');
                    for _ in bytes { s.push_str("03"); }
                }
                s.push(' ');
            }
            if s.is_empty() { s.push('-'); }
            s
        }).collect();
        let c: Classifier = configure(&patterns, patterns.len()).map_err(|e| TestCaseError::fail(format!("{patterns:?}: {e}")))?;
        for f in &frames {
            let p = Packet::from_slice(f).expect("pool");
            prop_assert_eq!(c.classify(&p), c.interpret(&p), "patterns {:?}\ndata {:?}\n{}", patterns, f, c.program().unparse());
        }
    }

    /// The pattern parsers take any text without panicking.
    #[test]
    fn the_parsers_never_panic(
        words in prop::collection::vec(
            prop_oneof![
                pick(&["src", "dst", "host", "net", "port", "ip", "tcp", "udp", "icmp", "type", "opt",
                       "and", "or", "not", "!", "&&", "||", "(", ")", "[", "]", "?", ":", "&", "==", "!=",
                       "<", ">", "<=", ">=", "mask", "ether", "proto", "vers", "ttl", "frag", "unfrag",
                       "true", "false", "-", "any", "allow", "deny", "0", "1", "65535", "4294967296",
                       "-1", "10.0.0.1", "10/8", "1.2.3.4/33", "0:1:2:3:4:5", "transp", "syn", "echo",
                       ",", "\"", "\\", "tcpudp", "win", "ce", "ect", "9999999999999"]).prop_map(String::from),
                "[ -~]{0,6}",
                any::<String>(),
            ],
            0..16),
    ) {
        let text = words.join(" ");
        let _ = configure::<IPClassifier>(std::slice::from_ref(&text), 1);
        let _ = configure::<IPFilter>(std::slice::from_ref(&text), 2);
        let _ = configure::<IPFilter>(&[format!("allow {text}")], 1);
        let _ = configure::<Classifier>(std::slice::from_ref(&text), 1);
    }
}

/// Deeply nested and very long patterns are refused or compiled, never a
/// stack overflow.
#[test]
fn deep_and_long_patterns() {
    let deep = format!("{}tcp{}", "(".repeat(5000), ")".repeat(5000));
    assert!(configure::<IPClassifier>(&[deep], 1).is_err());
    let nots = format!("{}tcp", "! ".repeat(5000));
    let _ = configure::<IPClassifier>(&[nots], 1);
    let long: Vec<String> = (0..2000).map(|i| format!("dst port {i}")).collect();
    let c: IPClassifier = configure(&[long.join(" or ")], 1).unwrap();
    assert!(c.program().nsteps() < 50, "{}", c.program().nsteps());
}

/// Writes `frames` as a pcap file (Ethernet link type).
fn write_pcap(path: &std::path::Path, frames: &[Frame]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32 + 1).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&f.bytes);
    }
    std::fs::write(path, out).unwrap();
}

/// Click itself as the oracle: random IPClassifier rule sets run through
/// Click (`CLICK=/path/to/click`) and through ours on the same whole
/// frames (Click reads beyond short ones, so they are left out), with the
/// outputs compared packet by packet. Run with
/// `CLICK=/tmp/baselines/click cargo test -p click-elements --test classification -- --ignored`.
#[test]
#[ignore]
fn ipclassifier_agrees_with_click() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let Some(click) = std::env::var_os("CLICK") else {
        eprintln!("set CLICK to Click's binary to run this test");
        return;
    };
    let rounds: usize = std::env::var("CLICK_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    let dir = std::env::temp_dir().join(format!("click-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut runner = TestRunner::deterministic();
    let (mut compared, mut skipped) = (0, 0);
    for round in 0..rounds {
        let rules = prop::collection::vec(expression(), 1..6)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let frames: Vec<Frame> = prop::collection::vec(frame(), 64)
            .new_tree(&mut runner)
            .unwrap()
            .current()
            .into_iter()
            .map(|mut f| {
                f.mark = true;
                f.mac = true;
                f
            })
            .filter(|f| f.bytes.len() >= 14 + f.ihl_words * 4 + 20)
            .collect();
        let mut patterns = rules.clone();
        patterns.push("-".into());
        // `FIELD & MASK > VALUE` where VALUE has only bit 0 outside MASK
        // makes Click shift by 32 bits (undefined; on x86 a shift by 0),
        // and its test always true: `ip[12] & 190 > 135` matches every
        // packet there. Ours compares as the arithmetic says, so leave
        // masked relations out of the comparison with Click.
        if patterns
            .iter()
            .any(|p| p.contains('&') && (p.contains('<') || p.contains('>')))
        {
            skipped += 1;
            continue;
        }
        let Ok(ours) = configure::<IPClassifier>(&patterns, patterns.len()) else {
            skipped += 1;
            continue;
        };
        let pcap = dir.join("in.pcap");
        write_pcap(&pcap, &frames);
        let mut config = format!(
            "FromDump({}, STOP true) -> MarkMACHeader -> MarkIPHeader(14) -> c :: IPClassifier({});\n",
            pcap.display(),
            patterns.join(", ")
        );
        for i in 0..patterns.len() {
            config.push_str(&format!("c[{i}] -> Print(o{i}, MAXLENGTH 0) -> Discard;\n"));
        }
        let out = std::process::Command::new(&click)
            .args(["-e", &config])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let theirs: Vec<u32> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix('o'))
            .filter_map(|l| l.split(':').next())
            .filter_map(|n| n.parse().ok())
            .collect();
        if !out.status.success() || theirs.len() != frames.len() {
            // Click refused the rule set (its parser differs in a corner)
            eprintln!(
                "round {round}: Click said: {}",
                stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
            );
            skipped += 1;
            continue;
        }
        for (f, &want) in frames.iter().zip(&theirs) {
            let p = packet(f);
            assert_eq!(
                ours.classify(&p),
                want,
                "round {round}: patterns {patterns:?}\nframe {f:?}\nour program:\n{}",
                ours.program().unparse()
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} packets with Click; {skipped} rule sets skipped");
    let _ = std::fs::remove_dir_all(&dir);
}
