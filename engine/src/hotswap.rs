//! Hot swapping (Click's `-R` and `hotconfig`): a running router is
//! replaced by a new one, and elements of the new router may take over the
//! state of the old router's element of the same name (Click's
//! `take_state`): a ControlSocket keeps its socket and its clients' open
//! connections, a Queue its packets. Whether the state fits is decided by
//! its type, as Click's `cast` decides it: a SimpleQueue takes a Queue's
//! packets, a Counter takes nothing from a Queue.
//!
//! The state passes through a [`HotSwap`] shared by both runs. The driver
//! [arms](HotSwap::arm) it before it stops the old router; the old router's
//! elements then [hand over](crate::Element::hand_over) their state as their
//! threads finish, before cleanup. The next run's elements take it during
//! initialize ([`InitCtx::take_state`](crate::InitCtx::take_state)); what no
//! element takes is dropped once every element has initialized.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// State handed from one run of a router to the next; see the module
/// documentation.
#[derive(Default)]
pub struct HotSwap {
    armed: AtomicBool,
    /// By element name: the state it handed over.
    states: Mutex<HashMap<String, Box<dyn Any + Send>>>,
}

impl std::fmt::Debug for HotSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("HotSwap")
            .field("armed", &self.armed())
            .field("states", &names)
            .finish()
    }
}

impl HotSwap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The running router is about to stop for a swap: its elements will
    /// hand over their state when its threads finish.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }

    /// The run the swap stopped is over.
    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::Release);
    }

    pub(crate) fn armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    pub(crate) fn put(&self, name: &str, state: Box<dyn Any + Send>) {
        self.lock().insert(name.to_string(), state);
    }

    /// The state the old router's element `name` handed over.
    pub(crate) fn take(&self, name: &str) -> Option<Box<dyn Any + Send>> {
        self.lock().remove(name)
    }

    /// Drops every state no element took (their owners' `Drop` releases
    /// what they held).
    pub(crate) fn drop_untaken(&self) {
        let untaken = std::mem::take(&mut *self.lock());
        for name in untaken.keys() {
            tracing::debug!(element = %name, "state handed over but not taken");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Box<dyn Any + Send>>> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }
}
