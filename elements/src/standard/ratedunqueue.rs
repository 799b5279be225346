//! RatedUnqueue: pulls packets at a limited rate and pushes them on.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, PULL_TO_PUSH,
};

use super::tokenbucket::{read_rate, TokenBucket};

/// `RatedUnqueue(RATE, *keywords* BURST_DURATION, BURST_SIZE, ACTIVE)`:
/// pulls packets from its input and pushes them out at no more than RATE
/// packets per second, paced by a token bucket holding up to BURST_SIZE
/// tokens (default: RATE × BURST_DURATION, BURST_DURATION defaulting to
/// 20 ms; at least 1). The bucket starts full and is Click's, to the
/// rounding: tokens are counted in millisecond ticks, so RATE 100 with
/// BURST_SIZE 1 sends a packet every 11 ms, as Click does. With no token,
/// the task sleeps on a timer until one is due; with tokens but nothing to
/// pull, it sleeps until the queue upstream fills.
///
/// * Ports: 1 pull input, 1 push output.
/// * Handlers: `rate`, `active` (read/write); `count`, `burst` (read).
pub struct RatedUnqueue {
    rate: u64,
    burst: u32,
    bucket: TokenBucket,
    active: bool,
    count: u64,
    upstream: NotifierSignal,
}

impl ElementClass for RatedUnqueue {
    const CLASS: &'static str = "RatedUnqueue";
    const PROCESSING: &'static str = PULL_TO_PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let (rate, burst) = read_rate(args)?;
        let active = args.read("ACTIVE")?.unwrap_or(true);
        Ok(RatedUnqueue {
            rate,
            burst,
            bucket: Self::bucket(rate, burst),
            active,
            count: 0,
            upstream: NotifierSignal::always(),
        })
    }
}

impl RatedUnqueue {
    fn bucket(rate: u64, burst: u32) -> TokenBucket {
        TokenBucket::new(rate.min(u64::from(u32::MAX)) as u32, burst)
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
        self.bucket.refill(now);
        let avail = self.bucket.tokens() as usize;
        if avail == 0 {
            if let Some(wait) = self.bucket.time_until_one() {
                ctx.schedule_at(now + wait);
            }
            ctx.sleep();
            return false;
        }
        match ctx.pull(0, avail) {
            Some(batch) => {
                self.bucket.remove(batch.len() as u32);
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
            "rate" => {
                self.rate = Args::new(value).read_mp("RATE")?;
                self.bucket = Self::bucket(self.rate, self.burst);
            }
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        if self.active {
            ctx.wake_task();
        }
        Ok(())
    }
}
