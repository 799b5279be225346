//! Handlers: named read and write hooks on elements, Click's control plane.
//!
//! Every element has Click's default read handlers (`class`, `name`,
//! `config`, `ports`, `handlers`); elements add their own through
//! [`Element::handlers`](crate::Element::handlers), answered by
//! `read_handler`/`write_handler`.

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
