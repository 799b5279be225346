//! Switch: sends every packet to one output, chosen by a handler.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port, PUSH};

/// `Switch([OUTPUT])`: sends every packet to output OUTPUT (default 0).
/// OUTPUT -1, or any value outside the outputs, drops every packet.
/// Writing the `switch` handler changes the output.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `switch` (read/write), `config` reflects the current output.
#[derive(Debug)]
pub struct Switch {
    output: Option<Port>,
    noutputs: usize,
}

impl Switch {
    fn set(&mut self, k: i64) {
        self.output = usize::try_from(k).ok().filter(|&k| k < self.noutputs);
    }
}

impl ElementClass for Switch {
    const CLASS: &'static str = "Switch";
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let k: i64 = args.read_p("OUTPUT")?.unwrap_or(0);
        let mut s = Switch {
            output: None,
            noutputs: ctx.noutputs(),
        };
        s.set(k);
        Ok(s)
    }
}

impl PacketElement for Switch {
    #[inline]
    fn process(&mut self, _packet: &mut Packet) -> Option<Port> {
        self.output
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("switch")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "switch").then(|| self.output.map_or("-1".into(), |k| k.to_string()))
    }

    fn write_handler(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "switch" => {
                let k: i64 = Args::new(value).read_mp("OUTPUT")?;
                self.set(k);
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
