//! What KernelTun, KernelTap and FromHost share on their receiving side:
//! reading a burst of frames from a tun/tap descriptor into pool packets,
//! one `readv` each straight into the packet's buffer, until the
//! descriptor is empty or the burst is done.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use click_engine::packet::BATCH_CAPACITY;
use click_engine::{Batch, Ctx, InitCtx, Interest, Packet, Port};

use crate::tun::{Received, Tun};

/// How long to wait before reading again after the pool ran out or the
/// descriptor failed.
const RETRY: Duration = Duration::from_millis(1);

pub(crate) struct TunReader {
    /// Bytes of buffer given to each read: the longest frame taken whole.
    pub read_len: usize,
    pub headroom: usize,
    /// Whether the descriptor may have frames (it said so, and the last
    /// read did not find it empty).
    pub readable: bool,
    /// A packet of `read_len` bytes kept from a read that found nothing,
    /// for the next one.
    spare: Option<Packet>,
    watching: bool,
    fd: Option<RawFd>,
    /// Frames read (Click's `packets`).
    pub packets: u64,
    /// Frames dropped here: too long, pool exhausted, no output.
    pub drops: u64,
    /// `selected` calls.
    pub selected_calls: u64,
    errors_logged: u32,
}

impl TunReader {
    pub fn new(read_len: usize, headroom: usize) -> TunReader {
        TunReader {
            read_len,
            headroom,
            readable: true,
            spare: None,
            watching: false,
            fd: None,
            packets: 0,
            drops: 0,
            selected_calls: 0,
            errors_logged: 0,
        }
    }

    /// Watches `dev`'s descriptor.
    pub fn initialize(&mut self, dev: &Tun, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        ctx.add_select(dev.fd(), Interest::READ)?;
        self.fd = Some(dev.fd());
        self.watching = true;
        Ok(())
    }

    /// A packet with `read_len` bytes of data to read into: the spare one,
    /// or a new one without zeroing its bytes when it fits a pool buffer.
    fn buffer(&mut self) -> Option<Packet> {
        if let Some(p) = self.spare.take() {
            return Some(p);
        }
        let mut p = Packet::with_headroom(self.headroom, 0).ok()?;
        if p.tailroom() >= self.read_len {
            p.put(self.read_len).ok()?;
            Some(p)
        } else {
            // Longer than a pool buffer (a large MTU): a large one.
            Packet::with_headroom(self.headroom, self.read_len).ok()
        }
    }

    /// Reads up to `burst` frames from `dev`; `verdict` annotates each
    /// (its data trimmed to the frame) and says where it goes. Pushes
    /// them a batch at a time (to an output the element lacks: dropped and
    /// counted); returns how many were read.
    pub fn read_burst(
        &mut self,
        dev: &Tun,
        burst: usize,
        ctx: &mut Ctx<'_>,
        mut verdict: impl FnMut(&mut Packet, Received) -> Port,
    ) -> usize {
        let ts = ctx.timestamp();
        let mut got = 0;
        let mut left = burst;
        while left > 0 && self.readable {
            let mut outs = [Batch::new(), Batch::new()];
            let n = left.min(BATCH_CAPACITY);
            let mut i = 0;
            while i < n {
                let Some(mut p) = self.buffer() else {
                    // The pool is exhausted: the frames wait in the kernel.
                    self.pause(ctx);
                    break;
                };
                let Ok(buf) = p.data_mut() else {
                    self.pause(ctx);
                    break;
                };
                match dev.recv(buf) {
                    Ok(Some(r)) => {
                        i += 1;
                        self.packets += 1;
                        if r.truncated {
                            self.drops += 1;
                            ctx.count_drops_for(1, "frame longer than the read buffer (MTU)");
                            self.spare = Some(p);
                            continue;
                        }
                        p.truncate(r.len);
                        let port = verdict(&mut p, r);
                        if port < ctx.noutputs().min(2) {
                            p.anno_mut().set_timestamp(ts);
                            outs[port].push(p);
                        } else {
                            self.drops += 1;
                            ctx.count_drops_for(1, "not IP, and no output 1 for it");
                        }
                    }
                    Ok(None) => {
                        self.spare = Some(p);
                        self.readable = false;
                        break;
                    }
                    Err(e) => {
                        self.spare = Some(p);
                        self.failed(dev, e, ctx);
                        break;
                    }
                }
            }
            got += i;
            left -= i.min(left);
            let [a, b] = outs;
            if !a.is_empty() {
                ctx.push(0, a);
            }
            if !b.is_empty() {
                ctx.push(1, b);
            }
            if i < n {
                break;
            }
        }
        got
    }

    /// Stop reading for a moment (no pool packet, a failing descriptor):
    /// the descriptor is not watched until the timer reads again.
    fn pause(&mut self, ctx: &mut Ctx<'_>) {
        self.readable = false;
        if self.watching {
            if let Some(fd) = self.fd {
                ctx.remove_select(fd);
            }
            self.watching = false;
        }
        ctx.schedule_after(RETRY);
    }

    fn failed(&mut self, dev: &Tun, e: io::Error, ctx: &mut Ctx<'_>) {
        if self.errors_logged < 5 {
            self.errors_logged += 1;
            tracing::error!("{}: read from {}: {e}", ctx.name(), dev.name());
        }
        self.pause(ctx);
    }

    /// The descriptor is readable.
    pub fn selected(&mut self, ctx: &mut Ctx<'_>) {
        self.selected_calls += 1;
        self.readable = true;
        ctx.wake_task();
    }

    /// The retry timer: watch the descriptor again and read.
    pub fn run_timer(&mut self, ctx: &mut Ctx<'_>) {
        if !self.watching {
            if let Some(fd) = self.fd {
                if ctx.add_select(fd, Interest::READ).is_ok() {
                    self.watching = true;
                }
            }
        }
        self.readable = true;
        ctx.wake_task();
    }

    pub fn cleanup(&mut self) {
        self.spare = None;
        self.fd = None;
    }
}
