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
//! use click_engine::packet::{Batch, Packet};
//!
//! let mut p = Packet::from_slice(&[0x45, 0, 0, 20]).expect("pool has room");
//! p.push(14).unwrap().copy_from_slice(&[0xff; 14]); // prepend an Ethernet header
//! p.set_network_header(14, 20.min(p.len() - 14));
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
//!   lock, no heap. An exhausted pool makes allocations return `None` (and
//!   counts them in [`PoolStats::alloc_failures`]); it never panics or
//!   grows. Entries parked in another thread's cache are not available to
//!   this one (as in DPDK's mempool); at most 512 per thread.
//! * **[`Packet`]**: an 8-byte `!Send` handle (`Option<Packet>` is 8 bytes
//!   too); dropping it frees the entry.
//! * **Clones** ([`Packet::try_clone`], Click's `clone()`): a new entry whose
//!   descriptor points into the original's buffer; the buffer's *holder*
//!   entry counts its users (a plain integer until a user crosses threads,
//!   atomic from then on) and goes back to the pool with the last one. Clones of clones point at the root holder, so a
//!   clone's own buffer is always unused: [`Packet::make_unique`] of a clone
//!   copies into it without allocating and cannot fail (for pool buffers).
//!   Only the holder itself, when clones still use its buffer, has to take
//!   a fresh entry (and may then fail with [`PacketError::PoolExhausted`]).
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
//!   room at its end, the data is moved within the same buffer (buffers are
//!   fixed-size, so reallocating would not gain room); if the buffer is too
//!   small in total the call fails with [`PacketError::NoRoom`] and leaves
//!   the packet as it was. The bytes `push`/`put` return are not zeroed
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
//! * **External buffers**: an I/O backend registers a [`BufferOwner`]
//!   ([`register_buffer_owner`]) and wraps a received ring buffer with
//!   `unsafe` [`Packet::from_external`]; clones and copy-on-write work as for
//!   pool buffers; the owner's `release(token)` is called when the last user
//!   is gone. A transmit path calls [`Packet::into_external`] to get the
//!   buffer back (owner, token, offset, length) without a release, to swap
//!   it into a TX slot.
//! * **Batches** ([`Batch`], inline `SmallVec` of [`BATCH_CAPACITY`] = 32,
//!   never on the heap): `push`/`try_push`, iteration, `drain`, `retain`,
//!   and [`Batch::split_by`] to route packets to output batches in order.
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
//! its `SAFETY` comments rely on, and in `ring.rs`, which moves handles
//! between a ring and a batch bitwise; the rest of the module is safe Rust.

mod anno;
mod batch;
mod ops;
mod pool;
mod ring;

#[cfg(test)]
mod tests;

use std::fmt;

pub use anno::{Anno, AnnoRangeError, PacketType, Timestamp, ANNO_SIZE};
pub use batch::{Batch, BATCH_CAPACITY};
pub use pool::{
    register_buffer_owner, BufferOwner, ExternalBuffer, OwnerId, Packet, PacketPool, PoolConfig,
    PoolError, PoolStats, SendPacket, ThreadStats, DEFAULT_BUF_SIZE, DEFAULT_ENTRIES,
    DEFAULT_HEADROOM, MAX_BUFFER_OWNERS, MAX_BUF_SIZE,
};
pub use ring::PacketRing;

/// Why a packet operation failed. The packet is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketError {
    /// A copy was needed and the pool has no free entry.
    PoolExhausted,
    /// The data would not fit in a buffer.
    NoRoom,
    /// `pull`/`take` of more bytes than the packet has.
    OutOfBounds,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PacketError::PoolExhausted => "packet pool exhausted",
            PacketError::NoRoom => "packet data would not fit in a buffer",
            PacketError::OutOfBounds => "packet operation beyond the data",
        })
    }
}

impl std::error::Error for PacketError {}
