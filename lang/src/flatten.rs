//! Compound expansion and tunnel removal: what Click does when it creates a
//! router from the parsed file.
//!
//! Every compound element becomes a tunnel (`x`, `x/input`, `x/output`)
//! and its components are copied in as `x/component`, depth first. At the
//! end, connections through tunnels are replaced by the connections they
//! stand for, and the tunnels disappear.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::args::split_args;
use crate::build::{ports_phrase, printable, Class, CompoundClass, Kind, Proto, Scope, Tunnel};
use crate::expand::{assign_arguments, expand_within, Budget, Env};
use crate::{ConnectionSpan, Diagnostic, FlatConnection, FlatElement};

/// Deeper compound nesting than this is refused (Click has a similar limit).
const MAX_DEPTH: usize = 100;
/// A configuration may not grow beyond this many elements when expanded.
const MAX_ELEMENTS: usize = 1_000_000;

/// What flattening produced.
pub struct Flat {
    pub elements: Vec<FlatElement>,
    pub connections: Vec<FlatConnection>,
    /// Where each connection is written, by connection.
    pub spans: Vec<ConnectionSpan>,
    pub errors: Vec<Diagnostic>,
}

pub struct Flattener {
    scope: Scope,
    errors: Vec<Diagnostic>,
    too_big: bool,
    /// What variable substitution may still spend, for the whole load.
    budget: Budget,
}

impl Flattener {
    pub fn new(scope: Scope) -> Flattener {
        Flattener {
            scope,
            errors: Vec::new(),
            too_big: false,
            budget: Budget::new(),
        }
    }

    /// Expands every compound element, then removes tunnels.
    pub fn run(mut self, env: &Env) -> Flat {
        let initial = self.scope.elements.len();
        for i in 0..initial {
            self.expand_element(i, env, 0);
        }
        if self.too_big {
            return Flat {
                elements: Vec::new(),
                connections: Vec::new(),
                spans: Vec::new(),
                errors: self.errors,
            };
        }
        let (elements, connections, spans) = Resolver::new(&self.scope, &mut self.errors).finish();
        Flat {
            elements,
            connections,
            spans,
            errors: self.errors,
        }
    }

    fn error_at(&mut self, element: usize, message: String) {
        let span = self.scope.elements[element].span.clone();
        self.errors.push(Diagnostic::new(span, message));
    }

    fn expand_element(&mut self, i: usize, env: &Env, depth: usize) {
        let Kind::Class(class) = self.scope.elements[i].kind.clone() else {
            return;
        };
        let config = expand_within(&self.scope.elements[i].config, env, &self.budget);
        self.scope.elements[i].config = config;
        let Class::Compound(compound) = class else {
            return;
        };
        match self.resolve(i, &compound) {
            Some((Class::Compound(found), args)) => {
                if depth >= MAX_DEPTH {
                    return self
                        .error_at(i, "maximum compound element nesting depth exceeded".into());
                }
                let env = instance_env(&found, env, args, &self.budget);
                self.expand_into(i, &found, &env, depth + 1);
            }
            Some((primitive, _)) => self.scope.elements[i].kind = Kind::Class(primitive),
            None => {}
        }
    }

    /// Picks the overload matching the element's arguments and used ports
    /// (Click's `Compound::resolve`). The arguments are split as Click's
    /// `cp_argvec` splits them: an empty last argument (`F(5, )`, or one
    /// holding only a comment) is no argument.
    fn resolve(&mut self, i: usize, first: &Rc<CompoundClass>) -> Option<(Class, Vec<String>)> {
        let args = split_args(&self.scope.elements[i].config);
        let [nin, nout] = self.scope.nports[i];
        let mut closest = None;
        let mut candidates = 0;
        let mut current = Some(Class::Compound(first.clone()));
        while let Some(class) = current {
            let Class::Compound(c) = &class else {
                return Some((class, args)); // extends a primitive class
            };
            candidates += 1;
            let formals: Vec<String> = c.formals.iter().map(|(_, k)| k.clone()).collect();
            if let Some(values) = assign_arguments(&args, &formals) {
                if c.ninputs == nin && c.noutputs == nout {
                    return Some((class.clone(), values));
                }
                closest = Some((class.clone(), values));
            }
            current = c.overload.clone();
        }
        if candidates != 1 || closest.is_none() {
            let call = format!(
                "{}{}",
                printable(&first.name),
                ports_phrase(Some(args.len()), nin, nout)
            );
            self.error_at(i, format!("no match for '{call}'"));
            // Click's ContextErrorHandler prints its context line with the
            // landmark of the first message under it: the first candidate.
            let span = first.span.clone();
            self.errors.push(Diagnostic::new(span, "candidates are:"));
            let mut current = Some(Class::Compound(first.clone()));
            while let Some(Class::Compound(c)) = current {
                self.errors.push(Diagnostic::new(
                    c.span.clone(),
                    format!("  {}", c.signature()),
                ));
                current = c.overload.clone();
            }
        }
        closest
    }

    /// Copies a compound's components into the router as `name/component`.
    fn expand_into(&mut self, which: usize, c: &CompoundClass, env: &Env, depth: usize) {
        if self.too_big || self.scope.elements.len() + c.elements.len() > MAX_ELEMENTS {
            if !self.too_big {
                let message = "configuration too large after compound expansion".to_string();
                self.error_at(which, message);
                self.too_big = true;
            }
            return;
        }
        let name = self.scope.elements[which].name.clone();
        let span = self.scope.elements[which].span.clone();
        self.scope.elements[which].kind = Kind::Tunnel;
        let input = self.scope.add(
            format!("{name}/input"),
            false,
            Kind::Tunnel,
            String::new(),
            span.clone(),
        );
        let output = self.scope.add(
            format!("{name}/output"),
            false,
            Kind::Tunnel,
            String::new(),
            span.clone(),
        );
        self.scope.tunnels.push(Tunnel {
            outer: which,
            input,
            output,
        });

        let mut map: Vec<Option<usize>> = vec![Some(input), Some(output)];
        let mut k = 2;
        while k < c.elements.len() {
            let proto = &c.elements[k];
            let full = format!("{name}/{}", proto.name);
            if let Some(&old) = self.scope.names.get(&full) {
                self.error_at(which, format!("redeclaration of element '{full}'"));
                self.error_at(old, format!("'{full}' previously declared here"));
                map.push(None);
                k += 1;
            } else if matches!(proto.kind, Kind::Tunnel) {
                let t = self.scope.add_tunnels(&full, &proto.span);
                map.extend([Some(t.outer), Some(t.input), Some(t.output)]);
                k += 3;
            } else {
                let p = Proto {
                    name: full,
                    config: expand_within(&proto.config, env, &self.budget),
                    ..proto.clone()
                };
                let index = self.scope.add(p.name, false, p.kind, p.config, p.span);
                self.scope.elements[index].implicit = p.implicit;
                map.push(Some(index));
                k += 1;
            }
        }
        for (conn, at) in c.connections.iter().zip(&c.connection_spans) {
            if let (Some(Some(from)), Some(Some(to))) = (map.get(conn.from), map.get(conn.to)) {
                let at = at.clone();
                self.scope
                    .connect(*from, conn.from_port, *to, conn.to_port, at);
            }
        }
        for index in map.into_iter().skip(2).flatten() {
            self.expand_element(index, env, depth);
        }
    }
}

/// The name [`flatten_compound`] gives the compound's instance; its
/// components are `xform/NAME`.
pub const COMPOUND_INSTANCE: &str = "xform";

/// Flattens one compound class on its own, as Click's tools flatten a
/// class's router (click-xform's patterns): the result has the primitive
/// elements `input` and `output` first, standing for the class's ports,
/// then the components as `xform/NAME` ([`COMPOUND_INSTANCE`]), and the
/// connections in the order the body makes them (a connection from
/// `input` where the body connects from its `input`). Formal parameters
/// are given themselves as values (`$x` stays `$x`).
pub fn flatten_compound(class: Rc<CompoundClass>, env: &Env) -> Flat {
    let mut scope = Scope::default();
    let span = class.span.clone();
    let mut pseudo = |name: &str| {
        let kind = Kind::Class(Class::Primitive(name.into()));
        scope.add(name.into(), false, kind, String::new(), span.clone())
    };
    let (input, output) = (pseudo("input"), pseudo("output"));
    let args: Vec<String> = class
        .formals
        .iter()
        .map(|(var, keyword)| match keyword.as_str() {
            "" | "__REST__" => format!("${var}"),
            k => format!("{k} ${var}"),
        })
        .collect();
    let (ninputs, noutputs) = (class.ninputs, class.noutputs);
    let kind = Kind::Class(Class::Compound(class));
    let instance = scope.add(COMPOUND_INSTANCE.into(), false, kind, args.join(", "), span);
    scope.nports[instance] = [ninputs, noutputs];
    let mut f = Flattener::new(scope);
    f.expand_element(instance, env, 0);
    // After the body's connections, so that the flattened connections keep
    // the body's order.
    for port in 0..ninputs {
        f.scope
            .connect(input, port, instance, port, ConnectionSpan::default());
    }
    for port in 0..noutputs {
        f.scope
            .connect(instance, port, output, port, ConnectionSpan::default());
    }
    let (elements, connections, spans) = Resolver::new(&f.scope, &mut f.errors).finish();
    Flat {
        elements,
        connections,
        spans,
        errors: f.errors,
    }
}

/// The environment a compound body runs in: the frames visible where the
/// class was defined, then its formals and its own `define`s.
fn instance_env(c: &CompoundClass, outer: &Env, args: Vec<String>, budget: &Budget) -> Env {
    let mut env = outer.prefix(c.depth);
    let frame = c.formals.iter().map(|(v, _)| v.clone()).zip(args).collect();
    env.frames.push(frame);
    for (name, value) in &c.defines {
        let value = expand_within(value, &env, budget);
        if let Some(frame) = env.frames.last_mut() {
            frame.push((name.clone(), value));
        }
    }
    env
}

/// Where a tunnel element sits: which end of which tunnel.
#[derive(Clone, Copy)]
enum End {
    Outer(Tunnel),
    Input(Tunnel),
    Output(Tunnel),
}

/// A real port on the far side of a tunnel: (element, port, the index of
/// the connection at that port).
type Far = (usize, usize, usize);

/// Replaces connections through tunnels by the real connections.
struct Resolver<'a> {
    scope: &'a Scope,
    errors: &'a mut Vec<Diagnostic>,
    ends: HashMap<usize, End>,
    into: HashMap<(usize, usize), Vec<usize>>,
    out_of: HashMap<(usize, usize), Vec<usize>>,
    /// The real ports a tunnel port stands for, each with the connection
    /// that reaches it.
    memo: HashMap<(usize, usize, bool), Vec<Far>>,
}

impl<'a> Resolver<'a> {
    fn new(scope: &'a Scope, errors: &'a mut Vec<Diagnostic>) -> Resolver<'a> {
        let mut ends = HashMap::new();
        for &t in &scope.tunnels {
            ends.insert(t.outer, End::Outer(t));
            ends.insert(t.input, End::Input(t));
            ends.insert(t.output, End::Output(t));
        }
        let mut into: HashMap<_, Vec<usize>> = HashMap::new();
        let mut out_of: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, c) in scope.connections.iter().enumerate() {
            into.entry((c.to, c.to_port)).or_default().push(i);
            out_of.entry((c.from, c.from_port)).or_default().push(i);
        }
        Resolver {
            scope,
            errors,
            ends,
            into,
            out_of,
            memo: HashMap::new(),
        }
    }

    fn is_tunnel(&self, i: usize) -> bool {
        matches!(self.scope.elements[i].kind, Kind::Tunnel)
    }

    fn finish(mut self) -> (Vec<FlatElement>, Vec<FlatConnection>, Vec<ConnectionSpan>) {
        let mut index = vec![usize::MAX; self.scope.elements.len()];
        let mut elements = Vec::new();
        for (i, e) in self.scope.elements.iter().enumerate() {
            if let Kind::Class(class) = &e.kind {
                index[i] = elements.len();
                let class = match class {
                    Class::Compound(c) if c.name.is_empty() => e.name.clone(),
                    c => c.name().to_string(),
                };
                elements.push(FlatElement {
                    name: e.name.clone(),
                    class,
                    config: e.config.clone(),
                    span: e.span.clone(),
                    implicit_class: e.implicit,
                });
            }
        }
        let mut seen = HashSet::new();
        let mut connections = Vec::new();
        let mut spans = Vec::new();
        let scope = self.scope;
        for (ci, c) in scope.connections.iter().enumerate() {
            let froms = self.end_points((c.from, c.from_port), true, ci);
            let tos = self.end_points((c.to, c.to_port), false, ci);
            for &(from, from_port, from_ci) in &froms {
                for &(to, to_port, to_ci) in &tos {
                    let conn = FlatConnection {
                        from: index[from],
                        from_port,
                        to: index[to],
                        to_port,
                    };
                    if conn.from != usize::MAX && conn.to != usize::MAX && seen.insert(conn) {
                        connections.push(conn);
                        let at = |k: usize| scope.connection_spans.get(k);
                        spans.push(ConnectionSpan {
                            from: at(from_ci).map(|s| s.from.clone()).unwrap_or_default(),
                            to: at(to_ci).map(|s| s.to.clone()).unwrap_or_default(),
                        });
                    }
                }
            }
        }
        (elements, connections, spans)
    }

    /// The real ports a connection end stands for.
    /// `ci` is the connection at `port`.
    fn end_points(&mut self, port: (usize, usize), is_source: bool, ci: usize) -> Vec<Far> {
        if self.is_tunnel(port.0) {
            self.through(port, is_source)
        } else {
            vec![(port.0, port.1, ci)]
        }
    }

    /// The real ports on the far side of tunnel port `port`. As a source,
    /// a tunnel end passes on whatever enters its partner; as a
    /// destination, whatever leaves its partner. Tunnels can chain for as
    /// long as the configuration is, so this walks an explicit stack, not
    /// the call stack; results are memoized per tunnel port.
    fn through(&mut self, port: (usize, usize), is_source: bool) -> Vec<Far> {
        let root = (port.0, port.1, is_source);
        let mut stack = vec![(root, false)];
        let mut started = HashSet::new();
        while let Some((key, children_done)) = stack.pop() {
            if self.memo.contains_key(&key) {
                continue;
            }
            let far_ends = self.far_ends(key, !started.contains(&key));
            if children_done {
                let mut found = Vec::new();
                for far in far_ends {
                    match self.is_tunnel(far.0) {
                        // A tunnel still in progress is a cycle: nothing more.
                        true => found.extend(
                            self.memo
                                .get(&(far.0, far.1, key.2))
                                .cloned()
                                .unwrap_or_default(),
                        ),
                        false => found.push(far),
                    }
                }
                self.memo.insert(key, found);
            } else if started.insert(key) {
                stack.push((key, true));
                for far in far_ends.into_iter().filter(|f| self.is_tunnel(f.0)) {
                    let child = (far.0, far.1, key.2);
                    if !started.contains(&child) {
                        stack.push((child, false));
                    }
                }
            }
        }
        self.memo.get(&root).cloned().unwrap_or_default()
    }

    /// The ports connected to the partner of tunnel port `key` (on the far
    /// side). Reports a port leading nowhere when `report` is set.
    fn far_ends(&mut self, key: (usize, usize, bool), report: bool) -> Vec<Far> {
        let (element, port, is_source) = key;
        let Some(&end) = self.ends.get(&element) else {
            return Vec::new();
        };
        let partner = match (end, is_source) {
            (End::Input(t), true) => t.outer,
            (End::Outer(t), true) => t.output,
            (End::Outer(t), false) => t.input,
            (End::Output(t), false) => t.outer,
            _ => {
                if report {
                    let what = if is_source { "output" } else { "input" };
                    let e = &self.scope.elements[element];
                    let message = format!("'{}' used as {what}", e.name);
                    self.errors.push(Diagnostic::new(e.span.clone(), message));
                }
                return Vec::new();
            }
        };
        let list = if is_source {
            self.into.get(&(partner, port))
        } else {
            self.out_of.get(&(partner, port))
        };
        let list = list.cloned().unwrap_or_default();
        if list.is_empty() && report {
            self.unused(end, port, is_source);
        }
        list.iter()
            .map(|&ci| {
                let c = self.scope.connections[ci];
                if is_source {
                    (c.from, c.from_port, ci)
                } else {
                    (c.to, c.to_port, ci)
                }
            })
            .collect()
    }

    /// Click's errors for compound ports that lead nowhere.
    fn unused(&mut self, end: End, port: usize, is_source: bool) {
        let (t, message) = match (end, is_source) {
            (End::Input(t), _) => (t, "input {} unused"),
            (End::Outer(t), true) => (t, "has no output {}"),
            (End::Outer(t), false) => (t, "has no input {}"),
            (End::Output(t), _) => (t, "output {} unused"),
        };
        let e = &self.scope.elements[t.outer];
        let message = format!("'{}' {}", e.name, message.replace("{}", &port.to_string()));
        self.errors.push(Diagnostic::new(e.span.clone(), message));
    }
}

#[cfg(test)]
mod tests {
    use crate::{load_str, LoadOptions};

    fn errors(src: &str) -> String {
        match load_str(src, "t", &LoadOptions::default()) {
            Ok(c) => panic!("no error:\n{}", c.to_click()),
            Err(d) => d.render_click(),
        }
    }

    #[test]
    fn unused_compound_ports_are_errors() {
        let e = errors(
            "elementclass F { input -> output; input [1] -> [1] output }\nIdle -> F -> Discard;",
        );
        assert_eq!(e, "t:2: 'F@2' input 1 unused\nt:2: 'F@2' output 1 unused\n");
    }

    #[test]
    fn a_list_declares_each_name_an_anonymous_compound() {
        // Click's `sub0, sub1 :: { ... }` (threads/StaticThreadSched-02).
        let c = load_str(
            "sub0, sub1 :: { src :: Idle -> d :: Discard };",
            "t",
            &LoadOptions::default(),
        )
        .unwrap();
        let names: Vec<&str> = c.elements.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["sub0/src", "sub0/d", "sub1/src", "sub1/d"]);
    }

    #[test]
    fn missing_compound_ports_are_errors() {
        let e = errors("elementclass F { input -> output }\nIdle -> F [1] -> Discard;");
        assert!(e.contains("'F@2' has no output 1"), "{e}");
    }

    #[test]
    fn overload_mismatch_lists_candidates() {
        let e =
            errors("elementclass F { $a | input -> output || $a, $b | input -> Idle }\nf :: F;");
        assert!(
            e.starts_with("t:2: no match for 'F[0 inputs, 0 outputs]'\nt:1: candidates are:\n"),
            "{e}"
        );
        assert!(e.contains("  F(<arg>, <arg>)[1 input, 0 outputs]"), "{e}");
    }

    #[test]
    fn extension_of_a_primitive() {
        let c = load_str(
            "elementclass Q { $a, $b | input -> Idle -> output || ... }\nq :: Q(5);",
            "t",
            &LoadOptions::default(),
        );
        let c = c.unwrap();
        assert_eq!(
            (c.elements[0].name.as_str(), c.elements[0].class.as_str()),
            ("q", "Q")
        );
        assert_eq!(c.elements[0].config, "5");
    }
}
