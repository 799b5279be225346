//! SimpleQueue, NotifierQueue and FrontDropQueue: Queues with fewer
//! notifiers, or another drop policy.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, PUSH_TO_PULL};

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
        let queue = Queue::configure(args, ctx)?;
        Ok(SimpleQueue(
            queue.without_empty_notifier().without_full_notifier(),
        ))
    }
}

forward_element!(SimpleQueue);

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
        Ok(NotifierQueue(
            Queue::configure(args, ctx)?.without_full_notifier(),
        ))
    }
}

forward_element!(NotifierQueue);

/// `FrontDropQueue([CAPACITY])`: a Queue that, when full, drops its oldest
/// packets rather than the arriving ones (Click's FrontDropQueue), so the
/// freshest CAPACITY packets wait. Since it never refuses a packet it
/// provides only the *empty* notifier, as NotifierQueue.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: as Queue's; `drops` counts the packets dropped at the front.
pub struct FrontDropQueue(Queue);

impl ElementClass for FrontDropQueue {
    const CLASS: &'static str = "FrontDropQueue";
    const PROCESSING: &'static str = PUSH_TO_PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let queue = Queue::configure(args, ctx)?.without_full_notifier();
        Ok(FrontDropQueue(queue.dropping_front()))
    }
}

forward_element!(FrontDropQueue);
