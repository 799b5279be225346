//! Click's pattern optimizer, `click-xform`: replaces subgraphs of a
//! flattened configuration that match a pattern by the pattern's
//! replacement, until no pattern matches.
//!
//! A pattern file declares compound classes in pairs, `X { ... }` and
//! `X_Replacement { ... }`. A match of `X` is a set of elements of the
//! configuration, one for each element of `X`'s body, with the same
//! classes and with configurations that match argument by argument: an
//! argument of the pattern that is a `$variable` matches any argument (the
//! same one wherever the variable appears); any other must be equal. The
//! connections among the matched elements must be exactly the pattern's,
//! and every connection between a matched element and the rest of the
//! configuration must go through one of the pattern's `input` or `output`
//! ports, each of which must be used. The matched elements are then
//! replaced by `X_Replacement`'s body, named `X@N/NAME` (a replacement
//! element with the name of a pattern element takes the name of the
//! element that element matched), with the variables bound by the match
//! substituted in arguments that are exactly `$variable`.
//!
//! The patterns are tried in the file's order, first match first (the
//! match with the lowest configuration positions, pattern element by
//! pattern element), and after each replacement from the first pattern
//! again. A match made only of elements put there by the same pattern is
//! refused, so a replacement that contains its pattern does not loop.
//!
//! This follows Click's `tools/click-xform` in what it matches, in the
//! order it tries matches, and in where replacement elements go: a
//! replacement reuses the places of the elements it replaced, most
//! recently freed first, so the printed configuration lists elements in
//! Click's order.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::args::{join_args, split_args};
use crate::build::Class;
use crate::flatten::{flatten_compound, COMPOUND_INSTANCE};
use crate::{
    ast, build, expand, source, ConnectionSpans, Diagnostic, Diagnostics, FlatConfig,
    FlatConnection, FlatElement, LoadOptions,
};

/// Suffix naming a pattern's replacement class.
const REPLACEMENT_SUFFIX: &str = "_Replacement";

/// Replacements beyond this many (per element of the configuration, plus
/// a constant) mean the patterns undo each other; Click would loop forever.
const REPLACEMENTS_PER_ELEMENT: usize = 100;

/// A flattened pattern or replacement body: elements 0 and 1 are the
/// `input` and `output` ports, the others the body's elements, with
/// their names inside the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternGraph {
    pub elements: Vec<FlatElement>,
    pub connections: Vec<FlatConnection>,
}

/// One pattern of a pattern file: `NAME { ... }` and `NAME_Replacement
/// { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub name: String,
    pub pattern: PatternGraph,
    pub replacement: PatternGraph,
}

/// Reads a pattern file (its bytes, as [`crate::load_bytes`] reads a
/// configuration): every compound class `X_Replacement` declared at file
/// level with a compound class `X` gives a pattern, in the order the
/// replacements are declared. Anything else in the file is ignored.
/// `opts.search_path` finds `require(library ...)` files; `opts.defines`
/// is not used (`$variables` in patterns stay variables).
pub fn load_patterns_bytes(
    source: &[u8],
    file_name: &str,
    opts: &LoadOptions,
) -> Result<Vec<Pattern>, Diagnostics> {
    let map = Arc::new(source::SourceMap::from_bytes(file_name, source));
    let stmts = match ast::parse(&map) {
        Ok(stmts) => stmts,
        Err(d) => {
            let mut errors = map.errors.clone();
            errors.push(d);
            return Err(crate::diagnostics(errors, &[map]));
        }
    };
    let built = build::Builder::new(map, opts.search_path.clone()).build(&stmts);
    let mut errors = built.errors;
    // The file's own `define`s; command-line definitions are the
    // configuration's, and must not fill in a pattern's `$variables`.
    let env = expand::Env {
        frames: vec![crate::global_defines(&built.scope.vars, &[])],
    };
    let flat = |class: &Class, errors: &mut Vec<Diagnostic>| -> Option<PatternGraph> {
        let Class::Compound(c) = class else {
            return None;
        };
        let flat = flatten_compound(c.clone(), &env);
        errors.extend(flat.errors);
        let prefix = format!("{COMPOUND_INSTANCE}/");
        let mut elements = flat.elements;
        for e in elements.iter_mut().skip(2) {
            if let Some(name) = e.name.strip_prefix(&prefix) {
                e.name = name.to_string();
            }
        }
        Some(PatternGraph {
            elements,
            connections: flat.connections,
        })
    };
    let mut patterns = Vec::new();
    for (name, class) in &built.classes {
        let Some(base) = name
            .strip_suffix(REPLACEMENT_SUFFIX)
            .filter(|b| !b.is_empty())
        else {
            continue;
        };
        // The class `base` as it is at the end of the file.
        let Some((_, pattern)) = built.classes.iter().rev().find(|(n, _)| n == base) else {
            continue;
        };
        if let (Some(p), Some(r)) = (flat(pattern, &mut errors), flat(class, &mut errors)) {
            patterns.push(Pattern {
                name: base.to_string(),
                pattern: p,
                replacement: r,
            });
        }
    }
    if errors.is_empty() {
        Ok(patterns)
    } else {
        Err(crate::diagnostics(errors, &built.sources))
    }
}

/// Reads a pattern file; see [`load_patterns_bytes`].
pub fn load_patterns_file(path: &Path, opts: &LoadOptions) -> Result<Vec<Pattern>, Diagnostics> {
    match std::fs::read(path) {
        Ok(bytes) => load_patterns_bytes(&bytes, &path.to_string_lossy(), opts),
        Err(e) => Err(Diagnostics::new(vec![Diagnostic::without_span(format!(
            "{}: {e}",
            path.display()
        ))])),
    }
}

/// What [`xform`] did.
#[derive(Debug, Clone)]
pub struct Xformed {
    /// The transformed configuration: every variable substituted (its
    /// `defines` are empty), requirements kept.
    pub config: FlatConfig,
    /// How many replacements were made.
    pub replacements: usize,
}

/// Replaces matches of `patterns` in `config` until none matches (Click's
/// `click-xform`). With `reverse`, each replacement is the pattern and
/// each pattern the replacement, tried last pattern first (`-r`).
///
/// Fails if the patterns keep replacing each other's work (Click's tool
/// would never stop).
pub fn xform(config: &FlatConfig, patterns: &[Pattern], reverse: bool) -> Result<Xformed, String> {
    let pairs: Vec<(&str, &PatternGraph, &PatternGraph)> = if reverse {
        patterns
            .iter()
            .rev()
            .map(|p| (p.name.as_str(), &p.replacement, &p.pattern))
            .collect()
    } else {
        patterns
            .iter()
            .map(|p| (p.name.as_str(), &p.pattern, &p.replacement))
            .collect()
    };
    let mut body = Body::new(config);
    let limit = 1000 + REPLACEMENTS_PER_ELEMENT * config.elements.len();
    let mut prefixes = Prefixes::default();
    let mut replacements = 0;
    'again: loop {
        for (i, &(name, pattern, replacement)) in pairs.iter().enumerate() {
            let patid = i + 1;
            if let Some(m) = Matcher::new(pattern, patid, &body).find() {
                if replacements == limit {
                    return Err(format!(
                        "patterns still match after {limit} replacements \
                         (do two patterns undo each other?)"
                    ));
                }
                let prefix = prefixes.unique(name, &body);
                body.replace(pattern, replacement, &m, &prefix, patid);
                replacements += 1;
                continue 'again;
            }
        }
        break;
    }
    let mut config = body.finish(config);
    config.defines.clear();
    config.symbolic = None;
    Ok(Xformed {
        config,
        replacements,
    })
}

/// An element of the configuration being transformed.
#[derive(Debug, Clone)]
struct Node {
    element: FlatElement,
    /// A connection tunnel of a replacement being put in place.
    tunnel: bool,
    live: bool,
    /// The pattern (1-based) whose replacement made it; 0 for the
    /// configuration's own elements.
    flags: usize,
}

/// The configuration being transformed, kept as Click's `RouterT` keeps
/// it: element slots freed by a replacement are reused, most recently
/// freed first, and connections stay in the order they were made.
struct Body {
    nodes: Vec<Node>,
    /// Freed slots; the last is reused first.
    free: Vec<usize>,
    /// Connections in the order they were made; `None` once removed.
    conns: Vec<Option<FlatConnection>>,
    /// The live connections, with their places in `conns`.
    set: HashMap<FlatConnection, usize>,
    /// Per slot, the places in `conns` of the connections made to or
    /// from it (oldest first; some may since have been removed).
    touching: Vec<Vec<usize>>,
    /// Live real elements by class, in slot order.
    by_class: HashMap<String, BTreeSet<usize>>,
    /// How many live elements are inside each compound prefix
    /// (`a` and `a/b` for `a/b/c`).
    prefixes: HashMap<String, usize>,
    /// Live slots.
    live: usize,
    /// Click's adjacency matrix has room for `1 << cap` slots; when a
    /// replacement needs more, Click compacts the router (see
    /// [`Body::after_replace`]).
    cap: u32,
}

/// Click's `AdjacencyMatrix::init`: the matrix holds `1 << cap` slots,
/// the fewest at least `n`.
fn matrix_cap(n: usize) -> u32 {
    n.max(1).next_power_of_two().trailing_zeros()
}

/// A match: the configuration element of each pattern element (none for
/// `input` and `output`), the bound variables, and the connections that
/// cross its border, by pattern port.
struct Match {
    map: Vec<Option<usize>>,
    defs: Vec<(String, String)>,
    /// (outside source, pattern input port).
    into: Vec<((usize, usize), usize)>,
    /// (pattern output port, outside destination).
    out_of: Vec<(usize, (usize, usize))>,
}

/// The compound prefixes a name is inside: `a` and `a/b` for `a/b/c`.
fn prefixes_of(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/')
        .map(move |(i, _)| &name[..i])
        .filter(|p| !p.is_empty())
}

impl Body {
    fn new(config: &FlatConfig) -> Body {
        let nodes = config.elements.iter().map(|e| Node {
            element: e.clone(),
            tunnel: false,
            live: true,
            flags: 0,
        });
        Body::of(nodes.collect(), config.connections.iter().copied())
    }

    /// A body of `nodes` in slot order, joined by `conns`.
    fn of(nodes: Vec<Node>, conns: impl IntoIterator<Item = FlatConnection>) -> Body {
        let mut body = Body {
            nodes: Vec::new(),
            free: Vec::new(),
            conns: Vec::new(),
            set: HashMap::new(),
            touching: Vec::new(),
            by_class: HashMap::new(),
            prefixes: HashMap::new(),
            live: 0,
            cap: matrix_cap(nodes.len()),
        };
        for node in nodes {
            body.add(node);
        }
        for c in conns {
            body.connect(c);
        }
        body
    }

    /// What Click's `AdjacencyMatrix::update` does after a replacement:
    /// when the slots outgrow the matrix, or 500 of them are dead, the
    /// router is compacted (`RouterT::remove_dead_elements`): live
    /// elements close up in slot order and no freed slot is left to
    /// reuse. Where later replacements go depends on it.
    fn after_replace(&mut self) {
        let n = self.nodes.len();
        if n <= 1 << self.cap && n < self.live + 500 {
            return;
        }
        let nodes = std::mem::take(&mut self.nodes);
        let mut index = vec![usize::MAX; n];
        let mut kept = Vec::new();
        for (i, node) in nodes.into_iter().enumerate() {
            if node.live {
                index[i] = kept.len();
                kept.push(node);
            }
        }
        let conns = self.renumbered(&index);
        *self = Body::of(kept, conns);
    }

    /// The connections with their elements renumbered by `index`
    /// (slot → new number), leaving out those touching an element it
    /// drops (`usize::MAX`).
    fn renumbered(&self, index: &[usize]) -> Vec<FlatConnection> {
        self.conns
            .iter()
            .flatten()
            .filter(|c| index[c.from] != usize::MAX && index[c.to] != usize::MAX)
            .map(|c| FlatConnection {
                from: index[c.from],
                from_port: c.from_port,
                to: index[c.to],
                to_port: c.to_port,
            })
            .collect()
    }

    fn connect(&mut self, c: FlatConnection) {
        if self.set.contains_key(&c) {
            return;
        }
        let at = self.conns.len();
        self.conns.push(Some(c));
        self.set.insert(c, at);
        self.touching[c.from].push(at);
        if c.to != c.from {
            self.touching[c.to].push(at);
        }
    }

    /// The live connections of slot `i`, oldest first.
    fn connections_of(&self, i: usize) -> impl DoubleEndedIterator<Item = FlatConnection> + '_ {
        self.touching[i].iter().filter_map(|&at| self.conns[at])
    }

    fn has(&self, c: &FlatConnection) -> bool {
        self.set.contains_key(c)
    }

    fn add(&mut self, node: Node) -> usize {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.nodes.push(node.clone());
                self.touching.push(Vec::new());
                self.nodes.len() - 1
            }
        };
        self.nodes[i] = node;
        self.touching[i].clear();
        self.index(i, true);
        self.live += 1;
        i
    }

    /// Adds live element `i` to (or removes it from) the class and
    /// prefix indexes.
    fn index(&mut self, i: usize, add: bool) {
        let e = &self.nodes[i].element;
        if !self.nodes[i].tunnel {
            let set = self.by_class.entry(e.class.clone()).or_default();
            if add {
                set.insert(i);
            } else {
                set.remove(&i);
            }
        }
        for p in prefixes_of(&e.name) {
            let n = self.prefixes.entry(p.to_string()).or_insert(0);
            if add {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        }
    }

    fn rename(&mut self, i: usize, name: String) {
        self.index(i, false);
        self.nodes[i].element.name = name;
        self.index(i, true);
    }

    /// Removes element `i` and its connections; its slot is the next reused.
    fn free_element(&mut self, i: usize) {
        for at in std::mem::take(&mut self.touching[i]) {
            if let Some(c) = self.conns[at].take() {
                self.set.remove(&c);
            }
        }
        self.index(i, false);
        self.nodes[i].live = false;
        self.live -= 1;
        self.free.push(i);
    }

    /// Puts `replacement` in place of match `m` of `pattern`, as Click's
    /// `Matcher::replace` does: the replacement is expanded as a compound
    /// element named `prefix` whose ports are connected as the match's
    /// were, and then its tunnels are removed.
    fn replace(
        &mut self,
        pattern: &PatternGraph,
        replacement: &PatternGraph,
        m: &Match,
        prefix: &str,
        patid: usize,
    ) {
        let mut old_names = Vec::new();
        for (i, at) in m.map.iter().enumerate() {
            if let Some(at) = *at {
                old_names.push((i, self.nodes[at].element.name.clone()));
                self.free_element(at);
            }
        }
        let tunnel = |name: String, span| Node {
            element: FlatElement {
                name,
                class: String::new(),
                config: String::new(),
                span,
                implicit_class: false,
            },
            tunnel: true,
            live: true,
            flags: patid,
        };
        let span = replacement
            .elements
            .first()
            .map(|e| e.span.clone())
            .unwrap_or_default();
        // The compound element, with its inner ends: `prefix` stands for
        // the outside of the ports, `prefix/input` and `prefix/output`
        // for their inside.
        let outer = self.add(tunnel(prefix.to_string(), span.clone()));
        let input = self.add(tunnel(format!("{prefix}/input"), span.clone()));
        let output = self.add(tunnel(format!("{prefix}/output"), span));
        let mut index = vec![input, output];
        for e in replacement.elements.iter().skip(2) {
            let mut element = e.clone();
            element.name = format!("{prefix}/{}", e.name);
            element.config = substitute(&e.config, &m.defs);
            index.push(self.add(Node {
                element,
                tunnel: false,
                live: true,
                flags: patid,
            }));
        }
        // A replacement element named as a pattern element keeps the name
        // of the element that pattern element matched.
        for (i, old) in old_names {
            let name = format!("{prefix}/{}", pattern.elements[i].name);
            if let Some(&at) = index[2..]
                .iter()
                .find(|&&at| self.nodes[at].element.name == name)
            {
                self.rename(at, old);
            }
        }
        for c in &replacement.connections {
            self.connect(FlatConnection {
                from: index[c.from],
                from_port: c.from_port,
                to: index[c.to],
                to_port: c.to_port,
            });
        }
        for &((from, from_port), port) in &m.into {
            self.connect(FlatConnection {
                from,
                from_port,
                to: outer,
                to_port: port,
            });
        }
        for &(port, (to, to_port)) in &m.out_of {
            self.connect(FlatConnection {
                from: outer,
                from_port: port,
                to,
                to_port,
            });
        }
        self.remove_tunnels([outer, input, output], [(input, outer), (outer, output)]);
        self.after_replace();
    }

    /// Click's `RouterT::remove_tunnels` for one compound: each connection
    /// from a tunnel's inner end to a real element becomes connections
    /// from the real sources of the tunnel's outer end (newest first, as
    /// Click's per-port lists give them); then the tunnels and their
    /// connections go, their slots freed in order.
    fn remove_tunnels(&mut self, tunnels: [usize; 3], partners: [(usize, usize); 2]) {
        // `partners`: (a tunnel end that connections leave from, the end
        // whose incoming connections it stands for).
        let partner = |t: usize| partners.iter().find(|p| p.0 == t).map(|p| p.1);
        type Memo = HashMap<(usize, usize), Vec<(usize, usize)>>;
        fn expand(
            body: &Body,
            port: (usize, usize),
            partner: &dyn Fn(usize) -> Option<usize>,
            memo: &mut Memo,
            depth: usize,
        ) -> Vec<(usize, usize)> {
            if let Some(v) = memo.get(&port) {
                return v.clone();
            }
            let Some(other) = partner(port.0).filter(|_| depth < 8) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for c in body.connections_of(other).rev() {
                if c.to != other || c.to_port != port.1 {
                    continue;
                }
                if body.nodes[c.from].tunnel {
                    out.extend(expand(
                        body,
                        (c.from, c.from_port),
                        partner,
                        memo,
                        depth + 1,
                    ));
                } else {
                    out.push((c.from, c.from_port));
                }
            }
            memo.insert(port, out.clone());
            out
        }
        let mut memo = Memo::new();
        // The connections made so far that leave a tunnel, in order.
        let mut places: Vec<usize> = tunnels
            .iter()
            .flat_map(|&t| self.touching[t].iter().copied())
            .collect();
        places.sort_unstable();
        places.dedup();
        for at in places {
            let Some(c) = self.conns[at] else { continue };
            if !self.nodes[c.from].tunnel || self.nodes[c.to].tunnel {
                continue;
            }
            for (from, from_port) in expand(self, (c.from, c.from_port), &partner, &mut memo, 0) {
                self.connect(FlatConnection {
                    from,
                    from_port,
                    to: c.to,
                    to_port: c.to_port,
                });
            }
        }
        let mut dead = tunnels;
        dead.sort_unstable();
        for t in dead {
            self.free_element(t);
        }
    }

    /// The live elements in slot order, and their connections.
    fn finish(mut self, original: &FlatConfig) -> FlatConfig {
        let mut index = vec![usize::MAX; self.nodes.len()];
        let mut elements = Vec::new();
        for (i, n) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if n.live && !n.tunnel {
                index[i] = elements.len();
                elements.push(n.element);
            }
        }
        let connections = self.renumbered(&index);
        FlatConfig {
            elements,
            connections,
            connection_spans: ConnectionSpans::default(),
            requirements: original.requirements.clone(),
            defines: original.defines.clone(),
            symbolic: original.symbolic.clone(),
            sources: original.sources.clone(),
        }
    }
}

/// Click's `uniqueify_prefix`: `NAME@N`, N counting from 1 per pattern
/// name over the whole run, skipping prefixes some element is inside.
#[derive(Default)]
struct Prefixes(HashMap<String, usize>);

impl Prefixes {
    fn unique(&mut self, base: &str, body: &Body) -> String {
        let count = self.0.entry(base.to_string()).or_insert(1);
        loop {
            let prefix = format!("{base}@{count}");
            *count += 1;
            if body.prefixes.get(&prefix).is_none_or(|&n| n == 0) {
                return prefix;
            }
        }
    }
}

/// Replaces each argument of `config` that is exactly a bound `$variable`
/// by its value (Click's `Matcher::replace_config`); other text is kept as
/// written.
fn substitute(config: &str, defs: &[(String, String)]) -> String {
    let mut args = split_args(config);
    let mut changed = false;
    for arg in &mut args {
        if arg.len() <= 1 || !arg.starts_with('$') {
            continue;
        }
        if let Some((_, value)) = defs.iter().find(|(n, _)| n == arg) {
            *arg = value.clone();
            changed = true;
        }
    }
    if changed {
        join_args(&args)
    } else {
        config.to_string()
    }
}

/// Whether configuration `conf` matches pattern configuration `pat`
/// (Click's `match_config`): the same number of arguments, each equal or
/// matched by a `$variable` of the pattern, bound consistently with
/// `defs`, to which new bindings are added.
fn match_config(pat: &str, conf: &str, defs: &mut Vec<(String, String)>) -> bool {
    let pat = split_args(pat);
    let conf = split_args(conf);
    if pat.len() != conf.len() {
        return false;
    }
    let mut mine: Vec<(String, String)> = Vec::new();
    for (p, c) in pat.iter().zip(&conf) {
        if p == c {
            continue;
        }
        let Some(name) = p.strip_prefix('$').filter(|n| !n.is_empty()) else {
            return false;
        };
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return false;
        }
        let bound = defs.iter().chain(&mine).find(|(n, _)| n == p);
        match bound {
            Some((_, value)) if value != c => return false,
            Some(_) => {}
            None => mine.push((p.clone(), c.clone())),
        }
    }
    defs.extend(mine);
    true
}

/// Finds the first match of one pattern (Click's `Matcher::next_match`).
struct Matcher<'a> {
    pat: &'a PatternGraph,
    patid: usize,
    body: &'a Body,
    /// Per pattern element, the pattern connections between it and
    /// elements before it (both real).
    back_edges: Vec<Vec<FlatConnection>>,
}

impl<'a> Matcher<'a> {
    fn new(pat: &'a PatternGraph, patid: usize, body: &'a Body) -> Matcher<'a> {
        let mut back_edges = vec![Vec::new(); pat.elements.len()];
        for &c in &pat.connections {
            if c.from >= 2 && c.to >= 2 {
                back_edges[c.from.max(c.to)].push(c);
            }
        }
        Matcher {
            pat,
            patid,
            body,
            back_edges,
        }
    }

    fn find(&self) -> Option<Match> {
        let real = self.pat.elements.get(2..).unwrap_or_default();
        if real.is_empty() {
            return None; // nothing to match
        }
        // A class the configuration lacks: no match, without a search.
        let present = |e: &FlatElement| {
            self.body
                .by_class
                .get(&e.class)
                .is_some_and(|s| !s.is_empty())
        };
        if !real.iter().all(present) {
            return None;
        }
        let mut map = vec![None; self.pat.elements.len()];
        let mut used = HashSet::new();
        self.search(2, &mut map, &mut used, &[])
    }

    /// The configuration elements pattern element `k` may match, in slot
    /// order: all those of its class, or, when the pattern connects it
    /// to an element already matched, only those that connection reaches
    /// (Click's search takes the same shortcut for output 0).
    fn candidates(&self, k: usize, map: &[Option<usize>]) -> Vec<usize> {
        let class = &self.pat.elements[k].class;
        let Some(all) = self.body.by_class.get(class) else {
            return Vec::new();
        };
        let Some(c) = self.back_edges[k].iter().find(|c| c.from != c.to) else {
            return all.iter().copied().collect();
        };
        let (other, forward) = if c.to == k {
            (map[c.from], true)
        } else {
            (map[c.to], false)
        };
        let Some(other) = other else {
            return Vec::new();
        };
        let mut out: Vec<usize> = self
            .body
            .connections_of(other)
            .filter_map(|b| match forward {
                true if b.from == other && b.from_port == c.from_port && b.to_port == c.to_port => {
                    Some(b.to)
                }
                false if b.to == other && b.to_port == c.to_port && b.from_port == c.from_port => {
                    Some(b.from)
                }
                _ => None,
            })
            .filter(|i| all.contains(i))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Assigns pattern element `k` and the ones after it, trying
    /// configuration elements in slot order.
    fn search(
        &self,
        k: usize,
        map: &mut Vec<Option<usize>>,
        used: &mut HashSet<usize>,
        defs: &[(String, String)],
    ) -> Option<Match> {
        if k == self.pat.elements.len() {
            return self.check(map, defs);
        }
        let pe = &self.pat.elements[k];
        for cand in self.candidates(k, map) {
            if used.contains(&cand) {
                continue;
            }
            map[k] = Some(cand);
            let connected = self.back_edges[k].iter().all(|c| {
                let (Some(from), Some(to)) = (map[c.from], map[c.to]) else {
                    return false;
                };
                self.body.has(&FlatConnection {
                    from,
                    from_port: c.from_port,
                    to,
                    to_port: c.to_port,
                })
            });
            let mut defs = defs.to_vec();
            if connected
                && match_config(&pe.config, &self.body.nodes[cand].element.config, &mut defs)
            {
                used.insert(cand);
                if let Some(m) = self.search(k + 1, map, used, &defs) {
                    return Some(m);
                }
                used.remove(&cand);
            }
            map[k] = None;
        }
        None
    }

    /// Click's `Matcher::check_match` on a complete assignment: not all
    /// made by this pattern, no connection between matched elements that
    /// the pattern lacks, every connection with the outside through a
    /// pattern port, and every pattern port used.
    fn check(&self, map: &[Option<usize>], defs: &[(String, String)]) -> Option<Match> {
        let matched = map.iter().flatten();
        if matched
            .clone()
            .all(|&i| self.body.nodes[i].flags == self.patid)
        {
            return None;
        }
        let back: HashMap<usize, usize> = map
            .iter()
            .enumerate()
            .filter_map(|(p, b)| b.map(|b| (b, p)))
            .collect();
        // The connections of the matched elements, in the order they
        // were made (Click goes through all of them in that order).
        let mut places: Vec<usize> = matched
            .flat_map(|&i| self.body.touching[i].iter().copied())
            .collect();
        places.sort_unstable();
        places.dedup();
        let pat_has = |c: FlatConnection| self.pat.connections.contains(&c);
        let mut into = Vec::new();
        let mut out_of = Vec::new();
        for c in places.iter().filter_map(|&at| self.body.conns[at]) {
            match (back.get(&c.from), back.get(&c.to)) {
                (Some(&pf), Some(&pt)) => {
                    let pc = FlatConnection {
                        from: pf,
                        from_port: c.from_port,
                        to: pt,
                        to_port: c.to_port,
                    };
                    if !pat_has(pc) {
                        return None;
                    }
                }
                (None, Some(&pt)) => {
                    let port = self.boundary_port(
                        Side::Into,
                        map,
                        (c.from, c.from_port),
                        (pt, c.to_port),
                    )?;
                    into.push(((c.from, c.from_port), port));
                }
                (Some(&pf), None) => {
                    let port =
                        self.boundary_port(Side::OutOf, map, (c.to, c.to_port), (pf, c.from_port))?;
                    out_of.push((port, (c.to, c.to_port)));
                }
                (None, None) => {}
            }
        }
        for c in &self.pat.connections {
            if c.from == 0 && !into.iter().any(|&(_, p)| p == c.from_port) {
                return None;
            }
            if c.to == 1 && !out_of.iter().any(|&(p, _)| p == c.to_port) {
                return None;
            }
        }
        Some(Match {
            map: map.to_vec(),
            defs: defs.to_vec(),
            into,
            out_of,
        })
    }

    /// The lowest pattern port on `side` that connects to `inside` (a
    /// pattern port) and whose every pattern connection the outside port
    /// `outside` has too (Click's `check_into` and `check_out_of`).
    fn boundary_port(
        &self,
        side: Side,
        map: &[Option<usize>],
        outside: (usize, usize),
        inside: (usize, usize),
    ) -> Option<usize> {
        let mut best: Option<usize> = None;
        for c in &self.pat.connections {
            let ((boundary, port), inner) = side.ends(c);
            if boundary != side.element() || inner != inside || best.is_some_and(|b| port >= b) {
                continue;
            }
            let covered = self.pat.connections.iter().all(|d| {
                let (end, (el, el_port)) = side.ends(d);
                end != (side.element(), port)
                    || map[el].is_some_and(|e| self.body.has(&side.joining(outside, (e, el_port))))
            });
            if covered {
                best = Some(port);
            }
        }
        best
    }
}

/// A pattern's boundary: its `input` pseudo-element (0), which
/// connections leave, or its `output` (1), which they reach.
#[derive(Clone, Copy)]
enum Side {
    Into,
    OutOf,
}

impl Side {
    /// The pattern element standing for this boundary.
    fn element(self) -> usize {
        match self {
            Side::Into => 0,
            Side::OutOf => 1,
        }
    }

    /// A connection's (boundary end, inner end) seen from this side.
    fn ends(self, c: &FlatConnection) -> ((usize, usize), (usize, usize)) {
        let (from, to) = ((c.from, c.from_port), (c.to, c.to_port));
        match self {
            Side::Into => (from, to),
            Side::OutOf => (to, from),
        }
    }

    /// The connection between an outside port and an inner one.
    fn joining(self, outside: (usize, usize), inner: (usize, usize)) -> FlatConnection {
        let (from, to) = match self {
            Side::Into => (outside, inner),
            Side::OutOf => (inner, outside),
        };
        FlatConnection {
            from: from.0,
            from_port: from.1,
            to: to.0,
            to_port: to.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load_str, LoadOptions};

    fn run(config: &str, patterns: &str) -> String {
        let opts = LoadOptions::default();
        let config = load_str(config, "config", &opts).unwrap();
        let patterns = load_patterns_bytes(patterns.as_bytes(), "patterns", &opts).unwrap();
        xform(&config, &patterns, false)
            .unwrap()
            .config
            .to_click_expanded()
    }

    const COUNTERS: &str = "
        elementclass Two { input -> Counter -> Counter -> output }
        elementclass Two_Replacement { input -> Counter(2) -> output }";

    #[test]
    fn a_chain_is_replaced() {
        let out = run(
            "s :: Idle -> a :: Counter -> b :: Counter -> d :: Discard",
            COUNTERS,
        );
        // The replacement's `Counter@1` has the name of the pattern's first
        // Counter, so it takes the name of what that matched, `a`; it is
        // put in a new slot (the freed ones hold the compound's tunnels),
        // so it comes last, as in Click.
        assert_eq!(
            out,
            "s :: Idle;\nd :: Discard;\na :: Counter(2);\n\ns -> a\n    -> d;\n"
        );
    }

    #[test]
    fn an_element_connected_outside_the_ports_is_no_match() {
        // a also feeds e: that connection leaves the match through no
        // pattern port.
        let config = "s :: Idle -> a :: Counter -> b :: Counter -> d :: Discard; a -> e :: Discard";
        let out = run(config, COUNTERS);
        assert!(out.contains("a :: Counter;\nb :: Counter;"), "{out}");
        assert!(!out.contains("Two@"), "{out}");
    }

    #[test]
    fn variables_bind_and_are_substituted() {
        let patterns = "
            elementclass P { input -> Paint($color) -> Strip($n) -> output }
            elementclass P_Replacement { input -> PaintStrip($n, $color) -> output }";
        let out = run("Idle -> Paint(3) -> Strip(14) -> Discard", patterns);
        assert!(
            out.contains("P@1/PaintStrip@1 :: PaintStrip(14, 3);"),
            "{out}"
        );
        // The same variable must match the same text each time.
        let patterns = "
            elementclass P { input -> Paint($x) -> Strip($x) -> output }
            elementclass P_Replacement { input -> PaintStrip($x) -> output }";
        let out = run("Idle -> Paint(3) -> Strip(14) -> Discard", patterns);
        assert!(!out.contains("P@1"), "{out}");
        let out = run("Idle -> Paint(14) -> Strip(14) -> Discard", patterns);
        assert!(out.contains(":: PaintStrip(14);"), "{out}");
    }

    #[test]
    fn replacement_repeats_until_nothing_matches() {
        // Four counters: two replacements, each making a Counter(2); the
        // result is not matched again (Counter(2) is not Counter).
        let out = run(
            "Idle -> Counter -> Counter -> Counter -> Counter -> Discard",
            COUNTERS,
        );
        assert_eq!(out.matches(":: Counter(2);").count(), 2, "{out}");
        assert!(!out.contains(":: Counter;"), "{out}");
        // A replacement containing its pattern is not matched again by it.
        let grow = "
            elementclass G { input -> Counter -> output }
            elementclass G_Replacement { input -> Counter -> Counter -> output }";
        let out = run("Idle -> Counter -> Discard", grow);
        assert_eq!(out.matches(":: Counter;").count(), 2, "{out}");
    }

    #[test]
    fn names_of_matched_elements_are_kept_and_ports_follow() {
        let patterns = "
            elementclass Q { input -> q :: Queue($n) -> output; q[1] -> [1]output }
            elementclass Q_Replacement { input -> q :: Queue($n) -> Counter -> output; q[1] -> [1] output }";
        // q has a second output in the pattern: a match needs it used.
        let out = run("Idle -> x :: Queue(5) -> Discard", patterns);
        assert!(!out.contains("Q@1"), "{out}");
        let out = run(
            "Idle -> x :: Queue(5) -> Discard; x[1] -> y :: Discard",
            patterns,
        );
        assert!(out.contains("x :: Queue(5);"), "{out}");
        assert!(out.contains("Q@1/Counter@2 :: Counter;"), "{out}");
        assert!(out.contains("x [1] -> y;"), "{out}");
    }

    #[test]
    fn patterns_pair_by_name_and_reverse_swaps() {
        let opts = LoadOptions::default();
        let p = load_patterns_bytes(COUNTERS.as_bytes(), "p", &opts).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "Two");
        assert_eq!(p[0].pattern.elements.len(), 4);
        let config = load_str("Idle -> Counter(2) -> Discard", "c", &opts).unwrap();
        let out = xform(&config, &p, true).unwrap();
        assert_eq!(out.replacements, 1);
        assert_eq!(
            out.config
                .elements
                .iter()
                .filter(|e| e.class == "Counter")
                .count(),
            2
        );
    }

    #[test]
    fn command_line_definitions_do_not_fill_pattern_variables() {
        let opts = LoadOptions {
            defines: vec![("color".into(), "7".into())],
            ..LoadOptions::default()
        };
        let patterns = "
            elementclass P { input -> Paint($color) -> output }
            elementclass P_Replacement { input -> SetPaint($color) -> output }";
        let p = load_patterns_bytes(patterns.as_bytes(), "p", &opts).unwrap();
        assert_eq!(p[0].pattern.elements[2].config, "$color");
        let config = load_str("Idle -> Paint(3) -> Discard", "c", &opts).unwrap();
        let out = xform(&config, &p, false)
            .unwrap()
            .config
            .to_click_expanded();
        assert!(out.contains(":: SetPaint(3);"), "{out}");
    }

    #[test]
    fn patterns_that_undo_each_other_are_an_error() {
        let patterns = "
            elementclass A { input -> Counter -> output }
            elementclass A_Replacement { input -> Null -> output }
            elementclass B { input -> Null -> output }
            elementclass B_Replacement { input -> Counter -> output }";
        let opts = LoadOptions::default();
        let p = load_patterns_bytes(patterns.as_bytes(), "p", &opts).unwrap();
        let config = load_str("Idle -> Counter -> Discard", "c", &opts).unwrap();
        assert!(xform(&config, &p, false).is_err());
    }
}
