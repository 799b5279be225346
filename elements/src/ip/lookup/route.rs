//! A route as Click's IPRouteTable elements read and print it:
//! `ADDR/MASK [GATEWAY] OUTPUT`.

use click_engine::args::{split_words, ArgContext, FromArg, Ipv4Prefix};
use std::fmt;
use std::net::Ipv4Addr;

/// One route: packets whose destination matches `addr/len` go to output
/// `port`, with their destination annotation set to `gw` unless it is
/// 0.0.0.0 (no gateway).
///
/// `port` is -1 only in a removal request that names no output: then any
/// route for the prefix matches (Click's `IPRoute::match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The prefix's address, host bits cleared.
    pub addr: u32,
    /// The prefix length, 0 to 32.
    pub len: u8,
    /// The gateway; 0 for none.
    pub gw: u32,
    /// The output port (-1: any, in a removal request).
    pub port: i32,
}

/// The mask of a prefix length (`len` at most 32).
#[inline]
pub fn prefix_mask(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

impl Route {
    /// A route for `addr/len` (host bits are cleared) to `port` via `gw`.
    pub fn new(addr: u32, len: u8, gw: u32, port: i32) -> Route {
        let len = len.min(32);
        Route {
            addr: addr & prefix_mask(len),
            len,
            gw,
            port,
        }
    }

    /// Whether `addr` falls in this route's prefix.
    #[inline]
    pub fn contains(&self, addr: u32) -> bool {
        addr & prefix_mask(self.len) == self.addr
    }

    /// Whether `self`, a removal request, names `existing` (Click's
    /// `IPRoute::match`): same prefix, and same gateway and port unless the
    /// request gave no port.
    pub fn matches(&self, existing: &Route) -> bool {
        self.addr == existing.addr
            && self.len == existing.len
            && (self.port < 0 || (self.gw == existing.gw && self.port == existing.port))
    }

    /// The prefix as Click prints it: `18.26.4.0/24`.
    pub fn prefix(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.addr), self.len)
    }

    /// Click's tabbed form for the `table` handler (`IPRoute::unparse`
    /// with tabs): columns padded with a second tab when short.
    pub fn unparse_tabbed(&self, out: &mut String) {
        let start = out.len();
        out.push_str(&self.prefix());
        out.push('\t');
        if out.len() < start + 17 {
            out.push('\t');
        }
        let start = out.len();
        if self.gw != 0 {
            out.push_str(&Ipv4Addr::from(self.gw).to_string());
        } else {
            out.push('-');
        }
        out.push('\t');
        if out.len() < start + 9 {
            out.push('\t');
        }
        out.push_str(&self.port.to_string());
    }

    /// Parses Click's `ADDR/MASK [GATEWAY] OUTPUT` (`cp_ip_route`): the
    /// gateway may be `-` (none) or left out; in a removal request
    /// (`remove`) the output may be left out too, and is then -1. The
    /// prefix may be a bare address (a /32). Addresses and prefixes may
    /// be names `ctx` knows (AddressInfo's: `ext0` is its address, a /32,
    /// `net:ipnet` its prefix, `net:bcast` its broadcast address).
    /// [`RouteError::Syntax`] when the text is not a route;
    /// [`RouteError::Mask`] when the mask is not a prefix, which these
    /// tables do not keep (Click's LinearIPLookup alone accepts such
    /// masks).
    pub fn parse_in(text: &str, remove: bool, ctx: &dyn ArgContext) -> Result<Route, RouteError> {
        let words = split_words(text);
        let mut words = words.iter().map(String::as_str);
        let prefix = words
            .next()
            .and_then(|w| Ipv4Prefix::from_arg_in(w, ctx).ok())
            .ok_or(RouteError::Syntax)?;
        let len = prefix.prefix_len().ok_or(RouteError::Mask)?;
        let addr = u32::from(prefix.addr);
        let mut gw = 0;
        let mut word = words.next();
        match word {
            Some("-") => word = words.next(),
            Some(w) => {
                if let Ok(a) = Ipv4Addr::from_arg_in(w, ctx) {
                    gw = u32::from(a);
                    word = words.next();
                }
            }
            None => {}
        }
        let port = match word {
            Some(w) => i32::from_arg(w).map_err(|_| RouteError::Syntax)?,
            None if remove => -1,
            None => return Err(RouteError::Syntax),
        };
        if words.next().is_some() {
            return Err(RouteError::Syntax);
        }
        Ok(Route::new(addr, len, gw, port))
    }
}

impl Route {
    /// [`Route::parse_in`] with no names known.
    pub fn parse(text: &str, remove: bool) -> Result<Route, RouteError> {
        Route::parse_in(text, remove, &click_engine::args::NoContext)
    }
}

/// Why a route's text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// Not `ADDR/MASK [GATEWAY] OUTPUT`.
    Syntax,
    /// The mask is not a prefix (`1.0.0.0/255.0.255.0`).
    Mask,
}

impl fmt::Display for Route {
    /// Click's untabbed form: `18.26.4.0/24 18.26.4.1 1`, `-` for no
    /// gateway.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix())?;
        if self.gw != 0 {
            write!(f, " {}", Ipv4Addr::from(self.gw))?;
        } else {
            f.write_str(" -")?;
        }
        write!(f, " {}", self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn parses_click_route_forms() {
        let r = Route::parse("18.26/16 1.0.0.1 0", false).unwrap();
        assert_eq!(r, Route::new(ip("18.26.0.0"), 16, ip("1.0.0.1"), 0));
        let r = Route::parse("18.26.0/12 4.0.0.4 2", false).unwrap();
        assert_eq!(r.addr, ip("18.16.0.0"));
        assert_eq!(r.to_string(), "18.16.0.0/12 4.0.0.4 2");
        let r = Route::parse("0/0 - 3", false).unwrap();
        assert_eq!((r.addr, r.len, r.gw, r.port), (0, 0, 0, 3));
        let r = Route::parse("18.26.4.9 7", false).unwrap();
        assert_eq!((r.len, r.port), (32, 7));
        let r = Route::parse("1.2.3.0/255.255.255.0 0x10", false).unwrap();
        assert_eq!((r.len, r.port), (24, 16));
        assert_eq!(Route::parse("10.0.0.0/8", true).unwrap().port, -1);
        assert_eq!(Route::parse("10.0.0.0/8 1.1.1.1", true).unwrap().port, -1);
    }

    #[test]
    fn refuses_what_click_refuses() {
        for bad in [
            "",
            "10.0.0.0/8",
            "10/16 1",
            "10.0.0.0/8 1 2",
            "10.0.0.0/8 x",
            "10.0.0.0/33 1",
            "10.0.0.0/8 1.1.1.1 1 junk",
        ] {
            assert_eq!(Route::parse(bad, false), Err(RouteError::Syntax), "{bad:?}");
        }
        assert_eq!(
            Route::parse("1.0.0.0/255.0.255.0 1", false),
            Err(RouteError::Mask)
        );
    }

    #[test]
    fn names_come_from_the_context() {
        use click_engine::args::{Address, Defining, NoContext};
        let mut names = Defining::new(&NoContext);
        names.define_address("gw", Address::Ipv4(Ipv4Addr::new(10, 0, 0, 1)));
        let net = Ipv4Prefix::from_arg("10.1.2.3/16").unwrap();
        names.define_address("net", Address::Ipv4Prefix(net));
        let r = Route::parse_in("gw 1", false, &names).unwrap();
        assert_eq!(r.to_string(), "10.0.0.1/32 - 1");
        let r = Route::parse_in("net:ipnet gw 2", false, &names).unwrap();
        assert_eq!(r.to_string(), "10.1.0.0/16 10.0.0.1 2");
        let r = Route::parse_in("net:bcast 0", false, &names).unwrap();
        assert_eq!(r.to_string(), "10.1.255.255/32 - 0");
        assert_eq!(Route::parse("gw 1", false), Err(RouteError::Syntax));
    }

    #[test]
    fn tabbed_form_pads_short_columns() {
        let mut s = String::new();
        Route::parse("18.26.4.0/24 1", false)
            .unwrap()
            .unparse_tabbed(&mut s);
        assert_eq!(s, "18.26.4.0/24\t\t-\t\t1");
        let mut s = String::new();
        Route::parse("192.168.100.100/32 192.168.100.254 12", false)
            .unwrap()
            .unparse_tabbed(&mut s);
        assert_eq!(s, "192.168.100.100/32\t192.168.100.254\t12");
    }
}
