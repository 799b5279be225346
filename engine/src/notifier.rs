//! Notifiers: how a pull task learns that the queues upstream of it are
//! empty (and sleeps), and how a source learns that the queue downstream of
//! it is full (and pauses), as in Click.
//!
//! A [`Signal`] is provided by an element (a queue) and listened to by
//! tasks. Activating a signal wakes its listeners. Signals only change on
//! transitions (empty → non-empty), so their atomics are off the per-packet
//! path. Tasks find the signals relevant to them at initialization with
//! [`InitCtx::upstream_empty_signal`](crate::InitCtx::upstream_empty_signal)
//! and [`InitCtx::downstream_full_signal`](crate::InitCtx::downstream_full_signal).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::sched::TaskHandle;

/// Which notifier a search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifierKind {
    /// Upstream of a puller: active while packets are available.
    Empty,
    /// Downstream of a pusher: active while there is room.
    Full,
}

/// A notifier signal, shared between its provider and its listeners.
#[derive(Clone, Debug)]
pub struct Signal(Arc<SignalState>);

#[derive(Debug)]
struct SignalState {
    active: AtomicBool,
    listeners: Mutex<Vec<TaskHandle>>,
}

impl Signal {
    /// A new signal, initially active or not.
    pub fn new(active: bool) -> Self {
        Signal(Arc::new(SignalState {
            active: AtomicBool::new(active),
            listeners: Mutex::new(Vec::new()),
        }))
    }

    #[inline]
    pub fn is_active(&self) -> bool {
        self.0.active.load(Ordering::Acquire)
    }

    /// Makes the signal active and wakes its listeners if it was not.
    #[inline]
    pub fn activate(&self) {
        // SeqCst, before the listeners' wakes: a task that read the signal
        // inactive and then slept learns of the wake, and then sees the
        // signal active (see `TaskHandle::after_sleep`).
        if !self.0.active.swap(true, Ordering::SeqCst) {
            self.wake_listeners();
        }
    }

    /// Makes the signal inactive; listeners will sleep when they next
    /// find nothing to do.
    #[inline]
    pub fn deactivate(&self) {
        self.0.active.store(false, Ordering::Release);
    }

    #[cold]
    fn wake_listeners(&self) {
        let listeners = self.0.listeners.lock().unwrap_or_else(|e| e.into_inner());
        for task in listeners.iter() {
            task.wake();
        }
    }

    /// Whether two handles name the same signal.
    pub fn same(&self, other: &Signal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn add_listener(&self, task: TaskHandle) {
        let mut listeners = self.0.listeners.lock().unwrap_or_else(|e| e.into_inner());
        listeners.push(task);
    }
}

/// What a task listens to: the OR of the signals found on its paths, or
/// "always active" when some path reaches a packet source that provides no
/// signal (Click's busy signal).
#[derive(Clone, Debug, Default)]
pub struct NotifierSignal {
    always: bool,
    signals: Vec<Signal>,
}

impl NotifierSignal {
    /// A signal that is always active.
    pub fn always() -> Self {
        NotifierSignal {
            always: true,
            signals: Vec::new(),
        }
    }

    pub(crate) fn new(always: bool, signals: Vec<Signal>) -> Self {
        NotifierSignal {
            always: always || signals.is_empty(),
            signals,
        }
    }

    /// Is work (or room) possibly available?
    #[inline]
    pub fn active(&self) -> bool {
        self.always || self.signals.iter().any(Signal::is_active)
    }
}
