//! From syntax tree to scopes: what Click's lexer does while it parses.
//!
//! Each scope (the file, or one compound-class body) gets its list of
//! elements and connections. Class names are resolved here, with lexical
//! scoping; anonymous elements get their `Class@N` names; implicit
//! `input`/`output` ports and `=>` port expansion are worked out. Compound
//! elements are expanded later, by [`crate::flatten`].

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::args::{pop_word, split_args, split_words, unquote, FromArg};
use crate::ast::{self, ClassDef, ClassRef, Elem, Endpoint, Stmt, Word};
use crate::source::{strip_directives, SourceMap};
use crate::{ConnectionSpan, Diagnostic, Requirement, Span};

/// An element class.
#[derive(Debug, Clone)]
pub enum Class {
    /// A class the engine provides (or an unknown one: the engine decides).
    Primitive(Rc<str>),
    Compound(Rc<CompoundClass>),
}

impl Class {
    pub fn name(&self) -> &str {
        match self {
            Class::Primitive(name) => name,
            Class::Compound(c) => &c.name,
        }
    }
}

/// One alternative of a compound class; `overload` links to the next.
#[derive(Debug)]
pub struct CompoundClass {
    /// Empty for an anonymous compound.
    pub name: String,
    pub span: Span,
    /// Nesting depth of the body: how many variable frames of the
    /// instantiating environment the body can see, plus its own.
    pub depth: usize,
    /// Formal parameters: (variable name, keyword; empty if positional).
    pub formals: Vec<(String, String)>,
    /// `define`s in the body, substituted at each expansion.
    pub defines: Vec<(String, String)>,
    pub ninputs: usize,
    pub noutputs: usize,
    /// Elements 0 and 1 are the `input` and `output` pseudo-elements.
    pub elements: Vec<Proto>,
    pub connections: Vec<Conn>,
    /// Where each connection's ends are written, by connection.
    pub connection_spans: Vec<ConnectionSpan>,
    pub overload: Option<Class>,
}

impl CompoundClass {
    /// Click's signature, e.g. `Foo(<arg>, KW, ...)[1 input, 1 output]`.
    pub fn signature(&self) -> String {
        let mut s = printable(&self.name).to_string();
        if !self.formals.is_empty() {
            let kinds: Vec<&str> = self
                .formals
                .iter()
                .map(|(_, k)| match k.as_str() {
                    "" => "<arg>",
                    "__REST__" => "...",
                    k => k,
                })
                .collect();
            s += &format!("({})", kinds.join(", "));
        }
        s + &ports_phrase(None, self.ninputs, self.noutputs)
    }
}

pub fn printable(name: &str) -> &str {
    if name.is_empty() {
        "<anonymous>"
    } else {
        name
    }
}

/// `[N arguments, I inputs, O outputs]`, as Click words it.
pub fn ports_phrase(nargs: Option<usize>, ninputs: usize, noutputs: usize) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut s = String::from("[");
    if let Some(n) = nargs.filter(|&n| n > 0) {
        s += &plural(n, "argument", "arguments");
        s += ", ";
    }
    s += &plural(ninputs, "input", "inputs");
    s += ", ";
    s + &plural(noutputs, "output", "outputs") + "]"
}

/// The class a list declaration (`a, b :: ...`) gives every name in it.
enum Spread {
    /// `a, b :: Class`.
    Named(ast::Word),
    /// `a, b :: { ... }`, built once.
    Built(Class),
}

#[derive(Debug, Clone)]
pub enum Kind {
    Class(Class),
    /// A connection tunnel: a compound or group boundary, gone after
    /// flattening.
    Tunnel,
}

/// An element as declared in a scope, before expansion.
#[derive(Debug, Clone)]
pub struct Proto {
    pub name: String,
    /// Named automatically; the name may still change to avoid a clash.
    pub anonymous: bool,
    pub kind: Kind,
    pub config: String,
    pub span: Span,
    /// Made from a bare word naming no declared class (see
    /// [`FlatElement::implicit_class`](crate::FlatElement::implicit_class)).
    pub implicit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conn {
    pub from: usize,
    pub from_port: usize,
    pub to: usize,
    pub to_port: usize,
}

/// The three elements of a tunnel: the outer element and its `/input` and
/// `/output` inner ends.
#[derive(Debug, Clone, Copy)]
pub struct Tunnel {
    pub outer: usize,
    pub input: usize,
    pub output: usize,
}

/// The elements and connections of one scope.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    pub elements: Vec<Proto>,
    /// Name to index. Anonymous elements are keyed `;Name@N` until their
    /// names are final, so they cannot be referred to by name.
    pub names: HashMap<String, usize>,
    pub connections: Vec<Conn>,
    /// Where each connection's ends are written, by connection.
    pub connection_spans: Vec<ConnectionSpan>,
    /// Per element, the number of input and output ports used.
    pub nports: Vec<[usize; 2]>,
    pub tunnels: Vec<Tunnel>,
    pub vars: Vec<(String, String)>,
    anonymous_offset: usize,
    /// 0 for the file, 1 for a compound body at file level, ...
    pub depth: usize,
}

impl Scope {
    pub fn add(
        &mut self,
        name: String,
        anonymous: bool,
        kind: Kind,
        config: String,
        span: Span,
    ) -> usize {
        let index = self.elements.len();
        let key = if anonymous {
            format!(";{name}")
        } else {
            name.clone()
        };
        self.names.insert(key, index);
        self.elements.push(Proto {
            name,
            anonymous,
            kind,
            config,
            span,
            implicit: false,
        });
        self.nports.push([0, 0]);
        index
    }

    pub fn connect(
        &mut self,
        from: usize,
        from_port: usize,
        to: usize,
        to_port: usize,
        at: ConnectionSpan,
    ) {
        self.connections.push(Conn {
            from,
            from_port,
            to,
            to_port,
        });
        self.connection_spans.push(at);
        self.nports[to][0] = self.nports[to][0].max(to_port + 1);
        self.nports[from][1] = self.nports[from][1].max(from_port + 1);
    }

    /// Creates the three tunnel elements `name`, `name/input`, `name/output`.
    pub fn add_tunnels(&mut self, name: &str, span: &Span) -> Tunnel {
        let mut add = |n: String| self.add(n, false, Kind::Tunnel, String::new(), span.clone());
        let t = Tunnel {
            outer: add(name.to_string()),
            input: add(format!("{name}/input")),
            output: add(format!("{name}/output")),
        };
        self.tunnels.push(t);
        t
    }

    fn anonymous_name(&self, base: &str) -> String {
        format!("{base}@{}", self.elements.len() - self.anonymous_offset + 1)
    }

    /// Gives anonymous elements their final names, renumbering on a clash
    /// with a declared name (Click's deanonymize).
    pub fn deanonymize(&mut self) {
        for i in 0..self.elements.len() {
            if !self.elements[i].anonymous {
                continue;
            }
            let mut name = self.elements[i].name.clone();
            if self.names.contains_key(&name) {
                let at = name.rfind('@').unwrap_or(name.len());
                let prefix = name[..at].to_string();
                let mut n: usize = name[at..].trim_start_matches('@').parse().unwrap_or(0);
                while self.names.contains_key(&name) {
                    n += 1;
                    name = format!("{prefix}@{n}");
                }
            }
            self.names.insert(name.clone(), i);
            self.elements[i].name = name;
            self.elements[i].anonymous = false;
        }
    }
}

/// Port numbers from this on are refused (Click has no limit; this keeps
/// port tables small whatever the input).
const MAX_PORT: u32 = 1 << 20;

/// One side's port list in a connection: `[0, 1]`, expandable `[2,]`...
#[derive(Debug, Clone, Default)]
struct PortSpec {
    ports: Vec<usize>,
    expandable: bool,
    /// The list as written, with its brackets.
    at: Option<Range<usize>>,
}

impl PortSpec {
    fn is_empty(&self) -> bool {
        self.ports.is_empty() && !self.expandable
    }
}

/// An element in a connection, with the ports written beside it.
#[derive(Debug, Clone)]
struct Ep {
    element: usize,
    /// `[0]` is the input side, `[1]` the output side.
    sides: [PortSpec; 2],
    /// The element as written in the connection (its name), where a
    /// connection end without a port list is shown.
    at: Range<usize>,
}

/// A parsed file, ready for expansion.
pub struct Built {
    pub scope: Scope,
    /// The classes declared at file level (and in libraries it requires),
    /// in declaration order: what Click's `collect_locally_declared_types`
    /// gives click-xform.
    pub classes: Vec<(String, Class)>,
    pub requirements: Vec<Requirement>,
    pub errors: Vec<Diagnostic>,
    pub sources: Vec<Arc<SourceMap>>,
}

/// Builds the file scope from a parsed file.
pub struct Builder {
    /// Element classes in scope, innermost last.
    classes: Vec<(String, Class)>,
    /// Names first used as classes without a definition: primitive classes
    /// as far as we know. Unlike `elementclass` they are not scoped.
    implicit: HashMap<String, Class>,
    /// Class names written after `::` or as a synonym's target.
    declared: std::collections::HashSet<String>,
    scope: Scope,
    group_depth: usize,
    map: Arc<SourceMap>,
    search_path: Vec<PathBuf>,
    libraries: Vec<PathBuf>,
    requirements: Vec<Requirement>,
    errors: Vec<Diagnostic>,
    sources: Vec<Arc<SourceMap>>,
}

impl Builder {
    pub fn new(map: Arc<SourceMap>, search_path: Vec<PathBuf>) -> Builder {
        Builder {
            classes: Vec::new(),
            implicit: HashMap::new(),
            declared: Default::default(),
            scope: Scope::default(),
            group_depth: 0,
            errors: map.errors.clone(),
            sources: vec![map.clone()],
            map,
            search_path,
            libraries: Vec::new(),
            requirements: Vec::new(),
        }
    }

    pub fn build(mut self, stmts: &[Stmt]) -> Built {
        self.statements(stmts);
        self.scope.deanonymize();
        Built {
            scope: self.scope,
            classes: self.classes,
            requirements: self.requirements,
            errors: self.errors,
            sources: self.sources,
        }
    }

    fn span(&self, at: &Range<usize>) -> Span {
        self.map.span(at.start, at.end)
    }

    fn error(&mut self, at: &Range<usize>, message: impl Into<String>) {
        let span = self.span(at);
        self.errors.push(Diagnostic::new(span, message));
    }

    fn statements(&mut self, stmts: &[Stmt]) {
        for stmt in stmts {
            match stmt {
                Stmt::Connection(c) => self.connection(c),
                Stmt::ElementClass { name, def } => self.elementclass(name, def),
                Stmt::Require(text) => self.require(text),
                Stmt::Define(text) => self.define(text),
                Stmt::Provide => {}
            }
        }
    }

    // ---- classes ----

    fn lookup_class(&self, name: &str) -> Option<Class> {
        let scoped = self.classes.iter().rev().find(|(n, _)| n == name);
        scoped
            .map(|(_, c)| c.clone())
            .or_else(|| self.implicit.get(name).cloned())
    }

    /// The class called `name`, taken to be a primitive if never defined.
    fn force_class(&mut self, name: &str) -> Class {
        self.lookup_class(name).unwrap_or_else(|| {
            let class = Class::Primitive(name.into());
            self.implicit.insert(name.to_string(), class.clone());
            class
        })
    }

    fn elementclass(&mut self, name: &ast::Word, def: &ClassDef) {
        let class = match def {
            ClassDef::Synonym(other) => {
                self.declared.insert(other.text.clone());
                self.force_class(&other.text)
            }
            ClassDef::Compound(c) => self.compound(&name.text, c),
        };
        self.classes.push((name.text.clone(), class));
    }

    /// Builds a compound class and its overloads.
    fn compound(&mut self, name: &str, c: &ast::Compound) -> Class {
        let mut next = None;
        if let Some(at) = &c.extension {
            // An undefined name is a primitive class the engine may know,
            // as everywhere else; an anonymous compound has nothing to extend.
            if name.is_empty() {
                self.error(at, "cannot extend anonymous compound element class");
            } else {
                next = Some(self.force_class(name));
            }
            if c.bodies.is_empty() {
                self.error(at, "'...' should occur last, after one or more compounds");
            }
        }
        let alternatives: Vec<CompoundClass> =
            c.bodies.iter().map(|b| self.body(name, b)).collect();
        for mut alt in alternatives.into_iter().rev() {
            alt.overload = next;
            next = Some(Class::Compound(Rc::new(alt)));
        }
        next.unwrap_or_else(|| Class::Primitive(name.into()))
    }

    /// Builds one compound alternative in a fresh scope.
    fn body(&mut self, name: &str, body: &ast::Body) -> CompoundClass {
        let span = self.span(&body.at);
        let mut scope = Scope {
            depth: self.scope.depth + 1,
            anonymous_offset: 0,
            ..Scope::default()
        };
        scope.add(
            "input".into(),
            false,
            Kind::Tunnel,
            String::new(),
            span.clone(),
        );
        scope.add(
            "output".into(),
            false,
            Kind::Tunnel,
            String::new(),
            span.clone(),
        );
        scope.anonymous_offset = 2;
        let formals = self.formals(&body.formals, &mut scope);

        let outer = std::mem::replace(&mut self.scope, scope);
        let outer_groups = std::mem::replace(&mut self.group_depth, 0);
        let nclasses = self.classes.len();
        self.statements(&body.stmts);
        self.classes.truncate(nclasses);
        self.group_depth = outer_groups;
        let mut scope = std::mem::replace(&mut self.scope, outer);

        let label = printable(name).to_string();
        let ninputs = self.check_pseudo(&mut scope, (0, 0), false, &label, &body.at);
        let noutputs = self.check_pseudo(&mut scope, (1, 0), true, &label, &body.at);
        scope.deanonymize();
        let nformals = formals.len();
        CompoundClass {
            name: name.to_string(),
            span,
            depth: scope.depth,
            defines: scope.vars[nformals..].to_vec(),
            formals,
            ninputs,
            noutputs,
            elements: scope.elements,
            connections: scope.connections,
            connection_spans: scope.connection_spans,
            overload: None,
        }
    }

    fn formals(&mut self, formals: &[ast::Formal], scope: &mut Scope) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut order_reported = false;
        for f in formals {
            let var = f.var.text.trim_start_matches('$').to_string();
            let keyword = f.keyword.as_ref().map_or(String::new(), |k| k.text.clone());
            if out.iter().any(|(v, _)| *v == var) {
                self.error(&f.var.at, format!("parameter '${var}' multiply defined"));
                continue;
            }
            if !keyword.is_empty() && out.iter().any(|(_, k)| *k == keyword) {
                self.error(
                    &f.var.at,
                    format!("repeated keyword parameter '{keyword}' in compound element"),
                );
            }
            let out_of_order = out.last().is_some_and(|(_, prev)| {
                (keyword.is_empty() && !prev.is_empty()) || prev == "__REST__"
            });
            if out_of_order && !order_reported {
                self.error(
                    &f.var.at,
                    "compound element parameters out of order\n(The correct order is '[positional], [keywords], [__REST__]'.)",
                );
                order_reported = true;
            }
            scope.vars.push((var.clone(), String::new()));
            out.push((var, keyword));
        }
        out
    }

    /// Counts the ports of a compound's or group's `input` (`output`)
    /// pseudo-element and checks they are used as Click requires. Only
    /// connections from index `since` on can involve it.
    fn check_pseudo(
        &mut self,
        scope: &mut Scope,
        (which, since): (usize, usize),
        is_output: bool,
        name: &str,
        at: &Range<usize>,
    ) -> usize {
        let (side, other) = if is_output {
            ("output", "input")
        } else {
            ("input", "output")
        };
        let used_side = if is_output { 0 } else { 1 };
        let count = scope.nports[which][used_side];
        if scope.nports[which][1 - used_side] > 0 {
            self.error(
                at,
                format!("'{name}' pseudoelement '{side}' may only be used as {other}"),
            );
        }
        let mut used = vec![false; count];
        for c in &scope.connections[since..] {
            let (element, port) = if is_output {
                (c.to, c.to_port)
            } else {
                (c.from, c.from_port)
            };
            if element == which {
                used[port] = true;
            }
        }
        for (port, _) in used.iter().enumerate().filter(|(_, u)| !**u) {
            self.error(at, format!("'{name}' {side} {port} missing"));
        }
        count
    }

    // ---- require and define ----

    fn config_text(&self, w: &ast::Word) -> String {
        strip_directives(&w.text)
    }

    fn require(&mut self, text: &ast::Word) {
        for arg in split_args(&self.config_text(text)) {
            let words = split_words(&arg);
            let Some(first) = words.first() else { continue };
            let (kind, value) = match (first.as_str(), words.len()) {
                ("compact_config", 1) => ("compact_config", None),
                ("package", 2) => ("package", Some(unquote(&words[1]))),
                ("library", 2) => {
                    self.library(&unquote(&words[1]), &text.at);
                    continue;
                }
                (_, 1) if !matches!(first.as_str(), "package" | "library") => {
                    ("package", Some(unquote(first)))
                }
                _ => {
                    self.error(&text.at, "syntax error at requirement");
                    continue;
                }
            };
            let text_out = match value {
                Some(v) => format!("{kind} {}", quote(&v)),
                None => kind.to_string(),
            };
            let span = self.span(&text.at);
            self.requirements.push(Requirement {
                text: text_out,
                span,
            });
        }
    }

    /// `require(library FILE)`: reads FILE's statements into the file scope.
    fn library(&mut self, file: &str, at: &Range<usize>) {
        if self.scope.depth > 0 {
            self.error(at, "'require library' must be used at file scope");
            return;
        }
        let Some(path) = self.find_library(file) else {
            self.error(at, format!("library '{file}' not found in CLICKPATH/conf"));
            return;
        };
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if self.libraries.contains(&canonical) {
            return;
        }
        self.libraries.push(canonical);
        let bytes = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => return self.error(at, format!("{}: {e}", path.display())),
        };
        let map = Arc::new(SourceMap::from_bytes(&path.to_string_lossy(), &bytes));
        self.sources.push(map.clone());
        self.errors.extend(map.errors.iter().cloned());
        match ast::parse(&map) {
            Ok(stmts) => {
                let outer = std::mem::replace(&mut self.map, map);
                self.statements(&stmts);
                self.map = outer;
            }
            Err(d) => self.errors.push(d),
        }
    }

    /// Click looks beside the including file, then along CLICKPATH.
    fn find_library(&self, file: &str) -> Option<PathBuf> {
        let here = Path::new(&*self.map.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let here = if here.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            here
        };
        let clickpath = std::env::var("CLICKPATH").unwrap_or_default();
        let from_env = clickpath
            .split(':')
            .filter(|s| !s.is_empty())
            .flat_map(|d| [PathBuf::from(d).join("conf"), PathBuf::from(d)]);
        std::iter::once(here)
            .chain(self.search_path.iter().cloned())
            .chain(from_env)
            .map(|dir| dir.join(file))
            .find(|p| p.is_file())
    }

    fn define(&mut self, text: &ast::Word) {
        // Click's `yvar`: arguments split as `cp_argvec` does, then the first
        // word (`cp_shift_spacevec`) names the variable and the rest, as
        // written, is its value.
        for arg in split_args(&self.config_text(text)) {
            if arg.is_empty() {
                continue;
            }
            let (var, value) = pop_word(&arg);
            let name = var.strip_prefix('$').unwrap_or("");
            if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                self.error(&text.at, "bad 'define' declaration: not a variable");
            } else if self.scope.vars.iter().any(|(n, _)| n == name) {
                self.error(&text.at, format!("parameter '${name}' multiply defined"));
            } else {
                self.scope.vars.push((name.to_string(), value));
            }
        }
    }

    // ---- connections ----

    fn nested(&self) -> bool {
        self.scope.depth > 0 || self.group_depth > 0
    }

    fn connection(&mut self, c: &ast::Connection) {
        let last = c.lists.len() - 1;
        let mut previous: Option<Vec<Ep>> = None;
        for (i, list) in c.lists.iter().enumerate() {
            // After an error that left nothing to connect, the chain ends.
            let Some(current) = self.element_list(c, i, i == last, list) else {
                return;
            };
            if current.is_empty() {
                return;
            }
            match previous {
                None => {
                    self.check_useless(&current, 0, &c.at, "input ports ignored at start of chain")
                }
                Some(outputs) => {
                    let arrow = &c.arrows[i - 1];
                    self.connect_lists(&outputs, &current, arrow.many, &arrow.at);
                }
            }
            previous = Some(current);
        }
        if let Some(list) = previous {
            self.check_useless(&list, 1, &c.at, "output ports ignored at end of chain");
        }
    }

    fn check_useless(&mut self, list: &[Ep], side: usize, at: &Range<usize>, message: &str) {
        let implicit = |e: &Ep| {
            Some(&e.element)
                == self
                    .scope
                    .names
                    .get(if side == 0 { "input" } else { "output" })
        };
        if list
            .iter()
            .any(|e| !e.sides[side].is_empty() && !implicit(e))
        {
            self.error(at, message);
        }
    }

    /// Resolves one element list of a connection. `None` after a syntax
    /// error that ends the connection.
    fn element_list(
        &mut self,
        c: &ast::Connection,
        i: usize,
        is_last: bool,
        list: &[Endpoint],
    ) -> Option<Vec<Ep>> {
        if list.is_empty() {
            return self.implicit_end(c, i, is_last, None).map(|e| vec![e]);
        }
        // Groups and anonymous compounds are built first, as Click's parser
        // meets them; named elements are created once the list is complete.
        let classes: Vec<Option<Class>> = list.iter().map(|e| self.nested_class(e)).collect();
        let groups: Vec<Option<Ep>> = list.iter().map(|e| self.group(e)).collect();
        let spread = self.spread_declaration(c, list, classes.last().cloned().flatten());
        let mut eps = Vec::with_capacity(list.len());
        for (k, e) in list.iter().enumerate() {
            let ep = match (&e.elem, &groups[k]) {
                (_, Some(group)) => Some(group.clone()),
                (None, _) => self.implicit_end(c, i, is_last, Some(e)),
                (Some(elem), _) => self.element(e, elem, classes[k].clone(), spread.as_ref()),
            };
            eps.extend(ep);
        }
        Some(eps)
    }

    /// The class of `{...}` or `name :: {...}`, built in place.
    fn nested_class(&mut self, e: &Endpoint) -> Option<Class> {
        match &e.elem {
            Some(Elem::Compound { compound, .. }) => Some(self.compound("", compound)),
            Some(Elem::Named {
                class: Some(ClassRef::Compound(compound)),
                ..
            }) => Some(self.compound("", compound)),
            _ => None,
        }
    }

    /// `a, b, c :: Class(config);` declares all three alike, and so does
    /// `a, b :: { ... }` with an anonymous compound (`built`, the class of
    /// the list's last endpoint when it is one).
    fn spread_declaration(
        &mut self,
        c: &ast::Connection,
        list: &[Endpoint],
        built: Option<Class>,
    ) -> Option<(Spread, Option<ast::Word>)> {
        if c.lists.len() != 1 || list.len() < 2 {
            return None;
        }
        let bare = |e: &Endpoint| {
            e.inputs.is_none()
                && e.outputs.is_none()
                && matches!(
                    &e.elem,
                    Some(Elem::Named {
                        class: None,
                        config: None,
                        ..
                    })
                )
        };
        let (last, rest) = list.split_last()?;
        if !rest.iter().all(bare) || last.inputs.is_some() || last.outputs.is_some() {
            return None;
        }
        match &last.elem {
            Some(Elem::Named {
                class: Some(ClassRef::Name(class)),
                config,
                ..
            }) => Some((Spread::Named(class.clone()), config.clone())),
            Some(Elem::Named {
                class: Some(ClassRef::Compound(_)),
                config,
                ..
            }) => Some((Spread::Built(built?), config.clone())),
            _ => None,
        }
    }

    /// The implicit `input` (chain start) or `output` (chain end) of a
    /// compound or group, optionally with ports (`[1] -> x`, `x -> [2]`).
    fn implicit_end(
        &mut self,
        c: &ast::Connection,
        i: usize,
        is_last: bool,
        e: Option<&Endpoint>,
    ) -> Option<Ep> {
        let at_start = i == 0;
        if !self.nested() || !(at_start || is_last) {
            // Click reports the lexeme where an element was expected, on
            // its own line: the next arrow in `a ->` / `-> b`, or whatever
            // follows a final arrow.
            let at = match e {
                Some(e) => e.at.clone(),
                None if at_start => c.arrows[0].at.clone(),
                None => ast::token_range(&self.map.text, c.arrows[i - 1].at.end),
            };
            let near = match e {
                Some(_) => "stranded port ignored".to_string(),
                None => format!("syntax error near '{}'", &self.map.text[at.clone()]),
            };
            self.error(&at, near);
            return None;
        }
        let name = if at_start { "input" } else { "output" };
        let element = *self.scope.names.get(name)?;
        // Shown as the ports written, or the arrow that implies it.
        let at = match e {
            Some(e) => e.at.clone(),
            None => {
                let arrow = if at_start {
                    c.arrows.first()
                } else {
                    c.arrows.get(i - 1)
                };
                arrow.map_or(0..0, |a| a.at.clone())
            }
        };
        let mut ep = Ep {
            element,
            sides: Default::default(),
            at,
        };
        if let Some(ports) = e.and_then(|e| e.inputs.as_ref()) {
            // Ports before `->` are the outputs of `input`.
            ep.sides[if at_start { 1 } else { 0 }] = self.port_spec(ports);
        }
        Some(ep)
    }

    /// Reads a port list as Click's `yport` does: numbers (Click's integer
    /// syntax) separated by `,` or by `-` for a range (`[0-2]` is
    /// `[0,1,2]`, `[3-1]` is `[3]`); `]` where a number is expected makes
    /// the list expandable (`[]`, `[2,]`, `[2-]`).
    fn port_spec(&mut self, p: &ast::Ports) -> PortSpec {
        use ast::PortToken;
        let mut ports: Vec<usize> = Vec::new();
        let mut expandable = false;
        let mut last: i64 = -1;
        let mut dash = false;
        let mut tokens = p.tokens.iter().peekable();
        loop {
            // A number, or `]`.
            match tokens.next() {
                None => {
                    if ports.is_empty() {
                        ports.push(0);
                    }
                    expandable = true;
                    break;
                }
                Some(PortToken::Number(w)) => {
                    let port = match u32::from_arg(&w.text) {
                        Ok(n) if n < MAX_PORT => n as usize,
                        _ => {
                            self.error(&w.at, "syntax error: port number should be integer");
                            0
                        }
                    };
                    if dash {
                        let from = usize::try_from(last + 1).unwrap_or(0);
                        if ports.len() + port.saturating_sub(from) > MAX_PORT as usize {
                            self.error(&w.at, "too many ports in one list");
                            break;
                        }
                        ports.extend(from..=port);
                        last = last.max(port as i64);
                    } else {
                        ports.push(port);
                        last = port as i64;
                    }
                }
                Some(PortToken::Comma(at) | PortToken::Dash(at)) => {
                    self.error(at, "syntax error: expected port number");
                    break;
                }
            }
            // `]`, `,` or `-`.
            match tokens.peek() {
                None => break,
                Some(PortToken::Dash(_)) if !dash => dash = true,
                Some(PortToken::Comma(_)) => dash = false,
                Some(PortToken::Number(Word { at, .. }) | PortToken::Dash(at)) => {
                    // Click complains and reads the token again as a number.
                    self.error(at, "syntax error: expected ','");
                    continue;
                }
            }
            tokens.next();
        }
        if ports.is_empty() {
            ports.push(0);
        }
        PortSpec {
            ports,
            expandable,
            at: Some(p.at.clone()),
        }
    }

    /// `( ... )`: a group shares the scope but has its own `input`/`output`.
    fn group(&mut self, e: &Endpoint) -> Option<Ep> {
        let Some(Elem::Group { stmts, at }) = &e.elem else {
            return None;
        };
        let name = self.scope.anonymous_name("");
        let span = self.span(at);
        let t = self.scope.add_tunnels(&name, &span);
        let since = self.scope.connections.len();
        let saved = [
            self.scope.names.insert("input".into(), t.input),
            self.scope.names.insert("output".into(), t.output),
        ];
        self.group_depth += 1;
        self.statements(stmts);
        self.group_depth -= 1;
        for (key, old) in ["input", "output"].into_iter().zip(saved) {
            match old {
                Some(old) => self.scope.names.insert(key.into(), old),
                None => self.scope.names.remove(key),
            };
        }
        let mut scope = std::mem::take(&mut self.scope);
        let nin = self.check_pseudo(&mut scope, (t.input, since), false, "<anonymous group>", at);
        let nout = self.check_pseudo(&mut scope, (t.output, since), true, "<anonymous group>", at);
        self.scope = scope;
        // An unported group side implies all of the group's ports.
        let mut sides = [
            self.optional_ports(&e.inputs),
            self.optional_ports(&e.outputs),
        ];
        for (side, n) in sides.iter_mut().zip([nin, nout]) {
            if side.is_empty() {
                side.ports = (0..n).collect();
            }
        }
        Some(Ep {
            element: t.outer,
            sides,
            at: e.at.clone(),
        })
    }

    fn optional_ports(&mut self, p: &Option<ast::Ports>) -> PortSpec {
        p.as_ref().map(|p| self.port_spec(p)).unwrap_or_default()
    }

    /// A named or anonymous element in a connection: Click's rules for
    /// telling declarations, references and classes apart.
    fn element(
        &mut self,
        e: &Endpoint,
        elem: &Elem,
        built: Option<Class>,
        spread: Option<&(Spread, Option<ast::Word>)>,
    ) -> Option<Ep> {
        let sides = [
            self.optional_ports(&e.inputs),
            self.optional_ports(&e.outputs),
        ];
        let element = match elem {
            Elem::Group { .. } => return None,
            Elem::Compound { config, .. } => {
                let class = built?;
                let config = config
                    .as_ref()
                    .map(|c| self.config_text(c))
                    .unwrap_or_default();
                let name = self.scope.anonymous_name("");
                let span = self.span(&e.at);
                self.scope.add(name, true, Kind::Class(class), config, span)
            }
            Elem::Named {
                name,
                class,
                config,
            } => {
                let (declared, config) = match (class, config, spread) {
                    (None, None, Some((Spread::Named(c), cfg))) => {
                        (Some(self.declared_class(c)), cfg.as_ref())
                    }
                    (None, None, Some((Spread::Built(c), cfg))) => (Some(c.clone()), cfg.as_ref()),
                    (Some(ClassRef::Name(c)), cfg, _) => {
                        (Some(self.declared_class(c)), cfg.as_ref())
                    }
                    (Some(ClassRef::Compound(_)), cfg, _) => (built, cfg.as_ref()),
                    (None, cfg, _) => (None, cfg.as_ref()),
                };
                self.named(name, declared, config)
            }
        };
        let at = match elem {
            Elem::Named { name, .. } => name.at.clone(),
            _ => e.at.clone(),
        };
        Some(Ep { element, sides, at })
    }

    /// The class `c` names in a declaration (`x :: c`).
    fn declared_class(&mut self, c: &ast::Word) -> Class {
        self.declared.insert(c.text.clone());
        self.force_class(&c.text)
    }

    fn named(
        &mut self,
        name: &ast::Word,
        declared: Option<Class>,
        config: Option<&ast::Word>,
    ) -> usize {
        let span = self.span(&name.at);
        let config_text = config.map(|c| self.config_text(c)).unwrap_or_default();
        if let Some(class) = self.lookup_class(&name.text) {
            if declared.is_some() {
                self.error(
                    &name.at,
                    format!("class '{}' used as element name", name.text),
                );
            }
            // A word first met bare is still only a guess at a class name.
            let implicit = !self.classes.iter().any(|(n, _)| *n == name.text)
                && !self.declared.contains(&name.text);
            let anon = self.scope.anonymous_name(&name.text);
            let index = self
                .scope
                .add(anon, true, Kind::Class(class), config_text, span);
            self.scope.elements[index].implicit = implicit && declared.is_none();
            return index;
        }
        if let Some(&index) = self.scope.names.get(&name.text) {
            if declared.is_some() {
                self.error(
                    &name.at,
                    format!("redeclaration of element '{}'", name.text),
                );
                let previous = self.scope.elements[index].clone();
                if !matches!(previous.kind, Kind::Tunnel) {
                    let message = format!("element '{}' previously declared here", name.text);
                    self.errors.push(Diagnostic::new(previous.span, message));
                }
            } else if config.is_some() {
                self.error(
                    &name.at,
                    "configuration string ignored on element reference",
                );
            }
            return index;
        }
        let Some(class) = declared else {
            // Not an element in scope: a class used in place, like `Idle`.
            let class = self.force_class(&name.text);
            let anon = self.scope.anonymous_name(&name.text);
            self.check_name(&anon, &name.at);
            let index = self
                .scope
                .add(anon, true, Kind::Class(class), config_text, span);
            self.scope.elements[index].implicit = true;
            return index;
        };
        self.check_name(&name.text, &name.at);
        self.scope.add(
            name.text.clone(),
            false,
            Kind::Class(class),
            config_text,
            span,
        )
    }

    /// Click refuses names with an all-digit component, like `12/x`.
    fn check_name(&mut self, name: &str, at: &Range<usize>) {
        if name
            .split('/')
            .any(|part| part.bytes().all(|b| b.is_ascii_digit()))
        {
            self.error(at, format!("element name '{name}' has all-digit component"));
        }
    }

    /// Connects two element lists (Click's `yconnection_connect_all`):
    /// pairs output ports with input ports, expanding `=>` port lists.
    fn connect_lists(&mut self, outputs: &[Ep], inputs: &[Ep], many: bool, at: &Range<usize>) {
        let lists = [inputs, outputs];
        let mut minp = [0usize; 2];
        let mut expandable = [0usize; 2];
        for k in 0..2 {
            for e in lists[k] {
                let s = &e.sides[k];
                if s.expandable {
                    minp[k] += s.ports.len();
                    expandable[k] += 1;
                } else {
                    minp[k] += s.ports.len().max(1);
                }
            }
        }
        if expandable[0] + expandable[1] > 1 {
            self.error(at, "at most one expandable port allowed per connection");
            expandable[usize::from(minp[0] < minp[1])] = 0;
        }
        if many {
            // `=>` reads missing ports as expandable ones.
            for k in 0..2 {
                if minp[k] == 1 && minp[1 - k] > 1 && lists[k][0].sides[k].is_empty() {
                    expandable[k] = 1;
                }
            }
        }
        let mut step = [false; 2];
        let mut nexpandable = [0isize; 2];
        for k in 0..2 {
            step[k] = minp[k] > 1 || expandable[k] > 0;
            if expandable[k] > 0 {
                nexpandable[k] = minp[1 - k] as isize - minp[k] as isize;
            }
        }
        if step[0] && step[1] {
            let (nin, nout) = (minp[0], minp[1]);
            if !many {
                self.error(at, "syntax error: many-to-many connections require '=>'");
            }
            if expandable == [0, 0] && nin != nout {
                self.error(
                    at,
                    format!("connection mismatch: {nout} outputs connected to {nin} inputs"),
                );
            } else if expandable[0] == 0 && nin < nout {
                self.error(
                    at,
                    format!(
                        "connection mismatch: {nout} or more outputs connected to {nin} inputs"
                    ),
                );
            } else if expandable[1] == 0 && nout < nin {
                self.error(
                    at,
                    format!(
                        "connection mismatch: {nout} outputs connected to {nin} or more inputs"
                    ),
                );
            }
        } else if !step[0] && !step[1] {
            step[0] = true;
        }
        self.pair_ports(lists, step, minp, nexpandable);
    }

    fn pair_ports(
        &mut self,
        lists: [&[Ep]; 2],
        step: [bool; 2],
        minp: [usize; 2],
        mut nexpandable: [isize; 2],
    ) {
        let mut it = [0usize; 2];
        let mut ppos = [0usize; 2];
        let mut port: [Option<usize>; 2] = [None, None];
        #[allow(clippy::needless_range_loop)] // k picks the side in several arrays
        while it[0] < lists[0].len() && it[1] < lists[1].len() {
            let side = |k: usize, it: &[usize; 2]| &lists[k][it[k]].sides[k];
            for k in 0..2 {
                if port[k].is_none() {
                    port[k] = Some(side(k, &it).ports.first().copied().unwrap_or(0));
                }
            }
            let (to, from) = (&lists[0][it[0]], &lists[1][it[1]]);
            let at = ConnectionSpan {
                from: self.span(from.sides[1].at.as_ref().unwrap_or(&from.at)),
                to: self.span(to.sides[0].at.as_ref().unwrap_or(&to.at)),
            };
            self.scope.connect(
                from.element,
                port[1].unwrap_or(0),
                to.element,
                port[0].unwrap_or(0),
                at,
            );
            for k in (0..2).filter(|&k| step[k]) {
                let s = side(k, &it);
                ppos[k] += 1;
                if ppos[k] < s.ports.len() {
                    port[k] = Some(s.ports[ppos[k]]);
                } else if s.expandable && nexpandable[k] > 0 {
                    let last = s.ports.len() - 1;
                    port[k] = Some(s.ports[last] + ppos[k] - last);
                    nexpandable[k] -= 1;
                } else if s.is_empty() && minp[k] == 1 && nexpandable[k] > 0 {
                    port[k] = Some(ppos[k]);
                    nexpandable[k] -= 1;
                } else {
                    port[k] = None;
                    ppos[k] = 0;
                    it[k] += 1;
                }
            }
        }
    }
}

/// Click's `cp_quote` for requirement values: always double-quoted.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out + "\""
}
