//! The transmitting half: a port's TX rings.
//!
//! `send` fills the slots from `head` to `tail`: a packet whose buffer is
//! a netmap buffer of the same memory region, not shared with a clone,
//! goes in by swapping buffer indices with the slot (`NS_BUF_CHANGED`,
//! as netmap's `bridge` forwards: no copy), and the buffer the slot held
//! goes home to the receiving half the packet came from; any other packet
//! is copied into the slot's own buffer, and counted. `head` and `cur`
//! move once per call; the kernel is told (`NIOCTXSYNC`) when half the
//! ring waits, when the ring is full, and at [`flush`](TxRing::flush),
//! which ToDevice calls when its burst is done: one system call for
//! several batches.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use click_engine::packet::{Batch, TokenSender, BATCH_CAPACITY};
use click_engine::Interest;

use super::abi::{ring_add, Ring, NS_BUF_CHANGED};
use super::kernel::{Dir, Kernel};
use super::name::PortName;
use super::port::Port;
use super::rx::{homes_generation, homes_of, send_home_locally, Home};
use crate::ring::{rejoin, split_off, Limits, RingStats, TxRing};

/// The transmitting half of a netmap port.
pub struct NetmapTx {
    port: Arc<Port>,
    /// The ring to fill first.
    next: usize,
    /// Slots filled since the last sync.
    pending: u32,
    /// Sync within `send` once this many slots wait.
    sync_every: u32,
    homes: Vec<Home>,
    homes_gen: u64,
    /// Buffers freed by swaps whose home is gone: they go back to the
    /// kernel with the port.
    orphans: Vec<u32>,
    stats: RingStats,
}

impl NetmapTx {
    /// Opens the transmit rings of `device` (a netmap port name; `queue`
    /// chooses a hardware ring when the name does not) on the process's
    /// netmap kernel ([`kernel`](super::kernel)).
    pub fn open(device: &str, queue: u32) -> Result<NetmapTx, String> {
        let name = PortName::parse(device)?.for_queue(queue, 1)?;
        NetmapTx::open_with(&*super::kernel(), &name)
    }

    /// Opens the transmit rings of `name` on `kernel`.
    pub fn open_with(kernel: &dyn Kernel, name: &PortName) -> Result<NetmapTx, String> {
        let (port, extra) = Port::open(kernel, name, Dir::Tx, 0)?;
        port.give_back(&extra);
        let sync_every = (port.rings[0].num_slots() / 2).max(1);
        Ok(NetmapTx {
            port: Arc::new(port),
            next: 0,
            pending: 0,
            sync_every,
            homes: Vec::new(),
            homes_gen: u64::MAX,
            orphans: Vec::new(),
            stats: RingStats::default(),
        })
    }

    /// The memory region of the port's buffers.
    pub fn region(&self) -> click_engine::packet::RegionId {
        self.port.region
    }

    /// The kernel's number for that region.
    pub fn mem_id(&self) -> u16 {
        self.port.mem_id
    }

    /// The buffer indices of the last `k` slots filled in the ring filled
    /// last, oldest first: for test programs that check that a packet's
    /// own buffer went out (a swap), not a copy. The slots may be the
    /// kernel's by now; the kernel keeps a TX slot's index until the slot
    /// comes back.
    pub fn recent_buffers(&self, k: usize) -> Vec<u32> {
        let ring = self.port.rings[self.next];
        let n = ring.num_slots();
        let k = k.min(n as usize) as u32;
        let head = ring.head();
        (0..k)
            .map(|i| {
                let at = ring_add(head, n - k + i, n);
                // SAFETY: a slot of the live ring; a plain read of its index.
                unsafe { (*ring.slot(at)).buf_idx }
            })
            .collect()
    }

    /// Slots filled but not yet handed to the kernel.
    pub fn pending(&self) -> u32 {
        self.pending
    }

    fn sync(&mut self) -> io::Result<()> {
        self.stats.syscalls += 1;
        self.pending = 0;
        self.port.sync()
    }

    /// A bound ring with free slots: one sync first only if none has.
    fn room_ring(&mut self) -> io::Result<Option<Ring>> {
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
                self.sync()?;
            }
        }
        Ok(None)
    }

    /// Sends the buffers swaps freed to their homes.
    fn send_home(&mut self, freed: &[(u16, u32)]) {
        let gen = homes_generation();
        if gen != self.homes_gen {
            self.homes = homes_of(self.port.region);
            self.homes_gen = gen;
        }
        let mut done = 0;
        while done < freed.len() {
            let owner = freed[done].0;
            let end = freed[done..]
                .iter()
                .position(|&(o, _)| o != owner)
                .map_or(freed.len(), |k| done + k);
            let this = &freed[done..end];
            done = end;
            if send_home_locally(owner, this) {
                continue;
            }
            let mut run = [0u64; BATCH_CAPACITY];
            let n = this.len();
            for (t, &(_, b)) in run.iter_mut().zip(this) {
                *t = b as u64;
            }
            let sender: Option<&TokenSender> = self
                .homes
                .iter()
                .find(|h| h.owner == owner)
                .map(|h| &h.sender);
            let sent = sender.map_or(0, |s| s.send(&run[..n]));
            self.orphans.extend(run[sent..n].iter().map(|&t| t as u32));
        }
    }
}

impl TxRing for NetmapTx {
    fn send(&mut self, batch: &mut Batch) -> io::Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let Some(ring) = self.room_ring()? else {
            return Ok(0);
        };
        let keep = (ring.space() as usize).min(batch.len());
        let rest = (keep < batch.len()).then(|| split_off(batch, keep));
        let n_slots = ring.num_slots();
        let mut k = ring.head();
        let port = &self.port;
        let buf_size = port.bufs.size() as usize;
        let mut freed = [(0u16, 0u32); BATCH_CAPACITY];
        let (mut n_freed, mut swaps, mut copies, mut drops, mut bytes) =
            (0, 0u64, 0u64, 0u64, 0u64);
        batch.drain_external(port.region, |r| {
            let slot = ring.slot(k);
            match r {
                Ok(ext) => {
                    let idx = ext.token as u32;
                    let Some(buf) = port.buf(idx) else {
                        drops += 1;
                        return;
                    };
                    if ext.offset != 0 {
                        // Headers were pulled: netmap's slots (without
                        // the offsets option) send from the buffer's
                        // start, so move the data there.
                        // SAFETY: both ranges inside the buffer, which the
                        // packet gave up to us.
                        unsafe {
                            std::ptr::copy(buf.as_ptr().add(ext.offset), buf.as_ptr(), ext.len)
                        };
                        copies += 1;
                    } else {
                        swaps += 1;
                    }
                    // SAFETY: a slot between head and tail: ours.
                    let old = unsafe {
                        let s = &mut *slot;
                        let old = s.buf_idx;
                        s.buf_idx = idx;
                        s.len = ext.len as u16;
                        s.flags = NS_BUF_CHANGED;
                        old
                    };
                    freed[n_freed] = (ext.owner.get(), old);
                    n_freed += 1;
                    bytes += ext.len as u64;
                }
                Err(p) => {
                    let d = p.data();
                    // SAFETY: as above.
                    let idx = unsafe { (*slot).buf_idx };
                    let Some(buf) = port.buf(idx).filter(|_| d.len() <= buf_size) else {
                        drops += 1;
                        return;
                    };
                    // SAFETY: the slot's buffer is ours while the slot is;
                    // the data fits (checked).
                    unsafe {
                        std::ptr::copy_nonoverlapping(d.as_ptr(), buf.as_ptr(), d.len());
                        (*slot).len = d.len() as u16;
                        (*slot).flags = 0;
                    }
                    copies += 1;
                    bytes += d.len() as u64;
                }
            }
            k = ring_add(k, 1, n_slots);
        });
        if let Some(rest) = rest {
            rejoin(batch, rest);
        }
        let filled = (swaps + copies) as u32;
        ring.advance(k);
        self.send_home(&freed[..n_freed]);
        self.stats.packets += filled as u64;
        self.stats.bytes += bytes;
        self.stats.zero_copy += swaps;
        self.stats.copies += copies;
        self.stats.drops += drops;
        self.pending += filled;
        if self.pending >= self.sync_every || ring.space() == 0 {
            self.sync()?;
        }
        Ok(keep)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending > 0 {
            self.sync()?;
        }
        Ok(())
    }

    fn fd(&self) -> RawFd {
        self.port.fd()
    }

    fn wait_interest(&self) -> Option<Interest> {
        Some(self.port.tx_interest())
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

    fn describe(&self) -> String {
        self.port.describe(
            "TX",
            " (zero copy: buffers of this memory region are swapped into the slots)",
        )
    }
}

impl Drop for NetmapTx {
    fn drop(&mut self) {
        let _ = self.flush();
        self.port.give_back(&self.orphans);
    }
}
