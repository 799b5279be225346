//! The TPACKET_V3 receive ring: the kernel fills blocks of frames in a
//! shared mapping; the ring lends each frame to a packet as an external
//! buffer and gives a block back once its last frame's packet is gone
//! ([`BlockRefs`]), from whatever thread freed it. No system call per
//! batch: the block status word is the hand-over.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use click_engine::packet::{
    register_buffer_owner, Batch, BlockRefs, BufferOwner, OwnerRegistration, Packet, PacketType,
    RegionId, RxBuffer, Timestamp, BATCH_CAPACITY,
};

use super::abi::*;
use super::{load_acquire, read, store_release};
use crate::ring::{Limits, RingStats, RxRing};
use crate::sys::{self, Mmap};
use crate::RxConfig;

/// Block size: a 64 KiB block holds ~400 small frames; 64 blocks buffer
/// ~40 ms at the rates veth reaches here.
const BLOCK_SIZE: usize = 1 << 16;
const BLOCKS: u32 = 64;
/// The frame size the kernel uses only to count frames (TPACKET_V3 frames
/// are as long as their packet).
const FRAME_SIZE: u32 = 2048;
/// A block is handed to us when full, or after this many milliseconds.
const RETIRE_MS: u32 = 1;

/// What the release hook and the ring thread share: the mapping and the
/// blocks' counts.
struct Shared {
    map: Mmap,
    refs: BlockRefs,
    /// Blocks whose frames are still held by packets after the ring moved
    /// past them.
    out: AtomicU32,
}

impl Shared {
    fn block(&self, b: u32) -> *mut u8 {
        self.map.at(b as usize * BLOCK_SIZE)
    }

    /// Gives block `b` back to the kernel.
    fn give_back(&self, b: u32) {
        // SAFETY: a block descriptor inside the mapping, 8-aligned.
        unsafe { store_release(self.block(b).add(BD_STATUS), TP_STATUS_KERNEL) };
    }
}

impl BufferOwner for Shared {
    fn release(&self, token: u64) {
        self.release_batch(&[token]);
    }

    fn release_batch(&self, tokens: &[u64]) {
        self.refs.release(tokens, |b| {
            self.give_back(b);
            self.out.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// A TPACKET_V3 receive ring on one device (or one member of a fanout
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
    /// The block being read, whether it is open, frames left in it, the
    /// offset and index of the next one.
    cur: u32,
    open: bool,
    left: u32,
    next: usize,
    frame: u32,
    /// Copy this block's frames rather than lend them (half the ring is
    /// held by packets: let blocks go back).
    copying: bool,
    outbound: bool,
    headroom: usize,
    snaplen: usize,
    timestamp: bool,
    fanout: Option<u16>,
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
        sys::setsockopt(raw, libc::SOL_PACKET, PACKET_VERSION, &TPACKET_V3)
            .map_err(|e| err("TPACKET_V3", e))?;
        // Headroom before the MAC header of every frame, past the kernel's
        // own headers (Click's HEADROOM, for encapsulations in place).
        let reserve = cfg.headroom.saturating_sub(H_SLL + 20) as u32;
        if reserve > 0 {
            sys::setsockopt(raw, libc::SOL_PACKET, PACKET_RESERVE, &reserve)
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
        let req = TpacketReq3 {
            block_size: BLOCK_SIZE as u32,
            block_nr: BLOCKS,
            frame_size: FRAME_SIZE,
            frame_nr: (BLOCK_SIZE as u32 / FRAME_SIZE) * BLOCKS,
            retire_blk_tov: RETIRE_MS,
            ..Default::default()
        };
        sys::setsockopt(raw, libc::SOL_PACKET, PACKET_RX_RING, &req)
            .map_err(|e| err("PACKET_RX_RING", e))?;
        let map = Mmap::of_fd(raw, BLOCK_SIZE * BLOCKS as usize, 0)
            .map_err(|e| err("mapping the ring", e))?;
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
            refs: BlockRefs::new(BLOCKS),
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
            cur: 0,
            open: false,
            left: 0,
            next: 0,
            frame: 0,
            copying: false,
            outbound,
            headroom: cfg.headroom,
            snaplen: cfg.snaplen,
            timestamp: cfg.timestamp,
            fanout,
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

    /// Opens the next block if the kernel has filled it.
    fn open_block(&mut self) -> bool {
        let bd = self.shared.block(self.cur);
        // SAFETY: the descriptor of block `cur`, inside the mapping.
        let status = unsafe { load_acquire(bd.add(BD_STATUS)) };
        if status & TP_STATUS_USER == 0 {
            return false;
        }
        if !self.shared.refs.open(self.cur) {
            // The kernel gave us a block we never gave back: the ring and
            // our counts disagree. Skip it rather than lend it twice.
            tracing::error!("{}: block {} handed over twice", self.device, self.cur);
            return false;
        }
        // SAFETY: the block is ours (status USER, read with Acquire).
        unsafe {
            self.left = read::<u32>(bd.add(BD_NUM_PKTS));
            self.next = read::<u32>(bd.add(BD_FIRST)) as usize;
        }
        self.frame = 0;
        self.open = true;
        self.copying = self.shared.out.load(Ordering::Relaxed) >= BLOCKS / 2;
        true
    }

    /// The ring is done with the current block.
    fn close_block(&mut self) {
        let b = self.cur;
        self.shared.out.fetch_add(1, Ordering::Relaxed);
        if self.shared.refs.close(b) {
            self.shared.out.fetch_sub(1, Ordering::Relaxed);
            self.shared.give_back(b);
        }
        self.cur = (self.cur + 1) % BLOCKS;
        self.open = false;
    }
}

/// Per-frame annotations read from the frame header.
#[derive(Clone, Copy, Default)]
struct Meta {
    ts: u64,
    ptype: u8,
    extra: u32,
    vlan: Option<u16>,
}

impl RxRing for PacketRx {
    fn into_send(self: Box<Self>) -> Result<Box<dyn RxRing + Send>, Box<dyn RxRing>> {
        Ok(self)
    }

    fn recv(&mut self, batch: &mut Batch, max: usize) -> io::Result<usize> {
        let want = max.min(BATCH_CAPACITY - batch.len());
        let mut got = 0;
        while got < want {
            if !self.open && !self.open_block() {
                break;
            }
            let block = self.shared.block(self.cur);
            let mut bufs = [RxBuffer {
                token: 0,
                buf: NonNull::dangling(),
                cap: 0,
                head: 0,
                len: 0,
            }; BATCH_CAPACITY];
            let mut meta = [Meta::default(); BATCH_CAPACITY];
            let mut n = 0;
            while n < want - got && self.left > 0 {
                let off = self.next;
                // SAFETY: the frame header at `off` inside our block, as the
                // kernel laid it out (offsets within the block).
                let (next, sec, nsec, snap, len, status, mac, tci, ptype) = unsafe {
                    let h = block.add(off);
                    (
                        read::<u32>(h.add(H_NEXT)) as usize,
                        read::<u32>(h.add(H_SEC)),
                        read::<u32>(h.add(H_NSEC)),
                        read::<u32>(h.add(H_SNAPLEN)) as usize,
                        read::<u32>(h.add(H_LEN)) as usize,
                        read::<u32>(h.add(H_STATUS)),
                        read::<u16>(h.add(H_MAC)) as usize,
                        read::<u32>(h.add(H_VLAN_TCI)),
                        *h.add(H_SLL + SLL_PKTTYPE),
                    )
                };
                self.left -= 1;
                self.next = off + next;
                let index = self.frame;
                self.frame += 1;
                if ptype == PACKET_OUTGOING && !self.outbound {
                    continue;
                }
                let cap = if next != 0 { next } else { BLOCK_SIZE - off };
                let keep = snap.min(self.snaplen);
                bufs[n] = RxBuffer {
                    token: BlockRefs::token(self.cur, index),
                    // SAFETY: inside the block (offset from the kernel,
                    // bounds checked by RxBuffer::check below).
                    buf: NonNull::new(unsafe { block.add(off) }).expect("mapping is not null"),
                    cap,
                    head: mac,
                    len: keep,
                };
                meta[n] = Meta {
                    ts: if self.timestamp {
                        sec as u64 * 1_000_000_000 + nsec as u64
                    } else {
                        0
                    },
                    ptype,
                    extra: len.saturating_sub(keep) as u32,
                    vlan: (status & TP_STATUS_VLAN_VALID != 0).then_some(tci as u16),
                };
                n += 1;
            }
            let start = batch.len();
            let made = if self.copying {
                let mut made = 0;
                for rx in &bufs[..n] {
                    if rx.check().is_err() {
                        break;
                    }
                    // SAFETY: checked bounds inside our block.
                    let data =
                        unsafe { std::slice::from_raw_parts(rx.buf.as_ptr().add(rx.head), rx.len) };
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
            } else {
                // SAFETY: every buffer is a frame of a block the kernel
                // handed to us, inside our mapping, which the owner object
                // keeps alive; the block goes back to the kernel only when
                // BlockRefs says its last frame's packet is gone.
                let made = unsafe { batch.wrap_external(&self.reg, &bufs[..n]) };
                self.shared.refs.lend(self.cur, made as u32);
                self.stats.zero_copy += made as u64;
                made
            };
            self.stats.drops += (n - made) as u64;
            for (p, m) in batch.as_mut_slice()[start..].iter_mut().zip(&meta[..made]) {
                self.stats.bytes += p.len() as u64;
                let a = p.anno_mut();
                a.set_timestamp(Timestamp::from_nanos(m.ts));
                a.set_packet_type(packet_type(m.ptype));
                a.set_extra_length(m.extra);
                if let Some(tci) = m.vlan {
                    a.set_vlan_tci(tci);
                }
                let _ = p.set_mac_header(0);
            }
            got += made;
            self.stats.packets += made as u64;
            if self.left == 0 {
                self.close_block();
            }
            if made < n {
                break; // pool exhausted: let it drain
            }
        }
        Ok(got)
    }

    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn limits(&self) -> Limits {
        Limits {
            max_batch: BATCH_CAPACITY,
            slots: (BLOCK_SIZE as u32 / FRAME_SIZE * BLOCKS) as usize,
            max_frame: BLOCK_SIZE - 128,
        }
    }

    fn stats(&self) -> RingStats {
        self.stats
    }

    fn kernel_drops(&self) -> Option<u64> {
        // SAFETY: tpacket_stats_v3 is three u32s. Reading resets the
        // kernel's counts: keep the sum.
        let (s, _) = unsafe {
            sys::getsockopt::<TpacketStatsV3>(
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
            "AF_PACKET TPACKET_V3 ring, {BLOCKS} blocks of {} KiB{fanout}{blocked}",
            BLOCK_SIZE / 1024
        )
    }
}

/// The fanout group of this process's rings on `ifindex`: every ring of
/// the device with N_QUEUES > 1 joins it, and the kernel spreads flows
/// over them by hash.
fn fanout_group(ifindex: u32) -> u16 {
    ((std::process::id() << 4) ^ ifindex) as u16
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
