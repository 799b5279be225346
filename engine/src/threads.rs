//! The life of a run's scheduler threads: each builds its shard on its own
//! thread (elements never move between threads), initializes its elements,
//! waits for the others, runs until the router stops, reads the final
//! handlers and cleans up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};

use click_lang::Diagnostic;

use crate::clock::{Clock, IdleThreads};
use crate::control::{Mailboxes, Message, RouterHandle};
use crate::dispatch::{build_tables, outputs_meet, Slot};
use crate::element::ConfigureCtx;
use crate::graph::Graph;
use crate::hotswap::HotSwap;
use crate::info::RouterInfo;
use crate::init::InitCtx;
use crate::packet::Timestamp;
use crate::placement::{schedule_info, Placement, Side, ThreadPlan};
use crate::poller::Poller;
use crate::router::RunOptions;
use crate::sched::{TaskEntry, TaskHandle, ThreadWaker, DEFAULT_TICKETS};
use crate::shard::{Selects, Shard, ShardState};
use crate::shared::Shared;
use crate::signals::RouterSignals;
use crate::stats::{ElementStats, Stats};
use crate::timers::{Timer, Timers};

/// What a run needs of the router it runs.
pub(crate) struct RunSpec<'a> {
    pub graph: &'a Arc<Graph>,
    /// What the elements' arguments may name ([`configure`]).
    pub info: &'a Arc<RouterInfo>,
    /// The router's stop flag (signals and handles set it).
    pub stop: &'a Arc<AtomicBool>,
    /// The handle elements get ([`InitCtx::router_handle`]).
    pub handle: RouterHandle,
    /// Where handles find the running router's inboxes.
    pub running: &'a Mutex<Option<Arc<Mailboxes>>>,
}

/// What the threads of a run produced.
pub(crate) struct Finished {
    pub outcomes: Vec<ThreadOutcome>,
    /// The router's wall-clock time when it stopped.
    pub ended_at: Timestamp,
}

/// Runs `plans` (one per thread) until the router stops.
pub(crate) fn run(
    spec: RunSpec,
    opts: &RunOptions,
    placement: Placement,
) -> Result<Finished, Vec<Diagnostic>> {
    let Placement {
        plans,
        owner,
        instances,
    } = placement;
    let threads = plans.len();
    let wakers: Vec<Arc<ThreadWaker>> = (0..threads)
        .map(|_| ThreadWaker::new().map(Arc::new))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            vec![Diagnostic::without_span(format!(
                "cannot make a thread's wake-up eventfd: {e}"
            ))]
        })?;
    let (mailboxes, inboxes) = Mailboxes::new(wakers.clone(), owner, instances);
    let mailboxes = Arc::new(mailboxes);
    let shared = Shared {
        stop: spec.stop.clone(),
        runcount: AtomicI32::new(1),
        // The same wakers as the mailboxes': a handler call from another
        // thread must wake the thread that parks on them.
        wakers: wakers.clone(),
        graph: spec.graph.clone(),
        cells: Mutex::new(HashMap::new()),
        driver: OnceLock::new(),
        mailboxes: mailboxes.clone(),
        clock: Arc::new(Clock::new(opts.clock)),
        idle: IdleThreads::new(threads),
        signals: RouterSignals::new(spec.stop.clone(), wakers.clone()),
        handle: spec.handle,
        hotswap: opts.hotswap.clone(),
        stop_reason: Mutex::new(None),
    };
    *spec.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(mailboxes);
    let ready = Barrier::new(threads);
    let stopped = Barrier::new(threads);
    let failed = AtomicBool::new(false);
    let errors = Mutex::new(Vec::new());
    let cores = match opts.pin {
        Some(offset) => {
            let mut cores = core_affinity::get_core_ids().unwrap_or_default();
            let len = cores.len().max(1);
            cores.rotate_left(offset % len);
            cores
        }
        None => Vec::new(),
    };
    let env = ThreadEnv {
        graph: spec.graph,
        info: spec.info,
        shared: &shared,
        ready: &ready,
        stopped: &stopped,
        failed: &failed,
        errors: &errors,
        opts,
        inboxes: &inboxes,
        shares: &schedule_info(spec.graph),
        outputs_meet: &outputs_meet(spec.graph),
    };

    let outcomes: Vec<ThreadOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = plans
            .iter()
            .enumerate()
            .skip(1)
            .map(|(t, plan)| {
                let (env, core) = (&env, cores.get(t % cores.len().max(1)).copied());
                scope.spawn(move || {
                    if let Some(core) = core {
                        pin(t, core);
                    }
                    env.run_thread(t, plan)
                })
            })
            .collect();
        if let Some(core) = cores.first() {
            pin(0, *core);
        }
        let mut outcomes = vec![env.run_thread(0, &plans[0])];
        for h in handles {
            outcomes.push(h.join().unwrap_or_default());
        }
        outcomes
    });

    *spec.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    tracing::info!("router stopped: {}", shared.stopped_because());
    if let Some(hotswap) = &opts.hotswap {
        // The swap that stopped this run (if any) is done; the next
        // run's stop is a swap only if the driver arms it again.
        hotswap.disarm();
    }
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Finished {
        outcomes,
        ended_at: shared.clock.timestamp(),
    })
}

/// Builds element `e` from its configuration, its arguments read in the
/// router's context (`AddressInfo` names, elements, ...: see `info.rs`).
pub(crate) fn configure(
    graph: &Graph,
    e: usize,
    info: &Arc<RouterInfo>,
) -> Result<Box<dyn crate::Element>, Diagnostic> {
    let node = &graph.nodes[e];
    let spec = node.spec.as_ref().expect("graph checks found every class");
    let ctx = ConfigureCtx {
        name: &node.name,
        inputs: &node.inputs,
        outputs: &node.outputs,
    };
    crate::panics::catch(|| spec.create_in(&node.config, &ctx, info.context_for(e)))
        .unwrap_or_else(|panic| Err(format!("panicked: {panic}")))
        .map_err(|message| {
            let message = format!("while configuring '{}': {message}", node.declaration());
            Diagnostic::new(node.span.clone(), message)
        })
}

/// Pins the calling scheduler thread `t` to `core`, and says so.
fn pin(t: usize, core: core_affinity::CoreId) {
    if core_affinity::set_for_current(core) {
        tracing::info!("thread {t} pinned to core {}", core.id);
    } else {
        tracing::warn!("thread {t} could not be pinned to core {}", core.id);
    }
}

/// `2 tasks: src, u` (the first few names) for the log.
fn tasks_phrase(graph: &Graph, shard: &Shard) -> String {
    const SHOWN: usize = 8;
    let names: Vec<&str> = shard
        .tasks
        .iter()
        .take(SHOWN)
        .map(|t| graph.nodes[shard.global[t.element]].name.as_str())
        .collect();
    let n = shard.tasks.len();
    let more = n.saturating_sub(SHOWN);
    match n {
        0 => "no tasks".into(),
        _ if more > 0 => format!("{n} tasks: {}, and {more} more", names.join(", ")),
        1 => format!("1 task: {}", names[0]),
        _ => format!("{n} tasks: {}", names.join(", ")),
    }
}

/// What every scheduler thread shares while it builds and runs its shard.
struct ThreadEnv<'a> {
    graph: &'a Graph,
    info: &'a Arc<RouterInfo>,
    shared: &'a Shared,
    ready: &'a Barrier,
    /// Every thread has stopped running tasks: the final handler reads
    /// then see one moment of the run, not each thread's own end.
    stopped: &'a Barrier,
    failed: &'a AtomicBool,
    errors: &'a Mutex<Vec<Diagnostic>>,
    opts: &'a RunOptions,
    inboxes: &'a [crossbeam_channel::Receiver<Message>],
    /// ScheduleInfo's tickets, by element name.
    shares: &'a HashMap<String, u32>,
    /// Which elements' outputs meet again downstream (see
    /// [`outputs_meet`](crate::dispatch::outputs_meet)).
    outputs_meet: &'a [bool],
}

#[derive(Default)]
pub(crate) struct ThreadOutcome {
    pub reads: Vec<Option<Result<String, String>>>,
    /// This thread's instances' statistics, by global element index.
    pub stats: Vec<(usize, ElementStats)>,
    /// Waits on file descriptors the thread made.
    pub waits: u64,
}

impl ThreadEnv<'_> {
    /// Building or initializing failed: no thread will run.
    fn fail(&self, errors: Vec<Diagnostic>) {
        self.failed.store(true, Ordering::Release);
        self.report(errors);
    }

    /// Errors that end the run with an error, once every thread is done.
    fn report(&self, mut errors: Vec<Diagnostic>) {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(&mut errors);
    }

    /// The body of scheduler thread `t`: build, initialize, wait for the
    /// others, run, read final handlers, clean up.
    fn run_thread(&self, t: usize, plan: &ThreadPlan) -> ThreadOutcome {
        let _thread = tracing::info_span!("thread", id = t).entered();
        tracing::debug!(elements = plan.members.len(), "building shard");
        let built = self.build_shard(t, plan);
        // Every thread initializes before any runs: signals and shared
        // state must be complete when packets start to flow.
        let mut shard = match built {
            Ok(shard) => Some(shard),
            Err(errors) => {
                self.fail(errors);
                None
            }
        };
        self.ready.wait();
        if let (0, Some(hotswap)) = (t, &self.shared.hotswap) {
            // Every element has initialized: what none took is let go.
            hotswap.drop_untaken();
        }
        let Some(shard) = shard
            .as_mut()
            .filter(|_| !self.failed.load(Ordering::Acquire))
        else {
            return ThreadOutcome::default();
        };
        let n = plan.members.len();
        let elements = if n == 1 { "element" } else { "elements" };
        tracing::info!("{n} {elements}, {}", tasks_phrase(self.graph, shard));
        let panicked = crate::panics::catch(|| shard.run(self.shared)).err();
        if let Some(panic) = &panicked {
            self.panicked(shard, panic);
        }
        tracing::debug!("stopped");
        self.stopped.wait();
        let outcome = crate::panics::catch(|| self.finish(shard)).unwrap_or_default();
        if let Some(hotswap) = self.shared.hotswap.as_ref().filter(|h| h.armed()) {
            if panicked.is_none() {
                self.hand_over(shard, plan, hotswap);
            }
        }
        for (local, slot) in shard.slots.iter().enumerate() {
            // Each element is cleaned up (files flushed), even after a
            // panic; one that panics here does not keep the rest from it.
            if let Err(panic) = crate::panics::catch(|| slot.borrow_mut().cleanup()) {
                let node = &self.graph.nodes[shard.global[local]];
                tracing::error!(element = %node.declaration(), "panicked in cleanup: {panic}");
            }
        }
        outcome
    }

    /// An element panicked on this thread: report it, and stop the router
    /// (every thread finishes its round and cleans up).
    #[cold]
    fn panicked(&self, shard: &mut Shard, panic: &str) {
        let (local, entered) = shard
            .state
            .panic_site
            .take()
            .unwrap_or((usize::MAX, crate::ctx::Entered::Task));
        let message = match shard.global.get(local) {
            Some(&e) => {
                let node = &self.graph.nodes[e];
                format!("'{}' panicked {entered}: {panic}", node.declaration())
            }
            None => format!("thread {} panicked: {panic}", shard.thread),
        };
        tracing::error!("{message}; stopping the router");
        let span = shard
            .global
            .get(local)
            .map(|&e| self.graph.nodes[e].span.clone());
        // Not `fail`: the other threads may not have started running yet,
        // and must still reach the barrier this one waits at.
        self.report(vec![Diagnostic::at(span, message.clone())]);
        self.shared.stop_because(|| message);
        shard.refuse_calls("the router is stopping after a panic");
    }

    fn build_shard(&self, t: usize, plan: &ThreadPlan) -> Result<Shard, Vec<Diagnostic>> {
        let graph = self.graph;
        let n = graph.nodes.len();
        let mut input_side = vec![u32::MAX; n];
        let mut output_side = vec![u32::MAX; n];
        let mut slots: Vec<Slot> = Vec::with_capacity(plan.members.len());
        let mut errors = Vec::new();
        for (local, &(e, side)) in plan.members.iter().enumerate() {
            match configure(graph, e, self.info) {
                Ok(element) => slots.push(Slot::new(element)),
                Err(d) => errors.push(d),
            }
            if side != Side::Outputs {
                input_side[e] = local as u32;
            }
            if side != Side::Inputs {
                output_side[e] = local as u32;
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let global: Vec<usize> = plan.members.iter().map(|&(e, _)| e).collect();
        let tables = build_tables(
            graph,
            &plan.members,
            &input_side,
            &output_side,
            self.outputs_meet,
        );
        let waker = self.shared.wakers[t].clone();

        let mut task_of: Vec<Option<TaskHandle>> = Vec::with_capacity(slots.len());
        let mut tasks = Vec::new();
        let mut timers: Vec<Vec<Option<std::time::Instant>>> = Vec::with_capacity(slots.len());
        let wake = waker
            .fd()
            .expect("scheduler threads' wakers have an eventfd");
        let poller = Poller::new(wake).map_err(|e| {
            vec![Diagnostic::without_span(format!(
                "thread {t}: cannot make an epoll instance: {e}"
            ))]
        })?;
        let mut selects = Selects::new(poller);
        for (local, slot) in slots.iter().enumerate() {
            let task = slot
                .borrow()
                .has_task()
                .then(|| TaskHandle::new(false, waker.clone(), t));
            let share = self.shares.get(&graph.nodes[global[local]].name).copied();
            let (mut element_timers, mut scheduled, mut tickets) =
                (vec![None], true, share.unwrap_or(DEFAULT_TICKETS));
            let mut ctx = InitCtx {
                graph,
                info: self.info,
                shared: self.shared,
                slots: &slots,
                input_side: &input_side,
                output_side: &output_side,
                global: global[local],
                thread: t,
                task: task.clone(),
                timers: &mut element_timers,
                task_scheduled: &mut scheduled,
                tickets: &mut tickets,
                selects: &mut selects,
                local,
            };
            let node = &graph.nodes[global[local]];
            let _element =
                tracing::debug_span!("element", name = %node.name, class = %node.class).entered();
            let result = crate::panics::catch(|| slot.borrow_mut().initialize(&mut ctx))
                .unwrap_or_else(|panic| Err(format!("panicked: {panic}")));
            if let Err(message) = &result {
                tracing::debug!(%message, "initialize failed");
            }
            if let Err(message) = result {
                let node = &graph.nodes[global[local]];
                let message = format!("while initializing '{}': {message}", node.declaration());
                errors.push(Diagnostic::new(node.span.clone(), message));
            }
            timers.push(element_timers);
            if let Some(task) = &task {
                if scheduled {
                    task.wake();
                }
                tasks.push(TaskEntry::new(local, task.clone(), tickets));
            }
            task_of.push(task);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let counts: Vec<usize> = timers.iter().map(Vec::len).collect();
        let stats = Stats::new(slots.len());
        let mut state = ShardState::new(slots.len(), Timers::new(&counts), selects, stats);
        for (local, first) in timers.iter().enumerate() {
            for (i, at) in first.iter().enumerate() {
                if let Some(at) = *at {
                    state.timers.schedule(local, Timer(i as u16), at);
                }
            }
        }
        state.configs = global
            .iter()
            .map(|&e| graph.nodes[e].config.clone())
            .collect();
        tables.reroute(&slots);
        Ok(Shard {
            thread: t,
            slots,
            global,
            tables,
            task_of,
            tasks,
            state,
            waker,
            inbox: self.inboxes[t].clone(),
        })
    }

    /// The router stops to be replaced: each element hands over its state
    /// for the new router's element of the same name. A thread-safe element
    /// split over threads hands over from its output side, the one that
    /// pulls what the others pushed.
    fn hand_over(&self, shard: &Shard, plan: &ThreadPlan, hotswap: &HotSwap) {
        for (local, slot) in shard.slots.iter().enumerate() {
            if plan.members[local].1 == Side::Inputs {
                continue;
            }
            if let Some(state) = slot.borrow_mut().hand_over() {
                let name = &self.graph.nodes[shard.global[local]].name;
                hotswap.put(name, state);
            }
        }
    }

    /// Reads the final handlers of this shard's elements and collects its
    /// statistics.
    fn finish(&self, shard: &Shard) -> ThreadOutcome {
        let graph = self.graph;
        let reads = self
            .opts
            .final_reads
            .iter()
            .map(|name| {
                let (element, handler) = name.split_once('.')?;
                let e = graph.find(element)?;
                // The owner's instance answers (a replicated element's
                // first, a bridge's first input side).
                if self.shared.mailboxes.owner(e) != shard.thread {
                    return None;
                }
                let local = shard.global.iter().position(|&g| g == e)?;
                Some(shard.handler_site(graph, local).read(handler, false))
            })
            .collect();
        let stats = shard.element_stats(graph);
        ThreadOutcome {
            reads,
            stats,
            waits: shard.state.waits,
        }
    }
}
