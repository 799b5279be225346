//! PrioSched: pulls from its inputs in strict priority order.

use click_engine::args::Args;
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, InitCtx, NotifierSignal, Port, PULL,
};

/// `PrioSched`: answers each pull from input 0 if it has packets, else
/// from input 1, and so on: strict priority, lower ports first. A batch
/// pull takes all it can from higher priorities before lower ones. Inputs
/// whose queues are known to be empty are skipped.
///
/// * Ports: any number of pull inputs, 1 pull output.
/// * Handlers: none beyond the defaults.
pub struct PrioSched {
    signals: Vec<NotifierSignal>,
}

impl ElementClass for PrioSched {
    const CLASS: &'static str = "PrioSched";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(_args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(PrioSched {
            signals: vec![NotifierSignal::always(); ctx.ninputs()],
        })
    }
}

impl Element for PrioSched {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        for (i, s) in self.signals.iter_mut().enumerate() {
            *s = ctx.upstream_empty_signal(i);
        }
        Ok(())
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let max = max.min(BATCH_CAPACITY);
        let mut out: Option<Batch> = None;
        for i in 0..self.signals.len() {
            let have = out.as_ref().map_or(0, Batch::len);
            if have >= max {
                break;
            }
            if !self.signals[i].active() {
                continue;
            }
            // Keep pulling this input while it delivers.
            while let Some(batch) = {
                let have = out.as_ref().map_or(0, Batch::len);
                (have < max).then(|| ctx.pull(i, max - have)).flatten()
            } {
                match &mut out {
                    None => out = Some(batch),
                    Some(o) => {
                        for p in batch {
                            o.push(p);
                        }
                    }
                }
            }
        }
        out
    }
}
