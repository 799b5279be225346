//! AF_PACKET transmit, two ways, one system call per batch either way:
//! `sendmmsg` of the batch's packets straight from their buffers (the
//! kernel copies each into an skb), or a PACKET_TX_RING whose frames we
//! fill (our copy) and kick with one `send`. Both bypass the qdisc
//! (PACKET_QDISC_BYPASS), as netmap and DPDK do: the device's own queue
//! is the only queue. docs/PERFORMANCE.md has the rates of each; the
//! default is the faster one there.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use click_engine::packet::{Batch, BATCH_CAPACITY};
use click_engine::Interest;

use super::abi::*;
use super::{load_acquire, store_release};
use crate::ring::{Limits, RingStats, TxRing};
use crate::sys::{self, Mmap};

/// How AF_PACKET transmits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    /// `sendmmsg` of a batch; the kernel copies from the packets.
    Sendmmsg,
    /// A PACKET_TX_RING of fixed frames, filled by a copy, kicked by one
    /// `send` per batch.
    Ring,
}

const TX_FRAME: usize = 2048;
const TX_BLOCK: usize = 1 << 16;
const TX_BLOCKS: usize = 16;
const TX_FRAMES: usize = TX_BLOCK / TX_FRAME * TX_BLOCKS;

/// A transmitting packet socket on one device.
pub struct PacketTx {
    ring: Option<Mmap>,
    fd: OwnedFd,
    mode: TxMode,
    /// Next TX ring frame to fill.
    head: usize,
    max_frame: usize,
    stats: RingStats,
}

impl PacketTx {
    /// Opens a transmitting socket on `device`.
    pub fn open(device: &str, mode: TxMode) -> Result<PacketTx, String> {
        let ifindex = sys::ifindex(device)?;
        let err = |what: &str, e: io::Error| sys::os_error(device, what, e);
        // Protocol 0: this socket receives nothing.
        let fd =
            sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(|e| err("packet socket", e))?;
        let raw = fd.as_raw_fd();
        let one: i32 = 1;
        sys::setsockopt(raw, libc::SOL_PACKET, PACKET_QDISC_BYPASS, &one)
            .map_err(|e| err("PACKET_QDISC_BYPASS", e))?;
        let sndbuf: i32 = 4 << 20;
        let _ = sys::setsockopt(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, &sndbuf);
        let ring = match mode {
            TxMode::Sendmmsg => None,
            TxMode::Ring => {
                sys::setsockopt(raw, libc::SOL_PACKET, PACKET_VERSION, &TPACKET_V3)
                    .map_err(|e| err("TPACKET_V3", e))?;
                let req = TpacketReq3 {
                    block_size: TX_BLOCK as u32,
                    block_nr: TX_BLOCKS as u32,
                    frame_size: TX_FRAME as u32,
                    frame_nr: TX_FRAMES as u32,
                    ..Default::default()
                };
                sys::setsockopt(raw, libc::SOL_PACKET, PACKET_TX_RING, &req)
                    .map_err(|e| err("PACKET_TX_RING", e))?;
                Some(
                    Mmap::of_fd(raw, TX_BLOCK * TX_BLOCKS, 0)
                        .map_err(|e| err("mapping the TX ring", e))?,
                )
            }
        };
        bind(raw, ifindex, 0).map_err(|e| err("bind", e))?;
        let mtu = sys::mtu(device).unwrap_or(1500);
        let max_frame = match mode {
            TxMode::Sendmmsg => mtu + 14 + 4,
            TxMode::Ring => (mtu + 14 + 4).min(TX_FRAME - TX_DATA),
        };
        Ok(PacketTx {
            ring,
            fd,
            mode,
            head: 0,
            max_frame,
            stats: RingStats::default(),
        })
    }

    fn send_mmsg(&mut self, batch: &mut Batch) -> io::Result<usize> {
        let n = batch.len().min(BATCH_CAPACITY);
        // SAFETY: plain C structs; zero is valid.
        let mut iov: [libc::iovec; BATCH_CAPACITY] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH_CAPACITY] = unsafe { std::mem::zeroed() };
        for (i, p) in batch.iter().take(n).enumerate() {
            let d = p.data();
            iov[i] = libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            };
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        self.stats.syscalls += 1;
        // SAFETY: `msgs[..n]` point at `iov[..n]`, which point at the
        // packets' data, all live for the call; the kernel only reads them.
        let r = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as u32,
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::EINTR) => Ok(0),
                _ => {
                    // The first packet cannot go (too long, device down):
                    // drop it so that the others can.
                    take_front(batch, 1, &mut self.stats, false);
                    Err(e)
                }
            };
        }
        let sent = r as usize;
        take_front(batch, sent, &mut self.stats, true);
        self.stats.copies += sent as u64;
        Ok(sent)
    }

    fn send_ring(&mut self, batch: &mut Batch) -> io::Result<usize> {
        let ring = self.ring.as_ref().expect("ring mode has a ring");
        let mut placed = 0;
        let mut too_long = 0;
        for p in batch.iter() {
            let frame = ring.at(self.head * TX_FRAME);
            // SAFETY: a frame header inside the mapping.
            let status = unsafe { load_acquire(frame.add(H_STATUS)) };
            if status & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING) != 0 {
                break; // full: the kernel still has it
            }
            if status & TP_STATUS_WRONG_FORMAT != 0 {
                self.stats.drops += 1;
            }
            let d = p.data();
            if d.len() > TX_FRAME - TX_DATA {
                too_long += 1;
                placed += 1;
                continue;
            }
            // SAFETY: the frame is ours (AVAILABLE, read with Acquire); the
            // data fits in it (checked).
            unsafe {
                std::ptr::copy_nonoverlapping(d.as_ptr(), frame.add(TX_DATA), d.len());
                frame
                    .add(H_LEN)
                    .cast::<u32>()
                    .write_volatile(d.len() as u32);
                frame
                    .add(H_SNAPLEN)
                    .cast::<u32>()
                    .write_volatile(d.len() as u32);
                store_release(frame.add(H_STATUS), TP_STATUS_SEND_REQUEST);
            }
            self.head = (self.head + 1) % TX_FRAMES;
            placed += 1;
        }
        if placed > too_long {
            self.stats.syscalls += 1;
            // SAFETY: no buffer: the kick sends what the ring holds.
            let r =
                unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if !matches!(
                    e.raw_os_error(),
                    Some(libc::EAGAIN) | Some(libc::ENOBUFS) | Some(libc::EINTR)
                ) {
                    take_front(batch, placed, &mut self.stats, true);
                    return Err(e);
                }
            }
        }
        self.stats.drops += too_long as u64;
        self.stats.copies += (placed - too_long) as u64;
        take_front(batch, placed, &mut self.stats, true);
        self.stats.packets -= too_long as u64;
        Ok(placed)
    }
}

/// Frees the first `n` packets of `batch`, counting them as sent or
/// dropped.
fn take_front(batch: &mut Batch, n: usize, stats: &mut RingStats, sent: bool) {
    let mut i = 0;
    let mut bytes = 0;
    batch.retain(|p| {
        i += 1;
        if i <= n {
            bytes += p.len() as u64;
        }
        i > n
    });
    if sent {
        stats.packets += n as u64;
        stats.bytes += bytes;
    } else {
        stats.drops += n as u64;
    }
}

impl TxRing for PacketTx {
    fn send(&mut self, batch: &mut Batch) -> io::Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        match self.mode {
            TxMode::Sendmmsg => self.send_mmsg(batch),
            TxMode::Ring => self.send_ring(batch),
        }
    }

    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn wait_interest(&self) -> Option<Interest> {
        Some(Interest::WRITE)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_batch: BATCH_CAPACITY,
            slots: match self.mode {
                TxMode::Sendmmsg => BATCH_CAPACITY,
                TxMode::Ring => TX_FRAMES,
            },
            max_frame: self.max_frame,
        }
    }

    fn stats(&self) -> RingStats {
        self.stats
    }

    fn describe(&self) -> String {
        match self.mode {
            TxMode::Sendmmsg => "AF_PACKET sendmmsg, qdisc bypassed".into(),
            TxMode::Ring => {
                format!("AF_PACKET PACKET_TX_RING of {TX_FRAMES} frames, qdisc bypassed")
            }
        }
    }
}
