//! What FromDevice and PollDevice share: a receive ring, a task that runs
//! while it has packets and sleeps on the ring's descriptor when it is
//! empty, Click's arguments and handlers.

use std::os::fd::RawFd;
use std::time::Duration;

use click_engine::args::Args;
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{Batch, Ctx, Handler, InitCtx, Interest, Readiness, Timer};

use crate::ring::RxRing;
use crate::{open_rx, Method, RxConfig};

/// After this many wake-ups in a row that found nothing (a descriptor
/// that reads as ready with nothing new in the ring; an AF_PACKET ring,
/// which does while a packet holds the last frame it filled, is watched
/// edge-triggered instead, [`RxRing::ready_while_held`]), the source stops
/// watching its descriptor and looks again after [`RECHECK`].
const SPURIOUS_LIMIT: u32 = 2;
const RECHECK: Duration = Duration::from_millis(1);

pub(crate) struct Source {
    class: &'static str,
    cfg: RxConfig,
    method: Option<Method>,
    /// Not a sniffer: the element may take frames from the kernel (XDP).
    steal: bool,
    burst: usize,
    force_ip: bool,
    outputs: usize,
    allow_nonexistent: bool,
    ring: Option<Box<dyn RxRing>>,
    used: Option<Method>,
    fd: Option<RawFd>,
    watching: bool,
    woken_by_fd: bool,
    spurious: u32,
    count: u64,
    bytes: u64,
    drops: u64,
    calls: u64,
    empty_calls: u64,
    /// Ring counts at the last reset.
    base: crate::RingStats,
    kernel_drops_base: u64,
    errors_logged: u32,
}

/// An open receive ring a replaced router's source hands to its
/// successor of the same name (a hot swap), so that frames arriving during
/// the swap wait in the ring instead of being lost while it is closed and
/// opened again.
struct HandedRing {
    cfg: RxConfig,
    method: Option<Method>,
    steal: bool,
    ring: Box<dyn RxRing + Send>,
    used: Method,
    /// When it was handed over, and the kernel's drops then: the log
    /// says how long the ring waited and what the kernel dropped meanwhile.
    at: std::time::Instant,
    kernel_drops: Option<u64>,
}

/// The handlers both classes have.
pub(crate) const HANDLERS: &[Handler] = &[
    Handler::read("count"),
    Handler::read("byte_count"),
    Handler::read("drops"),
    Handler::read("kernel_drops"),
    Handler::read("calls"),
    Handler::read("empty_calls"),
    Handler::read("copies"),
    Handler::read("zero_copy"),
    Handler::read("syscalls"),
    Handler::read("encap"),
    Handler::read("method"),
    Handler::read("ring"),
    Handler::read("burst"),
    Handler::write("reset_counts"),
];

impl Source {
    /// Reads the arguments both classes share, after the positional ones.
    #[allow(clippy::too_many_arguments)]
    pub fn configure(
        class: &'static str,
        args: &mut Args,
        mut cfg: RxConfig,
        default_sniffer: bool,
        default_burst: usize,
        outputs: usize,
    ) -> Result<Source, String> {
        let sniffer: bool = args.read("SNIFFER")?.unwrap_or(default_sniffer);
        let force_ip: bool = args.read("FORCE_IP")?.unwrap_or(false);
        let method: Option<String> = args.read("METHOD")?;
        let capture: Option<String> = args.read("CAPTURE")?;
        let bpf_filter: Option<String> = args.read("BPF_FILTER")?;
        let protocol: Option<u16> = args.read("PROTOCOL")?;
        let outbound: Option<bool> = args.read("OUTBOUND")?;
        let headroom: Option<usize> = args.read("HEADROOM")?;
        let encap: Option<String> = args.read("ENCAP")?;
        let burst: Option<usize> = args.read("BURST")?;
        let timestamp: Option<bool> = args.read("TIMESTAMP")?;
        let queue: Option<u32> = args.read("QUEUE")?;
        let n_queues: Option<i64> = args.read("N_QUEUES")?;
        let allow_nonexistent: bool = args.read("ALLOW_NONEXISTENT")?.unwrap_or(false);
        let _quiet: Option<bool> = args.read("QUIET")?;
        let _length: Option<usize> = args.read("LENGTH")?;
        let method = Method::parse(method.or(capture).as_deref().unwrap_or(""))?;
        if let Some(f) = bpf_filter.filter(|f| !f.trim().is_empty()) {
            tracing::warn!(
                "{class}: BPF_FILTER '{f}' ignored: this build has no pcap filter compiler"
            );
        }
        if let Some(e) = encap.filter(|e| !e.eq_ignore_ascii_case("ETHER")) {
            return Err(format!("ENCAP {e}: only ETHER devices are supported"));
        }
        if cfg.snaplen > 65535 || cfg.snaplen < 14 {
            return Err("SNAPLEN out of range".into());
        }
        let headroom = headroom.unwrap_or(cfg.headroom);
        if headroom > 8190 {
            return Err("HEADROOM out of range".into());
        }
        let burst = burst.unwrap_or(default_burst);
        if burst == 0 {
            return Err("BURST out of range".into());
        }
        cfg.headroom = headroom;
        cfg.protocol = protocol.unwrap_or(0);
        cfg.outbound = outbound.unwrap_or(false);
        cfg.timestamp = timestamp.unwrap_or(true);
        cfg.queue = queue.unwrap_or(0);
        cfg.n_queues = match n_queues {
            None => 1,
            Some(n) if n <= 0 => 1,
            Some(n) => u32::try_from(n).map_err(|_| "N_QUEUES out of range")?,
        };
        if cfg.n_queues > 1 && cfg.queue >= cfg.n_queues {
            return Err(format!(
                "QUEUE {} is not below N_QUEUES {}",
                cfg.queue, cfg.n_queues
            ));
        }
        if method == Some(Method::Xdp) && sniffer && default_sniffer {
            tracing::debug!(
                "{class}: METHOD XDP takes the device's frames from the kernel's stack"
            );
        }
        Ok(Source {
            class,
            cfg,
            method,
            steal: !sniffer,
            burst,
            force_ip,
            outputs,
            allow_nonexistent,
            ring: None,
            used: None,
            fd: None,
            watching: false,
            woken_by_fd: false,
            spurious: 0,
            count: 0,
            bytes: 0,
            drops: 0,
            calls: 0,
            empty_calls: 0,
            base: crate::RingStats::default(),
            kernel_drops_base: 0,
            errors_logged: 0,
        })
    }

    pub fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        if self.allow_nonexistent
            && !crate::netmap::has_netmap_prefix(&self.cfg.device)
            && crate::sys::ifindex(&self.cfg.device).is_err()
        {
            tracing::warn!(
                "{}: no device '{}': {} stays idle",
                ctx.name(),
                self.cfg.device,
                self.class
            );
            ctx.start_unscheduled();
            return Ok(());
        }
        let (ring, used) = match self.take_ring(ctx) {
            Some(taken) => taken,
            None => open_rx(&self.cfg, self.method, self.steal)?,
        };
        tracing::info!(
            "{}: {} {}: METHOD {} ({})",
            ctx.name(),
            self.class,
            self.cfg.device,
            used.name(),
            ring.describe()
        );
        self.base = ring.stats();
        self.kernel_drops_base = ring.kernel_drops().unwrap_or(0);
        let fd = ring.fd();
        self.ring = Some(ring);
        self.used = Some(used);
        self.fd = Some(fd);
        ctx.add_select(fd, self.interest())?;
        self.watching = true;
        Ok(())
    }

    /// Hot swap: the ring the replaced router's element of this name had
    /// open, if it was opened the same way (otherwise it is closed here).
    fn take_ring(&self, ctx: &mut InitCtx<'_>) -> Option<(Box<dyn RxRing>, Method)> {
        let h = ctx.take_state::<HandedRing>()?;
        if (&h.cfg, h.method, h.steal) != (&self.cfg, self.method, self.steal) {
            return None;
        }
        let waited = h.at.elapsed();
        let dropped = match (h.kernel_drops, h.ring.kernel_drops()) {
            (Some(then), Some(now)) => now.saturating_sub(then),
            _ => 0,
        };
        let log = format!(
            "{}: {} {}: the replaced router's ring carries on ({} ms without a reader; \
             the kernel dropped {dropped} frames meanwhile)",
            ctx.name(),
            self.class,
            self.cfg.device,
            waited.as_millis()
        );
        if dropped > 0 {
            tracing::warn!("{log}");
        } else {
            tracing::info!("{log}");
        }
        Some((h.ring, h.used))
    }

    /// Hot swap: the open ring, for the successor ([`Source::take_ring`]).
    pub fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        // A ring that must stay on its thread (netmap's receiving half)
        // is closed here and opened again by the successor.
        let ring = self.ring.take()?.into_send().ok()?;
        Some(Box::new(HandedRing {
            cfg: self.cfg.clone(),
            method: self.method,
            steal: self.steal,
            kernel_drops: ring.kernel_drops(),
            ring,
            used: self.used?,
            at: std::time::Instant::now(),
        }))
    }

    pub fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(ring) = self.ring.as_mut() else {
            ctx.sleep();
            return false;
        };
        self.calls += 1;
        let mut left = self.burst;
        let mut got = 0;
        while left > 0 {
            let mut batch = Batch::new();
            match ring.recv(&mut batch, left.min(BATCH_CAPACITY)) {
                Ok(0) => break,
                Ok(n) => {
                    left -= n.min(left);
                    got += n;
                    self.count += n as u64;
                    self.bytes += batch.iter().map(|p| p.len() as u64).sum::<u64>();
                    if self.force_ip {
                        self.drops += push_forced_ip(batch, self.outputs, ctx);
                    } else {
                        ctx.push(0, batch);
                    }
                }
                Err(e) => {
                    if self.errors_logged < 5 {
                        self.errors_logged += 1;
                        tracing::error!("{}: {}: {e}", ctx.name(), self.cfg.device);
                    }
                    break;
                }
            }
        }
        let woken_by_fd = std::mem::take(&mut self.woken_by_fd);
        if got > 0 {
            self.spurious = 0;
            return true;
        }
        self.empty_calls += 1;
        if woken_by_fd {
            self.spurious += 1;
            if self.spurious >= SPURIOUS_LIMIT && self.watching {
                // Readable with nothing to read: look on a timer instead.
                if let Some(fd) = self.fd {
                    ctx.remove_select(fd);
                }
                self.watching = false;
                ctx.schedule_after(RECHECK);
            }
        }
        ctx.sleep();
        false
    }
}

/// FORCE_IP: IPv4 frames (their network header marked) out of output 0,
/// the rest out of output 1 if there is one, else dropped (returns how
/// many).
fn push_forced_ip(batch: Batch, outputs: usize, ctx: &mut Ctx<'_>) -> u64 {
    let mut outs = [Batch::new(), Batch::new()];
    let dropped = batch.split_by(&mut outs, |p| {
        let d = p.data();
        let ip = d.len() >= 34 && d[12..14] == [0x08, 0x00] && d[14] >> 4 == 4;
        if ip
            && p.set_network_header(14, ((d[14] & 0xf) as usize * 4).max(20))
                .is_ok()
        {
            Some(0)
        } else {
            (outputs > 1).then_some(1)
        }
    });
    let [ip, other] = outs;
    if !ip.is_empty() {
        ctx.push(0, ip);
    }
    if !other.is_empty() {
        ctx.push(1, other);
    }
    dropped as u64
}

impl Source {
    pub fn selected(&mut self, _fd: RawFd, _ready: Readiness, ctx: &mut Ctx<'_>) {
        self.woken_by_fd = true;
        ctx.wake_task();
    }

    pub fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        if !self.watching {
            if let Some(fd) = self.fd {
                if ctx.add_select(fd, self.interest()).is_ok() {
                    self.watching = true;
                }
            }
        }
        self.spurious = 0;
        ctx.wake_task();
    }

    /// How the ring's descriptor is watched.
    fn interest(&self) -> Interest {
        match &self.ring {
            Some(r) if r.ready_while_held() => Interest::READ.edge_triggered(),
            _ => Interest::READ,
        }
    }

    fn ring_stats(&self) -> crate::RingStats {
        self.ring.as_ref().map(|r| r.stats()).unwrap_or_default()
    }

    pub fn read_handler(&self, name: &str) -> Option<String> {
        let s = self.ring_stats();
        Some(match name {
            "count" => self.count.to_string(),
            "byte_count" => self.bytes.to_string(),
            "drops" => (self.drops + s.drops - self.base.drops).to_string(),
            "kernel_drops" => match self.ring.as_ref().and_then(|r| r.kernel_drops()) {
                Some(d) => d.saturating_sub(self.kernel_drops_base).to_string(),
                None => "??".into(),
            },
            "calls" => self.calls.to_string(),
            "empty_calls" => self.empty_calls.to_string(),
            "copies" => (s.copies - self.base.copies).to_string(),
            "zero_copy" => (s.zero_copy - self.base.zero_copy).to_string(),
            "syscalls" => (s.syscalls - self.base.syscalls).to_string(),
            "encap" => "ETHER".into(),
            "method" => self.used.map_or("none", Method::name).into(),
            "ring" => self.ring.as_ref().map_or("none".into(), |r| r.describe()),
            "burst" => self.burst.to_string(),
            _ => return None,
        })
    }

    pub fn write_handler(&mut self, name: &str) -> Result<(), String> {
        match name {
            "reset_counts" => {
                self.count = 0;
                self.bytes = 0;
                self.drops = 0;
                self.calls = 0;
                self.empty_calls = 0;
                self.base = self.ring_stats();
                self.kernel_drops_base = self
                    .ring
                    .as_ref()
                    .and_then(|r| r.kernel_drops())
                    .unwrap_or(0);
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }

    pub fn cleanup(&mut self) {
        // Let the socket go now: a hot swap's new router opens it again.
        self.ring = None;
    }
}

/// The Element methods of a class whose `self.0` is a [`Source`].
macro_rules! source_element {
    ($class:ty) => {
        impl click_engine::Element for $class {
            fn initialize(&mut self, ctx: &mut click_engine::InitCtx<'_>) -> Result<(), String> {
                self.0.initialize(ctx)
            }

            fn has_task(&self) -> bool {
                true
            }

            fn run_task(&mut self, ctx: &mut click_engine::Ctx<'_>) -> bool {
                self.0.run_task(ctx)
            }

            fn selected(
                &mut self,
                fd: std::os::fd::RawFd,
                ready: click_engine::Readiness,
                ctx: &mut click_engine::Ctx<'_>,
            ) {
                self.0.selected(fd, ready, ctx)
            }

            fn run_timer(&mut self, timer: click_engine::Timer, ctx: &mut click_engine::Ctx<'_>) {
                self.0.run_timer(timer, ctx)
            }

            fn handlers(&self) -> &'static [click_engine::Handler] {
                crate::elements::source::HANDLERS
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                self.0.read_handler(name)
            }

            fn write_handler(
                &mut self,
                name: &str,
                _value: &str,
                _ctx: &mut click_engine::Ctx<'_>,
            ) -> Result<(), String> {
                self.0.write_handler(name)
            }

            fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
                self.0.hand_over()
            }

            fn cleanup(&mut self) {
                self.0.cleanup()
            }
        }
    };
}

pub(crate) use source_element;
