//! The rewriters (IPRewriter, TCPRewriter, UDPRewriter, IPAddrRewriter,
//! IPAddrPairRewriter): mappings made and followed both ways, port and
//! address choice, checksums recomputed from scratch after rewriting,
//! input specs, capacity, handlers, and flows expiring under simulated
//! time.

mod common;

use std::net::Ipv4Addr;

use click_elements::{
    ICMPPingRewriter, IPAddrPairRewriter, IPAddrRewriter, IPRewriter, TCPRewriter, UDPRewriter,
};
use click_engine::args::Args;
use click_engine::packet::Batch;
use click_engine::{
    ClockMode, ConfigureCtx, Element, ElementClass, Harness, Packet, Processing, Router,
    RunOptions, DEFAULT_SIMTIME_START,
};
use common::cksum;

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;

fn make<T: ElementClass>(config: &str, ninputs: usize, noutputs: usize) -> T {
    try_make(config, ninputs, noutputs).unwrap_or_else(|e| panic!("{config}: {e}"))
}

fn try_make<T: ElementClass>(config: &str, ninputs: usize, noutputs: usize) -> Result<T, String> {
    let inputs = vec![Processing::Push; ninputs];
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "rw",
        inputs: &inputs,
        outputs: &outputs,
    };
    T::configure(&mut Args::new(config), &ctx)
}

/// The TCP/UDP checksum of segment `seg` with the pseudo-header.
fn transport_cksum(src: [u8; 4], dst: [u8; 4], proto: u8, seg: &[u8]) -> u16 {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(seg);
    cksum(&pseudo)
}

/// An IPv4 packet of `proto` with valid checksums: TCP (20-byte header),
/// UDP (checksummed unless `udp_zero`), or ICMP; 6 bytes of payload.
fn packet(proto: u8, src: &str, sport: u16, dst: &str, dport: u16, udp_zero: bool) -> Packet {
    let (s, d): (Ipv4Addr, Ipv4Addr) = (src.parse().unwrap(), dst.parse().unwrap());
    let mut seg = match proto {
        TCP => {
            let mut t = vec![0u8; 20];
            t[12] = 5 << 4;
            t[13] = 0x10; // ACK
            t
        }
        UDP => vec![0u8; 8],
        _ => vec![8, 0, 0, 0, 0, 1, 0, 1],
    };
    seg[0..2].copy_from_slice(&sport.to_be_bytes());
    seg[2..4].copy_from_slice(&dport.to_be_bytes());
    seg.extend_from_slice(b"hello!");
    match proto {
        TCP => {
            let c = transport_cksum(s.octets(), d.octets(), TCP, &seg);
            seg[16..18].copy_from_slice(&c.to_be_bytes());
        }
        UDP => {
            let len = seg.len() as u16;
            seg[4..6].copy_from_slice(&len.to_be_bytes());
            if !udp_zero {
                let c = transport_cksum(s.octets(), d.octets(), UDP, &seg);
                seg[6..8].copy_from_slice(&c.to_be_bytes());
            }
        }
        _ => {}
    }
    ip_packet(proto, s, d, &seg)
}

/// `payload` behind a 20-byte IPv4 header of `proto` from `s` to `d`
/// (its checksum valid), the network header marked.
fn ip_packet(proto: u8, s: Ipv4Addr, d: Ipv4Addr, payload: &[u8]) -> Packet {
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&s.octets());
    ip.extend_from_slice(&d.octets());
    let c = cksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(payload);
    let mut p = Packet::from_slice(&ip).unwrap();
    p.set_network_header(0, 20).unwrap();
    p
}

/// What a rewritten packet says: `src:sport > dst:dport`, after checking
/// its IP checksum and (TCP, or UDP with a nonzero one) transport
/// checksum from scratch.
fn summary(p: &Packet) -> String {
    let d = p.data();
    assert_eq!(cksum(&d[..20]), 0, "IP checksum");
    let (src, dst) = ([d[12], d[13], d[14], d[15]], [d[16], d[17], d[18], d[19]]);
    let seg = &d[20..];
    match d[9] {
        TCP => assert_eq!(transport_cksum(src, dst, TCP, seg), 0, "TCP checksum"),
        UDP if seg[6..8] != [0, 0] => {
            assert_eq!(transport_cksum(src, dst, UDP, seg), 0, "UDP checksum")
        }
        _ => {}
    }
    let port = |i: usize| u16::from_be_bytes([seg[i], seg[i + 1]]);
    format!(
        "{}:{} > {}:{}",
        Ipv4Addr::from(src),
        port(0),
        Ipv4Addr::from(dst),
        port(2)
    )
}

/// Pushes `p` into `e` on `input`; returns the output it left on and its
/// summary, or `None` if it was dropped.
fn send<T: Element>(
    h: &mut Harness,
    e: &mut T,
    input: usize,
    p: Packet,
) -> Option<(usize, String)> {
    let mut batch = Batch::new();
    batch.push(p);
    h.with(|ctx| e.push(input, batch, ctx));
    (0..4).find_map(|port| h.take_output(port).pop().map(|q| (port, summary(&q))))
}

fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
    packet(TCP, src, sport, dst, dport, false)
}

const NAT: &str = "pattern 1.0.0.1 1024-65535# - - 0 1, drop";

#[test]
fn iprewriter_maps_flows_and_their_replies() {
    let mut h = Harness::new("rw");
    let mut rw: IPRewriter = make(NAT, 2, 2);
    let out = |r: Option<(usize, String)>| r.map(|(port, s)| format!("{port} {s}"));
    let mut go = |rw: &mut IPRewriter, input, p| out(send(&mut h, rw, input, p));
    assert_eq!(
        go(&mut rw, 0, tcp("18.26.4.44", 30, "10.0.0.4", 40)).as_deref(),
        Some("0 1.0.0.1:1024 > 10.0.0.4:40")
    );
    // The same flow again: the same mapping.
    assert_eq!(
        go(&mut rw, 0, tcp("18.26.4.44", 30, "10.0.0.4", 40)).as_deref(),
        Some("0 1.0.0.1:1024 > 10.0.0.4:40")
    );
    assert_eq!(
        go(&mut rw, 0, tcp("18.26.4.44", 20, "10.0.0.8", 80)).as_deref(),
        Some("0 1.0.0.1:1025 > 10.0.0.8:80")
    );
    // Replies, on the input whose spec is `drop`, go back rewritten.
    assert_eq!(
        go(&mut rw, 1, tcp("10.0.0.4", 40, "1.0.0.1", 1024)).as_deref(),
        Some("1 10.0.0.4:40 > 18.26.4.44:30")
    );
    assert_eq!(
        go(&mut rw, 1, tcp("10.0.0.8", 80, "1.0.0.1", 1025)).as_deref(),
        Some("1 10.0.0.8:80 > 18.26.4.44:20")
    );
    // No mapping: dropped by the spec.
    assert_eq!(go(&mut rw, 1, tcp("10.0.0.8", 80, "1.0.0.1", 1026)), None);
    // A UDP flow goes in its own table; the pattern's sequence goes on
    // (one sequence per pattern, as in Click).
    let udp = packet(UDP, "18.26.4.44", 30, "10.0.0.4", 40, false);
    assert_eq!(
        go(&mut rw, 0, udp).as_deref(),
        Some("0 1.0.0.1:1026 > 10.0.0.4:40")
    );
    // Its reply is found in the UDP table, not the TCP one.
    let reply = packet(UDP, "10.0.0.4", 40, "1.0.0.1", 1026, false);
    assert_eq!(
        go(&mut rw, 1, reply).as_deref(),
        Some("1 10.0.0.4:40 > 18.26.4.44:30")
    );
    assert_eq!(go(&mut rw, 1, tcp("10.0.0.4", 40, "1.0.0.1", 1026)), None);

    assert_eq!(rw.read_handler("table_size").unwrap(), "3");
    assert_eq!(rw.read_handler("size").unwrap(), "3");
    assert_eq!(rw.read_handler("mapping_failures").unwrap(), "0");
    assert_eq!(
        rw.read_handler("patterns").unwrap(),
        "1.0.0.1 1024-65535 - - [3]\n<drop>\n"
    );
    assert_eq!(rw.read_handler("pattern1").unwrap(), "<drop>\n");
    let table = rw.read_handler("tcp_table").unwrap();
    assert!(
        table.starts_with(
            "(18.26.4.44, 30, 10.0.0.4, 40) => (1.0.0.1, 1024, 10.0.0.4, 40) [*0 1] i0 exp"
        ),
        "{table}"
    );
    assert!(
        table.contains("(10.0.0.4, 40, 1.0.0.1, 1024) => (10.0.0.4, 40, 18.26.4.44, 30) [0 *1] i0"),
        "{table}"
    );
    assert_eq!(rw.read_handler("udp_table").unwrap().lines().count(), 2);
    h.with(|ctx| rw.write_handler("clear", "", ctx)).unwrap();
    assert_eq!(rw.read_handler("size").unwrap(), "0");
    assert_eq!(rw.read_handler("table_size").unwrap(), "0");
}

#[test]
fn sequential_ports_wrap_and_run_out() {
    let mut h = Harness::new("rw");
    let mut rw: TCPRewriter = make("pattern 1.0.0.1 1024-1025# - - 0 1", 1, 2);
    let mut port_of = |rw: &mut TCPRewriter, sport| {
        send(&mut h, rw, 0, tcp("18.26.4.44", sport, "10.0.0.8", 2))
            .map(|(_, s)| s.split([':', ' ']).nth(1).unwrap().to_string())
    };
    assert_eq!(port_of(&mut rw, 1).as_deref(), Some("1024"));
    assert_eq!(port_of(&mut rw, 2).as_deref(), Some("1025"));
    // Both replies (10.0.0.8:2 to 1.0.0.1:1024/1025) are taken.
    assert_eq!(port_of(&mut rw, 3), None);
    assert_eq!(rw.read_handler("mapping_failures").unwrap(), "1");
    assert_eq!(rw.read_handler("nmappings").unwrap(), "2");
}

#[test]
fn same_port_first_by_default() {
    let mut h = Harness::new("rw");
    let mut rw: TCPRewriter = make("pattern 1.0.0.1 1000-2000 - - 0 1", 1, 2);
    let got = send(&mut h, &mut rw, 0, tcp("10.0.0.1", 1500, "2.2.2.2", 80));
    assert_eq!(got.unwrap().1, "1.0.0.1:1500 > 2.2.2.2:80");
    // Taken now (same destination): another port in range, at random.
    let (_, s) = send(&mut h, &mut rw, 0, tcp("10.0.0.2", 1500, "2.2.2.2", 80)).unwrap();
    let port: u16 = s.split([':', ' ']).nth(1).unwrap().parse().unwrap();
    assert!((1000..=2000).contains(&port) && port != 1500, "{s}");
}

#[test]
fn udp_checksums_zero_stays_zero() {
    let mut h = Harness::new("rw");
    let mut rw: UDPRewriter = make("pattern 1.0.0.1 1024-65535# 5.5.5.5 53 0 1", 1, 2);
    let p = packet(UDP, "10.0.0.1", 4000, "9.9.9.9", 7, true);
    let mut batch = Batch::new();
    batch.push(p);
    h.with(|ctx| rw.push(0, batch, ctx));
    let q = h.take_output(0).pop().unwrap();
    assert_eq!(summary(&q), "1.0.0.1:1024 > 5.5.5.5:53");
    assert_eq!(&q.data()[26..28], &[0, 0], "a zero UDP checksum stays zero");
    assert_eq!(q.anno().dst_ip(), Ipv4Addr::new(5, 5, 5, 5), "DST_ANNO");
    // A checksummed datagram's checksum is updated (summary checks it),
    // and the reply comes back to the original addresses.
    let p = packet(UDP, "10.0.0.1", 4000, "9.9.9.9", 7, false);
    assert_eq!(
        send(&mut h, &mut rw, 0, p).unwrap(),
        (0, "1.0.0.1:1024 > 5.5.5.5:53".to_string())
    );
    let reply = packet(UDP, "5.5.5.5", 53, "1.0.0.1", 1024, false);
    assert_eq!(
        send(&mut h, &mut rw, 0, reply).unwrap(),
        (1, "9.9.9.9:7 > 10.0.0.1:4000".to_string())
    );
}

#[test]
fn specs_pass_keep_and_drop_what_is_not_mapped() {
    let mut h = Harness::new("rw");
    let mut rw: IPRewriter = make("pass 1, keep 0 1, drop", 3, 2);
    // ICMP is not mapped: passed by `pass 1`, dropped by the others.
    let icmp = || packet(ICMP, "10.0.0.1", 0, "10.0.0.2", 0, false);
    assert_eq!(send(&mut h, &mut rw, 0, icmp()).map(|r| r.0), Some(1));
    assert_eq!(send(&mut h, &mut rw, 1, icmp()), None);
    assert_eq!(send(&mut h, &mut rw, 2, icmp()), None);
    // `pass` makes no mapping; `keep` maps a flow to itself.
    assert_eq!(
        send(&mut h, &mut rw, 0, tcp("10.0.0.1", 5, "10.0.0.2", 6)).map(|r| r.0),
        Some(1)
    );
    assert_eq!(rw.read_handler("size").unwrap(), "0");
    assert_eq!(
        send(&mut h, &mut rw, 1, tcp("10.0.0.1", 5, "10.0.0.2", 6)).unwrap(),
        (0, "10.0.0.1:5 > 10.0.0.2:6".to_string())
    );
    assert_eq!(
        send(&mut h, &mut rw, 2, tcp("10.0.0.2", 6, "10.0.0.1", 5)).unwrap(),
        (1, "10.0.0.2:6 > 10.0.0.1:5".to_string())
    );
    assert_eq!(
        rw.read_handler("patterns").unwrap(),
        "<nochange>\n<keep> [1]\n<drop>\n"
    );
    // Not IP at all (no network header): dropped, never a panic.
    let mut batch = Batch::new();
    batch.push(Packet::from_slice(&[0x45; 10]).unwrap());
    h.with(|ctx| rw.push(0, batch, ctx));
    assert!((0..2).all(|port| h.take_output(port).is_empty()));
}

#[test]
fn bad_specs_are_reported_each_on_its_line() {
    let err = try_make::<IPAddrRewriter>(
        "pattern 1.0.0.x - 0 1, pattern 1.255.0.0-1.0.255.255 - 0 1",
        2,
        2,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "\n  input spec 0: bad source address\n  input spec 1: bad source address"
    );
    let err = try_make::<IPRewriter>("pattern 1.0.0.1 1024 - - 0 2", 1, 2).unwrap_err();
    assert!(err.contains("output port out of range"), "{err}");
    let err = try_make::<IPRewriter>("drop", 2, 1).unwrap_err();
    assert_eq!(err, "need 2 arguments, one per input port");
    let err = try_make::<IPRewriter>("frobnicate 1 2 3", 1, 1).unwrap_err();
    assert!(err.contains("unknown specification"), "{err}");
    // One word may name a mapper element: that is known when the rewriter
    // initializes (rewriter_named.rs).
    assert!(try_make::<IPRewriter>("frobnicate", 1, 1).is_ok());
}

#[test]
fn ipaddrrewriter_maps_sources_and_replies_by_destination() {
    let mut h = Harness::new("rw");
    let mut rw: IPAddrRewriter = make("pattern 3.0.0.1-3.0.0.255# - 0 0", 1, 1);
    let mut go =
        |rw: &mut IPAddrRewriter, src, dst| send(&mut h, rw, 0, tcp(src, 7, dst, 9)).map(|r| r.1);
    assert_eq!(
        go(&mut rw, "1.0.0.1", "9.9.9.9").unwrap(),
        "3.0.0.1:7 > 9.9.9.9:9"
    );
    assert_eq!(
        go(&mut rw, "1.0.0.2", "9.9.9.8").unwrap(),
        "3.0.0.2:7 > 9.9.9.8:9"
    );
    assert_eq!(
        go(&mut rw, "1.0.0.1", "9.9.9.7").unwrap(),
        "3.0.0.1:7 > 9.9.9.7:9"
    );
    assert_eq!(
        go(&mut rw, "9.9.9.6", "3.0.0.1").unwrap(),
        "9.9.9.6:7 > 1.0.0.1:9"
    );
    assert_eq!(
        rw.read_handler("patterns").unwrap(),
        "3.0.0.1-3.0.0.255 - [2]\n"
    );
    let table = rw.read_handler("table").unwrap();
    assert!(
        table.starts_with("1.0.0.1 => 3.0.0.1 [*0 0] i0 exp"),
        "{table}"
    );
}

#[test]
fn ipaddrpairrewriter_maps_address_pairs() {
    let mut h = Harness::new("rw");
    let mut rw: IPAddrPairRewriter = make("pattern 3.0.0.1-3.0.0.255# - 0 0", 1, 1);
    let mut go = |rw: &mut IPAddrPairRewriter, src, dst| {
        let udp = packet(UDP, src, 7, dst, 9, false);
        send(&mut h, rw, 0, udp).map(|r| r.1)
    };
    assert_eq!(
        go(&mut rw, "1.0.0.1", "9.9.9.9").unwrap(),
        "3.0.0.1:7 > 9.9.9.9:9"
    );
    assert_eq!(
        go(&mut rw, "1.0.0.2", "9.9.9.8").unwrap(),
        "3.0.0.2:7 > 9.9.9.8:9"
    );
    assert_eq!(
        go(&mut rw, "1.0.0.1", "9.9.9.9").unwrap(),
        "3.0.0.1:7 > 9.9.9.9:9"
    );
    assert_eq!(
        go(&mut rw, "1.0.0.1", "9.9.9.7").unwrap(),
        "3.0.0.3:7 > 9.9.9.7:9"
    );
    assert_eq!(
        go(&mut rw, "9.9.9.6", "3.0.0.1").unwrap(),
        "3.0.0.4:7 > 3.0.0.1:9"
    );
    assert_eq!(
        go(&mut rw, "9.9.9.7", "3.0.0.3").unwrap(),
        "9.9.9.7:7 > 1.0.0.1:9"
    );
    let table = rw.read_handler("table").unwrap();
    assert!(
        table.starts_with("(1.0.0.1, 9.9.9.9) => (3.0.0.1, 9.9.9.9) [*0 0] i0 exp"),
        "{table}"
    );
}

#[test]
fn capacity_evicts_flows_past_their_guarantee_or_refuses_new_ones() {
    let mut h = Harness::new("rw");
    // Every flow is under its 5-second guarantee: the third is refused.
    let mut rw: TCPRewriter = make(&format!("{NAT}, CAPACITY 2"), 2, 2);
    for sport in 1..=3 {
        send(&mut h, &mut rw, 0, tcp("10.0.0.1", sport, "2.2.2.2", 80));
    }
    assert_eq!(rw.read_handler("size").unwrap(), "2");
    assert_eq!(rw.read_handler("mapping_failures").unwrap(), "1");
    // Without a guarantee, the flow that expires first makes room.
    let mut rw: TCPRewriter = make(&format!("{NAT}, CAPACITY 2, TCP_GUARANTEE 0"), 2, 2);
    for sport in 1..=3 {
        send(&mut h, &mut rw, 0, tcp("10.0.0.1", sport, "2.2.2.2", 80));
    }
    assert_eq!(rw.read_handler("size").unwrap(), "2");
    assert_eq!(rw.read_handler("mapping_failures").unwrap(), "0");
    assert_eq!(
        send(&mut h, &mut rw, 1, tcp("2.2.2.2", 80, "1.0.0.1", 1024)),
        None,
        "the first flow was evicted"
    );
    h.with(|ctx| rw.write_handler("capacity", "1", ctx))
        .unwrap();
    assert_eq!(rw.read_handler("size").unwrap(), "1");
    assert_eq!(rw.read_handler("capacity").unwrap(), "1");
}

/// Runs `config` under simulated time; the final reads of `handlers`.
fn run_simtime(config: &str, handlers: &[&str]) -> Vec<String> {
    let flat = click_lang::load_str(config, "config", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let registry = click_elements::registry();
    let router = Router::new(&flat, &registry)
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| format!("{d}\n")).collect::<String>()));
    let opts = RunOptions {
        final_reads: handlers.iter().map(|h| h.to_string()).collect(),
        clock: ClockMode::Simulated(DEFAULT_SIMTIME_START),
        ..Default::default()
    };
    let report = router
        .run(&opts)
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| format!("{d}\n")).collect::<String>()));
    report
        .reads
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|e| format!("error: {e}"))
                .trim_end()
                .to_string()
        })
        .collect()
}

#[test]
fn flows_expire_under_simulated_time() {
    let dir = std::env::temp_dir().join(format!("rewriter-simtime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("in.ipsum");
    // A UDP flow at 1 s; replies at 5 s (mapped), 8 s (mapped: 3 s idle),
    // and 30 s (20 s idle: the flow has expired and been reaped).
    std::fs::write(
        &dump,
        "!data timestamp link src sport dst dport proto\n\
         1 0 10.0.0.1 5 2.2.2.2 53 U\n\
         5 1 2.2.2.2 53 1.0.0.1 1024 U\n\
         8 1 2.2.2.2 53 1.0.0.1 1024 U\n\
         30 1 2.2.2.2 53 1.0.0.1 1024 U\n",
    )
    .unwrap();
    let config = format!(
        "rw :: UDPRewriter(pattern 1.0.0.1 1024-65535# - - 0 1, drop,
                           UDP_TIMEOUT 10, UDP_GUARANTEE 0, REAP_INTERVAL 1);
         FromIPSummaryDump({}, TIMING true, STOP true) -> ps :: PaintSwitch;
         ps[0] -> [0]rw; ps[1] -> [1]rw;
         rw[0] -> fwd :: Counter -> Discard;
         rw[1] -> back :: Counter -> Discard;",
        dump.display()
    );
    let got = run_simtime(
        &config,
        &["fwd.count", "back.count", "rw.size", "rw.table_size"],
    );
    assert_eq!(got, ["1", "2", "0", "0"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lookup_and_pattern_writes() {
    let mut h = Harness::new("rw");
    let mut rw: TCPRewriter = make(NAT, 2, 2);
    send(&mut h, &mut rw, 0, tcp("10.0.0.1", 5, "2.2.2.2", 80)).unwrap();
    assert_eq!(
        rw.read_handler("lookup 10.0.0.1 5 2.2.2.2 80").unwrap(),
        "1.0.0.1 1024 2.2.2.2 80"
    );
    assert_eq!(
        rw.read_handler("lookup 2.2.2.2 80 1.0.0.1 1024").unwrap(),
        "2.2.2.2 80 10.0.0.1 5"
    );
    assert_eq!(rw.read_handler("lookup 9.9.9.9 1 2.2.2.2 80").unwrap(), "");
    assert_eq!(rw.read_handler("lookup nonsense"), None);
    // A new pattern for input 0 drops the flows it made.
    h.with(|ctx| rw.write_handler("pattern0", "pattern 1.0.0.9 2000-2001# - - 0 1", ctx))
        .unwrap();
    assert_eq!(rw.read_handler("size").unwrap(), "0");
    assert_eq!(
        rw.read_handler("pattern0").unwrap(),
        "1.0.0.9 2000-2001 - -\n"
    );
    assert_eq!(
        send(&mut h, &mut rw, 0, tcp("10.0.0.1", 5, "2.2.2.2", 80)).unwrap(),
        (0, "1.0.0.9:2000 > 2.2.2.2:80".to_string())
    );
    let err = h
        .with(|ctx| rw.write_handler("pattern1", "pattern 1.0.0.9 - - - 0 7", ctx))
        .unwrap_err();
    assert!(err.contains("output port out of range"), "{err}");
    assert!(h
        .with(|ctx| rw.write_handler("pattern2", "drop", ctx))
        .is_err());
}

/// An ICMP echo (type 8) or echo reply (0) with `id` and `seq`, no data,
/// its checksums valid.
fn ping(ty: u8, src: &str, dst: &str, id: u16, seq: u16) -> Packet {
    let (s, d): (Ipv4Addr, Ipv4Addr) = (src.parse().unwrap(), dst.parse().unwrap());
    let mut icmp = vec![ty, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    let c = cksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    ip_packet(ICMP, s, d, &icmp)
}

/// `src > dst id`, after checking the IP and ICMP checksums.
fn ping_summary(p: &Packet) -> String {
    let d = p.data();
    assert_eq!(cksum(&d[..20]), 0, "IP checksum");
    assert_eq!(cksum(&d[20..]), 0, "ICMP checksum");
    format!(
        "{} > {} {}",
        Ipv4Addr::new(d[12], d[13], d[14], d[15]),
        Ipv4Addr::new(d[16], d[17], d[18], d[19]),
        u16::from_be_bytes([d[24], d[25]])
    )
}

#[test]
fn icmppingrewriter_maps_echoes_by_identifier() {
    let mut h = Harness::new("rw");
    let mut rw: ICMPPingRewriter = make("pattern 2.0.0.2 - 0-65535# 0 1, drop", 2, 2);
    let mut go = |rw: &mut ICMPPingRewriter, input, p| {
        let mut batch = Batch::new();
        batch.push(p);
        h.with(|ctx| rw.push(input, batch, ctx));
        (0..2).find_map(|port| h.take_output(port).pop().map(|q| (port, ping_summary(&q))))
    };
    let echo = ping(8, "1.0.0.1", "5.0.0.5", 10230, 0);
    assert_eq!(
        go(&mut rw, 0, echo),
        Some((0, "2.0.0.2 > 5.0.0.5 0".into()))
    );
    let echo = ping(8, "1.0.0.2", "5.0.0.5", 0, 0);
    assert_eq!(
        go(&mut rw, 0, echo),
        Some((0, "2.0.0.2 > 5.0.0.5 1".into()))
    );
    // Replies come back to the pinger's address and identifier; the one
    // that becomes all zeros has a checksum of all ones.
    let reply = ping(0, "5.0.0.5", "2.0.0.2", 1, 0);
    assert_eq!(
        go(&mut rw, 1, reply),
        Some((1, "5.0.0.5 > 1.0.0.2 0".into()))
    );
    let reply = ping(0, "5.0.0.5", "2.0.0.2", 0, 7);
    assert_eq!(
        go(&mut rw, 1, reply),
        Some((1, "5.0.0.5 > 1.0.0.1 10230".into()))
    );
    // A reply with no echo makes no mapping.
    assert_eq!(go(&mut rw, 0, ping(0, "5.0.0.5", "2.0.0.2", 9, 0)), None);
    assert_eq!(rw.read_handler("table_size").unwrap(), "2");
    let table = rw.read_handler("table").unwrap();
    assert!(
        table.starts_with("(1.0.0.1, 5.0.0.5, 10230) => (2.0.0.2, 5.0.0.5, 0) [*0 1] i0 exp"),
        "{table}"
    );
}

#[test]
fn tcp_flows_closed_both_ways_expire_sooner() {
    let dir = std::env::temp_dir().join(format!("rewriter-tcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("in.ipsum");
    // Two flows opened at 1 s; the first closes both ways (FINs at 2 and
    // 3 s). At 10 s a reply on each: the closed one is gone (done timeout
    // 2 s), the open one is kept (no-data timeout 100 s).
    std::fs::write(
        &dump,
        "!data timestamp link src sport dst dport proto tcp_flags\n\
         1 0 10.0.0.1 5 2.2.2.2 80 T S\n\
         1 0 10.0.0.1 6 2.2.2.2 80 T S\n\
         2 0 10.0.0.1 5 2.2.2.2 80 T FA\n\
         3 1 2.2.2.2 80 1.0.0.1 1024 T FA\n\
         10 1 2.2.2.2 80 1.0.0.1 1024 T A\n\
         10 1 2.2.2.2 80 1.0.0.1 1025 T A\n",
    )
    .unwrap();
    let config = format!(
        "rw :: TCPRewriter(pattern 1.0.0.1 1024-65535# - - 0 1, drop, TCP_GUARANTEE 0,
                           TCP_NODATA_TIMEOUT 100, TCP_DONE_TIMEOUT 2, REAP_INTERVAL 1);
         FromIPSummaryDump({}, TIMING true, STOP true) -> ps :: PaintSwitch;
         ps[0] -> [0]rw; ps[1] -> [1]rw;
         rw[0] -> fwd :: Counter -> Discard;
         rw[1] -> back :: Counter -> Discard;",
        dump.display()
    );
    let got = run_simtime(&config, &["fwd.count", "back.count", "rw.size"]);
    assert_eq!(got, ["3", "2", "1"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn capacity_evicts_by_expiry_across_timeout_classes() {
    let mut h = Harness::new("rw");
    // Streaming flows time out sooner than idle ones here.
    let mut rw: UDPRewriter = make(
        "pattern 1.0.0.1 1024-65535# - - 0 1, CAPACITY 2, UDP_GUARANTEE 0, \
         UDP_TIMEOUT 10, UDP_STREAMING_TIMEOUT 1",
        1,
        2,
    );
    let udp = |src: &str, sport, dst: &str, dport| packet(UDP, src, sport, dst, dport, false);
    // Flow A (port 1024), then flow B (1025); then A streams (a reply and
    // more packets), so A had the latest packet but expires first.
    send(&mut h, &mut rw, 0, udp("10.0.0.1", 1, "2.2.2.2", 53)).unwrap();
    send(&mut h, &mut rw, 0, udp("10.0.0.2", 1, "2.2.2.2", 53)).unwrap();
    send(&mut h, &mut rw, 0, udp("2.2.2.2", 53, "1.0.0.1", 1024)).unwrap();
    send(&mut h, &mut rw, 0, udp("10.0.0.1", 1, "2.2.2.2", 53)).unwrap();
    // Flow C pushes out A, not B.
    send(&mut h, &mut rw, 0, udp("10.0.0.3", 1, "2.2.2.2", 53)).unwrap();
    assert_eq!(rw.read_handler("size").unwrap(), "2");
    let table = rw.read_handler("table").unwrap();
    assert!(!table.contains("(10.0.0.1, 1,"), "{table}");
    assert!(table.contains("(10.0.0.2, 1,"), "{table}");
}
