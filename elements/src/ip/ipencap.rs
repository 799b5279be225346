//! IPEncap: encapsulates packets in a fixed IP header.

use std::net::Ipv4Addr;
use std::sync::Arc;

use click_engine::args::{ArgContext, Args, FromArg, NoContext};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads,
};

use super::common::{fold, ones_sum};
use super::ip_proto_by_name;

/// `IPEncap(PROTO, SRC, DST, *keywords* TTL, TOS, DSCP, ECT, CE, DF)`:
/// prepends to each packet a 20-byte IP header with protocol PROTO (a
/// number or a name: `tcp`, `udp`, `ipip`...), source SRC and destination
/// DST, marks it as the network header and sets the destination IP
/// annotation to DST. DST `DST_ANNO` takes each packet's destination from
/// its annotation instead. TTL defaults to 250; TOS (a byte) or DSCP
/// (0-62) with ECT (`true`: ECT(1), `2`: ECT(0)) or CE set the type of
/// service byte; DF sets Don't Fragment. The length, a fresh ID and the
/// checksum are filled in per packet. A packet that cannot grow (pool
/// exhausted) is dropped.
///
/// On several threads, each instance numbers its packets in its own
/// stride (instance k of n uses IDs k, k + n, ...), so IDs stay distinct
/// without a shared counter.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst` (read/write, changing the configuration).
pub struct IPEncap {
    /// The header, with length, ID and checksum zero.
    header: [u8; 20],
    use_dst_anno: bool,
    id: u16,
    id_step: u16,
    names: Option<Arc<dyn ArgContext>>,
}

fn proto_of(text: &str) -> Result<u8, String> {
    u8::from_arg(text)
        .ok()
        .or_else(|| ip_proto_by_name(text))
        .ok_or_else(|| "bad IP protocol".to_string())
}

impl IPEncap {
    fn names(&self) -> &dyn ArgContext {
        match &self.names {
            Some(n) => n.as_ref(),
            None => &NoContext,
        }
    }

    fn set_dst(&mut self, text: &str) -> Result<(), String> {
        let text = text.trim();
        if text == "DST_ANNO" {
            self.use_dst_anno = true;
            self.header[16..20].fill(0);
        } else {
            let ip = Ipv4Addr::from_arg_in(text, self.names())
                .map_err(|_| "DST argument should be IP address or 'DST_ANNO'".to_string())?;
            self.use_dst_anno = false;
            self.header[16..20].copy_from_slice(&ip.octets());
        }
        Ok(())
    }
}

impl ElementClass for IPEncap {
    const CLASS: &'static str = "IPEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let proto: String = args.read_mp("PROTO")?;
        let src: Ipv4Addr = args.read_mp("SRC")?;
        let dst: String = args.read_mp("DST")?;
        let tos: Option<i64> = args.read("TOS")?;
        let ttl: Option<u8> = args.read("TTL")?;
        let dscp: Option<i64> = args.read("DSCP")?;
        let ect: Option<String> = args.read("ECT")?;
        let ce: bool = args.read("CE")?.unwrap_or(false);
        let df: bool = args.read("DF")?.unwrap_or(false);
        let proto = proto_of(&proto)?;
        let ect = match ect.as_deref() {
            None => 0,
            Some("2") => 2,
            Some(t) => match bool::from_arg(t) {
                Ok(b) => u8::from(b),
                Err(_) => return Err(format!("bad ECT value '{t}'")),
            },
        };
        if tos.is_some() && dscp.is_some() {
            return Err("cannot set both TOS and DSCP".into());
        }
        if tos.is_some() && (ect != 0 || ce) {
            return Err("cannot set both TOS and ECN bits".into());
        }
        if let Some(t) = tos.filter(|t| !(0..256).contains(t)) {
            return Err(format!("TOS too large; max 255 ({t})"));
        }
        if let Some(d) = dscp.filter(|d| !(0..63).contains(d)) {
            return Err(format!("DSCP too large; max 63 ({d})"));
        }
        if ect != 0 && ce {
            return Err("can set at most one ECN option".into());
        }
        let mut tos_byte = match (tos, dscp) {
            (Some(t), _) => t as u8,
            (None, Some(d)) => (d as u8) << 2,
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
        let mut header = [0u8; 20];
        header[0] = 0x45;
        header[1] = tos_byte;
        if df {
            header[6] = 0x40;
        }
        header[8] = ttl.unwrap_or(250);
        header[9] = proto;
        header[12..16].copy_from_slice(&src.octets());
        let mut e = IPEncap {
            header,
            use_dst_anno: false,
            id: 0,
            id_step: 1,
            names: args.shared_context(),
        };
        e.set_dst(&dst)?;
        Ok(e)
    }
}

impl PacketElement for IPEncap {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        self.id = instance as u16;
        self.id_step = instances.clamp(1, usize::from(u16::MAX)) as u16;
        Ok(())
    }

    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let dst_anno = p.anno().dst_ip().octets();
        let len = p.len() + 20;
        let Ok(h) = p.push(20) else {
            ctx.drop_because("packet pool exhausted");
            return None;
        };
        h.copy_from_slice(&self.header);
        if self.use_dst_anno {
            h[16..20].copy_from_slice(&dst_anno);
        }
        // A length past 65535 cannot be said; Click truncates it too.
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        h[4..6].copy_from_slice(&self.id.to_be_bytes());
        self.id = self.id.wrapping_add(self.id_step);
        let sum = !fold(ones_sum(h, 0));
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        p.anno_mut().set_dst_ip(dst);
        // Inside the 20 bytes just pushed: cannot fail.
        let _ = p.set_network_header(0, 20);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::keyword("src", "SRC"),
            Handler::keyword("dst", "DST"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let h = &self.header;
        Some(match name {
            "src" => Ipv4Addr::new(h[12], h[13], h[14], h[15]).to_string(),
            "dst" if self.use_dst_anno => "DST_ANNO".into(),
            "dst" => Ipv4Addr::new(h[16], h[17], h[18], h[19]).to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "src" => {
                let ip = Ipv4Addr::from_arg_in(value.trim(), self.names())
                    .map_err(|e| format!("SRC: {e}"))?;
                self.header[12..16].copy_from_slice(&ip.octets());
            }
            "dst" => self.set_dst(value)?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
