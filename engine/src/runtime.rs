//! The compiled router at run time: per-thread shards of elements with flat
//! dispatch tables, and the contexts elements see.
//!
//! A push is a table look-up (`outs[out_base[e] + port]`), a `RefCell`
//! borrow flag and one virtual call per *batch*; per-packet work inside an
//! element is statically dispatched. Pushes are immediate and depth-first,
//! like Click's; a push that would re-enter an element already on the call
//! stack (a cycle in the graph) is deferred until the current call returns.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{fence, AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::clock::{Clock, IdleThreads, SIM_TICK};
use crate::control::{Mailboxes, Message, Request};
use crate::element::{Element, Port};
use crate::graph::Graph;
use crate::packet::{Batch, Packet, Timestamp};
use crate::router::HandlerSite;
use crate::sched::{pick_task, TaskEntry, TaskHandle, ThreadWaker, Timers};

pub(crate) type Slot = RefCell<Box<dyn Element>>;

/// Where a port leads, by element index local to a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub elem: u32,
    pub port: u32,
}

pub(crate) const NOWHERE: Target = Target {
    elem: u32::MAX,
    port: u32::MAX,
};

/// The flat dispatch tables of one shard.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub out_base: Vec<u32>,
    /// Where each push output goes: `direct_outs`, routed past elements
    /// that forward (Cells: re-routing happens during a run).
    pub outs: Vec<Cell<Target>>,
    pub in_base: Vec<u32>,
    /// Where each pull input comes from, routed likewise.
    pub ins: Vec<Cell<Target>>,
    /// The connections as configured.
    pub direct_outs: Vec<Target>,
    pub direct_ins: Vec<Target>,
    /// Local elements whose class may forward ([`ElementClass::FORWARDS`]).
    pub forwarders: Vec<bool>,
}

/// Most forwarding elements in a row that one connection skips.
const MAX_FORWARD_HOPS: usize = 64;

impl Tables {
    #[inline]
    fn output(&self, e: usize, port: Port) -> Target {
        let (base, end) = (self.out_base[e] as usize, self.out_base[e + 1] as usize);
        if base + port < end {
            self.outs[base + port].get()
        } else {
            NOWHERE
        }
    }

    #[inline]
    fn input(&self, e: usize, port: Port) -> Target {
        let (base, end) = (self.in_base[e] as usize, self.in_base[e + 1] as usize);
        if base + port < end {
            self.ins[base + port].get()
        } else {
            NOWHERE
        }
    }

    /// Routes every connection past the elements that now forward it
    /// (Click's Bypass rewiring its neighbours). An element on the call
    /// stack is taken as it is.
    pub fn reroute(&self, slots: &[Slot]) {
        if !self.forwarders.contains(&true) {
            return;
        }
        for (cell, &t) in self.outs.iter().zip(&self.direct_outs) {
            cell.set(self.follow(slots, t, true));
        }
        for (cell, &t) in self.ins.iter().zip(&self.direct_ins) {
            cell.set(self.follow(slots, t, false));
        }
    }

    /// After a handler call on local element `e`: re-routes if `e` may
    /// forward (its write may have changed where).
    pub fn after_write(&self, slots: &[Slot], e: usize) {
        if self.forwarders[e] {
            self.reroute(slots);
        }
    }

    /// Where a connection to `t` really ends.
    fn follow(&self, slots: &[Slot], mut t: Target, push: bool) -> Target {
        for _ in 0..MAX_FORWARD_HOPS {
            let e = t.elem as usize;
            if t == NOWHERE || !self.forwarders[e] {
                break;
            }
            let Ok(element) = slots[e].try_borrow() else {
                break;
            };
            let Some(port) = element.forwards(push, t.port as usize) else {
                break;
            };
            let (base, end, direct) = if push {
                (self.out_base[e], self.out_base[e + 1], &self.direct_outs)
            } else {
                (self.in_base[e], self.in_base[e + 1], &self.direct_ins)
            };
            let slot = base as usize + port;
            t = if slot < end as usize {
                direct[slot]
            } else {
                NOWHERE
            };
        }
        t
    }

    fn noutputs(&self, e: usize) -> usize {
        (self.out_base[e + 1] - self.out_base[e]) as usize
    }
}

/// State shared by all threads of a running router.
pub(crate) struct Shared {
    pub stop: Arc<AtomicBool>,
    pub runcount: AtomicI32,
    pub wakers: Vec<Arc<ThreadWaker>>,
    pub graph: Arc<Graph>,
    /// State of THREAD_SAFE elements, by global element index.
    pub cells: Mutex<HashMap<usize, Arc<dyn Any + Send + Sync>>>,
    /// The element handling stop events (DriverManager, Script TYPE
    /// DRIVER): when set, a run count reaching zero wakes it instead of
    /// stopping the router.
    pub driver: OnceLock<TaskHandle>,
    /// Handler calls between threads.
    pub mailboxes: Arc<Mailboxes>,
    /// The router's clock, real or simulated.
    pub clock: Clock,
    /// Simulated time: which threads have nothing to run.
    pub idle: IdleThreads,
    /// Unix signals caught by elements (delivered by thread 0).
    pub signals: Arc<crate::signals::RouterSignals>,
    /// A handle for elements that serve handlers to other threads or
    /// programs (ControlSocket).
    pub handle: crate::RouterHandle,
    /// State passed from the router this one replaces, and to the one
    /// that replaces it (`router -R`).
    pub hotswap: Option<Arc<crate::HotSwap>>,
}

impl Shared {
    pub fn adjust_runcount(&self, delta: i32) {
        let now = self.runcount.fetch_add(delta, Ordering::AcqRel) + delta;
        if now <= 0 {
            match self.driver.get() {
                Some(driver) => driver.wake(),
                None => self.request_stop(),
            }
        }
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        for w in &self.wakers {
            w.wake();
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// The elements one scheduler thread owns, and what it needs to run them.
pub(crate) struct Shard {
    /// This shard's thread number.
    pub thread: usize,
    pub slots: Vec<Slot>,
    /// Local index → global element index.
    pub global: Vec<usize>,
    pub tables: Tables,
    pub task_of: Vec<Option<TaskHandle>>,
    pub tasks: Vec<TaskEntry>,
    pub state: ShardState,
    pub waker: Arc<ThreadWaker>,
    /// Handler calls from other threads.
    pub inbox: crossbeam_channel::Receiver<Message>,
}

/// The mutable part of a shard that elements reach through [`Ctx`].
pub(crate) struct ShardState {
    pub timers: Timers,
    /// Packets the engine dropped on behalf of each element.
    pub drops: Vec<u64>,
    deferred: Vec<(u32, u32, Batch)>,
    /// Handler writes to elements that were on the call stack (element,
    /// handler, value), run when the current top-level call returns.
    deferred_writes: std::collections::VecDeque<(u32, String, String)>,
    /// Each element's configuration as keyword handlers have rewritten it
    /// (the `config` handler shows this).
    pub configs: Vec<String>,
    slept: bool,
    /// Elements a pull cycle reached, already reported.
    cycle_warned: Vec<bool>,
}

impl ShardState {
    pub fn new(nelements: usize) -> Self {
        ShardState {
            timers: Timers::new(nelements),
            drops: vec![0; nelements],
            deferred: Vec::with_capacity(64),
            deferred_writes: std::collections::VecDeque::new(),
            configs: Vec::new(),
            slept: false,
            cycle_warned: vec![false; nelements],
        }
    }
}

/// What an element sees while it runs: its ports, the clock, its timer and
/// task, and the router's stop switch.
pub struct Ctx<'a> {
    thread: usize,
    slots: &'a [Slot],
    tables: &'a Tables,
    task_of: &'a [Option<TaskHandle>],
    global: &'a [usize],
    state: &'a mut ShardState,
    shared: &'a Shared,
    cur: usize,
    now: Instant,
    /// The innermost element lent for reads (null: none).
    lent: *const Lent,
}

/// An element lent for reads by [`Ctx::lend_self`]: a frame on the stack
/// of that call, linked to the frame of any outer lend.
struct Lent {
    local: usize,
    element: *const (dyn Element + 'static),
    outer: *const Lent,
}

impl<'a> Ctx<'a> {
    /// Pushes `batch` out of output `port`, through the rest of the push
    /// path, before returning.
    #[inline]
    pub fn push(&mut self, port: Port, batch: Batch) {
        let t = self.tables.output(self.cur, port);
        if t == NOWHERE {
            return self.count_drops(batch.len());
        }
        let slots = self.slots;
        match slots[t.elem as usize].try_borrow_mut() {
            Ok(mut element) => {
                let caller = std::mem::replace(&mut self.cur, t.elem as usize);
                element.push(t.port as usize, batch, self);
                self.cur = caller;
            }
            Err(_) => self.state.deferred.push((t.elem, t.port, batch)),
        }
    }

    /// Pushes each packet of `batch` out of the port given by `ports`
    /// (parallel to the batch; `drop` marks packets to drop), keeping the
    /// packets' order within each port. Ports go out in increasing order.
    pub fn push_by_verdict(&mut self, batch: Batch, ports: &[u16], drop: u16) {
        let mut packets: smallvec::SmallVec<[Option<Packet>; crate::packet::BATCH_CAPACITY]> =
            batch.into_iter().map(Some).collect();
        let mut dropped = 0;
        for (slot, &v) in packets.iter_mut().zip(ports) {
            if v == drop {
                *slot = None;
                dropped += 1;
            }
        }
        self.count_drops(dropped);
        let mut next = ports.iter().copied().filter(|&v| v != drop).min();
        while let Some(port) = next {
            let mut out = Batch::new();
            next = None;
            for (slot, &v) in packets.iter_mut().zip(ports) {
                if v == port {
                    if let Some(p) = slot.take() {
                        out.push(p);
                    }
                } else if v > port && v != drop && next.is_none_or(|n| v < n) {
                    next = Some(v);
                }
            }
            self.push(port as usize, out);
        }
    }

    /// Pulls at most `max` packets from input `port` (bounded by
    /// [`BATCH_CAPACITY`](crate::packet::BATCH_CAPACITY)); `None` when
    /// nothing is available.
    #[inline]
    pub fn pull(&mut self, port: Port, max: usize) -> Option<Batch> {
        let max = max.min(crate::packet::BATCH_CAPACITY);
        let t = self.tables.input(self.cur, port);
        if t == NOWHERE {
            return None;
        }
        let slots = self.slots;
        let Ok(mut element) = slots[t.elem as usize].try_borrow_mut() else {
            self.pull_cycle(t.elem as usize);
            return None;
        };
        let caller = std::mem::replace(&mut self.cur, t.elem as usize);
        let batch = element.pull(t.port as usize, max, self);
        self.cur = caller;
        batch
    }

    /// A pull reached an element already on the call stack: it cannot be
    /// entered again, so the pull answers nothing. Said once per element,
    /// since such a configuration usually makes no progress.
    #[cold]
    #[inline(never)]
    fn pull_cycle(&mut self, e: usize) {
        if !std::mem::replace(&mut self.state.cycle_warned[e], true) {
            let name = &self.shared.graph.nodes[self.global[e]].name;
            tracing::warn!(element = %name, "a pull reached this element while it was already pulling (a pull cycle): it answers nothing");
        }
    }

    /// Counts `n` packets dropped by the current element outside its own
    /// counters (verdict drops, pushes to nowhere).
    #[inline]
    pub fn count_drops(&mut self, n: usize) {
        self.state.drops[self.cur] += n as u64;
    }

    /// The time at the start of this scheduling round (cheap). Under
    /// simulated time (`--simtime`) this is the virtual time.
    #[inline]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The time now, read from the router's clock (a system call in real
    /// time; the virtual time under `--simtime`). Elements never read the
    /// machine's clocks themselves.
    #[inline]
    pub fn precise_now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// The wall-clock time now, for packet timestamps and scripts: the
    /// system's, or the virtual one under `--simtime`.
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        self.shared.clock.timestamp()
    }

    /// Click's global `timewarp` handler: `simulation`, or the speed of
    /// time.
    pub fn timewarp(&self) -> String {
        self.shared.clock.timewarp()
    }

    /// Click's `write timewarp FACTOR`: real time runs `factor` times as
    /// fast (timers fire sooner, `now` moves faster). Not under
    /// `--simtime`.
    pub fn set_timewarp(&mut self, factor: f64) -> Result<(), String> {
        self.shared.clock.set_timewarp(factor)
    }

    /// The wall-clock time at monotonic instant `at` (close to now).
    pub fn timestamp_at(&self, at: Instant) -> Timestamp {
        self.shared.clock.timestamp_at(at)
    }

    /// The number of output ports of the current element.
    pub fn noutputs(&self) -> usize {
        self.tables.noutputs(self.cur)
    }

    /// The current element's name.
    pub fn name(&self) -> &str {
        &self.shared.graph.nodes[self.global[self.cur]].name
    }

    /// Fires the current element's timer at `at` (replacing any pending one).
    pub fn schedule_at(&mut self, at: Instant) {
        self.state.timers.schedule(self.cur, at);
    }

    /// Fires the current element's timer after `delay`.
    pub fn schedule_after(&mut self, delay: Duration) {
        let at = self.shared.clock.now() + delay;
        self.schedule_at(at);
    }

    /// Cancels the current element's pending timer.
    pub fn unschedule_timer(&mut self) {
        self.state.timers.cancel(self.cur);
    }

    /// When the current element's timer will fire, if it is scheduled.
    pub fn timer_deadline(&self) -> Option<Instant> {
        self.state.timers.deadline(self.cur)
    }

    /// Takes the current task off the run list until it is woken (by a
    /// notifier it listens to, or [`Ctx::wake_task`]).
    pub fn sleep(&mut self) {
        self.state.slept = true;
    }

    /// Same as [`Ctx::sleep`]: Click's unscheduled task.
    pub fn unschedule(&mut self) {
        self.sleep();
    }

    /// Schedules the current element's task (from a timer or a handler).
    pub fn wake_task(&mut self) {
        if let Some(task) = &self.task_of[self.cur] {
            task.wake();
        }
    }

    /// Click's `please_stop_driver`: lowers the run count; at zero the
    /// router stops.
    pub fn stop_router(&mut self) {
        self.shared.adjust_runcount(-1);
    }

    /// Adjusts the router's run count (DriverManager, Script).
    pub fn adjust_runcount(&mut self, delta: i32) {
        self.shared.adjust_runcount(delta);
    }

    /// The router's run count: it starts at 1; each stop request lowers
    /// it; at zero or below the router stops, or the driver element
    /// decides (see [`InitCtx::become_driver`](crate::InitCtx::become_driver)).
    pub fn runcount(&self) -> i32 {
        self.shared.runcount.load(Ordering::Acquire)
    }

    /// Stops the router now, whatever the run count (the driver's final
    /// word).
    pub fn force_stop(&mut self) {
        self.shared.request_stop();
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.shared.stopping()
    }

    /// Catches Unix signal `signal` (see [`crate::signals`]) for one
    /// delivery: when it arrives, this element's write handler `handler`
    /// is called with an empty value. Catch again to keep it.
    pub fn catch_signal(&mut self, signal: i32, handler: &str) -> Result<(), String> {
        self.shared.signals.catch(crate::signals::Catch {
            signal,
            element: self.global[self.cur],
            handler: handler.into(),
        })
    }

    /// Runs `f` with the current element lent for reads: a read handler of
    /// it called during `f` (by a Script that a `COUNT_CALL` runs, say)
    /// answers from `this`, though the element is on the call stack. Pass
    /// the element itself: `ctx.lend_self(self, |ctx| ...)`. Without a
    /// lend, such a read fails with `busy`, since the element is borrowed
    /// mutably by its own running method.
    pub fn lend_self<R>(
        &mut self,
        this: &(dyn Element + 'static),
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let frame = Lent {
            local: self.cur,
            element: this,
            outer: self.lent,
        };
        let outer = std::mem::replace(&mut self.lent, &frame);
        let result = f(self);
        self.lent = outer;
        result
    }

    /// The element `local` if a running [`Ctx::lend_self`] lent it.
    fn lent(&self, local: usize) -> Option<&dyn Element> {
        let mut frame = self.lent;
        // SAFETY: each frame in the chain lives on the stack of a
        // `lend_self` call that is still running: it unlinks its frame
        // before it returns, and a panic ends this Ctx's use.
        while let Some(f) = unsafe { frame.as_ref() } {
            if f.local == local {
                // SAFETY: the frame's element is a shared borrow that
                // outlives its `lend_self` call; we only read through it.
                return Some(unsafe { &*f.element });
            }
            frame = f.outer;
        }
        None
    }

    /// Reads handler `handler` of element `element`. An element on another
    /// thread is asked through that thread's inbox (this call then waits for
    /// its answer).
    pub fn read_handler(&mut self, element: &str, handler: &str) -> Result<String, String> {
        let global = self.find(element)?;
        match self.local(global) {
            Some(local) => {
                let site = HandlerSite {
                    graph: &self.shared.graph,
                    element: global,
                    slot: &self.slots[local],
                    lent: self.lent(local),
                    config: &self.state.configs[local],
                    task: self.task_of[local].as_ref(),
                };
                site.read(handler, false).map_err(|e| {
                    if self.local_is_busy(local) {
                        // Borrowed mutably for its push or pull: unlike a
                        // write, a read cannot wait here.
                        format!("{element}: busy (a read of an element on the current call stack)")
                    } else {
                        e
                    }
                })
            }
            None => self.shared.mailboxes.call(Request::Read {
                element: global,
                handler: handler.into(),
                remote: false,
            }),
        }
    }

    /// Whether a read of `element` now fails with `busy`: the element is
    /// on the current call stack (its push or pull led here) and did not
    /// lend itself. Once the current top-level call returns it can be
    /// read; a Script that is not running for a packet waits until then.
    pub fn is_busy(&self, element: &str) -> bool {
        let Ok(global) = self.find(element) else {
            return false;
        };
        self.local(global)
            .is_some_and(|local| self.local_is_busy(local))
    }

    /// Whether local element `local` is on the call stack and not lent.
    fn local_is_busy(&self, local: usize) -> bool {
        self.slots[local].try_borrow().is_err() && self.lent(local).is_none()
    }

    /// Writes handler `handler` of element `element`, on whichever thread
    /// owns it.
    ///
    /// An element on the current call stack (the caller itself, or an
    /// element upstream whose push or pull led here) cannot be entered
    /// again; the write is queued and runs as soon as the current
    /// top-level call (task, timer, handler call) returns, and this returns
    /// `Ok` at once (a failure of the deferred write is logged). Reads of
    /// such an element fail with `busy`: a read cannot wait.
    pub fn write_handler(
        &mut self,
        element: &str,
        handler: &str,
        value: &str,
    ) -> Result<(), String> {
        let global = self.find(element)?;
        let Some(local) = self.local(global) else {
            let request = Request::Write {
                element: global,
                handler: handler.into(),
                value: value.into(),
                remote: false,
            };
            return self.shared.mailboxes.call(request).map(drop);
        };
        let slots = self.slots;
        let Ok(mut e) = slots[local].try_borrow_mut() else {
            // The element is on the call stack (the caller itself, or an
            // element upstream whose push led here): Click would call it
            // re-entrantly; we run the write as soon as the current
            // top-level call returns, as deferred pushes are. Its result
            // is then only logged.
            self.state
                .deferred_writes
                .push_back((local as u32, handler.into(), value.into()));
            return Ok(());
        };
        let caller = std::mem::replace(&mut self.cur, local);
        let result = write_element(&mut **e, handler, value, self);
        self.cur = caller;
        drop(e);
        self.tables.after_write(slots, local);
        result
    }

    /// Writes a global write handler that the program running the router
    /// added ([`Router::add_global_write`](crate::Router::add_global_write)),
    /// such as the driver's `hotconfig`.
    pub fn write_global(&mut self, handler: &str, value: &str) -> Result<(), String> {
        self.shared.handle.write(handler, value)
    }

    fn find(&self, element: &str) -> Result<usize, String> {
        self.shared
            .graph
            .find(element)
            .ok_or_else(|| format!("no element named '{element}'"))
    }

    /// The local instance of a global element on this thread, if it is the
    /// one that answers its handlers.
    fn local(&self, global: usize) -> Option<usize> {
        if self.shared.mailboxes.owner(global) != self.thread {
            return None;
        }
        self.global.iter().position(|&g| g == global)
    }
}

/// Writes handler `handler` of `element`, the current element of `ctx`;
/// a successful write to a handler that stands for a configuration
/// argument also rewrites the element's stored configuration.
fn write_element(
    element: &mut dyn Element,
    handler: &str,
    value: &str,
    ctx: &mut Ctx,
) -> Result<(), String> {
    if let (Some(task), "tickets") = (&ctx.task_of[ctx.cur], handler) {
        let tickets: u32 = crate::args::Args::new(value).read_mp("TICKETS")?;
        task.set_tickets(tickets);
        return Ok(());
    }
    element.write_handler(handler, value, ctx)?;
    let arg = element
        .handlers()
        .iter()
        .find(|h| h.name == handler)
        .and_then(|h| h.reconfigures);
    if let Some(arg) = arg {
        let config = &mut ctx.state.configs[ctx.cur];
        *config = crate::handler::reconfigure(config, arg, value);
    }
    Ok(())
}

pub(crate) fn no_handler(element: &str, handler: &str) -> String {
    format!("no handler '{element}.{handler}'")
}

impl Shard {
    fn ctx<'s>(&'s mut self, shared: &'s Shared, cur: usize, now: Instant) -> (Ctx<'s>, &'s Slot) {
        let ctx = Ctx {
            thread: self.thread,
            slots: &self.slots,
            tables: &self.tables,
            task_of: &self.task_of,
            global: &self.global,
            state: &mut self.state,
            shared,
            cur,
            now,
            lent: std::ptr::null(),
        };
        (ctx, &self.slots[cur])
    }

    /// Runs one element call through `f`, then any pushes it deferred.
    fn call(
        &mut self,
        shared: &Shared,
        e: usize,
        now: Instant,
        f: impl FnOnce(&mut dyn Element, &mut Ctx),
    ) {
        let (mut ctx, slot) = self.ctx(shared, e, now);
        if let Ok(mut element) = slot.try_borrow_mut() {
            f(&mut **element, &mut ctx);
        }
        loop {
            while let Some((e, port, batch)) = ctx.state.deferred.pop() {
                ctx.cur = e as usize;
                if let Ok(mut element) = ctx.slots[e as usize].try_borrow_mut() {
                    element.push(port as usize, batch, &mut ctx);
                }
            }
            let Some((e, handler, value)) = ctx.state.deferred_writes.pop_front() else {
                break;
            };
            ctx.cur = e as usize;
            if let Ok(mut element) = ctx.slots[e as usize].try_borrow_mut() {
                if let Err(message) = write_element(&mut **element, &handler, &value, &mut ctx) {
                    tracing::warn!(element = ctx.name(), %handler, %message, "deferred handler write failed");
                }
            }
            ctx.tables.after_write(ctx.slots, e as usize);
        }
    }

    /// Runs task `i` once. Inlined into the scheduler loop: a call per
    /// task run cost 22 instructions a batch (0.7 per packet on a-counter).
    #[inline(always)]
    fn run_task(&mut self, shared: &Shared, i: usize, now: Instant) {
        let (e, handle) = (self.tasks[i].element, self.tasks[i].handle.clone());
        // Unschedule before running, so a wake during the run is never lost.
        // The fence orders that store before the task's reads of its
        // notifier signals: a waker on another thread sets the signal and
        // then tests this flag, and without the fence (x86 lets a load
        // pass an earlier store) the task could read the old signal while
        // the waker still read "scheduled", and neither would reschedule
        // it (a source paused forever on a ThreadSafeQueue that emptied).
        handle.set_scheduled(false);
        fence(Ordering::SeqCst);
        self.state.slept = false;
        self.call(shared, e, now, |element, ctx| {
            element.run_task(ctx);
        });
        if !self.state.slept {
            handle.set_scheduled(true);
        }
    }

    fn run_due_timers(&mut self, shared: &Shared, now: Instant) {
        while let Some(e) = self.state.timers.pop_due(now) {
            self.call(shared, e, now, |element, ctx| element.run_timer(ctx));
        }
    }

    /// Answers the handler calls other threads sent since the last round.
    /// Delivers the signals received since the last round to the elements
    /// that caught them (thread 0 only, as Click's driver thread does): a
    /// write of each catch's handler, here or posted to the owning thread.
    #[cold]
    #[inline(never)]
    fn deliver_signals(&mut self, shared: &Shared, now: Instant) {
        let (received, due) = shared.signals.take_due();
        let mut delivered = 0u64;
        for c in due {
            let name = &shared.graph.nodes[c.element].name;
            tracing::debug!(signal = c.signal, element = %name, "signal delivered");
            let request = Request::Write {
                element: c.element,
                handler: c.handler,
                value: String::new(),
                remote: false,
            };
            if shared.mailboxes.owner(c.element) != self.thread {
                shared.mailboxes.post(request);
            } else if let Err(e) = self.answer(shared, request, now) {
                tracing::warn!(signal = c.signal, element = %name, "signal handler: {e}");
                continue;
            }
            delivered |= crate::signals::bit(c.signal);
        }
        shared.signals.settle(received, delivered);
    }

    fn answer_calls(&mut self, shared: &Shared, now: Instant) {
        while let Ok(Message { request, reply }) = self.inbox.try_recv() {
            let _ = reply.send(self.answer(shared, request, now));
        }
    }

    fn answer(
        &mut self,
        shared: &Shared,
        request: Request,
        now: Instant,
    ) -> Result<String, String> {
        let name = request
            .element()
            .map(|e| shared.graph.nodes[e].name.as_str());
        let _element = tracing::debug_span!("element", name).entered();
        tracing::debug!(?request, "call from another thread");
        match request {
            Request::Stop { n } => {
                shared.adjust_runcount(-n);
                Ok(String::new())
            }
            Request::Read {
                element,
                handler,
                remote,
            } => {
                let local = self.answering(shared, element)?;
                self.handler_site(&shared.graph, local)
                    .read(&handler, remote)
            }
            Request::Write {
                element,
                handler,
                value,
                remote,
            } => {
                let local = self.answering(shared, element)?;
                let name = &shared.graph.nodes[element].name;
                let private = || {
                    self.slots[local]
                        .try_borrow()
                        .is_ok_and(|e| crate::router::is_private(&**e, &handler))
                };
                if remote && private() {
                    return Err(no_handler(name, &handler));
                }
                let mut result = Err(format!("{name}: busy"));
                self.call(shared, local, now, |element, ctx| {
                    result = write_element(element, &handler, &value, ctx).map(|()| String::new());
                });
                self.tables.after_write(&self.slots, local);
                result
            }
        }
    }

    /// Local element `local`, for reading its handlers (not lent: a read
    /// through the shard is made between calls).
    pub fn handler_site<'a>(&'a self, graph: &'a Graph, local: usize) -> HandlerSite<'a> {
        HandlerSite {
            graph,
            element: self.global[local],
            slot: &self.slots[local],
            lent: None,
            config: &self.state.configs[local],
            task: self.task_of[local].as_ref(),
        }
    }

    /// The local instance answering for global element `element`.
    fn answering(&self, shared: &Shared, element: usize) -> Result<usize, String> {
        self.global
            .iter()
            .position(|&g| g == element)
            .ok_or_else(|| {
                let name = &shared.graph.nodes[element].name;
                format!("'{name}' is not on thread {}", self.thread)
            })
    }

    /// Click's driver runs the tasks scheduled at start once before it
    /// first looks at timers: a Script's first step sees them settled.
    /// (Out of line, so that the loop keeps `run_task` inlined.)
    #[cold]
    #[inline(never)]
    fn run_each_task_once(&mut self, shared: &Shared) {
        let now = shared.clock.now();
        for i in 0..self.tasks.len() {
            if self.tasks[i].handle.is_scheduled() && !shared.stopping() {
                self.run_task(shared, i, now);
            }
        }
    }

    /// The scheduler loop of one thread: until the router stops, run timers
    /// that are due and a round of tasks; park when there is nothing to do.
    pub fn run(&mut self, shared: &Shared) {
        /// Tasks run between two looks at the clock, timers and stop flag.
        const TASKS_PER_ROUND: usize = 64;
        self.waker.attach_current();
        let simulated = shared.clock.simulated();
        let mut clock = 0u64;
        self.run_each_task_once(shared);
        while !shared.stopping() {
            let now = shared.clock.now();
            if self.thread == 0 && crate::signals::any_received() {
                self.deliver_signals(shared, now);
            }
            self.answer_calls(shared, now);
            self.run_due_timers(shared, now);
            let mut ran = 0;
            while ran < TASKS_PER_ROUND {
                let Some(i) = pick_task(&mut self.tasks, &mut clock) else {
                    break;
                };
                self.run_task(shared, i, now);
                ran += 1;
            }
            if simulated {
                if ran > 0 {
                    shared.clock.advance_by(SIM_TICK);
                } else if !shared.stopping() && self.inbox.is_empty() {
                    // Nothing runnable: once no thread has anything, time
                    // jumps to the next timer, or the run ends when there
                    // is none (nothing could happen again).
                    let next = self.state.timers.next_deadline();
                    let ready = || {
                        shared.stopping()
                            || !self.inbox.is_empty()
                            || self.tasks.iter().any(|t| t.handle.is_scheduled())
                            || next.is_some_and(|at| at <= shared.clock.now())
                    };
                    if shared.idle.wait(self.thread, next, &shared.clock, ready) {
                        break;
                    }
                }
                continue;
            }
            if ran == 0 && !shared.stopping() {
                let wait = match self.state.timers.next_deadline() {
                    Some(at) => shared.clock.real_delay(at),
                    None => Duration::from_secs(3600),
                };
                if !wait.is_zero() {
                    self.waker.park(wait);
                }
            }
        }
    }
}
