//! StaticSwitch: sends every packet to one output fixed by the
//! configuration.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads, PUSH,
};

/// `StaticSwitch(OUTPUT)`: sends every packet out of output OUTPUT. A
/// negative OUTPUT, or one the element does not have, drops every packet
/// (counted). Unlike Switch it cannot be changed while running.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct StaticSwitch {
    output: Option<Port>,
}

impl ElementClass for StaticSwitch {
    const CLASS: &'static str = "StaticSwitch";
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let output: i64 = args.read_mp("OUTPUT")?;
        Ok(StaticSwitch {
            output: usize::try_from(output).ok().filter(|&o| o < ctx.noutputs()),
        })
    }
}

impl PacketElement for StaticSwitch {
    #[inline]
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.output
    }
}
