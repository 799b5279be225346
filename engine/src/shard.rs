//! A shard: the elements one scheduler thread owns, their tasks and
//! timers, and the scheduler loop that runs them.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::SIM_TICK;
use crate::control::{Message, Request};
use crate::ctx::{write_element, Ctx, Entered, PacketCtx, Position};
use crate::dispatch::{Slot, Tables};
use crate::element::Element;
use crate::graph::Graph;
use crate::handler::{is_private, no_handler, HandlerSite};
use crate::packet::Batch;
use crate::poller::{Event, Interest, Poller, WakeFd};
use crate::sched::{pick_task, TaskEntry, TaskHandle, ThreadWaker};
use crate::shared::Shared;
use crate::stats::{now_cycles, read_cost, ElementStats, Stats};
use crate::timers::Timers;

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
    /// Packets in and out, drops by reason, sampled cycles.
    pub stats: Stats,
    /// Pushes into elements that were on the call stack, first in, first
    /// out: run when the current top-level call returns.
    pub deferred: std::collections::VecDeque<(u32, u32, Batch)>,
    /// Handler writes to elements that were on the call stack (element,
    /// handler, value), run when the current top-level call returns.
    pub deferred_writes: std::collections::VecDeque<(u32, String, String)>,
    /// Each element's configuration as keyword handlers have rewritten it
    /// (the `config` handler shows this).
    pub configs: Vec<String>,
    pub slept: bool,
    /// Elements a pull cycle reached, already reported.
    pub cycle_warned: Vec<bool>,
    /// The file descriptors its elements watch.
    pub selects: Selects,
    /// Waits on file descriptors made (each a system call).
    pub waits: u64,
    /// Where a panic unwound from: the element running and how the
    /// engine entered it (set as the panic leaves the element's context).
    pub panic_site: Option<(usize, Entered)>,
}

impl ShardState {
    pub fn new(nelements: usize, timers: Timers, selects: Selects, stats: Stats) -> Self {
        ShardState {
            timers,
            stats,
            deferred: std::collections::VecDeque::with_capacity(64),
            deferred_writes: std::collections::VecDeque::new(),
            configs: Vec::new(),
            slept: false,
            cycle_warned: vec![false; nelements],
            panic_site: None,
            selects,
            waits: 0,
        }
    }
}

impl Shard {
    /// Runs one element call through `f`, then any pushes and handler
    /// writes it deferred, in the order they were deferred.
    fn call(
        &mut self,
        shared: &Shared,
        e: usize,
        entered: Entered,
        now: Instant,
        f: impl FnOnce(&mut dyn Element, &mut Ctx),
    ) {
        // Built here rather than returned by a helper: returned in a tuple,
        // the context was built and then copied (about 30 instructions a
        // call, two calls a batch on a Queue path).
        let slot = &self.slots[e];
        let mut ctx = Ctx(PacketCtx {
            thread: self.thread,
            slots: &self.slots,
            tables: &self.tables,
            task_of: &self.task_of,
            global: &self.global,
            state: &mut self.state,
            shared,
            pos: Position::new(e, entered),
            drop_reason: None,
            timed: false,
            mark: 0,
            now,
            lent: std::ptr::null(),
        });
        if ctx.state.stats.sample_next() {
            ctx.timed = true;
            ctx.mark = now_cycles();
        }
        if let Ok(mut element) = slot.try_borrow_mut() {
            f(&mut **element, &mut ctx);
        }
        if ctx.timed {
            let cur = ctx.cur();
            ctx.state.stats.cycles[cur] += now_cycles().saturating_sub(ctx.mark + read_cost());
        }
        let slots = ctx.slots;
        loop {
            while let Some((e, port, batch)) = ctx.state.deferred.pop_front() {
                ctx.pos = Position::new(e as usize, Entered::Push(port));
                if let Ok(mut element) = slots[e as usize].try_borrow_mut() {
                    element.push(port as usize, batch, &mut ctx);
                }
            }
            let Some((e, handler, value)) = ctx.state.deferred_writes.pop_front() else {
                break;
            };
            ctx.pos = Position::new(e as usize, Entered::Handler);
            if let Ok(mut element) = slots[e as usize].try_borrow_mut() {
                if let Err(message) = write_element(&mut **element, &handler, &value, &mut ctx) {
                    tracing::warn!(element = ctx.name(), %handler, %message, "deferred handler write failed");
                }
            }
            ctx.tables.after_write(slots, e as usize);
        }
    }

    /// Runs task `i` once. Inlined into the scheduler loop: a call per
    /// task run cost 22 instructions a batch (0.7 per packet on a-counter).
    /// The task stays scheduled while it runs; a run that sleeps ends with
    /// [`TaskHandle::after_sleep`], which says why no wake is lost. A run
    /// that does not sleep touches no atomic (it used to unschedule before
    /// each run, with a SeqCst fence, and count a reference to the handle:
    /// four atomic operations a run, two runs a batch on a Queue path).
    #[inline(always)]
    fn run_task(&mut self, shared: &Shared, i: usize, now: Instant) {
        let e = self.tasks[i].element;
        self.tasks[i].handle.before_run();
        self.state.slept = false;
        self.call(shared, e, Entered::Task, now, |element, ctx| {
            element.run_task(ctx);
        });
        if self.state.slept {
            self.tasks[i].handle.after_sleep();
        }
    }

    fn run_due_timers(&mut self, shared: &Shared, now: Instant) {
        while let Some((e, timer)) = self.state.timers.pop_due(now) {
            self.call(shared, e, Entered::Timer, now, |element, ctx| {
                element.run_timer(timer, ctx)
            });
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

    /// Answers the calls waiting in the inbox with an error, without
    /// running any element (after a panic).
    pub fn refuse_calls(&mut self, why: &str) {
        while let Ok(Message { reply, .. }) = self.inbox.try_recv() {
            let _ = reply.send(Err(why.to_string()));
        }
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
                shared.adjust_runcount(-n, || "a write to the stop handler".into());
                Ok(String::new())
            }
            Request::PublishStats => {
                let stats = self.element_stats(&shared.graph);
                let mut published = shared
                    .mailboxes
                    .stats
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                published[self.thread] = stats;
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
                        .is_ok_and(|e| is_private(&**e, &handler))
                };
                if remote && private() {
                    return Err(no_handler(name, &handler));
                }
                let mut result = Err(format!("{name}: busy"));
                self.call(shared, local, Entered::Handler, now, |element, ctx| {
                    result = write_element(element, &handler, &value, ctx).map(|()| String::new());
                });
                self.tables.after_write(&self.slots, local);
                result
            }
        }
    }

    /// This shard's elements' statistics, by global element index: packets
    /// in and out of each port (a push counted at both ends, a pull too),
    /// drops by reason, sampled cycles.
    pub fn element_stats(&self, graph: &Graph) -> Vec<(usize, ElementStats)> {
        let t = &self.tables;
        let s = &self.state.stats;
        let mut out: Vec<ElementStats> = (0..self.slots.len())
            .map(|l| {
                let node = &graph.nodes[self.global[l]];
                ElementStats {
                    declaration: node.declaration(),
                    inputs: vec![0; node.inputs.len()],
                    outputs: vec![0; node.outputs.len()],
                    drops: s.drops[l]
                        .iter()
                        .map(|d| (d.reason.to_string(), d.count))
                        .collect(),
                    cycles: s.cycles[l],
                    sampled_packets: s.sampled_packets(l),
                }
            })
            .collect();
        for l in 0..self.slots.len() {
            for slot in t.out_base[l] as usize..t.out_base[l + 1] as usize {
                let n = t.outs[slot].packets.get();
                out[l].outputs[slot - t.out_base[l] as usize] += n;
                let to = t.outs[slot].target.get();
                if let Some(input) = out
                    .get_mut(to.elem as usize)
                    .and_then(|e| e.inputs.get_mut(to.port as usize))
                {
                    *input += n;
                }
            }
            for slot in t.in_base[l] as usize..t.in_base[l + 1] as usize {
                let n = t.ins[slot].packets.get();
                out[l].inputs[slot - t.in_base[l] as usize] += n;
                let from = t.ins[slot].target.get();
                if let Some(output) = out
                    .get_mut(from.elem as usize)
                    .and_then(|e| e.outputs.get_mut(from.port as usize))
                {
                    *output += n;
                }
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(l, stats)| (self.global[l], stats))
            .collect()
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
    /// that are due and a round of tasks; sleep when there is nothing to do.
    pub fn run(&mut self, shared: &Shared) {
        /// Tasks run between two looks at the clock, timers and stop flag.
        const TASKS_PER_ROUND: usize = 64;
        /// Busy rounds between two looks at the watched descriptors (a
        /// system call): Click looks every couple of rounds too.
        const ROUNDS_PER_POLL: u32 = 8;
        let simulated = shared.clock.simulated();
        let mut clock = 0u64;
        let mut rounds = 0u32;
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
            rounds += 1;
            if ran > 0 && rounds >= ROUNDS_PER_POLL && self.state.selects.watching() {
                rounds = 0;
                self.poll(shared, Duration::ZERO, now);
            }
            if simulated {
                if ran > 0 {
                    shared.clock.advance_by(SIM_TICK);
                } else if !shared.stopping() && self.inbox.is_empty() {
                    if self.state.selects.watching() {
                        self.poll(shared, Duration::ZERO, now);
                    }
                    // Nothing runnable: once no thread has anything, time
                    // jumps to the next timer, or the run ends when there
                    // is none (nothing could happen again).
                    let next = self.state.timers.next_deadline();
                    let ready = || {
                        shared.stopping()
                            || self.waker.take_pending()
                            || !self.inbox.is_empty()
                            || self.tasks.iter().any(|t| t.handle.is_scheduled())
                            || next.is_some_and(|at| at <= shared.clock.now())
                    };
                    let me = self.thread;
                    let woken_elsewhere = || {
                        let others = shared.wakers.iter().enumerate().filter(|&(t, _)| t != me);
                        others.clone().any(|(_, w)| w.is_pending())
                    };
                    if shared
                        .idle
                        .wait(me, next, &shared.clock, ready, woken_elsewhere)
                    {
                        break;
                    }
                }
                continue;
            }
            if ran == 0 && !shared.stopping() {
                let wait = match self.state.timers.next_deadline() {
                    Some(at) => shared.clock.real_delay(at),
                    None => MAX_SLEEP,
                };
                if !wait.is_zero() {
                    rounds = 0;
                    self.sleep(shared, wait, now);
                }
            }
        }
        // Calls sent before the stop are answered: a write another thread
        // posted to this thread's instance (a reset of every replica) and
        // then stopped the router must not be lost.
        self.answer_calls(shared, shared.clock.now());
    }

    /// Nothing to run: sleep until the next timer (`timeout`), a watched
    /// descriptor or a wake. With several threads, spin briefly first: a
    /// wake from another thread then costs no system call on either side,
    /// which matters when a ThreadSafeQueue runs dry between bursts.
    fn sleep(&mut self, shared: &Shared, timeout: Duration, now: Instant) {
        if shared.wakers.len() > 1 {
            let spin_until = Instant::now() + timeout.min(SPIN_BEFORE_SLEEP);
            while Instant::now() < spin_until {
                if self.waker.take_pending() {
                    return;
                }
                std::hint::spin_loop();
            }
        }
        if !self.waker.start_sleeping() {
            return;
        }
        self.poll(shared, timeout.min(MAX_SLEEP), now);
        self.waker.stop_sleeping();
    }

    /// Waits up to `timeout` for watched descriptors (zero: just looks),
    /// then tells each element whose descriptor is ready.
    fn poll(&mut self, shared: &Shared, timeout: Duration, now: Instant) {
        let mut events = std::mem::take(&mut self.state.selects.events);
        self.state.waits += 1;
        if let Err(e) = self
            .state
            .selects
            .wait(self.waker.fd(), timeout, &mut events)
        {
            tracing::error!("waiting on file descriptors failed: {e}");
            std::thread::sleep(timeout.min(MAX_SLEEP));
        }
        for ev in events.drain(..) {
            // A descriptor dropped by an earlier event of this batch is
            // skipped.
            if let Some(e) = self.state.selects.owner(ev.fd) {
                self.call(shared, e, Entered::Selected, now, |element, ctx| {
                    element.selected(ev.fd, ev.ready, ctx)
                });
            }
        }
        self.state.selects.events = events;
    }
}

/// Longest sleep: bounds the latency of noticing a stop request that
/// arrives without a wake.
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// How long an idle thread of a router with several threads spins before
/// it sleeps.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(200);

/// The file descriptors a shard's elements watch (Click's `add_select`),
/// and the poller the thread sleeps in.
#[derive(Debug, Default)]
pub(crate) struct Selects {
    /// None in a test harness, whose thread never sleeps.
    poller: Option<Poller>,
    /// Watched descriptor → local element.
    owners: HashMap<RawFd, usize>,
    /// Ready descriptors of the last wait (kept to reuse its storage).
    events: Vec<Event>,
}

impl Selects {
    pub fn new(poller: Poller) -> Selects {
        Selects {
            poller: Some(poller),
            owners: HashMap::new(),
            events: Vec::with_capacity(64),
        }
    }

    /// Local element `e` watches `fd` for `interest`.
    pub fn add(&mut self, fd: RawFd, interest: Interest, e: usize) -> Result<(), String> {
        if let Some(&other) = self.owners.get(&fd).filter(|&&o| o != e) {
            return Err(format!(
                "file descriptor {fd} is watched by another element ({other})"
            ));
        }
        let poller = self
            .poller
            .as_mut()
            .ok_or("this context cannot watch file descriptors")?;
        poller
            .watch(fd, interest)
            .map_err(|err| format!("cannot watch file descriptor {fd}: {err}"))?;
        self.owners.insert(fd, e);
        Ok(())
    }

    /// Local element `e` stops watching `fd`.
    pub fn remove(&mut self, fd: RawFd, e: usize) {
        if self.owners.get(&fd) == Some(&e) {
            self.owners.remove(&fd);
            if let Some(p) = self.poller.as_mut() {
                let _ = p.unwatch(fd);
            }
        }
    }

    fn owner(&self, fd: RawFd) -> Option<usize> {
        self.owners.get(&fd).copied()
    }

    fn watching(&self) -> bool {
        self.poller.as_ref().is_some_and(Poller::watching)
    }

    fn wait(
        &self,
        wake: Option<&WakeFd>,
        timeout: Duration,
        events: &mut Vec<Event>,
    ) -> std::io::Result<()> {
        match (&self.poller, wake) {
            (Some(p), Some(wake)) => p.wait(wake, timeout, events).map(drop),
            _ => {
                std::thread::sleep(timeout);
                Ok(())
            }
        }
    }
}
