//! Message: prints a message, or fails, when the router is set up.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, Element, ElementClass, InitCtx};

/// `Message(MESSAGE [, TYPE])`: says MESSAGE when the router is set up.
/// TYPE `MESSAGE` (the default) logs it as information, `WARNING` as a
/// warning, and `ERROR` makes it a configuration error, so the router
/// does not start. Useful in compound elements and `require`d libraries
/// to explain why a configuration is refused.
///
/// Click prints the message while configuring; this one logs it once the
/// element is initialized, because a configuration is configured more than
/// once here (checked, then built on its thread) and the message should
/// appear once.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct Message {
    message: String,
    warning: bool,
}

impl ElementClass for Message {
    const CLASS: &'static str = "Message";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let message: String = args.read_mp("MESSAGE")?;
        let kind: String = args.read_p("TYPE")?.unwrap_or_else(|| "MESSAGE".into());
        let warning = match kind.as_str() {
            "MESSAGE" => false,
            "WARNING" => true,
            "ERROR" => return Err(message),
            _ => return Err("unrecognized message type".into()),
        };
        Ok(Message { message, warning })
    }
}

impl Element for Message {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        if self.warning {
            tracing::warn!("{}: {}", ctx.name(), self.message);
        } else {
            tracing::info!("{}: {}", ctx.name(), self.message);
        }
        Ok(())
    }
}
