//! RatedUnqueue and BandwidthRatedUnqueue: pull packets at a limited rate
//! (of packets, or of bytes) and push them on.

use click_engine::args::Args;
use click_engine::Timer;
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, PULL_TO_PUSH,
};

use click_engine::Batch;

use super::tokenbucket::{TokenBucket, Unit};

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
    unit: Unit,
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
        RatedUnqueue::configure_in(Unit::Packets, args)
    }
}

impl RatedUnqueue {
    fn configure_in(unit: Unit, args: &mut Args) -> Result<Self, String> {
        let (rate, burst) = unit.read_rate(args)?;
        let active = args.read("ACTIVE")?.unwrap_or(true);
        Ok(RatedUnqueue {
            unit,
            rate,
            burst,
            bucket: Self::bucket(rate, burst),
            active,
            count: 0,
            upstream: NotifierSignal::always(),
        })
    }

    fn bucket(rate: u64, burst: u32) -> TokenBucket {
        TokenBucket::new(rate.min(u64::from(u32::MAX)) as u32, burst)
    }

    /// Pulls what the bucket allows now: as many packets as it holds
    /// tokens, or, counting bytes, one packet at a time while it holds the
    /// threshold (each taking its length out).
    fn pull_allowed(&mut self, ctx: &mut Ctx<'_>) -> Option<Batch> {
        if self.unit == Unit::Packets {
            let batch = ctx.pull(0, self.bucket.tokens() as usize)?;
            self.bucket.remove(batch.len() as u32);
            return Some(batch);
        }
        let mut out = Batch::new();
        while !out.is_full() && self.bucket.contains(self.unit.threshold()) {
            let Some(batch) = ctx.pull(0, 1) else { break };
            for p in batch {
                self.bucket.remove(self.unit.cost(p.len()));
                out.push(p);
            }
        }
        (!out.is_empty()).then_some(out)
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
        let need = self.unit.threshold();
        if !self.bucket.contains(need) {
            if let Some(wait) = self.bucket.time_until_contains(need) {
                ctx.schedule_at(now + wait);
            }
            ctx.sleep();
            return false;
        }
        match self.pull_allowed(ctx) {
            Some(batch) => {
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

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
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
                self.rate = self.unit.parse_rate(value)?;
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

/// `BandwidthRatedUnqueue(RATE, *keywords* BURST_DURATION, BURST_BYTES,
/// ACTIVE)`: RatedUnqueue with RATE a bandwidth (`200Bps`, `1Mbps`): the
/// bucket counts bytes (capacity BURST_BYTES, or RATE × BURST_DURATION,
/// plus 131072), a packet goes when it holds 131072 bytes, and takes its
/// length out, as Click's does.
///
/// * Ports: 1 pull input, 1 push output.
/// * Handlers: as RatedUnqueue's (`rate` in bytes per second).
pub struct BandwidthRatedUnqueue(RatedUnqueue);

impl ElementClass for BandwidthRatedUnqueue {
    const CLASS: &'static str = "BandwidthRatedUnqueue";
    const PROCESSING: &'static str = PULL_TO_PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        RatedUnqueue::configure_in(Unit::Bytes, args).map(BandwidthRatedUnqueue)
    }
}

forward_element!(BandwidthRatedUnqueue);
