//! PollDevice: receives a device's frames, taking them from the kernel.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, PUSH};

use super::source::{source_element, Source};
use crate::RxConfig;

/// `PollDevice(DEVNAME [, BURST, *keywords* PROMISC, METHOD, QUEUE,
/// N_QUEUES, HEADROOM, TIMESTAMP, SNIFFER, ALLOW_NONEXISTENT, QUIET,
/// LENGTH])`: Click's kernel-module PollDevice at user level: like
/// FromDevice, but the frames are the router's, not the kernel's stack's
/// (SNIFFER false by default), so METHOD defaults to NETMAP where
/// `/dev/netmap` exists (the slots' buffers become the packets), then XDP
/// where it works (an XDP program redirects the queue's frames to an
/// AF_XDP socket whose UMEM frames become the packets), else LINUX (an AF_PACKET TPACKET_V2
/// ring, with a drop program at the device's tcx ingress that keeps the
/// kernel's stack from the frames, as Click's KernelFilter would).
/// `router -v` logs which. Its task pushes up to BURST
/// packets (default 32) per run while frames wait, and sleeps on the
/// device's descriptor when there are none: polling without spinning.
/// ALLOW_NONEXISTENT true makes a missing device a warning (the element
/// stays idle) rather than an error; QUIET and LENGTH are accepted for
/// Click's configurations and have no effect. The other keywords are
/// FromDevice's.
///
/// * Ports: no inputs, 1 push output.
/// * Handlers: as FromDevice: `count`, `byte_count`, `drops`,
///   `kernel_drops`, `calls`, `empty_calls`, `copies`, `zero_copy`,
///   `syscalls`, `encap`, `method`, `ring`, `burst` (read);
///   `reset_counts` (write).
pub struct PollDevice(Source);

impl ElementClass for PollDevice {
    const CLASS: &'static str = "PollDevice";
    const PORT_COUNT: &'static str = "0/1";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let dev: String = args.read_mp("DEVNAME")?;
        let burst: Option<usize> = args.read_p("BURST")?;
        let mut cfg = RxConfig::new(&dev);
        cfg.promisc = args.read("PROMISC")?.unwrap_or(false);
        if let Some(snaplen) = args.read::<usize>("SNAPLEN")? {
            cfg.snaplen = snaplen;
        }
        Source::configure(
            Self::CLASS,
            args,
            cfg,
            false,
            burst.unwrap_or(32),
            ctx.noutputs(),
        )
        .map(PollDevice)
    }
}

source_element!(PollDevice);
