//! PortInfo: names for TCP and UDP ports.

use click_engine::args::{parse_port_info, Args};
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `PortInfo(NAME PORT[/PROTOCOL], ...)`: lets the configuration strings
/// of the elements in this PortInfo's compound, and inside it, use NAME
/// for the TCP or UDP port PORT (for both when PROTOCOL, `tcp` or `udp`, is
/// left off). `PortInfo(ssh 22, http 80)`. Names defined inside a compound
/// are not seen outside it. An argument may define several names (`NAME
/// PORT/PROTOCOL NAME...`) and `#` starts a comment, so that lines of
/// `/etc/services` can be given verbatim. A name that no PortInfo defines
/// may be one of the well-known ports every element knows (`www`, `ssh`,
/// `domain`, ... as IPFilter lists them), which stand in for Click's
/// `getservbyname` at user level.
///
/// The engine reads the names when it builds the router; this element
/// reports the errors.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct PortInfo;

impl ElementClass for PortInfo {
    const CLASS: &'static str = "PortInfo";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let errors: Vec<String> = args
            .rest()
            .iter()
            .filter_map(|arg| parse_port_info(arg).err())
            .collect();
        if errors.is_empty() {
            Ok(PortInfo)
        } else {
            Err(errors.join("; "))
        }
    }
}

impl Element for PortInfo {}
