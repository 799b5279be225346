//! Null: passes packets through unchanged.

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port};

/// `Null`: passes every packet from its input to its output unchanged.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug, Default)]
pub struct Null;

impl ElementClass for Null {
    const CLASS: &'static str = "Null";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Null)
    }
}

impl PacketElement for Null {
    #[inline]
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        Some(0)
    }
}

/// `PushNull`: Null whose ports are push.
///
/// * Ports: 1 push input, 1 push output.
/// * Handlers: none beyond the defaults.
#[derive(Debug, Default)]
pub struct PushNull;

impl ElementClass for PushNull {
    const CLASS: &'static str = "PushNull";
    const THREADS: Threads = Threads::PerThread;
    const PROCESSING: &'static str = click_engine::PUSH;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(PushNull)
    }
}

impl PacketElement for PushNull {
    #[inline]
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        Some(0)
    }
}

/// `PullNull`: Null whose ports are pull.
///
/// * Ports: 1 pull input, 1 pull output.
/// * Handlers: none beyond the defaults.
#[derive(Debug, Default)]
pub struct PullNull;

impl ElementClass for PullNull {
    const CLASS: &'static str = "PullNull";
    const THREADS: Threads = Threads::PerThread;
    const PROCESSING: &'static str = click_engine::PULL;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(PullNull)
    }
}

impl PacketElement for PullNull {
    #[inline]
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        Some(0)
    }
}
