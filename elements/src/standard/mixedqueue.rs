//! MixedQueue: a queue whose first input appends and whose second input
//! prepends.

use std::collections::VecDeque;

use click_engine::args::Args;
use click_engine::packet::{Packet, PacketPool, SendPacket, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind, Port, Signal,
};

use super::queue::{HandedPackets, Sleepiness};

/// Click's default capacity.
const DEFAULT_CAPACITY: usize = 1000;

/// `MixedQueue([CAPACITY])`: a queue of up to CAPACITY packets (default
/// 1000) that is first-in-first-out for input 0 and last-in-first-out for
/// input 1: a packet pushed on input 0 joins the back, one pushed on input
/// 1 jumps to the front and is the next pulled. When the queue is full, a
/// packet arriving on input 0 is dropped, while one arriving on input 1
/// still goes to the front and the packet at the back is dropped to make
/// room. Dropped packets leave on output 1 if it is connected, and are
/// counted either way.
///
/// Like NotifierQueue it provides an *empty* notifier (no full one): the
/// task pulling from it sleeps while it is empty, with the same lag as
/// Queue's.
///
/// * Ports: 2 push inputs (0 FIFO, 1 LIFO); output 0 pull, output 1
///   (optional) push, for drops.
/// * Handlers: `length`, `highwater_length`, `drops` (read), `capacity`
///   (read/write), `reset_counts`, `reset` (write), as Queue's.
///
/// In a hot swap (`router -R`) it hands its packets to, and takes them
/// from, a queue of the same name, as Queue does.
pub struct MixedQueue {
    /// Reserved in `initialize` for every packet the queue may hold, so
    /// pushes and pulls never allocate.
    packets: VecDeque<Packet>,
    capacity: usize,
    highwater: usize,
    drops: u64,
    nonempty: Signal,
    /// Failed pulls in a row (Click's `_sleepiness`).
    sleepiness: Sleepiness,
}

impl ElementClass for MixedQueue {
    const CLASS: &'static str = "MixedQueue";
    const PORT_COUNT: &'static str = "2/1-2";
    // Output 1 carries drops out at once: push (Click declares "h/l" and
    // pushes drops out of a pull output anyway).
    const PROCESSING: &'static str = "h/lh";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let capacity: usize = args.read_p("CAPACITY")?.unwrap_or(DEFAULT_CAPACITY);
        Ok(MixedQueue {
            packets: VecDeque::new(),
            capacity,
            highwater: 0,
            drops: 0,
            nonempty: Signal::new(false),
            sleepiness: Sleepiness::default(),
        })
    }
}

impl MixedQueue {
    /// Storage for `capacity` packets, or for every packet the pool has if
    /// that is fewer.
    fn reserve(&mut self) -> Result<(), String> {
        let slots = self.capacity.min(PacketPool::max_packets());
        self.packets
            .try_reserve_exact(slots.saturating_sub(self.packets.len()))
            .map_err(|_| format!("CAPACITY {}: out of memory", self.capacity))
    }

    /// Takes the packets of the queue this one replaces in a hot swap
    /// (any of Click's queues), front first, as many as fit.
    fn take_packets(&mut self, old: Vec<SendPacket>, name: &str) {
        let offered = old.len();
        for p in old {
            if self.is_full() {
                HandedPackets::some_lost(name, offered, self.capacity);
                break;
            }
            self.packets.push_back(p.into_packet());
        }
        self.highwater = self.packets.len();
        if !self.packets.is_empty() {
            self.nonempty.activate();
        }
    }

    fn is_full(&self) -> bool {
        self.packets.len() >= self.capacity
    }

    /// Takes one packet on input `port`; returns the packet dropped, if any.
    fn insert(&mut self, port: Port, p: Packet) -> Option<Packet> {
        if port == 0 {
            if self.is_full() {
                return Some(p);
            }
            self.packets.push_back(p);
            return None;
        }
        if self.capacity == 0 {
            return Some(p);
        }
        let dropped = if self.is_full() {
            self.packets.pop_back()
        } else {
            None
        };
        self.packets.push_front(p);
        dropped
    }
}

impl Element for MixedQueue {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.reserve()?;
        if let Some(HandedPackets(old)) = ctx.take_state() {
            self.take_packets(old, ctx.name());
        }
        Ok(())
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        if self.packets.is_empty() {
            return None;
        }
        let handed = self.packets.drain(..).map(Packet::into_send).collect();
        Some(Box::new(HandedPackets(handed)))
    }

    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let was_empty = self.packets.is_empty();
        let mut dropped = Batch::new();
        for p in batch {
            if let Some(d) = self.insert(port, p) {
                self.drops += 1;
                // Click says so once, and not for a queue that can hold
                // nothing.
                if self.drops == 1 && self.capacity > 0 {
                    tracing::warn!("{}: overflow", ctx.name());
                }
                dropped.push(d);
            }
        }
        self.highwater = self.highwater.max(self.packets.len());
        if was_empty && !self.packets.is_empty() {
            self.nonempty.activate();
        }
        if !dropped.is_empty() {
            if ctx.noutputs() > 1 {
                ctx.push(1, dropped);
            } else {
                // Already counted in `drops`; freeing them is all.
                drop(dropped);
            }
        }
    }

    fn pull(&mut self, _port: Port, max: usize, _ctx: &mut Ctx<'_>) -> Option<Batch> {
        if self.packets.is_empty() {
            if self.sleepiness.empty_pull() {
                self.nonempty.deactivate();
            }
            return None;
        }
        self.sleepiness.woke();
        let n = max.min(BATCH_CAPACITY).min(self.packets.len());
        let mut batch = Batch::new();
        for p in self.packets.drain(..n) {
            batch.push(p);
        }
        Some(batch)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty).then(|| self.nonempty.clone())
    }

    fn handlers(&self) -> &'static [Handler] {
        super::queue::QUEUE_HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "length" => self.packets.len().to_string(),
            "highwater_length" => self.highwater.to_string(),
            "drops" => self.drops.to_string(),
            "capacity" => self.capacity.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "capacity" => {
                self.capacity = Args::new(value).read_mp("CAPACITY")?;
                // Keeps the packets nearest the front, as Queue keeps its
                // oldest.
                self.packets.truncate(self.capacity);
                self.reserve()?;
            }
            "reset_counts" => {
                self.drops = 0;
                self.highwater = self.packets.len();
            }
            "reset" => self.packets.clear(),
            _ => return Err(format!("no write handler '{name}'")),
        }
        if self.packets.is_empty() {
            self.nonempty.deactivate();
        }
        Ok(())
    }
}
