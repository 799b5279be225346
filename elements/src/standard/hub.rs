//! Hub: repeats each packet out of every port but the one it came in on.

use click_engine::args::Args;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Port, Threads, PUSH};

/// `Hub`: an Ethernet hub's repeating. A packet arriving on input *i* leaves
/// on every output but *i* (clones to all but the last of them, the packet
/// itself to the last); with a single port it is dropped. Each packet goes
/// to all its outputs before the next is sent, as in Click. A clone the
/// pool cannot supply is a counted drop.
///
/// * Ports: any number of push inputs, as many push outputs.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct Hub;

impl ElementClass for Hub {
    const CLASS: &'static str = "Hub";
    const PORT_COUNT: &'static str = "-/=";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Hub)
    }
}

fn single(p: click_engine::Packet) -> Batch {
    let mut b = Batch::new();
    b.push(p);
    b
}

impl Element for Hub {
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let outputs = ctx.noutputs();
        // The last output the packet goes to, or none with one port.
        let Some(last) = (0..outputs).rev().find(|&o| o != port) else {
            ctx.count_drops(batch.len());
            return;
        };
        for p in batch {
            for o in (0..last).filter(|&o| o != port) {
                match p.try_clone() {
                    Some(c) => ctx.push(o, single(c)),
                    None => ctx.count_drops(1),
                }
            }
            ctx.push(last, single(p));
        }
    }
}
