//! Counter: counts packets and bytes passing through.

use click_engine::args::{pop_word, Args, Raw};

use super::handlercall::HandlerCall;
use click_engine::{
    Batch, ConfigureCtx, CounterSlot, Ctx, Element, ElementClass, Handler, InitCtx, Packet, Port,
    SharedCounters, Threads,
};
use std::sync::Arc;

/// `Counter([*keywords* COUNT_CALL])`: passes packets unchanged, counting
/// them and their bytes.
///
/// `COUNT_CALL "N HANDLER [VALUE]"` writes VALUE to HANDLER (an
/// `element.handler`, looked up first beside the Counter inside its
/// compound, or the global `stop`) when the count reaches N, once until the
/// next reset. As in Click the call happens before the Nth packet goes on,
/// so a batch is split there: packets before it are pushed first, the
/// Nth and later ones after the call.
///
/// Reached from several threads, it counts on each without locks and its
/// handlers show the sums; COUNT_CALL then fires when the sum reaches N,
/// seen at batch boundaries.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `count`, `byte_count` (read), `reset`, `reset_counts` (write).
#[derive(Debug)]
pub struct Counter {
    /// Packets and bytes, one line per instance (one per thread that
    /// reaches it); this is this instance's.
    counts: CounterSlot<2>,
    count_call: Option<CountCall>,
    triggered: bool,
}

#[derive(Debug)]
struct CountCall {
    at: u64,
    call: HandlerCall,
}

const PACKETS: usize = 0;
const BYTES: usize = 1;

impl ElementClass for Counter {
    const CLASS: &'static str = "Counter";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let count_call = match args.read::<Raw>("COUNT_CALL")? {
            None => None,
            Some(Raw(text)) => {
                let (n, rest) = pop_word(&text);
                let at = n
                    .parse::<u64>()
                    .map_err(|_| "COUNT_CALL type mismatch".to_string())?;
                Some(CountCall {
                    at,
                    call: HandlerCall::parse(&rest, "COUNT_CALL")?,
                })
            }
        };
        Ok(Counter {
            counts: CounterSlot::new(Arc::new(SharedCounters::new(1)), 0),
            count_call,
            triggered: false,
        })
    }
}

impl Counter {
    /// Packets that may pass before the count call fires (`None`: no call
    /// pending).
    fn before_call(&self) -> Option<u64> {
        let call = self.count_call.as_ref().filter(|_| !self.triggered)?;
        let count = self.counts.counters().sum(PACKETS);
        (call.at > count).then(|| call.at - count - 1)
    }

    /// Counts the packets, adding to this instance's counters once.
    #[inline]
    fn count<'p>(&mut self, packets: impl Iterator<Item = &'p Packet>) {
        let (n, bytes) = packets.fold((0, 0), |(n, b), p| (n + 1, b + p.len() as u64));
        self.counts.add(PACKETS, n);
        self.counts.add(BYTES, bytes);
    }

    fn fire(&mut self, ctx: &mut Ctx<'_>) {
        self.triggered = true;
        if let Some(c) = &self.count_call {
            // The handler called may read this Counter (a Script printing
            // `c.count`), as in Click.
            ctx.lend_self(self, |ctx| c.call.call(ctx));
        }
    }
}

impl Element for Counter {
    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        let Some(before) = self.before_call().filter(|&b| b < batch.len() as u64) else {
            self.count(batch.iter());
            ctx.push(0, batch);
            return;
        };
        let mut first = Batch::new();
        let mut rest = Batch::new();
        for (i, p) in batch.drain().enumerate() {
            if (i as u64) < before {
                first.push(p);
            } else {
                rest.push(p);
            }
        }
        self.count(first.iter());
        if !first.is_empty() {
            ctx.push(0, first);
        }
        // The call's packet is counted before the call, as in Click.
        self.count(rest.iter().take(1));
        self.fire(ctx);
        self.count(rest.iter().skip(1));
        ctx.push(0, rest);
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        let shared = ctx.shared_state(|| SharedCounters::new(instances))?;
        self.counts = CounterSlot::new(shared, instance);
        Ok(())
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        // The packets before the call's packet leave in a batch of their
        // own; the call's packet alone, after the call.
        let limit = match self.before_call() {
            Some(0) => 1,
            Some(b) => max.min(usize::try_from(b).unwrap_or(max)),
            None => max,
        };
        let batch = ctx.pull(0, limit)?;
        self.count(batch.iter());
        let count = self.counts.counters().sum(PACKETS);
        if !self.triggered && self.count_call.as_ref().is_some_and(|c| c.at == count) {
            self.fire(ctx);
        }
        Some(batch)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("byte_count"),
            Handler::write("reset"),
            Handler::write("reset_counts"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "count" => Some(self.counts.counters().sum(PACKETS).to_string()),
            "byte_count" => Some(self.counts.counters().sum(BYTES).to_string()),
            _ => None,
        }
    }

    fn write_handler(
        &mut self,
        name: &str,
        _value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        match name {
            "reset" | "reset_counts" => {
                self.counts.reset();
                self.triggered = false;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
