//! Truncate and Pad: a packet's length cut to a bound, and extended to
//! one or by what was cut (the extra length annotation).

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// Both elements' handler: `nbytes`, their LENGTH.
const NBYTES: &[Handler] = &[Handler::read_write("nbytes")];

/// A write to `nbytes` (`name`): the new LENGTH (for Pad, 0 means "by
/// the extra length").
fn write_nbytes(name: &str, value: &str) -> Result<usize, String> {
    if name != "nbytes" {
        return Err(format!("no write handler '{name}'"));
    }
    Ok(Args::new(value).read_mp("LENGTH")?)
}

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
        NBYTES
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "nbytes").then(|| self.nbytes.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.nbytes = write_nbytes(name, value)?;
        Ok(())
    }
}

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
        NBYTES
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "nbytes").then(|| self.nbytes.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.nbytes = write_nbytes(name, value)?;
        Ok(())
    }
}
