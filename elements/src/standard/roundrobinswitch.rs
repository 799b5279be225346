//! RoundRobinSwitch: sends packets to its outputs in turn.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, PUSH};

/// `RoundRobinSwitch`: sends each packet to the next output in turn:
/// the first to output 0, the second to output 1, and after the last
/// output back to 0.
///
/// * Ports: 1 push input, 1 or more push outputs.
#[derive(Debug)]
pub struct RoundRobinSwitch {
    next: usize,
    n: usize,
}

impl ElementClass for RoundRobinSwitch {
    const CLASS: &'static str = "RoundRobinSwitch";
    const PORT_COUNT: &'static str = "1/1-";
    const PROCESSING: &'static str = PUSH;

    fn configure(_args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(RoundRobinSwitch {
            next: 0,
            n: ctx.noutputs().max(1),
        })
    }
}

impl PacketElement for RoundRobinSwitch {
    #[inline]
    fn process(&mut self, _p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let port = self.next;
        self.next = if port + 1 >= self.n { 0 } else { port + 1 };
        Some(port)
    }
}
