//! Idle: a placeholder that never produces packets and drops any it gets.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, NotifierKind, Port, Signal, AGNOSTIC,
};

/// `Idle`: has any number of inputs and outputs, never emits packets, and
/// frees (and counts as drops) every packet pushed to it. Pulls from it
/// return nothing. It provides an *empty* notifier that is never active,
/// so tasks pulling from it sleep instead of polling (Click's Idle does
/// the same).
///
/// * Ports: any number of inputs and outputs, agnostic; no flow between
///   them.
/// * Handlers: none beyond the defaults.
pub struct Idle {
    never: Signal,
}

impl ElementClass for Idle {
    const CLASS: &'static str = "Idle";
    const PORT_COUNT: &'static str = "-/-";
    const PROCESSING: &'static str = AGNOSTIC;
    const FLOW_CODE: &'static str = "x/y";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Idle {
            never: Signal::new(false),
        })
    }
}

impl Element for Idle {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        ctx.count_drops(batch.len());
    }

    fn pull(&mut self, _port: Port, _max: usize, _ctx: &mut Ctx<'_>) -> Option<Batch> {
        None
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty).then(|| self.never.clone())
    }
}
