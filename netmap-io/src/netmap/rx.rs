//! The receiving half: a port's RX rings, whose buffers become the
//! packets.
//!
//! `recv` takes the slots from `head` to `tail` of a ring (one
//! `NIOCRXSYNC` first only when there are none), wraps each slot's buffer
//! into a packet ([`Batch::wrap_external`], token = buffer index) and puts
//! a spare buffer in the slot (`NS_BUF_CHANGED`), so that the ring moves
//! on while the packet lives. The spares are netmap's extra buffers, asked
//! for at registration; a buffer comes back to them when its packet is
//! freed (the owner's release hook, on any thread, through a token queue),
//! or, when the packet went out of a TX ring of the same memory region by a
//! swap, the buffer the TX slot held comes back instead (the homes table
//! below tells the transmitting half where to send it: straight into the
//! receiving half's thread-local entry when both halves run on one
//! thread, else through its token queue). When the spares
//! run out (packets held for long), slots are copied into pool packets,
//! and counted.

use std::cell::RefCell;
use std::io;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use click_engine::packet::{
    register_buffer_owner, token_queue, Batch, OwnerRegistration, Packet, RegionId, RxBuffer,
    Timestamp, TokenReceiver, TokenSender, BATCH_CAPACITY,
};

use super::abi::{netmap_slot, ring_add, Ring, NS_BUF_CHANGED, NS_MOREFRAG};
use super::kernel::{Dir, Kernel};
use super::name::PortName;
use super::port::Port;
use crate::ring::{frame_type, set_packet_type, HomeOwner, Limits, RingStats, RxRing};
use crate::RxConfig;

/// Spare buffers asked for per receiving port: enough for a ring of 1024
/// slots and a few thousand packets held downstream (a Queue) before
/// receiving falls back to copies.
pub const SPARE_BUFFERS: u32 = 4096;

/// Where a receiving port's buffers go home: the transmitting half sends
/// the buffers its swaps free to the home of the packet's owner.
#[derive(Clone)]
pub(crate) struct Home {
    pub owner: u16,
    pub region: RegionId,
    pub sender: TokenSender,
    /// Keeps the port (so its descriptor, so its buffers) while a
    /// transmitting half may still send buffers home.
    pub _port: Arc<Port>,
}

static HOMES: Mutex<Vec<Home>> = Mutex::new(Vec::new());
static HOMES_GEN: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The receiving halves of this thread, by owner id, each with the
    /// buffers that swaps on this thread freed for it: a transmitting
    /// half on the same thread (a FromDevice and a ToDevice on one
    /// thread, the usual forwarder) hands them over here instead of
    /// through the token queue, which costs two atomic stores, two loads
    /// and a shared cache line per buffer.
    static LOCAL_HOMES: RefCell<Vec<(u16, Vec<u32>)>> = const { RefCell::new(Vec::new()) };
}

/// Gives `bufs` to the receiving half `owner` if it lives on this thread;
/// false if it does not (send them through its token queue then).
pub(crate) fn send_home_locally(owner: u16, bufs: &[(u16, u32)]) -> bool {
    LOCAL_HOMES
        .try_with(|l| {
            let mut l = l.borrow_mut();
            let Some((_, home)) = l.iter_mut().find(|(o, _)| *o == owner) else {
                return false;
            };
            home.extend(bufs.iter().map(|&(_, b)| b));
            true
        })
        .unwrap_or(false)
}

/// Changes whenever a home comes or goes.
pub(crate) fn homes_generation() -> u64 {
    HOMES_GEN.load(Ordering::Acquire)
}

/// The homes of region `region` now.
pub(crate) fn homes_of(region: RegionId) -> Vec<Home> {
    HOMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|h| h.region == region)
        .cloned()
        .collect()
}

/// The receiving half of a netmap port.
pub struct NetmapRx {
    reg: OwnerRegistration,
    port: Arc<Port>,
    /// The ring to look at first.
    next: usize,
    spares: Vec<u32>,
    /// How many buffers this half owns (spares, lent, in flight).
    population: usize,
    returned: Option<TokenReceiver>,
    /// Inside a frame split over several slots (NS_MOREFRAG): dropped.
    in_frag: bool,
    snaplen: usize,
    headroom: usize,
    timestamp: bool,
    stats: RingStats,
    /// Its entry in this thread's `LOCAL_HOMES`: the half stays on the
    /// thread that opened it.
    _here: PhantomData<*const ()>,
}

impl NetmapRx {
    /// Opens the receive rings of `cfg.device` (a netmap port name) on the
    /// process's netmap kernel ([`kernel`](super::kernel)).
    pub fn open(cfg: &RxConfig) -> Result<NetmapRx, String> {
        let name = PortName::parse(&cfg.device)?.for_queue(cfg.queue, cfg.n_queues)?;
        NetmapRx::open_with(&*super::kernel(), &name, cfg)
    }

    /// Opens the receive rings of `name` on `kernel` (the real one or an
    /// emulation).
    pub fn open_with(
        kernel: &dyn Kernel,
        name: &PortName,
        cfg: &RxConfig,
    ) -> Result<NetmapRx, String> {
        let (port, spares) = Port::open(kernel, name, Dir::Rx, SPARE_BUFFERS)?;
        let port = Arc::new(port);
        let population = spares.len();
        let (home, returned) = token_queue(population.max(64));
        let reg = register_buffer_owner(
            Box::new(HomeOwner {
                home: home.clone(),
                keep: port.clone(),
            }),
            port.region,
        )
        .map_err(|e| format!("{name}: {e}"))?;
        HOMES.lock().unwrap_or_else(|e| e.into_inner()).push(Home {
            owner: reg.id().get(),
            region: port.region,
            sender: home,
            _port: port.clone(),
        });
        HOMES_GEN.fetch_add(1, Ordering::AcqRel);
        LOCAL_HOMES.with(|l| {
            l.borrow_mut()
                .push((reg.id().get(), Vec::with_capacity(population)))
        });
        Ok(NetmapRx {
            reg,
            port,
            next: 0,
            spares,
            population,
            returned: Some(returned),
            in_frag: false,
            snaplen: cfg.snaplen,
            headroom: cfg.headroom,
            timestamp: cfg.timestamp,
            stats: RingStats::default(),
            _here: PhantomData,
        })
    }

    /// The memory region of the port's buffers.
    pub fn region(&self) -> RegionId {
        self.port.region
    }

    /// The kernel's number for that region.
    pub fn mem_id(&self) -> u16 {
        self.port.mem_id
    }

    /// Spare buffers on hand now (not in a slot, not lent).
    pub fn spares(&self) -> usize {
        self.spares.len()
    }

    /// Spare buffers the kernel gave this half.
    pub fn population(&self) -> usize {
        self.population
    }

    /// The spares that came home since the last call, taken back.
    fn take_returned(&mut self) {
        let me = self.reg.id().get();
        let _ = LOCAL_HOMES.try_with(|l| {
            if let Some((_, home)) = l.borrow_mut().iter_mut().find(|(o, _)| *o == me) {
                self.spares.append(home);
            }
        });
        let Some(r) = self.returned.as_mut() else {
            return;
        };
        let mut back = [0u64; 256];
        loop {
            let n = r.drain(&mut back);
            self.spares.extend(back[..n].iter().map(|&t| t as u32));
            if n < back.len() {
                break;
            }
        }
    }

    /// A bound ring with slots to read: one sync first only if none has.
    fn ready_ring(&mut self) -> io::Result<Option<Ring>> {
        let n = self.port.rings.len();
        for attempt in 0..2 {
            for k in 0..n {
                let i = (self.next + k) % n;
                if self.port.rings[i].space() > 0 {
                    self.next = i;
                    return Ok(Some(self.port.rings[i]));
                }
            }
            if attempt == 0 {
                self.stats.syscalls += 1;
                self.port.sync()?;
            }
        }
        Ok(None)
    }
}

impl NetmapRx {
    /// Slot `at` of `ring` if its buffer can become a packet: the slot,
    /// its buffer, its full length and its buffer index. Slots of a frame split
    /// over several (NS_MOREFRAG), bad indices and overlong lengths are
    /// dropped and counted.
    #[inline(always)]
    fn usable(
        &mut self,
        ring: Ring,
        at: u32,
        buf_size: usize,
    ) -> Option<(*mut netmap_slot, NonNull<u8>, usize, u32)> {
        let slot = ring.slot(at);
        // SAFETY: slots head..tail are ours (the ring protocol).
        let s = unsafe { *slot };
        let frag = s.flags & NS_MOREFRAG != 0;
        let skip = std::mem::replace(&mut self.in_frag, frag) || frag;
        let len = s.len as usize;
        match self.port.buf(s.buf_idx) {
            Some(buf) if !skip && len <= buf_size => Some((slot, buf, len, s.buf_idx)),
            _ => {
                self.stats.drops += 1;
                None
            }
        }
    }
}

impl RxRing for NetmapRx {
    fn into_send(self: Box<Self>) -> Result<Box<dyn RxRing + Send>, Box<dyn RxRing>> {
        Err(self)
    }

    fn recv(&mut self, batch: &mut Batch, max: usize) -> io::Result<usize> {
        let want = max.min(BATCH_CAPACITY - batch.len());
        if want == 0 {
            return Ok(0);
        }
        let Some(ring) = self.ready_ring()? else {
            return Ok(0);
        };
        let n_slots = ring.num_slots();
        let head = ring.head();
        let take = (ring.space() as usize).min(want);
        if self.spares.len() < take {
            self.take_returned();
        }
        let buf_size = self.port.bufs.size() as usize;
        let snaplen = self.snaplen;
        // The slots to wrap, in order, while there are spares to put in
        // their place: their buffers and slots.
        let mut bufs = [RxBuffer {
            token: 0,
            buf: NonNull::dangling(),
            cap: 0,
            head: 0,
            len: 0,
        }; BATCH_CAPACITY];
        let mut slots = [std::ptr::null_mut::<netmap_slot>(); BATCH_CAPACITY];
        // The full length of each packet made, in the batch's order (the
        // wrapped slots all come before the copied ones); read only when
        // a frame was longer than the snap length.
        let mut full = [0u32; BATCH_CAPACITY];
        let mut cut = false;
        let mut bytes = 0u64;
        let spares = self.spares.len();
        let (mut i, mut n_wrap) = (0, 0);
        while i < take && n_wrap < spares {
            let at = ring_add(head, i as u32, n_slots);
            i += 1;
            let Some((slot, buf, len, idx)) = self.usable(ring, at, buf_size) else {
                continue;
            };
            let keep = len.min(snaplen);
            bufs[n_wrap] = RxBuffer {
                token: idx as u64,
                buf,
                cap: buf_size,
                head: 0,
                len: keep,
            };
            slots[n_wrap] = slot;
            full[n_wrap] = len as u32;
            cut |= keep < len;
            bytes += keep as u64;
            n_wrap += 1;
        }
        let start = batch.len();
        let ts = if self.timestamp {
            Timestamp::now()
        } else {
            Timestamp::ZERO
        };
        // SAFETY: each buffer is the buffer of a slot between head and
        // tail, which the kernel handed to us; it leaves the slot (a spare
        // replaces it below) before the ring moves on, so only its packet
        // uses it until the owner's hook takes it back; the owner keeps the
        // port, so the mapping, alive. Annotations are written with the
        // packets (MAC header, type, timestamp), not in a pass after.
        let made = unsafe { batch.wrap_frames(&self.reg, &bufs[..n_wrap], ts, frame_type) };
        // Spares into the wrapped slots; the others (the pool ran dry)
        // keep their buffers and are dropped.
        let left = self.spares.len() - made;
        for (&slot, &spare) in slots[..made].iter().zip(self.spares[left..].iter().rev()) {
            // SAFETY: our slot (between head and tail).
            unsafe {
                (*slot).buf_idx = spare;
                (*slot).flags |= NS_BUF_CHANGED;
            }
        }
        self.spares.truncate(left);
        bytes -= bufs[made..n_wrap].iter().map(|b| b.len as u64).sum::<u64>();
        self.stats.drops += (n_wrap - made) as u64;
        self.stats.zero_copy += made as u64;
        // The spares ran out: the rest is copied into pool packets (or
        // dropped, if the pool ran dry too).
        let mut n_full = made;
        while i < take {
            let at = ring_add(head, i as u32, n_slots);
            i += 1;
            let Some((_, src, len, _)) = self.usable(ring, at, buf_size) else {
                continue;
            };
            if made < n_wrap {
                self.stats.drops += 1;
                continue;
            }
            let keep = len.min(snaplen);
            let Ok(mut p) = Packet::with_headroom(self.headroom, keep) else {
                self.stats.drops += 1;
                continue;
            };
            if let Ok(d) = p.data_mut() {
                // SAFETY: `keep` bytes of the slot's buffer, ours.
                d.copy_from_slice(unsafe { std::slice::from_raw_parts(src.as_ptr(), keep) });
            }
            // A fresh pool packet: only what differs from the defaults.
            if self.timestamp {
                p.anno_mut().set_timestamp(ts);
            }
            let _ = p.set_mac_header(0);
            set_packet_type(&mut p);
            batch.push(p);
            full[n_full] = len as u32;
            cut |= keep < len;
            bytes += keep as u64;
            n_full += 1;
            self.stats.copies += 1;
        }
        ring.advance(ring_add(head, take as u32, n_slots));
        if cut {
            for (p, &full) in batch.as_mut_slice()[start..]
                .iter_mut()
                .zip(&full[..n_full])
            {
                let len = p.len() as u32;
                if full > len {
                    p.anno_mut().set_extra_length(full - len);
                }
            }
        }
        self.stats.bytes += bytes;
        let got = batch.len() - start;
        self.stats.packets += got as u64;
        Ok(got)
    }

    fn fd(&self) -> RawFd {
        self.port.fd()
    }

    fn limits(&self) -> Limits {
        Limits {
            max_batch: BATCH_CAPACITY,
            slots: self.port.slots(),
            max_frame: self.port.bufs.size() as usize,
        }
    }

    fn stats(&self) -> RingStats {
        self.stats
    }

    fn kernel_drops(&self) -> Option<u64> {
        None
    }

    fn describe(&self) -> String {
        self.port.describe(
            "RX",
            &format!(
                ", {} spare buffers (zero copy: each slot's buffer becomes the packet)",
                self.population
            ),
        )
    }
}

impl Drop for NetmapRx {
    fn drop(&mut self) {
        let me = self.reg.id().get();
        HOMES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| h.owner != me || h.region != self.port.region);
        HOMES_GEN.fetch_add(1, Ordering::AcqRel);
        // What is home now goes back to the kernel with the port; what
        // packets still hold comes back through the queue, which the port
        // drains when it closes (after the last packet, since the owner
        // keeps it). Swaps on this thread after this send their buffers
        // to no home: they go back with the transmitting port.
        self.take_returned();
        let _ = LOCAL_HOMES.try_with(|l| l.borrow_mut().retain(|(o, _)| *o != me));
        self.port.give_back(&self.spares);
        if let Some(r) = self.returned.take() {
            self.port.park(r);
        }
    }
}
