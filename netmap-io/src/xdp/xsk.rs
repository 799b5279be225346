//! The XSK socket, its UMEM and its four rings, and the two halves that
//! FromDevice and ToDevice drive.
//!
//! One socket per (namespace, device, queue) in the process, shared by
//! the receiving half (fill and RX rings) and the transmitting half (TX
//! and completion rings), each half driven by one thread: every ring is
//! single-producer single-consumer between that thread and the kernel, as
//! xdp-tools' `xsk.c` uses them (cached indices; a shared index is read
//! only when the cached view runs out, written once per batch).
//!
//! Sockets share UMEMs (`XDP_SHARED_UMEM`, Linux 5.10): one UMEM holds the
//! frames of up to [`UMEM_SOCKETS`] sockets, each socket a slot of its
//! own, split in two homes: the first half belongs to the receiving half
//! (in the fill ring, or lent to packets), the second to the transmitting
//! half (free for copies, or in the TX ring). A frame received on any
//! socket of a UMEM and sent on any socket of the same UMEM (the same
//! device or another: a router's forwarding) goes to the TX ring as it is
//! (zero copy; the kernel copies it into an skb only where the driver has
//! no zero-copy mode, as veth); when the kernel completes it, the
//! transmitting half sends it back to its receiving half through that
//! half's token queue, as a packet freed on any thread does. A frame sent
//! on a socket of another UMEM is copied into a frame of the transmitting
//! home.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use click_engine::packet::{
    register_buffer_owner, token_queue, Batch, OwnerRegistration, RegionId, RxBuffer, Timestamp,
    TokenReceiver, TokenSender, BATCH_CAPACITY,
};
use click_engine::Interest;

use super::bpf::{Attached, XdpMode, MAX_QUEUES};
use crate::ring::{frame_type, rejoin, split_off, HomeOwner, Limits, RingStats, RxRing, TxRing};
use crate::sys::{self, Mmap};

const FRAME: usize = 2048;
/// Frames of each home, and the size of each ring.
const HOME_FRAMES: u32 = 2048;
/// Bytes of UMEM a socket takes: its receiving home, then its transmitting
/// home.
const SOCKET_BYTES: u64 = 2 * HOME_FRAMES as u64 * FRAME as u64;
/// Sockets one UMEM is made for (8 MB of pinned memory each). A router's
/// devices, a few, then forward between them without a copy; a fifth
/// socket starts another UMEM.
const UMEM_SOCKETS: usize = 4;
const RING: u32 = 2048;
/// Where the kernel puts received data in a frame (XDP_PACKET_HEADROOM);
/// transmitted copies start there too.
const DATA_OFFSET: usize = 256;

/// One ring's mapping and its shared words.
struct RingMap {
    map: Mmap,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    descs: *mut u8,
}

// SAFETY: the pointers point into `map`, which lives as long; who uses
// which word is the ring protocol (one producer, one consumer).
unsafe impl Send for RingMap {}
// SAFETY: as above.
unsafe impl Sync for RingMap {}

impl RingMap {
    fn new(fd: RawFd, off: &libc::xdp_ring_offset, desc: usize, pgoff: u64) -> io::Result<RingMap> {
        let len = off.desc as usize + RING as usize * desc;
        let map = Mmap::of_fd(fd, len, pgoff)?;
        let at = |o: u64| map.at(o as usize);
        Ok(RingMap {
            producer: at(off.producer).cast(),
            consumer: at(off.consumer).cast(),
            flags: at(off.flags).cast(),
            descs: at(off.desc),
            map,
        })
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: an aligned u32 inside the live mapping.
        unsafe { &*self.producer }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as above.
        unsafe { &*self.consumer }
    }

    fn needs_wakeup(&self) -> bool {
        // SAFETY: as above.
        unsafe { (*self.flags).load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0 }
    }

    /// The address slot `i` (of 8-byte fill/completion entries).
    fn addr(&self, i: u32) -> *mut u64 {
        let _ = &self.map;
        // SAFETY: masked into the ring's descriptors.
        unsafe { self.descs.cast::<u64>().add((i & (RING - 1)) as usize) }
    }

    /// The descriptor slot `i` (of 16-byte RX/TX entries).
    fn desc(&self, i: u32) -> *mut libc::xdp_desc {
        // SAFETY: masked into the ring's descriptors.
        unsafe {
            self.descs
                .cast::<libc::xdp_desc>()
                .add((i & (RING - 1)) as usize)
        }
    }
}

/// Our end of a ring we produce into (fill, TX).
#[derive(Clone, Copy)]
struct Producer {
    cached_prod: u32,
    cached_cons: u32,
}

impl Producer {
    fn new() -> Producer {
        Producer {
            cached_prod: 0,
            cached_cons: RING,
        }
    }

    /// Free entries, at least `want` if the ring has them (reads the
    /// consumer's index only when the cached view has fewer).
    fn free(&mut self, ring: &RingMap, want: u32) -> u32 {
        let free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free >= want {
            return free;
        }
        self.cached_cons = ring.consumer().load(Ordering::Acquire).wrapping_add(RING);
        self.cached_cons.wrapping_sub(self.cached_prod)
    }

    fn submit(&self, ring: &RingMap) {
        ring.producer().store(self.cached_prod, Ordering::Release);
    }
}

/// Our end of a ring we consume from (RX, completion).
#[derive(Clone, Copy)]
struct Consumer {
    cached_prod: u32,
    cached_cons: u32,
}

impl Consumer {
    fn new() -> Consumer {
        Consumer {
            cached_prod: 0,
            cached_cons: 0,
        }
    }

    fn available(&mut self, ring: &RingMap, want: u32) -> u32 {
        let mut n = self.cached_prod.wrapping_sub(self.cached_cons);
        if n == 0 {
            self.cached_prod = ring.producer().load(Ordering::Acquire);
            n = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        n.min(want)
    }

    fn release(&self, ring: &RingMap) {
        ring.consumer().store(self.cached_cons, Ordering::Release);
    }
}

/// A bound XSK socket and its memory, shared by its two halves.
struct Socket {
    // Drop order: the socket, then the rings, then the UMEM's slot.
    fd: OwnedFd,
    fill: RingMap,
    comp: RingMap,
    rx: RingMap,
    tx: RingMap,
    /// Our slot of a UMEM's frames, and the UMEM. Freed once the socket is
    /// closed: dropped after `fd` and the rings (their mappings hold the
    /// socket open too), so that the kernel has let go of the slot's
    /// frames before another socket takes them.
    slot: SlotHold,
    device: String,
    ifindex: u32,
    queue: u32,
    zero_copy: bool,
    rx_claimed: AtomicBool,
    tx_claimed: AtomicBool,
    /// Frames of the receiving half's home coming back (from packets freed
    /// on any thread, or from the transmitting half's completions).
    rx_home: TokenSender,
    rx_home_receiver: Mutex<Option<TokenReceiver>>,
    /// Where a receiving half that went left its rings while the socket
    /// lives on (packets still hold its frames: a hot swap carries them to
    /// the new router), for the next receiving half to go on from.
    rx_left: Mutex<Option<RxLeft>>,
    /// The same for the transmitting half.
    tx_left: Mutex<Option<TxLeft>>,
}

/// A receiving half's cursors and frames, left in its socket.
struct RxLeft {
    fill: Producer,
    rx: Consumer,
    free: Vec<u64>,
    returned: TokenReceiver,
}

/// A transmitting half's cursors and frames, left in its socket.
struct TxLeft {
    tx: Producer,
    comp: Consumer,
    free: Vec<u64>,
    in_flight: u32,
    peers: Vec<Arc<Socket>>,
}

/// One UMEM's memory, shared by the sockets bound to it.
struct Umem {
    map: Mmap,
    /// The socket of each slot of frames, `None` where the slot is free.
    /// A socket outlives every frame of its slot: packets keep it through
    /// their owner's registration, and a transmitting half that sends
    /// another socket's frame keeps that socket until the frame completes
    /// (`XskTx::peers`). So a slot is free again (`SlotHold`) only when
    /// all its frames are back.
    members: Mutex<Vec<Option<Weak<Socket>>>>,
}

/// A socket's slot of UMEM frames (and its UMEM), held until it drops.
struct SlotHold {
    umem: Arc<Umem>,
    slot: usize,
}

impl Drop for SlotHold {
    fn drop(&mut self) {
        self.umem.members()[self.slot] = None;
    }
}

impl Umem {
    /// A UMEM with frames for `sockets` sockets, faulted in (the kernel
    /// pins it when a socket registers it).
    fn new(sockets: usize) -> io::Result<Arc<Umem>> {
        Ok(Arc::new(Umem {
            map: Mmap::anonymous(sockets * SOCKET_BYTES as usize)?,
            members: Mutex::new(vec![None; sockets]),
        }))
    }

    fn members(&self) -> std::sync::MutexGuard<'_, Vec<Option<Weak<Socket>>>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free slot, and the descriptor of a socket bound to this UMEM to
    /// share it through (kept alive by the `Arc` returned with it).
    fn room(&self) -> Option<(usize, Arc<Socket>)> {
        let members = self.members();
        let free = members.iter().position(Option::is_none)?;
        let bound = members.iter().flatten().find_map(Weak::upgrade)?;
        Some((free, bound))
    }

    /// The socket whose slot holds frame `addr`.
    fn owner_of(&self, addr: u64) -> Option<Arc<Socket>> {
        self.members()
            .get((addr / SOCKET_BYTES) as usize)
            .and_then(|m| m.as_ref()?.upgrade())
    }
}

/// The UMEMs of this process, to share.
static UMEMS: Mutex<Vec<Weak<Umem>>> = Mutex::new(Vec::new());

/// How long a bind that finds the queue busy is retried: the kernel
/// releases a closed socket's hold on its queue in deferred work, so a
/// socket opened just after one closed (a hot swap) can find it still
/// held for a moment.
const BIND_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

type Key = (u64, u32, u32);

static SOCKETS: Mutex<Vec<(Key, Weak<Socket>)>> = Mutex::new(Vec::new());
/// (namespace, device index) → the program attached to it.
type Programs = Vec<((u64, u32), Weak<Attached>)>;
static PROGRAMS: Mutex<Programs> = Mutex::new(Vec::new());

impl Socket {
    /// The socket of (`device`, `queue`) in this process, opened if there
    /// is none yet.
    fn get(device: &str, queue: u32) -> Result<Arc<Socket>, String> {
        let ifindex = sys::ifindex(device)?;
        if queue >= MAX_QUEUES {
            return Err(format!(
                "{device}: QUEUE {queue} is past the {MAX_QUEUES} queues AF_XDP is set up for"
            ));
        }
        let queues = sys::rx_queues(device);
        if queue as usize >= queues {
            return Err(format!(
                "{device}: QUEUE {queue}, but the device has {queues} receive queue(s) (`ethtool -L {device} combined N` adds some)"
            ));
        }
        let key = (sys::netns_id(), ifindex, queue);
        let mut all = SOCKETS.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(_, w)| w.strong_count() > 0);
        if let Some(s) = all
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(s);
        }
        let s = Arc::new(Socket::open(device, ifindex, queue)?);
        // Under the lock of `SOCKETS`, so no other open takes the slot.
        s.umem().members()[s.slot()] = Some(Arc::downgrade(&s));
        all.push((key, Arc::downgrade(&s)));
        Ok(s)
    }

    /// A new socket on (`device`, `queue`), in a UMEM with room if one
    /// takes it, else in a UMEM of its own.
    fn open(device: &str, ifindex: u32, queue: u32) -> Result<Socket, String> {
        let umems: Vec<Arc<Umem>> = {
            let mut all = UMEMS.lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|w| w.strong_count() > 0);
            all.iter().filter_map(Weak::upgrade).collect()
        };
        for umem in umems {
            let Some((slot, bound)) = umem.room() else {
                continue;
            };
            // The kernel refuses to share a zero-copy driver's UMEM with a
            // copy-mode device (and the reverse): such a device gets its
            // own, and its forwarding to the others copies.
            match Socket::new_fd(device)
                .and_then(|fd| Socket::bind(device, ifindex, queue, fd, umem, slot, Some(&bound)))
            {
                Ok(s) => return Ok(s),
                Err(e) => tracing::debug!("{device}: not sharing a UMEM: {e}"),
            }
        }
        let s = Socket::open_alone(device, ifindex, queue)?;
        UMEMS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(s.umem()));
        Ok(s)
    }

    /// A new socket with a new UMEM, made for [`UMEM_SOCKETS`] sockets, or
    /// for one when the kernel will not pin that much (`RLIMIT_MEMLOCK`
    /// without `CAP_IPC_LOCK`).
    fn open_alone(device: &str, ifindex: u32, queue: u32) -> Result<Socket, String> {
        let err = |what: &str, e: io::Error| sys::os_error(device, what, e);
        let fd = Socket::new_fd(device)?;
        let mut umem = Umem::new(UMEM_SOCKETS).map_err(|e| err("UMEM", e))?;
        if let Err(e) = Socket::register(&fd, &umem) {
            tracing::debug!(
                "{device}: a UMEM for {UMEM_SOCKETS} sockets: {e}; one for this socket"
            );
            umem = Umem::new(1).map_err(|e| err("UMEM", e))?;
            Socket::register(&fd, &umem).map_err(|e| err("XDP_UMEM_REG", e))?;
        }
        Socket::bind(device, ifindex, queue, fd, umem, 0, None)
    }

    fn new_fd(device: &str) -> Result<OwnedFd, String> {
        sys::socket(libc::AF_XDP, libc::SOCK_RAW, 0)
            .map_err(|e| sys::os_error(device, "AF_XDP socket", e))
    }

    /// Registers `umem`'s memory as the UMEM of socket `fd`.
    fn register(fd: &OwnedFd, umem: &Umem) -> io::Result<()> {
        // SAFETY: plain C struct, zero is valid.
        let mut reg: libc::xdp_umem_reg = unsafe { std::mem::zeroed() };
        reg.addr = umem.map.ptr().as_ptr() as u64;
        reg.len = umem.map.len() as u64;
        reg.chunk_size = FRAME as u32;
        sys::setsockopt(fd.as_raw_fd(), libc::SOL_XDP, libc::XDP_UMEM_REG, &reg)
    }

    /// Makes `fd`'s rings and binds it to (`ifindex`, `queue`), with slot
    /// `slot` of `umem`: registered on `fd` already, or shared from socket
    /// `share`, bound to it.
    fn bind(
        device: &str,
        ifindex: u32,
        queue: u32,
        fd: OwnedFd,
        umem: Arc<Umem>,
        slot: usize,
        share: Option<&Socket>,
    ) -> Result<Socket, String> {
        let err = |what: &str, e: io::Error| sys::os_error(device, what, e);
        let raw = fd.as_raw_fd();
        // A socket sharing a UMEM on another device or queue has fill and
        // completion rings of its own, as the first one has.
        for opt in [
            libc::XDP_UMEM_FILL_RING,
            libc::XDP_UMEM_COMPLETION_RING,
            libc::XDP_RX_RING,
            libc::XDP_TX_RING,
        ] {
            sys::setsockopt(raw, libc::SOL_XDP, opt, &RING).map_err(|e| err("AF_XDP ring", e))?;
        }
        // SAFETY: xdp_mmap_offsets is plain u64s.
        let (off, _) = unsafe {
            sys::getsockopt::<libc::xdp_mmap_offsets>(raw, libc::SOL_XDP, libc::XDP_MMAP_OFFSETS)
        }
        .map_err(|e| err("XDP_MMAP_OFFSETS", e))?;
        let desc = std::mem::size_of::<libc::xdp_desc>();
        let ring = |o: &libc::xdp_ring_offset, size: usize, pg: u64| {
            RingMap::new(raw, o, size, pg).map_err(|e| err("mapping an AF_XDP ring", e))
        };
        let fill = ring(&off.fr, 8, libc::XDP_UMEM_PGOFF_FILL_RING)?;
        let comp = ring(&off.cr, 8, libc::XDP_UMEM_PGOFF_COMPLETION_RING)?;
        let rx = ring(&off.rx, desc, libc::XDP_PGOFF_RX_RING as u64)?;
        let tx = ring(&off.tx, desc, libc::XDP_PGOFF_TX_RING as u64)?;
        // SAFETY: plain C struct, zero is valid.
        let mut sa: libc::sockaddr_xdp = unsafe { std::mem::zeroed() };
        sa.sxdp_family = libc::AF_XDP as u16;
        sa.sxdp_flags = libc::XDP_USE_NEED_WAKEUP;
        sa.sxdp_ifindex = ifindex;
        sa.sxdp_queue_id = queue;
        if let Some(bound) = share {
            // The kernel takes the wake-up mode from the UMEM's first
            // socket; the flag must not be given with a shared UMEM.
            sa.sxdp_flags = libc::XDP_SHARED_UMEM;
            sa.sxdp_shared_umem_fd = bound.fd.as_raw_fd() as u32;
        }
        let start = std::time::Instant::now();
        loop {
            // SAFETY: `sa` is a live sockaddr_xdp of the size passed.
            let r = unsafe {
                libc::bind(
                    raw,
                    (&sa as *const libc::sockaddr_xdp).cast(),
                    std::mem::size_of::<libc::sockaddr_xdp>() as u32,
                )
            };
            if r == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EBUSY) || start.elapsed() > BIND_RETRY {
                return Err(err("binding the AF_XDP socket", e));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SAFETY: xdp_options is one u32.
        let zero_copy =
            unsafe { sys::getsockopt::<libc::xdp_options>(raw, libc::SOL_XDP, libc::XDP_OPTIONS) }
                .map(|(o, _)| o.flags & libc::XDP_OPTIONS_ZEROCOPY != 0)
                .unwrap_or(false);
        let (rx_home, receiver) = token_queue(HOME_FRAMES as usize);
        Ok(Socket {
            fd,
            fill,
            comp,
            rx,
            tx,
            slot: SlotHold { umem, slot },
            device: device.to_string(),
            ifindex,
            queue,
            zero_copy,
            rx_claimed: AtomicBool::new(false),
            tx_claimed: AtomicBool::new(false),
            rx_home,
            rx_home_receiver: Mutex::new(Some(receiver)),
            rx_left: Mutex::new(None),
            tx_left: Mutex::new(None),
        })
    }

    fn umem(&self) -> &Arc<Umem> {
        &self.slot.umem
    }

    /// Our slot of the UMEM's frames.
    fn slot(&self) -> usize {
        self.slot.slot
    }

    fn region(&self) -> RegionId {
        RegionId(self.umem().map.ptr().as_ptr() as u64)
    }

    fn frame(&self, addr: u64) -> *mut u8 {
        self.umem().map.at(addr as usize)
    }

    /// Where our frames start in the UMEM: the receiving home's first.
    fn base(&self) -> u64 {
        self.slot() as u64 * SOCKET_BYTES
    }

    /// Whether frame `addr` is of our transmitting home.
    fn is_tx_home(&self, addr: u64) -> bool {
        addr.wrapping_sub(self.base() + SOCKET_BYTES / 2) < SOCKET_BYTES / 2
    }

    fn stats(&self) -> Option<libc::xdp_statistics> {
        // SAFETY: xdp_statistics is plain u64s.
        unsafe {
            sys::getsockopt::<libc::xdp_statistics>(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
            )
        }
        .ok()
        .map(|(s, _)| s)
    }

    /// Wakes the kernel's side of the socket (a need-wakeup kick).
    fn kick(&self, tx: bool) -> io::Result<()> {
        // SAFETY: no buffer; the call only wakes the socket.
        let r = unsafe {
            if tx {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    libc::MSG_DONTWAIT,
                    std::ptr::null(),
                    0,
                )
            } else {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    std::ptr::null_mut(),
                    0,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            }
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if !matches!(
                e.raw_os_error(),
                Some(libc::EAGAIN) | Some(libc::EBUSY) | Some(libc::ENOBUFS) | Some(libc::EINTR)
            ) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The XDP program attached to the device of `sock`, shared by its queues.
fn attached(sock: &Socket) -> Result<Arc<Attached>, String> {
    let key = (sys::netns_id(), sock.ifindex);
    let mut all = PROGRAMS.lock().unwrap_or_else(|e| e.into_inner());
    all.retain(|(_, w)| w.strong_count() > 0);
    if let Some(a) = all
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(a);
    }
    let a = Arc::new(Attached::new(&sock.device, sock.ifindex)?);
    all.push((key, Arc::downgrade(&a)));
    Ok(a)
}

/// The receiving half: fill and RX rings.
pub struct XskRx {
    reg: OwnerRegistration,
    program: Arc<Attached>,
    sock: Arc<Socket>,
    fill: Producer,
    rx: Consumer,
    /// Home frames neither in the fill ring nor lent.
    free: Vec<u64>,
    returned: TokenReceiver,
    timestamp: bool,
    stats: RingStats,
}

impl XskRx {
    /// Opens queue `queue` of `device` for receiving: the frames the
    /// queue receives go to this ring, not to the kernel's stack.
    pub fn open(device: &str, queue: u32, timestamp: bool) -> Result<XskRx, String> {
        let sock = Socket::get(device, queue)?;
        if sock.rx_claimed.swap(true, Ordering::AcqRel) {
            return Err(format!(
                "{device}: queue {queue} is already received from by another element"
            ));
        }
        // A socket still alive from a receiving half that went (packets
        // hold its frames): go on from its cursors and frames.
        let left = sock
            .rx_left
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let left = match left {
            Some(left) => left,
            None => RxLeft {
                fill: Producer::new(),
                rx: Consumer::new(),
                free: (0..HOME_FRAMES as u64)
                    .rev()
                    .map(|i| sock.base() + i * FRAME as u64)
                    .collect(),
                returned: match sock
                    .rx_home_receiver
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                {
                    Some(r) => r,
                    None => {
                        sock.rx_claimed.store(false, Ordering::Release);
                        return Err(format!("{device}: queue {queue}: receive side taken"));
                    }
                },
            },
        };
        let reg = register_buffer_owner(
            Box::new(HomeOwner {
                home: sock.rx_home.clone(),
                keep: sock.clone(),
            }),
            sock.region(),
        )
        .map_err(|e| format!("{device}: {e}"))?;
        let mut me = XskRx {
            reg,
            program: attached(&sock)?,
            free: left.free,
            sock,
            fill: left.fill,
            rx: left.rx,
            returned: left.returned,
            timestamp,
            stats: RingStats::default(),
        };
        me.refill();
        me.program
            .set(queue, me.sock.fd.as_raw_fd())
            .map_err(|e| sys::os_error(device, "adding the socket to the XSKMAP", e))?;
        Ok(me)
    }

    /// Gives the fill ring every free frame it has room for.
    fn refill(&mut self) {
        let mut back = [0u64; 256];
        loop {
            let n = self.returned.drain(&mut back);
            self.free.extend_from_slice(&back[..n]);
            if n < back.len() {
                break;
            }
        }
        if self.free.is_empty() {
            return;
        }
        let room = self.fill.free(&self.sock.fill, self.free.len() as u32);
        let n = room.min(self.free.len() as u32);
        for i in 0..n {
            let addr = self.free.pop().expect("counted");
            // SAFETY: a slot of the fill ring we own (free by the count).
            unsafe { *self.sock.fill.addr(self.fill.cached_prod.wrapping_add(i)) = addr };
        }
        if n > 0 {
            self.fill.cached_prod = self.fill.cached_prod.wrapping_add(n);
            self.fill.submit(&self.sock.fill);
        }
    }

    /// Where the program attached: native or skb mode.
    pub fn mode(&self) -> XdpMode {
        self.program.mode
    }
}

impl RxRing for XskRx {
    fn into_send(self: Box<Self>) -> Result<Box<dyn RxRing + Send>, Box<dyn RxRing>> {
        Ok(self)
    }

    fn recv(&mut self, batch: &mut Batch, max: usize) -> io::Result<usize> {
        let want = max.min(BATCH_CAPACITY - batch.len()) as u32;
        let n = self.rx.available(&self.sock.rx, want);
        if n == 0 {
            self.refill();
            if self.sock.fill.needs_wakeup() {
                self.stats.syscalls += 1;
                self.sock.kick(false)?;
            }
            return Ok(0);
        }
        let mut bufs = [RxBuffer {
            token: 0,
            buf: NonNull::dangling(),
            cap: 0,
            head: 0,
            len: 0,
        }; BATCH_CAPACITY];
        for (i, b) in bufs.iter_mut().enumerate().take(n as usize) {
            // SAFETY: slots the kernel produced (counted by `available`).
            let d = unsafe {
                *self
                    .sock
                    .rx
                    .desc(self.rx.cached_cons.wrapping_add(i as u32))
            };
            let chunk = d.addr & !(FRAME as u64 - 1);
            *b = RxBuffer {
                token: chunk,
                buf: NonNull::new(self.sock.frame(chunk)).expect("UMEM is not null"),
                cap: FRAME,
                head: (d.addr - chunk) as usize,
                len: d.len as usize,
            };
        }
        self.rx.cached_cons = self.rx.cached_cons.wrapping_add(n);
        self.rx.release(&self.sock.rx);
        let ts = if self.timestamp {
            Timestamp::now()
        } else {
            Timestamp::ZERO
        };
        // SAFETY: each frame is a UMEM chunk the kernel handed us on the RX
        // ring; we do not put it in the fill ring until its packet's owner
        // hook gives it back, and the owner keeps the UMEM mapped.
        let made = unsafe { batch.wrap_frames(&self.reg, &bufs[..n as usize], ts, frame_type) };
        // Frames not wrapped (pool exhausted) go straight back.
        for b in &bufs[made..n as usize] {
            self.free.push(b.token);
        }
        self.stats.drops += (n as usize - made) as u64;
        self.stats.bytes += bufs[..made].iter().map(|b| b.len as u64).sum::<u64>();
        self.stats.packets += made as u64;
        self.stats.zero_copy += made as u64;
        self.refill();
        Ok(made)
    }

    fn fd(&self) -> RawFd {
        self.sock.fd.as_raw_fd()
    }

    fn limits(&self) -> Limits {
        Limits {
            max_batch: BATCH_CAPACITY,
            slots: RING as usize,
            max_frame: FRAME - DATA_OFFSET,
        }
    }

    fn stats(&self) -> RingStats {
        self.stats
    }

    fn kernel_drops(&self) -> Option<u64> {
        let s = self.sock.stats()?;
        Some(s.rx_dropped + s.rx_ring_full + s.rx_fill_ring_empty_descs)
    }

    fn describe(&self) -> String {
        format!(
            "AF_XDP queue {}, {} XDP, {} mode",
            self.sock.queue,
            match self.program.mode {
                XdpMode::Native => "native",
                XdpMode::Skb => "skb (generic)",
            },
            if self.sock.zero_copy {
                "zero-copy"
            } else {
                "copy"
            }
        )
    }
}

impl Drop for XskRx {
    fn drop(&mut self) {
        let left = RxLeft {
            fill: self.fill,
            rx: self.rx,
            free: std::mem::take(&mut self.free),
            returned: std::mem::replace(&mut self.returned, token_queue(1).1),
        };
        *self.sock.rx_left.lock().unwrap_or_else(|e| e.into_inner()) = Some(left);
        self.sock.rx_claimed.store(false, Ordering::Release);
    }
}

/// The transmitting half: TX and completion rings.
pub struct XskTx {
    sock: Arc<Socket>,
    tx: Producer,
    comp: Consumer,
    /// Home frames free for copies.
    free: Vec<u64>,
    in_flight: u32,
    /// The other sockets of the UMEM whose frames this half has sent
    /// without a copy: kept so that their slots stay theirs until the
    /// frames complete and go home.
    peers: Vec<Arc<Socket>>,
    stats: RingStats,
}

impl XskTx {
    /// Opens queue `queue` of `device` for transmitting.
    pub fn open(device: &str, queue: u32) -> Result<XskTx, String> {
        let sock = Socket::get(device, queue)?;
        if sock.tx_claimed.swap(true, Ordering::AcqRel) {
            return Err(format!(
                "{device}: queue {queue} is already sent to by another element"
            ));
        }
        let left = sock
            .tx_left
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| TxLeft {
                tx: Producer::new(),
                comp: Consumer::new(),
                free: (HOME_FRAMES as u64..2 * HOME_FRAMES as u64)
                    .rev()
                    .map(|i| sock.base() + i * FRAME as u64)
                    .collect(),
                in_flight: 0,
                peers: Vec::new(),
            });
        Ok(XskTx {
            sock,
            tx: left.tx,
            comp: left.comp,
            free: left.free,
            in_flight: left.in_flight,
            peers: left.peers,
            stats: RingStats::default(),
        })
    }

    /// Sends frames of the receiving home of slot `slot` back to it.
    fn send_home(&self, slot: usize, frames: &[u64]) {
        if frames.is_empty() {
            return;
        }
        let home = if slot == self.sock.slot() {
            Some(&self.sock)
        } else {
            self.peers.iter().find(|p| p.slot() == slot)
        };
        // Every frame in our ring is ours or a kept peer's (`send`).
        debug_assert!(home.is_some(), "a frame of slot {slot} with no home");
        if let Some(home) = home {
            home.rx_home.send(frames);
        }
    }

    /// Takes completed frames back: ours to the free list, the receiving
    /// half's home to it.
    fn reclaim(&mut self) {
        let n = self.comp.available(&self.sock.comp, RING);
        if n == 0 {
            return;
        }
        // Frames of a receiving home go back to it, in runs of one home.
        let mut run = [0u64; 64];
        let (mut h, mut run_slot) = (0, self.sock.slot());
        for i in 0..n {
            // SAFETY: completion slots the kernel produced.
            let addr = unsafe { *self.sock.comp.addr(self.comp.cached_cons.wrapping_add(i)) };
            let chunk = addr & !(FRAME as u64 - 1);
            if self.sock.is_tx_home(chunk) {
                self.free.push(chunk);
                continue;
            }
            let slot = (chunk / SOCKET_BYTES) as usize;
            if slot != run_slot || h == run.len() {
                self.send_home(run_slot, &run[..h]);
                (run_slot, h) = (slot, 0);
            }
            run[h] = chunk;
            h += 1;
        }
        self.send_home(run_slot, &run[..h]);
        self.comp.cached_cons = self.comp.cached_cons.wrapping_add(n);
        self.comp.release(&self.sock.comp);
        self.in_flight -= n;
    }
}

impl TxRing for XskTx {
    fn send(&mut self, batch: &mut Batch) -> io::Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        self.reclaim();
        let region = self.sock.region();
        // How many fit: a TX slot each, and a free frame for each copy.
        let slots = self.tx.free(&self.sock.tx, batch.len() as u32) as usize;
        let mut frames = self.free.len();
        let mut keep = 0;
        for p in batch.iter() {
            if keep == slots {
                break;
            }
            let swappable =
                !p.is_shared() && p.external_buffer().is_some_and(|e| e.region == region);
            if !swappable {
                if frames == 0 {
                    break;
                }
                frames -= 1;
            }
            keep += 1;
        }
        if keep == 0 {
            if self.in_flight > 0 && self.sock.tx.needs_wakeup() {
                self.stats.syscalls += 1;
                self.sock.kick(true)?;
            }
            return Ok(0);
        }
        let rest = split_off(batch, keep);
        let mut i = 0u32;
        let (mut copies, mut swaps, mut bytes, mut drops) = (0u64, 0u64, 0u64, 0u64);
        let base = self.tx.cached_prod;
        let sock = &self.sock;
        let free = &mut self.free;
        let peers = &mut self.peers;
        let mut last_peer = sock.slot();
        batch.drain_external(region, |r| {
            let (addr, len) = match r {
                Ok(ext) => {
                    // Another socket's frame: that socket is kept until
                    // the frame completes (its packet keeps it until now).
                    let slot = (ext.token / SOCKET_BYTES) as usize;
                    if slot != last_peer && slot != sock.slot() {
                        if !peers.iter().any(|p| p.slot() == slot) {
                            peers.extend(sock.umem().owner_of(ext.token));
                        }
                        last_peer = slot;
                    }
                    swaps += 1;
                    (ext.token + ext.offset as u64, ext.len)
                }
                Err(p) => {
                    let d = p.data();
                    if d.len() > FRAME - DATA_OFFSET {
                        drops += 1;
                        return;
                    }
                    let frame = free.pop().expect("counted above");
                    // SAFETY: a free frame of our home, inside the UMEM; the
                    // data fits (checked).
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            d.as_ptr(),
                            sock.frame(frame).add(DATA_OFFSET),
                            d.len(),
                        );
                    }
                    copies += 1;
                    (frame + DATA_OFFSET as u64, d.len())
                }
            };
            // SAFETY: a TX slot we own (free by the count).
            unsafe {
                *sock.tx.desc(base.wrapping_add(i)) = libc::xdp_desc {
                    addr,
                    len: len as u32,
                    options: 0,
                };
            }
            bytes += len as u64;
            i += 1;
        });
        rejoin(batch, rest);
        self.tx.cached_prod = self.tx.cached_prod.wrapping_add(i);
        self.tx.submit(&self.sock.tx);
        self.in_flight += i;
        // Copy mode sends only when kicked; zero-copy drivers say when.
        if !self.sock.zero_copy || self.sock.tx.needs_wakeup() {
            self.stats.syscalls += 1;
            self.sock.kick(true)?;
        }
        self.stats.packets += i as u64;
        self.stats.bytes += bytes;
        self.stats.copies += copies;
        self.stats.zero_copy += swaps;
        self.stats.drops += drops;
        Ok(keep)
    }

    fn fd(&self) -> RawFd {
        self.sock.fd.as_raw_fd()
    }

    fn wait_interest(&self) -> Option<Interest> {
        // EPOLLOUT says the TX ring has room, not that frames came back.
        None
    }

    fn limits(&self) -> Limits {
        Limits {
            max_batch: BATCH_CAPACITY,
            slots: RING as usize,
            max_frame: FRAME - DATA_OFFSET,
        }
    }

    fn stats(&self) -> RingStats {
        self.stats
    }

    fn describe(&self) -> String {
        format!(
            "AF_XDP queue {}, {} mode",
            self.sock.queue,
            if self.sock.zero_copy {
                "zero-copy"
            } else {
                "copy"
            }
        )
    }
}

impl Drop for XskTx {
    fn drop(&mut self) {
        self.reclaim();
        // Peers kept only for frames still in flight: two sockets that
        // kept each other in their `tx_left` would never be freed.
        let peers = if self.in_flight > 0 {
            std::mem::take(&mut self.peers)
        } else {
            Vec::new()
        };
        let left = TxLeft {
            tx: self.tx,
            comp: self.comp,
            free: std::mem::take(&mut self.free),
            in_flight: self.in_flight,
            peers,
        };
        *self.sock.tx_left.lock().unwrap_or_else(|e| e.into_inner()) = Some(left);
        self.sock.tx_claimed.store(false, Ordering::Release);
    }
}
