//! Click's annotation layout and annotation arguments, end to end: Paint,
//! PaintSwitch, PaintTee, SetAnnoByte, AnnotationInfo, SetIPAddress,
//! GetIPAddress, SetPacketType and SetTimestamp, through the router binary
//! and through the engine's API with a probe element that reports the
//! annotations of the last packet it saw.

mod common;

use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::packet::{Anno, Timestamp};
use click_engine::PacketCtx;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port, Router, RunOptions,
};
use common::{router, router_outcome, values};

/// Remembers the annotations of the last packet through it.
struct Probe {
    last: Anno,
}

impl ElementClass for Probe {
    const CLASS: &'static str = "Probe";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Probe {
            last: Anno::DEFAULT,
        })
    }
}

impl PacketElement for Probe {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.last = *packet.anno();
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("dst_ip"),
            Handler::read("paint"),
            Handler::read("vlan_tci"),
            Handler::read("aggregate"),
            Handler::read("misc_ip"),
            Handler::read("fix_ip_src"),
            Handler::read("packet_type"),
            Handler::read("timestamp"),
            Handler::read("first_timestamp"),
            Handler::read("area"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let a = &self.last;
        Some(match name {
            "dst_ip" => a.dst_ip().to_string(),
            "paint" => a.paint().to_string(),
            "vlan_tci" => a.vlan_tci().to_string(),
            "aggregate" => a.aggregate().to_string(),
            "misc_ip" => a.misc_ip().to_string(),
            "fix_ip_src" => a.fix_ip_src().to_string(),
            "packet_type" => a.packet_type().to_string(),
            "timestamp" => a.timestamp().to_string(),
            "first_timestamp" => a.first_timestamp().to_string(),
            "area" => a.area().iter().map(|b| format!("{b:02x}")).collect(),
            _ => return None,
        })
    }
}

/// Runs `config` (whose sources stop it) with the library plus Probe and
/// returns the values of `reads`.
fn run(config: &str, reads: &[&str]) -> Vec<String> {
    let mut registry = click_elements::registry();
    registry.add::<Probe>();
    let flat = click_lang::load_str(config, "config", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router = Router::new(&flat, &registry).unwrap_or_else(|e| panic!("{e:?}"));
    let opts = RunOptions {
        final_reads: reads.iter().map(|r| r.to_string()).collect(),
        ..RunOptions::default()
    };
    let report = router.run(&opts).unwrap_or_else(|e| panic!("{e:?}"));
    report
        .reads
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")).trim().to_string())
        .collect()
}

/// One packet of `data` through `path`, then the probe `p`.
fn one_packet(path: &str, reads: &[&str]) -> Vec<String> {
    let config = format!(
        "InfiniteSource(DATA \\<45000014 00000000 40110000 0a000001 0a000002>, LIMIT 1, STOP true) \
         -> {path} -> p :: Probe -> Discard;"
    );
    let reads: Vec<String> = reads.iter().map(|r| format!("p.{r}")).collect();
    let reads: Vec<&str> = reads.iter().map(|s| s.as_str()).collect();
    run(&config, &reads)
}

/// Counts per output of `PaintSwitch(switch)` for 10 packets through
/// `path`.
fn switch_counts(path: &str, switch: &str, outputs: usize) -> Vec<u64> {
    let mut config = format!(
        "InfiniteSource(LENGTH 60, LIMIT 10, BURST 4, STOP true) -> {path} -> ps :: PaintSwitch({switch});"
    );
    let mut args = Vec::new();
    for i in 0..outputs {
        config.push_str(&format!("ps[{i}] -> c{i} :: Counter -> Discard;"));
        args.extend(["-h".to_string(), format!("c{i}.count")]);
    }
    args.splice(0..0, ["-e".to_string(), config]);
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    values(&router(&args))
}

#[test]
fn paint_by_offset_is_the_paint_annotation() {
    // Paint(1, 16) writes byte 16, which is PAINT, read back by offset
    // and by name.
    let by_offset = "InfiniteSource(LENGTH 60, LIMIT 10, STOP true) -> Paint(1, 16) -> ps :: PaintSwitch(ANNO 16); \
                     ps[0] -> c0 :: Counter -> Discard; ps[1] -> c1 :: Counter -> Discard;";
    assert_eq!(
        values(&router(&[
            "-e", by_offset, "-h", "c0.count", "-h", "c1.count"
        ])),
        [0, 10]
    );
    let by_name = by_offset.replace("PaintSwitch(ANNO 16)", "PaintSwitch(PAINT)");
    assert_eq!(
        values(&router(&[
            "-e", &by_name, "-h", "c0.count", "-h", "c1.count"
        ])),
        [0, 10]
    );
    let default = by_offset.replace("PaintSwitch(ANNO 16)", "PaintSwitch");
    assert_eq!(
        values(&router(&[
            "-e", &default, "-h", "c0.count", "-h", "c1.count"
        ])),
        [0, 10]
    );
    let macro_name = by_offset.replace("Paint(1, 16)", "Paint(1, PAINT_ANNO)");
    assert_eq!(
        values(&router(&[
            "-e",
            &macro_name,
            "-h",
            "c0.count",
            "-h",
            "c1.count"
        ])),
        [0, 10]
    );
    assert_eq!(one_packet("Paint(1, 16)", &["paint"]), ["1"]);
    // Another byte leaves PAINT alone.
    assert_eq!(one_packet("Paint(3, 15)", &["paint", "area"])[0], "0");
}

#[test]
fn paint_switch_sends_255_everywhere() {
    assert_eq!(switch_counts("Paint(255)", "", 3), [10, 10, 10]);
    assert_eq!(switch_counts("Paint(2)", "", 3), [0, 0, 10]);
    // No output 7: counted drops.
    assert_eq!(switch_counts("Paint(7)", "", 3), [0, 0, 0]);
    // Mixed colours in one batch keep going where each one says.
    assert_eq!(
        switch_counts("Paint(255, 30) -> Paint(1)", "30", 3),
        [10, 10, 10]
    );
}

#[test]
fn annotation_info_names() {
    let config = "AnnotationInfo(MY_COLOR 5 1, ALIAS PAINT);
        InfiniteSource(LENGTH 60, LIMIT 10, STOP true) -> Paint(2, MY_COLOR) -> Paint(1, ALIAS)
        -> ps :: PaintSwitch(MY_COLOR); ps[0] -> c0 :: Counter -> Discard; ps[1] -> c1 :: Counter -> Discard;
        ps[2] -> c2 :: Counter -> Discard;";
    assert_eq!(
        values(&router(&[
            "-e", config, "-h", "c0.count", "-h", "c1.count", "-h", "c2.count"
        ])),
        [0, 0, 10]
    );
    assert_eq!(one_packet("Paint(9, 5)", &["area"])[0][10..12], *"09");
    // Names are local to the compound that defines them.
    let scoped = "c :: { AnnotationInfo(INNER 5 1); input -> Paint(1, INNER) -> output };
        Idle -> c -> Paint(1, INNER) -> Discard;";
    let (status, _, stderr) = router_outcome(&["--check", "-e", scoped]);
    assert!(!status.success());
    assert!(stderr.contains("while configuring 'Paint@"), "{stderr}");
    assert!(stderr.contains("ANNO: expected annotation"), "{stderr}");
    assert_eq!(stderr.matches("while configuring").count(), 1, "{stderr}");
    // Errors as Click's.
    let (status, _, stderr) = router_outcome(&[
        "--check",
        "-e",
        "AnnotationInfo(PAINT 3 1, WIDE VLAN_TCI 1); Idle -> Paint(1, DST_IP) -> Discard;",
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("bad NAME 'PAINT'; bad entry for 'WIDE'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ANNO: annotation 'DST_IP' has size 4, expected 1"),
        "{stderr}"
    );
    // Each argument sees only the names defined before it (Click's
    // messages, checked against Click).
    let (status, _, stderr) = router_outcome(&[
        "--check",
        "-e",
        "AnnotationInfo(X 47 2, Y PAINT 2, Z 100 1, 100 5 1); AnnotationInfo(W 100 1)",
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("bad entry for 'X'; bad entry for 'Y'; bad entry for 'Z'\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("while configuring").count(), 1, "{stderr}");
    let (status, _, stderr) = router_outcome(&[
        "-q",
        "-e",
        "AnnotationInfo(A 20 4, B VLAN_TCI, C 24 4, CHECK_OVERLAP A C, CHECK_OVERLAP A B)",
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("annotations 'A' and 'B' conflict"),
        "{stderr}"
    );
    assert!(!stderr.contains("'A' and 'C'"), "{stderr}");
}

#[test]
fn overlapping_slots_as_in_click() {
    // AGGREGATE is bytes 20-23, and VLAN_TCI its first two: an address
    // stored there (network order) reads back through both, and through
    // single bytes.
    let got = one_packet(
        "SetIPAddress(1.2.3.4, ANNO AGGREGATE)",
        &["misc_ip", "vlan_tci", "aggregate", "dst_ip"],
    );
    assert_eq!(got[0], "1.2.3.4");
    assert_eq!(got[1], u16::from_ne_bytes([1, 2]).to_string());
    assert_eq!(got[2], u32::from_ne_bytes([1, 2, 3, 4]).to_string());
    assert_eq!(got[3], "0.0.0.0");
    for (offset, color) in [(20, 1), (21, 2), (22, 3), (23, 4)] {
        let mut counts = vec![0; 5];
        counts[color] = 10;
        let got = switch_counts(
            "SetIPAddress(1.2.3.4, ANNO AGGREGATE)",
            &offset.to_string(),
            5,
        );
        assert_eq!(got, counts, "byte {offset}");
    }
    // Writing one byte of VLAN_TCI changes AGGREGATE.
    let got = one_packet(
        "SetIPAddress(0.0.0.0, ANNO AGGREGATE) -> SetAnnoByte(21, 7)",
        &["vlan_tci", "aggregate"],
    );
    assert_eq!(got[0], u16::from_ne_bytes([0, 7]).to_string());
    assert_eq!(got[1], u32::from_ne_bytes([0, 7, 0, 0]).to_string());
    // FIX_IP_SRC is byte 19; ICMP_PARAMPROB 17; DST_IP 0-3.
    let got = one_packet(
        "Paint(1, FIX_IP_SRC) -> SetIPAddress(10.0.0.9)",
        &["fix_ip_src", "area"],
    );
    assert_eq!(got[0], "1");
    assert_eq!(&got[1][..8], "0a000009");
    assert_eq!(&got[1][38..40], "01");
}

#[test]
fn paint_tee_copies_its_colour() {
    let config = |color: u8| {
        format!(
            "InfiniteSource(LENGTH 60, LIMIT 10, STOP true) -> Paint(7) -> pt :: PaintTee({color}) \
             -> c0 :: Counter -> Discard; pt[1] -> c1 :: Counter -> Discard;"
        )
    };
    assert_eq!(
        values(&router(&[
            "-e",
            &config(7),
            "-h",
            "c0.count",
            "-h",
            "c1.count"
        ])),
        [10, 10]
    );
    assert_eq!(
        values(&router(&[
            "-e",
            &config(8),
            "-h",
            "c0.count",
            "-h",
            "c1.count"
        ])),
        [10, 0]
    );
    // Pulled: the clones are pushed out of output 1.
    let pulled = "InfiniteSource(LENGTH 60, LIMIT 10, STOP true) -> Paint(3, 17) -> Queue \
                  -> pt :: PaintTee(3, ICMP_PARAMPROB) -> Unqueue -> c0 :: Counter -> Discard; \
                  pt[1] -> c1 :: Counter -> Discard; DriverManager(wait 50ms, stop)";
    assert_eq!(
        values(&router(&[
            "-e", pulled, "-h", "c0.count", "-h", "c1.count", "-h", "pt.color"
        ])),
        [10, 10, 3]
    );
}

#[test]
fn set_anno_byte_handlers() {
    let out = router(&[
        "-q",
        "-e",
        "s :: SetAnnoByte(FIX_IP_SRC, 9); Idle -> s -> Discard",
        "-h",
        "s.anno",
        "-h",
        "s.value",
    ]);
    assert_eq!(values(&out), [19, 9]);
}

#[test]
fn packet_type_and_timestamps() {
    assert_eq!(
        one_packet("SetPacketType(otherhost)", &["packet_type"]),
        ["OTHERHOST"]
    );
    assert_eq!(
        one_packet("SetPacketType(BROADCAST)", &["packet_type"]),
        ["BROADCAST"]
    );
    let got = one_packet("SetTimestamp(1000.5)", &["timestamp", "first_timestamp"]);
    assert_eq!(got, ["1000.500000000", "0.000000000"]);
    let got = one_packet("SetTimestamp(2, FIRST true)", &["first_timestamp"]);
    assert_eq!(got, ["2.000000000"]);
    // The time of passage.
    let before = Timestamp::now();
    let got = one_packet("SetTimestamp", &["timestamp"]);
    let secs: f64 = got[0].parse().unwrap();
    assert!(secs >= before.as_duration().as_secs_f64() - 1.0, "{got:?}");
    let (status, _, stderr) = router_outcome(&[
        "--check",
        "-e",
        "Idle -> SetPacketType(FASTROUTE) -> SetTimestamp(DELTA true) -> Discard",
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("unrecognized packet type 'FASTROUTE'"),
        "{stderr}"
    );
    assert!(stderr.contains("use SetTimestampDelta"), "{stderr}");
}

#[test]
fn get_ip_address_from_data() {
    // The packet is an IP header from 10.0.0.1 to 10.0.0.2.
    assert_eq!(one_packet("GetIPAddress(16)", &["dst_ip"]), ["10.0.0.2"]);
    assert_eq!(
        one_packet("GetIPAddress(12, MISC_IP)", &["misc_ip", "dst_ip"]),
        ["10.0.0.1", "0.0.0.0"]
    );
    // Too short: the annotation is left alone.
    assert_eq!(
        one_packet("SetIPAddress(9.9.9.9) -> GetIPAddress(17)", &["dst_ip"]),
        ["9.9.9.9"]
    );
    let (status, _, stderr) = router_outcome(&[
        "--check",
        "-e",
        "Idle -> GetIPAddress(16, IP src) -> GetIPAddress -> Discard",
    ]);
    assert!(!status.success());
    assert_eq!(
        stderr.matches("set one of OFFSET, IP").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn set_ip_address_takes_address_info_names() {
    let config = "AddressInfo(foo 1.2.3.4/20, gw 10.0.0.1, net 192.168.0.0/16);
        a :: SetIPAddress(foo); b :: SetIPAddress(foo:bcast); c :: SetIPAddress(net:gw);
        d :: SetIPAddress(gw); e :: SetIPAddress(lo); f :: SetIPAddress(lo:bcast);
        Idle -> a -> b -> c -> d -> e -> f -> Discard;";
    let mut args = vec!["-q", "-e", config];
    for h in ["a.addr", "b.addr", "c.addr", "d.addr", "e.addr", "f.addr"] {
        args.extend(["-h", h]);
    }
    let out = router(&args);
    let addrs: Vec<&str> = out
        .lines()
        .filter(|l| l.contains('.') && !l.ends_with(':'))
        .collect();
    assert_eq!(
        addrs,
        [
            "1.2.3.4",
            "1.2.15.255",
            "192.168.0.1",
            "10.0.0.1",
            "127.0.0.1",
            "127.255.255.255"
        ]
    );
    // Writes to addr resolve names too.
    let write = "AddressInfo(foo 1.2.3.4/20); s :: SetIPAddress(0.0.0.0); Idle -> s -> Discard;
        DriverManager(write s.addr foo:bcast, stop)";
    assert_eq!(router(&["-e", write, "-h", "s.addr"]).trim(), "1.2.15.255");
    assert_eq!(
        one_packet("SetIPAddress(lo)", &["dst_ip"]),
        [Ipv4Addr::LOCALHOST.to_string()]
    );
}

#[test]
fn address_info_is_local_to_its_compound() {
    let config = "AddressInfo(mauer 10.0.0.1, x 1.1.1.1);
        c :: { AddressInfo(mazu 10.0.0.10, x 2.2.2.2);
               input -> s :: SetIPAddress(mazu) -> t :: SetIPAddress(mauer) -> u :: SetIPAddress(x) -> output };
        Idle -> c -> v :: SetIPAddress(x) -> Discard;";
    let out = router(&[
        "-q", "-e", config, "-h", "c/s.addr", "-h", "c/t.addr", "-h", "c/u.addr", "-h", "v.addr",
    ]);
    let addrs: Vec<&str> = out
        .lines()
        .filter(|l| !l.is_empty() && !l.ends_with(':'))
        .collect();
    assert_eq!(addrs, ["10.0.0.10", "10.0.0.1", "2.2.2.2", "1.1.1.1"]);
    let outside = "c :: { AddressInfo(mazu 10.0.0.10); input -> output }; Idle -> c -> SetIPAddress(mazu) -> Discard;";
    let (status, _, stderr) = router_outcome(&["--check", "-e", outside]);
    assert!(!status.success());
    assert!(stderr.contains("IPADDR: expected IP address"), "{stderr}");
}
