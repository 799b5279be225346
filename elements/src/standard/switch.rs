//! Switch: sends every packet to one output, chosen by a handler.

use click_engine::args::Args;
use click_engine::Ctx;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port, PUSH};

use super::portselector::PortSelector;

/// `Switch([OUTPUT])`: sends every packet to output OUTPUT (default 0).
/// OUTPUT -1, or any value outside the outputs, drops every packet.
/// Writing the `switch` handler changes the output.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `switch` (read/write), `config` reflects the current output.
#[derive(Debug)]
pub struct Switch {
    output: PortSelector,
}

impl ElementClass for Switch {
    const CLASS: &'static str = "Switch";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Switch {
            output: PortSelector::configure(args, "OUTPUT", ctx.noutputs())?,
        })
    }
}

impl PacketElement for Switch {
    #[inline]
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.output.port()
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::positional("switch", 0)];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.output.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.output.write_handler(name, value)
    }
}
