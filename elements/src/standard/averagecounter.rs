//! AverageCounter: counts packets and bytes and their average rate.

use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Port};

/// `AverageCounter([IGNORE])`: passes packets unchanged, counting them and
/// their bytes, and the average rate since the first packet went by.
/// Packets in the first IGNORE seconds (default 0) after it are not counted,
/// so that a start-up burst does not skew the rate. Time is measured in
/// milliseconds, as Click's jiffies, and once per batch.
/// `AverageCounterMP` is another name for it (each element runs on one
/// thread here).
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `count`, `byte_count` (read); `rate` (packets per second),
///   `byte_rate`, `bit_rate` (read); `reset` (write).
#[derive(Debug, Default)]
pub struct AverageCounter {
    count: u64,
    byte_count: u64,
    ignore: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl ElementClass for AverageCounter {
    const CLASS: &'static str = "AverageCounter";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let ignore = args.read_p("IGNORE")?.unwrap_or(Duration::ZERO);
        Ok(AverageCounter {
            ignore,
            ..AverageCounter::default()
        })
    }
}

impl AverageCounter {
    fn count(&mut self, batch: &Batch, now: Instant) {
        let first = *self.first.get_or_insert(now);
        if now.duration_since(first) >= self.ignore {
            self.count += batch.len() as u64;
            self.byte_count += batch.iter().map(|p| p.len() as u64).sum::<u64>();
        }
        self.last = Some(now);
    }

    /// `n` per second over the counted time, at least a millisecond.
    fn rate(&self, n: u64) -> String {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return "0".into();
        };
        let ms = last.duration_since(first).as_millis() as u64;
        let ms = ms.saturating_sub(self.ignore.as_millis() as u64).max(1);
        format_g12(n as f64 * 1000.0 / ms as f64)
    }
}

/// A number as C's `%.12g` prints it (Click's `String(double)`).
fn format_g12(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e12 {
        return format!("{}", x as i64);
    }
    let digits = 12 - (x.abs().log10().floor() as i32 + 1);
    let s = format!("{:.*}", digits.clamp(0, 17) as usize, x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl Element for AverageCounter {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.count(&batch, ctx.now());
        ctx.push(0, batch);
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max)?;
        self.count(&batch, ctx.now());
        Some(batch)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("byte_count"),
            Handler::read("rate"),
            Handler::read("byte_rate"),
            Handler::read("bit_rate"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self.count.to_string(),
            "byte_count" => self.byte_count.to_string(),
            "rate" => self.rate(self.count),
            "byte_rate" => self.rate(self.byte_count),
            "bit_rate" => self.rate(self.byte_count * 8),
            _ => return None,
        })
    }

    fn write_handler(
        &mut self,
        name: &str,
        _value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        match name {
            "reset" => {
                *self = AverageCounter {
                    ignore: self.ignore,
                    ..AverageCounter::default()
                };
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_g12;

    #[test]
    fn numbers_print_as_c_g12() {
        assert_eq!(format_g12(1000.0), "1000");
        assert_eq!(format_g12(0.0), "0");
        assert_eq!(format_g12(2.5), "2.5");
        assert_eq!(format_g12(1.0 / 3.0), "0.333333333333");
        assert_eq!(format_g12(12345.678), "12345.678");
    }
}
