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
use crate::poller::Interest;
use crate::sched::TaskHandle;
use crate::shard::ShardState;
use crate::shared::Shared;
use crate::stats::{now_cycles, read_cost, DropReason, DROPPED_BY_ELEMENT, NO_SUCH_OUTPUT};
use crate::timers::Timer;
use std::os::fd::RawFd;

/// What a per-packet element sees while it processes a packet
/// ([`PacketElement::process`](crate::PacketElement::process)): the clock,
/// its timers and task, handlers of other elements, the router's stop
/// switch. Everything [`Ctx`] offers but the packet path (push and pull).
pub struct PacketCtx<'a> {
    pub(crate) thread: usize,
    pub(crate) slots: &'a [Slot],
    pub(crate) tables: &'a Tables,
    pub(crate) task_of: &'a [Option<TaskHandle>],
    pub(crate) global: &'a [usize],
    pub(crate) state: &'a mut ShardState,
    pub(crate) shared: &'a Shared,
    /// The running element and how the engine entered it (what a panic
    /// report names): one word, saved and restored around each call.
    pub(crate) pos: Position,
    /// The reason a per-packet element gave for the drop it is about to
    /// return ([`PacketCtx::drop_because`]).
    pub(crate) drop_reason: Option<DropReason>,
    /// Whether this call is one whose cycles are sampled (see stats.rs),
    /// and the time stamp of the last element boundary.
    pub(crate) timed: bool,
    pub(crate) mark: u64,
    pub(crate) now: Instant,
    /// The innermost element lent for reads (null: none).
    pub(crate) lent: *const Lent,
}

/// What an element sees while it runs: [`PacketCtx`] (clock, timers,
/// task, handlers, stop switch; reached through `Deref`) plus the packet
/// path: [`push`](Ctx::push) out of its outputs, [`pull`](Ctx::pull)
/// from its inputs.
#[repr(transparent)]
pub struct Ctx<'a>(pub(crate) PacketCtx<'a>);

impl<'a> std::ops::Deref for Ctx<'a> {
    type Target = PacketCtx<'a>;

    #[inline(always)]
    fn deref(&self) -> &PacketCtx<'a> {
        &self.0
    }
}

impl std::ops::DerefMut for Ctx<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for PacketCtx<'_> {
    /// A panic leaving an element's call leaves `cur` at the element that
    /// panicked (its caller's restore never ran): note it for the report.
    fn drop(&mut self) {
        if std::thread::panicking() && self.state.panic_site.is_none() {
            self.state.panic_site = Some((self.cur(), self.pos.entered()));
        }
    }
}

/// The running element (local index) and how the engine entered it,
/// packed in one word: a push into input `p` is `p`, a pull from output
/// `p` is `p | PULLED`, the top-level calls are the highest values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub(crate) struct Position {
    pub elem: u32,
    how: u32,
}

const PULLED: u32 = 1 << 31;

impl Position {
    #[inline(always)]
    pub fn new(elem: usize, how: Entered) -> Position {
        let how = match how {
            Entered::Push(p) => p,
            Entered::Pull(p) => p | PULLED,
            Entered::Task => u32::MAX,
            Entered::Timer => u32::MAX - 1,
            Entered::Handler => u32::MAX - 2,
            Entered::Selected => u32::MAX - 3,
        };
        Position {
            elem: elem as u32,
            how,
        }
    }

    /// How the element was entered.
    pub fn entered(self) -> Entered {
        match self.how {
            u32::MAX => Entered::Task,
            h if h == u32::MAX - 1 => Entered::Timer,
            h if h == u32::MAX - 2 => Entered::Handler,
            h if h == u32::MAX - 3 => Entered::Selected,
            h if h & PULLED != 0 => Entered::Pull(h & !PULLED),
            h => Entered::Push(h),
        }
    }
}

/// How the engine entered the running element, for a panic report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entered {
    Task,
    Timer,
    Handler,
    Selected,
    Push(u32),
    Pull(u32),
}

impl std::fmt::Display for Entered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entered::Task => f.write_str("running its task"),
            Entered::Timer => f.write_str("running its timer"),
            Entered::Handler => f.write_str("in a handler"),
            Entered::Selected => f.write_str("on a file descriptor event"),
            Entered::Push(port) => write!(f, "on a push into input {port}"),
            Entered::Pull(port) => write!(f, "on a pull from output {port}"),
        }
    }
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
    ///
    /// Inlined into every element's push: a call of its own saved and
    /// restored six registers and built a frame for each hop of every
    /// batch (inlined, 3.6 instructions a packet fewer on b-classify's six
    /// hops; the binary grows by 1%).
    #[inline(always)]
    pub fn push(&mut self, port: Port, batch: Batch) {
        let c = &mut self.0;
        let Some(link) = c.tables.output(c.cur(), port) else {
            return c.dropped_nowhere(port, batch);
        };
        let t = link.target.get();
        // NOWHERE's element, u32::MAX, is past any shard's slots: the
        // slot's look-up tests for it too (four instructions a hop fewer
        // than a test of the target's two words first).
        let Some(slot) = c.slots.get(t.elem as usize) else {
            debug_assert_eq!(t, NOWHERE);
            return c.dropped_nowhere(port, batch);
        };
        link.carried(batch.len());
        match slot.try_borrow_mut() {
            Ok(mut element) => {
                let callee = Position::new(t.elem as usize, Entered::Push(t.port));
                if c.timed {
                    c.time_call(callee.elem as usize, batch.len());
                }
                let caller = std::mem::replace(&mut self.0.pos, callee);
                element.push(t.port as usize, batch, self);
                self.0.pos = caller;
                if self.0.timed {
                    self.0.time_return(callee.elem as usize);
                }
            }
            Err(_) => c.state.deferred.push_back((t.elem, t.port, batch)),
        }
    }

    /// Pushes each packet of `batch` out of the port its verdict names
    /// (`verdicts` is parallel to the batch; `drop` marks packets to drop,
    /// which are counted). Where the element's outputs meet again
    /// downstream (a Classifier's outputs merged into one ToDump), the
    /// batch's order is kept across ports: consecutive packets for one port
    /// leave together, and a packet never overtakes an earlier one, so they
    /// arrive in Click's order. Where they never meet, nothing can tell the
    /// order across ports: each port's packets leave as one batch, in
    /// order.
    pub fn push_by_verdict(&mut self, batch: Batch, verdicts: &[u16], drop: u16) {
        if let Some(&first) = verdicts.first() {
            if verdicts.iter().all(|&v| v == first) {
                return self.push_whole(batch, first, drop);
            }
        }
        if self.tables.outputs_meet[self.cur()] {
            self.push_in_runs(batch, verdicts, drop);
        } else {
            self.push_by_port(batch, verdicts, drop);
        }
    }

    /// [`push_by_verdict`](Ctx::push_by_verdict) for a batch whose packets
    /// all have verdict `v`: it leaves whole, or is dropped whole, with no
    /// sorting. The common case (a batch of one flow, or of one packet, as
    /// a RoundRobinSwitch or light traffic makes), and the only one where
    /// the sorts' fixed cost would be paid per packet.
    fn push_whole(&mut self, batch: Batch, v: u16, drop: u16) {
        if v == drop {
            self.count_drops(batch.len());
        } else if v != GONE {
            self.push(v as usize, batch);
        }
    }

    /// Runs of consecutive packets for one port, in the batch's order.
    fn push_in_runs(&mut self, mut batch: Batch, verdicts: &[u16], drop: u16) {
        let mut run = Batch::new();
        let mut run_port = drop;
        let mut dropped = 0;
        for (p, &v) in batch.drain().zip(verdicts) {
            if v == drop || v == GONE {
                dropped += usize::from(v == drop);
                drop_packet(p);
                continue;
            }
            if v != run_port && !run.is_empty() {
                self.push(run_port as usize, std::mem::take(&mut run));
            }
            run_port = v;
            // A run never holds more than the batch it comes from.
            let _ = run.try_push(p);
        }
        if !run.is_empty() {
            self.push(run_port as usize, run);
        }
        self.count_drops(dropped);
    }

    /// [`push_by_verdict`](Ctx::push_by_verdict) where nothing downstream
    /// can see the order across ports (the outputs never meet again): one
    /// batch per port, each port's packets in order, ports in increasing
    /// order.
    fn push_by_port(&mut self, mut batch: Batch, verdicts: &[u16], drop: u16) {
        const PORTS: usize = 64;
        if verdicts
            .iter()
            .any(|&v| v as usize >= PORTS && v != drop && v != GONE)
        {
            // Ports this high are rare: keep the batch's order instead.
            return self.push_in_runs(batch, verdicts, drop);
        }
        // A counting sort: where each port's packets start, then each
        // packet into its place, each port's in order.
        let mut start = [0u8; PORTS + 1];
        let mut dropped = 0;
        for &v in verdicts {
            if v == drop || v == GONE {
                dropped += usize::from(v == drop);
            } else {
                start[v as usize + 1] += 1;
            }
        }
        for p in 0..PORTS {
            start[p + 1] += start[p];
        }
        let mut placed: [Option<Packet>; crate::packet::BATCH_CAPACITY] = Default::default();
        let mut next = start;
        for (p, &v) in batch.drain().zip(verdicts) {
            if v == drop || v == GONE {
                drop_packet(p);
            } else {
                placed[next[v as usize] as usize] = Some(p);
                next[v as usize] += 1;
            }
        }
        self.count_drops(dropped);
        for port in 0..PORTS {
            let (from, to) = (start[port] as usize, start[port + 1] as usize);
            if from == to {
                continue;
            }
            let mut out = Batch::new();
            out.extend(placed[from..to].iter_mut().filter_map(Option::take));
            self.push(port, out);
        }
    }

    /// [`push_by_verdict`](Ctx::push_by_verdict) for a batch that was
    /// pulled from output `pulled`: returns the packets whose verdict is
    /// `pulled` (for the puller), and pushes the others out of their ports
    /// (Click's `a/ah`: CheckIPHeader's output 1 stays push when output 0
    /// is pulled), in order. A verdict naming a port that is not a push
    /// output drops the packet, counted and warned about.
    pub fn split_pulled(
        &mut self,
        mut batch: Batch,
        verdicts: &[u16],
        drop: u16,
        pulled: Port,
    ) -> Option<Batch> {
        let mut kept = Batch::new();
        let mut run = Batch::new();
        let mut run_port = drop;
        let mut dropped = 0;
        for (p, &v) in batch.drain().zip(verdicts) {
            if v == drop || v == GONE {
                dropped += usize::from(v == drop);
                drop_packet(p);
            } else if v as usize == pulled {
                let _ = kept.try_push(p);
            } else {
                if v != run_port && !run.is_empty() {
                    self.push(run_port as usize, std::mem::take(&mut run));
                }
                run_port = v;
                let _ = run.try_push(p);
            }
        }
        if !run.is_empty() {
            self.push(run_port as usize, run);
        }
        self.count_drops(dropped);
        (!kept.is_empty()).then_some(kept)
    }

    /// Pulls at most `max` packets from input `port` (bounded by
    /// [`BATCH_CAPACITY`](crate::packet::BATCH_CAPACITY)); `None` when
    /// nothing is available.
    #[inline]
    pub fn pull(&mut self, port: Port, max: usize) -> Option<Batch> {
        let max = max.min(crate::packet::BATCH_CAPACITY);
        let c = &mut self.0;
        let link = c.tables.input(c.cur(), port)?;
        let t = link.target.get();
        // NOWHERE is past the slots, as in `push`.
        let Some(slot) = c.slots.get(t.elem as usize) else {
            debug_assert_eq!(t, NOWHERE);
            return None;
        };
        let Ok(mut element) = slot.try_borrow_mut() else {
            c.pull_cycle(t.elem as usize);
            return None;
        };
        let callee = Position::new(t.elem as usize, Entered::Pull(t.port));
        if c.timed {
            c.time_call(callee.elem as usize, 0);
        }
        let caller = std::mem::replace(&mut self.0.pos, callee);
        let batch = element.pull(t.port as usize, max, self);
        self.0.pos = caller;
        let n = batch.as_ref().map_or(0, Batch::len);
        link.carried(n);
        if self.0.timed {
            let stats = &mut self.0.state.stats;
            stats.sampled_out[callee.elem as usize] += n as u64;
            stats.sampled_in[caller.elem as usize] += n as u64;
            self.0.time_return(callee.elem as usize);
        }
        batch
    }
}

/// The verdict of a packet already dropped and counted (a per-packet
/// element's drop with a reason): freed, not counted again. Ports at or
/// above it do not exist.
pub(crate) const GONE: u16 = u16::MAX - 1;

/// Frees one packet (out of line: drops are the cold path).
#[inline(never)]
fn drop_packet(p: Packet) {
    drop(p);
}

impl<'a> PacketCtx<'a> {
    /// The running element's local index.
    #[inline(always)]
    pub(crate) fn cur(&self) -> usize {
        self.pos.elem as usize
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

    /// Packets pushed out of an output that leads nowhere: a port the
    /// element does not have (Click's `checked_output_push` to an optional
    /// output left out, as a splitter with one output does: counted against
    /// the element, as Click drops them), or one that is not a push output
    /// (a verdict the configuration cannot carry: counted, and said once
    /// per element, never a silent loss).
    #[cold]
    #[inline(never)]
    fn dropped_nowhere(&mut self, port: Port, batch: Batch) {
        let node = &self.shared.graph.nodes[self.global[self.cur()]];
        match node.outputs.get(port) {
            None => self.count_drops_for(batch.len(), NO_SUCH_OUTPUT),
            Some(_) => self.count_drops_for(batch.len(), "sent to a pull output"),
        }
    }

    /// Counts `n` packets the current element dropped, for no stated
    /// reason (filtering: its job; a per-packet element's `None`).
    #[inline]
    pub fn count_drops(&mut self, n: usize) {
        if n > 0 {
            let cur = self.cur();
            self.state.stats.drop(cur, DROPPED_BY_ELEMENT, n as u64);
        }
    }

    /// A per-packet element is about to drop a packet (return `None` from
    /// `process`) for `reason` (a short phrase: "packet too long"): the
    /// drop is counted under it, and said once at the default log level.
    /// Without it, a `None` is counted as [`DROPPED_BY_ELEMENT`], quietly:
    /// filtering is an element's job.
    #[inline]
    pub fn drop_because(&mut self, reason: DropReason) {
        self.drop_reason = Some(reason);
    }

    /// Counts the drop [`drop_because`](Self::drop_because) explained;
    /// the packet's verdict is then [`GONE`].
    #[cold]
    pub(crate) fn counted_drop(&mut self) -> u16 {
        if let Some(reason) = self.drop_reason.take() {
            self.count_drops_for(1, reason);
        }
        GONE
    }

    /// Counts `n` packets the current element dropped for `reason` (a
    /// short phrase: "packet too long", "pool exhausted"). The first time
    /// an element drops for a reason it is said at the default log level
    /// (but for [`NO_SUCH_OUTPUT`], Click's way of dropping what an
    /// optional output left out would get); `router --stats` lists every
    /// drop by element and reason.
    #[cold]
    pub fn count_drops_for(&mut self, n: usize, reason: DropReason) {
        if n == 0 {
            return;
        }
        let cur = self.cur();
        if self.state.stats.drop(cur, reason, n as u64) && reason != NO_SUCH_OUTPUT {
            let node = &self.shared.graph.nodes[self.global[cur]];
            tracing::warn!(
                element = %node.declaration(),
                "dropped packets: {reason} (said once; router --stats counts them)"
            );
        }
    }

    /// A timed call enters element `callee` with `packets` packets: the
    /// cycles so far are the caller's.
    #[cold]
    #[inline(never)]
    fn time_call(&mut self, callee: usize, packets: usize) {
        let now = now_cycles();
        let cur = self.cur();
        let stats = &mut self.state.stats;
        stats.cycles[cur] += now.saturating_sub(self.mark + read_cost());
        stats.sampled_out[cur] += packets as u64;
        stats.sampled_in[callee] += packets as u64;
        self.mark = now;
    }

    /// A timed call returns from element `callee`: the cycles since the
    /// last boundary are its own.
    #[cold]
    #[inline(never)]
    fn time_return(&mut self, callee: usize) {
        let now = now_cycles();
        self.state.stats.cycles[callee] += now.saturating_sub(self.mark + read_cost());
        self.mark = now;
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
        self.tables.noutputs(self.cur())
    }

    /// The scheduler thread running the current element (0 to `-j N`
    /// minus 1): Click's `click_current_cpu_id()` at user level, which
    /// Print's `CPU` shows.
    pub fn thread(&self) -> usize {
        self.thread
    }

    /// The current element's name.
    pub fn name(&self) -> &str {
        &self.shared.graph.nodes[self.global[self.cur()]].name
    }

    /// Fires the current element's main timer at `at` (replacing any
    /// pending time); [`Element::run_timer`](crate::Element::run_timer)
    /// gets [`Timer::MAIN`].
    pub fn schedule_at(&mut self, at: Instant) {
        self.set_timer(Timer::MAIN, at);
    }

    /// Fires the current element's main timer after `delay`.
    pub fn schedule_after(&mut self, delay: Duration) {
        self.set_timer_after(Timer::MAIN, delay);
    }

    /// Cancels the current element's main timer.
    pub fn unschedule_timer(&mut self) {
        self.clear_timer(Timer::MAIN);
    }

    /// When the current element's main timer will fire, if it is scheduled.
    pub fn timer_deadline(&self) -> Option<Instant> {
        self.timer_deadline_of(Timer::MAIN)
    }

    /// Fires `timer` of the current element at `at`, replacing any pending
    /// time. A timer the element did not add
    /// ([`InitCtx::add_timer`](crate::InitCtx::add_timer)) is an element
    /// bug: it never fires, and a debug build panics.
    pub fn set_timer(&mut self, timer: Timer, at: Instant) {
        let known = self.state.timers.schedule(self.cur(), timer, at);
        debug_assert!(known, "{}: no timer {}", self.name(), timer.index());
    }

    /// Fires `timer` of the current element after `delay`.
    pub fn set_timer_after(&mut self, timer: Timer, delay: Duration) {
        let at = self.shared.clock.after(delay);
        self.set_timer(timer, at);
    }

    /// Cancels `timer` of the current element.
    pub fn clear_timer(&mut self, timer: Timer) {
        self.state.timers.cancel(self.cur(), timer);
    }

    /// When `timer` of the current element will fire, if it is scheduled.
    pub fn timer_deadline_of(&self, timer: Timer) -> Option<Instant> {
        self.state.timers.deadline(self.cur(), timer)
    }

    /// Watches file descriptor `fd` for `interest`, or changes what it is
    /// watched for (see [`InitCtx::add_select`](crate::InitCtx::add_select)).
    pub fn add_select(&mut self, fd: RawFd, interest: Interest) -> Result<(), String> {
        self.state.selects.add(fd, interest, self.cur())
    }

    /// Stops watching file descriptor `fd` (before the element closes it).
    pub fn remove_select(&mut self, fd: RawFd) {
        self.state.selects.remove(fd, self.cur());
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
        if let Some(task) = &self.task_of[self.cur()] {
            task.wake();
        }
    }

    /// Click's `please_stop_driver`: lowers the run count; at zero the
    /// router stops.
    pub fn stop_router(&mut self) {
        let who = self.declaration();
        self.shared
            .adjust_runcount(-1, || format!("'{who}' asked the router to stop"));
    }

    /// Adjusts the router's run count (DriverManager, Script).
    pub fn adjust_runcount(&mut self, delta: i32) {
        let who = self.declaration();
        self.shared.adjust_runcount(delta, || match delta {
            -1 => format!("'{who}' asked the router to stop"),
            d if d < 0 => format!("'{who}' asked the router to stop ({} times)", -d),
            d => format!("'{who}' raised the run count by {d}"),
        });
    }

    /// `name :: Class` of the current element, for the log.
    fn declaration(&self) -> String {
        self.shared.graph.nodes[self.global[self.cur()]].declaration()
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
        let who = self.declaration();
        self.shared
            .stop_because(|| format!("'{who}' stopped the router"));
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
            element: self.global[self.cur()],
            handler: handler.into(),
        })
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

impl Ctx<'_> {
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
            local: self.cur(),
            element: this,
            outer: self.lent,
        };
        let outer = std::mem::replace(&mut self.lent, &frame);
        let result = f(self);
        self.lent = outer;
        result
    }

    /// Writes handler `handler` of element `element`, on whichever thread
    /// owns it, and on every thread holding a replica of it.
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
        // Every instance takes the write: those on other threads between
        // their rounds (waiting for one only if none is here).
        let mailboxes = &self.shared.mailboxes;
        let instances = mailboxes.instances(global);
        let here = instances.contains(&self.thread);
        let mut answer = None;
        for &t in instances.iter().filter(|&&t| t != self.thread) {
            let request = Request::Write {
                element: global,
                handler: handler.into(),
                value: value.into(),
                remote: false,
            };
            if here || answer.is_some() {
                mailboxes.post_to(t, request);
            } else {
                answer = Some(mailboxes.call_on(t, request));
            }
        }
        let local = match self.global.iter().position(|&g| g == global) {
            Some(local) if here => local,
            _ => return answer.unwrap_or(Ok(String::new())).map(drop),
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
        let caller = std::mem::replace(&mut self.pos, Position::new(local, Entered::Handler));
        let result = write_element(&mut **e, handler, value, self);
        self.pos = caller;
        drop(e);
        self.tables.after_write(slots, local);
        result
    }

    /// Whether a push into the current element waits in the deferred
    /// queue: one of its outputs led back into one of its inputs while it
    /// ran (an ARP query answered at once by an ARPResponder wired back to
    /// the querier). Click would have entered the element again there and
    /// then; here that push runs once the current top-level call returns.
    pub fn has_deferred_input(&self) -> bool {
        let cur = self.cur() as u32;
        self.state.deferred.iter().any(|&(e, _, _)| e == cur)
    }

    /// Takes the oldest write handler call to the current element that
    /// waits in the deferred queue, as (handler, value): one made while it
    /// was on the call stack, by a handler it called itself (TimeFilter's
    /// `END_CALL` running a Script that writes its `extend_interval`).
    /// Click would have run that write there and then, re-entrantly; an
    /// element whose next step depends on it applies it to itself now
    /// instead of after the current top-level call.
    pub fn take_deferred_write_to_self(&mut self) -> Option<(String, String)> {
        let cur = self.cur() as u32;
        let writes = &mut self.state.deferred_writes;
        let at = writes.iter().position(|(e, _, _)| *e == cur)?;
        writes
            .remove(at)
            .map(|(_, handler, value)| (handler, value))
    }

    /// Pushes `batch` into the current element's own input `port` behind
    /// the pushes deferred so far: it arrives once the current top-level
    /// call returns and they have run. An element whose output came back
    /// to it ([`has_deferred_input`](Self::has_deferred_input)) leaves the
    /// rest of its batch for later this way, so the answer is taken before
    /// the packets after the one that caused it, in Click's depth-first
    /// order.
    pub fn defer_to_self(&mut self, port: Port, batch: Batch) {
        let cur = self.cur() as u32;
        self.state.deferred.push_back((cur, port as u32, batch));
    }

    /// Writes a global write handler that the program running the router
    /// added ([`Router::add_global_write`](crate::Router::add_global_write)),
    /// such as the driver's `hotconfig`.
    pub fn write_global(&mut self, handler: &str, value: &str) -> Result<(), String> {
        self.shared.handle.write(handler, value)
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
    tracing::debug!(element = ctx.name(), handler, value, "handler write");
    if let (Some(task), "tickets") = (&ctx.task_of[ctx.cur()], handler) {
        let tickets: u32 = crate::args::Args::new(value).read_mp("TICKETS")?;
        task.set_tickets(tickets);
        return Ok(());
    }
    element.write_handler(handler, value, ctx)?;
    if handler == "config" {
        // An element that takes writes to its configuration (Click's live
        // reconfiguration, as ARPResponder's) shows the new one.
        let cur = ctx.cur();
        ctx.state.configs[cur] = value.trim().to_string();
        return Ok(());
    }
    let arg = element
        .handlers()
        .iter()
        .find(|h| h.name == handler)
        .and_then(|h| h.reconfigures);
    if let Some(arg) = arg {
        let cur = ctx.cur();
        let config = &mut ctx.state.configs[cur];
        *config = crate::handler::reconfigure(config, arg, value);
    }
    Ok(())
}
