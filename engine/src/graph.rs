//! The checked router graph: a flattened configuration whose classes are
//! known, whose port counts fit their classes, and whose push and pull
//! ports are resolved, with Click's rules and error messages.
//!
//! The checks run in Click's order: classes; port ranges (`'q :: Queue' has
//! no output 1`); push/pull resolution (agnostic ports take the processing
//! of what they are connected to, through their flow codes; conflicts are
//! `'a :: X' push output 0 connected to 'b :: Y' pull input 0` or `agnostic
//! 'c :: Counter' in mixed context`); and completeness (a push output or
//! pull input used twice, ports left unused). Every error is reported, not
//! only the first.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use click_lang::{ConnectionSpan, Diagnostic, FlatConfig, FlatConnection, Span};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::ports::{PortCount, Processing, ProcessingCode};
use crate::registry::{ClassSpec, Registry};

/// One element of the checked graph.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub class: String,
    pub config: String,
    pub span: Span,
    /// `None` for an unknown class (only in a graph that failed its checks).
    pub spec: Option<ClassSpec>,
    /// Resolved processing of each input port.
    pub inputs: Vec<Processing>,
    /// Resolved processing of each output port.
    pub outputs: Vec<Processing>,
}

impl Node {
    /// Click's `name :: Class`, used in messages.
    pub fn declaration(&self) -> String {
        format!("{} :: {}", self.name, self.class)
    }

    pub fn flows(&self, input: usize, output: usize) -> bool {
        self.spec
            .as_ref()
            .is_none_or(|s| s.flow.flows(input, output))
    }
}

/// The checked graph. Node weights of `edges` are element indexes; edge
/// weights are `(from_port, to_port)`.
#[derive(Debug, Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub connections: Vec<FlatConnection>,
    pub edges: DiGraph<usize, (usize, usize)>,
}

impl Graph {
    /// Builds and checks the graph of `flat` against `registry`.
    pub fn build(flat: &FlatConfig, registry: &Registry) -> Result<Graph, Vec<Diagnostic>> {
        let mut errors = unknown_classes(flat, registry);
        let mut nodes: Vec<Node> = flat
            .elements
            .iter()
            .map(|e| Node {
                name: e.name.clone(),
                class: e.class.clone(),
                config: e.config.clone(),
                span: e.span.clone(),
                spec: registry.get(&e.class).cloned(),
                inputs: Vec::new(),
                outputs: Vec::new(),
            })
            .collect();

        let spans = |i: usize| flat.connection_spans.get(i).cloned().unwrap_or_default();
        let (connections, spans) =
            check_port_ranges(&mut nodes, &flat.connections, spans, &mut errors);
        resolve_processing(&mut nodes, &connections, &spans, &mut errors);
        if errors.is_empty() {
            check_completeness(&nodes, &connections, &spans, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut edges = DiGraph::with_capacity(nodes.len(), connections.len());
        let idx: Vec<NodeIndex> = (0..nodes.len()).map(|i| edges.add_node(i)).collect();
        for c in &connections {
            edges.add_edge(idx[c.from], idx[c.to], (c.from_port, c.to_port));
        }
        Ok(Graph {
            nodes,
            connections,
            edges,
        })
    }

    /// Where output `port` of element `e` leads: `(element, input port)`.
    pub fn downstream(&self, e: usize, port: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.edges
            .edges_directed(NodeIndex::new(e), Direction::Outgoing)
            .filter(move |edge| edge.weight().0 == port)
            .map(|edge| (edge.target().index(), edge.weight().1))
    }

    /// Where input `port` of element `e` comes from: `(element, output port)`.
    pub fn upstream(&self, e: usize, port: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.edges
            .edges_directed(NodeIndex::new(e), Direction::Incoming)
            .filter(move |edge| edge.weight().1 == port)
            .map(|edge| (edge.source().index(), edge.weight().0))
    }

    /// Finds an element by name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }
}

/// An error for each element of `flat` whose class `registry` does not
/// know: the first check, which Click's parser makes (its other checks
/// come when the router initializes).
///
/// Each error suggests the nearest known class names, and for a bare word
/// (`i -> j`, which may be a misspelt element) the nearest element names.
pub fn unknown_classes(flat: &FlatConfig, registry: &Registry) -> Vec<Diagnostic> {
    let unknown = flat
        .elements
        .iter()
        .filter(|e| registry.get(&e.class).is_none());
    let classes = registry.class_names();
    let mut suggested: HashMap<(&str, bool), Option<String>> = HashMap::new();
    unknown
        .map(|e| {
            // A bare word in a connection (`i -> j`) declares an element of
            // class `j`: most often a typo for an element name.
            let message = if e.implicit_class {
                format!(
                    "unknown element class '{}' (or an undeclared element name)",
                    e.class
                )
            } else {
                format!("unknown element class '{}'", e.class)
            };
            let d = diag(&e.span, message);
            // Suggestions cost a look at every name: for a few classes only.
            let few = suggested.len() < 64;
            let help = suggested
                .entry((e.class.as_str(), e.implicit_class))
                .or_insert_with(|| {
                    few.then(|| suggestion(&e.class, e.implicit_class, &classes, flat))
                        .flatten()
                });
            match help {
                Some(help) => d.with_help(help.clone()),
                None => d,
            }
        })
        .collect()
}

/// `did you mean 'Classifier'?` for `Clasifier`: the known class names
/// nearest to `class` by edit distance (ignoring case), if near enough;
/// for a bare word, also the configuration's element names.
fn suggestion(class: &str, bare: bool, classes: &[&str], flat: &FlatConfig) -> Option<String> {
    let quote = |names: &[&str]| {
        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        quoted.join(" or ")
    };
    let near_classes = nearest(class, classes.iter().copied());
    let near_elements = if bare {
        // Elements made from bare words are not names anyone wrote.
        let named = flat.elements.iter().filter(|e| !e.name.contains('@'));
        nearest(class, named.map(|e| e.name.as_str()))
    } else {
        Vec::new()
    };
    match (near_classes.is_empty(), near_elements.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("did you mean {}?", quote(&near_classes))),
        (true, false) => Some(format!(
            "did you mean the element {}?",
            quote(&near_elements)
        )),
        (false, false) => Some(format!(
            "did you mean {} or the element {}?",
            quote(&near_classes),
            quote(&near_elements)
        )),
    }
}

/// The names nearest to `word` (at most three), if near enough: within a
/// third of its length, at most 3 edits.
fn nearest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let length = word.chars().count();
    let limit = (length / 3).clamp(1, 3);
    let mut best: Vec<&str> = Vec::new();
    let mut best_distance = limit + 1;
    for name in names {
        // Too long or short to be near: no need to look closer.
        if name.chars().count().abs_diff(length) > limit {
            continue;
        }
        let d = edit_distance(word, name);
        if d < best_distance {
            (best, best_distance) = (vec![name], d);
        } else if d == best_distance && d <= limit && !best.contains(&name) {
            best.push(name);
        }
    }
    best.truncate(3);
    best
}

/// Levenshtein distance between `a` and `b`, ignoring case.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    if a.len().abs_diff(b.len()) > 3 {
        return a.len().abs_diff(b.len());
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

fn diag(span: &Span, message: String) -> Diagnostic {
    Diagnostic::new(span.clone(), message)
}

fn port_error(node: &Node, output: bool, port: usize, what: &str) -> Diagnostic {
    let side = if output { "output" } else { "input" };
    diag(
        &node.span,
        format!("'{}' {side} {port} {what}", node.declaration()),
    )
}

/// Resolves each element's number of ports (Click's `notify_nports`) and
/// drops the connections that use ports beyond them, reporting each. The
/// connections kept come back with where each is written.
fn check_port_ranges(
    nodes: &mut [Node],
    connections: &[FlatConnection],
    spans: impl Fn(usize) -> ConnectionSpan,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<FlatConnection>, Vec<ConnectionSpan>) {
    let mut used = vec![(0usize, 0usize); nodes.len()];
    for c in connections {
        used[c.from].1 = used[c.from].1.max(c.from_port + 1);
        used[c.to].0 = used[c.to].0.max(c.to_port + 1);
    }
    let any = PortCount::parse("-/-").expect("valid");
    for (node, &(nin, nout)) in nodes.iter_mut().zip(&used) {
        let count = node.spec.as_ref().map_or(any, |s| s.port_count);
        let (nin, nout) = count.resolve(nin, nout);
        node.inputs = vec![Processing::Agnostic; nin];
        node.outputs = vec![Processing::Agnostic; nout];
    }
    let mut kept = Vec::with_capacity(connections.len());
    let mut kept_spans = Vec::with_capacity(connections.len());
    let mut seen = HashSet::with_capacity(connections.len());
    for (i, c) in connections.iter().enumerate() {
        let at = spans(i);
        let mut ok = true;
        if c.from_port >= nodes[c.from].outputs.len() {
            errors.push(has_no(&nodes[c.from], true, c.from_port, &at.from));
            ok = false;
        }
        if c.to_port >= nodes[c.to].inputs.len() {
            errors.push(has_no(&nodes[c.to], false, c.to_port, &at.to));
            ok = false;
        }
        if ok && seen.insert(*c) {
            kept.push(*c);
            kept_spans.push(at);
        }
    }
    (kept, kept_spans)
}

/// An error about `node` caused at `at` (a connection's port), reported
/// there with the declaration as a note; Click's one-line form reports it
/// at the declaration. Where the connection's place is unknown (an
/// element a program added), at the declaration.
fn at_connection(node: &Node, at: &Span, message: String) -> Diagnostic {
    if at.line == 0 || at.file.is_empty() {
        return diag(&node.span, message);
    }
    let d = Diagnostic::new(at.clone(), message).click_at(node.span.clone());
    if *at == node.span {
        return d;
    }
    d.with_note(
        node.span.clone(),
        format!("'{}' declared here", node.declaration()),
    )
}

fn has_no(node: &Node, output: bool, port: usize, at: &Span) -> Diagnostic {
    let side = if output { "output" } else { "input" };
    let message = format!("'{}' has no {side} {port}", node.declaration());
    at_connection(node, at, message)
}

/// Click's push/pull resolution: agnostic ports take the processing of the
/// ports they are connected to, and agnostic inputs and outputs of one
/// element that are related by its flow code resolve together. Remaining
/// agnostic ports become push.
///
/// Click (`Router::check_push_and_pull`) sweeps the list of links (the
/// connections, then a fake link inside each agnostic element from each
/// agnostic output to each agnostic input it flows from) until a sweep
/// changes nothing; which processing reaches a port first, and so which
/// link a conflict is reported on, follows that order. A chain of n
/// agnostic elements takes n sweeps of n links there (a 50,000-element
/// pull chain took half a minute), so this replays the same sweeps as
/// events: a link is looked at again only when one of its ends has just
/// been resolved, at the time (sweep, position) Click's loop would next
/// reach it. The results and the errors, in their order, are Click's.
///
/// Elements of unknown classes take no part: their ports neither carry
/// processing nor conflict (their class is the error to report).
fn resolve_processing(
    nodes: &mut [Node],
    connections: &[FlatConnection],
    spans: &[ConnectionSpan],
    errors: &mut Vec<Diagnostic>,
) {
    let agnostic = ProcessingCode::parse("a").expect("valid");
    for node in nodes.iter_mut() {
        let code = node.spec.as_ref().map_or(&agnostic, |s| &s.processing);
        for (p, slot) in node.inputs.iter_mut().enumerate() {
            *slot = code.input(p);
        }
        for (p, slot) in node.outputs.iter_mut().enumerate() {
            *slot = code.output(p);
        }
    }
    let known = |e: usize| nodes[e].spec.is_some();
    // Fake connections inside agnostic elements, from output to input, so
    // that one loop spreads processing both through and between elements.
    // Each link with its connection's index (`None` inside an element).
    let mut links: Vec<(FlatConnection, Option<usize>)> = connections
        .iter()
        .enumerate()
        .filter(|(_, c)| known(c.from) && known(c.to))
        .map(|(i, c)| (*c, Some(i)))
        .collect();
    for (e, node) in nodes.iter().enumerate().filter(|(e, _)| known(*e)) {
        for i in 0..node.inputs.len() {
            for o in 0..node.outputs.len() {
                if node.inputs[i] == Processing::Agnostic
                    && node.outputs[o] == Processing::Agnostic
                    && node.flows(i, o)
                {
                    let c = FlatConnection {
                        from: e,
                        from_port: o,
                        to: e,
                        to_port: i,
                    };
                    links.push((c, None));
                }
            }
        }
    }
    // Ports as one index space: each element's inputs, then its outputs.
    let mut base = Vec::with_capacity(nodes.len());
    let mut ports = Vec::new();
    for node in nodes.iter() {
        base.push(ports.len());
        ports.extend(&node.inputs);
        ports.extend(&node.outputs);
    }
    let ids: Vec<(usize, usize)> = links
        .iter()
        .map(|(c, _)| {
            let from = base[c.from] + nodes[c.from].inputs.len() + c.from_port;
            (from, base[c.to] + c.to_port)
        })
        .collect();
    for k in spread(&mut ports, &ids) {
        let (c, connection) = &links[k];
        let from = ports[ids[k].0];
        let at = connection.and_then(|i| spans.get(i));
        errors.push(processing_error(nodes, c, at, from));
    }
    for (node, &b) in nodes.iter_mut().zip(&base) {
        let n = node.inputs.len();
        node.inputs.copy_from_slice(&ports[b..b + n]);
        let m = node.outputs.len();
        node.outputs.copy_from_slice(&ports[b + n..b + n + m]);
    }
    for node in nodes.iter_mut() {
        for p in node.inputs.iter_mut().chain(node.outputs.iter_mut()) {
            if *p == Processing::Agnostic {
                *p = Processing::Push;
            }
        }
    }
}

/// Spreads processing along `links` (output port, input port), in the
/// order of Click's sweeps (see [`resolve_processing`]): each link passes
/// a resolved end's processing to an agnostic other end. Returns the
/// links whose ends conflict, in the order Click finds them; a link in
/// conflict is looked at no more.
fn spread(ports: &mut [Processing], links: &[(usize, usize)]) -> Vec<usize> {
    let mut at_port: Vec<Vec<usize>> = vec![Vec::new(); ports.len()];
    for (k, &(from, to)) in links.iter().enumerate() {
        at_port[from].push(k);
        at_port[to].push(k);
    }
    // Click's first sweep looks at every link; one with neither end
    // resolved does nothing until an end is.
    let mut events: BinaryHeap<Reverse<(usize, usize)>> = links
        .iter()
        .enumerate()
        .filter(|(_, &(from, to))| {
            ports[from] != Processing::Agnostic || ports[to] != Processing::Agnostic
        })
        .map(|(k, _)| Reverse((1, k)))
        .collect();
    let mut failed = vec![false; links.len()];
    let mut conflicts = Vec::new();
    while let Some(Reverse((sweep, k))) = events.pop() {
        if failed[k] {
            continue;
        }
        let (from, to) = links[k];
        let resolved = match (ports[from], ports[to]) {
            (Processing::Agnostic, Processing::Agnostic) => continue,
            (p, Processing::Agnostic) => {
                ports[to] = p;
                to
            }
            (Processing::Agnostic, p) => {
                ports[from] = p;
                from
            }
            (a, b) if a != b => {
                conflicts.push(k);
                failed[k] = true;
                continue;
            }
            _ => continue,
        };
        // Click's loop reaches a later link in this sweep, an earlier one
        // in the next.
        for &j in &at_port[resolved] {
            let when = if j > k { sweep } else { sweep + 1 };
            events.push(Reverse((when, j)));
        }
    }
    conflicts
}

/// A conflict on link `c`: a connection (written at `at`) or, without
/// `at`, the inside of an agnostic element.
fn processing_error(
    nodes: &[Node],
    c: &FlatConnection,
    at: Option<&ConnectionSpan>,
    from: Processing,
) -> Diagnostic {
    let to = if from == Processing::Push {
        Processing::Pull
    } else {
        Processing::Push
    };
    let (f, t) = (&nodes[c.from], &nodes[c.to]);
    match at {
        None => diag(
            &f.span,
            format!(
                "agnostic '{}' in mixed context: {to} input {}, {from} output {}",
                f.declaration(),
                c.to_port,
                c.from_port
            ),
        ),
        Some(at) => {
            let message = format!(
                "'{}' {from} output {} connected to '{}' {to} input {}",
                f.declaration(),
                c.from_port,
                t.declaration(),
                c.to_port
            );
            at_connection(f, &at.from, message)
        }
    }
}

/// A push output feeds exactly one input and a pull input drains exactly one
/// output; every port is used. As in Click, a connection that reuses a port
/// is reported but still counts as using its other end.
fn check_completeness(
    nodes: &[Node],
    connections: &[FlatConnection],
    spans: &[ConnectionSpan],
    errors: &mut Vec<Diagnostic>,
) {
    // The first connection at each port.
    let mut used_out: Vec<Vec<Option<usize>>> =
        nodes.iter().map(|n| vec![None; n.outputs.len()]).collect();
    let mut used_in: Vec<Vec<Option<usize>>> =
        nodes.iter().map(|n| vec![None; n.inputs.len()]).collect();
    let span = |i: usize, from: bool| {
        spans
            .get(i)
            .map(|s| if from { s.from.clone() } else { s.to.clone() })
            .unwrap_or_default()
    };
    for (i, c) in connections.iter().enumerate() {
        let (f, t) = (&nodes[c.from], &nodes[c.to]);
        if let Some(first) = used_out[c.from][c.from_port] {
            if f.outputs[c.from_port] == Processing::Push {
                let message = format!(
                    "illegal reuse of '{}' push output {}",
                    f.declaration(),
                    c.from_port
                );
                errors.push(reused(f, span(i, true), span(first, true), message));
            }
        }
        if let Some(first) = used_in[c.to][c.to_port] {
            if t.inputs[c.to_port] == Processing::Pull {
                let message = format!(
                    "illegal reuse of '{}' pull input {}",
                    t.declaration(),
                    c.to_port
                );
                errors.push(reused(t, span(i, false), span(first, false), message));
            }
        }
        used_out[c.from][c.from_port].get_or_insert(i);
        used_in[c.to][c.to_port].get_or_insert(i);
    }
    for (e, node) in nodes.iter().enumerate() {
        for (p, _) in used_in[e].iter().enumerate().filter(|(_, u)| u.is_none()) {
            errors.push(port_error(node, false, p, "unused"));
        }
    }
    for (e, node) in nodes.iter().enumerate() {
        for (p, _) in used_out[e].iter().enumerate().filter(|(_, u)| u.is_none()) {
            errors.push(port_error(node, true, p, "unused"));
        }
    }
}

/// A port used a second time at `at`, first at `first`.
fn reused(node: &Node, at: Span, first: Span, message: String) -> Diagnostic {
    let d = at_connection(node, &at, message);
    if d.span.as_ref() == Some(&at) && first.line > 0 && first != at {
        return d.with_note(first, "first used here");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Click's loop as written (`Router::check_push_and_pull`): sweep
    /// every link until a sweep changes nothing.
    fn spread_by_sweeps(ports: &mut [Processing], links: &[(usize, usize)]) -> Vec<usize> {
        let mut failed = vec![false; links.len()];
        let mut conflicts = Vec::new();
        loop {
            let mut changed = false;
            for (k, &(from, to)) in links.iter().enumerate() {
                if failed[k] {
                    continue;
                }
                match (ports[from], ports[to]) {
                    (Processing::Agnostic, Processing::Agnostic) => {}
                    (p, Processing::Agnostic) => {
                        ports[to] = p;
                        changed = true;
                    }
                    (Processing::Agnostic, p) => {
                        ports[from] = p;
                        changed = true;
                    }
                    (a, b) if a != b => {
                        conflicts.push(k);
                        failed[k] = true;
                    }
                    _ => {}
                }
            }
            if !changed {
                return conflicts;
            }
        }
    }

    fn processing() -> impl Strategy<Value = Processing> {
        prop_oneof![
            4 => Just(Processing::Agnostic),
            1 => Just(Processing::Push),
            1 => Just(Processing::Pull),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The event order gives Click's results and Click's errors, in
        /// Click's order.
        #[test]
        fn events_replay_clicks_sweeps(
            ports in proptest::collection::vec(processing(), 1..24),
            raw in proptest::collection::vec((0usize..64, 0usize..64), 0..48),
        ) {
            let n = ports.len();
            let links: Vec<(usize, usize)> = raw.iter().map(|&(a, b)| (a % n, b % n)).collect();
            let (mut fast, mut slow) = (ports.clone(), ports);
            let found = spread(&mut fast, &links);
            let expected = spread_by_sweeps(&mut slow, &links);
            prop_assert_eq!(found, expected);
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("Clasifier", "Classifier"), 1);
        assert_eq!(edit_distance("clasifier", "Classifier"), 1);
        assert_eq!(edit_distance("Clasifier", "AlignmentInfo"), 4);
        assert_eq!(edit_distance("Discrad", "Discard"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            nearest(
                "Clasifier",
                ["AlignmentInfo", "Classifier", "Counter"].into_iter()
            ),
            ["Classifier"]
        );
        assert!(nearest("Frob", ["Counter", "Discard"].into_iter()).is_empty());
    }

    #[test]
    fn a_long_chain_resolves_in_one_pass_of_events() {
        // A pull end, 100,000 agnostic links in a row, in the order that
        // made Click's loop take one sweep per link.
        let n = 100_000;
        let mut ports = vec![Processing::Agnostic; n + 1];
        ports[0] = Processing::Pull;
        let links: Vec<(usize, usize)> = (0..n).rev().map(|i| (i + 1, i)).collect();
        let start = std::time::Instant::now();
        assert!(spread(&mut ports, &links).is_empty());
        assert!(ports.iter().all(|&p| p == Processing::Pull));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
