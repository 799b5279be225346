//! Null: passes packets through unchanged.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port};

/// `Null`: passes every packet from its input to its output unchanged.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug, Default)]
pub struct Null;

impl ElementClass for Null {
    const CLASS: &'static str = "Null";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Null)
    }
}

impl PacketElement for Null {
    #[inline]
    fn process(&mut self, _packet: &mut Packet) -> Option<Port> {
        Some(0)
    }
}
