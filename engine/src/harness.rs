//! Testing an element without a router: [`Harness`] gives one element the
//! context it would have in a running router, so a test can call its
//! methods (`process`, `push`, handlers, timers) directly.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI32};
use std::sync::{Arc, Mutex, OnceLock};

use click_lang::Span;
use petgraph::graph::DiGraph;

use crate::clock::{Clock, ClockMode, IdleThreads};
use crate::control::{Mailboxes, Message, RouterHandle};
use crate::ctx::{Ctx, Entered, PacketCtx, Position};
use crate::dispatch::{Link, Slot, Tables, Target};
use crate::element::{Element, Port};
use crate::graph::{Graph, Node};
use crate::packet::{Batch, Packet};
use crate::ports::Processing;
use crate::sched::{TaskHandle, ThreadWaker};
use crate::shard::{Selects, ShardState};
use crate::shared::Shared;
use crate::signals::RouterSignals;
use crate::stats::Stats;
use crate::timers::Timers;

/// The context of one element outside any router, for unit tests.
///
/// What the element pushes out of its outputs (up to 8) is kept for
/// [`Harness::take_output`]; nothing is connected to its inputs, so its
/// pulls get nothing. Timers can be set (up to 8 per element) but never
/// fire by themselves: call the element's `run_timer` yourself.
///
/// ```
/// use click_engine::{Harness, PacketElement, PacketCtx, Port, packet::Packet};
///
/// struct Short;
/// impl PacketElement for Short {
///     fn process(&mut self, p: &mut Packet, _: &mut PacketCtx<'_>) -> Option<Port> {
///         (p.len() < 60).then_some(0)
///     }
/// }
///
/// let mut h = Harness::new("short");
/// let mut p = Packet::from_slice(&[0; 14]).unwrap();
/// assert_eq!(h.with(|ctx| Short.process(&mut p, ctx)), Some(0));
///
/// // As the engine calls it: a batch in, packets out of their ports.
/// use click_engine::{Element, packet::Batch};
/// let mut batch = Batch::new();
/// batch.push(Packet::from_slice(&[0; 14]).unwrap());
/// batch.push(Packet::from_slice(&[0; 64]).unwrap());
/// h.with(|ctx| Element::push(&mut Short, 0, batch, ctx));
/// assert_eq!(h.take_output(0).len(), 1);
/// assert_eq!(h.drops(), 1);
/// ```
pub struct Harness {
    /// Slot 0 stands for the element under test (called directly, never
    /// through its slot); slot 1 collects what it pushes.
    slots: Vec<Slot>,
    collected: Rc<RefCell<Vec<Vec<Packet>>>>,
    shared: Shared,
    state: ShardState,
    tables: Tables,
    task_of: Vec<Option<TaskHandle>>,
    global: Vec<usize>,
    /// Keeps the inbox's receiving end alive.
    _inbox: Vec<crossbeam_channel::Receiver<Message>>,
}

/// Timers a harnessed element may use.
const HARNESS_TIMERS: usize = 8;
/// Outputs a harnessed element may push to.
const HARNESS_OUTPUTS: usize = 8;

/// Keeps what the element under test pushes, by output.
struct Collector(Rc<RefCell<Vec<Vec<Packet>>>>);

impl Element for Collector {
    fn push(&mut self, port: Port, batch: Batch, _ctx: &mut Ctx<'_>) {
        self.0.borrow_mut()[port].extend(batch);
    }
}

/// An element that is never called (the element under test's slot).
struct Absent;

impl Element for Absent {}

impl Harness {
    /// A context for an element named `name`, with one push input and one
    /// push output.
    pub fn new(name: &str) -> Harness {
        let node = Node {
            name: name.to_string(),
            class: "Harness".to_string(),
            config: String::new(),
            span: Span::default(),
            spec: None,
            inputs: vec![Processing::Push],
            outputs: vec![Processing::Push],
        };
        let mut edges = DiGraph::new();
        edges.add_node(0);
        let graph = Arc::new(Graph {
            nodes: vec![node],
            connections: Vec::new(),
            edges,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let wakers = vec![Arc::new(ThreadWaker::default())];
        let (mailboxes, inbox) = Mailboxes::new(wakers.clone(), vec![0], vec![vec![0]]);
        let mailboxes = Arc::new(mailboxes);
        let handle = RouterHandle {
            graph: graph.clone(),
            stop: stop.clone(),
            running: Arc::new(Mutex::new(Some(mailboxes.clone()))),
            remote: false,
            globals: Arc::new(Vec::new()),
            global_writes: Arc::new(Vec::new()),
        };
        let shared = Shared {
            stop: stop.clone(),
            runcount: AtomicI32::new(1),
            wakers: wakers.clone(),
            graph,
            cells: Mutex::new(HashMap::new()),
            driver: OnceLock::new(),
            mailboxes,
            clock: Arc::new(Clock::new(ClockMode::Real)),
            idle: IdleThreads::new(1),
            signals: RouterSignals::new(stop, wakers),
            handle,
            hotswap: None,
            stop_reason: Mutex::new(None),
        };
        let stats = Stats::new(2);
        let mut state = ShardState::new(
            2,
            Timers::new(&[HARNESS_TIMERS, 1]),
            Selects::default(),
            stats,
        );
        state.configs = vec![String::new(); 2];
        let collected = Rc::new(RefCell::new(
            (0..HARNESS_OUTPUTS).map(|_| Vec::new()).collect(),
        ));
        let slots: Vec<Slot> = vec![
            Slot::new(Box::new(Absent)),
            Slot::new(Box::new(Collector(collected.clone()))),
        ];
        Harness {
            slots,
            collected,
            shared,
            state,
            tables: collecting_tables(),
            task_of: vec![None, None],
            global: vec![0, 0],
            _inbox: inbox,
        }
    }

    /// Runs `f` with the element's context, as the engine would call one
    /// of its methods.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        let mut ctx = Ctx(PacketCtx {
            thread: 0,
            slots: &self.slots,
            tables: &self.tables,
            task_of: &self.task_of,
            global: &self.global,
            state: &mut self.state,
            shared: &self.shared,
            pos: Position::new(0, Entered::Handler),
            drop_reason: None,
            timed: false,
            mark: 0,
            now: self.shared.clock.now(),
            lent: std::ptr::null(),
        });
        f(&mut ctx)
    }

    /// Takes the packets the element pushed out of output `port` so far,
    /// in order.
    pub fn take_output(&mut self, port: Port) -> Vec<Packet> {
        self.collected
            .borrow_mut()
            .get_mut(port)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Packets the engine dropped on the element's behalf (verdict drops,
    /// pushes beyond its outputs).
    pub fn drops(&self) -> u64 {
        self.state.stats.total_drops(0)
    }

    /// When `timer` of the element is due, if it is set.
    pub fn timer_deadline(&self, timer: crate::Timer) -> Option<std::time::Instant> {
        self.state.timers.deadline(0, timer)
    }
}

/// Tables in which element 0's outputs lead to element 1's inputs of the
/// same numbers.
fn collecting_tables() -> Tables {
    let direct_outs: Vec<Target> = (0..HARNESS_OUTPUTS as u32)
        .map(|port| Target { elem: 1, port })
        .collect();
    let n = direct_outs.len() as u32;
    Tables {
        out_base: vec![0, n, n],
        outs: direct_outs.iter().map(|&t| Link::new(t)).collect(),
        in_base: vec![0, 0, 0],
        ins: Vec::new(),
        direct_outs,
        direct_ins: Vec::new(),
        forwarders: vec![false, false],
        outputs_meet: vec![false, false],
    }
}
