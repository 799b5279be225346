//! CheckLength: splits packets by length.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// `CheckLength(LENGTH)`: sends packets of at most LENGTH bytes to output
/// 0, longer ones to output 1 if it exists (else drops them).
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `length` (read/write).
#[derive(Debug)]
pub struct CheckLength {
    max: usize,
    has_port1: bool,
}

impl ElementClass for CheckLength {
    const CLASS: &'static str = "CheckLength";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let max: u32 = args.read_mp("LENGTH")?;
        Ok(CheckLength {
            max: max as usize,
            has_port1: ctx.noutputs() >= 2,
        })
    }
}

impl PacketElement for CheckLength {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if p.len() <= self.max {
            Some(0)
        } else {
            self.has_port1.then_some(1)
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("length")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "length").then(|| self.max.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "length" => {
                let v: u32 = Args::new(value).read_mp("LENGTH")?;
                self.max = v as usize;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
