//! [`ArgContext`]: what argument parsing may know of the router around the
//! element whose arguments it reads.
//!
//! Most argument values stand alone (`1000`, `10ms`, `1.2.3.4`), but Click
//! lets some name things defined elsewhere in the configuration or on the
//! host: an address named by an `AddressInfo` element (`eth0:ip`,
//! `net:bcast`), an annotation named by `AnnotationInfo`, another element
//! (Click's `ElementArg`), a network device of the host. The language
//! crate knows none of these; whoever builds the router does, and lends a
//! context to [`Args`](super::Args) ([`Args::with_context`](super::Args::with_context)).
//! Value types that can use it implement
//! [`FromArg::from_arg_in`](super::FromArg::from_arg_in); the others ignore
//! it.
//!
//! Every method has a default that knows nothing, so a context (a test's
//! fake, say) implements only what it needs; [`NoContext`] knows nothing at
//! all and is what plain [`FromArg::from_arg`](super::FromArg::from_arg)
//! parses against.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::anno::AnnoInfo;
use super::types::{EtherAddr, FromArg, Ipv4Prefix, Ipv6Prefix};

/// The kinds of address a name can stand for (Click's name databases
/// `T_IP_ADDR`, `T_IP_PREFIX`, `T_IP6_ADDR`, `T_IP6_PREFIX` and
/// `T_ETHERNET_ADDR`). One name may have one of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressKind {
    /// An IPv4 address.
    Ipv4,
    /// An IPv4 address with a mask.
    Ipv4Prefix,
    /// An IPv6 address.
    Ipv6,
    /// An IPv6 address with a prefix length.
    Ipv6Prefix,
    /// An Ethernet address.
    Ether,
}

/// One address a name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv4 address with a mask (kept as written, not masked).
    Ipv4Prefix(Ipv4Prefix),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
    /// An IPv6 address with a prefix length.
    Ipv6Prefix(Ipv6Prefix),
    /// An Ethernet address.
    Ether(EtherAddr),
}

impl Address {
    /// Which kind of address this is.
    pub fn kind(&self) -> AddressKind {
        match self {
            Address::Ipv4(_) => AddressKind::Ipv4,
            Address::Ipv4Prefix(_) => AddressKind::Ipv4Prefix,
            Address::Ipv6(_) => AddressKind::Ipv6,
            Address::Ipv6Prefix(_) => AddressKind::Ipv6Prefix,
            Address::Ether(_) => AddressKind::Ether,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ipv4(a) => a.fmt(f),
            Address::Ipv4Prefix(p) => p.fmt(f),
            Address::Ipv6(a) => a.fmt(f),
            Address::Ipv6Prefix(p) => p.fmt(f),
            Address::Ether(e) => e.fmt(f),
        }
    }
}

/// What the host says about one of its network devices, as Click reads it
/// at user level (`getifaddrs`): its Ethernet address, its first IPv4
/// address and that address's netmask, and its default gateway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetDevice {
    /// The device's Ethernet address (Ethernet and 802.11 devices only).
    pub ether: Option<EtherAddr>,
    /// The device's first IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// The netmask of that address.
    pub netmask: Option<Ipv4Addr>,
    /// The default route's gateway through this device.
    pub gateway: Option<Ipv4Addr>,
}

impl NetDevice {
    /// The device's IPv4 address and netmask as a prefix, if it has both.
    pub fn ipv4_prefix(&self) -> Option<Ipv4Prefix> {
        Some(Ipv4Prefix {
            addr: self.ipv4?,
            mask: self.netmask?,
        })
    }
}

/// An element of the router, named by an argument (Click's `ElementArg`):
/// the element a name resolves to from inside the element whose argument
/// it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ElementRef {
    /// The element's full name (`compound/name`).
    pub name: String,
    /// Its class.
    pub class: String,
    /// Its index in the router (configuration order).
    pub index: usize,
}

impl FromArg for ElementRef {
    const EXPECTED: &'static str = "element name";

    /// Element names resolve only in a router: without one, every name is
    /// unknown.
    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    /// The element `text` names, from inside the element whose argument
    /// it is (Click's `ElementArg`).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        ctx.element(text)
            .ok_or_else(|| format!("no element named '{text}'"))
    }
}

impl fmt::Display for ElementRef {
    /// Click's `name :: Class`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} :: {}", self.name, self.class)
    }
}

/// What an element's argument parsing may ask of the router around it.
///
/// Lookups are by exact name: the suffix rules (`NAME:ip`, `NAME:bcast`,
/// ...) are the parsers', applied on top of these. Each lookup answers as
/// seen from the element whose arguments are read: names defined in its
/// compound first, then in each enclosing compound out to the top level,
/// as Click's name databases do.
pub trait ArgContext: Send + Sync {
    /// The full name of the element whose arguments are read.
    fn element_name(&self) -> Option<&str> {
        None
    }

    /// The address of `kind` that an `AddressInfo` element in scope gives
    /// `name`.
    fn address(&self, kind: AddressKind, name: &str) -> Option<Address> {
        let _ = (kind, name);
        None
    }

    /// The host's network device `name` (`eth0`, `lo`).
    fn device(&self, name: &str) -> Option<NetDevice> {
        let _ = name;
        None
    }

    /// The annotation an `AnnotationInfo` element in scope names `name`.
    /// (Click's own names, `PAINT` and the rest, are known without a
    /// context.)
    fn annotation(&self, name: &str) -> Option<AnnoInfo> {
        let _ = name;
        None
    }

    /// The element that `name` stands for: `name` in the element's own
    /// compound, or else in each enclosing compound in turn, out to the
    /// top level (Click's `Router::find`).
    fn element(&self, name: &str) -> Option<ElementRef> {
        let _ = name;
        None
    }

    /// The port a `PortInfo` element in scope gives `name` for IP
    /// protocol `protocol` (6 for TCP, 17 for UDP).
    fn port(&self, protocol: u8, name: &str) -> Option<u16> {
        let _ = (protocol, name);
        None
    }
}

/// A context that knows nothing: arguments parse as they would with no
/// router around them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoContext;

impl ArgContext for NoContext {}

/// A context with definitions in front of another's: what an information
/// element (AddressInfo, AnnotationInfo) has defined so far while it reads
/// its arguments in order, before what was defined ahead of it. (The
/// engine answers such an element with the names defined before it, as
/// Click configures these elements one after the other.)
pub struct Defining<'a> {
    base: &'a dyn ArgContext,
    addresses: HashMap<(AddressKind, String), Address>,
    annotations: HashMap<String, AnnoInfo>,
}

impl<'a> Defining<'a> {
    /// Nothing defined yet in front of `base`.
    pub fn new(base: &'a dyn ArgContext) -> Self {
        Defining {
            base,
            addresses: HashMap::new(),
            annotations: HashMap::new(),
        }
    }

    /// From now on `name` stands for `address` (of its kind).
    pub fn define_address(&mut self, name: &str, address: Address) {
        self.addresses
            .insert((address.kind(), name.to_string()), address);
    }

    /// From now on `name` stands for `anno`.
    pub fn define_annotation(&mut self, name: &str, anno: AnnoInfo) {
        self.annotations.insert(name.to_string(), anno);
    }
}

impl ArgContext for Defining<'_> {
    fn element_name(&self) -> Option<&str> {
        self.base.element_name()
    }

    fn address(&self, kind: AddressKind, name: &str) -> Option<Address> {
        match self.addresses.get(&(kind, name.to_string())) {
            Some(a) => Some(*a),
            None => self.base.address(kind, name),
        }
    }

    fn device(&self, name: &str) -> Option<NetDevice> {
        self.base.device(name)
    }

    fn annotation(&self, name: &str) -> Option<AnnoInfo> {
        match self.annotations.get(name) {
            Some(a) => Some(*a),
            None => self.base.annotation(name),
        }
    }

    fn element(&self, name: &str) -> Option<ElementRef> {
        self.base.element(name)
    }

    fn port(&self, protocol: u8, name: &str) -> Option<u16> {
        self.base.port(protocol, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Args;
    use std::sync::Arc;

    /// Elements `a`, `c/b` and `c/d/b`, seen from `from`.
    struct Router {
        from: &'static str,
    }

    const ELEMENTS: &[(&str, &str)] = &[("a", "Idle"), ("c/b", "Counter"), ("c/d/b", "Queue")];

    impl ArgContext for Router {
        fn element_name(&self) -> Option<&str> {
            Some(self.from)
        }

        fn element(&self, name: &str) -> Option<ElementRef> {
            // Click's Router::find: the element's compound, then outwards.
            let mut scope = self.from;
            loop {
                scope = scope.rfind('/').map_or("", |i| &scope[..i]);
                let full = match scope {
                    "" => name.to_string(),
                    _ => format!("{scope}/{name}"),
                };
                if let Some(index) = ELEMENTS.iter().position(|(n, _)| *n == full) {
                    return Some(ElementRef {
                        name: full,
                        class: ELEMENTS[index].1.to_string(),
                        index,
                    });
                }
                if scope.is_empty() {
                    return None;
                }
            }
        }
    }

    #[test]
    fn element_references() {
        let inner = Router { from: "c/d/x" };
        let got = ElementRef::from_arg_in("b", &inner).unwrap();
        assert_eq!((got.name.as_str(), got.index), ("c/d/b", 2));
        assert_eq!(got.to_string(), "c/d/b :: Queue");
        assert_eq!(ElementRef::from_arg_in("a", &inner).unwrap().class, "Idle");
        let outer = Router { from: "c/x" };
        assert_eq!(ElementRef::from_arg_in("b", &outer).unwrap().name, "c/b");
        assert_eq!(
            ElementRef::from_arg_in("d/b", &outer).unwrap().name,
            "c/d/b"
        );
        assert_eq!(
            ElementRef::from_arg_in("zz", &outer),
            Err("no element named 'zz'".to_string())
        );
        assert_eq!(
            ElementRef::from_arg("a"),
            Err("no element named 'a'".to_string())
        );

        let mut args = Args::with_context("b, FOO nothing", Arc::new(Router { from: "c/x" }));
        assert_eq!(args.context().element_name(), Some("c/x"));
        assert!(args.shared_context().is_some());
        assert_eq!(Args::new("").context().element_name(), None);
        assert!(Args::new("").shared_context().is_none());
        assert_eq!(args.read_mp::<ElementRef>("E").map(|e| e.index), Ok(1));
        assert_eq!(
            args.read::<ElementRef>("FOO").unwrap_err().to_string(),
            "FOO: no element named 'nothing'"
        );
        let mut later = Args::new("c/d/b");
        later.set_context(Arc::new(Router { from: "x" }));
        assert_eq!(later.parse::<ElementRef>("c/b").map(|e| e.index), Ok(1));
        assert_eq!(later.read_mp::<ElementRef>("E").map(|e| e.index), Ok(2));
        assert!(format!("{later:?}").contains("\"x\""));
    }

    #[test]
    fn definitions_in_front() {
        let base = Router { from: "c/d/x" };
        let mut d = Defining::new(&base);
        assert_eq!(d.element_name(), Some("c/d/x"));
        assert_eq!(d.address(AddressKind::Ipv4, "a"), None);
        d.define_address("a", Address::Ipv4(Ipv4Addr::new(1, 2, 3, 4)));
        d.define_annotation("A", AnnoInfo::new(3, 1));
        assert_eq!(
            d.address(AddressKind::Ipv4, "a"),
            Some(Address::Ipv4(Ipv4Addr::new(1, 2, 3, 4)))
        );
        assert_eq!(d.address(AddressKind::Ether, "a"), None);
        assert_eq!(d.annotation("A"), Some(AnnoInfo::new(3, 1)));
        assert_eq!(d.element("b").map(|e| e.index), Some(2));
    }

    #[test]
    fn device_prefix_needs_both_parts() {
        let d = NetDevice {
            ipv4: Some(Ipv4Addr::new(127, 0, 0, 1)),
            ..NetDevice::default()
        };
        assert_eq!(d.ipv4_prefix(), None);
        let d = NetDevice {
            netmask: Some(Ipv4Addr::new(255, 0, 0, 0)),
            ..d
        };
        assert_eq!(
            d.ipv4_prefix().map(|p| p.to_string()),
            Some("127.0.0.1/8".into())
        );
    }
}
