//! What an element sees while it initializes: its name, its task, its
//! timer, shared state for thread-safe elements, and the graph around it,
//! walked to find the notifier signals its task should listen to.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dispatch::Slot;
use crate::element::Port;
use crate::graph::Graph;
use crate::notifier::{NotifierKind, NotifierSignal, Signal};
use crate::packet::Timestamp;
use crate::poller::Interest;
use crate::ports::Processing;
use crate::sched::TaskHandle;
use crate::shard::Selects;
use crate::shared::Shared;
use crate::timers::Timer;
use std::os::fd::RawFd;

/// What an element sees while it initializes: its name, its task, and the
/// graph around it (to find notifiers).
pub struct InitCtx<'a> {
    pub(crate) graph: &'a Graph,
    /// The router's names (AddressInfo, ...), for reading another
    /// element's arguments in its context.
    pub(crate) info: &'a Arc<crate::info::RouterInfo>,
    pub(crate) shared: &'a Shared,
    pub(crate) slots: &'a [Slot],
    /// Global element → local instance taking its inputs (`u32::MAX`: none).
    pub(crate) input_side: &'a [u32],
    /// Global element → local instance giving its outputs.
    pub(crate) output_side: &'a [u32],
    pub(crate) global: usize,
    /// The scheduler thread this instance runs on.
    pub(crate) thread: usize,
    pub(crate) task: Option<TaskHandle>,
    /// The element's timers (index: [`Timer::index`]) and their first
    /// deadlines.
    pub(crate) timers: &'a mut Vec<Option<Instant>>,
    pub(crate) task_scheduled: &'a mut bool,
    pub(crate) tickets: &'a mut u32,
    /// The shard's watched descriptors, and this element's local index.
    pub(crate) selects: &'a mut Selects,
    pub(crate) local: usize,
}

impl InitCtx<'_> {
    /// The element's full name.
    pub fn name(&self) -> &str {
        &self.graph.nodes[self.global].name
    }

    /// Says, in the log at `-v` (info), that the element opened a device
    /// or a file (`opened("netmap:eth0, 4 rings")`, `opened("trace.pcap
    /// for writing")`), with its name and thread: what a user looks for
    /// first when traffic does not flow. Every element that opens
    /// something in `initialize` should call it once.
    pub fn opened(&self, what: &str) {
        tracing::info!(element = %self.name(), thread = self.thread, "opened {what}");
    }

    /// Which of the element's instances this is, and how many there are:
    /// `(0, 1)` unless its class runs on several threads
    /// ([`Threads::PerThread`](crate::Threads::PerThread)) and paths from
    /// several threads reach it. Index shared state such as
    /// [`SharedCounters`](crate::SharedCounters) with it.
    pub fn instance(&self) -> (usize, usize) {
        let instances = self.shared.mailboxes.instances(self.global);
        let index = instances.iter().position(|&t| t == self.thread);
        (index.unwrap_or(0), instances.len().max(1))
    }

    /// The element's task, if it has one ([`Element::has_task`](crate::Element::has_task)).
    pub fn task(&self) -> Option<&TaskHandle> {
        self.task.as_ref()
    }

    /// Makes this element the router's driver (DriverManager, Script TYPE
    /// DRIVER): when the run count reaches zero, its task is woken instead
    /// of the router stopping; it reads [`Ctx::runcount`](crate::Ctx::runcount) and either raises
    /// it again or calls [`Ctx::force_stop`](crate::Ctx::force_stop). Requires a task.
    pub fn become_driver(&mut self) -> Result<(), String> {
        let task = self.task.clone().ok_or("a driver element needs a task")?;
        self.shared
            .driver
            .set(task)
            .map_err(|_| "there can be only one driver element".to_string())
    }

    /// Leaves the task unscheduled at start (it waits for a wake).
    pub fn start_unscheduled(&mut self) {
        *self.task_scheduled = false;
    }

    /// Sets the task's tickets (Click's stride scheduling share).
    pub fn set_tickets(&mut self, tickets: u32) {
        *self.tickets = tickets.max(1);
    }

    /// A handle on the running router, for an element that serves handler
    /// calls from its own threads (ControlSocket). Calls through it go to
    /// the owning scheduler threads and are answered between rounds; they
    /// fail once the router has stopped.
    pub fn router_handle(&self) -> crate::RouterHandle {
        self.shared.handle.clone()
    }

    /// Hot swap: the state the replaced router's element of the same name
    /// handed over ([`Element::hand_over`]), if it is an `S` (otherwise it
    /// is dropped). `None` in a router that replaces none, or when that
    /// element handed over nothing.
    ///
    /// [`Element::hand_over`]: crate::Element::hand_over
    pub fn take_state<S: Any>(&mut self) -> Option<S> {
        let name = &self.graph.nodes[self.global].name;
        let state = self.shared.hotswap.as_ref()?.take(name)?;
        state.downcast::<S>().ok().map(|s| *s)
    }

    /// Catches Unix signal `signal` for one delivery to this element's
    /// write handler `handler` (see [`Ctx::catch_signal`]).
    ///
    /// [`Ctx::catch_signal`]: crate::Ctx::catch_signal
    pub fn catch_signal(&mut self, signal: i32, handler: &str) -> Result<(), String> {
        self.shared.signals.catch(crate::signals::Catch {
            signal,
            element: self.global,
            handler: handler.into(),
        })
    }

    /// Fires the element's main timer `delay` after the router starts.
    pub fn schedule_after(&mut self, delay: Duration) {
        self.set_timer_after(Timer::MAIN, delay);
    }

    /// Watches file descriptor `fd` for `interest` (Click's `add_select`):
    /// when it is ready, the element's
    /// [`selected`](crate::Element::selected) is called on its thread, and
    /// an idle thread sleeps until then. One element per descriptor; the
    /// element closes it (after [`PacketCtx::remove_select`] or at
    /// cleanup).
    ///
    /// [`PacketCtx::remove_select`]: crate::PacketCtx::remove_select
    pub fn add_select(&mut self, fd: RawFd, interest: Interest) -> Result<(), String> {
        self.selects.add(fd, interest, self.local)
    }

    /// Adds a timer to the element's main one (Click elements hold as
    /// many `Timer`s as they need): its handle, for
    /// [`PacketCtx::set_timer`](crate::PacketCtx::set_timer), and what
    /// [`Element::run_timer`](crate::Element::run_timer) gets when it
    /// fires. Timers are added only here, so a running router's timer heap
    /// never grows.
    pub fn add_timer(&mut self) -> Timer {
        self.timers.push(None);
        Timer((self.timers.len() - 1) as u16)
    }

    /// Fires `timer` `delay` after the router starts.
    pub fn set_timer_after(&mut self, timer: Timer, delay: Duration) {
        if let Some(t) = self.timers.get_mut(timer.index()) {
            *t = Some(self.shared.clock.after(delay));
        }
    }

    /// The router's clock now (virtual under `--simtime`).
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// The wall-clock time now (virtual under `--simtime`).
    pub fn timestamp(&self) -> Timestamp {
        self.shared.clock.timestamp()
    }

    /// A handle on the router's clock to keep, for reading the time where
    /// no context is passed (read handlers).
    pub fn clock(&self) -> crate::ClockHandle {
        crate::ClockHandle(self.shared.clock.clone())
    }

    /// Resolved processing of the element's outputs.
    pub fn outputs(&self) -> &[Processing] {
        &self.graph.nodes[self.global].outputs
    }

    /// Resolved processing of the element's inputs.
    pub fn inputs(&self) -> &[Processing] {
        &self.graph.nodes[self.global].inputs
    }

    /// State shared by the instances of an element on different threads
    /// ([`Threads::PerThread`](crate::Threads::PerThread) and
    /// [`Threads::Bridge`](crate::Threads::Bridge) classes): the first
    /// caller creates it with `make`, the others get the same `Arc`. Every
    /// instance has initialized before any packet flows.
    pub fn shared_state<T: Any + Send + Sync>(
        &mut self,
        make: impl FnOnce() -> T,
    ) -> Result<Arc<T>, String> {
        let mut cells = self.shared.cells.lock().unwrap_or_else(|e| e.into_inner());
        let cell = cells
            .entry(self.global)
            .or_insert_with(|| Arc::new(make()))
            .clone();
        cell.downcast::<T>()
            .map_err(|_| format!("{}: shared state of another type", self.name()))
    }

    /// The class of the element with full name `element` (`None`: no
    /// such element), so that an element naming another in its
    /// configuration (ICMPRewriter's rewriters) can check what it names
    /// before sharing its state.
    pub fn class_of(&self, element: &str) -> Option<&str> {
        let global = self.graph.find(element)?;
        Some(&self.graph.nodes[global].class)
    }

    /// The full names of the router's elements of class `class`, in
    /// configuration order (IPRewriterPatterns, whose named patterns
    /// every rewriter may use).
    pub fn elements_of_class(&self, class: &str) -> Vec<String> {
        let nodes = self.graph.nodes.iter();
        nodes
            .filter(|n| n.class == class)
            .map(|n| n.name.clone())
            .collect()
    }

    /// Another element's configuration, as [`Args`](crate::args::Args)
    /// read in that element's context (its AddressInfo names): for state
    /// an element builds from another's arguments whichever of them
    /// initializes first, as the [`make`](Self::shared_state_of) of a
    /// shared state both ask for.
    pub fn args_of(&self, element: &str) -> Option<crate::args::Args> {
        let global = self.graph.find(element)?;
        let config = &self.graph.nodes[global].config;
        Some(crate::args::Args::with_context(
            config,
            self.info.context_for(global),
        ))
    }

    /// The [`shared_state`](Self::shared_state) of another element, by
    /// its full name (an element argument naming it, as ARPQuerier's TABLE
    /// names an ARPTable): the same `Arc` that element's instances get,
    /// made with `make` if nobody asked for it yet. Its owner may be
    /// initializing on another thread at the same time, so the state
    /// should be a cell the owner fills in (a `OnceLock`), read once
    /// packets flow.
    pub fn shared_state_of<T: Any + Send + Sync>(
        &mut self,
        element: &str,
        make: impl FnOnce() -> T,
    ) -> Result<Arc<T>, String> {
        let global = self
            .graph
            .find(element)
            .ok_or_else(|| format!("no element named '{element}'"))?;
        let mut cells = self.shared.cells.lock().unwrap_or_else(|e| e.into_inner());
        let cell = cells
            .entry(global)
            .or_insert_with(|| Arc::new(make()))
            .clone();
        cell.downcast::<T>()
            .map_err(|_| format!("{element}: shared state of another type"))
    }

    /// Click's `upstream_empty_signal`: the signal telling whether packets
    /// may be pulled from input `port`. The element's task listens to it.
    pub fn upstream_empty_signal(&mut self, port: Port) -> NotifierSignal {
        self.search(NotifierKind::Empty, port)
    }

    /// Click's `downstream_full_signal`: the signal telling whether output
    /// `port` has room downstream. The element's task listens to it.
    pub fn downstream_full_signal(&mut self, port: Port) -> NotifierSignal {
        self.search(NotifierKind::Full, port)
    }

    /// Walks the graph from one port (upstream for `Empty`, downstream for
    /// `Full`) through elements by their flow codes, collecting the signals
    /// of the first providers found. A path ending at an element that
    /// provides no signal makes the result always active. Beyond a provider
    /// that passes wake-ups on, the search goes on for signals the task
    /// listens to without their being part of its signal.
    fn search(&mut self, kind: NotifierKind, port: Port) -> NotifierSignal {
        let upstream = kind == NotifierKind::Empty;
        let mut signals: Vec<Signal> = Vec::new();
        let mut wakers: Vec<Signal> = Vec::new();
        let mut always = false;
        let mut seen = std::collections::HashSet::new();
        let start = self.neighbours(upstream, self.global, port);
        // (element, port, found only to wake the task)
        let mut work: Vec<(usize, usize, bool)> =
            start.into_iter().map(|(e, p)| (e, p, false)).collect();
        while let Some((e, p, wake_only)) = work.pop() {
            if !seen.insert((e, p, wake_only)) {
                continue;
            }
            let provider = self.provided(kind, e);
            let provides = provider.is_some();
            if let Some((signal, passes)) = provider {
                let found = if wake_only { &mut wakers } else { &mut signals };
                if !found.iter().any(|s| s.same(&signal)) {
                    found.push(signal);
                }
                if !passes {
                    continue;
                }
            }
            // Beyond a provider, signals only wake the task.
            let wake_only = wake_only || provides;
            let node = &self.graph.nodes[e];
            let onward: Vec<usize> = if upstream {
                (0..node.inputs.len())
                    .filter(|&i| node.flows(i, p))
                    .collect()
            } else {
                (0..node.outputs.len())
                    .filter(|&o| node.flows(p, o))
                    .collect()
            };
            if onward.is_empty() && !wake_only {
                always = true;
            }
            for q in onward {
                let next = self.neighbours(upstream, e, q);
                work.extend(next.into_iter().map(|(e, p)| (e, p, wake_only)));
            }
        }
        if let Some(task) = &self.task {
            for s in signals.iter().chain(&wakers) {
                s.add_listener(task.clone());
            }
        }
        NotifierSignal::new(always, signals)
    }

    /// The signal of kind `kind` that global element `e` provides, asked
    /// of its instance on this thread, and whether it passes wake-ups on.
    fn provided(&self, kind: NotifierKind, e: usize) -> Option<(Signal, bool)> {
        let side = if kind == NotifierKind::Empty {
            self.output_side
        } else {
            self.input_side
        };
        let local = *side.get(e)? as usize;
        let element = self.slots.get(local)?.try_borrow().ok()?;
        let signal = element.notifier(kind)?;
        Some((signal, element.notifier_passes_wakeups(kind)))
    }

    fn neighbours(&self, upstream: bool, e: usize, port: usize) -> Vec<(usize, usize)> {
        if upstream {
            self.graph.upstream(e, port).collect()
        } else {
            self.graph.downstream(e, port).collect()
        }
    }
}
