//! StripIPHeader: takes the outermost IP header off.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

/// `StripIPHeader()`: removes everything up to the transport header (the
/// end of the IP header the annotation marks). The annotations are kept,
/// so the IP header annotation points into the headroom, where
/// UnstripIPHeader finds it. A packet without the annotation, or whose
/// transport header is not in its data, passes unchanged.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct StripIPHeader;

impl ElementClass for StripIPHeader {
    const CLASS: &'static str = "StripIPHeader";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(StripIPHeader)
    }
}

impl PacketElement for StripIPHeader {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if let Some(off) = p.transport_header_offset() {
            if off > 0 && off as usize <= p.len() {
                let _ = p.pull(off as usize);
            }
        }
        Some(0)
    }
}
