//! SetIPDSCP: sets the Differentiated Services code point.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::hdr::{be16, ip_at, put16, update_cksum};

/// `SetIPDSCP(DSCP)`: sets the DSCP (the upper six bits of the TOS byte)
/// of IP packets, their IP header annotation set, to DSCP (0 to 63),
/// keeping the ECN bits, and updates the header checksum incrementally. A
/// packet whose IP header is not marked (or has fewer than 20 bytes) is
/// dropped ("no IP header").
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `dscp` (read/write, the DSCP argument).
#[derive(Debug)]
pub struct SetIPDSCP {
    dscp: u8,
}

fn parse_dscp(args: &mut Args) -> Result<u8, String> {
    let d: u32 = args.read_mp("DSCP")?;
    if d > 0x3f {
        return Err("diffserv code point out of range".into());
    }
    Ok(d as u8)
}

impl ElementClass for SetIPDSCP {
    const CLASS: &'static str = "SetIPDSCP";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(SetIPDSCP {
            dscp: parse_dscp(args)?,
        })
    }
}

/// Replaces the TOS byte of the header at `off` of `p` with what `f`
/// makes of it and updates the checksum; false if the pool had no room to
/// unshare the packet.
pub(crate) fn set_tos(p: &mut Packet, off: usize, f: impl FnOnce(u8) -> u8) -> bool {
    let Ok(data) = p.data_mut() else {
        return false;
    };
    let h = &mut data[off..off + 20];
    let old = be16(h, 0);
    h[1] = f(h[1]);
    let sum = update_cksum(be16(h, 10), old, be16(h, 0));
    put16(h, 10, sum);
    true
}

impl PacketElement for SetIPDSCP {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let Some(off) = ip_at(p, 20) else {
            ctx.drop_because("no IP header");
            return None;
        };
        let dscp = self.dscp << 2;
        if !set_tos(p, off, |tos| (tos & 0x03) | dscp) {
            ctx.drop_because("pool exhausted");
            return None;
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::keyword("dscp", "DSCP")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "dscp").then(|| self.dscp.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "dscp" => {
                self.dscp = parse_dscp(&mut Args::new(value))?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
