//! IPEncap: encapsulates packets in a fixed IP header.

use std::net::Ipv4Addr;
use std::sync::Arc;

use click_engine::args::{ArgContext, Args, FromArg, NoContext};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads,
};

use super::hdr::{be16, cksum, put16, update_cksum, IdCounter, IP_DF};

/// `IPEncap(PROTO, SRC, DST [, *keywords* TOS, TTL, DSCP, ECT, CE, DF])`:
/// puts a 20-byte IP header in front of each packet: protocol PROTO (a
/// number or a name: `ipip`, `tcp`, `udp`, `icmp`, `gre`, ...), source
/// SRC, destination DST, total length the new packet's, IP ID counting up
/// from 0 (one sequence for the element, on any number of threads), TTL
/// 250 unless TTL says, and a checksum updated from a precomputed one.
/// Sets the IP header annotation, and the destination IP annotation to
/// DST. With DST `DST_ANNO` the destination is the packet's destination
/// IP annotation instead. For IP-in-IP tunnels and the like; StripIPHeader
/// takes the header off again.
///
/// TOS sets the whole TOS byte; or DSCP (0 to 63) its upper six bits, ECT
/// (`true` for ECT(1), `2` for ECT(0)) or CE (`true`) the ECN bits; DF
/// (`true`) sets Don't Fragment. TOS cannot be combined with the others,
/// nor ECT with CE. A packet that cannot get the room for its header (the
/// pool exhausted, a packet already the largest) is dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst` (read/write: the SRC and DST arguments).
pub struct IPEncap {
    /// The header, checksum included, with zero length, ID and (for
    /// DST_ANNO) destination.
    header: [u8; 20],
    dst_anno: bool,
    id: IdCounter,
    names: Option<Arc<dyn ArgContext>>,
}

impl std::fmt::Debug for IPEncap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IPEncap")
            .field("header", &self.header)
            .field("dst_anno", &self.dst_anno)
            .finish()
    }
}

/// An IP protocol: a number up to 255 or one of Click's names.
pub(crate) fn parse_proto(text: &str) -> Result<u8, String> {
    let t = text.trim();
    if let Ok(n) = Args::new(t).read_mp::<u32>("PROTO") {
        return u8::try_from(n).map_err(|_| "bad IP protocol".to_string());
    }
    crate::ip::ip_proto_by_name(t).ok_or_else(|| "bad IP protocol".to_string())
}

impl ElementClass for IPEncap {
    const CLASS: &'static str = "IPEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let proto: String = args.read_mp("PROTO")?;
        let src: Ipv4Addr = args.read_mp("SRC")?;
        let dst: String = args.read_mp("DST")?;
        let tos: Option<u32> = args.read("TOS")?;
        let ttl: Option<u8> = args.read("TTL")?;
        let dscp: Option<u32> = args.read("DSCP")?;
        let ect: Option<String> = args.read("ECT")?;
        let ce: bool = args.read("CE")?.unwrap_or(false);
        let df: bool = args.read("DF")?.unwrap_or(false);
        let proto = parse_proto(&proto)?;
        let dst_anno = dst == "DST_ANNO";
        let dst = if dst_anno {
            Ipv4Addr::UNSPECIFIED
        } else {
            args.parse::<Ipv4Addr>(&dst)
                .map_err(|_| "DST argument should be IP address or 'DST_ANNO'".to_string())?
        };
        let ect = match ect.as_deref() {
            None => 0,
            Some("2") => 2,
            Some(e) => match bool::from_arg(e) {
                Ok(b) => u8::from(b),
                Err(_) => return Err(format!("bad ECT value '{e}'")),
            },
        };
        if tos.is_some() && dscp.is_some() {
            return Err("cannot set both TOS and DSCP".into());
        } else if tos.is_some() && (ect != 0 || ce) {
            return Err("cannot set both TOS and ECN bits".into());
        }
        if tos.is_some_and(|t| t > 255) {
            return Err("TOS too large; max 255".into());
        } else if dscp.is_some_and(|d| d > 63) {
            return Err("DSCP too large; max 63".into());
        }
        if ect != 0 && ce {
            return Err("can set at most one ECN option".into());
        }
        let mut tos_byte = match (tos, dscp) {
            (Some(t), _) => t as u8,
            (None, Some(d)) => (d << 2) as u8,
            _ => 0,
        };
        tos_byte |= match ect {
            1 => 1,
            2 => 2,
            _ => 0,
        };
        if ce {
            tos_byte |= 3;
        }
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[1] = tos_byte;
        if df {
            put16(&mut h, 6, IP_DF);
        }
        h[8] = ttl.unwrap_or(250);
        h[9] = proto;
        h[12..16].copy_from_slice(&src.octets());
        h[16..20].copy_from_slice(&dst.octets());
        let sum = cksum(&h);
        put16(&mut h, 10, sum);
        Ok(IPEncap {
            header: h,
            dst_anno,
            id: IdCounter::new(0),
            names: args.shared_context(),
        })
    }
}

impl PacketElement for IPEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let anno_dst = p.anno().dst_ip();
        let len = (p.len() + 20) as u16;
        let Ok(h) = p.push(20) else {
            ctx.drop_because("no room for the header");
            return None;
        };
        h.copy_from_slice(&self.header);
        let mut sum = be16(h, 10);
        if self.dst_anno {
            h[16..20].copy_from_slice(&anno_dst.octets());
            sum = update_cksum(sum, 0, be16(h, 16));
            sum = update_cksum(sum, 0, be16(h, 18));
        }
        let id = self.id.next();
        put16(h, 2, len);
        put16(h, 4, id);
        sum = update_cksum(sum, 0, len);
        sum = update_cksum(sum, 0, id);
        put16(h, 10, sum);
        let dst = Ipv4Addr::from(super::hdr::quad(h, 16));
        if !self.dst_anno {
            p.anno_mut().set_dst_ip(dst);
        }
        let _ = p.set_network_header(0, 20);
        Some(0)
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.id.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::keyword("src", "SRC"),
            Handler::keyword("dst", "DST"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "src" => Some(Ipv4Addr::from(super::hdr::quad(&self.header, 12)).to_string()),
            "dst" if self.dst_anno => Some("DST_ANNO".into()),
            "dst" => Some(Ipv4Addr::from(super::hdr::quad(&self.header, 16)).to_string()),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let ctx: &dyn ArgContext = match &self.names {
            Some(c) => c.as_ref(),
            None => &NoContext,
        };
        let value = value.trim();
        let field = match name {
            "src" => 12,
            "dst" => 16,
            _ => return Err(format!("no write handler '{name}'")),
        };
        let (addr, anno) = if name == "dst" && value == "DST_ANNO" {
            (Ipv4Addr::UNSPECIFIED, true)
        } else {
            let a = Ipv4Addr::from_arg_in(value, ctx).map_err(|e| format!("{name}: {e}"))?;
            (a, false)
        };
        let h = &mut self.header;
        h[field..field + 4].copy_from_slice(&addr.octets());
        put16(h, 10, 0);
        let sum = cksum(h);
        put16(h, 10, sum);
        if name == "dst" {
            self.dst_anno = anno;
        }
        Ok(())
    }
}
