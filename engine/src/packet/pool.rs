//! The preallocated packet pool and the raw `Packet` handle.
//!
//! This file holds the `unsafe` code of the packet module that touches
//! entries and buffers (the owner table's is in `owner.rs`). Everything it
//! exports is safe to call but the wrapping of external buffers; the rest
//! of the module (`ops.rs`, `batch.rs`) is written on top of it in safe
//! Rust.
//!
//! # Memory
//! One process-wide [`Pool`], built once (explicitly by [`PacketPool::init`]
//! or lazily with the defaults) and never freed: an array of [`Entry`]s (128
//! bytes each: a descriptor plus an annotation line) and, separately, an
//! array of fixed-size *small* buffers, entry `i` owning buffer `i`; and,
//! mapped on the first packet that needs one, a region of *large* buffers
//! ([`LargePool`]) that an entry borrows for a packet too long for its own
//! buffer, as it would an external buffer (marked with [`LARGE_OWNER`]).
//! Buffers come from `alloc_zeroed`, so every byte of every buffer is
//! always initialised (to zero or to old packet data) and may be handed out
//! as `&[u8]`; the OS maps the pages lazily, as they are first written.
//!
//! # Ownership invariants (what the `SAFETY` comments rely on)
//! 1. A live [`Packet`] is the only handle to its entry `e`. `e.state` (the
//!    descriptor: buffer pointer, bounds, holder, annotations) is read and
//!    written only through that handle. Other packets touch `e` only through
//!    its shared fields (`refs`, `ext_*`), never `e.state`.
//! 2. A descriptor's data lives in the buffer of its *holder* entry `h`
//!    (`state.holder`): `h == e` for an ordinary packet, or the entry of the
//!    packet it was cloned from. Clones of clones point at the root holder,
//!    so an entry's own buffer is used by at most the entries whose holder
//!    it is, and a clone's own buffer is unused (hence `make_unique` of a
//!    clone can copy into its own buffer without allocating). A holder's
//!    buffer is its own, or the external or large buffer its `ext_owner`
//!    and `ext_token` name (its own is then unused); that buffer goes back
//!    to its owner (or the large free list) when the holder's `refs`
//!    reaches 0, before the entry goes back to a free list.
//! 3. `h.refs` = (1 if `h`'s own handle is alive) + (number of *other* live
//!    descriptors whose holder is `h`). For a clone entry `e != holder`,
//!    `e.refs == 1`. An entry is on a free list iff no handle names it and
//!    no descriptor names it as its holder; its `refs` is then
//!    [`FREE_REFS`] (1, plain): what a fresh packet or a clone needs, so
//!    taking an entry writes no count, and a clone entry, whose count is
//!    already 1, is freed without writing it either.
//! 4. A descriptor may write its buffer only when `holder.refs == 1`
//!    (nobody else can see that buffer): [`Packet::buffer_mut`] checks it.
//! 5. A holder's `refs` is counted with plain loads and stores while every
//!    descriptor that uses its buffer is on one thread; from the moment one
//!    of them is about to cross to another thread ([`Packet::into_send`],
//!    on the thread that still has them all) it is counted with atomic
//!    read-modify-writes until it reaches 0 ([`RefCount`]). `Packet` is
//!    `!Send`; [`SendPacket`] is the only way across.
//!
//! # Free lists
//! Free entries sit in a per-thread stack ([`LocalCache`], `CACHE_SIZE`
//! entries) refilled from / flushed to the global list (a `Mutex<Vec>`,
//! preallocated to the pool size) `CACHE_BULK` entries at a time, DPDK
//! mempool style. Allocation and free are a thread-local pop/push; the mutex
//! is taken once per `CACHE_BULK` operations at most.

use std::alloc::{alloc, alloc_zeroed, Layout};
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};

use super::anno::Anno;
use super::batch::{Batch, Inner, BATCH_CAPACITY};
use super::owner::{self, ExternalBuffer, OwnerId, OwnerRegistration, RegionId, RxBuffer};
use super::{PacketError, MAX_BUFFER_OWNERS, MAX_HEADER_OFFSET};

/// Default number of pool entries (packets that can exist at once).
pub const DEFAULT_ENTRIES: usize = 65536;
/// Default buffer size in bytes: a 1518-byte frame plus headroom fits, and
/// it matches netmap's default buffer size.
pub const DEFAULT_BUF_SIZE: usize = 2048;
/// Default headroom of a fresh packet (see the module doc for the choice).
pub const DEFAULT_HEADROOM: usize = 128;
/// Default size of a large buffer, and so the largest packet: 128 KiB
/// holds a 64 KB GSO frame with its headroom, and `Unstrip(100000)` on a
/// short packet.
pub const DEFAULT_LARGE_BUF_SIZE: usize = 128 * 1024;
/// Default number of large buffers (their memory is mapped on first use,
/// and its pages as they are written: 128 MiB of address space, resident
/// only as far as packets have filled them).
pub const DEFAULT_LARGE_BUFFERS: usize = 1024;
/// Largest buffer of any kind (a large buffer, an external one).
pub const MAX_BUF_SIZE: usize = 1 << 24;
/// Largest small buffer: header marks are 16-bit, and every byte of a small
/// buffer can carry one.
const MAX_SMALL_BUF_SIZE: usize = MAX_HEADER_OFFSET;
/// The `ext_owner` of an entry holding one of the pool's large buffers
/// (`ext_token` is its index). Never a registered owner's id.
const LARGE_OWNER: u16 = u16::MAX;
const _: () = assert!(MAX_BUFFER_OWNERS < LARGE_OWNER as usize);

/// Free entries a thread keeps for itself.
const CACHE_SIZE: usize = 512;
/// Entries moved between a thread cache and the global list at a time.
const CACHE_BULK: usize = 256;

// ---------------------------------------------------------------------------
// Entries

/// What a packet handle owns: its view of a buffer plus annotations.
#[derive(Clone, Copy)]
#[repr(C)]
struct Desc {
    /// Start of the buffer the data lives in (the holder's buffer).
    buf: NonNull<u8>,
    /// The entry whose buffer `buf` is (invariant 2).
    holder: NonNull<Entry>,
    /// Capacity of `buf`.
    cap: u32,
    /// Offset of the first data byte in `buf`.
    head: u32,
    /// Data length; `head + len <= cap`.
    len: u32,
    /// The first buffer byte that is the packet's: `keep_from <= head`.
    /// Bytes before it were never data (a fresh packet's headroom), so a
    /// copy of the packet skips them; bytes from it up to `head` were data
    /// once (a `pull` moved past them) and a copy keeps them, so that a
    /// `push` after the copy brings them back, as in Click.
    keep_from: u32,
    anno: Anno,
}

/// A descriptor's bytes held in registers for a burst of clones
/// ([`Packet::clone_into`]): read once from the template, written to each
/// clone. Copied from the template's entry each time, as `try_clone`
/// does, the descriptor was loaded again for every clone (as far as the
/// compiler knows, a clone's writes may change it): three 32-byte loads a
/// clone. As three vector values the compiler keeps them in registers.
/// `MaybeUninit`: the annotations' last byte is padding.
#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
#[derive(Clone, Copy)]
struct DescImage([MaybeUninit<std::arch::x86_64::__m256i>; 3]);

#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
const _: () =
    assert!(std::mem::size_of::<Desc>() == 3 * std::mem::size_of::<std::arch::x86_64::__m256i>());

#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
impl DescImage {
    /// The bytes of the descriptor at `src`.
    ///
    /// # Safety
    /// `src` must be valid for reads of a `Desc`.
    #[inline(always)]
    unsafe fn read(src: *const Desc) -> DescImage {
        let p = src.cast::<MaybeUninit<std::arch::x86_64::__m256i>>();
        // SAFETY: the three parts make up the `Desc` at `src` (size
        // asserted), valid for reads by the caller's contract; unaligned
        // reads of `MaybeUninit`s take any bytes.
        unsafe {
            DescImage([
                p.read_unaligned(),
                p.add(1).read_unaligned(),
                p.add(2).read_unaligned(),
            ])
        }
    }

    /// Writes the bytes to the descriptor at `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for writes of a `Desc`, and these bytes those of
    /// a valid `Desc` (read by [`read`](Self::read)).
    #[inline(always)]
    unsafe fn write(self, dst: *mut Desc) {
        let p = dst.cast::<MaybeUninit<std::arch::x86_64::__m256i>>();
        let [a, b, c] = self.0;
        // SAFETY: as in `read`, for writes; the bytes are a `Desc`'s.
        unsafe {
            p.write_unaligned(a);
            p.add(1).write_unaligned(b);
            p.add(2).write_unaligned(c);
        }
    }
}

/// [`DescImage`] where 32-byte vectors are not known to be there: the
/// descriptor itself, copied.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx")))]
#[derive(Clone, Copy)]
struct DescImage(Desc);

#[cfg(not(all(target_arch = "x86_64", target_feature = "avx")))]
impl DescImage {
    /// # Safety
    /// `src` must be valid for reads of a `Desc`.
    #[inline(always)]
    unsafe fn read(src: *const Desc) -> DescImage {
        // SAFETY: the caller's contract.
        DescImage(unsafe { ptr::read(src) })
    }

    /// # Safety
    /// `dst` must be valid for writes of a `Desc`.
    #[inline(always)]
    unsafe fn write(self, dst: *mut Desc) {
        // SAFETY: the caller's contract.
        unsafe { ptr::write(dst, self.0) }
    }
}

/// The number of users of a buffer (invariant 3), counted as invariant 5
/// says: the top bit marks a count that has gone atomic.
///
/// Why not always atomic: InfiniteSource and Tee clone on every packet, and
/// a locked read-modify-write per clone would cost more than the rest of
/// the path; while one thread has all the users, a plain load and store is
/// exact. Once a clone crosses, both threads update with atomics; clones
/// and frees are batched (one update per run of clones of one packet), so
/// the count's line moves between the cores once per batch, not per packet.
struct RefCount(AtomicU32);

/// The mark of a count shared across threads.
const ACROSS_THREADS: u32 = 1 << 31;

/// The count of a free entry (invariant 3): that of a fresh packet or a
/// clone, counted plainly.
const FREE_REFS: u32 = 1;

impl RefCount {
    const fn new(n: u32) -> RefCount {
        RefCount(AtomicU32::new(n))
    }

    /// The count. Acquire: when it reads 1, the other threads' releases of
    /// the buffer (their reads of it) happen before what we do next.
    #[inline(always)]
    fn get(&self) -> u32 {
        self.0.load(Acquire) & !ACROSS_THREADS
    }

    /// Sets the count of an entry nobody else can reach (its last user),
    /// going back to plain counting.
    #[inline(always)]
    fn reset(&self, n: u32) {
        self.0.store(n, Relaxed);
    }

    /// Whether the count is a free entry's ([`FREE_REFS`]), for the debug
    /// checks of the entries taken from a free list.
    #[inline(always)]
    fn is_free_count(&self) -> bool {
        self.0.load(Relaxed) == FREE_REFS
    }

    /// Adds `n` users; the caller holds one, so the count stays above 0.
    #[inline(always)]
    fn add(&self, n: u32) {
        let v = self.0.load(Relaxed);
        if v & ACROSS_THREADS == 0 {
            self.0.store(v + n, Relaxed);
        } else {
            self.0.fetch_add(n, Relaxed);
        }
    }

    /// Drops `n` users the caller held; true if they were the last ones
    /// (the entry is then the caller's alone, to free, and its count is
    /// already a free entry's, [`FREE_REFS`]: the last of one user, the
    /// common case, writes nothing).
    #[inline(always)]
    fn sub(&self, n: u32) -> bool {
        let v = self.0.load(Relaxed);
        if v & ACROSS_THREADS == 0 {
            if v == n {
                if n != FREE_REFS {
                    self.0.store(FREE_REFS, Relaxed);
                }
                return true;
            }
            self.0.store(v - n, Relaxed);
            return false;
        }
        let before = self.0.fetch_sub(n, Release) & !ACROSS_THREADS;
        if before == n {
            // Every other thread's release happens before the free; the
            // entry is ours alone now, counted plainly again.
            fence(Acquire);
            self.0.store(FREE_REFS, Relaxed);
        }
        before == n
    }

    /// Switches to atomic counting, before a user crosses to another
    /// thread; the caller's thread has every user until then.
    #[inline]
    fn go_across_threads(&self) {
        let v = self.0.load(Relaxed);
        if v & ACROSS_THREADS == 0 {
            self.0.store(v | ACROSS_THREADS, Relaxed);
        }
    }
}

/// One pool slot: 128 bytes, two cache lines (descriptor, annotations).
#[repr(C, align(64))]
struct Entry {
    /// Invariant 3.
    refs: RefCount,
    /// Index of the entry in the pool (constant).
    index: u32,
    /// This entry's own pool buffer (constant).
    own_buf: NonNull<u8>,
    /// When the entry holds an external buffer: the owner's token.
    ext_token: Cell<u64>,
    /// Capacity of `own_buf` (constant).
    own_cap: u32,
    /// When the entry holds an external buffer: its [`OwnerId`] (0 = none).
    ext_owner: Cell<u16>,
    /// The descriptor, owned by the entry's handle (invariant 1).
    state: UnsafeCell<Desc>,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 128);

/// A free-list slot. `NonNull` is `!Send`; free entries belong to nobody.
#[derive(Clone, Copy)]
struct FreeEntry(NonNull<Entry>);
// SAFETY: a free entry is referenced by no handle or descriptor; whoever pops
// it from a list owns it exclusively, whatever the thread.
unsafe impl Send for FreeEntry {}

// ---------------------------------------------------------------------------
// The pool

/// Pool sizing, given to [`PacketPool::init_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Number of entries (packets and clones alive at once).
    pub entries: usize,
    /// Size of each entry's own (small) buffer in bytes, 64 to 65534.
    pub buf_size: usize,
    /// Headroom of a packet made by [`Packet::new`](super::Packet::new).
    pub headroom: usize,
    /// Number of large buffers, for packets that do not fit a small one
    /// (0: none, and `buf_size` is the largest packet).
    pub large_buffers: usize,
    /// Size of a large buffer in bytes, at least `buf_size` and at most
    /// [`MAX_BUF_SIZE`]: the largest packet, headroom included.
    pub large_buf_size: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            entries: DEFAULT_ENTRIES,
            buf_size: DEFAULT_BUF_SIZE,
            headroom: DEFAULT_HEADROOM,
            large_buffers: DEFAULT_LARGE_BUFFERS,
            large_buf_size: DEFAULT_LARGE_BUF_SIZE,
        }
    }
}

/// Errors of pool set-up and buffer-owner registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// The pool was already initialised (explicitly or by first use).
    AlreadyInitialized,
    /// The configuration is out of range; the text says which field.
    InvalidConfig(&'static str),
    /// The allocation of the pool memory failed.
    OutOfMemory,
    /// [`MAX_BUFFER_OWNERS`] owners are already registered.
    TooManyOwners,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::AlreadyInitialized => write!(f, "packet pool already initialised"),
            PoolError::InvalidConfig(what) => write!(f, "invalid packet pool config: {what}"),
            PoolError::OutOfMemory => write!(f, "cannot allocate the packet pool"),
            PoolError::TooManyOwners => write!(f, "too many buffer owners registered"),
        }
    }
}

impl std::error::Error for PoolError {}

struct Pool {
    config: PoolConfig,
    free: Mutex<Vec<FreeEntry>>,
    /// The large buffers, mapped on first use (`None` inside if there are
    /// none or the mapping failed).
    large: OnceLock<Option<LargePool>>,
    /// Statistics blocks of the live thread caches.
    caches: Mutex<Vec<Arc<CacheStats>>>,
    /// Counts of caches of threads that exited, and of frees done without a
    /// cache (during thread teardown).
    retired_allocs: AtomicU64,
    retired_frees: AtomicU64,
    alloc_failures: AtomicU64,
}

// SAFETY: the pool's raw memory (entries, small and large buffers) is
// reached only through entries, whose sharing rules are invariants 1-5; the
// free lists are behind mutexes.
unsafe impl Sync for Pool {}
// SAFETY: as above; the pool is never dropped anyway (it is 'static).
unsafe impl Send for Pool {}

static POOL: OnceLock<Pool> = OnceLock::new();

impl Pool {
    fn new(config: PoolConfig) -> Result<Pool, PoolError> {
        let PoolConfig {
            entries: n,
            buf_size,
            headroom,
            large_buffers,
            large_buf_size,
        } = config;
        if n == 0 || n > u32::MAX as usize {
            return Err(PoolError::InvalidConfig("entries must be in 1..2^32"));
        }
        if !(64..=MAX_SMALL_BUF_SIZE).contains(&buf_size) {
            return Err(PoolError::InvalidConfig("buf_size must be in 64..=65534"));
        }
        if headroom >= buf_size {
            return Err(PoolError::InvalidConfig("headroom must be below buf_size"));
        }
        if large_buffers > u32::MAX as usize {
            return Err(PoolError::InvalidConfig("large_buffers must be below 2^32"));
        }
        if large_buffers > 0 && !(buf_size..=MAX_BUF_SIZE).contains(&large_buf_size) {
            return Err(PoolError::InvalidConfig(
                "large_buf_size must be in buf_size..=MAX_BUF_SIZE",
            ));
        }
        let entries_layout = Layout::array::<Entry>(n).map_err(|_| PoolError::OutOfMemory)?;
        // Buffers are page-aligned, but asked for with the allocator's
        // natural alignment plus a page of slack: a zeroed allocation of
        // that kind is an anonymous mapping the kernel zeroes lazily, page
        // by page as buffers are first used, whereas an over-aligned one is
        // memset up front (over 100 MB, a third of a second at start).
        const PAGE: usize = 4096;
        let bufs_layout = n
            .checked_mul(buf_size)
            .and_then(|size| size.checked_add(PAGE))
            .and_then(|size| Layout::from_size_align(size, 16).ok())
            .ok_or(PoolError::OutOfMemory)?;
        // SAFETY: both layouts have a non-zero size (n >= 1, buf_size >= 64).
        // The memory is never freed: the pool lives for the whole process.
        let (entries, bufs) = unsafe { (alloc(entries_layout), alloc_zeroed(bufs_layout)) };
        let entries = NonNull::new(entries.cast::<Entry>()).ok_or(PoolError::OutOfMemory)?;
        let bufs = NonNull::new(bufs).ok_or(PoolError::OutOfMemory)?;
        // SAFETY: the slack page keeps the aligned start and the n buffers
        // after it inside the allocation.
        let bufs = unsafe { bufs.add(bufs.as_ptr().align_offset(PAGE)) };
        let mut free = Vec::new();
        free.try_reserve_exact(n)
            .map_err(|_| PoolError::OutOfMemory)?;
        for i in (0..n).rev() {
            // SAFETY: i < n, so both offsets are inside their allocations,
            // and `ptr::write` initialises the entry without reading it.
            unsafe {
                let e = entries.add(i);
                let own_buf = bufs.add(i * buf_size);
                ptr::write(
                    e.as_ptr(),
                    Entry {
                        refs: RefCount::new(FREE_REFS),
                        index: i as u32,
                        own_buf,
                        ext_token: Cell::new(0),
                        own_cap: buf_size as u32,
                        ext_owner: Cell::new(0),
                        state: UnsafeCell::new(Desc {
                            buf: own_buf,
                            holder: e,
                            cap: buf_size as u32,
                            head: 0,
                            len: 0,
                            keep_from: 0,
                            anno: Anno::DEFAULT,
                        }),
                    },
                );
                free.push(FreeEntry(e));
            }
        }
        Ok(Pool {
            config,
            free: Mutex::new(free),
            large: OnceLock::new(),
            caches: Mutex::new(Vec::new()),
            retired_allocs: AtomicU64::new(0),
            retired_frees: AtomicU64::new(0),
            alloc_failures: AtomicU64::new(0),
        })
    }

    /// The large buffers, mapped by the first caller.
    #[cold]
    fn large(&self) -> Option<&LargePool> {
        self.large
            .get_or_init(|| LargePool::new(self.config.large_buffers, self.config.large_buf_size))
            .as_ref()
    }

    /// The largest packet, headroom included: a large buffer, or a small
    /// one when there are none.
    fn max_buf(&self) -> usize {
        if self.config.large_buffers > 0 {
            self.config.large_buf_size
        } else {
            self.config.buf_size
        }
    }

    fn free_list(&self) -> std::sync::MutexGuard<'_, Vec<FreeEntry>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frees an entry straight to the global list (no thread cache).
    fn push_global(&self, e: NonNull<Entry>) {
        self.free_list().push(FreeEntry(e));
        self.retired_frees.fetch_add(1, Relaxed);
    }

    /// Allocates straight from the global list (no thread cache).
    fn pop_global(&self) -> Option<NonNull<Entry>> {
        let e = self.free_list().pop().map(|f| f.0);
        match e {
            Some(_) => self.retired_allocs.fetch_add(1, Relaxed),
            None => self.alloc_failures.fetch_add(1, Relaxed),
        };
        e
    }
}

#[inline]
fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool::new(PoolConfig::default()).expect("default packet pool"))
}

// ---------------------------------------------------------------------------
// Large buffers

/// The pool's large buffers: one region of `count` buffers of `size`
/// bytes, zeroed lazily by the kernel like the small ones, and a free list
/// of their indexes. An entry whose packet does not fit its own buffer
/// borrows one (`ext_owner == LARGE_OWNER`, `ext_token` its index) and
/// gives it back when its `refs` reaches 0, as with an external buffer.
/// Large packets are rare and each costs a copy of kilobytes, so the free
/// list is a plain mutex, taken once per buffer taken and once per batch
/// of buffers given back.
struct LargePool {
    bufs: NonNull<u8>,
    size: usize,
    free: Mutex<Vec<u32>>,
}

impl LargePool {
    fn new(count: usize, size: usize) -> Option<LargePool> {
        if count == 0 {
            return None;
        }
        let layout = count
            .checked_mul(size)
            .and_then(|n| Layout::from_size_align(n, 16).ok())?;
        let mut free = Vec::new();
        free.try_reserve_exact(count).ok()?;
        free.extend((0..count as u32).rev());
        // SAFETY: the layout's size is not zero (count >= 1, size >= 64).
        // The memory is never freed: the pool lives for the whole process.
        let bufs = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        Some(LargePool {
            bufs,
            size,
            free: Mutex::new(free),
        })
    }

    fn free_list(&self) -> std::sync::MutexGuard<'_, Vec<u32>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a free large buffer: its index and start.
    fn pop(&self) -> Option<(u32, NonNull<u8>)> {
        let i = self.free_list().pop()?;
        Some((i, self.buf(i)))
    }

    fn buf(&self, i: u32) -> NonNull<u8> {
        // SAFETY: indexes on the free list are below `count`, so the offset
        // is inside the region.
        unsafe { self.bufs.add(i as usize * self.size) }
    }

    /// Gives back large buffers whose holders' last user is gone.
    fn give_back(&self, indexes: impl IntoIterator<Item = u32>) {
        self.free_list().extend(indexes);
    }

    fn in_use(&self, count: usize) -> usize {
        count - self.free_list().len()
    }
}

/// Gives the fresh entry `en` (just popped: exclusively the caller's) a
/// buffer of at least `need` bytes: its own, or a large one that it then
/// holds (`ext_owner`, `ext_token`). Returns the buffer and its capacity.
/// On error `en` holds nothing new and the caller frees it.
fn attach_buffer(en: &Entry, need: usize) -> Result<(NonNull<u8>, u32), PacketError> {
    if need <= en.own_cap as usize {
        return Ok((en.own_buf, en.own_cap));
    }
    attach_large(en, need)
}

#[cold]
#[inline(never)]
fn attach_large(en: &Entry, need: usize) -> Result<(NonNull<u8>, u32), PacketError> {
    let p = pool();
    let max = p.max_buf();
    if need > max {
        return Err(PacketError::TooLong { len: need, max });
    }
    let Some((i, buf)) = p.large().and_then(LargePool::pop) else {
        p.alloc_failures.fetch_add(1, Relaxed);
        return Err(PacketError::PoolExhausted);
    };
    en.ext_owner.set(LARGE_OWNER);
    en.ext_token.set(i as u64);
    Ok((buf, p.config.large_buf_size as u32))
}

// ---------------------------------------------------------------------------
// Per-thread caches

/// Counters of one thread cache, readable by [`PacketPool::stats`]. Written
/// only by the owning thread with relaxed stores (plain moves on x86, no
/// read-modify-write): `cached` at every operation, so the free count is
/// exact whenever the threads are quiet; the totals at refill/flush time
/// only, so they lag by less than `CACHE_BULK` operations per thread.
#[derive(Default)]
struct CacheStats {
    cached: AtomicUsize,
    allocs: AtomicU64,
    frees: AtomicU64,
}

struct LocalCache {
    len: usize,
    allocs: u64,
    frees: u64,
    stats: Arc<CacheStats>,
    /// Buffers the batch free under way will give back at its end.
    releases: Releases,
    stack: [NonNull<Entry>; CACHE_SIZE],
}

/// A thread's free-entry cache. Its methods never keep a `&mut LocalCache`
/// across a call out of this file (an owner's release hook may free packets
/// and so re-enter the cache).
struct Cache(UnsafeCell<LocalCache>);

thread_local! {
    static CACHE: Cache = Cache::new();
}

impl Cache {
    fn new() -> Cache {
        let stats = Arc::new(CacheStats::default());
        let p = pool();
        p.caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(stats.clone());
        Cache(UnsafeCell::new(LocalCache {
            len: 0,
            allocs: 0,
            frees: 0,
            stats,
            releases: Releases::new(),
            stack: [NonNull::dangling(); CACHE_SIZE],
        }))
    }

    #[inline]
    #[allow(clippy::mut_from_ref)]
    fn local(&self) -> &mut LocalCache {
        // SAFETY: the cache is thread-local, and every method of `Cache`
        // drops this borrow before returning without calling out, so no two
        // `&mut LocalCache` exist at once (no re-entrancy inside).
        unsafe { &mut *self.0.get() }
    }

    /// Takes a free entry (exclusively ours, its count [`FREE_REFS`]) or
    /// `None` if the pool is exhausted.
    #[inline]
    fn pop(&self) -> Option<NonNull<Entry>> {
        let c = self.local();
        if c.len == 0 && !c.refill() {
            pool().alloc_failures.fetch_add(1, Relaxed);
            return None;
        }
        let len = c.len - 1;
        let e = c.stack[len];
        c.len = len;
        c.allocs += 1;
        c.stats.cached.store(len, Relaxed);
        Some(e)
    }

    /// Takes up to `dst.len()` free entries at once (fewer if the pool is
    /// running out); returns how many were written to the front of `dst`.
    #[inline]
    fn pop_into(&self, dst: &mut [NonNull<Entry>]) -> usize {
        let want = dst.len();
        let mut slots = dst.iter_mut();
        // SAFETY: the closure writes to `dst` only, never to the cache.
        unsafe {
            self.pop_each(want, |e| {
                if let Some(slot) = slots.next() {
                    *slot = e;
                }
            })
        }
    }

    /// Takes up to `want` free entries at once (fewer if the pool is
    /// running out) and gives each to `f`, in the order `pop_into` writes
    /// them, straight from the cache's stack: no copy of them to a list of
    /// the caller's first. Returns how many.
    ///
    /// # Safety
    /// `f` must not use this thread's cache (allocate or free a packet):
    /// the cache is borrowed while it runs.
    #[inline(always)]
    unsafe fn pop_each(&self, want: usize, mut f: impl FnMut(NonNull<Entry>)) -> usize {
        let c = self.local();
        if c.len < want {
            c.refill();
        }
        let n = want.min(c.len);
        if n < want {
            pool().alloc_failures.fetch_add(1, Relaxed);
        }
        let from = c.len - n;
        c.len = from;
        c.allocs += n as u64;
        c.stats.cached.store(from, Relaxed);
        for &e in &c.stack[from..from + n] {
            f(e);
        }
        n
    }

    /// Returns entries whose last users just went (at most `CACHE_BULK`).
    #[inline]
    fn push_many(&self, src: &[NonNull<Entry>]) {
        let c = self.local();
        if c.len + src.len() > CACHE_SIZE {
            c.flush(CACHE_BULK);
        }
        let len = c.len;
        c.stack[len..len + src.len()].copy_from_slice(src);
        c.len = len + src.len();
        c.frees += src.len() as u64;
        c.stats.cached.store(c.len, Relaxed);
    }

    /// Defers the give-back of the external or large buffer of `hr`, whose
    /// last user a batch free just dropped, to the free's
    /// [`finish_releases`](Self::finish_releases) (`hr` holds nothing
    /// afterwards).
    #[cold]
    #[inline(never)]
    fn defer_release(&self, hr: &Entry) {
        if self.local().releases.n == RELEASES {
            self.give_back_releases();
        }
        self.local().releases.push(hr);
    }

    /// Gives back the buffers deferred since the last call, one call per
    /// owner: at the end of a batch free. A free that deferred nothing
    /// (every batch of pool packets) pays a test of the count, two
    /// instructions a batch. (A list on the free's stack cost four, a
    /// `SmallVec` six, and moving one by value a 520-byte `memcpy`.
    /// Lowering the room that `push_many` checks, so that its test covered
    /// both, needed the run's last unref moved before it, and that order
    /// cost the free loop about 100 instructions a batch as compiled.)
    #[inline(always)]
    fn finish_releases(&self) {
        if self.local().releases.n != 0 {
            self.give_back_releases();
        }
    }

    #[cold]
    #[inline(never)]
    fn give_back_releases(&self) {
        // Out of the cache first: the owners' hooks may free packets.
        let mut releases = Releases::new();
        std::mem::swap(&mut releases, &mut self.local().releases);
        releases.give_back();
    }

    /// Returns an entry whose last user just went.
    #[inline]
    fn push(&self, e: NonNull<Entry>) {
        let c = self.local();
        if c.len == CACHE_SIZE {
            c.flush(CACHE_BULK);
        }
        let len = c.len;
        c.stack[len] = e;
        c.len = len + 1;
        c.frees += 1;
        c.stats.cached.store(len + 1, Relaxed);
    }
}

impl LocalCache {
    #[cold]
    fn refill(&mut self) -> bool {
        let mut free = pool().free_list();
        let n = free.len().min(CACHE_BULK);
        let from = free.len() - n;
        for (slot, f) in self.stack[self.len..].iter_mut().zip(free.drain(from..)) {
            *slot = f.0;
        }
        self.len += n;
        drop(free);
        self.publish();
        n > 0
    }

    #[cold]
    fn flush(&mut self, n: usize) {
        let n = n.min(self.len);
        let from = self.len - n;
        pool()
            .free_list()
            .extend(self.stack[from..self.len].iter().map(|&e| FreeEntry(e)));
        self.len = from;
        self.publish();
    }

    /// Publishes the counters for [`PacketPool::stats`].
    fn publish(&self) {
        self.stats.cached.store(self.len, Relaxed);
        self.stats.allocs.store(self.allocs, Relaxed);
        self.stats.frees.store(self.frees, Relaxed);
    }
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        self.flush(self.len);
        let p = pool();
        let mut caches = p.caches.lock().unwrap_or_else(|e| e.into_inner());
        p.retired_allocs.fetch_add(self.allocs, Relaxed);
        p.retired_frees.fetch_add(self.frees, Relaxed);
        caches.retain(|s| !Arc::ptr_eq(s, &self.stats));
    }
}

/// Where freed entries go: the thread cache, or the global list when the
/// thread's cache is already destroyed (thread teardown).
trait Sink {
    fn put(&self, e: NonNull<Entry>);
}

impl Sink for Cache {
    #[inline]
    fn put(&self, e: NonNull<Entry>) {
        self.push(e)
    }
}

impl Sink for Pool {
    fn put(&self, e: NonNull<Entry>) {
        self.push_global(e)
    }
}

#[inline]
fn pop_entry() -> Option<NonNull<Entry>> {
    CACHE
        .try_with(|c| c.pop())
        .unwrap_or_else(|_| pool().pop_global())
}

// ---------------------------------------------------------------------------
// External and large buffers given back by batch frees

/// Most buffers one batch operation gives back: a batch free frees at most
/// one holder per packet.
const RELEASES: usize = BATCH_CAPACITY;

/// The external and large buffers that one batch free freed, given back
/// together once the entries are free: each owner's hook is called once
/// with all its tokens, the large buffers go back with one lock.
///
/// It lives in the thread's cache ([`Cache::defer_release`]), its arrays
/// uninitialised, so that a batch free that gives back nothing (every
/// batch of pool packets) pays only a test of its count
/// ([`Cache::finish_releases`]).
struct Releases {
    n: usize,
    owners: [MaybeUninit<u16>; RELEASES],
    tokens: [MaybeUninit<u64>; RELEASES],
}

impl Releases {
    const fn new() -> Releases {
        Releases {
            n: 0,
            owners: [MaybeUninit::uninit(); RELEASES],
            tokens: [MaybeUninit::uninit(); RELEASES],
        }
    }

    /// Takes the external or large buffer of the holder `hr`, whose last
    /// user is gone; `hr` holds nothing afterwards. The caller makes room.
    fn push(&mut self, hr: &Entry) {
        self.owners[self.n].write(hr.ext_owner.replace(0));
        self.tokens[self.n].write(hr.ext_token.get());
        self.n += 1;
    }

    /// Gives back what was deferred, one call per owner.
    fn give_back(&mut self) {
        let n = std::mem::take(&mut self.n);
        // SAFETY: `push` wrote the first `n` of both arrays (and `n` is at
        // most their length); `MaybeUninit<T>` has `T`'s layout.
        let (owners, tokens) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.owners.as_mut_ptr().cast::<u16>(), n),
                std::slice::from_raw_parts(self.tokens.as_ptr().cast::<u64>(), n),
            )
        };
        let mut same = [0u64; RELEASES];
        for i in 0..n {
            let owner = owners[i];
            if owner == 0 {
                continue; // given back with an earlier one
            }
            let mut k = 0;
            for j in i..n {
                if owners[j] == owner {
                    same[k] = tokens[j];
                    k += 1;
                    owners[j] = 0;
                }
            }
            give_back(owner, &same[..k]);
        }
    }
}

/// Gives the buffers `tokens` of `owner` (a registered owner, or
/// [`LARGE_OWNER`]) back: the owner's release hook, once, or the large
/// free list.
fn give_back(owner: u16, tokens: &[u64]) {
    if owner == LARGE_OWNER {
        if let Some(large) = pool().large() {
            large.give_back(tokens.iter().map(|&t| t as u32));
        }
    } else {
        owner::give_back(owner, tokens);
    }
}

// ---------------------------------------------------------------------------
// Packet handle

/// A packet: an 8-byte owned handle to a pool entry.
///
/// `!Send` (a buffer's refcount is a plain integer while its users are on
/// one thread): to move a packet to another thread use
/// [`Packet::into_send`]. Dropping it returns the entry (and the
/// buffer, once no clone uses it) to the pool. See the [module
/// doc](super) for the API.
#[repr(transparent)]
pub struct Packet {
    e: NonNull<Entry>,
    _not_send: PhantomData<*mut ()>,
}

const _: () = assert!(std::mem::size_of::<Option<Packet>>() == 8);

impl Packet {
    #[inline]
    fn from_entry(e: NonNull<Entry>) -> Packet {
        Packet {
            e,
            _not_send: PhantomData,
        }
    }

    #[inline]
    fn entry(&self) -> &Entry {
        // SAFETY: a live handle's entry is allocated (refs >= 1) and pool
        // memory is never freed.
        unsafe { self.e.as_ref() }
    }

    #[inline]
    fn st(&self) -> &Desc {
        // SAFETY: invariant 1: only this handle touches `state`, and it is
        // borrowed shared here for as long as `self` is.
        unsafe { &*self.entry().state.get() }
    }

    #[inline]
    fn st_mut(&mut self) -> &mut Desc {
        // SAFETY: invariant 1, with `&mut self` making the borrow unique.
        unsafe { &mut *self.entry().state.get() }
    }

    /// A fresh packet whose data window is `len` bytes at `head` (bytes
    /// left from earlier packets: the caller writes them), in its entry's
    /// own buffer if they fit, or else in a large one; default annotations.
    /// Fails if the pool (or the large buffers) are exhausted, or with
    /// [`PacketError::TooLong`] past the largest buffer.
    #[inline]
    pub(super) fn alloc_sized(head: usize, len: usize) -> Result<Packet, PacketError> {
        let need = head.saturating_add(len);
        if need > pool().config.buf_size {
            return Self::alloc_large(head, len);
        }
        let e = pop_entry().ok_or(PacketError::PoolExhausted)?;
        // SAFETY: a popped entry is free: no handle or clone uses it, so we
        // may initialise it (invariant 3 then holds: its refs is already
        // 1); head + len fits its own buffer (checked above: every entry's
        // own buffer is `buf_size` bytes).
        unsafe {
            let en = e.as_ref();
            debug_assert!(en.refs.is_free_count());
            init_state(en, e, en.own_buf, en.own_cap, head as u32, len as u32);
            (*en.state.get()).anno = Anno::DEFAULT;
        }
        Ok(Packet::from_entry(e))
    }

    #[cold]
    #[inline(never)]
    fn alloc_large(head: usize, len: usize) -> Result<Packet, PacketError> {
        let need = head.saturating_add(len);
        let max = pool().max_buf();
        if need > max {
            return Err(PacketError::TooLong { len: need, max });
        }
        let e = pop_entry().ok_or(PacketError::PoolExhausted)?;
        // SAFETY: popped, exclusively ours.
        let en = unsafe { e.as_ref() };
        let (buf, cap) = match attach_buffer(en, need) {
            Ok(b) => b,
            Err(err) => {
                free_entry(e);
                return Err(err);
            }
        };
        debug_assert!(en.refs.is_free_count());
        // SAFETY: exclusively ours; head + len <= need <= cap.
        unsafe {
            init_state(en, e, buf, cap, head as u32, len as u32);
            (*en.state.get()).anno = Anno::DEFAULT;
        }
        Ok(Packet::from_entry(e))
    }

    /// Headroom of packets made by `Packet::new` (from the pool config).
    #[inline]
    pub(super) fn default_headroom() -> usize {
        pool().config.headroom
    }

    /// Size of an entry's own (small) buffer (from the pool config).
    #[inline]
    pub(super) fn small_buf_size() -> usize {
        pool().config.buf_size
    }

    /// The largest packet, headroom included.
    #[inline]
    pub(super) fn max_buf_size() -> usize {
        pool().max_buf()
    }

    /// Makes a clone of `self` in a free entry: same buffer and bounds,
    /// annotations copied (one memcpy of the descriptor).
    /// The caller must then add 1 to the holder's refs (per clone made:
    /// `clone_into` adds them all at once, saving a chain of dependent
    /// read-modify-writes on one counter).
    #[inline(always)]
    fn clone_into_entry(&self, e: NonNull<Entry>) -> Packet {
        // SAFETY: `e` was just popped (free, exclusively ours; its refs is
        // already 1, a clone entry's), so we may write its state; `self`'s
        // state is ours to read (invariant 1); they are different entries,
        // so the copy does not overlap.
        unsafe {
            let en = e.as_ref();
            debug_assert!(en.refs.is_free_count());
            ptr::copy_nonoverlapping(self.entry().state.get(), en.state.get(), 1);
        }
        Packet::from_entry(e)
    }

    /// Adds `n` users to this packet's buffer holder.
    #[inline(always)]
    fn add_holder_refs(&self, n: u32) {
        // SAFETY: the holder is live while `self` is (invariant 3); we only
        // touch its refs (invariant 1).
        let h = unsafe { self.st().holder.as_ref() };
        h.refs.add(n);
    }

    /// A clone sharing this packet's buffer (Click's `clone()`), with the
    /// annotations copied. `None` if the pool is exhausted. No data copy.
    #[inline]
    pub fn try_clone(&self) -> Option<Packet> {
        let e = pop_entry()?;
        let c = self.clone_into_entry(e);
        self.add_holder_refs(1);
        Some(c)
    }

    /// Appends up to `n` clones of `self` to `out` (with one thread-local
    /// access), stopping when `out` is full or the pool is exhausted.
    /// Returns how many were added.
    pub fn clone_into(&self, n: usize, out: &mut Batch) -> usize {
        let pkts = out.inner_mut();
        let len = pkts.len();
        let n = n.min(BATCH_CAPACITY - len);
        assert!(pkts.capacity() >= len + n);
        let mut slot = pkts.as_mut_ptr().wrapping_add(len);
        // SAFETY: our own state (invariant 1), read once for all clones.
        let image = unsafe { DescImage::read(self.entry().state.get()) };
        // The entries go from the cache's stack straight into clones: a
        // list of them copied out first cost its initialisation and a
        // `memcpy` call per batch.
        let made = CACHE
            .try_with(|c| {
                // SAFETY: the closure only writes the fresh entries and
                // the batch's storage: it does not use the cache.
                unsafe {
                    c.pop_each(n, |e| {
                        // SAFETY: `e` was just popped (free, exclusively
                        // ours; its refs is already 1, a clone entry's),
                        // so we may write its state. At most n calls, so
                        // the slot is one of the n after `len`, inside the
                        // batch's storage (asserted) and past its length:
                        // this overwrites no handle.
                        debug_assert!(e.as_ref().refs.is_free_count());
                        image.write(e.as_ref().state.get());
                        slot.write(Packet::from_entry(e));
                        slot = slot.add(1);
                    })
                }
            })
            .unwrap_or(0);
        // SAFETY: the `made` slots after `len` were just initialised.
        unsafe { pkts.set_len(len + made) };
        self.add_holder_refs(made as u32);
        made
    }

    /// Data offset in the buffer (the headroom).
    #[inline]
    pub fn headroom(&self) -> usize {
        self.st().head as usize
    }

    /// Data length.
    #[inline]
    pub fn len(&self) -> usize {
        self.st().len as usize
    }

    /// Whether the packet has no data.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.st().len == 0
    }

    /// Capacity of the buffer the data lives in.
    #[inline]
    pub fn buffer_capacity(&self) -> usize {
        self.st().cap as usize
    }

    /// Bytes free after the data.
    #[inline]
    pub fn tailroom(&self) -> usize {
        let s = self.st();
        (s.cap - s.head - s.len) as usize
    }

    /// Moves the data window within the buffer. Panics unless
    /// `head + len <= buffer_capacity()`. Any window is safe to read since
    /// every buffer byte is initialised.
    #[inline]
    pub(super) fn set_window(&mut self, head: usize, len: usize) {
        let s = self.st_mut();
        assert!(
            head <= s.cap as usize && len <= s.cap as usize - head,
            "packet window out of buffer"
        );
        s.head = head as u32;
        s.len = len as u32;
        s.keep_from = s.keep_from.min(head as u32);
    }

    /// Removes `n <= len()` bytes from the front of the window (`pull`).
    /// The window's end does not move, so it stays in the buffer, and the
    /// head only grows, so `keep_from <= head` still holds: unlike
    /// `set_window`, nothing is checked (9 instructions a packet on a
    /// Strip).
    ///
    /// The head and the length are adjacent `u32`s: read as one
    /// little-endian `u64`, `head + len * 2^32`, the pull adds `n * (1 -
    /// 2^32)` to it (wrapping), one multiply and one add to memory where
    /// the two fields' updates took five (the compiler made the length's
    /// a saturating subtract, with its own load and store): Strip's loop
    /// went from 9 instructions a packet to 6.
    /// Exact: the result, `head + n` and `len - n` side by side, fits the
    /// word (`head + n <= cap` fits 32 bits, `len - n` is not negative).
    #[inline]
    pub(super) fn shrink_front(&mut self, n: usize) {
        let s = self.st_mut();
        debug_assert!(n <= s.len as usize);
        #[cfg(target_endian = "little")]
        {
            const HEAD: usize = std::mem::offset_of!(Desc, head);
            const _: () = assert!(std::mem::offset_of!(Desc, len) == HEAD + 4);
            let step = (n as u64).wrapping_mul(1u64.wrapping_sub(1 << 32));
            // SAFETY: the 8 bytes at HEAD are `head` then `len` (asserted
            // above), both plain `u32`s inside the descriptor that `s`
            // borrows uniquely, and the pointer is derived from `s` as a
            // whole; unaligned accesses, as HEAD is a multiple of 4 only.
            unsafe {
                let w = ptr::from_mut(s).cast::<u8>().add(HEAD).cast::<u64>();
                w.write_unaligned(w.read_unaligned().wrapping_add(step));
            }
        }
        #[cfg(not(target_endian = "little"))]
        {
            s.head += n as u32;
            s.len -= n as u32;
        }
    }

    /// Shortens the window to `len <= len()` bytes (`take`, `truncate`):
    /// it stays in the buffer and its head does not move.
    #[inline]
    pub(super) fn shrink_to(&mut self, len: usize) {
        let s = self.st_mut();
        debug_assert!(len <= s.len as usize);
        s.len = len as u32;
    }

    /// Prepends `n <= headroom()` bytes to the data of a packet whose
    /// buffer is unique (the caller made it so) and returns them. Panics
    /// if the headroom is shorter.
    #[inline]
    pub(super) fn push_unique_in_headroom(&mut self, n: usize) -> &mut [u8] {
        debug_assert!(!self.is_shared());
        let s = self.st_mut();
        assert!(n <= s.head as usize, "push beyond the headroom");
        let head = s.head - n as u32;
        s.head = head;
        // head + len is unchanged, so the window stays in the buffer.
        s.len += n as u32;
        s.keep_from = s.keep_from.min(head);
        // SAFETY: as in `data_mut` (the buffer is unique, the caller's
        // contract): `head + n <= cap`, inside the buffer.
        unsafe { std::slice::from_raw_parts_mut(s.buf.as_ptr().add(head as usize), n) }
    }

    /// The whole buffer the data lives in (headroom, data, tailroom).
    #[inline]
    pub fn buffer(&self) -> &[u8] {
        let s = self.st();
        // SAFETY: `buf` points to `cap` initialised bytes (pool buffers are
        // zeroed at start; external ones by `from_external`'s contract) that
        // stay allocated while we hold the holder (invariant 3), and nobody
        // writes them while a second descriptor can see them (invariant 4).
        unsafe { std::slice::from_raw_parts(s.buf.as_ptr(), s.cap as usize) }
    }

    /// The buffer's bytes from position `pos` to the end of the data, if
    /// `pos` is not beyond it (a header mark's bytes): one compare, where
    /// slicing [`buffer`](Self::buffer) would check the end again.
    #[inline]
    pub(super) fn buffer_from(&self, pos: usize) -> Option<&[u8]> {
        let s = self.st();
        let end = s.head as usize + s.len as usize;
        if pos > end {
            return None;
        }
        // SAFETY: as in `buffer`, and pos <= end = head + len <= cap
        // (set_window).
        Some(unsafe { std::slice::from_raw_parts(s.buf.as_ptr().add(pos), end - pos) })
    }

    /// The `N` buffer bytes `off` bytes after position `pos`, if they end
    /// within the data: one compare. The bytes' start is compared with the
    /// last start the data allows (`head + len - N`, negative when the
    /// data is shorter than N), in signed 64 bits, where nothing here
    /// can overflow (a 16-bit position, 32-bit offsets and lengths): the
    /// start is then the address's offset too, where comparing the bytes'
    /// end took two more instructions a read (the end's add, and the
    /// start's apart from it).
    #[inline]
    pub(super) fn buffer_bytes<const N: usize>(&self, pos: u16, off: u32) -> Option<&[u8; N]> {
        let s = self.st();
        let last = i64::from(s.head) + i64::from(s.len) - N as i64;
        let start = i64::from(pos) + i64::from(off);
        if start > last {
            return None;
        }
        // SAFETY: as in `buffer`, and the N bytes end at start + N <= head
        // + len <= cap (set_window), so they are inside the buffer; start
        // is not negative (the sum of two unsigned values).
        Some(unsafe { &*s.buf.as_ptr().add(start as usize).cast::<[u8; N]>() })
    }

    /// The data bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let s = self.st();
        // SAFETY: as in `buffer`, and head + len <= cap (set_window).
        unsafe { std::slice::from_raw_parts(s.buf.as_ptr().add(s.head as usize), s.len as usize) }
    }

    /// Whether the buffer is shared with another packet (a clone), in which
    /// case writing needs a copy first ([`Packet::make_unique`]).
    #[inline]
    pub fn is_shared(&self) -> bool {
        // SAFETY: the holder is live while we are; we only read its refs.
        unsafe { self.st().holder.as_ref() }.refs.get() > 1
    }

    /// Makes the buffer exclusively this packet's (Click's `uniqueify`),
    /// copying the data only if the buffer is shared, with the headroom
    /// bytes that were data once, as Click keeps the headroom: bytes a
    /// `pull` moved there come back with a `push` after the copy. A clone
    /// whose data fits a small buffer copies into its own and cannot fail;
    /// a packet whose buffer others share, or a clone of a large packet,
    /// moves to a fresh entry (with a large buffer if needed), which fails
    /// with [`PacketError::PoolExhausted`] if none is left. On error `self`
    /// is unchanged.
    #[inline]
    pub fn make_unique(&mut self) -> Result<(), PacketError> {
        if self.is_shared() {
            self.uniqueify()
        } else {
            Ok(())
        }
    }

    /// The copy of `make_unique`, with the common case first: a clone of
    /// a pool packet (every packet InfiniteSource makes, every Tee output
    /// but the first) copies into its own buffer, which has the same size,
    /// so the data and every header keep their offsets and only the bytes
    /// from `keep_from` to the end of the data move.
    #[inline(never)]
    fn uniqueify(&mut self) -> Result<(), PacketError> {
        let me = self.e;
        let (own_buf, own_cap) = (self.entry().own_buf, self.entry().own_cap);
        let s = self.st_mut();
        let holder = s.holder;
        if holder == me || own_cap != s.cap {
            return self.uniqueify_slow();
        }
        // Headroom bytes that were data too, as Click's uniqueify keeps
        // them: bytes a Strip moved there come back with an Unstrip.
        let span = s.keep_from as usize..(s.head + s.len) as usize;
        copy_buffer_span(s.buf, own_buf, span, own_cap as usize);
        s.buf = own_buf;
        s.holder = me;
        drop_holder_ref(holder);
        Ok(())
    }

    #[cold]
    fn uniqueify_slow(&mut self) -> Result<(), PacketError> {
        let (holder, len) = (self.st().holder, self.st().len);
        let (own_buf, own_cap) = (self.entry().own_buf, self.entry().own_cap);
        if holder != self.e && len <= own_cap {
            // A clone whose data fits its own (unused, invariant 2) buffer:
            // copy there. Our annotations are already ours; only header
            // offsets move.
            let copied = copy_out(self.st(), own_buf, own_cap, None)?;
            let me = self.e;
            let s = self.st_mut();
            s.buf = own_buf;
            s.cap = own_cap;
            s.holder = me;
            s.head = copied.head;
            s.keep_from = copied.valid.start as u32;
            copied.rebase(&mut s.anno);
            drop_holder_ref(holder);
            Ok(())
        } else {
            // We hold the buffer and clones use it, or the data needs a
            // large buffer: move to a fresh entry.
            self.relocate(None, len as usize)
        }
    }

    /// Moves the data (and the headroom bytes that were data, as far as
    /// they fit) to a fresh entry with a buffer of at least `need` bytes
    /// (its own or a large one), at `at` (or at the same offsets when they
    /// fit, else at the end of the buffer), and lets go of the old entry:
    /// the packet is then unique. On error the packet is unchanged.
    #[cold]
    #[inline(never)]
    fn relocate(&mut self, at: Option<usize>, need: usize) -> Result<(), PacketError> {
        let len = self.st().len;
        let f = pop_entry().ok_or(PacketError::PoolExhausted)?;
        // SAFETY: `f` was just popped: free, exclusively ours.
        let fr = unsafe { f.as_ref() };
        let (buf, cap) = match attach_buffer(fr, need.max(len as usize)) {
            Ok(b) => b,
            Err(err) => {
                free_entry(f);
                return Err(err);
            }
        };
        let copied = match copy_out(self.st(), buf, cap, at) {
            Ok(r) => r,
            Err(err) => {
                // Not reached (`need` covers `at`), but if it were: the
                // fresh entry and the large buffer it may hold go back.
                if fr.ext_owner.get() != 0 {
                    release_external(fr);
                }
                free_entry(f);
                return Err(err);
            }
        };
        debug_assert!(fr.refs.is_free_count());
        let mut anno = self.st().anno;
        copied.rebase(&mut anno);
        // SAFETY: `f` is exclusively ours (popped).
        unsafe {
            init_state(fr, f, buf, cap, copied.head, len);
            (*fr.state.get()).keep_from = copied.valid.start as u32;
            (*fr.state.get()).anno = anno;
        }
        // The old entry goes as if its handle were dropped: a clone entry
        // is freed and lets go of its holder; a holder stays alive for the
        // clones still using its buffer, or is freed with its buffer.
        let old = std::mem::replace(&mut self.e, f);
        drop(Packet::from_entry(old));
        Ok(())
    }

    /// Moves the data to a fresh buffer with at least `front` bytes of
    /// headroom and `back` of tailroom, and the default headroom in front
    /// of those as far as the buffer allows (Click's expensive `push` and
    /// `put`, when a buffer is too small). Fails with
    /// [`PacketError::TooLong`] past the largest buffer, or as the pool is
    /// exhausted; the packet is then unchanged.
    #[cold]
    #[inline(never)]
    pub(super) fn grow(&mut self, front: usize, back: usize) -> Result<(), PacketError> {
        let p = pool();
        let max = p.max_buf();
        let total = self.len().saturating_add(front).saturating_add(back);
        if total > max {
            return Err(PacketError::TooLong { len: total, max });
        }
        let cap = if total <= p.config.buf_size {
            p.config.buf_size
        } else {
            max
        };
        let spare = p.config.headroom.min(cap - total);
        self.relocate(Some(spare + front), total + spare)
    }

    /// The whole buffer, writable, after [`make_unique`](Self::make_unique).
    /// Copies of the packet then keep its whole headroom, since bytes
    /// written there may become data with a later `push`.
    #[inline]
    pub fn buffer_mut(&mut self) -> Result<&mut [u8], PacketError> {
        self.make_unique()?;
        let s = self.st_mut();
        s.keep_from = 0;
        // SAFETY: as in `buffer`; and holder.refs == 1 now, so no other
        // descriptor sees this buffer (invariant 4), and `&mut self` makes
        // this borrow the only one.
        Ok(unsafe { std::slice::from_raw_parts_mut(s.buf.as_ptr(), s.cap as usize) })
    }

    /// The data, writable: copies it first if the buffer is shared with a
    /// clone (see [`make_unique`](Self::make_unique) for when that fails).
    #[inline]
    pub fn data_mut(&mut self) -> Result<&mut [u8], PacketError> {
        self.make_unique()?;
        let s = self.st();
        // SAFETY: as in `buffer_mut`, for the data window only (head + len
        // <= cap, set_window).
        Ok(unsafe {
            std::slice::from_raw_parts_mut(s.buf.as_ptr().add(s.head as usize), s.len as usize)
        })
    }

    /// The whole buffer, writable (as `buffer_mut`), for moving the data
    /// within it: the bytes that stay before the new head are not the
    /// packet's, so copies may still skip them.
    #[inline]
    pub(super) fn buffer_for_move(&mut self) -> Result<&mut [u8], PacketError> {
        self.make_unique()?;
        let s = self.st();
        // SAFETY: as in `buffer`; and holder.refs == 1 now, so no other
        // descriptor sees this buffer (invariant 4), and `&mut self` makes
        // this borrow the only one.
        Ok(unsafe { std::slice::from_raw_parts_mut(s.buf.as_ptr(), s.cap as usize) })
    }

    /// The annotations.
    #[inline]
    pub fn anno(&self) -> &Anno {
        &self.st().anno
    }

    /// The annotations, mutable (annotations are per packet, never shared).
    #[inline]
    pub fn anno_mut(&mut self) -> &mut Anno {
        &mut self.st_mut().anno
    }

    /// Index of the pool entry (for debugging and tracing).
    #[inline]
    pub fn entry_index(&self) -> u32 {
        self.entry().index
    }

    /// Makes a packet whose data lives in an external buffer owned by a
    /// registered [`BufferOwner`](super::BufferOwner) (zero-copy receive;
    /// [`Batch::wrap_external`] wraps a batch of them in one call). When
    /// the last packet using the buffer is gone, the owner's release hook
    /// gets `rx.token`. Fails, leaving the buffer the caller's, with
    /// [`PacketError::PoolExhausted`] if the pool has no free entry, or as
    /// [`RxBuffer::check`] says the bounds are wrong.
    ///
    /// # Safety
    /// `rx.buf` must point to `rx.cap` initialised bytes, readable and
    /// writable, that stay valid and that nothing else reads or writes
    /// until the owner's release hook gets `rx.token`, or the buffer is
    /// taken back with [`Packet::into_external`] or
    /// [`Batch::drain_external`].
    pub unsafe fn from_external(
        owner: &OwnerRegistration,
        rx: RxBuffer,
    ) -> Result<Packet, PacketError> {
        rx.check()?;
        let e = pop_entry().ok_or(PacketError::PoolExhausted)?;
        let id = owner.id().get();
        // SAFETY: a popped entry, exclusively ours; the bounds are checked
        // and the buffer's validity is the caller's contract.
        unsafe { init_external(e, id, &rx, Anno::DEFAULT) };
        owner::lent(id, 1);
        Ok(Packet::from_entry(e))
    }

    /// The external buffer the data lives in, if any (whether or not it is
    /// shared with clones).
    pub fn external_buffer(&self) -> Option<ExternalBuffer> {
        let s = self.st();
        // SAFETY: holder live while we are; ext_* are Cells.
        let h = unsafe { s.holder.as_ref() };
        match h.ext_owner.get() {
            0 | LARGE_OWNER => None,
            o => Some(ExternalBuffer {
                owner: OwnerId(o),
                region: owner::region_of(o),
                token: h.ext_token.get(),
                offset: s.head as usize,
                len: s.len as usize,
            }),
        }
    }

    /// Gives the external buffer back to the caller without calling the
    /// owner's release hook (zero-copy transmit: the I/O backend swaps the
    /// buffer into a TX slot), and frees the packet. Fails, returning the
    /// packet, if the data is not in an external buffer or the buffer is
    /// shared with a clone. [`Batch::drain_external`] does this for a
    /// batch, for the buffers of one region.
    pub fn into_external(self) -> Result<ExternalBuffer, Packet> {
        if self.is_shared() {
            return Err(self);
        }
        let Some(ext) = self.external_buffer() else {
            return Err(self);
        };
        let mut freed = [NonNull::dangling(); 2];
        let n = self.give_up_buffer(&mut freed);
        for &e in &freed[..n] {
            free_entry(e);
        }
        owner::returned(ext.owner.get(), 1);
        Ok(ext)
    }

    /// The work of `into_external` once checked (the packet is unique and
    /// its buffer external): clears the holder's external mark, sets the
    /// entries free (the holder and, for a clone, its own) without calling
    /// the owner, and writes them to `freed` for the caller to put back
    /// in the pool. Returns how many.
    fn give_up_buffer(self, freed: &mut [NonNull<Entry>; 2]) -> usize {
        let me = std::mem::ManuallyDrop::new(self);
        let holder = me.st().holder;
        // SAFETY: not shared: holder.refs == 1 and it is ours (either our
        // own entry or a holder whose handle died); clear its external
        // mark, then free both entries without calling the owner. The
        // holder's count goes back to a free entry's (plain, if it had
        // gone atomic); a clone entry's is one already (invariant 3).
        let h = unsafe { holder.as_ref() };
        h.ext_owner.set(0);
        h.refs.reset(FREE_REFS);
        freed[0] = holder;
        if holder == me.e {
            return 1;
        }
        debug_assert!(me.entry().refs.is_free_count());
        freed[1] = me.e;
        2
    }

    /// This packet's buffer if it is an external buffer of `region` that
    /// no clone shares (so it can be given up).
    #[inline]
    fn swappable_in(&self, region: RegionId) -> Option<ExternalBuffer> {
        self.external_buffer()
            .filter(|ext| ext.region == region && !self.is_shared())
    }

    /// Makes the packet sendable to another thread. No copy: if clones
    /// share its buffer, the buffer's count goes atomic (invariant 5), so
    /// clones on both threads count and copy-on-write as before.
    pub fn into_send(self) -> SendPacket {
        // SAFETY: the holder is live while we are; we only touch its refs.
        let h = unsafe { self.st().holder.as_ref() };
        if h.refs.get() > 1 {
            h.refs.go_across_threads();
        }
        let me = std::mem::ManuallyDrop::new(self);
        SendPacket(me.e)
    }

    /// Consumes the packet, returning its entry to the pool (same as drop).
    #[inline]
    pub fn kill(self) {}
}

/// Sets the buffer view of a fresh entry, field by field (building a `Desc`
/// on the stack and copying it made the compiler reload it with misaligned
/// loads that defeat store forwarding: 10 ns per allocation).
///
/// # Safety
/// `en` must be exclusively the caller's (just popped).
#[inline(always)]
unsafe fn init_state(
    en: &Entry,
    holder: NonNull<Entry>,
    buf: NonNull<u8>,
    cap: u32,
    head: u32,
    len: u32,
) {
    // SAFETY: the caller owns `en` exclusively (this function's contract).
    let st = unsafe { &mut *en.state.get() };
    st.buf = buf;
    st.holder = holder;
    st.cap = cap;
    st.head = head;
    st.len = len;
    st.keep_from = head;
}

/// Sets up the fresh entry `e` as the holder of the external buffer `rx`
/// of the owner `id`, with the annotations `anno`.
///
/// # Safety
/// `e` must be exclusively the caller's (just popped), `rx`
/// must have passed [`RxBuffer::check`], and its buffer must be valid as
/// [`Packet::from_external`] requires.
#[inline]
unsafe fn init_external(e: NonNull<Entry>, id: u16, rx: &RxBuffer, anno: Anno) {
    // SAFETY: the caller's contract: `e` is exclusively ours.
    let en = unsafe { e.as_ref() };
    debug_assert!(en.refs.is_free_count());
    en.ext_owner.set(id);
    en.ext_token.set(rx.token);
    // SAFETY: as above; the bounds fit u32 (cap <= MAX_BUF_SIZE, checked).
    unsafe {
        init_state(en, e, rx.buf, rx.cap as u32, rx.head as u32, rx.len as u32);
        (*en.state.get()).anno = anno;
    }
}

/// Wraps received buffers of the owner `id` into packets appended to
/// `pkts`, each with the annotations `anno` gives for its buffer (called
/// only for buffers that passed [`RxBuffer::check`]): the work of
/// [`Batch::wrap_external`] and [`Batch::wrap_frames`].
///
/// # Safety
/// As [`Packet::from_external`], for every buffer of `bufs`.
#[inline(always)]
pub(super) unsafe fn wrap_into(
    id: u16,
    bufs: &[RxBuffer],
    pkts: &mut Inner,
    anno: impl Fn(&RxBuffer) -> Anno,
) -> usize {
    let len = pkts.len();
    let valid = bufs
        .iter()
        .take(BATCH_CAPACITY - len)
        .take_while(|rx| rx.check().is_ok())
        .count();
    let mut entries = [NonNull::dangling(); BATCH_CAPACITY];
    let made = CACHE
        .try_with(|c| c.pop_into(&mut entries[..valid]))
        .unwrap_or(0);
    assert!(pkts.capacity() >= len + made);
    let slots = pkts.as_mut_ptr();
    for (i, (&e, rx)) in entries[..made].iter().zip(bufs).enumerate() {
        // SAFETY: `e` was just popped (exclusively ours), `rx` passed the
        // check, and its buffer is valid by the caller's contract; slot
        // len + i is inside the batch's storage (asserted) and past its
        // length, so this overwrites no handle.
        unsafe {
            init_external(e, id, rx, anno(rx));
            slots.add(len + i).write(Packet::from_entry(e));
        }
    }
    // SAFETY: the `made` slots after `len` were just initialised.
    unsafe { pkts.set_len(len + made) };
    owner::lent(id, made as u64);
    made
}

/// Takes out of `pkts`, in order, the packets whose data is in an external
/// buffer of `region` that no clone shares, giving `f` their buffers
/// (without a release) and the other packets: the work of
/// [`Batch::drain_external`]. The entries given up are freed in one go at
/// the end, and each owner's count is updated once. Inlined, with `f`
/// (see [`Batch::drain_external`]).
#[inline(always)]
pub(super) fn drain_external(
    pkts: &mut Inner,
    region: RegionId,
    mut f: impl FnMut(Result<ExternalBuffer, Packet>),
) {
    let mut taken = Taken::new();
    for p in pkts.drain(..) {
        // One call of `f`, not one per case: LLVM inlines a closure
        // called once, not one called from two places.
        let r = match p.swappable_in(region) {
            Some(ext) => {
                let mut freed = [NonNull::dangling(); 2];
                let n = p.give_up_buffer(&mut freed);
                taken.add(&freed[..n], ext.owner.get());
                Ok(ext)
            }
            None => Err(p),
        };
        f(r);
    }
}

/// The entries and owner counts of a [`drain_external`], settled when it
/// ends (or unwinds).
struct Taken {
    entries: [NonNull<Entry>; 2 * BATCH_CAPACITY],
    n: usize,
    owners: [(u16, u64); 4],
    n_owners: usize,
}

impl Taken {
    fn new() -> Taken {
        Taken {
            entries: [NonNull::dangling(); 2 * BATCH_CAPACITY],
            n: 0,
            owners: [(0, 0); 4],
            n_owners: 0,
        }
    }

    #[inline(always)]
    fn add(&mut self, freed: &[NonNull<Entry>], owner: u16) {
        if self.n + freed.len() > self.entries.len() {
            self.free_entries();
        }
        // One or two entries (a holder, and a clone's own entry): stored
        // one by one, as a copy of a length unknown here (even written as
        // a loop) becomes a call to `memcpy`, once per packet.
        let n = self.n;
        if let [first, rest @ ..] = freed {
            self.entries[n] = *first;
            if let [second, ..] = rest {
                self.entries[n + 1] = *second;
            }
        }
        self.n += freed.len();
        // A batch's buffers mostly come from one owner: the last one
        // counted, first.
        if let Some((o, count)) = self.owners[..self.n_owners].last_mut() {
            if *o == owner {
                *count += 1;
                return;
            }
        }
        self.add_owner(owner);
    }

    #[inline(never)]
    fn add_owner(&mut self, owner: u16) {
        match self.owners[..self.n_owners]
            .iter_mut()
            .find(|(o, _)| *o == owner)
        {
            Some((_, count)) => *count += 1,
            None => {
                if self.n_owners == self.owners.len() {
                    self.settle_owners();
                }
                self.owners[self.n_owners] = (owner, 1);
                self.n_owners += 1;
            }
        }
    }

    fn free_entries(&mut self) {
        let entries = &self.entries[..self.n];
        if CACHE.try_with(|c| c.push_many(entries)).is_err() {
            for &e in entries {
                pool().push_global(e);
            }
        }
        self.n = 0;
    }

    fn settle_owners(&mut self) {
        for &(owner, count) in &self.owners[..self.n_owners] {
            owner::returned(owner, count);
        }
        self.n_owners = 0;
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        self.free_entries();
        self.settle_owners();
    }
}

/// Drops the reference a copy-on-write held to the holder `h` of the buffer
/// it copied. It was shared then, but with clones on other threads
/// (counting atomically) the others may all have gone since, so this may
/// be the last reference: then the entry is freed.
fn drop_holder_ref(h: NonNull<Entry>) {
    if CACHE.try_with(|c| unref_holder(c, h)).is_err() {
        unref_holder(pool(), h);
    }
}

/// Frees an entry (its count already [`FREE_REFS`]) into this thread's cache, or the global
/// list during thread teardown.
fn free_entry(e: NonNull<Entry>) {
    if CACHE.try_with(|c| c.push(e)).is_err() {
        pool().push_global(e);
    }
}

/// Copies the data of `src` (plus as much of its headroom from `keep_from`
/// as fits) into the buffer `dst` of `cap` bytes: with the data at `at`
/// when given, else at the same offsets when they fit, else at the end.
/// Returns the new head and how header offsets move. `dst` must be a
/// buffer no descriptor can see.
fn copy_out(
    src: &Desc,
    dst: NonNull<u8>,
    cap: u32,
    at: Option<usize>,
) -> Result<Copied, PacketError> {
    let (head, len, cap) = (src.head as usize, src.len as usize, cap as usize);
    // Headroom bytes that were data (see `keep_from`).
    let was_data = head - src.keep_from as usize;
    let (keep, new_start) = match at {
        None => {
            if len > cap {
                return Err(PacketError::TooLong { len, max: cap });
            }
            // As much of it as fits.
            let keep = was_data.min(cap - len);
            let start = head - keep;
            let new_start = if start + keep + len <= cap {
                start
            } else {
                cap - keep - len
            };
            (keep, new_start)
        }
        Some(at) => {
            if at > cap || len > cap - at {
                return Err(PacketError::TooLong {
                    len: at.saturating_add(len),
                    max: cap,
                });
            }
            // As much of it as fits in front of `at`.
            let keep = was_data.min(at);
            (keep, at - keep)
        }
    };
    let (start, total) = (head - keep, keep + len);
    // Both buffers have this much from where the copy starts in them.
    let room = (src.cap as usize - start).min(cap - new_start);
    // SAFETY: total <= room, as [start, start + total) is inside the source
    // buffer (it ends at head + len <= src.cap) and [new_start, new_start +
    // total) inside `dst` (it ends at the new head + len <= cap, chosen
    // above); every byte of a buffer is initialised (buffers come zeroed),
    // the two buffers are distinct entries' (never overlapping), and nobody
    // writes the source while it is shared (invariant 4).
    unsafe {
        let (from, to) = (src.buf.as_ptr().add(start), dst.as_ptr().add(new_start));
        copy_in_lines(from, to, total, room);
    }
    let new_head = new_start + keep;
    Ok(Copied {
        head: new_head as u32,
        shift: new_head as isize - head as isize,
        valid: new_start..cap,
    })
}

/// Copies the bytes `span` of the buffer `src` to the same offsets of the
/// buffer `dst`; both are `cap` bytes long and `span.end <= cap`. `dst`
/// must be a buffer no descriptor can see, `src` one nobody writes (it is
/// shared, invariant 4).
#[inline(always)]
fn copy_buffer_span(src: NonNull<u8>, dst: NonNull<u8>, span: Range<usize>, cap: usize) {
    assert!(span.start <= span.end && span.end <= cap);
    // SAFETY: the span is inside both buffers (asserted), every byte of a
    // buffer is initialised (buffers come zeroed), and the buffers are
    // distinct entries' own or external buffers, which never overlap.
    unsafe {
        let at = span.start;
        copy_in_lines(
            src.as_ptr().add(at),
            dst.as_ptr().add(at),
            span.len(),
            cap - at,
        );
    }
}

/// Copies `len` bytes from `from` to `to` in whole 64-byte lines (fixed-size
/// moves, no call into libc), as many of them as `room` allows, then the
/// rest byte-exact: it may copy up to `room` bytes in all.
///
/// # Safety
/// `len <= room`; `room` bytes from `from` are initialised and readable,
/// `room` bytes from `to` writable, and the two ranges do not overlap.
#[inline(always)]
unsafe fn copy_in_lines(from: *const u8, to: *mut u8, len: usize, room: usize) {
    const LINE: usize = 64;
    type Line = [u8; LINE];
    // SAFETY (both short cases): the lines copied are inside `room`.
    // The short packets of a forwarding path (a 64-byte frame, its
    // headroom bytes that were data) take one or two lines: straight-line
    // moves, no loop and no tail.
    if len <= LINE && room >= LINE {
        unsafe {
            to.cast::<Line>()
                .write_unaligned(from.cast::<Line>().read_unaligned())
        };
        return;
    }
    if len <= 2 * LINE && room >= 2 * LINE {
        unsafe {
            let a = from.cast::<Line>().read_unaligned();
            let b = from.add(LINE).cast::<Line>().read_unaligned();
            to.cast::<Line>().write_unaligned(a);
            to.add(LINE).cast::<Line>().write_unaligned(b);
        }
        return;
    }
    let lines = len.div_ceil(LINE).min(room / LINE);
    // SAFETY: lines * LINE <= room, and [lines * LINE, len) is inside too
    // (len <= room): the caller's contract.
    unsafe {
        for i in 0..lines {
            let at = i * LINE;
            to.add(at)
                .cast::<[u8; LINE]>()
                .write_unaligned(from.add(at).cast::<[u8; LINE]>().read_unaligned());
        }
        let done = lines * LINE;
        if done < len {
            ptr::copy_nonoverlapping(from.add(done), to.add(done), len - done);
        }
    }
}

/// Where [`copy_out`] put the data: the new head, and how header offsets
/// move ([`Anno::rebase_headers`]).
struct Copied {
    head: u32,
    shift: isize,
    valid: std::ops::Range<usize>,
}

impl Copied {
    /// Moves `anno`'s header offsets to where the copy put them.
    fn rebase(&self, anno: &mut Anno) {
        rebase_headers(anno, self.shift, self.valid.clone());
    }
}

/// Moves `anno`'s header offsets by `shift`, unsetting those that land
/// outside `valid` or beyond what a header offset can hold (in a large
/// buffer).
pub(super) fn rebase_headers(anno: &mut Anno, shift: isize, valid: Range<usize>) {
    let end = valid.end.min(MAX_HEADER_OFFSET);
    anno.rebase_headers(shift, valid.start..end);
}

/// Drops one reference to the holder `h`; at 0 the entry goes back to the
/// pool, after its external buffer (if any) went back to its owner.
#[inline(always)]
fn unref_holder(sink: &impl Sink, h: NonNull<Entry>) {
    unref_holder_by(sink, h, 1)
}

/// Drops `k` references to the holder `h` (the caller held them).
#[inline(always)]
fn unref_holder_by(sink: &impl Sink, h: NonNull<Entry>, k: u32) {
    // SAFETY: the caller held references to `h`, so it is live.
    let hr = unsafe { h.as_ref() };
    if hr.refs.sub(k) {
        if hr.ext_owner.get() != 0 {
            release_external(hr);
        }
        sink.put(h);
    }
}

/// [`unref_holder_by`] for batch frees: an external or large buffer whose
/// last user this was is given back with the batch's others.
#[inline(always)]
fn unref_holder_deferred(c: &Cache, h: NonNull<Entry>, k: u32) {
    // SAFETY: the caller held references to `h`, so it is live.
    let hr = unsafe { h.as_ref() };
    if hr.refs.sub(k) {
        if hr.ext_owner.get() != 0 {
            c.defer_release(hr);
        }
        c.put(h);
    }
}

/// Gives an external buffer whose last user is gone back to its owner, or
/// a large buffer to the pool.
#[cold]
#[inline(never)]
fn release_external(hr: &Entry) {
    let owner = hr.ext_owner.replace(0);
    if owner == LARGE_OWNER {
        give_back(owner, &[hr.ext_token.get()]);
    } else {
        owner::give_back_one(owner, hr.ext_token.get());
    }
}

/// The work of `Drop for Packet`.
#[inline(always)]
fn release(sink: &impl Sink, e: NonNull<Entry>) {
    // SAFETY: `e` is the entry of a handle being destroyed: live, and its
    // state is ours to read (invariant 1).
    let holder = unsafe { (*e.as_ref().state.get()).holder };
    if holder != e {
        // A clone entry: refs == 1 (invariant 3), a free entry's count
        // already; freed now.
        unref_holder(sink, holder);
        sink.put(e);
    } else {
        unref_holder(sink, e);
    }
}

impl Drop for Packet {
    #[inline]
    fn drop(&mut self) {
        let e = self.e;
        if CACHE.try_with(|c| release(c, e)).is_err() {
            release_without_cache(e);
        }
    }
}

/// Drop during thread teardown, after the thread's cache is gone.
#[cold]
#[inline(never)]
fn release_without_cache(e: NonNull<Entry>) {
    release(pool(), e);
}

/// Drops all packets of a batch with one thread-local access.
#[inline]
pub(super) fn drop_all(pkts: &mut Inner) {
    // Only the cache's address comes out of `try_with`: with the whole
    // free in its closure, whether the compiler inlined `try_with` into
    // every batch drop turned on unrelated changes (9 instructions a batch).
    match CACHE.try_with(|c| c as *const Cache) {
        // SAFETY: the cache was alive a moment ago on this thread, and only
        // this thread's exit destroys it; `free_all` does not exit.
        Ok(c) => free_all(unsafe { &*c }, pkts),
        // The cache is gone (thread teardown): each packet is dropped the
        // slow way.
        Err(_) => pkts.clear(),
    }
}

/// The work of [`drop_all`]: frees each handle's entry straight from the
/// batch's storage, without moving the handles out one by one.
///
/// Consecutive clones of one packet (a source's burst) have the same
/// holder: their decrements are added up and applied once. Deferring is
/// sound because each pending decrement is a reference still counted, so
/// the holder cannot reach 0 (and be freed) before they are applied.
///
/// The entries freed are listed over the handles already read (the k-th
/// freed entry goes to slot k, and k never passes the handle being read),
/// so the list needs no storage of its own to set up.
///
/// External and large buffers whose last user was in the batch are given
/// back at the end, one owner call for all of an owner's buffers
/// ([`Cache::defer_release`]); the entries are free by then, their
/// buffers taken out.
#[inline(always)]
fn free_all(c: &Cache, pkts: &mut Inner) {
    let n = pkts.len();
    // The list of freed entries lives in the n slots: at most one entry
    // a handle goes to it (a holder freed by a run goes to the cache).
    assert!(n <= BATCH_CAPACITY);
    // `Packet` is a transparent `NonNull<Entry>`.
    let slots = pkts.as_mut_ptr().cast::<NonNull<Entry>>();
    // SAFETY: after `set_len(0)` the batch no longer owns the n handles at
    // `slots` (its inline storage, which stays valid: `pkts` is borrowed
    // for the whole function); we own them and destroy each exactly once
    // below by freeing its entry, never dropping the handle itself.
    unsafe { pkts.set_len(0) };
    // The handles are read at `read` and the freed entries written at
    // `freed`, which never passes it: cursors rather than indexes, so that
    // the loop's values fit the registers a call keeps.
    let (mut read, end) = (slots.cast_const(), slots.wrapping_add(n).cast_const());
    let mut freed = slots;
    // The holder of the current run of clones, and its pending decrements.
    let (mut run_holder, mut run_refs) = (NonNull::dangling(), 0);
    while read != end {
        // SAFETY: `read` is one of the n slots, whose handle we own
        // (above), read once here; its entry is live and its state ours
        // to read (invariant 1).
        let (e, holder) = unsafe {
            let e = *read;
            read = read.add(1);
            (e, (*e.as_ref().state.get()).holder)
        };
        if holder != e {
            // A clone entry: refs == 1, a free entry's count already, and
            // nobody else references it (invariant 3): freed now.
            // SAFETY: `freed` is behind `read`: a slot whose handle was
            // read.
            unsafe {
                *freed = e;
                freed = freed.add(1);
            }
            // The run's count goes up in one place, after the rare change
            // of run: as an `if`/`else` the two counts took copies between
            // registers on every clone.
            if holder != run_holder {
                end_run(c, run_holder, run_refs);
                (run_holder, run_refs) = (holder, 0);
            }
            run_refs += 1;
            continue;
        }
        // SAFETY: as above; we only touch the `Cell` fields.
        let en = unsafe { e.as_ref() };
        if en.refs.sub(1) {
            if en.ext_owner.get() != 0 {
                c.defer_release(en);
            }
            // SAFETY: as above.
            unsafe {
                *freed = e;
                freed = freed.add(1);
            }
        }
    }
    // SAFETY: the slots from `slots` to `freed` were written above.
    c.push_many(unsafe { std::slice::from_raw_parts(slots, freed.offset_from(slots) as usize) });
    if run_refs > 0 {
        unref_holder_deferred(c, run_holder, run_refs);
    }
    c.finish_releases();
}

/// The end of a run of `k` clones of the holder `h` in a batch free (none
/// before the first clone): their `k` decrements, at once. Out of line,
/// once per run, so that the free's loop keeps its values in registers.
#[inline(never)]
fn end_run(c: &Cache, h: NonNull<Entry>, k: u32) {
    if k > 0 {
        unref_holder_deferred(c, h, k);
    }
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet")
            .field("entry", &self.entry_index())
            .field("len", &self.len())
            .field("headroom", &self.headroom())
            .field("tailroom", &self.tailroom())
            .field("shared", &self.is_shared())
            .field("anno", self.anno())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// SendPacket

/// A packet that may cross threads (for inter-thread queues): made by
/// [`Packet::into_send`], which makes a shared buffer's count atomic.
pub struct SendPacket(NonNull<Entry>);

// SAFETY: a SendPacket's holder either has no other user (refs == 1) or
// counts atomically (invariant 5, set by `into_send` on the thread that had
// every user), so no count is updated with plain stores from two threads;
// the descriptor is reached only through this handle (invariant 1), and the
// channel carrying it provides the happens-before edge.
unsafe impl Send for SendPacket {}

impl SendPacket {
    /// Back to a packet on the current thread.
    #[inline]
    pub fn into_packet(self) -> Packet {
        let me = std::mem::ManuallyDrop::new(self);
        Packet::from_entry(me.0)
    }
}

impl Drop for SendPacket {
    fn drop(&mut self) {
        drop(Packet::from_entry(self.0));
    }
}

impl fmt::Debug for SendPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: the entry is live while the handle is.
        let index = unsafe { self.0.as_ref() }.index;
        f.debug_struct("SendPacket").field("entry", &index).finish()
    }
}

// ---------------------------------------------------------------------------
// Public pool API

/// The process-wide packet pool (a namespace: all functions are static).
pub struct PacketPool;

/// A snapshot of the pool's counters. Exact when no other thread is
/// allocating or freeing; otherwise each field is a recent value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Number of entries.
    pub capacity: usize,
    /// Entries in use (packets and clones alive, holders kept by clones).
    pub in_use: usize,
    /// Free entries (global list plus thread caches).
    pub free: usize,
    /// Entries taken since start (a running thread publishes its count
    /// every few hundred operations; exact after its
    /// [`PacketPool::flush_thread_cache`] or its exit).
    pub total_allocs: u64,
    /// Entries returned since start (published like `total_allocs`).
    pub total_frees: u64,
    /// Allocations that failed because the pool (or the large buffers)
    /// was exhausted.
    pub alloc_failures: u64,
    /// Number of large buffers.
    pub large_capacity: usize,
    /// Large buffers in use (held by packets).
    pub large_in_use: usize,
}

/// Counters of the calling thread's cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadStats {
    /// Entries this thread took.
    pub allocs: u64,
    /// Entries this thread returned.
    pub frees: u64,
}

impl PacketPool {
    /// Creates the pool with `entries` buffers of `buf_size` bytes, the
    /// default headroom (or less if the buffer is small: at most a quarter
    /// of it) and the default large buffers. Fails if the pool already
    /// exists (it is created with the defaults on first use otherwise).
    pub fn init(entries: usize, buf_size: usize) -> Result<(), PoolError> {
        Self::init_with(PoolConfig {
            entries,
            buf_size,
            headroom: DEFAULT_HEADROOM.min(buf_size / 4),
            ..PoolConfig::default()
        })
    }

    /// Creates the pool with a full configuration.
    pub fn init_with(config: PoolConfig) -> Result<(), PoolError> {
        if POOL.get().is_some() {
            return Err(PoolError::AlreadyInitialized);
        }
        let p = Pool::new(config)?;
        POOL.set(p).map_err(|_| PoolError::AlreadyInitialized)
    }

    /// Whether the pool exists yet.
    pub fn is_initialized() -> bool {
        POOL.get().is_some()
    }

    /// The pool configuration (creating the pool with defaults if needed).
    pub fn config() -> PoolConfig {
        pool().config
    }

    /// Most packets that can exist at once (each takes a pool entry): a
    /// queue never needs room for more. Does not create the pool.
    pub fn max_packets() -> usize {
        let configured = if Self::is_initialized() {
            Self::config().entries
        } else {
            0
        };
        configured.max(DEFAULT_ENTRIES)
    }

    /// The longest packet, in bytes (with no headroom left): the size of a
    /// large buffer, or of a small one if there are no large buffers. A
    /// packet operation that would make a longer one fails with
    /// [`PacketError::TooLong`], which says this maximum.
    pub fn max_packet_len() -> usize {
        if Self::is_initialized() {
            pool().max_buf()
        } else {
            // Without creating the pool: what it will be, by default.
            let c = PoolConfig::default();
            if c.large_buffers > 0 {
                c.large_buf_size
            } else {
                c.buf_size
            }
        }
    }

    /// Current counters (creating the pool with defaults if needed).
    pub fn stats() -> PoolStats {
        let p = pool();
        let caches = p.caches.lock().unwrap_or_else(|e| e.into_inner());
        let global_free = p.free_list().len();
        let mut allocs = p.retired_allocs.load(Relaxed);
        let mut frees = p.retired_frees.load(Relaxed);
        let mut free = global_free;
        for s in caches.iter() {
            allocs += s.allocs.load(Relaxed);
            frees += s.frees.load(Relaxed);
            free += s.cached.load(Relaxed);
        }
        let capacity = p.config.entries;
        let free = free.min(capacity);
        PoolStats {
            capacity,
            in_use: capacity - free,
            free,
            total_allocs: allocs,
            total_frees: frees,
            alloc_failures: p.alloc_failures.load(Relaxed),
            large_capacity: p.config.large_buffers,
            large_in_use: match p.large.get() {
                Some(Some(large)) => large.in_use(p.config.large_buffers),
                _ => 0,
            },
        }
    }

    /// Counters of the calling thread's cache.
    pub fn thread_stats() -> ThreadStats {
        CACHE
            .try_with(|c| {
                let l = c.local();
                ThreadStats {
                    allocs: l.allocs,
                    frees: l.frees,
                }
            })
            .unwrap_or_default()
    }

    /// Returns the calling thread's cached free entries to the global list
    /// (e.g. before a thread goes idle for long).
    pub fn flush_thread_cache() {
        let _ = CACHE.try_with(|c| {
            let l = c.local();
            l.flush(l.len);
        });
    }
}
