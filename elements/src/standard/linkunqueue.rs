//! LinkUnqueue: pulls packets and delays them as a serial link would.

use std::collections::VecDeque;
use std::time::Duration;

use click_engine::args::{format_seconds, Args, Bandwidth};
use click_engine::packet::{Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Packet,
    Timer, PULL_TO_PUSH,
};

/// Packets the link has room for from the start (reserved in
/// `initialize`); it grows past that, allocating, only when more are ever
/// on it at once, so the hot path stops allocating once warmed up.
const INITIAL_ROOM: usize = 64;

/// `LinkUnqueue(LATENCY, BANDWIDTH)`: emulates a serial link. It pulls a
/// packet when the link has room for it, and pushes it out once it has
/// crossed: LATENCY after it entered the link plus the time its bytes
/// (length plus the extra-length annotation) take at BANDWIDTH, and no
/// sooner than its own transmission can start after the packets ahead of
/// it. Packets pulled back to back are sent back to back. Each packet
/// leaves with its timestamp set to the time it arrives at the far end.
///
/// It holds only the packets on the link, pulling the next one when the
/// last one in has finished entering it; put a Queue before it to emulate a
/// link fed by a queue. It sleeps on a timer until the next event, and on
/// the notifier upstream when the link is empty and there is nothing to
/// pull. Transmission times are counted in whole microseconds, as Click
/// counts them; BANDWIDTH is at least 100 bytes per second.
///
/// * Ports: 1 pull input, 1 push output.
/// * Handlers: `latency`, `bandwidth` (read/write: a write empties the
///   link), `size` (read: packets on the link), `reset` (write: drops the
///   packets on the link).
pub struct LinkUnqueue {
    latency: Duration,
    /// Click's units: BANDWIDTH in hundreds of bytes per second.
    hundreds_bps: u64,
    /// Packets on the link, oldest first, timestamped with the time they
    /// reach its far end.
    link: VecDeque<Packet>,
    /// Whether the last packet pulled followed the one before with no
    /// gap (its transmission starts when that one's ends).
    back_to_back: bool,
    upstream: NotifierSignal,
}

impl ElementClass for LinkUnqueue {
    const CLASS: &'static str = "LinkUnqueue";
    const PROCESSING: &'static str = PULL_TO_PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let latency = args.read_mp("LATENCY")?;
        let bandwidth: Bandwidth = args.read_mp("BANDWIDTH")?;
        Ok(LinkUnqueue {
            latency,
            hundreds_bps: hundreds(bandwidth)?,
            link: VecDeque::new(),
            back_to_back: false,
            upstream: NotifierSignal::always(),
        })
    }
}

/// BANDWIDTH in Click's units, hundreds of bytes per second.
fn hundreds(bandwidth: Bandwidth) -> Result<u64, String> {
    if bandwidth.bytes_per_sec() < 100 {
        return Err("bandwidth too small, minimum 100Bps".into());
    }
    Ok(bandwidth.bytes_per_sec() / 100)
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn due(p: &Packet) -> i64 {
    p.anno().timestamp().as_signed_nanos()
}

impl LinkUnqueue {
    /// How long `p` takes to enter the link, in nanoseconds (whole
    /// microseconds, as Click computes it).
    fn transmission(&self, p: &Packet) -> i64 {
        let bytes = p.len() as u64 + u64::from(p.anno().extra_length());
        let usec = bytes * 10_000 / self.hundreds_bps;
        i64::try_from(usec * 1000).unwrap_or(i64::MAX)
    }

    /// Pulls packets while the link has room: the last one in has
    /// finished entering it by `now`. Returns whether any came.
    fn fill(&mut self, now: i64, ctx: &mut Ctx<'_>) -> bool {
        let entry = now.saturating_add(nanos(self.latency));
        let mut worked = false;
        while self.link.back().is_none_or(|last| due(last) <= entry) {
            let Some(mut batch) = ctx.pull(0, 1) else {
                self.back_to_back = false;
                break;
            };
            let Some(mut p) = batch.pop() else {
                break;
            };
            let start = match self.link.back() {
                Some(last) if self.back_to_back => due(last),
                _ => entry,
            };
            let arrival = start.saturating_add(self.transmission(&p));
            p.anno_mut()
                .set_timestamp(Timestamp::from_signed_nanos(arrival));
            self.link.push_back(p);
            worked = true;
            self.back_to_back = true;
        }
        worked
    }

    /// Pushes out the packets that have reached the far end by `now`.
    fn emit(&mut self, now: i64, ctx: &mut Ctx<'_>) -> bool {
        let mut out = Batch::new();
        let mut worked = false;
        while self.link.front().is_some_and(|p| due(p) <= now) {
            if let Some(p) = self.link.pop_front() {
                out.push(p);
            }
            if out.len() == BATCH_CAPACITY {
                ctx.push(0, std::mem::take(&mut out));
            }
            worked = true;
        }
        if !out.is_empty() {
            ctx.push(0, out);
        }
        worked
    }

    /// Sleeps until the next event: the first packet's arrival, or room
    /// for the next one while the upstream may have it.
    fn plan(&mut self, now: i64, ctx: &mut Ctx<'_>) {
        let upstream = self.upstream.active();
        let next = match (self.link.front(), self.link.back()) {
            (Some(first), Some(last)) if upstream => {
                due(first).min(due(last).saturating_sub(nanos(self.latency)))
            }
            (Some(first), _) => due(first),
            // Nothing on the link: poll while the upstream has packets.
            _ if upstream => return,
            _ => {
                ctx.sleep();
                return;
            }
        };
        if next > now {
            ctx.schedule_after(Duration::from_nanos((next - now) as u64));
            ctx.sleep();
        }
    }

    fn reset(&mut self, ctx: &mut Ctx<'_>) {
        self.link.clear();
        self.back_to_back = false;
        ctx.unschedule_timer();
        ctx.wake_task();
    }
}

impl Element for LinkUnqueue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.upstream = ctx.upstream_empty_signal(0);
        self.link
            .try_reserve(INITIAL_ROOM)
            .map_err(|_| "out of memory".to_string())
    }

    fn has_task(&self) -> bool {
        true
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let now = ctx.timestamp().as_signed_nanos();
        let pulled = self.fill(now, ctx);
        let pushed = self.emit(now, ctx);
        self.plan(now, ctx);
        pulled || pushed
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        ctx.wake_task();
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("latency"),
            Handler::read_write("bandwidth"),
            Handler::read("size"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "latency" => format_seconds(self.latency),
            "bandwidth" => (self.hundreds_bps * 100).to_string(),
            "size" => self.link.len().to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "latency" => self.latency = Args::new(value).read_mp("LATENCY")?,
            "bandwidth" => self.hundreds_bps = hundreds(Args::new(value).read_mp("BANDWIDTH")?)?,
            "reset" => {}
            _ => return Err(format!("no write handler '{name}'")),
        }
        self.reset(ctx);
        Ok(())
    }
}
