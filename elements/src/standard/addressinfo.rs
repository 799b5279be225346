//! AddressInfo: names for addresses.

use click_engine::args::{parse_address_info, Args, Defining};
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `AddressInfo(NAME ADDRESS [ADDRESS...], ...)`: lets the configuration
/// strings of the elements in this AddressInfo's compound, and inside it,
/// use NAME for the ADDRESSes: IPv4 and IPv6 addresses and prefixes and
/// Ethernet addresses. `AddressInfo(mauer 10.0.0.1/24 00-50-BA-85-84-A9)`
/// makes `mauer` an IP address (10.0.0.1, since the prefix has host bits
/// set), an IP prefix (10.0.0.1/24) and an Ethernet address; the argument
/// that reads it decides which. Suffixes choose: `NAME:ip`, `NAME:ipnet`,
/// `NAME:ip6`, `NAME:ip6net`, `NAME:eth`; `NAME:bcast` is the broadcast
/// address of NAME's prefix and `NAME:gw` its gateway (the network address
/// with the lowest bit set, unless a name `NAME:gw` is defined). A name
/// with both an address and a prefix reads as its address where either
/// would do. Names defined inside a compound are not seen outside it.
///
/// A name that no AddressInfo defines may be a network device of the host
/// (`eth0`, `eth0:ipnet`, `eth0:gw`, `eth0:eth`): its first IPv4 address
/// and netmask, its Ethernet address, its default gateway, as Click reads
/// them at user level.
///
/// The engine reads the names when it builds the router (as Click
/// configures AddressInfo first, in order: an ADDRESS may be a name an
/// earlier argument defined); this element reports the errors.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct AddressInfo;

impl ElementClass for AddressInfo {
    const CLASS: &'static str = "AddressInfo";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let conf = args.rest();
        // Each argument sees the names defined before it, in this element
        // and in those before it, as Click reads them.
        let mut names = Defining::new(args.context());
        let mut errors = Vec::new();
        for arg in conf {
            let Some(entry) = parse_address_info(&arg, &names) else {
                continue;
            };
            for a in entry.addresses {
                names.define_address(&entry.name, a);
            }
            errors.extend(entry.errors);
        }
        if errors.is_empty() {
            Ok(AddressInfo)
        } else {
            Err(errors.join("; "))
        }
    }
}

impl Element for AddressInfo {}
