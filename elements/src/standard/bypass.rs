//! Bypass: switches a packet stream through an optional detour at no cost.

use click_engine::args::Args;
use click_engine::Threads;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Port};

/// `Bypass([ACTIVE, *keywords* INLINE])`: while ACTIVE is false (the
/// default) packets go from input 0 to output 0, like Null; while it is
/// true a push Bypass sends them to output 1, and a pull Bypass answers
/// pulls on output 0 from input 1. Packets pushed to input 1 leave on
/// output 0, and pulls on output 1 are answered from input 0, so a detour
/// is written `b [1] -> Print -> [1] b` in push and pull alike.
///
/// As Click's, an inactive (or active) Bypass costs nothing: the engine
/// connects its neighbours straight to each other and re-routes them when
/// `active` is written, so the Bypass itself is never on a packet's path
/// and a detour through it is not a loop. With `INLINE true` it stays on
/// the path instead, like a Switch; a pull detour back into an inline
/// Bypass is then a pull cycle, whose inner pull answers nothing (and is
/// logged once).
///
/// * Ports: 1 or 2 inputs, 1 or 2 outputs, agnostic.
/// * Handlers: `active` (read/write).
#[derive(Debug)]
pub struct Bypass {
    active: bool,
    inline: bool,
    ninputs: usize,
    noutputs: usize,
}

impl ElementClass for Bypass {
    const CLASS: &'static str = "Bypass";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1-2/1-2";
    const FLOW_CODE: &'static str = "xy/[xy]x";
    const FORWARDS: bool = true;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Bypass {
            active: args.read_p("ACTIVE")?.unwrap_or(false),
            inline: args.read("INLINE")?.unwrap_or(false),
            ninputs: ctx.ninputs(),
            noutputs: ctx.noutputs(),
        })
    }
}

impl Bypass {
    /// The output a push on input `port` leaves by.
    fn push_route(&self, port: Port) -> Port {
        match port {
            0 if self.active && self.noutputs > 1 => 1,
            _ => 0,
        }
    }

    /// The input a pull on output `port` is answered from.
    fn pull_route(&self, port: Port) -> Port {
        match port {
            0 if self.active && self.ninputs > 1 => 1,
            _ => 0,
        }
    }
}

impl Element for Bypass {
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        ctx.push(self.push_route(port), batch);
    }

    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        ctx.pull(self.pull_route(port), max)
    }

    fn forwards(&self, push: bool, port: Port) -> Option<Port> {
        match (self.inline, push) {
            (true, _) => None,
            (false, true) => Some(self.push_route(port)),
            (false, false) => Some(self.pull_route(port)),
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("active")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "active").then(|| self.active.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => {
                self.active = Args::new(value).read_mp("ACTIVE")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
