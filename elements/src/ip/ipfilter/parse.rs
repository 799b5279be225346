//! IPFilter's pattern language, parsed into classification expressions.
//!
//! This follows Click's `IPFilter::Parser` and `IPFilter::Primitive`
//! (`elements/ip/ipfilter.cc`) step by step: the same word splitting, the
//! same grammar (`expr ::= orexpr [? expr : expr]`, `or`/`||`, `and`/`&&`
//! or juxtaposition, `not`/`!`, parentheses, primitives), the same
//! qualifier rules (a primitive without qualifiers inherits the previous
//! one's: `src port 80 or 81`), the same type checks and the same tests per
//! primitive. Where Click builds its decision tree instruction by
//! instruction, we build the boolean expression those instructions stand
//! for: Click's subtree levels are a stack of frames here, `finish_subtree`
//! combines a frame's children with `and`, `or` or `?:`, and
//! `negate_subtree(tree, true)` (a negation that keeps short packets
//! failing) is [`Arena::negate_keeping_short`].
//!
//! Errors name the word and its column in the pattern; parsing goes on
//! after an error, as in Click, so one pattern may report several.

use click_engine::args::{Address, AddressKind, ArgContext, EtherAddr, FromArg, Ipv4Prefix};
use std::net::Ipv4Addr;

use super::names::{self, *};
use crate::standard::classification::{Arena, ExprId, Region, Rule, DROP};

// Primitive types (Click's TYPE_*).
const TYPE_NONE: i64 = 0;
const TYPE_TYPE: i64 = 1;
const TYPE_SYNTAX: i64 = 2;
const TYPE_INT: i64 = 3;
const TYPE_HOST: i64 = 10;
const TYPE_PROTO: i64 = 11;
const TYPE_IPFRAG: i64 = 12;
const TYPE_PORT: i64 = 13;
const TYPE_TCPOPT: i64 = 14;
const TYPE_ETHER: i64 = 15;
const TYPE_NET: i64 = 30;
const TYPE_IPUNFRAG: i64 = 31;
const TYPE_IPECT: i64 = 32;
const TYPE_IPCE: i64 = 33;
/// A header field: protocol (9 bits), bit offset (16 bits), bit length - 1
/// (5 bits).
const TYPE_FIELD: i64 = 0x4000_0000;
const FIELD_PROTO_SHIFT: i64 = 21;
const FIELD_PROTO_MASK: i64 = 0x1FF << FIELD_PROTO_SHIFT;
const FIELD_OFFSET_SHIFT: i64 = 5;
const FIELD_OFFSET_MASK: i64 = 0xFFFF << FIELD_OFFSET_SHIFT;
const FIELD_LENGTH_MASK: i64 = 0x1F;

const fn field(proto: i64, bit_offset: i64, bits: i64) -> i64 {
    TYPE_FIELD | (proto << FIELD_PROTO_SHIFT) | (bit_offset << FIELD_OFFSET_SHIFT) | (bits - 1)
}

const FIELD_IPLEN: i64 = field(0, 16, 16);
const FIELD_ID: i64 = field(0, 32, 16);
const FIELD_VERSION: i64 = field(0, 0, 4);
const FIELD_HL: i64 = field(0, 4, 4);
const FIELD_TOS: i64 = field(0, 8, 8);
const FIELD_DSCP: i64 = field(0, 8, 6);
const FIELD_TTL: i64 = field(0, 64, 8);
const FIELD_TCP_WIN: i64 = field(IP_PROTO_TCP as i64, 112, 16);
const FIELD_ICMP_TYPE: i64 = field(IP_PROTO_ICMP as i64, 0, 8);

/// The type words (Click's `type_entries`).
const TYPE_WORDS: &[(&str, i64)] = &[
    ("ce", TYPE_IPCE),
    ("dest", TYPE_SYNTAX),
    ("dscp", FIELD_DSCP),
    ("dst", TYPE_SYNTAX),
    ("ect", TYPE_IPECT),
    ("ether", TYPE_SYNTAX),
    ("frag", TYPE_IPFRAG),
    ("hl", FIELD_HL),
    ("host", TYPE_HOST),
    ("id", FIELD_ID),
    ("ip", TYPE_SYNTAX),
    ("len", FIELD_IPLEN),
    ("net", TYPE_NET),
    ("not", TYPE_SYNTAX),
    ("opt", TYPE_TCPOPT),
    ("port", TYPE_PORT),
    ("proto", TYPE_PROTO),
    ("src", TYPE_SYNTAX),
    ("tos", FIELD_TOS),
    ("ttl", FIELD_TTL),
    ("type", FIELD_ICMP_TYPE),
    ("unfrag", TYPE_IPUNFRAG),
    ("vers", FIELD_VERSION),
    ("win", FIELD_TCP_WIN),
];

/// No transport protocol given (Click's `UNKNOWN`).
const UNKNOWN: i64 = -1000;

const SD_SRC: i64 = 1;
const SD_DST: i64 = 2;
const SD_AND: i64 = 3;
const SD_OR: i64 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Gt,
    Lt,
}

/// Click's region offsets: MAC tests count from two bytes before the MAC
/// header, network and transport tests from their headers.
const MAC_BIAS: i32 = -2;

/// How deep parentheses and negations may nest (deeper patterns are an
/// error, so that nothing downstream recurses without bound).
const MAX_NESTING: usize = 100;

/// A word of a pattern and where it starts (1-based column).
#[derive(Clone, Debug)]
struct Word {
    text: String,
    col: usize,
}

/// Click's `separate_text`: operators become words of their own, other
/// runs of word characters (letters, digits, `-._/@:`) are words.
fn separate_text(text: &str) -> Vec<Word> {
    let s = text.as_bytes();
    let len = s.len();
    let mut words = Vec::new();
    let mut pos = 0;
    let word = |a: usize, b: usize| Word {
        text: String::from_utf8_lossy(&s[a..b]).into_owned(),
        col: a + 1,
    };
    while pos < len {
        while pos < len && s[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= len {
            break;
        }
        let c = s[pos];
        let two = pos + 1 < len
            && match c {
                b'&' | b'|' => s[pos + 1] == c,
                b'<' | b'>' | b'!' | b'=' => s[pos + 1] == b'=',
                _ => false,
            };
        if two {
            words.push(word(pos, pos + 2));
            pos += 2;
        } else if b"&|<>!=()[],;?".contains(&c) {
            words.push(word(pos, pos + 1));
            pos += 1;
        } else {
            let first = pos;
            while pos < len && (s[pos].is_ascii_alphanumeric() || b"-./@_:".contains(&s[pos])) {
                pos += 1;
            }
            if pos == first {
                // any other byte is a word by itself (a whole character)
                pos += 1;
                while pos < len && !text.is_char_boundary(pos) {
                    pos += 1;
                }
            }
            words.push(word(first, pos));
        }
    }
    words
}

/// What a word means to `lookup`.
enum Looked {
    /// Nothing (or a syntax word: `src`, `ip`, ...).
    None,
    /// Ambiguous or meaningless here (the message says why).
    Bad(String),
    /// A type word (`port`, `ttl`, ...).
    Type(i64),
    /// A value of a kind: `(TYPE_PROTO | TYPE_PORT | TYPE_TCPOPT |
    /// FIELD_ICMP_TYPE, value)`.
    Value(i64, u32),
}

fn type_name(srcdst: i64, ty: i64) -> String {
    let mut s = String::new();
    s.push_str(match srcdst {
        SD_SRC => "src ",
        SD_DST => "dst ",
        SD_OR => "src or dst ",
        SD_AND => "src and dst ",
        _ => "",
    });
    match ty {
        TYPE_NONE => {}
        TYPE_HOST => s.push_str("ip host"),
        TYPE_PROTO => s.push_str("proto"),
        TYPE_ETHER => s.push_str("ether host"),
        TYPE_IPFRAG => s.push_str("ip frag"),
        TYPE_PORT => s.push_str("port"),
        TYPE_TCPOPT => s.push_str("tcp opt"),
        TYPE_NET => s.push_str("ip net"),
        TYPE_IPUNFRAG => s.push_str("ip unfrag"),
        TYPE_IPECT => s.push_str("ip ect"),
        TYPE_IPCE => s.push_str("ip ce"),
        FIELD_IPLEN => s.push_str("ip len"),
        FIELD_ID => s.push_str("ip id"),
        FIELD_VERSION => s.push_str("ip vers"),
        FIELD_HL => s.push_str("ip hl"),
        FIELD_TOS => s.push_str("ip tos"),
        FIELD_DSCP => s.push_str("ip dscp"),
        FIELD_TTL => s.push_str("ip ttl"),
        FIELD_TCP_WIN => s.push_str("tcp win"),
        FIELD_ICMP_TYPE => s.push_str("icmp type"),
        t if t & TYPE_FIELD != 0 => {
            if t & FIELD_PROTO_MASK != 0 {
                s.push_str(&names::transp_proto_name(
                    (t & FIELD_PROTO_MASK) >> FIELD_PROTO_SHIFT,
                ));
            } else {
                s.push_str("ip");
            }
            s.push_str("[...]");
        }
        t => s.push_str(&format!("<unknown type {t}>")),
    }
    s
}

/// `type proto word`, for messages.
fn describe(ty: i64, proto: i64, word: &str) -> String {
    let parts = [
        type_name(0, ty),
        names::transp_proto_name(proto),
        word.to_string(),
    ];
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Click's `IPFilter::lookup`: what `word` names, given the type and
/// protocol known so far.
fn lookup(word: &str, ty: i64, proto: i64) -> Looked {
    if ty == TYPE_NONE || ty == TYPE_TYPE {
        if let Some(&(_, t)) = TYPE_WORDS.iter().find(|(n, _)| *n == word) {
            return if t == TYPE_SYNTAX {
                Looked::None
            } else {
                Looked::Type(t)
            };
        }
    }
    let got = [
        find(IP_PROTOS, word),
        find(PORTS, word),
        find(PORTS, word),
        find(TCP_OPTS, word),
        find(ICMP_TYPES, word),
    ];
    const KINDS: [i64; 5] = [
        TYPE_PROTO,
        TYPE_PORT,
        TYPE_PORT,
        TYPE_TCPOPT,
        FIELD_ICMP_TYPE,
    ];
    if got.iter().all(Option::is_none) {
        return Looked::None;
    }
    let any = ty == TYPE_NONE;
    let tcp_ok =
        proto == UNKNOWN || proto == IP_PROTO_TCP as i64 || proto == IP_PROTO_TCP_OR_UDP as i64;
    let udp_ok =
        proto == UNKNOWN || proto == IP_PROTO_UDP as i64 || proto == IP_PROTO_TCP_OR_UDP as i64;
    let mut fit = [
        got[0].is_some() && (any || ty == TYPE_PROTO),
        got[1].is_some() && (any || ty == TYPE_PORT) && tcp_ok,
        got[2].is_some() && (any || ty == TYPE_PORT) && udp_ok,
        got[3].is_some() && (any || ty == TYPE_TCPOPT) && tcp_ok,
        got[4].is_some()
            && (any || ty == FIELD_ICMP_TYPE)
            && (proto == UNKNOWN || proto == IP_PROTO_ICMP as i64),
    ];
    if fit[1] && fit[2] && got[1] == got[2] {
        fit[2] = false;
    }
    let nfit = fit.iter().filter(|&&f| f).count();
    if nfit == 1 {
        let i = fit.iter().position(|&f| f).unwrap_or(0);
        return Looked::Value(KINDS[i], got[i].unwrap_or(0));
    }
    let mut tries: Vec<String> = Vec::new();
    for i in 0..5 {
        if got[i].is_some() {
            let t = format!("'{}'", describe(KINDS[i], proto, word));
            if !tries.contains(&t) {
                tries.push(t);
            }
        }
    }
    Looked::Bad(format!(
        "'{}' is {}; try {}",
        describe(ty, proto, word),
        if nfit > 1 { "ambiguous" } else { "meaningless" },
        tries.join(", ")
    ))
}

/// What the data of a primitive is (Click's `_data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MaskKind {
    None,
    Int,
    Host,
    Ether,
}

/// One primitive (Click's `IPFilter::Primitive`).
#[derive(Clone, Debug)]
struct Primitive {
    ty: i64,
    data: i64,
    op: Op,
    op_negated: bool,
    srcdst: i64,
    transp_proto: i64,
    /// The value: an integer, a protocol, a port, or an IPv4 address as a
    /// big-endian number.
    u: u32,
    mask: u32,
    ether: [u8; 6],
    ether_mask: [u8; 6],
}

impl Default for Primitive {
    fn default() -> Self {
        Primitive {
            ty: TYPE_NONE,
            data: TYPE_NONE,
            op: Op::Eq,
            op_negated: false,
            srcdst: 0,
            transp_proto: UNKNOWN,
            u: 0,
            mask: 0,
            ether: [0; 6],
            ether_mask: [0; 6],
        }
    }
}

/// The mask given after `&`.
#[derive(Clone, Copy, Debug)]
struct GivenMask {
    kind: MaskKind,
    u: u32,
    ether: [u8; 6],
}

/// Click's `ffs_msb`: 1 + the number of leading zeros, 0 for 0.
fn ffs_msb(x: u32) -> u32 {
    if x == 0 {
        0
    } else {
        x.leading_zeros() + 1
    }
}

impl Primitive {
    fn type_name(&self) -> String {
        type_name(self.srcdst, self.ty)
    }

    fn op_name(&self) -> &'static str {
        match (self.op, self.op_negated) {
            (Op::Gt, false) => ">",
            (Op::Gt, true) => "<=",
            (Op::Lt, false) => "<",
            (Op::Lt, true) => ">=",
            (Op::Eq, false) => "=",
            (Op::Eq, true) => "!=",
        }
    }

    fn set_type(&mut self, t: i64, errs: &mut Vec<String>) {
        if self.ty != TYPE_NONE {
            errs.push("type specified twice".into());
        }
        self.ty = t;
    }

    fn set_srcdst(&mut self, x: i64, errs: &mut Vec<String>) {
        if self.srcdst != 0 {
            errs.push("'src' or 'dst' specified twice".into());
        }
        self.srcdst = x;
    }

    fn set_transp_proto(&mut self, x: i64, errs: &mut Vec<String>) {
        if self.transp_proto != UNKNOWN && self.transp_proto != x {
            errs.push("transport protocol specified twice".into());
        }
        self.transp_proto = x;
    }

    /// Click's `set_mask`: the value and mask of a field `full_mask` wide,
    /// with comparisons that are always true or false made constant.
    fn set_mask(
        &mut self,
        full_mask: u32,
        provided: u32,
        warn: &mut Vec<String>,
    ) -> Result<(), String> {
        let data = self.u;
        let this_mask = if provided != 0 { provided } else { full_mask };
        if this_mask & full_mask != this_mask {
            return Err(format!(
                "'{}': mask out of range, bound 0x{:X}",
                self.type_name(),
                full_mask
            ));
        }
        if self.op != Op::Eq {
            let lt = self.op == Op::Lt;
            if (lt && (data == 0 || data > this_mask)) || (!lt && data >= this_mask) {
                let will_be = if lt && data > this_mask {
                    !self.op_negated
                } else {
                    self.op_negated
                };
                warn.push(format!(
                    "relation '{} {}' is always {} (range 0-{})",
                    self.op_name(),
                    data,
                    will_be,
                    this_mask
                ));
                self.u = 0;
                self.mask = 0;
                self.op_negated = !will_be;
                self.op = Op::Eq;
                return Ok(());
            }
            // value < X is !(value > X - 1)
            if lt {
                self.u -= 1;
                self.op_negated = !self.op_negated;
                self.op = Op::Gt;
            }
            self.mask = this_mask;
            // `field & 5 > 2` is `field & 5 > 1`: make the value fit the
            // mask, rounding the missing bits up.
            if self.u & self.mask != self.u {
                let missing = (self.u & self.mask) ^ (self.u & full_mask);
                let add = 0xFFFF_FFFFu32.checked_shr(ffs_msb(missing)).unwrap_or(0);
                self.u = (self.u | add) & self.mask;
            }
            return Ok(());
        }
        if data > full_mask {
            return Err(format!(
                "'{}': out of range, bound {}",
                self.type_name(),
                full_mask
            ));
        }
        self.mask = this_mask;
        Ok(())
    }

    /// Click's `Primitive::check`: fills in the type from the data and the
    /// previous primitive, and validates.
    fn check(
        &mut self,
        prev: &Primitive,
        mut header: u8,
        mask: &GivenMask,
        warn: &mut Vec<String>,
    ) -> Result<(), String> {
        let old_srcdst = self.srcdst;
        if self.ty < 0 {
            return Err(String::new());
        }
        if self.ty == TYPE_NONE {
            let mut data = self.data;
            loop {
                match data {
                    TYPE_HOST | TYPE_NET | TYPE_TCPOPT | TYPE_ETHER => {
                        self.ty = data;
                        if self.srcdst == 0 {
                            self.srcdst = prev.srcdst;
                        }
                    }
                    TYPE_PROTO => self.ty = TYPE_PROTO,
                    TYPE_PORT => {
                        self.ty = TYPE_PORT;
                        if self.srcdst == 0 {
                            self.srcdst = prev.srcdst;
                        }
                        if self.transp_proto == UNKNOWN {
                            self.transp_proto = prev.transp_proto;
                        }
                    }
                    TYPE_INT => {
                        if prev.ty & TYPE_FIELD == 0
                            && prev.ty != TYPE_PROTO
                            && prev.ty != TYPE_PORT
                        {
                            return Err("specify header field or 'port'".into());
                        }
                        data = prev.ty;
                        self.data = data;
                        continue;
                    }
                    TYPE_NONE => {
                        if self.transp_proto != UNKNOWN {
                            self.ty = TYPE_PROTO;
                        } else {
                            return Err("partial directive".into());
                        }
                    }
                    d if d & TYPE_FIELD != 0 => {
                        self.ty = d;
                        if d & FIELD_PROTO_MASK != 0 && self.transp_proto == UNKNOWN {
                            self.transp_proto = (d & FIELD_PROTO_MASK) >> FIELD_PROTO_SHIFT;
                        }
                    }
                    d => return Err(format!("unknown type '{}'", type_name(0, d))),
                }
                break;
            }
        }

        if header == 0 {
            header = if self.data == TYPE_ETHER { b'e' } else { b'i' };
        }
        if header == b'e' && self.ty == TYPE_HOST {
            self.ty = TYPE_ETHER;
        }

        let type_err = |p: &Primitive, msg: &str| Err(format!("'{}': {}", p.type_name(), msg));
        match self.ty {
            TYPE_HOST | TYPE_NET => {
                if header != b'i' || self.data != self.ty {
                    return type_err(self, "address missing");
                }
                if self.op != Op::Eq {
                    return type_err(self, "operator not supported");
                }
                if self.ty == TYPE_HOST {
                    self.mask = 0xFFFF_FFFF;
                }
                self.ty = TYPE_HOST;
                match mask.kind {
                    MaskKind::None => {}
                    MaskKind::Int | MaskKind::Host => self.mask = mask.u,
                    MaskKind::Ether => return type_err(self, "bad mask"),
                }
            }
            TYPE_ETHER => {
                if header != b'e' || self.data != TYPE_ETHER {
                    return type_err(self, "address missing");
                }
                if self.op != Op::Eq {
                    return type_err(self, "operator not supported");
                }
                self.ether_mask = [0xFF; 6];
                match mask.kind {
                    MaskKind::None => {}
                    MaskKind::Ether => self.ether_mask = mask.ether,
                    _ => return type_err(self, "bad mask"),
                }
            }
            TYPE_PROTO => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data == TYPE_INT || self.data == TYPE_PROTO {
                    if self.transp_proto != UNKNOWN && self.transp_proto != self.u as i32 as i64 {
                        return type_err(self, "specified twice");
                    }
                    self.data = TYPE_NONE;
                } else {
                    self.u = self.transp_proto as i32 as u32;
                }
                self.transp_proto = UNKNOWN;
                if self.data != TYPE_NONE || self.u as i32 as i64 == UNKNOWN {
                    return type_err(self, "value missing");
                }
                if self.u as i32 >= 256 {
                    if self.op != Op::Eq || mask.kind != MaskKind::None {
                        return Err(format!(
                            "'{}': operator or mask not supported",
                            names::transp_proto_name(self.u as i32 as i64)
                        ));
                    }
                    self.mask = 0xFF;
                } else if !matches!(mask.kind, MaskKind::None | MaskKind::Int) {
                    return type_err(self, "bad mask");
                } else {
                    self.set_mask(0xFF, given_int(mask), warn)?;
                }
                if self.op == Op::Eq && self.mask == 0xFF && !self.op_negated {
                    self.transp_proto = self.u as i32 as i64;
                }
            }
            TYPE_PORT => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data == TYPE_INT {
                    self.data = TYPE_PORT;
                }
                if self.data != TYPE_PORT {
                    return type_err(self, "value missing");
                }
                let tp = self.transp_proto;
                if tp == UNKNOWN {
                    self.transp_proto = IP_PROTO_TCP_OR_UDP as i64;
                } else if ![
                    IP_PROTO_TCP,
                    IP_PROTO_UDP,
                    IP_PROTO_TCP_OR_UDP,
                    IP_PROTO_DCCP,
                ]
                .iter()
                .any(|&p| p as i64 == tp)
                {
                    return Err(format!("'port': bad protocol {tp}"));
                } else if !matches!(mask.kind, MaskKind::None | MaskKind::Int) {
                    return type_err(self, "bad mask");
                }
                self.set_mask(0xFFFF, given_int(mask), warn)?;
            }
            TYPE_TCPOPT => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data == TYPE_INT {
                    self.data = TYPE_TCPOPT;
                }
                if self.data != TYPE_TCPOPT {
                    return type_err(self, "value missing");
                }
                if self.transp_proto == UNKNOWN {
                    self.transp_proto = IP_PROTO_TCP as i64;
                } else if self.transp_proto != IP_PROTO_TCP as i64 {
                    return Err(format!("'tcp opt': bad protocol {}", self.transp_proto));
                }
                if self.op != Op::Eq || self.op_negated || mask.kind != MaskKind::None {
                    return type_err(self, "operator or mask not supported");
                }
                if self.u > 255 {
                    return Err(format!("'tcp opt': value {} out of range", self.u as i32));
                }
                self.mask = self.u;
            }
            TYPE_IPECT => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data != TYPE_NONE && self.data != TYPE_INT {
                    return type_err(self, "value missing");
                }
                if self.data == TYPE_NONE {
                    self.mask = 3;
                    self.u = 0;
                    self.op_negated = true;
                } else if !matches!(mask.kind, MaskKind::None | MaskKind::Int) {
                    return type_err(self, "bad mask");
                }
                self.set_mask(0x3, given_int(mask), warn)?;
                self.ty = FIELD_TOS;
            }
            TYPE_IPCE => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data != TYPE_NONE || mask.kind != MaskKind::None {
                    return type_err(self, "value not supported");
                }
                self.mask = 3;
                self.u = 3;
                self.ty = FIELD_TOS;
            }
            TYPE_IPFRAG | TYPE_IPUNFRAG => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data != TYPE_NONE || mask.kind != MaskKind::None {
                    return type_err(self, "value not supported");
                }
                if self.ty == TYPE_IPUNFRAG {
                    self.op_negated = true;
                }
                self.mask = 1;
                self.ty = TYPE_IPFRAG;
            }
            t if t & TYPE_FIELD != 0 => {
                if header != b'i' {
                    return type_err(self, "ip only");
                }
                if self.data != TYPE_INT && self.data != t {
                    return type_err(self, "value missing");
                }
                if !matches!(mask.kind, MaskKind::None | MaskKind::Int) {
                    return type_err(self, "bad mask");
                }
                let nbits = (t & FIELD_LENGTH_MASK) + 1;
                let xmask = if nbits == 32 {
                    u32::MAX
                } else {
                    (1u32 << nbits) - 1
                };
                self.set_mask(xmask, given_int(mask), warn)?;
            }
            _ => {}
        }

        if self.ty == TYPE_HOST || self.ty == TYPE_PORT || self.ty == TYPE_ETHER {
            if self.srcdst == 0 {
                self.srcdst = SD_OR;
            }
        } else if old_srcdst != 0 {
            warn.push(format!("'{}': 'src' or 'dst' ignored", self.type_name()));
        }
        Ok(())
    }

    /// Click's `add_comparison_exprs`: the tests for `word & mask OP
    /// value` on the word at `offset` of `region`, the field `shift` bits
    /// up. `op_negate`: apply `!=`/`<=`/`>=` here.
    fn comparison(
        &self,
        arena: &mut Arena,
        region: Region,
        offset: i32,
        shift: u32,
        op_negate: bool,
    ) -> ExprId {
        let mut mask = self.mask;
        let mut u = self.u & mask;
        let negate = self.op_negated && op_negate;
        if self.op == Op::Eq {
            let e = arena.atom(region, offset, mask << shift, u << shift, false);
            return if negate {
                arena.negate_keeping_short(e)
            } else {
                e
            };
        }
        // `word & MASK > U`, from the top bits down: where U's top bit is
        // 0, any 1 among the top bits of the word that are 0 in U wins
        // (or); where it is 1, the word must have those top bits all 1
        // (and). Stop when U >= MASK.
        let mut items: Vec<(ExprId, bool)> = Vec::new();
        while u < mask && items.len() <= 32 {
            let high_bit = u > (mask >> 1);
            let fdb = 33
                - ffs_msb(if high_bit {
                    !(u.wrapping_add(1)) & mask
                } else {
                    u
                });
            let upper_mask = if fdb >= 32 {
                mask
            } else {
                mask & !((1u32 << fdb) - 1)
            };
            let upper_u = if high_bit { upper_mask } else { 0 };
            let mut t = arena.atom(region, offset, upper_mask << shift, upper_u << shift, false);
            if !high_bit {
                t = arena.negate_keeping_short(t);
            }
            items.push((t, high_bit));
            mask &= !upper_mask;
            u &= mask;
        }
        let mut acc = match items.pop() {
            Some((t, _)) => t,
            None => ExprId::TRUE,
        };
        while let Some((t, high)) = items.pop() {
            acc = if high {
                arena.and(&[t, acc])
            } else {
                arena.or(&[t, acc])
            };
        }
        if negate {
            arena.negate_keeping_short(acc)
        } else {
            acc
        }
    }

    /// Click's `Primitive::compile`: the primitive's expression.
    fn compile(&self, arena: &mut Arena) -> ExprId {
        let mut parts: Vec<ExprId> = Vec::new();
        if self.transp_proto != UNKNOWN {
            parts.push(proto_test(arena, self.transp_proto));
        }
        let ty = self.ty;
        if ty == TYPE_PORT
            || ty == TYPE_TCPOPT
            || (ty & TYPE_FIELD != 0 && ty & FIELD_PROTO_MASK != 0)
        {
            // first fragment: fragment offset 0
            parts.push(arena.atom(Region::Net, 4, 0x0000_1FFF, 0, false));
        }
        let srcdst =
            |arena: &mut Arena, src: Option<ExprId>, dst: Option<ExprId>, p: &Primitive| {
                let both: Vec<ExprId> = [src, dst].into_iter().flatten().collect();
                let e = if p.srcdst == SD_OR {
                    arena.or(&both)
                } else {
                    arena.and(&both)
                };
                if p.op_negated {
                    arena.negate_keeping_short(e)
                } else {
                    e
                }
            };
        let want_src = matches!(self.srcdst, SD_SRC | SD_AND | SD_OR);
        let want_dst = matches!(self.srcdst, SD_DST | SD_AND | SD_OR);
        match ty {
            TYPE_HOST => {
                let src = want_src.then(|| self.comparison(arena, Region::Net, 12, 0, false));
                let dst = want_dst.then(|| self.comparison(arena, Region::Net, 16, 0, false));
                parts.push(srcdst(arena, src, dst, self));
            }
            TYPE_ETHER => {
                let (e, m) = (self.ether, self.ether_mask);
                let be = |b: [u8; 4]| u32::from_be_bytes(b);
                let src = want_src.then(|| {
                    let a = arena.atom(
                        Region::Mac,
                        8 + MAC_BIAS,
                        be([m[0], m[1], m[2], m[3]]),
                        be([e[0], e[1], e[2], e[3]]),
                        false,
                    );
                    let b = arena.atom(
                        Region::Mac,
                        12 + MAC_BIAS,
                        be([m[4], m[5], 0, 0]),
                        be([e[4], e[5], 0, 0]),
                        false,
                    );
                    arena.and(&[a, b])
                });
                let dst = want_dst.then(|| {
                    let a = arena.atom(
                        Region::Mac,
                        MAC_BIAS,
                        be([0, 0, m[0], m[1]]),
                        be([0, 0, e[0], e[1]]),
                        false,
                    );
                    let b = arena.atom(
                        Region::Mac,
                        4 + MAC_BIAS,
                        be([m[2], m[3], m[4], m[5]]),
                        be([e[2], e[3], e[4], e[5]]),
                        false,
                    );
                    arena.and(&[a, b])
                });
                parts.push(srcdst(arena, src, dst, self));
            }
            TYPE_PROTO if self.transp_proto < 256 => {
                parts.push(self.comparison(arena, Region::Net, 8, 16, true));
            }
            TYPE_IPFRAG => {
                let unfrag = arena.atom(Region::Net, 4, 0x0000_3FFF, 0, false);
                parts.push(if self.op_negated {
                    unfrag
                } else {
                    arena.negate_keeping_short(unfrag)
                });
            }
            TYPE_PORT => {
                let src = want_src.then(|| self.comparison(arena, Region::Transp, 0, 16, false));
                let dst = want_dst.then(|| self.comparison(arena, Region::Transp, 0, 0, false));
                parts.push(srcdst(arena, src, dst, self));
            }
            TYPE_TCPOPT => {
                parts.push(arena.atom(Region::Transp, 12, self.mask << 16, self.u << 16, false));
            }
            t if t & TYPE_FIELD != 0 => {
                let bit_pos = ((t & FIELD_OFFSET_MASK) >> FIELD_OFFSET_SHIFT) as i32;
                let bits = ((t & FIELD_LENGTH_MASK) + 1) as i32;
                let word = (bit_pos >> 3) & !3;
                let bit_offset = bit_pos & 0x1F;
                let region = if t & FIELD_PROTO_MASK != 0 {
                    Region::Transp
                } else {
                    Region::Net
                };
                let shift = (32 - (bit_offset + bits)) as u32;
                parts.push(self.comparison(arena, region, word, shift, true));
            }
            _ => {}
        }
        arena.and(&parts)
    }
}

fn given_int(m: &GivenMask) -> u32 {
    if m.kind == MaskKind::None {
        0
    } else {
        m.u
    }
}

/// Click's `add_exprs_for_proto` with a full mask: the protocol test
/// (TCP or UDP for `tcpudp`; nothing for `transp` and `payload`).
fn proto_test(arena: &mut Arena, proto: i64) -> ExprId {
    let test = |arena: &mut Arena, p: u32| arena.atom(Region::Net, 8, 0x00FF_0000, p << 16, false);
    if proto == IP_PROTO_TCP_OR_UDP as i64 {
        let t = test(arena, IP_PROTO_TCP);
        let u = test(arena, IP_PROTO_UDP);
        arena.or(&[t, u])
    } else if proto >= 256 {
        ExprId::TRUE
    } else {
        test(arena, proto as u32)
    }
}

/// How a frame's children combine (Click's combiners).
#[derive(Clone, Copy)]
enum Combiner {
    And,
    Or,
    Ternary,
}

/// The parser's states (Click's `parse_expr_iterative`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Expr0,
    Expr1,
    Expr2,
    OrExpr0,
    OrExpr1,
    Term0,
    Term1,
    Term2,
    Factor0,
    Factor1,
    Factor2,
    Factor0Neg,
    Factor1Neg,
    Factor2Neg,
}

struct Parser<'a> {
    words: &'a [Word],
    /// Where names (AddressInfo addresses) resolve.
    ctx: &'a dyn ArgContext,
    arena: &'a mut Arena,
    /// Click's subtree levels: the children of each open level.
    frames: Vec<Vec<ExprId>>,
    prev: Primitive,
    errors: Vec<String>,
    warnings: Vec<String>,
}

/// Where in the pattern, for messages.
fn location(words: &[Word], pos: usize) -> String {
    match words.get(pos) {
        Some(w) => format!(" (at '{}', column {})", w.text, w.col),
        None => " (at the end)".to_string(),
    }
}

impl<'a> Parser<'a> {
    fn word(&self, pos: usize) -> &str {
        self.words.get(pos).map_or("", |w| w.text.as_str())
    }

    fn error(&mut self, msg: impl Into<String>, pos: usize) {
        let loc = location(self.words, pos);
        self.errors.push(format!("{}{loc}", msg.into()));
    }

    fn start(&mut self) {
        self.frames.push(Vec::new());
    }

    fn add(&mut self, e: ExprId) {
        if let Some(f) = self.frames.last_mut() {
            f.push(e);
        }
    }

    fn finish(&mut self, how: Combiner) {
        let children = self.frames.pop().unwrap_or_default();
        let e = match how {
            Combiner::And => self.arena.and(&children),
            Combiner::Or => {
                if children.is_empty() {
                    ExprId::TRUE
                } else {
                    self.arena.or(&children)
                }
            }
            Combiner::Ternary => ternary(self.arena, &children),
        };
        self.add(e);
    }

    /// Click's `negate_subtree(tree)`: negates the last child of the open
    /// level (a pattern-level `not`: a short packet's failure becomes a
    /// success).
    fn negate_last(&mut self) {
        if let Some(last) = self.frames.last_mut().and_then(|f| f.pop()) {
            let n = self.arena.not(last);
            self.add(n);
        }
    }

    fn parse_expr(&mut self, mut pos: usize) -> usize {
        let n = self.words.len();
        let mut stk: Vec<(State, usize)> = vec![(State::Expr0, pos)];
        while let Some(&(state, last_pos)) = stk.last() {
            let mut new_state = None;
            let top = stk.len() - 1;
            match state {
                State::Expr0 => {
                    self.start();
                    stk[top].0 = State::Expr1;
                    new_state = Some(State::OrExpr0);
                }
                State::Expr1 => {
                    if pos < n && self.word(pos) == "?" {
                        pos += 1;
                        stk[top].0 = State::Expr2;
                        new_state = Some(State::Expr0);
                    } else {
                        self.finish(Combiner::Ternary);
                    }
                }
                State::Expr2 => {
                    if pos == last_pos || pos >= n || self.word(pos) != ":" {
                        self.error("missing ':' in ternary expression", pos);
                        self.finish(Combiner::Ternary);
                    } else {
                        pos += 1;
                        stk[top].0 = State::Expr1;
                        new_state = Some(State::OrExpr0);
                    }
                }
                State::OrExpr0 => {
                    self.start();
                    stk[top].0 = State::OrExpr1;
                    new_state = Some(State::Term0);
                }
                State::OrExpr1 => {
                    if pos < n && matches!(self.word(pos), "or" | "||") {
                        pos += 1;
                        new_state = Some(State::Term0);
                    } else {
                        self.finish(Combiner::Or);
                    }
                }
                State::Term0 => {
                    self.start();
                    stk[top].0 = State::Term1;
                    new_state = Some(State::Factor0);
                }
                State::Term1 | State::Term2 => {
                    if pos == last_pos {
                        if state == State::Term1 {
                            self.error("missing expression", pos);
                        }
                        self.finish(Combiner::And);
                    } else {
                        if pos < n && matches!(self.word(pos), "and" | "&&") {
                            stk[top].0 = State::Term1;
                            pos += 1;
                        } else {
                            stk[top].0 = State::Term2;
                        }
                        new_state = Some(State::Factor0);
                    }
                }
                State::Factor0 | State::Factor0Neg => {
                    let neg = state == State::Factor0Neg;
                    if pos < n && matches!(self.word(pos), "not" | "!") {
                        stk[top].0 = if neg {
                            State::Factor1Neg
                        } else {
                            State::Factor1
                        };
                        new_state = Some(if neg {
                            State::Factor0
                        } else {
                            State::Factor0Neg
                        });
                        pos += 1;
                    } else if pos < n && self.word(pos) == "(" {
                        stk[top].0 = if neg {
                            State::Factor2Neg
                        } else {
                            State::Factor2
                        };
                        new_state = Some(State::Expr0);
                        pos += 1;
                    } else {
                        pos = self.parse_test(pos, neg);
                    }
                }
                State::Factor1 | State::Factor1Neg => {
                    if pos == last_pos {
                        let w = self.word(pos.saturating_sub(1)).to_string();
                        self.error(format!("missing expression after '{w}'"), pos);
                    }
                }
                State::Factor2 | State::Factor2Neg => {
                    if pos == last_pos {
                        self.error("missing expression after '('", pos);
                    }
                    if pos < n && self.word(pos) == ")" {
                        pos += 1;
                    } else if pos != last_pos {
                        self.error("missing ')'", pos);
                    }
                    if state == State::Factor2Neg {
                        self.negate_last();
                    }
                }
            }
            match new_state {
                Some(s) => {
                    stk[top].1 = pos;
                    if stk.len() > 4 * MAX_NESTING {
                        self.error("pattern nested too deeply", pos);
                        return n;
                    }
                    stk.push((s, pos));
                }
                None => {
                    stk.pop();
                }
            }
        }
        pos
    }

    /// Click's `parse_brackets`: `[POS]`, `[POS:LEN]` or `[POS,POS2]` after
    /// a protocol word.
    fn parse_brackets(&mut self, prim: &mut Primitive, pos: usize) -> usize {
        let first_pos = pos + 1;
        let mut p = pos + 1;
        let mut combination = String::new();
        while p < self.words.len() && self.word(p) != "]" {
            combination.push_str(self.word(p));
            p += 1;
        }
        if p >= self.words.len() {
            self.error("missing ']'", pos);
            return first_pos;
        }
        p += 1;
        let int = |s: &str| i32::from_arg(s).ok();
        let parsed = if let Some((a, b)) =
            combination.split_once(':').filter(|(_, b)| !b.is_empty())
        {
            int(a).zip(int(b))
        } else if let Some((a, b)) = combination.split_once(',').filter(|(_, b)| !b.is_empty()) {
            int(a)
                .zip(int(b))
                .map(|(x, y)| (x, y.saturating_sub(x).saturating_add(1)))
        } else {
            int(&combination).map(|x| (x, 1))
        };
        let Some((fieldpos, len)) = parsed else {
            self.error(
                "syntax error after '[', expected '[POS]' or '[POS:LEN]'",
                pos,
            );
            return p;
        };
        if !(1..=4).contains(&len) {
            self.error(
                "LEN in '[POS:LEN]' out of range, should be between 1 and 4",
                pos,
            );
        } else if !(0..8192).contains(&fieldpos) {
            self.error("POS in '[POS:LEN]' out of range", pos);
        } else {
            let (bitpos, bitlen) = (i64::from(fieldpos) * 8, i64::from(len) * 8);
            if (bitpos & !31) != ((bitpos + bitlen - 1) & !31) {
                self.error(
                    format!("field [{fieldpos}:{len}] does not fit in a single word"),
                    pos,
                );
            } else {
                let transp = if prim.transp_proto == UNKNOWN {
                    0
                } else {
                    prim.transp_proto & 0x1FF
                };
                let t = TYPE_FIELD
                    | (transp << FIELD_PROTO_SHIFT)
                    | (bitpos << FIELD_OFFSET_SHIFT)
                    | (bitlen - 1);
                let mut errs = Vec::new();
                prim.set_type(t, &mut errs);
                for e in errs {
                    self.error(e, pos);
                }
            }
        }
        p
    }

    /// Click's `parse_test`: one primitive (`true`, `false`, or
    /// qualifiers, an optional `[...]`, `& mask`, relation and value).
    fn parse_test(&mut self, mut pos: usize, mut negated: bool) -> usize {
        let n = self.words.len();
        if pos >= n {
            return pos;
        }
        let first_word = self.word(pos).to_string();
        if matches!(first_word.as_str(), ")" | "||" | "or" | "?" | ":") {
            return pos;
        }
        if first_word == "true" || first_word == "false" {
            let value = (first_word == "true") != negated;
            self.add(if value { ExprId::TRUE } else { ExprId::FALSE });
            return pos + 1;
        }

        let first_pos = pos;
        let mut prim = Primitive::default();
        let mut header: u8 = 0;
        let mut errs = Vec::new();
        while pos < n {
            let wd = self.word(pos).to_string();
            match lookup(&wd, TYPE_NONE, UNKNOWN) {
                Looked::Type(t) => {
                    prim.set_type(t, &mut errs);
                    if t & TYPE_FIELD != 0 && t & FIELD_PROTO_MASK != 0 {
                        prim.set_transp_proto(
                            (t & FIELD_PROTO_MASK) >> FIELD_PROTO_SHIFT,
                            &mut errs,
                        );
                    }
                }
                Looked::Value(TYPE_PROTO, p) => prim.set_transp_proto(p as i64, &mut errs),
                Looked::Value(..) | Looked::Bad(_) => break,
                Looked::None => match wd.as_str() {
                    "src" => {
                        let then_dst = pos + 2 < n && matches!(self.word(pos + 2), "dst" | "dest");
                        let conj = self.word(pos + 1).to_string();
                        if then_dst && matches!(conj.as_str(), "and" | "&&") {
                            prim.set_srcdst(SD_AND, &mut errs);
                            pos += 2;
                        } else if then_dst && matches!(conj.as_str(), "or" | "||") {
                            prim.set_srcdst(SD_OR, &mut errs);
                            pos += 2;
                        } else {
                            prim.set_srcdst(SD_SRC, &mut errs);
                        }
                    }
                    "dst" | "dest" => prim.set_srcdst(SD_DST, &mut errs),
                    "ip" | "ether" => {
                        if header != 0 {
                            break;
                        }
                        header = wd.as_bytes()[0];
                    }
                    "not" | "!" => negated = !negated,
                    _ => break,
                },
            }
            for e in errs.drain(..) {
                self.error(e, pos);
            }
            pos += 1;
        }
        for e in errs.drain(..) {
            self.error(e, pos);
        }

        // The previous primitive matters only when this one has no
        // qualifiers.
        if pos != first_pos {
            self.prev = Primitive::default();
        }
        if self.prev.data == TYPE_ETHER {
            header = b'e';
        }

        // `wd` is the next word, unless it is the last one.
        let next_word = |p: &Parser, pos: usize| -> String {
            if pos + 1 >= n {
                String::new()
            } else {
                p.word(pos).to_string()
            }
        };
        let mut wd = next_word(self, pos);
        if wd == "[" && pos > first_pos && prim.ty == TYPE_NONE {
            pos = self.parse_brackets(&mut prim, pos);
            wd = next_word(self, pos);
        }

        // optional bitmask
        let mut mask = GivenMask {
            kind: MaskKind::None,
            u: 0,
            ether: [0; 6],
        };
        if wd == "&" && pos + 1 < n {
            let m = self.word(pos + 1).to_string();
            if let Ok(v) = u32::from_arg(&m) {
                mask.kind = MaskKind::Int;
                mask.u = v;
                pos += 2;
            } else if let (true, Ok(ip)) = (header != b'e', Ipv4Addr::from_arg_in(&m, self.ctx)) {
                mask.kind = MaskKind::Host;
                mask.u = u32::from(ip);
                pos += 2;
            } else if let (true, Ok(e)) = (header != b'i', EtherAddr::from_arg_in(&m, self.ctx)) {
                mask.kind = MaskKind::Ether;
                mask.ether = e.0;
                pos += 2;
            }
            if matches!(mask.kind, MaskKind::Int | MaskKind::Host) && mask.u == 0 {
                self.error("zero mask ignored", pos.saturating_sub(1));
                mask.kind = MaskKind::None;
            }
            wd = next_word(self, pos);
        }

        // optional relation
        pos += 1;
        match wd.as_str() {
            "=" | "==" => {}
            "!=" => prim.op_negated = true,
            ">" => prim.op = Op::Gt,
            "<" => prim.op = Op::Lt,
            ">=" => {
                prim.op = Op::Lt;
                prim.op_negated = true;
            }
            "<=" => {
                prim.op = Op::Gt;
                prim.op_negated = true;
            }
            _ => pos -= 1,
        }

        // the value
        if pos < n {
            wd = self.word(pos).to_string();
            let data_pos = pos;
            let looked = lookup(&wd, prim.ty, prim.transp_proto);
            pos += 1;
            match looked {
                Looked::Bad(msg) => {
                    self.error(msg, data_pos);
                    prim.ty = -2;
                }
                Looked::Value(kind, v) => {
                    prim.data = kind;
                    prim.u = v;
                }
                Looked::None | Looked::Type(_) => {
                    if let Ok(v) = i32::from_arg(&wd) {
                        prim.data = TYPE_INT;
                        prim.u = v as u32;
                    } else if let (true, Ok(ip)) =
                        (header != b'e', Ipv4Addr::from_arg_in(&wd, self.ctx))
                    {
                        prim.u = u32::from(ip);
                        let mask_word = pos + 1 < n && self.word(pos) == "mask";
                        let mask_ip = if mask_word {
                            Ipv4Addr::from_arg_in(self.word(pos + 1), self.ctx).ok()
                        } else {
                            None
                        };
                        if let Some(m) = mask_ip {
                            pos += 2;
                            prim.mask = u32::from(m);
                            prim.data = TYPE_NET;
                        } else if let (TYPE_NET, Some(p)) = (prim.ty, parse_prefix(&wd, self.ctx)) {
                            // `net NAME`: NAME's prefix rather than its address
                            prim.u = u32::from(p.addr);
                            prim.mask = u32::from(p.mask);
                            prim.data = TYPE_NET;
                        } else {
                            prim.data = TYPE_HOST;
                        }
                    } else if let (true, Some(p)) = (header != b'e', parse_prefix(&wd, self.ctx)) {
                        prim.u = u32::from(p.addr);
                        prim.mask = u32::from(p.mask);
                        prim.data = TYPE_NET;
                    } else if let (true, Ok(e)) =
                        (header != b'i', EtherAddr::from_arg_in(&wd, self.ctx))
                    {
                        prim.ether = e.0;
                        prim.data = TYPE_ETHER;
                    } else {
                        if prim.op != Op::Eq || prim.op_negated {
                            self.error("dangling operator", data_pos);
                        }
                        pos -= 1;
                    }
                }
            }
        }

        if pos == first_pos {
            self.error("empty term", pos);
            return pos;
        }

        let mut warn = Vec::new();
        let prev = self.prev.clone();
        match prim.check(&prev, header, &mask, &mut warn) {
            Ok(()) => {
                let e = prim.compile(self.arena);
                self.add(e);
                if negated {
                    self.negate_last();
                }
                self.prev = prim;
            }
            Err(msg) if msg.is_empty() => {}
            Err(msg) => self.error(msg, first_pos),
        }
        for w in warn {
            let loc = location(self.words, first_pos);
            self.warnings.push(format!("{w}{loc}"));
        }
        pos
    }
}

/// An address prefix (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`, or a name
/// standing for one); a bare address is not one here (Click's
/// `IPPrefixArg` without bare addresses).
fn parse_prefix(word: &str, ctx: &dyn ArgContext) -> Option<Ipv4Prefix> {
    if word.contains('/') || Ipv4Addr::from_arg_in(word, ctx).is_err() {
        return Ipv4Prefix::from_arg_in(word, ctx).ok();
    }
    match ctx.address(AddressKind::Ipv4Prefix, word) {
        Some(Address::Ipv4Prefix(p)) => Some(p),
        _ => None,
    }
}

/// `c0 ? c1 : c2 ? c3 : c4 ...` from a ternary level's children (Click's
/// `c_ternary` combiner; a pair is an `and`).
fn ternary(arena: &mut Arena, cs: &[ExprId]) -> ExprId {
    match cs.len() {
        0 => ExprId::TRUE,
        1 => cs[0],
        2 => arena.and(cs),
        _ => {
            let rest = ternary(arena, &cs[2..]);
            arena.ternary(cs[0], cs[1], rest)
        }
    }
}

/// A parsed rule list: the expressions, and what was said about them.
#[derive(Debug)]
pub struct Parsed {
    pub arena: Arena,
    pub rules: Vec<Rule>,
    pub warnings: Vec<String>,
}

/// How a pattern names its output.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Slots {
    /// IPClassifier: pattern `i` is output `i`.
    Positional,
    /// IPFilter: the first word is `allow`, `deny`, `drop` or an output
    /// number, below `noutputs`.
    Actions { noutputs: usize },
}

/// Parses IPFilter (`Slots::Actions`) or IPClassifier
/// (`Slots::Positional`) patterns. Errors (all of them, one a line) are
/// prefixed with `pattern N: `.
pub fn parse_patterns<S: AsRef<str>>(
    patterns: &[S],
    slots: Slots,
    ctx: &dyn ArgContext,
) -> Result<Parsed, String> {
    let mut arena = Arena::new();
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (argno, pattern) in patterns.iter().enumerate() {
        let text = click_engine::args::unquote(pattern.as_ref());
        let mut words = separate_text(&text);
        let mut perrs: Vec<String> = Vec::new();
        let output = match slots {
            Slots::Positional => {
                words.insert(
                    0,
                    Word {
                        text: argno.to_string(),
                        col: 0,
                    },
                );
                argno as u32
            }
            Slots::Actions { noutputs } => {
                let Some(first) = words.first() else {
                    errors.push(format!("empty pattern {argno}"));
                    continue;
                };
                let w = first.text.as_str();
                let at = location(&words, 0);
                match w {
                    "allow" => {
                        if noutputs == 0 {
                            perrs.push(format!(
                                "'allow' is meaningless, element has zero outputs{at}"
                            ));
                        }
                        0
                    }
                    "deny" | "drop" => DROP,
                    _ => match i64::from_arg(w) {
                        Ok(slot) if slot >= 0 && (slot as u64) < noutputs as u64 => slot as u32,
                        Ok(_) => {
                            perrs.push(format!("slot '{w}' out of range{at}"));
                            DROP
                        }
                        Err(_) => {
                            perrs.push(format!("unknown slot ID '{w}'{at}"));
                            DROP
                        }
                    },
                }
            }
        };
        let expr = if words.len() == 1
            || (words.len() == 2 && matches!(words[1].text.as_str(), "-" | "any" | "all"))
        {
            ExprId::TRUE
        } else {
            let mut p = Parser {
                words: &words,
                ctx,
                arena: &mut arena,
                frames: vec![Vec::new()],
                prev: Primitive::default(),
                errors: Vec::new(),
                warnings: Vec::new(),
            };
            let pos = p.parse_expr(1);
            if pos < words.len() {
                p.error("garbage after expression", pos);
            }
            let children = p.frames.swap_remove(0);
            perrs.append(&mut p.errors);
            warnings.extend(
                p.warnings
                    .into_iter()
                    .map(|w| format!("pattern {argno}: {w}")),
            );
            arena.and(&children)
        };
        if arena.depth(expr) > crate::standard::classification::MAX_DEPTH {
            perrs.push("pattern nested too deeply".into());
        }
        errors.extend(perrs.into_iter().map(|e| format!("pattern {argno}: {e}")));
        rules.push(Rule { output, expr });
    }
    if errors.is_empty() {
        Ok(Parsed {
            arena,
            rules,
            warnings,
        })
    } else {
        Err(errors.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use click_engine::args::NoContext;

    #[test]
    fn words_and_columns() {
        let w = separate_text("src host 1.2.3.4&&!(tcp[13]&2 != 0)");
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "src", "host", "1.2.3.4", "&&", "!", "(", "tcp", "[", "13", "]", "&", "2", "!=",
                "0", ")"
            ]
        );
        assert_eq!(w[2].col, 10);
        assert_eq!(w[3].col, 17);
        // a multi-byte character is one word, never cut
        let w = separate_text("tcp é");
        assert_eq!(w[1].text, "é");
    }

    fn errors(p: &str) -> String {
        match parse_patterns(&[p], Slots::Positional, &NoContext) {
            Ok(_) => String::new(),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_name_the_word_and_column() {
        assert_eq!(
            errors("echo"),
            "pattern 0: 'echo' is ambiguous; try 'port echo', 'icmp type echo' (at 'echo', column 1)"
        );
        assert_eq!(
            errors("host www"),
            "pattern 0: 'ip host www' is meaningless; try 'port www' (at 'www', column 6)"
        );
        assert_eq!(
            errors("src port"),
            "pattern 0: 'src port': value missing (at 'src', column 1)"
        );
        assert!(errors("tcp wibble").contains("garbage after expression (at 'wibble', column 5)"));
        assert!(errors("!").contains("missing expression after '!' (at the end)"));
        assert!(errors("10.0.0.1 ? tcp").contains("missing ':' in ternary expression"));
        assert!(errors("ip[3:2]").contains("field [3:2] does not fit in a single word"));
        assert!(errors("(tcp").contains("missing ')'"));
        assert!(errors("tcp opt syn &").contains("garbage after expression (at '&', column 13)"));
        assert_eq!(errors("dst port 80 or 81"), "");
        assert_eq!(errors("icmp type echo"), "");
        assert_eq!(errors("tcp opt syn ack"), "");
        assert_eq!(errors("ip vers 4 && ip hl > 5"), "");
        assert_eq!(errors("src net 10.0.0.0 mask 255.0.0.0"), "");
        assert_eq!(errors("true ? false : (udp or tcp)"), "");
        let deep = "(".repeat(500) + "tcp" + &")".repeat(500);
        assert!(errors(&deep).contains("nested too deeply"));
    }

    #[test]
    fn filter_actions() {
        let a = Slots::Actions { noutputs: 2 };
        let p =
            parse_patterns(&["allow tcp", "1 udp", "deny all", "drop -"], a, &NoContext).unwrap();
        let outs: Vec<u32> = p.rules.iter().map(|r| r.output).collect();
        assert_eq!(outs, [0, 1, DROP, DROP]);
        assert!(parse_patterns(&["2 tcp"], a, &NoContext)
            .unwrap_err()
            .contains("slot '2' out of range"));
        assert!(parse_patterns(&["permit tcp"], a, &NoContext)
            .unwrap_err()
            .contains("unknown slot ID 'permit'"));
        assert!(parse_patterns(&[""], a, &NoContext)
            .unwrap_err()
            .contains("empty pattern 0"));
        assert!(
            parse_patterns(&["allow"], Slots::Actions { noutputs: 0 }, &NoContext)
                .unwrap_err()
                .contains("'allow' is meaningless")
        );
    }
}
