//! MarkMACHeader: marks where the link-level header is.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

/// `MarkMACHeader([OFFSET, LENGTH])`: marks each packet's MAC header as
/// starting OFFSET bytes into its data (default 0). With a LENGTH (not
/// 0), the network header is marked LENGTH bytes after it (Click's
/// `set_mac_header(p, len)`), keeping a transport header already marked
/// beyond it. A packet too short for the mark is dropped and counted.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct MarkMACHeader {
    offset: usize,
    length: usize,
}

impl ElementClass for MarkMACHeader {
    const CLASS: &'static str = "MarkMACHeader";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(MarkMACHeader {
            offset: args.read_p::<u32>("OFFSET")?.unwrap_or(0) as usize,
            length: args.read_p::<u32>("LENGTH")?.unwrap_or(0) as usize,
        })
    }
}

impl PacketElement for MarkMACHeader {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        packet.set_mac_header(self.offset).ok()?;
        if self.length > 0 {
            let network = self.offset + self.length;
            // The network header's length runs to a transport header
            // marked beyond it; with none (or one past the data), it is empty.
            let len = packet
                .transport_header_offset()
                .and_then(|t| usize::try_from(t).ok())
                .map_or(0, |t| t.saturating_sub(network));
            packet
                .set_network_header(network, len)
                .or_else(|_| packet.set_network_header(network, 0))
                .ok()?;
        }
        Some(0)
    }
}
