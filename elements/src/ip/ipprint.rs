//! IPPrint: writes a tcpdump-like line about each IP packet.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use click_engine::args::{Args, Flags};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads,
};

use crate::standard::{push_timestamp, Contents, Output};

/// `IPPrint([LABEL, *keywords* CONTENTS, PAYLOAD, MAXLENGTH, ID, TTL, TOS,
/// LENGTH, TIMESTAMP, AGGREGATE, PAINT, SWAP, OUTFILE, ACTIVE])`: passes
/// packets through, writing a line about each IP packet (one whose network
/// header is marked: after CheckIPHeader, MarkIPHeader or FromDump's
/// FORCE_IP) to standard error or OUTFILE, in Click's text, byte for byte:
///
/// ```text
/// LABEL: TIMESTAMP: [#AGG[.PAINT]: ][id ID ][ttl TTL ][tos TOS ][length LEN ]LINE[ (frag ID:LEN@OFF[+])]
/// ```
///
/// LINE is per protocol: TCP `src.sport > dst.dport: FLAGS
/// seq:end(seqlen,packetlen,iplen) ack N win N`, UDP `src.sport >
/// dst.dport: udp LEN`, ICMP `src > dst: icmp echo (ID, SEQ)`, `icmp
/// DST unreachable CODE ...`, `icmp TYPE CODE` (Click's names), others
/// `src > dst: ip-proto-N`; short headers say `truncated-tcp` and the
/// like. TIMESTAMP (default true) is Click's (six decimals, or nine),
/// AGGREGATE and PAINT print those annotations, ID/TTL/TOS/LENGTH those
/// header fields. CONTENTS (`NONE`, `HEX`, `ASCII`) or PAYLOAD (the
/// transport payload only) add up to MAXLENGTH bytes (default 1500; -1:
/// all) on the following lines. SWAP (default true) prints ICMP echo
/// identifiers and sequence numbers in network order. ACTIVE false
/// prints nothing. Bytes a packet does not have are never read: a
/// malformed packet gets a `truncated-` line.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `active` (read/write).
pub struct IPPrint {
    label: String,
    contents: Contents,
    payload: bool,
    maxlength: Option<usize>,
    id: bool,
    ttl: bool,
    tos: bool,
    length: bool,
    timestamp: bool,
    aggregate: bool,
    paint: bool,
    swap: bool,
    active: bool,
    outfile: Option<String>,
    output: Output,
    line: String,
}

impl ElementClass for IPPrint {
    const CLASS: &'static str = "IPPrint";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let label: String = args.read_p("LABEL")?.unwrap_or_default();
        let contents = args
            .read_with("CONTENTS", Flags::KEYWORD, Contents::parse)?
            .unwrap_or(Contents::None);
        let payload: Option<String> = args.read("PAYLOAD")?;
        let max: Option<i64> = args.read("MAXLENGTH")?;
        let max = max.or(args.read("NBYTES")?).unwrap_or(1500);
        let id = args.read("ID")?.unwrap_or(false);
        let timestamp = args.read("TIMESTAMP")?.unwrap_or(true);
        let paint = args.read("PAINT")?.unwrap_or(false);
        let tos = args.read("TOS")?.unwrap_or(false);
        let ttl = args.read("TTL")?.unwrap_or(false);
        let swap = args.read("SWAP")?.unwrap_or(true);
        let length = args.read("LENGTH")?.unwrap_or(false);
        let aggregate = args.read("AGGREGATE")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let outfile: Option<String> = args.read("OUTFILE")?;
        let _channel: Option<String> = args.read("CHANNEL")?;
        let payload = match payload.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("NO") | Some("FALSE") => Contents::None,
            Some("YES") | Some("TRUE") | Some("HEX") => Contents::Hex,
            Some("ASCII") => Contents::Ascii,
            Some(_) => {
                return Err(format!(
                    "bad payload value '{}'; should be 'false', 'hex', or 'ascii'",
                    payload.unwrap_or_default()
                ))
            }
        };
        if payload != Contents::None && contents != Contents::None {
            return Err("specify at most one of PAYLOAD and CONTENTS".into());
        }
        let (contents, payload) = if payload != Contents::None {
            (payload, true)
        } else {
            (contents, false)
        };
        Ok(IPPrint {
            line: String::with_capacity(label.len() + 200),
            label,
            contents,
            payload,
            maxlength: usize::try_from(max).ok(),
            id,
            ttl,
            tos,
            length,
            timestamp,
            aggregate,
            paint,
            swap,
            active,
            outfile,
            output: Output::Stderr,
        })
    }
}

/// Bytes of a header, read with bounds checks: a byte the packet does not
/// have reads as 0 (callers check lengths first, as Click does).
struct View<'a>(&'a [u8]);

impl View<'_> {
    fn u8(&self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }
    fn u16(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.u8(i), self.u8(i + 1)])
    }
    fn u32(&self, i: usize) -> u32 {
        u32::from_be_bytes([self.u8(i), self.u8(i + 1), self.u8(i + 2), self.u8(i + 3)])
    }
    fn ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(self.u32(i))
    }
}

/// Click's names of IP protocols (`ipnameinfo.cc`).
pub(crate) fn ip_proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        132 => "sctp",
        _ => return None,
    })
}

/// The IP protocol Click calls `name`.
pub(crate) fn ip_proto_by_name(name: &str) -> Option<u8> {
    (0..=255u8).find(|&p| ip_proto_name(p) == Some(name))
}

/// Click's names of ICMP types.
pub(crate) fn icmp_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "echo-reply",
        3 => "unreachable",
        4 => "sourcequench",
        5 => "redirect",
        8 => "echo",
        9 => "routeradvert",
        10 => "routersolicit",
        11 => "timeexceeded",
        12 => "parameterproblem",
        13 => "timestamp",
        14 => "timestamp-reply",
        15 => "inforeq",
        16 => "inforeq-reply",
        17 => "maskreq",
        18 => "maskreq-reply",
        _ => return None,
    })
}

/// Click's names of ICMP codes, by type.
pub(crate) fn icmp_code_name(t: u8, code: u8) -> Option<&'static str> {
    Some(match (t, code) {
        (3, 0) => "net",
        (3, 1) => "host",
        (3, 2) => "protocol",
        (3, 3) => "port",
        (3, 4) => "needfrag",
        (3, 5) => "srcroutefail",
        (3, 6) => "netunknown",
        (3, 7) => "hostunknown",
        (3, 8) => "isolated",
        (3, 9) => "netprohibited",
        (3, 10) => "hostprohibited",
        (3, 11) => "tosnet",
        (3, 12) => "toshost",
        (3, 13) => "filterprohibited",
        (3, 14) => "hostprecedence",
        (3, 15) => "precedencecutoff",
        (5, 0) => "net",
        (5, 1) => "host",
        (5, 2) => "tosnet",
        (5, 3) => "toshost",
        (11, 0) => "transit",
        (11, 1) => "reassembly",
        (12, 0) => "erroratptr",
        (12, 1) => "missingopt",
        (12, 2) => "length",
        _ => return None,
    })
}

const IP_MF: u16 = 0x2000;
const IP_OFFMASK: u16 = 0x1fff;

impl IPPrint {
    fn tcp_line(line: &mut String, ip: &View<'_>, tcp: &View<'_>, tlen: isize, plen: usize) {
        let first = ip.u16(6) & IP_OFFMASK == 0;
        if tlen < 4 || !first {
            let _ = write!(line, "{} > {}", ip.ip(12), ip.ip(16));
            line.push_str(if first { ": truncated-tcp" } else { ": tcp" });
            return;
        }
        let _ = write!(
            line,
            "{}.{} > {}.{}: ",
            ip.ip(12),
            tcp.u16(0),
            ip.ip(16),
            tcp.u16(2)
        );
        if tlen < 14 {
            line.push_str("truncated-tcp");
            return;
        }
        let ip_len = i64::from(ip.u16(2));
        let flags = tcp.u8(13);
        let mut seqlen = ip_len - i64::from(ip.u8(0) & 0x0f) * 4 - i64::from(tcp.u8(12) >> 4) * 4;
        if flags & 0x02 != 0 {
            line.push('S');
            seqlen += 1;
        }
        if flags & 0x01 != 0 {
            line.push('F');
            seqlen += 1;
        }
        if flags & 0x04 != 0 {
            line.push('R');
        }
        if flags & 0x08 != 0 {
            line.push('P');
        }
        if flags & 0x0f == 0 {
            line.push('.');
        }
        // Click's int arithmetic: seqlen is an int, the end a uint32.
        let seqlen = seqlen as i32;
        let seq = tcp.u32(4);
        let _ = write!(
            line,
            " {seq}:{}({seqlen},{plen},{ip_len})",
            seq.wrapping_add(seqlen as u32)
        );
        if flags & 0x10 != 0 {
            let _ = write!(line, " ack {}", tcp.u32(8));
        }
        if tlen < 16 {
            line.push_str("truncated-tcp");
            return;
        }
        let _ = write!(line, " win {}", tcp.u16(14));
    }

    fn udp_line(line: &mut String, ip: &View<'_>, udp: &View<'_>, tlen: isize) {
        let first = ip.u16(6) & IP_OFFMASK == 0;
        if tlen < 4 || !first {
            let _ = write!(line, "{} > {}", ip.ip(12), ip.ip(16));
            line.push_str(if first { ": truncated-udp" } else { ": udp" });
            return;
        }
        let _ = write!(
            line,
            "{}.{} > {}.{}: ",
            ip.ip(12),
            udp.u16(0),
            ip.ip(16),
            udp.u16(2)
        );
        if tlen < 8 {
            line.push_str("truncated-udp");
            return;
        }
        let _ = write!(line, "udp {}", udp.u16(4));
    }

    fn icmp_line(&self, line: &mut String, ip: &View<'_>, icmp: &View<'_>, tlen: isize) {
        let _ = write!(line, "{} > {}: ", ip.ip(12), ip.ip(16));
        if ip.u16(6) & IP_OFFMASK != 0 {
            line.push_str("icmp");
            return;
        }
        if tlen < 2 {
            line.push_str("truncated-icmp");
            return;
        }
        let (t, code) = (icmp.u8(0), icmp.u8(1));
        match t {
            0 | 8 => {
                line.push_str(if t == 0 {
                    "icmp echo-reply "
                } else {
                    "icmp echo "
                });
                if tlen < 8 {
                    line.push_str("truncated-icmp");
                    return;
                }
                // Click reads the two fields as host-order shorts and
                // swaps them with SWAP (the default): network order.
                let (id, seq) = (icmp.u16(4), icmp.u16(6));
                let (id, seq) = if self.swap {
                    (id, seq)
                } else {
                    (id.swap_bytes(), seq.swap_bytes())
                };
                let _ = write!(line, "({id}, {seq})");
            }
            3 => {
                let code_name = icmp_code_name(3, code);
                let eiph_len = tlen - 8;
                if eiph_len < 20 {
                    line.push_str("icmp unreachable ");
                    match code_name {
                        Some(n) => line.push_str(n),
                        None => {
                            let _ = write!(line, "code {code}");
                        }
                    }
                    line.push_str(" truncated-icmp");
                    return;
                }
                let eip = View(icmp.0.get(8..).unwrap_or(&[]));
                let ehl = usize::from(eip.u8(0) & 0x0f) * 4;
                let eudp_len = eiph_len - ehl as isize;
                let eudp = View(eip.0.get(ehl..).unwrap_or(&[]));
                let _ = write!(line, "icmp {} unreachable ", eip.ip(16));
                match code_name {
                    Some(n) => line.push_str(n),
                    None => {
                        let _ = write!(line, "code {code}");
                    }
                }
                let proto = eip.u8(9);
                match code {
                    2 => match ip_proto_name(proto) {
                        Some(n) => {
                            let _ = write!(line, " {n}");
                        }
                        None => {
                            let _ = write!(line, " {proto}");
                        }
                    },
                    3 => {
                        match ip_proto_name(proto) {
                            Some(n) => {
                                let _ = write!(line, " {n}");
                            }
                            None => {
                                let _ = write!(line, " protocol {proto}");
                            }
                        }
                        if eudp_len < 4 {
                            line.push_str("truncated-icmp");
                            return;
                        }
                        let _ = write!(line, "/{}", eudp.u16(2));
                    }
                    4 => {
                        let mtu = icmp.u16(6);
                        if mtu != 0 {
                            let _ = write!(line, " (mtu {mtu})");
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                line.push_str("icmp ");
                match icmp_type_name(t) {
                    Some(n) => line.push_str(n),
                    None => {
                        let _ = write!(line, "type {t}");
                    }
                }
                match icmp_code_name(t, code) {
                    Some(n) => {
                        let _ = write!(line, " {n}");
                    }
                    None if code != 0 => {
                        let _ = write!(line, " code {code}");
                    }
                    None => {}
                }
            }
        }
    }

    /// Formats the line for `p` into `self.line`; false if `p` has no
    /// network header (nothing is printed then).
    fn format(&mut self, p: &Packet) -> bool {
        let Some(net) = p.network_header() else {
            return false;
        };
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        if !self.label.is_empty() {
            line.push_str(&self.label);
            line.push_str(": ");
        }
        if self.timestamp {
            push_timestamp(&mut line, p.anno().timestamp());
            line.push_str(": ");
        }
        if self.aggregate {
            let _ = write!(line, "#{}", p.anno().aggregate());
        }
        if self.paint {
            line.push_str(if self.aggregate { "." } else { "paint " });
            let _ = write!(line, "{}", p.anno().paint());
        }
        if self.aggregate || self.paint {
            line.push_str(": ");
        }
        if net.len() < 20 {
            line.push_str("truncated-ip");
        } else {
            self.ip_line(&mut line, p, net);
        }
        self.line = line;
        true
    }

    fn ip_line(&self, line: &mut String, p: &Packet, net: &[u8]) {
        let ip = View(net);
        let ip_len = ip.u16(2);
        let payload_len = ip_len as isize - isize::from(ip.u8(0) & 0x0f) * 4;
        let (th, tlen) = match (p.transport_header_offset(), p.network_header_offset()) {
            (Some(t), Some(n)) => {
                let rel = (t - n).max(0) as usize;
                (net.get(rel..).unwrap_or(&[]), net.len() as isize - (t - n))
            }
            _ => (&[][..], 0),
        };
        let tlen = tlen.min(payload_len);
        let tr = View(th);
        if self.id {
            let _ = write!(line, "id {} ", ip.u16(4));
        }
        if self.ttl {
            let _ = write!(line, "ttl {} ", ip.u8(8));
        }
        if self.tos {
            let _ = write!(line, "tos {} ", ip.u8(1));
        }
        if self.length {
            let _ = write!(line, "length {ip_len} ");
        }
        let proto = ip.u8(9);
        match proto {
            6 => Self::tcp_line(line, &ip, &tr, tlen, p.len()),
            17 => Self::udp_line(line, &ip, &tr, tlen),
            1 => self.icmp_line(line, &ip, &tr, tlen),
            _ => {
                let _ = write!(line, "{} > {}: ip-proto-{proto}", ip.ip(12), ip.ip(16));
            }
        }
        let off = ip.u16(6);
        if off & (IP_MF | IP_OFFMASK) != 0 {
            let _ = write!(
                line,
                " (frag {}:{payload_len}@{}{})",
                ip.u16(4),
                u32::from(off & IP_OFFMASK) << 3,
                if off & IP_MF != 0 { "+" } else { "" }
            );
        }
        if self.contents == Contents::None {
            return;
        }
        // The bytes shown: the packet, or the transport payload.
        let data: &[u8] = if self.payload {
            let first = off & IP_OFFMASK == 0;
            let skip = match proto {
                6 if first => usize::from(tr.u8(12) >> 4) * 4,
                17 if first => 8,
                _ => 0,
            };
            th.get(skip..).unwrap_or(&[])
        } else {
            p.data()
        };
        let bytes = self.maxlength.map_or(data.len(), |m| m.min(data.len()));
        let data = &data[..bytes];
        match self.contents {
            Contents::Hex => {
                for (i, b) in data.iter().enumerate() {
                    if i % 24 == 0 {
                        line.push_str("\n  ");
                    } else if i % 4 == 0 {
                        line.push(' ');
                    }
                    let _ = write!(line, "{b:02x}");
                }
            }
            Contents::Ascii => {
                for (i, &b) in data.iter().enumerate() {
                    if i % 48 == 0 {
                        line.push_str("\n  ");
                    } else if i % 8 == 0 {
                        line.push(' ');
                    }
                    line.push(if (32..127).contains(&b) {
                        b as char
                    } else {
                        '.'
                    });
                }
            }
            Contents::None => {}
        }
    }
}

impl PacketElement for IPPrint {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.output = Output::open(self.outfile.as_deref(), ctx)?;
        Ok(())
    }

    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if self.active && self.format(packet) {
            self.output.line(&self.line);
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("active")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "active").then(|| self.active.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => {
                self.active = Args::new(value).read_mp("ACTIVE")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }

    fn cleanup(&mut self) {
        self.output.flush();
    }
}
