//! Message: says something, or fails, while the router is configured.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `Message(MESSAGE [, TYPE])`: says MESSAGE when the router is
/// configured. TYPE `MESSAGE` (the default) says it as it is, `WARNING`
/// prefixed with `warning: `, and `ERROR` makes it a configuration error,
/// so the router does not start. Useful in compound elements and
/// `require`d libraries to explain why a configuration is refused. The
/// `router` binary prints a message on standard error once, with the
/// element's place, as Click's `FILE:LINE: While configuring 'm ::
/// Message':` and the text indented below it (a program running a router
/// finds them in `Router::messages`).
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct Message {
    /// What it says, prefixed as its TYPE asks.
    text: String,
}

impl ElementClass for Message {
    const CLASS: &'static str = "Message";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let message: String = args.read_mp("MESSAGE")?;
        let kind: String = args.read_p("TYPE")?.unwrap_or_else(|| "MESSAGE".into());
        let text = match kind.as_str() {
            "MESSAGE" => message,
            "WARNING" => format!("warning: {message}"),
            "ERROR" => return Err(message),
            _ => return Err("unrecognized message type".into()),
        };
        Ok(Message { text })
    }
}

impl Element for Message {
    fn configure_message(&self) -> Option<&str> {
        Some(&self.text)
    }
}
