//! Truncate: limits packets' length.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// `Truncate(LENGTH [, *keywords* EXTRA_LENGTH])`: shortens each packet to
/// at most LENGTH bytes, dropping bytes from its end. With EXTRA_LENGTH
/// true (the default) the bytes cut are added to the packet's
/// `EXTRA_LENGTH` annotation, so that a later element (ToDump, a
/// summary) still knows the packet's whole length.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `nbytes` (read/write): LENGTH.
#[derive(Debug)]
pub struct Truncate {
    nbytes: usize,
    extra_length: bool,
}

impl ElementClass for Truncate {
    const CLASS: &'static str = "Truncate";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Truncate {
            nbytes: args.read_mp("LENGTH")?,
            extra_length: args.read("EXTRA_LENGTH")?.unwrap_or(true),
        })
    }
}

impl PacketElement for Truncate {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let len = p.len();
        if len > self.nbytes {
            if self.extra_length {
                let a = p.anno_mut();
                let cut = u32::try_from(len - self.nbytes).unwrap_or(u32::MAX);
                a.set_extra_length(a.extra_length().saturating_add(cut));
            }
            p.truncate(self.nbytes);
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("nbytes")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "nbytes").then(|| self.nbytes.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "nbytes" => {
                self.nbytes = Args::new(value).read_mp("LENGTH")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
