//! SimpleQueue, NotifierQueue and FrontDropQueue: Queues with fewer
//! notifiers, or another drop policy.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, NotifierKind, Port, Signal,
    PUSH_TO_PULL,
};

use super::queue::Queue;

/// `SimpleQueue([CAPACITY])`: a FIFO of up to CAPACITY packets (default
/// 1000), as [`Queue`] but providing no notifiers (Click's SimpleQueue):
/// a task pulling from it polls, and a source pushing into it is never
/// paused, so pushes onto a full queue are dropped and counted.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: `length`, `highwater_length`, `drops` (read), `capacity`
///   (read/write), `reset_counts`, `reset` (write), as Queue's.
pub struct SimpleQueue(Queue);

impl ElementClass for SimpleQueue {
    const CLASS: &'static str = "SimpleQueue";
    const PROCESSING: &'static str = PUSH_TO_PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Queue::configure(args, ctx).map(SimpleQueue)
    }
}

impl Element for SimpleQueue {
    #[inline]
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.0.push(port, batch, ctx);
    }

    #[inline]
    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        self.0.pull(port, max, ctx)
    }

    fn notifier(&self, _kind: NotifierKind) -> Option<Signal> {
        None
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

/// `NotifierQueue([CAPACITY])`: a Queue that provides only the *empty*
/// notifier (Click's NotifierQueue): the pulling task downstream sleeps
/// while it is empty, but a source upstream is never paused, so pushes
/// onto a full queue are dropped and counted.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: as Queue's.
pub struct NotifierQueue(Queue);

impl ElementClass for NotifierQueue {
    const CLASS: &'static str = "NotifierQueue";
    const PROCESSING: &'static str = PUSH_TO_PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Queue::configure(args, ctx).map(NotifierQueue)
    }
}

impl Element for NotifierQueue {
    #[inline]
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.0.push(port, batch, ctx);
    }

    #[inline]
    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        self.0.pull(port, max, ctx)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        match kind {
            NotifierKind::Empty => self.0.notifier(kind),
            NotifierKind::Full => None,
        }
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

/// `FrontDropQueue([CAPACITY])`: a Queue that, when full, drops its oldest
/// packets rather than the arriving ones (Click's FrontDropQueue), so the
/// freshest CAPACITY packets wait. Since it never refuses a packet it
/// provides only the *empty* notifier, as NotifierQueue.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: as Queue's; `drops` counts the packets dropped at the front.
pub struct FrontDropQueue(NotifierQueue);

impl ElementClass for FrontDropQueue {
    const CLASS: &'static str = "FrontDropQueue";
    const PROCESSING: &'static str = PUSH_TO_PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let queue = Queue::configure(args, ctx)?.dropping_front();
        Ok(FrontDropQueue(NotifierQueue(queue)))
    }
}

impl Element for FrontDropQueue {
    #[inline]
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.0.push(port, batch, ctx);
    }

    #[inline]
    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        self.0.pull(port, max, ctx)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        self.0.notifier(kind)
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
