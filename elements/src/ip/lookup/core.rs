//! What the lookup elements share: Click's IPRouteTable (configuration,
//! handlers, the push that sends a packet where its route says), on one
//! [`SharedTable`].

use super::dir24::{FibOptions, NextHop};
use super::route::{Route, RouteError};
use super::shared::SharedTable;
use super::table::{Order, RouteTable, TableError, TableOptions};
use click_engine::args::{pop_word, uncomment, ArgContext, Args, FromArg, NoContext};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{Batch, ConfigureCtx, Ctx, Handler, InitCtx};
use std::cell::{OnceCell, RefCell};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Which Click element a [`LookupCore`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    Static,
    Linear,
    Radix,
    Direct,
    Range,
}

impl Flavor {
    fn order(self) -> Order {
        match self {
            Flavor::Static | Flavor::Linear => Order::Linear,
            Flavor::Radix => Order::Radix,
            Flavor::Direct | Flavor::Range => Order::Direct,
        }
    }

    fn handlers(self) -> &'static [Handler] {
        const STATIC: &[Handler] = &[Handler::read("table"), Handler::read("lookup")];
        const LINEAR: &[Handler] = &[
            Handler::write("add"),
            Handler::write("set"),
            Handler::write("remove"),
            Handler::write("ctrl"),
            Handler::read("table"),
            Handler::read("lookup"),
        ];
        const FLUSHABLE: &[Handler] = &[
            Handler::write("add"),
            Handler::write("set"),
            Handler::write("remove"),
            Handler::write("ctrl"),
            Handler::read("table"),
            Handler::read("lookup"),
            Handler::write("flush"),
        ];
        match self {
            Flavor::Static => STATIC,
            Flavor::Linear => LINEAR,
            Flavor::Radix | Flavor::Direct | Flavor::Range => FLUSHABLE,
        }
    }

    /// What Click says, for the first five packets with no route, and the
    /// count of those said (Click's function-static `complained`): the
    /// generic IPRouteTable push (RadixIPLookup) and LinearIPLookup's
    /// (StaticIPLookup too) complain; DirectIPLookup and RangeIPLookup
    /// drop quietly.
    fn complaint(self) -> Option<(&'static str, &'static AtomicU32)> {
        static LINEAR: AtomicU32 = AtomicU32::new(0);
        static GENERIC: AtomicU32 = AtomicU32::new(0);
        match self {
            Flavor::Static | Flavor::Linear => Some(("LinearIPLookup", &LINEAR)),
            Flavor::Radix => Some(("IPRouteTable", &GENERIC)),
            Flavor::Direct | Flavor::Range => None,
        }
    }
}

/// A verdict that drops the packet.
const DROP: u16 = u16::MAX;

/// The table, once built: shared by the element's instances.
type Built = Result<SharedTable, String>;

/// Click's IPRouteTable on a [`SharedTable`]: the state and behaviour of
/// every lookup element.
pub(crate) struct LookupCore {
    flavor: Flavor,
    noutputs: usize,
    /// The configured routes, until the table is built.
    routes: RefCell<Vec<Route>>,
    /// This instance's index among the element's instances.
    instance: usize,
    table: OnceCell<Arc<Built>>,
    /// Names (AddressInfo's) for routes and addresses in handler writes
    /// and reads, as the configuration saw them.
    names: Option<Arc<dyn ArgContext>>,
}

impl std::fmt::Debug for LookupCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupCore")
            .field("flavor", &self.flavor)
            .field("noutputs", &self.noutputs)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// The table every lookup element of `order` starts from, holding
/// `routes` (later duplicates of a prefix are ignored, as Click's
/// configure does).
fn build(order: Order, routes: Vec<Route>, instances: usize) -> Built {
    let mut table = RouteTable::new(TableOptions {
        order,
        fib: FibOptions::default(),
    })?;
    for r in &routes {
        match table.add(r, false) {
            Ok(_) | Err(TableError::Exists(_)) => {}
            Err(TableError::NoMemory | TableError::NotFound) => {
                return Err(format!("no memory to store route '{r}'"));
            }
        }
    }
    Ok(SharedTable::new(table, instances))
}

impl LookupCore {
    /// Click's `IPRouteTable::configure`: every argument a route.
    pub(crate) fn configure(
        flavor: Flavor,
        args: &mut Args,
        ctx: &ConfigureCtx,
    ) -> Result<LookupCore, String> {
        let noutputs = ctx.noutputs();
        let mut routes = Vec::new();
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut replaced = 0;
        let names = args.shared_context();
        for (i, text) in args.rest().iter().enumerate() {
            match Route::parse_in(text, false, args.context()) {
                Err(RouteError::Syntax) => errors.push(format!(
                    "argument {} should be 'ADDR/MASK [GATEWAY] OUTPUT'",
                    i + 1
                )),
                Err(RouteError::Mask) => errors.push(format!(
                    "argument {}: MASK must be a prefix (contiguous ones)",
                    i + 1
                )),
                Ok(r) if r.port < 0 || r.port as usize >= noutputs => {
                    errors.push(format!("argument {} bad OUTPUT", i + 1))
                }
                Ok(r) => {
                    if !seen.insert((r.addr, r.len)) {
                        replaced += 1;
                    }
                    routes.push(r);
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        if replaced > 0 {
            tracing::warn!(
                "{}: {replaced} {} replaced by later versions",
                ctx.name,
                if replaced > 1 { "routes" } else { "route" }
            );
        }
        Ok(LookupCore {
            flavor,
            noutputs,
            routes: RefCell::new(routes),
            instance: 0,
            table: OnceCell::new(),
            names,
        })
    }

    /// Builds the table, or takes the one another instance built.
    pub(crate) fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        self.instance = instance;
        let (order, routes) = (self.flavor.order(), self.routes.take());
        let built = ctx.shared_state(|| build(order, routes, instances))?;
        if let Err(e) = &*built {
            return Err(e.clone());
        }
        // initialize runs once, so the cell is empty.
        let _ = self.table.set(built);
        Ok(())
    }

    /// The table: built by `initialize`, or here on first use (an
    /// element driven without a router, as in unit tests).
    fn table(&self) -> Result<&SharedTable, String> {
        let built = self
            .table
            .get_or_init(|| Arc::new(build(self.flavor.order(), self.routes.take(), 1)));
        built.as_ref().as_ref().map_err(Clone::clone)
    }

    /// Looks up the batch's destination annotations, sets each packet's
    /// to its route's gateway (if any) and sends it to its route's output;
    /// packets with no route are dropped and counted.
    #[inline]
    pub(crate) fn push(&mut self, mut batch: Batch, ctx: &mut Ctx<'_>) {
        let n = batch.len();
        let Ok(table) = self.table() else {
            ctx.count_drops(n);
            return;
        };
        let mut addrs = [0u32; BATCH_CAPACITY];
        for (a, p) in addrs.iter_mut().zip(batch.iter()) {
            *a = u32::from(p.anno().dst_ip());
        }
        let mut hops = [NextHop::NONE; BATCH_CAPACITY];
        table.fib().lookup_batch(&addrs[..n], &mut hops[..n]);
        let mut verdicts = [0u16; BATCH_CAPACITY];
        let mut mixed = false;
        let mut unrouted = false;
        let first = hops[0].port();
        for ((v, h), p) in verdicts.iter_mut().zip(&hops[..n]).zip(batch.iter_mut()) {
            mixed |= h.port() != first;
            unrouted |= h.port().is_none();
            *v = match h.port() {
                Some(port) => {
                    let gw = h.gateway();
                    if gw != 0 {
                        p.anno_mut().set_dst_ip(Ipv4Addr::from(gw));
                    }
                    port.min(u32::from(DROP - 1)) as u16
                }
                None => DROP,
            };
        }
        if unrouted {
            self.complain(&addrs[..n], &verdicts[..n]);
        }
        match (mixed, first) {
            (false, Some(port)) => ctx.push(port as usize, batch),
            (false, None) => {
                ctx.count_drops(n);
                drop(batch);
            }
            (true, _) => ctx.push_by_verdict(batch, &verdicts[..n], DROP),
        }
    }

    /// Says "no route" for the first packets without one, as Click does.
    #[cold]
    fn complain(&self, addrs: &[u32], verdicts: &[u16]) {
        let Some((who, said)) = self.flavor.complaint() else {
            return;
        };
        for (&a, _) in addrs.iter().zip(verdicts).filter(|(_, &v)| v == DROP) {
            if said.fetch_add(1, Ordering::Relaxed) >= 5 {
                return;
            }
            eprintln!("{who}: no route for {}", Ipv4Addr::from(a));
        }
    }

    pub(crate) fn handlers(&self) -> &'static [Handler] {
        self.flavor.handlers()
    }

    /// `table`, and `lookup ADDR` (Click's `lookup` read handler with a
    /// parameter): `PORT GATEWAY`, `PORT` when the route has no gateway,
    /// `-1` when there is no route.
    fn names(&self) -> &dyn ArgContext {
        match &self.names {
            Some(n) => n.as_ref(),
            None => &NoContext,
        }
    }

    pub(crate) fn read_handler(&self, name: &str) -> Option<String> {
        let (handler, param) = pop_word(name);
        let table = self.table().ok()?;
        match handler.as_str() {
            "table" => Some(table.read(|t| t.dump())),
            "lookup" => {
                let addr = Ipv4Addr::from_arg_in(param.trim(), self.names()).ok()?;
                let hop = table.fib().lookup(u32::from(addr));
                Some(match (hop.port(), hop.gateway()) {
                    (None, 0) => "-1".to_string(),
                    (None, gw) => format!("-1 {}", Ipv4Addr::from(gw)),
                    (Some(p), 0) => p.to_string(),
                    (Some(p), gw) => format!("{p} {}", Ipv4Addr::from(gw)),
                })
            }
            _ => None,
        }
    }

    /// `add`, `set`, `remove`, `ctrl` and `flush`, applied once for all
    /// instances (see `shared.rs`).
    pub(crate) fn write_handler(&mut self, name: &str, value: &str) -> Result<(), String> {
        if !self.handlers().iter().any(|h| h.write && h.name == name) {
            return Err(format!("no write handler '{name}'"));
        }
        let (noutputs, names) = (self.noutputs, self.names());
        let table = self.table()?;
        table.write(self.instance, name, value, |t| match name {
            "add" => command(t, Command::Add, value, noutputs, names, None),
            "set" => command(t, Command::Set, value, noutputs, names, None),
            "remove" => command(t, Command::Remove, value, noutputs, names, None),
            "ctrl" => ctrl(t, value, noutputs, names),
            "flush" => {
                t.flush();
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        })
    }
}

/// A route change, as the handlers and `ctrl` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    Add,
    Set,
    Remove,
}

/// What undoes a change: re-add what was removed, remove what was added,
/// set back what was replaced.
type Undo = (Command, Route);

/// Click's `IPRouteTable::run_command`: parses `text` and applies it;
/// with `undo`, records how to take it back.
fn command(
    t: &mut RouteTable,
    cmd: Command,
    text: &str,
    noutputs: usize,
    names: &dyn ArgContext,
    undo: Option<&mut Vec<Undo>>,
) -> Result<(), String> {
    let remove = cmd == Command::Remove;
    let route = match Route::parse_in(text, remove, names) {
        Ok(r) => r,
        Err(RouteError::Syntax) if remove => {
            return Err("expected 'ADDR/MASK [GATEWAY OUTPUT]'".into())
        }
        Err(RouteError::Syntax) => return Err("expected 'ADDR/MASK [GATEWAY] OUTPUT'".into()),
        Err(RouteError::Mask) => return Err("MASK must be a prefix (contiguous ones)".into()),
    };
    let lowest = if remove { -1 } else { 0 };
    if route.port < lowest || route.port >= i32::try_from(noutputs).unwrap_or(i32::MAX) {
        return Err("bad OUTPUT".into());
    }
    let done = match cmd {
        Command::Add | Command::Set => match t.add(&route, cmd == Command::Set) {
            Ok(Some(old)) => (Command::Set, old),
            Ok(None) => (Command::Add, route),
            Err(TableError::Exists(old)) => {
                return Err(format!("conflict with existing route '{old}'"))
            }
            Err(_) => return Err(format!("no memory to store route '{route}'")),
        },
        Command::Remove => match t.remove(&route) {
            Ok(found) => (Command::Remove, found),
            Err(_) => return Err(format!("route '{route}' not found")),
        },
    };
    if let Some(undo) = undo {
        undo.push(done);
    }
    Ok(())
}

/// Click's `ctrl` handler: one `add`, `set` or `remove` a line, all or
/// nothing: on the first failure the changes made are undone, newest
/// first. (Click loops forever on a blank line; here it is skipped.)
pub(super) fn ctrl(
    t: &mut RouteTable,
    value: &str,
    noutputs: usize,
    names: &dyn ArgContext,
) -> Result<(), String> {
    let text = uncomment(value);
    let mut undo = Vec::new();
    let mut result = Ok(());
    for line in text.split('\n') {
        let (word, rest) = pop_word(line);
        let cmd = match word.as_str() {
            "add" => Command::Add,
            "set" => Command::Set,
            "remove" => Command::Remove,
            "" => continue,
            _ => {
                result = Err(format!("bad command '{word}'"));
                break;
            }
        };
        if let Err(e) = command(t, cmd, &rest, noutputs, names, Some(&mut undo)) {
            result = Err(e);
            break;
        }
    }
    if result.is_err() {
        for (cmd, route) in undo.into_iter().rev() {
            // Undoing restores a state the table was in: it cannot run out
            // of room, or find a conflict.
            let _ = match cmd {
                Command::Remove => t.add(&route, false).map(drop),
                Command::Add => t.remove(&route).map(drop),
                Command::Set => t.add(&route, true).map(drop),
            };
        }
    }
    result
}

/// Implements `ElementClass` and `Element` for a lookup element: a
/// newtype around a [`LookupCore`] of the given flavor.
macro_rules! lookup_element {
    ($ty:ident, $flavor:expr) => {
        impl click_engine::ElementClass for $ty {
            const CLASS: &'static str = stringify!($ty);
            const PORT_COUNT: &'static str = "1/-";
            const PROCESSING: &'static str = click_engine::PUSH;
            const THREADS: click_engine::Threads = click_engine::Threads::PerThread;

            fn configure(
                args: &mut click_engine::args::Args,
                ctx: &click_engine::ConfigureCtx,
            ) -> Result<Self, String> {
                $crate::ip::lookup::core::LookupCore::configure($flavor, args, ctx).map($ty)
            }
        }

        impl click_engine::Element for $ty {
            #[inline]
            fn push(
                &mut self,
                _port: click_engine::Port,
                batch: click_engine::Batch,
                ctx: &mut click_engine::Ctx<'_>,
            ) {
                self.0.push(batch, ctx)
            }

            fn initialize(&mut self, ctx: &mut click_engine::InitCtx<'_>) -> Result<(), String> {
                self.0.initialize(ctx)
            }

            fn handlers(&self) -> &'static [click_engine::Handler] {
                self.0.handlers()
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                self.0.read_handler(name)
            }

            fn write_handler(
                &mut self,
                name: &str,
                value: &str,
                _ctx: &mut click_engine::Ctx<'_>,
            ) -> Result<(), String> {
                self.0.write_handler(name, value)
            }
        }
    };
}
pub(crate) use lookup_element;
