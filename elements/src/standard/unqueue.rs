//! Unqueue: a task that pulls packets and pushes them on.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, PULL_TO_PUSH,
};

/// `Unqueue([BURST, *keywords* ACTIVE, LIMIT])`: each task run pulls up
/// to BURST packets (default 1) from its input and pushes them out. It
/// sleeps while the queues upstream are empty and wakes when one fills.
/// With LIMIT, it stops after that many packets.
///
/// * Ports: 1 pull input, 1 push output.
/// * Handlers: `count`, `burst`, `active` (read); `active`, `reset` (write).
pub struct Unqueue {
    burst: usize,
    active: bool,
    limit: Option<u64>,
    count: u64,
    upstream: NotifierSignal,
}

impl ElementClass for Unqueue {
    const CLASS: &'static str = "Unqueue";
    const PROCESSING: &'static str = PULL_TO_PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let burst: i64 = args.read_p("BURST")?.unwrap_or(1);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let limit: i64 = args.read("LIMIT")?.unwrap_or(-1);
        Ok(Unqueue {
            // Click: a burst of 0 or less means "as many as there are".
            burst: usize::try_from(burst)
                .ok()
                .filter(|&b| b > 0)
                .unwrap_or(usize::MAX),
            active,
            limit: u64::try_from(limit).ok(),
            count: 0,
            upstream: NotifierSignal::always(),
        })
    }
}

impl Element for Unqueue {
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
        if !self.active {
            ctx.sleep();
            return false;
        }
        let mut left = self.burst;
        if let Some(limit) = self.limit {
            left = left.min(limit.saturating_sub(self.count) as usize);
        }
        let wanted = left;
        while left > 0 {
            let Some(batch) = ctx.pull(0, left) else {
                break;
            };
            left -= batch.len();
            self.count += batch.len() as u64;
            ctx.push(0, batch);
        }
        let worked = left < wanted;
        if !worked && (wanted == 0 || !self.upstream.active()) {
            ctx.sleep();
        }
        worked
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("burst"),
            Handler::read_write("active"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self.count.to_string(),
            "burst" => self.burst.to_string(),
            "active" => self.active.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            "reset" => self.count = 0,
            _ => return Err(format!("no write handler '{name}'")),
        }
        if self.active {
            ctx.wake_task();
        }
        Ok(())
    }
}
