//! MarkIPHeader: sets the IP header annotation.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::common::mark_network_header;

/// `MarkIPHeader([OFFSET])`: marks each packet's IP header as starting
/// OFFSET bytes in (default 0), its length taken from the header's own
/// length field, without checking anything (CheckIPHeader checks).
///
/// Unlike Click, which would point past the data, a packet too short for
/// the offset or the header length gets a header clamped to its data, so
/// tests on the missing bytes fail as on any short packet.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `offset` (read).
#[derive(Debug)]
pub struct MarkIPHeader {
    offset: usize,
}

impl ElementClass for MarkIPHeader {
    const CLASS: &'static str = "MarkIPHeader";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(MarkIPHeader {
            offset: args.read_p("OFFSET")?.unwrap_or(0),
        })
    }
}

impl PacketElement for MarkIPHeader {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let hl = p
            .data()
            .get(self.offset)
            .map_or(0, |&b| usize::from(b & 0x0f) * 4);
        mark_network_header(p, self.offset, hl);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("offset")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "offset").then(|| self.offset.to_string())
    }
}
