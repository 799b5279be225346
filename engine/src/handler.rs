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
    /// For a keyword handler (Click's `reconfigure_keyword_handler`), the
    /// configuration keyword it stands for: a successful write also
    /// rewrites the element's configuration to `KEYWORD value`, which the
    /// `config` handler then shows.
    pub keyword: Option<&'static str>,
}

impl Handler {
    /// A read-only handler.
    pub const fn read(name: &'static str) -> Self {
        Handler {
            name,
            read: true,
            write: false,
            keyword: None,
        }
    }

    /// A write-only handler.
    pub const fn write(name: &'static str) -> Self {
        Handler {
            name,
            read: false,
            write: true,
            keyword: None,
        }
    }

    /// A read/write handler.
    pub const fn read_write(name: &'static str) -> Self {
        Handler {
            name,
            read: true,
            write: true,
            keyword: None,
        }
    }

    /// A read/write handler for configuration keyword `keyword` (Click's
    /// keyword handlers, e.g. Queue's `capacity` for `CAPACITY`).
    pub const fn keyword(name: &'static str, keyword: &'static str) -> Self {
        Handler {
            name,
            read: true,
            write: true,
            keyword: Some(keyword),
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

/// The configuration after writing `value` to keyword `keyword`: the
/// arguments naming that keyword are replaced by `KEYWORD value`, appended
/// last, as Click's keyword handlers do.
pub(crate) fn reconfigure_keyword(config: &str, keyword: &str, value: &str) -> String {
    let mut args: Vec<String> = click_lang::args::split_args(config)
        .into_iter()
        .filter(|a| click_lang::args::split_words(a).first().map(String::as_str) != Some(keyword))
        .collect();
    args.push(format!("{keyword} {}", value.trim()));
    args.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_writes_replace_the_keyword_and_keep_the_rest() {
        assert_eq!(reconfigure_keyword("", "CAPACITY", "10"), "CAPACITY 10");
        assert_eq!(
            reconfigure_keyword("CAPACITY 5", "CAPACITY", " 10\n"),
            "CAPACITY 10"
        );
        assert_eq!(
            reconfigure_keyword("LIMIT 3, CAPACITY 5, STOP true", "CAPACITY", "7"),
            "LIMIT 3, STOP true, CAPACITY 7"
        );
    }
}
