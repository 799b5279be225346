//! Building and running a router: the engine's front door.
//!
//! [`Router::new`] checks a flattened configuration (classes, ports,
//! push/pull, configuration strings, thread placement) without running it.
//! [`Router::run`] places elements on scheduler threads, builds each
//! thread's shard *on that thread* (elements never move between threads),
//! initializes every element, runs until the router stops, and reads the
//! handlers asked for before tearing down.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};

use click_lang::{Diagnostic, FlatConfig};

use crate::clock::{Clock, ClockMode, IdleThreads};
use crate::control::{Mailboxes, Message, RouterHandle};
use crate::element::ConfigureCtx;
use crate::graph::{Graph, Node};
use crate::hotswap::HotSwap;
use crate::init::InitCtx;
use crate::packet::Timestamp;
use crate::ports::Processing;
use crate::registry::Registry;
use crate::runtime::{no_handler, Shard, ShardState, Shared, Slot, Tables, Target, NOWHERE};
use crate::sched::{TaskEntry, TaskHandle, ThreadWaker, DEFAULT_TICKETS};
use crate::signals::RouterSignals;

/// How to run a router.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Scheduler threads (`-j`).
    pub threads: usize,
    /// Pin scheduler thread `t` to core `offset + t` (modulo the cores):
    /// `Some(offset)`, or `None` to leave placement to the kernel.
    pub pin: Option<usize>,
    /// Handlers (`element.handler`, or a global handler like `config`) to
    /// read after the router stops, in order.
    pub final_reads: Vec<String>,
    /// Real or simulated time (Click's `--simtime`).
    pub clock: ClockMode,
    /// Hot swapping (`router -R`): the state this run's elements take from
    /// the router it replaces, and hand over if the driver arms it.
    pub hotswap: Option<Arc<HotSwap>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 1,
            pin: None,
            final_reads: Vec::new(),
            clock: ClockMode::Real,
            hotswap: None,
        }
    }
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunReport {
    /// One result per `RunOptions::final_reads` entry, in order.
    pub reads: Vec<Result<String, String>>,
    /// Packets the engine dropped on behalf of elements, by element name
    /// (verdict drops of per-packet elements, pushes to nowhere).
    pub engine_drops: Vec<(String, u64)>,
    /// The router's wall-clock time when it stopped (virtual under
    /// `--simtime`): where a router replacing it in a hot swap goes on.
    pub ended_at: Timestamp,
}

/// A checked, configured router, ready to run.
pub struct Router {
    graph: Arc<Graph>,
    registry: Registry,
    flat: FlatConfig,
    stop: Arc<AtomicBool>,
    /// The running router's inboxes, for [`RouterHandle`]s.
    running: Arc<Mutex<Option<Arc<Mailboxes>>>>,
    /// The global read handlers' values, made once for the handles.
    globals: OnceLock<Arc<Vec<(&'static str, String)>>>,
    /// Global write handlers added by the program running the router.
    global_writes: Arc<Vec<(String, GlobalWrite)>>,
}

/// A global write handler added with [`Router::add_global_write`]: called
/// with the written value, on the thread that writes it.
pub type GlobalWrite = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

impl Router {
    /// Checks `flat` against `registry` and configures every element once
    /// (configuration errors are found here, all of them).
    pub fn new(flat: &FlatConfig, registry: &Registry) -> Result<Router, Vec<Diagnostic>> {
        let graph = Graph::build(flat, registry)?;
        let errors: Vec<Diagnostic> = (0..graph.nodes.len())
            .filter_map(|e| configure(&graph, e).err())
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let router = Router {
            graph: Arc::new(graph),
            registry: registry.clone(),
            flat: flat.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            running: Arc::new(Mutex::new(None)),
            globals: OnceLock::new(),
            global_writes: Arc::new(Vec::new()),
        };
        Ok(router)
    }

    /// The checked graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Checks that the configuration can run on `threads` threads.
    pub fn check_threads(&self, threads: usize) -> Result<(), Vec<Diagnostic>> {
        place(&self.graph, threads).map(|_| ())
    }

    /// Adds global write handler `name` (no element part), as Click's
    /// driver adds `hotconfig`: [`RouterHandle::write`] calls `handler`,
    /// and a ControlSocket lists it. Add before the router runs.
    pub fn add_global_write(&mut self, name: &str, handler: GlobalWrite) {
        Arc::make_mut(&mut self.global_writes).push((name.to_string(), handler));
    }

    /// A handle to read and write handlers of the router while it runs,
    /// from any thread.
    pub fn handle(&self) -> RouterHandle {
        RouterHandle {
            graph: self.graph.clone(),
            stop: self.stop.clone(),
            running: self.running.clone(),
            remote: false,
            global_writes: self.global_writes.clone(),
            globals: self
                .globals
                .get_or_init(|| {
                    let values = GLOBAL_READS.iter();
                    Arc::new(
                        values
                            .filter_map(|&g| Some((g, self.global_read(g).ok()?)))
                            .collect(),
                    )
                })
                .clone(),
        }
    }

    /// A flag that stops a running router when set (for signal handlers).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Runs the router until it stops (a source's STOP, a DriverManager or
    /// Script, or the stop flag), then reads `opts.final_reads`.
    pub fn run(&self, opts: &RunOptions) -> Result<RunReport, Vec<Diagnostic>> {
        let threads = opts.threads.max(1);
        let plans = place(&self.graph, threads)?;
        let wakers: Vec<Arc<ThreadWaker>> = (0..threads)
            .map(|_| Arc::new(ThreadWaker::default()))
            .collect();
        let (mailboxes, inboxes) =
            Mailboxes::new(wakers.clone(), owners(&plans, self.graph.nodes.len()));
        let mailboxes = Arc::new(mailboxes);
        let shared = Shared {
            stop: self.stop.clone(),
            runcount: AtomicI32::new(1),
            // The same wakers as the mailboxes': a handler call from another
            // thread must wake the thread that parks on them.
            wakers: wakers.clone(),
            graph: self.graph.clone(),
            cells: Mutex::new(HashMap::new()),
            driver: OnceLock::new(),
            mailboxes: mailboxes.clone(),
            clock: Clock::new(opts.clock),
            idle: IdleThreads::new(threads),
            signals: RouterSignals::new(self.stop.clone(), wakers.clone()),
            handle: self.handle(),
            hotswap: opts.hotswap.clone(),
        };
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(mailboxes);
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
            router: self,
            shared: &shared,
            ready: &ready,
            stopped: &stopped,
            failed: &failed,
            errors: &errors,
            opts,
            inboxes: &inboxes,
            shares: &schedule_info(&self.graph),
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
                            core_affinity::set_for_current(core);
                        }
                        env.run_thread(t, plan)
                    })
                })
                .collect();
            if let Some(core) = cores.first() {
                core_affinity::set_for_current(*core);
            }
            let mut outcomes = vec![env.run_thread(0, &plans[0])];
            for h in handles {
                outcomes.push(h.join().unwrap_or_default());
            }
            outcomes
        });

        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(hotswap) = &opts.hotswap {
            // The swap that stopped this run (if any) is done; the next
            // run's stop is a swap only if the driver arms it again.
            hotswap.disarm();
        }
        let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(self.report(opts, outcomes, shared.clock.timestamp()))
    }

    fn report(
        &self,
        opts: &RunOptions,
        outcomes: Vec<ThreadOutcome>,
        ended_at: Timestamp,
    ) -> RunReport {
        let mut reads: Vec<Option<Result<String, String>>> = vec![None; opts.final_reads.len()];
        let mut engine_drops = Vec::new();
        for outcome in outcomes {
            for (i, r) in outcome.reads.into_iter().enumerate() {
                if r.is_some() && reads[i].is_none() {
                    reads[i] = r;
                }
            }
            engine_drops.extend(outcome.drops);
        }
        let reads = reads
            .into_iter()
            .zip(&opts.final_reads)
            .map(|(r, name)| r.unwrap_or_else(|| self.global_read(name)))
            .collect();
        engine_drops.sort();
        RunReport {
            reads,
            engine_drops,
            ended_at,
        }
    }

    /// Click's global handlers (no element part).
    pub(crate) fn global_read(&self, name: &str) -> Result<String, String> {
        match name {
            // Click's router has substituted every variable (no define()).
            "config" | "flatconfig" => Ok(self.flat.to_click_expanded()),
            "list" => {
                let mut s = format!("{}\n", self.graph.nodes.len());
                for n in &self.graph.nodes {
                    s.push_str(&n.name);
                    s.push('\n');
                }
                Ok(s)
            }
            "classes" => Ok(self
                .registry
                .class_names()
                .iter()
                .map(|c| format!("{c}\n"))
                .collect()),
            "version" => Ok(format!("{}\n", env!("CARGO_PKG_VERSION"))),
            _ => match name.split_once('.') {
                Some((element, _)) if self.graph.find(element).is_none() => {
                    Err(format!("no element named '{element}'"))
                }
                Some((element, handler)) => Err(no_handler(element, handler)),
                None => Err(format!("no global handler '{name}'")),
            },
        }
    }
}

fn configure(graph: &Graph, e: usize) -> Result<Box<dyn crate::Element>, Diagnostic> {
    let node = &graph.nodes[e];
    let spec = node.spec.as_ref().expect("graph checks found every class");
    let ctx = ConfigureCtx {
        name: &node.name,
        inputs: &node.inputs,
        outputs: &node.outputs,
    };
    spec.create(&node.config, &ctx)
        .map_err(|message| Diagnostic {
            span: Some(node.span.clone()),
            message: format!("while configuring '{}': {message}", node.declaration()),
        })
}

/// The elements one thread owns. An element is `Whole`, or for a
/// thread-safe element driven from two threads, split in two instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Whole,
    Inputs,
    Outputs,
}

#[derive(Debug, Default, Clone)]
struct ThreadPlan {
    members: Vec<(usize, Side)>,
}

/// Which thread drives each side of each element. Tasks start push paths
/// (sources, unqueues) and pull paths (pulling sinks); everything a task's
/// push reaches downstream, or its pull reaches upstream, runs on the
/// task's thread. `StaticThreadSched` places tasks; the rest go to thread 0.
fn place(graph: &Graph, threads: usize) -> Result<Vec<ThreadPlan>, Vec<Diagnostic>> {
    let (sched, mut errors) = static_thread_sched(graph);
    let n = graph.nodes.len();
    let mut input_thread: Vec<Option<usize>> = vec![None; n];
    let mut output_thread: Vec<Option<usize>> = vec![None; n];
    // A ThreadSafeQueue may be pushed to from several threads: its input
    // side then has an instance on each (one ring per pushing thread).
    let mut more_inputs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for root in (0..n).filter(|&e| is_root(&graph.nodes[e])) {
        let t = sched.get(&graph.nodes[root].name).copied().unwrap_or(0) % threads;
        let mut mark = |e: usize, side: Side, errors: &mut Vec<Diagnostic>| -> bool {
            let node = &graph.nodes[e];
            let split = node.spec.as_ref().is_some_and(|s| s.thread_safe);
            let side = if split { side } else { Side::Whole };
            let mut fresh = false;
            for (slot, on, input) in [
                (&mut input_thread[e], side != Side::Outputs, true),
                (&mut output_thread[e], side != Side::Inputs, false),
            ] {
                match *slot {
                    _ if !on => {}
                    None => {
                        *slot = Some(t);
                        fresh = true;
                    }
                    Some(other) if other != t && split && input => {
                        if !more_inputs[e].contains(&t) {
                            more_inputs[e].push(t);
                            fresh = true;
                        }
                    }
                    Some(other) if other != t => {
                        errors.push(thread_conflict(node, other, t, split));
                    }
                    Some(_) => {}
                }
            }
            fresh
        };
        mark(root, Side::Whole, &mut errors);
        // Push paths downstream.
        let mut work: Vec<(usize, usize)> = push_outputs(graph, root);
        while let Some((e, _)) = work.pop() {
            if mark(e, Side::Inputs, &mut errors)
                && !graph.nodes[e].spec.as_ref().is_some_and(|s| s.thread_safe)
            {
                work.extend(push_outputs(graph, e));
            }
        }
        // Pull paths upstream.
        let mut work: Vec<(usize, usize)> = pull_inputs(graph, root);
        while let Some((e, _)) = work.pop() {
            if mark(e, Side::Outputs, &mut errors)
                && !graph.nodes[e].spec.as_ref().is_some_and(|s| s.thread_safe)
            {
                work.extend(pull_inputs(graph, e));
            }
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Err(errors);
    }
    let mut plans = vec![ThreadPlan::default(); threads];
    for e in 0..n {
        let (i, o) = (input_thread[e], output_thread[e]);
        let (first_in, out) = (i.or(o).unwrap_or(0), o.or(i).unwrap_or(0));
        let mut inputs = vec![first_in];
        inputs.extend(&more_inputs[e]);
        for (t, plan) in plans.iter_mut().enumerate() {
            match (inputs.contains(&t), t == out) {
                (true, true) => plan.members.push((e, Side::Whole)),
                (true, false) => plan.members.push((e, Side::Inputs)),
                (false, true) => plan.members.push((e, Side::Outputs)),
                (false, false) => {}
            }
        }
    }
    Ok(plans)
}

/// A task root: starts a push path (push outputs, no push inputs) or a
/// pull path (pull inputs, no pull outputs).
fn is_root(node: &Node) -> bool {
    let has = |ports: &[Processing], p| ports.contains(&p);
    (has(&node.outputs, Processing::Push) && !has(&node.inputs, Processing::Push))
        || (has(&node.inputs, Processing::Pull) && !has(&node.outputs, Processing::Pull))
}

fn push_outputs(graph: &Graph, e: usize) -> Vec<(usize, usize)> {
    let node = &graph.nodes[e];
    (0..node.outputs.len())
        .filter(|&p| node.outputs[p] == Processing::Push)
        .flat_map(|p| graph.downstream(e, p).collect::<Vec<_>>())
        .collect()
}

fn pull_inputs(graph: &Graph, e: usize) -> Vec<(usize, usize)> {
    let node = &graph.nodes[e];
    (0..node.inputs.len())
        .filter(|&p| node.inputs[p] == Processing::Pull)
        .flat_map(|p| graph.upstream(e, p).collect::<Vec<_>>())
        .collect()
}

fn thread_conflict(node: &Node, a: usize, b: usize, thread_safe: bool) -> Diagnostic {
    let (a, b) = (a.min(b), a.max(b));
    let message = if thread_safe {
        format!(
            "'{}' is pulled from threads {a} and {b}; a thread-safe queue has one pulling thread",
            node.declaration()
        )
    } else {
        format!(
            "'{}' is reached from threads {a} and {b}; only a ThreadSafeQueue may connect threads",
            node.declaration()
        )
    };
    Diagnostic {
        span: Some(node.span.clone()),
        message,
    }
}

/// The `ELEMENT VALUE` arguments of every `class` element, in
/// configuration order, VALUE parsed: the information elements the engine
/// reads when it places and schedules tasks (StaticThreadSched,
/// ScheduleInfo). Arguments whose VALUE does not parse are skipped; the
/// element's own configure reports them.
fn element_value_args<'g, T: std::str::FromStr>(
    graph: &'g Graph,
    class: &'g str,
) -> impl Iterator<Item = (&'g Node, String, T)> + 'g {
    graph
        .nodes
        .iter()
        .filter(move |n| n.class == class)
        .flat_map(|node| {
            click_lang::args::split_args(&node.config)
                .into_iter()
                .filter_map(move |arg| {
                    let [element, value] = &click_lang::args::split_words(&arg)[..] else {
                        return None;
                    };
                    Some((node, element.clone(), value.parse().ok()?))
                })
        })
}

/// `StaticThreadSched(ELEMENT THREAD, ...)` placements, by element name.
/// ELEMENT is resolved as Click resolves element arguments (see
/// [`resolve_elements`]), so a compound's name places everything in it and
/// a StaticThreadSched inside a compound names its parts; later pairs
/// override earlier ones, as a later StaticThreadSched overrides an earlier
/// one in Click. Names that resolve to nothing are returned as errors.
fn static_thread_sched(graph: &Graph) -> (HashMap<String, usize>, Vec<Diagnostic>) {
    let (mut map, mut errors) = (HashMap::new(), Vec::new());
    for (node, element, thread) in element_value_args::<usize>(graph, "StaticThreadSched") {
        let targets = resolve_elements(graph, &node.name, &element);
        if targets.is_empty() {
            errors.push(Diagnostic {
                span: Some(node.span.clone()),
                message: format!("'{}': no element named '{element}'", node.declaration()),
            });
        }
        for e in targets {
            map.insert(graph.nodes[e].name.clone(), thread);
        }
    }
    (map, errors)
}

/// The elements that `name`, in the configuration of the element named
/// `from`, stands for: the element `name` in `from`'s compound, or else in
/// each enclosing compound in turn, out to the top level; a compound's name
/// stands for every element inside it.
fn resolve_elements(graph: &Graph, from: &str, name: &str) -> Vec<usize> {
    let mut scope = from;
    loop {
        scope = scope.rfind('/').map_or("", |i| &scope[..i]);
        let full = match scope {
            "" => name.to_string(),
            _ => format!("{scope}/{name}"),
        };
        if let Some(e) = graph.find(&full) {
            return vec![e];
        }
        let inside = format!("{full}/");
        let members: Vec<usize> = (0..graph.nodes.len())
            .filter(|&e| graph.nodes[e].name.starts_with(&inside))
            .collect();
        if !members.is_empty() || scope.is_empty() {
            return members;
        }
    }
}

/// `ScheduleInfo(ELEMENT PARAM, ...)` shares, as tickets by element name:
/// PARAM times the default (the task handle clamps them). ELEMENT is the
/// full name; Click's scaling of a compound's shares by an outer
/// ScheduleInfo is not done, and a name that matches no element is unused,
/// as in Click.
fn schedule_info(graph: &Graph) -> HashMap<String, u32> {
    element_value_args::<f64>(graph, "ScheduleInfo")
        .map(|(_, element, share)| {
            let tickets = (share * f64::from(DEFAULT_TICKETS)).round() as u32;
            (element, tickets)
        })
        .collect()
}

/// What every scheduler thread shares while it builds and runs its shard.
struct ThreadEnv<'a> {
    router: &'a Router,
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
}

#[derive(Default)]
struct ThreadOutcome {
    reads: Vec<Option<Result<String, String>>>,
    drops: Vec<(String, u64)>,
}

impl ThreadEnv<'_> {
    fn fail(&self, mut errors: Vec<Diagnostic>) {
        self.failed.store(true, Ordering::Release);
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
        tracing::debug!(tasks = shard.tasks.len(), "running");
        shard.run(self.shared);
        tracing::debug!("stopped");
        self.stopped.wait();
        let outcome = self.finish(shard);
        if let Some(hotswap) = self.shared.hotswap.as_ref().filter(|h| h.armed()) {
            self.hand_over(shard, plan, hotswap);
        }
        for slot in &shard.slots {
            slot.borrow_mut().cleanup();
        }
        outcome
    }

    fn build_shard(&self, t: usize, plan: &ThreadPlan) -> Result<Shard, Vec<Diagnostic>> {
        let graph = &*self.router.graph;
        let n = graph.nodes.len();
        let mut input_side = vec![u32::MAX; n];
        let mut output_side = vec![u32::MAX; n];
        let mut slots: Vec<Slot> = Vec::with_capacity(plan.members.len());
        let mut errors = Vec::new();
        for (local, &(e, side)) in plan.members.iter().enumerate() {
            match configure(graph, e) {
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
        let tables = build_tables(graph, &plan.members, &input_side, &output_side);
        let waker = self.shared.wakers[t].clone();

        let mut task_of: Vec<Option<TaskHandle>> = Vec::with_capacity(slots.len());
        let mut tasks = Vec::new();
        let mut state = ShardState::new(slots.len());
        state.configs = global
            .iter()
            .map(|&e| graph.nodes[e].config.clone())
            .collect();
        for (local, slot) in slots.iter().enumerate() {
            let task = slot
                .borrow()
                .has_task()
                .then(|| TaskHandle::new(false, waker.clone(), t));
            let share = self.shares.get(&graph.nodes[global[local]].name).copied();
            let (mut timer, mut scheduled, mut tickets) =
                (None, true, share.unwrap_or(DEFAULT_TICKETS));
            let mut ctx = InitCtx {
                graph,
                shared: self.shared,
                slots: &slots,
                input_side: &input_side,
                output_side: &output_side,
                global: global[local],
                task: task.clone(),
                timer: &mut timer,
                task_scheduled: &mut scheduled,
                tickets: &mut tickets,
            };
            let node = &graph.nodes[global[local]];
            let _element =
                tracing::debug_span!("element", name = %node.name, class = %node.class).entered();
            let result = slot.borrow_mut().initialize(&mut ctx);
            if let Err(message) = &result {
                tracing::debug!(%message, "initialize failed");
            }
            if let Err(message) = result {
                let node = &graph.nodes[global[local]];
                errors.push(Diagnostic {
                    span: Some(node.span.clone()),
                    message: format!("while initializing '{}': {message}", node.declaration()),
                });
            }
            if let Some(at) = timer {
                state.timers.schedule(local, at);
            }
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
                let name = &self.router.graph.nodes[shard.global[local]].name;
                hotswap.put(name, state);
            }
        }
    }

    /// Reads the final handlers of this shard's elements and collects its
    /// engine drop counts.
    fn finish(&self, shard: &Shard) -> ThreadOutcome {
        let graph = &*self.router.graph;
        let reads = self
            .opts
            .final_reads
            .iter()
            .map(|name| {
                let (element, handler) = name.split_once('.')?;
                let e = graph.find(element)?;
                // A split element answers from its input side.
                let local = shard.global.iter().position(|&g| g == e)?;
                Some(shard.handler_site(graph, local).read(handler, false))
            })
            .collect();
        let drops = shard
            .state
            .drops
            .iter()
            .enumerate()
            .filter(|(_, &d)| d > 0)
            .map(|(l, &d)| (graph.nodes[shard.global[l]].name.clone(), d))
            .collect();
        ThreadOutcome { reads, drops }
    }
}

/// Which thread answers for each element: the one holding its input side.
fn owners(plans: &[ThreadPlan], nelements: usize) -> Vec<usize> {
    let mut owner = vec![0; nelements];
    for (t, plan) in plans.iter().enumerate() {
        for &(e, side) in &plan.members {
            if side != Side::Outputs {
                owner[e] = t;
            }
        }
    }
    owner
}

/// Flat dispatch tables: for each local element, where each push output
/// leads and where each pull input comes from, as local indexes.
fn build_tables(
    graph: &Graph,
    members: &[(usize, Side)],
    input_side: &[u32],
    output_side: &[u32],
) -> Tables {
    let mut tables = Tables::default();
    for &(e, side) in members {
        let node = &graph.nodes[e];
        let forwards = node.spec.as_ref().is_some_and(|s| s.forwards);
        tables.forwarders.push(forwards);
        tables.out_base.push(tables.direct_outs.len() as u32);
        for p in 0..node.outputs.len() {
            let target = match (side, node.outputs[p]) {
                (Side::Inputs, _) | (_, Processing::Pull) => NOWHERE,
                _ => graph
                    .downstream(e, p)
                    .next()
                    .map_or(NOWHERE, |(to, q)| Target {
                        elem: input_side[to],
                        port: q as u32,
                    }),
            };
            tables.direct_outs.push(target);
        }
        tables.in_base.push(tables.direct_ins.len() as u32);
        for p in 0..node.inputs.len() {
            let source = match (side, node.inputs[p]) {
                (Side::Outputs, _) | (_, Processing::Push) => NOWHERE,
                _ => graph
                    .upstream(e, p)
                    .next()
                    .map_or(NOWHERE, |(from, q)| Target {
                        elem: output_side[from],
                        port: q as u32,
                    }),
            };
            tables.direct_ins.push(source);
        }
    }
    tables.out_base.push(tables.direct_outs.len() as u32);
    tables.in_base.push(tables.direct_ins.len() as u32);
    tables.outs = tables.direct_outs.iter().map(|&t| Cell::new(t)).collect();
    tables.ins = tables.direct_ins.iter().map(|&t| Cell::new(t)).collect();
    tables
}

/// Click's default handlers that need only the graph.
pub(crate) fn default_handler(
    graph: &Graph,
    e: usize,
    handler: &str,
    config: &str,
) -> Option<String> {
    let node = &graph.nodes[e];
    Some(match handler {
        "class" => node.class.clone(),
        "name" => node.name.clone(),
        "config" => config.to_string(),
        "ports" => ports_listing(graph, e),
        _ => return None,
    })
}

/// Click's `ports` handler: port counts, then each port's processing and
/// what it is connected to.
fn ports_listing(graph: &Graph, e: usize) -> String {
    let node = &graph.nodes[e];
    let plural = |n: usize, what: &str| format!("{n} {what}{}\n", if n == 1 { "" } else { "s" });
    let mut s = plural(node.inputs.len(), "input");
    for (p, proc_) in node.inputs.iter().enumerate() {
        let peers: Vec<String> = graph
            .upstream(e, p)
            .map(|(f, q)| format!("{} [{q}]", graph.nodes[f].name))
            .collect();
        s.push_str(&format!("{proc_}\t{}\n", peers.join(", ")));
    }
    s.push_str(&plural(node.outputs.len(), "output"));
    for (p, proc_) in node.outputs.iter().enumerate() {
        let peers: Vec<String> = graph
            .downstream(e, p)
            .map(|(t, q)| format!("[{q}] {}", graph.nodes[t].name))
            .collect();
        s.push_str(&format!("{proc_}\t{}\n", peers.join(", ")));
    }
    s
}

/// Click's global read handlers, as [`Router::global_read`] answers them.
const GLOBAL_READS: &[&str] = &["config", "flatconfig", "list", "classes", "version"];

/// Click's handlers of an element with a task.
const TASK_HANDLERS: &[crate::Handler] = &[
    crate::Handler::read("scheduled"),
    crate::Handler::read_write("tickets"),
    crate::Handler::read("home_thread"),
];

/// Whether `handler` (a name, maybe followed by parameters) is one of
/// `element`'s private handlers, which programs outside the router do not
/// see ([`Handler::private`](crate::Handler::private)).
pub(crate) fn is_private(element: &dyn crate::Element, handler: &str) -> bool {
    let name = click_lang::args::pop_word(handler).0;
    element
        .handlers()
        .iter()
        .any(|h| h.private && h.name == name)
}

/// One element's instance on a thread, with what the engine keeps beside
/// it: what a read of its handlers (default ones included) needs.
pub(crate) struct HandlerSite<'a> {
    pub graph: &'a Graph,
    /// The global element index.
    pub element: usize,
    pub slot: &'a Slot,
    /// The element itself when it is on the call stack and lent for reads
    /// ([`Ctx::lend_self`](crate::Ctx::lend_self)).
    pub lent: Option<&'a dyn crate::Element>,
    /// Its current configuration string.
    pub config: &'a str,
    pub task: Option<&'a TaskHandle>,
}

impl HandlerSite<'_> {
    /// Reads `handler`. For the router itself (a Script, `-h`) the value
    /// ends with a newline, as Click prints it; for a program outside
    /// (`remote`: a ControlSocket client) it is as the handler gives it, and
    /// private handlers do not exist.
    pub fn read(&self, handler: &str, remote: bool) -> Result<String, String> {
        let mut value = self.value(handler, remote)?;
        if !remote && !value.is_empty() && !value.ends_with('\n') {
            value.push('\n');
        }
        Ok(value)
    }

    /// [`HandlerSite::read`]'s value, as the handler gives it.
    fn value(&self, handler: &str, remote: bool) -> Result<String, String> {
        let name = &self.graph.nodes[self.element].name;
        if let Some(v) = default_handler(self.graph, self.element, handler, self.config) {
            return Ok(v);
        }
        if let Some(task) = self.task {
            match handler {
                "scheduled" => return Ok(task.is_scheduled().to_string()),
                "tickets" => return Ok(task.tickets().to_string()),
                "home_thread" => return Ok(task.home_thread().to_string()),
                _ => {}
            }
        }
        let borrowed;
        let element: &dyn crate::Element = match self.lent {
            Some(element) => element,
            None => {
                borrowed = self
                    .slot
                    .try_borrow()
                    .map_err(|_| "element busy".to_string())?;
                &**borrowed
            }
        };
        if handler == "handlers" {
            let tasks = if self.task.is_some() {
                TASK_HANDLERS
            } else {
                &[]
            };
            let all = crate::handler::DEFAULT_HANDLERS
                .iter()
                .chain(tasks)
                .chain(element.handlers())
                .filter(|h| !(remote && h.private));
            return Ok(all.map(|h| format!("{}\t{}\n", h.name, h.mode())).collect());
        }
        if remote && is_private(element, handler) {
            return Err(no_handler(name, handler));
        }
        element
            .read_handler(handler)
            .ok_or_else(|| no_handler(name, handler))
    }
}
