//! ICMPPingEncap and ICMPIPEncap: put ICMP and IP headers on packets.

use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port,
};

use crate::ip::forward::hdr::{cksum, parse_icmp_code, parse_icmp_type, put16, IP_PROTO_ICMP};

/// The parts the two encapsulators share: addresses, the sequence
/// counter (also the IP ID) and the headers.
#[derive(Debug)]
struct Encap {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    seq: u16,
}

impl Encap {
    fn configure(args: &mut Args) -> Result<(Ipv4Addr, Ipv4Addr), String> {
        Ok((args.read_mp("SRC")?, args.read_mp("DST")?))
    }

    /// Pushes a 20-byte IP header and an ICMP header of `icmp_len` bytes
    /// (zeroed, then `fill` writes its fields) in front of `p`; the
    /// checksums, the IP header and destination annotations, and the next
    /// sequence number.
    fn encap(
        &mut self,
        p: &mut Packet,
        icmp_len: usize,
        fill: impl FnOnce(&mut [u8], u16),
    ) -> bool {
        let len = p.len() + 20 + icmp_len;
        let Ok(h) = p.push(20 + icmp_len) else {
            return false;
        };
        let (ip, icmp) = h.split_at_mut(20);
        ip.fill(0);
        ip[0] = 0x45;
        put16(ip, 2, len as u16);
        put16(ip, 4, self.seq);
        ip[8] = 255;
        ip[9] = IP_PROTO_ICMP;
        ip[12..16].copy_from_slice(&self.src.octets());
        ip[16..20].copy_from_slice(&self.dst.octets());
        let sum = cksum(ip);
        put16(ip, 10, sum);
        icmp.fill(0);
        fill(icmp, self.seq);
        if let Ok(d) = p.data_mut() {
            let sum = cksum(&d[20..]);
            put16(d, 22, sum);
        }
        p.anno_mut().set_dst_ip(self.dst);
        let _ = p.set_network_header(0, 20);
        self.seq = self
            .seq
            .wrapping_add(if self.seq == 0xffff { 2 } else { 1 });
        true
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "src" => Some(self.src.to_string()),
            "dst" => Some(self.dst.to_string()),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str) -> Result<(), String> {
        let a: Ipv4Addr = Args::new(value.trim())
            .read_mp("ADDR")
            .map_err(|_| "syntax error".to_string())?;
        match name {
            "src" => self.src = a,
            "dst" => self.dst = a,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}

const HANDLERS: &[Handler] = &[Handler::read_write("src"), Handler::read_write("dst")];

/// `ICMPPingEncap(SRC, DST [, *keyword* IDENTIFIER])`: puts an ICMP echo
/// request header and an IP header in front of each packet: source SRC,
/// destination DST, TTL 255, identifier IDENTIFIER (default 0), and a
/// sequence number that is also the IP ID, starting at 1 and going up by
/// one a packet (skipping 0), both checksums set. Sets the IP header and
/// destination IP annotations. A packet that cannot get the room for the
/// headers is dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst` (read/write).
#[derive(Debug)]
pub struct ICMPPingEncap {
    encap: Encap,
}

impl ElementClass for ICMPPingEncap {
    const CLASS: &'static str = "ICMPPingEncap";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let (src, dst) = Encap::configure(args)?;
        let ident: u16 = args.read("IDENTIFIER")?.unwrap_or(0);
        Ok(ICMPPingEncap {
            encap: Encap {
                src,
                dst,
                ident,
                seq: 1,
            },
        })
    }
}

impl PacketElement for ICMPPingEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let ident = self.encap.ident;
        let ok = self.encap.encap(p, 8, |icmp, seq| {
            icmp[0] = 8;
            put16(icmp, 4, ident);
            put16(icmp, 6, seq);
        });
        if !ok {
            ctx.drop_because("no room for the headers");
            return None;
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.encap.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.encap.write_handler(name, value)
    }
}

/// `ICMPIPEncap(SRC, DST, TYPE [, CODE, *keyword* IDENTIFIER])`: puts an
/// ICMP header of TYPE and CODE (numbers or Click's names, as ICMPError
/// takes them; CODE defaults to 0) and an IP header in front of each
/// packet: source SRC, destination DST, TTL 255, an IP ID starting at 1
/// and going up by one a packet (skipping 0). The ICMP header is 8 bytes
/// (20 for timestamp and timestamp-reply), zero but for its type, code
/// and checksum; for the types with an identifier and a sequence number
/// (echo, echo-reply, timestamp, timestamp-reply, inforeq,
/// inforeq-reply) the identifier is IDENTIFIER (default 0) and the
/// sequence number the IP ID. Sets the IP header and destination IP
/// annotations. A packet that cannot get the room for the headers is
/// dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst` (read/write).
#[derive(Debug)]
pub struct ICMPIPEncap {
    encap: Encap,
    ty: u8,
    code: u8,
}

impl ElementClass for ICMPIPEncap {
    const CLASS: &'static str = "ICMPIPEncap";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let (src, dst) = Encap::configure(args)?;
        let ty: String = args.read_mp("TYPE")?;
        let code: Option<String> = args.read_p("CODE")?;
        let ident: u16 = args.read("IDENTIFIER")?.unwrap_or(0);
        let ty = parse_icmp_type(&ty).map_err(|_| "invalid TYPE".to_string())?;
        let code = parse_icmp_code(ty, code.as_deref().unwrap_or("0"))
            .ok_or_else(|| "invalid CODE".to_string())?;
        Ok(ICMPIPEncap {
            encap: Encap {
                src,
                dst,
                ident,
                seq: 1,
            },
            ty,
            code,
        })
    }
}

impl PacketElement for ICMPIPEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let (ty, code, ident) = (self.ty, self.code, self.encap.ident);
        let len = if matches!(ty, 13 | 14) { 20 } else { 8 };
        let ok = self.encap.encap(p, len, |icmp, seq| {
            icmp[0] = ty;
            icmp[1] = code;
            if matches!(ty, 0 | 8 | 13 | 14 | 15 | 16) {
                put16(icmp, 4, ident);
                put16(icmp, 6, seq);
            }
        });
        if !ok {
            ctx.drop_because("no room for the headers");
            return None;
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.encap.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.encap.write_handler(name, value)
    }
}
