//! RoundRobinSched: pulls from its inputs in turn.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, InitCtx, NotifierSignal, Port, PULL,
};

/// `RoundRobinSched`: answers each pull with packets taken from its inputs
/// in round-robin order, one packet per input in turn (Click's order even
/// when a whole batch is pulled), skipping inputs whose queues are known
/// to be empty.
///
/// * Ports: any number of pull inputs, 1 pull output.
/// * Handlers: none beyond the defaults.
pub struct RoundRobinSched {
    next: usize,
    signals: Vec<NotifierSignal>,
}

impl ElementClass for RoundRobinSched {
    const CLASS: &'static str = "RoundRobinSched";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(_args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(RoundRobinSched {
            next: 0,
            signals: vec![NotifierSignal::always(); ctx.ninputs()],
        })
    }
}

impl Element for RoundRobinSched {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        for (i, s) in self.signals.iter_mut().enumerate() {
            *s = ctx.upstream_empty_signal(i);
        }
        Ok(())
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let n = self.signals.len();
        let mut out = Batch::new();
        let mut misses = 0;
        while out.len() < max && !out.is_full() && misses < n {
            let i = self.next;
            self.next = (i + 1) % n;
            let got = match self.signals[i].active() {
                true => ctx.pull(i, 1),
                false => None,
            };
            match got {
                Some(batch) => {
                    misses = 0;
                    for p in batch {
                        out.push(p);
                    }
                }
                None => misses += 1,
            }
        }
        (!out.is_empty()).then_some(out)
    }
}
