//! Message: prints a message, or fails, while the router is configured.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `Message(MESSAGE [, TYPE])`: says MESSAGE when the router is
/// configured. TYPE `MESSAGE` (the default) logs it as information,
/// `WARNING` as a warning, and `ERROR` makes it a configuration error, so
/// the router does not start. Useful in compound elements and `require`d
/// libraries to explain why a configuration is refused.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct Message;

impl ElementClass for Message {
    const CLASS: &'static str = "Message";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let message: String = args.read_mp("MESSAGE")?;
        let kind: String = args.read_p("TYPE")?.unwrap_or_else(|| "MESSAGE".into());
        match kind.as_str() {
            "MESSAGE" => tracing::info!("{}: {message}", ctx.name),
            "WARNING" => tracing::warn!("{}: {message}", ctx.name),
            "ERROR" => return Err(message),
            _ => return Err("unrecognized message type".into()),
        }
        Ok(Message)
    }
}

impl Element for Message {}
