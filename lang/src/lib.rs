//! The Click configuration language.
//!
//! This crate turns `.click` text into a [`FlatConfig`]: a list of primitive
//! elements (name, class, configuration string) and the connections between
//! their ports, exactly as Click's own flattener would produce it. It also
//! holds Click's configuration-argument parsing ([`args`]), which elements use
//! to read their configuration strings.
//!
//! The pipeline is: source text → [`parse`] (a pest grammar, producing an AST
//! with source positions) → [`flatten`] (compound expansion, parameter
//! substitution, `define`s, `require(library ...)`) → [`FlatConfig`].
//! Every failure is a [`Diagnostic`] naming `file:line:column`.
//!
//! This crate depends on no other crate of the workspace.

pub mod args;
mod diag;
mod flat;

pub use diag::{Diagnostic, Span};
pub use flat::{FlatConfig, FlatConnection, FlatElement, Requirement};
