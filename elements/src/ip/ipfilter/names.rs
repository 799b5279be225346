//! The names IPFilter patterns know: Click's static name databases
//! (`ipnameinfo.cc`, `ipfilter.cc`).

/// IP protocol numbers IPFilter uses beyond the real ones.
pub const IP_PROTO_ICMP: u32 = 1;
pub const IP_PROTO_IGMP: u32 = 2;
pub const IP_PROTO_IPIP: u32 = 4;
pub const IP_PROTO_TCP: u32 = 6;
pub const IP_PROTO_UDP: u32 = 17;
pub const IP_PROTO_DCCP: u32 = 33;
/// `tcpudp`: TCP or UDP.
pub const IP_PROTO_TCP_OR_UDP: u32 = 256;
/// `transp`: any transport protocol.
pub const IP_PROTO_TRANSP: u32 = 258;
/// `payload`.
pub const IP_PROTO_PAYLOAD: u32 = 259;

/// `ip proto` names.
pub const IP_PROTOS: &[(&str, u32)] = &[
    ("dccp", IP_PROTO_DCCP),
    ("gre", 47),
    ("icmp", IP_PROTO_ICMP),
    ("igmp", IP_PROTO_IGMP),
    ("ipip", IP_PROTO_IPIP),
    ("payload", IP_PROTO_PAYLOAD),
    ("sctp", 132),
    ("tcp", IP_PROTO_TCP),
    ("tcpudp", IP_PROTO_TCP_OR_UDP),
    ("transp", IP_PROTO_TRANSP),
    ("udp", IP_PROTO_UDP),
];

/// ICMP type names.
pub const ICMP_TYPES: &[(&str, u32)] = &[
    ("echo", 8),
    ("echo-reply", 0),
    ("inforeq", 15),
    ("inforeq-reply", 16),
    ("maskreq", 17),
    ("maskreq-reply", 18),
    ("parameterproblem", 12),
    ("redirect", 5),
    ("routeradvert", 9),
    ("routersolicit", 10),
    ("sourcequench", 4),
    ("timeexceeded", 11),
    ("timestamp", 13),
    ("timestamp-reply", 14),
    ("unreachable", 3),
];

/// TCP and UDP port names (the same table for both, as in Click).
pub const PORTS: &[(&str, u32)] = &[
    ("auth", 113),
    ("bootpc", 68),
    ("bootps", 67),
    ("chargen", 19),
    ("daytime", 13),
    ("discard", 9),
    ("dns", 53),
    ("domain", 53),
    ("echo", 7),
    ("finger", 79),
    ("ftp", 21),
    ("ftp-data", 20),
    ("https", 443),
    ("imap3", 220),
    ("imaps", 993),
    ("irc", 194),
    ("netbios-dgm", 138),
    ("netbios-ns", 137),
    ("netbios-ssn", 139),
    ("nntp", 119),
    ("ntp", 123),
    ("pop3", 110),
    ("pop3s", 995),
    ("pptp", 1723),
    ("rip", 520),
    ("route", 520),
    ("smtp", 25),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("ssh", 22),
    ("sunrpc", 111),
    ("telnet", 23),
    ("tftp", 69),
    ("www", 80),
];

/// TCP flag names (`tcp opt`).
pub const TCP_OPTS: &[(&str, u32)] = &[
    ("ack", 0x10),
    ("fin", 0x01),
    ("psh", 0x08),
    ("rst", 0x04),
    ("syn", 0x02),
    ("urg", 0x20),
];

/// Looks `word` up in `table`.
pub fn find(table: &[(&str, u32)], word: &str) -> Option<u32> {
    table.iter().find(|(n, _)| *n == word).map(|&(_, v)| v)
}

/// The name of an IPFilter transport protocol, for messages.
pub fn transp_proto_name(p: i64) -> String {
    match p {
        -1000 => String::new(),
        1 => "icmp".into(),
        2 => "igmp".into(),
        4 => "ipip".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        256 => "tcpudp".into(),
        258 => "transp".into(),
        _ => format!("ip proto {p}"),
    }
}
