//! SetAnnoByte: sets one byte of the annotation area.

use click_engine::args::Args;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};
use click_engine::{Ctx, PacketCtx};

use super::paint::ByteAnno;

/// `SetAnnoByte(ANNO, VALUE)`: sets each packet's annotation byte ANNO to
/// VALUE, 0 to 255. ANNO is a byte offset 0-47 or the name of a one-byte
/// annotation (as for [`Paint`](crate::Paint)). Click calls it obsolete
/// and warns, as we do: `Paint(VALUE, ANNO)` does the same.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `anno` (read: the offset), `value` (read/write).
#[derive(Debug)]
pub struct SetAnnoByte {
    anno: ByteAnno,
    value: u8,
}

impl ElementClass for SetAnnoByte {
    const CLASS: &'static str = "SetAnnoByte";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        tracing::warn!(
            "{}: SetAnnoByte(ANNO, VALUE) is obsolete, use Paint(VALUE, ANNO) instead",
            ctx.name
        );
        let anno = ByteAnno::read_mp(args)?;
        let value = args.read_mp("VALUE")?;
        Ok(SetAnnoByte { anno, value })
    }
}

impl PacketElement for SetAnnoByte {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.anno.set(packet.anno_mut(), self.value);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("anno"), Handler::read_write("value")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "anno" => Some(self.anno.offset().to_string()),
            "value" => Some(self.value.to_string()),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "value" => {
                self.value = Args::new(value).read_mp("VALUE")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
