//! Batches of packets: the unit of work between elements and of I/O.

use std::cell::RefCell;
use std::fmt;
use std::iter::FusedIterator;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut, RangeFull};
use std::ptr;

use super::anno::{Anno, PacketType, Timestamp};
use super::owner::{ExternalBuffer, OwnerRegistration, RegionId, RxBuffer};
use super::pool::{self, drop_all, Packet};

/// A batch's packets: up to [`BATCH_CAPACITY`] handles inline, and their
/// count. A fixed array with its length rather than a `SmallVec` (which a
/// batch never spilled): the length is one load and the handles' address
/// a constant offset, where the `SmallVec` tested whether it had spilled
/// at each (three or four instructions a time, several times an element
/// call on every path).
pub(super) struct Inner {
    len: usize,
    slots: [MaybeUninit<Packet>; BATCH_CAPACITY],
}

impl Default for Inner {
    #[inline]
    fn default() -> Inner {
        Inner {
            len: 0,
            slots: [const { MaybeUninit::uninit() }; BATCH_CAPACITY],
        }
    }
}

impl Inner {
    /// [`BATCH_CAPACITY`].
    #[inline(always)]
    pub(super) fn capacity(&self) -> usize {
        BATCH_CAPACITY
    }

    /// The first handle's slot.
    #[inline(always)]
    pub(super) fn as_ptr(&self) -> *const Packet {
        self.slots.as_ptr().cast::<Packet>()
    }

    /// The first handle's slot, to write.
    #[inline(always)]
    pub(super) fn as_mut_ptr(&mut self) -> *mut Packet {
        self.slots.as_mut_ptr().cast::<Packet>()
    }

    /// Sets the count of handles.
    ///
    /// # Safety
    /// `len <= BATCH_CAPACITY`, and the first `len` slots hold handles the
    /// batch owns (those beyond are forgotten, not dropped).
    #[inline(always)]
    pub(super) unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= BATCH_CAPACITY);
        self.len = len;
    }

    /// Appends a handle. Panics if the batch is full (callers test first).
    #[inline(always)]
    pub(super) fn push(&mut self, p: Packet) {
        if self.len >= BATCH_CAPACITY {
            overflow();
        }
        self.slots[self.len].write(p);
        self.len += 1;
    }

    /// Removes the last handle.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<Packet> {
        let len = self.len.checked_sub(1)?;
        self.len = len;
        // SAFETY: slot `len` held the last handle, which the batch no
        // longer counts: moved out once.
        Some(unsafe { self.slots[len].assume_init_read() })
    }

    /// Drops every handle (one at a time: [`drop_all`] frees a batch's).
    #[inline]
    pub(super) fn clear(&mut self) {
        let len = std::mem::take(&mut self.len);
        // SAFETY: the first `len` slots held handles the batch owned and
        // no longer counts (len is 0 first, so a panic in a drop leaks
        // the rest rather than dropping any twice).
        unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.as_mut_ptr(), len)) };
    }

    /// Takes every handle out, in order, leaving the batch empty (handles
    /// not taken are dropped with the iterator).
    #[inline]
    pub(super) fn drain(&mut self, _: RangeFull) -> Drain<'_> {
        let end = std::mem::take(&mut self.len);
        Drain {
            slots: &mut self.slots,
            span: Span { pos: 0, end },
        }
    }

    /// Appends the packets of `iter`; panics past [`BATCH_CAPACITY`]
    /// (callers take at most the room left).
    #[inline]
    pub(super) fn extend<I: IntoIterator<Item = Packet>>(&mut self, iter: I) {
        for p in iter {
            self.push(p);
        }
    }
}

impl Deref for Inner {
    type Target = [Packet];

    #[inline(always)]
    fn deref(&self) -> &[Packet] {
        // SAFETY: the first `len` slots hold handles (len <= capacity).
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
    }
}

impl DerefMut for Inner {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [Packet] {
        // SAFETY: as in `deref`, borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.as_mut_ptr(), self.len) }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The handles of a draining batch not taken yet: `slots[pos..end]`.
#[derive(Debug)]
struct Span {
    pos: usize,
    end: usize,
}

impl Span {
    /// Takes the first handle not taken yet.
    ///
    /// # Safety
    /// `slots[pos..end]` hold handles the caller owns and has not taken.
    #[inline]
    unsafe fn front(
        &mut self,
        slots: &mut [MaybeUninit<Packet>; BATCH_CAPACITY],
    ) -> Option<Packet> {
        if self.pos == self.end {
            return None;
        }
        let i = self.pos;
        self.pos += 1;
        // SAFETY: slot i < end holds a handle not taken yet (the caller's
        // promise); moved out once (pos passed it).
        Some(unsafe { slots[i].assume_init_read() })
    }

    /// Takes the last handle not taken yet.
    ///
    /// # Safety
    /// As [`front`](Self::front).
    #[inline]
    unsafe fn back(&mut self, slots: &mut [MaybeUninit<Packet>; BATCH_CAPACITY]) -> Option<Packet> {
        if self.pos == self.end {
            return None;
        }
        self.end -= 1;
        // SAFETY: as in `front`, from the back.
        Some(unsafe { slots[self.end].assume_init_read() })
    }

    fn len(&self) -> usize {
        self.end - self.pos
    }
}

/// The packets of a batch, taken out in order ([`Batch::drain`]); the
/// batch is empty from the start, and packets not taken are dropped with
/// the iterator.
pub struct Drain<'a> {
    slots: &'a mut [MaybeUninit<Packet>; BATCH_CAPACITY],
    /// The handles not taken yet.
    span: Span,
}

impl Iterator for Drain<'_> {
    type Item = Packet;

    #[inline]
    fn next(&mut self) -> Option<Packet> {
        // SAFETY: the span's slots hold the drained handles not taken yet.
        unsafe { self.span.front(self.slots) }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.span.len(), Some(self.span.len()))
    }
}

impl DoubleEndedIterator for Drain<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Packet> {
        // SAFETY: as in `next`.
        unsafe { self.span.back(self.slots) }
    }
}

impl ExactSizeIterator for Drain<'_> {}
impl FusedIterator for Drain<'_> {}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        let (pos, end) = (self.span.pos, std::mem::take(&mut self.span.end));
        self.span.pos = 0;
        // SAFETY: slots[pos..end] hold the handles not taken, dropped
        // once (the range is emptied first).
        unsafe {
            let first = self.slots.as_mut_ptr().cast::<Packet>().add(pos);
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(first, end - pos));
        }
    }
}

/// The packets of a batch, by value, in order (`for p in batch`).
pub struct IntoIter {
    /// The batch, whose count is 0: its handles not taken yet are in
    /// `span`.
    batch: Batch,
    span: Span,
}

impl Iterator for IntoIter {
    type Item = Packet;

    #[inline]
    fn next(&mut self) -> Option<Packet> {
        // SAFETY: the span's slots hold the batch's handles not taken yet
        // (the batch does not count them).
        unsafe { self.span.front(&mut self.batch.pkts.slots) }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.span.len(), Some(self.span.len()))
    }
}

impl DoubleEndedIterator for IntoIter {
    #[inline]
    fn next_back(&mut self) -> Option<Packet> {
        // SAFETY: as in `next`.
        unsafe { self.span.back(&mut self.batch.pkts.slots) }
    }
}

impl ExactSizeIterator for IntoIter {}
impl FusedIterator for IntoIter {}

impl Drop for IntoIter {
    fn drop(&mut self) {
        let (pos, end) = (self.span.pos, self.span.end);
        let pkts = &mut *self.batch.pkts;
        // SAFETY: the handles not taken move to the front of the batch,
        // which counts them again and frees them with its own drop
        // (`ptr::copy`: the ranges may overlap).
        unsafe {
            let base = pkts.as_mut_ptr();
            ptr::copy(base.add(pos), base, end - pos);
            pkts.set_len(end - pos);
        }
    }
}

/// Spare batch storage kept per thread: at most this many.
const MAX_SPARE: usize = 256;

thread_local! {
    // Boxes, not values: a spare is handed out as the very heap slot a
    // batch then points to.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<Inner>>> = const { RefCell::new(Vec::new()) };
}

/// A batch's packet storage: an [`Inner`] in a heap slot recycled
/// per thread, so that a batch moves from element to element as one
/// pointer rather than 264 bytes (measured: those copies were a sixth of
/// the cost of a short push path). Slots are allocated only while the
/// number of live batches grows, at warm-up; after that, none.
struct Slots(ManuallyDrop<Box<Inner>>);

impl Slots {
    #[inline]
    fn new() -> Slots {
        let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        Slots(ManuallyDrop::new(spare.unwrap_or_default()))
    }
}

impl Deref for Slots {
    type Target = Inner;

    #[inline]
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl DerefMut for Slots {
    #[inline]
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.0
    }
}

impl Drop for Slots {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and nothing uses `self.0` afterwards.
        let mut slot = unsafe { ManuallyDrop::take(&mut self.0) };
        slot.clear();
        let _ = SPARE.try_with(|s| {
            let mut spare = s.borrow_mut();
            if spare.len() < MAX_SPARE {
                spare.push(slot);
            }
        });
    }
}

/// Packets per batch: the default burst. A batch never holds more (it never
/// spills to the heap); callers split bigger bursts.
pub const BATCH_CAPACITY: usize = 32;

/// Up to [`BATCH_CAPACITY`] packets, in order, in storage recycled per
/// thread (no heap allocation once warm). Moving a batch moves a pointer.
///
/// Dropping a batch frees all its packets with a single thread-local access.
pub struct Batch {
    pkts: Slots,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch.
    #[inline]
    pub fn new() -> Batch {
        Batch { pkts: Slots::new() }
    }

    /// Number of packets.
    #[inline]
    pub fn len(&self) -> usize {
        self.pkts.len()
    }

    /// Whether the batch has no packet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pkts.is_empty()
    }

    /// Whether the batch holds [`BATCH_CAPACITY`] packets.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.pkts.len() == BATCH_CAPACITY
    }

    /// [`BATCH_CAPACITY`].
    #[inline]
    pub fn capacity(&self) -> usize {
        BATCH_CAPACITY
    }

    /// Appends a packet. Panics if the batch is full: for producers whose
    /// count is bounded by their own code (copying from a batch, pulling at
    /// most `BATCH_CAPACITY - len()` packets, stopping at
    /// [`is_full`](Self::is_full)), where overflow is a bug in that code.
    /// A producer whose count depends on packet contents (one packet making
    /// several: fragments, segments, replies) uses
    /// [`try_push`](Self::try_push), which gives the packet back instead.
    #[inline]
    pub fn push(&mut self, p: Packet) {
        if self.is_full() {
            overflow();
        }
        self.pkts.push(p);
    }

    /// Appends a packet, or gives it back if the batch is full.
    #[inline]
    pub fn try_push(&mut self, p: Packet) -> Result<(), Packet> {
        if self.is_full() {
            Err(p)
        } else {
            self.pkts.push(p);
            Ok(())
        }
    }

    /// Wraps received ring buffers of `owner` into packets appended to the
    /// batch, in order, in one call: one thread-local access for all the
    /// entries and one update of the owner's count (zero-copy receive).
    /// Stops at the first buffer it cannot wrap: the batch is full, the
    /// pool is exhausted (counted in
    /// [`PoolStats::alloc_failures`](super::PoolStats::alloc_failures)), or
    /// its bounds are wrong ([`RxBuffer::check`]). Returns how many it
    /// wrapped: `bufs[..n]` are the packets' now; the rest stay the
    /// caller's.
    ///
    /// # Safety
    /// As [`Packet::from_external`], for each buffer wrapped.
    pub unsafe fn wrap_external(&mut self, owner: &OwnerRegistration, bufs: &[RxBuffer]) -> usize {
        // SAFETY: the caller's contract, passed on.
        unsafe { pool::wrap_into(owner.id().get(), bufs, &mut self.pkts, |_| Anno::DEFAULT) }
    }

    /// As [`wrap_external`](Self::wrap_external), for frames a device
    /// received: each packet's annotations are written once, whole, with
    /// timestamp `ts`, the MAC header at the data start (left unset past
    /// [`MAX_HEADER_OFFSET`](super::MAX_HEADER_OFFSET), as
    /// [`Packet::set_mac_header`] would), and the packet type
    /// `frame_type` gives for the frame's data. A receiver that set these
    /// on each packet after wrapping it read the packet back and wrote its
    /// annotation line a second time: under an emulated CPU (QEMU's TCG),
    /// where every memory access is a software TLB lookup, that pass cost
    /// about 45 guest instructions per packet of netmap's receive.
    ///
    /// # Safety
    /// As [`Packet::from_external`], for each buffer wrapped.
    pub unsafe fn wrap_frames(
        &mut self,
        owner: &OwnerRegistration,
        bufs: &[RxBuffer],
        ts: Timestamp,
        frame_type: impl Fn(&[u8]) -> PacketType,
    ) -> usize {
        let anno = |rx: &RxBuffer| {
            let mut a = Anno::DEFAULT;
            a.set_timestamp(ts);
            if rx.head <= super::MAX_HEADER_OFFSET {
                a.mac_header = rx.head as u16;
            }
            // SAFETY: `wrap_into` calls this only for a buffer that
            // passed `RxBuffer::check` (its data inside it), valid by the
            // caller's contract.
            let data = unsafe { std::slice::from_raw_parts(rx.buf.as_ptr().add(rx.head), rx.len) };
            a.set_packet_type(frame_type(data));
            a
        };
        // SAFETY: the caller's contract, passed on.
        unsafe { pool::wrap_into(owner.id().get(), bufs, &mut self.pkts, anno) }
    }

    /// Zero-copy transmit: goes through the packets in order, giving `f`
    /// either the buffer of a packet whose data is in an external buffer of
    /// `region` that no clone shares (`Ok`: taken from the packet as
    /// [`Packet::into_external`] does, without a release, to be swapped
    /// into a TX slot of that region), or the packet itself (`Err`: to be
    /// copied into a TX buffer, or dropped). The batch is left empty. The
    /// entries given up go back to the pool in one go, and each owner's
    /// count is updated once for the batch.
    ///
    /// Inlined with its loop, so that `f` (a transmitter's per-slot work)
    /// inlines into it: called through a closure per packet, the
    /// transmitter kept its counters in memory and spilled six registers
    /// per packet (about 50 guest instructions per packet of netmap's
    /// swap path, `docs/PERFORMANCE.md`).
    #[inline(always)]
    pub fn drain_external(
        &mut self,
        region: RegionId,
        f: impl FnMut(Result<ExternalBuffer, Packet>),
    ) {
        pool::drain_external(&mut self.pkts, region, f)
    }

    /// The packet storage itself, for the bulk moves of this module
    /// (rings, the pool's batch free): they copy handles bitwise.
    #[inline]
    pub(super) fn inner_mut(&mut self) -> &mut Inner {
        &mut self.pkts
    }

    /// Removes the last packet.
    #[inline]
    pub fn pop(&mut self) -> Option<Packet> {
        self.pkts.pop()
    }

    /// The packets.
    #[inline]
    pub fn as_slice(&self) -> &[Packet] {
        &self.pkts
    }

    /// The packets, mutable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Packet] {
        &mut self.pkts
    }

    /// Iterates over the packets.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, Packet> {
        self.pkts.iter()
    }

    /// Iterates over the packets, mutable.
    #[inline]
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Packet> {
        self.pkts.iter_mut()
    }

    /// Takes all packets out, in order, leaving the batch empty.
    #[inline]
    pub fn drain(&mut self) -> Drain<'_> {
        self.pkts.drain(..)
    }

    /// Frees all packets (one thread-local access).
    #[inline]
    pub fn clear(&mut self) {
        drop_all(&mut self.pkts);
    }

    /// Keeps the packets for which `keep` returns true, in order, and frees
    /// the others. Returns how many were freed.
    pub fn retain<F: FnMut(&mut Packet) -> bool>(&mut self, mut keep: F) -> usize {
        let mut dropped = Batch::new();
        let mut kept = Batch::new();
        for mut p in self.pkts.drain(..) {
            if keep(&mut p) {
                kept.pkts.push(p);
            } else {
                dropped.pkts.push(p);
            }
        }
        std::mem::swap(&mut self.pkts, &mut kept.pkts);
        dropped.len()
    }

    /// Sends each packet to the output batch `outs[port]` chosen by `port_of`,
    /// keeping the order within each output. Packets for `None`, for a port
    /// `>= outs.len()`, or for a full output are freed; returns how many
    /// (for the caller's drop counter). The VPP pattern: one pass choosing
    /// ports, then each output batch is pushed downstream once.
    pub fn split_by<F>(mut self, outs: &mut [Batch], mut port_of: F) -> usize
    where
        F: FnMut(&mut Packet) -> Option<usize>,
    {
        let mut dropped = Batch::new();
        for mut p in self.pkts.drain(..) {
            let rejected = match port_of(&mut p).and_then(|i| outs.get_mut(i)) {
                Some(out) => out.try_push(p).err(),
                None => Some(p),
            };
            if let Some(p) = rejected {
                dropped.pkts.push(p);
            }
        }
        dropped.len()
    }
}

/// The panic of [`Batch::push`], out of line so that `push` inlines.
#[cold]
#[inline(never)]
fn overflow() -> ! {
    panic!("batch overflow")
}

/// Appends packets until the batch is full; packets beyond that are left in
/// the iterator (a caller draining a queue takes exactly what fits).
impl Extend<Packet> for Batch {
    #[inline]
    fn extend<I: IntoIterator<Item = Packet>>(&mut self, iter: I) {
        let room = BATCH_CAPACITY - self.pkts.len();
        self.pkts.extend(iter.into_iter().take(room));
    }
}

impl Drop for Batch {
    #[inline]
    fn drop(&mut self) {
        if !self.pkts.is_empty() {
            drop_all(&mut self.pkts);
        }
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.pkts.iter()).finish()
    }
}

impl IntoIterator for Batch {
    type Item = Packet;
    type IntoIter = IntoIter;

    #[inline]
    fn into_iter(mut self) -> IntoIter {
        let end = self.pkts.len();
        // SAFETY: the iterator owns the handles from here (0 <= capacity).
        unsafe { self.pkts.set_len(0) };
        IntoIter {
            batch: self,
            span: Span { pos: 0, end },
        }
    }
}

impl<'a> IntoIterator for &'a Batch {
    type Item = &'a Packet;
    type IntoIter = std::slice::Iter<'a, Packet>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.pkts.iter()
    }
}

impl<'a> IntoIterator for &'a mut Batch {
    type Item = &'a mut Packet;
    type IntoIter = std::slice::IterMut<'a, Packet>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.pkts.iter_mut()
    }
}

impl std::ops::Index<usize> for Batch {
    type Output = Packet;

    #[inline]
    fn index(&self, i: usize) -> &Packet {
        &self.pkts[i]
    }
}

impl std::ops::IndexMut<usize> for Batch {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Packet {
        &mut self.pkts[i]
    }
}
