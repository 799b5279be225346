//! ICMPError: makes ICMP error messages about packets.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use click_engine::args::{ArgContext, Args, FromArg, NoContext};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use crate::ip::forward::hdr::{
    be16, cksum, ip_at, parse_icmp_code, parse_icmp_type, put16, walk_options, IPOPT_EOL,
    IPOPT_LSRR, IPOPT_SSRR, IP_OFFMASK, IP_PROTO_ICMP,
};

/// The IP ID of the next error: one counter for every ICMPError of the
/// process, starting at 1, as Click's (a function-level static).
static NEXT_ID: AtomicU16 = AtomicU16::new(1);

const ICMP_UNREACH: u8 = 3;
const ICMP_REDIRECT: u8 = 5;
const ICMP_PARAMPROB: u8 = 12;
const UNREACH_NEEDFRAG: u8 = 4;
const PARAMPROB_ERRATPTR: u8 = 0;

/// Whether ICMP type `t` is an error (an error is never sent about one).
pub(crate) fn is_error_type(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// `ICMPError(SRC, TYPE [, CODE, BADADDRS, *keywords* MTU, PMTU,
/// SET_FIX_ANNO])`: makes, for each IP packet (its IP header annotation
/// set), the ICMP error message of TYPE and CODE that tells its sender
/// about it, from source address SRC. TYPE is an error type, by number or
/// name: `unreachable` (3), `sourcequench` (4), `redirect` (5),
/// `timeexceeded` (11), `parameterproblem` (12); CODE (default 0) a number
/// or the type's name for it: `net`, `host`, `protocol`, `port`,
/// `needfrag`, `srcroutefail`, `netunknown`, `hostunknown`, `isolated`,
/// `netprohibited`, `hostprohibited`, `tosnet`, `toshost`,
/// `filterprohibited`, `hostprecedence`, `precedencecutoff` for
/// unreachable; `net`, `host`, `tosnet`, `toshost` for redirect;
/// `transit`, `reassembly` for timeexceeded; `erroratptr`, `missingopt`,
/// `length` for parameterproblem. The packet itself is consumed.
///
/// The error is an IP packet to the offending packet's source with TTL
/// 200, TOS 0, no fragment bits, and an IP ID from a counter that every
/// ICMPError shares, starting at 1 (as Click's); it quotes the offending
/// packet from its IP header on, as much as fits in MTU bytes (default
/// 576, RFC 1812 4.3.2.3). A parameter problem with code `erroratptr`
/// points at the byte the ICMP parameter problem annotation names (as
/// IPGWOptions sets it); a redirect names the gateway in the destination
/// IP annotation; an unreachable `needfrag` carries PMTU as the next-hop
/// MTU. If the offending packet has a loose or strict source route, the
/// error carries the reverse of the route so far (RFC 1812 4.3.2.6), but
/// for a redirect, which is not sent at all, and a parameter problem
/// about the route itself, which ignores it. The error's destination IP
/// annotation is set to its destination, its timestamp to now, and,
/// unless `SET_FIX_ANNO false`, its fix-IP-source annotation, so that a
/// FixIPSrc on the way out gives it the outgoing interface's address.
///
/// As RFC 1812 4.3.2.7 asks, no error is sent about an ICMP error, a
/// packet to a broadcast or multicast IP destination (255.255.255.255,
/// 224.0.0.0/4, or one of BADADDRS, a space-separated list), a link-level
/// broadcast or multicast (the packet type annotation), a packet from an
/// invalid source (such a destination, or net 0, 127 or 240.0.0.0/4), or
/// a fragment other than the first: those packets are dropped. So are
/// packets whose IP header is not marked with 20 bytes.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `mtu`, `pmtu` (read/write).
pub struct ICMPError {
    src: [u8; 4],
    ty: u8,
    code: u8,
    bad: Vec<[u8; 4]>,
    mtu: usize,
    pmtu: u16,
    fix_anno: bool,
    names: Option<Arc<dyn ArgContext>>,
}

impl std::fmt::Debug for ICMPError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ICMPError")
            .field("src", &self.src)
            .field("type", &self.ty)
            .field("code", &self.code)
            .finish()
    }
}

impl ElementClass for ICMPError {
    const CLASS: &'static str = "ICMPError";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let src: Ipv4Addr = args.read_mp("SRC")?;
        let ty: String = args.read_mp("TYPE")?;
        let code: Option<String> = args.read_p("CODE")?;
        let bad: Option<Vec<Ipv4Addr>> = args.read_p("BADADDRS")?;
        let mtu: Option<u32> = args.read("MTU")?;
        let pmtu: Option<u32> = args.read("PMTU")?;
        let fix_anno = args.read("SET_FIX_ANNO")?.unwrap_or(true);
        let ty = match parse_icmp_type(&ty) {
            Ok(t) => t,
            Err(_) if Args::new(&ty).read_mp::<i64>("TYPE").is_ok() => {
                return Err("ICMP type must be between 0 and 255".into())
            }
            Err(e) => return Err(e),
        };
        if !is_error_type(ty) {
            return Err(format!("ICMP type {ty} is not an error type"));
        }
        let code = parse_icmp_code(ty, code.as_deref().unwrap_or("0"))
            .ok_or_else(|| "argument 2 takes ICMP code (integer between 0 and 255)".to_string())?;
        Ok(ICMPError {
            src: src.octets(),
            ty,
            code,
            bad: bad.unwrap_or_default().iter().map(|a| a.octets()).collect(),
            mtu: mtu.unwrap_or(576) as usize,
            pmtu: pmtu.unwrap_or(0) as u16,
            fix_anno,
            names: args.shared_context(),
        })
    }
}

impl ICMPError {
    /// Whether `a` is a unicast address (not the limited broadcast, not
    /// multicast, not one of BADADDRS).
    fn unicast(&self, a: [u8; 4]) -> bool {
        a != [255; 4] && a[0] & 0xf0 != 0xe0 && !self.bad.contains(&a)
    }

    /// RFC 1812 5.3.7: a source an error may go to.
    fn valid_source(&self, a: [u8; 4]) -> bool {
        self.unicast(a) && a[0] != 0 && a[0] != 127 && a[0] & 0xf0 != 0xf0
    }

    /// The source route option of the header `ip` (`hlen` bytes), as an
    /// offset into it: Click's `valid_source_route`.
    fn source_route(ip: &[u8], hlen: usize) -> Option<usize> {
        let opts = ip.get(20..hlen.min(ip.len()))?;
        let mut found = None;
        walk_options(opts, |o, ty, len| {
            let ptr = usize::from(opts.get(o + 2).copied().unwrap_or(0));
            if (ty == IPOPT_LSRR || ty == IPOPT_SSRR) && ptr >= 4 && ptr % 4 == 0 && ptr <= len + 1
            {
                found = Some(20 + o);
                return false;
            }
            true
        });
        found
    }

    /// The error about `p` (IP header at `off`), or `None` when none may
    /// be sent.
    fn error(&self, p: &Packet, off: usize, ctx: &PacketCtx<'_>) -> Option<Packet> {
        let data = p.data();
        let ip = &data[off..];
        let hlen = usize::from(ip[0] & 0x0f) * 4;
        if ip[9] == IP_PROTO_ICMP {
            let th = match p.transport_header_offset() {
                Some(t) if t >= 0 => t as usize,
                _ => off + hlen,
            };
            let ty = data.get(th)?;
            if hlen + 4 > data.len() || is_error_type(*ty) {
                return None;
            }
        }
        let (src, dst) = (
            [ip[12], ip[13], ip[14], ip[15]],
            [ip[16], ip[17], ip[18], ip[19]],
        );
        if !self.unicast(dst) || crate::ip::forward::link_broadcast(p) {
            return None;
        }
        if !self.valid_source(src) || be16(ip, 6) & IP_OFFMASK != 0 {
            return None;
        }
        let mut route = Self::source_route(ip, hlen);
        if let Some(r) = route {
            if self.ty == ICMP_REDIRECT {
                return None;
            }
            let at = usize::from(p.anno().icmp_paramprob());
            let rlen = usize::from(ip.get(r + 1).copied().unwrap_or(0));
            if self.ty == ICMP_PARAMPROB
                && self.code == PARAMPROB_ERRATPTR
                && r <= at
                && at < r + rlen
            {
                route = None;
            }
        }
        // the reversed route: the option's type, length ptr-1, pointer 4,
        // the addresses visited so far last first, EOL
        let olen = route.map_or(0, |r| usize::from(ip[r + 2]) - 1);
        let nhl = if route.is_some() {
            (20 + olen + 3) & !3
        } else {
            20
        };
        let len = self.mtu.max(nhl + 8);
        let mut q = Packet::new(len).ok()?;
        let quoted = (len - nhl - 8).min(data.len() - off);
        q.take(len - nhl - 8 - quoted).ok()?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let total = q.len();
        let d = q.data_mut().ok()?;
        let (h, icmp) = d.split_at_mut(nhl);
        h[0] = 0x40 | (nhl / 4) as u8;
        put16(h, 2, total as u16);
        put16(h, 4, id);
        h[8] = 200;
        h[9] = IP_PROTO_ICMP;
        h[12..16].copy_from_slice(&self.src);
        h[16..20].copy_from_slice(&src);
        if let Some(r) = route {
            let o = &mut h[20..];
            let sr = &ip[r..];
            o[0] = sr[0];
            o[1] = olen as u8;
            o[2] = 4;
            o[olen] = IPOPT_EOL;
            let ptr = usize::from(sr[2]);
            let mut w = 3;
            let mut a = ptr as isize - 5;
            while a >= 3 {
                let a_ = a as usize;
                o[w..w + 4].copy_from_slice(&sr[a_..a_ + 4]);
                w += 4;
                a -= 4;
            }
        }
        let sum = cksum(h);
        put16(h, 10, sum);
        icmp[0] = self.ty;
        icmp[1] = self.code;
        if self.ty == ICMP_PARAMPROB && self.code == PARAMPROB_ERRATPTR {
            icmp[4] = p.anno().icmp_paramprob();
        }
        if self.ty == ICMP_REDIRECT {
            icmp[4..8].copy_from_slice(&p.anno().dst_ip().octets());
        }
        if self.ty == ICMP_UNREACH && self.code == UNREACH_NEEDFRAG {
            put16(icmp, 6, self.pmtu);
        }
        icmp[8..8 + quoted].copy_from_slice(&data[off..off + quoted]);
        let sum = cksum(icmp);
        put16(icmp, 2, sum);
        let _ = q.set_network_header(0, nhl);
        let a = q.anno_mut();
        a.set_dst_ip(Ipv4Addr::from(src));
        if self.fix_anno {
            a.set_fix_ip_src(1);
        }
        a.set_timestamp(ctx.timestamp());
        Some(q)
    }
}

impl PacketElement for ICMPError {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let off = ip_at(p, 20)?;
        let q = self.error(p, off, ctx)?;
        *p = q;
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("src"),
            Handler::read_write("mtu"),
            Handler::read_write("pmtu"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "src" => Ipv4Addr::from(self.src).to_string(),
            "mtu" => self.mtu.to_string(),
            "pmtu" => self.pmtu.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let v = value.trim();
        match name {
            "src" => {
                let ctx: &dyn ArgContext = match &self.names {
                    Some(c) => c.as_ref(),
                    None => &NoContext,
                };
                self.src = Ipv4Addr::from_arg_in(v, ctx)
                    .map_err(|e| format!("src: {e}"))?
                    .octets();
            }
            "mtu" => self.mtu = Args::new(v).read_mp::<u32>("MTU")? as usize,
            "pmtu" => self.pmtu = Args::new(v).read_mp::<u32>("PMTU")? as u16,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
