//! KernelTun and KernelTap: the host's IP stack through a Linux tun or
//! tap device.

use std::net::Ipv4Addr;

use click_engine::args::{Args, EtherAddr, Ipv4Prefix};
use click_engine::packet::{BATCH_CAPACITY, DEFAULT_HEADROOM};
use click_engine::{
    Batch, ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, NotifierSignal, Packet, Port, Timer,
};

use super::tunread::TunReader;
use crate::tun::{IfConfig, Received, Tun, ETHERTYPE_IP, ETHERTYPE_IP6};

/// Click's default MTU for KernelTun.
const DEFAULT_MTU: usize = 1500;
const ETHER_LEN: usize = 14;

/// `KernelTun(ADDR/MASK [, GATEWAY, *keywords* TAP, HEADROOM, BURST,
/// ETHER, MTU, IGNORE_QUEUE_OVERFLOWS, DEVNAME, DEV_NAME])`: exchanges IP
/// packets with the host's own network stack through a Linux tun device,
/// as Click's user-level KernelTun does. Packets the host routes to the
/// device come out of output 0; packets pushed or pulled into input 0 are
/// received by the host as if they came in on the device.
///
/// At initialization it makes a tun device (named DEVNAME, else the
/// kernel's choice, `tun0`...; DEV_NAME is Click's deprecated spelling),
/// gives it address ADDR with netmask MASK, sets its Ethernet address to
/// ETHER (if given; a tun device has none, so this only warns) and its MTU
/// to MTU (if not 1500, Click's default), brings it up (promiscuous, as
/// Click does), and with a nonzero GATEWAY (which must be in ADDR/MASK)
/// adds a default route through it. The host then sends the device what
/// it routes to ADDR/MASK other than ADDR itself, which the host answers
/// on its own: with `KernelTun(10.0.0.1/24)`, `ping 10.0.0.2` reaches the
/// router. The device goes away, with its address and routes, when the
/// router stops. It is configured with ioctls, as Click does (no
/// ifconfig(8) needed).
///
/// Output 0 gets IP packets (IPv4 or IPv6) with their network header
/// marked, the destination IP annotation set (IPv4) and the time they were
/// read. What the host sends that is not IP, or not a whole IP header, goes
/// to output 1, or is dropped and counted when there is none. Input 0
/// takes IP packets whose network header is marked: the bytes from the
/// network header on are sent (link-level headers in front are left
/// behind); a packet with no network header, fewer than 20 bytes there, an
/// IP version other than 4 or 6, or more bytes than MTU is dropped and
/// counted, as are packets the device refuses (IGNORE_QUEUE_OVERFLOWS
/// quiets the log of ENOBUFS after the first).
///
/// A frame read is one system call, a packet written another: the kernel
/// has no batched read or write for a tun device. Each task run reads up
/// to BURST frames (default 32, a batch; Click's is 1) into pool packets
/// without a copy, and the task sleeps on the descriptor once it is
/// empty. HEADROOM (default 128, rounded up to a multiple of 4) is the
/// room left before each packet read. With a pull input the task also
/// pulls up to BURST packets per run while the queue upstream has some.
///
/// `KernelTun(..., TAP true)` is [KernelTap](#kerneltap).
///
/// * Ports: 0 or 1 input (push or pull), 1 or 2 push outputs.
/// * Handlers: `dev_name`, `packets` (frames read from the device),
///   `selected_calls`, `sent` (packets written to it), `drops` (dropped in
///   either direction), `burst` (read).
pub struct KernelTun(TunDevice);

/// `KernelTap(ADDR/MASK [, GATEWAY, *keywords* HEADROOM, BURST, ETHER, MTU,
/// IGNORE_QUEUE_OVERFLOWS, DEVNAME])`: [KernelTun](#kerneltun) on a tap
/// device, exchanging Ethernet frames rather than IP packets (KernelTun
/// with `TAP true`), as Click's KernelTap.
///
/// The device gets address ADDR/MASK and, if given, Ethernet address ETHER
/// (else one the kernel chooses); ARP is on, so the host asks for the
/// Ethernet address of what it sends to the device: answer its queries
/// (Click's idiom is `Classifier(12/0806, 12/0800)` with an ARPResponder
/// on the first output) or give the host a static neighbour entry. Frames
/// sent to the device must carry the device's Ethernet address as their
/// destination (or broadcast), or the host ignores them. Every frame read
/// goes to output 0, with the time it was read; input 0 takes frames of
/// at least 14 bytes whose payload is at most MTU bytes (others are
/// dropped and counted). HEADROOM defaults to 130, so that the IP header
/// after the 14-byte Ethernet header is 4-byte aligned (Click's 4/2
/// alignment).
///
/// * Ports: 0 or 1 input (push or pull), 1 or 2 push outputs.
/// * Handlers: as KernelTun's.
pub struct KernelTap(TunDevice);

pub(crate) struct TunDevice {
    class: &'static str,
    tap: bool,
    near: Ipv4Addr,
    mask: Ipv4Addr,
    gateway: Option<Ipv4Addr>,
    ether: Option<EtherAddr>,
    mtu: usize,
    burst: usize,
    ignore_queue_overflows: bool,
    want_name: String,
    pull_input: bool,
    dev: Option<Tun>,
    dev_name: String,
    reader: TunReader,
    upstream: NotifierSignal,
    sent: u64,
    drops: u64,
    write_errors_logged: u32,
    enobufs_logged: bool,
}

const HANDLERS: &[Handler] = &[
    Handler::read("dev_name"),
    Handler::read("packets"),
    Handler::read("selected_calls"),
    Handler::read("sent"),
    Handler::read("drops"),
    Handler::read("burst"),
];

impl TunDevice {
    fn configure(
        class: &'static str,
        default_tap: bool,
        args: &mut Args,
        ctx: &ConfigureCtx,
    ) -> Result<TunDevice, String> {
        let prefix: Ipv4Prefix = args.read_mp("ADDR")?;
        let gateway: Option<Ipv4Addr> = args.read_p("GATEWAY")?;
        let tap: bool = args.read("TAP")?.unwrap_or(default_tap);
        let headroom: Option<usize> = args.read("HEADROOM")?;
        let burst: usize = args.read("BURST")?.unwrap_or(BATCH_CAPACITY);
        let ether: Option<EtherAddr> = args.read("ETHER")?;
        let ignore_queue_overflows = args.read("IGNORE_QUEUE_OVERFLOWS")?.unwrap_or(false);
        let mtu: i64 = args.read("MTU")?.unwrap_or(DEFAULT_MTU as i64);
        let dev_name_old: Option<String> = args.read("DEV_NAME")?;
        let dev_name: Option<String> = args.read("DEVNAME")?;
        let gateway = gateway.filter(|g| !g.is_unspecified());
        let (near, mask) = (prefix.addr, prefix.mask);
        if let Some(g) = gateway {
            let m = u32::from(mask);
            if u32::from(g) & m != u32::from(near) & m {
                return Err("bad GATEWAY".into());
            }
        }
        if burst < 1 {
            return Err("BURST must be >= 1".into());
        }
        if mtu < 20 {
            return Err("MTU must be greater than 20".into());
        }
        let mtu = usize::try_from(mtu).map_err(|_| "MTU out of range")?;
        if mtu > 65535 {
            return Err("MTU must be at most 65535".into());
        }
        let headroom = match headroom {
            Some(h) if h > 8192 => return Err("HEADROOM too big".into()),
            Some(h) => h,
            // Click's default alignment: the IP header on a 4-byte boundary.
            None if tap => DEFAULT_HEADROOM + (4 - (DEFAULT_HEADROOM + 2) % 4) % 4,
            None => DEFAULT_HEADROOM + (4 - DEFAULT_HEADROOM % 4) % 4,
        };
        let want_name = dev_name.or(dev_name_old).unwrap_or_default();
        let read_len = if tap { mtu + ETHER_LEN } else { mtu };
        Ok(TunDevice {
            class,
            tap,
            near,
            mask,
            gateway,
            ether,
            mtu,
            burst,
            ignore_queue_overflows,
            want_name,
            pull_input: ctx.input_is_pull(0),
            dev: None,
            dev_name: String::new(),
            reader: TunReader::new(read_len, headroom),
            upstream: NotifierSignal::always(),
            sent: 0,
            drops: 0,
            write_errors_logged: 0,
            enobufs_logged: false,
        })
    }

    /// Makes and configures the device, as Click's `alloc_tun` and
    /// `setup_tun` (Linux universal tun/tap).
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let dev = Tun::open(&self.want_name, self.tap)?;
        let name = dev.name().to_string();
        let conf = IfConfig::new(&name)?;
        if !self.near.is_unspecified() {
            conf.set_ipv4(self.near, self.mask)?;
        }
        if let Some(mac) = self.ether {
            if let Err(e) = conf.set_ether(mac.0) {
                tracing::warn!(
                    "{}: could not set interface Ethernet address: {e}",
                    ctx.name()
                );
            }
        }
        if self.mtu != DEFAULT_MTU {
            if let Err(e) = conf.set_mtu(self.mtu) {
                tracing::warn!("{}: could not set interface MTU: {e}", ctx.name());
            }
        }
        let up = libc::IFF_UP | libc::IFF_PROMISC;
        match (self.near.is_unspecified(), self.tap) {
            (false, true) => conf.change_flags(up, libc::IFF_NOARP)?,
            (false, false) => conf.change_flags(up, 0)?,
            (true, true) => conf.change_flags(libc::IFF_NOARP, up)?,
            (true, false) => conf.change_flags(0, up)?,
        }
        if let Some(gw) = self.gateway {
            conf.add_default_route(gw)?;
        }
        self.reader.initialize(&dev, ctx)?;
        if self.pull_input {
            self.upstream = ctx.upstream_empty_signal(0);
        }
        tracing::info!(
            "{}: {} {name}: {}/{}",
            ctx.name(),
            self.class,
            self.near,
            u32::from(self.mask).leading_ones()
        );
        self.dev_name = name;
        self.dev = Some(dev);
        Ok(())
    }

    /// Where a frame read goes: Click's `one_selected` with
    /// `fake_pcap_force_ip` for a tun.
    fn verdict(tap: bool, p: &mut Packet, r: Received) -> Port {
        if tap {
            return 0;
        }
        if r.proto != ETHERTYPE_IP && r.proto != ETHERTYPE_IP6 {
            return 1;
        }
        if force_ip(p) {
            0
        } else {
            1
        }
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(dev) = self.dev.as_ref() else {
            ctx.sleep();
            return false;
        };
        let tap = self.tap;
        let mut worked = false;
        if self.reader.readable {
            worked |= self
                .reader
                .read_burst(dev, self.burst, ctx, |p, r| Self::verdict(tap, p, r))
                > 0;
        }
        let mut pulled = false;
        if self.pull_input {
            let mut left = self.burst;
            while left > 0 {
                let Some(batch) = ctx.pull(0, left.min(BATCH_CAPACITY)) else {
                    break;
                };
                left = left.saturating_sub(batch.len().max(1));
                pulled = true;
                self.send(batch, ctx);
            }
        }
        worked |= pulled;
        let more_input = self.pull_input && (pulled || self.upstream.active());
        if !self.reader.readable && !more_input {
            ctx.sleep();
        }
        worked
    }

    /// Writes each packet of `batch` to the device, as Click's `push`.
    fn send(&mut self, batch: Batch, ctx: &mut Ctx<'_>) {
        let Some(dev) = self.dev.as_ref() else {
            self.drops += batch.len() as u64;
            ctx.count_drops_for(batch.len(), "no device");
            return;
        };
        for p in batch.iter() {
            let (proto, bytes) = match frame_of(self.tap, p, self.mtu) {
                Ok(f) => f,
                Err(reason) => {
                    self.drops += 1;
                    ctx.count_drops_for(1, reason);
                    continue;
                }
            };
            match dev.send(proto, bytes) {
                Ok(()) => self.sent += 1,
                Err(e) => {
                    self.drops += 1;
                    ctx.count_drops_for(1, "the device refused it");
                    let enobufs = e.raw_os_error() == Some(libc::ENOBUFS);
                    let quiet = enobufs && self.ignore_queue_overflows && self.enobufs_logged;
                    if !quiet && self.write_errors_logged < 5 {
                        self.write_errors_logged += 1;
                        self.enobufs_logged |= enobufs;
                        tracing::error!("{}({}): write failed: {e}", self.class, self.dev_name);
                    }
                }
            }
        }
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "dev_name" => self.dev_name.clone(),
            "packets" => self.reader.packets.to_string(),
            "selected_calls" => self.reader.selected_calls.to_string(),
            "sent" => self.sent.to_string(),
            "drops" => (self.drops + self.reader.drops).to_string(),
            "burst" => self.burst.to_string(),
            _ => return None,
        })
    }

    fn cleanup(&mut self) {
        self.reader.cleanup();
        // Closing the descriptor deletes the device, its address and routes.
        self.dev = None;
    }
}

/// The protocol and bytes to write for `p`, or why not: on a tap, the
/// frame (at least an Ethernet header, at most MTU bytes after it); on a
/// tun, the IP packet from its network header on.
fn frame_of(tap: bool, p: &Packet, mtu: usize) -> Result<(u16, &[u8]), &'static str> {
    if tap {
        let d = p.data();
        if d.len() < ETHER_LEN {
            return Err("packet too small");
        }
        if d.len() - ETHER_LEN > mtu {
            return Err("packet larger than MTU");
        }
        return Ok((u16::from_be_bytes([d[12], d[13]]), d));
    }
    let ip = match p.network_header() {
        Some(ip) if ip.len() >= 20 => ip,
        _ => return Err("no network header"),
    };
    let proto = match ip[0] >> 4 {
        4 => ETHERTYPE_IP,
        6 => ETHERTYPE_IP6,
        _ => return Err("unknown IP version"),
    };
    if ip.len() > mtu {
        return Err("packet larger than MTU");
    }
    Ok((proto, ip))
}

/// Click's `fake_pcap_force_ip` on a raw IP packet: marks the network
/// header (and the destination annotation of IPv4) if the data starts with
/// a whole IPv4 header or an IPv6 one; false if not.
pub(crate) fn force_ip(p: &mut Packet) -> bool {
    let d = p.data();
    let Some(&first) = d.first() else {
        return false;
    };
    match first >> 4 {
        4 => {
            let hl = usize::from(first & 0x0f) * 4;
            if hl < 20 || hl > d.len() {
                return false;
            }
            let dst = Ipv4Addr::new(d[16], d[17], d[18], d[19]);
            if p.set_network_header(0, hl).is_err() {
                return false;
            }
            p.anno_mut().set_dst_ip(dst);
            true
        }
        6 => d.len() >= 40 && p.set_network_header(0, 40).is_ok(),
        _ => false,
    }
}

/// The Element methods of a class whose `self.0` is a [`TunDevice`].
macro_rules! tun_element {
    ($class:ty, $name:literal, $tap:literal) => {
        impl ElementClass for $class {
            const CLASS: &'static str = $name;
            const PORT_COUNT: &'static str = "0-1/1-2";
            const PROCESSING: &'static str = "a/h";
            const FLOW_CODE: &'static str = "x/y";

            fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
                TunDevice::configure($name, $tap, args, ctx).map(Self)
            }
        }

        impl click_engine::Element for $class {
            fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
                self.0.initialize(ctx)
            }

            fn has_task(&self) -> bool {
                true
            }

            fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
                self.0.run_task(ctx)
            }

            fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
                self.0.send(batch, ctx)
            }

            fn selected(
                &mut self,
                _fd: std::os::fd::RawFd,
                _ready: click_engine::Readiness,
                ctx: &mut Ctx<'_>,
            ) {
                self.0.reader.selected(ctx)
            }

            fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
                self.0.reader.run_timer(ctx)
            }

            fn handlers(&self) -> &'static [Handler] {
                HANDLERS
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                self.0.read_handler(name)
            }

            fn cleanup(&mut self) {
                self.0.cleanup()
            }
        }
    };
}

tun_element!(KernelTun, "KernelTun", false);
tun_element!(KernelTap, "KernelTap", true);

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(len: usize) -> Vec<u8> {
        let mut d = vec![0u8; len];
        d[0] = 0x45;
        d[16..20].copy_from_slice(&[10, 0, 0, 2]);
        d
    }

    #[test]
    fn force_ip_marks_whole_headers_only() {
        let mut p = Packet::from_slice(&ipv4(28)).unwrap();
        assert!(force_ip(&mut p));
        assert_eq!(p.network_header_length(), Some(20));
        assert_eq!(p.anno().dst_ip(), Ipv4Addr::new(10, 0, 0, 2));
        let mut v6 = vec![0u8; 40];
        v6[0] = 0x60;
        assert!(force_ip(&mut Packet::from_slice(&v6).unwrap()));
        for bad in [
            vec![],
            vec![0x45],
            ipv4(28)[..19].to_vec(),
            {
                let mut d = ipv4(28);
                d[0] = 0x48; // a 32-byte header in 28 bytes
                d
            },
            {
                let mut d = ipv4(28);
                d[0] = 0x44; // a 16-byte header
                d
            },
            vec![0x60; 39],
            vec![0x75; 40],
        ] {
            let mut p = Packet::from_slice(&bad).unwrap();
            assert!(!force_ip(&mut p), "{bad:?}");
            assert_eq!(p.network_header_offset(), None, "{bad:?}");
        }
    }

    #[test]
    fn tun_sends_from_the_network_header_on() {
        // An Ethernet frame with its IP header marked: the IP packet goes.
        let mut frame = vec![0u8; 14];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frame.extend(ipv4(28));
        let mut p = Packet::from_slice(&frame).unwrap();
        p.set_network_header(14, 20).unwrap();
        let (proto, bytes) = frame_of(false, &p, 1500).unwrap();
        assert_eq!((proto, bytes), (ETHERTYPE_IP, &frame[14..]));
        // The header before the data (stripped, as Click's Strip leaves it).
        p.pull(20).unwrap();
        assert_eq!(frame_of(false, &p, 1500).unwrap().1, &frame[14..]);
        // Too long for the MTU; no header; a wrong version.
        p.push(20).unwrap();
        assert_eq!(frame_of(false, &p, 27), Err("packet larger than MTU"));
        let bare = Packet::from_slice(&ipv4(28)).unwrap();
        assert_eq!(frame_of(false, &bare, 1500), Err("no network header"));
        let mut v5 = ipv4(28);
        v5[0] = 0x55;
        let mut p = Packet::from_slice(&v5).unwrap();
        p.set_network_header(0, 20).unwrap();
        assert_eq!(frame_of(false, &p, 1500), Err("unknown IP version"));
        let mut short = Packet::from_slice(&ipv4(28)[..19]).unwrap();
        short.set_network_header(0, 19).unwrap();
        assert_eq!(frame_of(false, &short, 1500), Err("no network header"));
    }

    #[test]
    fn tap_sends_whole_frames_of_at_most_mtu_payload() {
        let mut frame = vec![0u8; 14 + 100];
        frame[12..14].copy_from_slice(&[0x08, 0x06]);
        let p = Packet::from_slice(&frame).unwrap();
        assert_eq!(frame_of(true, &p, 100), Ok((0x0806, &frame[..])));
        assert_eq!(frame_of(true, &p, 99), Err("packet larger than MTU"));
        let p = Packet::from_slice(&frame[..13]).unwrap();
        assert_eq!(frame_of(true, &p, 1500), Err("packet too small"));
    }
}
