//! UDPIPEncap: encapsulates packets in fixed UDP and IP headers.

use std::net::Ipv4Addr;
use std::sync::Arc;

use click_engine::args::{ArgContext, Args, FromArg, NoContext, IP_PROTO_UDP};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads,
};

use crate::ip::forward::hdr::{cksum, parse_port, put16, quad, transport_cksum, IdCounter};

/// `UDPIPEncap(SRC, SPORT, DST, DPORT [, CHECKSUM])`: puts UDP and IP
/// headers in front of each packet: source SRC port SPORT, destination DST
/// port DPORT (ports are numbers, PortInfo names, or Click's names:
/// `www`, `dns`, ...), IP ID counting up from 0 (one sequence for the element, on any number
/// of threads), TTL 250, no TOS or fragment bits, the IP checksum, and
/// the UDP checksum unless CHECKSUM is false (then 0), exactly as Click
/// sends them. Sets the IP header annotation, and the destination IP
/// annotation to DST; with DST `DST_ANNO` the destination is the
/// packet's destination IP annotation instead. Strip(28) takes the headers
/// off again. A packet that cannot get the room for the headers is
/// dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `sport`, `dst`, `dport` (read/write: the
///   arguments).
pub struct UDPIPEncap {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    dst_anno: bool,
    checksum: bool,
    id: IdCounter,
    names: Option<Arc<dyn ArgContext>>,
}

impl std::fmt::Debug for UDPIPEncap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UDPIPEncap")
            .field("src", &self.src)
            .field("dst", &self.dst)
            .field("sport", &self.sport)
            .field("dport", &self.dport)
            .finish()
    }
}

impl ElementClass for UDPIPEncap {
    const CLASS: &'static str = "UDPIPEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let src: Ipv4Addr = args.read_mp("SRC")?;
        let sport: String = args.read_mp("SPORT")?;
        let dst: String = args.read_mp("DST")?;
        let dport: String = args.read_mp("DPORT")?;
        let checksum = args.read_p("CHECKSUM")?.unwrap_or(true);
        let dst_anno = dst.starts_with("DST_ANNO");
        let dst = if dst_anno {
            Ipv4Addr::UNSPECIFIED
        } else {
            args.parse::<Ipv4Addr>(&dst)
                .map_err(|_| "bad DST".to_string())?
        };
        Ok(UDPIPEncap {
            src: src.octets(),
            dst: dst.octets(),
            sport: parse_port(&sport, "SPORT", IP_PROTO_UDP, args.context())?,
            dport: parse_port(&dport, "DPORT", IP_PROTO_UDP, args.context())?,
            dst_anno,
            checksum,
            id: IdCounter::new(0),
            names: args.shared_context(),
        })
    }
}

impl PacketElement for UDPIPEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let dst = if self.dst_anno {
            p.anno().dst_ip().octets()
        } else {
            self.dst
        };
        let len = p.len() + 28;
        let Ok(h) = p.push(28) else {
            ctx.drop_because("no room for the headers");
            return None;
        };
        let id = self.id.next();
        let (ip, udp) = h.split_at_mut(20);
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip, 2, len as u16);
        put16(ip, 4, id);
        put16(ip, 6, 0);
        ip[8] = 250;
        ip[9] = 17;
        put16(ip, 10, 0);
        ip[12..16].copy_from_slice(&self.src);
        ip[16..20].copy_from_slice(&dst);
        let sum = cksum(ip);
        put16(ip, 10, sum);
        put16(udp, 0, self.sport);
        put16(udp, 2, self.dport);
        let ulen = (len - 20) as u16;
        put16(udp, 4, ulen);
        put16(udp, 6, 0);
        if self.checksum {
            let data = p.data();
            let sum = transport_cksum(&data[..20], &data[20..], usize::from(ulen));
            if let Ok(d) = p.data_mut() {
                put16(d, 26, sum);
            }
        }
        if !self.dst_anno {
            p.anno_mut().set_dst_ip(Ipv4Addr::from(dst));
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
            Handler::keyword("sport", "SPORT"),
            Handler::keyword("dst", "DST"),
            Handler::keyword("dport", "DPORT"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "src" => Ipv4Addr::from(quad(&self.src, 0)).to_string(),
            "sport" => self.sport.to_string(),
            "dst" => Ipv4Addr::from(quad(&self.dst, 0)).to_string(),
            "dport" => self.dport.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let ctx: &dyn ArgContext = match &self.names {
            Some(c) => c.as_ref(),
            None => &NoContext,
        };
        let v = value.trim();
        let addr = |what: &str| {
            Ipv4Addr::from_arg_in(v, ctx)
                .map(|a| a.octets())
                .map_err(|e| format!("{what}: {e}"))
        };
        match name {
            "src" => self.src = addr("SRC")?,
            "sport" => self.sport = parse_port(v, "SPORT", IP_PROTO_UDP, ctx)?,
            "dst" if v.starts_with("DST_ANNO") => {
                self.dst = [0; 4];
                self.dst_anno = true;
            }
            "dst" => {
                self.dst = addr("DST")?;
                self.dst_anno = false;
            }
            "dport" => self.dport = parse_port(v, "DPORT", IP_PROTO_UDP, ctx)?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
