//! The state all scheduler threads of a running router share: the stop
//! flag and run count, the wakers, handler inboxes, the clock, signals and
//! the hot-swap hand-over.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::clock::{Clock, IdleThreads};
use crate::control::Mailboxes;
use crate::graph::Graph;
use crate::sched::{TaskHandle, ThreadWaker};

/// State shared by all threads of a running router.
pub(crate) struct Shared {
    pub stop: Arc<AtomicBool>,
    pub runcount: AtomicI32,
    pub wakers: Vec<Arc<ThreadWaker>>,
    pub graph: Arc<Graph>,
    /// State of THREAD_SAFE elements, by global element index.
    pub cells: Mutex<HashMap<usize, Arc<dyn Any + Send + Sync>>>,
    /// The element handling stop events (DriverManager, Script TYPE
    /// DRIVER): when set, a run count reaching zero wakes it instead of
    /// stopping the router.
    pub driver: OnceLock<TaskHandle>,
    /// Handler calls between threads.
    pub mailboxes: Arc<Mailboxes>,
    /// The router's clock, real or simulated.
    pub clock: Clock,
    /// Simulated time: which threads have nothing to run.
    pub idle: IdleThreads,
    /// Unix signals caught by elements (delivered by thread 0).
    pub signals: Arc<crate::signals::RouterSignals>,
    /// A handle for elements that serve handlers to other threads or
    /// programs (ControlSocket).
    pub handle: crate::RouterHandle,
    /// State passed from the router this one replaces, and to the one
    /// that replaces it (`router -R`).
    pub hotswap: Option<Arc<crate::HotSwap>>,
}

impl Shared {
    pub fn adjust_runcount(&self, delta: i32) {
        let now = self.runcount.fetch_add(delta, Ordering::AcqRel) + delta;
        if now <= 0 {
            match self.driver.get() {
                Some(driver) => driver.wake(),
                None => self.request_stop(),
            }
        }
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        for w in &self.wakers {
            w.wake();
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
