//! ICMPRewriter: ICMP errors about flows a rewriter mapped come back
//! quoting the packet as its sender sent it, addressed to that sender,
//! with every checksum right (computed here from scratch); errors about
//! nothing mapped, other ICMP and other packets go where Click's
//! documentation says.

mod common;

use common::cksum;

use std::net::Ipv4Addr;

const UDP: u8 = 17;
const TCP: u8 = 6;
const ICMP: u8 = 1;

/// An IPv4 packet with every checksum right: `proto` UDP or TCP with
/// ports, or ICMP (an echo with identifier `sport`).
fn packet(proto: u8, src: &str, sport: u16, dst: &str, dport: u16) -> Vec<u8> {
    let (s, d): (Ipv4Addr, Ipv4Addr) = (src.parse().unwrap(), dst.parse().unwrap());
    let mut seg = match proto {
        UDP => {
            let mut u = vec![0u8; 8];
            u[0..2].copy_from_slice(&sport.to_be_bytes());
            u[2..4].copy_from_slice(&dport.to_be_bytes());
            u
        }
        TCP => {
            let mut t = vec![0u8; 20];
            t[0..2].copy_from_slice(&sport.to_be_bytes());
            t[2..4].copy_from_slice(&dport.to_be_bytes());
            t[12] = 5 << 4;
            t[13] = 0x02;
            t
        }
        _ => {
            let mut e = vec![8, 0, 0, 0, 0, 0, 0, 1];
            e[4..6].copy_from_slice(&sport.to_be_bytes());
            e
        }
    };
    seg.extend_from_slice(b"payload!");
    let len = seg.len() as u16;
    if proto == UDP {
        seg[4..6].copy_from_slice(&len.to_be_bytes());
    }
    let mut pseudo = [s.octets(), d.octets()].concat();
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&len.to_be_bytes());
    pseudo.extend_from_slice(&seg);
    match proto {
        UDP => seg[6..8].copy_from_slice(&cksum(&pseudo).to_be_bytes()),
        TCP => seg[16..18].copy_from_slice(&cksum(&pseudo).to_be_bytes()),
        _ => {
            let c = cksum(&seg);
            seg[2..4].copy_from_slice(&c.to_be_bytes());
        }
    }
    let mut ip = vec![0x45, 0, 0, 0, 0, 7, 0, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&(20 + len).to_be_bytes());
    ip.extend_from_slice(&s.octets());
    ip.extend_from_slice(&d.octets());
    let c = cksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&seg);
    ip
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Runs `packet` through `rewriter` (its inputs `[0]` from the packet
/// source, output 0 on to ICMPError) and the error ICMPError(19.19.19.19,
/// TYPE) makes through ICMPRewriter(rw); returns the error before and
/// after ICMPRewriter, and its outputs' counts.
fn error_through(rewriter: &str, packet: &[u8], ty: &str) -> (Vec<u8>, Vec<u8>, [u64; 2]) {
    let config = format!(
        "InfiniteSource(DATA \\<{}>, LIMIT 1, STOP true) -> MarkIPHeader(0)
           -> rw :: {rewriter}
           -> ICMPError(19.19.19.19, {ty}) -> before :: Record
           -> irw :: ICMPRewriter(rw)
           -> after :: Record -> c0 :: Counter -> Discard;
         irw[1] -> c1 :: Counter -> Discard;",
        hex(packet)
    );
    let reads = common::run(
        &config,
        1,
        &["before.last", "after.last", "c0.count", "c1.count"],
    )
    .unwrap();
    let count = |s: &str| s.trim().parse::<u64>().unwrap();
    (
        unhex(reads[0].trim()),
        unhex(reads[1].trim()),
        [count(&reads[2]), count(&reads[3])],
    )
}

/// Checks the ICMP error `e`'s outer IP and ICMP checksums from scratch,
/// and that its quoted IP header's is right; returns the quote.
fn check_error(e: &[u8]) -> &[u8] {
    assert_eq!(cksum(&e[..20]), 0, "outer IP checksum");
    assert_eq!(cksum(&e[20..]), 0, "ICMP checksum");
    let quote = &e[28..];
    assert_eq!(cksum(&quote[..20]), 0, "quoted IP checksum");
    quote
}

/// Asserts that `quote` is the start of `original`, at least its IP
/// header and 8 bytes (ICMPError may quote more: then also the TCP or
/// UDP checksum, restored with the rest).
fn assert_quotes(quote: &[u8], original: &[u8]) {
    assert!(quote.len() >= 28, "quote of {} bytes", quote.len());
    assert_eq!(quote, &original[..quote.len()]);
}

#[test]
fn a_time_exceeded_for_a_natted_udp_flow_reaches_the_inside_host() {
    let original = packet(UDP, "10.0.0.5", 4000, "8.8.8.8", 53);
    let (before, after, counts) = error_through(
        "UDPRewriter(pattern 21.0.0.1 1024-65535# - - 0 0)",
        &original,
        "timeexceeded",
    );
    // Before: to the NAT's address, quoting the mapped packet.
    assert_eq!(&before[16..20], &[21, 0, 0, 1]);
    let quote = check_error(&before);
    assert_eq!(&quote[12..16], &[21, 0, 0, 1]);
    assert_eq!(u16::from_be_bytes([quote[20], quote[21]]), 1024);
    // After: to the inside host, quoting its packet byte for byte (its IP
    // header and the UDP header with its checksum), every checksum right.
    assert_eq!(counts, [1, 0]);
    assert_eq!(&after[12..16], &[19, 19, 19, 19]);
    assert_eq!(&after[16..20], &[10, 0, 0, 5]);
    let quote = check_error(&after);
    assert_quotes(quote, &original);
}

#[test]
fn a_tcp_flow_through_iprewriter_and_an_unreachable() {
    let original = packet(TCP, "10.0.0.5", 4000, "8.8.8.8", 80);
    let (_, after, counts) = error_through(
        "IPRewriter(pattern 21.0.0.1 1024-65535# - - 0 0)",
        &original,
        "unreachable",
    );
    assert_eq!(counts, [1, 0]);
    assert_eq!(&after[16..20], &[10, 0, 0, 5]);
    assert_quotes(check_error(&after), &original);
}

#[test]
fn an_error_about_a_natted_echo_quotes_the_original_echo() {
    let original = packet(ICMP, "10.0.0.5", 77, "8.8.8.8", 0);
    let (before, after, counts) = error_through(
        "ICMPPingRewriter(pattern 21.0.0.1 - 500-600# 0 0)",
        &original,
        "unreachable",
    );
    assert_eq!(&check_error(&before)[24..26], &500u16.to_be_bytes());
    assert_eq!(counts, [1, 0]);
    assert_eq!(&after[16..20], &[10, 0, 0, 5]);
    assert_quotes(check_error(&after), &original);
}

#[test]
fn address_rewriters_restore_addresses_and_leave_ports() {
    let original = packet(UDP, "10.0.0.5", 4000, "8.8.8.8", 53);
    for rw in [
        "IPAddrRewriter(pattern 21.0.0.1 - 0 0)",
        "IPAddrPairRewriter(pattern 21.0.0.1 - 0 0)",
    ] {
        let (_, after, counts) = error_through(rw, &original, "timeexceeded");
        assert_eq!(counts, [1, 0], "{rw}");
        assert_eq!(&after[16..20], &[10, 0, 0, 5], "{rw}");
        assert_quotes(check_error(&after), &original);
    }
}

#[test]
fn errors_about_unmapped_flows_and_other_icmp_go_to_output_1() {
    // The rewriter passes the packet unmapped: the error quotes a flow it
    // does not know.
    let original = packet(UDP, "10.0.0.5", 4000, "8.8.8.8", 53);
    let (before, after, counts) = error_through("UDPRewriter(pass 0)", &original, "timeexceeded");
    assert_eq!(counts, [0, 1]);
    assert!(after.is_empty());
    check_error(&before);
    // An echo is not an error; a UDP packet is not ICMP (dropped).
    let echo = packet(ICMP, "1.0.0.1", 5, "2.0.0.2", 0);
    let udp = packet(UDP, "1.0.0.1", 5, "2.0.0.2", 6);
    let config = format!(
        "rw :: UDPRewriter(pattern 21.0.0.1 1024-65535# - - 0 0);
         Idle -> rw -> Discard;
         InfiniteSource(DATA \\<{}>, LIMIT 1, STOP true) -> MarkIPHeader(0) -> irw :: ICMPRewriter(rw);
         InfiniteSource(DATA \\<{}>, LIMIT 1) -> MarkIPHeader(0) -> irw;
         irw[0] -> c0 :: Counter -> Discard;
         irw[1] -> c1 :: Counter -> Discard;",
        hex(&echo),
        hex(&udp)
    );
    let reads = common::run(&config, 1, &["c0.count", "c1.count"]).unwrap();
    assert_eq!((reads[0].trim(), reads[1].trim()), ("0", "1"));
}

#[test]
fn maps_must_name_rewriters() {
    let base = "Idle -> irw :: ICMPRewriter(MAPS) -> Discard; Idle -> q :: Queue -> Discard;";
    let err = common::run(&base.replace("MAPS", "q"), 1, &[]).unwrap_err();
    assert!(err.contains("q not an IP rewriter"), "{err}");
    let err = common::run(&base.replace("MAPS", "nosuch"), 1, &[]).unwrap_err();
    assert!(err.contains("nosuch not an IP rewriter"), "{err}");
    let err = common::run(&base.replace("MAPS", "\"\""), 1, &[]).unwrap_err();
    assert!(err.contains("no IP rewriters supplied"), "{err}");
    // A list of names, written bare as Click documents it or quoted:
    // the second name is checked as well as the first.
    for maps in ["rw q", "\"rw q\""] {
        let config = format!(
            "rw :: UDPRewriter(drop); Idle -> rw -> Discard; {}",
            base.replace("MAPS", maps)
        );
        let err = common::run(&config, 1, &[]).unwrap_err();
        assert!(err.contains("q not an IP rewriter"), "{maps}: {err}");
    }
    let two = "rw :: UDPRewriter(drop); ping :: ICMPPingRewriter(drop);
               Idle -> rw -> Discard; Idle -> ping -> Discard;
               Idle -> ICMPRewriter(rw ping) -> Discard;
               DriverManager(stop);";
    common::run(two, 1, &[]).expect("two rewriters named bare");
}

#[test]
fn cut_short_errors_are_rewritten_as_far_as_they_go_or_passed() {
    for proto in [UDP, TCP] {
        let original = packet(proto, "10.0.0.5", 4000, "8.8.8.8", 80);
        for n in [20, 27, 28, 47, 48, 49, 55, 56, 57, 63, 64, 65, 66, 67] {
            let config = format!(
                "InfiniteSource(DATA \\<{}>, LIMIT 1, STOP true) -> MarkIPHeader(0)
                   -> rw :: IPRewriter(pattern 21.0.0.1 1024-65535# - - 0 0)
                   -> ICMPError(19.19.19.19, timeexceeded) -> Truncate({n})
                   -> irw :: ICMPRewriter(rw) -> after :: Record -> c0 :: Counter -> Discard;
                 irw[1] -> c1 :: Counter -> Discard;",
                hex(&original)
            );
            let reads = common::run(&config, 1, &["after.last", "c0.count", "c1.count"]).unwrap();
            let counts = (reads[1].trim(), reads[2].trim());
            // An IP header, the ICMP header, a quoted IP header and 8 bytes.
            if n >= 56 {
                assert_eq!(counts, ("1", "0"), "{proto} cut to {n}");
                let after = unhex(reads[0].trim());
                assert_eq!(cksum(&after[..20]), 0);
                assert_eq!(cksum(&after[28..48]), 0);
                // A TCP checksum cut in half stays as the rewriter left
                // it (it cannot be updated); all else is restored.
                let quote = &after[28..];
                let whole = if proto == TCP && quote.len() == 37 {
                    36
                } else {
                    quote.len()
                };
                assert_eq!(&quote[..whole], &original[..whole], "{proto} cut to {n}");
            } else {
                assert_eq!(counts, ("0", "1"), "{proto} cut to {n}");
            }
        }
    }
}
