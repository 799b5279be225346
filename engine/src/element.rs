//! The element traits.
//!
//! An element is a Rust value implementing [`Element`] (batch-native: push a
//! batch in, pull a batch out, run a task or a timer) or, for the common
//! case, [`PacketElement`] (one packet at a time, Click's `simple_action`),
//! which becomes an `Element` for free through a blanket implementation
//! whose batch loop calls `process` with static dispatch. Either way the
//! class is registered through [`ElementClass`], which carries the class's
//! shape as data (name, port counts, processing and flow codes) and builds
//! the element from its configuration string.

use crate::args::Args;
use crate::ctx::{Ctx, PacketCtx, GONE};
use crate::handler::Handler;
use crate::init::InitCtx;
use crate::notifier::NotifierKind;
use crate::notifier::Signal;
use crate::packet::{Batch, Packet};
use crate::poller::Readiness;
use crate::ports::{Processing, AGNOSTIC, COMPLETE_FLOW};
use crate::timers::Timer;
use std::os::fd::RawFd;

/// A port number.
pub type Port = usize;

/// How an element class runs on several scheduler threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One instance, on one thread. An element reached from two threads
    /// is a configuration error naming both (put a ThreadSafeQueue
    /// between them). For elements whose state must be seen whole, in
    /// order: queues, schedulers, sources.
    One,
    /// An instance on each thread that reaches the element, each running
    /// on its own thread with no locks (one FromDevice per core feeding
    /// one Classifier → lookup → ARPQuerier path). The instances share
    /// whatever must be one through [`InitCtx::shared_state`] (an ARP
    /// table, counters that add up: see
    /// [`SharedCounters`](crate::SharedCounters)); a handler write goes to
    /// every instance, a read to the first. For stateless elements and
    /// for those whose state is shared that way.
    PerThread,
    /// Inputs on any threads, outputs on one: the element joins threads
    /// (ThreadSafeQueue). Each pushing thread gets an instance of its
    /// input side, the pulling thread one of its output side, sharing
    /// state through [`InitCtx::shared_state`]. Its outputs must be pull.
    Bridge,
}

/// An element class: its shape, as data, and how to build one from a
/// configuration string.
///
/// `configure` only parses and validates (Click's `configure`); allocation
/// of buffers and lookups of other elements belong in
/// [`Element::initialize`]. Arguments left unread after `configure` are an
/// error, so elements never forget Click's `complete()`.
pub trait ElementClass: Element + Sized {
    /// The class name used in configurations (`Counter`).
    const CLASS: &'static str;
    /// Port counts in Click's notation (`"1/1"`, `"1/1-"`, `"-/="`).
    const PORT_COUNT: &'static str = "1/1";
    /// Processing code in Click's notation (`"a/a"`, `"h/l"`).
    const PROCESSING: &'static str = AGNOSTIC;
    /// Flow code in Click's notation (`"x/x"`).
    const FLOW_CODE: &'static str = COMPLETE_FLOW;
    /// How the element runs when paths from several scheduler threads
    /// reach it (`-j N`, one source per thread): see [`Threads`]. Default:
    /// [`Threads::One`], so reaching it from two threads is a
    /// configuration error, never a silent loss.
    const THREADS: Threads = Threads::One;
    /// Whether [`Element::forwards`] may answer: the engine then routes
    /// connections past the element while it forwards (Click's Bypass).
    const FORWARDS: bool = false;

    /// Builds the element from its arguments.
    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String>;
}

/// What an element can know while it is configured: its name and its
/// resolved ports.
#[derive(Debug, Clone)]
pub struct ConfigureCtx<'a> {
    /// The element's full name (`compound/counter`).
    pub name: &'a str,
    /// Resolved processing of each input port.
    pub inputs: &'a [Processing],
    /// Resolved processing of each output port.
    pub outputs: &'a [Processing],
}

impl ConfigureCtx<'_> {
    pub fn ninputs(&self) -> usize {
        self.inputs.len()
    }

    pub fn noutputs(&self) -> usize {
        self.outputs.len()
    }

    pub fn output_is_push(&self, port: Port) -> bool {
        self.outputs.get(port) == Some(&Processing::Push)
    }

    pub fn input_is_pull(&self, port: Port) -> bool {
        self.inputs.get(port) == Some(&Processing::Pull)
    }
}

/// A batch-native element.
///
/// Every method has a default, so an element implements only what its
/// processing needs: a push element `push`, a pull element `pull`, a source
/// `run_task`. Methods receive a [`Ctx`] to emit batches (`ctx.push`), pull
/// from inputs (`ctx.pull`), read the time and set timers. None of the
/// packet-path methods may allocate.
pub trait Element: 'static {
    /// A batch arrives on push input `port`.
    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let _ = port;
        ctx.count_drops(batch.len());
    }

    /// Output `port` is pulled: return at most `max` packets (never more
    /// than a batch holds), or `None` when nothing is available.
    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let _ = (port, max, ctx);
        None
    }

    /// Called once after every element is configured, before running:
    /// allocate, find notifiers, schedule timers.
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let _ = ctx;
        Ok(())
    }

    /// Whether this element has a task to be scheduled (sources, unqueues).
    fn has_task(&self) -> bool {
        false
    }

    /// Runs the task once; returns whether it did useful work. The task
    /// stays scheduled unless it calls [`Ctx::sleep`] or [`Ctx::unschedule`].
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        ctx.unschedule();
        false
    }

    /// One of the element's timers fired: [`Timer::MAIN`] (see
    /// [`PacketCtx::schedule_after`]) or one it added with
    /// [`InitCtx::add_timer`].
    fn run_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        let _ = (timer, ctx);
    }

    /// A file descriptor the element watches became ready (Click's
    /// `selected`): see [`InitCtx::add_select`]. Called on the element's
    /// thread between task runs; while the thread is idle it sleeps until
    /// one of its descriptors is ready.
    fn selected(&mut self, fd: RawFd, ready: Readiness, ctx: &mut Ctx<'_>) {
        let _ = (fd, ready, ctx);
    }

    /// The handlers this element adds to Click's defaults.
    fn handlers(&self) -> &'static [Handler] {
        &[]
    }

    /// Reads handler `name`; `None` if it has no such read handler.
    fn read_handler(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// Writes handler `name`.
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let _ = (value, ctx);
        Err(format!("no write handler '{name}'"))
    }

    /// A message from the element's configuration that is not an error
    /// (Click's `errh->message` in `configure`: the Message element's).
    /// The router collects them when it is configured
    /// ([`Router::messages`](crate::Router::messages)) and the `router`
    /// binary prints them where configuration errors go, with the
    /// element's place, once. Default: none.
    fn configure_message(&self) -> Option<&str> {
        None
    }

    /// A notifier signal this element provides, if any: a queue provides
    /// [`NotifierKind::Empty`] (active while it holds packets) and
    /// [`NotifierKind::Full`] (active while it has room).
    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        let _ = kind;
        None
    }

    /// Whether a task that finds this element's `kind` notifier should
    /// also be woken by the notifiers beyond it (Click's
    /// `SEARCH_CONTINUE_WAKE`): for an element whose signal follows the
    /// signals behind it, as PullSwitch's follows its selected input, and
    /// which cannot raise its own when they do. The task's signal is still
    /// this element's alone. Default: false, the search stops here.
    fn notifier_passes_wakeups(&self, kind: NotifierKind) -> bool {
        let _ = kind;
        false
    }

    /// Whether the element passes packets through untouched, and where: a
    /// push on input `port` (`push`) leaves on the returned output, a pull
    /// on output `port` (`!push`) is answered by the returned input. The
    /// engine then connects its neighbours straight to each other, as
    /// Click's Bypass rewires them, so the element costs nothing and is
    /// never on the call stack. Asked only of classes with
    /// [`ElementClass::FORWARDS`], at start and after each handler write
    /// to the element.
    fn forwards(&self, push: bool, port: Port) -> Option<Port> {
        let _ = (push, port);
        None
    }

    /// Hot swap (Click's `take_state`): the router is stopping to be
    /// replaced by a new one (`router -R`, the `hotconfig` handler). What
    /// this returns is offered to the new router's element of the same
    /// name, which takes it in its initialize with
    /// [`InitCtx::take_state`]; if none does, it is dropped. Called after
    /// the final handler reads and before [`Element::cleanup`], only for a
    /// swap. Default: nothing to hand over.
    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }

    /// Called when the router stops, after the final handler reads;
    /// release external resources here.
    fn cleanup(&mut self) {}
}

/// A per-packet element: Click's `simple_action`, adapted to batches.
///
/// `process` returns the output port for the packet, or `None` when the
/// element drops it (the engine counts the drop against this element). It
/// may replace the packet (`*packet = ...`), e.g. to make it unique before
/// writing, and sees the clock, its timers and handlers through its
/// [`PacketCtx`]. A blanket implementation makes it an [`Element`] whose
/// batch loop calls `process` with static dispatch and sends each packet
/// out of its port, keeping the batch's order across ports. Pushed or
/// pulled, every verdict is honoured: when output 0 is pulled, packets for
/// another output are pushed out of it (Click's `a/ah`, as CheckIPHeader
/// declares), and a verdict naming an output that cannot take them is
/// counted and reported. One input; use [`Element`] for more.
pub trait PacketElement: 'static {
    /// Decides the packet's fate: `Some(output)` or `None` to drop it.
    fn process(&mut self, packet: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port>;

    /// As [`Element::initialize`].
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let _ = ctx;
        Ok(())
    }

    /// As [`Element::handlers`].
    fn handlers(&self) -> &'static [Handler] {
        &[]
    }

    /// As [`Element::read_handler`].
    fn read_handler(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// As [`Element::write_handler`].
    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let _ = (value, ctx);
        Err(format!("no write handler '{name}'"))
    }

    /// As [`Element::run_timer`].
    fn run_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        let _ = (timer, ctx);
    }

    /// As [`Element::hand_over`].
    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }

    /// As [`Element::cleanup`].
    fn cleanup(&mut self) {}
}

/// Verdict of one packet inside a batch: an output port or a drop.
const DROP: u16 = u16::MAX;

/// Runs `process` over `batch`; returns the verdict every packet got if
/// they all got the same one (the common case: nothing is written but the
/// one verdict), or else `None` with one verdict per packet in `out` (on
/// the stack: a batch never exceeds BATCH_CAPACITY; VPP's `nexts[]`).
#[inline(always)]
fn verdicts<T: PacketElement + ?Sized>(
    element: &mut T,
    batch: &mut Batch,
    ctx: &mut PacketCtx<'_>,
    out: &mut [u16; crate::packet::BATCH_CAPACITY],
) -> Option<u16> {
    let mut verdict = |p: &mut Packet| match element.process(p, ctx) {
        Some(port) => port.min(GONE as usize - 1) as u16,
        // A drop with a reason is counted now, under it.
        None if ctx.drop_reason.is_some() => ctx.counted_drop(),
        None => DROP,
    };
    let packets = batch.as_mut_slice();
    let Some((head, rest)) = packets.split_first_mut() else {
        return Some(0);
    };
    let first = verdict(head);
    for (i, p) in rest.iter_mut().enumerate() {
        let v = verdict(p);
        if v != first {
            // From here on, one verdict per packet.
            out[..=i].fill(first);
            out[i + 1] = v;
            for (o, p) in out[i + 2..].iter_mut().zip(&mut rest[i + 1..]) {
                *o = verdict(p);
            }
            return None;
        }
    }
    Some(first)
}

impl<T: PacketElement> Element for T {
    #[inline]
    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        let mut v = [0u16; crate::packet::BATCH_CAPACITY];
        match verdicts(self, &mut batch, ctx, &mut v) {
            Some(DROP) => {
                ctx.count_drops(batch.len());
                drop(batch);
            }
            Some(GONE) => drop(batch),
            Some(port) => ctx.push(port as usize, batch),
            None => ctx.push_by_verdict(batch, &v, DROP),
        }
    }

    #[inline]
    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut batch = ctx.pull(0, max)?;
        let mut v = [0u16; crate::packet::BATCH_CAPACITY];
        match verdicts(self, &mut batch, ctx, &mut v) {
            Some(p) if p as usize == port => Some(batch),
            _ => ctx.split_pulled(batch, &v, DROP, port),
        }
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        PacketElement::initialize(self, ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        PacketElement::handlers(self)
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        PacketElement::read_handler(self, name)
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        PacketElement::write_handler(self, name, value, ctx)
    }

    fn run_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        PacketElement::run_timer(self, timer, ctx)
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        PacketElement::hand_over(self)
    }

    fn cleanup(&mut self) {
        PacketElement::cleanup(self)
    }
}
