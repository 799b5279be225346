//! Script: Click's scripting element, and the machinery DriverManager
//! shares (a DriverManager is a Script whose TYPE defaults to DRIVER).
//!
//! The configuration is compiled once into a [`Program`] (instructions,
//! labels resolved); everything that changes while it runs lives in
//! [`State`], behind a `RefCell` so that the `&self` read handlers (`run`,
//! `shift`) can run it too. The step machine is a port of Click's
//! `Script::step`, so blocking, stepping, jumps and driver stop events
//! behave the same. It reaches the rest of the router through [`Env`]:
//! the engine's [`Ctx`] while it runs, or nothing when it runs from a read
//! handler (which gets no context in this engine: such a run cannot call
//! other elements' handlers, wait or stop).

mod builtin;
mod expand;

use std::cell::RefCell;
use std::io::Write;
use std::time::Duration;

use click_engine::args::{pop_word, split_words, uncomment, unquote, Args, FromArg, Raw};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::Timer;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Port};

use expand::RefKind;

/// `Script([TYPE, INSTRUCTIONS...])`: runs a small script that reads and
/// writes handlers, waits, loops and stops the router (Click's Script).
///
/// * TYPE: `ACTIVE` (default: runs at start), `PASSIVE` (runs when its
///   `run` handler is called), `DRIVER` (also decides when the router
///   stops, as DriverManager), `PACKET`/`PUSH` (runs once per packet
///   pushed in; `return N` sends it to output N, anything else drops it),
///   `SIGNAL SIG...` (runs when one of the Unix signals arrives, by name
///   such as `INT`, `USR1` or number; it catches them again when it ends
///   with `end`, not with `exit`, and a signal with no catch left ends
///   the process; several SIGNAL scripts may share a signal; one catching
///   `INT` or `TERM` replaces the router's own stop on it).
/// * Instructions: `set`/`setq VAR TEXT`, `init`/`initq`/`export VAR TEXT`,
///   `print`/`printn`/`printq`/`printnq [>FILE|>>FILE] TEXT|HANDLER`,
///   `save`/`append`, `read`/`readq HANDLER [ARGS]` (to standard error),
///   `write`/`writeq HANDLER [ARGS]`, `pause`/`wait_step`/`wait_stop [N]`,
///   `wait`/`wait_time`/`wait_for TIME` (`wait` alone pauses), `label L`,
///   `goto L [COND]` (L may be `begin`, `loop`, `end`, `exit`, `error`),
///   `loop`, `return`/`returnq [VALUE]`, `stop`, `end`, `exit`,
///   `error`/`errorq [MSG]`.
/// * Substitutions: `$VAR`, `${VAR}`, `$(HANDLER ARGS)`, `$?` (last write
///   status), `$args`, `$1`..., `$#`, `$0`, `$write`, `$input`, `$$`
///   (the process ID).
/// * Ports: none, except PACKET scripts (any number in and out, push).
/// * Handlers: `step`, `goto` (write), `run` (read with arguments, write),
///   `get`, `shift` (read with arguments), `set` (write), the built-ins
///   `add sub mul div idiv min max mod rem neg abs eq ne lt gt le ge not
///   and or nand nor if in first sprintf random now length unquote htons
///   htonl ntohs ntohl cat kill` (read with arguments; `kill [SIG] PID...`
///   sends a signal, TERM by default), and each `export`ed
///   variable (read).
///
/// A script that jumps 1000 times without blocking is disabled with
/// "too many jumps, giving up", as in Click. `print` writes to standard
/// output (or a file); `read` and run-time errors go to standard error.
///
/// A script run in the middle of a push (by a Counter's `COUNT_CALL`, say)
/// that reads an element upstream, still busy with that push, waits: it
/// goes on from that instruction as soon as the push returns, when the
/// element reads as Click would show it. A PACKET script cannot wait for
/// its packet, and gets the error `ELEMENT: busy`.
pub struct Script {
    prog: Program,
    state: RefCell<State>,
}

/// What a Script runs as (Click's `_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Active,
    Passive,
    Driver,
    Packet,
    /// Runs when one of its signals arrives (Program::signals).
    Signal,
}

/// Where a `goto` leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Pos(usize),
    Exit,
    End,
    Error,
}

#[derive(Debug, Clone)]
enum Insn {
    /// Added before a first instruction that does not block, so an
    /// active script takes one step to start (Click's INSN_INITIAL).
    Initial,
    WaitStep(u32),
    WaitTime(String),
    Print {
        text: String,
        newline: bool,
        unquote: bool,
    },
    Read {
        text: String,
        unquote: bool,
    },
    Write {
        text: String,
        unquote: bool,
    },
    Set {
        var: usize,
        text: String,
        unquote: bool,
        ret: bool,
    },
    /// `init`/`export`: done once at initialization.
    Init,
    Stop,
    End,
    Exit,
    Label,
    Goto {
        target: Target,
        cond: String,
    },
    Error {
        msg: String,
        unquote: bool,
    },
}

/// A compiled script.
#[derive(Debug)]
struct Program {
    /// `name :: Class`, for messages.
    decl: String,
    name: String,
    kind: Kind,
    insns: Vec<Insn>,
    labels: Vec<(String, usize)>,
    /// Variable names; values live in [`State::vars`].
    var_names: Vec<String>,
    /// `(variable, text, unquote)` for `init`/`export` instructions.
    inits: Vec<(usize, String, bool)>,
    exports: Vec<usize>,
    noutputs: usize,
    /// The signals of a SIGNAL script.
    signals: Vec<i32>,
}

/// A script's run-time state.
#[derive(Debug, Default)]
struct State {
    pos: usize,
    step_count: i64,
    /// Steps taken at each `pause` (Click's `_args2`).
    wait_done: Vec<u32>,
    initial_pending: bool,
    vars: Vec<String>,
    run_args: String,
    run_handler: String,
    run_write: bool,
    write_status: i32,
    /// Variables created at run time by the `set` handler.
    dyn_vars: Vec<(String, String)>,
    /// Steps requested while stepping (Click's `_cur_steps`).
    cur_steps: Option<i64>,
    /// A read in the current instruction found its element on the call
    /// stack: the instruction runs again, from the start, once the call
    /// that led here returns (see `Program::run_steps`).
    suspended: bool,
    errors: u64,
    /// A driver step took its stop event (raised the run count again); a
    /// driver whose step did not (it stopped or ended) stops the router.
    took_stop: bool,
}

/// How a step was requested (Click's step types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepType {
    Normal,
    /// A driver stop event: the run count is at or below zero.
    Router,
    Timer,
    Jump,
}

/// Click's limit on jumps without blocking.
const MAX_JUMPS: u32 = 1000;
/// Bound on the stop events one driver task run handles.
const MAX_DRIVER_STEPS: u32 = 10_000;

/// What the step machine needs from the router.
trait Env {
    fn read(&mut self, element: &str, handler: &str) -> Result<String, String>;
    fn write(&mut self, element: &str, handler: &str, value: &str) -> Result<(), String>;
    /// A global write handler other than `stop` and `timewarp` (the
    /// driver's `hotconfig`).
    fn write_global(&mut self, handler: &str, value: &str) -> Result<(), String>;
    /// Whether `element` is on the call stack, so that a read of it fails
    /// now but would succeed once the current call returns.
    fn is_busy(&mut self, element: &str) -> bool;
    fn schedule_after(&mut self, delay: Duration);
    fn unschedule_timer(&mut self);
    fn adjust_runcount(&mut self, delta: i32);
    /// The router's wall-clock time (virtual under `--simtime`).
    fn timestamp(&mut self) -> Option<click_engine::packet::Timestamp>;
    /// The router's global `timewarp` handler.
    fn timewarp(&mut self, set: Option<f64>) -> Result<String, String>;
}

struct CtxEnv<'a, 'b>(&'a mut Ctx<'b>);

impl Env for CtxEnv<'_, '_> {
    fn read(&mut self, element: &str, handler: &str) -> Result<String, String> {
        self.0.read_handler(element, handler)
    }
    fn write(&mut self, element: &str, handler: &str, value: &str) -> Result<(), String> {
        self.0.write_handler(element, handler, value)
    }
    fn write_global(&mut self, handler: &str, value: &str) -> Result<(), String> {
        self.0.write_global(handler, value)
    }
    fn is_busy(&mut self, element: &str) -> bool {
        self.0.is_busy(element)
    }
    fn schedule_after(&mut self, delay: Duration) {
        self.0.schedule_after(delay);
    }
    fn unschedule_timer(&mut self) {
        self.0.unschedule_timer();
    }
    fn adjust_runcount(&mut self, delta: i32) {
        self.0.adjust_runcount(delta);
    }
    fn timestamp(&mut self) -> Option<click_engine::packet::Timestamp> {
        Some(self.0.timestamp())
    }
    fn timewarp(&mut self, set: Option<f64>) -> Result<String, String> {
        match set {
            None => Ok(self.0.timewarp()),
            Some(f) => self.0.set_timewarp(f).map(|()| String::new()),
        }
    }
}

/// The environment of a run started by a read handler: no router access.
struct NoEnv;

const NO_ROUTER: &str = "a Script run from a read handler cannot reach other elements";

impl Env for NoEnv {
    fn read(&mut self, _: &str, _: &str) -> Result<String, String> {
        Err(NO_ROUTER.into())
    }
    fn write(&mut self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Err(NO_ROUTER.into())
    }
    fn write_global(&mut self, _: &str, _: &str) -> Result<(), String> {
        Err(NO_ROUTER.into())
    }
    fn is_busy(&mut self, _: &str) -> bool {
        false
    }
    fn schedule_after(&mut self, _: Duration) {}
    fn unschedule_timer(&mut self) {}
    fn adjust_runcount(&mut self, _: i32) {}
    fn timestamp(&mut self) -> Option<click_engine::packet::Timestamp> {
        None
    }
    fn timewarp(&mut self, _: Option<f64>) -> Result<String, String> {
        Err(NO_ROUTER.into())
    }
}

impl ElementClass for Script {
    const CLASS: &'static str = "Script";
    const PORT_COUNT: &'static str = "-/-";
    const PROCESSING: &'static str = click_engine::PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Script::build(args, ctx, Self::CLASS, Kind::Active)
    }
}

impl Script {
    /// Compiles the configuration; `default` is the TYPE when none is
    /// given (DriverManager passes DRIVER).
    pub(crate) fn build(
        args: &mut Args,
        ctx: &ConfigureCtx,
        class: &str,
        default: Kind,
    ) -> Result<Self, String> {
        let mut signals = Vec::new();
        let kind = match args.read::<Raw>("TYPE")? {
            None => default,
            Some(Raw(t)) => match split_words(&t).as_slice() {
                [w] if w == "ACTIVE" => Kind::Active,
                [w] if w == "PASSIVE" => Kind::Passive,
                [w] if w == "DRIVER" => Kind::Driver,
                [w] if w == "PACKET" || w == "PUSH" => Kind::Packet,
                [w, names @ ..] if w == "SIGNAL" && !names.is_empty() => {
                    for name in names {
                        let signal = click_engine::signals::parse_signal(name)
                            .filter(|&s| s < 32)
                            .ok_or("bad signal number")?;
                        signals.push(signal);
                    }
                    Kind::Signal
                }
                [w, ..] if w == "SIGNAL" => return Err("bad signal number".into()),
                _ => return Err("bad TYPE".into()),
            },
        };
        if kind == Kind::Packet && ctx.ninputs() == 0 {
            return Err("PACKET script must have inputs".into());
        }
        if kind != Kind::Packet && (ctx.ninputs() > 0 || ctx.noutputs() > 0) {
            return Err("ports allowed only on PACKET scripts".into());
        }
        let mut prog = Program {
            decl: format!("{} :: {class}", ctx.name),
            name: ctx.name.to_string(),
            kind,
            insns: Vec::new(),
            labels: Vec::new(),
            var_names: Vec::new(),
            inits: Vec::new(),
            exports: Vec::new(),
            noutputs: ctx.noutputs(),
            signals,
        };
        let mut errors = Vec::new();
        let mut gotos = Vec::new();
        for arg in args.rest() {
            if let Err(e) = prog.compile(&arg, &mut gotos) {
                errors.push(e);
            }
        }
        for (i, label) in gotos {
            match prog.find_label(&label) {
                Some(t) => {
                    if let Insn::Goto { target, .. } = &mut prog.insns[i] {
                        *target = t;
                    }
                }
                None => errors.push(format!("no such label '{label}'")),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        if prog.insns.is_empty() && kind == Kind::Driver {
            prog.add(Insn::WaitStep(1));
        }
        prog.add(if kind == Kind::Driver {
            Insn::Stop
        } else {
            Insn::End
        });
        let state = State {
            wait_done: vec![0; prog.insns.len()],
            vars: vec![String::new(); prog.var_names.len()],
            ..State::default()
        };
        Ok(Script {
            prog,
            state: RefCell::new(state),
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        self.prog.kind
    }
}

impl Program {
    fn add(&mut self, insn: Insn) {
        if self.insns.is_empty()
            && !matches!(insn, Insn::Initial | Insn::WaitStep(_) | Insn::WaitTime(_))
        {
            self.insns.push(Insn::Initial);
        }
        self.insns.push(insn);
    }

    fn variable(&mut self, name: &str) -> usize {
        match self.var_names.iter().position(|v| v == name) {
            Some(i) => i,
            None => {
                self.var_names.push(name.to_string());
                self.var_names.len() - 1
            }
        }
    }

    fn find_label(&self, label: &str) -> Option<Target> {
        if let Some((_, pos)) = self.labels.iter().find(|(l, _)| l == label) {
            return Some(Target::Pos(*pos));
        }
        match label {
            "exit" => Some(Target::Exit),
            "end" => Some(Target::End),
            "error" => Some(Target::Error),
            "begin" | "loop" => Some(Target::Pos(0)),
            _ => None,
        }
    }

    /// Compiles one instruction; `gotos` collects jumps to resolve.
    ///
    /// Click says `syntax error at 'wait'` for a bad time; the time is
    /// what is wrong, so it is named instead (see [`wait_time`]).
    fn compile(&mut self, arg: &str, gotos: &mut Vec<(usize, String)>) -> Result<(), String> {
        let (word, rest) = pop_word(arg);
        let syntax = || format!("syntax error at '{word}'");
        let text = rest.clone();
        match word.as_str() {
            "" => {}
            "wait" | "pause" | "wait_step" | "wait_stop" if word != "wait" || rest.is_empty() => {
                let n = if rest.is_empty() {
                    1
                } else {
                    u32::from_arg(&rest).map_err(|_| syntax())?
                };
                self.add(Insn::WaitStep(n));
            }
            "wait" | "wait_time" | "wait_for" => {
                if !rest.contains('$') {
                    wait_time(&word, &rest)?;
                }
                self.add(Insn::WaitTime(rest));
            }
            "print" | "printn" | "printq" | "printnq" => self.add(Insn::Print {
                text,
                newline: !word.starts_with("printn"),
                unquote: word.ends_with('q'),
            }),
            "save" | "append" => {
                let (what, file) = pop_word(&rest);
                if what.is_empty() {
                    return Err(syntax());
                }
                let file = if file.is_empty() { "-".into() } else { file };
                let redirect = if word == "save" { ">" } else { ">>" };
                self.add(Insn::Print {
                    text: format!("{redirect}{file} {what}"),
                    newline: true,
                    unquote: false,
                });
            }
            "read" | "readq" => self.add(Insn::Read {
                text,
                unquote: word == "readq",
            }),
            "write" | "writeq" => self.add(Insn::Write {
                text,
                unquote: word == "writeq",
            }),
            "set" | "setq" | "init" | "initq" | "export" | "exportq" | "return" | "returnq" => {
                let ret = word.starts_with("return");
                let (var, value) = if ret {
                    ("_".to_string(), rest)
                } else {
                    pop_word(&rest)
                };
                if var.is_empty() || (word.starts_with("set") && value.is_empty()) {
                    return Err(syntax());
                }
                let v = self.variable(&var);
                let unquote = word.ends_with('q');
                if word.starts_with("init") || word.starts_with("export") {
                    self.inits.push((v, value, unquote));
                    if word.starts_with("export") {
                        self.exports.push(v);
                    }
                    self.add(Insn::Init);
                } else {
                    self.add(Insn::Set {
                        var: v,
                        text: value,
                        unquote,
                        ret,
                    });
                }
            }
            "label" => {
                let (label, more) = pop_word(&rest);
                if label.is_empty() || !more.is_empty() {
                    return Err(syntax());
                }
                self.add(Insn::Label);
                self.labels.push((label, self.insns.len() - 1));
            }
            "goto" => {
                let (label, cond) = pop_word(&rest);
                if label.is_empty() {
                    return Err(syntax());
                }
                self.add(Insn::Goto {
                    target: Target::Exit,
                    cond,
                });
                gotos.push((self.insns.len() - 1, label));
            }
            "loop" | "stop" | "end" | "exit" if !rest.is_empty() => return Err(syntax()),
            "loop" => self.add(Insn::Goto {
                target: Target::Pos(0),
                cond: String::new(),
            }),
            "stop" => self.add(Insn::Stop),
            "end" => self.add(Insn::End),
            "exit" => self.add(Insn::Exit),
            "error" | "errorq" => self.add(Insn::Error {
                msg: rest,
                unquote: word == "errorq",
            }),
            _ => return Err(syntax()),
        }
        Ok(())
    }

    fn report(&self, st: &mut State, msg: &str) {
        st.errors += 1;
        eprintln!("{}: {msg}", self.decl);
    }

    /// A failed `write`: an error of the handler itself comes, as in
    /// Click, under a `While calling 'CALL':` line, indented; one finding
    /// the handler (no such element or write handler) as other errors.
    fn report_write(&self, st: &mut State, call: &str, msg: &str) {
        let (hname, _) = pop_word(call);
        let handler = hname.rsplit_once('.').map_or(hname.as_str(), |(_, h)| h);
        if msg.starts_with("no element named") || msg == format!("no write handler '{handler}'") {
            return self.report(st, msg);
        }
        st.errors += 1;
        let mut out = format!("While calling '{call}':\n");
        for line in msg.lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        eprint!("{out}");
    }

    /// Click's `cp_expand` with this script's variables and handlers.
    fn expand(&self, st: &mut State, text: &str, env: &mut dyn Env) -> String {
        expand::expand(text, 0, false, &mut |name, kind| {
            self.lookup(st, name, kind, env)
        })
    }

    /// Like [`Program::expand`], but values outside quotes come back
    /// quoted, so that unquoting the result gives them exactly.
    fn expand_quoted(&self, st: &mut State, text: &str, env: &mut dyn Env) -> String {
        expand::expand(text, 0, true, &mut |name, kind| {
            self.lookup(st, name, kind, env)
        })
    }

    /// Click's `Script::Expander::expand`.
    fn lookup(
        &self,
        st: &mut State,
        name: &str,
        kind: RefKind,
        env: &mut dyn Env,
    ) -> Option<String> {
        if let Some(i) = self.var_names.iter().position(|v| v == name) {
            return Some(st.vars[i].clone());
        }
        if let Some((_, v)) = st.dyn_vars.iter().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        match name {
            "?" => return Some(st.write_status.to_string()),
            "args" => return Some(st.run_args.clone()),
            "$" => return Some(std::process::id().to_string()),
            "0" => return Some(st.run_handler.clone()),
            "#" => return Some(split_words(&st.run_args).len().to_string()),
            "write" => return Some(builtin::unparse_bool(st.run_write)),
            _ => {}
        }
        if name.starts_with(|c: char| ('1'..='9').contains(&c)) {
            if let Ok(n) = usize::from_arg(name) {
                return Some(
                    split_words(&st.run_args)
                        .into_iter()
                        .nth(n - 1)
                        .unwrap_or_default(),
                );
            }
        }
        if kind == RefKind::Paren {
            match self.call_read(st, name, false, env) {
                Ok(v) => return Some(v),
                Err(_) if st.suspended => {}
                Err(e) => self.report(st, &e),
            }
        }
        None
    }

    /// Resolves `E.H` to (element, handler); `None` for this script's own
    /// (or global) handlers. Names are tried inside this script's compound
    /// first, as Click does.
    fn resolve(&self, hname: &str, env: &mut dyn Env) -> Option<(String, String)> {
        let (element, handler) = hname.rsplit_once('.')?;
        if element == self.name || element.is_empty() {
            return None;
        }
        if let Some((prefix, _)) = self.name.rsplit_once('/') {
            let inner = format!("{prefix}/{element}");
            if inner == self.name {
                return None;
            }
            if env.read(&inner, "name").is_ok() {
                return Some((inner, handler.to_string()));
            }
        }
        Some((element.to_string(), handler.to_string()))
    }

    /// Calls a read handler given as `HANDLER [ARGS]`.
    fn call_read(
        &self,
        st: &mut State,
        text: &str,
        unq: bool,
        env: &mut dyn Env,
    ) -> Result<String, String> {
        let (hname, params) = pop_word(text);
        let params = if unq { unquote(&params) } else { params };
        match self.resolve(&hname, env) {
            None => {
                let h = hname.rsplit_once('.').map_or(hname.as_str(), |(_, h)| h);
                self.local_read(st, h, &params, env)
            }
            Some((element, handler)) => {
                let full = if params.is_empty() {
                    handler
                } else {
                    format!("{handler} {params}")
                };
                let mut v = env.read(&element, &full).inspect_err(|_| {
                    // A packet must be routed now; anything else can wait.
                    if self.kind != Kind::Packet && env.is_busy(&element) {
                        st.suspended = true;
                    }
                })?;
                if v.ends_with('\n') {
                    v.pop();
                }
                Ok(v)
            }
        }
    }

    /// Calls a write handler given as `HANDLER [VALUE]`.
    fn call_write(
        &self,
        st: &mut State,
        text: &str,
        unq: bool,
        env: &mut dyn Env,
    ) -> Result<(), String> {
        let (hname, value) = pop_word(text);
        let value = if unq { unquote(&value) } else { value };
        match self.resolve(&hname, env) {
            None => {
                let h = hname.rsplit_once('.').map_or(hname.as_str(), |(_, h)| h);
                self.local_write(st, h, &value, env).map(|_| ())
            }
            Some((element, handler)) => env.write(&element, &handler, &value),
        }
    }

    /// This script's read handlers (with parameters).
    fn local_read(
        &self,
        st: &mut State,
        h: &str,
        params: &str,
        env: &mut dyn Env,
    ) -> Result<String, String> {
        if h == "timewarp" && params.is_empty() {
            return env.timewarp(None);
        }
        if h == "now" {
            if let Some(t) = env.timestamp() {
                return Ok(builtin::unparse_timestamp(t.as_nanos()));
            }
        }
        if let Some(r) = builtin::call(h, params) {
            return r;
        }
        match h {
            "run" => self.step_handler(st, Step::Run, params, false, env),
            "get" | "shift" => self.var_handler(st, h, params),
            _ => match self.exports.iter().find(|&&v| self.var_names[v] == h) {
                Some(&v) => Ok(st.vars[v].clone()),
                None => Err(format!("no read handler '{h}'")),
            },
        }
    }

    /// This script's write handlers, then the router's global `stop`.
    fn local_write(
        &self,
        st: &mut State,
        h: &str,
        value: &str,
        env: &mut dyn Env,
    ) -> Result<String, String> {
        match h {
            "step" => self.step_handler(st, Step::Step, value, true, env),
            "goto" => self.step_handler(st, Step::Goto, value, true, env),
            "run" => self.step_handler(st, Step::Run, value, true, env),
            "resume" if st.cur_steps.is_none() => {
                self.run_steps(st, 0, StepType::Jump, env);
                Ok(String::new())
            }
            "set" => self.var_handler(st, h, value),
            "stop" => {
                env.adjust_runcount(-1);
                Ok(String::new())
            }
            "timewarp" => {
                let value = value.trim();
                if value == "nowait" {
                    return Err("timewarp nowait is not supported".into());
                }
                let factor: f64 = value.parse().map_err(|_| "expected double".to_string())?;
                env.timewarp(Some(factor))
            }
            _ => env
                .write_global(h, value)
                .map(|()| String::new())
                .map_err(|e| {
                    if e.starts_with("no global handler") {
                        format!("no write handler '{h}'")
                    } else {
                        e
                    }
                }),
        }
    }

    /// Click's `var_handler`: `get VAR`, `shift [VAR]`, `set VAR VALUE`.
    fn var_handler(&self, st: &mut State, what: &str, params: &str) -> Result<String, String> {
        let (mut name, rest) = pop_word(params);
        if name.is_empty() && what == "shift" {
            name = "args".into();
        }
        if name.is_empty() {
            return Err("no variable".into());
        }
        if !rest.is_empty() && what != "set" {
            return Err("too many arguments".into());
        }
        let slot = if name == "args" {
            &mut st.run_args
        } else {
            match self.var_names.iter().position(|v| *v == name) {
                Some(i) => &mut st.vars[i],
                None => match st.dyn_vars.iter().position(|(n, _)| *n == name) {
                    Some(i) => &mut st.dyn_vars[i].1,
                    None if what == "set" => {
                        st.dyn_vars.push((name, String::new()));
                        let last = st.dyn_vars.len() - 1;
                        &mut st.dyn_vars[last].1
                    }
                    None => return Err(format!("undefined variable '{name}'")),
                },
            }
        };
        Ok(match what {
            "get" => slot.clone(),
            "set" => {
                *slot = rest;
                String::new()
            }
            _ => {
                let (first, remaining) = pop_word(slot);
                *slot = remaining;
                first
            }
        })
    }

    /// Click's `step_handler`: `step [N|router]`, `goto LABEL`, `run ARGS`.
    fn step_handler(
        &self,
        st: &mut State,
        what: Step,
        data: &str,
        write: bool,
        env: &mut dyn Env,
    ) -> Result<String, String> {
        st.run_handler = match what {
            Step::Step => "step",
            Step::Goto => "goto",
            Step::Run => "run",
        }
        .to_string();
        st.run_args.clear();
        st.run_write = write;
        let text = uncomment(data);
        let (nsteps, ty) = match what {
            Step::Goto => {
                let Some(Target::Pos(pos)) = self.find_label(&text) else {
                    return Err("jump to nonexistent label".into());
                };
                for done in &mut st.wait_done[pos..] {
                    *done = 0;
                }
                st.pos = pos;
                (0, StepType::Jump)
            }
            Step::Run => {
                st.pos = 0;
                st.run_args = data.to_string();
                (0, StepType::Jump)
            }
            Step::Step => match text.as_str() {
                "router" => (1, StepType::Router),
                "" => (1, StepType::Normal),
                t => (
                    i64::from(i32::from_arg(t).map_err(|_| "syntax error".to_string())?),
                    StepType::Normal,
                ),
            },
        };
        let finished = match st.cur_steps {
            None => self.run_steps(st, nsteps, ty, env),
            Some(ref mut cur) if what == Step::Step => {
                *cur += nsteps;
                true
            }
            Some(_) => true,
        };
        if !finished {
            return Ok(String::new()); // the value comes when it resumes
        }
        let (status, value) = self.complete_step(st);
        if status < 0 {
            Err(value.unwrap_or_else(|| "script error".into()))
        } else {
            Ok(value.unwrap_or_default())
        }
    }

    /// Steps `nsteps`, then any steps requested while stepping. Returns
    /// false if a read found its element on the call stack: the script
    /// then goes on from that instruction (`resume`, a write to itself the
    /// engine defers) once the call that led here returns, Click's
    /// semantics but for the moment.
    fn run_steps(&self, st: &mut State, nsteps: i64, mut ty: StepType, env: &mut dyn Env) -> bool {
        st.cur_steps = Some(nsteps);
        let mut njumps = 0;
        while let Some(n) = st.cur_steps.filter(|&n| n >= 0) {
            st.cur_steps = Some(-1);
            njumps = self.step(st, n, ty, njumps, env);
            ty = StepType::Normal;
            if st.suspended {
                break;
            }
        }
        st.cur_steps = None;
        if !std::mem::take(&mut st.suspended) {
            return true;
        }
        if let Err(e) = env.write(&self.name, "resume", "") {
            self.report(st, &e);
        }
        false
    }

    /// Click's `Script::step`: runs instructions until the script blocks,
    /// ends, or has used `nsteps` steps. Returns the jumps so far plus one.
    fn step(
        &self,
        st: &mut State,
        nsteps: i64,
        ty: StepType,
        mut njumps: u32,
        env: &mut dyn Env,
    ) -> u32 {
        let nsteps = nsteps + st.step_count;
        while nsteps - st.step_count >= 0 && st.pos < self.insns.len() && njumps < MAX_JUMPS {
            let ipos = st.pos;
            st.pos += 1;
            // After an instruction's expansions, before its effects: if a
            // read found its element busy, stop here and run this
            // instruction again later.
            macro_rules! unless_suspended {
                () => {
                    if st.suspended {
                        st.pos = ipos;
                        return njumps + 1;
                    }
                };
            }
            match &self.insns[ipos] {
                Insn::Stop => {
                    st.step_count += 1;
                    st.pos -= 1;
                    if ty != StepType::Router {
                        env.adjust_runcount(-1);
                    }
                    return njumps + 1;
                }
                Insn::WaitStep(n) => {
                    while st.step_count < nsteps && st.wait_done[ipos] < *n {
                        st.wait_done[ipos] += 1;
                        st.step_count += 1;
                    }
                    if st.step_count == nsteps && st.wait_done[ipos] < *n {
                        st.pos -= 1;
                        break;
                    }
                }
                Insn::WaitTime(text) => {
                    if st.step_count == nsteps {
                        let t = self.expand(st, text, env);
                        unless_suspended!();
                        match wait_time("wait", t.trim()) {
                            Ok(d) => {
                                env.schedule_after(d);
                                st.pos -= 1;
                            }
                            Err(e) => self.report(st, &e),
                        }
                        break;
                    }
                    st.step_count += 1;
                    env.unschedule_timer();
                }
                Insn::Initial => {
                    if st.initial_pending {
                        st.step_count += 1;
                        st.initial_pending = false;
                    }
                }
                Insn::Print {
                    text,
                    newline,
                    unquote: unq,
                } => {
                    self.print(st, text, *newline, *unq, env);
                    unless_suspended!();
                }
                Insn::Read { text, unquote: unq } => {
                    let call = self.expand(st, text, env);
                    let value = self.call_read(st, &call, *unq, env);
                    unless_suspended!();
                    match value {
                        Ok(v) => {
                            let (h, _) = pop_word(&call);
                            let h = if h.contains('.') {
                                h
                            } else {
                                format!("{}.{h}", self.name)
                            };
                            // Click prints the value as the handler gave it,
                            // newline included, then a newline: a blank line
                            // after each value.
                            let end = if v.is_empty() { "" } else { "\n" };
                            eprint!("{h}:\n{v}{end}\n");
                        }
                        Err(e) => self.report(st, &e),
                    }
                }
                Insn::Write { text, unquote: unq } => {
                    let call = self.expand(st, text, env);
                    unless_suspended!();
                    st.write_status = match self.call_write(st, &call, *unq, env) {
                        Ok(()) => 0,
                        Err(e) => {
                            self.report_write(st, &call, &e);
                            -1
                        }
                    };
                }
                Insn::Set {
                    var,
                    text,
                    unquote: unq,
                    ret,
                } => {
                    let mut v = self.expand(st, text, env);
                    unless_suspended!();
                    if *unq {
                        v = unquote(&v);
                    }
                    st.vars[*var] = v;
                    if *ret && st.pos == ipos + 1 {
                        st.pos -= 1;
                        break;
                    }
                }
                Insn::Init | Insn::Label => {}
                Insn::Goto { target, cond } => {
                    let c = self.expand(st, cond, env);
                    unless_suspended!();
                    let c = c.trim();
                    let jump = if c.is_empty() {
                        true
                    } else if let Some(b) = builtin::parse_bool(c) {
                        b
                    } else {
                        self.report(st, &format!("bad condition '{c}'"));
                        false
                    };
                    if jump {
                        match *target {
                            Target::Pos(pos) => {
                                for i in pos..ipos {
                                    st.wait_done[i] = 0;
                                }
                                st.pos = pos;
                            }
                            _ => {
                                st.pos -= 1;
                                return njumps + 1;
                            }
                        }
                    }
                }
                Insn::Error { msg, unquote: unq } => {
                    let mut m = self.expand(st, msg, env);
                    unless_suspended!();
                    if *unq {
                        m = unquote(&m);
                    }
                    if !m.is_empty() {
                        self.report(st, &m);
                    }
                    st.pos -= 1;
                    return njumps + 1;
                }
                Insn::End | Insn::Exit => {
                    st.pos -= 1;
                    return njumps + 1;
                }
            }
            if st.pos != ipos + 1 {
                njumps += 1;
            }
        }
        if njumps >= MAX_JUMPS {
            st.errors += 1;
            eprintln!("{}: too many jumps, giving up", self.decl);
            st.pos = self.insns.len();
            env.unschedule_timer();
        }
        if ty == StepType::Router {
            env.adjust_runcount(1);
            st.took_stop = true;
        }
        njumps + 1
    }

    /// The `print` family: to standard output, or `>FILE`/`>>FILE`.
    fn print(&self, st: &mut State, text: &str, newline: bool, unq: bool, env: &mut dyn Env) {
        let mut text = text.to_string();
        let mut file: Option<(String, bool)> = None;
        if let Some(r) = text.strip_prefix('>') {
            let append = r.starts_with('>');
            let (name, rest) = pop_word(if append { &r[1..] } else { r });
            if !name.is_empty() && name != "-" {
                file = Some((name, append));
            }
            text = rest;
        }
        let before = st.errors;
        let mut result =
            if text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '@' || c == '_') {
                let call = self.expand(st, &text, env);
                match self.call_read(st, &call, unq, env) {
                    Ok(v) => v,
                    Err(_) if st.suspended => String::new(),
                    Err(e) => {
                        self.report(st, &format!("While calling '{call}': {e}"));
                        String::new()
                    }
                }
            } else {
                unquote(&self.expand_quoted(st, &text, env))
            };
        if st.suspended {
            return; // printed when the instruction runs again
        }
        if st.errors == before && newline && !result.ends_with('\n') {
            result.push('\n');
        }
        let written = match file {
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(result.as_bytes()).and_then(|_| out.flush())
            }
            Some((name, append)) => std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .append(append)
                .truncate(!append)
                .open(&name)
                .and_then(|mut f| f.write_all(result.as_bytes()))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{name}: {e}"))),
        };
        if let Err(e) = written {
            self.report(st, &e.to_string());
        }
    }

    /// Click's `complete_step`: the status (-1 error, 1 stop, 0 other) and
    /// the `return` value, if the script ended on one.
    fn complete_step(&self, st: &State) -> (i32, Option<String>) {
        let last = self.insns.get(st.pos);
        let ret = || {
            let v = self.var_names.iter().position(|v| v == "_");
            Some(v.map(|v| st.vars[v].clone()).unwrap_or_default())
        };
        match last {
            Some(Insn::Set { ret: true, .. }) => (0, ret()),
            Some(Insn::Error { .. })
            | Some(Insn::Goto {
                target: Target::Error,
                ..
            }) => (-1, None),
            Some(Insn::Stop) => (1, None),
            Some(Insn::End) if self.kind == Kind::Packet => (0, Some("0".into())),
            _ => (0, None),
        }
    }

    /// Whether the script stopped at an `end` (a SIGNAL script then catches
    /// its signals again).
    fn ended_at_end(&self, st: &State) -> bool {
        matches!(
            self.insns.get(st.pos),
            Some(Insn::End)
                | Some(Insn::Goto {
                    target: Target::End,
                    ..
                })
        )
    }

    /// A SIGNAL script that ended at `end` catches its signals again
    /// (Click's `complete_step`); one that ended otherwise, or is waiting,
    /// does not.
    fn rearm(&self, st: &State, ctx: &mut Ctx<'_>) {
        if self.kind != Kind::Signal || !self.ended_at_end(st) {
            return;
        }
        for &s in &self.signals {
            // Caught once at initialization, so this cannot fail.
            if let Err(e) = ctx.catch_signal(s, "run") {
                eprintln!("{}: {e}", self.decl);
            }
        }
    }

    /// Runs `init`/`export` instructions (once, at initialization).
    fn initialize(&self, st: &mut State, env: &mut dyn Env) {
        for (var, text, unq) in &self.inits {
            let mut v = self.expand(st, text, env);
            if *unq {
                v = unquote(&v);
            }
            st.vars[*var] = v;
        }
    }

    /// Runs the script once for a packet arriving on `port`; returns the
    /// output port, if any.
    fn run_packet(&self, st: &mut State, port: Port, env: &mut dyn Env) -> Option<usize> {
        if let Some(i) = self.var_names.iter().position(|v| v == "input") {
            st.vars[i] = port.to_string();
        }
        st.pos = 0;
        self.run_steps(st, 0, StepType::Jump, env);
        let (_, out) = self.complete_step(st);
        out.and_then(|o| usize::from_arg(o.trim()).ok())
            .filter(|&p| p < self.noutputs)
    }
}

/// What a step handler was asked to do.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Step,
    Goto,
    Run,
}

static HANDLERS: std::sync::OnceLock<Vec<Handler>> = std::sync::OnceLock::new();

fn handlers() -> &'static [Handler] {
    HANDLERS.get_or_init(|| {
        let mut h = vec![
            Handler::write("step"),
            Handler::write("goto"),
            Handler::read_write("run"),
            Handler::read("get"),
            Handler::read_write("set"),
            Handler::read("shift"),
            // Goes on after a read that had to wait (Program::run_steps).
            Handler::write("resume").private(),
        ];
        // `cat` reads files and `kill` sends signals: not for programs
        // outside the router (a ControlSocket client), as in Click.
        h.extend(builtin::NAMES.iter().map(|&n| match n {
            "cat" | "kill" => Handler::read(n).private(),
            _ => Handler::read(n),
        }));
        h
    })
}

impl Element for Script {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let prog = &self.prog;
        let st = self.state.get_mut();
        // Handlers of other elements are not reachable before the router
        // runs; `init` text expands variables and built-ins only.
        prog.initialize(st, &mut NoEnv);
        match (prog.kind, prog.insns.first()) {
            (Kind::Passive | Kind::Packet, _) => {}
            (Kind::Signal, _) => {
                // A signal that cannot be caught (KILL, STOP) is an error.
                for &s in &prog.signals {
                    ctx.catch_signal(s, "run")?;
                }
            }
            (kind, Some(Insn::WaitTime(text))) => {
                let t = prog.expand(st, text, &mut NoEnv);
                let d = wait_time("wait", t.trim())?;
                ctx.schedule_after(d);
                if kind == Kind::Driver {
                    ctx.start_unscheduled();
                }
            }
            (kind, Some(Insn::Initial)) => {
                st.initial_pending = true;
                if kind != Kind::Driver {
                    ctx.schedule_after(Duration::ZERO);
                }
                // A driver's task is scheduled: its first run takes the
                // initial step (Click lowers the run count to be called).
            }
            (Kind::Driver, _) => ctx.start_unscheduled(),
            _ => {}
        }
        if prog.kind == Kind::Driver {
            ctx.become_driver()?;
        }
        Ok(())
    }

    fn has_task(&self) -> bool {
        self.prog.kind == Kind::Driver
    }

    /// The driver's task: woken at start (initial step) and whenever the
    /// run count reaches zero. Each stop event steps the script once; the
    /// router stops when the script does not block again (Click's
    /// `Router::check_driver`).
    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        ctx.sleep();
        let prog = &self.prog;
        let st = self.state.get_mut();
        let mut env = CtxEnv(ctx);
        if st.initial_pending {
            prog.run_steps(st, 1, StepType::Timer, &mut env);
        }
        let mut rounds = 0;
        while env.0.runcount() <= 0 && !env.0.stopping() {
            rounds += 1;
            if rounds > MAX_DRIVER_STEPS {
                env.0.force_stop();
                break;
            }
            // Whether this step took its stop event, not the run count
            // now: another thread may lower it again meanwhile (a second
            // source stopping), and that stop is the next round's.
            st.took_stop = false;
            prog.run_steps(st, 1, StepType::Router, &mut env);
            if !st.took_stop {
                env.0.force_stop();
                break;
            }
        }
        true
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        let prog = &self.prog;
        let st = self.state.get_mut();
        if st.cur_steps.is_none() {
            prog.run_steps(st, 1, StepType::Timer, &mut CtxEnv(ctx));
            prog.rearm(st, ctx);
        }
    }

    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let prog = &self.prog;
        let st = self.state.get_mut();
        const DROP: u16 = u16::MAX;
        let mut verdicts = [DROP; BATCH_CAPACITY];
        for v in verdicts.iter_mut().take(batch.len()) {
            *v = prog
                .run_packet(st, port, &mut CtxEnv(ctx))
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != DROP)
                .unwrap_or(DROP);
        }
        ctx.push_by_verdict(batch, &verdicts, DROP);
    }

    fn handlers(&self) -> &'static [Handler] {
        handlers()
    }

    /// Read handlers, with parameters after the name (`run ARGS`,
    /// `add 1 2`). A `run` from here has no router access.
    fn read_handler(&self, name: &str) -> Option<String> {
        let (h, params) = pop_word(name);
        let mut st = self.state.try_borrow_mut().ok()?;
        match self.prog.local_read(&mut st, &h, &params, &mut NoEnv) {
            Ok(v) => Some(v),
            Err(e) => {
                self.prog.report(&mut st, &e);
                (handlers().iter().any(|x| x.name == h && x.read)
                    || self
                        .prog
                        .exports
                        .iter()
                        .any(|&v| self.prog.var_names[v] == h))
                .then(String::new)
            }
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let prog = &self.prog;
        let st = self.state.get_mut();
        let result = prog.local_write(st, name, value, &mut CtxEnv(ctx));
        if st.cur_steps.is_none() {
            prog.rearm(st, ctx);
        }
        result.map(|_| ())
    }
}

/// The time of a `wait` (`wait_time`, `wait_for`) instruction, or why it
/// is not one: a negative time, one too long to count, or not a time.
fn wait_time(word: &str, text: &str) -> Result<Duration, String> {
    Duration::from_arg(text).map_err(|e| {
        let why = if text.is_empty() {
            "a time is missing".to_string()
        } else if text.starts_with('-') {
            format!("the time '{text}' is negative")
        } else if e.contains("out of range") {
            format!(
                "the time '{text}' is too long (at most {} seconds)",
                u64::MAX
            )
        } else {
            format!("'{text}' is not a time (like 1.5s, 20ms or 2min)")
        };
        format!("{word}: {why}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(config: &str) -> Result<Script, String> {
        let ctx = ConfigureCtx {
            name: "s",
            inputs: &[],
            outputs: &[],
        };
        Script::build(&mut Args::new(config), &ctx, "Script", Kind::Active)
    }

    #[test]
    fn configure_errors_name_the_instruction() {
        assert_eq!(script("frob 1").err().unwrap(), "syntax error at 'frob'");
        assert_eq!(
            script("goto nowhere").err().unwrap(),
            "no such label 'nowhere'"
        );
        assert_eq!(script("TYPE WEIRD").err().unwrap(), "bad TYPE");
        assert!(script("wait forever").is_err());
        assert!(script("label").is_err());
        assert!(script("stop now").is_err());
        assert!(script("set x").is_err());
        assert!(script("TYPE PACKET, return 0").is_err());
    }

    #[test]
    fn passive_run_returns_its_value() {
        let s = script("TYPE PASSIVE, return $(add $1 $2)").unwrap();
        assert_eq!(s.read_handler("run 2 3").as_deref(), Some("5"));
        let s = script("TYPE PASSIVE, returnq $1").unwrap();
        assert_eq!(s.read_handler("run \"a b\"").as_deref(), Some("a b"));
    }

    #[test]
    fn variables_loops_and_jump_limit() {
        let s = script(
            "TYPE PASSIVE, set x 0, label l, set x $(add $x 1), goto l $(lt $x 10), return $x",
        )
        .unwrap();
        assert_eq!(s.read_handler("run").as_deref(), Some("10"));
        let s = script("TYPE PASSIVE, label a, goto a").unwrap();
        assert_eq!(s.read_handler("run").as_deref(), Some(""));
        let s =
            script("TYPE PASSIVE, set foovar a b, return $(shift foovar)/$(get foovar)").unwrap();
        assert_eq!(s.read_handler("run").as_deref(), Some("a/b"));
    }

    #[test]
    fn odd_scripts_never_panic() {
        for c in [
            "",
            ",,",
            "$",
            "print $(",
            "goto",
            "wait 1s, label x, goto x $(",
            "return",
            "error",
            "TYPE",
            "print >",
            "print >>",
        ] {
            if let Ok(s) = script(&format!("TYPE PASSIVE, {c}")) {
                let _ = s.read_handler("run");
                let _ = s.read_handler("shift");
                let _ = s.read_handler("");
            }
        }
    }
}
