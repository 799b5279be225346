//! FromHost and ToHost at user level: Ethernet frames to and from the
//! host's stack through a Linux tap device, as Click's `FromHost.u` and
//! `ToHost.u`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use click_engine::args::{Args, EtherAddr, Ipv4Prefix};
use click_engine::packet::{BATCH_CAPACITY, DEFAULT_HEADROOM};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Packet,
    Port, Readiness, Timer, PUSH,
};

use super::tunread::TunReader;
use crate::tun::{shared_tap, IfConfig, Tun};

const ETHER_LEN: usize = 14;

/// `FromHost(DEVNAME [, DST, *keywords* GATEWAY, ETHER, HEADROOM, MTU,
/// BURST])`: pushes the Ethernet frames the host's stack sends to the tap
/// device DEVNAME, as Click's user-level FromHost; ToHost(DEVNAME) hands
/// frames the other way. (KernelTap does both in one element and is
/// preferable for most purposes, as Click's documentation says.)
///
/// At initialization it makes the tap device DEVNAME (or attaches to it if
/// a ToHost of the same DEVNAME already did). With ETHER it sets the
/// device's Ethernet address and turns ARP on; with DST (an address
/// prefix such as `10.0.0.1/24`) it gives the device that address and
/// netmask and brings it up (without DST, Click assumes the device was
/// configured already); with a nonzero GATEWAY (which must be in DST) it
/// adds a default route through it. The host then sends the device frames
/// for DST's network, and ARP queries for their destinations: answer them
/// (Click's idiom: `Classifier(12/0806, 12/0800)`, an ARPResponder on the
/// first output, into ToHost) or give the host static neighbour entries.
///
/// Each frame comes out with its MAC header marked at its start and, as
/// Click does whatever the ethertype, the destination IP annotation and
/// the network header taken from where an IPv4 header would be (only when
/// the frame is long enough to hold one: no short frame is read past),
/// and the time it was read. A task reads up to BURST frames per run
/// (default 32; Click reads one per wake-up), one system call each, while
/// the queue downstream has room (Click's full notifier) and sleeps on
/// the device's descriptor when it is empty. MTU (Click's default 2048)
/// bounds the frames read: by default as much as a pool buffer holds after
/// HEADROOM (default 130: IP headers 4-byte aligned), over 1900 bytes;
/// longer frames are dropped and counted. The device goes away when the
/// router stops.
///
/// * Ports: no inputs, 1 push output.
/// * Handlers: `dev_name`, `packets`, `drops`, `signal` (read).
pub struct FromHost {
    want_name: String,
    dst: Option<Ipv4Prefix>,
    gateway: Option<Ipv4Addr>,
    ether: Option<EtherAddr>,
    burst: usize,
    dev: Option<Arc<Tun>>,
    reader: TunReader,
    downstream: NotifierSignal,
}

impl ElementClass for FromHost {
    const CLASS: &'static str = "FromHost";
    const PORT_COUNT: &'static str = "0/1";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let want_name: String = args.read_mp("DEVNAME")?;
        let dst: Option<Ipv4Prefix> = args.read_p("DST")?;
        let gateway: Option<Ipv4Addr> = args.read("GATEWAY")?;
        let ether: Option<EtherAddr> = args.read("ETHER")?;
        let headroom: Option<usize> = args.read("HEADROOM")?;
        let mtu: Option<usize> = args.read("MTU")?;
        let burst: usize = args.read("BURST")?.unwrap_or(BATCH_CAPACITY);
        let dst = dst.filter(|d| !d.addr.is_unspecified());
        let gateway = gateway.filter(|g| !g.is_unspecified());
        if let (Some(d), Some(g)) = (dst, gateway) {
            let m = u32::from(d.mask);
            if u32::from(g) & m != u32::from(d.addr) & m {
                return Err("bad GATEWAY".into());
            }
        }
        if want_name.is_empty() {
            return Err("must specify device name".into());
        }
        let headroom = match headroom {
            Some(h) if h > 8192 => return Err("HEADROOM too large".into()),
            Some(h) => h,
            None => DEFAULT_HEADROOM + (4 - (DEFAULT_HEADROOM + 2) % 4) % 4,
        };
        if burst == 0 {
            return Err("BURST must be >= 1".into());
        }
        let read_len = match mtu {
            Some(m) if !(ETHER_LEN..=65535).contains(&m) => return Err("MTU out of range".into()),
            Some(m) => m,
            // What a pool buffer holds after the headroom.
            None => click_engine::packet::DEFAULT_BUF_SIZE
                .saturating_sub(headroom)
                .max(ETHER_LEN),
        };
        Ok(FromHost {
            want_name,
            dst,
            gateway,
            ether,
            burst,
            dev: None,
            reader: TunReader::new(read_len, headroom),
            downstream: NotifierSignal::always(),
        })
    }
}

/// Click's FromHost annotations: the MAC header, and the destination IP
/// annotation and network header of an IPv4 header after 14 bytes, where
/// the frame holds one.
fn annotate(p: &mut Packet) -> Port {
    let _ = p.set_mac_header(0);
    let d = p.data();
    if d.len() >= ETHER_LEN + 20 {
        let dst = Ipv4Addr::new(d[30], d[31], d[32], d[33]);
        let hl = (usize::from(d[ETHER_LEN] & 0x0f) * 4).min(d.len() - ETHER_LEN);
        let _ = p.set_network_header(ETHER_LEN, hl);
        p.anno_mut().set_dst_ip(dst);
    }
    0
}

impl Element for FromHost {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let dev = shared_tap(&self.want_name)?;
        dev.mark_reader();
        let conf = IfConfig::new(dev.name())?;
        if let Some(mac) = self.ether {
            conf.set_ether(mac.0)?;
            conf.change_flags(0, libc::IFF_NOARP)?;
        }
        if let Some(dst) = self.dst {
            conf.set_ipv4(dst.addr, dst.mask)?;
            conf.change_flags(libc::IFF_UP, 0)?;
        }
        if let Some(gw) = self.gateway {
            conf.add_default_route(gw)?;
        }
        self.reader.initialize(&dev, ctx)?;
        self.downstream = ctx.downstream_full_signal(0);
        tracing::info!("{}: FromHost {}", ctx.name(), dev.name());
        self.dev = Some(dev);
        Ok(())
    }

    fn has_task(&self) -> bool {
        true
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(dev) = self.dev.clone() else {
            ctx.sleep();
            return false;
        };
        if !self.downstream.active() || !self.reader.readable {
            // No room downstream (its notifier wakes us) or nothing to read.
            ctx.sleep();
            return false;
        }
        let got = self
            .reader
            .read_burst(&dev, self.burst, ctx, |p, _| annotate(p));
        if !self.reader.readable {
            ctx.sleep();
        }
        got > 0
    }

    fn selected(&mut self, _fd: std::os::fd::RawFd, _ready: Readiness, ctx: &mut Ctx<'_>) {
        self.reader.selected(ctx)
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        self.reader.run_timer(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const H: &[Handler] = &[
            Handler::read("dev_name"),
            Handler::read("packets"),
            Handler::read("drops"),
            Handler::read("signal"),
        ];
        H
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "dev_name" => self
                .dev
                .as_ref()
                .map_or(self.want_name.clone(), |d| d.name().to_string()),
            "packets" => self.reader.packets.to_string(),
            "drops" => self.reader.drops.to_string(),
            "signal" => self.downstream.active().to_string(),
            _ => return None,
        })
    }

    fn cleanup(&mut self) {
        self.reader.cleanup();
        self.dev = None;
    }
}

/// `ToHost(DEVNAME)`: hands Ethernet frames to the host's stack through
/// the tap device of FromHost(DEVNAME), as Click's user-level ToHost: the
/// host receives them as if they came in on that device. Frames should be
/// addressed to the device's Ethernet address (or broadcast), and IPv4
/// packets to an address of the host with a source it can route back to,
/// or Linux drops them silently.
///
/// Each frame is one system call (a `writev` of the 4-byte packet
/// information header and the frame, no copy). Frames shorter than an
/// Ethernet header, and those the device refuses (it is down: FromHost was
/// given no DST and nobody brought it up), are dropped and counted. Click
/// refuses a ToHost without an initialized FromHost of the same DEVNAME;
/// here the two may be initialized on different threads in either order,
/// so ToHost opens the device itself if it is first, and warns once, at
/// its first packet, if no FromHost reads the device.
///
/// * Ports: 1 push input, no outputs.
/// * Handlers: `dev_name`, `count` (frames handed over), `drops` (read).
pub struct ToHost {
    want_name: String,
    dev: Option<Arc<Tun>>,
    checked: bool,
    count: u64,
    drops: u64,
    errors_logged: u32,
}

impl ElementClass for ToHost {
    const CLASS: &'static str = "ToHost";
    const PORT_COUNT: &'static str = "1/0";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(ToHost {
            want_name: args.read_mp("DEVNAME")?,
            dev: None,
            checked: false,
            count: 0,
            drops: 0,
            errors_logged: 0,
        })
    }
}

impl Element for ToHost {
    fn initialize(&mut self, _ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.dev = Some(shared_tap(&self.want_name)?);
        Ok(())
    }

    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let Some(dev) = self.dev.as_ref() else {
            self.drops += batch.len() as u64;
            ctx.count_drops_for(batch.len(), "no device");
            return;
        };
        if !self.checked {
            self.checked = true;
            if !dev.has_reader() {
                tracing::warn!(
                    "{}: no FromHost({}) reads the device",
                    ctx.name(),
                    dev.name()
                );
            }
        }
        for p in batch.iter() {
            let d = p.data();
            if d.len() < ETHER_LEN {
                self.drops += 1;
                ctx.count_drops_for(1, "packet too small");
                continue;
            }
            match dev.send(u16::from_be_bytes([d[12], d[13]]), d) {
                Ok(()) => self.count += 1,
                Err(e) => {
                    self.drops += 1;
                    ctx.count_drops_for(1, "the device refused it");
                    if self.errors_logged < 5 {
                        self.errors_logged += 1;
                        tracing::error!("ToHost({}): write failed: {e}", dev.name());
                    }
                }
            }
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const H: &[Handler] = &[
            Handler::read("dev_name"),
            Handler::read("count"),
            Handler::read("drops"),
        ];
        H
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "dev_name" => self.want_name.clone(),
            "count" => self.count.to_string(),
            "drops" => self.drops.to_string(),
            _ => return None,
        })
    }

    fn cleanup(&mut self) {
        self.dev = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotate_never_reads_past_a_frame() {
        for len in 0..80usize {
            for fill in [0x00u8, 0x45, 0x4f, 0xff] {
                let mut p = Packet::from_slice(&vec![fill; len]).unwrap();
                assert_eq!(annotate(&mut p), 0);
                if len >= ETHER_LEN {
                    assert_eq!(p.mac_header_offset(), Some(0));
                }
                if len >= ETHER_LEN + 20 {
                    assert_eq!(p.network_header_offset(), Some(14));
                    let hl = p.network_header_length().unwrap();
                    assert!(hl <= len - ETHER_LEN);
                    assert_eq!(p.anno().dst_ip(), Ipv4Addr::from([fill; 4]));
                } else {
                    assert_eq!(p.network_header_offset(), None);
                }
            }
        }
    }
}
