//! TimedSource: emits one packet every interval, from a timer.

use std::time::Duration;

use click_engine::args::{Args, Bytes};
use click_engine::Timer;

use super::sourcedata::{packet_data, stamped_clones};
use click_engine::{ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, PUSH};

/// `TimedSource([INTERVAL, DATA, *keywords* LIMIT, STOP, ACTIVE])`: pushes
/// a clone of one packet (DATA) every INTERVAL (default 0.5 s), the first
/// one INTERVAL after start, stamped with the current time, until LIMIT
/// packets (-1, the default: no limit). With STOP, the timer firing after
/// the last packet stops the router.
///
/// * Ports: no inputs, 1 push output.
/// * Handlers: `count`, `data` (read); `interval`, `limit`, `active`
///   (read/write); `reset` (write).
pub struct TimedSource {
    template: Option<Packet>,
    data: Vec<u8>,
    interval: Duration,
    limit: Option<u64>,
    active: bool,
    stop: bool,
    count: u64,
}

impl ElementClass for TimedSource {
    const CLASS: &'static str = "TimedSource";
    const PORT_COUNT: &'static str = "0/1";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let interval: Duration = args
            .read_p("INTERVAL")?
            .unwrap_or(Duration::from_millis(500));
        let data: Option<Bytes> = args.read_p("DATA")?;
        let limit: i64 = args.read("LIMIT")?.unwrap_or(-1);
        let stop = args.read("STOP")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        Ok(TimedSource {
            template: None,
            data: packet_data(data.as_ref().map(|b| &b.0[..]), None),
            interval,
            limit: u64::try_from(limit).ok(),
            active,
            stop,
            count: 0,
        })
    }
}

impl Element for TimedSource {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.template = Some(Packet::from_slice(&self.data).map_err(|e| e.to_string())?);
        ctx.schedule_after(self.interval);
        Ok(())
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        if !self.active {
            return;
        }
        if self.limit.is_none_or(|l| self.count < l) {
            let batch = stamped_clones(self.template.as_ref(), 1, Some(ctx.timestamp()));
            self.count += batch.len() as u64;
            ctx.push(0, batch);
            ctx.schedule_after(self.interval);
        } else if self.stop {
            ctx.stop_router();
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("data"),
            Handler::read_write("interval"),
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
            "interval" => click_engine::args::format_seconds(self.interval),
            "limit" => self.limit.map_or("-1".into(), |l| l.to_string()),
            "active" => self.active.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "interval" => self.interval = Args::new(value).read_mp("INTERVAL")?,
            "limit" => {
                let limit: i64 = Args::new(value).read_mp("LIMIT")?;
                self.limit = u64::try_from(limit).ok();
            }
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            "reset" => self.count = 0,
            _ => return Err(format!("no write handler '{name}'")),
        }
        if self.active && ctx.timer_deadline().is_none() {
            ctx.schedule_after(self.interval);
        }
        Ok(())
    }
}
