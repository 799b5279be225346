//! MarkIPCE: marks IP packets Congestion Experienced.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::hdr::{ip_at, Counts};
use super::setipdscp::set_tos;

/// `MarkIPCE([FORCE])`: sets the ECN field of IP packets (their IP
/// header annotation set) to Congestion Experienced (3) and updates the
/// header checksum incrementally. Packets that are not ECN-capable (ECN
/// field 0) are dropped unless FORCE is true; packets already marked pass
/// untouched. A packet whose IP header is not marked (or has fewer than
/// 20 bytes) is dropped ("no IP header").
///
/// Unlike Click, whose `drops` handler always reads 0, `drops` counts the
/// packets dropped as not ECN-capable.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `drops` (read).
#[derive(Debug)]
pub struct MarkIPCE {
    force: bool,
    drops: Counts<1>,
}

impl ElementClass for MarkIPCE {
    const CLASS: &'static str = "MarkIPCE";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(MarkIPCE {
            force: args.read_p("FORCE")?.unwrap_or(false),
            drops: Counts::new(),
        })
    }
}

impl PacketElement for MarkIPCE {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let Some(off) = ip_at(p, 20) else {
            ctx.drop_because("no IP header");
            return None;
        };
        match p.data()[off + 1] & 0x03 {
            0 if !self.force => {
                self.drops.add(0, 1);
                return None;
            }
            3 => return Some(0),
            _ => {}
        }
        if !set_tos(p, off, |tos| tos | 0x03) {
            ctx.drop_because("pool exhausted");
            return None;
        }
        Some(0)
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.drops.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("drops")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "drops").then(|| self.drops.sum(0).to_string())
    }
}
