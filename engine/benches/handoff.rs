//! The hardware's floor for handing packets between two cores, without the
//! router: a producer fills 128-byte entries (refcount and descriptor in the
//! first line, annotations in the second) taken from its free entries, and
//! passes them through a single-producer ring, 32 at a time; a consumer
//! reads each entry's length, marks it free and returns it.
//!
//! Prints ns per entry for the two stages on one thread (interleaved by
//! batch) and on two pinned threads, and the speed-up. Variants (env):
//! RETURN=lock (default: entries come back through a locked list in bulks
//! of 256, as the packet pool's global list), RETURN=ring (a second
//! single-producer ring, consumer to producer) or RETURN=none (entries
//! used in address order around the whole pool, as a ring of descriptors
//! would be; none comes back); LINES=1 writes only the first line;
//! CWRITE=0 keeps the consumer from writing the entry.
//!
//!     cargo bench -p click-engine --bench handoff

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const ENTRIES: usize = 65536;
const BATCH: usize = 32;
const RING: usize = 1024;
const BULK: usize = 256;
const N: usize = 20_000_000;

#[repr(C, align(64))]
struct Entry([u64; 16]);

#[derive(Clone, Copy)]
struct Options {
    /// Entries are used in address order around the whole pool, like a
    /// ring of descriptors; none comes back.
    sequential: bool,
    return_ring: bool,
    two_lines: bool,
    consumer_writes: bool,
}

/// A single-producer single-consumer ring of entry pointers.
struct Ring {
    slots: Box<[UnsafeCell<*mut Entry>]>,
    tail: Padded,
    head: Padded,
}

#[repr(align(128))]
struct Padded(AtomicUsize);

impl Ring {
    fn new() -> Ring {
        Ring {
            slots: (0..RING)
                .map(|_| UnsafeCell::new(std::ptr::null_mut()))
                .collect(),
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
        }
    }
}

/// One side's view of a ring: its own index and the last seen other one.
#[derive(Default)]
struct End {
    mine: usize,
    seen: usize,
}

impl End {
    fn push(&mut self, r: &Ring, items: &[*mut Entry]) -> bool {
        if self.mine - self.seen + items.len() > RING {
            self.seen = r.head.0.load(Acquire);
            if self.mine - self.seen + items.len() > RING {
                return false;
            }
        }
        for (i, &e) in items.iter().enumerate() {
            // SAFETY: the slot is past the consumer's head (checked above).
            unsafe { *r.slots[(self.mine + i) % RING].get() = e };
        }
        self.mine += items.len();
        r.tail.0.store(self.mine, Release);
        true
    }

    fn pop(&mut self, r: &Ring, out: &mut Vec<*mut Entry>, max: usize) -> usize {
        if self.seen == self.mine {
            self.seen = r.tail.0.load(Acquire);
        }
        let n = (self.seen - self.mine).min(max);
        for i in 0..n {
            // SAFETY: the slot was published by the producer.
            out.push(unsafe { *r.slots[(self.mine + i) % RING].get() });
        }
        self.mine += n;
        r.head.0.store(self.mine, Release);
        n
    }
}

struct Shared {
    _entries: Box<[Entry]>,
    free: Mutex<Vec<usize>>,
    forward: Ring,
    back: Ring,
    done: AtomicBool,
}

// SAFETY: benchmark only; an entry is written by one side at a time, as
// handed over by the rings' release/acquire indices and the lock.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

struct Producer {
    all: Vec<*mut Entry>,
    next: usize,
    free: Vec<*mut Entry>,
    forward: End,
    back: End,
}

struct Consumer {
    got: Vec<*mut Entry>,
    freed: Vec<*mut Entry>,
    forward: End,
    back: End,
    sum: u64,
}

// SAFETY: as Shared.
unsafe impl Send for Consumer {}

impl Shared {
    fn new() -> (Shared, Vec<*mut Entry>) {
        let mut entries: Box<[Entry]> = (0..ENTRIES).map(|_| Entry([0; 16])).collect();
        let all: Vec<*mut Entry> = entries.iter_mut().map(|e| e as *mut Entry).collect();
        let shared = Shared {
            _entries: entries,
            free: Mutex::new(all.iter().map(|&e| e as usize).collect()),
            forward: Ring::new(),
            back: Ring::new(),
            done: AtomicBool::new(false),
        };
        (shared, all)
    }
}

impl Producer {
    /// Fills one batch and publishes it; false if the ring is full.
    fn produce(&mut self, s: &Shared, o: Options) -> bool {
        if o.sequential && self.free.len() < BATCH {
            for _ in 0..BATCH {
                self.free.push(self.all[self.next]);
                self.next = (self.next + 1) % ENTRIES;
            }
        }
        if self.free.len() < BATCH {
            if o.return_ring {
                self.back.pop(&s.back, &mut self.free, RING);
            } else {
                let mut free = s.free.lock().unwrap();
                let from = free.len() - free.len().min(BULK);
                self.free
                    .extend(free.drain(from..).map(|e| e as *mut Entry));
            }
            if self.free.len() < BATCH {
                return false;
            }
        }
        let from = self.free.len() - BATCH;
        let batch = &self.free[from..];
        for &e in batch {
            // SAFETY: a free entry is ours alone.
            let w = unsafe { &mut (*e).0 };
            w[0] = 1; // refcount
            for (i, x) in w[4..8].iter_mut().enumerate() {
                *x = 64 + i as u64; // descriptor
            }
            if o.two_lines {
                for (i, x) in w[8..16].iter_mut().enumerate() {
                    *x = i as u64; // annotations
                }
            }
        }
        if !self.forward.push(&s.forward, batch) {
            return false;
        }
        self.free.truncate(from);
        true
    }
}

impl Consumer {
    /// Takes one batch if there is one; false if the ring is empty.
    fn consume(&mut self, s: &Shared, o: Options) -> bool {
        self.got.clear();
        if self.forward.pop(&s.forward, &mut self.got, BATCH) == 0 {
            return false;
        }
        for &e in &self.got {
            // SAFETY: the producer handed the entry over through the ring.
            let w = unsafe { &mut (*e).0 };
            self.sum += w[6]; // the length
            if o.consumer_writes {
                w[0] = 0; // refcount to 0: free
            }
        }
        if !o.sequential {
            self.freed.extend_from_slice(&self.got);
        }
        if self.freed.len() >= BULK {
            if o.return_ring {
                if self.back.push(&s.back, &self.freed) {
                    self.freed.clear();
                }
            } else {
                s.free
                    .lock()
                    .unwrap()
                    .extend(self.freed.drain(..).map(|e| e as usize));
            }
        }
        true
    }
}

fn sides(all: Vec<*mut Entry>, o: Options) -> (Producer, Consumer) {
    let mut p = Producer {
        all: all.clone(),
        next: 0,
        free: Vec::with_capacity(ENTRIES),
        forward: End::default(),
        back: End::default(),
    };
    if o.return_ring {
        // The ring carries the entries back; the lock's list is not used.
        p.free.extend(all.into_iter().take(RING));
    }
    let c = Consumer {
        got: Vec::with_capacity(BATCH),
        freed: Vec::with_capacity(ENTRIES),
        forward: End::default(),
        back: End::default(),
        sum: 0,
    };
    (p, c)
}

fn one_thread(o: Options) -> f64 {
    let (s, all) = Shared::new();
    let (mut p, mut c) = sides(all, o);
    let start = Instant::now();
    let mut done = 0;
    while done < N {
        if p.produce(&s, o) {
            done += BATCH;
        }
        while c.consume(&s, o) {}
    }
    std::hint::black_box(c.sum);
    start.elapsed().as_nanos() as f64 / N as f64
}

fn two_threads(cores: &[core_affinity::CoreId], o: Options) -> f64 {
    let (s, all) = Shared::new();
    let s = Arc::new(s);
    let (mut p, mut c) = sides(all, o);
    let consumer = {
        let (s, core) = (s.clone(), cores[1]);
        std::thread::spawn(move || {
            core_affinity::set_for_current(core);
            while !s.done.load(Relaxed) {
                c.consume(&s, o);
            }
            c.sum
        })
    };
    core_affinity::set_for_current(cores[0]);
    let start = Instant::now();
    let mut done = 0;
    while done < N {
        if p.produce(&s, o) {
            done += BATCH;
        }
    }
    while s.forward.head.0.load(Acquire) != p.forward.mine {
        std::hint::spin_loop();
    }
    let ns = start.elapsed().as_nanos() as f64 / N as f64;
    s.done.store(true, Relaxed);
    std::hint::black_box(consumer.join().expect("consumer"));
    ns
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() < 2 {
        println!("handoff: needs two cores");
        return;
    }
    let o = Options {
        sequential: env("RETURN", "lock") == "none",
        return_ring: env("RETURN", "lock") == "ring",
        two_lines: env("LINES", "2") == "2",
        consumer_writes: env("CWRITE", "1") == "1",
    };
    core_affinity::set_for_current(cores[1]);
    let one = one_thread(o);
    let two = two_threads(&cores, o);
    println!(
        "handoff: one thread {one:.1} ns/entry, two threads {two:.1} ns/entry, speed-up {:.2}x",
        one / two
    );
}
