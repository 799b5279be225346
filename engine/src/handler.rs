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
}

impl Handler {
    /// A read-only handler.
    pub const fn read(name: &'static str) -> Self {
        Handler {
            name,
            read: true,
            write: false,
        }
    }

    /// A write-only handler.
    pub const fn write(name: &'static str) -> Self {
        Handler {
            name,
            read: false,
            write: true,
        }
    }

    /// A read/write handler.
    pub const fn read_write(name: &'static str) -> Self {
        Handler {
            name,
            read: true,
            write: true,
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
