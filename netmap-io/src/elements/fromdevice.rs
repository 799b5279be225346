//! FromDevice: receives the frames of a network device.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, PUSH};

use super::source::{source_element, Source};
use crate::RxConfig;

/// `FromDevice(DEVNAME [, PROMISC, SNAPLEN, *keywords* SNIFFER, METHOD,
/// BURST, QUEUE, N_QUEUES, OUTBOUND, HEADROOM, PROTOCOL, FORCE_IP,
/// TIMESTAMP, ENCAP, BPF_FILTER])`: pushes the frames received on device
/// DEVNAME, link-level header included, with their timestamp (the
/// kernel's, unless `TIMESTAMP false`), packet type and MAC header
/// annotations, as Click's user-level FromDevice does.
///
/// As in Click it is a sniffer by default (SNIFFER true): the kernel's
/// stack gets the frames too, and METHOD defaults to LINUX (AF_PACKET: a
/// TPACKET_V2 ring whose frames become the packets, no copy). METHOD XDP
/// (AF_XDP: UMEM frames as packets, an XDP program steering the queue's
/// frames) takes the frames from the kernel; with `SNIFFER false` it is
/// the default where it works (else LINUX; `router -v` logs the choice).
/// With `SNIFFER false`, METHOD LINUX keeps the kernel's stack from the
/// frames too, as Click's KernelFilter `drop dev` does: a drop program at
/// the device's tcx ingress, after the packet socket took them, detached
/// when the router exits (Linux 6.6; else a warning, and the kernel gets
/// them as well).
/// METHOD NETMAP (or a netmap port name as DEVNAME: `netmap:eth0`,
/// `netmap:eth0-2`, `netmap:eth0^` for the host rings, `vale0:p`,
/// `netmap:x}1` or, in quotes, `"netmap:x{1"` for a pipe end) receives
/// from netmap rings: each slot's
/// buffer becomes the packet, a spare buffer takes its place; with
/// `SNIFFER false` it is the first choice where `/dev/netmap` exists.
/// METHOD PCAP means LINUX here. A missing device, missing privileges or a
/// kernel without the method is a one-line configuration error saying
/// what to do.
///
/// Its task pushes up to BURST packets (default 32, a batch, where
/// Click has 1) per run while the ring has frames, and sleeps on the device's
/// descriptor when it is empty: an idle device costs no CPU, a busy one
/// no system call per batch. QUEUE and N_QUEUES use one ring per
/// scheduler thread: one FromDevice per queue (`QUEUE 0, N_QUEUES 2` and
/// `QUEUE 1, N_QUEUES 2`), each placed on its thread with
/// StaticThreadSched; with LINUX they join one PACKET_FANOUT group and the
/// kernel spreads flows over them by hash, with XDP each reads its own
/// receive queue. SNAPLEN (default 2046) truncates longer frames, counting
/// the rest in the extra-length annotation; OUTBOUND true also emits the
/// frames this host sends; PROTOCOL keeps one ethertype (LINUX only);
/// FORCE_IP sends non-IPv4 frames to output 1 (dropped if there is none)
/// and marks the IP header of the others; HEADROOM reserves room before
/// the data; ENCAP must be ETHER; BPF_FILTER is ignored with a warning.
///
/// * Ports: no inputs, 1 or 2 push outputs.
/// * Handlers: `count`, `byte_count`, `drops` (dropped here: no pool
///   entry, FORCE_IP without output 1), `kernel_drops` (dropped by the
///   kernel before the ring: ring full, no buffer), `calls`, `empty_calls`,
///   `copies`, `zero_copy`, `syscalls`, `encap`, `method`, `ring`, `burst`
///   (read); `reset_counts` (write).
pub struct FromDevice(Source);

impl ElementClass for FromDevice {
    const CLASS: &'static str = "FromDevice";
    const PORT_COUNT: &'static str = "0/1-2";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let dev: String = args.read_mp("DEVNAME")?;
        let mut cfg = RxConfig::new(&dev);
        cfg.promisc = args.read_p("PROMISC")?.unwrap_or(false);
        if let Some(snaplen) = args.read_p::<usize>("SNAPLEN")? {
            cfg.snaplen = snaplen;
        }
        Source::configure(Self::CLASS, args, cfg, true, 32, ctx.noutputs()).map(FromDevice)
    }
}

source_element!(FromDevice);
