//! Click's IP summary dump format (`ipsumdumpinfo.cc` and the
//! `ipsumdump_*.cc` field tables): one line of text per packet, a field
//! per column, `-` for a field the packet does not have.
//!
//! [`Field`] names a column; [`Field::find`] resolves Click's names and
//! synonyms (`src` is `ip_src`, `ts` is `timestamp`, ...). Writing
//! ([`Desc`]) reads the fields out of a packet as Click's `FieldWriter`s
//! do; reading ([`Builder`]) builds a packet from the fields of a line as
//! Click's `FieldReader`s do, in Click's field order.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use click_engine::packet::Timestamp;
use click_engine::Packet;

use crate::ip::{icmp_code_name, icmp_type_name};
use crate::standard::push_timestamp;

/// The format's version, as written in the banner.
pub(crate) const MAJOR_VERSION: u32 = 1;
pub(crate) const MINOR_VERSION: u32 = 3;

/// One field (column) of a summary dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Timestamp,
    NTimestamp,
    TsSec,
    TsUsec,
    TsUsec1,
    FirstTimestamp,
    FirstNTimestamp,
    Count,
    Link,
    Paint,
    Direction,
    Aggregate,
    WireLen,
    IpSrc,
    IpDst,
    IpTos,
    IpDscp,
    IpEcn,
    IpTtl,
    IpFrag,
    IpFragoff,
    IpId,
    IpSum,
    IpProto,
    IpHl,
    IpLen,
    IpCaptureLen,
    IpOpt,
    Sport,
    Dport,
    TcpSeq,
    TcpAck,
    TcpOff,
    TcpFlags,
    TcpWindow,
    TcpUrp,
    TcpOpt,
    TcpNtopt,
    TcpSack,
    UdpLen,
    IcmpType,
    IcmpCode,
    IcmpTypeName,
    IcmpCodeName,
    IcmpFlowid,
    IcmpSeq,
    IcmpNextmtu,
    PayloadLen,
    Payload,
    PayloadMd5,
    PayloadMd5Hex,
    EthSrc,
    EthDst,
    EthType,
    /// An unknown field read from a file: ignored.
    None,
}

use Field as F;

const NAMES: &[(&str, Field)] = &[
    ("timestamp", F::Timestamp),
    ("ntimestamp", F::NTimestamp),
    ("ts_sec", F::TsSec),
    ("ts_usec", F::TsUsec),
    ("ts_usec1", F::TsUsec1),
    ("first_timestamp", F::FirstTimestamp),
    ("first_ntimestamp", F::FirstNTimestamp),
    ("count", F::Count),
    ("link", F::Link),
    ("paint", F::Paint),
    ("direction", F::Direction),
    ("aggregate", F::Aggregate),
    ("wire_len", F::WireLen),
    ("ip_src", F::IpSrc),
    ("ip_dst", F::IpDst),
    ("ip_tos", F::IpTos),
    ("ip_dscp", F::IpDscp),
    ("ip_ecn", F::IpEcn),
    ("ip_ttl", F::IpTtl),
    ("ip_frag", F::IpFrag),
    ("ip_fragoff", F::IpFragoff),
    ("ip_id", F::IpId),
    ("ip_sum", F::IpSum),
    ("ip_proto", F::IpProto),
    ("ip_hl", F::IpHl),
    ("ip_len", F::IpLen),
    ("ip_capture_len", F::IpCaptureLen),
    ("ip_opt", F::IpOpt),
    ("sport", F::Sport),
    ("dport", F::Dport),
    ("tcp_seq", F::TcpSeq),
    ("tcp_ack", F::TcpAck),
    ("tcp_off", F::TcpOff),
    ("tcp_flags", F::TcpFlags),
    ("tcp_window", F::TcpWindow),
    ("tcp_urp", F::TcpUrp),
    ("tcp_opt", F::TcpOpt),
    ("tcp_ntopt", F::TcpNtopt),
    ("tcp_sack", F::TcpSack),
    ("udp_len", F::UdpLen),
    ("icmp_type", F::IcmpType),
    ("icmp_code", F::IcmpCode),
    ("icmp_type_name", F::IcmpTypeName),
    ("icmp_code_name", F::IcmpCodeName),
    ("icmp_flowid", F::IcmpFlowid),
    ("icmp_seq", F::IcmpSeq),
    ("icmp_nextmtu", F::IcmpNextmtu),
    ("payload_len", F::PayloadLen),
    ("payload", F::Payload),
    ("payload_md5", F::PayloadMd5),
    ("payload_md5_hex", F::PayloadMd5Hex),
    ("eth_src", F::EthSrc),
    ("eth_dst", F::EthDst),
    ("eth_type", F::EthType),
];

const SYNONYMS: &[(&str, &str)] = &[
    ("utimestamp", "timestamp"),
    ("ts", "utimestamp"),
    ("sec", "ts_sec"),
    ("usec", "ts_usec"),
    ("usec1", "ts_usec1"),
    ("first_utimestamp", "first_timestamp"),
    ("first_ts", "first_utimestamp"),
    ("pkt_count", "count"),
    ("packet_count", "count"),
    ("agg", "aggregate"),
    ("wire_length", "wire_len"),
    ("length", "ip_len"),
    ("ip_p", "ip_proto"),
    ("tcp_seqno", "tcp_seq"),
    ("tcp_ackno", "tcp_ack"),
    ("tcp_win", "tcp_window"),
    ("payload_length", "payload_len"),
    ("ether_src", "eth_src"),
    ("ether_dst", "eth_dst"),
    ("ether_type", "eth_type"),
];

/// Click's field orders: fields are injected by order, then by column.
const ORDER_ANNO: i32 = 100;
const ORDER_LINK: i32 = 200;
const ORDER_NET: i32 = 300;
const ORDER_TRANSP: i32 = 400;
const ORDER_PAYLOAD: i32 = 500;

const IP_MF: u16 = 0x2000;
const IP_DF: u16 = 0x4000;
const IP_OFFMASK: u16 = 0x1fff;

/// Click's TCP flag letters, bit 0 first.
const TCP_FLAGS_WORD: &[u8; 9] = b"FSRPAUECN";

/// The bit of a TCP flag letter (Click's `tcp_flag_mapping`).
fn tcp_flag_bit(c: u8) -> Option<u32> {
    Some(match c {
        b'F' => 0,
        b'S' => 1,
        b'R' => 2,
        b'P' => 3,
        b'A' => 4,
        b'U' => 5,
        b'E' | b'X' => 6,
        b'C' | b'W' | b'Y' => 7,
        b'N' => 8,
        _ => return None,
    })
}

impl Field {
    /// The field Click calls `name` (with its synonyms and shorthands:
    /// `src` for `ip_src`, `a b` for `a_b`).
    pub(crate) fn find(name: &str) -> Option<Field> {
        if let Some((_, s)) = SYNONYMS.iter().find(|(n, _)| *n == name) {
            return Field::find(s);
        }
        if let Some((_, f)) = NAMES.iter().find(|(n, _)| *n == name) {
            return Some(*f);
        }
        if let Some(i) = name.find(' ') {
            return Field::find(&format!("{}_{}", &name[..i], &name[i + 1..]));
        }
        if !name.contains('_') {
            return Field::find(&format!("ip_{name}"));
        }
        None
    }

    /// Click's name of the field.
    pub(crate) fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("none", |(n, _)| n)
    }

    fn order(self) -> i32 {
        match self {
            F::Timestamp
            | F::NTimestamp
            | F::TsSec
            | F::TsUsec
            | F::TsUsec1
            | F::FirstTimestamp
            | F::FirstNTimestamp
            | F::Count
            | F::Link
            | F::Paint
            | F::Direction
            | F::Aggregate
            | F::WireLen
            | F::None => ORDER_ANNO,
            F::EthSrc | F::EthDst | F::EthType => ORDER_LINK,
            F::IpFrag => ORDER_NET - 2,
            F::IpFragoff | F::IpHl => ORDER_NET - 1,
            F::IpSum => ORDER_NET + 2,
            F::IpLen => ORDER_NET + 1,
            F::IpCaptureLen => ORDER_PAYLOAD + 2,
            F::IpSrc
            | F::IpDst
            | F::IpTos
            | F::IpDscp
            | F::IpEcn
            | F::IpTtl
            | F::IpId
            | F::IpProto
            | F::IpOpt => ORDER_NET,
            F::TcpOff => ORDER_TRANSP - 1,
            F::TcpOpt => ORDER_TRANSP + 3,
            F::TcpNtopt => ORDER_TRANSP + 2,
            F::TcpSack => ORDER_TRANSP + 1,
            F::IcmpCode | F::IcmpCodeName => ORDER_TRANSP + 1,
            F::IcmpFlowid | F::IcmpSeq | F::IcmpNextmtu => ORDER_TRANSP + 2,
            F::Sport
            | F::Dport
            | F::TcpSeq
            | F::TcpAck
            | F::TcpFlags
            | F::TcpWindow
            | F::TcpUrp
            | F::UdpLen
            | F::IcmpType
            | F::IcmpTypeName => ORDER_TRANSP,
            F::PayloadLen => ORDER_PAYLOAD + 1,
            F::Payload | F::PayloadMd5 | F::PayloadMd5Hex => ORDER_PAYLOAD,
        }
    }
}

/// Sorts column indexes into Click's injection order (by field order,
/// then by column).
pub(crate) fn injection_order(fields: &[Field]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by_key(|&i| (fields[i].order(), i));
    order
}

/// Appends `data` quoted as Click's `cp_quote` does.
pub(crate) fn push_quoted(out: &mut String, data: &[u8]) {
    out.push('"');
    for &b in data {
        match b {
            b'\\' | b'"' | b'$' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            32..=126 => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
}

fn push_ether(out: &mut String, a: &[u8]) {
    for (i, b) in a.iter().take(6).enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{b:02X}");
    }
}

fn be16(b: &[u8], i: usize) -> u32 {
    match b.get(i..i + 2) {
        Some(s) => u32::from(u16::from_be_bytes([s[0], s[1]])),
        None => 0,
    }
}

fn be32(b: &[u8], i: usize) -> u32 {
    match b.get(i..i + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

/// A packet seen by ToIPSummaryDump (Click's `PacketDesc`, after
/// `ip_prepare`): its headers as far as they are valid.
pub(crate) struct Desc<'a> {
    data: &'a [u8],
    /// Network header offset in `data`, if it is a valid IP header.
    ip: Option<usize>,
    /// The network header is marked (valid or not).
    marked_ip: bool,
    /// Transport header offset in `data` (as marked).
    th: Option<usize>,
    tcp: bool,
    udp: bool,
    icmp: bool,
    /// Bytes past the IP length at the end.
    tailpad: usize,
    /// The packet's extra length annotation after `ip_prepare`.
    pub extra_length: u32,
    force_extra_length: bool,
    /// The first `!bad` line, when BAD_PACKETS asks for them.
    pub bad: Option<String>,
    want_bad: bool,
    p: &'a Packet,
}

impl<'a> Desc<'a> {
    /// Click's `ip_prepare`. Returns the description and the new extra
    /// length annotation (Click changes it on the packet).
    pub(crate) fn new(
        p: &'a Packet,
        careful_trunc: bool,
        force_extra_length: bool,
        want_bad: bool,
    ) -> Desc<'a> {
        let data = p.data();
        let nh = p
            .network_header_offset()
            .filter(|&o| o >= 0)
            .map(|o| o as usize);
        let th = p
            .transport_header_offset()
            .filter(|&o| o >= 0)
            .map(|o| o as usize);
        let mut d = Desc {
            data,
            ip: nh,
            marked_ip: nh.is_some(),
            th,
            tcp: th.is_some(),
            udp: th.is_some(),
            icmp: th.is_some(),
            tailpad: 0,
            extra_length: p.anno().extra_length(),
            force_extra_length,
            bad: None,
            want_bad,
            p,
        };
        if let Some(o) = d.ip {
            let nl = data.len().saturating_sub(o);
            let h = &data[o.min(data.len())..];
            let (v, hl) = (
                h.first().map_or(0, |b| b >> 4),
                h.first().map_or(0, |b| b & 15),
            );
            let ip_len = be16(h, 2) as usize;
            if nl < 4 {
                d.set_bad("truncated IP header".into());
                d.ip = None;
            } else if v != 4 {
                d.set_bad(format!("IP version {v}"));
                d.ip = None;
            } else if hl < 5 {
                d.set_bad(format!("IP header length {hl}"));
                d.ip = None;
            } else if ip_len < usize::from(hl) * 4 {
                d.set_bad(format!("IP length {ip_len}"));
                d.ip = None;
            } else if nl > ip_len {
                d.extra_length = d.extra_length.saturating_add((nl - ip_len) as u32);
                d.tailpad = nl - ip_len;
            } else if careful_trunc && (nl as u64 + u64::from(d.extra_length)) < ip_len as u64 {
                d.set_bad(format!(
                    "truncated IP missing {}",
                    ip_len as i64 - nl as i64 - i64::from(d.extra_length)
                ));
            }
        }
        // Transport headers: only on a first fragment of their protocol.
        let hdr_ok = |d: &Desc<'_>, proto: u8| match d.ip {
            Some(o) => {
                let h = &d.data[o..];
                d.network_length() > usize::from(h[0] & 15) * 4
                    && h.get(9) == Some(&proto)
                    && be16(h, 6) as u16 & IP_OFFMASK == 0
            }
            None => false,
        };
        d.tcp = d.tcp && hdr_ok(&d, 6);
        if d.tcp && d.transport_length() > 12 {
            let off = d.th_bytes().get(12).map_or(0, |b| b >> 4);
            if off < 5 {
                d.set_bad(format!("TCP header length {off}"));
                d.tcp = false;
            }
        }
        d.udp = d.udp && hdr_ok(&d, 17);
        d.icmp = d.icmp && hdr_ok(&d, 1);
        if d.ip.is_some() && d.extra_length > 0 {
            let full = d.network_length() as u64 + u64::from(d.extra_length);
            let ip_len = be16(d.iph(), 2);
            d.extra_length = if ip_len != 0xffff || full <= 0xffff {
                0
            } else {
                (full - 0xffff) as u32
            };
        }
        d
    }

    fn set_bad(&mut self, msg: String) {
        if self.want_bad && self.bad.is_none() {
            self.bad = Some(format!("!bad {msg}\n"));
        }
    }

    fn iph(&self) -> &[u8] {
        self.ip.map_or(&[][..], |o| &self.data[o..])
    }

    fn th_bytes(&self) -> &[u8] {
        self.th.and_then(|o| self.data.get(o..)).unwrap_or(&[])
    }

    fn length(&self) -> usize {
        self.data.len() - self.tailpad
    }

    fn network_length(&self) -> usize {
        match (self.ip, self.marked_ip) {
            (Some(o), _) => self.data.len().saturating_sub(o + self.tailpad),
            _ => 0,
        }
    }

    /// Click's `transport_length() - tailpad` (may be negative).
    fn transport_length(&self) -> i64 {
        match self.th {
            Some(o) => self.data.len() as i64 - o as i64 - self.tailpad as i64,
            None => -(self.tailpad as i64),
        }
    }

    /// Click's `field_missing` with BAD_PACKETS: notes why a field is
    /// missing. Returns `None` (the field is `-`).
    fn missing(&mut self, proto: i32, l: i64) -> Option<Val> {
        if !self.want_bad || self.bad.is_some() {
            return None;
        }
        let name = match proto {
            6 => "TCP",
            17 => "UDP",
            1 => "ICMP",
            256 => "TCP/UDP",
            _ => "?",
        };
        let msg = if proto == MISSING_ETHERNET {
            "bad Ethernet header".to_string()
        } else if self.ip.is_none() {
            "bad no IP header".to_string()
        } else if proto == 0 {
            "bad truncated IP header capture".to_string()
        } else {
            let p = self.iph().get(9).copied().unwrap_or(0);
            let wrong = (proto > 0 && proto < 256 && i32::from(p) != proto)
                || (proto == 256 && p != 6 && p != 17);
            if self.network_length() > 9 && wrong {
                return None;
            }
            if be16(self.iph(), 6) as u16 & IP_OFFMASK != 0 {
                format!("bad fragmented {name} header")
            } else if self.transport_length() + i64::from(self.p.anno().extra_length()) >= l {
                format!("bad truncated {name} header capture")
            } else {
                format!("bad truncated {name} header")
            }
        };
        self.bad = Some(format!("!{msg}\n"));
        None
    }

    /// The value of `field`, or `None` when the packet lacks it.
    pub(crate) fn extract(&mut self, field: Field) -> Option<Val> {
        let anno = *self.p.anno();
        let ts = |t: Timestamp| Val::Ts(t.as_nanos());
        let nl = self.network_length() as i64;
        macro_rules! ip_check {
            ($l:expr) => {
                if self.ip.is_none() || nl < $l {
                    return self.missing(MISSING_IP, $l);
                }
            };
        }
        let tl = self.transport_length();
        Some(match field {
            F::Timestamp | F::NTimestamp => ts(anno.timestamp()),
            F::TsSec => Val::N(anno.timestamp().as_nanos() / 1_000_000_000),
            F::TsUsec => Val::N(anno.timestamp().as_nanos() % 1_000_000_000 / 1000),
            F::TsUsec1 => {
                // Click stores the halves the wrong way round for text.
                let v = anno.timestamp().as_nanos() / 1000;
                Val::N(((v & 0xffff_ffff) << 32) | (v >> 32))
            }
            F::FirstTimestamp | F::FirstNTimestamp => ts(anno.first_timestamp()),
            F::Count => Val::N(1 + u64::from(anno.extra_packets())),
            F::Link | F::Paint => Val::N(u64::from(anno.paint())),
            F::Direction => Val::Dir(anno.paint()),
            F::Aggregate => Val::N(u64::from(anno.aggregate())),
            F::WireLen => Val::N(self.data.len() as u64),
            F::IpSrc => {
                ip_check!(16);
                Val::Ip(Ipv4Addr::from(be32(self.iph(), 12)))
            }
            F::IpDst => {
                ip_check!(20);
                Val::Ip(Ipv4Addr::from(be32(self.iph(), 16)))
            }
            F::IpTos => {
                ip_check!(2);
                Val::N(u64::from(self.iph()[1]))
            }
            F::IpDscp => {
                ip_check!(2);
                Val::N(u64::from(self.iph()[1] >> 2))
            }
            F::IpEcn => {
                ip_check!(2);
                Val::Ecn(self.iph()[1] & 3)
            }
            F::IpTtl => {
                ip_check!(9);
                Val::N(u64::from(self.iph()[8]))
            }
            F::IpFrag => {
                ip_check!(8);
                let off = be16(self.iph(), 6) as u16;
                Val::Char(if off & (IP_MF | IP_OFFMASK) != 0 {
                    if off & IP_OFFMASK == 0 {
                        'F'
                    } else {
                        'f'
                    }
                } else if off & IP_DF != 0 {
                    '!'
                } else {
                    '.'
                })
            }
            F::IpFragoff => {
                ip_check!(8);
                Val::Fragoff(be16(self.iph(), 6) as u16)
            }
            F::IpId => {
                ip_check!(6);
                Val::N(u64::from(be16(self.iph(), 4)))
            }
            F::IpSum => {
                ip_check!(12);
                Val::N(u64::from(be16(self.iph(), 10)))
            }
            F::IpProto => {
                ip_check!(10);
                Val::Proto(self.iph()[9])
            }
            F::IpHl => {
                ip_check!(1);
                Val::N(u64::from(self.iph()[0] & 15) * 4)
            }
            F::IpLen => {
                let mut v = if self.ip.is_some() {
                    u64::from(be16(self.iph(), 2))
                } else {
                    self.length() as u64
                };
                if self.force_extra_length {
                    v += u64::from(self.extra_length);
                }
                Val::N(v & 0xffff_ffff)
            }
            F::IpCaptureLen => {
                let allow = if self.ip.is_some() {
                    self.network_length()
                } else {
                    self.length()
                } as u64;
                let len = if self.ip.is_some() {
                    u64::from(be16(self.iph(), 2))
                } else {
                    allow
                };
                Val::N(len.min(allow))
            }
            F::IpOpt => {
                let hl = self.iph().first().map_or(5, |b| usize::from(b & 15));
                if self.ip.is_none() || (hl > 5 && (nl as usize) < hl * 4) {
                    let l = if self.ip.is_some() { hl as i64 * 4 } else { 20 };
                    return self.missing(MISSING_IP, l);
                }
                let n = self.ip.unwrap_or(0);
                Val::Opts(n + 20, n + hl.max(5) * 4, OptKind::Ip)
            }
            F::TcpOpt | F::TcpNtopt | F::TcpSack => {
                if !self.tcp || tl < 13 {
                    return self.missing(6, tl + 1);
                }
                let t = self.th.unwrap_or(0);
                let off = usize::from(self.th_bytes()[12] >> 4);
                let kind = match field {
                    F::TcpOpt => OptKind::Tcp,
                    F::TcpNtopt => OptKind::TcpNoTimestamp,
                    _ => OptKind::Sack,
                };
                let only_ts =
                    off == 8 && tl >= 24 && self.th_bytes().get(20..24) == Some(&[1, 1, 8, 10][..]);
                if off <= 5 || (field != F::TcpOpt && only_ts) {
                    Val::Opts(t, t, kind)
                } else if tl < off as i64 * 4 {
                    return self.missing(6, tl + 1);
                } else {
                    Val::Opts(t + 20, t + off * 4, kind)
                }
            }
            F::Sport | F::Dport => {
                let dport = field == F::Dport;
                let need = if dport { 4 } else { 2 };
                let ok = self.ip.is_some() && {
                    let h = self.iph();
                    nl > i64::from(h[0] & 15) * 4
                        && be16(h, 6) as u16 & IP_OFFMASK == 0
                        && matches!(h[9], 6 | 17 | 33 | 136)
                        && tl >= need
                };
                if !ok {
                    return self.missing(256, need);
                }
                Val::N(u64::from(be16(self.th_bytes(), if dport { 2 } else { 0 })))
            }
            F::TcpSeq | F::TcpAck | F::TcpFlags | F::TcpOff | F::TcpWindow | F::TcpUrp => {
                let (need, at) = match field {
                    F::TcpSeq => (8, 4),
                    F::TcpAck => (12, 8),
                    F::TcpFlags => (14, 13),
                    F::TcpOff => (13, 12),
                    F::TcpWindow => (16, 14),
                    _ => (20, 18),
                };
                if !self.tcp || tl < need {
                    return self.missing(6, need);
                }
                let t = self.th_bytes();
                match field {
                    F::TcpSeq | F::TcpAck => Val::N(u64::from(be32(t, at))),
                    F::TcpFlags => Val::Flags(u32::from(t[13]) | (u32::from(t[12] & 15) << 8)),
                    F::TcpOff => Val::N(u64::from(t[12] >> 4) * 4),
                    _ => Val::N(u64::from(be16(t, at))),
                }
            }
            F::UdpLen => {
                if !self.udp || tl < 6 {
                    return self.missing(17, 6);
                }
                Val::N(u64::from(be16(self.th_bytes(), 4)))
            }
            F::IcmpType | F::IcmpTypeName | F::IcmpCode | F::IcmpCodeName => {
                let (need, at) = match field {
                    F::IcmpType | F::IcmpTypeName => (1, 0),
                    _ => (2, 1),
                };
                if !self.icmp || tl < need {
                    return self.missing(1, need);
                }
                let v = self.th_bytes()[at];
                match field {
                    F::IcmpTypeName => Val::IcmpType(v),
                    F::IcmpCodeName => Val::IcmpCode(self.th_bytes()[0], v),
                    _ => Val::N(u64::from(v)),
                }
            }
            F::IcmpFlowid | F::IcmpSeq | F::IcmpNextmtu => {
                let first = if field == F::IcmpNextmtu { 2 } else { 1 };
                if !self.icmp || tl < first {
                    return self.missing(1, first);
                }
                let t = self.th_bytes();
                let (ty, code) = (t[0], t.get(1).copied().unwrap_or(0));
                let (need, at) = match field {
                    F::IcmpFlowid => (6, 4),
                    F::IcmpSeq => (8, 6),
                    _ => (8, 6),
                };
                let applies = if field == F::IcmpNextmtu {
                    ty == 3 && code == 4
                } else {
                    matches!(ty, 0 | 8 | 13 | 14 | 15 | 16)
                };
                if !applies {
                    return None;
                }
                if tl < need {
                    return self.missing(1, need);
                }
                Val::N(u64::from(be16(t, at)))
            }
            F::PayloadLen | F::Payload | F::PayloadMd5 | F::PayloadMd5Hex => {
                let (off, len) = self.payload_info();
                if field == F::PayloadLen {
                    let mut v = len;
                    if self.ip.is_none() || self.force_extra_length {
                        v = v.wrapping_add(self.extra_length);
                    }
                    Val::N(u64::from(v))
                } else {
                    if len != 0 && (off < 0 || off as usize >= self.data.len()) {
                        return None;
                    }
                    let start = (off.max(0) as usize).min(self.data.len());
                    let end = (start + len as usize).min(self.length()).max(start);
                    match field {
                        F::PayloadMd5 => Val::Md5(start, end, false),
                        F::PayloadMd5Hex => Val::Md5(start, end, true),
                        _ => Val::Bytes(start, end),
                    }
                }
            }
            F::EthSrc | F::EthDst | F::EthType => {
                let mac = match self.p.mac_header_offset() {
                    Some(o) => Some(o),
                    None if self.p.network_header_offset().is_none_or(|n| n <= 0) => Some(0),
                    None => None,
                };
                let network = self
                    .p
                    .network_header_offset()
                    .unwrap_or(self.data.len() as isize);
                let Some(mac) = mac.filter(|&m| m >= 0 && m + 14 == network) else {
                    return self.missing(MISSING_ETHERNET, 0);
                };
                let m = mac as usize;
                match field {
                    F::EthSrc => Val::Ether(m + 6),
                    F::EthDst => Val::Ether(m),
                    _ => Val::Hex4(be16(self.data, m + 12) as u16),
                }
            }
            F::None => return None,
        })
    }

    /// Click's `payload_info`: where the payload most likely starts, and
    /// its length by the IP length.
    fn payload_info(&self) -> (i64, u32) {
        match self.ip {
            Some(n) => {
                let h = self.iph();
                let mut len = be16(h, 2);
                let mut off = self.th.map_or(0, |t| t as i64);
                if be16(h, 6) as u16 & IP_OFFMASK == 0 {
                    match h[9] {
                        6 => {
                            let t = self.th_bytes();
                            let thl = i64::from(t.get(12).map_or(0, |b| b >> 4)) * 4;
                            if self.transport_length() >= 13 && thl >= 20 {
                                off += thl;
                            } else {
                                off += 20;
                            }
                        }
                        17 | 136 => off += 8,
                        _ => {}
                    }
                }
                len = len.wrapping_sub((off - n as i64) as u32);
                (off, len)
            }
            None => (0, self.length() as u32),
        }
    }

    /// Appends `v` as text, as Click's `outa` does.
    pub(crate) fn write_value(&self, out: &mut String, v: &Val) {
        match *v {
            Val::N(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Ts(ns) => push_timestamp(out, Timestamp::from_nanos(ns)),
            Val::Dir(d) => match d {
                0 => out.push('>'),
                1 => out.push('<'),
                d => {
                    let _ = write!(out, "{d}");
                }
            },
            Val::Ip(a) => {
                let _ = write!(out, "{a}");
            }
            Val::Ecn(e) => out.push_str(["no", "ect1", "ect2", "ce"][usize::from(e & 3)]),
            Val::Char(c) => out.push(c),
            Val::Fragoff(v) => {
                let _ = write!(out, "{}", u32::from(v & IP_OFFMASK) << 3);
                if v & IP_MF != 0 {
                    out.push('+');
                }
                if v & IP_DF != 0 {
                    out.push('!');
                }
            }
            Val::Proto(p) => match p {
                6 => out.push('T'),
                17 => out.push('U'),
                1 => out.push('I'),
                p => {
                    let _ = write!(out, "{p}");
                }
            },
            Val::Flags(f) => {
                if f == 0x18 {
                    out.push_str("PA");
                } else if f == 0x10 {
                    out.push('A');
                } else if f == 0 {
                    out.push('.');
                } else {
                    for (bit, &c) in TCP_FLAGS_WORD.iter().enumerate() {
                        if f & (1 << bit) != 0 {
                            out.push(c as char);
                        }
                    }
                }
            }
            Val::IcmpType(t) => match icmp_type_name(t) {
                Some(n) => out.push_str(n),
                None => {
                    let _ = write!(out, "{t}");
                }
            },
            Val::IcmpCode(t, c) => match icmp_code_name(t, c) {
                Some(n) => out.push_str(n),
                None => {
                    let _ = write!(out, "{c}");
                }
            },
            Val::Bytes(s, e) => push_quoted(out, &self.data[s..e]),
            Val::Ether(at) => push_ether(out, self.data.get(at..at + 6).unwrap_or(&[])),
            Val::Hex4(v) => {
                let _ = write!(out, "{v:04X}");
            }
            Val::Md5(start, end, hex) => {
                use md5::Digest as _;
                let digest: [u8; 16] = md5::Md5::digest(&self.data[start..end]).into();
                if hex {
                    for b in digest {
                        let _ = write!(out, "{b:02x}");
                    }
                } else {
                    push_md5_text(out, &digest);
                }
            }
            Val::Opts(start, end, kind) => {
                let opts = self.data.get(start..end).unwrap_or(&[]);
                if opts.is_empty() {
                    out.push('.');
                } else if kind == OptKind::Ip {
                    unparse_ip_opt(out, opts);
                } else {
                    unparse_tcp_opt(out, opts, kind);
                }
            }
        }
    }
}

const MISSING_IP: i32 = 0;
const MISSING_ETHERNET: i32 = 260;

/// A field's value, as extracted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val {
    N(u64),
    /// Nanoseconds since the epoch.
    Ts(u64),
    Dir(u8),
    Ip(Ipv4Addr),
    Ecn(u8),
    Char(char),
    Fragoff(u16),
    Proto(u8),
    Flags(u32),
    IcmpType(u8),
    IcmpCode(u8, u8),
    /// A range of the packet's data.
    Bytes(usize, usize),
    /// Six bytes at this offset of the packet's data.
    Ether(usize),
    Hex4(u16),
    /// Options: a range of the packet's data, and whose.
    Opts(usize, usize, OptKind),
    /// The MD5 digest of a range of the packet's data, in hex or in
    /// Click's text digest.
    Md5(usize, usize, bool),
}

/// Click's `md5_finish_text` (with `@` allowed): the digest in 22
/// characters of six bits each, least significant bits first.
fn push_md5_text(out: &mut String, digest: &[u8; 16]) {
    const CHARS: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@";
    let mut bit = 0;
    while bit < 128 {
        let first = bit / 8;
        let mut val = u32::from(digest[first]) >> (bit % 8);
        if bit + 8 > (first + 1) * 8 && first < 15 {
            val += u32::from(digest[first + 1]) << (8 - (bit % 8));
        }
        out.push(CHARS[(val & 0x3f) as usize] as char);
        bit += 6;
    }
}

/// Which options a field shows (Click's option masks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptKind {
    /// IP options but padding.
    Ip,
    /// TCP options but padding.
    Tcp,
    /// TCP options but padding and timestamps.
    TcpNoTimestamp,
    /// SACK options only.
    Sack,
}

/// Click's `unparse_tcp_opt`: `mss1460;sackok;ts1:2;nop;wscale7`, `?` for
/// an option that does not parse, `.` for none shown.
fn unparse_tcp_opt(out: &mut String, opts: &[u8], kind: OptKind) {
    let start = out.len();
    let at = |i: usize| opts.get(i).copied().unwrap_or(0);
    let (mss, wscale, sack, ts, unknown) = match kind {
        OptKind::Sack => (false, false, true, false, false),
        OptKind::TcpNoTimestamp => (true, true, true, false, true),
        _ => (true, true, true, true, true),
    };
    let mut sep = "";
    let mut i = 0;
    let end = opts.len();
    macro_rules! bad {
        () => {{
            out.truncate(start);
            out.push('?');
            return;
        }};
    }
    while i < end {
        let len = usize::from(at(i + 1));
        let shown = match opts[i] {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            2 => {
                if i + len > end || len != 4 {
                    bad!();
                }
                mss.then(|| {
                    let _ = write!(
                        out,
                        "{sep}mss{}",
                        (u32::from(at(i + 2)) << 8) | u32::from(at(i + 3))
                    );
                })
            }
            3 => {
                if i + len > end || len != 3 {
                    bad!();
                }
                wscale.then(|| {
                    let _ = write!(out, "{sep}wscale{}", at(i + 2));
                })
            }
            4 => {
                if i + len > end || len != 2 {
                    bad!();
                }
                sack.then(|| {
                    let _ = write!(out, "{sep}sackok");
                })
            }
            5 => {
                if i + len > end || len % 8 != 2 {
                    bad!();
                }
                sack.then(|| {
                    let mut j = i + 2;
                    let mut s = sep;
                    while j < i + len {
                        let _ = write!(out, "{s}sack{}-{}", be32(opts, j), be32(opts, j + 4));
                        s = ";";
                        j += 8;
                    }
                })
            }
            8 => {
                if i + len > end || len != 10 {
                    bad!();
                }
                ts.then(|| {
                    let _ = write!(out, "{sep}ts{}:{}", be32(opts, i + 2), be32(opts, i + 6));
                })
            }
            k => {
                if i + len > end || len < 2 {
                    bad!();
                }
                unknown.then(|| {
                    let _ = write!(out, "{sep}{k}");
                    for (n, b) in opts[i + 2..i + len].iter().enumerate() {
                        let _ = write!(out, "{}{b}", if n == 0 { '=' } else { ':' });
                    }
                })
            }
        };
        if shown.is_some() {
            sep = ";";
            i += len;
        } else {
            // Click skips an option it does not show by its length (128
            // when that is impossible).
            i += if len >= 2 { len } else { 128 };
        }
    }
    if out.len() == start {
        out.push('.');
    }
}

/// Click's `unparse_ip_opt` (without padding): `rr{1.2.3.4}+2`,
/// `ssrr{1.2.3.4,^5.6.7.8}`, `ts.ip{1.2.3.4=5}`, `N=B:B`, `?` when one
/// does not parse.
fn unparse_ip_opt(out: &mut String, opts: &[u8]) {
    let start = out.len();
    let at = |i: usize| opts.get(i).copied().unwrap_or(0);
    let end = opts.len();
    let mut sep = "";
    let mut i = 0;
    macro_rules! bad {
        () => {{
            out.truncate(start);
            out.push('?');
            return;
        }};
    }
    let quad = |out: &mut String, o: usize| {
        let _ = write!(out, "{}.{}.{}.{}", at(o), at(o + 1), at(o + 2), at(o + 3));
    };
    while i < end {
        let kind = opts[i];
        let len = usize::from(at(i + 1));
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            7 | 131 | 137 => {
                let ptr = usize::from(at(i + 2));
                if i + len > end || len < 3 || ptr < 4 {
                    bad!();
                }
                out.push_str(sep);
                out.push_str(match kind {
                    7 => "rr",
                    131 => "lsrr",
                    _ => "ssrr",
                });
                let (ol, op) = (i + len, i + ptr - 1);
                let mut o = i + 3;
                let mut s = "";
                out.push('{');
                while o + 4 <= ol {
                    if o == op {
                        if kind == 7 {
                            break;
                        }
                        s = "^";
                    }
                    out.push_str(s);
                    quad(out, o);
                    s = ",";
                    o += 4;
                }
                if o == ol && o == op && kind != 7 {
                    out.push('^');
                }
                out.push('}');
                if o + 4 <= ol && o == op && kind == 7 {
                    let _ = write!(out, "+{}", (ol - o) / 4);
                }
                i = ol;
                sep = ";";
            }
            68 => {
                let ptr = usize::from(at(i + 2));
                if i + len > end || len < 4 || ptr < 5 {
                    bad!();
                }
                let (ol, op) = (i + len, i + ptr - 1);
                let flag = at(i + 3) & 15;
                let size = if (1..=3).contains(&flag) { 8 } else { 4 };
                out.push_str(sep);
                out.push_str("ts");
                match flag {
                    0 => {}
                    1 => out.push_str(".ip"),
                    3 => out.push_str(".preip"),
                    f => {
                        let _ = write!(out, ".{f}");
                    }
                }
                out.push('{');
                let mut s = "";
                let mut o = i + 4;
                while o + size <= ol {
                    if o == op {
                        if flag != 3 {
                            break;
                        }
                        s = "^";
                    }
                    out.push_str(s);
                    if flag != 0 {
                        quad(out, o);
                        out.push('=');
                        o += 4;
                    }
                    if flag == 3 && o > op {
                        out.pop();
                    } else {
                        let v = be32(opts, o);
                        if v & 0x8000_0000 != 0 {
                            out.push('!');
                        }
                        let _ = write!(out, "{}", v & 0x7fff_ffff);
                    }
                    s = ",";
                    o += 4;
                }
                if o == ol && o == op {
                    out.push('^');
                }
                out.push('}');
                if o + size <= ol && o == op {
                    let _ = write!(out, "+{}", (ol - o) / size);
                }
                if at(i + 3) & 0xf0 != 0 {
                    let _ = write!(out, "++{}", at(i + 3) >> 4);
                }
                i = ol;
                sep = ";";
            }
            k => {
                if i + len > end || len < 2 {
                    bad!();
                }
                let _ = write!(out, "{sep}{k}");
                for (n, b) in opts[i + 2..i + len].iter().enumerate() {
                    let _ = write!(out, "{}{b}", if n == 0 { '=' } else { ':' });
                }
                i += len;
                sep = ";";
            }
        }
    }
    if out.len() == start {
        out.push('.');
    }
}

/// Click's `cp_integer` on a prefix of `s` (decimal, or base 0 rules):
/// the value and the bytes used.
fn prefix_u32(s: &[u8]) -> (Option<u32>, usize) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    (
        std::str::from_utf8(&s[..n])
            .ok()
            .and_then(|t| t.parse().ok()),
        n,
    )
}

/// Click's `tcp_opt_ina`: the option bytes a text names; `None` if it
/// does not parse. `.` is no options.
fn parse_tcp_opt(text: &str, kind: OptKind) -> Option<Vec<u8>> {
    if text.is_empty() || text == "." {
        return Some(Vec::new());
    }
    let (mss, wscale, ts, unknown, padding) = match kind {
        OptKind::Sack => (false, false, false, false, false),
        OptKind::TcpNoTimestamp => (true, true, false, true, false),
        _ => (true, true, true, true, true),
    };
    let s = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        let rest = &s[i..];
        if mss && rest.len() > 3 && rest.starts_with(b"mss") {
            let (v, n) = prefix_u32(&rest[3..]);
            let v = v.filter(|&v| v <= 0xffff)?;
            out.extend([2, 4, (v >> 8) as u8, v as u8]);
            i += 3 + n;
        } else if wscale && rest.len() > 6 && rest.starts_with(b"wscale") {
            let (v, n) = prefix_u32(&rest[6..]);
            let v = v.filter(|&v| v <= 255)?;
            out.extend([3, 3, v as u8]);
            i += 6 + n;
        } else if rest.starts_with(b"sackok") {
            out.extend([4, 2]);
            i += 6;
        } else if rest.len() > 4 && rest.starts_with(b"sack") {
            let at = out.len();
            out.extend([5, 0]);
            i += 4;
            loop {
                let (a, n1) = prefix_u32(&s[i..]);
                let sepc = *s.get(i + n1)?;
                if sepc != b':' && sepc != b'-' {
                    return None;
                }
                let (b, n2) = prefix_u32(&s[i + n1 + 1..]);
                if n1 == 0 || n2 == 0 {
                    return None;
                }
                out.extend(a?.to_be_bytes());
                out.extend(b?.to_be_bytes());
                i += n1 + 1 + n2;
                if s[i..].starts_with(b",sack") && s.len() > i + 5 {
                    i += 5;
                } else {
                    break;
                }
            }
            out[at + 1] = (out.len() - at) as u8;
        } else if ts && rest.len() > 2 && rest.starts_with(b"ts") {
            let (a, n1) = prefix_u32(&rest[2..]);
            if rest.get(2 + n1) != Some(&b':') {
                return None;
            }
            let (b, n2) = prefix_u32(&rest[3 + n1..]);
            if n1 == 0 || n2 == 0 {
                return None;
            }
            if out.is_empty() {
                out.extend([1, 1]);
            }
            out.extend([8, 10]);
            out.extend(a?.to_be_bytes());
            out.extend(b?.to_be_bytes());
            i += 3 + n1 + n2;
        } else if unknown && rest.first().is_some_and(u8::is_ascii_digit) {
            let (v, n) = prefix_u32(rest);
            out.push(v.filter(|&v| v < 256)? as u8);
            i += n;
            if s.get(i) == Some(&b'=') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let at = out.len();
                out.push(0);
                loop {
                    let (v, n) = prefix_u32(&s[i + 1..]);
                    out.push(v.filter(|&v| v < 256)? as u8);
                    i += 1 + n;
                    if !(s.get(i) == Some(&b':') && s.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                        break;
                    }
                }
                if out.len() > at + 254 {
                    return None;
                }
                out[at] = (out.len() - at + 1) as u8;
            }
        } else if padding && rest.starts_with(b"nop") {
            out.push(1);
            i += 3;
        } else if padding && rest.starts_with(b"eol") && rest.get(3) != Some(&b',') {
            out.push(0);
            i += 3;
        } else {
            return None;
        }
        match s.get(i) {
            None => break,
            Some(c) if c.is_ascii_whitespace() => break,
            Some(b',') | Some(b';') => i += 1,
            _ => return None,
        }
    }
    while out.len() > 40 && out[0] == 1 {
        out.remove(0);
    }
    (out.len() <= 40).then_some(out)
}

/// Click's `ip_opt_ina` for routes (`rr{...}`, `lsrr{...}`, `ssrr{...}`,
/// with `^` at the pointer and `+N` free slots), numbered options
/// (`N=B:B`), `nop` and `eol`; `None` if it does not parse (timestamps
/// are not read).
fn parse_ip_opt(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || text == "." {
        return Some(Vec::new());
    }
    let s = text.as_bytes();
    let mut i = 0;
    let mut out: Vec<u8> = Vec::new();
    loop {
        let rest = &s[i..];
        let route = [(&b"rr{"[..], 7u8), (b"ssrr{", 137), (b"lsrr{", 131)]
            .into_iter()
            .find(|(p, _)| rest.len() > p.len() && rest.starts_with(p));
        if let Some((prefix, kind)) = route {
            out.push(kind);
            i += prefix.len();
            let sa_pos = out.len() - 1;
            let mut pointer: Option<usize> = None;
            out.extend([0, 0]);
            loop {
                if s.get(i) == Some(&b'^') && pointer.is_none() {
                    pointer = Some(out.len() - sa_pos + 1);
                    i += 1;
                }
                if !s.get(i).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                for k in 0..4 {
                    let (v, n) = prefix_u32(&s[i..]);
                    let v = v.filter(|&v| v <= 255)?;
                    i += n;
                    if k < 3 {
                        if s.get(i) != Some(&b'.') {
                            return None;
                        }
                        i += 1;
                    }
                    out.push(v as u8);
                }
                if s.get(i) == Some(&b',') {
                    i += 1;
                }
            }
            if s.get(i) != Some(&b'}') {
                return None;
            }
            out[sa_pos + 2] = pointer.unwrap_or(out.len() - sa_pos + 1) as u8;
            if s.get(i + 1) == Some(&b'+') && s.get(i + 2).is_some_and(u8::is_ascii_digit) {
                let (v, n) = prefix_u32(&s[i + 2..]);
                if let Some(v) = v.filter(|&v| v < 64) {
                    out.extend(std::iter::repeat_n(0, v as usize * 4));
                }
                i += 2 + n;
            } else {
                i += 1;
            }
            if out.len() - sa_pos > 255 {
                return None;
            }
            out[sa_pos + 1] = (out.len() - sa_pos) as u8;
        } else if rest.first().is_some_and(u8::is_ascii_digit) {
            let (v, n) = prefix_u32(rest);
            out.push(v.filter(|&v| v < 256)? as u8);
            i += n;
            if s.get(i) == Some(&b'=') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let at = out.len();
                out.push(0);
                loop {
                    let (v, n) = prefix_u32(&s[i + 1..]);
                    out.push(v.filter(|&v| v < 256)? as u8);
                    i += 1 + n;
                    if !(s.get(i) == Some(&b':') && s.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                        break;
                    }
                }
                if out.len() > at + 254 {
                    return None;
                }
                out[at] = (out.len() - at + 1) as u8;
            }
        } else if rest.starts_with(b"nop") {
            out.push(1);
            i += 3;
        } else if rest.starts_with(b"eol") && rest.get(3) != Some(&b',') {
            out.push(0);
            i += 3;
        } else {
            return None;
        }
        match s.get(i) {
            None => break,
            Some(c) if c.is_ascii_whitespace() => break,
            Some(b',') | Some(b';') => i += 1,
            _ => return None,
        }
    }
    (out.len() <= 40).then_some(out)
}

/// A default flow (`!flowid` / FLOWID): addresses and ports for packets
/// that do not give them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FlowId {
    pub src: [u8; 4],
    pub sport: u16,
    pub dst: [u8; 4],
    pub dport: u16,
}

/// What a line's fields set beyond the packet's bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Annos {
    pub timestamp: Option<u64>,
    pub first_timestamp: Option<u64>,
    pub extra_packets: Option<u32>,
    pub paint: Option<u8>,
    pub aggregate: Option<u32>,
}

/// Builds a packet from a line's fields (Click's `PacketOdesc` and the
/// fields' `inject`): the packet's bytes from the IP header on, in a
/// scratch buffer.
pub(crate) struct Builder<'a> {
    pub buf: &'a mut Vec<u8>,
    /// The IP header is there (network header marked).
    has_ip: bool,
    /// IP header length (the transport header's offset).
    nh_len: usize,
    pub want_len: u32,
    have_icmp_type: bool,
    have_icmp_code: bool,
    have_ip_hl: bool,
    have_tcp_hl: bool,
    default_proto: u8,
    flowid: Option<FlowId>,
    minor_version: u32,
    pub annos: Annos,
}

/// A value parsed from text, before it is injected.
#[derive(Debug, Clone)]
pub(crate) enum In {
    N(u32),
    Ts(u64),
    Bytes(Vec<u8>),
}

/// Parses Click's time syntax (`cp_time`): seconds with an optional
/// fraction, possibly negative. Nanoseconds since the epoch.
fn parse_time(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sec: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut ns = 0u64;
    for (i, b) in frac.bytes().take(9).enumerate() {
        ns += u64::from(b - b'0') * 10u64.pow(8 - i as u32);
    }
    // Click rounds at the nanosecond.
    if frac.len() > 9 && frac.as_bytes()[9] >= b'5' {
        ns += 1;
    }
    sec.checked_mul(1_000_000_000)?.checked_add(ns)
}

/// Click's `IntArg` for unsigned 32-bit numbers (decimal, `0x` hex, `0`
/// octal).
fn parse_u32(s: &str) -> Option<u32> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

fn parse_ip(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

fn icmp_type_by_name(s: &str) -> Option<u32> {
    (0..=255u8)
        .find(|&t| icmp_type_name(t) == Some(s))
        .map(u32::from)
        .or_else(|| parse_u32(s))
}

impl<'a> Builder<'a> {
    pub(crate) fn new(
        buf: &'a mut Vec<u8>,
        default_proto: u8,
        flowid: Option<FlowId>,
        minor_version: u32,
    ) -> Builder<'a> {
        buf.clear();
        Builder {
            buf,
            has_ip: false,
            nh_len: 0,
            want_len: 0,
            have_icmp_type: false,
            have_icmp_code: false,
            have_ip_hl: false,
            have_tcp_hl: false,
            default_proto,
            flowid,
            minor_version,
            annos: Annos::default(),
        }
    }

    /// Whether the IP header is there; its length.
    pub(crate) fn ip_header(&self) -> Option<usize> {
        (self.has_ip && self.buf.len() >= 20).then_some(self.nh_len)
    }

    /// Writes the bytes of `v` that fall inside the data, from `at`.
    fn set(&mut self, at: usize, v: &[u8]) {
        for (i, &b) in v.iter().enumerate() {
            if let Some(x) = self.buf.get_mut(at + i) {
                *x = b;
            }
        }
    }

    fn put(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    fn tlen(&self) -> i64 {
        self.buf.len() as i64 - self.nh_len as i64
    }

    fn first_frag(&self) -> bool {
        be16(self.buf, 6) as u16 & IP_OFFMASK == 0
    }

    fn proto(&self) -> u8 {
        self.buf.get(9).copied().unwrap_or(0)
    }

    /// Click's `make_ip`.
    pub(crate) fn make_ip(&mut self, ip_p: u8) -> bool {
        if !self.has_ip || self.buf.len() < 20 {
            if !self.has_ip {
                self.has_ip = true;
                self.nh_len = 0;
            }
            if self.buf.len() < 20 {
                let n = 20 - self.buf.len();
                self.put(n);
                self.nh_len = 20;
                let b = &mut *self.buf;
                b[0] = 0x45;
                b[9] = self.default_proto;
                b[2..4].fill(0);
                b[6..8].fill(0);
                b[8] = 100;
                if let Some(f) = self.flowid {
                    b[12..16].copy_from_slice(&f.src);
                    b[16..20].copy_from_slice(&f.dst);
                }
            }
        }
        ip_p == 0 || self.proto() == 0 || self.proto() == ip_p
    }

    /// Click's `make_transp` (after `make_ip`).
    pub(crate) fn make_transp(&mut self) -> bool {
        if !self.first_frag() {
            return false;
        }
        if self.tlen() >= 8 {
            return true;
        }
        let mut len: i64 = match self.proto() {
            6 => 20,
            17 | 136 => 8,
            33 => 12,
            1 => 8,
            _ => return true,
        };
        let toff = self.nh_len as i64;
        if self.want_len > 0 && i64::from(self.want_len) < toff + len {
            len = i64::from(self.want_len) - toff;
        }
        if self.tlen() < len {
            let xlen = len.max(4);
            let n = (xlen - self.tlen()) as usize;
            self.put(n);
            let t = self.nh_len;
            if self.proto() == 6 && len >= 13 {
                self.buf[t + 12] = (self.buf[t + 12] & 0x0f) | 0x50;
            }
            if let Some(f) = self.flowid {
                self.buf[t..t + 2].copy_from_slice(&f.sport.to_be_bytes());
                self.buf[t + 2..t + 4].copy_from_slice(&f.dport.to_be_bytes());
            }
            if xlen > len {
                let keep = self.buf.len() - (xlen - len) as usize;
                self.buf.truncate(keep);
            }
        }
        true
    }

    /// Parses a field's text (Click's `ina`); `None` if it does not parse.
    pub(crate) fn parse(&self, field: Field, s: &str) -> Option<In> {
        let n = |v: u32, max: u32| (v <= max).then_some(In::N(v));
        match field {
            F::Timestamp | F::NTimestamp | F::FirstTimestamp | F::FirstNTimestamp => {
                parse_time(s).map(In::Ts)
            }
            F::Link | F::Paint | F::Direction => match s {
                ">" => Some(In::N(0)),
                "<" => Some(In::N(1)),
                _ => parse_u32(s).and_then(|v| n(v, 255)),
            },
            F::IpSrc | F::IpDst => parse_ip(s).map(In::N),
            F::IpFrag | F::IpFragoff => {
                match s {
                    "." => return Some(In::N(0)),
                    "!" => return Some(In::N(u32::from(IP_DF))),
                    "F" => return Some(In::N(u32::from(IP_MF))),
                    "f" => return Some(In::N(100)),
                    _ => {}
                }
                let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
                let mut v: u32 = s[..digits].parse().unwrap_or(0);
                if self.minor_version > 0 {
                    v >>= 3;
                }
                for b in s[digits..].bytes() {
                    match b {
                        b'!' => v |= u32::from(IP_DF),
                        b'+' => v |= u32::from(IP_MF),
                        _ => return None,
                    }
                }
                (!s.is_empty()).then_some(In::N(v))
            }
            F::IpProto => match s {
                "T" => Some(In::N(6)),
                "U" => Some(In::N(17)),
                "I" => Some(In::N(1)),
                _ => parse_u32(s).and_then(|v| (v < 256).then_some(In::N(v))),
            },
            F::IpEcn => match s {
                "0" | "1" | "2" | "3" => Some(In::N(u32::from(s.as_bytes()[0] - b'0'))),
                "no" | "-" => Some(In::N(0)),
                "ect1" | "ECT(1)" => Some(In::N(1)),
                "ect2" | "ECT(0)" => Some(In::N(2)),
                "ce" | "CE" => Some(In::N(3)),
                _ => None,
            },
            F::TcpFlags => {
                if s == "." {
                    Some(In::N(0))
                } else if s.is_empty() {
                    None
                } else if s.as_bytes()[0].is_ascii_digit() {
                    parse_u32(s).and_then(|v| (v < 0x1000).then_some(In::N(v)))
                } else {
                    let mut v = 0;
                    for b in s.bytes() {
                        v |= 1 << tcp_flag_bit(b)?;
                    }
                    Some(In::N(v))
                }
            }
            F::IcmpType | F::IcmpTypeName => {
                icmp_type_by_name(s).and_then(|v| (v < 256).then_some(In::N(v)))
            }
            F::IcmpCode | F::IcmpCodeName => {
                if self.have_icmp_type {
                    let t = self.buf.get(self.nh_len).copied().unwrap_or(0);
                    (0..=255u8)
                        .find(|&c| icmp_code_name(t, c) == Some(s))
                        .map(u32::from)
                        .or_else(|| parse_u32(s))
                        .and_then(|v| (v < 256).then_some(In::N(v)))
                } else {
                    parse_u32(s).and_then(|v| (v < 256).then_some(In::N(v)))
                }
            }
            F::Payload => {
                // Click's cp_string: quoted, or a bare word taken as it is.
                let t = s.trim();
                if t.starts_with('"') && t.ends_with('"') && t.len() >= 2 {
                    Some(In::Bytes(click_engine::args::unquote_bytes(t)))
                } else if !t.is_empty() && !t.contains(char::is_whitespace) {
                    Some(In::Bytes(t.as_bytes().to_vec()))
                } else {
                    None
                }
            }
            F::IpTos | F::IpDscp | F::IpTtl | F::IpHl | F::TcpOff => {
                parse_u32(s).and_then(|v| n(v, 255))
            }
            F::IpId
            | F::IpSum
            | F::Sport
            | F::Dport
            | F::TcpWindow
            | F::TcpUrp
            | F::IcmpFlowid
            | F::IcmpSeq
            | F::IcmpNextmtu => parse_u32(s).and_then(|v| n(v, 65535)),
            F::TsUsec1 => {
                let v: u64 = s.parse().ok()?;
                Some(In::Ts(v * 1000))
            }
            F::TsSec
            | F::TsUsec
            | F::Count
            | F::Aggregate
            | F::WireLen
            | F::IpLen
            | F::IpCaptureLen
            | F::TcpSeq
            | F::TcpAck
            | F::UdpLen
            | F::PayloadLen => parse_u32(s).map(In::N),
            F::TcpOpt => parse_tcp_opt(s, OptKind::Tcp).map(In::Bytes),
            F::TcpNtopt => parse_tcp_opt(s, OptKind::TcpNoTimestamp).map(In::Bytes),
            F::TcpSack => parse_tcp_opt(s, OptKind::Sack).map(In::Bytes),
            F::IpOpt => parse_ip_opt(s).map(In::Bytes),
            F::PayloadMd5 | F::PayloadMd5Hex | F::EthSrc | F::EthDst | F::EthType | F::None => None,
        }
    }

    /// Puts a parsed value into the packet (Click's `inject`).
    pub(crate) fn inject(&mut self, field: Field, v: &In) {
        let (n, ts) = match v {
            In::N(n) => (*n, 0),
            In::Ts(t) => (0, *t),
            In::Bytes(_) => (0, 0),
        };
        match field {
            F::Timestamp | F::NTimestamp | F::TsUsec1 => self.annos.timestamp = Some(ts),
            F::TsSec => {
                let old = self.annos.timestamp.unwrap_or(0) % 1_000_000_000;
                self.annos.timestamp = Some(u64::from(n) * 1_000_000_000 + old);
            }
            F::TsUsec => {
                let old = self.annos.timestamp.unwrap_or(0) / 1_000_000_000;
                self.annos.timestamp = Some(old * 1_000_000_000 + u64::from(n) * 1000);
            }
            F::FirstTimestamp | F::FirstNTimestamp => self.annos.first_timestamp = Some(ts),
            F::Count => self.annos.extra_packets = Some(n.saturating_sub(1)),
            F::Link | F::Paint | F::Direction => self.annos.paint = Some(n as u8),
            F::Aggregate => self.annos.aggregate = Some(n),
            F::WireLen => self.want_len = n,
            F::IpSrc
            | F::IpDst
            | F::IpTos
            | F::IpDscp
            | F::IpEcn
            | F::IpTtl
            | F::IpFrag
            | F::IpFragoff
            | F::IpId
            | F::IpSum
            | F::IpProto
            | F::IpHl
            | F::IpLen
            | F::IpCaptureLen => self.inject_ip(field, n),
            F::Sport | F::Dport => {
                if !self.make_ip(0) || !self.make_transp() {
                    return;
                }
                let p = self.proto();
                if p != 0 && !matches!(p, 6 | 17 | 33 | 136) {
                    return;
                }
                let at = self.nh_len + if field == F::Dport { 2 } else { 0 };
                if self.buf.len() < at + 2 {
                    let n = at + 2 - self.buf.len();
                    self.put(n);
                }
                self.buf[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
            }
            F::TcpSeq | F::TcpAck | F::TcpOff | F::TcpFlags | F::TcpWindow | F::TcpUrp => {
                self.inject_tcp(field, n)
            }
            F::UdpLen => {
                if !self.make_ip(0) || !self.make_transp() {
                    return;
                }
                let p = self.proto();
                if p != 0 && p != 17 && p != 136 {
                    return;
                }
                if self.tlen() < 8 {
                    let k = (8 - self.tlen()) as usize;
                    self.put(k);
                }
                let t = self.nh_len;
                self.buf[t + 4..t + 6].copy_from_slice(&(n as u16).to_be_bytes());
            }
            F::IcmpType
            | F::IcmpTypeName
            | F::IcmpCode
            | F::IcmpCodeName
            | F::IcmpFlowid
            | F::IcmpSeq
            | F::IcmpNextmtu => self.inject_icmp(field, n),
            F::PayloadLen | F::Payload => self.inject_payload(field, n, v),
            F::TcpOpt | F::TcpNtopt | F::TcpSack => {
                if let In::Bytes(opts) = v {
                    self.inject_tcp_opt(opts);
                }
            }
            F::IpOpt => {
                if let In::Bytes(opts) = v {
                    self.inject_ip_opt(opts);
                }
            }
            F::PayloadMd5 | F::PayloadMd5Hex | F::EthSrc | F::EthDst | F::EthType | F::None => {}
        }
    }

    fn inject_ip(&mut self, field: Field, n: u32) {
        if !self.make_ip(0) {
            return;
        }
        let b = &mut *self.buf;
        match field {
            F::IpSrc => b[12..16].copy_from_slice(&n.to_be_bytes()),
            F::IpDst => b[16..20].copy_from_slice(&n.to_be_bytes()),
            F::IpTos => b[1] = n as u8,
            F::IpDscp => b[1] = (b[1] & 3) | ((n << 2) as u8 & 0xfc),
            F::IpEcn => b[1] = (b[1] & 0xfc) | (n as u8 & 3),
            F::IpTtl => b[8] = n as u8,
            F::IpFrag | F::IpFragoff => b[6..8].copy_from_slice(&(n as u16).to_be_bytes()),
            F::IpId => b[4..6].copy_from_slice(&(n as u16).to_be_bytes()),
            F::IpSum => b[10..12].copy_from_slice(&(n as u16).to_be_bytes()),
            F::IpProto => b[9] = n as u8,
            F::IpHl => {
                self.have_ip_hl = true;
                let v = ((n + 3) & !3) as usize;
                let cur = usize::from(self.buf[0] & 15) * 4;
                if v > cur {
                    let more = v - cur;
                    self.put(more);
                    // Click's put appends; the new header bytes are the
                    // end of the packet (zeroed: IPOPT_EOL).
                    self.nh_len = v;
                }
                self.buf[0] = (self.buf[0] & 0xf0) | ((v >> 2) as u8 & 15);
            }
            F::IpLen => self.want_len = n,
            _ => {}
        }
    }

    fn inject_tcp(&mut self, field: Field, n: u32) {
        if !self.make_ip(6) || !self.make_transp() {
            return;
        }
        let t = self.nh_len;
        // A transport header cut short (by a small wire length) keeps
        // only the fields that fit, as Click's writes past the data are
        // lost.
        match field {
            F::TcpSeq => self.set(t + 4, &n.to_be_bytes()),
            F::TcpAck => self.set(t + 8, &n.to_be_bytes()),
            F::TcpFlags => {
                let x2 = self.buf.get(t + 12).map_or(0, |b| b & 0xf0);
                self.set(t + 12, &[x2 | ((n >> 8) as u8 & 15), n as u8]);
            }
            F::TcpOff => {
                let v = ((n + 3) & !3) as usize;
                let cur = self.buf.get(t + 12).map_or(0, |b| usize::from(b >> 4) * 4);
                if v > cur {
                    self.put(v - cur);
                }
                let x2 = self.buf.get(t + 12).map_or(0, |b| b & 0x0f);
                self.set(t + 12, &[x2 | (((v >> 2) as u8) << 4)]);
            }
            F::TcpWindow => self.set(t + 14, &(n as u16).to_be_bytes()),
            F::TcpUrp => self.set(t + 18, &(n as u16).to_be_bytes()),
            _ => {}
        }
    }

    fn inject_tcp_opt(&mut self, opts: &[u8]) {
        if !self.make_ip(6) || !self.make_transp() {
            return;
        }
        self.have_tcp_hl = true;
        if opts.is_empty() {
            return;
        }
        let t = self.nh_len;
        let th_off = (20 + opts.len() + 3) & !3;
        if self.tlen() < th_off as i64 {
            let k = (th_off as i64 - self.tlen()) as usize;
            self.put(k);
        }
        let cur = usize::from(self.buf[t + 12] >> 4) * 4;
        if th_off > cur {
            self.buf[t + 12] = (self.buf[t + 12] & 0x0f) | (((th_off >> 2) as u8) << 4);
        }
        self.buf[t + 20..t + 20 + opts.len()].copy_from_slice(opts);
        self.buf[t + 20 + opts.len()..t + th_off].fill(0);
    }

    fn inject_ip_opt(&mut self, opts: &[u8]) {
        if !self.make_ip(0) {
            return;
        }
        self.have_ip_hl = true;
        if opts.is_empty() {
            return;
        }
        let ip_hl = (20 + opts.len() + 3) & !3;
        if self.buf.len() < ip_hl {
            let k = ip_hl - self.buf.len();
            self.put(k);
        }
        if ip_hl > usize::from(self.buf[0] & 15) * 4 {
            self.nh_len = ip_hl;
            self.buf[0] = (self.buf[0] & 0xf0) | ((ip_hl >> 2) as u8);
        }
        self.buf[20..20 + opts.len()].copy_from_slice(opts);
        self.buf[20 + opts.len()..ip_hl].fill(0);
    }

    fn inject_icmp(&mut self, field: Field, n: u32) {
        if !self.make_ip(1) || !self.make_transp() {
            return;
        }
        if self.tlen() < 8 {
            let k = (8 - self.tlen()) as usize;
            self.put(k);
        }
        let t = self.nh_len;
        let flow_types = |ty: u8| matches!(ty, 0 | 8 | 13 | 14 | 15 | 16);
        match field {
            F::IcmpType | F::IcmpTypeName => {
                self.buf[t] = n as u8;
                self.have_icmp_type = true;
                // click_icmp_hl: timestamps carry 20 bytes, others 8.
                let len = match n {
                    13 | 14 => 20,
                    17 | 18 => 12,
                    _ => 8,
                };
                if self.tlen() < len {
                    let k = (len - self.tlen()) as usize;
                    self.put(k);
                }
            }
            F::IcmpCode | F::IcmpCodeName => {
                self.buf[t + 1] = n as u8;
                self.have_icmp_code = true;
            }
            F::IcmpFlowid | F::IcmpSeq if !self.have_icmp_type || flow_types(self.buf[t]) => {
                let at = t + if field == F::IcmpFlowid { 4 } else { 6 };
                self.buf[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
            }
            F::IcmpNextmtu
                if (!self.have_icmp_type || self.buf[t] == 3)
                    && (!self.have_icmp_code || self.buf[t + 1] == 4) =>
            {
                self.buf[t + 6..t + 8].copy_from_slice(&(n as u16).to_be_bytes());
            }
            _ => {}
        }
    }

    /// Click's `payload_info` on the packet being built.
    fn payload_off(&self) -> i64 {
        if self.ip_header().is_none() {
            return 0;
        }
        let mut off = self.nh_len as i64;
        if self.first_frag() {
            match self.proto() {
                6 => {
                    let thl = i64::from(self.buf.get(self.nh_len + 12).map_or(0, |b| b >> 4)) * 4;
                    off += if self.tlen() >= 13 && thl >= 20 {
                        thl
                    } else {
                        20
                    };
                }
                17 | 136 => off += 8,
                _ => {}
            }
        }
        off
    }

    fn account_payload_len(&mut self, off: i64, plen: u32) {
        let ip_len = be16(self.buf, 2);
        if ip_len == 0 && self.want_len == 0 {
            self.want_len = (off + i64::from(plen)) as u32;
            return;
        }
        let ip_len = i64::from(if ip_len != 0 { ip_len } else { self.want_len });
        let mut delta = ip_len - (off + i64::from(plen));
        let t = self.nh_len;
        if delta > 0
            && self.first_frag()
            && self.proto() == 6
            && !self.have_tcp_hl
            && self.buf.len() >= t + 13
            && self.buf[t + 12] >> 4 == 5
        {
            let th_delta = (delta - (delta & 3)).min(40) as usize;
            self.insert_zeros(t + 20, th_delta);
            self.buf[t + 12] = (self.buf[t + 12] & 0x0f) | ((((20 + th_delta) >> 2) as u8) << 4);
            delta -= th_delta as i64;
        }
        if delta > 0 && !self.have_ip_hl && self.buf[0] & 15 == 5 {
            let ip_delta = (delta - (delta & 3)).min(40) as usize;
            self.insert_zeros(20, ip_delta);
            self.buf[0] = (self.buf[0] & 0xf0) | (((20 + ip_delta) >> 2) as u8);
            self.nh_len = 20 + ip_delta;
        }
    }

    /// Click's `put` then `memmove`: `n` zero bytes at `at`, the bytes
    /// after it moved on (the packet's end is cut back by nothing: put
    /// made room).
    fn insert_zeros(&mut self, at: usize, n: usize) {
        if n == 0 || at > self.buf.len() {
            return;
        }
        let old = self.buf.len();
        self.put(n);
        self.buf.copy_within(at..old, at + n);
        self.buf[at..at + n].fill(0);
    }

    fn inject_payload(&mut self, field: Field, n: u32, v: &In) {
        if self.make_ip(0) {
            self.make_transp();
        }
        let off = self.payload_off();
        match (field, v) {
            (F::Payload, In::Bytes(bytes)) => {
                if bytes.is_empty() {
                    return;
                }
                let plen = bytes.len();
                self.account_payload_len(off, plen as u32);
                let off = self.payload_off().max(0) as usize;
                if self.buf.len() < off + plen {
                    let k = off + plen - self.buf.len();
                    self.put(k);
                }
                self.buf[off..off + plen].copy_from_slice(bytes);
            }
            (F::PayloadLen, _) => self.account_payload_len(off, n),
            _ => {}
        }
    }

    /// Click's end of `read_packet`: sets the IP length (from the wanted
    /// length, or the bytes there are) and the UDP length.
    pub(crate) fn finish(&mut self) {
        if self.ip_header().is_some() {
            self.make_transp();
            let mut ip_len = u32::from(be16(self.buf, 2) as u16);
            if ip_len == 0 {
                ip_len = self.want_len;
                if ip_len > 0xffff {
                    ip_len = 0xffff;
                } else if ip_len == 0 {
                    ip_len = self.buf.len() as u32;
                }
                self.buf[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
            }
            let t = self.nh_len;
            if self.proto() == 17
                && self.first_frag()
                && self.buf.len() >= t + 6
                && be16(self.buf, t + 4) == 0
            {
                let len = ip_len as i64 - t as i64;
                self.buf[t + 4..t + 6].copy_from_slice(&(len as u16).to_be_bytes());
            }
        }
    }

    /// The network header's length, once built.
    pub(crate) fn network_header_len(&self) -> usize {
        self.nh_len
    }

    /// Fills in the checksums (CHECKSUM true), after [`Builder::finish`]:
    /// the packet is extended with zeros to its IP length first.
    pub(crate) fn set_checksums(&mut self) {
        if self.ip_header().is_none() {
            return;
        }
        let ip_len = be16(self.buf, 2) as usize;
        if ip_len > self.buf.len() {
            let k = ip_len - self.buf.len();
            self.put(k);
        }
        let hl = (usize::from(self.buf[0] & 15) * 4).min(self.buf.len());
        self.buf[10..12].fill(0);
        let s = checksum(&self.buf[..hl], 0);
        self.buf[10..12].copy_from_slice(&s.to_be_bytes());
        let off = be16(self.buf, 6) as u16;
        if off & (IP_MF | IP_OFFMASK) != 0 {
            return;
        }
        let t = self.nh_len.min(self.buf.len());
        let tl = self.buf.len() - t;
        let pseudo = |b: &[u8], proto: u8| -> u32 {
            let mut s = 0u32;
            for i in (12..20).step_by(2) {
                s += be16(b, i);
            }
            s + u32::from(proto) + tl as u32
        };
        match self.proto() {
            6 if tl >= 18 => {
                self.buf[t + 16..t + 18].fill(0);
                let s = checksum(&self.buf[t..], pseudo(self.buf, 6));
                self.buf[t + 16..t + 18].copy_from_slice(&s.to_be_bytes());
            }
            17 if tl >= 8 => {
                self.buf[t + 6..t + 8].fill(0);
                let s = checksum(&self.buf[t..], pseudo(self.buf, 17));
                self.buf[t + 6..t + 8].copy_from_slice(&s.to_be_bytes());
            }
            1 if tl >= 4 => {
                self.buf[t + 2..t + 4].fill(0);
                let s = checksum(&self.buf[t..], 0);
                self.buf[t + 2..t + 4].copy_from_slice(&s.to_be_bytes());
            }
            _ => {}
        }
    }
}

/// The Internet checksum of `data` with `initial` added in.
fn checksum(data: &[u8], initial: u32) -> u16 {
    let mut sum = u64::from(initial);
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
