//! Discard: drops every packet it receives.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, CounterSlot, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal,
    Port, SharedCounters, Threads,
};
use std::sync::Arc;

/// `Discard([ACTIVE, BURST])`: drops packets. Pushed packets are freed at
/// once; with a pull input, a task pulls up to BURST packets per run while
/// ACTIVE, sleeping while the queues upstream are empty.
///
/// * Ports: 1 input, agnostic; no outputs.
/// * Handlers: `count` (read), `reset_counts` (write), `active` (read/write).
#[derive(Debug)]
pub struct Discard {
    /// Packets discarded, one line per instance (one per thread that
    /// reaches it); this is this instance's.
    count: CounterSlot<1>,
    burst: usize,
    active: bool,
    pulls: bool,
    upstream: NotifierSignal,
}

impl ElementClass for Discard {
    const CLASS: &'static str = "Discard";
    const PORT_COUNT: &'static str = "1/0";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let active = args.read_p("ACTIVE")?.unwrap_or(true);
        let burst: usize = args.read("BURST")?.unwrap_or(1);
        if burst == 0 {
            return Err("BURST must be at least 1".into());
        }
        Ok(Discard {
            count: CounterSlot::new(Arc::new(SharedCounters::new(1)), 0),
            burst,
            active,
            pulls: ctx.input_is_pull(0),
            upstream: NotifierSignal::always(),
        })
    }
}

impl Element for Discard {
    #[inline]
    fn push(&mut self, _port: Port, batch: Batch, _ctx: &mut Ctx<'_>) {
        self.count.add(0, batch.len() as u64);
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        let shared = ctx.shared_state(|| SharedCounters::new(instances))?;
        self.count = CounterSlot::new(shared, instance);
        if self.pulls {
            self.upstream = ctx.upstream_empty_signal(0);
            if !self.active {
                ctx.start_unscheduled();
            }
        }
        Ok(())
    }

    fn has_task(&self) -> bool {
        self.pulls
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active {
            ctx.sleep();
            return false;
        }
        let mut left = self.burst;
        while left > 0 {
            match ctx.pull(0, left) {
                Some(batch) => {
                    left -= batch.len();
                    self.count.add(0, batch.len() as u64);
                }
                None => break,
            }
        }
        let worked = left < self.burst;
        if !worked && !self.upstream.active() {
            ctx.sleep();
        }
        worked
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::write("reset_counts"),
            Handler::read_write("active"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "count" => Some(self.count.counters().sum(0).to_string()),
            "active" => Some(self.active.to_string()),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "reset_counts" => self.count.reset(),
            "active" => {
                self.active = Args::new(value).read_mp("ACTIVE")?;
                if self.active && self.pulls {
                    ctx.wake_task();
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
