//! ClickyInfo: style information for the Clicky GUI.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `ClickyInfo(STYLE ...)`: holds style sheets for Click's Clicky GUI,
/// which reads them from the configuration. The router ignores its
/// arguments, as Click's drivers do; it is here so that configurations
/// written for Clicky run unchanged.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults (`config` shows the styles).
#[derive(Debug)]
pub struct ClickyInfo;

impl ElementClass for ClickyInfo {
    const CLASS: &'static str = "ClickyInfo";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let _ = args.rest();
        Ok(ClickyInfo)
    }
}

impl Element for ClickyInfo {}
