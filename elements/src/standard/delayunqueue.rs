//! DelayUnqueue: pulls packets and pushes each on once it is old enough.

use std::time::Duration;

use click_engine::args::{format_seconds, Args};
use click_engine::packet::{Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Timer,
    PULL_TO_PUSH,
};

/// `DelayUnqueue(DELAY)`: pulls packets from its input and pushes each
/// out no earlier than DELAY after its timestamp; a packet whose
/// timestamp is unset (under one second, as Click tests it) is stamped
/// with the time it is pulled. Each packet leaves with its timestamp
/// moved on by DELAY. Packets leave in the order they came; the task
/// sleeps on a timer until the first is due, and on the queue upstream
/// when there is nothing to pull.
///
/// * Ports: 1 pull input, 1 push output.
/// * Handlers: `delay` (read/write).
pub struct DelayUnqueue {
    delay: Duration,
    /// Pulled, stamped with the time they are due, not yet sent.
    waiting: Batch,
    upstream: NotifierSignal,
}

impl ElementClass for DelayUnqueue {
    const CLASS: &'static str = "DelayUnqueue";
    const PROCESSING: &'static str = PULL_TO_PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(DelayUnqueue {
            delay: args.read_mp("DELAY")?,
            waiting: Batch::new(),
            upstream: NotifierSignal::always(),
        })
    }
}

impl Element for DelayUnqueue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.upstream = ctx.upstream_empty_signal(0);
        Ok(())
    }

    fn has_task(&self) -> bool {
        true
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut worked = false;
        loop {
            if self.waiting.is_empty() {
                let Some(mut batch) = ctx.pull(0, BATCH_CAPACITY) else {
                    if !self.upstream.active() {
                        ctx.sleep();
                    }
                    return worked;
                };
                let now = ctx.timestamp();
                for p in batch.iter_mut() {
                    let mut ts = p.anno().timestamp();
                    if ts.as_nanos() < 1_000_000_000 {
                        ts = now;
                    }
                    let due = ts.as_nanos().saturating_add(self.delay.as_nanos() as u64);
                    p.anno_mut().set_timestamp(Timestamp::from_nanos(due));
                }
                self.waiting = batch;
            }
            let now = ctx.timestamp();
            let due = self
                .waiting
                .iter()
                .position(|p| p.anno().timestamp() > now)
                .unwrap_or(self.waiting.len());
            if due > 0 {
                let mut rest = std::mem::take(&mut self.waiting);
                let mut out = Batch::new();
                for (i, p) in rest.drain().enumerate() {
                    if i < due {
                        out.push(p);
                    } else {
                        self.waiting.push(p);
                    }
                }
                ctx.push(0, out);
                worked = true;
            }
            if let Some(first) = self.waiting.iter().next() {
                let wait = first.anno().timestamp().as_nanos() - now.as_nanos();
                ctx.schedule_after(Duration::from_nanos(wait));
                ctx.sleep();
                return worked;
            }
        }
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        ctx.wake_task();
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("delay")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "delay").then(|| format_seconds(self.delay))
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "delay" => self.delay = Args::new(value).read_mp("DELAY")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        ctx.wake_task();
        Ok(())
    }
}
