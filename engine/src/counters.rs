//! Counters that the instances of one element add to from several
//! threads, and that a handler reads as one sum: the shared state of a
//! [`Threads::PerThread`](crate::Threads::PerThread) Counter.
//!
//! Each instance owns one cache line of counters and is the only writer of
//! it, so adding is a plain load and store (no locked instruction, no line
//! moving between cores); a read adds every instance's line up. A reset is
//! written to every instance (handler writes go to each), and each clears
//! its own line, so it never races with an add.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
