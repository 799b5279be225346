//! Click's `HandlerCall` for write handlers given in a configuration
//! (`COUNT_CALL`, `END_CALL`): `ELEMENT.HANDLER [VALUE]`, or the global
//! `stop`.

use click_engine::args::pop_word;
use click_engine::Ctx;

/// A write-handler call: `element.handler value`, or the router's `stop`.
#[derive(Debug, Clone)]
pub(crate) struct HandlerCall {
    /// `element.handler`, or `stop`.
    handler: String,
    value: String,
}

impl HandlerCall {
    /// Parses `HANDLER [VALUE]`; `what` names the keyword in errors.
    pub(crate) fn parse(text: &str, what: &str) -> Result<HandlerCall, String> {
        let (handler, value) = pop_word(text);
        if handler.is_empty() {
            return Err(format!("{what}: missing handler"));
        }
        if !handler.contains('.') && handler != "stop" {
            return Err(format!("{what}: no handler '{handler}'"));
        }
        Ok(HandlerCall {
            handler,
            value: value.trim().to_string(),
        })
    }

    /// The router's `stop` handler, as Click's `STOP true` is.
    pub(crate) fn stop() -> HandlerCall {
        HandlerCall {
            handler: "stop".into(),
            value: String::new(),
        }
    }

    /// Calls the handler. The element is looked up first beside the
    /// caller, inside its compound, then at the top level, as Click's
    /// handler names relative to an element's context. Errors are logged,
    /// as Click ignores a failed call.
    pub(crate) fn call(&self, ctx: &mut Ctx<'_>) {
        self.call_value(&self.value, ctx);
    }

    /// Calls the handler with `$NAME` in its value replaced by `text`, as
    /// Click's call in a variable scope (TimeFilter's `END_CALL s.run $t`).
    pub(crate) fn call_with_var(&self, name: &str, text: &str, ctx: &mut Ctx<'_>) {
        let value = self.value.replace(&format!("${name}"), text);
        self.call_value(&value, ctx);
    }

    fn call_value(&self, value: &str, ctx: &mut Ctx<'_>) {
        if self.handler == "stop" {
            ctx.stop_router();
            return;
        }
        let (element, handler) = self.handler.rsplit_once('.').unwrap_or_default();
        let inner = ctx
            .name()
            .rsplit_once('/')
            .map(|(prefix, _)| format!("{prefix}/{element}"));
        let target = match inner {
            Some(inner) if ctx.read_handler(&inner, "name").is_ok() => inner,
            _ => element.to_string(),
        };
        if let Err(e) = ctx.write_handler(&target, handler, value) {
            tracing::warn!("{}: call of {}: {e}", ctx.name(), self.handler);
        }
    }
}
