//! TimedSink: pulls one packet every interval and discards it.

use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::Timer;
use click_engine::{ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, PULL};

/// `TimedSink([INTERVAL])`: pulls one packet every INTERVAL (default
/// 0.5 s) from a timer and discards it, whether or not one was there; the
/// pulls keep their pace (each timer is set from the last one's time, not
/// from when it ran).
///
/// * Ports: 1 pull input, no outputs.
/// * Handlers: `interval` (read/write), `count` (read: packets taken).
pub struct TimedSink {
    interval: Duration,
    next: Option<Instant>,
    count: u64,
}

impl ElementClass for TimedSink {
    const CLASS: &'static str = "TimedSink";
    const PORT_COUNT: &'static str = "1/0";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let interval = args
            .read_p("INTERVAL")?
            .unwrap_or(Duration::from_millis(500));
        Ok(TimedSink {
            interval,
            next: None,
            count: 0,
        })
    }
}

impl Element for TimedSink {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let at = ctx.now() + self.interval;
        self.next = Some(at);
        ctx.schedule_after(self.interval);
        Ok(())
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        if let Some(batch) = ctx.pull(0, 1) {
            self.count += batch.len() as u64;
        }
        let at = self.next.unwrap_or_else(|| ctx.now()) + self.interval;
        self.next = Some(at);
        ctx.schedule_at(at);
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("count"), Handler::read_write("interval")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "count" => Some(self.count.to_string()),
            "interval" => Some(click_engine::args::format_seconds(self.interval)),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "interval" => {
                self.interval = Args::new(value).read_mp("INTERVAL")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
