//! The IP and Ethernet elements, one by one through the Harness, and end
//! to end in a router.

mod common;

use std::net::Ipv4Addr;

use click_elements::{
    internet_checksum, CheckICMPHeader, CheckIPHeader, CheckIPHeader2, CheckLength, CheckTCPHeader,
    CheckUDPHeader, Classifier, EtherMirror, EtherVLANEncap, HostEtherFilter, IPClassifier,
    IPFilter, IPMirror, MarkIPHeader, Pad, SetVLANAnno, StripEtherVLANHeader, StripIPHeader,
    StripToNetworkHeader, Truncate, UnstripIPHeader, VLANDecap, VLANEncap,
};
use click_engine::args::Args;
use click_engine::packet::{Batch, PacketType};
use click_engine::{ConfigureCtx, Element, ElementClass, Harness, Packet, Processing};

/// Configures a `T` from `config` with `noutputs` push outputs.
fn make<T: ElementClass>(config: &str, noutputs: usize) -> T {
    try_make(config, noutputs).unwrap_or_else(|e| panic!("{config}: {e}"))
}

fn try_make<T: ElementClass>(config: &str, noutputs: usize) -> Result<T, String> {
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "e",
        inputs: &[Processing::Push],
        outputs: &outputs,
    };
    T::configure(&mut Args::new(config), &ctx)
}

/// Pushes `p` alone through `e` in a harness; returns the output it left
/// on (and puts it back in `p`), or `None` if `e` dropped it.
fn run<T: Element>(e: &mut T, p: &mut Packet) -> Option<usize> {
    let mut h = Harness::new("e");
    let mut batch = Batch::new();
    batch.push(std::mem::replace(p, Packet::from_slice(&[]).unwrap()));
    h.with(|ctx| e.push(0, batch, ctx));
    for port in 0..8 {
        if let Some(q) = h.take_output(port).pop() {
            *p = q;
            return Some(port);
        }
    }
    None
}

/// The b-classify frame: Ethernet, IPv4 (valid checksum), UDP.
const FRAME: &str = "00112233445566778899aabb08004500003200000000401164b70a0000010a01020304d2162e001e000000000000000000000000000000000000000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pkt(bytes: &[u8]) -> Packet {
    Packet::from_slice(bytes).unwrap()
}

/// An IPv4 header (20 bytes, valid checksum) for `proto` carrying
/// `payload`, from 10.0.0.1 to 10.1.2.3.
fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 1, 2, 3,
    ];
    h[2..4].copy_from_slice(&len.to_be_bytes());
    let c = internet_checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// A transport segment with its checksum filled in at `csum_at`
/// (pseudo-header included for TCP and UDP).
fn with_checksum(proto: u8, mut seg: Vec<u8>, csum_at: usize) -> Vec<u8> {
    let mut sum_over = Vec::new();
    if proto != 1 {
        sum_over.extend_from_slice(&[10, 0, 0, 1, 10, 1, 2, 3, 0, proto]);
        sum_over.extend_from_slice(&(seg.len() as u16).to_be_bytes());
    }
    seg[csum_at..csum_at + 2].copy_from_slice(&[0, 0]);
    sum_over.extend_from_slice(&seg);
    let c = internet_checksum(&sum_over);
    seg[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    ipv4(proto, &seg)
}

fn marked(bytes: &[u8]) -> Packet {
    let mut p = pkt(bytes);
    let mut m: MarkIPHeader = make("", 1);
    run(&mut m, &mut p);
    p
}

#[test]
fn checkipheader_accepts_trims_and_annotates() {
    let mut c: CheckIPHeader = make("OFFSET 14", 2);
    let mut p = pkt(&hex(FRAME));
    assert_eq!(p.len(), 64);
    assert_eq!(run(&mut c, &mut p), Some(0));
    // trimmed to the IP length (0x32 = 50) after the 14-byte offset
    assert_eq!(p.len(), 14 + 50);
    assert_eq!(p.network_header_offset(), Some(14));
    assert_eq!(p.transport_header_offset(), Some(34));
    assert_eq!(p.anno().dst_ip(), Ipv4Addr::new(10, 1, 2, 3));
    // positional OFFSET
    let mut c: CheckIPHeader = make("14", 1);
    assert_eq!(run(&mut c, &mut pkt(&hex(FRAME))), Some(0));
    assert!(try_make::<CheckIPHeader>("14, 15", 1).is_err());
}

#[test]
fn checkipheader_reasons_ports_and_handlers() {
    let good = &hex(FRAME)[14..];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..19].to_vec(), "tiny packet"),
        (
            {
                let mut b = good.to_vec();
                b[0] = 0x65;
                b
            },
            "bad IP version",
        ),
        (
            {
                let mut b = good.to_vec();
                b[0] = 0x44;
                b
            },
            "bad IP header length",
        ),
        (
            {
                let mut b = good.to_vec();
                b[3] = 0xff;
                b
            },
            "bad IP length",
        ),
        (
            {
                let mut b = good.to_vec();
                b[2..4].copy_from_slice(&[0, 19]);
                b
            },
            "bad IP length",
        ),
        (
            {
                let mut b = good.to_vec();
                b[10] ^= 1;
                b
            },
            "bad IP checksum",
        ),
    ];
    let mut two: CheckIPHeader = make("DETAILS true", 2);
    let mut one: CheckIPHeader = make("", 1);
    for (bytes, why) in &cases {
        assert_eq!(run(&mut two, &mut pkt(bytes)), Some(1), "{why}");
        assert_eq!(run(&mut one, &mut pkt(bytes)), None, "{why}");
    }
    assert_eq!(Element::read_handler(&two, "drops").unwrap(), "6");
    assert_eq!(
        Element::read_handler(&two, "drop_details").unwrap(),
        "1\ttiny packet\n1\tbad IP version\n1\tbad IP header length\n2\tbad IP length\n1\tbad IP checksum\n0\tbad source address\n"
    );
    assert!(Element::read_handler(&one, "drop_details").is_none());
    // no checksum check
    let mut bad_sum = good.to_vec();
    bad_sum[10] ^= 1;
    let mut c: CheckIPHeader = make("CHECKSUM false", 1);
    assert_eq!(run(&mut c, &mut pkt(&bad_sum)), Some(0));
    let mut c2: CheckIPHeader2 = make("", 1);
    assert_eq!(run(&mut c2, &mut pkt(&bad_sum)), Some(0));
    let mut c2: CheckIPHeader2 = make("CHECKSUM true", 1);
    assert_eq!(run(&mut c2, &mut pkt(&bad_sum)), None);
}

/// A batch of good and bad packets mixed: the batch loop takes the
/// common good ones in line and checks the rest after it; every packet
/// must still leave where, and as, one alone would, in the batch's order,
/// with the drops counted by reason.
#[test]
fn checkipheader_mixed_batch_keeps_order_and_reasons() {
    // A header (with `opts` option bytes) numbered `id`, a valid checksum,
    // 8 bytes of payload and `pad` bytes of link-layer padding.
    let hdr = |id: u8, opts: usize, pad: usize| {
        let hlen = 20 + opts;
        let mut b = vec![0u8; hlen + 8 + pad];
        b[0] = 0x40 | (hlen / 4) as u8;
        b[2..4].copy_from_slice(&((hlen + 8) as u16).to_be_bytes());
        b[5] = id;
        b[8] = 64;
        b[9] = 17;
        b[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 1, 2, id]);
        for o in &mut b[20..hlen] {
            *o = 1; // NOP options
        }
        let c = internet_checksum(&b[..hlen]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b
    };
    let mut bad_sum = hdr(3, 0, 0);
    bad_sum[10] ^= 1;
    let mut bad_version = hdr(5, 0, 0);
    bad_version[0] = 0x65;
    let mut bad_len = hdr(7, 0, 0);
    bad_len[3] = 0xff;
    let packets: Vec<Vec<u8>> = vec![
        hdr(0, 0, 0),
        hdr(1, 0, 0)[..19].to_vec(), // tiny
        hdr(2, 0, 6),                // padded
        bad_sum,
        hdr(4, 4, 0), // options: checked after the loop, good
        bad_version,
        hdr(6, 0, 0),
        bad_len,
        hdr(8, 4, 2),
    ];
    let mut c: CheckIPHeader = make("DETAILS true", 2);
    let mut h = Harness::new("e");
    let mut batch = Batch::new();
    for b in &packets {
        batch.push(pkt(b));
    }
    h.with(|ctx| c.push(0, batch, ctx));
    let good = h.take_output(0);
    let ids: Vec<u8> = good.iter().map(|p| p.data()[5]).collect();
    assert_eq!(ids, [0, 2, 4, 6, 8]);
    for p in &good {
        let hlen = usize::from(p.data()[0] & 0xf) * 4;
        assert_eq!(p.len(), hlen + 8, "trimmed");
        assert_eq!(p.network_header_offset(), Some(0));
        assert_eq!(p.transport_header_offset(), Some(hlen as isize));
        assert_eq!(p.anno().dst_ip(), Ipv4Addr::new(10, 1, 2, p.data()[5]));
    }
    let bad: Vec<usize> = h.take_output(1).iter().map(|p| p.len()).collect();
    assert_eq!(bad, [19, 28, 28, 28]);
    assert_eq!(
        Element::read_handler(&c, "drop_details").unwrap(),
        "1\ttiny packet\n1\tbad IP version\n0\tbad IP header length\n1\tbad IP length\n1\tbad IP checksum\n0\tbad source address\n"
    );
}

/// Pushes `packets` as one batch through `e` (with `noutputs` outputs);
/// the tags (`tag` of each packet) that left each output, in order, and
/// the drops.
fn split<T: Element>(
    e: &mut T,
    packets: Vec<Packet>,
    noutputs: usize,
    tag: impl Fn(&Packet) -> u8,
) -> (Vec<Vec<u8>>, u64) {
    let mut h = Harness::new("e");
    let mut batch = Batch::new();
    for p in packets {
        batch.push(p);
    }
    h.with(|ctx| e.push(0, batch, ctx));
    let outs = (0..noutputs)
        .map(|port| h.take_output(port).iter().map(&tag).collect())
        .collect();
    (outs, h.drops())
}

/// One-test classifiers (a word compared per packet, outcomes turned into
/// verdicts once per batch) on batches of one outcome and of mixed ones
/// (equal, not equal, too short): each packet leaves where classifying it
/// alone says, in the batch's order, or is dropped and counted.
#[test]
fn one_test_classifiers_on_mixed_batches() {
    // Ethernet frames tagged in their last byte; one too short for the
    // type word (tagged by its length).
    let frame = |ty: u16, t: u8| {
        let mut b = hex(FRAME);
        b[12..14].copy_from_slice(&ty.to_be_bytes());
        *b.last_mut().unwrap() = t;
        b
    };
    let tag = |p: &Packet| {
        if p.len() < 14 {
            99
        } else {
            p.data()[p.len() - 1]
        }
    };
    let mixed = || {
        let mut v = vec![
            frame(0x0800, 0),
            frame(0x0806, 1),
            hex(FRAME)[..13].to_vec(),
        ];
        v.extend([frame(0x0800, 3), frame(0x0800, 4), frame(0x86dd, 5)]);
        v.into_iter().map(|b| pkt(&b)).collect::<Vec<_>>()
    };
    for (config, noutputs) in [("12/0800, -", 2), ("12/0800", 1), ("-, 12/0800", 2)] {
        let mut c: Classifier = make(config, noutputs);
        let mut want = vec![Vec::new(); noutputs];
        let mut want_drops = 0;
        for p in mixed() {
            match usize::try_from(c.classify(&p))
                .ok()
                .filter(|&o| o < noutputs)
            {
                Some(o) => want[o].push(tag(&p)),
                None => want_drops += 1,
            }
        }
        assert_eq!(
            split(&mut c, mixed(), noutputs, tag),
            (want, want_drops),
            "{config}"
        );
    }
    // one outcome for the whole batch
    let mut c: Classifier = make("12/0800, -", 2);
    let ip = || (0..5).map(|t| pkt(&frame(0x0800, t))).collect();
    assert_eq!(
        split(&mut c, ip(), 2, tag),
        (vec![vec![0, 1, 2, 3, 4], vec![]], 0)
    );
    let mut c: Classifier = make("12/0806", 1);
    assert_eq!(split(&mut c, ip(), 1, tag), (vec![vec![]], 5));
    // IPClassifier(udp, -): UDP, TCP and an unmarked packet (its test
    // fails as on a short one)
    let ip_tagged = |proto: u8, t: u8| {
        let mut p = marked(&ipv4(proto, &[t; 8]));
        p.anno_mut().set_paint(t);
        p
    };
    let packets = vec![
        ip_tagged(17, 0),
        ip_tagged(6, 1),
        {
            let mut p = pkt(&ipv4(17, &[2; 8]));
            p.anno_mut().set_paint(2);
            p
        },
        ip_tagged(17, 3),
    ];
    let mut c: IPClassifier = make("udp, -", 2);
    let paint = |p: &Packet| p.anno().paint();
    assert_eq!(
        split(&mut c, packets, 2, paint),
        (vec![vec![0, 3], vec![1, 2]], 0)
    );
}

#[test]
fn checkipheader_source_addresses() {
    let from = |src: [u8; 4], dst: [u8; 4]| {
        let mut b = ipv4(17, &[0; 8]);
        b[12..16].copy_from_slice(&src);
        b[16..20].copy_from_slice(&dst);
        b[10..12].copy_from_slice(&[0, 0]);
        let c = internet_checksum(&b[..20]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        pkt(&b)
    };
    let mut c: CheckIPHeader = make("INTERFACES 10.0.1.1/24 192.168.0.1/16", 2);
    for src in [
        [0, 0, 0, 0],
        [255; 4],
        [10, 0, 1, 255],
        [192, 168, 255, 255],
    ] {
        assert_eq!(
            run(&mut c, &mut from(src, [10, 9, 9, 9])),
            Some(1),
            "{src:?}"
        );
        // ... unless sent to one of the interfaces
        assert_eq!(
            run(&mut c, &mut from(src, [10, 0, 1, 1])),
            Some(0),
            "{src:?}"
        );
    }
    assert_eq!(
        run(&mut c, &mut from([10, 0, 1, 7], [10, 9, 9, 9])),
        Some(0)
    );
    let mut c: CheckIPHeader = make("BADSRC 1.2.3.4 5.6.7.8, GOODDST 9.9.9.9", 2);
    assert_eq!(run(&mut c, &mut from([5, 6, 7, 8], [1, 1, 1, 1])), Some(1));
    assert_eq!(run(&mut c, &mut from([5, 6, 7, 8], [9, 9, 9, 9])), Some(0));
    assert_eq!(run(&mut c, &mut from([0, 0, 0, 0], [1, 1, 1, 1])), Some(0));
}

#[test]
fn transport_checks() {
    let udp = with_checksum(17, vec![0x04, 0xd2, 0x16, 0x2e, 0, 12, 0, 0, 1, 2, 3, 4], 6);
    let tcp = with_checksum(
        6,
        [
            &[
                0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x10, 0, 0, 0, 0, 0,
            ][..],
            b"data",
        ]
        .concat(),
        16,
    );
    let icmp = with_checksum(1, vec![8, 0, 0, 0, 0, 1, 0, 1, 0xaa, 0xbb], 2);
    let mut u: CheckUDPHeader = make("DETAILS true", 2);
    let mut t: CheckTCPHeader = make("", 2);
    let mut i: CheckICMPHeader = make("", 2);
    assert_eq!(run(&mut u, &mut marked(&udp)), Some(0));
    assert_eq!(run(&mut t, &mut marked(&tcp)), Some(0));
    assert_eq!(run(&mut i, &mut marked(&icmp)), Some(0));
    // each on the others' packets: not its protocol
    assert_eq!(run(&mut u, &mut marked(&tcp)), Some(1));
    assert_eq!(run(&mut t, &mut marked(&icmp)), Some(1));
    assert_eq!(run(&mut i, &mut marked(&udp)), Some(1));
    // unmarked packets
    assert_eq!(run(&mut u, &mut pkt(&udp)), Some(1));
    // corrupted payloads
    for (pkt_bytes, which) in [(&udp, 0), (&tcp, 1), (&icmp, 2)] {
        let mut b = pkt_bytes.clone();
        let last = b.len() - 1;
        b[last] ^= 0x40;
        let p = &mut marked(&b);
        let r = match which {
            0 => run(&mut u, p),
            1 => run(&mut t, p),
            _ => run(&mut i, p),
        };
        assert_eq!(r, Some(1), "{which}");
    }
    // UDP checksum 0: not checked
    let mut b = udp.clone();
    b[26..28].copy_from_slice(&[0, 0]);
    b[31] ^= 0xff;
    assert_eq!(run(&mut u, &mut marked(&b)), Some(0));
    // lengths: UDP length beyond the packet, TCP offset < 5, ICMP error too short
    let mut b = udp.clone();
    b[25] = 200;
    assert_eq!(run(&mut u, &mut marked(&b)), Some(1));
    let mut b = tcp.clone();
    b[32] = 0x40;
    assert_eq!(run(&mut t, &mut marked(&b)), Some(1));
    let unreach = with_checksum(1, vec![3, 1, 0, 0, 0, 0, 0, 0, 0x45, 0], 2);
    assert_eq!(run(&mut i, &mut marked(&unreach)), Some(1));
    assert_eq!(Element::read_handler(&u, "drops").unwrap(), "4");
    assert_eq!(
        Element::read_handler(&u, "drop_details").unwrap(),
        "2\tnot UDP\n1\tbad packet length\n1\tbad UDP checksum\n"
    );
    // one output: dropped
    let mut t1: CheckTCPHeader = make("", 1);
    assert_eq!(run(&mut t1, &mut marked(&udp)), None);
}

#[test]
fn markipheader_clamps_to_the_data() {
    let mut m: MarkIPHeader = make("14", 1);
    let mut p = pkt(&hex(FRAME));
    run(&mut m, &mut p);
    assert_eq!(p.network_header_offset(), Some(14));
    assert_eq!(p.network_header_length(), Some(20));
    let mut short = pkt(&hex(FRAME)[..20]);
    run(&mut m, &mut short);
    assert_eq!(short.network_header_offset(), Some(14));
    assert_eq!(short.network_header_length(), Some(6));
    let mut tiny = pkt(&[0x45; 3]);
    run(&mut m, &mut tiny);
    assert_eq!(tiny.network_header_offset(), Some(3));
}

#[test]
fn strip_and_unstrip_ip_headers() {
    let mut p = pkt(&hex(FRAME)[14..]);
    let mut m: MarkIPHeader = make("", 1);
    run(&mut m, &mut p);
    let mut s: StripIPHeader = make("", 1);
    run(&mut s, &mut p);
    assert_eq!(p.len(), 50 - 20);
    assert_eq!(&p.data()[..2], &[0x04, 0xd2]);
    assert_eq!(p.network_header_offset(), Some(-20));
    // a clone shares the buffer: unstripping copies the headroom bytes too
    let c = p.try_clone().unwrap();
    let mut u: UnstripIPHeader = make("", 1);
    assert_eq!(run(&mut u, &mut p), Some(0));
    assert_eq!(&p.data()[..20], &hex(FRAME)[14..34]);
    assert_eq!(c.len(), 30);
    // StripToNetworkHeader brings it back too, and strips forward
    let mut c = c;
    let mut t: StripToNetworkHeader = make("", 1);
    run(&mut t, &mut c);
    assert_eq!(&c.data()[..20], &hex(FRAME)[14..34]);
    let mut q = pkt(&hex(FRAME));
    let mut m14: MarkIPHeader = make("14", 1);
    run(&mut m14, &mut q);
    run(&mut t, &mut q);
    assert_eq!(q.len(), 50);
    assert_eq!(q.network_header_offset(), Some(0));
    // no annotation: unchanged
    let mut r = pkt(&[1, 2, 3]);
    run(&mut s, &mut r);
    run(&mut u, &mut r);
    run(&mut t, &mut r);
    assert_eq!(r.data(), &[1, 2, 3]);
}

#[test]
fn ethermirror_swaps_and_copies_on_write() {
    let mut e: EtherMirror = make("", 1);
    let mut p = pkt(&hex(FRAME));
    let c = p.try_clone().unwrap();
    run(&mut e, &mut p);
    assert_eq!(&p.data()[..12], &hex("66778899aabb001122334455")[..]);
    assert_eq!(&c.data()[..12], &hex(FRAME)[..12]);
    let mut short = pkt(&[1; 11]);
    assert_eq!(run(&mut e, &mut short), Some(0));
}

/// Whether `ip` (a whole IPv4 packet) has a right IP header checksum and,
/// for TCP or UDP, a right transport checksum over its pseudo-header.
fn checksums_hold(ip: &[u8]) -> bool {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let mut pseudo = [&ip[12..20], &[0, ip[9]][..]].concat();
    pseudo.extend_from_slice(&((ip.len() - hl) as u16).to_be_bytes());
    pseudo.extend_from_slice(&ip[hl..]);
    internet_checksum(&ip[..hl]) == 0 && internet_checksum(&pseudo) == 0
}

#[test]
fn ipmirror_swaps_addresses_ports_and_sequence_numbers() {
    let mut e: IPMirror = make("", 1);
    // TCP 10.0.0.1:1234 -> 10.1.2.3:80, seq 0x11111111, ack 0x22222222.
    let mut seg = vec![
        0x04, 0xd2, 0, 80, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
    ];
    seg.extend_from_slice(&[0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    seg.extend_from_slice(b"data");
    let tcp = with_checksum(6, seg, 16);
    let mut p = marked(&tcp);
    let clone = p.try_clone().unwrap();
    assert_eq!(run(&mut e, &mut p), Some(0));
    let d = p.data();
    assert_eq!(&d[12..20], &[10, 1, 2, 3, 10, 0, 0, 1]);
    assert_eq!(&d[20..24], &[0, 80, 0x04, 0xd2]);
    assert_eq!(
        &d[24..32],
        &[0x22, 0x22, 0x22, 0x22, 0x11, 0x11, 0x11, 0x11]
    );
    assert!(checksums_hold(d), "no checksum needs recomputing");
    assert_eq!(clone.data(), &tcp[..], "a clone keeps the original");

    // A UDP fragment after the first: no ports in it to swap.
    let mut frag = ipv4(17, &[1, 2, 3, 4, 5, 6, 7, 8]);
    frag[6..8].copy_from_slice(&[0x00, 0x10]);
    let mut p = marked(&frag);
    assert_eq!(run(&mut e, &mut p), Some(0));
    assert_eq!(&p.data()[12..20], &[10, 1, 2, 3, 10, 0, 0, 1]);
    assert_eq!(&p.data()[20..], &[1, 2, 3, 4, 5, 6, 7, 8]);

    // A TCP header cut after its ports: ports swapped, nothing read past it.
    let mut short = marked(&ipv4(6, &[0x04, 0xd2, 0, 80, 9, 9, 9, 9, 7]));
    assert_eq!(run(&mut e, &mut short), Some(0));
    assert_eq!(&short.data()[20..], &[0, 80, 0x04, 0xd2, 9, 9, 9, 9, 7]);

    // No IP header mark: dropped.
    let mut unmarked = pkt(&tcp);
    assert_eq!(run(&mut e, &mut unmarked), None);
}

#[test]
fn hostetherfilter_types_and_filters() {
    let me = "00:11:22:33:44:55";
    let frame = |dst: [u8; 6], src: [u8; 6]| pkt(&[&dst[..], &src[..], &[8, 0]].concat());
    let mine = [0, 0x11, 0x22, 0x33, 0x44, 0x55];
    let mut f: HostEtherFilter = make(me, 2);
    let mut p = frame(mine, [2; 6]);
    assert_eq!(run(&mut f, &mut p), Some(0));
    assert_eq!(p.anno().packet_type(), PacketType::Host);
    let mut p = frame([0xff; 6], [2; 6]);
    assert_eq!(run(&mut f, &mut p), Some(0));
    assert_eq!(p.anno().packet_type(), PacketType::Broadcast);
    let mut p = frame([1, 0, 0x5e, 0, 0, 1], [2; 6]);
    assert_eq!(run(&mut f, &mut p), Some(0));
    assert_eq!(p.anno().packet_type(), PacketType::Multicast);
    let mut p = frame([2; 6], [4; 6]);
    assert_eq!(run(&mut f, &mut p), Some(1));
    assert_eq!(p.anno().packet_type(), PacketType::OtherHost);
    let mut keep: HostEtherFilter = make(&format!("{me}, true, false"), 1);
    assert_eq!(run(&mut keep, &mut frame([2; 6], [4; 6])), Some(0));
    assert_eq!(run(&mut keep, &mut frame([0xff; 6], mine)), None);
    assert_eq!(run(&mut f, &mut pkt(&[0; 11])), Some(1));
    assert_eq!(
        Element::read_handler(&f, "ether").unwrap(),
        "00-11-22-33-44-55"
    );
}

#[test]
fn vlan_encap_strip_and_anno() {
    let mut enc: EtherVLANEncap = make("0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, 5, 3", 1);
    let mut p = pkt(&[0xaa, 0xbb]);
    run(&mut enc, &mut p);
    assert_eq!(
        p.data(),
        &hex("0202020202020101010101018100600508 00aabb"
            .replace(' ', "")
            .as_str())[..]
    );
    assert_eq!(p.mac_header_offset(), Some(0));
    let mut strip: StripEtherVLANHeader = make("", 2);
    assert_eq!(run(&mut strip, &mut p), Some(0));
    assert_eq!(p.data(), &[0xaa, 0xbb]);
    assert_eq!(p.anno().vlan_tci(), 0x6005);
    // native VLAN: a plain header
    let mut set: SetVLANAnno = make("VLAN_ID 7, VLAN_PCP 1", 1);
    let mut native: EtherVLANEncap =
        make("0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, ANNO, NATIVE_VLAN 7", 1);
    let mut q = pkt(&[0xaa]);
    run(&mut set, &mut q);
    assert_eq!(q.anno().vlan_tci(), 0x2007);
    run(&mut native, &mut q);
    assert_eq!(q.len(), 15);
    // untagged frames: native 0 by default, or output 1 with a negative one
    assert_eq!(run(&mut strip, &mut q), Some(0));
    assert_eq!(q.anno().vlan_tci(), 0);
    let mut strict: StripEtherVLANHeader = make("-1", 2);
    let mut r = pkt(&[0; 20]);
    assert_eq!(run(&mut strict, &mut r), Some(1));
    assert_eq!(run(&mut strict, &mut pkt(&[0x81; 13])), Some(1));
    assert!(try_make::<EtherVLANEncap>("0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, 70000", 1).is_err());
    assert_eq!(Element::read_handler(&enc, "vlan_id").unwrap(), "5");
    assert_eq!(Element::read_handler(&enc, "vlan_pcp").unwrap(), "3");
    assert_eq!(Element::read_handler(&native, "vlan_tci").unwrap(), "ANNO");
}

/// VLANEncap inserts a tag after the addresses and VLANDecap takes it
/// out, its TCI into the annotation; frames too short for either are
/// dropped, not read beyond.
#[test]
fn vlan_tag_inserted_and_removed() {
    let frame = hex("0202020202020101010101010800aabb");
    let mut enc: VLANEncap = make("0x1005, 2, ETHERTYPE 0x88a8", 1);
    let mut p = pkt(&frame);
    assert_eq!(run(&mut enc, &mut p), Some(0));
    assert_eq!(
        p.data(),
        &hex("02020202020201010101010188a850050800aabb")[..]
    );
    assert_eq!(p.mac_header_offset(), Some(0));
    // the default type is 0x8100: a 0x88a8 tag passes unchanged
    let mut dec: VLANDecap = make("", 1);
    assert_eq!(run(&mut dec, &mut p), Some(0));
    assert_eq!(p.len(), 20);
    assert_eq!(p.anno().vlan_tci(), 0);
    let mut dec_ad: VLANDecap = make("ETHERTYPE 0x88a8", 1);
    assert_eq!(run(&mut dec_ad, &mut p), Some(0));
    assert_eq!(p.data(), &frame[..]);
    assert_eq!(p.anno().vlan_tci(), 0x5005);
    // ANNO takes the annotation back; the native VLAN stays untagged
    let mut by_anno: VLANEncap = make("ANNO, NATIVE_VLAN 5", 1);
    assert_eq!(run(&mut by_anno, &mut p), Some(0));
    assert_eq!(p.data(), &frame[..]);
    p.anno_mut().set_vlan_tci(6);
    assert_eq!(run(&mut by_anno, &mut p), Some(0));
    assert_eq!(
        p.data(),
        &hex("02020202020201010101010181000006 0800aabb"
            .replace(' ', "")
            .as_str())[..]
    );
    // ANNO false leaves the annotation alone
    let mut dec_keep: VLANDecap = make("false", 1);
    p.anno_mut().set_vlan_tci(9);
    assert_eq!(run(&mut dec_keep, &mut p), Some(0));
    assert_eq!((p.len(), p.anno().vlan_tci()), (16, 9));
    // short frames: no Ethernet header to tag, a tag cut short
    assert_eq!(run(&mut enc, &mut pkt(&frame[..13])), None);
    assert_eq!(
        run(&mut dec, &mut pkt(&hex("020202020202010101010101810000"))),
        None
    );
    let mut tiny = pkt(&[0x81]);
    assert_eq!(run(&mut dec, &mut tiny), Some(0));
    assert_eq!(tiny.data(), &[0x81]);
    // handlers
    assert_eq!(Element::read_handler(&enc, "vlan_tci").unwrap(), "20485");
    assert_eq!(Element::read_handler(&enc, "vlan_pcp").unwrap(), "2");
    assert_eq!(Element::read_handler(&enc, "ethertype").unwrap(), "34984");
    assert_eq!(Element::read_handler(&by_anno, "vlan_tci").unwrap(), "ANNO");
    assert!(try_make::<VLANEncap>("0x10000", 1).is_err());
    assert!(try_make::<VLANEncap>("1, 8", 1).is_err());
}

/// The tag's write handlers: a VLAN ID keeps the PCP and ends ANNO mode, a
/// PCP keeps ANNO mode, bad values are refused and change nothing.
#[test]
fn vlan_handlers_write_parts_of_the_tci() {
    let mut enc: VLANEncap = make("ANNO", 1);
    let mut set: SetVLANAnno = make("0x2005", 1);
    let mut h = Harness::new("e");
    h.with(|ctx| {
        Element::write_handler(&mut enc, "vlan_pcp", "3", ctx).unwrap();
        assert_eq!(Element::read_handler(&enc, "vlan_tci").unwrap(), "ANNO");
        Element::write_handler(&mut enc, "vlan_id", " 7 ", ctx).unwrap();
        assert_eq!(Element::read_handler(&enc, "vlan_tci").unwrap(), "24583");
        assert!(Element::write_handler(&mut enc, "vlan_id", "4096", ctx).is_err());
        assert!(Element::write_handler(&mut enc, "native_vlan", "-2", ctx).is_err());
        Element::write_handler(&mut enc, "native_vlan", "-1", ctx).unwrap();
        assert_eq!(Element::read_handler(&enc, "native_vlan").unwrap(), "-1");
        assert_eq!(Element::read_handler(&enc, "vlan_tci").unwrap(), "24583");
        Element::write_handler(&mut set, "vlan_id", "9", ctx).unwrap();
        assert_eq!(Element::read_handler(&set, "vlan_tci").unwrap(), "8201");
        Element::write_handler(&mut set, "vlan_pcp", "0", ctx).unwrap();
        assert_eq!(Element::read_handler(&set, "vlan_tci").unwrap(), "9");
        assert!(Element::write_handler(&mut set, "vlan_pcp", "8", ctx).is_err());
        assert!(Element::write_handler(&mut set, "nonesuch", "1", ctx).is_err());
    });
}

/// Truncate cuts packets to LENGTH and counts what it cut in the extra
/// length annotation, unless told not to.
#[test]
fn truncate_cuts_and_counts_the_rest() {
    let mut t: Truncate = make("10", 1);
    let mut p = pkt(&[7; 25]);
    p.anno_mut().set_extra_length(100);
    assert_eq!(run(&mut t, &mut p), Some(0));
    assert_eq!((p.len(), p.anno().extra_length()), (10, 115));
    let mut short = pkt(&[7; 4]);
    assert_eq!(run(&mut t, &mut short), Some(0));
    assert_eq!((short.len(), short.anno().extra_length()), (4, 0));
    let mut plain: Truncate = make("10, EXTRA_LENGTH false", 1);
    let mut q = pkt(&[7; 25]);
    assert_eq!(run(&mut plain, &mut q), Some(0));
    assert_eq!((q.len(), q.anno().extra_length()), (10, 0));
    assert_eq!(Element::read_handler(&t, "nbytes").unwrap(), "10");
}

/// Pad extends packets to LENGTH, or by their extra length annotation
/// (what Truncate cut), with zeros, and leaves the annotation 0.
#[test]
fn pad_extends_to_length_or_by_the_extra_length() {
    let mut cut: Truncate = make("4", 1);
    let mut back: Pad = make("", 1);
    let mut p = pkt(b"HiFart");
    run(&mut cut, &mut p);
    assert_eq!(p.anno().extra_length(), 2);
    assert_eq!(run(&mut back, &mut p), Some(0));
    assert_eq!((p.data(), p.anno().extra_length()), (&b"HiFa\0\0"[..], 0));
    let mut to8: Pad = make("8", 1);
    let mut q = pkt(b"Hi");
    q.anno_mut().set_extra_length(5);
    assert_eq!(run(&mut to8, &mut q), Some(0));
    assert_eq!(
        (q.data(), q.anno().extra_length()),
        (&b"Hi\0\0\0\0\0\0"[..], 0)
    );
    let mut long = pkt(&[1; 10]);
    assert_eq!(run(&mut to8, &mut long), Some(0));
    assert_eq!(long.len(), 10);
    assert_eq!(Element::read_handler(&to8, "nbytes").unwrap(), "8");
}

#[test]
fn checklength_splits() {
    let mut c: CheckLength = make("60", 2);
    assert_eq!(run(&mut c, &mut pkt(&[0; 60])), Some(0));
    assert_eq!(run(&mut c, &mut pkt(&[0; 61])), Some(1));
    let mut c1: CheckLength = make("60", 1);
    assert_eq!(run(&mut c1, &mut pkt(&[0; 61])), None);
}

/// A batch is classified whole and split by output, keeping each output's
/// packets in order.
#[test]
fn classifiers_split_batches_in_order() {
    let mut c: Classifier = make("0/01, 0/02, -", 3);
    let mut h = Harness::new("c");
    let mut batch = Batch::new();
    for i in 0..32u8 {
        batch.push(pkt(&[i % 4, i]));
    }
    h.with(|ctx| Element::push(&mut c, 0, batch, ctx));
    let tags = |v: Vec<Packet>| v.iter().map(|p| p.data()[1]).collect::<Vec<u8>>();
    assert_eq!(
        tags(h.take_output(0)),
        (0..32).filter(|i| i % 4 == 1).collect::<Vec<u8>>()
    );
    assert_eq!(
        tags(h.take_output(1)),
        (0..32).filter(|i| i % 4 == 2).collect::<Vec<u8>>()
    );
    assert_eq!(tags(h.take_output(2)).len(), 16);
    // IPFilter: drops counted by the engine
    let mut f: IPFilter = make("allow udp, deny all", 1);
    let mut batch = Batch::new();
    batch.push(marked(&hex(FRAME)[14..]));
    batch.push(marked(&ipv4(6, &[0; 20])));
    h.with(|ctx| Element::push(&mut f, 0, batch, ctx));
    assert_eq!(h.take_output(0).len(), 1);
    assert_eq!(h.drops(), 1);
}

#[test]
fn ipclassifier_needs_a_pattern_per_output() {
    let e = try_make::<IPClassifier>("tcp, udp", 3).unwrap_err();
    assert_eq!(e, "need 3 arguments, one per output port");
    let e = try_make::<Classifier>("-", 2).unwrap_err();
    assert_eq!(e, "need 2 arguments, one per output port");
}

#[test]
fn in_a_router_with_address_names() {
    let config = "
        AddressInfo(inside 10.1.2.0/24, me 10.1.2.3);
        src :: InfiniteSource(DATA \\<00112233445566778899aabb08004500003200000000401164b70a0000010a01020304d2162e001e000000000000000000000000000000000000000000000000>, LIMIT 100, STOP true);
        src -> cl :: Classifier(12/0800, -) -> Strip(14) -> chk :: CheckIPHeader(BADSRC 10.0.0.1, GOODDST me)
            -> f :: IPFilter(allow dst net inside && udp && dst port 5678, deny all) -> c :: Counter -> Discard;
        cl[1] -> Discard;
    ";
    let out = common::run(config, 1, &["c.count", "chk.drops", "f.program"]).unwrap();
    assert_eq!(out[0], "100\n");
    assert_eq!(out[1], "0\n");
    assert!(out[2].contains("0a010200%ffffff00"), "{}", out[2]);
}

#[test]
fn bad_packets_leave_on_output_one_in_a_router() {
    let config = "
        src :: InfiniteSource(DATA \\<4500>, LIMIT 10, STOP true);
        src -> chk :: CheckIPHeader -> ok :: Counter -> Discard;
        chk[1] -> bad :: Counter -> Discard;
    ";
    let out = common::run(config, 1, &["ok.count", "bad.count", "chk.drops"]).unwrap();
    assert_eq!(out, ["0\n", "10\n", "10\n"]);
}

#[test]
fn pattern_errors_reach_the_router_with_word_and_column() {
    let err = common::check("Idle -> c :: IPClassifier(tcp wibble, -) -> Idle; c[1] -> Idle;")
        .unwrap_err();
    assert!(
        err.contains("while configuring 'c :: IPClassifier'"),
        "{err}"
    );
    assert!(
        err.contains("pattern 0: garbage after expression (at 'wibble', column 5)"),
        "{err}"
    );
    let err = common::check("Idle -> c :: Classifier(12/08x0) -> Idle;").unwrap_err();
    assert!(
        err.contains("pattern 0: expected a hex digit at 'x0', column 6"),
        "{err}"
    );
}

#[test]
fn checkipheader_pulled_pushes_bad_packets_out_of_output_one() {
    let config = "
        src :: InfiniteSource(DATA \\<4500>, LIMIT 10, STOP false);
        src -> q :: Queue -> chk :: CheckIPHeader -> Unqueue -> ok :: Counter -> Discard;
        chk[1] -> bad :: Counter -> Discard;
        DriverManager(wait 200ms, stop);
    ";
    let out = common::run(config, 1, &["ok.count", "bad.count", "chk.drops"]).unwrap();
    assert_eq!(out, ["0\n", "10\n", "10\n"]);
}
