//! LengthFilter: routes packets by length.

use click_engine::args::Args;
use click_engine::Ctx;
use click_engine::PacketCtx;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port, PUSH};

/// `LengthFilter(MIN, MAX)`: packets whose length is between MIN and MAX
/// bytes (inclusive) leave on output 0; the others leave on output 1 if it
/// is connected, and are dropped otherwise.
///
/// * Ports: 1 push input; 1 or 2 push outputs.
/// * Config: MIN, MAX (mandatory, positional or by keyword; MIN ≤ MAX).
/// * Handlers: `passed`, `rejected` (read), `min`, `max` (read/write),
///   `reset` (write).
#[derive(Debug)]
pub struct LengthFilter {
    min: usize,
    max: usize,
    /// Whether output 1 exists: decided once, at configure time.
    has_reject_port: bool,
    passed: u64,
    rejected: u64,
}

impl ElementClass for LengthFilter {
    const CLASS: &'static str = "LengthFilter";
    // One input; one or two outputs (Click's "1/1-2").
    const PORT_COUNT: &'static str = "1/1-2";
    // Push only (Click's "h/h"): a per-packet element pulled from can only
    // answer on output 0, so an element with a reject port is a push element
    // (as Click's classifiers are).
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        // Click: Args(conf, this, errh).read_mp("MIN", min).read_mp("MAX", max).complete()
        // (`complete` is called by the engine after `configure` returns).
        let min: usize = args.read_mp("MIN")?;
        let max: usize = args.read_mp("MAX")?;
        check_range(min, max)?;
        Ok(LengthFilter {
            min,
            max,
            has_reject_port: ctx.noutputs() == 2,
            passed: 0,
            rejected: 0,
        })
    }
}

fn check_range(min: usize, max: usize) -> Result<(), String> {
    if min > max {
        return Err(format!("MIN ({min}) is greater than MAX ({max})"));
    }
    Ok(())
}

impl PacketElement for LengthFilter {
    // Called once per packet by the engine's batch loop: no allocation,
    // no locking, no I/O here.
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if (self.min..=self.max).contains(&packet.len()) {
            self.passed += 1;
            Some(0)
        } else {
            self.rejected += 1;
            // `None` drops the packet; the engine counts the drop.
            self.has_reject_port.then_some(1)
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("passed"),
            Handler::read("rejected"),
            Handler::read_write("min"),
            Handler::read_write("max"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "passed" => self.passed.to_string(),
            "rejected" => self.rejected.to_string(),
            "min" => self.min.to_string(),
            "max" => self.max.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "min" | "max" => {
                // Handler values parse like configuration arguments.
                let v: usize = Args::new(value).read_mp(&name.to_uppercase())?;
                let (min, max) = if name == "min" {
                    (v, self.max)
                } else {
                    (self.min, v)
                };
                check_range(min, max)?;
                (self.min, self.max) = (min, max);
            }
            "reset" => (self.passed, self.rejected) = (0, 0),
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
