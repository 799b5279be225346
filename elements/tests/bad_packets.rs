//! Every element of the IP library takes any bytes, of any length, without
//! a panic: the crafted frames of `shared/pcaps/bad-packets.pcap` (indexed
//! in `bad-packets.txt`) go through each of them, raw and with the
//! annotations CheckIPHeader or MarkIPHeader would set. Where Click's
//! behaviour is defined (it reads no byte beyond the packet), the outcomes
//! are Click's, recorded from Click 2.1 (`/tmp/baselines/click`) running
//! the same frames.

use click_elements::{
    CheckICMPHeader, CheckIPHeader, CheckIPHeader2, CheckLength, CheckTCPHeader, CheckUDPHeader,
    Classifier, EtherMirror, EtherVLANEncap, HostEtherFilter, ICMPPingRewriter, ICMPRewriter,
    IPAddrPairRewriter, IPAddrRewriter, IPClassifier, IPFilter, IPRewriter, MarkIPHeader,
    MarkMACHeader, Pad, SetVLANAnno, StripEtherVLANHeader, StripIPHeader, StripToNetworkHeader,
    TCPRewriter, Truncate, UDPRewriter, UnstripIPHeader, VLANDecap, VLANEncap,
};
use click_engine::args::Args;
use click_engine::packet::{Batch, PacketPool, PacketType};
use click_engine::{ConfigureCtx, Element, ElementClass, Harness, Packet, Processing};

const PCAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/pcaps/bad-packets.pcap"
);

/// The jumbo frame (9014 bytes) needs buffers bigger than the default.
fn init_pool() {
    let _ = PacketPool::init(8192, 16384);
}

/// The frames of a pcap file: a 24-byte global header, then a 16-byte
/// header (captured length at 8..12) before each frame. Either byte order.
fn read_pcap(path: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let le = match data.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) | Some([0x4d, 0x3c, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) | Some([0xa1, 0xb2, 0x3c, 0x4d]) => false,
        _ => panic!("{path}: not a pcap file"),
    };
    let u32_at = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut frames = Vec::new();
    let mut pos = 24;
    while pos + 16 <= data.len() {
        let caplen = u32_at(&data[pos + 8..pos + 12]) as usize;
        pos += 16;
        let end = (pos + caplen).min(data.len());
        frames.push(data[pos..end].to_vec());
        pos = end;
    }
    frames
}

fn make<T: ElementClass>(config: &str, noutputs: usize) -> T {
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "e",
        inputs: &[Processing::Push],
        outputs: &outputs,
    };
    T::configure(&mut Args::new(config), &ctx).unwrap_or_else(|e| panic!("{config}: {e}"))
}

/// Pushes `p` alone through `e`; returns the output it left on (and puts
/// it back in `p`), or `None` if `e` dropped it.
fn run<T: Element>(h: &mut Harness, e: &mut T, p: &mut Packet) -> Option<usize> {
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

/// Click's `Strip(14) -> CheckIPHeader` on each frame: `ok`/`bad` and
/// the length after.
const CLICK_CHECKIPHEADER: &str = "bad:0 bad:0 bad:0 bad:12 bad:32 bad:32 bad:33 bad:32 bad:48 bad:48 bad:48 bad:34 bad:35 bad:32 bad:48 bad:32 ok:36 ok:28 ok:28 ok:28 ok:32 ok:32 ok:32 ok:44 ok:44 ok:36 ok:36 ok:36 ok:36 ok:40 ok:36 ok:36 ok:36 ok:36 ok:52 ok:52 ok:44 ok:44 ok:60 ok:36 ok:120 ok:33 ok:28 ok:35 ok:32 ok:38 ok:37 ok:33 ok:33 ok:22 ok:40 ok:40 ok:40 ok:40 ok:40 ok:40 ok:58 ok:52 ok:32 ok:28 ok:22 bad:32 bad:32 bad:40 bad:44 bad:2 bad:28 bad:28 bad:28 bad:28 bad:20 ok:9000 ok:28 ok:31 ok:28 ok:1500 ok:33 ok:34 ok:32 ok:38 bad:48 ok:36 ok:35 ok:37 ok:28 ok:28 ok:28 ok:28 ok:28 ok:28 ok:28 ok:28 bad:28 bad:46 bad:46 bad:46 ";

/// Click's `Strip(14) -> CheckIPHeader -> IPClassifier(tcp, udp, icmp, -)`
/// then CheckTCPHeader, CheckUDPHeader or CheckICMPHeader on each frame:
/// `x` (CheckIPHeader said bad), `tok`/`tbad`, `uok`/`ubad`,
/// `iok`/`ibad`, `other`.
const CLICK_CHAIN: &str = "x x x x x x x x x x x x x x x x uok iok iok iok uok uok other iok iok uok uok uok uok uok uok uok uok uok ubad ubad ubad ubad ubad ubad ubad ubad uok ubad ubad ubad ubad uok uok ubad tbad tbad tbad tok tok tok tbad tok tbad iok ibad x x x x x x x x x x uok iok uok iok uok uok uok uok uok x uok uok uok iok iok iok iok iok iok iok iok x x x x ";

#[test]
fn checkipheader_judges_every_frame_as_click_does() {
    init_pool();
    let frames = read_pcap(PCAP);
    assert_eq!(frames.len(), 96);
    let mut h = Harness::new("c");
    let mut strip: click_elements::Strip = make("14", 1);
    let mut c: CheckIPHeader = make("", 2);
    let mut got = String::new();
    for f in &frames {
        let mut p = Packet::from_slice(f).expect("pool buffers fit the jumbo frame");
        run(&mut h, &mut strip, &mut p);
        let verdict = run(&mut h, &mut c, &mut p);
        got.push_str(&format!(
            "{}:{} ",
            if verdict == Some(0) { "ok" } else { "bad" },
            p.len()
        ));
    }
    assert_eq!(got.trim(), CLICK_CHECKIPHEADER.trim());
}

#[test]
fn transport_checks_judge_every_frame_as_click_does() {
    init_pool();
    let frames = read_pcap(PCAP);
    let mut h = Harness::new("c");
    let mut strip: click_elements::Strip = make("14", 1);
    let mut c: CheckIPHeader = make("", 2);
    let ipc: IPClassifier = make("tcp, udp, icmp, -", 4);
    let mut t: CheckTCPHeader = make("", 2);
    let mut u: CheckUDPHeader = make("", 2);
    let mut i: CheckICMPHeader = make("", 2);
    let mut got = Vec::new();
    for f in &frames {
        let mut p = Packet::from_slice(f).unwrap();
        run(&mut h, &mut strip, &mut p);
        if run(&mut h, &mut c, &mut p) != Some(0) {
            got.push("x".to_string());
            continue;
        }
        let (name, verdict) = match ipc.classify(&p) {
            0 => ("t", run(&mut h, &mut t, &mut p)),
            1 => ("u", run(&mut h, &mut u, &mut p)),
            2 => ("i", run(&mut h, &mut i, &mut p)),
            _ => ("other", None),
        };
        got.push(match (name, verdict) {
            ("other", _) => "other".to_string(),
            (n, Some(0)) => format!("{n}ok"),
            (n, _) => format!("{n}bad"),
        });
    }
    let want: Vec<&str> = CLICK_CHAIN.split_whitespace().collect();
    for (n, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "frame {}", n + 1);
    }
    assert_eq!(got.len(), want.len());
}

/// Runs `e` on every frame, raw, after MarkIPHeader(14), and after
/// Strip(14) + CheckIPHeader (when that accepts it); then as one batch.
fn every_frame<T: Element>(name: &str, mut e: T, frames: &[Vec<u8>]) {
    let push_one = |h: &mut Harness, e: &mut T, p: Packet| {
        let mut batch = Batch::new();
        batch.push(p);
        h.with(|ctx| e.push(0, batch, ctx));
    };
    let mut h = Harness::new(name);
    let mut mark: MarkIPHeader = make("14", 1);
    let mut strip: click_elements::Strip = make("14", 1);
    let mut chk: CheckIPHeader = make("", 2);
    for f in frames {
        push_one(&mut h, &mut e, Packet::from_slice(f).unwrap());
        let mut p = Packet::from_slice(f).unwrap();
        run(&mut h, &mut mark, &mut p);
        push_one(&mut h, &mut e, p);
        let mut p = Packet::from_slice(f).unwrap();
        run(&mut h, &mut strip, &mut p);
        if run(&mut h, &mut chk, &mut p) == Some(0) {
            push_one(&mut h, &mut e, p);
        }
    }
    for chunk in frames.chunks(32) {
        let mut batch = Batch::new();
        for f in chunk {
            let mut p = Packet::from_slice(f).unwrap();
            run(&mut h, &mut mark, &mut p);
            batch.push(p);
        }
        h.with(|ctx| e.push(0, batch, ctx));
    }
    for port in 0..8 {
        drop(h.take_output(port));
    }
}

#[test]
fn every_element_takes_every_frame() {
    init_pool();
    let frames = read_pcap(PCAP);
    let mut all = frames.clone();
    // and the empty packet, and every prefix of a few frames
    all.push(Vec::new());
    for f in frames.iter().take(20).chain(frames.iter().skip(60)) {
        for n in (0..f.len().min(80)).step_by(3) {
            all.push(f[..n].to_vec());
        }
    }
    every_frame(
        "Classifier",
        make::<Classifier>(
            "12/0800 23/11, 12/0806 !20/0001, 12/8100 14/0?64%0fff, -",
            4,
        ),
        &all,
    );
    every_frame("IPClassifier", make::<IPClassifier>("src host 10.0.1.2 and udp port 53, tcp syn && !ack, icmp type echo, ip frag, dst net 10.0.0.0/8 || ether host ff:ff:ff:ff:ff:ff, ip[0:2] > 0x4500 ? transp[2:2] < 1024 : ip ttl == 0, -", 7), &all);
    every_frame(
        "IPFilter",
        make::<IPFilter>("allow tcp opt syn, 1 ip unfrag and ip ce, deny all", 2),
        &all,
    );
    every_frame(
        "CheckIPHeader",
        make::<CheckIPHeader>("OFFSET 14, INTERFACES 10.0.1.1/24, DETAILS true", 2),
        &all,
    );
    every_frame("CheckIPHeader2", make::<CheckIPHeader2>("", 1), &all);
    every_frame(
        "CheckIPHeader offset",
        make::<CheckIPHeader>("OFFSET 60000", 1),
        &all,
    );
    every_frame("MarkIPHeader", make::<MarkIPHeader>("14", 1), &all);
    every_frame("MarkIPHeader far", make::<MarkIPHeader>("60000", 1), &all);
    every_frame(
        "CheckTCPHeader",
        make::<CheckTCPHeader>("DETAILS true", 2),
        &all,
    );
    every_frame("CheckUDPHeader", make::<CheckUDPHeader>("", 1), &all);
    every_frame(
        "CheckICMPHeader",
        make::<CheckICMPHeader>("VERBOSE false", 2),
        &all,
    );
    every_frame("CheckLength", make::<CheckLength>("60", 2), &all);
    every_frame("StripIPHeader", make::<StripIPHeader>("", 1), &all);
    every_frame("UnstripIPHeader", make::<UnstripIPHeader>("", 1), &all);
    every_frame(
        "StripToNetworkHeader",
        make::<StripToNetworkHeader>("", 1),
        &all,
    );
    every_frame("EtherMirror", make::<EtherMirror>("", 1), &all);
    every_frame(
        "HostEtherFilter",
        make::<HostEtherFilter>("0:1:2:3:4:5, true, OFFSET 2", 2),
        &all,
    );
    every_frame(
        "EtherVLANEncap",
        make::<EtherVLANEncap>("0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2, ANNO", 1),
        &all,
    );
    every_frame(
        "StripEtherVLANHeader",
        make::<StripEtherVLANHeader>("-1", 2),
        &all,
    );
    every_frame("SetVLANAnno", make::<SetVLANAnno>("7", 1), &all);
    every_frame(
        "VLANEncap",
        make::<VLANEncap>("ANNO, NATIVE_VLAN -1", 1),
        &all,
    );
    every_frame("VLANDecap", make::<VLANDecap>("", 1), &all);
    every_frame("Truncate", make::<Truncate>("21", 1), &all);
    every_frame("Pad", make::<Pad>("70", 1), &all);
    let nat = "pattern 1.0.0.1 1024-1030# - - 0 0";
    every_frame("IPRewriter", make::<IPRewriter>(nat, 1), &all);
    every_frame("TCPRewriter", make::<TCPRewriter>(nat, 1), &all);
    every_frame("UDPRewriter", make::<UDPRewriter>("pass 0", 1), &all);
    every_frame("UDPRewriter", make::<UDPRewriter>(nat, 1), &all);
    let addrs = "pattern 3.0.0.1-3.0.0.3# - 0 0";
    every_frame("IPAddrRewriter", make::<IPAddrRewriter>(addrs, 1), &all);
    every_frame(
        "IPAddrPairRewriter",
        make::<IPAddrPairRewriter>(addrs, 1),
        &all,
    );
    every_frame(
        "ICMPPingRewriter",
        make::<ICMPPingRewriter>("pattern 2.0.0.2 - 0-3# 0 0", 1),
        &all,
    );
    // Not initialized here, so it knows no flows: every frame is read as
    // far as an error's quote (icmp_rewriter.rs rewrites cut-short ones).
    every_frame("ICMPRewriter", make::<ICMPRewriter>("rw", 2), &all);
    every_frame("MarkMACHeader", make::<MarkMACHeader>("14, 20", 1), &all);
    every_frame("MarkMACHeader far", make::<MarkMACHeader>("60000", 1), &all);
}

/// As `every_frame`, with the header marks the forwarding elements see
/// (also Strip(14) + MarkIPHeader, unchecked) and annotations they act on
/// (fix-IP-source, parameter problem pointer, destination, link
/// broadcasts) set on some frames; every output is kept and dropped.
fn every_frame_forward<T: Element>(name: &str, mut e: T, frames: &[Vec<u8>]) {
    let mut h = Harness::new(name);
    let mut mark: MarkIPHeader = make("14", 1);
    let mut mark0: MarkIPHeader = make("", 1);
    let mut strip: click_elements::Strip = make("14", 1);
    let mut chk: CheckIPHeader = make("", 2);
    let annotate = |p: &mut Packet, i: usize| {
        let a = p.anno_mut();
        a.set_fix_ip_src((i % 2) as u8);
        a.set_icmp_paramprob((i * 7 % 70) as u8);
        a.set_dst_ip(std::net::Ipv4Addr::new(10, 0, (i % 3) as u8, 1));
        a.set_packet_type(match i % 5 {
            0 => PacketType::Broadcast,
            1 => PacketType::Multicast,
            _ => PacketType::Host,
        });
    };
    let mut batch = Batch::new();
    for (i, f) in frames.iter().enumerate() {
        for mode in 0..4 {
            let mut p = Packet::from_slice(f).unwrap();
            annotate(&mut p, i + mode);
            match mode {
                0 => {}
                1 => {
                    run(&mut h, &mut mark, &mut p);
                }
                2 => {
                    run(&mut h, &mut strip, &mut p);
                    run(&mut h, &mut mark0, &mut p);
                }
                _ => {
                    run(&mut h, &mut strip, &mut p);
                    if run(&mut h, &mut chk, &mut p) != Some(0) {
                        continue;
                    }
                }
            }
            batch.push(p);
            if batch.is_full() {
                h.with(|ctx| e.push(0, std::mem::take(&mut batch), ctx));
            }
        }
        for port in 0..8 {
            drop(h.take_output(port));
        }
    }
    h.with(|ctx| e.push(0, batch, ctx));
    for port in 0..8 {
        drop(h.take_output(port));
    }
}

#[test]
fn forwarding_and_icmp_elements_take_every_frame() {
    use click_elements::*;
    init_pool();
    let frames = read_pcap(PCAP);
    let mut all = frames.clone();
    all.push(Vec::new());
    for f in frames.iter().take(50) {
        for n in (0..f.len().min(80)).step_by(5) {
            all.push(f[..n].to_vec());
        }
    }
    macro_rules! each {
        ($($t:ty: $conf:expr, $outs:expr;)*) => {
            $(every_frame_forward(stringify!($t), make::<$t>($conf, $outs), &all);)*
        };
    }
    each! {
        DecIPTTL: "", 2;
        DecIPTTL: "MULTICAST false", 1;
        IPGWOptions: "10.0.0.1, 10.0.0.2 10.0.0.3", 2;
        FixIPSrc: "10.9.9.9", 1;
        DropBroadcasts: "", 2;
        IPFragmenter: "28", 2;
        IPFragmenter: "68, HONOR_DF false, HEADROOM 0", 1;
        IPFragmenter: "1500", 2;
        IPReassembler: "", 2;
        IPReassembler: "HIMEM 200, MAX_MTU_ANNO 20", 1;
        IPEncap: "4, 1.1.1.1, DST_ANNO, DF true", 1;
        UDPIPEncap: "1.1.1.1, 1, 2.2.2.2, 2", 1;
        SetIPChecksum: "", 1;
        SetUDPChecksum: "", 2;
        SetTCPChecksum: "FIXOFF true", 1;
        StoreIPAddress: "src", 2;
        StoreIPAddress: "1.2.3.4, dst", 1;
        StoreIPAddress: "1.2.3.4, 40", 2;
        SetIPDSCP: "63", 1;
        MarkIPCE: "", 1;
        MarkIPCE: "true", 1;
        IPMirror: "", 1;
        IPInputCombo: "1, INTERFACES 10.0.1.1/24", 1;
        IPOutputCombo: "0, 10.0.0.1, 60", 5;
        ICMPError: "10.0.0.1, unreachable, needfrag, PMTU 500", 1;
        ICMPError: "10.0.0.1, parameterproblem, 0, MTU 40", 1;
        ICMPError: "10.0.0.1, redirect, host, 10.0.1.255", 1;
        ICMPError: "10.0.0.1, timeexceeded, MTU 0", 1;
        ICMPPingResponder: "", 2;
        ICMPPingEncap: "1.1.1.1, 2.2.2.2", 1;
        ICMPIPEncap: "1.1.1.1, 2.2.2.2, timestamp", 1;
        ICMPPingSource: "1.1.1.1, 2.2.2.2, MIRROR true", 1;
    }
}
