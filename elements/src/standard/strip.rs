//! Strip: removes bytes from the front of packets.

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// `Strip(LENGTH)`: removes LENGTH bytes from the front of each packet
/// (all of it, if the packet is shorter). The bytes stay in the buffer's
/// headroom, so a later [`Unstrip`](crate::Unstrip) brings them back.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `length` (read).
#[derive(Debug)]
pub struct Strip {
    length: usize,
}

impl ElementClass for Strip {
    const CLASS: &'static str = "Strip";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Strip {
            length: args.read_mp("LENGTH")?,
        })
    }
}

impl PacketElement for Strip {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let n = self.length.min(packet.len());
        // Cannot fail: n is within the packet.
        let _ = packet.pull(n);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("length")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "length").then(|| self.length.to_string())
    }
}
