//! IPRewriterPatterns: patterns with names, for any rewriter's input
//! specs (`pattern NAME FOUTPUT ROUTPUT`), shared as Click shares them.

use std::sync::{Arc, Mutex};

use click_engine::args::Args;
use click_engine::{ConfigureCtx, Element, ElementClass, InitCtx};

use super::pattern::{parse_named, NamedPatterns, Pattern, SharedPattern};

/// `IPRewriterPatterns(NAME PATTERN, ...)`: names rewrite patterns, each
/// argument a name and a pattern's words (`NAME SADDR SPORT DADDR
/// DPORT`, or an address pattern `NAME SADDR DADDR`), for the input specs
/// of any rewriter in the router: `pattern NAME FOUTPUT ROUTPUT`, or
/// `NAME FOUTPUT ROUTPUT`. Every input naming a pattern uses the same
/// pattern, so a sequential (`#`) range goes on from the last choice any
/// of them made, as in Click (each rewriter still checks only its own
/// flows for a free choice). Names must be distinct
/// across all IPRewriterPatterns elements. Names are the router's, not
/// scoped by compound element (Click scopes them).
///
/// * Ports: none.
#[derive(Debug)]
pub struct IPRewriterPatterns {
    patterns: Vec<(String, Pattern)>,
}

impl ElementClass for IPRewriterPatterns {
    const CLASS: &'static str = "IPRewriterPatterns";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(IPRewriterPatterns {
            patterns: parse_named(args)?,
        })
    }
}

impl Element for IPRewriterPatterns {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let patterns = self.patterns.clone();
        ctx.shared_state(|| PatternsCell::new(patterns))?;
        Ok(())
    }
}

/// An IPRewriterPatterns element's patterns, shared: made by that element
/// or by the first rewriter that needs them (from its arguments), as each
/// may initialize first.
pub(crate) struct PatternsCell(Vec<(String, SharedPattern)>);

impl PatternsCell {
    fn new(patterns: Vec<(String, Pattern)>) -> PatternsCell {
        let shared = patterns.into_iter();
        PatternsCell(shared.map(|(n, p)| (n, Arc::new(Mutex::new(p)))).collect())
    }

    /// From the element's arguments; bad ones are left out (the element
    /// itself reports them, and the router does not start).
    fn parse(args: Option<Args>) -> PatternsCell {
        let patterns = args.and_then(|mut a| parse_named(&mut a).ok());
        PatternsCell::new(patterns.unwrap_or_default())
    }
}

/// Every named pattern of the router, by name.
pub(crate) fn router_patterns(ctx: &mut InitCtx<'_>) -> Result<NamedPatterns, String> {
    let mut all = NamedPatterns::new();
    for element in ctx.elements_of_class(IPRewriterPatterns::CLASS) {
        let args = ctx.args_of(&element);
        let cell = ctx.shared_state_of(&element, move || PatternsCell::parse(args))?;
        for (name, pattern) in &cell.0 {
            if all.insert(name.clone(), pattern.clone()).is_some() {
                return Err(format!("pattern '{name}' already defined"));
            }
        }
    }
    Ok(all)
}
