//! RoundRobinIPMapper: a mapper element a rewriter's input spec names,
//! handing each new flow to the next of its patterns in turn.

use std::sync::Mutex;

use click_engine::args::Args;
use click_engine::{ConfigureCtx, Element, ElementClass, InitCtx, Port};

use super::flow::FlowId;
use super::named::router_patterns;
use super::pattern::{self, InputSpec, NamedPatterns, SharedPattern};

/// `RoundRobinIPMapper(PATTERN FOUTPUT ROUTPUT, ...)`: a mapper for
/// rewriters: an input spec that is this element's name maps each new
/// flow by the next of its patterns in turn (the first one that has a
/// free choice for the flow), sending the flow to that pattern's FOUTPUT
/// and its replies to its ROUTPUT. Each argument is what follows
/// `pattern` in a rewriter's spec: `SADDR SPORT DADDR DPORT FOUTPUT
/// ROUTPUT`, or a named pattern (`NAME FOUTPUT ROUTPUT`, see
/// [`IPRewriterPatterns`](crate::IPRewriterPatterns)). The turn is the
/// mapper's, shared by every input naming it, in any rewriter. A flow no
/// pattern can map is dropped (the rewriter's `mapping_failures`).
///
/// * Ports: none.
#[derive(Debug)]
pub struct RoundRobinIPMapper {
    specs: Vec<InputSpec>,
}

impl ElementClass for RoundRobinIPMapper {
    const CLASS: &'static str = "RoundRobinIPMapper";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let specs = parse_specs(args)?;
        if specs.len() == 1 {
            tracing::warn!("{}: only one pattern given", ctx.name);
        }
        Ok(RoundRobinIPMapper { specs })
    }
}

impl Element for RoundRobinIPMapper {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let named = router_patterns(ctx)?;
        let mut specs = self.specs.clone();
        for (i, spec) in specs.iter_mut().enumerate() {
            spec.resolve(&named)
                .map_err(|e| format!("pattern {i}: {e}"))?;
        }
        ctx.shared_state(|| MapperCell::new(&specs, &named))?;
        Ok(())
    }
}

/// The mapper's arguments as pattern specs, every bad one reported.
fn parse_specs(args: &mut Args) -> Result<Vec<InputSpec>, String> {
    let items = args.rest();
    if items.is_empty() {
        return Err("no patterns given".into());
    }
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for (i, text) in items.iter().enumerate() {
        match InputSpec::parse(&format!("pattern {text}"), usize::MAX, args) {
            Ok(spec) => specs.push(spec),
            Err(e) => errors.push(format!("pattern {i}: {e}")),
        }
    }
    match errors.len() {
        0 => Ok(specs),
        1 => Err(errors.remove(0)),
        _ => Err(errors.iter().map(|e| format!("\n  {e}")).collect()),
    }
}

/// A mapper's patterns with their outputs, and whose turn it is.
struct Turns {
    choices: Vec<(SharedPattern, Port, Port)>,
    next: usize,
}

/// A RoundRobinIPMapper's state, shared by it and every rewriter naming
/// it: made by whichever initializes first (a rewriter from the mapper's
/// arguments). Locked only to make a flow.
pub(crate) struct MapperCell(Mutex<Turns>);

impl std::fmt::Debug for MapperCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MapperCell")
    }
}

impl MapperCell {
    /// From resolved specs (others, never left after a good
    /// configuration, are skipped).
    fn new(specs: &[InputSpec], named: &NamedPatterns) -> MapperCell {
        let choices = specs
            .iter()
            .filter_map(|spec| {
                let mut spec = spec.clone();
                spec.resolve(named).ok()?;
                match spec {
                    InputSpec::Pattern(p, f, r) => Some((p, f, r)),
                    _ => None,
                }
            })
            .collect();
        MapperCell(Mutex::new(Turns { choices, next: 0 }))
    }

    /// From the mapper's arguments, for a rewriter that initializes
    /// before it.
    fn from_args(args: Option<Args>, named: &NamedPatterns) -> MapperCell {
        let specs = args.and_then(|mut a| parse_specs(&mut a).ok());
        MapperCell::new(&specs.unwrap_or_default(), named)
    }

    /// The largest output its patterns send to.
    fn max_output(&self) -> Option<Port> {
        let turns = self.0.lock().unwrap_or_else(|e| e.into_inner());
        turns.choices.iter().map(|&(_, f, r)| f.max(r)).max()
    }

    /// Maps `flowid` by the next pattern that can, from whose turn it
    /// is; the rewritten flow and its outputs.
    pub fn rewrite(
        &self,
        flowid: FlowId,
        taken: impl Fn(&FlowId) -> bool,
    ) -> Option<(FlowId, [Port; 2])> {
        let mut turns = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = turns.choices.len();
        for _ in 0..n {
            let i = turns.next;
            turns.next = (i + 1) % n;
            let (p, f, r) = &turns.choices[i];
            if let Some(flow) = pattern::lock(p).rewrite(flowid, &taken) {
                return Some((flow, [*f, *r]));
            }
        }
        None
    }
}

/// Gives each spec of a rewriter naming an element its mapper: errors if
/// the element is not a mapper or sends to outputs the rewriter lacks.
pub(crate) fn resolve_mappers(
    specs: &mut [InputSpec],
    noutputs: usize,
    named: &NamedPatterns,
    ctx: &mut InitCtx<'_>,
) -> Result<(), String> {
    for (i, spec) in specs.iter_mut().enumerate() {
        let InputSpec::Mapper(name) = spec else {
            continue;
        };
        match ctx.class_of(name) {
            None => return Err(format!("input spec {i}: unknown specification")),
            Some(RoundRobinIPMapper::CLASS) => {}
            Some(_) => return Err(format!("input spec {i}: element is not an IPMapper")),
        }
        let args = ctx.args_of(name);
        let cell = ctx.shared_state_of(name, || MapperCell::from_args(args, named))?;
        if cell.max_output().is_some_and(|o| o >= noutputs) {
            return Err(format!(
                "input spec {i}: output port out of range in {name}"
            ));
        }
        *spec = InputSpec::RoundRobin(cell);
    }
    Ok(())
}
