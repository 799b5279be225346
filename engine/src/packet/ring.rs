//! [`PacketRing`]: a bounded FIFO of packets that batches move into and out
//! of in bulk, for queue elements.
//!
//! A queue's work per packet should be a pointer copy. Moving packets one
//! by one through `VecDeque::extend` and `drain` costs tens of instructions
//! each (iterator adapters, a capacity check per element); here a batch
//! goes in or out with at most two `memcpy`s of 8-byte handles.

use std::mem::MaybeUninit;
use std::ptr;

use super::batch::{Batch, BATCH_CAPACITY};
use super::Packet;
use super::PacketPool;

/// A FIFO of up to `capacity` packets.
///
/// ```
/// use click_engine::packet::{Batch, Packet, PacketRing};
///
/// let mut ring = PacketRing::with_capacity(2);
/// let mut batch = Batch::new();
/// for i in 0..3u8 {
///     batch.push(Packet::from_slice(&[i]).unwrap());
/// }
/// assert_eq!(ring.push_batch(&mut batch), 1); // one did not fit
/// assert_eq!(batch[0].data(), [2]); // and stays in the batch
/// let out = ring.pop_batch(32);
/// assert_eq!(out.len(), 2);
/// assert_eq!(out[0].data(), [0]);
/// ```
pub struct PacketRing {
    /// A power-of-two number of slots; the live ones are the `len` slots
    /// from `head` on (wrapping), each holding an owned handle.
    slots: Box<[MaybeUninit<Packet>]>,
    head: usize,
    len: usize,
    /// The capacity asked for (what `capacity()` says).
    capacity: usize,
    /// Most packets the ring takes: `capacity`, or the slots if fewer.
    limit: usize,
}

impl PacketRing {
    /// An empty ring that holds up to `capacity` packets. Its storage is
    /// allocated here, once: slots for `capacity` packets, or for as many
    /// as the pool can ever hold if that is fewer (a `Queue(4000000000)`
    /// then takes every packet there is, as Click's would, in a megabyte
    /// of slots). Panics only if that allocation fails; see
    /// [`try_with_capacity`](Self::try_with_capacity).
    pub fn with_capacity(capacity: usize) -> PacketRing {
        Self::try_with_capacity(capacity).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`with_capacity`](Self::with_capacity), but a failed allocation
    /// is an error, for elements that allocate in `initialize`.
    pub fn try_with_capacity(capacity: usize) -> Result<PacketRing, String> {
        let slots = capacity
            .min(PacketPool::max_packets())
            .max(1)
            .next_power_of_two();
        let mut storage = Vec::new();
        storage.try_reserve_exact(slots).map_err(|_| {
            format!(
                "cannot allocate {} bytes for {slots} packet slots",
                slots * std::mem::size_of::<Packet>()
            )
        })?;
        storage.resize_with(slots, MaybeUninit::uninit);
        Ok(PacketRing {
            slots: storage.into_boxed_slice(),
            head: 0,
            len: 0,
            capacity,
            limit: capacity.min(slots),
        })
    }

    /// Packets held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the ring holds no packet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the ring holds `capacity` packets.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len >= self.limit
    }

    /// Most packets held at once.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Moves packets from the front of `batch` to the back of the ring, as
    /// many as fit. Returns how many did not fit: they stay in `batch`, in
    /// order, for the caller to drop and count.
    #[inline]
    pub fn push_batch(&mut self, batch: &mut Batch) -> usize {
        let pkts = batch.inner_mut();
        let n = pkts.len().min(self.limit.saturating_sub(self.len));
        let rest = pkts.len() - n;
        if n == 0 {
            return rest;
        }
        let tail = (self.head + self.len) & self.mask();
        let first = n.min(self.slots.len() - tail);
        // SAFETY: the slots [tail, tail + first) and [0, n - first) are
        // outside the live region (len + n <= limit <= slots.len()), so
        // writing there overwrites no handle. The n handles are moved
        // bitwise from the batch to the ring and the `rest` after them to
        // the batch's front (`ptr::copy`: the ranges may overlap); then
        // `set_len(rest)` makes the batch forget the moved ones, so every
        // handle has exactly one owner. Nothing in between can panic.
        unsafe {
            let src = pkts.as_mut_ptr();
            let dst = self.slots.as_mut_ptr().cast::<Packet>();
            ptr::copy_nonoverlapping(src, dst.add(tail), first);
            ptr::copy_nonoverlapping(src.add(first), dst, n - first);
            ptr::copy(src.add(n), src, rest);
            pkts.set_len(rest);
        }
        self.len += n;
        rest
    }

    /// Takes the up to `max` oldest packets (at most [`BATCH_CAPACITY`]).
    /// The batch is empty when the ring is.
    #[inline]
    pub fn pop_batch(&mut self, max: usize) -> Batch {
        let mut batch = Batch::new();
        let n = max.min(self.len).min(BATCH_CAPACITY);
        let first = n.min(self.slots.len() - self.head);
        let pkts = batch.inner_mut();
        assert!(pkts.is_empty() && pkts.capacity() >= n);
        // SAFETY: the n slots from `head` (wrapping) are live (n <= len) and
        // the empty batch has room for n (asserted). The handles are moved
        // bitwise; advancing `head` past them makes the ring forget them,
        // and `set_len(n)` makes the batch own them. Nothing in between
        // can panic.
        unsafe {
            let src = self.slots.as_ptr().cast::<Packet>();
            let dst = pkts.as_mut_ptr();
            ptr::copy_nonoverlapping(src.add(self.head), dst, first);
            ptr::copy_nonoverlapping(src, dst.add(first), n - first);
            pkts.set_len(n);
        }
        self.head = (self.head + n) & self.mask();
        self.len -= n;
        batch
    }

    /// Drops every packet.
    pub fn clear(&mut self) {
        while !self.is_empty() {
            drop(self.pop_batch(BATCH_CAPACITY));
        }
    }

    /// Changes the capacity, keeping the oldest packets that fit and
    /// dropping the others; returns how many were dropped, or an error
    /// (and no change) if the new storage cannot be allocated.
    pub fn set_capacity(&mut self, capacity: usize) -> Result<usize, String> {
        let mut resized = PacketRing::try_with_capacity(capacity)?;
        let mut dropped = 0;
        while !self.is_empty() {
            let mut batch = self.pop_batch(BATCH_CAPACITY);
            dropped += resized.push_batch(&mut batch);
        }
        *self = resized;
        Ok(dropped)
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        self.clear();
    }
}

impl std::fmt::Debug for PacketRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketRing")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketPool;

    fn batch_of(values: std::ops::Range<u8>) -> Batch {
        let mut b = Batch::new();
        for v in values {
            b.push(Packet::from_slice(&[v]).unwrap());
        }
        b
    }

    fn values(b: &Batch) -> Vec<u8> {
        b.iter().map(|p| p.data()[0]).collect()
    }

    #[test]
    fn fifo_across_the_wrap_with_overflow_left_in_the_batch() {
        let before = PacketPool::thread_stats();
        {
            let mut ring = PacketRing::with_capacity(5); // 8 slots
            let mut next = 0u8;
            let mut expect = std::collections::VecDeque::new();
            for round in 0..50 {
                let k = (round % 4) as u8 + 1;
                let mut b = batch_of(next..next + k);
                let fit = (5 - ring.len()).min(k as usize);
                let rest = ring.push_batch(&mut b);
                assert_eq!(rest, k as usize - fit);
                assert_eq!(values(&b), (next + fit as u8..next + k).collect::<Vec<_>>());
                expect.extend(next..next + fit as u8);
                next = next.wrapping_add(k);
                let out = ring.pop_batch(round % 3 + 1);
                let want: Vec<u8> = (0..out.len())
                    .map(|_| expect.pop_front().unwrap())
                    .collect();
                assert_eq!(values(&out), want);
                assert_eq!(ring.len(), expect.len());
            }
        }
        let after = PacketPool::thread_stats();
        assert_eq!(after.allocs - before.allocs, after.frees - before.frees);
    }

    #[test]
    fn set_capacity_keeps_the_oldest() {
        let mut ring = PacketRing::with_capacity(10);
        assert_eq!(ring.push_batch(&mut batch_of(0..6)), 0);
        assert_eq!(ring.set_capacity(4), Ok(2));
        assert_eq!(values(&ring.pop_batch(32)), [0, 1, 2, 3]);
        assert!(ring.is_empty());
        assert_eq!(ring.capacity(), 4);
    }

    #[test]
    fn a_huge_capacity_needs_only_the_slots_packets_can_fill() {
        let mut ring = PacketRing::try_with_capacity(4_000_000_000).unwrap();
        assert_eq!(ring.capacity(), 4_000_000_000);
        assert!(ring.slots.len() <= PacketPool::max_packets().next_power_of_two());
        assert_eq!(ring.push_batch(&mut batch_of(0..3)), 0);
        assert_eq!(values(&ring.pop_batch(32)), [0, 1, 2]);
    }

    #[test]
    fn zero_capacity_takes_nothing() {
        let mut ring = PacketRing::with_capacity(0);
        let mut b = batch_of(0..3);
        assert_eq!(ring.push_batch(&mut b), 3);
        assert!(ring.is_full() && ring.pop_batch(32).is_empty());
    }
}
