//! PaintSwitch: routes packets by their paint annotation.

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port, PUSH};

use super::paint::ByteAnno;

/// `PaintSwitch([ANNO])`: sends each packet to the output numbered by its
/// paint annotation (or the byte annotation ANNO). Packets painted with a
/// colour that has no output are dropped and counted.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct PaintSwitch {
    anno: ByteAnno,
}

impl ElementClass for PaintSwitch {
    const CLASS: &'static str = "PaintSwitch";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(PaintSwitch {
            anno: ByteAnno::read_p(args)?,
        })
    }
}

impl PacketElement for PaintSwitch {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        // A port with nothing connected is a counted drop in the engine.
        Some(self.anno.get(packet.anno()) as Port)
    }
}
