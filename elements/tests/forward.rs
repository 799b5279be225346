//! The forwarding, ICMP and UDP/TCP elements one by one through the
//! Harness (what the differential tests against Click, in
//! tests/ipforward.rs, do not reach: clones, handlers, timeouts, memory
//! bounds, configuration errors), and end to end in a router.

use std::net::Ipv4Addr;

use click_elements::*;
use click_engine::args::Args;
use click_engine::packet::{Batch, Timestamp};
use click_engine::{ConfigureCtx, Element, ElementClass, Harness, Packet, Processing};

fn try_make<T: ElementClass>(config: &str, noutputs: usize) -> Result<T, String> {
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "e",
        inputs: &[Processing::Push],
        outputs: &outputs,
    };
    T::configure(&mut Args::new(config), &ctx)
}

fn make<T: ElementClass>(config: &str, noutputs: usize) -> T {
    try_make(config, noutputs).unwrap_or_else(|e| panic!("{config}: {e}"))
}

/// Pushes `packets` through `e` as one batch; what left each output.
fn push<T: Element>(e: &mut T, packets: Vec<Packet>) -> Vec<Vec<Packet>> {
    let mut h = Harness::new("e");
    let mut batch = Batch::new();
    for p in packets {
        batch.push(p);
    }
    h.with(|ctx| e.push(0, batch, ctx));
    (0..5).map(|port| h.take_output(port)).collect()
}

/// An IPv4 header (checksum set) and `payload`, the header marked.
fn ip(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, off: u16, id: u16, payload: &[u8]) -> Packet {
    let mut d = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, proto, 0, 0];
    d[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    d[4..6].copy_from_slice(&id.to_be_bytes());
    d[6..8].copy_from_slice(&off.to_be_bytes());
    d.extend(src);
    d.extend(dst);
    let sum = internet_checksum(&d);
    d[10..12].copy_from_slice(&sum.to_be_bytes());
    d.extend(payload);
    let mut p = Packet::from_slice(&d).unwrap();
    p.set_network_header(0, 20).unwrap();
    p
}

fn udp(payload_len: usize) -> Packet {
    let mut u = vec![0x04, 0xd2, 0x00, 0x35, 0, 0, 0, 0];
    u[4..6].copy_from_slice(&((8 + payload_len) as u16).to_be_bytes());
    u.extend((0..payload_len).map(|i| i as u8));
    ip([10, 0, 1, 2], [10, 0, 2, 2], 17, 64, 0, 7, &u)
}

fn header_ok(p: &Packet) -> bool {
    let off = p.network_header_offset().unwrap() as usize;
    let hl = usize::from(p.data()[off] & 15) * 4;
    internet_checksum(&p.data()[off..off + hl]) == 0
}

#[test]
fn decipttl_decrements_and_sends_expired_packets_to_output_1() {
    let mut d: DecIPTTL = make("", 2);
    let mut expired = udp(10);
    expired.data_mut().unwrap()[8] = 1;
    let out = push(&mut d, vec![udp(10), expired]);
    assert_eq!(out[0].len(), 1);
    assert_eq!(out[0][0].data()[8], 63);
    assert!(header_ok(&out[0][0]));
    assert_eq!(out[1].len(), 1);
    assert_eq!(d.read_handler("drops").as_deref(), Some("1"));

    // A clone sharing the buffer keeps its TTL: the write copies.
    let p = udp(10);
    let c = p.try_clone().unwrap();
    let out = push(&mut d, vec![p]);
    assert_eq!((out[0][0].data()[8], c.data()[8]), (63, 64));

    // ACTIVE false, through the handler
    let mut h = Harness::new("d");
    h.with(|ctx| d.write_handler("active", "false", ctx))
        .unwrap();
    let out = push(&mut d, vec![udp(10)]);
    assert_eq!(out[0][0].data()[8], 64);
    assert_eq!(d.read_handler("active").as_deref(), Some("false"));

    // multicast destinations left alone with MULTICAST false
    let mut d: DecIPTTL = make("MULTICAST false", 1);
    let mcast = ip([10, 0, 0, 1], [224, 0, 0, 5], 17, 1, 0, 1, &[0; 8]);
    let out = push(&mut d, vec![mcast]);
    assert_eq!(out[0][0].data()[8], 1);
}

#[test]
fn ipfragmenter_576_carries_552_bytes_per_fragment() {
    let mut f: IPFragmenter = make("576", 2);
    let mut p = udp(1400);
    p.anno_mut().set_paint(9);
    let out = push(&mut f, vec![p]);
    let lens: Vec<usize> = out[0].iter().map(|q| q.len()).collect();
    assert_eq!(lens, [572, 572, 324]);
    let offs: Vec<u16> = out[0]
        .iter()
        .map(|q| u16::from_be_bytes([q.data()[6], q.data()[7]]))
        .collect();
    // MF on all but the last; offsets in 8-byte units
    assert_eq!(offs, [0x2000, 0x2000 | 69, 138]);
    assert!(out[0].iter().all(|q| header_ok(q) && q.anno().paint() == 9));
    assert_eq!(f.read_handler("fragments").as_deref(), Some("3"));

    // DF: to output 1, unless HONOR_DF false, which clears DF and gives
    // the fragments one random ID
    let df = || {
        let mut p = udp(1000);
        let d = p.data_mut().unwrap();
        d[6] = 0x40;
        d[10..12].fill(0);
        let s = internet_checksum(&d[..20]);
        d[10..12].copy_from_slice(&s.to_be_bytes());
        p
    };
    let out = push(&mut f, vec![df()]);
    assert_eq!((out[0].len(), out[1].len()), (0, 1));
    assert_eq!(f.read_handler("drops").as_deref(), Some("1"));
    let mut f: IPFragmenter = make("576, HONOR_DF false", 1);
    let out = push(&mut f, vec![df()]);
    assert_eq!(out[0].len(), 2);
    let ids: Vec<&[u8]> = out[0].iter().map(|q| &q.data()[4..6]).collect();
    assert_eq!(ids[0], ids[1]);
    assert!(out[0]
        .iter()
        .all(|q| q.data()[6] & 0x40 == 0 && header_ok(q)));

    assert_eq!(
        try_make::<IPFragmenter>("7", 1).unwrap_err(),
        "MTU must be at least 8"
    );
}

/// A fragment of a 48-byte datagram (ID `id`) at `off` bytes, `len` bytes,
/// MF as `more`, timestamp `sec`.
fn frag(id: u16, off: usize, len: usize, more: bool, sec: u64) -> Packet {
    let data: Vec<u8> = (off..off + len).map(|i| i as u8).collect();
    let flags = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
    let mut p = ip([10, 0, 1, 2], [10, 0, 2, 2], 17, 64, flags, id, &data);
    p.set_network_header(0, 20).unwrap();
    p.anno_mut()
        .set_timestamp(Timestamp::from_nanos(sec * 1_000_000_000));
    p
}

#[test]
fn ipreassembler_reassembles_in_any_order_and_gives_up_after_30_seconds() {
    let mut r: IPReassembler = make("", 2);
    let out = push(
        &mut r,
        vec![
            frag(1, 32, 16, false, 100),
            frag(1, 0, 16, true, 100),
            frag(1, 16, 16, true, 101),
        ],
    );
    assert_eq!(out[0].len(), 1);
    let whole = &out[0][0];
    assert_eq!(whole.len(), 68);
    assert!(header_ok(whole));
    assert_eq!(&whole.data()[6..8], &[0, 0]);
    assert!(whole.data()[20..]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == i as u8));
    assert_eq!(whole.anno().timestamp().as_nanos(), 101_000_000_000);

    // a datagram missing a piece is given up (to output 1) once a fragment
    // arriving 30 seconds later finds it, at the next 10-second look
    let out = push(&mut r, vec![frag(2, 0, 16, true, 200)]);
    assert!(out[0].is_empty() && out[1].is_empty());
    let out = push(&mut r, vec![frag(3, 0, 16, true, 215)]);
    assert!(out[1].is_empty());
    let out = push(&mut r, vec![frag(4, 0, 16, true, 231)]);
    assert_eq!(out[1].len(), 1);
    assert_eq!(&out[1][0].data()[4..6], &[0, 2]);
    assert!(r
        .read_handler("dump")
        .unwrap()
        .contains("good reassemblies:   1"));
}

#[test]
fn ipreassembler_memory_stays_bounded_under_a_fragment_flood() {
    let himem = 64 * 1024;
    let mut r: IPReassembler = make(&format!("MAX_MEM {himem}"), 2);
    let mut given_up = 0;
    for chunk in 0..400u32 {
        let batch: Vec<Packet> = (0..32)
            .map(|i| frag((chunk * 32 + i) as u16, 0, 1200, true, 1000))
            .collect();
        let out = push(&mut r, batch);
        given_up += out[1].len();
        let used: u32 = r.read_handler("mem_used").unwrap().parse().unwrap();
        assert!(used <= himem + 1300, "{used}");
    }
    // 12800 datagrams of 1240 bytes against 64 KiB: nearly all given up
    assert!(given_up > 12_700, "{given_up}");
    assert!(r
        .read_handler("dump")
        .unwrap()
        .contains("failed reassemblies: "));
}

#[test]
fn ipreassembler_drops_bad_fragments() {
    let mut r: IPReassembler = make("", 1);
    // a middle fragment whose length is not a multiple of 8
    let out = push(&mut r, vec![frag(9, 0, 13, true, 5)]);
    assert!(out[0].is_empty());
    assert_eq!(r.read_handler("drops").as_deref(), Some("1"));
}

#[test]
fn icmperror_refuses_what_rfc_1812_forbids() {
    let mut e: ICMPError = make("10.0.0.1, unreachable, host", 1);
    let ok = udp(100);
    let mut icmp_err = ip(
        [10, 0, 1, 2],
        [10, 0, 2, 2],
        1,
        64,
        0,
        1,
        &[3, 1, 0, 0, 0, 0, 0, 0],
    );
    icmp_err.set_network_header(0, 20).unwrap();
    let frag = ip([10, 0, 1, 2], [10, 0, 2, 2], 17, 64, 5, 1, &[0; 16]);
    let bcast = ip([10, 0, 1, 2], [255, 255, 255, 255], 17, 64, 0, 1, &[0; 16]);
    let from_zero = ip([0, 0, 0, 0], [10, 0, 2, 2], 17, 64, 0, 1, &[0; 16]);
    let mut link = udp(10);
    link.anno_mut()
        .set_packet_type(click_engine::packet::PacketType::Broadcast);
    let out = push(&mut e, vec![ok, icmp_err, frag, bcast, from_zero, link]);
    assert_eq!(out[0].len(), 1);
    let q = &out[0][0];
    let d = q.data();
    assert_eq!(
        d.len(),
        20 + 8 + 128,
        "the whole offending datagram is quoted"
    );
    assert_eq!((d[8], d[6] & 0x40), (200, 0), "TTL 200, DF clear");
    assert_eq!((d[20], d[21]), (3, 1));
    assert_eq!(&d[12..16], &[10, 0, 0, 1]);
    assert_eq!(&d[16..20], &[10, 0, 1, 2]);
    assert!(header_ok(q));
    assert_eq!(internet_checksum(&d[20..]), 0);
    assert_eq!(q.anno().fix_ip_src(), 1);
    assert_eq!(q.anno().dst_ip(), Ipv4Addr::new(10, 0, 1, 2));

    // at most 576 bytes
    let out = push(&mut e, vec![udp(1400)]);
    assert_eq!(out[0][0].len(), 576);

    // configuration errors, in Click's words
    let err = |c: &str| try_make::<ICMPError>(c, 1).unwrap_err();
    assert_eq!(err("1.1.1.1, echo"), "ICMP type 8 is not an error type");
    assert_eq!(err("1.1.1.1, 300"), "ICMP type must be between 0 and 255");
    assert_eq!(
        err("1.1.1.1, unreachable, transit"),
        "argument 2 takes ICMP code (integer between 0 and 255)"
    );
}

#[test]
fn icmppingresponder_answers_with_ttl_255_and_the_requests_id() {
    let mut r: ICMPPingResponder = make("", 2);
    let mut echo = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    echo.extend(b"abcdefgh");
    let s = internet_checksum(&echo);
    echo[2..4].copy_from_slice(&s.to_be_bytes());
    let mut req = ip([10, 0, 1, 2], [10, 0, 1, 1], 1, 64, 0x4000, 0x4242, &echo);
    req.anno_mut().set_paint(3);
    let out = push(&mut r, vec![req, udp(4)]);
    let rep = &out[0][0];
    let d = rep.data();
    assert_eq!(&d[4..6], &[0x42, 0x42]);
    assert_eq!((d[8], &d[6..8]), (255, &[0u8, 0][..]));
    assert_eq!(
        (&d[12..16], &d[16..20]),
        (&[10, 0, 1, 1][..], &[10, 0, 1, 2][..])
    );
    assert_eq!(d[20], 0);
    assert!(header_ok(rep));
    assert_eq!(internet_checksum(&d[20..]), 0);
    assert_eq!(rep.anno().paint(), 0);
    assert_eq!(out[1].len(), 1, "not a request");
}

#[test]
fn udpipencap_sends_ttl_250_and_ids_from_0() {
    let mut u: UDPIPEncap = make("1.0.0.1, 2, 3.0.0.3, www", 1);
    let out = push(
        &mut u,
        (0..3)
            .map(|_| Packet::from_slice(b"hello").unwrap())
            .collect(),
    );
    for (i, p) in out[0].iter().enumerate() {
        let d = p.data();
        assert_eq!((d[8], d[9]), (250, 17));
        assert_eq!(u16::from_be_bytes([d[4], d[5]]), i as u16);
        assert_eq!(&d[22..24], &[0, 80]);
        assert!(header_ok(p));
        // the UDP checksum sums with the pseudo-header to all ones
        let mut pseudo = d[12..20].to_vec();
        pseudo.extend([0, 17, 0, 13]);
        pseudo.extend(&d[20..]);
        assert_eq!(internet_checksum(&pseudo), 0);
    }
}

#[test]
fn configuration_errors_say_what_is_wrong() {
    assert_eq!(
        try_make::<IPEncap>("4, 1.1.1.1, 2.2.2.2, TOS 4, DSCP 3", 1).unwrap_err(),
        "cannot set both TOS and DSCP"
    );
    assert_eq!(
        try_make::<IPEncap>("4, 1.1.1.1, 2.2.2.2, ECT true, CE true", 1).unwrap_err(),
        "can set at most one ECN option"
    );
    assert_eq!(
        try_make::<SetIPDSCP>("64", 1).unwrap_err(),
        "diffserv code point out of range"
    );
    assert!(try_make::<StoreIPAddress>("nowhere", 1)
        .unwrap_err()
        .contains("OFFSET requires integer"));
}

#[test]
fn a_ping_source_pings_a_responder_in_simulated_time() {
    let flat = click_lang::load_str(
        "ps :: ICMPPingSource(10.0.0.1, 10.0.0.2, INTERVAL 5, LIMIT 4, STOP true, VERBOSE false)
           -> CheckIPHeader -> ICMPPingResponder -> ps;",
        "config",
        &Default::default(),
    )
    .unwrap();
    let router = click_engine::Router::new(&flat, &click_elements::registry()).unwrap();
    let opts = click_engine::RunOptions {
        final_reads: vec!["ps.count".into(), "ps.summary".into(), "ps.rtt_avg".into()],
        clock: click_engine::ClockMode::Simulated(click_engine::DEFAULT_SIMTIME_START),
        ..Default::default()
    };
    let reads: Vec<String> = router
        .run(&opts)
        .unwrap()
        .reads
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(reads[0].trim(), "4");
    assert_eq!(
        reads[1],
        "4 packets transmitted, 4 received, 0% packet loss\n\
         rtt min/avg/max/mdev = 0.000/0.000/0.000/0.000\n"
    );
    assert_eq!(reads[2].trim(), "0s");
}
