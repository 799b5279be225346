//! ToDevice: sends packets out of a network device.

use std::os::fd::RawFd;
use std::time::Duration;

use click_engine::args::Args;
use click_engine::packet::{Packet, SendPacket, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Readiness,
    Timer,
};

use crate::afpacket::TxMode;
use crate::ring::{split_off, TxRing};
use crate::{open_tx, Method, DEFAULT_TX_MODE};

/// Longest back-off while the ring stays full (Click's 256 µs).
const MAX_BACKOFF_US: u64 = 256;

/// `ToDevice(DEVNAME [, BURST, *keywords* METHOD, QUEUE, DEBUG,
/// TX_RING])`: pulls packets and sends them out of device DEVNAME; they
/// must carry their link-level header. Each task run pulls up to BURST
/// packets (default 32, a batch; Click's is 1) and hands them to the ring
/// with at most one system call per batch (netmap: one per run, or per
/// half ring). METHOD (LINUX or PCAP: AF_PACKET, qdisc bypassed; XDP: an
/// AF_XDP socket's TX ring, on QUEUE; NETMAP: the port's netmap TX rings,
/// QUEUE choosing one) defaults to NETMAP for a netmap port name
/// (`netmap:eth0`, `netmap:eth0-1`, `vale0:p`, or a pipe end in quotes,
/// `"netmap:x{1"`: unquoted, `{` opens a group in Click's arguments) or where
/// `/dev/netmap` exists (the device then leaves the kernel's stack while
/// the router runs: METHOD LINUX keeps it there), else XDP where it works,
/// else LINUX (`router -v` logs which). A packet whose buffer is a frame of
/// the same AF_XDP UMEM (received by an XDP FromDevice of this router: the
/// sockets of up to four device queues share one), or a netmap buffer of
/// the same memory region
/// (received from any netmap port of the region: swapped into the TX
/// slot, as netmap's bridge does), is sent without a copy; the others are
/// copied into the ring, as the `copies` handler counts. With
/// LINUX, TX_RING true uses a PACKET_TX_RING instead of `sendmmsg` (see
/// docs/PERFORMANCE.md).
///
/// It sleeps while the queues upstream are empty (their notifier wakes
/// it) and while the device's ring is full, holding the packets that did
/// not fit: it waits for the descriptor to be writable, then backs off
/// from 1 to 256 µs as Click's does. Packets longer than the device takes go
/// out of output 1 if there is one, else are dropped and counted; with
/// output 0, packets that were sent go out of it (their data then shared,
/// so copied into the ring).
///
/// * Ports: 1 pull input, 0 to 2 push outputs.
/// * Handlers: `count`, `byte_count`, `drops`, `calls`, `pulls`, `holds`
///   (times the ring was full), `q` (whether packets are held),
///   `signal` (the upstream notifier), `copies`, `zero_copy`, `syscalls`,
///   `method`, `ring`, `burst`, `debug` (read); `debug` (write);
///   `reset_counts` (write).
pub struct ToDevice {
    device: String,
    method: Option<Method>,
    mode: TxMode,
    queue: u32,
    burst: usize,
    debug: bool,
    outputs: usize,
    ring: Option<Box<dyn TxRing>>,
    used: Option<Method>,
    max_frame: usize,
    /// Packets that did not fit in the ring (Click's `_q`).
    held: Option<Batch>,
    upstream: NotifierSignal,
    backoff_us: u64,
    watching: bool,
    count: u64,
    bytes: u64,
    drops: u64,
    calls: u64,
    pulls: u64,
    holds: u64,
    base: crate::RingStats,
    errors_logged: u32,
}

impl ElementClass for ToDevice {
    const CLASS: &'static str = "ToDevice";
    const PORT_COUNT: &'static str = "1/0-2";
    const PROCESSING: &'static str = "l/h";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let device: String = args.read_mp("DEVNAME")?;
        let burst: Option<usize> = args.read_p("BURST")?;
        let method: Option<String> = args.read("METHOD")?;
        let queue: Option<u32> = args.read("QUEUE")?;
        let debug: bool = args.read("DEBUG")?.unwrap_or(false);
        let tx_ring: Option<bool> = args.read("TX_RING")?;
        let _no_pad: Option<bool> = args.read("NO_PAD")?;
        let _quiet: Option<bool> = args.read("QUIET")?;
        let _allow: Option<bool> = args.read("ALLOW_NONEXISTENT")?;
        let burst = burst.unwrap_or(BATCH_CAPACITY);
        if burst == 0 {
            return Err("bad BURST".into());
        }
        let method = Method::parse(method.as_deref().unwrap_or(""))?;
        let netmap_name = crate::netmap::has_netmap_prefix(&device);
        if tx_ring.is_some()
            && (netmap_name || matches!(method, Some(Method::Xdp) | Some(Method::Netmap)))
        {
            return Err("TX_RING needs METHOD LINUX".into());
        }
        let mode = match tx_ring {
            Some(true) => TxMode::Ring,
            Some(false) => TxMode::Sendmmsg,
            None => DEFAULT_TX_MODE,
        };
        Ok(ToDevice {
            device,
            // TX_RING asks for AF_PACKET.
            method: method.or(tx_ring.map(|_| Method::Linux)),
            mode,
            queue: queue.unwrap_or(0),
            burst,
            debug,
            outputs: ctx.noutputs(),
            ring: None,
            used: None,
            max_frame: 0,
            held: None,
            upstream: NotifierSignal::always(),
            backoff_us: 0,
            watching: false,
            count: 0,
            bytes: 0,
            drops: 0,
            calls: 0,
            pulls: 0,
            holds: 0,
            base: crate::RingStats::default(),
            errors_logged: 0,
        })
    }
}

impl ToDevice {
    /// The ring is full: hold `batch` and wait for room, on the descriptor
    /// the first time (Click: `add_select(SELECT_WRITE)`), then on a timer
    /// doubling up to 256 µs.
    fn hold(&mut self, batch: Batch, ctx: &mut Ctx<'_>) {
        self.holds += 1;
        self.held = Some(batch);
        let ring = self.ring.as_ref().expect("holding needs a ring");
        match (self.backoff_us, ring.wait_interest()) {
            (0, Some(interest)) => {
                self.backoff_us = 1;
                if ctx.add_select(ring.fd(), interest).is_ok() {
                    self.watching = true;
                } else {
                    ctx.schedule_after(Duration::from_micros(1));
                }
            }
            _ => {
                let us = self.backoff_us.max(1);
                ctx.schedule_after(Duration::from_micros(us));
                if self.debug {
                    tracing::info!("{}: backing off for {us} µs", ctx.name());
                }
                self.backoff_us = (us * 2).min(MAX_BACKOFF_US);
            }
        }
        ctx.sleep();
    }

    /// Sends `batch`; returns the packets that did not fit.
    fn send(&mut self, mut batch: Batch, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let ring = self.ring.as_mut().expect("sending needs a ring");
        let before = batch.len();
        let sent_copies = if self.outputs > 0 {
            let mut c = Batch::new();
            for p in batch.iter() {
                if let Some(q) = p.try_clone() {
                    c.push(q);
                }
            }
            Some(c)
        } else {
            None
        };
        let took = match ring.send(&mut batch) {
            Ok(n) => n,
            Err(e) => {
                if self.errors_logged < 5 {
                    self.errors_logged += 1;
                    tracing::error!("{}: {}: {e}", ctx.name(), self.device);
                }
                before - batch.len()
            }
        };
        let took = took.min(before);
        if let Some(mut c) = sent_copies {
            drop(split_off(&mut c, took));
            if !c.is_empty() {
                ctx.push(0, c);
            }
        }
        self.count += took as u64;
        (!batch.is_empty()).then_some(batch)
    }

    /// Hands the ring's waiting slots to the kernel (netmap syncs once per
    /// burst, not per batch).
    fn flush(&mut self, ctx: &mut Ctx<'_>) {
        let Some(ring) = self.ring.as_mut() else {
            return;
        };
        if let Err(e) = ring.flush() {
            if self.errors_logged < 5 {
                self.errors_logged += 1;
                tracing::error!("{}: {}: {e}", ctx.name(), self.device);
            }
        }
    }

    /// Packets longer than the device takes (the batch has some): out of
    /// output 1, or dropped.
    fn reject_long(&mut self, batch: &mut Batch, ctx: &mut Ctx<'_>) {
        let max = self.max_frame;
        let mut long = Batch::new();
        let mut kept = Batch::new();
        for p in batch.drain() {
            if p.len() <= max {
                kept.push(p);
            } else {
                long.push(p);
            }
        }
        *batch = kept;
        if self.outputs > 1 {
            ctx.push(1, long);
        } else {
            self.drops += long.len() as u64;
        }
    }
}

impl Element for ToDevice {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.upstream = ctx.upstream_empty_signal(0);
        let (ring, used) = match self.take_ring(ctx) {
            Some(taken) => taken,
            None => open_tx(&self.device, self.queue, self.method, self.mode)?,
        };
        tracing::info!(
            "{}: ToDevice {}: METHOD {} ({})",
            ctx.name(),
            self.device,
            used.name(),
            ring.describe()
        );
        self.max_frame = ring.limits().max_frame;
        self.ring = Some(ring);
        self.used = Some(used);
        Ok(())
    }

    fn has_task(&self) -> bool {
        true
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.ring.is_none() {
            ctx.sleep();
            return false;
        }
        self.calls += 1;
        let mut left = self.burst;
        let mut worked = false;
        let mut pulled_nothing = false;
        while left > 0 {
            let batch = match self.held.take() {
                Some(b) => b,
                None => {
                    self.pulls += 1;
                    match ctx.pull(0, left.min(BATCH_CAPACITY)) {
                        Some(mut b) => {
                            // One pass for the bytes and the longest.
                            let (bytes, longest) = b.iter().fold((0u64, 0), |(sum, max), p| {
                                (sum + p.len() as u64, max.max(p.len()))
                            });
                            self.bytes += bytes;
                            if longest > self.max_frame {
                                self.reject_long(&mut b, ctx);
                            }
                            b
                        }
                        None => {
                            pulled_nothing = true;
                            break;
                        }
                    }
                }
            };
            let n = batch.len();
            match self.send(batch, ctx) {
                Some(rest) => {
                    worked |= rest.len() < n;
                    self.flush(ctx);
                    self.hold(rest, ctx);
                    return worked;
                }
                None => {
                    worked = true;
                    self.backoff_us = 0;
                    left = left.saturating_sub(n);
                }
            }
        }
        if worked {
            self.flush(ctx);
        }
        if pulled_nothing && !worked && !self.upstream.active() {
            ctx.sleep();
        }
        worked
    }

    fn selected(&mut self, fd: RawFd, ready: Readiness, ctx: &mut Ctx<'_>) {
        // Whichever the ring asked for: room is WRITE on a socket or on
        // /dev/netmap, READ on the emulated netmap kernel's eventfd.
        if ready.writable || ready.readable || ready.error {
            ctx.remove_select(fd);
            self.watching = false;
            ctx.wake_task();
        }
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        ctx.wake_task();
    }

    fn handlers(&self) -> &'static [Handler] {
        const H: &[Handler] = &[
            Handler::read("count"),
            Handler::read("byte_count"),
            Handler::read("drops"),
            Handler::read("calls"),
            Handler::read("pulls"),
            Handler::read("holds"),
            Handler::read("q"),
            Handler::read("signal"),
            Handler::read("copies"),
            Handler::read("zero_copy"),
            Handler::read("syscalls"),
            Handler::read("method"),
            Handler::read("ring"),
            Handler::read("burst"),
            Handler::read_write("debug"),
            Handler::write("reset_counts"),
        ];
        H
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let s = self.ring.as_ref().map(|r| r.stats()).unwrap_or_default();
        Some(match name {
            "count" => self.count.to_string(),
            "byte_count" => self.bytes.to_string(),
            "drops" => (self.drops + s.drops - self.base.drops).to_string(),
            "calls" => self.calls.to_string(),
            "pulls" => self.pulls.to_string(),
            "holds" => self.holds.to_string(),
            "q" => self.held.is_some().to_string(),
            "signal" => self.upstream.active().to_string(),
            "copies" => (s.copies - self.base.copies).to_string(),
            "zero_copy" => (s.zero_copy - self.base.zero_copy).to_string(),
            "syscalls" => (s.syscalls - self.base.syscalls).to_string(),
            "method" => self.used.map_or("none", Method::name).into(),
            "ring" => self.ring.as_ref().map_or("none".into(), |r| r.describe()),
            "burst" => self.burst.to_string(),
            "debug" => self.debug.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "debug" => self.debug = Args::new(value).read_mp("DEBUG")?,
            "reset_counts" => {
                self.count = 0;
                self.bytes = 0;
                self.drops = 0;
                self.calls = 0;
                self.pulls = 0;
                self.holds = 0;
                self.base = self.ring.as_ref().map(|r| r.stats()).unwrap_or_default();
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let ring = self.ring.take()?;
        Some(Box::new(HandedTx {
            key: self.ring_key(),
            ring,
            used: self.used?,
            held: self
                .held
                .take()
                .map(|mut b| b.drain().map(Packet::into_send).collect())
                .unwrap_or_default(),
        }))
    }

    fn cleanup(&mut self) {
        self.held = None;
        self.ring = None;
    }
}

/// An open transmit ring, and the packets that did not fit in it, that a
/// replaced router's ToDevice hands to its successor of the same name (a
/// hot swap): closing an AF_PACKET socket waits for the kernel's RCU grace
/// period (tens of milliseconds), during which the receive rings would
/// fill with nobody reading them.
struct HandedTx {
    key: (String, u32, Option<Method>, TxMode),
    ring: Box<dyn TxRing>,
    used: Method,
    held: Vec<SendPacket>,
}

impl ToDevice {
    /// What must match for a successor to take the ring over.
    fn ring_key(&self) -> (String, u32, Option<Method>, TxMode) {
        (self.device.clone(), self.queue, self.method, self.mode)
    }

    /// Hot swap: the packets the replaced router's element of this name
    /// held, and its ring if it was opened the same way.
    fn take_ring(&mut self, ctx: &mut InitCtx<'_>) -> Option<(Box<dyn TxRing>, Method)> {
        let h = ctx.take_state::<HandedTx>()?;
        if !h.held.is_empty() {
            let mut held = Batch::new();
            for p in h.held {
                held.push(p.into_packet());
            }
            self.held = Some(held);
        }
        if h.key != self.ring_key() {
            return None;
        }
        tracing::info!(
            "{}: ToDevice {}: the replaced router's ring carries on",
            ctx.name(),
            self.device
        );
        Some((h.ring, h.used))
    }
}
