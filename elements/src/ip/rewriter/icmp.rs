//! ICMPRewriter: ICMP errors about flows a rewriter mapped, rewritten so
//! they reach the host that sent the packet they quote, as that host sent
//! it (Click's `elements/icmp/icmprewriter`).

use std::net::Ipv4Addr;
use std::sync::Arc;

use click_engine::args::{split_words, unquote, AnnoArg, Args, Raw};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, InitCtx, Packet, Port, PUSH};

use super::core::{set_ping_id, QuotedFlow};
use super::elements::{lock, RewriterCell, REWRITER_CLASSES};
use super::flow::FlowId;
use crate::ip::forward::hdr::{be16, ip_at, put16, update_cksum};

const ICMP: u8 = 1;
const TCP: u8 = 6;
const UDP: u8 = 17;
const DCCP: u8 = 33;
const ICMP_ECHO: u8 = 8;

/// The ICMP errors that quote a packet: destination unreachable, source
/// quench, redirect, time exceeded, parameter problem.
const ERRORS: [u8; 5] = [3, 4, 5, 11, 12];

/// The verdict of a packet to drop.
const DROP: u16 = u16::MAX;

/// One rewriter ICMPRewriter asks, by name, with its port offset
/// (`NAME:OFFSET`) if one was given.
struct Map {
    name: String,
    offset: Option<Port>,
    cell: Option<Arc<RewriterCell>>,
}

/// `ICMPRewriter(MAPS, [DST_ANNO, REPLY_ANNO])`: rewrites ICMP errors
/// (destination unreachable, time exceeded, parameter problem, source
/// quench, redirect) about packets a rewriter changed, so that they read
/// as errors about the packets their sender sent: how traceroute and
/// path MTU discovery work through a NAT. MAPS is a space-separated list
/// of rewriter elements (IPRewriter, TCPRewriter, UDPRewriter,
/// IPAddrRewriter, IPAddrPairRewriter, ICMPPingRewriter), asked in
/// order.
///
/// An error quotes the IP header of the packet it is about and at least
/// 8 bytes after it: TCP, UDP and DCCP ports, or an ICMP echo's
/// identifier. When the quoted packet belongs to a flow one of MAPS
/// mapped, the quoted addresses and ports (or identifier) are set back to
/// what they were before the rewriter changed them, and the error's own
/// destination, if it is the quoted packet's source, becomes that
/// packet's original source; the quoted IP checksum, the quoted TCP or
/// UDP checksum (where it is quoted; a zero UDP checksum stays zero), the
/// quoted ICMP checksum, the ICMP error's checksum and the outer IP
/// checksum are updated incrementally. DST_ANNO (true) sets the
/// destination annotation to the new destination; REPLY_ANNO names a
/// one-byte annotation set, on errors about a flow's replies, to the
/// value its rewriter kept for them (as the rewriter's REPLY_ANNO).
///
/// A rewritten error leaves on output 0, or with `NAME:OFFSET` in MAPS
/// on output OFFSET plus the output the rewriter sends the quoted
/// packet's replies to. ICMP packets that are not errors, errors too
/// short to quote an IPv4 header and 8 bytes, and errors about no mapped
/// flow leave unchanged on output 1 if there is one, else are dropped;
/// packets that are not ICMP, or have no marked IP header, are dropped.
/// (Click's code drops the unmapped ones whatever its outputs, where its
/// documentation sends them to output 1; we do as documented.) An output
/// beyond the element's drops the error, as in Click, whose configure
/// also refuses an offset that leaves the rewriter's outputs too few.
/// Errors about an address rewriter's flows get their quoted addresses
/// back and keep their quoted ports.
///
/// * Ports: 1 push input, 1 or more push outputs.
#[derive(Default)]
pub struct ICMPRewriter {
    maps: Vec<Map>,
    dst_anno: bool,
    reply_anno: Option<usize>,
    noutputs: usize,
}

impl std::fmt::Debug for ICMPRewriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.maps.iter().map(|m| m.name.as_str()).collect();
        f.debug_struct("ICMPRewriter")
            .field("maps", &names)
            .finish()
    }
}

impl ElementClass for ICMPRewriter {
    const CLASS: &'static str = "ICMPRewriter";
    const PORT_COUNT: &'static str = "1/1-";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        // A space-separated list, as Click documents it; each word may be
        // a quoted list itself: `nat pingnat` and `"nat pingnat"` alike.
        let Raw(maps) = args.read_mp("MAPS")?;
        let dst_anno = args.read("DST_ANNO")?.unwrap_or(true);
        let reply_anno = args.read::<AnnoArg<1>>("REPLY_ANNO")?.map(|a| a.offset);
        let maps = split_words(&maps)
            .iter()
            .flat_map(|word| split_words(&unquote(word)))
            .map(|word| parse_map(&word))
            .collect::<Result<Vec<Map>, String>>()?;
        if maps.is_empty() {
            return Err("no IP rewriters supplied".into());
        }
        Ok(ICMPRewriter {
            maps,
            dst_anno,
            reply_anno,
            noutputs: ctx.noutputs(),
        })
    }
}

/// `NAME` or `NAME:OFFSET`.
fn parse_map(word: &str) -> Result<Map, String> {
    let (name, offset) = match word.split_once(':') {
        Some((name, off)) => {
            let off = off
                .parse()
                .map_err(|_| format!("{word} not an IP rewriter"))?;
            (name, Some(off))
        }
        None => (word, None),
    };
    Ok(Map {
        name: name.to_string(),
        offset,
        cell: None,
    })
}

impl Element for ICMPRewriter {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        for m in &mut self.maps {
            match ctx.class_of(&m.name) {
                Some(class) if REWRITER_CLASSES.contains(&class) => {}
                _ => return Err(format!("{} not an IP rewriter", m.name)),
            }
            m.cell = Some(ctx.shared_state_of(&m.name, RewriterCell::default)?);
        }
        Ok(())
    }

    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        let mut verdicts = [DROP; BATCH_CAPACITY];
        let n = batch.len();
        for (p, v) in batch.iter_mut().zip(verdicts.iter_mut()) {
            *v = self.process(p).map_or(DROP, |o| o as u16);
        }
        ctx.push_by_verdict(batch, &verdicts[..n], DROP);
    }
}

/// Where the headers of an ICMP error are, and the flow it quotes.
struct Quote {
    /// The outer IP header, the ICMP header, the quoted IP header and
    /// what follows it.
    nh: usize,
    icmp: usize,
    ip: usize,
    transport: usize,
    proto: u8,
    /// Whether the quoted ports (or echo identifier) are there to read.
    has_ports: bool,
    flow: FlowId,
}

impl Quote {
    /// The quote of the ICMP error whose IP header is at `nh`; `None` when
    /// it is not an error, or quotes no whole IPv4 header and 8 bytes.
    fn read(d: &[u8], nh: usize) -> Option<Quote> {
        let icmp = nh + usize::from(d[nh] & 0x0f) * 4;
        let ip = icmp + 8;
        if d.len() < ip + 20 || !ERRORS.contains(&d[icmp]) {
            return None;
        }
        let hl = usize::from(d[ip] & 0x0f) * 4;
        if d[ip] >> 4 != 4 || hl < 20 {
            return None;
        }
        let transport = ip + hl;
        let proto = d[ip + 9];
        let first_frag = be16(d, ip + 6) & 0x1fff == 0;
        let has_ports = first_frag
            && match proto {
                TCP | UDP | DCCP => d.len() >= transport + 8,
                ICMP => d.len() >= transport + 6 && d[transport] == ICMP_ECHO,
                _ => false,
            };
        let (sport, dport) = match (has_ports, proto) {
            (false, _) => (0, 0),
            (true, ICMP) => (be16(d, transport + 4), 0),
            (true, _) => (be16(d, transport), be16(d, transport + 2)),
        };
        let addr = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Some(Quote {
            nh,
            icmp,
            ip,
            transport,
            proto,
            has_ports,
            flow: FlowId::new(addr(ip + 12), sport, addr(ip + 16), dport),
        })
    }
}

impl ICMPRewriter {
    /// Rewrites `p` if it is an error about a mapped flow; says where it
    /// goes (`None`: drop it).
    fn process(&self, p: &mut Packet) -> Option<Port> {
        let nh = ip_at(p, 20)?;
        let d = p.data();
        if d[nh] >> 4 != 4 || d[nh + 9] != ICMP {
            return None;
        }
        let unmapped = (self.noutputs > 1).then_some(1);
        let Some(q) = Quote::read(d, nh) else {
            return unmapped;
        };
        let Some((found, offset)) = self.find(&q) else {
            return unmapped;
        };
        let d = p.data_mut().ok()?;
        let new_dst = rewrite(d, &q, found.quoted);
        let anno = p.anno_mut();
        if let (Some(dst), true) = (new_dst, self.dst_anno) {
            anno.set_dst_ip(Ipv4Addr::from(dst));
        }
        if let (Some(off), true) = (self.reply_anno, found.reply) {
            let _ = anno.set_u8(off, found.reply_anno);
        }
        Some(offset.map_or(0, |o| o + found.output))
    }

    /// The first of MAPS with a mapping for the quoted flow, and its port
    /// offset.
    fn find(&self, q: &Quote) -> Option<(QuotedFlow, Option<Port>)> {
        // A ping rewriter's flows are found by an echo's identifier only.
        if q.proto == ICMP && !q.has_ports {
            return None;
        }
        self.maps.iter().find_map(|m| {
            let core = m.cell.as_ref()?.core.get()?;
            let found = lock(core).quoted_flow(q.proto, q.flow)?;
            Some((found, m.offset))
        })
    }
}

/// The 16-bit words an ICMP error's rewrite changes, old and new, so that
/// each checksum covering some of them can be updated.
#[derive(Default)]
struct Changes {
    old: [u16; 10],
    new: [u16; 10],
    n: usize,
}

impl Changes {
    /// Writes `new` at `i` and notes the change.
    fn set(&mut self, d: &mut [u8], i: usize, new: u16) {
        self.old[self.n] = be16(d, i);
        self.new[self.n] = new;
        self.n += 1;
        put16(d, i, new);
    }

    /// Writes the address `a` at `i`.
    fn set_addr(&mut self, d: &mut [u8], i: usize, a: u32) {
        self.set(d, i, (a >> 16) as u16);
        self.set(d, i + 2, a as u16);
    }

    /// Updates the checksum at `at` for the first `upto` changes, and
    /// notes its own change.
    fn update(&mut self, d: &mut [u8], at: usize, upto: usize) {
        let old = be16(d, at);
        let mut sum = old;
        for k in 0..upto {
            sum = update_cksum(sum, self.old[k], self.new[k]);
        }
        put16(d, at, sum);
        self.note(old, sum);
    }

    /// Notes a change written by other means (a checksum updated in place).
    fn note(&mut self, old: u16, new: u16) {
        self.old[self.n] = old;
        self.new[self.n] = new;
        self.n += 1;
    }
}

/// Rewrites the error `q` reads in `d` to quote `quoted`, updating every
/// checksum; returns the error's new destination if it changed.
fn rewrite(d: &mut [u8], q: &Quote, quoted: FlowId) -> Option<u32> {
    let (ip, th) = (q.ip, q.transport);
    let mut c = Changes::default();
    c.set_addr(d, ip + 12, quoted.saddr);
    c.set_addr(d, ip + 16, quoted.daddr);
    if q.has_ports && q.proto != ICMP {
        c.set(d, th, quoted.sport);
        c.set(d, th + 2, quoted.dport);
        // The quoted transport checksum, where it is quoted (a zero UDP
        // checksum means none).
        let sum_at = match q.proto {
            TCP if d.len() >= th + 18 => Some(th + 16),
            UDP if be16(d, th + 6) != 0 => Some(th + 6),
            _ => None,
        };
        if let Some(at) = sum_at {
            c.update(d, at, c.n);
        }
    } else if q.has_ports {
        let (old_id, old_sum) = (be16(d, th + 4), be16(d, th + 2));
        set_ping_id(d, th, quoted.sport);
        c.note(old_id, quoted.sport);
        c.note(old_sum, be16(d, th + 2));
    }
    // The quoted IP header's checksum covers its addresses (the first
    // four words changed); the error's covers everything quoted.
    c.update(d, ip + 10, 4);
    c.update(d, q.icmp + 2, c.n);
    rewrite_destination(d, q, quoted.saddr)
}

/// Sets the error's destination to `to` when it was the quoted packet's
/// source (the rewriter's address), updating the outer IP checksum.
fn rewrite_destination(d: &mut [u8], q: &Quote, to: u32) -> Option<u32> {
    let nh = q.nh;
    let dst = u32::from_be_bytes([d[nh + 16], d[nh + 17], d[nh + 18], d[nh + 19]]);
    if dst != q.flow.saddr {
        return None;
    }
    let mut c = Changes::default();
    c.set_addr(d, nh + 16, to);
    c.update(d, nh + 10, c.n);
    Some(to)
}
