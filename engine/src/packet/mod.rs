//! Packets, the preallocated buffer pool, and batches.
//!
//! This module answers the three costs of the netmap paper: **no per-packet
//! allocation** (every packet is an entry of one pool built at start),
//! **batching** ([`Batch`], 32 packets, the unit of work and of I/O), and **no
//! copies** (clones share buffers; buffers owned by an I/O ring can be
//! wrapped and handed back zero-copy).
//!
//! # Quick tour
//! ```
//! use click_engine::packet::{Batch, Packet, PacketError};
//!
//! let mut p = Packet::from_slice(&[0x45, 0, 0, 20]).expect("pool has room");
//! p.push(14).unwrap().copy_from_slice(&[0xff; 14]); // prepend an Ethernet header
//! // Header marks are checked against the data: a short packet is an error,
//! // not a panic.
//! assert_eq!(p.set_network_header(14, 20), Err(PacketError::OutOfBounds));
//! p.set_network_header(14, 4).unwrap();
//! let c = p.try_clone().unwrap(); // shares the buffer, copies annotations
//! assert!(p.is_shared());
//! p.data_mut().unwrap()[0] = 0; // copy-on-write: `c` is untouched
//! assert_eq!(c.data()[0], 0xff);
//! let mut b = Batch::new();
//! b.push(p);
//! b.push(c);
//! drop(b); // frees both with one thread-local access
//! ```
//!
//! # Design
//! * **Pool** ([`PacketPool`]): `entries` fixed-size entries (default 65536 ×
//!   2048-byte buffers), each a 128-byte descriptor (64 bytes of buffer view
//!   and counters, 64 bytes of annotations) plus its own buffer, allocated
//!   once ([`PacketPool::init`], or lazily with the defaults on first use).
//!   Free entries live in per-thread caches (a 512-entry stack) refilled
//!   from and flushed to a global list 256 at a time, so allocating and
//!   freeing is a thread-local pop/push: no atomics read-modify-write, no
//!   lock, no heap. An exhausted pool makes allocations fail with
//!   [`PacketError::PoolExhausted`] (and counts them in
//!   [`PoolStats::alloc_failures`]); it never panics or grows. Entries
//!   parked in another thread's cache are not available to this one (as in
//!   DPDK's mempool); at most 512 per thread.
//! * **Packets of every size**: a packet too long for its entry's own
//!   (small) buffer borrows one of the pool's *large* buffers (default 1024
//!   × 128 KiB), as it would an external buffer: 9000-byte jumbo frames,
//!   64 KB GSO frames from veth or tun with offloads on, Click's
//!   `InfiniteSource(LENGTH 65535)` and `Unstrip(100000)` on a short
//!   packet. Their memory is mapped on the first large packet, and its
//!   pages only as packets fill them, so a router that never sees one pays
//!   nothing; taking one is a mutex and a free-list pop, negligible beside
//!   copying kilobytes into it. The small-buffer path does not change: a
//!   large buffer is chosen only where the small one is already known not
//!   to fit (allocation by size, a `push`/`put` without room, the copy of a
//!   large packet), and freed on the external buffers' cold path. The
//!   largest packet is [`PacketPool::max_packet_len`] (the large buffer
//!   size, headroom included); past it an operation fails with
//!   [`PacketError::TooLong`], which says the maximum. Header marks stay
//!   16-bit buffer offsets ([`MAX_HEADER_OFFSET`]): in a large buffer a
//!   header further in cannot be marked (an error) and one that moves
//!   there is unset.
//! * **[`Packet`]**: an 8-byte `!Send` handle (`Option<Packet>` is 8 bytes
//!   too); dropping it frees the entry.
//! * **Clones** ([`Packet::try_clone`], Click's `clone()`): a new entry whose
//!   descriptor points into the original's buffer; the buffer's *holder*
//!   entry counts its users (a plain integer until a user crosses threads,
//!   atomic from then on) and goes back to the pool with the last one. Clones of clones point at the root holder, so a
//!   clone's own buffer is always unused: [`Packet::make_unique`] of a clone
//!   copies into it without allocating and cannot fail (when the data fits
//!   a small buffer). Only the holder itself, when clones still use its
//!   buffer, or a clone of a large packet has to take a fresh entry (and
//!   may then fail with [`PacketError::PoolExhausted`]).
//!   Unlike Click we keep every entry buffer-sized (a clone does not need
//!   one): it wastes untouched memory but makes copy-on-write of a clone
//!   infallible, and it keeps one free list.
//! * **Hot-path costs** (`cargo bench -p click-engine --bench packet`, one
//!   core of the shared 2-vCPU dev VM, thread CPU time): clone + drop ~7 ns,
//!   32 clones by [`Packet::clone_into`] + drop of the batch ~6 ns per
//!   packet (the batch paths update the holder's refcount once per run of
//!   clones of one packet, not once per clone, and move entries to and
//!   from the thread cache in bulk), alloc + drop ~11 ns.
//! * **Copy-on-write**: every write access ([`Packet::data_mut`],
//!   [`Packet::buffer_mut`], [`Packet::push`], [`Packet::put`]) makes the
//!   buffer unique first (Click's `WritablePacket`, checked at run time
//!   rather than by type: writes are rare on the paths that clone).
//!   [`Packet::pull`] and [`Packet::take`] only move the window and work on
//!   shared buffers. The copy keeps the data and the headroom bytes that
//!   were data once (a `push` after the copy brings them back, as in
//!   Click), or the whole headroom once [`Packet::buffer_mut`] was used.
//! * **Head/tail room**: fresh packets start [`DEFAULT_HEADROOM`] = 128 bytes
//!   into their buffer (Click uses 28 + 4; DPDK 128): room for any
//!   encapsulation stack seen in practice (VLAN, MPLS, IPv6-in-IPv6, VXLAN,
//!   GRE) without a copy, and the data starts cache-line aligned; 2048 - 128
//!   still leaves 1920 bytes for a 1518-byte frame. When `push`/`put` lacks
//!   room at its end, the data is moved within the same buffer; if the
//!   buffer is too small in total, the packet moves to a bigger one (a
//!   large buffer, with the default headroom in front), Click's "expensive
//!   push" (logged once); past [`PacketPool::max_packet_len`] the call
//!   fails with [`PacketError::TooLong`] and leaves the packet as it was.
//!   [`Packet::new`] and [`Packet::from_slice`] give less headroom to a
//!   packet that fits a small buffer only so. The bytes `push`/`put` return are not zeroed
//!   (as in Click and DPDK): the caller writes them all. [`Packet::new`]
//!   does zero its data, so stale bytes of earlier packets never leak by
//!   default.
//! * **Annotations** ([`Anno`], 64 bytes, copied by clones): the
//!   [`Timestamp`], the [`PacketType`], Click's 48-byte annotation area
//!   with Click's offsets (destination IP, paint, VLAN TCI, ... by name;
//!   any bytes by offset, [`Anno::u32`] etc.), and the
//!   MAC/network/transport header offsets (buffer-relative, so they
//!   survive `pull`/`push`).
//! * **Threads**: a buffer's count is a plain integer while all its users
//!   are on one thread. [`Packet::into_send`] gives a [`SendPacket`] for
//!   inter-thread queues, without a copy: if clones share the buffer, its
//!   count turns atomic from then on (Click's clones count atomically
//!   always; here only the buffers that cross pay for it, and clones and
//!   frees update the count once per batch). [`SendPacket::into_packet`]
//!   takes it back. A packet may be freed on any thread (its entry goes to
//!   that thread's cache).
//! * **External buffers** (zero-copy devices: netmap, AF_XDP, AF_PACKET
//!   TPACKET_V2). An I/O backend registers a [`BufferOwner`] with the
//!   [`RegionId`] of the memory its buffers live in
//!   ([`register_buffer_owner`], which returns an [`OwnerRegistration`]),
//!   and wraps a burst of received ring buffers ([`RxBuffer`]) into a batch
//!   in one `unsafe` call ([`Batch::wrap_external`]; one buffer:
//!   [`Packet::from_external`]), their bounds checked, not trusted. Clones
//!   and copy-on-write work as for pool buffers. When the last users of
//!   buffers go, the owner's hook gets their tokens: a batch free calls
//!   each owner once, with all its tokens
//!   ([`BufferOwner::release_batch`]; a free of one packet calls
//!   [`BufferOwner::release`]), on whatever thread freed them. A transmit
//!   path takes from a batch, in order, the buffers of its own region that
//!   no clone shares ([`Batch::drain_external`]; one packet:
//!   [`Packet::into_external`]) without a release, to swap them into TX
//!   slots, and gets the other packets to copy. Each owner's slot counts
//!   its buffers out, once per batch; dropping the registration frees the
//!   slot (and drops the owner object) once the last of them is back, so
//!   re-registering devices, as a hot swap does, never runs out of the
//!   [`MAX_BUFFER_OWNERS`] slots. For single-producer rings whose buffers
//!   come back on other threads, [`token_queue`] carries the tokens to the
//!   ring's thread in bulk (see `recycle.rs` for the pattern).
//! * **Batches** ([`Batch`], an inline array of [`BATCH_CAPACITY`] = 32
//!   handles and their count, in a slot recycled per thread):
//!   `push`/`try_push`, iteration, `drain`, `retain`, and
//!   [`Batch::split_by`] to route packets to output batches in order.
//! * **Accounting**: [`PacketPool::stats`] gives capacity, in use, free
//!   (exact whenever threads are quiet), totals and failed allocations;
//!   [`PacketPool::thread_stats`] the calling thread's own counts, for leak
//!   checks in tests that share the process.
//!
//! * **Queues** ([`PacketRing`]): a bounded FIFO that a batch moves into
//!   and out of with a copy of its 8-byte handles, for queue elements.
//!
//! # Safety
//! The `unsafe` code is in `pool.rs`, which states the ownership invariants
//! its `SAFETY` comments rely on; in `owner.rs`, whose owner slots are
//! written only while no other thread can reach them (the protocol is in
//! its module doc); and in `ring.rs`, which moves handles between a ring
//! and a batch bitwise. The rest of the module (`recycle.rs` included) is
//! safe Rust.

mod anno;
mod batch;
mod ops;
mod owner;
mod pool;
mod recycle;
mod ring;

#[cfg(test)]
mod tests;

use std::fmt;

pub use anno::{Anno, AnnoRangeError, PacketType, Timestamp, ANNO_SIZE};
pub use batch::{Batch, Drain as BatchDrain, IntoIter as BatchIntoIter, BATCH_CAPACITY};
pub use owner::{
    register_buffer_owner, BufferOwner, ExternalBuffer, OwnerId, OwnerRegistration, RegionId,
    RxBuffer, MAX_BUFFER_OWNERS,
};
pub use pool::{
    Packet, PacketPool, PoolConfig, PoolError, PoolStats, SendPacket, ThreadStats,
    DEFAULT_BUF_SIZE, DEFAULT_ENTRIES, DEFAULT_HEADROOM, DEFAULT_LARGE_BUFFERS,
    DEFAULT_LARGE_BUF_SIZE, MAX_BUF_SIZE,
};
pub use recycle::{token_queue, TokenReceiver, TokenSender};
pub use ring::PacketRing;

/// The furthest into its buffer a header can be marked: header offsets are
/// kept in [`Anno`] as 16-bit buffer positions, one value of which means
/// "not set". Marking a header further is a
/// [`PacketError::HeaderOutOfRange`]; a header that moves further (data
/// moved within or between buffers) is unset.
pub const MAX_HEADER_OFFSET: usize = anno::NO_HEADER as usize - 1;

/// Why a packet operation failed. The packet is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketError {
    /// The pool has no free entry (or no free large buffer) for a new
    /// packet or a copy.
    PoolExhausted,
    /// The packet would be longer than the largest buffer: `len` bytes
    /// (with the headroom asked for, if any) where `max` is the most
    /// ([`PacketPool::max_packet_len`], or [`MAX_BUF_SIZE`] for an external
    /// buffer).
    TooLong {
        /// The length asked for.
        len: usize,
        /// The largest possible.
        max: usize,
    },
    /// An operation beyond the data: `pull`/`take` of more bytes than the
    /// packet has, a header marked past its end, an external buffer whose
    /// data lies outside it.
    OutOfBounds,
    /// A header marked more than [`MAX_HEADER_OFFSET`] bytes into its
    /// buffer (header offsets are 16-bit).
    HeaderOutOfRange,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::PoolExhausted => f.write_str("packet pool exhausted"),
            PacketError::TooLong { len, max } => write!(
                f,
                "packet of {len} bytes is longer than the maximum of {max} bytes"
            ),
            PacketError::OutOfBounds => f.write_str("packet operation beyond the data"),
            PacketError::HeaderOutOfRange => write!(
                f,
                "packet header more than {MAX_HEADER_OFFSET} bytes into its buffer"
            ),
        }
    }
}

impl std::error::Error for PacketError {}
