//! The Click configuration language.
//!
//! This crate turns `.click` text into a [`FlatConfig`]: a list of primitive
//! elements (name, class, configuration string) and the connections between
//! their ports, exactly as Click's own flattener would produce it. It also
//! holds Click's configuration-argument parsing ([`args`]), which elements use
//! to read their configuration strings.
//!
//! The pipeline is: source text → `ast` (a pest grammar, producing a syntax
//! tree with byte positions) → `build` (scopes, class resolution, anonymous
//! names, port pairing: what Click's lexer does while parsing) → `flatten`
//! (compound expansion, parameter and `define` substitution, tunnel removal)
//! → [`FlatConfig`]. Every failure is a [`Diagnostic`] naming
//! `file:line:column`; [`load_str`] and [`load_file`] report all of them.
//! [`xform`] is Click's pattern optimizer (`click-xform`) on a
//! [`FlatConfig`], with patterns from [`load_patterns_file`].
//!
//! This crate depends on no other crate of the workspace.

pub mod args;
mod ast;
mod build;
mod diag;
mod expand;
mod flat;
mod flatten;
mod source;
mod unparse;
mod xform;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diag::{ClickLine, Diagnostic, Diagnostics, Note, Span};
pub use flat::{
    ConnectionSpan, ConnectionSpans, FlatConfig, FlatConnection, FlatElement, Requirement,
    SourceTexts, SymbolicFlat,
};
pub use xform::{load_patterns_bytes, load_patterns_file, xform, Pattern, PatternGraph, Xformed};

/// How to load a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `NAME=VALUE` overrides of `define`d variables, as on Click's
    /// command line (a leading `$` on NAME is allowed).
    pub defines: Vec<(String, String)>,
    /// Directories searched for `require(library FILE)` after the
    /// configuration file's own directory and before `CLICKPATH`.
    pub search_path: Vec<PathBuf>,
}

/// Reads, parses and flattens a configuration file (its bytes as
/// [`load_bytes`] reads them).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<FlatConfig, Diagnostics> {
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(&bytes, &path.to_string_lossy(), opts),
        Err(e) => Err(Diagnostics::new(vec![Diagnostic::without_span(format!(
            "{}: {e}",
            path.display()
        ))])),
    }
}

/// Parses and flattens configuration text. `file_name` names it in
/// diagnostics (Click uses `config` for `-e` text).
pub fn load_str(
    source: &str,
    file_name: &str,
    opts: &LoadOptions,
) -> Result<FlatConfig, Diagnostics> {
    load_map(source::SourceMap::new(file_name, source), opts)
}

/// Parses and flattens a configuration's bytes, which need not be UTF-8:
/// as Click, which reads bytes, this accepts any in comments and strings
/// (a Latin-1 `é` in a comment). Bytes that are not UTF-8 read as the
/// Latin-1 characters of their values, one character each, so positions
/// are those of the file; where one is not allowed (outside comments and
/// strings) the error says which byte it was.
pub fn load_bytes(
    source: &[u8],
    file_name: &str,
    opts: &LoadOptions,
) -> Result<FlatConfig, Diagnostics> {
    load_map(source::SourceMap::from_bytes(file_name, source), opts)
}

fn load_map(map: source::SourceMap, opts: &LoadOptions) -> Result<FlatConfig, Diagnostics> {
    let map = Arc::new(map);
    let stmts = match ast::parse(&map) {
        Ok(stmts) => stmts,
        Err(d) => {
            let mut errors = map.errors.clone();
            errors.push(d);
            return Err(diagnostics(errors, &[map]));
        }
    };
    let built = build::Builder::new(map, opts.search_path.clone()).build(&stmts);
    let mut errors = built.errors;
    let defines = global_defines(&built.scope.vars, &opts.defines);
    // click-flatten's view needs a second expansion; only global variables
    // make it differ.
    let for_symbolic = (!defines.is_empty()).then(|| built.scope.clone());
    let env = expand::Env {
        frames: vec![defines.clone()],
    };
    let flat = flatten::Flattener::new(built.scope).run(&env);
    errors.extend(flat.errors);
    if !errors.is_empty() {
        return Err(diagnostics(errors, &built.sources));
    }
    let symbolic = for_symbolic.map(|scope| {
        // Click's RouterT::remove_compound_elements: `$NAME` for NAME.
        let vars = defines.iter().map(|(n, _)| (n.clone(), format!("${n}")));
        let env = expand::Env {
            frames: vec![vars.collect()],
        };
        let flat = flatten::Flattener::new(scope).run(&env);
        Arc::new(SymbolicFlat {
            elements: flat.elements,
            connections: flat.connections,
            errors: flat.errors,
        })
    });
    let sources = built
        .sources
        .iter()
        .map(|m| (m.name.clone(), m.text.clone()))
        .collect();
    Ok(FlatConfig {
        elements: flat.elements,
        connections: flat.connections,
        connection_spans: ConnectionSpans(flat.spans),
        requirements: built.requirements,
        defines,
        symbolic,
        sources: SourceTexts(sources),
    })
}

/// The file's `define`s, overridden by the command line's, which Click
/// adds at the end when the file does not define them (`LexerT::finish`).
pub(crate) fn global_defines(
    file: &[(String, String)],
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let mut vars = file.to_vec();
    for (name, value) in overrides {
        let name = name.strip_prefix('$').unwrap_or(name);
        match vars.iter_mut().find(|(n, _)| n == name) {
            Some(var) => var.1 = value.clone(),
            None => vars.push((name.to_string(), value.clone())),
        }
    }
    vars
}

pub(crate) fn diagnostics(
    errors: Vec<Diagnostic>,
    sources: &[Arc<source::SourceMap>],
) -> Diagnostics {
    let mut d = Diagnostics::new(errors);
    for map in sources {
        d.add_source(map.name.clone(), map.text.clone());
    }
    d
}
