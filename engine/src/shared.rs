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
    pub clock: Arc<Clock>,
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
    /// Why the router stops, once something asked it to (logged at the
    /// end of the run).
    pub stop_reason: Mutex<Option<String>>,
}

impl Shared {
    /// Adds `delta` to the run count; `by` says who, for the log (a stop
    /// request is rare: it is logged at info).
    pub fn adjust_runcount(&self, delta: i32, by: impl FnOnce() -> String) {
        let now = self.runcount.fetch_add(delta, Ordering::AcqRel) + delta;
        if now <= 0 {
            match self.driver.get() {
                Some(driver) => {
                    tracing::info!("{}: run count {now}, the driver element decides", by());
                    driver.wake();
                }
                None => self.stop_because(|| format!("{} (run count {now})", by())),
            }
        } else if delta < 0 {
            tracing::info!("{}: run count {now}, not stopping yet", by());
        }
    }

    /// Stops the router, recording why (the first reason stays).
    pub fn stop_because(&self, reason: impl FnOnce() -> String) {
        {
            let mut recorded = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
            if recorded.is_none() {
                let reason = reason();
                tracing::info!("stopping: {reason}");
                *recorded = Some(reason);
            }
        }
        self.request_stop();
    }

    /// Why the router stopped, as far as it knows: a recorded reason, the
    /// end of simulated time, or the stop flag raised from outside.
    pub fn stopped_because(&self) -> String {
        let recorded = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
        match recorded.as_ref() {
            Some(reason) => reason.clone(),
            None if !self.stopping() => {
                "nothing left to do: simulated time has no task or timer left".into()
            }
            None => "the stop flag was raised (SIGINT or SIGTERM, a hot swap, or a program's \
                     RouterHandle::stop)"
                .into(),
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
