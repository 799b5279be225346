//! RatedSource: emits clones of one packet at a steady rate.

use std::time::{Duration, Instant};

use click_engine::args::{Args, Bytes};
use click_engine::Timer;

use super::sourcedata::{packet_data, stamped_clones};
use click_engine::packet::{Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Packet, Port,
};

/// `RatedSource([DATA, RATE, LIMIT, ACTIVE, *keywords* LENGTH, DATASIZE,
/// STOP])`: emits clones of one packet (DATA, or LENGTH bytes of it) at
/// RATE packets per second (default 10), the first at once, until LIMIT
/// packets (-1, the default: no limit); then, with STOP, stops the router.
/// Each packet gets the current timestamp. In push context a task emits
/// the packets that are due and sleeps on a timer until the next one is;
/// it also pauses while the queue downstream is full. In pull context it
/// answers pulls with the packets that are due.
///
/// * Ports: no inputs, 1 output, agnostic.
/// * Handlers: `count`, `data`, `length` (read); `rate`, `limit`, `active`
///   (read/write); `reset` (write).
pub struct RatedSource {
    template: Option<Packet>,
    data: Vec<u8>,
    rate: u64,
    limit: Option<u64>,
    active: bool,
    stop: bool,
    stopped: bool,
    count: u64,
    /// Start of the current pacing period and packets sent since.
    epoch: Option<Instant>,
    sent: u64,
    pushes: bool,
    room: NotifierSignal,
}

impl ElementClass for RatedSource {
    const CLASS: &'static str = "RatedSource";
    const PORT_COUNT: &'static str = "0/1";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let data: Option<Bytes> = args.read_p("DATA")?;
        let rate: u64 = args.read_p("RATE")?.unwrap_or(10);
        let limit: i64 = args.read_p("LIMIT")?.unwrap_or(-1);
        let active = args.read_p("ACTIVE")?.unwrap_or(true);
        let length: Option<usize> = args.read("LENGTH")?.or(args.read("DATASIZE")?);
        let stop = args.read("STOP")?.unwrap_or(false);
        let data = packet_data(data.as_ref().map(|b| &b.0[..]), length);
        Ok(RatedSource {
            template: None,
            data,
            rate,
            limit: u64::try_from(limit).ok(),
            active,
            stop,
            stopped: false,
            count: 0,
            epoch: None,
            sent: 0,
            pushes: ctx.output_is_push(0),
            room: NotifierSignal::always(),
        })
    }
}

impl RatedSource {
    /// Packets due at `now`, at most `max`, within the limit.
    fn due(&mut self, now: Instant, max: usize) -> usize {
        if self.rate == 0 {
            return 0;
        }
        let epoch = *self.epoch.get_or_insert(now);
        let elapsed = now.saturating_duration_since(epoch).as_nanos();
        let allowed = (elapsed * self.rate as u128 / 1_000_000_000) as u64 + 1;
        let mut n = allowed.saturating_sub(self.sent);
        if let Some(limit) = self.limit {
            n = n.min(limit.saturating_sub(self.count));
        }
        n.min(max as u64) as usize
    }

    /// When the next packet is due.
    fn next_due(&self) -> Option<Instant> {
        let epoch = self.epoch?;
        let nanos = self.sent as u128 * 1_000_000_000 / self.rate.max(1) as u128;
        Some(epoch + Duration::from_nanos(nanos.min(u64::MAX as u128) as u64))
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.count >= l)
    }

    fn clones(&mut self, n: usize, now: Timestamp) -> Batch {
        let batch = stamped_clones(self.template.as_ref(), n, Some(now));
        self.count += batch.len() as u64;
        self.sent += batch.len() as u64;
        batch
    }

    fn stop_once(&mut self, ctx: &mut Ctx<'_>) {
        if self.stop && !self.stopped {
            self.stopped = true;
            ctx.stop_router();
        }
    }

    /// Restarts pacing (after a pause or a rate change).
    fn restart(&mut self) {
        self.epoch = None;
        self.sent = 0;
    }
}

impl Element for RatedSource {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.template = Some(Packet::from_slice(&self.data).map_err(|e| e.to_string())?);
        if self.pushes {
            self.room = ctx.downstream_full_signal(0);
            if !self.active {
                ctx.start_unscheduled();
            }
        }
        Ok(())
    }

    fn has_task(&self) -> bool {
        self.pushes
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || !self.room.active() {
            // Pacing restarts when the pause ends: no catch-up burst.
            self.restart();
            ctx.sleep();
            return false;
        }
        if self.limit_reached() {
            self.stop_once(ctx);
            ctx.sleep();
            return false;
        }
        let n = self.due(ctx.now(), BATCH_CAPACITY);
        if n == 0 {
            if let Some(at) = self.next_due() {
                ctx.schedule_at(at);
            }
            ctx.sleep();
            return false;
        }
        let batch = self.clones(n, ctx.timestamp());
        if batch.is_empty() {
            return false; // pool exhausted: try again next run
        }
        ctx.push(0, batch);
        true
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        ctx.wake_task();
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        if !self.active {
            return None;
        }
        if self.limit_reached() {
            self.stop_once(ctx);
            return None;
        }
        let n = self.due(ctx.precise_now(), max);
        (n > 0)
            .then(|| self.clones(n, ctx.timestamp()))
            .filter(|b| !b.is_empty())
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("data"),
            Handler::read("length"),
            Handler::read_write("rate"),
            Handler::read_write("limit"),
            Handler::read_write("active"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self.count.to_string(),
            "data" => String::from_utf8_lossy(&self.data).into_owned(),
            "length" => self.data.len().to_string(),
            "rate" => self.rate.to_string(),
            "limit" => self.limit.map_or("-1".into(), |l| l.to_string()),
            "active" => self.active.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "rate" => self.rate = Args::new(value).read_mp("RATE")?,
            "limit" => {
                let limit: i64 = Args::new(value).read_mp("LIMIT")?;
                self.limit = u64::try_from(limit).ok();
            }
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            "reset" => {
                self.count = 0;
                self.stopped = false;
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        self.restart();
        if self.active && self.pushes {
            ctx.wake_task();
        }
        Ok(())
    }
}
