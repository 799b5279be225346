//! Placement: which scheduler thread runs each element. Tasks start push
//! paths (sources, unqueues) and pull paths (pulling sinks); everything a
//! task's push reaches downstream, or its pull reaches upstream, runs on the
//! task's thread. `StaticThreadSched` places tasks, `ScheduleInfo` gives
//! them tickets.

use std::collections::HashMap;

use click_lang::Diagnostic;

use crate::graph::{Graph, Node};
use crate::ports::Processing;
use crate::sched::DEFAULT_TICKETS;

/// The elements one thread owns. An element is `Whole`, or for a
/// thread-safe element driven from two threads, split in two instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Whole,
    Inputs,
    Outputs,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ThreadPlan {
    pub members: Vec<(usize, Side)>,
}

/// Which thread drives each side of each element. Tasks start push paths
/// (sources, unqueues) and pull paths (pulling sinks); everything a task's
/// push reaches downstream, or its pull reaches upstream, runs on the
/// task's thread. `StaticThreadSched` places tasks; the rest go to thread 0.
pub(crate) fn place(graph: &Graph, threads: usize) -> Result<Vec<ThreadPlan>, Vec<Diagnostic>> {
    let (sched, mut errors) = static_thread_sched(graph);
    let n = graph.nodes.len();
    let mut input_thread: Vec<Option<usize>> = vec![None; n];
    let mut output_thread: Vec<Option<usize>> = vec![None; n];
    // A ThreadSafeQueue may be pushed to from several threads: its input
    // side then has an instance on each (one ring per pushing thread).
    let mut more_inputs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for root in (0..n).filter(|&e| is_root(&graph.nodes[e])) {
        let t = sched.get(&graph.nodes[root].name).copied().unwrap_or(0) % threads;
        let mut mark = |e: usize, side: Side, errors: &mut Vec<Diagnostic>| -> bool {
            let node = &graph.nodes[e];
            let split = node.spec.as_ref().is_some_and(|s| s.thread_safe);
            let side = if split { side } else { Side::Whole };
            let mut fresh = false;
            for (slot, on, input) in [
                (&mut input_thread[e], side != Side::Outputs, true),
                (&mut output_thread[e], side != Side::Inputs, false),
            ] {
                match *slot {
                    _ if !on => {}
                    None => {
                        *slot = Some(t);
                        fresh = true;
                    }
                    Some(other) if other != t && split && input => {
                        if !more_inputs[e].contains(&t) {
                            more_inputs[e].push(t);
                            fresh = true;
                        }
                    }
                    Some(other) if other != t => {
                        errors.push(thread_conflict(node, other, t, split));
                    }
                    Some(_) => {}
                }
            }
            fresh
        };
        mark(root, Side::Whole, &mut errors);
        // Push paths downstream.
        let mut work: Vec<(usize, usize)> = push_outputs(graph, root);
        while let Some((e, _)) = work.pop() {
            if mark(e, Side::Inputs, &mut errors)
                && !graph.nodes[e].spec.as_ref().is_some_and(|s| s.thread_safe)
            {
                work.extend(push_outputs(graph, e));
            }
        }
        // Pull paths upstream.
        let mut work: Vec<(usize, usize)> = pull_inputs(graph, root);
        while let Some((e, _)) = work.pop() {
            if mark(e, Side::Outputs, &mut errors)
                && !graph.nodes[e].spec.as_ref().is_some_and(|s| s.thread_safe)
            {
                work.extend(pull_inputs(graph, e));
            }
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Err(errors);
    }
    let mut plans = vec![ThreadPlan::default(); threads];
    for e in 0..n {
        let (i, o) = (input_thread[e], output_thread[e]);
        let (first_in, out) = (i.or(o).unwrap_or(0), o.or(i).unwrap_or(0));
        let mut inputs = vec![first_in];
        inputs.extend(&more_inputs[e]);
        for (t, plan) in plans.iter_mut().enumerate() {
            match (inputs.contains(&t), t == out) {
                (true, true) => plan.members.push((e, Side::Whole)),
                (true, false) => plan.members.push((e, Side::Inputs)),
                (false, true) => plan.members.push((e, Side::Outputs)),
                (false, false) => {}
            }
        }
    }
    Ok(plans)
}

/// A task root: starts a push path (push outputs, no push inputs) or a
/// pull path (pull inputs, no pull outputs).
fn is_root(node: &Node) -> bool {
    let has = |ports: &[Processing], p| ports.contains(&p);
    (has(&node.outputs, Processing::Push) && !has(&node.inputs, Processing::Push))
        || (has(&node.inputs, Processing::Pull) && !has(&node.outputs, Processing::Pull))
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

fn thread_conflict(node: &Node, a: usize, b: usize, thread_safe: bool) -> Diagnostic {
    let (a, b) = (a.min(b), a.max(b));
    let message = if thread_safe {
        format!(
            "'{}' is pulled from threads {a} and {b}; a thread-safe queue has one pulling thread",
            node.declaration()
        )
    } else {
        format!(
            "'{}' is reached from threads {a} and {b}; only a ThreadSafeQueue may connect threads",
            node.declaration()
        )
    };
    Diagnostic {
        span: Some(node.span.clone()),
        message,
    }
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
            errors.push(Diagnostic {
                span: Some(node.span.clone()),
                message: format!("'{}': no element named '{element}'", node.declaration()),
            });
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

/// Which thread answers for each element: the one holding its input side.
pub(crate) fn owners(plans: &[ThreadPlan], nelements: usize) -> Vec<usize> {
    let mut owner = vec![0; nelements];
    for (t, plan) in plans.iter().enumerate() {
        for &(e, side) in &plan.members {
            if side != Side::Outputs {
                owner[e] = t;
            }
        }
    }
    owner
}
