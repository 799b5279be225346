//! RateMeter: measures the packet rate through it, on a timer.

use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::Timer;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Port};

/// `RateMeter([INTERVAL])`: passes packets unchanged and, every INTERVAL
/// (default 1 s), computes the packet and byte rates over the interval
/// that just ended.
///
/// * Ports: 1 input, 1 output, agnostic (works in push and pull paths).
/// * Handlers: `count`, `byte_count`, `rate` (packets/s), `byte_rate`
///   (bytes/s), `intervals` (how many intervals have ended) (read);
///   `interval` (read/write); `reset` (write).
#[derive(Debug)]
pub struct RateMeter {
    interval: Duration,
    count: u64,
    byte_count: u64,
    /// Start of the current interval and the counts at that moment.
    window: (Instant, u64, u64),
    rate: f64,
    byte_rate: f64,
    intervals: u64,
}

impl ElementClass for RateMeter {
    const CLASS: &'static str = "RateMeter";
    // PORT_COUNT "1/1" and PROCESSING "a/a" are the defaults.

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let interval = args.read_p("INTERVAL")?.unwrap_or(Duration::from_secs(1));
        if interval.is_zero() {
            return Err("INTERVAL must be positive".into());
        }
        // configure only parses: no timers, no clock, no buffers yet.
        Ok(RateMeter {
            interval,
            count: 0,
            byte_count: 0,
            window: (Instant::now(), 0, 0),
            rate: 0.0,
            byte_rate: 0.0,
            intervals: 0,
        })
    }
}

impl RateMeter {
    /// Counts a batch on its way through (push or pull).
    #[inline]
    fn note(&mut self, batch: &Batch) {
        self.count += batch.len() as u64;
        self.byte_count += batch.iter().map(|p| p.len() as u64).sum::<u64>();
    }
}

impl Element for RateMeter {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.window = (Instant::now(), 0, 0);
        ctx.schedule_after(self.interval);
        Ok(())
    }

    #[inline]
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.note(&batch);
        ctx.push(0, batch);
    }

    #[inline]
    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max)?;
        self.note(&batch);
        Some(batch)
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let (start, count, bytes) = self.window;
        let secs = now.saturating_duration_since(start).as_secs_f64();
        if secs > 0.0 {
            self.rate = (self.count - count) as f64 / secs;
            self.byte_rate = (self.byte_count - bytes) as f64 / secs;
        }
        self.intervals += 1;
        self.window = (now, self.count, self.byte_count);
        // Timers are one-shot: re-arm for the next interval.
        ctx.schedule_after(self.interval);
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("byte_count"),
            Handler::read("rate"),
            Handler::read("byte_rate"),
            Handler::read("intervals"),
            Handler::read_write("interval"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self.count.to_string(),
            "byte_count" => self.byte_count.to_string(),
            "rate" => format!("{:.0}", self.rate),
            "byte_rate" => format!("{:.0}", self.byte_rate),
            "intervals" => self.intervals.to_string(),
            "interval" => format!("{}", self.interval.as_secs_f64()),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "interval" => {
                let interval: Duration = Args::new(value).read_mp("INTERVAL")?;
                if interval.is_zero() {
                    return Err("INTERVAL must be positive".into());
                }
                self.interval = interval;
                ctx.schedule_after(interval);
            }
            "reset" => {
                (self.count, self.byte_count) = (0, 0);
                (self.rate, self.byte_rate, self.intervals) = (0.0, 0.0, 0);
                self.window = (ctx.now(), 0, 0);
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
