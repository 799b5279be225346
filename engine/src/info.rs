//! The argument context: what an element's configuration may name in the
//! router around it, answered for `click_lang::args::ArgContext`.
//!
//! * `AddressInfo` names (`AddressInfo(eth0 10.0.0.1 00:01:02:03:04:05)`),
//!   and `AnnotationInfo` names, each visible in the compound of the
//!   element that defines it and inside it, as Click's name databases
//!   are; and `PortInfo` names for TCP and UDP ports, scoped alike: a
//!   lookup starts in the asking element's compound and goes
//!   outwards to the top level.
//! * Element names, resolved as Click's `Router::find` resolves them from
//!   inside a compound.
//! * The host's network devices (`eth0`, `lo`): Ethernet address, first
//!   IPv4 address and netmask, default gateway, read once per router the
//!   first time a name needs them (`getifaddrs`, `/proc/net/route`).
//!
//! [`RouterInfo::build`] reads the `AddressInfo` and `AnnotationInfo`
//! elements' configurations once per router, in configuration order, each
//! argument seeing the names defined before it (Click configures these
//! classes first, in order). Arguments that do not parse are skipped here;
//! the element's own `configure` reports them. So that it judges them as
//! they were read, an `AddressInfo` is answered address names defined
//! before it (and an `AnnotationInfo` annotation names), and lays its own
//! in front as it goes (`click_lang::args::Defining`); every other element
//! sees all of them.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, OnceLock};

use click_lang::args::{
    parse_address_info, parse_annotation_info, parse_port_info, split_args, Address, AddressKind,
    AnnoInfo, AnnotationInfoArg, ArgContext, ElementRef, NetDevice,
};

use crate::graph::Graph;

/// The class whose arguments define address names.
const ADDRESS_INFO: &str = "AddressInfo";
/// The class whose arguments define annotation names.
const ANNOTATION_INFO: &str = "AnnotationInfo";
/// The class whose arguments define port names.
const PORT_INFO: &str = "PortInfo";

/// The compound an element named `name` is in, as a name prefix: `c/d/`
/// for `c/d/x`, empty at the top level.
fn scope_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..=i])
}

/// The scope enclosing `scope` (`c/` for `c/d/`), or `None` at the top.
fn outer(scope: &str) -> Option<&str> {
    if scope.is_empty() {
        return None;
    }
    let inner = &scope[..scope.len() - 1];
    Some(inner.rfind('/').map_or("", |i| &inner[..=i]))
}

/// The definitions of one name in one scope: (defining element, value), in
/// order.
type Defs<T> = Vec<(usize, T)>;

/// The last of `defs` made by an element before `before` (any, if `None`).
fn last_before<T: Copy>(defs: &Defs<T>, before: Option<usize>) -> Option<T> {
    defs.iter()
        .rev()
        .find(|(e, _)| before.is_none_or(|b| *e < b))
        .map(|(_, v)| *v)
}

/// What a router's element configurations may name, for the whole router.
#[derive(Debug, Default)]
pub(crate) struct RouterInfo {
    /// Every element's full name and class, in configuration order.
    elements: Vec<(String, String)>,
    /// Element index by full name.
    by_name: HashMap<String, usize>,
    /// AddressInfo definitions: scope -> (kind, name) -> the defining
    /// element and the address, in definition order (the last wins).
    addresses: HashMap<String, HashMap<(AddressKind, String), Defs<Address>>>,
    /// AnnotationInfo definitions: scope -> name -> definitions.
    annotations: HashMap<String, HashMap<String, Defs<AnnoInfo>>>,
    /// PortInfo definitions: scope -> (IP protocol, name) -> definitions.
    ports: HashMap<String, HashMap<(u8, String), Defs<u16>>>,
    /// The host's network devices, read when first needed.
    devices: OnceLock<HashMap<String, NetDevice>>,
}

impl RouterInfo {
    /// Reads the router's information elements, in configuration order.
    pub(crate) fn build(graph: &Graph) -> RouterInfo {
        let mut info = RouterInfo {
            elements: graph
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.class.clone()))
                .collect(),
            ..RouterInfo::default()
        };
        info.by_name = info
            .elements
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        for (e, node) in graph.nodes.iter().enumerate() {
            let scope = scope_of(&node.name).to_string();
            let class = node.class.as_str();
            if class == PORT_INFO {
                info.define_ports(e, &scope, &node.config);
                continue;
            }
            if class != ADDRESS_INFO && class != ANNOTATION_INFO {
                continue;
            }
            for arg in split_args(&node.config) {
                let from = Scoped {
                    info: &info,
                    from: &node.name,
                };
                if class == ADDRESS_INFO {
                    let Some(entry) = parse_address_info(&arg, &from) else {
                        continue;
                    };
                    let names = info.addresses.entry(scope.clone()).or_default();
                    for a in entry.addresses {
                        let key = (a.kind(), entry.name.clone());
                        names.entry(key).or_default().push((e, a));
                    }
                } else if let Ok(AnnotationInfoArg::Define { name, anno }) =
                    parse_annotation_info(&arg, &from)
                {
                    let names = info.annotations.entry(scope.clone()).or_default();
                    names.entry(name).or_default().push((e, anno));
                }
            }
        }
        info
    }

    /// Reads PortInfo element `e`'s names. (PortInfo names cannot refer to
    /// other names, so order within the router does not matter to them.)
    fn define_ports(&mut self, e: usize, scope: &str, config: &str) {
        for arg in split_args(config) {
            let Ok(Some(entry)) = parse_port_info(&arg) else {
                continue;
            };
            let names = self.ports.entry(scope.to_string()).or_default();
            for name in &entry.names {
                for &protocol in &entry.protocols {
                    let key = (protocol, name.clone());
                    names.entry(key).or_default().push((e, entry.port));
                }
            }
        }
    }

    /// The context for the arguments of element `e`.
    pub(crate) fn context_for(self: &Arc<Self>, e: usize) -> Arc<dyn ArgContext> {
        Arc::new(ElementArgs {
            info: self.clone(),
            element: e,
        })
    }

    /// Finds `name` (by `key`) in `from`'s scope, then outwards, among the
    /// definitions made before element `before` (all, if `None`).
    fn lookup<K, V: Copy>(
        map: &HashMap<String, HashMap<K, Defs<V>>>,
        from: &str,
        before: Option<usize>,
        key: impl Fn(&HashMap<K, Defs<V>>) -> Option<&Defs<V>>,
    ) -> Option<V> {
        let mut scope = Some(scope_of(from));
        while let Some(s) = scope {
            if let Some(v) = map
                .get(s)
                .and_then(&key)
                .and_then(|d| last_before(d, before))
            {
                return Some(v);
            }
            scope = outer(s);
        }
        None
    }

    fn address(
        &self,
        from: &str,
        before: Option<usize>,
        kind: AddressKind,
        name: &str,
    ) -> Option<Address> {
        let key = (kind, name.to_string());
        Self::lookup(&self.addresses, from, before, |m| m.get(&key))
    }

    fn annotation(&self, from: &str, before: Option<usize>, name: &str) -> Option<AnnoInfo> {
        Self::lookup(&self.annotations, from, before, |m| m.get(name))
    }

    fn port(&self, from: &str, protocol: u8, name: &str) -> Option<u16> {
        let key = (protocol, name.to_string());
        Self::lookup(&self.ports, from, None, |m| m.get(&key))
    }

    fn device(&self, name: &str) -> Option<NetDevice> {
        self.devices.get_or_init(read_devices).get(name).copied()
    }

    /// Click's `Router::find(name, context)`: `name` in `from`'s compound,
    /// then in each enclosing one.
    fn element(&self, from: &str, name: &str) -> Option<ElementRef> {
        let mut scope = Some(scope_of(from));
        while let Some(s) = scope {
            if let Some(&index) = self.by_name.get(&format!("{s}{name}")) {
                let (name, class) = self.elements[index].clone();
                return Some(ElementRef { name, class, index });
            }
            scope = outer(s);
        }
        None
    }
}

/// The context of one element's arguments while the router's information
/// is still being read.
struct Scoped<'a> {
    info: &'a RouterInfo,
    from: &'a str,
}

impl ArgContext for Scoped<'_> {
    fn element_name(&self) -> Option<&str> {
        Some(self.from)
    }

    fn address(&self, kind: AddressKind, name: &str) -> Option<Address> {
        self.info.address(self.from, None, kind, name)
    }

    fn device(&self, name: &str) -> Option<NetDevice> {
        self.info.device(name)
    }

    fn annotation(&self, name: &str) -> Option<AnnoInfo> {
        self.info.annotation(self.from, None, name)
    }

    fn element(&self, name: &str) -> Option<ElementRef> {
        self.info.element(self.from, name)
    }

    fn port(&self, protocol: u8, name: &str) -> Option<u16> {
        self.info.port(self.from, protocol, name)
    }
}

/// The context of element `element`'s arguments: what `Args` carries, and
/// what an element may keep to parse handler values later.
struct ElementArgs {
    info: Arc<RouterInfo>,
    element: usize,
}

impl ElementArgs {
    fn from(&self) -> &str {
        self.info
            .elements
            .get(self.element)
            .map_or("", |(n, _)| n.as_str())
    }

    /// The definitions of `class`'s names this element sees: an element of
    /// that class sees those made before it; any other, all of them.
    fn before(&self, class: &str) -> Option<usize> {
        let own = self.info.elements.get(self.element)?;
        (own.1 == class).then_some(self.element)
    }
}

impl ArgContext for ElementArgs {
    fn element_name(&self) -> Option<&str> {
        Some(self.from())
    }

    fn address(&self, kind: AddressKind, name: &str) -> Option<Address> {
        let before = self.before(ADDRESS_INFO);
        self.info.address(self.from(), before, kind, name)
    }

    fn device(&self, name: &str) -> Option<NetDevice> {
        self.info.device(name)
    }

    fn annotation(&self, name: &str) -> Option<AnnoInfo> {
        let before = self.before(ANNOTATION_INFO);
        self.info.annotation(self.from(), before, name)
    }

    fn element(&self, name: &str) -> Option<ElementRef> {
        self.info.element(self.from(), name)
    }

    fn port(&self, protocol: u8, name: &str) -> Option<u16> {
        self.info.port(self.from(), protocol, name)
    }
}

/// The host's network devices by name, as Click's user-level AddressInfo
/// reads them: from `getifaddrs`, each device's first IPv4 address with
/// its netmask and, for Ethernet and 802.11 devices, its hardware address;
/// and the default route's gateway for each device from the kernel's
/// routing table. Whatever cannot be read is left out.
fn read_devices() -> HashMap<String, NetDevice> {
    let mut devices: HashMap<String, NetDevice> = HashMap::new();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `ifap` and returns 0, or
    // fails and returns -1 leaving it unusable; we read the list only on
    // success and free it exactly once below.
    if unsafe { libc::getifaddrs(&mut ifap) } == 0 {
        let mut cur = ifap;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned,
            // valid until freeifaddrs.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_name.is_null() || ifa.ifa_addr.is_null() {
                continue;
            }
            // SAFETY: a non-null ifa_name is a NUL-terminated string and a
            // non-null ifa_addr points at a sockaddr whose family says
            // which sockaddr it is.
            let (name, family) = unsafe {
                (
                    std::ffi::CStr::from_ptr(ifa.ifa_name)
                        .to_string_lossy()
                        .into_owned(),
                    i32::from((*ifa.ifa_addr).sa_family),
                )
            };
            let device = devices.entry(name).or_default();
            if family == libc::AF_INET && device.ipv4.is_none() {
                // SAFETY: an AF_INET address is a sockaddr_in; so is its
                // netmask, when there is one.
                unsafe {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    device.ipv4 = Some(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()));
                    if !ifa.ifa_netmask.is_null() {
                        let mask = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                        device.netmask = Some(Ipv4Addr::from(mask.sin_addr.s_addr.to_ne_bytes()));
                    }
                }
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if family == libc::AF_PACKET && device.ether.is_none() {
                // SAFETY: an AF_PACKET address is a sockaddr_ll.
                let sll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
                let ethernet = sll.sll_hatype == libc::ARPHRD_ETHER
                    || sll.sll_hatype == libc::ARPHRD_IEEE80211;
                if ethernet && sll.sll_halen == 6 {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&sll.sll_addr[..6]);
                    device.ether = Some(click_lang::args::EtherAddr(mac));
                }
            }
        }
        // SAFETY: `ifap` came from a successful getifaddrs.
        unsafe { libc::freeifaddrs(ifap) };
    }
    if let Ok(routes) = std::fs::read_to_string("/proc/net/route") {
        for (name, gateway) in default_gateways(&routes) {
            let device = devices.entry(name).or_default();
            device.gateway.get_or_insert(gateway);
        }
    }
    devices.retain(|_, d| *d != NetDevice::default());
    devices
}

/// The default routes' gateways by device, from the text of Linux's
/// `/proc/net/route` (addresses are the kernel's in-memory words, printed
/// in hex).
fn default_gateways(routes: &str) -> Vec<(String, Ipv4Addr)> {
    const RTF_GATEWAY: u32 = 0x2;
    let word = |s: &str| u32::from_str_radix(s, 16).ok();
    routes
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, gw, flags, mask) =
                (f.first()?, f.get(1)?, f.get(2)?, f.get(3)?, f.get(7)?);
            let default = word(dest)? == 0 && word(mask)? == 0;
            (default && word(flags)? & RTF_GATEWAY != 0)
                .then(|| Some((iface.to_string(), Ipv4Addr::from(word(gw)?.to_ne_bytes()))))?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(scope_of("x"), "");
        assert_eq!(scope_of("c/d/x"), "c/d/");
        assert_eq!(outer("c/d/"), Some("c/"));
        assert_eq!(outer("c/"), Some(""));
        assert_eq!(outer(""), None);
    }

    #[test]
    fn gateways_from_the_routing_table() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            bad line\n";
        let gw = default_gateways(table);
        assert_eq!(gw.len(), 1);
        let expect = Ipv4Addr::from(0x010200C0u32.to_ne_bytes());
        assert_eq!(gw[0], ("eth0".to_string(), expect));
        if cfg!(target_endian = "little") {
            assert_eq!(expect, Ipv4Addr::new(192, 0, 2, 1));
        }
    }

    #[test]
    fn loopback_has_an_address() {
        // Every Linux host has `lo` with 127.0.0.1/8 and no Ethernet
        // address; elsewhere this only checks that reading does not fail.
        let devices = read_devices();
        if cfg!(target_os = "linux") {
            let lo = devices.get("lo").copied().unwrap_or_default();
            assert_eq!(lo.ipv4, Some(Ipv4Addr::LOCALHOST));
            assert_eq!(lo.netmask, Some(Ipv4Addr::new(255, 0, 0, 0)));
            assert_eq!(lo.ether, None);
        }
    }
}
