//! EtherMirror: swaps Ethernet source and destination.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

/// `EtherMirror()`: swaps the source and destination Ethernet addresses
/// of each packet (its first 12 bytes), making it unique first if clones
/// share it. A packet shorter than 12 bytes passes unchanged; one that
/// cannot be made unique (pool exhausted) is dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct EtherMirror;

impl ElementClass for EtherMirror {
    const CLASS: &'static str = "EtherMirror";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(EtherMirror)
    }
}

impl PacketElement for EtherMirror {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if p.len() < 12 {
            return Some(0);
        }
        let data = p.data_mut().ok()?;
        let (dst, rest) = data.split_at_mut(6);
        dst.swap_with_slice(&mut rest[..6]);
        Some(0)
    }
}
