//! Click's configuration-argument parsing.
//!
//! An element's configuration string, the text between the parentheses in
//! `Queue(CAPACITY 1000)`, is a comma-separated list of arguments. Each
//! argument is either positional (`1000`) or a keyword argument whose first
//! word names it (`CAPACITY 1000`). This module follows Click's rules
//! (`lib/confparse.cc`, `lib/args.cc`) so existing configurations read the
//! same way:
//!
//! * [`split_args`], [`split_words`], [`uncomment`]: lexical splitting with
//!   quotes, `\<hex>` blocks and comments.
//! * [`unquote`], [`unquote_bytes`], [`quote`]: one level of Click quoting.
//! * [`Args`]: typed reads by keyword and position, then
//!   [`complete`](Args::complete) to reject leftovers.
//! * [`FromArg`]: how a value type parses its text; implemented for `bool`,
//!   integers, `f64`, `String`, [`Bytes`], [`Raw`], `Vec<T>`,
//!   [`Duration`](std::time::Duration), [`Bandwidth`], IPv4/IPv6 addresses
//!   and prefixes, [`EtherAddr`], annotations ([`AnnoArg`]) and element
//!   references ([`ElementRef`]).
//! * [`ArgContext`]: what parsing may ask of the router around the element
//!   (`AddressInfo` names such as `eth0:ip` or `net:bcast`, `AnnotationInfo`
//!   names, element names, the host's network devices), lent to [`Args`]
//!   by whoever builds the router ([`Args::with_context`]).
//!
//! A configure function reads like Click's
//! `Args(conf, this, errh).read_mp(...).read(...).complete()`:
//!
//! ```
//! use click_lang::args::{Args, ArgError, Bytes};
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! struct Config { data: Bytes, limit: Option<u64>, interval: Duration, stop: bool }
//!
//! fn configure(conf: &str) -> Result<Config, ArgError> {
//!     let mut args = Args::new(conf);
//!     let config = Config {
//!         data: args.read_mp("DATA")?,
//!         limit: args.read_p("LIMIT")?,
//!         interval: args.read("INTERVAL")?.unwrap_or(Duration::from_secs(1)),
//!         stop: args.read("STOP")?.unwrap_or(false),
//!     };
//!     args.complete()?;
//!     Ok(config)
//! }
//!
//! let c = configure("\\<00 11>, LIMIT 5, INTERVAL 10ms").unwrap();
//! assert_eq!((c.data.0, c.limit, c.interval, c.stop), (vec![0, 0x11], Some(5), Duration::from_millis(10), false));
//! assert_eq!(configure("x, LIMIT lots").unwrap_err().to_string(), "LIMIT: expected unsigned integer");
//! ```
//!
//! Nothing here panics on any input; errors are [`ArgError`] values naming
//! the argument.

#![warn(missing_docs)]

mod address;
mod anno;
mod context;
mod port;
mod quote;
mod reader;
pub(crate) mod split;
mod types;

pub use address::{parse_address_info, AddressInfoEntry};
pub use anno::{
    builtin_annotation, lookup_annotation, parse_annotation, parse_annotation_info, AnnoArg,
    AnnoInfo, AnnotationInfoArg, ANNOTATIONS, ANNO_SIZE,
};
pub use context::{Address, AddressKind, ArgContext, Defining, ElementRef, NetDevice, NoContext};
pub use port::{parse_port_info, PortInfoEntry, IP_PROTO_TCP, IP_PROTO_UDP};
pub use quote::{quote, quote_bytes, unquote, unquote_bytes};
pub use reader::{split_keyword, ArgError, ArgErrorKind, Args, Flags};
pub use split::{is_word, join_args, pop_word, skip_comment, split_args, split_words, uncomment};
pub use types::{
    expected, format_seconds, Bandwidth, Bytes, EtherAddr, FromArg, Ipv4Prefix, Ipv6Prefix, Raw,
};

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    /// Strings rich in the characters the parsers care about.
    fn config_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    Just(","),
                    Just(" "),
                    Just("\""),
                    Just("'"),
                    Just("\\"),
                    Just("\\<"),
                    Just(">"),
                    Just("/*"),
                    Just("*/"),
                    Just("//"),
                    Just("\n"),
                    Just("\r"),
                    Just("("),
                    Just(")"),
                    Just("A"),
                    Just("KW "),
                    Just("0x"),
                    Just("1"),
                    Just("."),
                    Just(":"),
                    Just("/"),
                    Just("-"),
                    Just("e"),
                    Just("ms"),
                    Just("é"),
                    Just("_"),
                    Just("9")
                ],
                0..24
            )
            .prop_map(|v| v.concat()),
        ]
    }

    fn parse_all(text: &str) {
        let _ = bool::from_arg(text);
        let _ = u8::from_arg(text);
        let _ = i64::from_arg(text);
        let _ = usize::from_arg(text);
        let _ = f64::from_arg(text);
        let _ = String::from_arg(text);
        let _ = Bytes::from_arg(text);
        let _ = Vec::<u32>::from_arg(text);
        let _ = Duration::from_arg(text);
        let _ = Bandwidth::from_arg(text);
        let _ = Ipv4Addr::from_arg(text);
        let _ = Ipv4Prefix::from_arg(text);
        let _ = Ipv6Addr::from_arg(text);
        let _ = Ipv6Prefix::from_arg(text);
        let _ = EtherAddr::from_arg(text);
        let _ = AnnoArg::<1>::from_arg(text);
        let _ = AnnoArg::<0>::from_arg(text);
        let _ = ElementRef::from_arg(text);
        let _ = parse_address_info(text, &NoContext);
        let _ = parse_annotation_info(text, &NoContext);
    }

    proptest! {
        #[test]
        fn nothing_panics(text in config_text()) {
            let _ = split_args(&text);
            let _ = split_words(&text);
            let _ = uncomment(&text);
            let _ = pop_word(&text);
            let _ = unquote(&text);
            let _ = unquote_bytes(&text);
            let _ = split_keyword(&text);
            parse_all(&text);
            let mut args = Args::new(&text);
            let _ = args.read_mp::<Raw>("A");
            let _ = args.read_p::<u32>("B");
            let _ = args.read_all::<Bytes>("KW");
            let _ = args.read::<Duration>("C");
            let _ = args.complete();
            let _ = args.rest();
        }

        #[test]
        fn quote_round_trips(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unquote_bytes(&quote_bytes(&data)), data.clone());
            prop_assert_eq!(Bytes::from_arg(&Bytes(data.clone()).to_string()), Ok(Bytes(data)));
        }

        #[test]
        fn split_args_round_trips_simple_args(parts in proptest::collection::vec("[a-z0-9 ]{0,6}[a-z0-9]", 1..6)) {
            let trimmed: Vec<String> = parts.iter().map(|p| p.trim().to_string()).collect();
            prop_assert_eq!(split_args(&join_args(&parts)), trimmed);
        }

        #[test]
        fn integers_round_trip(v in any::<i64>(), u in any::<u64>()) {
            prop_assert_eq!(i64::from_arg(&v.to_string()), Ok(v));
            prop_assert_eq!(u64::from_arg(&u.to_string()), Ok(u));
            prop_assert_eq!(u64::from_arg(&format!("{u:#x}")), Ok(u));
        }

        #[test]
        fn addresses_round_trip(a in any::<u32>(), len in 0u8..=32, b in any::<u128>(), e in any::<[u8; 6]>()) {
            let p = Ipv4Prefix::new(Ipv4Addr::from(a), len);
            prop_assert_eq!(Ipv4Prefix::from_arg(&p.to_string()), Ok(p));
            let v6 = Ipv6Addr::from(b);
            prop_assert_eq!(Ipv6Addr::from_arg(&v6.to_string()), Ok(v6));
            prop_assert_eq!(EtherAddr::from_arg(&EtherAddr(e).to_string()), Ok(EtherAddr(e)));
        }

        #[test]
        fn durations_round_trip(ns in any::<u64>()) {
            let d = Duration::from_nanos(ns);
            prop_assert_eq!(Duration::from_arg(&format_seconds(d)), Ok(d));
        }
    }
}
