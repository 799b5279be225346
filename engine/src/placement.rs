//! Placement: which scheduler thread runs each element. Tasks start push
//! paths (sources, unqueues) and pull paths (pulling sinks); everything a
//! task's push reaches downstream, or its pull reaches upstream, runs on the
//! task's thread. `StaticThreadSched` places tasks, `ScheduleInfo` gives
//! them tickets.

use std::collections::{HashMap, HashSet};

use click_lang::Diagnostic;

use crate::element::Threads;
use crate::graph::{Graph, Node};
use crate::ports::Processing;
use crate::sched::DEFAULT_TICKETS;

/// The part of an element one thread holds: all of it, or for a
/// [`Threads::Bridge`] element driven from several threads, its input side
/// (one instance per pushing thread) or its output side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Side {
    Whole,
    Inputs,
    Outputs,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ThreadPlan {
    pub members: Vec<(usize, Side)>,
}

/// Where every element runs.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// One plan per scheduler thread.
    pub plans: Vec<ThreadPlan>,
    /// Which thread answers each element's handler reads: its only thread,
    /// the first of a replicated element's, a bridge's first input side.
    pub owner: Vec<usize>,
    /// The threads whose instance of each element takes handler writes:
    /// every replica of a [`Threads::PerThread`] element, else the owner.
    pub instances: Vec<Vec<usize>>,
}

/// Which threads reach each side of one element.
#[derive(Debug, Default, Clone)]
struct Reached {
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

impl Reached {
    fn mark(&mut self, side: Side, t: usize) {
        for (on, threads) in [
            (side != Side::Outputs, &mut self.inputs),
            (side != Side::Inputs, &mut self.outputs),
        ] {
            if on && !threads.contains(&t) {
                threads.push(t);
            }
        }
    }

    /// Every thread that reaches either side, in order.
    fn all(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.inputs.iter().chain(&self.outputs).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Which thread runs each element. Tasks start push paths (sources,
/// unqueues) and pull paths (pulling sinks); everything a task's push
/// reaches downstream, or its pull reaches upstream (with the push outputs
/// of what it pulls: Click's `a/ah`), runs on the task's thread.
/// `StaticThreadSched` places tasks; the rest go to thread 0. An element
/// reached from several threads gets an instance on each if its class
/// says so ([`Threads::PerThread`]), a bridge one input side per thread
/// ([`Threads::Bridge`]); any other is an error.
pub(crate) fn place(graph: &Graph, threads: usize) -> Result<Placement, Vec<Diagnostic>> {
    let (sched, mut errors) = static_thread_sched(graph);
    let n = graph.nodes.len();
    let mut reached = vec![Reached::default(); n];
    for root in (0..n).filter(|&e| is_root(&graph.nodes[e])) {
        let t = sched.get(&graph.nodes[root].name).copied().unwrap_or(0) % threads;
        let mut seen = HashSet::new();
        let mut work = vec![(root, Side::Whole)];
        while let Some((e, side)) = work.pop() {
            if !seen.insert((e, side)) {
                continue;
            }
            reached[e].mark(side, t);
            if threads_of(&graph.nodes[e]) == Threads::Bridge && side != Side::Whole {
                // A bridge is where threads meet: the path ends here.
                continue;
            }
            let down = push_outputs(graph, e)
                .into_iter()
                .map(|(d, _)| (d, Side::Inputs));
            if side == Side::Inputs {
                work.extend(down);
            } else {
                work.extend(down);
                let up = pull_inputs(graph, e)
                    .into_iter()
                    .map(|(u, _)| (u, Side::Outputs));
                work.extend(up);
            }
        }
    }
    let mut placement = Placement {
        plans: vec![ThreadPlan::default(); threads],
        owner: vec![0; n],
        instances: vec![Vec::new(); n],
    };
    for (e, r) in reached.iter().enumerate() {
        let node = &graph.nodes[e];
        match instances(node, r) {
            Ok(members) => {
                placement.owner[e] = members.first().map_or(0, |&(t, _)| t);
                for &(t, side) in &members {
                    placement.plans[t].members.push((e, side));
                }
                // A bridge's halves share one state: its owner answers
                // writes too. Replicas each take every write.
                placement.instances[e] = match threads_of(node) {
                    Threads::PerThread => members.iter().map(|&(t, _)| t).collect(),
                    _ => vec![placement.owner[e]],
                };
            }
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Err(errors);
    }
    Ok(placement)
}

/// The threads holding an instance of `node` and the side each holds, the
/// owner first, by the class's threading.
fn instances(node: &Node, r: &Reached) -> Result<Vec<(usize, Side)>, Diagnostic> {
    let all = r.all();
    match threads_of(node) {
        _ if all.is_empty() => Ok(vec![(0, Side::Whole)]),
        Threads::One if all.len() > 1 => Err(thread_conflict(node, all[0], all[1], false)),
        Threads::One => Ok(vec![(all[0], Side::Whole)]),
        Threads::PerThread => Ok(all.iter().map(|&t| (t, Side::Whole)).collect()),
        Threads::Bridge => {
            if r.outputs.len() > 1 {
                let mut outs = r.outputs.clone();
                outs.sort_unstable();
                return Err(thread_conflict(node, outs[0], outs[1], true));
            }
            let out = r.outputs.first().or(r.inputs.first()).copied().unwrap_or(0);
            let mut members: Vec<(usize, Side)> = r
                .inputs
                .iter()
                .map(|&t| (t, if t == out { Side::Whole } else { Side::Inputs }))
                .collect();
            if !r.inputs.contains(&out) {
                members.push((
                    out,
                    if r.inputs.is_empty() {
                        Side::Whole
                    } else {
                        Side::Outputs
                    },
                ));
            }
            Ok(members)
        }
    }
}

/// How the element's class runs on several threads.
fn threads_of(node: &Node) -> Threads {
    node.spec.as_ref().map_or(Threads::One, |s| s.threads)
}

/// A task root: starts a push path (push outputs, no push inputs, and no
/// pull outputs: an element that is pulled pushes only when pulled) or a
/// pull path (pull inputs, no pull outputs).
fn is_root(node: &Node) -> bool {
    let has = |ports: &[Processing], p| ports.contains(&p);
    let (push_out, pull_out) = (
        has(&node.outputs, Processing::Push),
        has(&node.outputs, Processing::Pull),
    );
    (push_out && !has(&node.inputs, Processing::Push) && !pull_out)
        || (has(&node.inputs, Processing::Pull) && !pull_out)
}

fn push_outputs(graph: &Graph, e: usize) -> Vec<(usize, usize)> {
    let node = &graph.nodes[e];
    (0..node.outputs.len())
        .filter(|&p| node.outputs[p] == Processing::Push)
        .flat_map(|p| graph.downstream(e, p).collect::<Vec<_>>())
        .collect()
}

fn pull_inputs(graph: &Graph, e: usize) -> Vec<(usize, usize)> {
    let node = &graph.nodes[e];
    (0..node.inputs.len())
        .filter(|&p| node.inputs[p] == Processing::Pull)
        .flat_map(|p| graph.upstream(e, p).collect::<Vec<_>>())
        .collect()
}

fn thread_conflict(node: &Node, a: usize, b: usize, bridge: bool) -> Diagnostic {
    let message = if bridge {
        format!(
            "'{}' is pulled from threads {a} and {b}; a thread-safe queue has one pulling thread",
            node.declaration()
        )
    } else {
        format!(
            "'{}' is reached from threads {a} and {b}, but its class runs on one thread: \
             put a ThreadSafeQueue between the threads",
            node.declaration()
        )
    };
    Diagnostic::new(node.span.clone(), message)
}

/// The `ELEMENT VALUE` arguments of every `class` element, in
/// configuration order, VALUE parsed: the information elements the engine
/// reads when it places and schedules tasks (StaticThreadSched,
/// ScheduleInfo). Arguments whose VALUE does not parse are skipped; the
/// element's own configure reports them.
fn element_value_args<'g, T: std::str::FromStr>(
    graph: &'g Graph,
    class: &'g str,
) -> impl Iterator<Item = (&'g Node, String, T)> + 'g {
    graph
        .nodes
        .iter()
        .filter(move |n| n.class == class)
        .flat_map(|node| {
            click_lang::args::split_args(&node.config)
                .into_iter()
                .filter_map(move |arg| {
                    let [element, value] = &click_lang::args::split_words(&arg)[..] else {
                        return None;
                    };
                    Some((node, element.clone(), value.parse().ok()?))
                })
        })
}

/// `StaticThreadSched(ELEMENT THREAD, ...)` placements, by element name.
/// ELEMENT is resolved as Click resolves element arguments (see
/// [`resolve_elements`]), so a compound's name places everything in it and
/// a StaticThreadSched inside a compound names its parts; later pairs
/// override earlier ones, as a later StaticThreadSched overrides an earlier
/// one in Click. Names that resolve to nothing are returned as errors.
fn static_thread_sched(graph: &Graph) -> (HashMap<String, usize>, Vec<Diagnostic>) {
    let (mut map, mut errors) = (HashMap::new(), Vec::new());
    for (node, element, thread) in element_value_args::<usize>(graph, "StaticThreadSched") {
        let targets = resolve_elements(graph, &node.name, &element);
        if targets.is_empty() {
            let message = format!("'{}': no element named '{element}'", node.declaration());
            errors.push(Diagnostic::new(node.span.clone(), message));
        }
        for e in targets {
            map.insert(graph.nodes[e].name.clone(), thread);
        }
    }
    (map, errors)
}

/// The elements that `name`, in the configuration of the element named
/// `from`, stands for: the element `name` in `from`'s compound, or else in
/// each enclosing compound in turn, out to the top level; a compound's name
/// stands for every element inside it.
fn resolve_elements(graph: &Graph, from: &str, name: &str) -> Vec<usize> {
    let mut scope = from;
    loop {
        scope = scope.rfind('/').map_or("", |i| &scope[..i]);
        let full = match scope {
            "" => name.to_string(),
            _ => format!("{scope}/{name}"),
        };
        if let Some(e) = graph.find(&full) {
            return vec![e];
        }
        let inside = format!("{full}/");
        let members: Vec<usize> = (0..graph.nodes.len())
            .filter(|&e| graph.nodes[e].name.starts_with(&inside))
            .collect();
        if !members.is_empty() || scope.is_empty() {
            return members;
        }
    }
}

/// `ScheduleInfo(ELEMENT PARAM, ...)` shares, as tickets by element name:
/// PARAM times the default (the task handle clamps them). ELEMENT is the
/// full name; Click's scaling of a compound's shares by an outer
/// ScheduleInfo is not done, and a name that matches no element is unused,
/// as in Click.
pub(crate) fn schedule_info(graph: &Graph) -> HashMap<String, u32> {
    element_value_args::<f64>(graph, "ScheduleInfo")
        .map(|(_, element, share)| {
            let tickets = (share * f64::from(DEFAULT_TICKETS)).round() as u32;
            (element, tickets)
        })
        .collect()
}
