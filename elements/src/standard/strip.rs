//! Strip: removes bytes from the front of packets.

use click_engine::args::Args;
use click_engine::packet::Batch;
use click_engine::Threads;
use click_engine::{ConfigureCtx, Ctx, Element, ElementClass, Handler, Port};

/// `Strip(LENGTH)`: removes LENGTH bytes from the front of each packet
/// (all of it, if the packet is shorter). The bytes stay in the buffer's
/// headroom, so a later [`Unstrip`](crate::Unstrip) brings them back.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `length` (read).
#[derive(Debug)]
pub struct Strip {
    length: usize,
}

impl ElementClass for Strip {
    const CLASS: &'static str = "Strip";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Strip {
            length: args.read_mp("LENGTH")?,
        })
    }
}

impl Strip {
    /// Strips every packet of `batch`. Every packet leaves on output 0, so
    /// the batch is processed whole (no verdict per packet).
    #[inline(always)]
    fn strip(&self, batch: &mut Batch) {
        for p in batch.iter_mut() {
            let n = self.length.min(p.len());
            // Cannot fail: n is within the packet.
            let _ = p.pull(n);
        }
    }
}

impl Element for Strip {
    #[inline]
    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        self.strip(&mut batch);
        ctx.push(0, batch);
    }

    #[inline]
    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut batch = ctx.pull(0, max)?;
        self.strip(&mut batch);
        Some(batch)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("length")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "length").then(|| self.length.to_string())
    }
}
