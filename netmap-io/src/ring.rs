//! The per-batch ring interface every backend implements.
//!
//! A device is two rings, as in netmap: one to receive, one to transmit.
//! Each is used by one scheduler thread, a batch at a time:
//!
//! * [`RxRing::recv`] appends up to a batch of received frames to a
//!   [`Batch`]. Where the ring lends its memory (a TPACKET_V2 frame, an
//!   AF_XDP UMEM frame, a netmap slot's buffer) the packets are the ring's
//!   buffers wrapped as external buffers ([`Batch::wrap_external`]): no
//!   copy. The buffers come back through the backend's
//!   [`BufferOwner`](click_engine::packet::BufferOwner) when the last
//!   packet using them is freed, on any thread.
//! * [`TxRing::send`] takes packets from the front of a batch, as many as
//!   the ring has room for, and hands them to the kernel: a buffer of the
//!   ring's own memory region is placed in a TX slot as it is
//!   ([`Batch::drain_external`]: a frame received on an AF_XDP socket and
//!   sent on the same UMEM, a netmap buffer swapped between two rings of
//!   one memory region); any other packet is copied into a free TX
//!   buffer, and counted in [`RingStats::copies`].
//! * Each call makes at most one system call (a sync, a kick, a
//!   `sendmmsg`), and none when the ring's shared indices say there is
//!   nothing to do. When a ring is empty (receive) or full (transmit) the
//!   element sleeps on [`RxRing::fd`] / [`TxRing::fd`] through the
//!   scheduler's epoll (`InitCtx::add_select`).
//!
//! A netmap backend fits as is: `recv` is a `NIOCRXSYNC` (or none while
//! `head != tail`), then the slots `head..tail` wrapped with the buffer
//! index as token, each slot given a spare buffer (`NS_BUF_CHANGED`) so
//! that the ring moves on while the packet lives; `send` swaps the
//! buffers of its region into TX slots, copies the rest, moves
//! `head`/`cur` once and makes one `NIOCTXSYNC`.

use std::io;
use std::os::fd::RawFd;

use std::sync::Arc;

use click_engine::packet::{Batch, BufferOwner, Packet, PacketType, TokenSender, BATCH_CAPACITY};
use click_engine::Interest;

/// What a ring can do, for the elements to size their bursts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most packets one `recv` or `send` handles (at most a batch).
    pub max_batch: usize,
    /// Slots (frames) in the ring.
    pub slots: usize,
    /// Longest frame the ring carries, link-level header included.
    pub max_frame: usize,
}

impl Limits {
    /// `max_batch` clamped to a batch.
    pub fn batch(&self) -> usize {
        self.max_batch.clamp(1, BATCH_CAPACITY)
    }
}

/// Counts a ring keeps (monotonic; the elements keep their own resettable
/// ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Packets received or sent.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// System calls the ring made.
    pub syscalls: u64,
    /// Packets whose data was copied: received into pool packets (the
    /// ring's buffers were running out), or sent through a copy into the
    /// ring's buffers (a packet of other memory).
    pub copies: u64,
    /// Packets that moved without a copy: wrapped on receive, or swapped
    /// into a TX slot.
    pub zero_copy: u64,
    /// Packets the ring dropped itself: the pool was exhausted on
    /// receive, the kernel refused one on transmit.
    pub drops: u64,
}

/// The receiving half of a device.
pub trait RxRing {
    /// Appends up to `max` received packets to `batch` (fewer if the batch
    /// fills), oldest first, with their timestamp, packet type and MAC
    /// header set; returns how many. `Ok(0)`: nothing is waiting now;
    /// wait for [`fd`](Self::fd) to be readable. At most one system call.
    fn recv(&mut self, batch: &mut Batch, max: usize) -> io::Result<usize>;

    /// The descriptor to wait on for received packets.
    fn fd(&self) -> RawFd;

    /// The ring's limits.
    fn limits(&self) -> Limits;

    /// The ring's counts.
    fn stats(&self) -> RingStats;

    /// Packets the kernel dropped before the ring could take them (ring
    /// full, no buffer to fill), if the backend can tell.
    fn kernel_drops(&self) -> Option<u64>;

    /// Whether the ring's descriptor may read as ready with nothing new
    /// in the ring (an AF_PACKET socket does while a packet holds the last
    /// frame it filled): the source then watches it edge-triggered, woken
    /// by each arrival ([`Interest::edge_triggered`]).
    fn ready_while_held(&self) -> bool {
        false
    }

    /// A word on how the ring works (`TPACKET_V2 ring, 2048 frames of 2048 bytes`,
    /// `AF_XDP queue 0, native XDP, copy mode`), for the `method`
    /// handler and the log.
    fn describe(&self) -> String;

    /// The ring as one that may move to another thread (a hot swap hands
    /// it to the next router's threads), or itself back if it must stay
    /// on the thread that opened it (a netmap receiving half, whose
    /// same-thread buffer returns live in that thread's storage).
    fn into_send(self: Box<Self>) -> Result<Box<dyn RxRing + Send>, Box<dyn RxRing>>;
}

/// The transmitting half of a device.
pub trait TxRing: Send {
    /// Sends packets from the front of `batch`, in order: as many as the
    /// ring has room for now. Those it took are gone from `batch` (sent,
    /// or dropped and counted in [`RingStats::drops`]); those left wait
    /// for room. Returns how many it took. At most one system call.
    fn send(&mut self, batch: &mut Batch) -> io::Result<usize>;

    /// The descriptor of the device.
    fn fd(&self) -> RawFd;

    /// What to wait on `fd` for when `send` left packets: `Some(WRITE)`
    /// where the kernel reports room that way, `None` where it does not
    /// (the element then retries after a short back-off).
    fn wait_interest(&self) -> Option<Interest>;

    /// The ring's limits.
    fn limits(&self) -> Limits;

    /// The ring's counts.
    fn stats(&self) -> RingStats;

    /// Hands the kernel what earlier `send`s left in the ring without a
    /// system call (a ring that syncs once per several batches: netmap).
    /// ToDevice calls it when a run's burst is done and before it waits.
    /// At most one system call.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// As [`RxRing::describe`].
    fn describe(&self) -> String;
}

/// Keeps the first `keep` packets of `batch` and returns the others, in
/// order: for a ring with room for fewer than a batch.
pub fn split_off(batch: &mut Batch, keep: usize) -> Batch {
    let mut rest = Batch::new();
    while batch.len() > keep {
        if let Some(p) = batch.pop() {
            rest.push(p);
        }
    }
    rest.as_mut_slice().reverse();
    rest
}

/// Puts `rest` (what [`split_off`] took) back behind what `batch` holds.
pub fn rejoin(batch: &mut Batch, rest: Batch) {
    for p in rest {
        batch.push(p);
    }
}

/// Click's packet type from the destination address, for rings whose
/// kernel does not tell it (AF_XDP, netmap).
pub(crate) fn set_packet_type(p: &mut Packet) {
    let t = frame_type(p.data());
    if t != PacketType::Host {
        p.anno_mut().set_packet_type(t);
    }
}

/// The packet type of a frame by its destination address: broadcast,
/// multicast, or else host (Click's default).
#[inline(always)]
pub(crate) fn frame_type(d: &[u8]) -> PacketType {
    match d.first() {
        Some(b) if b & 1 != 0 => match d.get(..6) {
            // Two loads rather than a six-byte slice comparison.
            Some(&[a, b, c, e, f, g])
                if u32::from_ne_bytes([a, b, c, e]) == u32::MAX && f & g == 0xff =>
            {
                PacketType::Broadcast
            }
            _ => PacketType::Multicast,
        },
        _ => PacketType::Host,
    }
}

/// The owner of a receiving ring's lent buffers: a freed packet's buffer
/// token goes home through the ring's token queue, whatever thread frees
/// it, and `K` (the netmap port, the AF_XDP socket) stays alive, with the
/// memory it maps, while any packet still holds one of its buffers.
pub(crate) struct HomeOwner<K: Send + Sync> {
    pub home: TokenSender,
    /// Held, never read: dropping it is what must wait.
    #[allow(dead_code)]
    pub keep: Arc<K>,
}

impl<K: Send + Sync> BufferOwner for HomeOwner<K> {
    fn release(&self, token: u64) {
        self.home.send(&[token]);
    }

    fn release_batch(&self, tokens: &[u64]) {
        self.home.send(tokens);
    }
}
