//! DropBroadcasts: drops link-level broadcasts and multicasts.

use click_engine::args::Args;
use click_engine::packet::PacketType;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::hdr::Counts;

/// `DropBroadcasts`: drops packets that arrived as link-level broadcasts
/// or multicasts (their packet type annotation `BROADCAST` or
/// `MULTICAST`, as FromDevice or HostEtherFilter set it), which an IP
/// router must not forward (RFC 1812 5.3.4). They leave on output 1 if it
/// exists. The first one is reported on standard error (`DropBroadcasts:
/// dropped a packet`); `drops` counts them all. Other packets go to
/// output 0.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `drops` (read).
#[derive(Debug)]
pub struct DropBroadcasts {
    drops: Counts<1>,
}

impl ElementClass for DropBroadcasts {
    const CLASS: &'static str = "DropBroadcasts";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(DropBroadcasts {
            drops: Counts::new(),
        })
    }
}

/// Whether `p` came as a link-level broadcast or multicast.
#[inline(always)]
pub(crate) fn link_broadcast(p: &Packet) -> bool {
    matches!(
        p.anno().packet_type(),
        PacketType::Broadcast | PacketType::Multicast
    )
}

impl PacketElement for DropBroadcasts {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if !link_broadcast(p) {
            return Some(0);
        }
        if self.drops.sum(0) == 0 {
            eprintln!("DropBroadcasts: dropped a packet");
        }
        self.drops.add(0, 1);
        Some(1)
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.drops.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("drops")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "drops").then(|| self.drops.sum(0).to_string())
    }
}
