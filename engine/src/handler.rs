//! Handlers: named read and write hooks on elements, Click's control plane.
//!
//! Every element has Click's default read handlers (`class`, `name`,
//! `config`, `ports`, `handlers`); elements add their own through
//! [`Element::handlers`](crate::Element::handlers), answered by
//! `read_handler`/`write_handler`.

use crate::dispatch::Slot;
use crate::graph::Graph;
use crate::sched::TaskHandle;

/// A handler an element declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handler {
    pub name: &'static str,
    pub read: bool,
    pub write: bool,
    /// For a handler that stands for a configuration argument, which one:
    /// a successful write also rewrites the element's configuration, which
    /// the `config` handler then shows.
    pub reconfigures: Option<ConfigArg>,
    /// Hidden from programs outside the router (a ControlSocket client):
    /// for handlers that reach the system, as Script's `cat` (files) and
    /// `kill` (signals).
    pub private: bool,
}

/// The configuration argument a handler stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigArg {
    /// `KEYWORD value` (Click's `reconfigure_keyword_handler`).
    Keyword(&'static str),
    /// The argument at this position (Click's
    /// `reconfigure_positional_handler`).
    Position(usize),
}

impl Handler {
    const fn new(name: &'static str, read: bool, write: bool) -> Self {
        Handler {
            name,
            read,
            write,
            reconfigures: None,
            private: false,
        }
    }

    /// A read-only handler.
    pub const fn read(name: &'static str) -> Self {
        Handler::new(name, true, false)
    }

    /// A write-only handler.
    pub const fn write(name: &'static str) -> Self {
        Handler::new(name, false, true)
    }

    /// A read/write handler.
    pub const fn read_write(name: &'static str) -> Self {
        Handler::new(name, true, true)
    }

    /// A read/write handler for configuration keyword `keyword` (Click's
    /// keyword handlers, e.g. Queue's `capacity` for `CAPACITY`).
    pub const fn keyword(name: &'static str, keyword: &'static str) -> Self {
        Handler {
            reconfigures: Some(ConfigArg::Keyword(keyword)),
            ..Handler::read_write(name)
        }
    }

    /// A read/write handler for the configuration argument at `position`
    /// (Click's positional handlers, e.g. Switch's `switch` for OUTPUT).
    pub const fn positional(name: &'static str, position: usize) -> Self {
        Handler {
            reconfigures: Some(ConfigArg::Position(position)),
            ..Handler::read_write(name)
        }
    }

    /// The same handler, hidden from programs outside the router.
    pub const fn private(self) -> Self {
        Handler {
            private: true,
            ..self
        }
    }

    /// Click's mode string in the `handlers` listing: `r`, `w` or `rw`.
    pub fn mode(&self) -> &'static str {
        match (self.read, self.write) {
            (true, true) => "rw",
            (true, false) => "r",
            (false, true) => "w",
            (false, false) => "",
        }
    }
}

/// The handlers every element has.
pub const DEFAULT_HANDLERS: &[Handler] = &[
    Handler::read("class"),
    Handler::read("name"),
    Handler::read("config"),
    Handler::read("ports"),
    Handler::read("handlers"),
];

/// The configuration after writing `value` to the argument `arg`, as
/// Click's reconfiguring handlers do: a keyword's arguments are replaced by
/// `KEYWORD value`, appended last; a position's argument is replaced
/// (empty ones added before it if the configuration is shorter).
pub(crate) fn reconfigure(config: &str, arg: ConfigArg, value: &str) -> String {
    let mut args = click_lang::args::split_args(config);
    match arg {
        ConfigArg::Keyword(keyword) => {
            args.retain(|a| {
                click_lang::args::split_words(a).first().map(String::as_str) != Some(keyword)
            });
            args.push(format!("{keyword} {}", value.trim()));
        }
        ConfigArg::Position(i) => {
            if args.len() <= i {
                args.resize(i + 1, String::new());
            }
            args[i] = value.trim().to_string();
        }
    }
    args.join(", ")
}

pub(crate) fn no_handler(element: &str, handler: &str) -> String {
    format!("no handler '{element}.{handler}'")
}

/// Click's default handlers that need only the graph.
pub(crate) fn default_handler(
    graph: &Graph,
    e: usize,
    handler: &str,
    config: &str,
) -> Option<String> {
    let node = &graph.nodes[e];
    Some(match handler {
        "class" => node.class.clone(),
        "name" => node.name.clone(),
        "config" => config.to_string(),
        "ports" => ports_listing(graph, e),
        _ => return None,
    })
}

/// Click's `ports` handler: port counts, then each port's processing and
/// what it is connected to.
fn ports_listing(graph: &Graph, e: usize) -> String {
    let node = &graph.nodes[e];
    let plural = |n: usize, what: &str| format!("{n} {what}{}\n", if n == 1 { "" } else { "s" });
    let mut s = plural(node.inputs.len(), "input");
    for (p, proc_) in node.inputs.iter().enumerate() {
        let peers: Vec<String> = graph
            .upstream(e, p)
            .map(|(f, q)| format!("{} [{q}]", graph.nodes[f].name))
            .collect();
        s.push_str(&format!("{proc_}\t{}\n", peers.join(", ")));
    }
    s.push_str(&plural(node.outputs.len(), "output"));
    for (p, proc_) in node.outputs.iter().enumerate() {
        let peers: Vec<String> = graph
            .downstream(e, p)
            .map(|(t, q)| format!("[{q}] {}", graph.nodes[t].name))
            .collect();
        s.push_str(&format!("{proc_}\t{}\n", peers.join(", ")));
    }
    s
}

/// Click's handlers of an element with a task.
const TASK_HANDLERS: &[crate::Handler] = &[
    crate::Handler::read("scheduled"),
    crate::Handler::read_write("tickets"),
    crate::Handler::read("home_thread"),
];

/// Whether `handler` (a name, maybe followed by parameters) is one of
/// `element`'s private handlers, which programs outside the router do not
/// see ([`Handler::private`](crate::Handler::private)).
pub(crate) fn is_private(element: &dyn crate::Element, handler: &str) -> bool {
    let name = click_lang::args::pop_word(handler).0;
    element
        .handlers()
        .iter()
        .any(|h| h.private && h.name == name)
}

/// One element's instance on a thread, with what the engine keeps beside
/// it: what a read of its handlers (default ones included) needs.
pub(crate) struct HandlerSite<'a> {
    pub graph: &'a Graph,
    /// The global element index.
    pub element: usize,
    pub slot: &'a Slot,
    /// The element itself when it is on the call stack and lent for reads
    /// ([`Ctx::lend_self`](crate::Ctx::lend_self)).
    pub lent: Option<&'a dyn crate::Element>,
    /// Its current configuration string.
    pub config: &'a str,
    pub task: Option<&'a TaskHandle>,
}

impl HandlerSite<'_> {
    /// Reads `handler`. For the router itself (a Script, `-h`) the value
    /// ends with a newline, as Click prints it; for a program outside
    /// (`remote`: a ControlSocket client) it is as the handler gives it, and
    /// private handlers do not exist.
    pub fn read(&self, handler: &str, remote: bool) -> Result<String, String> {
        let mut value = self.value(handler, remote)?;
        if !remote && !value.is_empty() && !value.ends_with('\n') {
            value.push('\n');
        }
        Ok(value)
    }

    /// [`HandlerSite::read`]'s value, as the handler gives it.
    fn value(&self, handler: &str, remote: bool) -> Result<String, String> {
        let name = &self.graph.nodes[self.element].name;
        if let Some(v) = default_handler(self.graph, self.element, handler, self.config) {
            return Ok(v);
        }
        if let Some(task) = self.task {
            match handler {
                "scheduled" => return Ok(task.is_scheduled().to_string()),
                "tickets" => return Ok(task.tickets().to_string()),
                "home_thread" => return Ok(task.home_thread().to_string()),
                _ => {}
            }
        }
        let borrowed;
        let element: &dyn crate::Element = match self.lent {
            Some(element) => element,
            None => {
                borrowed = self
                    .slot
                    .try_borrow()
                    .map_err(|_| "element busy".to_string())?;
                &**borrowed
            }
        };
        if handler == "handlers" {
            let tasks = if self.task.is_some() {
                TASK_HANDLERS
            } else {
                &[]
            };
            let all = DEFAULT_HANDLERS
                .iter()
                .chain(tasks)
                .chain(element.handlers())
                .filter(|h| !(remote && h.private));
            return Ok(all.map(|h| format!("{}\t{}\n", h.name, h.mode())).collect());
        }
        if remote && is_private(element, handler) {
            return Err(no_handler(name, handler));
        }
        element
            .read_handler(handler)
            .ok_or_else(|| no_handler(name, handler))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_writes_replace_the_keyword_and_keep_the_rest() {
        let capacity = ConfigArg::Keyword("CAPACITY");
        assert_eq!(reconfigure("", capacity, "10"), "CAPACITY 10");
        assert_eq!(reconfigure("CAPACITY 5", capacity, " 10\n"), "CAPACITY 10");
        assert_eq!(
            reconfigure("LIMIT 3, CAPACITY 5, STOP true", capacity, "7"),
            "LIMIT 3, STOP true, CAPACITY 7"
        );
    }

    #[test]
    fn positional_writes_replace_that_argument() {
        assert_eq!(reconfigure("1", ConfigArg::Position(0), "0\n"), "0");
        assert_eq!(reconfigure("", ConfigArg::Position(0), "2"), "2");
        assert_eq!(
            reconfigure("a, b, c", ConfigArg::Position(1), "x"),
            "a, x, c"
        );
        assert_eq!(reconfigure("a", ConfigArg::Position(2), "x"), "a, , x");
    }
}
