//! PullSwitch and SimplePullSwitch: answer pulls from one input, chosen by
//! a handler.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Port, Signal, PULL,
};

use super::portselector::PortSelector;

/// `PullSwitch([INPUT])`: answers every pull by pulling input INPUT
/// (default 0); a negative INPUT, or one beyond the inputs, answers
/// nothing. Writing the `switch` handler changes the input.
///
/// Unlike SimplePullSwitch it has an *empty* notifier that follows the
/// selected input: it goes down when a pull finds nothing there and the
/// notifiers upstream of that input are down, and comes back up when the
/// input is switched to one whose upstream has packets. A task pulling
/// from it therefore sleeps while the selected input is dormant, and is
/// woken by the notifiers behind every input (Click's
/// `SEARCH_CONTINUE_WAKE`).
///
/// * Ports: any number of pull inputs, 1 pull output.
/// * Handlers: `switch` (read/write).
pub struct PullSwitch {
    switch: PortSelector,
    /// Our empty notifier.
    nonempty: Signal,
    /// What is upstream of each input.
    upstream: Vec<NotifierSignal>,
}

/// `SimplePullSwitch([INPUT])`: PullSwitch without a notifier: a task
/// pulling from it sleeps only when every input is dormant.
///
/// * Ports: any number of pull inputs, 1 pull output.
/// * Handlers: `switch` (read/write).
pub struct SimplePullSwitch {
    switch: PortSelector,
}

const HANDLERS: &[Handler] = &[Handler::read_write("switch")];

impl ElementClass for PullSwitch {
    const CLASS: &'static str = "PullSwitch";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let switch = PortSelector::configure(args, "INPUT", ctx.ninputs())?;
        Ok(PullSwitch {
            nonempty: Signal::new(switch.port().is_some()),
            upstream: vec![NotifierSignal::always(); ctx.ninputs()],
            switch,
        })
    }
}

impl PullSwitch {
    /// Follows a change of input: down with none, up (waking the tasks
    /// that listen) if the new input's upstream has packets.
    fn follow_input(&self) {
        match self.switch.port() {
            None => self.nonempty.deactivate(),
            Some(k) if self.upstream[k].active() => self.nonempty.activate(),
            Some(_) => {}
        }
    }
}

impl Element for PullSwitch {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        for (i, s) in self.upstream.iter_mut().enumerate() {
            *s = ctx.upstream_empty_signal(i);
        }
        Ok(())
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let k = self.switch.port()?;
        let batch = ctx.pull(k, max);
        if batch.is_some() {
            self.nonempty.activate();
        } else if !self.upstream[k].active() {
            self.nonempty.deactivate();
        }
        batch
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty).then(|| self.nonempty.clone())
    }

    fn notifier_passes_wakeups(&self, kind: NotifierKind) -> bool {
        kind == NotifierKind::Empty
    }

    fn handlers(&self) -> &'static [Handler] {
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.switch.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.switch.write_handler(name, value)?;
        self.follow_input();
        Ok(())
    }
}

impl ElementClass for SimplePullSwitch {
    const CLASS: &'static str = "SimplePullSwitch";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(SimplePullSwitch {
            switch: PortSelector::configure(args, "INPUT", ctx.ninputs())?,
        })
    }
}

impl Element for SimplePullSwitch {
    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        ctx.pull(self.switch.port()?, max)
    }

    fn handlers(&self) -> &'static [Handler] {
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.switch.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.switch.write_handler(name, value)
    }
}
