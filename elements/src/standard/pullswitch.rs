//! PullSwitch and SimplePullSwitch: answer pulls from one input, chosen by
//! a handler.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Port, Signal, PULL,
};

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
    switch: Selector,
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
    switch: Selector,
}

/// The selected input of a pull switch.
struct Selector {
    input: Option<Port>,
    ninputs: usize,
}

impl Selector {
    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Selector, String> {
        let k: i64 = args.read_p("INPUT")?.unwrap_or(0);
        let mut s = Selector {
            input: None,
            ninputs: ctx.ninputs(),
        };
        s.set(k);
        Ok(s)
    }

    fn set(&mut self, k: i64) {
        self.input = usize::try_from(k).ok().filter(|&k| k < self.ninputs);
    }

    fn pull(&self, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        ctx.pull(self.input?, max)
    }

    fn read(&self, name: &str) -> Option<String> {
        (name == "switch").then(|| self.input.map_or("-1".into(), |k| k.to_string()))
    }

    fn write(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "switch" => {
                let k: i64 = Args::new(value).read_mp("INPUT")?;
                self.set(k);
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}

const HANDLERS: &[Handler] = &[Handler::read_write("switch")];

impl ElementClass for PullSwitch {
    const CLASS: &'static str = "PullSwitch";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let switch = Selector::configure(args, ctx)?;
        Ok(PullSwitch {
            nonempty: Signal::new(switch.input.is_some()),
            upstream: vec![NotifierSignal::always(); switch.ninputs],
            switch,
        })
    }
}

impl PullSwitch {
    /// Follows a change of input: down with none, up (waking the tasks
    /// that listen) if the new input's upstream has packets.
    fn follow_input(&self) {
        match self.switch.input {
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
        let k = self.switch.input?;
        let batch = self.switch.pull(max, ctx);
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
        self.switch.read(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.switch.write(name, value)?;
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
            switch: Selector::configure(args, ctx)?,
        })
    }
}

impl Element for SimplePullSwitch {
    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        self.switch.pull(max, ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.switch.read(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.switch.write(name, value)
    }
}
