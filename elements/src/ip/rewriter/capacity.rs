//! A capacity shared between rewriters (`MAPPING_CAPACITY rw2`): one
//! limit on the flows of every rewriter in the group, a full group
//! pushing out whichever member's flow Click's rule picks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};

use super::core::Core;

/// The rewriters sharing one capacity, and the capacity. A rewriter that
/// shares none is a group of one.
#[derive(Debug)]
pub(crate) struct CapacityGroup {
    capacity: AtomicUsize,
    members: Mutex<Vec<Weak<Mutex<Core>>>>,
}

impl Default for CapacityGroup {
    fn default() -> Self {
        CapacityGroup {
            capacity: AtomicUsize::new(usize::MAX),
            members: Mutex::new(Vec::new()),
        }
    }
}

impl CapacityGroup {
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    pub fn set_capacity(&self, capacity: usize) {
        self.capacity.store(capacity, Ordering::Relaxed);
    }

    /// Adds a member; its index in the group.
    pub fn join(&self, core: Weak<Mutex<Core>>) -> usize {
        let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        members.push(core);
        members.len() - 1
    }

    /// Runs `f` on each member but `me` that is not busy. A member
    /// another thread holds is left out (so two rewriters on two threads
    /// never wait for each other); on one thread none ever is, since a
    /// rewriter lets go of itself before it pushes packets on.
    pub fn each_other(&self, me: usize, mut f: impl FnMut(usize, &mut Core)) {
        let members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        for (k, m) in members.iter().enumerate() {
            if k == me {
                continue;
            }
            if let Some(core) = m.upgrade() {
                if let Ok(mut core) = core.try_lock() {
                    f(k, &mut core);
                }
            }
        }
    }
}
