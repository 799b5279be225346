//! SetTimestamp: stamps packets with the time, or a fixed time.

use std::time::Duration;

use click_engine::args::Args;
use click_engine::packet::Timestamp;
use click_engine::Threads;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Port};

/// `SetTimestamp([TIMESTAMP, FIRST])`: sets each packet's timestamp
/// annotation to TIMESTAMP (seconds since the epoch, `1000.5`), or when
/// it is not given to the time the packet passes (the router's clock: the
/// simulated one under `--simtime`). `FIRST true` sets the
/// `FIRST_TIMESTAMP` annotation instead. Click's `DELTA` is an error, as
/// in Click: use SetTimestampDelta. Unlike Click, a batch is stamped with
/// one reading of the clock.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct SetTimestamp {
    /// The fixed time, or `None` for the time of passage.
    time: Option<Timestamp>,
    first: bool,
}

impl ElementClass for SetTimestamp {
    const CLASS: &'static str = "SetTimestamp";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let time = args.read_p::<Duration>("TIMESTAMP")?.map(Timestamp::from);
        let first = args.read("FIRST")?.unwrap_or(false);
        if args.read("DELTA")?.unwrap_or(false) {
            return Err(
                "SetTimestamp(DELTA) is deprecated, use SetTimestampDelta(TYPE FIRST)".into(),
            );
        }
        Ok(SetTimestamp { time, first })
    }
}

impl SetTimestamp {
    #[inline]
    fn stamp(&self, batch: &mut Batch, ctx: &Ctx<'_>) {
        let t = self.time.unwrap_or_else(|| ctx.timestamp());
        for p in batch.iter_mut() {
            if self.first {
                p.anno_mut().set_first_timestamp(t);
            } else {
                p.anno_mut().set_timestamp(t);
            }
        }
    }
}

impl Element for SetTimestamp {
    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        self.stamp(&mut batch, ctx);
        ctx.push(0, batch);
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut batch = ctx.pull(0, max)?;
        self.stamp(&mut batch, ctx);
        Some(batch)
    }
}
