//! RatedUnqueue: pulls packets at a limited rate and pushes them on.

use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, PULL_TO_PUSH,
};

/// Click's default burst duration.
const DEFAULT_BURST_DURATION: Duration = Duration::from_millis(20);

/// `RatedUnqueue(RATE, *keywords* BURST_DURATION, BURST_SIZE, ACTIVE)`:
/// pulls packets from its input and pushes them out at no more than RATE
/// packets per second, paced by a token bucket holding up to BURST_SIZE
/// tokens (default: RATE × BURST_DURATION, BURST_DURATION defaulting to
/// 20 ms; at least 1). The bucket starts full. With no token, the task
/// sleeps on a timer until one is due; with tokens but nothing to pull, it
/// sleeps until the queue upstream fills.
///
/// * Ports: 1 pull input, 1 push output.
/// * Handlers: `rate`, `active` (read/write); `count`, `burst` (read).
pub struct RatedUnqueue {
    rate: u64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
    active: bool,
    count: u64,
    upstream: NotifierSignal,
}

impl RatedUnqueue {
    fn refill(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate as f64).min(self.burst);
        }
        self.last = Some(now);
    }
}

impl ElementClass for RatedUnqueue {
    const CLASS: &'static str = "RatedUnqueue";
    const PROCESSING: &'static str = PULL_TO_PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let rate: u64 = args.read_mp("RATE")?;
        let duration: Option<Duration> = args.read("BURST_DURATION")?;
        let size: Option<u64> = args.read("BURST_SIZE")?.or(args.read("BURST")?);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let burst = match (duration, size) {
            (Some(_), Some(_)) => {
                return Err("BURST_DURATION and BURST_SIZE are mutually exclusive".into())
            }
            (_, Some(size)) => size as f64,
            (d, None) => (d.unwrap_or(DEFAULT_BURST_DURATION).as_secs_f64() * rate as f64).floor(),
        }
        .max(1.0);
        Ok(RatedUnqueue {
            rate,
            burst,
            tokens: burst,
            last: None,
            active,
            count: 0,
            upstream: NotifierSignal::always(),
        })
    }
}

impl Element for RatedUnqueue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.upstream = ctx.upstream_empty_signal(0);
        if !self.active {
            ctx.start_unscheduled();
        }
        Ok(())
    }

    fn has_task(&self) -> bool {
        true
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || self.rate == 0 {
            ctx.sleep();
            return false;
        }
        let now = ctx.now();
        self.refill(now);
        let avail = self.tokens.floor() as usize;
        if avail == 0 {
            let wait = (1.0 - self.tokens) / self.rate as f64;
            ctx.schedule_at(now + Duration::from_secs_f64(wait.max(0.0)));
            ctx.sleep();
            return false;
        }
        match ctx.pull(0, avail) {
            Some(batch) => {
                self.tokens -= batch.len() as f64;
                self.count += batch.len() as u64;
                ctx.push(0, batch);
                true
            }
            None => {
                if !self.upstream.active() {
                    ctx.sleep();
                }
                false
            }
        }
    }

    fn run_timer(&mut self, ctx: &mut Ctx<'_>) {
        ctx.wake_task();
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("rate"),
            Handler::read_write("active"),
            Handler::read("count"),
            Handler::read("burst"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "rate" => self.rate.to_string(),
            "active" => self.active.to_string(),
            "count" => self.count.to_string(),
            "burst" => self.burst.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "rate" => self.rate = Args::new(value).read_mp("RATE")?,
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        if self.active {
            ctx.wake_task();
        }
        Ok(())
    }
}
