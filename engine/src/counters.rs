//! Counters that the instances of one element add to from several
//! threads, and that a handler reads as one sum: the shared state of a
//! [`Threads::PerThread`](crate::Threads::PerThread) Counter.
//!
//! Each instance owns one cache line of counters and is the only writer of
//! it, so adding is a plain load and store (no locked instruction, no line
//! moving between cores); a read adds every instance's line up. A reset is
//! written to every instance (handler writes go to each), and each clears
//! its own line, so it never races with an add.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// One instance's counters, alone on their cache line.
#[repr(align(64))]
struct Line<const N: usize>([AtomicU64; N]);

/// `N` counters per instance of an element, summed on reads.
///
/// ```
/// use click_engine::SharedCounters;
///
/// let c = SharedCounters::<2>::new(2);
/// c.add(0, 0, 3); // instance 0 counts 3 packets,
/// c.add(1, 0, 4); // instance 1 counts 4, each on its own thread
/// assert_eq!(c.sum(0), 7);
/// c.reset(0);
/// assert_eq!(c.sum(0), 4);
/// ```
pub struct SharedCounters<const N: usize> {
    lines: Box<[Line<N>]>,
}

impl<const N: usize> SharedCounters<N> {
    /// Counters for `instances` instances (at least one), all zero.
    pub fn new(instances: usize) -> Self {
        let lines = (0..instances.max(1))
            .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
            .collect();
        SharedCounters { lines }
    }

    /// Adds `n` to counter `i` of `instance`. Call only from that
    /// instance's thread: it is the line's only writer.
    #[inline]
    pub fn add(&self, instance: usize, i: usize, n: u64) {
        let c = &self.lines[instance].0[i];
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Counter `i` of `instance` alone.
    #[inline]
    pub fn get(&self, instance: usize, i: usize) -> u64 {
        self.lines[instance].0[i].load(Relaxed)
    }

    /// Counter `i` summed over every instance.
    pub fn sum(&self, i: usize) -> u64 {
        self.lines
            .iter()
            .fold(0u64, |s, l| s.wrapping_add(l.0[i].load(Relaxed)))
    }

    /// Clears `instance`'s counters (from its own thread).
    pub fn reset(&self, instance: usize) {
        for c in &self.lines[instance].0 {
            c.store(0, Relaxed);
        }
    }

    /// How many instances count.
    pub fn instances(&self) -> usize {
        self.lines.len()
    }
}

/// One instance's handle on its own counters: adding is a load and a
/// store at a fixed address, with no look-up on the packet path.
///
/// ```
/// use click_engine::{CounterSlot, SharedCounters};
/// use std::sync::Arc;
///
/// let shared = Arc::new(SharedCounters::<1>::new(2));
/// let (a, b) = (CounterSlot::new(shared.clone(), 0), CounterSlot::new(shared, 1));
/// a.add(0, 2);
/// b.add(0, 3);
/// assert_eq!(a.counters().sum(0), 5);
/// ```
pub struct CounterSlot<const N: usize> {
    /// This instance's line inside `counters`.
    line: NonNull<Line<N>>,
    counters: Arc<SharedCounters<N>>,
}

impl<const N: usize> CounterSlot<N> {
    /// Instance `instance`'s slot of `counters` (the last instance's if it
    /// is out of range).
    pub fn new(counters: Arc<SharedCounters<N>>, instance: usize) -> Self {
        let i = instance.min(counters.lines.len() - 1);
        let line = NonNull::from(&counters.lines[i]);
        CounterSlot { line, counters }
    }

    /// Adds `n` to counter `i` of this instance.
    #[inline]
    pub fn add(&self, i: usize, n: u64) {
        // SAFETY: `line` points into `self.counters.lines`, a boxed slice
        // that the Arc we hold keeps alive and never moves.
        let c = unsafe { &self.line.as_ref().0[i] };
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Clears this instance's counters.
    pub fn reset(&self) {
        // SAFETY: as in `add`.
        for c in unsafe { &self.line.as_ref().0 } {
            c.store(0, Relaxed);
        }
    }

    /// All instances' counters, for reads.
    pub fn counters(&self) -> &SharedCounters<N> {
        &self.counters
    }
}

impl<const N: usize> std::fmt::Debug for CounterSlot<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.counters.fmt(f)
    }
}

impl<const N: usize> std::fmt::Debug for SharedCounters<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sums: Vec<u64> = (0..N).map(|i| self.sum(i)).collect();
        f.debug_struct("SharedCounters")
            .field("instances", &self.instances())
            .field("sums", &sums)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn threads_add_up_without_losing_counts() {
        let c = Arc::new(SharedCounters::<2>::new(4));
        std::thread::scope(|s| {
            for t in 0..4 {
                let c = c.clone();
                s.spawn(move || {
                    for _ in 0..100_000 {
                        c.add(t, 0, 1);
                        c.add(t, 1, 64);
                    }
                });
            }
        });
        assert_eq!(c.sum(0), 400_000);
        assert_eq!(c.sum(1), 400_000 * 64);
    }

    #[test]
    fn each_instance_has_its_own_line() {
        assert_eq!(std::mem::size_of::<Line<2>>(), 64);
        let c = SharedCounters::<2>::new(2);
        let a = &c.lines[0] as *const _ as usize;
        let b = &c.lines[1] as *const _ as usize;
        assert_eq!(b - a, 64);
    }
}
