//! Building and running a router: the engine's front door.
//!
//! [`Router::new`] checks a flattened configuration (classes, ports,
//! push/pull, configuration strings, thread placement) without running it.
//! [`Router::run`] places elements on scheduler threads and runs them (see
//! `threads.rs`) until the router stops, then reports the handlers asked
//! for.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use click_lang::{ClickLine, Diagnostic, FlatConfig};

use crate::clock::ClockMode;
use crate::control::{GlobalWrite, Mailboxes, RouterHandle};
use crate::graph::Graph;
use crate::handler::no_handler;
use crate::hotswap::HotSwap;
use crate::info::RouterInfo;
use crate::packet::Timestamp;
use crate::placement::place;
use crate::registry::Registry;
use crate::stats::ElementStats;
use crate::threads::{configure, RunSpec, ThreadOutcome};

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
    /// Packets dropped, by element name (the sums of `stats`' drops).
    pub engine_drops: Vec<(String, u64)>,
    /// The router's wall-clock time when it stopped (virtual under
    /// `--simtime`): where a router replacing it in a hot swap goes on.
    pub ended_at: Timestamp,
    /// Waits on file descriptors the scheduler threads made, each a system
    /// call: the cost of sleeping, and of looking at idle descriptors while
    /// busy.
    pub waits: u64,
    /// Each element's statistics, in configuration order: packets in and
    /// out by port, drops by reason, sampled cycles (`router --stats`).
    pub stats: Vec<ElementStats>,
}

/// A checked, configured router, ready to run.
pub struct Router {
    graph: Arc<Graph>,
    /// What the elements' arguments may name, read once.
    info: Arc<RouterInfo>,
    registry: Registry,
    flat: FlatConfig,
    stop: Arc<AtomicBool>,
    /// The running router's inboxes, for [`RouterHandle`]s.
    running: Arc<Mutex<Option<Arc<Mailboxes>>>>,
    /// The global read handlers' values, made once for the handles.
    globals: OnceLock<Arc<Vec<(&'static str, String)>>>,
    /// Global write handlers added by the program running the router.
    global_writes: Arc<Vec<(String, GlobalWrite)>>,
    /// What elements said while configured that is not an error.
    messages: Vec<Diagnostic>,
}

/// Element `e`'s configuration message `m`, at its declaration: in
/// Click's form, `FILE:LINE: While configuring 'm :: Message':` and the
/// message indented on the lines after.
fn configure_message(graph: &Graph, e: usize, m: &str) -> Diagnostic {
    let node = &graph.nodes[e];
    let declaration = node.declaration();
    let mut d = Diagnostic::new(
        node.span.clone(),
        format!("while configuring '{declaration}': {m}"),
    );
    d.click = Some(Box::new(ClickLine {
        span: None,
        message: Some(format!(
            "While configuring '{declaration}':\n  {}",
            m.replace('\n', "\n  ")
        )),
    }));
    d
}

impl Router {
    /// Checks `flat` against `registry` and configures every element once
    /// (configuration errors are found here, all of them).
    pub fn new(flat: &FlatConfig, registry: &Registry) -> Result<Router, Vec<Diagnostic>> {
        check_requirements(flat)?;
        let graph = Graph::build(flat, registry)?;
        if tracing::enabled!(tracing::Level::DEBUG) {
            for node in &graph.nodes {
                match node.config.as_str() {
                    "" => tracing::debug!("{}", node.declaration()),
                    config => tracing::debug!("{}({config})", node.declaration()),
                }
            }
        }
        let info = Arc::new(RouterInfo::build(&graph));
        let mut errors = Vec::new();
        let mut messages = Vec::new();
        for e in 0..graph.nodes.len() {
            match configure(&graph, e, &info) {
                Ok(element) => messages.extend(
                    element
                        .configure_message()
                        .map(|m| configure_message(&graph, e, m)),
                ),
                Err(d) => errors.push(d),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let router = Router {
            graph: Arc::new(graph),
            info,
            registry: registry.clone(),
            flat: flat.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            running: Arc::new(Mutex::new(None)),
            globals: OnceLock::new(),
            global_writes: Arc::new(Vec::new()),
            messages,
        };
        Ok(router)
    }

    /// What elements said while configured that is not an error (see
    /// [`Element::configure_message`](crate::Element::configure_message)),
    /// in configuration order, each at its element's declaration.
    pub fn messages(&self) -> &[Diagnostic] {
        &self.messages
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
        let placement = place(&self.graph, opts.threads.max(1))?;
        let spec = RunSpec {
            graph: &self.graph,
            info: &self.info,
            stop: &self.stop,
            handle: self.handle(),
            running: &self.running,
        };
        let finished = crate::threads::run(spec, opts, placement)?;
        Ok(self.report(opts, finished.outcomes, finished.ended_at))
    }

    fn report(
        &self,
        opts: &RunOptions,
        outcomes: Vec<ThreadOutcome>,
        ended_at: Timestamp,
    ) -> RunReport {
        let mut reads: Vec<Option<Result<String, String>>> = vec![None; opts.final_reads.len()];
        let mut stats: Vec<ElementStats> = self
            .graph
            .nodes
            .iter()
            .map(|n| ElementStats {
                declaration: n.declaration(),
                ..ElementStats::default()
            })
            .collect();
        let waits = outcomes.iter().map(|o| o.waits).sum();
        for outcome in outcomes {
            for (i, r) in outcome.reads.into_iter().enumerate() {
                if r.is_some() && reads[i].is_none() {
                    reads[i] = r;
                }
            }
            // An element on several threads: its instances add up.
            for (e, s) in outcome.stats {
                stats[e].add(&s);
            }
        }
        let reads = reads
            .into_iter()
            .zip(&opts.final_reads)
            .map(|(r, name)| match name.as_str() {
                "stats" => Ok(crate::stats::render_table(&stats)),
                _ => r.unwrap_or_else(|| self.global_read(name)),
            })
            .collect();
        let engine_drops = stats
            .iter()
            .zip(&self.graph.nodes)
            .map(|(s, n)| (n.name.clone(), s.drops.iter().map(|(_, c)| c).sum::<u64>()))
            .filter(|&(_, d)| d > 0)
            .collect();
        RunReport {
            reads,
            engine_drops,
            ended_at,
            waits,
            stats,
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

/// Click's global read handlers, as [`Router::global_read`] answers them.
const GLOBAL_READS: &[&str] = &["config", "flatconfig", "list", "classes", "version"];

/// Global read handlers whose value changes while the router runs (not
/// among the values [`RouterHandle`] keeps).
pub(crate) const LIVE_GLOBAL_READS: &[&str] = &["stats"];

/// What `require(NAME)` may ask of this router and get: Click's names for
/// the user-level driver's features.
const PROVIDED: &[&str] = &["userlevel", "linux", "int64", "smpclick"];

/// Click's `require(package NAME)` loads elements at run time; this router
/// does not (docs/WRITING-ELEMENTS.md says why), so a requirement that is
/// not one of its own features is an error that says what to do instead.
fn check_requirements(flat: &FlatConfig) -> Result<(), Vec<Diagnostic>> {
    let errors: Vec<Diagnostic> = flat
        .requirements
        .iter()
        .filter_map(|r| {
            let name = r.text.strip_prefix("package ")?;
            let name = click_lang::args::unquote(name);
            (!PROVIDED.contains(&name.as_str())).then(|| {
                Diagnostic::new(
                    r.span.clone(),
                    format!(
                        "requirement '{name}' not available: element packages are not loaded \
                         at run time; build a router binary with those elements \
                         (router::main_with, docs/WRITING-ELEMENTS.md)"
                    ),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
