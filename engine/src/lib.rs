//! The engine: packets, batches, the element traits, the compiled graph and
//! the per-core schedulers.
//!
//! A router is built from a flattened configuration
//! ([`click_lang::FlatConfig`]) and a [`Registry`] of element classes:
//! [`Router::new`] checks it (classes, port counts, push/pull resolution,
//! configuration strings, thread placement) and [`Router::run`] runs it on
//! one or more scheduler threads until it stops. See `docs/ARCHITECTURE.md`.

pub mod packet;

mod clock;
mod control;
mod counters;
mod ctx;
mod dispatch;
mod element;
mod graph;
mod handler;
mod harness;
mod hotswap;
mod info;
mod init;
mod notifier;
mod panics;
mod placement;
mod poller;
mod ports;
mod registry;
mod router;
mod sched;
mod shard;
mod shared;
pub mod signals;
mod stats;
mod threads;
mod timers;

/// Click's configuration-argument parsing, for element authors.
pub use click_lang::args;

pub use clock::{ClockHandle, ClockMode, DEFAULT_SIMTIME_START};
pub use control::{GlobalHandler, GlobalWrite, RouterHandle};
pub use counters::{CounterSlot, SharedCounters};
pub use ctx::{Ctx, PacketCtx};
pub use element::{ConfigureCtx, Element, ElementClass, PacketElement, Port, Threads};
pub use graph::{unknown_classes, Graph, Node};
pub use handler::{ConfigArg, Handler, DEFAULT_HANDLERS};
pub use harness::Harness;
pub use hotswap::HotSwap;
pub use init::InitCtx;
pub use notifier::{NotifierKind, NotifierSignal, Signal};
pub use packet::{Batch, Packet};
pub use poller::{Interest, Readiness};
pub use ports::{Processing, AGNOSTIC, COMPLETE_FLOW, PULL, PULL_TO_PUSH, PUSH, PUSH_TO_PULL};
pub use registry::{ClassSpec, Registry};
pub use router::{Router, RunOptions, RunReport};
pub use sched::{TaskHandle, DEFAULT_TICKETS, MAX_TICKETS};
pub use stats::{render_table, DropReason, ElementStats, DROPPED_BY_ELEMENT, NO_SUCH_OUTPUT};
pub use timers::Timer;
