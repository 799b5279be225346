//! StripToNetworkHeader: makes the network header the start of the data.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

use super::unstripipheader::push_back;

/// `StripToNetworkHeader()`: removes everything before the network header
/// annotation; if the annotation points before the data (into the
/// headroom), moves the data start back to it, restoring those bytes.
/// A packet without the annotation passes unchanged (Click requires one).
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct StripToNetworkHeader;

impl ElementClass for StripToNetworkHeader {
    const CLASS: &'static str = "StripToNetworkHeader";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(StripToNetworkHeader)
    }
}

impl PacketElement for StripToNetworkHeader {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        match p.network_header_offset() {
            Some(off) if off >= 0 => {
                let _ = p.pull((off as usize).min(p.len()));
                Some(0)
            }
            Some(off) => push_back(p, off.unsigned_abs()).then_some(0),
            None => Some(0),
        }
    }
}
