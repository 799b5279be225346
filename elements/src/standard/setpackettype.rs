//! SetPacketType: sets the packet type annotation.

use click_engine::args::Args;
use click_engine::packet::PacketType;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port};

/// `SetPacketType(TYPE)`: sets each packet's packet type annotation to
/// TYPE, one of `HOST`, `BROADCAST`, `MULTICAST`, `OTHERHOST`, `OUTGOING`
/// or `LOOPBACK` (any case): what the link layer said about the packet
/// (was it sent to this host, or broadcast?).
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct SetPacketType {
    ptype: PacketType,
}

impl ElementClass for SetPacketType {
    const CLASS: &'static str = "SetPacketType";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let word: String = args.read_mp("TYPE")?;
        let ptype = PacketType::from_name(&word.to_ascii_uppercase())
            .filter(|t| *t != PacketType::FastRoute)
            .ok_or_else(|| format!("unrecognized packet type '{word}'"))?;
        Ok(SetPacketType { ptype })
    }
}

impl PacketElement for SetPacketType {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        packet.anno_mut().set_packet_type(self.ptype);
        Some(0)
    }
}
