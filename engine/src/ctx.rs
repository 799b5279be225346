//! [`Ctx`]: what an element sees while it runs (pushes and pulls through
//! the dispatch tables, the clock, its timer and task, handlers of other
//! elements, the router's stop switch).
//!
//! A push is a table look-up, a `RefCell` borrow flag and one virtual call
//! per *batch*; per-packet work inside an element is statically
//! dispatched. Pushes are immediate and depth-first, like Click's; a push
//! that would re-enter an element already on the call stack (a cycle in
//! the graph) is deferred until the current call returns.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::control::Request;
use crate::dispatch::{Slot, Tables, NOWHERE};
use crate::element::{Element, Port};
use crate::handler::HandlerSite;
use crate::packet::{Batch, Packet, Timestamp};
use crate::sched::TaskHandle;
use crate::shard::ShardState;
use crate::shared::Shared;

/// What an element sees while it runs: its ports, the clock, its timer and
/// task, and the router's stop switch.
pub struct Ctx<'a> {
    pub(crate) thread: usize,
    pub(crate) slots: &'a [Slot],
    pub(crate) tables: &'a Tables,
    pub(crate) task_of: &'a [Option<TaskHandle>],
    pub(crate) global: &'a [usize],
    pub(crate) state: &'a mut ShardState,
    pub(crate) shared: &'a Shared,
    pub(crate) cur: usize,
    pub(crate) now: Instant,
    /// The innermost element lent for reads (null: none).
    pub(crate) lent: *const Lent,
}

/// An element lent for reads by [`Ctx::lend_self`]: a frame on the stack
/// of that call, linked to the frame of any outer lend.
pub(crate) struct Lent {
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
pub(crate) fn write_element(
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
