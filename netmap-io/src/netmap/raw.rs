//! A port's rings as they are, for test programs: fill TX slots and read
//! RX slots with their buffer indices, sync, wait. No packets, no pool:
//! what a sender or a checking receiver needs, on the real kernel or the
//! emulation.

use std::io;
use std::os::fd::RawFd;

use super::abi::{ring_add, NS_BUF_CHANGED};
use super::kernel::{Dir, Kernel};
use super::name::PortName;
use super::port::Port;

/// One direction of a port's rings, used slot by slot.
pub struct RawPort {
    port: Port,
    spares: Vec<u32>,
    syncs: u64,
}

impl RawPort {
    /// Registers `name`'s rings of `dir` with `kernel`, with `extra` spare
    /// buffers.
    pub fn open(kernel: &dyn Kernel, name: &str, dir: Dir, extra: u32) -> Result<RawPort, String> {
        let name = PortName::parse(name)?;
        let (port, spares) = Port::open(kernel, &name, dir, extra)?;
        Ok(RawPort {
            port,
            spares,
            syncs: 0,
        })
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.port.fd()
    }

    /// The rings bound.
    pub fn rings(&self) -> usize {
        self.port.rings.len()
    }

    /// Slots of ring `r`.
    pub fn slots(&self, r: usize) -> u32 {
        self.port.rings[r].num_slots()
    }

    /// Bytes per buffer.
    pub fn buf_size(&self) -> usize {
        self.port.bufs.size() as usize
    }

    /// The kernel's number for the port's memory region.
    pub fn mem_id(&self) -> u16 {
        self.port.mem_id
    }

    /// `(head, cur, tail)` of ring `r`.
    pub fn pointers(&self, r: usize) -> (u32, u32, u32) {
        let ring = self.port.rings[r];
        (ring.head(), ring.cur(), ring.tail())
    }

    /// Slots the user owns in ring `r` now.
    pub fn space(&self, r: usize) -> u32 {
        self.port.rings[r].space()
    }

    /// The spare buffers the kernel gave.
    pub fn spares(&mut self) -> &mut Vec<u32> {
        &mut self.spares
    }

    /// Syncs made.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// One `NIOCTXSYNC`/`NIOCRXSYNC`.
    pub fn sync(&mut self) -> io::Result<()> {
        self.syncs += 1;
        self.port.sync()
    }

    /// Fills up to `max` free slots of TX ring `r`: `f(buffer index,
    /// buffer)` writes a frame and returns its length. Moves `head` and
    /// `cur` past them (the next sync sends them); returns how many.
    pub fn fill(
        &mut self,
        r: usize,
        max: usize,
        mut f: impl FnMut(u32, &mut [u8]) -> usize,
    ) -> usize {
        let ring = self.port.rings[r];
        let n = ring.num_slots();
        let take = (ring.space() as usize).min(max);
        let mut k = ring.head();
        let size = self.buf_size();
        for _ in 0..take {
            let slot = ring.slot(k);
            // SAFETY: a slot between head and tail: ours.
            let idx = unsafe { (*slot).buf_idx };
            let buf = self
                .port
                .buf(idx)
                .expect("the kernel gave a bad buffer index");
            // SAFETY: the slot's buffer, ours while the slot is.
            let b = unsafe { std::slice::from_raw_parts_mut(buf.as_ptr(), size) };
            let len = f(idx, b).min(size);
            // SAFETY: as above.
            unsafe {
                (*slot).len = len as u16;
                // A buffer put there by `swap` stays flagged as changed.
                (*slot).flags &= NS_BUF_CHANGED;
            }
            k = ring_add(k, 1, n);
        }
        ring.advance(k);
        take
    }

    /// Takes up to `max` received slots of RX ring `r`: `f(buffer index,
    /// frame)`. Moves `head` and `cur` past them (the next sync gives them
    /// back); returns how many.
    pub fn take(&mut self, r: usize, max: usize, mut f: impl FnMut(u32, &[u8])) -> usize {
        let ring = self.port.rings[r];
        let n = ring.num_slots();
        let take = (ring.space() as usize).min(max);
        let mut k = ring.head();
        for _ in 0..take {
            // SAFETY: a slot between head and tail: ours.
            let s = unsafe { *ring.slot(k) };
            match self.port.buf(s.buf_idx) {
                Some(buf) => {
                    let len = (s.len as usize).min(self.buf_size());
                    // SAFETY: the slot's buffer, `len` bytes.
                    f(s.buf_idx, unsafe {
                        std::slice::from_raw_parts(buf.as_ptr(), len)
                    });
                }
                None => f(s.buf_idx, &[]),
            }
            k = ring_add(k, 1, n);
        }
        ring.advance(k);
        take
    }

    /// Puts buffer `idx` (a spare) in slot `i` of ring `r`, returning the
    /// one it held, with `NS_BUF_CHANGED` (the user owns the slot).
    pub fn swap(&mut self, r: usize, i: u32, idx: u32) -> u32 {
        let slot = self.port.rings[r].slot(i);
        // SAFETY: the caller owns the slot (between head and tail).
        unsafe {
            let old = (*slot).buf_idx;
            (*slot).buf_idx = idx;
            (*slot).flags |= NS_BUF_CHANGED;
            old
        }
    }

    /// Sets the flags of slot `i` of ring `r` (the user owns the slot):
    /// for tests of what the kernel side makes of them.
    pub fn set_flags(&mut self, r: usize, i: u32, flags: u16) {
        let slot = self.port.rings[r].slot(i);
        // SAFETY: the caller owns the slot (between head and tail); a
        // plain store to its flags.
        unsafe { (*slot).flags = flags };
    }

    /// Waits up to `ms` milliseconds for the descriptor to be ready (to
    /// read for RX, for room for TX); `true` if it is.
    pub fn wait(&self, ms: i32) -> io::Result<bool> {
        let events = match self.port.dir {
            Dir::Rx => libc::POLLIN,
            Dir::Tx => {
                if self.port.tx_interest().write {
                    libc::POLLOUT
                } else {
                    libc::POLLIN
                }
            }
        };
        let mut p = libc::pollfd {
            fd: self.fd(),
            events,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                return Ok(false);
            }
            return Err(e);
        }
        Ok(r > 0)
    }
}

impl Drop for RawPort {
    fn drop(&mut self) {
        self.port.give_back(&self.spares);
    }
}
