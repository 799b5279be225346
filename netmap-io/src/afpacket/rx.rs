//! The TPACKET_V2 receive ring: the kernel fills fixed frames in a shared
//! mapping, in order, and sets each frame's status word once its packet
//! is in it; the ring lends each frame to a packet as an external buffer
//! and gives it back (status word to the kernel) once that packet is
//! gone, from whatever thread freed it. No system call per batch: the
//! status word is the hand-over.
//!
//! Why V2 and not TPACKET_V3's blocks: V3 hands a block over only when it
//! is full or after its retire timeout, at least a millisecond; a router
//! reading V3 held every frame of a light flow (a ping, TCP's ACKs) up to
//! that long: a ping through it took 0.5-1.5 ms (median), against 0.03
//! through XDP. V2 hands each frame over as it lands: 0.03-0.07 ms
//! (docs/PERFORMANCE.md has both).

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use click_engine::packet::{
    register_buffer_owner, Batch, BufferOwner, OwnerRegistration, Packet, PacketType, RegionId,
    RxBuffer, Timestamp, BATCH_CAPACITY,
};

use super::abi::*;
use super::{load_acquire, read, store_release};
use crate::ring::{Limits, RingStats, RxRing};
use crate::sys::{self, Mmap};
use crate::RxConfig;

/// The ring's memory: 4 MiB, 2048 frames of 2 KiB for a 1500-byte MTU
/// (~3 ms at the rates veth reaches here).
const RING_BYTES: usize = 4 << 20;
/// The kernel allocates the ring in blocks of this size (frames never
/// straddle one); the mapping lays them end to end.
const BLOCK_SIZE: usize = 1 << 16;
/// Smallest frame.
const MIN_FRAME: usize = 2048;
/// The status word of a frame this reader took and has not given back:
/// not the kernel's (0), so the kernel does not fill it, and without
/// `TP_STATUS_USER`, which the kernel sets on every frame it fills, so the
/// reader does not take it again when it comes back to it a lap later (a
/// packet may hold its frame that long: a queue's backlog). A bit no
/// kernel sets.
const TP_STATUS_HELD: u32 = 1 << 27;

/// What the release hook and the ring thread share: the mapping and how
/// many of its frames packets hold.
struct Shared {
    map: Mmap,
    frame_size: usize,
    /// Frames lent to packets and not yet given back.
    out: AtomicU32,
}

impl Shared {
    fn frame(&self, f: u32) -> *mut u8 {
        self.map.at(f as usize * self.frame_size)
    }

    /// Gives frame `f` back to the kernel.
    fn give_back(&self, f: u32) {
        // SAFETY: a frame header inside the mapping, 4-aligned; Release:
        // our reads of the frame happen before the kernel may refill it.
        unsafe { store_release(self.frame(f).add(H2_STATUS), TP_STATUS_KERNEL) };
    }
}

impl BufferOwner for Shared {
    fn release(&self, token: u64) {
        self.release_batch(&[token]);
    }

    fn release_batch(&self, tokens: &[u64]) {
        for &t in tokens {
            self.give_back(t as u32);
        }
        self.out.fetch_sub(tokens.len() as u32, Ordering::Relaxed);
    }
}

/// A TPACKET_V2 receive ring on one device (or one member of a fanout
/// group).
pub struct PacketRx {
    // Field order is drop order: the registration first (the mapping stays
    // alive in the owner object while packets hold frames), then the
    // socket.
    reg: OwnerRegistration,
    shared: Arc<Shared>,
    fd: OwnedFd,
    /// While open, the kernel's stack does not get the device's frames
    /// ([`PacketRx::block_stack`]).
    stack_blocked: Option<OwnedFd>,
    device: String,
    frames: u32,
    /// Longest frame a ring frame holds whole.
    max_frame: usize,
    /// The next frame the kernel fills.
    next: u32,
    outbound: bool,
    headroom: usize,
    snaplen: usize,
    timestamp: bool,
    fanout: Option<u16>,
    /// Frames longer than a ring frame were seen (warned once).
    warned_truncated: bool,
    stats: RingStats,
    kernel_drops: Cell<u64>,
}

impl PacketRx {
    /// Opens the ring on `cfg.device`.
    pub fn open(cfg: &RxConfig) -> Result<PacketRx, String> {
        let dev = &cfg.device;
        let ifindex = sys::ifindex(dev)?;
        let err = |what: &str, e: io::Error| sys::os_error(dev, what, e);
        // Protocol 0: nothing arrives before the ring is set up and bound.
        let fd =
            sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(|e| err("packet socket", e))?;
        let raw = fd.as_raw_fd();
        sys::setsockopt(raw, libc::SOL_PACKET, PACKET_VERSION, &TPACKET_V2)
            .map_err(|e| err("TPACKET_V2", e))?;
        // Headroom before the MAC header of every frame, past the kernel's
        // own headers (Click's HEADROOM, for encapsulations in place).
        let reserve = cfg.headroom.saturating_sub(TPACKET2_HDRLEN);
        if reserve > 0 {
            sys::setsockopt(raw, libc::SOL_PACKET, PACKET_RESERVE, &(reserve as u32))
                .map_err(|e| err("PACKET_RESERVE", e))?;
        }
        let mut outbound = cfg.outbound;
        if !outbound {
            // Our own transmissions are not received (Click: a FromDevice
            // does not see its ToDevice's packets). Older kernels: the
            // ring skips them by packet type instead.
            let one: i32 = 1;
            if sys::setsockopt(raw, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, &one).is_ok() {
                outbound = true;
            }
        }
        let frame_size = frame_size(sys::mtu(dev).unwrap_or(1500), reserve);
        let max_frame = frame_size - mac_offset(reserve);
        let block_size = BLOCK_SIZE.max(frame_size);
        let blocks = (RING_BYTES / block_size).max(1);
        let frames = blocks * (block_size / frame_size);
        let req = TpacketReq {
            block_size: block_size as u32,
            block_nr: blocks as u32,
            frame_size: frame_size as u32,
            frame_nr: frames as u32,
        };
        sys::setsockopt(raw, libc::SOL_PACKET, PACKET_RX_RING, &req)
            .map_err(|e| err("PACKET_RX_RING", e))?;
        let map =
            Mmap::of_fd(raw, block_size * blocks, 0).map_err(|e| err("mapping the ring", e))?;
        let protocol = if cfg.protocol == 0 {
            ETH_P_ALL
        } else {
            cfg.protocol
        };
        bind(raw, ifindex, protocol).map_err(|e| err("bind", e))?;
        if cfg.promisc {
            sys::set_promisc(raw, ifindex).map_err(|e| err("promiscuous mode", e))?;
        }
        let fanout = if cfg.n_queues > 1 {
            let group = fanout_group(ifindex);
            let arg: u32 = group as u32 | (PACKET_FANOUT_HASH << 16);
            sys::setsockopt(raw, libc::SOL_PACKET, PACKET_FANOUT, &arg)
                .map_err(|e| err("PACKET_FANOUT", e))?;
            Some(group)
        } else {
            None
        };
        let region = RegionId(map.ptr().as_ptr() as u64);
        let shared = Arc::new(Shared {
            map,
            frame_size,
            out: AtomicU32::new(0),
        });
        let reg = register_buffer_owner(Box::new(shared.clone()), region)
            .map_err(|e| format!("{dev}: {e}"))?;
        Ok(PacketRx {
            reg,
            shared,
            fd,
            stack_blocked: None,
            device: dev.clone(),
            frames: frames as u32,
            max_frame,
            next: 0,
            outbound,
            headroom: cfg.headroom,
            snaplen: cfg.snaplen,
            timestamp: cfg.timestamp,
            fanout,
            warned_truncated: false,
            stats: RingStats::default(),
            kernel_drops: Cell::new(0),
        })
    }

    /// Keeps the kernel's stack from the device's frames while the ring
    /// is open (a source that is not a sniffer: Click's FromDevice with
    /// SNIFFER false). Only for a socket bound to all protocols, which
    /// sees the frames before the drop; without tcx (Linux 6.6) or the
    /// right to load a program, the kernel goes on seeing them: warned.
    pub fn block_stack(&mut self, protocol: u16) {
        if protocol != 0 {
            tracing::warn!(
                "{}: SNIFFER false with PROTOCOL: the kernel's stack still gets the frames",
                self.device
            );
            return;
        }
        match sys::ifindex(&self.device).map_err(io::Error::other).and_then(crate::xdp::bpf::block_stack) {
            Ok(link) => self.stack_blocked = Some(link),
            Err(e) => tracing::warn!(
                "{}: cannot keep the kernel's stack from the frames (a tcx drop program: {e}); it gets them too",
                self.device
            ),
        }
    }

    /// Takes up to `want` frames the kernel has filled, in ring order,
    /// into `bufs` and `meta`; our own transmissions (when not wanted) go
    /// straight back. Returns how many it kept.
    fn take_frames(&mut self, want: usize, bufs: &mut [RxBuffer], meta: &mut [Meta]) -> usize {
        let mut n = 0;
        while n < want {
            let f = self.next;
            let h = self.shared.frame(f);
            // SAFETY: the header of frame `f`, inside the mapping.
            let status = unsafe { load_acquire(h.add(H2_STATUS)) };
            if status & TP_STATUS_USER == 0 {
                break;
            }
            self.next = if f + 1 == self.frames { 0 } else { f + 1 };
            // Ours until given back, also to this reader (TP_STATUS_HELD):
            // left USER, a frame still held when the reader comes round to
            // it again is read as new, a second packet on one frame; the
            // first freed gives the frame to the kernel under the other,
            // and frames the kernel fills meanwhile are skipped, so the
            // reader may wait at a frame the kernel reaches only a lap
            // later (the ring stalls until as many frames again arrive).
            // SAFETY: as above.
            unsafe { store_release(h.add(H2_STATUS), TP_STATUS_HELD) };
            // SAFETY: the frame is ours (status USER, read with Acquire).
            match unsafe { self.read_frame(f, h, status) } {
                Some((rx, m)) => {
                    (bufs[n], meta[n]) = (rx, m);
                    n += 1;
                }
                None => self.shared.give_back(f),
            }
        }
        n
    }

    /// Frame `f`'s buffer and annotations from its header at `h`, or None
    /// for a frame this host sent that the source does not want.
    ///
    /// # Safety
    /// The frame is ours: its status word read USER with Acquire.
    unsafe fn read_frame(&mut self, f: u32, h: *mut u8, status: u32) -> Option<(RxBuffer, Meta)> {
        // SAFETY: the caller's contract; the header's fields are inside the
        // frame, at the offsets of struct tpacket2_hdr.
        let (len, snap, mac, sec, nsec, tci, ptype) = unsafe {
            (
                read::<u32>(h.add(H2_LEN)) as usize,
                read::<u32>(h.add(H2_SNAPLEN)) as usize,
                read::<u16>(h.add(H2_MAC)) as usize,
                read::<u32>(h.add(H2_SEC)),
                read::<u32>(h.add(H2_NSEC)),
                read::<u16>(h.add(H2_VLAN_TCI)),
                *h.add(H2_SLL + SLL_PKTTYPE),
            )
        };
        if ptype == PACKET_OUTGOING && !self.outbound {
            return None;
        }
        if snap < len && !self.warned_truncated {
            self.warned_truncated = true;
            tracing::warn!(
                "{}: a {len}-byte frame arrived truncated to {snap} (longer than the \
                 device's MTU: turn GRO off, `ethtool -K {} gro off`)",
                self.device,
                self.device
            );
        }
        let keep = snap.min(self.snaplen);
        let rx = RxBuffer {
            token: f as u64,
            buf: NonNull::new(h).expect("mapping is not null"),
            cap: self.shared.frame_size,
            head: mac,
            len: keep,
        };
        let ts = if self.timestamp {
            sec as u64 * 1_000_000_000 + nsec as u64
        } else {
            0
        };
        let meta = Meta {
            ts,
            ptype,
            extra: len.saturating_sub(keep) as u32,
            vlan: (status & TP_STATUS_VLAN_VALID != 0).then_some(tci),
        };
        Some((rx, meta))
    }

    /// Makes the frames packets at the end of `batch`: lent (zero copy),
    /// or copied while half the ring is held by packets (a queue that
    /// keeps them, a slow consumer), so that frames go back and the kernel
    /// can go on. Frames not lent go back now; those the pool had no
    /// packet for are dropped and counted. Returns how many it made.
    fn hand_over(&mut self, batch: &mut Batch, bufs: &[RxBuffer]) -> usize {
        let n = bufs.len();
        let copying = self.shared.out.load(Ordering::Relaxed) >= self.frames / 2;
        let (made, lent) = if copying {
            (self.copy_out(batch, bufs), 0)
        } else {
            // Counted out before they are packets: a packet freed on another
            // thread at once must not count one back before it went out.
            self.shared.out.fetch_add(n as u32, Ordering::Relaxed);
            // SAFETY: every buffer is a frame the kernel handed to us (status
            // USER), inside our mapping, which the owner object keeps alive;
            // the frame goes back to the kernel only when its packet is gone.
            let made = unsafe { batch.wrap_external(&self.reg, bufs) };
            self.shared
                .out
                .fetch_sub((n - made) as u32, Ordering::Relaxed);
            self.stats.zero_copy += made as u64;
            (made, made)
        };
        for rx in &bufs[lent..] {
            self.shared.give_back(rx.token as u32);
        }
        self.stats.drops += (n - made) as u64;
        made
    }

    /// Copies the frames of `bufs` into packets of the pool, appended to
    /// `batch`; returns how many (fewer if the pool runs dry).
    fn copy_out(&mut self, batch: &mut Batch, bufs: &[RxBuffer]) -> usize {
        let mut made = 0;
        for rx in bufs {
            if rx.check().is_err() {
                break;
            }
            // SAFETY: checked bounds inside a frame that is ours.
            let data = unsafe { std::slice::from_raw_parts(rx.buf.as_ptr().add(rx.head), rx.len) };
            let Ok(mut p) = Packet::with_headroom(self.headroom, rx.len) else {
                break;
            };
            if let Ok(d) = p.data_mut() {
                d.copy_from_slice(data);
            }
            batch.push(p);
            made += 1;
        }
        self.stats.copies += made as u64;
        made
    }
}

/// An empty slot of a receive burst.
const NO_FRAME: RxBuffer = RxBuffer {
    token: 0,
    buf: NonNull::dangling(),
    cap: 0,
    head: 0,
    len: 0,
};

/// Per-frame annotations read from the frame header.
#[derive(Clone, Copy, Default)]
struct Meta {
    ts: u64,
    ptype: u8,
    extra: u32,
    vlan: Option<u16>,
}

impl Meta {
    /// Sets the packet's annotations and MAC header from the frame's.
    fn annotate(&self, p: &mut Packet) {
        let a = p.anno_mut();
        a.set_timestamp(Timestamp::from_nanos(self.ts));
        a.set_packet_type(packet_type(self.ptype));
        a.set_extra_length(self.extra);
        if let Some(tci) = self.vlan {
            a.set_vlan_tci(tci);
        }
        let _ = p.set_mac_header(0);
    }
}

impl RxRing for PacketRx {
    fn into_send(self: Box<Self>) -> Result<Box<dyn RxRing + Send>, Box<dyn RxRing>> {
        Ok(self)
    }

    fn recv(&mut self, batch: &mut Batch, max: usize) -> io::Result<usize> {
        let want = max.min(BATCH_CAPACITY - batch.len());
        let mut bufs = [NO_FRAME; BATCH_CAPACITY];
        let mut meta = [Meta::default(); BATCH_CAPACITY];
        let n = self.take_frames(want, &mut bufs, &mut meta);
        if n == 0 {
            return Ok(0);
        }
        let start = batch.len();
        let made = self.hand_over(batch, &bufs[..n]);
        for (p, m) in batch.as_mut_slice()[start..].iter_mut().zip(&meta[..made]) {
            self.stats.bytes += p.len() as u64;
            m.annotate(p);
        }
        self.stats.packets += made as u64;
        Ok(made)
    }

    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn ready_while_held(&self) -> bool {
        // The socket polls readable while the frame before the kernel's
        // head is not back; each arrival calls the socket's data-ready
        // hook, an edge the source wakes on.
        true
    }

    fn limits(&self) -> Limits {
        Limits {
            max_batch: BATCH_CAPACITY,
            slots: self.frames as usize,
            max_frame: self.max_frame,
        }
    }

    fn stats(&self) -> RingStats {
        self.stats
    }

    fn kernel_drops(&self) -> Option<u64> {
        // SAFETY: tpacket_stats is two u32s. Reading resets the kernel's
        // counts: keep the sum.
        let (s, _) = unsafe {
            sys::getsockopt::<TpacketStats>(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
            )
        }
        .ok()?;
        self.kernel_drops
            .set(self.kernel_drops.get() + s.drops as u64);
        Some(self.kernel_drops.get())
    }

    fn describe(&self) -> String {
        let fanout = match self.fanout {
            Some(g) => format!(", fanout group {g}"),
            None => String::new(),
        };
        let blocked = if self.stack_blocked.is_some() {
            ", kernel stack blocked"
        } else {
            ""
        };
        format!(
            "AF_PACKET TPACKET_V2 ring, {} frames of {} bytes{fanout}{blocked}",
            self.frames, self.shared.frame_size
        )
    }
}

/// The fanout group of this process's rings on `ifindex`: every ring of
/// the device with N_QUEUES > 1 joins it, and the kernel spreads flows
/// over them by hash.
fn fanout_group(ifindex: u32) -> u16 {
    ((std::process::id() << 4) ^ ifindex) as u16
}

/// The ring's frame size for a device of `mtu` and `reserve` bytes of
/// headroom: the kernel's header, the reserve and a whole frame (with a
/// VLAN tag), a power of two, at least [`MIN_FRAME`]. Longer frames (GRO's
/// merged ones) arrive truncated, their length kept.
fn frame_size(mtu: usize, reserve: usize) -> usize {
    (mac_offset(reserve) + mtu + 18)
        .next_power_of_two()
        .max(MIN_FRAME)
}

/// Where the kernel puts an Ethernet frame's MAC header in a ring frame:
/// TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + reserve, less the 14-byte header.
fn mac_offset(reserve: usize) -> usize {
    (TPACKET2_HDRLEN + 16).next_multiple_of(16) + reserve - 14
}

fn packet_type(t: u8) -> PacketType {
    match t {
        1 => PacketType::Broadcast,
        2 => PacketType::Multicast,
        3 => PacketType::OtherHost,
        4 => PacketType::Outgoing,
        5 => PacketType::Loopback,
        _ => PacketType::Host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_holds_the_kernel_header_the_headroom_and_a_whole_frame() {
        // Click's headroom (128) past the kernel's 52-byte header.
        let reserve = 128 - TPACKET2_HDRLEN;
        assert_eq!(frame_size(1500, reserve), 2048);
        assert_eq!(frame_size(1500, 0), 2048);
        // 142 bytes before the MAC header, 9018 of frame: 9160, rounded up.
        assert_eq!(mac_offset(reserve), 142);
        assert_eq!(frame_size(9000, reserve), 16384);
        // A 1500-byte MTU's whole frame (with a VLAN tag) fits.
        assert!(2048 - mac_offset(reserve) >= 1518);
    }
}
