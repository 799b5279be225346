//! The flattened configuration: what the engine builds a router from.

use std::sync::Arc;

use crate::Span;

/// One primitive element of a flattened configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatElement {
    /// Full hierarchical name, as Click prints it (`compound/component`, `Print@3`).
    pub name: String,
    /// The primitive class name (`Queue`, `Classifier`, ...).
    pub class: String,
    /// The configuration string, after parameter and `define` substitution,
    /// exactly as it would appear between the parentheses.
    pub config: String,
    /// Where the element was declared (for error messages).
    pub span: Span,
    /// The element came from a bare word (`Idle`, `x -> j`) that names no
    /// declared class. The language cannot tell primitive classes from
    /// typos; if the engine does not know `class` either, Click's message
    /// is `undeclared element 'CLASS'`.
    pub implicit_class: bool,
}

/// A connection `from [from_port] -> [to_port] to`, by element index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlatConnection {
    pub from: usize,
    pub from_port: usize,
    pub to: usize,
    pub to_port: usize,
}

/// Where a connection's two ends are written: each the port list
/// (`[1]` in `c [1] -> d`), or the element's name when no port is written.
/// A connection made through a compound's ports has the ends of the
/// connections inside and outside it that meet there.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSpan {
    pub from: Span,
    pub to: Span,
}

/// [`FlatConfig::connections`]' spans, by connection. Like
/// [`SourceTexts`], they take no part in comparing configurations.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSpans(pub Vec<ConnectionSpan>);

impl ConnectionSpans {
    /// Where connection `i` is written, if known.
    pub fn get(&self, i: usize) -> Option<&ConnectionSpan> {
        self.0.get(i)
    }
}

impl PartialEq for ConnectionSpans {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ConnectionSpans {}

/// A `require(...)` requirement that survives flattening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The requirement as written, e.g. `package "foo"` or `compact_config`.
    pub text: String,
    pub span: Span,
}

/// The source texts a configuration was read from, by file name, so that a
/// later stage (the engine's checks) can point at the text of an error.
/// They take no part in comparing configurations: two configurations with
/// the same elements and connections are equal wherever they came from.
#[derive(Debug, Clone, Default)]
pub struct SourceTexts(pub Vec<(Arc<str>, Arc<str>)>);

impl PartialEq for SourceTexts {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SourceTexts {}

/// A whole flattened configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatConfig {
    /// Elements in Click's order (order of first declaration), every
    /// variable substituted: what the router runs.
    pub elements: Vec<FlatElement>,
    /// Connections, deduplicated, in source order.
    pub connections: Vec<FlatConnection>,
    /// Where each connection is written (may be shorter than
    /// `connections` for connections added by a program).
    pub connection_spans: ConnectionSpans,
    pub requirements: Vec<Requirement>,
    /// The global variables: the file's `define`s (names without `$`,
    /// values as written), overridden and then extended by
    /// [`LoadOptions::defines`](crate::LoadOptions::defines), in Click's
    /// order.
    pub defines: Vec<(String, String)>,
    /// The configuration as Click's `click-flatten` flattens it when there
    /// are global variables: references to them stay symbolic. `None`
    /// without global variables, where it is `elements` and `connections`.
    pub symbolic: Option<Arc<SymbolicFlat>>,
    /// Where the text came from (for diagnostics).
    pub sources: SourceTexts,
}

/// A configuration flattened as `click-flatten` does (Click's
/// `RouterT::flatten` without `--expand-vars`): each global variable
/// stands for itself (`$LIM`), so element configurations keep their
/// references to it while compound parameters are substituted. This can
/// change what compound overloads match, so the elements and connections
/// may differ from [`FlatConfig`]'s, and it can fail where substituting
/// the values does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolicFlat {
    pub elements: Vec<FlatElement>,
    pub connections: Vec<FlatConnection>,
    /// Errors `click-flatten` would report (the configuration itself has
    /// none); see [`FlatConfig::flatten_errors`].
    pub errors: Vec<crate::Diagnostic>,
}

impl FlatConfig {
    /// The errors Click's `click-flatten` would report for this
    /// configuration, which loaded without errors with its variables
    /// substituted (a global variable given as a compound's keyword
    /// argument, say). `router --flatten` reports them.
    pub fn flatten_errors(&self) -> Option<crate::Diagnostics> {
        let s = self.symbolic.as_ref().filter(|s| !s.errors.is_empty())?;
        Some(crate::Diagnostics::with_sources(
            s.errors.clone(),
            &self.sources,
        ))
    }
}
