//! Pad: extends packets' length.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// `Pad([LENGTH, *keywords* ZERO])`: extends each packet to at least
/// LENGTH bytes at its end; without LENGTH (or with 0), by the packet's
/// `EXTRA_LENGTH` annotation, so that what [`Truncate`](crate::Truncate)
/// or a capture cut comes back as that many bytes. The annotation is 0
/// afterwards either way. With ZERO true (the default) the added bytes
/// are zeros; with ZERO false they are whatever the buffer held. A packet
/// that cannot grow (past the longest packet) is dropped and counted.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `nbytes` (read/write): LENGTH.
#[derive(Debug)]
pub struct Pad {
    nbytes: usize,
    zero: bool,
}

impl ElementClass for Pad {
    const CLASS: &'static str = "Pad";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Pad {
            nbytes: args.read_p("LENGTH")?.unwrap_or(0),
            zero: args.read("ZERO")?.unwrap_or(true),
        })
    }
}

impl PacketElement for Pad {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let add = if self.nbytes != 0 {
            self.nbytes.saturating_sub(p.len())
        } else {
            p.anno().extra_length() as usize
        };
        if add != 0 {
            let tail = p.put(add).ok()?;
            if self.zero {
                tail.fill(0);
            }
        }
        p.anno_mut().set_extra_length(0);
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
                self.nbytes = Args::new(value).read_p("LENGTH")?.unwrap_or(0);
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
