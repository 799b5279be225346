//! The control plane: handler calls that cross threads travel over
//! crossbeam channels, one inbox per scheduler thread, answered between two
//! scheduling rounds by the thread that owns the element. Packets never use
//! this path; it is for handlers (a Script on one thread reading a counter
//! on another, a [`RouterHandle`] in a test or a control socket).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::graph::Graph;
use crate::sched::ThreadWaker;
use crate::stats::ElementStats;

/// How long a handler call waits for another thread's answer. Two threads
/// that call each other's handlers at the same moment would otherwise wait
/// forever; with the bound, one of the calls fails with an error.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// A handler call for one element.
#[derive(Debug)]
pub(crate) enum Request {
    Read {
        element: usize,
        handler: String,
        /// From outside the router: see [`RouterHandle::remote`].
        remote: bool,
    },
    Write {
        element: usize,
        handler: String,
        value: String,
        remote: bool,
    },
    /// The thread's elements' statistics, left in [`Mailboxes::stats`]
    /// for the caller to sum up (the live `stats` handler).
    PublishStats,
    /// Click's global `stop` write: the run count goes down by `n` (a
    /// driver element such as `DriverManager(wait_stop, ...)` then decides;
    /// without one the router stops). Answered by thread 0.
    Stop { n: i32 },
}

impl Request {
    /// The element the call is for, if any.
    pub(crate) fn element(&self) -> Option<usize> {
        match self {
            Request::Read { element, .. } | Request::Write { element, .. } => Some(*element),
            Request::Stop { .. } | Request::PublishStats => None,
        }
    }
}

/// A request and where to send its answer.
#[derive(Debug)]
pub(crate) struct Message {
    pub request: Request,
    pub reply: Sender<Result<String, String>>,
}

/// The inboxes of a running router's threads, and which thread answers for
/// which element.
#[derive(Debug)]
pub(crate) struct Mailboxes {
    senders: Vec<Sender<Message>>,
    wakers: Vec<Arc<ThreadWaker>>,
    /// Global element index → the thread answering its reads.
    owner: Vec<usize>,
    /// Global element index → the threads whose instances take its writes.
    instances: Vec<Vec<usize>>,
    /// Statistics each thread last published (by thread), for the `stats`
    /// handler.
    pub(crate) stats: Mutex<Vec<Vec<(usize, ElementStats)>>>,
}

impl Mailboxes {
    /// Inboxes for `wakers.len()` threads; returns the receiving ends too.
    pub fn new(
        wakers: Vec<Arc<ThreadWaker>>,
        owner: Vec<usize>,
        instances: Vec<Vec<usize>>,
    ) -> (Self, Vec<Receiver<Message>>) {
        let senders_len = wakers.len();
        let (senders, receivers) = wakers
            .iter()
            .map(|_| crossbeam_channel::unbounded())
            .unzip();
        (
            Mailboxes {
                senders,
                wakers,
                stats: Mutex::new(vec![Vec::new(); senders_len]),
                owner,
                instances,
            },
            receivers,
        )
    }

    pub fn owner(&self, element: usize) -> usize {
        self.owner[element]
    }

    /// The threads whose instances of `element` take handler writes.
    pub fn instances(&self, element: usize) -> &[usize] {
        &self.instances[element]
    }

    /// Sends `request` to the thread owning its element without waiting
    /// for the answer (signal delivery: thread 0 must not block on
    /// another thread).
    pub fn post(&self, request: Request) {
        let thread = request.element().map_or(0, |e| self.owner[e]);
        self.post_to(thread, request);
    }

    /// Sends `request` to thread `thread` without waiting for the answer.
    pub fn post_to(&self, thread: usize, request: Request) {
        let (reply, _) = crossbeam_channel::bounded(1);
        if self.senders[thread]
            .send(Message { request, reply })
            .is_ok()
        {
            self.wakers[thread].wake();
        }
    }

    /// Sends `request` to the thread owning its element and waits for the
    /// answer.
    pub fn call(&self, request: Request) -> Result<String, String> {
        let thread = request.element().map_or(0, |e| self.owner[e]);
        self.call_on(thread, request)
    }

    /// Sends `request` to thread `thread` and waits for the answer.
    pub fn call_on(&self, thread: usize, request: Request) -> Result<String, String> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.senders[thread]
            .send(Message { request, reply })
            .map_err(|_| "the router is not running".to_string())?;
        self.wakers[thread].wake();
        match answer.recv_timeout(ANSWER_TIMEOUT) {
            Ok(result) => result,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(format!(
                "thread {thread} did not answer within {ANSWER_TIMEOUT:?}"
            )),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                Err("the router stopped".to_string())
            }
        }
    }

    /// Writes a handler of `element` on every thread whose instance takes
    /// writes (each replica of an element that runs on several threads),
    /// waiting for each; the first error wins.
    pub fn write_everywhere(
        &self,
        element: usize,
        handler: &str,
        value: &str,
        remote: bool,
    ) -> Result<String, String> {
        let mut result = Ok(String::new());
        for &thread in &self.instances[element] {
            let request = Request::Write {
                element,
                handler: handler.to_string(),
                value: value.to_string(),
                remote,
            };
            let r = self.call_on(thread, request);
            if result.is_ok() {
                result = r;
            }
        }
        result
    }
}

/// A global write handler added with [`Router::add_global_write`]: called
/// with the written value, on the thread that writes it.
pub type GlobalWrite = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// A handle on a router, usable from any thread while it runs: reads and
/// writes handlers (`"element.handler"`) and stops it.
#[derive(Clone)]
pub struct RouterHandle {
    pub(crate) graph: Arc<Graph>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) running: Arc<Mutex<Option<Arc<Mailboxes>>>>,
    pub(crate) remote: bool,
    /// The global read handlers' values (they do not change during a run).
    pub(crate) globals: Arc<Vec<(&'static str, String)>>,
    /// Global write handlers besides `stop` ([`Router::add_global_write`]).
    ///
    /// [`Router::add_global_write`]: crate::Router::add_global_write
    pub(crate) global_writes: Arc<Vec<(String, GlobalWrite)>>,
}

/// A global handler: its name, and whether it reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalHandler {
    pub name: String,
    pub read: bool,
    pub write: bool,
}

impl RouterHandle {
    /// Reads `element.handler` of the running router, or a global read
    /// handler (`version`, `list`, `classes`, `config`, `flatconfig`).
    pub fn read(&self, name: &str) -> Result<String, String> {
        if !name.contains('.') {
            return self.global(name);
        }
        let (element, handler) = self.split(name)?;
        let remote = self.remote;
        self.mailboxes()?.call(Request::Read {
            element,
            handler,
            remote,
        })
    }

    /// Writes `value` to `element.handler` of the running router, or to
    /// a global write handler: `stop` (Click's: the run count goes down by
    /// VALUE if it is a number, else by 1, so that a
    /// `DriverManager(wait_stop, ...)` takes its next step; without a
    /// driver element the router stops), and those the program added.
    pub fn write(&self, name: &str, value: &str) -> Result<(), String> {
        if name == "stop" {
            let n = value.trim().parse().unwrap_or(1);
            return match self.mailboxes() {
                Ok(mailboxes) => mailboxes.call(Request::Stop { n }).map(drop),
                // Not running (yet): it stops as soon as it starts.
                Err(_) => {
                    self.stop();
                    Ok(())
                }
            };
        }
        if !name.contains('.') {
            let (_, handler) = self
                .global_writes
                .iter()
                .find(|(g, _)| g == name)
                .ok_or_else(|| format!("no global handler '{name}'"))?;
            return handler(value);
        }
        let (element, handler) = self.split(name)?;
        self.mailboxes()?
            .write_everywhere(element, &handler, value, self.remote)
            .map(drop)
    }

    /// The same handle, calling as a program outside the router does (a
    /// ControlSocket client): values come back as the handler gives them
    /// (no newline added), and private handlers do not exist.
    pub fn remote(self) -> Self {
        RouterHandle {
            remote: true,
            ..self
        }
    }

    /// The global handlers (no element part): Click's read handlers,
    /// `stop`, and the write handlers the program added.
    pub fn global_handlers(&self) -> Vec<GlobalHandler> {
        let reads = self
            .globals
            .iter()
            .map(|(name, _)| name.to_string())
            .chain(
                crate::router::LIVE_GLOBAL_READS
                    .iter()
                    .map(|n| n.to_string()),
            )
            .map(|name| (name, true));
        let writes = std::iter::once("stop".to_string())
            .chain(self.global_writes.iter().map(|(name, _)| name.clone()))
            .map(|name| (name, false));
        reads
            .chain(writes)
            .map(|(name, read)| GlobalHandler {
                name,
                read,
                write: !read,
            })
            .collect()
    }

    /// Whether `element` exists.
    pub fn has_element(&self, element: &str) -> bool {
        self.graph.find(element).is_some()
    }

    /// The names of the router's elements, in configuration order.
    pub fn element_names(&self) -> Vec<String> {
        self.graph.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Stops the router now, whatever its driver elements (as SIGINT
    /// does).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Ok(mailboxes) = self.mailboxes() {
            for w in &mailboxes.wakers {
                w.wake();
            }
        }
    }

    /// Whether the router has been asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Whether the router is running (its threads answer calls).
    pub fn is_running(&self) -> bool {
        self.mailboxes().is_ok()
    }

    fn mailboxes(&self) -> Result<Arc<Mailboxes>, String> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .clone()
            .ok_or_else(|| "the router is not running".to_string())
    }

    fn global(&self, name: &str) -> Result<String, String> {
        if name == "stats" {
            return self.stats();
        }
        let (_, value) = self
            .globals
            .iter()
            .find(|(g, _)| *g == name)
            .ok_or_else(|| format!("no global handler '{name}'"))?;
        // Global values end with a newline, as `-h` prints them; a remote
        // reader gets a single-line one without it, as from read_handler.
        Ok(match value.strip_suffix('\n') {
            Some(v) if self.remote && !v.contains('\n') => v.to_string(),
            _ => value.clone(),
        })
    }

    /// The live `stats` handler: every thread publishes its elements'
    /// statistics between two rounds; their sum, as `router --stats`
    /// prints it.
    fn stats(&self) -> Result<String, String> {
        let mailboxes = self.mailboxes()?;
        let threads = mailboxes.senders.len();
        for t in 0..threads {
            mailboxes.call_on(t, Request::PublishStats)?;
        }
        let mut sum: Vec<ElementStats> = self
            .graph
            .nodes
            .iter()
            .map(|n| ElementStats {
                declaration: n.declaration(),
                ..ElementStats::default()
            })
            .collect();
        let published = mailboxes.stats.lock().unwrap_or_else(|e| e.into_inner());
        for (e, s) in published.iter().flatten() {
            sum[*e].add(s);
        }
        Ok(crate::stats::render_table(&sum))
    }

    fn split(&self, name: &str) -> Result<(usize, String), String> {
        let (element, handler) = name
            .split_once('.')
            .ok_or_else(|| format!("'{name}': expected ELEMENT.HANDLER"))?;
        let e = self
            .graph
            .find(element)
            .ok_or_else(|| format!("no element named '{element}'"))?;
        Ok((e, handler.to_string()))
    }
}
