//! DriverManager: a Script whose TYPE defaults to DRIVER.

use click_engine::args::Args;
use click_engine::Timer;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Port};

use super::script::{Kind, Script};

/// `DriverManager(INSTRUCTIONS...)`: decides when the router stops
/// (Click's DriverManager). Each driver stop event (an element's `STOP
/// true`, a Script's `stop`) steps its script once, so `wait_stop N`
/// (also `pause N`) waits for N of them; the router stops when the script
/// reaches `stop` or its end. Without instructions it waits for one stop
/// event. Instructions and handlers are Script's.
///
/// * Ports: none.
/// * Handlers: as Script.
pub struct DriverManager(Script);

impl ElementClass for DriverManager {
    const CLASS: &'static str = "DriverManager";
    const PORT_COUNT: &'static str = "0/0";
    const PROCESSING: &'static str = click_engine::PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let script = Script::build(args, ctx, Self::CLASS, Kind::Driver)?;
        if script.kind() != Kind::Driver {
            return Err("DriverManager's TYPE must be DRIVER".into());
        }
        Ok(DriverManager(script))
    }
}

impl Element for DriverManager {
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.0.push(port, batch, ctx);
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.0.initialize(ctx)
    }

    fn has_task(&self) -> bool {
        self.0.has_task()
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.0.run_task(ctx)
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        self.0.run_timer(_timer, ctx);
    }

    fn handlers(&self) -> &'static [Handler] {
        self.0.handlers()
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.0.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.0.write_handler(name, value, ctx)
    }
}
