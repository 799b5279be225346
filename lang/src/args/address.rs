//! Address names: Click's `AddressInfo` lookups (`NAME`, `NAME:ip`,
//! `NAME:ipnet`, `NAME:bcast`, `NAME:gw`, `NAME:ip6`, `NAME:ip6net`,
//! `NAME:eth`) on top of an [`ArgContext`], and the parsing of
//! `AddressInfo`'s own arguments.
//!
//! The rules are those of Click's `elements/standard/addressinfo.cc`: the
//! suffix after the last colon says which kind of address is meant (case
//! does not matter); a name without one is looked up as the kind the
//! argument needs. A name that no `AddressInfo` defines may be a network
//! device of the host: its Ethernet address, its IPv4 address and prefix,
//! its gateway.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::context::{Address, AddressKind, ArgContext};
use super::split::split_words;
use super::types::{
    parse_ipv4_prefix, parse_ipv6_prefix, EtherAddr, FromArg, Ipv4Prefix, Ipv6Prefix,
};

/// Splits `NAME:suffix` at its last colon: the name and the lower-cased
/// suffix (with its colon), or the whole text and `None`.
fn split_suffix(text: &str) -> (&str, Option<String>) {
    match text.rfind(':') {
        Some(i) => (&text[..i], Some(text[i..].to_ascii_lowercase())),
        None => (text, None),
    }
}

fn ipv4_named(ctx: &dyn ArgContext, name: &str) -> Option<Ipv4Addr> {
    match ctx.address(AddressKind::Ipv4, name)? {
        Address::Ipv4(a) => Some(a),
        _ => None,
    }
}

fn ipv4_prefix_named(ctx: &dyn ArgContext, name: &str) -> Option<Ipv4Prefix> {
    match ctx.address(AddressKind::Ipv4Prefix, name)? {
        Address::Ipv4Prefix(p) => Some(p),
        _ => None,
    }
}

/// Click's `AddressInfo::query_ip`: an IPv4 address for `text`, a name.
pub(crate) fn query_ip(text: &str, ctx: &dyn ArgContext) -> Option<Ipv4Addr> {
    let (name, suffix) = split_suffix(text);
    match suffix.as_deref() {
        None | Some(":ip") | Some(":ip4") => {
            ipv4_named(ctx, name).or_else(|| ctx.device(name)?.ipv4)
        }
        Some(":bcast") => {
            let p = query_ip_prefix(name, ctx)?;
            Some(Ipv4Addr::from(u32::from(p.addr) | !u32::from(p.mask)))
        }
        Some(":gw") => {
            // A name may be defined with its suffix (`AddressInfo(x:gw
            // 1.0.0.1)`); else the gateway is the prefix's network with
            // the lowest bit set, unless the device knows its own.
            if let Some(a) = ipv4_named(ctx, text) {
                return Some(a);
            }
            let prefix = match ipv4_prefix_named(ctx, name) {
                Some(p) => p,
                None => {
                    let device = ctx.device(name)?;
                    if let Some(gw) = device.gateway {
                        return Some(gw);
                    }
                    device.ipv4_prefix()?
                }
            };
            Some(Ipv4Addr::from(u32::from(prefix.network()) | 1))
        }
        Some(_) => None,
    }
}

/// Click's `AddressInfo::query_ip_prefix`: an IPv4 prefix for `text`, a
/// name (`NAME`, `NAME:net`, `NAME:ipnet`, `NAME:ip4net`).
pub(crate) fn query_ip_prefix(text: &str, ctx: &dyn ArgContext) -> Option<Ipv4Prefix> {
    let (name, suffix) = split_suffix(text);
    match suffix.as_deref() {
        None | Some(":net") | Some(":ipnet") | Some(":ip4net") => {
            ipv4_prefix_named(ctx, name).or_else(|| ctx.device(name)?.ipv4_prefix())
        }
        Some(_) => None,
    }
}

/// Click's `AddressInfo::query_ip6` (`NAME`, `NAME:ip6`).
pub(crate) fn query_ip6(text: &str, ctx: &dyn ArgContext) -> Option<Ipv6Addr> {
    let (name, suffix) = split_suffix(text);
    if suffix.as_deref().is_some_and(|s| s != ":ip6") {
        return None;
    }
    match ctx.address(AddressKind::Ipv6, name)? {
        Address::Ipv6(a) => Some(a),
        _ => None,
    }
}

/// Click's `AddressInfo::query_ip6_prefix` (`NAME`, `NAME:ip6net`).
pub(crate) fn query_ip6_prefix(text: &str, ctx: &dyn ArgContext) -> Option<Ipv6Prefix> {
    let (name, suffix) = split_suffix(text);
    if suffix.as_deref().is_some_and(|s| s != ":ip6net") {
        return None;
    }
    match ctx.address(AddressKind::Ipv6Prefix, name)? {
        Address::Ipv6Prefix(p) => Some(p),
        _ => None,
    }
}

/// Click's `AddressInfo::query_ethernet` (`NAME`, `NAME:eth`,
/// `NAME:ether`, `NAME:ethernet`).
pub(crate) fn query_ethernet(text: &str, ctx: &dyn ArgContext) -> Option<EtherAddr> {
    let (name, suffix) = split_suffix(text);
    match suffix.as_deref() {
        None | Some(":eth") | Some(":ether") | Some(":ethernet") => {
            match ctx.address(AddressKind::Ether, name) {
                Some(Address::Ether(e)) => Some(e),
                _ => ctx.device(name)?.ether,
            }
        }
        Some(_) => None,
    }
}

/// One argument of an `AddressInfo` element, parsed: `NAME ADDRESS...`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressInfoEntry {
    /// The name defined.
    pub name: String,
    /// What it stands for, at most one address of each kind.
    pub addresses: Vec<Address>,
    /// What was wrong with the argument: Click reports each error and
    /// defines the addresses that did parse.
    pub errors: Vec<String>,
}

/// Parses one argument of `AddressInfo(NAME ADDRESS [ADDRESS...], ...)`
/// as Click's AddressInfo does; `None` for an empty argument (allowed).
///
/// Each ADDRESS may be an Ethernet address, an IPv4 address, an IPv4
/// prefix (`1.0.0.2/24`: a prefix, and an address too since its host bits
/// are not zero), an IPv6 address or prefix, or a name `ctx` resolves (an
/// earlier AddressInfo name, a device), which may stand for several kinds
/// at once. A word that is one kind only always defines that kind; a word
/// of several kinds defines those the argument's earlier words did not.
///
/// ```
/// use click_lang::args::{parse_address_info, Address, NoContext};
/// let e = parse_address_info("a 1.0.0.2/24 00:01:02:03:04:05", &NoContext).unwrap();
/// assert_eq!(e.name, "a");
/// let shown: Vec<String> = e.addresses.iter().map(|a| a.to_string()).collect();
/// assert_eq!(shown, ["1.0.0.2", "1.0.0.2/24", "00-01-02-03-04-05"]);
/// ```
pub fn parse_address_info(arg: &str, ctx: &dyn ArgContext) -> Option<AddressInfoEntry> {
    let words = split_words(arg);
    let (name, addresses) = words.split_first()?;
    let mut entry = AddressInfoEntry {
        name: name.clone(),
        ..AddressInfoEntry::default()
    };
    if addresses.is_empty() {
        entry.errors.push("expected 'NAME [ADDRS]'".to_string());
    }
    for word in addresses {
        let mut mine: Vec<Address> = Vec::new();
        if let Ok(e) = EtherAddr::from_arg_in(word, ctx) {
            mine.push(Address::Ether(e));
        }
        if let Ok(a) = Ipv4Addr::from_arg_in(word, ctx) {
            mine.push(Address::Ipv4(a));
        } else if let Some(p) = parse_ipv4_prefix(word, ctx, false) {
            if u32::from(p.addr) & !u32::from(p.mask) != 0 {
                mine.push(Address::Ipv4(p.addr));
            }
            mine.push(Address::Ipv4Prefix(p));
        }
        if let Ok(a) = Ipv6Addr::from_arg_in(word, ctx) {
            mine.push(Address::Ipv6(a));
        } else if let Some(p) = parse_ipv6_prefix(word, ctx, false) {
            if u128::from(p.addr) & !u128::from(p.mask()) != 0 {
                mine.push(Address::Ipv6(p.addr));
            }
            mine.push(Address::Ipv6Prefix(p));
        }
        if mine.is_empty() {
            entry
                .errors
                .push(format!("'{word}' is not a recognizable address"));
        }
        let one_kind = mine.len() == 1;
        for a in mine {
            match entry.addresses.iter().position(|b| b.kind() == a.kind()) {
                None => entry.addresses.push(a),
                Some(i) if one_kind => entry.addresses[i] = a,
                Some(_) => {}
            }
        }
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Args, NetDevice, NoContext};
    use std::collections::HashMap;
    use std::sync::Arc;

    /// A fake router: AddressInfo names and host devices.
    #[derive(Default)]
    struct Fake {
        names: HashMap<(AddressKind, String), Address>,
        devices: HashMap<String, NetDevice>,
    }

    impl Fake {
        fn define(&mut self, arg: &str) {
            let entry = parse_address_info(arg, self).unwrap();
            assert!(entry.errors.is_empty(), "{:?}", entry.errors);
            for a in entry.addresses {
                self.names.insert((a.kind(), entry.name.clone()), a);
            }
        }
    }

    impl ArgContext for Fake {
        fn address(&self, kind: AddressKind, name: &str) -> Option<Address> {
            self.names.get(&(kind, name.to_string())).copied()
        }

        fn device(&self, name: &str) -> Option<NetDevice> {
            self.devices.get(name).copied()
        }
    }

    fn fake() -> Fake {
        let mut f = Fake::default();
        f.devices.insert(
            "eth0".into(),
            NetDevice {
                ether: Some(EtherAddr([0, 0x1b, 0x21, 0x44, 4, 0xf0])),
                ipv4: Some(Ipv4Addr::new(192, 168, 2, 2)),
                netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
                gateway: None,
            },
        );
        f.devices.insert(
            "wlan0".into(),
            NetDevice {
                ipv4: Some(Ipv4Addr::new(10, 1, 2, 3)),
                netmask: Some(Ipv4Addr::new(255, 255, 0, 0)),
                gateway: Some(Ipv4Addr::new(10, 1, 0, 254)),
                ..NetDevice::default()
            },
        );
        f.define("foo 1.2.3.4/20");
        f.define("a 1.0.0.2/24 00:01:02:03:04:05");
        f.define("b 00:01:02:03:04:06");
        f.define("net 10.0.0.0/8");
        f.define("v6 2001:db8::1/64");
        f.define("router:gw 1.0.0.99");
        f
    }

    fn ip(text: &str, ctx: &dyn ArgContext) -> Result<Ipv4Addr, String> {
        Ipv4Addr::from_arg_in(text, ctx)
    }

    fn prefix(text: &str, ctx: &dyn ArgContext) -> Result<String, String> {
        Ipv4Prefix::from_arg_in(text, ctx).map(|p| p.to_string())
    }

    #[test]
    fn address_info_bcast_01() {
        // Click's test ip/AddressInfo-bcast-01, through the parsers.
        let f = fake();
        assert_eq!(prefix("foo", &f), Ok("1.2.3.4/32".into()));
        assert_eq!(prefix("foo:ipnet", &f), Ok("1.2.3.4/20".into()));
        assert_eq!(prefix("foo:bcast", &f), Ok("1.2.15.255/32".into()));
        assert_eq!(ip("foo:bcast", &f), Ok(Ipv4Addr::new(1, 2, 15, 255)));
    }

    #[test]
    fn ipv4_suffixes() {
        let f = fake();
        assert_eq!(ip("a", &f), Ok(Ipv4Addr::new(1, 0, 0, 2)));
        assert_eq!(ip("a:ip", &f), Ok(Ipv4Addr::new(1, 0, 0, 2)));
        assert_eq!(ip("a:IP4", &f), Ok(Ipv4Addr::new(1, 0, 0, 2)));
        assert_eq!(ip("a:gw", &f), Ok(Ipv4Addr::new(1, 0, 0, 1)));
        assert_eq!(ip("router:gw", &f), Ok(Ipv4Addr::new(1, 0, 0, 99)));
        assert_eq!(ip("net:bcast", &f), Ok(Ipv4Addr::new(10, 255, 255, 255)));
        assert_eq!(ip("net:gw", &f), Ok(Ipv4Addr::new(10, 0, 0, 1)));
        // `net` is a network only: no address of its own.
        assert_eq!(ip("net", &f), Err("expected IP address".into()));
        assert!(ip("b", &f).is_err());
        assert!(ip("a:eth", &f).is_err());
        assert!(ip("a:bogus", &f).is_err());
        assert!(ip("nobody", &f).is_err());
        assert_eq!(prefix("net", &f), Ok("10.0.0.0/8".into()));
        assert_eq!(prefix("net:net", &f), Ok("10.0.0.0/8".into()));
        assert_eq!(prefix("a:ip4net", &f), Ok("1.0.0.2/24".into()));
        assert_eq!(prefix("a/16", &f), Ok("1.0.0.2/16".into()));
        assert_eq!(prefix("1.0.0.0/a", &f), Ok("1.0.0.0/1.0.0.2".into()));
        assert!(prefix("a:eth", &f).is_err());
        // Without a context, names are errors as before.
        assert!(ip("a", &NoContext).is_err());
        assert!(prefix("foo:ipnet", &NoContext).is_err());
    }

    #[test]
    fn devices_supply_defaults() {
        let f = fake();
        assert_eq!(ip("eth0", &f), Ok(Ipv4Addr::new(192, 168, 2, 2)));
        assert_eq!(prefix("eth0:ipnet", &f), Ok("192.168.2.2/24".into()));
        assert_eq!(ip("eth0:bcast", &f), Ok(Ipv4Addr::new(192, 168, 2, 255)));
        assert_eq!(ip("eth0:gw", &f), Ok(Ipv4Addr::new(192, 168, 2, 1)));
        assert_eq!(ip("wlan0:gw", &f), Ok(Ipv4Addr::new(10, 1, 0, 254)));
        assert_eq!(
            EtherAddr::from_arg_in("eth0", &f).map(|e| e.to_string()),
            Ok("00-1B-21-44-04-F0".into())
        );
        assert!(EtherAddr::from_arg_in("wlan0", &f).is_err());
        // An AddressInfo name over a device of the same name.
        let mut g = fake();
        g.define("eth0 9.9.9.9");
        assert_eq!(ip("eth0", &g), Ok(Ipv4Addr::new(9, 9, 9, 9)));
        assert!(EtherAddr::from_arg_in("eth0:eth", &g).is_ok());
    }

    #[test]
    fn ethernet_and_ipv6_names() {
        let f = fake();
        let eth = |t: &str| EtherAddr::from_arg_in(t, &f).map(|e| e.to_string());
        assert_eq!(eth("a"), Ok("00-01-02-03-04-05".into()));
        assert_eq!(eth("b:eth"), Ok("00-01-02-03-04-06".into()));
        assert_eq!(eth("b:Ether"), Ok("00-01-02-03-04-06".into()));
        assert_eq!(eth("b:ethernet"), Ok("00-01-02-03-04-06".into()));
        assert!(eth("b:ip").is_err());
        assert!(eth("foo").is_err());
        let v6 = |t: &str| Ipv6Addr::from_arg_in(t, &f).map(|a| a.to_string());
        assert_eq!(v6("v6"), Ok("2001:db8::1".into()));
        assert_eq!(v6("v6:ip6"), Ok("2001:db8::1".into()));
        assert!(v6("v6:ip").is_err());
        let p6 = |t: &str| Ipv6Prefix::from_arg_in(t, &f).map(|a| a.to_string());
        assert_eq!(p6("v6"), Ok("2001:db8::1/128".into()));
        assert_eq!(p6("v6:ip6net"), Ok("2001:db8::1/64".into()));
        assert_eq!(p6("v6/48"), Ok("2001:db8::1/48".into()));
    }

    #[test]
    fn address_info_entries() {
        let f = fake();
        let kinds = |arg: &str| {
            let e = parse_address_info(arg, &f).unwrap();
            (
                e.addresses
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>(),
                e.errors,
            )
        };
        assert_eq!(kinds("x 1.2.3.4"), (vec!["1.2.3.4".to_string()], vec![]));
        assert_eq!(
            kinds("x 1.2.3.0/24"),
            (vec!["1.2.3.0/24".to_string()], vec![])
        );
        // A later word of one kind overrides; of several kinds, fills gaps.
        assert_eq!(
            kinds("x 1.2.3.4 5.6.7.8"),
            (vec!["5.6.7.8".to_string()], vec![])
        );
        assert_eq!(
            kinds("x 9.9.9.9 a"),
            (
                vec!["9.9.9.9".to_string(), "00-01-02-03-04-05".into()],
                vec![]
            )
        );
        assert_eq!(kinds("x 2001:db8::/32").0, ["2001:db8::/32"]);
        assert_eq!(kinds("x eth0").0, ["00-1B-21-44-04-F0", "192.168.2.2"]);
        assert_eq!(kinds("x eth0:ipnet").0, ["192.168.2.2", "192.168.2.2/24"]);
        assert_eq!(
            kinds("x bogus 1.2.3.4").1,
            ["'bogus' is not a recognizable address"]
        );
        assert_eq!(kinds("x").1, ["expected 'NAME [ADDRS]'"]);
        assert_eq!(parse_address_info("", &f), None);
        assert_eq!(parse_address_info("/* just a comment */", &f), None);
    }

    #[test]
    fn args_carry_the_context() {
        let mut args = Args::with_context("foo:bcast, a:eth", Arc::new(fake()));
        assert_eq!(
            args.read_mp::<Ipv4Addr>("IP"),
            Ok(Ipv4Addr::new(1, 2, 15, 255))
        );
        assert_eq!(
            args.read_mp::<EtherAddr>("ETH"),
            Ok(EtherAddr([0, 1, 2, 3, 4, 5]))
        );
        assert!(args.complete().is_ok());
        let mut bare = Args::new("foo:bcast");
        assert_eq!(
            bare.read_mp::<Ipv4Addr>("IP").unwrap_err().to_string(),
            "IP: expected IP address"
        );
        let mut list = Args::with_context("a foo 1.1.1.1", Arc::new(fake()));
        assert_eq!(
            list.read_mp::<Vec<Ipv4Addr>>("IPS"),
            Ok(vec![
                Ipv4Addr::new(1, 0, 0, 2),
                Ipv4Addr::new(1, 2, 3, 4),
                Ipv4Addr::new(1, 1, 1, 1)
            ])
        );
    }
}
