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
    /// Elements in Click's order (order of first declaration).
    pub elements: Vec<FlatElement>,
    /// Connections, deduplicated, in source order.
    pub connections: Vec<FlatConnection>,
    pub requirements: Vec<Requirement>,
    /// Where the text came from (for diagnostics).
    pub sources: SourceTexts,
}
