//! Counter: counts packets and bytes passing through.

use click_engine::args::{pop_word, Args, Raw};

use super::handlercall::HandlerCall;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Packet, Port};

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
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `count`, `byte_count` (read), `reset`, `reset_counts` (write).
#[derive(Debug, Default)]
pub struct Counter {
    count: u64,
    byte_count: u64,
    count_call: Option<CountCall>,
    triggered: bool,
}

#[derive(Debug)]
struct CountCall {
    at: u64,
    call: HandlerCall,
}

impl ElementClass for Counter {
    const CLASS: &'static str = "Counter";

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
            count_call,
            ..Counter::default()
        })
    }
}

impl Counter {
    /// Packets that may pass before the count call fires (`None`: no call
    /// pending).
    fn before_call(&self) -> Option<u64> {
        let call = self.count_call.as_ref().filter(|_| !self.triggered)?;
        (call.at > self.count).then(|| call.at - self.count - 1)
    }

    fn count(&mut self, p: &Packet) {
        self.count += 1;
        self.byte_count += p.len() as u64;
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
            batch.iter().for_each(|p| self.count(p));
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
        first.iter().for_each(|p| self.count(p));
        if !first.is_empty() {
            ctx.push(0, first);
        }
        // The call's packet is counted before the call, as in Click.
        if let Some(p) = rest.iter().next() {
            self.count(p);
        }
        self.fire(ctx);
        rest.iter().skip(1).for_each(|p| self.count(p));
        ctx.push(0, rest);
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
        batch.iter().for_each(|p| self.count(p));
        if !self.triggered && self.count_call.as_ref().is_some_and(|c| c.at == self.count) {
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
            "count" => Some(self.count.to_string()),
            "byte_count" => Some(self.byte_count.to_string()),
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
                self.count = 0;
                self.byte_count = 0;
                self.triggered = false;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
