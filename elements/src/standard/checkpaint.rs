//! CheckPaint: separates packets of one colour from the others.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::paint::ByteAnno;

/// `CheckPaint(COLOR [, ANNO])`: passes packets whose paint annotation
/// (or the one-byte annotation ANNO, as for [`Paint`](crate::Paint)) is
/// COLOR on output 0; the others go to output 1 if it is connected, and
/// are otherwise dropped and counted. Pulled, it answers only with
/// packets of the colour and pushes the others out of output 1.
///
/// * Ports: 1 input; output 0 agnostic, output 1 (optional) push.
/// * Handlers: `color` (read/write).
#[derive(Debug)]
pub struct CheckPaint {
    color: u8,
    anno: ByteAnno,
}

impl ElementClass for CheckPaint {
    const CLASS: &'static str = "CheckPaint";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(CheckPaint {
            color: args.read_mp("COLOR")?,
            anno: ByteAnno::read_p(args)?,
        })
    }
}

impl PacketElement for CheckPaint {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        // Output 1 unconnected: the engine drops and counts the packet.
        Some(usize::from(self.anno.get(packet.anno()) != self.color))
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("color")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "color").then(|| self.color.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "color" => self.color = Args::new(value).read_mp("COLOR")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
