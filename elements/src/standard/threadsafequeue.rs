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
    enqueued: AtomicU64,
    dequeued: AtomicU64,
    drops: AtomicU64,
    highwater: AtomicUsize,
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
            enqueued: AtomicU64::new(0),
            dequeued: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            highwater: AtomicUsize::new(0),
            signals: [OnceLock::new(), OnceLock::new()],
            instances: AtomicUsize::new(0),
        }
    }

    fn len(&self) -> usize {
        let deq = self.dequeued.load(Ordering::Acquire);
        let enq = self.enqueued.load(Ordering::Acquire);
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

    fn lower(&self, pick: fn(&(Signal, Signal)) -> &Signal) {
        self.each_signal(|s| pick(s).deactivate());
        fence(Ordering::SeqCst);
    }
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
/// thread) and the *full* notifier (pausing the pushing source); the full
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
                .drops
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            return;
        }
        let Some(producer) = self.producer.as_mut() else {
            return;
        };
        // One chunk per batch: the ring's index, a cache line the other
        // thread reads, is published once per batch rather than per packet.
        let offered = batch.len() as u64;
        let room = batch.len().min(producer.slots());
        // A packet that cannot be made sendable (pool exhausted while
        // unsharing it) is skipped; packets beyond the room are freed with
        // the iterator. Both count as drops.
        let sendable = batch.into_iter().filter_map(|p| p.into_send().ok());
        let pushed = match producer.write_chunk_uninit(room) {
            Ok(chunk) => chunk.fill_from_iter(sendable) as u64,
            Err(_) => 0,
        };
        let dropped = offered - pushed;
        if dropped > 0 {
            shared.drops.fetch_add(dropped, Ordering::Relaxed);
        }
        if pushed > 0 {
            shared.enqueued.fetch_add(pushed, Ordering::Release);
            shared.highwater.fetch_max(shared.len(), Ordering::Relaxed);
            shared.raise(nonempty);
        }
        if producer.slots() < shared.room_for {
            shared.lower(nonfull);
            if producer.slots() >= shared.room_for {
                shared.raise(nonfull);
            }
        }
    }

    fn pull(&mut self, _port: Port, max: usize, _ctx: &mut Ctx<'_>) -> Option<Batch> {
        let shared = self.shared.as_ref()?;
        if !Self::take_end(&mut self.consumer, &shared.consumer) {
            return None;
        }
        let consumer = self.consumer.as_mut()?;
        let mut batch = Batch::new();
        let n = max.min(batch.capacity()).min(consumer.slots());
        if let Ok(chunk) = consumer.read_chunk(n) {
            batch.extend(chunk.into_iter().map(SendPacket::into_packet));
        }
        if batch.is_empty() {
            shared.lower(nonempty);
            if !consumer.is_empty() {
                shared.raise(nonempty);
            }
            return None;
        }
        shared
            .dequeued
            .fetch_add(batch.len() as u64, Ordering::Release);
        if shared.capacity - consumer.slots() >= shared.room_for {
            shared.raise(nonfull);
        }
        if consumer.is_empty() {
            shared.lower(nonempty);
            if !consumer.is_empty() {
                shared.raise(nonempty);
            }
        }
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
            "highwater_length" => get(|s| s.highwater.load(Ordering::Relaxed) as u64).to_string(),
            "drops" => get(|s| s.drops.load(Ordering::Relaxed)).to_string(),
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
                shared.drops.store(0, Ordering::Relaxed);
                shared.highwater.store(shared.len(), Ordering::Relaxed);
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
                    shared.dequeued.fetch_add(n, Ordering::Release);
                    shared.lower(nonempty);
                    shared.raise(nonfull);
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
