//! ThreadSafeQueue: a queue between scheduler threads.

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use click_engine::args::Args;
use click_engine::packet::{Packet, PacketPool, SendPacket, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind, Port, Signal,
    Threads, PUSH_TO_PULL,
};
use rtrb::{Consumer, Producer, RingBuffer};

use super::queue::{HandedPackets, Sleepiness};

/// Click's default capacity.
const DEFAULT_CAPACITY: usize = 1000;

/// `full_at` while the full notifier is up.
const NOT_FULL: u64 = u64::MAX;

/// Two cache lines of their own (the adjacent-line prefetcher fetches
/// lines in pairs): a line both threads write moves between their cores
/// at every batch.
#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// What a pushing side counts. `enqueued` has that single writer; `drops`
/// and `highwater` may also be reset by a handler on another thread, which
/// at worst loses one update.
#[derive(Default)]
struct InputCounts {
    enqueued: AtomicU64,
    drops: AtomicU64,
    highwater: AtomicUsize,
}

/// One pushing thread's lock-free single-producer single-consumer ring
/// (`rtrb`) to the pulling thread, with its counters and its full
/// notifier.
struct Lane {
    /// The ring's consumer end, until the pulling instance takes it.
    outlet: Mutex<Option<Consumer<SendPacket>>>,
    input: Padded<InputCounts>,
    dequeued: Padded<AtomicU64>,
    /// While the full notifier is down: the `enqueued` total at which the
    /// pushing side lowered it; otherwise `NOT_FULL`. Whoever first sees
    /// room again (either side) swaps it back and raises the notifier, so
    /// it is raised once, and only with a batch of room.
    full_at: Padded<AtomicU64>,
    /// The pushing instance's full signal (its source listens to it).
    nonfull: Signal,
    capacity: usize,
    /// Free slots below which the lane reports itself full: room for a
    /// whole batch, so a paused source's next batch fits.
    room_for: usize,
}

impl Lane {
    fn len(&self) -> usize {
        let deq = self.dequeued.0.load(Ordering::Acquire);
        let enq = self.input.0.enqueued.load(Ordering::Acquire);
        enq.saturating_sub(deq) as usize
    }

    /// The pushing side found less than a batch of room after pushing up
    /// to `enqueued`: lowers the full notifier, then raises it again at
    /// once if the other side made room meanwhile. The order (signal down,
    /// then `full_at` published, then a fresh look at the room) pairs with
    /// [`Lane::room_made`]: one side or the other sees the room, so the
    /// source is never left asleep.
    fn full(&self, enqueued: u64, fresh_room: impl FnOnce() -> usize) {
        self.nonfull.deactivate();
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
            self.nonfull.activate();
        }
    }
}

/// What the instances on the different threads share.
struct Shared {
    capacity: usize,
    /// One lane per pushing thread, in the order they first pushed.
    lanes: Mutex<Vec<Arc<Lane>>>,
    lane_count: AtomicUsize,
    /// Every instance's empty signal (the puller listens on its own
    /// thread's); complete once all threads have initialized.
    empties: Mutex<Vec<Signal>>,
}

impl Shared {
    fn new(capacity: usize) -> Self {
        Shared {
            capacity,
            lanes: Mutex::new(Vec::new()),
            lane_count: AtomicUsize::new(0),
            empties: Mutex::new(Vec::new()),
        }
    }

    /// Packets a hot swap carried over from the queue this one replaces:
    /// a lane of their own, which no thread pushes to, holds as many as
    /// fit; the rest are freed with a warning, as Click's.
    fn carry(&self, packets: Vec<SendPacket>, name: &str) {
        let offered = packets.len();
        let (lane, mut producer) = self.open_lane(Signal::new(true));
        let mut carried = 0;
        for packet in packets {
            if producer.push(packet).is_err() {
                break; // the rest are freed with the iterator
            }
            carried += 1;
        }
        lane.input.0.enqueued.store(carried, Ordering::Release);
        lane.input
            .0
            .highwater
            .store(carried as usize, Ordering::Relaxed);
        if carried < offered as u64 {
            HandedPackets::some_lost(name, offered, self.capacity);
        }
    }

    fn lanes(&self) -> Vec<Arc<Lane>> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A new lane for a pushing instance whose full signal is `nonfull`;
    /// returns it with the ring's producer end.
    fn open_lane(&self, nonfull: Signal) -> (Arc<Lane>, Producer<SendPacket>) {
        // No lane needs room for more packets than can exist.
        let capacity = self.capacity.min(PacketPool::max_packets());
        let (producer, consumer) = RingBuffer::new(capacity);
        let lane = Arc::new(Lane {
            outlet: Mutex::new(Some(consumer)),
            input: Padded::default(),
            dequeued: Padded::default(),
            full_at: Padded(AtomicU64::new(NOT_FULL)),
            nonfull,
            capacity,
            room_for: capacity.min(BATCH_CAPACITY),
        });
        self.lanes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(lane.clone());
        self.lane_count.fetch_add(1, Ordering::Release);
        (lane, producer)
    }
}

/// The pulling side's ends of the lanes.
#[derive(Default)]
struct Outlets {
    /// Every lane with its consumer end, taken as lanes appear.
    list: Vec<(Arc<Lane>, Consumer<SendPacket>)>,
    /// The lane to try first next time.
    next: usize,
}

impl Outlets {
    /// Takes the consumer ends of lanes opened since the last look: one
    /// load on every pull, the rest out of line.
    #[inline]
    fn take_new(&mut self, shared: &Shared) {
        if shared.lane_count.load(Ordering::Acquire) != self.list.len() {
            self.take_opened(shared);
        }
    }

    #[cold]
    #[inline(never)]
    fn take_opened(&mut self, shared: &Shared) {
        for lane in shared.lanes().into_iter().skip(self.list.len()) {
            let outlet = lane.outlet.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(consumer) = outlet {
                self.list.push((lane, consumer));
            }
        }
    }

    /// Takes up to `max` packets from the first lane, in turn, that has
    /// some.
    fn pull_some(&mut self, max: usize) -> Option<Batch> {
        let lanes = self.list.len();
        for k in 0..lanes {
            let i = (self.next + k) % lanes;
            let (lane, consumer) = &mut self.list[i];
            // The other side's index is read once per pull (`slots`).
            let n = max.min(BATCH_CAPACITY).min(consumer.slots());
            if n == 0 {
                continue;
            }
            let mut batch = Batch::new();
            if let Ok(chunk) = consumer.read_chunk(n) {
                batch.extend(chunk.into_iter().map(SendPacket::into_packet));
            }
            let dequeued = &lane.dequeued.0;
            let total = dequeued.load(Ordering::Relaxed) + batch.len() as u64;
            dequeued.store(total, Ordering::Release);
            lane.room_made(total);
            self.next = (i + 1) % lanes;
            return Some(batch);
        }
        None
    }

    fn any_waiting(&self) -> bool {
        self.list.iter().any(|(_, c)| !c.is_empty())
    }
}

/// The instances' empty signals, copied into `cache` at first use, once
/// all of them have registered (every thread initializes before any
/// packet moves).
#[inline]
fn empties<'a>(cache: &'a mut Vec<Signal>, shared: &Shared) -> &'a [Signal] {
    if cache.is_empty() {
        fill_empties(cache, shared);
    }
    cache
}

#[cold]
#[inline(never)]
fn fill_empties(cache: &mut Vec<Signal>, shared: &Shared) {
    *cache = shared
        .empties
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
}

/// Raises every empty signal that is down. The fence pairs with the
/// puller's fence between lowering and re-checking, so a wake is never
/// lost.
fn raise(signals: &[Signal]) {
    fence(Ordering::SeqCst);
    for s in signals.iter().filter(|s| !s.is_active()) {
        s.activate();
    }
}

/// `ThreadSafeQueue([CAPACITY])`: a FIFO of packets whose input and output
/// may be driven by different scheduler threads (default CAPACITY 1000).
/// The engine makes one instance on each thread that pushes to it and one
/// on the thread that pulls from it. Each pushing thread gets its own
/// lock-free single-producer single-consumer ring (`rtrb`) of CAPACITY
/// packets, so several threads may push without contending; the puller
/// takes batches from the rings in turn (order is kept per pushing
/// thread). Like [`Queue`](crate::Queue) it provides the *empty* notifier
/// (waking the pulling task on its thread, and going down after 9 failed
/// pulls in a row, as Queue's) and the *full* notifier (pausing a pushing
/// thread's source when its ring has less than a batch, 32 packets, of
/// room, so a source pushing whole batches does not overflow it). Pushes
/// onto a full ring drop the new packets and count them. Packets cross
/// without a copy, clones too (their buffer's count turns atomic, as all of
/// Click's are). Only one thread may pull. In a hot swap (`router -R`)
/// the pulling side hands every ring's packets to the new router's queue
/// of the same name (a ThreadSafeQueue or a Queue), and a new
/// ThreadSafeQueue takes a replaced queue's packets into a ring of their
/// own, as many as fit.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: `length`, `drops` (read, totals over the rings),
///   `highwater_length` (read: the longest any one ring has been),
///   `capacity` (read, per ring), the same on every instance;
///   `reset_counts` (write); `reset` (write, on the pulling side only).
pub struct ThreadSafeQueue {
    capacity: usize,
    shared: Option<Arc<Shared>>,
    /// Pushing side: this thread's lane and its ring's producer end, made
    /// at the first push.
    lane: Option<(Arc<Lane>, Producer<SendPacket>)>,
    /// Pulling side: the lanes' consumer ends.
    outlets: Outlets,
    /// All instances' empty signals, copied at first use.
    empties: Vec<Signal>,
    nonempty: Signal,
    nonfull: Signal,
    /// Failed pulls in a row (Click's `_sleepiness`).
    sleepiness: Sleepiness,
}

impl ElementClass for ThreadSafeQueue {
    const CLASS: &'static str = "ThreadSafeQueue";
    const PROCESSING: &'static str = PUSH_TO_PULL;
    const THREADS: Threads = Threads::Bridge;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let capacity: usize = args.read_p("CAPACITY")?.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 {
            return Err("CAPACITY must be at least 1".into());
        }
        Ok(ThreadSafeQueue {
            capacity,
            shared: None,
            lane: None,
            outlets: Outlets::default(),
            empties: Vec::new(),
            nonempty: Signal::new(false),
            nonfull: Signal::new(true),
            sleepiness: Sleepiness::default(),
        })
    }
}

impl Element for ThreadSafeQueue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let capacity = self.capacity;
        let shared = ctx.shared_state(|| Shared::new(capacity))?;
        shared
            .empties
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.nonempty.clone());
        if let Some(HandedPackets(packets)) = ctx.take_state() {
            shared.carry(packets, ctx.name());
        }
        self.shared = Some(shared);
        Ok(())
    }

    /// Called on the pulling side only: it drains every lane.
    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let shared = self.shared.as_deref()?;
        self.outlets.take_new(shared);
        let mut handed = Vec::new();
        for (_, consumer) in &mut self.outlets.list {
            while let Ok(packet) = consumer.pop() {
                handed.push(packet);
            }
        }
        (!handed.is_empty()).then(|| Box::new(HandedPackets(handed)) as _)
    }

    fn push(&mut self, _port: Port, batch: Batch, _ctx: &mut Ctx<'_>) {
        let Some(shared) = self.shared.as_deref() else {
            return; // not initialized: the batch is freed
        };
        let nonfull = &self.nonfull;
        let (lane, producer) = self
            .lane
            .get_or_insert_with(|| shared.open_lane(nonfull.clone()));
        // One chunk per batch: the ring's index, a cache line the other
        // thread reads, is published once per batch rather than per packet,
        // and the other side's index is read once (`slots`).
        let offered = batch.len();
        let free = producer.slots();
        let room = offered.min(free);
        // Packets beyond the room are freed with the iterator: drops.
        let sendable = batch.into_iter().map(Packet::into_send);
        let pushed = match producer.write_chunk_uninit(room) {
            Ok(chunk) => chunk.fill_from_iter(sendable),
            Err(_) => 0,
        };
        let input = &lane.input.0;
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
        }
        if free < lane.room_for && lane.full_at.0.load(Ordering::Relaxed) == NOT_FULL {
            lane.full(enqueued, || producer.slots());
        }
        if pushed > 0 {
            raise(empties(&mut self.empties, shared));
        }
    }

    fn pull(&mut self, _port: Port, max: usize, _ctx: &mut Ctx<'_>) -> Option<Batch> {
        let shared = self.shared.as_deref()?;
        self.outlets.take_new(shared);
        if let Some(batch) = self.outlets.pull_some(max) {
            self.sleepiness.woke();
            return Some(batch);
        }
        // A queue that keeps running dry between the producers' bursts
        // does not put its puller to sleep and wake it for every batch.
        if !self.sleepiness.empty_pull() {
            return None;
        }
        let signals = empties(&mut self.empties, shared);
        for s in signals {
            s.deactivate();
        }
        fence(Ordering::SeqCst);
        self.outlets.take_new(shared);
        if self.outlets.any_waiting() {
            raise(signals);
        }
        None
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
        let lanes = self.shared.as_ref().map(|s| s.lanes()).unwrap_or_default();
        let sum = |f: fn(&Lane) -> u64| lanes.iter().map(|l| f(l)).sum::<u64>();
        Some(match name {
            "length" => sum(|l| l.len() as u64).to_string(),
            "highwater_length" => lanes
                .iter()
                .map(|l| l.input.0.highwater.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0)
                .to_string(),
            "drops" => sum(|l| l.input.0.drops.load(Ordering::Relaxed)).to_string(),
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
        let shared = self.shared.as_deref().ok_or("not initialized")?;
        match name {
            "reset_counts" => {
                for lane in shared.lanes() {
                    lane.input.0.drops.store(0, Ordering::Relaxed);
                    lane.input.0.highwater.store(lane.len(), Ordering::Relaxed);
                }
            }
            "reset" => {
                // Only the pulling instance holds consumer ends.
                if self.outlets.list.is_empty() {
                    return Err("reset works on the output side, once it has pulled".into());
                }
                self.outlets.take_new(shared);
                for (lane, consumer) in &mut self.outlets.list {
                    let mut n = 0;
                    while consumer.pop().is_ok() {
                        n += 1;
                    }
                    let total = lane.dequeued.0.fetch_add(n, Ordering::Release) + n;
                    lane.room_made(total);
                }
                for s in empties(&mut self.empties, shared) {
                    s.deactivate();
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
