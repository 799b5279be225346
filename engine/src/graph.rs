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

use click_lang::{Diagnostic, FlatConfig, FlatConnection, Span};
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

        let connections = check_port_ranges(&mut nodes, &flat.connections, &mut errors);
        resolve_processing(&mut nodes, &connections, &mut errors);
        if errors.is_empty() {
            check_completeness(&nodes, &connections, &mut errors);
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
pub fn unknown_classes(flat: &FlatConfig, registry: &Registry) -> Vec<Diagnostic> {
    let unknown = flat
        .elements
        .iter()
        .filter(|e| registry.get(&e.class).is_none());
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
            diag(&e.span, message)
        })
        .collect()
}

fn diag(span: &Span, message: String) -> Diagnostic {
    Diagnostic {
        span: Some(span.clone()),
        message,
    }
}

fn port_error(node: &Node, output: bool, port: usize, what: &str) -> Diagnostic {
    let side = if output { "output" } else { "input" };
    diag(
        &node.span,
        format!("'{}' {side} {port} {what}", node.declaration()),
    )
}

/// Resolves each element's number of ports (Click's `notify_nports`) and
/// drops the connections that use ports beyond them, reporting each.
fn check_port_ranges(
    nodes: &mut [Node],
    connections: &[FlatConnection],
    errors: &mut Vec<Diagnostic>,
) -> Vec<FlatConnection> {
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
    for c in connections {
        let mut ok = true;
        if c.from_port >= nodes[c.from].outputs.len() {
            errors.push(has_no(&nodes[c.from], true, c.from_port));
            ok = false;
        }
        if c.to_port >= nodes[c.to].inputs.len() {
            errors.push(has_no(&nodes[c.to], false, c.to_port));
            ok = false;
        }
        if ok && !kept.contains(c) {
            kept.push(*c);
        }
    }
    kept
}

fn has_no(node: &Node, output: bool, port: usize) -> Diagnostic {
    let side = if output { "output" } else { "input" };
    diag(
        &node.span,
        format!("'{}' has no {side} {port}", node.declaration()),
    )
}

/// Click's push/pull resolution: agnostic ports take the processing of the
/// ports they are connected to, and agnostic inputs and outputs of one
/// element that are related by its flow code resolve together. Remaining
/// agnostic ports become push.
fn resolve_processing(
    nodes: &mut [Node],
    connections: &[FlatConnection],
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
    // Fake connections inside agnostic elements, from output to input, so
    // that one loop spreads processing both through and between elements.
    let mut links: Vec<(FlatConnection, bool)> = connections.iter().map(|c| (*c, false)).collect();
    for (e, node) in nodes.iter().enumerate() {
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
                    links.push((c, true));
                }
            }
        }
    }
    let mut failed = vec![false; links.len()];
    loop {
        let mut changed = false;
        for (k, (c, internal)) in links.iter().enumerate() {
            if failed[k] {
                continue;
            }
            let from = nodes[c.from].outputs[c.from_port];
            let to = nodes[c.to].inputs[c.to_port];
            match (from, to) {
                (Processing::Agnostic, Processing::Agnostic) => {}
                (p, Processing::Agnostic) => {
                    nodes[c.to].inputs[c.to_port] = p;
                    changed = true;
                }
                (Processing::Agnostic, p) => {
                    nodes[c.from].outputs[c.from_port] = p;
                    changed = true;
                }
                (a, b) if a != b => {
                    errors.push(processing_error(nodes, c, *internal, a));
                    failed[k] = true;
                }
                _ => {}
            }
        }
        if !changed {
            break;
        }
    }
    for node in nodes.iter_mut() {
        for p in node.inputs.iter_mut().chain(node.outputs.iter_mut()) {
            if *p == Processing::Agnostic {
                *p = Processing::Push;
            }
        }
    }
}

fn processing_error(
    nodes: &[Node],
    c: &FlatConnection,
    internal: bool,
    from: Processing,
) -> Diagnostic {
    let to = if from == Processing::Push {
        Processing::Pull
    } else {
        Processing::Push
    };
    let (f, t) = (&nodes[c.from], &nodes[c.to]);
    let message = if internal {
        format!(
            "agnostic '{}' in mixed context: {to} input {}, {from} output {}",
            f.declaration(),
            c.to_port,
            c.from_port
        )
    } else {
        format!(
            "'{}' {from} output {} connected to '{}' {to} input {}",
            f.declaration(),
            c.from_port,
            t.declaration(),
            c.to_port
        )
    };
    diag(&f.span, message)
}

/// A push output feeds exactly one input and a pull input drains exactly one
/// output; every port is used. As in Click, a connection that reuses a port
/// is reported but still counts as using its other end.
fn check_completeness(
    nodes: &[Node],
    connections: &[FlatConnection],
    errors: &mut Vec<Diagnostic>,
) {
    let mut used_out: Vec<Vec<bool>> = nodes.iter().map(|n| vec![false; n.outputs.len()]).collect();
    let mut used_in: Vec<Vec<bool>> = nodes.iter().map(|n| vec![false; n.inputs.len()]).collect();
    for c in connections {
        let (f, t) = (&nodes[c.from], &nodes[c.to]);
        if used_out[c.from][c.from_port] && f.outputs[c.from_port] == Processing::Push {
            errors.push(diag(
                &f.span,
                format!(
                    "illegal reuse of '{}' push output {}",
                    f.declaration(),
                    c.from_port
                ),
            ));
        }
        if used_in[c.to][c.to_port] && t.inputs[c.to_port] == Processing::Pull {
            errors.push(diag(
                &t.span,
                format!(
                    "illegal reuse of '{}' pull input {}",
                    t.declaration(),
                    c.to_port
                ),
            ));
        }
        used_out[c.from][c.from_port] = true;
        used_in[c.to][c.to_port] = true;
    }
    for (e, node) in nodes.iter().enumerate() {
        for (p, _) in used_in[e].iter().enumerate().filter(|(_, u)| !**u) {
            errors.push(port_error(node, false, p, "unused"));
        }
    }
    for (e, node) in nodes.iter().enumerate() {
        for (p, _) in used_out[e].iter().enumerate().filter(|(_, u)| !**u) {
            errors.push(port_error(node, true, p, "unused"));
        }
    }
}
