//! InputSwitch: lets packets in from one input, chosen by a handler.

use click_engine::args::Args;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Port, PUSH};

use super::portselector::PortSelector;

/// `InputSwitch([INPUT])`: pushes packets arriving on input INPUT (default
/// 0) to its output and drops, counting them, those arriving on any other
/// input; a negative INPUT, or one beyond the inputs, drops all. Writing
/// the `switch` handler changes the input.
///
/// * Ports: any number of push inputs, 1 push output.
/// * Handlers: `switch` (read/write).
#[derive(Debug)]
pub struct InputSwitch {
    input: PortSelector,
}

impl ElementClass for InputSwitch {
    const CLASS: &'static str = "InputSwitch";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(InputSwitch {
            input: PortSelector::configure(args, "INPUT", ctx.ninputs())?,
        })
    }
}

impl Element for InputSwitch {
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        if self.input.port() == Some(port) {
            ctx.push(0, batch);
        } else {
            ctx.count_drops(batch.len());
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("switch")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.input.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.input.write_handler(name, value)
    }
}
