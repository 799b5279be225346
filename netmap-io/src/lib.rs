//! Packet rings behind one small per-batch interface, and Click's device
//! elements on them.
//!
//! * [`ring`]: the interface: [`RxRing::recv`] a batch, [`TxRing::send`]
//!   a batch, the descriptor to wait on, the limits. Zero copy wherever the
//!   ring's memory allows it.
//! * [`afpacket`]: AF_PACKET, a TPACKET_V2 receive ring and batched
//!   transmit (`sendmmsg` or PACKET_TX_RING, qdisc bypassed), PACKET_FANOUT
//!   for several rings on one device: works on every Linux device.
//! * [`xdp`]: AF_XDP, UMEM frames as packets, the four rings, the XDP
//!   program loaded with bpf(2).
//! * [`netmap`]: netmap rings (`/dev/netmap`, through netmap_sys with our
//!   own fixes), zero copy on receive and by buffer swap on transmit, and
//!   an emulation of netmap's kernel side for tests anywhere.
//! * [`tun`]: Linux tun/tap devices, the way to the host's own stack.
//! * The elements FromDevice, PollDevice and ToDevice, and KernelTun,
//!   KernelTap, FromHost and ToHost on tun/tap devices ([`register`]).
//!
//! See docs/ARCHITECTURE.md ("Devices") for how a buffer travels from a
//! ring through the elements and back, for each method.
//!
//! # The netmap backend
//! [`netmap::NetmapRx`] and [`netmap::NetmapTx`] implement [`RxRing`] and
//! [`TxRing`] for a port's rings (one `NIOCRXSYNC` per emptied ring, one
//! `NIOCTXSYNC` per half ring or [`TxRing::flush`]; buffers registered with
//! `register_buffer_owner` under the [`RegionId`] of the memory region,
//! received slots wrapped with `Batch::wrap_external` and given spare
//! buffers, TX slots filled from `Batch::drain_external` by swapping
//! buffer indices). A device name with `netmap:` or `valeX:` in front, or
//! METHOD NETMAP, selects it; with no METHOD it is the first choice where
//! `/dev/netmap` exists.
//!
//! [`RegionId`]: click_engine::packet::RegionId

pub mod afpacket;
mod elements;
pub mod netmap;
pub mod ring;
pub mod sys;
pub mod testnet;
pub mod tun;
pub mod xdp;

pub use elements::{FromDevice, FromHost, KernelTap, KernelTun, PollDevice, ToDevice, ToHost};
pub use ring::{Limits, RingStats, RxRing, TxRing};

use click_engine::Registry;

/// Adds FromDevice, PollDevice, ToDevice, KernelTun, KernelTap, FromHost
/// and ToHost to `r`.
pub fn register(r: &mut Registry) {
    r.add::<FromDevice>().add::<PollDevice>().add::<ToDevice>();
    r.add::<KernelTun>().add::<KernelTap>();
    r.add::<FromHost>().add::<ToHost>();
}

/// How a device element reaches the device (Click's METHOD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// netmap rings (`/dev/netmap`).
    Netmap,
    /// AF_XDP sockets with an XDP program.
    Xdp,
    /// AF_PACKET sockets (Click's `LINUX`; `PCAP` means this too here).
    Linux,
}

impl Method {
    /// Parses Click's METHOD word (`LINUX`, `PCAP`, `NETMAP`) or ours
    /// (`XDP`, `AF_XDP`, `AF_PACKET`); `None` for an empty word (the
    /// default).
    pub fn parse(word: &str) -> Result<Option<Method>, String> {
        Ok(Some(match word.to_ascii_uppercase().as_str() {
            "" => return Ok(None),
            "LINUX" | "PCAP" | "AF_PACKET" | "PACKET" => Method::Linux,
            "XDP" | "AF_XDP" => Method::Xdp,
            "NETMAP" => Method::Netmap,
            _ => return Err(format!("bad METHOD '{word}' (LINUX, PCAP, XDP or NETMAP)")),
        }))
    }

    /// Click's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Netmap => "NETMAP",
            Method::Xdp => "XDP",
            Method::Linux => "LINUX",
        }
    }
}

/// Whether this build has the netmap backend.
pub const NETMAP_BUILT: bool = true;

/// How to open a receive ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxConfig {
    /// The device's name.
    pub device: String,
    /// The queue (AF_XDP, netmap: the hardware queue; AF_PACKET: this
    /// ring's place in the fanout group).
    pub queue: u32,
    /// How many rings share the device: with more than one, AF_PACKET
    /// rings join a fanout group, and the kernel spreads flows over them.
    pub n_queues: u32,
    /// Put the device in promiscuous mode.
    pub promisc: bool,
    /// Also receive the frames this host sends.
    pub outbound: bool,
    /// Only this link-level protocol (0: all). AF_PACKET only.
    pub protocol: u16,
    /// Headroom before each packet's data.
    pub headroom: usize,
    /// Longest data kept of a frame; the rest is counted in the packet's
    /// extra-length annotation.
    pub snaplen: usize,
    /// Stamp packets with the time they were received.
    pub timestamp: bool,
}

impl RxConfig {
    /// Defaults for `device`, as Click's FromDevice has them.
    pub fn new(device: &str) -> RxConfig {
        RxConfig {
            device: device.to_string(),
            queue: 0,
            n_queues: 1,
            promisc: false,
            outbound: false,
            protocol: 0,
            headroom: click_engine::packet::DEFAULT_HEADROOM,
            snaplen: 2046,
            timestamp: true,
        }
    }
}

/// Opens a receive ring with `method`, or with the default: netmap for a
/// netmap port name (`netmap:eth0`, `vale0:p`); else, where the element may
/// take frames from the kernel (`steal`: not a sniffer), netmap where
/// `/dev/netmap` exists, then XDP where it works; else AF_PACKET. Returns
/// the ring and the method it uses.
pub fn open_rx(
    cfg: &RxConfig,
    method: Option<Method>,
    steal: bool,
) -> Result<(Box<dyn RxRing>, Method), String> {
    let method = method_for(&cfg.device, method)?;
    match method {
        Some(Method::Netmap) => {
            if cfg.protocol != 0 {
                return Err("PROTOCOL needs METHOD LINUX".into());
            }
            if cfg.outbound {
                return Err(
                    "OUTBOUND needs METHOD LINUX (with netmap, the host rings `netmap:DEV^` carry what the host sends)"
                        .into(),
                );
            }
            let r = netmap::NetmapRx::open(cfg)?;
            Ok((Box::new(r), Method::Netmap))
        }
        Some(Method::Xdp) => {
            if cfg.protocol != 0 {
                return Err("PROTOCOL needs METHOD LINUX".into());
            }
            let r = xdp::XskRx::open(&cfg.device, cfg.queue, cfg.timestamp)?;
            Ok((Box::new(r), Method::Xdp))
        }
        Some(Method::Linux) => Ok((Box::new(open_packet_rx(cfg, steal)?), Method::Linux)),
        None => {
            if steal && cfg.protocol == 0 && !cfg.outbound && netmap::available() {
                match netmap::NetmapRx::open(cfg) {
                    Ok(r) => {
                        tracing::info!(
                            "{}: /dev/netmap is there: METHOD NETMAP (netmap:{})",
                            cfg.device,
                            cfg.device
                        );
                        return Ok((Box::new(r), Method::Netmap));
                    }
                    Err(e) => tracing::info!("{}: netmap not usable ({e})", cfg.device),
                }
            }
            if steal && cfg.protocol == 0 && !cfg.outbound {
                match xdp::XskRx::open(&cfg.device, cfg.queue, cfg.timestamp) {
                    Ok(r) => return Ok((Box::new(r), Method::Xdp)),
                    Err(e) => tracing::info!("{}: XDP not usable ({e}); using LINUX", cfg.device),
                }
            }
            Ok((Box::new(open_packet_rx(cfg, steal)?), Method::Linux))
        }
    }
}

/// An AF_PACKET ring; a source that takes the frames (`steal`: not a
/// sniffer) keeps the kernel's stack from them.
fn open_packet_rx(cfg: &RxConfig, steal: bool) -> Result<afpacket::PacketRx, String> {
    let mut ring = afpacket::PacketRx::open(cfg)?;
    if steal {
        ring.block_stack(cfg.protocol);
    }
    Ok(ring)
}

/// The AF_PACKET transmit mode used by default: the faster here
/// (docs/PERFORMANCE.md).
pub const DEFAULT_TX_MODE: afpacket::TxMode = afpacket::TxMode::Sendmmsg;

/// Opens a transmit ring on `device` (queue `queue` where the method has
/// queues) with `method`, or with the default: netmap for a netmap port
/// name, or where `/dev/netmap` exists; else XDP where it works, else
/// AF_PACKET.
pub fn open_tx(
    device: &str,
    queue: u32,
    method: Option<Method>,
    mode: afpacket::TxMode,
) -> Result<(Box<dyn TxRing>, Method), String> {
    let method = method_for(device, method)?;
    match method {
        Some(Method::Netmap) => Ok((
            Box::new(netmap::NetmapTx::open(device, queue)?),
            Method::Netmap,
        )),
        Some(Method::Xdp) => Ok((Box::new(xdp::XskTx::open(device, queue)?), Method::Xdp)),
        Some(Method::Linux) => Ok((
            Box::new(afpacket::PacketTx::open(device, mode)?),
            Method::Linux,
        )),
        None if netmap::available() => match netmap::NetmapTx::open(device, queue) {
            Ok(t) => {
                tracing::info!("{device}: /dev/netmap is there: METHOD NETMAP (netmap:{device})");
                Ok((Box::new(t), Method::Netmap))
            }
            Err(e) => {
                tracing::info!("{device}: netmap not usable ({e})");
                open_tx_kernel(device, queue, mode)
            }
        },
        None => open_tx_kernel(device, queue, mode),
    }
}

/// The default without netmap: XDP where it works, else AF_PACKET.
fn open_tx_kernel(
    device: &str,
    queue: u32,
    mode: afpacket::TxMode,
) -> Result<(Box<dyn TxRing>, Method), String> {
    match xdp::XskTx::open(device, queue) {
        Ok(t) => Ok((Box::new(t), Method::Xdp)),
        Err(e) => {
            tracing::info!("{device}: XDP not usable ({e}); using LINUX");
            Ok((
                Box::new(afpacket::PacketTx::open(device, mode)?),
                Method::Linux,
            ))
        }
    }
}

/// The method a device name implies: a netmap port name (`netmap:...`,
/// `valeX:...`) means NETMAP, and no other method takes one.
fn method_for(device: &str, method: Option<Method>) -> Result<Option<Method>, String> {
    if netmap::has_netmap_prefix(device) {
        return match method {
            None | Some(Method::Netmap) => Ok(Some(Method::Netmap)),
            Some(m) => Err(format!(
                "'{device}' is a netmap port name, but METHOD is {}",
                m.name()
            )),
        };
    }
    Ok(method)
}
