//! PaintTee: copies packets of one colour to a second output.

use click_engine::args::Args;
use click_engine::Threads;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Port};

use super::paint::ByteAnno;

/// `PaintTee(COLOR [, ANNO])`: sends every packet out of output 0, and a
/// clone of each packet whose paint annotation (or one-byte annotation
/// ANNO, as for [`Paint`](crate::Paint)) equals COLOR out of output 1,
/// before the packet itself goes on. Click's use: with Paint and
/// ICMPError, to send redirects for packets leaving by the interface they
/// came in on. Clones that cannot be made (packet pool exhausted) are
/// counted as drops.
///
/// * Ports: 1 input, 2 outputs; input and output 0 agnostic, output 1
///   push.
/// * Handlers: `color` (read/write).
#[derive(Debug)]
pub struct PaintTee {
    color: u8,
    anno: ByteAnno,
}

impl ElementClass for PaintTee {
    const CLASS: &'static str = "PaintTee";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1/2";
    const PROCESSING: &'static str = "a/ah";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let color = args.read_mp("COLOR")?;
        let anno = ByteAnno::read_p(args)?;
        Ok(PaintTee { color, anno })
    }
}

impl PaintTee {
    /// Pushes clones of the packets of `batch` painted COLOR to output 1.
    #[inline]
    fn tee(&self, batch: &Batch, ctx: &mut Ctx<'_>) {
        let mut clones = Batch::new();
        let mut failed = 0;
        for p in batch
            .iter()
            .filter(|p| self.anno.get(p.anno()) == self.color)
        {
            match p.try_clone() {
                Some(c) => clones.push(c),
                None => failed += 1,
            }
        }
        ctx.count_drops(failed);
        if !clones.is_empty() {
            ctx.push(1, clones);
        }
    }
}

impl Element for PaintTee {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.tee(&batch, ctx);
        ctx.push(0, batch);
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max)?;
        self.tee(&batch, ctx);
        Some(batch)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("color")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "color").then(|| self.color.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "color" => {
                self.color = Args::new(value).read_mp("COLOR")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
