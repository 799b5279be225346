//! ThreadSafeQueue: a queue between two scheduler threads.

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use click_engine::args::Args;
use click_engine::packet::{SendPacket, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind, Port, Signal,
    PUSH_TO_PULL,
};
use rtrb::{Consumer, Producer, RingBuffer};

use super::queue::SLEEPINESS_TRIGGER;

/// Click's default capacity.
const DEFAULT_CAPACITY: usize = 1000;

/// What the two instances share: the ring's two ends (each taken once by
/// the instance that uses it), the counters handlers report, and the
/// notifier signals of both instances.
struct Shared {
    producer: Mutex<Option<Producer<SendPacket>>>,
    consumer: Mutex<Option<Consumer<SendPacket>>>,
    capacity: usize,
    /// Free slots below which the queue reports itself full: room for a
    /// whole batch, so a paused source's next batch fits.
    room_for: usize,
    /// Counters the pushing side writes, and those the pulling side
    /// writes, each on cache lines of their own: a line both threads write
    /// moves between their cores at every batch.
    input: Padded<InputCounts>,
    dequeued: Padded<AtomicU64>,
    /// While the full notifier is down: the `enqueued` total at which the
    /// pushing side lowered it; otherwise `NOT_FULL`. Whoever first sees
    /// room again (either side) swaps it back and raises the notifier, so
    /// it is raised once, and only with a batch of room.
    full_at: Padded<AtomicU64>,
    /// Each instance's (nonempty, nonfull) signals: listeners are
    /// registered on whichever instance their thread sees, so both are
    /// raised and lowered together. Set during initialization only.
    signals: [OnceLock<(Signal, Signal)>; 2],
    instances: AtomicUsize,
}

impl Shared {
    fn new(capacity: usize) -> Self {
        let (producer, consumer) = RingBuffer::new(capacity);
        Shared {
            producer: Mutex::new(Some(producer)),
            consumer: Mutex::new(Some(consumer)),
            capacity,
            room_for: capacity.min(BATCH_CAPACITY),
            input: Padded::default(),
            dequeued: Padded::default(),
            full_at: Padded(AtomicU64::new(NOT_FULL)),
            signals: [OnceLock::new(), OnceLock::new()],
            instances: AtomicUsize::new(0),
        }
    }

    fn len(&self) -> usize {
        let deq = self.dequeued.0.load(Ordering::Acquire);
        let enq = self.input.0.enqueued.load(Ordering::Acquire);
        enq.saturating_sub(deq) as usize
    }

    fn each_signal(&self, f: impl Fn(&(Signal, Signal))) {
        for s in &self.signals {
            if let Some(s) = s.get() {
                f(s);
            }
        }
    }

    /// Raises `pick` of every instance's signals if one is down. The
    /// fence pairs with the other side's fence between lowering and
    /// re-checking, so a wake is never lost.
    fn raise(&self, pick: fn(&(Signal, Signal)) -> &Signal) {
        fence(Ordering::SeqCst);
        self.each_signal(|s| {
            let s = pick(s);
            if !s.is_active() {
                s.activate();
            }
        });
    }

    /// The pushing side found less than a batch of room after pushing up
    /// to `enqueued`: lowers the full notifier, then raises it again at
    /// once if the other side made room meanwhile. The order (signals
    /// down, then `full_at` published, then a fresh look at the room)
    /// pairs with [`Shared::room_made`]: one side or the other sees the
    /// room, so the source is never left asleep.
    fn full(&self, enqueued: u64, fresh_room: impl FnOnce() -> usize) {
        self.each_signal(|s| nonfull(s).deactivate());
        self.full_at.0.store(enqueued, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if fresh_room() >= self.room_for {
            self.release_full(enqueued);
        }
    }

    /// The pulling side has taken packets up to `dequeued` (and published
    /// its index): raises the full notifier if it is down and there is now
    /// a batch of room. While it is down nothing pushes (the source
    /// sleeps), so the room counted from `full_at` is exact.
    fn room_made(&self, dequeued: u64) {
        fence(Ordering::SeqCst);
        let full_at = self.full_at.0.load(Ordering::SeqCst);
        if full_at != NOT_FULL
            && self.capacity as u64 - full_at.saturating_sub(dequeued) >= self.room_for as u64
        {
            self.release_full(full_at);
        }
    }

    /// Raises the full notifier lowered at `full_at`, unless the other
    /// side already did.
    fn release_full(&self, full_at: u64) {
        if self
            .full_at
            .0
            .compare_exchange(full_at, NOT_FULL, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.each_signal(|s| nonfull(s).activate());
        }
    }

    fn lower(&self, pick: fn(&(Signal, Signal)) -> &Signal) {
        self.each_signal(|s| pick(s).deactivate());
        fence(Ordering::SeqCst);
    }
}

/// `full_at` while the full notifier is up.
const NOT_FULL: u64 = u64::MAX;

/// Two cache lines of their own (the adjacent-line prefetcher fetches
/// lines in pairs).
#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// What the pushing side counts. `enqueued` has that single writer;
/// `drops` and `highwater` may also be reset by a handler on the other
/// thread, which at worst loses one update.
#[derive(Default)]
struct InputCounts {
    enqueued: AtomicU64,
    drops: AtomicU64,
    highwater: AtomicUsize,
}

fn nonempty(s: &(Signal, Signal)) -> &Signal {
    &s.0
}

fn nonfull(s: &(Signal, Signal)) -> &Signal {
    &s.1
}

/// `ThreadSafeQueue([CAPACITY])`: a FIFO of up to CAPACITY packets
/// (default 1000) whose input and output may be driven by different
/// scheduler threads. The engine then makes one instance on each thread;
/// they share a lock-free single-producer single-consumer ring of packets
/// (`rtrb`), the counters, and the notifiers. Like [`Queue`](crate::Queue)
/// it provides the *empty* notifier (waking the pulling task on the other
/// thread, and going down after 9 failed pulls in a row, as Queue's) and the *full* notifier (pausing the pushing source); the full
/// notifier goes down when less than a batch (32 packets) of room is left,
/// so a source pushing whole batches does not overflow it. Pushes
/// onto a full queue drop the new packets and count them; packets whose
/// data cannot be unshared for the crossing (pool exhausted) are dropped
/// and counted too.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: `length`, `highwater_length`, `drops`, `capacity` (read, the
///   same on both instances); `reset_counts` (write); `reset` (write, on
///   the output side only).
pub struct ThreadSafeQueue {
    capacity: usize,
    shared: Option<Arc<Shared>>,
    producer: Option<Producer<SendPacket>>,
    consumer: Option<Consumer<SendPacket>>,
    nonempty: Signal,
    nonfull: Signal,
    /// Failed pulls in a row (Click's `_sleepiness`).
    sleepiness: u32,
}

impl ElementClass for ThreadSafeQueue {
    const CLASS: &'static str = "ThreadSafeQueue";
    const PROCESSING: &'static str = PUSH_TO_PULL;
    const THREAD_SAFE: bool = true;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let capacity: usize = args.read_p("CAPACITY")?.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 {
            return Err("CAPACITY must be at least 1".into());
        }
        Ok(ThreadSafeQueue {
            capacity,
            shared: None,
            producer: None,
            consumer: None,
            nonempty: Signal::new(false),
            nonfull: Signal::new(true),
            sleepiness: 0,
        })
    }
}

impl ThreadSafeQueue {
    fn take_end<T>(end: &mut Option<T>, from: &Mutex<Option<T>>) -> bool {
        if end.is_none() {
            *end = from.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        end.is_some()
    }
}

impl Element for ThreadSafeQueue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let capacity = self.capacity;
        let shared = ctx.shared_state(|| Shared::new(capacity))?;
        let i = shared.instances.fetch_add(1, Ordering::AcqRel);
        let mine = (self.nonempty.clone(), self.nonfull.clone());
        shared
            .signals
            .get(i)
            .ok_or("more than two ThreadSafeQueue instances")?
            .set(mine)
            .map_err(|_| "ThreadSafeQueue signals set twice")?;
        self.shared = Some(shared);
        Ok(())
    }

    fn push(&mut self, _port: Port, batch: Batch, _ctx: &mut Ctx<'_>) {
        let Some(shared) = &self.shared else {
            return; // not initialized: the batch is freed
        };
        if !Self::take_end(&mut self.producer, &shared.producer) {
            shared
                .input
                .0
                .drops
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            return;
        }
        let Some(producer) = self.producer.as_mut() else {
            return;
        };
        // One chunk per batch: the ring's index, a cache line the other
        // thread reads, is published once per batch rather than per packet,
        // and the other side's index is read once (`slots`).
        let offered = batch.len();
        let free = producer.slots();
        let room = offered.min(free);
        // A packet that cannot be made sendable (pool exhausted while
        // unsharing it) is skipped; packets beyond the room are freed with
        // the iterator. Both count as drops.
        let sendable = batch.into_iter().filter_map(|p| p.into_send().ok());
        let pushed = match producer.write_chunk_uninit(room) {
            Ok(chunk) => chunk.fill_from_iter(sendable),
            Err(_) => 0,
        };
        let input = &shared.input.0;
        if pushed < offered {
            input
                .drops
                .fetch_add((offered - pushed) as u64, Ordering::Relaxed);
        }
        let free = free - pushed;
        let enqueued = input.enqueued.load(Ordering::Relaxed) + pushed as u64;
        if pushed > 0 {
            input.enqueued.store(enqueued, Ordering::Release);
            let len = shared.capacity - free;
            if len > input.highwater.load(Ordering::Relaxed) {
                input.highwater.store(len, Ordering::Relaxed);
            }
            shared.raise(nonempty);
        }
        if free < shared.room_for && shared.full_at.0.load(Ordering::Relaxed) == NOT_FULL {
            shared.full(enqueued, || producer.slots());
        }
    }

    fn pull(&mut self, _port: Port, max: usize, _ctx: &mut Ctx<'_>) -> Option<Batch> {
        let shared = self.shared.as_ref()?;
        if !Self::take_end(&mut self.consumer, &shared.consumer) {
            return None;
        }
        let consumer = self.consumer.as_mut()?;
        // The other side's index is read once per pull (`slots`).
        let available = consumer.slots();
        let n = max.min(BATCH_CAPACITY).min(available);
        let mut batch = Batch::new();
        if let Ok(chunk) = consumer.read_chunk(n) {
            batch.extend(chunk.into_iter().map(SendPacket::into_packet));
        }
        if batch.is_empty() {
            // Click's sleepiness: the empty notifier goes down only after
            // SLEEPINESS_TRIGGER failed pulls in a row, so a queue that
            // keeps running dry between the producer's bursts does not
            // put its puller to sleep and wake it again for every batch.
            if self.sleepiness >= SLEEPINESS_TRIGGER {
                shared.lower(nonempty);
                if !consumer.is_empty() {
                    shared.raise(nonempty);
                }
            } else {
                self.sleepiness += 1;
            }
            return None;
        }
        self.sleepiness = 0;
        let dequeued = &shared.dequeued.0;
        let total = dequeued.load(Ordering::Relaxed) + batch.len() as u64;
        dequeued.store(total, Ordering::Release);
        shared.room_made(total);
        Some(batch)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        Some(match kind {
            NotifierKind::Empty => self.nonempty.clone(),
            NotifierKind::Full => self.nonfull.clone(),
        })
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("length"),
            Handler::read("highwater_length"),
            Handler::read("drops"),
            Handler::read("capacity"),
            Handler::write("reset_counts"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let shared = self.shared.as_ref();
        let get = |f: fn(&Shared) -> u64| shared.map_or(0, |s| f(s));
        Some(match name {
            "length" => get(|s| s.len() as u64).to_string(),
            "highwater_length" => {
                get(|s| s.input.0.highwater.load(Ordering::Relaxed) as u64).to_string()
            }
            "drops" => get(|s| s.input.0.drops.load(Ordering::Relaxed)).to_string(),
            "capacity" => self.capacity.to_string(),
            _ => return None,
        })
    }

    fn write_handler(
        &mut self,
        name: &str,
        _value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        let shared = self.shared.as_ref().ok_or("not initialized")?;
        match name {
            "reset_counts" => {
                shared.input.0.drops.store(0, Ordering::Relaxed);
                shared
                    .input
                    .0
                    .highwater
                    .store(shared.len(), Ordering::Relaxed);
            }
            "reset" => {
                // Only the instance that pulls holds the consumer end; the
                // other must not take it.
                let Some(consumer) = self.consumer.as_mut() else {
                    return Err("reset works on the output side, once it has pulled".into());
                };
                {
                    let mut n = 0;
                    while consumer.pop().is_ok() {
                        n += 1;
                    }
                    let total = shared.dequeued.0.fetch_add(n, Ordering::Release) + n;
                    shared.lower(nonempty);
                    shared.room_made(total);
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
