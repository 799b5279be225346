//! Buffer owners: the I/O backends (netmap, AF_XDP, AF_PACKET TPACKET_V2)
//! that lend their own ring buffers to packets.
//!
//! An owner registers with [`register_buffer_owner`] and gets an
//! [`OwnerRegistration`]: a slot in a fixed table of
//! [`MAX_BUFFER_OWNERS`], named by an [`OwnerId`] that the entries holding
//! its buffers record. Each slot counts the owner's buffers that packets
//! hold (*outstanding*), by batch: a [`Batch::wrap_external`] adds the
//! whole batch with one atomic add, a batch free subtracts what it gave
//! back to the owner with one atomic subtraction per owner. Dropping the
//! registration marks the slot closing; the slot is freed (the owner object
//! dropped, the slot reusable) by whichever comes last, the registration's
//! drop or the release of the last outstanding buffer. So a hot swap that
//! re-registers its devices reuses the slots of the old ones as soon as
//! their buffers are back, however many times it swaps.
//!
//! The slot's state is one `AtomicU64`: the outstanding count, and a
//! `CLOSING` bit set by the registration's drop. Both ends of a slot's life
//! are read-modify-writes of it, so exactly one thread sees the count reach
//! zero with the bit set, and frees the slot.
//!
//! [`Batch::wrap_external`]: super::Batch::wrap_external

use std::cell::UnsafeCell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::Arc;

use super::pool::{PoolError, MAX_BUF_SIZE};
use super::PacketError;

/// Most buffer owners registered at once in a process. Slots are reused
/// once an owner's registration is dropped and its last buffer is back.
pub const MAX_BUFFER_OWNERS: usize = 64;

/// An I/O backend that lends its own buffers (a netmap ring buffer, an
/// AF_XDP UMEM frame, a TPACKET_V2 frame) to packets. See
/// [`Batch::wrap_external`](super::Batch::wrap_external) and
/// [`Packet::from_external`](super::Packet::from_external).
///
/// The hooks run on whatever thread freed the last packet using a buffer,
/// possibly not the ring's own, and possibly while that thread is in the
/// middle of its packet path: they must not block for long. A ring that is
/// single-producer hands the tokens to its own thread through a
/// [`token_queue`](super::token_queue), whose sender implements this
/// trait. The hooks may drop packets.
pub trait BufferOwner: Send + Sync {
    /// The last packet using the buffer `token` is gone: the owner may
    /// reuse the buffer.
    fn release(&self, token: u64);

    /// The last packets using these buffers are gone: one call for all the
    /// owner's buffers that one batch free gave back (in the batch's
    /// order; perhaps just one). A packet freed alone calls
    /// [`release`](Self::release) instead. By default, `release` each.
    fn release_batch(&self, tokens: &[u64]) {
        for &token in tokens {
            self.release(token);
        }
    }
}

impl<T: BufferOwner + ?Sized> BufferOwner for Arc<T> {
    fn release(&self, token: u64) {
        (**self).release(token)
    }

    fn release_batch(&self, tokens: &[u64]) {
        (**self).release_batch(tokens)
    }
}

/// The memory an owner's buffers live in: a netmap memory region, an
/// AF_XDP UMEM. Declared at registration; a transmit path on one ring can
/// swap into its slots the buffers of any owner of the same region
/// ([`Batch::drain_external`](super::Batch::drain_external)). The value is
/// the backend's choice, and must differ between regions that are not the
/// same memory: the base address of the region's mapping in this process
/// is a good one (netmap ports sharing one memory region map it once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegionId(pub u64);

/// A received ring buffer to wrap into a packet: the owner's token for it
/// and where the ring says the data is. See
/// [`Batch::wrap_external`](super::Batch::wrap_external).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxBuffer {
    /// The owner's name for the buffer (a netmap buffer index, an AF_XDP
    /// UMEM address, a TPACKET_V2 frame index), given back to its
    /// release hook.
    pub token: u64,
    /// The start of the buffer.
    pub buf: NonNull<u8>,
    /// Its size in bytes.
    pub cap: usize,
    /// Offset of the packet data in it.
    pub head: usize,
    /// Length of the packet data.
    pub len: usize,
}

impl RxBuffer {
    /// Whether a packet can have these bounds: the data inside the buffer
    /// ([`PacketError::OutOfBounds`] otherwise: a ring slot's length is the
    /// device's word, checked rather than trusted with a panic), and the
    /// buffer at most [`MAX_BUF_SIZE`] ([`PacketError::TooLong`]).
    pub fn check(&self) -> Result<(), PacketError> {
        if self.head > self.cap || self.len > self.cap - self.head {
            return Err(PacketError::OutOfBounds);
        }
        if self.cap > MAX_BUF_SIZE {
            return Err(PacketError::TooLong {
                len: self.cap,
                max: MAX_BUF_SIZE,
            });
        }
        Ok(())
    }
}

/// An external buffer that a packet gave up ([`Packet::into_external`],
/// [`Batch::drain_external`]) or that it describes
/// ([`Packet::external_buffer`]).
///
/// [`Packet::into_external`]: super::Packet::into_external
/// [`Packet::external_buffer`]: super::Packet::external_buffer
/// [`Batch::drain_external`]: super::Batch::drain_external
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalBuffer {
    /// The buffer's owner.
    pub owner: OwnerId,
    /// The owner's region.
    pub region: RegionId,
    /// The owner's token for the buffer (e.g. a netmap buffer index).
    pub token: u64,
    /// Offset of the packet data in the buffer.
    pub offset: usize,
    /// Length of the packet data.
    pub len: usize,
}

/// Identifies a registered [`BufferOwner`] while it is registered (a slot
/// of a dropped registration is reused by a later one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OwnerId(pub(super) u16);

impl OwnerId {
    /// The raw id (1-based).
    pub fn get(self) -> u16 {
        self.0
    }
}

/// The slot's state bit set when its registration is dropped.
const CLOSING: u64 = 1 << 63;

struct Slot {
    /// Outstanding buffers, plus `CLOSING`.
    state: AtomicU64,
    /// The owner's [`RegionId`].
    region: AtomicU64,
    /// The owner. Written only while the slot is free and taken by the
    /// writer (registration, after taking its bit of `FREE`) or being freed
    /// (by the one thread that saw the state reach `CLOSING` exactly); read
    /// only by a thread that holds a counted buffer of the slot or its
    /// registration, which keeps the slot from being freed meanwhile.
    owner: UnsafeCell<Option<Box<dyn BufferOwner>>>,
}

// SAFETY: `owner` is accessed as its comment says: writes happen only when
// no other thread can read it (the slot is free, or being freed after its
// last buffer came back and its registration went), and the `FREE` bitmap
// and `state` read-modify-writes order them with the reads (Release when a
// slot is freed, Acquire when taken; AcqRel on the count). The owner itself
// is `Send + Sync`.
unsafe impl Sync for Slot {}

static SLOTS: [Slot; MAX_BUFFER_OWNERS] = [const {
    Slot {
        state: AtomicU64::new(0),
        region: AtomicU64::new(0),
        owner: UnsafeCell::new(None),
    }
}; MAX_BUFFER_OWNERS];

/// Free slots: bit `i` set when slot `i` is free.
static FREE: AtomicU64 = AtomicU64::new(u64::MAX);
const _: () = assert!(MAX_BUFFER_OWNERS == 64, "FREE is a 64-bit map");

/// A registered [`BufferOwner`]: wraps its buffers into packets
/// ([`Batch::wrap_external`](super::Batch::wrap_external),
/// [`Packet::from_external`](super::Packet::from_external)). Dropping it
/// unregisters the owner: packets still holding its buffers keep them, the
/// owner's hooks are called for them as usual, and once the last one is
/// back the owner object is dropped (on that thread) and the slot is free
/// for another registration. An owner that must outlive its buffers (a
/// memory mapping) keeps them alive in the object it registered.
#[must_use = "dropping the registration unregisters the owner"]
pub struct OwnerRegistration {
    slot: u16,
}

/// Registers a buffer owner whose buffers live in `region`. Fails with
/// [`PoolError::TooManyOwners`] if [`MAX_BUFFER_OWNERS`] registrations are
/// alive (or dropped with buffers still out).
pub fn register_buffer_owner(
    owner: Box<dyn BufferOwner>,
    region: RegionId,
) -> Result<OwnerRegistration, PoolError> {
    let mut free = FREE.load(Relaxed);
    let i = loop {
        if free == 0 {
            return Err(PoolError::TooManyOwners);
        }
        let i = free.trailing_zeros();
        match FREE.compare_exchange_weak(free, free & !(1 << i), Acquire, Relaxed) {
            Ok(_) => break i as usize,
            Err(now) => free = now,
        }
    };
    let slot = &SLOTS[i];
    // SAFETY: we took the slot's bit from FREE, so the slot is ours alone
    // (no registration, no buffer out); Acquire ordered this write after
    // the freeing thread's last access.
    unsafe { *slot.owner.get() = Some(owner) };
    slot.region.store(region.0, Relaxed);
    slot.state.store(0, Release);
    Ok(OwnerRegistration { slot: i as u16 })
}

impl OwnerRegistration {
    /// The owner's id, as in [`ExternalBuffer::owner`](super::ExternalBuffer::owner).
    pub fn id(&self) -> OwnerId {
        OwnerId(self.slot + 1)
    }

    /// The region declared at registration.
    pub fn region(&self) -> RegionId {
        RegionId(SLOTS[self.slot as usize].region.load(Relaxed))
    }

    /// The owner's buffers that packets hold now.
    pub fn outstanding(&self) -> u64 {
        SLOTS[self.slot as usize].state.load(Relaxed) & !CLOSING
    }
}

impl Drop for OwnerRegistration {
    fn drop(&mut self) {
        let i = self.slot as usize;
        if SLOTS[i].state.fetch_or(CLOSING, AcqRel) == 0 {
            free_slot(i);
        }
    }
}

impl fmt::Debug for OwnerRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerRegistration")
            .field("id", &self.id())
            .field("region", &self.region())
            .field("outstanding", &self.outstanding())
            .finish()
    }
}

/// Frees slot `i`: its registration is gone and no buffer is out.
#[cold]
fn free_slot(i: usize) {
    let slot = &SLOTS[i];
    // SAFETY: the caller saw the state reach CLOSING with no buffer out:
    // the registration is gone (nothing can wrap), and every release
    // finished with the owner before its decrement, so nothing reads
    // `owner` any more until the slot is taken again after the FREE store
    // below.
    let owner = unsafe { (*slot.owner.get()).take() };
    slot.state.store(0, Relaxed);
    FREE.fetch_or(1 << i, Release);
    drop(owner);
}

/// `n` more buffers of the owner `id` are held by packets (the caller has
/// its registration).
#[inline]
pub(super) fn lent(id: u16, n: u64) {
    if n > 0 {
        SLOTS[id as usize - 1].state.fetch_add(n, Relaxed);
    }
}

/// The buffers `tokens` of the owner `id` lost their last users in one
/// batch free: calls its `release_batch` once for all of them, then
/// uncounts them.
pub(super) fn give_back(id: u16, tokens: &[u64]) {
    // SAFETY: the caller held these buffers: they are counted until
    // `returned`, after the last use of `owner`.
    if let Some(owner) = unsafe { owner_of(id) } {
        owner.release_batch(tokens);
    }
    returned(id, tokens.len() as u64);
}

/// The buffer `token` of the owner `id` lost its last user (a packet
/// freed alone): calls its `release`, then uncounts it.
pub(super) fn give_back_one(id: u16, token: u64) {
    // SAFETY: as in `give_back`.
    if let Some(owner) = unsafe { owner_of(id) } {
        owner.release(token);
    }
    returned(id, 1);
}

/// The owner in slot `id`.
///
/// # Safety
/// The caller holds buffers of the owner that are still counted, and uses
/// the reference only until it uncounts them (`returned`): until then the
/// slot cannot be freed (nor `owner` written); it was written before the
/// buffers were lent. The `'static` is that long only.
unsafe fn owner_of(id: u16) -> Option<&'static dyn BufferOwner> {
    // SAFETY: the caller's contract.
    unsafe { (*SLOTS[id as usize - 1].owner.get()).as_deref() }
}

/// `n` buffers of the owner `id` left the packets, given back to the
/// caller without a release ([`Packet::into_external`](super::Packet::into_external)),
/// or released already: uncounts them, freeing the slot if they were the
/// last of an unregistered owner.
pub(super) fn returned(id: u16, n: u64) {
    let i = id as usize - 1;
    let before = SLOTS[i].state.fetch_sub(n, AcqRel);
    debug_assert!(
        before & !CLOSING >= n,
        "owner {id}: more buffers back than lent"
    );
    if before == CLOSING | n {
        free_slot(i);
    }
}

/// The region of the owner `id`, which a packet holding one of its buffers
/// keeps registered.
#[inline]
pub(super) fn region_of(id: u16) -> RegionId {
    RegionId(SLOTS[id as usize - 1].region.load(Relaxed))
}
