//! netmap's shared-memory ABI: netmap_sys 0.1.4's structures and
//! constants, and our own helpers wherever netmap_sys's are wrong or
//! missing (each fault is named where it is wrapped, and tested below).
//!
//! | netmap_sys 0.1.4                  | the fault                                   | here |
//! |-----------------------------------|---------------------------------------------|------|
//! | `NETMAP_API` = 11                 | the kernel's legacy `NIOCREGIF` refuses `nr_version < 14` | [`API`] = 14 |
//! | `nm_ring_space`                   | `tail - head` in `u32`: overflows (a panic in debug builds) when `tail < head` | [`ring_space`] |
//! | `NETMAP_BUF_IDX`                  | adds `buf_ofs` instead of subtracting it     | [`Buffers::index_of`] |
//! | `NETMAP_RXRING`                   | skips one host TX ring, whatever their number | [`If::rx_ring_offset`] |
//! | `netmap_ring`'s padding           | hides `offset_mask` and `buf_align` (bytes 56 and 64) | [`Ring::offset_mask`], [`Ring::buf_align`] |
//! | `netmap_if`'s `ni_spare1`         | hides `ni_host_tx_rings`, `ni_host_rx_rings` | [`If::host_tx_rings`], [`If::host_rx_rings`] |
//! | no `NR_REG_ONE_SW`, `NR_REG_NULL` | missing modes                                | [`NR_REG_ONE_SW`] |
//! | `ni_version`                      | the kernel leaves it 0                       | never checked |
//!
//! Sizes and offsets of the structures are checked at compile time against
//! netmap's `sys/net/netmap.h` (at 89607e1).

use std::mem::{offset_of, size_of};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

pub use netmap_sys::netmap::{
    netmap_if, netmap_ring, netmap_slot, nmreq, NIOCREGIF, NIOCRXSYNC, NIOCTXSYNC, NR_EXCLUSIVE,
    NR_REG_ALL_NIC, NR_REG_DEFAULT, NR_REG_NIC_SW, NR_REG_ONE_NIC, NR_REG_PIPE_MASTER,
    NR_REG_PIPE_SLAVE, NR_REG_SW, NR_RX_RINGS_ONLY, NR_TX_RINGS_ONLY, NS_BUF_CHANGED, NS_MOREFRAG,
};

/// The API version to put in a legacy request: the kernel refuses less
/// than 14 (netmap_sys's `NETMAP_API` is 11).
pub const API: u32 = 14;

/// `nr_flags` mode: one host ring pair (netmap_sys lacks it).
pub const NR_REG_ONE_SW: u32 = 8;
/// `nr_flags` mode: no rings at all (netmap_sys lacks it).
pub const NR_REG_NULL: u32 = 7;
/// The mode bits of `nr_flags`.
pub const NR_REG_MASK: u32 = 0xf;
/// The ring number bits of `nr_ringid`.
pub const NETMAP_RING_MASK: u16 = 0x0fff;
/// `nr_ringid` bit: no transmit sync on poll (legacy spelling of
/// `NR_NO_TX_POLL`).
pub const NETMAP_NO_TX_POLL: u16 = 0x1000;
/// Buffers 0 and 1 of every memory region are reserved: never a valid
/// slot buffer.
pub const FIRST_BUFFER: u32 = 2;

/// Where the slots start in a ring.
pub const RING_HEADER: usize = 256;
/// `netmap_ring.offset_mask`, hidden in netmap_sys's padding.
const RING_OFFSET_MASK: usize = 56;
/// `netmap_ring.buf_align`, hidden in netmap_sys's padding.
const RING_BUF_ALIGN: usize = 64;
/// `netmap_if.ni_host_tx_rings`, netmap_sys's `ni_spare1[0]`.
const IF_HOST_TX_RINGS: usize = 36;
/// `netmap_if.ni_host_rx_rings`, netmap_sys's `ni_spare1[1]`.
const IF_HOST_RX_RINGS: usize = 40;
/// Where `netmap_if.ring_ofs[]` starts.
pub const IF_RING_OFS: usize = 56;

const _: () = {
    assert!(size_of::<netmap_slot>() == 16);
    assert!(size_of::<netmap_if>() == IF_RING_OFS);
    assert!(size_of::<nmreq>() == 60);
    assert!(size_of::<netmap_ring>() == RING_HEADER);
    assert!(offset_of!(netmap_ring, buf_ofs) == 0);
    assert!(offset_of!(netmap_ring, num_slots) == 8);
    assert!(offset_of!(netmap_ring, nr_buf_size) == 12);
    assert!(offset_of!(netmap_ring, ringid) == 16);
    assert!(offset_of!(netmap_ring, dir) == 18);
    assert!(offset_of!(netmap_ring, head) == 20);
    assert!(offset_of!(netmap_ring, cur) == 24);
    assert!(offset_of!(netmap_ring, tail) == 28);
    assert!(offset_of!(netmap_ring, flags) == 32);
    assert!(offset_of!(netmap_ring, ts) == 40);
    assert!(offset_of!(netmap_ring, sem) == 128);
    assert!(offset_of!(netmap_if, ni_tx_rings) == 24);
    assert!(offset_of!(netmap_if, ni_rx_rings) == 28);
    assert!(offset_of!(netmap_if, ni_bufs_head) == 32);
    assert!(offset_of!(netmap_if, ni_spare1) == IF_HOST_TX_RINGS);
    assert!(offset_of!(nmreq, nr_version) == 16);
    assert!(offset_of!(nmreq, nr_offset) == 20);
    assert!(offset_of!(nmreq, nr_memsize) == 24);
    assert!(offset_of!(nmreq, nr_ringid) == 40);
    assert!(offset_of!(nmreq, nr_arg2) == 46);
    assert!(offset_of!(nmreq, nr_arg3) == 48);
    assert!(offset_of!(nmreq, nr_flags) == 52);
};

/// Slots the user owns from `head` to `tail` in a ring of `n` slots
/// (netmap's `nm_ring_space`, without netmap_sys's `u32` overflow when
/// `tail < head`).
#[inline]
pub fn ring_space(head: u32, tail: u32, n: u32) -> u32 {
    if tail >= head {
        tail - head
    } else {
        tail + n - head
    }
}

/// `i + k` around a ring of `n` slots (`i < n`, `k <= n`).
#[inline]
pub fn ring_add(i: u32, k: u32, n: u32) -> u32 {
    let s = i + k;
    if s >= n {
        s - n
    } else {
        s
    }
}

/// The slot before `i` in a ring of `n` slots.
#[inline]
pub fn ring_prev(i: u32, n: u32) -> u32 {
    if i == 0 {
        n - 1
    } else {
        i - 1
    }
}

/// Whether `x` lies in the circular range `[from, to]` of a ring of `n`.
#[inline]
pub fn ring_between(from: u32, x: u32, to: u32, n: u32) -> bool {
    x < n && ring_space(from, x, n) <= ring_space(from, to, n)
}

/// A request to register a port, as the legacy `NIOCREGIF` takes it.
/// `name` is the kernel's name, without `netmap:` (the kernel does not
/// strip it; libnetmap does); at most 15 bytes.
pub fn regif_request(
    name: &str,
    mode: u32,
    ringid: u16,
    flags: u32,
    mem_id: u16,
    extra_bufs: u32,
) -> Result<nmreq, String> {
    // SAFETY: plain C struct of integers, zero is valid.
    let mut r: nmreq = unsafe { std::mem::zeroed() };
    if name.is_empty() || name.len() >= r.nr_name.len() || name.contains('\0') {
        return Err(format!(
            "netmap port name '{name}' must have 1 to {} bytes",
            r.nr_name.len() - 1
        ));
    }
    for (d, s) in r.nr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    r.nr_version = API;
    r.nr_ringid = ringid & NETMAP_RING_MASK;
    r.nr_flags = (mode & NR_REG_MASK) | (flags & !NR_REG_MASK);
    r.nr_arg2 = mem_id;
    r.nr_arg3 = extra_bufs;
    Ok(r)
}

/// The port name in a request.
pub fn request_name(r: &nmreq) -> String {
    let bytes: Vec<u8> = r
        .nr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A `netmap_if` in a mapping.
#[derive(Clone, Copy, Debug)]
pub struct If(NonNull<u8>);

// SAFETY: a pointer into a shared mapping; the kernel writes a netmap_if
// once at registration and the user only reads it (but `ni_bufs_head`,
// written by its one owner at close).
unsafe impl Send for If {}
// SAFETY: as above.
unsafe impl Sync for If {}

impl If {
    /// The netmap_if at `p`.
    ///
    /// # Safety
    /// `p` points to a netmap_if whose ring offsets array is inside a
    /// live mapping, for as long as the `If` is used.
    pub unsafe fn new(p: NonNull<u8>) -> If {
        If(p)
    }

    /// Its address.
    pub fn ptr(&self) -> NonNull<u8> {
        self.0
    }

    fn u32_at(&self, off: usize) -> u32 {
        // SAFETY: inside the netmap_if (the constructor's contract).
        unsafe { self.0.as_ptr().add(off).cast::<u32>().read_volatile() }
    }

    /// Hardware TX rings of the port.
    pub fn tx_rings(&self) -> u32 {
        self.u32_at(offset_of!(netmap_if, ni_tx_rings))
    }

    /// Hardware RX rings of the port.
    pub fn rx_rings(&self) -> u32 {
        self.u32_at(offset_of!(netmap_if, ni_rx_rings))
    }

    /// Host TX rings (netmap_sys hides the field in `ni_spare1[0]`).
    pub fn host_tx_rings(&self) -> u32 {
        self.u32_at(IF_HOST_TX_RINGS)
    }

    /// Host RX rings (netmap_sys hides the field in `ni_spare1[1]`).
    pub fn host_rx_rings(&self) -> u32 {
        self.u32_at(IF_HOST_RX_RINGS)
    }

    /// The first extra buffer (0: none).
    pub fn bufs_head(&self) -> u32 {
        self.u32_at(offset_of!(netmap_if, ni_bufs_head))
    }

    /// Sets the list of buffers given back with the port (the kernel frees
    /// them when the descriptor closes).
    pub fn set_bufs_head(&self, head: u32) {
        // SAFETY: inside the netmap_if; the user owns this word.
        unsafe {
            self.0
                .as_ptr()
                .add(offset_of!(netmap_if, ni_bufs_head))
                .cast::<u32>()
                .write_volatile(head)
        }
    }

    /// Entries in `ring_ofs[]`: every TX ring, hardware and host, then
    /// every RX ring.
    pub fn ring_entries(&self) -> usize {
        (self.tx_rings() + self.host_tx_rings() + self.rx_rings() + self.host_rx_rings()) as usize
    }

    fn ring_ofs(&self, i: usize) -> isize {
        // SAFETY: `i` is below `ring_entries()` (callers check), inside the
        // array the constructor's contract covers.
        unsafe {
            self.0
                .as_ptr()
                .add(IF_RING_OFS + i * 8)
                .cast::<isize>()
                .read_volatile()
        }
    }

    /// The offset from the netmap_if of TX ring `i` (hardware rings
    /// first, then host rings), 0 if the registration did not bind it
    /// (`NETMAP_TXRING`).
    pub fn tx_ring_offset(&self, i: u32) -> Option<isize> {
        (i < self.tx_rings() + self.host_tx_rings()).then(|| self.ring_ofs(i as usize))
    }

    /// The offset of RX ring `i`: past every TX ring, the host ones
    /// included (netmap_sys's `NETMAP_RXRING` adds one host ring, whatever
    /// their number).
    pub fn rx_ring_offset(&self, i: u32) -> Option<isize> {
        (i < self.rx_rings() + self.host_rx_rings())
            .then(|| self.ring_ofs((self.tx_rings() + self.host_tx_rings() + i) as usize))
    }
}

/// A `netmap_ring` in a mapping, with its shared words.
#[derive(Clone, Copy, Debug)]
pub struct Ring(NonNull<netmap_ring>);

// SAFETY: a pointer into a shared mapping; which side touches what is the
// ring protocol (the user: `head`, `cur` and the slots from `head` to
// `tail`; the kernel: the rest, during the user's system calls).
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

impl Ring {
    /// The ring at `p`.
    ///
    /// # Safety
    /// `p` points to a netmap_ring and its `num_slots` slots inside a
    /// live mapping, for as long as the `Ring` is used.
    pub unsafe fn new(p: NonNull<u8>) -> Ring {
        Ring(p.cast())
    }

    /// Its address.
    pub fn ptr(&self) -> NonNull<u8> {
        self.0.cast()
    }

    fn word(&self, off: usize) -> &AtomicU32 {
        // SAFETY: an aligned u32 of the live ring header.
        unsafe { &*self.0.as_ptr().cast::<u8>().add(off).cast::<AtomicU32>() }
    }

    /// Slots in the ring.
    pub fn num_slots(&self) -> u32 {
        // SAFETY: a constant field of the live ring.
        unsafe { (*self.0.as_ptr()).num_slots }
    }

    /// Bytes per buffer.
    pub fn buf_size(&self) -> u32 {
        // SAFETY: as above.
        unsafe { (*self.0.as_ptr()).nr_buf_size }
    }

    /// Offset from the ring to the buffers.
    pub fn buf_ofs(&self) -> i64 {
        // SAFETY: as above.
        unsafe { (*self.0.as_ptr()).buf_ofs }
    }

    /// The ring's number (`ringid`).
    pub fn ringid(&self) -> u16 {
        // SAFETY: as above.
        unsafe { (*self.0.as_ptr()).ringid }
    }

    /// `offset_mask` (hidden by netmap_sys's padding): 0 unless the port
    /// was registered with buffer offsets.
    pub fn offset_mask(&self) -> u64 {
        // SAFETY: an aligned u64 of the live ring header.
        unsafe {
            self.0
                .as_ptr()
                .cast::<u8>()
                .add(RING_OFFSET_MASK)
                .cast::<u64>()
                .read_volatile()
        }
    }

    /// `buf_align` (hidden by netmap_sys's padding).
    pub fn buf_align(&self) -> u64 {
        // SAFETY: as above.
        unsafe {
            self.0
                .as_ptr()
                .cast::<u8>()
                .add(RING_BUF_ALIGN)
                .cast::<u64>()
                .read_volatile()
        }
    }

    /// `head`: the first slot the user owns.
    #[inline]
    pub fn head(&self) -> u32 {
        self.word(offset_of!(netmap_ring, head))
            .load(Ordering::Acquire)
    }

    /// `cur`: the wake-up point.
    #[inline]
    pub fn cur(&self) -> u32 {
        self.word(offset_of!(netmap_ring, cur))
            .load(Ordering::Relaxed)
    }

    /// `tail`: the first slot the kernel owns.
    #[inline]
    pub fn tail(&self) -> u32 {
        self.word(offset_of!(netmap_ring, tail))
            .load(Ordering::Acquire)
    }

    /// Moves `head` and `cur` to `i`: the slots before it go to the kernel
    /// at the next sync.
    #[inline]
    pub fn advance(&self, i: u32) {
        self.word(offset_of!(netmap_ring, cur))
            .store(i, Ordering::Relaxed);
        self.word(offset_of!(netmap_ring, head))
            .store(i, Ordering::Release);
    }

    /// Sets `tail` (the kernel's side: the emulation).
    #[inline]
    pub fn set_tail(&self, i: u32) {
        self.word(offset_of!(netmap_ring, tail))
            .store(i, Ordering::Release);
    }

    /// Slots the user owns now.
    #[inline]
    pub fn space(&self) -> u32 {
        ring_space(self.head(), self.tail(), self.num_slots())
    }

    /// Slot `i` (`i < num_slots`).
    #[inline]
    pub fn slot(&self, i: u32) -> *mut netmap_slot {
        debug_assert!(i < self.num_slots());
        // SAFETY: inside the ring's slot array (the constructor's contract).
        unsafe {
            self.0
                .as_ptr()
                .cast::<u8>()
                .add(RING_HEADER)
                .cast::<netmap_slot>()
                .add(i as usize)
        }
    }

    /// The start of the memory region's buffers, as this ring sees it.
    pub fn buffers_base(&self) -> *mut u8 {
        self.0
            .as_ptr()
            .cast::<u8>()
            .wrapping_offset(self.buf_ofs() as isize)
    }
}

/// A memory region's buffers: `count` buffers of `size` bytes from
/// `base`, indices 0 and 1 reserved.
#[derive(Clone, Copy, Debug)]
pub struct Buffers {
    base: NonNull<u8>,
    size: u32,
    count: u32,
}

// SAFETY: a pointer into a shared mapping; each buffer is used by whoever
// holds its index (a slot, a packet, a free list).
unsafe impl Send for Buffers {}
// SAFETY: as above.
unsafe impl Sync for Buffers {}

impl Buffers {
    /// The buffers of a mapping of `map_len` bytes at `map`, starting at
    /// `base`, `size` bytes each; `None` if `base` is outside the mapping
    /// or `size` is 0.
    pub fn new(map: NonNull<u8>, map_len: usize, base: *mut u8, size: u32) -> Option<Buffers> {
        let start = map.as_ptr() as usize;
        let b = base as usize;
        if size == 0 || b < start || b >= start + map_len {
            return None;
        }
        let count = ((start + map_len - b) / size as usize).min(u32::MAX as usize) as u32;
        Some(Buffers {
            base: NonNull::new(base)?,
            size,
            count,
        })
    }

    /// Bytes per buffer.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Buffers in the region (reserved ones included).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether `i` names a buffer of the region (not a reserved one).
    #[inline]
    pub fn valid(&self, i: u32) -> bool {
        (FIRST_BUFFER..self.count).contains(&i)
    }

    /// Buffer `i` (`NETMAP_BUF`), if it is one of the region's.
    #[inline]
    pub fn addr(&self, i: u32) -> Option<NonNull<u8>> {
        if !self.valid(i) {
            return None;
        }
        // SAFETY: inside the mapping (checked against `count`).
        Some(unsafe { self.base.add(i as usize * self.size as usize) })
    }

    /// The index of the buffer holding `p` (netmap's `NETMAP_BUF_IDX`,
    /// which netmap_sys gets wrong: it adds `buf_ofs`).
    pub fn index_of(&self, p: *const u8) -> Option<u32> {
        let off = (p as usize).checked_sub(self.base.as_ptr() as usize)?;
        let i = off / self.size as usize;
        (i < self.count as usize && i >= FIRST_BUFFER as usize).then_some(i as u32)
    }

    /// The next-buffer link stored in buffer `i`'s first word (lists of
    /// extra buffers).
    pub fn link(&self, i: u32) -> Option<u32> {
        // SAFETY: the first word of a buffer of the region.
        self.addr(i)
            .map(|p| unsafe { p.as_ptr().cast::<u32>().read_unaligned() })
    }

    /// Sets buffer `i`'s next-buffer link.
    pub fn set_link(&self, i: u32, next: u32) {
        if let Some(p) = self.addr(i) {
            // SAFETY: the first word of a buffer of the region, which the
            // caller holds.
            unsafe { p.as_ptr().cast::<u32>().write_unaligned(next) }
        }
    }

    /// Reads a list of at most `max` buffers linked from `head` (netmap's
    /// extra buffers); stops at 0, at a bad index or at a loop.
    pub fn read_list(&self, head: u32, max: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(max as usize);
        let mut i = head;
        while i != 0 && (out.len() as u32) < max && self.valid(i) {
            out.push(i);
            i = self.link(i).unwrap_or(0);
        }
        out
    }

    /// Links `list` into one (the last buffer's link 0) and returns its
    /// head (0 for none).
    pub fn write_list(&self, list: &[u32]) -> u32 {
        let valid: Vec<u32> = list.iter().copied().filter(|&i| self.valid(i)).collect();
        for w in valid.windows(2) {
            self.set_link(w[0], w[1]);
        }
        if let Some(&last) = valid.last() {
            self.set_link(last, 0);
        }
        valid.first().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys_space(head: u32, tail: u32, n: u32) -> std::thread::Result<u32> {
        // SAFETY: a zeroed ring header is plain data.
        let mut r: netmap_ring = unsafe { std::mem::zeroed() };
        r.head = head;
        r.tail = tail;
        r.num_slots = n;
        std::panic::catch_unwind(move || {
            let mut r = r;
            // SAFETY: a live ring header on our stack.
            unsafe { netmap_sys::netmap_user::nm_ring_space(&mut r) }
        })
    }

    #[test]
    fn ring_space_wraps() {
        assert_eq!(ring_space(0, 0, 8), 0);
        assert_eq!(ring_space(2, 5, 8), 3);
        assert_eq!(ring_space(6, 1, 8), 3);
        assert_eq!(ring_space(7, 6, 8), 7);
        // netmap_sys agrees where tail >= head ...
        assert_eq!(sys_space(2, 5, 8).unwrap(), 3);
        // ... and where tail < head overflows: a panic with overflow
        // checks (debug builds), the right value only by wrapping luck
        // without them.
        if let Ok(v) = sys_space(6, 1, 8) {
            assert_eq!(v, 3);
        }
    }

    #[test]
    fn ring_arithmetic() {
        assert_eq!(ring_add(6, 3, 8), 1);
        assert_eq!(ring_add(0, 8, 8), 0);
        assert_eq!(ring_prev(0, 8), 7);
        assert!(ring_between(6, 7, 1, 8));
        assert!(ring_between(6, 0, 1, 8));
        assert!(ring_between(6, 1, 1, 8));
        assert!(!ring_between(6, 2, 1, 8));
        assert!(!ring_between(6, 5, 1, 8));
        assert!(ring_between(3, 3, 3, 8));
        assert!(!ring_between(3, 4, 3, 8));
    }

    /// A fake mapping: a netmap_if with `htx` host TX rings, then rings.
    struct Fake {
        mem: Vec<u64>,
    }

    impl Fake {
        fn new(tx: u32, htx: u32, rx: u32, hrx: u32) -> Fake {
            let mut mem = vec![0u64; 4096];
            let base = mem.as_mut_ptr().cast::<u8>();
            // SAFETY: writes inside `mem`.
            unsafe {
                let w = |off: usize, v: u32| base.add(off).cast::<u32>().write(v);
                w(24, tx);
                w(28, rx);
                w(IF_HOST_TX_RINGS, htx);
                w(IF_HOST_RX_RINGS, hrx);
                // Ring k at offset 1024 * (k + 1) from the if.
                for k in 0..(tx + htx + rx + hrx) as usize {
                    base.add(IF_RING_OFS + 8 * k)
                        .cast::<isize>()
                        .write(1024 * (k as isize + 1));
                }
            }
            Fake { mem }
        }

        fn nifp(&mut self) -> *mut netmap_if {
            self.mem.as_mut_ptr().cast()
        }
    }

    #[test]
    fn rx_rings_follow_every_host_tx_ring() {
        // Two hardware rings and two host rings each way: RX ring 0 is the
        // fifth entry.
        let mut f = Fake::new(2, 2, 2, 2);
        let nifp = f.nifp();
        // SAFETY: the fake if and its offsets live in `f`.
        let ours = unsafe { If::new(NonNull::new(nifp.cast()).unwrap()) };
        assert_eq!(ours.host_tx_rings(), 2);
        assert_eq!(ours.rx_ring_offset(0), Some(1024 * 5));
        assert_eq!(ours.rx_ring_offset(3), Some(1024 * 8));
        assert_eq!(ours.rx_ring_offset(4), None);
        assert_eq!(ours.tx_ring_offset(3), Some(1024 * 4));
        // netmap_sys's NETMAP_RXRING lands on the second host TX ring.
        // SAFETY: as above; the macro reads ring_ofs[0 + 2 + 1].
        let sys = unsafe { netmap_sys::netmap_user::NETMAP_RXRING(nifp, 0) };
        assert_eq!(sys as usize - nifp as usize, 1024 * 4);
        // With one host ring each way both agree.
        let mut g = Fake::new(2, 1, 2, 1);
        let nifp = g.nifp();
        // SAFETY: as above.
        let ours = unsafe { If::new(NonNull::new(nifp.cast()).unwrap()) };
        // SAFETY: as above.
        let sys = unsafe { netmap_sys::netmap_user::NETMAP_RXRING(nifp, 1) };
        assert_eq!(Some(sys as isize - nifp as isize), ours.rx_ring_offset(1));
    }

    #[test]
    fn buffer_index_subtracts_buf_ofs() {
        let mut mem = vec![0u64; 64 * 1024];
        let map = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        let len = mem.len() * 8;
        // The ring at 4096, its buffers from 8192 (buf_ofs 4096), 2048 bytes each.
        // SAFETY: inside `mem`.
        let ring = unsafe { map.as_ptr().add(4096) };
        // SAFETY: writing the fake ring header inside `mem`.
        unsafe {
            let r = ring.cast::<netmap_ring>();
            (*r).buf_ofs = 4096;
            (*r).nr_buf_size = 2048;
            (*r).num_slots = 4;
        }
        // SAFETY: a live fake ring.
        let rv = unsafe { Ring::new(NonNull::new(ring).unwrap()) };
        let bufs = Buffers::new(map, len, rv.buffers_base(), rv.buf_size()).unwrap();
        let b5 = bufs.addr(5).unwrap();
        assert_eq!(
            b5.as_ptr() as usize - map.as_ptr() as usize,
            8192 + 5 * 2048
        );
        assert_eq!(bufs.index_of(b5.as_ptr()), Some(5));
        // SAFETY: in the buffer.
        assert_eq!(bufs.index_of(unsafe { b5.as_ptr().add(100) }), Some(5));
        // netmap_sys's NETMAP_BUF_IDX adds buf_ofs: 4 buffers too far.
        // SAFETY: pointer arithmetic only.
        let sys =
            unsafe { netmap_sys::netmap_user::NETMAP_BUF_IDX(ring.cast(), b5.as_ptr().cast()) };
        assert_eq!(sys, 5 + 2 * 4096 / 2048);
        assert!(bufs.addr(0).is_none() && bufs.addr(1).is_none());
        assert!(bufs.addr(bufs.count()).is_none());
        assert_eq!(bufs.index_of(map.as_ptr()), None);
    }

    #[test]
    fn hidden_ring_fields() {
        let mut mem = vec![0u64; 64];
        let p = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: inside `mem`.
        unsafe {
            p.add(56).cast::<u64>().write(0xfff);
            p.add(64).cast::<u64>().write(64);
        }
        // SAFETY: a fake ring header in `mem` (no slots read).
        let r = unsafe { Ring::new(NonNull::new(p).unwrap()) };
        assert_eq!(r.offset_mask(), 0xfff);
        assert_eq!(r.buf_align(), 64);
    }

    #[test]
    fn request_has_api_14_and_the_bare_name() {
        let r = regif_request("x{1", NR_REG_ALL_NIC, 0, NR_RX_RINGS_ONLY, 0, 64).unwrap();
        assert_eq!(r.nr_version, 14);
        assert_ne!(r.nr_version as i32, netmap_sys::netmap::NETMAP_API);
        assert_eq!(request_name(&r), "x{1");
        assert_eq!(r.nr_flags, NR_REG_ALL_NIC | NR_RX_RINGS_ONLY);
        assert_eq!(r.nr_arg3, 64);
        assert!(regif_request("sixteen-bytes-xx", NR_REG_ALL_NIC, 0, 0, 0, 0).is_err());
        assert!(regif_request("", NR_REG_ALL_NIC, 0, 0, 0, 0).is_err());
    }

    #[test]
    fn buffer_lists() {
        let mut mem = vec![0u64; 8 * 256];
        let map = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        let bufs = Buffers::new(map, mem.len() * 8, map.as_ptr(), 256).unwrap();
        assert_eq!(bufs.count(), 64);
        let head = bufs.write_list(&[7, 3, 60, 0, 99]);
        assert_eq!(head, 7);
        assert_eq!(bufs.read_list(head, 100), vec![7, 3, 60]);
        assert_eq!(bufs.read_list(head, 2), vec![7, 3]);
        // A loop stops at `max`.
        bufs.set_link(60, 7);
        assert_eq!(bufs.read_list(head, 5).len(), 5);
        assert_eq!(bufs.write_list(&[]), 0);
    }
}
