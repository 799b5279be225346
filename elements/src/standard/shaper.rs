//! Shaper and BandwidthShaper: let pulls through at most RATE packets, or
//! bytes, per second.

use click_engine::args::{Args, Raw};
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Port, PULL};

use super::gaprate::GapRate;
use super::tokenbucket::Unit;

/// `Shaper(RATE)`: a pull element that lets at most RATE packets per
/// second through output 0, paced as Click's GapRate paces them (one
/// packet each 1/RATE s, little burst). A pull that comes too early gets
/// nothing, so the pacing depends on the pulls: evenly spaced ones give a
/// smooth RATE. A second output, if connected, gets exactly the packets
/// that pulls on output 0 could not take: a pull on output 1 succeeds only
/// while output 0 is held back.
///
/// * Ports: 1 pull input, 1 or 2 pull outputs.
/// * Handlers: `rate` (read/write; a write also rewrites `config`),
///   `reset` (write: forget the past, as after a pause).
pub struct Shaper {
    unit: Unit,
    gap: GapRate,
}

impl ElementClass for Shaper {
    const CLASS: &'static str = "Shaper";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Shaper::configure_in(Unit::Packets, args)
    }
}

impl Shaper {
    fn configure_in(unit: Unit, args: &mut Args) -> Result<Self, String> {
        let Raw(rate) = args.read_mp("RATE")?;
        let rate = read_rate(unit, &rate)?;
        Ok(Shaper {
            unit,
            gap: GapRate::new(rate),
        })
    }

    /// Bytes: one packet at a time while the bytes sent are behind.
    fn pull_bytes(&mut self, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut out = Batch::new();
        while out.len() < max && self.gap.due(ctx.timestamp()) > 0 {
            let Some(mut batch) = ctx.pull(0, 1) else {
                break;
            };
            for p in batch.drain() {
                self.gap.update(p.len() as u64);
                out.push(p);
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// RATE as the unit reads it (a count, or a bandwidth such as `100kbps`).
fn read_rate(unit: Unit, text: &str) -> Result<u32, String> {
    let rate = unit.parse_rate(text)?;
    Ok(u32::try_from(rate).unwrap_or(u32::MAX))
}

impl Element for Shaper {
    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        if self.unit == Unit::Bytes {
            return self.pull_bytes(max, ctx);
        }
        let due = self.gap.due(ctx.timestamp());
        match port {
            0 if due > 0 => {
                let batch = ctx.pull(0, max.min(usize::try_from(due).unwrap_or(max)))?;
                self.gap.update(batch.len() as u64);
                Some(batch)
            }
            1 if due == 0 => ctx.pull(0, max),
            _ => None,
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::positional("rate", 0), Handler::write("reset")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "rate").then(|| self.gap.rate().to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "rate" => {
                let rate = read_rate(self.unit, value)?;
                self.gap.set_rate(rate, ctx.timestamp());
            }
            "reset" => self.gap.reset(),
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}

/// `BandwidthShaper(RATE)`: Shaper for bytes: lets pulls through at most
/// RATE (a bandwidth: `12500Bps`, `100kbps`, ...) per second, paced by
/// Click's GapRate counting each packet's length; a packet goes whenever
/// the bytes sent so far are behind the rate, so one packet may overshoot
/// it, and the next ones wait.
///
/// * Ports: 1 pull input, 1 pull output.
/// * Handlers: `rate` (read/write, bytes per second; a write also rewrites
///   `config`), `reset` (write).
pub struct BandwidthShaper(Shaper);

impl ElementClass for BandwidthShaper {
    const CLASS: &'static str = "BandwidthShaper";
    const PORT_COUNT: &'static str = "1/1";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Shaper::configure_in(Unit::Bytes, args).map(BandwidthShaper)
    }
}

forward_element!(BandwidthShaper);
