//! Queue and SimpleQueue: store pushed packets until they are pulled.

use click_engine::args::Args;
use click_engine::packet::{Packet, PacketRing, SendPacket, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind, Port, Signal,
    PUSH_TO_PULL,
};

/// Click's default capacity.
const DEFAULT_CAPACITY: usize = 1000;

/// Failed pulls in a row after which an empty queue lowers its empty
/// notifier (Click's NotifierQueue: "some time after the queue goes empty,
/// to prevent thrashing for queues that hover around 1 or 2 packets").
const SLEEPINESS_TRIGGER: u32 = 9;

/// Click's sleepiness, which every queue here keeps: how many pulls in a
/// row found it empty, so that its empty notifier goes down only after
/// [`SLEEPINESS_TRIGGER`] of them, not as soon as it drains.
#[derive(Debug, Default)]
pub(crate) struct Sleepiness(u32);

impl Sleepiness {
    /// A pull found the queue empty: whether it is time to lower the
    /// empty notifier.
    #[inline]
    pub(crate) fn empty_pull(&mut self) -> bool {
        if self.0 >= SLEEPINESS_TRIGGER {
            return true;
        }
        self.0 += 1;
        false
    }

    /// A pull found packets.
    #[inline]
    pub(crate) fn woke(&mut self) {
        self.0 = 0;
    }
}

/// `Queue([CAPACITY])`: a FIFO of up to CAPACITY packets (default 1000).
/// Pushes onto a full queue drop the new packets and count them. It
/// provides both notifiers: *empty* wakes the pulling task downstream when
/// a packet arrives, and goes down as Click's does, some time after the
/// queue drains (after 9 failed pulls in a row, so that a queue hovering
/// around empty does not put its puller to sleep and wake it at every
/// packet); *full* (active while it has room) pauses the pushing source
/// upstream.
///
/// * Ports: 1 push input, 1 pull output.
/// * Handlers: `length`, `highwater_length`, `drops` (read), `capacity`
///   (read/write), `reset_counts`, `reset` (write). Writing a smaller
///   `capacity` keeps the oldest packets and frees the rest (not counted as
///   drops), as Click's `live_reconfigure`; a queue with room again wakes
///   its source.
///
/// In a hot swap (`router -R`), the new router's queue of the same name
/// (Queue, SimpleQueue, NotifierQueue or FrontDropQueue) takes the old
/// one's packets, in order, as many as fit; the rest are freed with a
/// warning, as in Click.
pub struct Queue {
    /// Allocated in `initialize`, once: push and pull never allocate.
    packets: PacketRing,
    /// CAPACITY, until `initialize` makes the ring.
    capacity: usize,
    highwater: usize,
    drops: u64,
    nonempty: Signal,
    nonfull: Signal,
    /// Failed pulls in a row (Click's `_sleepiness`).
    sleepiness: Sleepiness,
    /// When full, drop the oldest packets rather than the new ones
    /// (FrontDropQueue).
    drop_front: bool,
    /// Which notifiers it provides (SimpleQueue none, NotifierQueue and
    /// FrontDropQueue only the empty one).
    provides_empty: bool,
    provides_full: bool,
}

impl ElementClass for Queue {
    const CLASS: &'static str = "Queue";
    const PROCESSING: &'static str = PUSH_TO_PULL;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let capacity: usize = args.read_p("CAPACITY")?.unwrap_or(DEFAULT_CAPACITY);
        Ok(Queue {
            packets: PacketRing::with_capacity(0),
            capacity,
            highwater: 0,
            drops: 0,
            nonempty: Signal::new(false),
            nonfull: Signal::new(true),
            sleepiness: Sleepiness::default(),
            drop_front: false,
            provides_empty: true,
            provides_full: true,
        })
    }
}

impl Queue {
    /// This queue, providing no empty notifier: its puller polls.
    pub(crate) fn without_empty_notifier(mut self) -> Queue {
        self.provides_empty = false;
        self
    }

    /// This queue, providing no full notifier: its source is never paused.
    pub(crate) fn without_full_notifier(mut self) -> Queue {
        self.provides_full = false;
        self
    }

    /// This queue, dropping its oldest packets to make room for new ones.
    pub(crate) fn dropping_front(mut self) -> Queue {
        self.drop_front = true;
        self
    }

    /// Takes the packets of the queue this one replaces in a hot swap, as
    /// many as fit.
    fn take_packets(&mut self, old: Vec<SendPacket>, name: &str) {
        let offered = old.len();
        let mut lost = 0;
        let mut batch = Batch::new();
        for packet in old {
            batch.push(packet.into_packet());
            if batch.is_full() {
                lost += self.packets.push_batch(&mut batch);
                batch.clear();
            }
        }
        lost += self.packets.push_batch(&mut batch);
        if lost > 0 {
            HandedPackets::some_lost(name, offered, self.packets.capacity());
        }
        self.highwater = self.packets.len();
        if !self.packets.is_empty() {
            self.nonempty.activate();
        }
        if self.packets.is_full() {
            self.nonfull.deactivate();
        }
    }

    /// Drops the oldest packets (of the queue, then of `batch`) so that
    /// all that remains fits; returns how many were dropped.
    fn make_room_at_front(&mut self, batch: &mut Batch) -> usize {
        let capacity = self.packets.capacity();
        let mut excess = (self.packets.len() + batch.len()).saturating_sub(capacity);
        let dropped = excess;
        while excess > 0 && !self.packets.is_empty() {
            excess -= self.packets.pop_batch(excess).len();
        }
        // A batch longer than the whole queue keeps its newest packets.
        let mut seen = 0;
        batch.retain(|_| {
            seen += 1;
            seen > excess
        });
        dropped
    }
}

/// A queue's packets, oldest first, handed to its namesake in a hot swap
/// (ThreadSafeQueue hands over and takes the same).
pub(crate) struct HandedPackets(pub(crate) Vec<SendPacket>);

impl HandedPackets {
    /// Click's warning when the new queue cannot take them all.
    pub(crate) fn some_lost(name: &str, offered: usize, capacity: usize) {
        tracing::warn!("{name}: some packets lost (old length {offered}, new capacity {capacity})");
    }
}

/// The handlers of Click's queues (Queue, and MixedQueue beside it):
/// counts, a capacity that rewrites the configuration, and resets.
pub(crate) const QUEUE_HANDLERS: &[Handler] = &[
    Handler::read("length"),
    Handler::read("highwater_length"),
    Handler::read("drops"),
    Handler::keyword("capacity", "CAPACITY"),
    Handler::write("reset_counts"),
    Handler::write("reset"),
];

impl Element for Queue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.packets = PacketRing::try_with_capacity(self.capacity)
            .map_err(|e| format!("CAPACITY {}: {e}", self.capacity))?;
        if let Some(HandedPackets(old)) = ctx.take_state() {
            self.take_packets(old, ctx.name());
        }
        Ok(())
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        if self.packets.is_empty() {
            return None;
        }
        let mut handed = Vec::with_capacity(self.packets.len());
        while !self.packets.is_empty() {
            let mut batch = self.packets.pop_batch(BATCH_CAPACITY);
            handed.extend(batch.drain().map(Packet::into_send));
        }
        Some(Box::new(HandedPackets(handed)))
    }

    #[inline]
    fn push(&mut self, _port: Port, mut batch: Batch, _ctx: &mut Ctx<'_>) {
        let was_empty = self.packets.is_empty();
        if self.drop_front {
            self.drops += self.make_room_at_front(&mut batch) as u64;
        }
        // Packets that do not fit stay in the batch and are freed with it.
        self.drops += self.packets.push_batch(&mut batch) as u64;
        self.highwater = self.highwater.max(self.packets.len());
        // Only this queue writes its signals, all on its own thread, so a
        // load tells whether `activate` would change anything: a queue that
        // drains at every pull skips its atomic swap on every push.
        if was_empty && !self.packets.is_empty() && !self.nonempty.is_active() {
            self.nonempty.activate();
        }
        if self.packets.is_full() {
            self.nonfull.deactivate();
        }
    }

    #[inline]
    fn pull(&mut self, _port: Port, max: usize, _ctx: &mut Ctx<'_>) -> Option<Batch> {
        if self.packets.is_empty() {
            if self.sleepiness.empty_pull() {
                self.nonempty.deactivate();
            }
            return None;
        }
        self.sleepiness.woke();
        let was_full = self.packets.is_full();
        let batch = self.packets.pop_batch(max);
        if was_full {
            self.nonfull.activate();
        }
        Some(batch)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        match kind {
            NotifierKind::Empty if self.provides_empty => Some(self.nonempty.clone()),
            NotifierKind::Full if self.provides_full => Some(self.nonfull.clone()),
            _ => None,
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        QUEUE_HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "length" => self.packets.len().to_string(),
            "highwater_length" => self.highwater.to_string(),
            "drops" => self.drops.to_string(),
            "capacity" => self.packets.capacity().to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "capacity" => {
                let capacity: usize = Args::new(value).read_mp("CAPACITY")?;
                self.packets
                    .set_capacity(capacity)
                    .map_err(|e| format!("CAPACITY {capacity}: {e}"))?;
                self.capacity = capacity;
                if self.packets.is_empty() {
                    self.nonempty.deactivate();
                }
                if self.packets.len() < capacity {
                    self.nonfull.activate();
                } else {
                    self.nonfull.deactivate();
                }
            }
            "reset_counts" => {
                self.drops = 0;
                self.highwater = self.packets.len();
            }
            "reset" => {
                self.packets.clear();
                self.nonempty.deactivate();
                self.nonfull.activate();
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
