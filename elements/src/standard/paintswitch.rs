//! PaintSwitch: routes packets by their paint annotation.

use click_engine::args::Args;
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Port, Threads, PUSH};

use super::paint::ByteAnno;

/// The colour that sends a packet to every output.
const ALL: u8 = 0xff;

/// `PaintSwitch([ANNO])`: sends each packet to the output numbered by its
/// paint annotation (or the one-byte annotation ANNO, as for
/// [`Paint`](crate::Paint)). A packet painted 255 goes to every output (a
/// clone to each but the last). Packets painted with a colour that has no
/// output are dropped and counted.
///
/// * Ports: 1 push input, any number of push outputs (up to 255 used).
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct PaintSwitch {
    anno: ByteAnno,
}

impl ElementClass for PaintSwitch {
    const CLASS: &'static str = "PaintSwitch";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(PaintSwitch {
            anno: ByteAnno::read_p(args)?,
        })
    }
}

impl PaintSwitch {
    /// Click's per-packet path, for a batch holding a packet painted 255:
    /// each packet goes out alone, in order.
    #[cold]
    fn push_each(&self, batch: Batch, ctx: &mut Ctx<'_>) {
        let last = ctx.noutputs().saturating_sub(1);
        for p in batch {
            let color = self.anno.get(p.anno());
            if color == ALL {
                for port in 0..last {
                    match p.try_clone() {
                        Some(c) => ctx.push(port, single(c)),
                        None => ctx.count_drops(1),
                    }
                }
                ctx.push(last, single(p));
            } else {
                ctx.push(color as Port, single(p));
            }
        }
    }
}

fn single(p: click_engine::Packet) -> Batch {
    let mut b = Batch::new();
    b.push(p);
    b
}

impl Element for PaintSwitch {
    #[inline]
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let mut verdicts = [0u16; BATCH_CAPACITY];
        let (mut all_zero, mut broadcast) = (true, false);
        for (p, v) in batch.iter().zip(verdicts.iter_mut()) {
            let color = self.anno.get(p.anno());
            broadcast |= color == ALL;
            all_zero &= color == 0;
            *v = color.into();
        }
        if all_zero {
            ctx.push(0, batch);
        } else if broadcast {
            self.push_each(batch, ctx);
        } else {
            // A port with nothing connected is a counted drop in the engine.
            let n = batch.len();
            ctx.push_by_verdict(batch, &verdicts[..n], u16::MAX);
        }
    }
}
