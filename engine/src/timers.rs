//! Element timers. Every element has its main timer ([`Timer::MAIN`]) and
//! may add more while it initializes ([`InitCtx::add_timer`]); ARPQuerier,
//! IPReassembler and rate limiters need several. A shard keeps all its
//! timers in one indexed binary heap: each timer knows its place in the
//! heap, so rescheduling one moves it in place instead of leaving a stale
//! entry behind. The heap never holds more than the shard's timers, so it
//! is allocated once and never grows while the router runs.
//!
//! [`InitCtx::add_timer`]: crate::InitCtx::add_timer

use std::time::Instant;

/// One of an element's timers: [`Timer::MAIN`], which every element has,
/// or one added with [`InitCtx::add_timer`](crate::InitCtx::add_timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timer(pub(crate) u16);

impl Timer {
    /// The timer every element has ([`PacketCtx::schedule_after`] and its
    /// siblings set it).
    ///
    /// [`PacketCtx::schedule_after`]: crate::PacketCtx::schedule_after
    pub const MAIN: Timer = Timer(0);

    /// The timer's number among its element's timers (0 for `MAIN`).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Not in the heap.
const IDLE: u32 = u32::MAX;

/// The timers of one shard.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// First slot of each element's timers (one more entry at the end).
    base: Vec<u32>,
    /// Slot → (element, timer).
    owner: Vec<(u32, Timer)>,
    /// Slot → deadline, meaningful while the slot is in the heap.
    deadline: Vec<Instant>,
    /// Slot → its index in `heap`, or `IDLE`.
    pos: Vec<u32>,
    /// A binary min-heap of slots by deadline.
    heap: Vec<u32>,
}

impl Timers {
    /// Timers for elements with `counts[e]` timers each (at least the main
    /// one each).
    pub fn new(counts: &[usize]) -> Self {
        let mut t = Timers::default();
        let now = Instant::now();
        for (e, &n) in counts.iter().enumerate() {
            t.base.push(t.owner.len() as u32);
            for i in 0..n.max(1) {
                t.owner.push((e as u32, Timer(i as u16)));
            }
        }
        t.base.push(t.owner.len() as u32);
        let slots = t.owner.len();
        t.deadline = vec![now; slots];
        t.pos = vec![IDLE; slots];
        t.heap = Vec::with_capacity(slots);
        t
    }

    /// Element `e`'s slot for `timer`, if it has that timer.
    fn slot(&self, e: usize, timer: Timer) -> Option<usize> {
        let (base, end) = (self.base[e] as usize, self.base[e + 1] as usize);
        let s = base + timer.index();
        (s < end).then_some(s)
    }

    /// Fires `timer` of element `e` at `at`, replacing any pending time.
    /// Returns false if the element has no such timer.
    pub fn schedule(&mut self, e: usize, timer: Timer, at: Instant) -> bool {
        let Some(s) = self.slot(e, timer) else {
            return false;
        };
        self.deadline[s] = at;
        if self.pos[s] == IDLE {
            self.pos[s] = self.heap.len() as u32;
            self.heap.push(s as u32);
            self.sift_up(self.heap.len() - 1);
        } else {
            let i = self.pos[s] as usize;
            self.sift_up(i);
            self.sift_down(self.pos[s] as usize);
        }
        true
    }

    /// Cancels `timer` of element `e`.
    pub fn cancel(&mut self, e: usize, timer: Timer) {
        if let Some(s) = self.slot(e, timer) {
            if self.pos[s] != IDLE {
                self.remove_at(self.pos[s] as usize);
            }
        }
    }

    /// When `timer` of element `e` fires, if it is scheduled.
    pub fn deadline(&self, e: usize, timer: Timer) -> Option<Instant> {
        let s = self.slot(e, timer)?;
        (self.pos[s] != IDLE).then(|| self.deadline[s])
    }

    /// The next timer due at `now`, if any, taken off the heap.
    pub fn pop_due(&mut self, now: Instant) -> Option<(usize, Timer)> {
        let &s = self.heap.first()?;
        if self.deadline[s as usize] > now {
            return None;
        }
        self.remove_at(0);
        let (e, timer) = self.owner[s as usize];
        Some((e as usize, timer))
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|&s| self.deadline[s as usize])
    }

    fn remove_at(&mut self, i: usize) {
        let s = self.heap[i] as usize;
        let last = self.heap.pop().expect("heap holds slot s");
        self.pos[s] = IDLE;
        if i < self.heap.len() {
            self.heap[i] = last;
            self.pos[last as usize] = i as u32;
            self.sift_up(i);
            self.sift_down(self.pos[last as usize] as usize);
        }
    }

    fn earlier(&self, a: usize, b: usize) -> bool {
        self.deadline[self.heap[a] as usize] < self.deadline[self.heap[b] as usize]
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a] as usize] = a as u32;
        self.pos[self.heap[b] as usize] = b as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.earlier(i, parent) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut first = i;
            if l < self.heap.len() && self.earlier(l, first) {
                first = l;
            }
            if r < self.heap.len() && self.earlier(r, first) {
                first = r;
            }
            if first == i {
                break;
            }
            self.swap(i, first);
            i = first;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timers_fire_in_order_and_reschedule_in_place() {
        let mut t = Timers::new(&[1, 1, 1]);
        let now = Instant::now();
        let ms = Duration::from_millis;
        t.schedule(0, Timer::MAIN, now + ms(5));
        t.schedule(1, Timer::MAIN, now + ms(1));
        t.schedule(0, Timer::MAIN, now + ms(2)); // reschedule
        t.schedule(2, Timer::MAIN, now + ms(3));
        t.cancel(2, Timer::MAIN);
        assert_eq!(t.heap.len(), 2, "rescheduling leaves no stale entry");
        assert_eq!(t.next_deadline(), Some(now + ms(1)));
        let later = now + ms(10);
        assert_eq!(t.pop_due(later), Some((1, Timer::MAIN)));
        assert_eq!(t.pop_due(later), Some((0, Timer::MAIN)));
        assert_eq!(t.pop_due(later), None);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn several_timers_per_element() {
        let mut t = Timers::new(&[3, 1]);
        let now = Instant::now();
        let ms = Duration::from_millis;
        assert!(t.schedule(0, Timer(2), now + ms(3)));
        assert!(t.schedule(0, Timer(1), now + ms(1)));
        assert!(t.schedule(1, Timer::MAIN, now + ms(2)));
        assert!(!t.schedule(1, Timer(1), now), "element 1 has one timer");
        assert_eq!(t.deadline(0, Timer(2)), Some(now + ms(3)));
        let order: Vec<_> = std::iter::from_fn(|| t.pop_due(now + ms(9))).collect();
        assert_eq!(order, [(0, Timer(1)), (1, Timer::MAIN), (0, Timer(2))]);
    }

    #[test]
    fn heavy_rescheduling_keeps_the_heap_bounded() {
        let mut t = Timers::new(&[2; 50]);
        let now = Instant::now();
        for round in 0..10_000u64 {
            let e = (round * 7 % 50) as usize;
            let timer = Timer((round / 50 % 2) as u16);
            t.schedule(e, timer, now + Duration::from_nanos(round * 7919 % 1000));
            assert!(t.heap.len() <= 100);
            assert!(t.heap.capacity() <= 100, "the heap never grows");
        }
        let mut fired = 0;
        while let Some((e, timer)) = t.pop_due(now + Duration::from_secs(1)) {
            assert!(t.deadline(e, timer).is_none(), "a fired timer is idle");
            fired += 1;
        }
        assert_eq!(fired, 100, "each timer fires once, at its last deadline");
    }

    #[test]
    fn heap_order_matches_a_sorted_list() {
        // A deterministic pseudo-random mix of schedules and cancels.
        let mut t = Timers::new(&[4; 16]);
        let now = Instant::now();
        let mut expected: std::collections::BTreeMap<(usize, u16), u64> = Default::default();
        let mut x = 12345u64;
        for _ in 0..5000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (e, timer, at) = ((x >> 33) as usize % 16, (x >> 20) as u16 % 4, x % 10_000);
            if x.is_multiple_of(5) {
                t.cancel(e, Timer(timer));
                expected.remove(&(e, timer));
            } else {
                t.schedule(e, Timer(timer), now + Duration::from_micros(at));
                expected.insert((e, timer), at);
            }
        }
        let mut got = Vec::new();
        while let Some((e, timer)) = t.pop_due(now + Duration::from_secs(1)) {
            got.push(expected[&(e, timer.0)]);
        }
        assert_eq!(got.len(), expected.len());
        assert!(
            got.windows(2).all(|w| w[0] <= w[1]),
            "deadlines pop in order"
        );
    }
}
