//! TimeFilter: passes packets whose timestamps fall in a time range.

use click_engine::args::{Args, Raw};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, Port,
};

use super::{unparse_timestamp, SignedTime};
use crate::standard::HandlerCall;

/// How a bound was given: an absolute time, or one relative to the first
/// packet's timestamp or to the router's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    Absolute,
    FirstPacket,
    Start,
    /// END only: INTERVAL, after the start bound.
    AfterStart,
}

/// `TimeFilter([START, END, *keywords* START_DELAY, END_DELAY,
/// START_AFTER, END_AFTER, INTERVAL, STOP, END_CALL])`: passes packets
/// whose timestamps lie in [start, end) on output 0; earlier and later
/// ones go to output 1 if it is connected, else are dropped and counted.
///
/// The start is START (an absolute time), START_DELAY after the router
/// starts, or START_AFTER after the first packet's timestamp (the default,
/// with 0: the first packet's time). The end is END, END_DELAY after the
/// start of the router, END_AFTER after the first packet, or INTERVAL after
/// the start bound; by default there is none. A zero START or END counts
/// as not given, as in Click. At most one of each group may be given.
///
/// When the first packet at or past the end arrives, END_CALL `HANDLER
/// [VALUE]` is written, with `$t` in VALUE replaced by that packet's
/// timestamp; if the call moves the end past the packet (by writing
/// `extend_interval`, `interval` or `end`) the packet passes, and the call
/// repeats while the packet is still late and each call extends the end.
/// STOP true calls the router's `stop` instead. END_CALL and STOP are
/// mutually exclusive. A write that extends the end arms the call again.
///
/// * Ports: 1 input; output 0 agnostic, output 1 (optional) push.
/// * Handlers: `start`, `end`, `interval` (read/write: `interval` is end
///   minus start, and writing it sets the end that far after the start),
///   `extend_interval` (write: moves the end later by the time written).
pub struct TimeFilter {
    first: i64,
    first_base: Base,
    last: i64,
    last_base: Base,
    /// Whether the first packet has fixed the relative bounds.
    ready: bool,
    end_call: Option<HandlerCall>,
    /// Whether the END_CALL may run (once per arming).
    end_call_armed: bool,
}

impl ElementClass for TimeFilter {
    const CLASS: &'static str = "TimeFilter";
    const PORT_COUNT: &'static str = "1/1-2";
    // Output 1 takes rejects at once, pushed even when output 0 is pulled.
    const PROCESSING: &'static str = "a/ah";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let time = |args: &mut Args, kw: &str, p: bool| -> Result<i64, String> {
            let t: Option<SignedTime> = if p { args.read_p(kw)? } else { args.read(kw)? };
            Ok(t.unwrap_or_default().0)
        };
        let start = time(args, "START", true)?;
        let end = time(args, "END", true)?;
        let start_delay = time(args, "START_DELAY", false)?;
        let end_delay = time(args, "END_DELAY", false)?;
        let start_after = time(args, "START_AFTER", false)?;
        let end_after = time(args, "END_AFTER", false)?;
        let interval = time(args, "INTERVAL", false)?;
        let stop = args.read("STOP")?.unwrap_or(false);
        let end_call = args.read::<Raw>("END_CALL")?;
        let (first, first_base) = pick(
            &[
                (start, Base::Absolute),
                (start_delay, Base::Start),
                (start_after, Base::FirstPacket),
            ],
            (0, Base::FirstPacket),
            "START, START_DELAY, and START_AFTER are mutually exclusive",
        )?;
        let (last, last_base) = pick(
            &[
                (end, Base::Absolute),
                (end_after, Base::FirstPacket),
                (end_delay, Base::Start),
                (interval, Base::AfterStart),
            ],
            (i64::MAX, Base::Absolute),
            "END, END_AFTER, END_DELAY, and INTERVAL are mutually exclusive",
        )?;
        let end_call = match end_call {
            Some(_) if stop => return Err("END_CALL and STOP are mutually exclusive".into()),
            Some(Raw(text)) => Some(HandlerCall::parse(&text, "END_CALL")?),
            None if stop => Some(HandlerCall::stop()),
            None => None,
        };
        Ok(TimeFilter {
            first,
            first_base,
            last,
            last_base,
            ready: false,
            end_call_armed: end_call.is_some(),
            end_call,
        })
    }
}

/// The one non-zero bound of `given`, or `default` if none is.
fn pick(given: &[(i64, Base)], default: (i64, Base), clash: &str) -> Result<(i64, Base), String> {
    let mut set = given.iter().filter(|(t, _)| *t != 0);
    let first = set.next().copied();
    if set.next().is_some() {
        return Err(clash.into());
    }
    Ok(first.unwrap_or(default))
}

impl TimeFilter {
    /// Fixes the bounds that are relative to the first packet.
    fn first_packet(&mut self, ts: i64) {
        if self.first_base == Base::FirstPacket {
            self.first = self.first.wrapping_add(ts);
        }
        match self.last_base {
            Base::FirstPacket => self.last = self.last.wrapping_add(ts),
            Base::AfterStart => self.last = self.last.wrapping_add(self.first),
            _ => {}
        }
        self.ready = true;
    }

    /// 0 to pass the packet, 1 to reject it; runs END_CALL when it is the
    /// first at or past the end.
    fn classify(&mut self, p: &Packet, ctx: &mut Ctx<'_>) -> Port {
        let ts = p.anno().timestamp().as_signed_nanos();
        if !self.ready {
            self.first_packet(ts);
        }
        if ts < self.first {
            return 1;
        }
        if ts >= self.last && self.end_call_armed {
            self.run_end_call(ts, ctx);
        }
        usize::from(ts >= self.last)
    }

    /// Calls END_CALL until the end passes `ts`, a call does not re-arm
    /// it, or it stops extending the end.
    fn run_end_call(&mut self, ts: i64, ctx: &mut Ctx<'_>) {
        let Some(call) = self.end_call.clone() else {
            return;
        };
        let t = unparse_timestamp(ts);
        loop {
            let before = self.last;
            self.end_call_armed = false;
            call.call_with_var("t", &t, ctx);
            // The call's writes back into us wait for us to return (we
            // are on the call stack); Click would have applied them
            // inside the call, so apply them now.
            while let Some((handler, value)) = ctx.take_deferred_write_to_self() {
                if let Err(e) = self.write_handler(&handler, &value, ctx) {
                    tracing::warn!("{}: {handler}: {e}", ctx.name());
                }
            }
            if ts < self.last || !self.end_call_armed || self.last <= before {
                return;
            }
        }
    }

    /// Sends each packet of `batch` on by its verdict, keeping their order
    /// (a run at a time); returns the packets for output 0 when `keep`.
    fn route(&mut self, batch: Batch, keep: bool, ctx: &mut Ctx<'_>) -> Batch {
        let mut passed = Batch::new();
        let mut rejected = Batch::new();
        for p in batch {
            if self.classify(&p, ctx) == 0 {
                if !keep && !rejected.is_empty() {
                    self.reject(std::mem::take(&mut rejected), ctx);
                }
                passed.push(p);
            } else {
                if !keep && !passed.is_empty() {
                    ctx.push(0, std::mem::take(&mut passed));
                }
                rejected.push(p);
            }
        }
        if !rejected.is_empty() {
            self.reject(rejected, ctx);
        }
        passed
    }

    fn reject(&self, batch: Batch, ctx: &mut Ctx<'_>) {
        if ctx.noutputs() > 1 {
            ctx.push(1, batch);
        } else {
            ctx.count_drops(batch.len());
        }
    }
}

impl Element for TimeFilter {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let now = ctx.timestamp().as_signed_nanos();
        if self.first_base == Base::Start {
            self.first = self.first.wrapping_add(now);
        }
        if self.last_base == Base::Start {
            self.last = self.last.wrapping_add(now);
        }
        Ok(())
    }

    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let passed = self.route(batch, false, ctx);
        if !passed.is_empty() {
            ctx.push(0, passed);
        }
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max.min(BATCH_CAPACITY))?;
        let passed = self.route(batch, true, ctx);
        (!passed.is_empty()).then_some(passed)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("start"),
            Handler::read_write("end"),
            Handler::read_write("interval"),
            Handler::write("extend_interval"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "start" => unparse_timestamp(self.first),
            "end" => unparse_timestamp(self.last),
            "interval" => unparse_timestamp(self.last.wrapping_sub(self.first)),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let SignedTime(t) = Args::new(value)
            .read_mp("TIME")
            .map_err(|_| "expected time".to_string())?;
        match name {
            "start" => {
                if !self.ready {
                    self.first_packet(t);
                }
                self.first = t;
                return Ok(());
            }
            "end" => {
                self.last = t;
                self.last_base = Base::Absolute;
            }
            "interval" => self.last = self.first.wrapping_add(t),
            "extend_interval" => self.last = self.last.wrapping_add(t),
            _ => return Err(format!("no write handler '{name}'")),
        }
        self.end_call_armed = self.end_call.is_some();
        Ok(())
    }
}
