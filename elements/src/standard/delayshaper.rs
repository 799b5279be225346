//! DelayShaper: answers pulls with packets once they are old enough.

use std::time::Duration;

use click_engine::args::{format_seconds, Args};
use click_engine::packet::{Packet, Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Port, Signal, Timer, PULL,
};

/// Timestamps under a second count as unset (Click tests the seconds).
const UNSET_BELOW: i64 = 1_000_000_000;

/// `DelayShaper(DELAY)`: a pull element that hands out each packet no
/// earlier than DELAY after its timestamp (a packet whose timestamp is
/// unset, under one second, is stamped when it is pulled). It holds at
/// most one packet: a pull before that packet is due gets nothing. Each
/// packet leaves with its timestamp set to the time it leaves.
///
/// Unlike DelayUnqueue it has no task: it provides an *empty* notifier
/// that goes down while its packet waits (a timer raises it when the
/// packet is due) or when the notifiers upstream are down, and a task
/// pulling from it is also woken when those come up (Click's
/// `SEARCH_CONTINUE_WAKE`).
///
/// * Ports: 1 pull input, 1 pull output.
/// * Handlers: `delay` (read/write).
pub struct DelayShaper {
    delay: Duration,
    /// The packet pulled, timestamped with the time it is due.
    held: Option<Packet>,
    nonempty: Signal,
    upstream: NotifierSignal,
}

impl ElementClass for DelayShaper {
    const CLASS: &'static str = "DelayShaper";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(DelayShaper {
            delay: args.read_mp("DELAY")?,
            held: None,
            nonempty: Signal::new(true),
            upstream: NotifierSignal::always(),
        })
    }
}

impl DelayShaper {
    /// The held packet, pulling and stamping one if none is held.
    fn next(&mut self, now: i64, ctx: &mut Ctx<'_>) -> Option<&Packet> {
        if self.held.is_none() {
            let mut p = ctx.pull(0, 1)?.pop()?;
            let mut ts = p.anno().timestamp().as_signed_nanos();
            if (0..UNSET_BELOW).contains(&ts) {
                ts = now;
            }
            let delay = i64::try_from(self.delay.as_nanos()).unwrap_or(i64::MAX);
            let due = ts.saturating_add(delay);
            p.anno_mut()
                .set_timestamp(Timestamp::from_signed_nanos(due));
            self.held = Some(p);
        }
        self.held.as_ref()
    }
}

impl Element for DelayShaper {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.upstream = ctx.upstream_empty_signal(0);
        Ok(())
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let now = ctx.timestamp().as_signed_nanos();
        let mut out = Batch::new();
        while out.len() < max.min(BATCH_CAPACITY) {
            let Some(p) = self.next(now, ctx) else {
                if !self.upstream.active() {
                    self.nonempty.deactivate();
                }
                break;
            };
            let due = p.anno().timestamp().as_signed_nanos();
            if due > now {
                // Sleep until it is due; the timer raises the notifier.
                ctx.schedule_after(Duration::from_nanos((due - now) as u64));
                self.nonempty.deactivate();
                break;
            }
            if let Some(mut p) = self.held.take() {
                p.anno_mut()
                    .set_timestamp(Timestamp::from_signed_nanos(now));
                out.push(p);
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn run_timer(&mut self, _timer: Timer, _ctx: &mut Ctx<'_>) {
        self.nonempty.activate();
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty).then(|| self.nonempty.clone())
    }

    fn notifier_passes_wakeups(&self, kind: NotifierKind) -> bool {
        kind == NotifierKind::Empty
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("delay")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "delay").then(|| format_seconds(self.delay))
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "delay" => self.delay = Args::new(value).read_mp("DELAY")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
