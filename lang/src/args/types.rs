//! [`FromArg`]: parsing one argument's text into a value, and the value
//! types Click configurations use (data, durations, bandwidths, addresses).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::address;
use super::context::{ArgContext, NoContext};
use super::quote::{quote_bytes, unquote, unquote_bytes};
use super::split::{skip_word, split_words};

/// A type that can be read from the text of one configuration argument.
///
/// `from_arg` gets the argument's value (after any keyword) and returns
/// either the value or a short message such as `expected unsigned integer`
/// or `out of range, bound 255`; [`Args`](super::Args) prefixes the
/// keyword.
///
/// A type whose values may name things defined elsewhere (an address
/// named by `AddressInfo`, an annotation, another element) also
/// implements [`from_arg_in`](FromArg::from_arg_in), which gets the
/// router's [`ArgContext`]; [`Args`](super::Args) calls that one. Its
/// default ignores the context, so a plain type implements `from_arg`
/// alone.
pub trait FromArg: Sized {
    /// What a valid value looks like, for messages: `expected {EXPECTED}`.
    const EXPECTED: &'static str;

    /// Parses `text`, the whole argument value, on its own.
    fn from_arg(text: &str) -> Result<Self, String>;

    /// Parses `text` as seen from the element whose argument it is:
    /// `ctx` resolves names. Defaults to [`from_arg`](FromArg::from_arg).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        let _ = ctx;
        Self::from_arg(text)
    }
}

/// The standard message for text that is not a `T`.
pub fn expected<T: FromArg>() -> String {
    format!("expected {}", T::EXPECTED)
}

impl FromArg for bool {
    const EXPECTED: &'static str = "boolean";

    /// Click's booleans: `true`/`yes`/`1`/`t`/`y` and
    /// `false`/`no`/`0`/`f`/`n`, lower case only.
    fn from_arg(text: &str) -> Result<Self, String> {
        match text {
            "1" | "t" | "y" | "true" | "yes" => Ok(true),
            "0" | "f" | "n" | "false" | "no" => Ok(false),
            _ => Err(expected::<bool>()),
        }
    }
}

/// Parses Click's integer syntax into a sign and a magnitude (saturated at
/// `u128::MAX`). Returns `None` for malformed text.
///
/// Syntax: optional `+` (or `-` when `signed`), then `0x`/`0X` hex, `0b`/`0B`
/// binary, a leading `0` for octal, or decimal. Single underscores may
/// separate digits (`1_000_000`).
fn parse_integer(text: &str, signed: bool) -> Option<(bool, u128)> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') if signed => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let b = body.as_bytes();
    let (base, digits) = if b.len() > 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X') {
        (16, &b[2..])
    } else if b.len() > 2 && b[0] == b'0' && matches!(b[1], b'b' | b'B') {
        (2, &b[2..])
    } else if b.first() == Some(&b'0') {
        (8, b)
    } else {
        (10, b)
    };
    accumulate_digits(digits, base).map(|v| (negative, v))
}

/// Accumulates digits in `base`, allowing single underscores between digits.
fn accumulate_digits(digits: &[u8], base: u32) -> Option<u128> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u128 = 0;
    let mut prev_digit = false;
    for (i, &c) in digits.iter().enumerate() {
        if c == b'_' {
            let next_digit = digits
                .get(i + 1)
                .is_some_and(|&n| (n as char).is_digit(base));
            if !prev_digit || !next_digit {
                return None;
            }
            prev_digit = false;
            continue;
        }
        let d = (c as char).to_digit(base)?;
        value = value.saturating_mul(base.into()).saturating_add(d.into());
        prev_digit = true;
    }
    Some(value)
}

macro_rules! unsigned_from_arg {
    ($($t:ty),*) => {$(
        impl FromArg for $t {
            const EXPECTED: &'static str = "unsigned integer";

            /// Click's integer syntax: decimal, `0x` hex, `0b` binary,
            /// leading-`0` octal, `_` between digits; no minus sign.
            fn from_arg(text: &str) -> Result<Self, String> {
                let (_, v) = parse_integer(text, false).ok_or_else(expected::<$t>)?;
                <$t>::try_from(v).map_err(|_| format!("out of range, bound {}", <$t>::MAX))
            }
        }
    )*};
}

macro_rules! signed_from_arg {
    ($($t:ty),*) => {$(
        impl FromArg for $t {
            const EXPECTED: &'static str = "integer";

            /// Click's integer syntax, with an optional minus sign.
            fn from_arg(text: &str) -> Result<Self, String> {
                let (negative, v) = parse_integer(text, true).ok_or_else(expected::<$t>)?;
                let bound = if negative { <$t>::MIN as i128 } else { <$t>::MAX as i128 };
                let out_of_range = || format!("out of range, bound {}", bound);
                let magnitude = i128::try_from(v).map_err(|_| out_of_range())?;
                let value = if negative { -magnitude } else { magnitude };
                <$t>::try_from(value).map_err(|_| out_of_range())
            }
        }
    )*};
}

unsigned_from_arg!(u8, u16, u32, u64, usize);
signed_from_arg!(i8, i16, i32, i64, isize);

impl FromArg for f64 {
    const EXPECTED: &'static str = "real number";

    /// A decimal real number (`1.5`, `-2e-3`, `.5`, `inf`); a finite number
    /// too large for `f64` is out of range.
    fn from_arg(text: &str) -> Result<Self, String> {
        let v: f64 = text.parse().map_err(|_| expected::<f64>())?;
        if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
            return Err(format!("out of range, bound {}", f64::MAX));
        }
        Ok(v)
    }
}

/// Whether `text` is one non-empty token: no unquoted whitespace.
fn is_single_token(text: &str) -> bool {
    !text.is_empty() && skip_word(text.as_bytes(), 0) == text.len()
}

impl FromArg for String {
    const EXPECTED: &'static str = "string";

    /// Click's `StringArg`: one token (spaces only inside quotes), with one
    /// level of quoting removed. `"a b"` gives `a b`; `a b` is an error.
    fn from_arg(text: &str) -> Result<Self, String> {
        if is_single_token(text) {
            Ok(unquote(text))
        } else {
            Err(expected::<String>())
        }
    }
}

/// An argument's text exactly as written (Click's `AnyArg`): no unquoting,
/// any number of words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Raw(pub String);

impl FromArg for Raw {
    const EXPECTED: &'static str = "anything";

    fn from_arg(text: &str) -> Result<Self, String> {
        Ok(Raw(text.to_string()))
    }
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Binary data, such as InfiniteSource's `DATA`: one token as for
/// `String`, unquoted to raw bytes, so `\<00 11>` and `"\xff"` give any
/// byte values. Displays as a quoted string that reads back the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bytes(pub Vec<u8>);

impl FromArg for Bytes {
    const EXPECTED: &'static str = "data string";

    fn from_arg(text: &str) -> Result<Self, String> {
        if is_single_token(text) {
            Ok(Bytes(unquote_bytes(text)))
        } else {
            Err(expected::<Bytes>())
        }
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_bytes(&self.0))
    }
}

impl<T: FromArg> FromArg for Vec<T> {
    const EXPECTED: &'static str = "space-separated list";

    /// A space-separated list (Click's `cp_spacevec`), each word a `T`.
    fn from_arg(text: &str) -> Result<Self, String> {
        split_words(text).iter().map(|w| T::from_arg(w)).collect()
    }

    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        split_words(text)
            .iter()
            .map(|w| T::from_arg_in(w, ctx))
            .collect()
    }
}

/// A unit suffix: the value is multiplied by `factor * 10^power`.
struct Unit {
    suffix: &'static str,
    power: i64,
    factor: u32,
}

const fn unit(suffix: &'static str, power: i64, factor: u32) -> Unit {
    Unit {
        suffix,
        power,
        factor,
    }
}

const SECOND_UNITS: &[Unit] = &[
    unit("s", 0, 1),
    unit("sec", 0, 1),
    unit("m", 1, 6),
    unit("min", 1, 6),
    unit("h", 2, 36),
    unit("hr", 2, 36),
    unit("d", 2, 864),
    unit("day", 2, 864),
];
const SECOND_PREFIXES: &[(u8, i64)] = &[(b'm', -3), (b'u', -6), (b'n', -9)];

const BANDWIDTH_UNITS: &[Unit] = &[
    unit("baud", -3, 125),
    unit("bps", -3, 125),
    unit("b/s", -3, 125),
    unit("Bps", 0, 1),
    unit("B/s", 0, 1),
];
const BANDWIDTH_PREFIXES: &[(u8, i64)] = &[(b'k', 3), (b'K', 3), (b'M', 6), (b'G', 9)];

/// Strips the first matching unit (and a one-letter prefix before it) from
/// the end of `text`, as Click's `UnitArg` does. Returns the number part
/// (trailing spaces removed), the power of ten and the factor.
fn strip_unit<'a>(text: &'a str, units: &[Unit], prefixes: &[(u8, i64)]) -> (&'a str, i64, u32) {
    for u in units {
        if let Some(mut rest) = text.strip_suffix(u.suffix) {
            let mut power = u.power;
            if let Some(&(_, p)) = prefixes
                .iter()
                .find(|(c, _)| rest.as_bytes().last() == Some(c))
            {
                power += p;
                rest = &rest[..rest.len() - 1];
            }
            return (
                rest.trim_end_matches(|c: char| c.is_ascii_whitespace()),
                power,
                u.factor,
            );
        }
    }
    (text, 0, 1)
}

/// A non-negative decimal number: its significant digits and the power of
/// ten they are scaled by. Accepts `+`, `_` between digits, a fraction and
/// an exponent (`1_000.5e-3`).
fn parse_decimal(text: &str) -> Option<(Vec<u8>, i64)> {
    let s = text.strip_prefix('+').unwrap_or(text).as_bytes();
    let mut digits = Vec::new();
    let mut i = 0;
    let mut frac_len = 0i64;
    let mut seen_point = false;
    while i < s.len() {
        match s[i] {
            c @ b'0'..=b'9' => {
                digits.push(c - b'0');
                frac_len += i64::from(seen_point);
            }
            b'_' if i > 0
                && s[i - 1].is_ascii_digit()
                && s.get(i + 1).is_some_and(u8::is_ascii_digit) => {}
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let mut exponent = 0i64;
    if i < s.len() && matches!(s[i], b'e' | b'E') {
        let (neg, start) = match s.get(i + 1) {
            Some(b'-') => (true, i + 2),
            Some(b'+') => (false, i + 2),
            _ => (false, i + 1),
        };
        let exp_digits = s.get(start..)?;
        if exp_digits.is_empty() || !exp_digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &c in exp_digits {
            exponent = (exponent * 10 + i64::from(c - b'0')).min(100_000);
        }
        if neg {
            exponent = -exponent;
        }
        i = s.len();
    }
    (i == s.len()).then_some((digits, exponent - frac_len))
}

/// Computes `round(digits * factor * 10^exp10)`, rounding half up on the
/// first dropped digit as Click does. `None` if it does not fit in `u128`.
fn scale_decimal(digits: &[u8], exp10: i64, factor: u32) -> Option<u128> {
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else { return Some(0) };
    let mut sig = &digits[first..];
    let mut exp10 = exp10;
    if sig.len() > 31 {
        exp10 += (sig.len() - 31) as i64;
        sig = &sig[..31];
    }
    let mantissa = sig.iter().fold(0u128, |v, &d| v * 10 + u128::from(d)) * u128::from(factor);
    if exp10 >= 0 {
        let scale = 10u128.checked_pow(u32::try_from(exp10).ok()?)?;
        mantissa.checked_mul(scale)
    } else if exp10 < -38 {
        Some(0)
    } else {
        let q = mantissa / 10u128.pow((-exp10 - 1) as u32);
        Some(q / 10 + u128::from(q % 10 >= 5))
    }
}

/// Parses `number unit` text into an integer count of the smallest unit,
/// where `base_power` says how many powers of ten that unit is below the
/// table's base unit. Errors are `expected {T::EXPECTED}` or out of range.
fn parse_with_units<T: FromArg>(
    text: &str,
    units: &[Unit],
    prefixes: &[(u8, i64)],
    base_power: i64,
) -> Result<u128, String> {
    let (number, power, factor) = strip_unit(text, units, prefixes);
    let (digits, exp10) = parse_decimal(number).ok_or_else(expected::<T>)?;
    scale_decimal(&digits, exp10 + power + base_power, factor)
        .ok_or_else(|| "out of range".to_string())
}

impl FromArg for Duration {
    const EXPECTED: &'static str = "time in seconds";

    /// Click's seconds syntax: a non-negative real number with an optional
    /// unit: `s`/`sec` (the default), `ms`/`msec`, `us`/`usec`,
    /// `ns`/`nsec`, `m`/`min`, `h`/`hr`, `d`/`day`. Space between number and
    /// unit is allowed (`3.6e6 msec`). Rounded to the nearest nanosecond.
    fn from_arg(text: &str) -> Result<Self, String> {
        let nanos = parse_with_units::<Duration>(text, SECOND_UNITS, SECOND_PREFIXES, 9)?;
        let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| "out of range".to_string())?;
        Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
    }
}

/// Formats `value / 10^frac_digits` in decimal without trailing zeros.
fn format_decimal(value: u128, frac_digits: u32) -> String {
    let one = 10u128.pow(frac_digits);
    let (int, frac) = (value / one, value % one);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{:0width$}", frac, width = frac_digits as usize);
    format!("{}.{}", int, frac.trim_end_matches('0'))
}

/// Formats a duration in seconds the way Click prints timestamps' seconds:
/// `1.5` for 1.5 s, `0.000001` for 1 µs, `3600` for an hour.
pub fn format_seconds(d: Duration) -> String {
    format_decimal(d.as_nanos(), 9)
}

/// A bandwidth in bytes per second (Click's `BandwidthArg`).
///
/// Units: `bps`, `b/s`, `baud` (bits per second) and `Bps`, `B/s` (bytes
/// per second), with prefixes `k`/`K` (10^3), `M` (10^6), `G` (10^9).
/// A bare number is bytes per second, as in Click. Bits are rounded to
/// whole bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bandwidth(pub u64);

impl Bandwidth {
    /// The rate in bytes per second.
    pub fn bytes_per_sec(self) -> u64 {
        self.0
    }

    /// The rate in bits per second.
    pub fn bits_per_sec(self) -> u128 {
        u128::from(self.0) * 8
    }
}

impl FromArg for Bandwidth {
    const EXPECTED: &'static str = "bandwidth";

    fn from_arg(text: &str) -> Result<Self, String> {
        let bytes = parse_with_units::<Bandwidth>(text, BANDWIDTH_UNITS, BANDWIDTH_PREFIXES, 0)?;
        u64::try_from(bytes)
            .map(Bandwidth)
            .map_err(|_| "out of range".to_string())
    }
}

impl fmt::Display for Bandwidth {
    /// Click's unparsing: `MBps` for very large rates, otherwise `Gbps`,
    /// `Mbps` or `kbps` by magnitude (`8Kbps` prints as `8kbps`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = u128::from(self.0);
        if x >= 0x2000_0000 {
            write!(f, "{}MBps", format_decimal(x, 6))
        } else if x >= 125_000_000 {
            write!(f, "{}Gbps", format_decimal(x * 8, 9))
        } else if x >= 125_000 {
            write!(f, "{}Mbps", format_decimal(x * 8, 6))
        } else {
            write!(f, "{}kbps", format_decimal(x * 8, 3))
        }
    }
}

/// Click's `ip_address_portion`: up to four dot-separated decimal bytes.
/// Returns how many were given (the rest are zero), or 0 if malformed.
fn ipv4_portion(text: &str) -> (usize, [u8; 4]) {
    let s = text.as_bytes();
    let mut value = [0u8; 4];
    let mut pos = 0;
    for (d, byte) in value.iter_mut().enumerate() {
        if d > 0 && s.get(pos) == Some(&b'.') {
            pos += 1;
        }
        if pos >= s.len() {
            return (d, value);
        }
        if !s[pos].is_ascii_digit() {
            return (0, value);
        }
        let mut part = 0u32;
        while pos < s.len() && s[pos].is_ascii_digit() && part <= 255 {
            part = part * 10 + u32::from(s[pos] - b'0');
            pos += 1;
        }
        match u8::try_from(part) {
            Ok(b) => *byte = b,
            Err(_) => return (0, value),
        }
    }
    (if pos == s.len() { 4 } else { 0 }, value)
}

fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    match ipv4_portion(text) {
        (4, v) => Some(Ipv4Addr::from(v)),
        _ => None,
    }
}

impl FromArg for Ipv4Addr {
    const EXPECTED: &'static str = "IP address";

    /// A dotted quad of decimal bytes, `18.26.4.9`.
    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    /// A dotted quad, or a name in context (Click's `IPAddressArg`):
    /// `NAME` or `NAME:ip` (an `AddressInfo` address, else the address of
    /// the host's device NAME), `NAME:bcast` (the broadcast address of
    /// NAME's prefix), `NAME:gw` (NAME's gateway).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        parse_ipv4(text)
            .or_else(|| address::query_ip(text, ctx))
            .ok_or_else(expected::<Ipv4Addr>)
    }
}

/// The prefix length of a contiguous mask, or `None` if the mask has holes.
fn mask_len(mask: u128, bits: u32) -> Option<u32> {
    let shifted = mask << (128 - bits.clamp(1, 128));
    let n = shifted.leading_ones();
    (shifted.checked_shl(n).unwrap_or(0) == 0).then_some(n)
}

/// An IPv4 address with a mask, as in `18.26.4.0/24`.
///
/// Accepted forms (Click's `IPPrefixArg`, bare addresses allowed):
/// `18.26.4.0/24`; `18.26.4/24` (omitted trailing bytes are zero, but
/// the given bytes must cover the prefix, so `18.26/24` is an error);
/// `1.2.3.4/255.255.255.0` (any mask, even a non-contiguous one); and a bare
/// address `1.2.3.4`, meaning `/32`. The address is kept as written (it is
/// not masked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Prefix {
    /// The address part.
    pub addr: Ipv4Addr,
    /// The mask.
    pub mask: Ipv4Addr,
}

impl Ipv4Prefix {
    /// A prefix from an address and a prefix length (at most 32).
    pub fn new(addr: Ipv4Addr, len: u8) -> Self {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0);
        Ipv4Prefix {
            addr,
            mask: Ipv4Addr::from(mask),
        }
    }

    /// The prefix length, if the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        mask_len(u32::from(self.mask).into(), 32).map(|n| n as u8)
    }

    /// The address with host bits cleared.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & u32::from(self.mask))
    }

    /// Whether `ip` matches this prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.mask) == self.network().into()
    }
}

impl FromArg for Ipv4Prefix {
    const EXPECTED: &'static str = "IP address prefix";

    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    /// As [`from_arg`](FromArg::from_arg), with names in context (Click's
    /// `IPPrefixArg`): the address part of `ADDR/LEN` or `ADDR/MASK` and
    /// the mask may be names; a bare name is its address if it has one
    /// (`/32`), else its prefix (`NAME:ipnet` asks for the prefix).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        parse_ipv4_prefix(text, ctx, true).ok_or_else(expected::<Ipv4Prefix>)
    }
}

/// Click's `IPPrefixArg(allow_bare_address).parse`.
pub(crate) fn parse_ipv4_prefix(
    text: &str,
    ctx: &dyn ArgContext,
    allow_bare: bool,
) -> Option<Ipv4Prefix> {
    if let Some(slash) = text.rfind('/').filter(|&i| i > 0 && i + 1 < text.len()) {
        if let Some(p) = ipv4_prefix_with_slash(&text[..slash], &text[slash + 1..], ctx) {
            return Some(p);
        }
    }
    if allow_bare {
        if let Ok(addr) = Ipv4Addr::from_arg_in(text, ctx) {
            return Some(Ipv4Prefix::new(addr, 32));
        }
    }
    address::query_ip_prefix(text, ctx)
}

fn ipv4_prefix_with_slash(
    ip_part: &str,
    mask_part: &str,
    ctx: &dyn ArgContext,
) -> Option<Ipv4Prefix> {
    let (nbytes, addr) = match ipv4_portion(ip_part) {
        (0, _) => (4, address::query_ip(ip_part, ctx)?),
        (n, value) => (n, Ipv4Addr::from(value)),
    };
    let mask = match u8::from_arg(mask_part) {
        Ok(len) if len <= 32 => Ipv4Prefix::new(addr, len).mask,
        Ok(_) => return None,
        Err(_) => Ipv4Addr::from_arg_in(mask_part, ctx).ok()?,
    };
    // A mask longer than the bytes written is an error (`18.26/24`).
    let given = Ipv4Prefix::new(addr, (nbytes * 8) as u8).mask;
    (u32::from(mask) & u32::from(given) == u32::from(mask)).then_some(Ipv4Prefix { addr, mask })
}

impl fmt::Display for Ipv4Prefix {
    /// `addr/len` for contiguous masks, else `addr/mask`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix_len() {
            Some(n) => write!(f, "{}/{}", self.addr, n),
            None => write!(f, "{}/{}", self.addr, self.mask),
        }
    }
}

/// Click's IPv6 address parser: RFC 2373 forms, including `::` and an
/// embedded IPv4 tail (`::ffff:1.2.3.4`).
fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    let s = text.as_bytes();
    let len = s.len();
    let mut parts = [0u16; 8];
    let mut coloncolon: Option<usize> = None;
    let (mut pos, mut d, mut last_part_pos) = (0, 0, 0);
    while d < 8 {
        if coloncolon.is_none() && pos + 1 < len && s[pos] == b':' && s[pos + 1] == b':' {
            coloncolon = Some(d);
            pos += 2;
        } else if d > 0 && pos + 1 < len && s[pos] == b':' && s[pos + 1].is_ascii_hexdigit() {
            pos += 1;
        }
        if pos >= len || !s[pos].is_ascii_hexdigit() {
            break;
        }
        last_part_pos = pos;
        let mut part = 0u32;
        while pos < len && s[pos].is_ascii_hexdigit() && part <= 0xFFFF {
            part = (part << 4) + (s[pos] as char).to_digit(16)?;
            pos += 1;
        }
        parts[d] = u16::try_from(part).ok()?;
        d += 1;
    }
    if pos < len && (1..=7).contains(&d) && s[pos] == b'.' {
        if let Some(v4) = parse_ipv4(&text[last_part_pos..]) {
            let o = v4.octets();
            parts[d - 1] = u16::from_be_bytes([o[0], o[1]]);
            parts[d] = u16::from_be_bytes([o[2], o[3]]);
            d += 1;
            pos = len;
        }
    }
    match coloncolon {
        None if d < 8 => return None,
        Some(_) if d == 8 => return None,
        Some(cc) => {
            let zeros = 8 - d;
            parts.copy_within(cc..d, cc + zeros);
            parts[cc..cc + zeros].fill(0);
        }
        None => {}
    }
    (pos == len).then(|| Ipv6Addr::from(parts))
}

impl FromArg for Ipv6Addr {
    const EXPECTED: &'static str = "IPv6 address";

    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    /// An IPv6 address, or in context `NAME` / `NAME:ip6`, an
    /// `AddressInfo` IPv6 address (Click's `IP6AddressArg`).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        parse_ipv6(text)
            .or_else(|| address::query_ip6(text, ctx))
            .ok_or_else(expected::<Ipv6Addr>)
    }
}

/// An IPv6 address with a prefix length, as in `2001:db8::/32`.
///
/// Accepted forms: `addr/len` (0 to 128), `addr/mask` where the mask is a
/// contiguous prefix mask, and a bare address (`/128`). The address is kept
/// as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Prefix {
    /// The address part.
    pub addr: Ipv6Addr,
    /// The prefix length, 0 to 128.
    pub len: u8,
}

impl Ipv6Prefix {
    /// The mask for this prefix length.
    pub fn mask(&self) -> Ipv6Addr {
        Ipv6Addr::from(
            u128::MAX
                .checked_shl(128 - u32::from(self.len.min(128)))
                .unwrap_or(0),
        )
    }

    /// Whether `ip` matches this prefix.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        let m = u128::from(self.mask());
        u128::from(ip) & m == u128::from(self.addr) & m
    }
}

impl FromArg for Ipv6Prefix {
    const EXPECTED: &'static str = "IPv6 address prefix";

    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    /// As [`from_arg`](FromArg::from_arg), with names in context (Click's
    /// `IP6PrefixArg`): the address and mask parts may be names; a bare
    /// name is its IPv6 address (`/128`), else its prefix
    /// (`NAME:ip6net`).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        parse_ipv6_prefix(text, ctx, true).ok_or_else(expected::<Ipv6Prefix>)
    }
}

/// Click's `IP6PrefixArg(allow_bare_address).parse`.
pub(crate) fn parse_ipv6_prefix(
    text: &str,
    ctx: &dyn ArgContext,
    allow_bare: bool,
) -> Option<Ipv6Prefix> {
    if let Some(slash) = text.rfind('/').filter(|&i| i > 0 && i + 1 < text.len()) {
        if let Ok(addr) = Ipv6Addr::from_arg_in(&text[..slash], ctx) {
            let mask_part = &text[slash + 1..];
            let len = match u8::from_arg(mask_part) {
                Ok(len) => (len <= 128).then_some(len)?,
                Err(_) => {
                    let mask = Ipv6Addr::from_arg_in(mask_part, ctx).ok()?;
                    mask_len(mask.into(), 128)? as u8
                }
            };
            return Some(Ipv6Prefix { addr, len });
        }
    }
    if allow_bare {
        if let Ok(addr) = Ipv6Addr::from_arg_in(text, ctx) {
            return Some(Ipv6Prefix { addr, len: 128 });
        }
    }
    address::query_ip6_prefix(text, ctx)
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// An Ethernet (MAC) address.
///
/// Parses six hexadecimal bytes separated by `:` or `-`, each one or two
/// digits: `00:01:02:03:04:05`, `00-15-58-2D-FB-8F`, `1:1:1:1:1:1`.
/// Displays in Click's (and IEEE's) form, `00-15-58-2D-FB-8F`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtherAddr(pub [u8; 6]);

impl EtherAddr {
    /// The broadcast address `FF-FF-FF-FF-FF-FF`.
    pub const BROADCAST: EtherAddr = EtherAddr([0xff; 6]);

    /// The colon-separated lower-case form, `00:15:58:2d:fb:8f`.
    pub fn to_colon_string(&self) -> String {
        let p: Vec<String> = self.0.iter().map(|b| format!("{:02x}", b)).collect();
        p.join(":")
    }
}

impl FromArg for EtherAddr {
    const EXPECTED: &'static str = "Ethernet address";

    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    /// An Ethernet address, or in context `NAME` / `NAME:eth` (also
    /// `:ether`, `:ethernet`): an `AddressInfo` Ethernet address, else the
    /// address of the host's device NAME (Click's `EtherAddressArg`).
    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        parse_ether(text)
            .or_else(|| address::query_ethernet(text, ctx))
            .ok_or_else(expected::<EtherAddr>)
    }
}

fn parse_ether(text: &str) -> Option<EtherAddr> {
    let s = text.as_bytes();
    let hex = |i: usize| {
        s.get(i)
            .and_then(|&c| (c as char).to_digit(16))
            .map(|v| v as u8)
    };
    let mut value = [0u8; 6];
    let mut i = 0;
    for (d, byte) in value.iter_mut().enumerate() {
        *byte = match (hex(i), hex(i + 1)) {
            (Some(hi), Some(lo)) => {
                i += 2;
                hi * 16 + lo
            }
            (Some(v), None) => {
                i += 1;
                v
            }
            _ => return None,
        };
        if d < 5 {
            if i + 1 >= s.len() || !matches!(s[i], b':' | b'-') {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then_some(EtherAddr(value))
}

impl fmt::Display for EtherAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02X}-{b:02X}-{c:02X}-{d:02X}-{e:02X}-{g:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T: FromArg>(s: &str) -> T {
        T::from_arg(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn err<T: FromArg + fmt::Debug>(s: &str) -> String {
        T::from_arg(s).expect_err(s)
    }

    #[test]
    fn booleans() {
        for t in ["1", "t", "y", "true", "yes"] {
            assert!(ok::<bool>(t));
        }
        for f in ["0", "f", "n", "false", "no"] {
            assert!(!ok::<bool>(f));
        }
        for bad in ["", "TRUE", "True", "2", "on", " true"] {
            assert_eq!(err::<bool>(bad), "expected boolean");
        }
    }

    #[test]
    fn integers_match_click() {
        assert_eq!(ok::<i32>("0"), 0);
        assert_eq!(ok::<i32>("-0"), 0);
        assert_eq!(ok::<i32>("-5"), -5);
        assert_eq!(ok::<u32>("0"), 0);
        assert_eq!(err::<u32>("-0"), "expected unsigned integer");
        assert_eq!(err::<u32>("aoeu"), "expected unsigned integer");
        assert_eq!(ok::<u32>("4294967294"), 4294967294);
        assert_eq!(ok::<u32>("0xFFFFFFFE"), 4294967294);
        assert_eq!(err::<u32>("4294967296"), "out of range, bound 4294967295");
        assert_eq!(
            err::<u32>("42949672961939"),
            "out of range, bound 4294967295"
        );
        assert_eq!(err::<u32>("0xFFFFFFFFF"), "out of range, bound 4294967295");
        assert_eq!(err::<i32>("4294967296"), "out of range, bound 2147483647");
        assert_eq!(ok::<i32>("2147483647"), 2147483647);
        assert_eq!(err::<i32>("2147483648"), "out of range, bound 2147483647");
        assert_eq!(ok::<i32>("-2147483648"), i32::MIN);
        assert_eq!(err::<i32>("-2147483649"), "out of range, bound -2147483648");
        assert_eq!(err::<i32>("-4294967296"), "out of range, bound -2147483648");
        assert_eq!(ok::<i8>("97"), 97);
        assert_eq!(err::<i8>("128"), "out of range, bound 127");
        assert_eq!(ok::<i64>("9223372036854775807"), i64::MAX);
        assert_eq!(ok::<i64>("-9223372036854775808"), i64::MIN);
        assert_eq!(
            err::<u64>("18446744073709551616"),
            "out of range, bound 18446744073709551615"
        );
        assert_eq!(
            err::<u64>("999999999999999999999999999999999999999999"),
            "out of range, bound 18446744073709551615"
        );
    }

    #[test]
    fn integer_syntax() {
        assert_eq!(ok::<u32>("010"), 8);
        assert_eq!(ok::<u32>("0b101"), 5);
        assert_eq!(ok::<u32>("0X1f"), 31);
        assert_eq!(ok::<u32>("+7"), 7);
        assert_eq!(ok::<u32>("1_000_000"), 1_000_000);
        assert_eq!(ok::<u16>("0xFF_FF"), 0xffff);
        for bad in [
            "", "+", "-", "08", "0x", "0xg", "1__0", "_1", "1_", "1 ", " 1", "1.0", "--1", "+-1",
            "0b",
        ] {
            assert!(u32::from_arg(bad).is_err(), "{bad:?}");
        }
        assert!(i32::from_arg("-+1").is_err());
        assert_eq!(ok::<usize>("0"), 0);
        assert_eq!(ok::<isize>("-1"), -1);
    }

    #[test]
    fn reals() {
        assert_eq!(ok::<f64>("1.5"), 1.5);
        assert_eq!(ok::<f64>("-2e-3"), -0.002);
        assert_eq!(ok::<f64>(".5"), 0.5);
        assert!(f64::from_arg("1e999")
            .unwrap_err()
            .starts_with("out of range"));
        assert_eq!(err::<f64>("x"), "expected real number");
        assert_eq!(err::<f64>(" 1"), "expected real number");
    }

    #[test]
    fn strings_and_bytes() {
        assert_eq!(ok::<String>("abc"), "abc");
        assert_eq!(ok::<String>("\"a b\""), "a b");
        assert_eq!(ok::<String>("'x'\"y\""), "xy");
        assert_eq!(ok::<String>("\"\""), "");
        assert_eq!(err::<String>("a b"), "expected string");
        assert_eq!(err::<String>(""), "expected string");
        assert_eq!(ok::<Bytes>("\\<00 11 /* c */ ff>").0, [0, 0x11, 0xff]);
        assert_eq!(ok::<Bytes>("\"a\\x00\"").0, b"a\0");
        assert_eq!(ok::<Bytes>("\"a\\x00\"").to_string(), "\"a\\000\"");
        assert_eq!(ok::<Raw>("a \"b\" c").0, "a \"b\" c");
    }

    #[test]
    fn lists() {
        assert_eq!(ok::<Vec<u32>>("1 2  0x3"), [1, 2, 3]);
        assert_eq!(ok::<Vec<u32>>(""), Vec::<u32>::new());
        assert_eq!(err::<Vec<u8>>("1 300"), "out of range, bound 255");
        assert_eq!(ok::<Vec<String>>("a \"b c\""), ["a", "b c"]);
    }

    #[test]
    fn seconds_match_click() {
        let secs = |s: &str| ok::<Duration>(s);
        assert_eq!(secs("3600"), Duration::from_secs(3600));
        assert_eq!(secs("3600s"), Duration::from_secs(3600));
        assert_eq!(secs("3.6e6 msec"), Duration::from_secs(3600));
        assert_eq!(secs("60m"), Duration::from_secs(3600));
        assert_eq!(secs("1 hr"), Duration::from_secs(3600));
        assert_eq!(secs("1.99 hr"), Duration::from_secs(7164));
        assert_eq!(secs("1.99 s"), Duration::from_millis(1990));
        assert_eq!(secs("1ms"), Duration::from_millis(1));
        assert_eq!(secs("1.9ms"), Duration::from_micros(1900));
        assert_eq!(secs("2min"), Duration::from_secs(120));
        assert_eq!(secs("1d"), Duration::from_secs(86400));
        assert_eq!(secs("1 day"), Duration::from_secs(86400));
        assert_eq!(secs("5us"), Duration::from_micros(5));
        assert_eq!(secs("5 usec"), Duration::from_micros(5));
        assert_eq!(secs("7ns"), Duration::from_nanos(7));
        assert_eq!(secs("7 nsec"), Duration::from_nanos(7));
        assert_eq!(secs("0.5"), Duration::from_millis(500));
        assert_eq!(secs("1_000"), Duration::from_secs(1000));
        assert_eq!(secs("0.0000000015"), Duration::from_nanos(2));
        assert_eq!(secs("0.0000000014"), Duration::from_nanos(1));
        assert_eq!(secs("1e-100"), Duration::ZERO);
        for bad in ["", "s", "-1", "1 x", "1e", "1 2", "..1", "1.2.3", "1 m s"] {
            assert!(Duration::from_arg(bad).is_err(), "{bad:?}");
        }
        assert_eq!(err::<Duration>("1e30"), "out of range");
        assert_eq!(err::<Duration>("1e99999999999"), "out of range");
        assert_eq!(err::<Bandwidth>("1e30"), "out of range");
        assert_eq!(format_seconds(Duration::from_millis(1500)), "1.5");
        assert_eq!(format_seconds(Duration::from_secs(3600)), "3600");
    }

    #[test]
    fn bandwidth_matches_click() {
        assert_eq!(ok::<Bandwidth>("8").0, 8);
        assert_eq!(ok::<Bandwidth>("8 baud").0, 1);
        assert_eq!(ok::<Bandwidth>("8Kbps").0, 1000);
        assert_eq!(ok::<Bandwidth>("8KBps").0, 8000);
        assert_eq!(ok::<Bandwidth>("10Mbps").0, 1_250_000);
        assert_eq!(ok::<Bandwidth>("1Gbps").0, 125_000_000);
        assert_eq!(ok::<Bandwidth>("1.5 MB/s").0, 1_500_000);
        assert_eq!(ok::<Bandwidth>("100 b/s").0, 13);
        assert_eq!(err::<Bandwidth>("fast"), "expected bandwidth");
        assert_eq!(Bandwidth(1000).to_string(), "8kbps");
        assert_eq!(Bandwidth(1_250_000).to_string(), "10Mbps");
        assert_eq!(Bandwidth(125_000_000).to_string(), "1Gbps");
        assert_eq!(Bandwidth(0x2000_0000).to_string(), "536.870912MBps");
        for b in [0u64, 1, 999, 125_000, 3_000_000_000] {
            assert_eq!(ok::<Bandwidth>(&Bandwidth(b).to_string()).0, b);
        }
    }

    #[test]
    fn ipv4_addresses() {
        assert_eq!(ok::<Ipv4Addr>("18.26.4.9"), Ipv4Addr::new(18, 26, 4, 9));
        assert_eq!(ok::<Ipv4Addr>("0.0.0.0"), Ipv4Addr::UNSPECIFIED);
        assert_eq!(ok::<Ipv4Addr>("001.2.3.4"), Ipv4Addr::new(1, 2, 3, 4));
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "a.b.c.d",
            "1.2.3.4 ",
            "1.2.3.",
        ] {
            assert_eq!(err::<Ipv4Addr>(bad), "expected IP address", "{bad:?}");
        }
    }

    #[test]
    fn ipv4_prefixes() {
        let p = ok::<Ipv4Prefix>("18.26.4/24");
        assert_eq!(p.to_string(), "18.26.4.0/24");
        assert!(Ipv4Prefix::from_arg("18.26.4/28").is_err());
        assert!(Ipv4Prefix::from_arg("18.26/24").is_err());
        assert_eq!(ok::<Ipv4Prefix>("10/8").to_string(), "10.0.0.0/8");
        assert_eq!(
            ok::<Ipv4Prefix>("18.26.4.0/24").mask,
            Ipv4Addr::new(255, 255, 255, 0)
        );
        let p = ok::<Ipv4Prefix>("1.2.3.4/255.255.255.0");
        assert_eq!(
            (p.addr, p.prefix_len()),
            (Ipv4Addr::new(1, 2, 3, 4), Some(24))
        );
        assert_eq!(p.network(), Ipv4Addr::new(1, 2, 3, 0));
        assert!(p.contains(Ipv4Addr::new(1, 2, 3, 200)));
        assert!(!p.contains(Ipv4Addr::new(1, 2, 4, 1)));
        assert_eq!(ok::<Ipv4Prefix>("1.2.3.4").to_string(), "1.2.3.4/32");
        assert_eq!(ok::<Ipv4Prefix>("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(
            ok::<Ipv4Prefix>("1.2.3.4/255.0.255.0").to_string(),
            "1.2.3.4/255.0.255.0"
        );
        for bad in [
            "",
            "/24",
            "1.2.3.4/",
            "1.2.3.4/33",
            "1.2.3.4/x",
            "1.2.3/255.255.255.128",
            "1.2/255.255.255.0",
        ] {
            assert!(Ipv4Prefix::from_arg(bad).is_err(), "{bad:?}");
        }
        // As in Click, a mask may follow a short address if it covers no
        // more than the bytes written.
        assert_eq!(
            ok::<Ipv4Prefix>("1.2.3/255.255.255.0").to_string(),
            "1.2.3.0/24"
        );
    }

    #[test]
    fn ipv6_matches_click() {
        let a = |s: &str| ok::<Ipv6Addr>(s);
        let expect: Ipv6Addr = "1080:0:0:0:8:800:200c:417a".parse().unwrap();
        assert_eq!(a("1080:0:0:0:8:800:200C:417a"), expect);
        assert_eq!(a("1080::8:800:200C:417a"), expect);
        assert_eq!(a("::13.1.68.3"), "::13.1.68.3".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            a("::ffff:129.144.52.38"),
            "::ffff:129.144.52.38".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            a("ffff:ffff:ffff:ffff:ffff:ffff::"),
            "ffff:ffff:ffff:ffff:ffff:ffff::"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(a("::"), Ipv6Addr::UNSPECIFIED);
        assert_eq!(a("8000::"), "8000::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(a("::8000"), "::8000".parse::<Ipv6Addr>().unwrap());
        for bad in [
            ":::",
            "8000::1:1:1:1:1:1:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:8000:",
            "",
            "1:2",
            "12345::",
            "::g",
            ".1.2.3",
        ] {
            assert!(Ipv6Addr::from_arg(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ipv6_prefixes() {
        let p = ok::<Ipv6Prefix>("2001:db8::/32");
        assert_eq!(p.to_string(), "2001:db8::/32");
        assert!(p.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!p.contains("2001:db9::1".parse().unwrap()));
        assert_eq!(ok::<Ipv6Prefix>("::1").len, 128);
        assert_eq!(
            ok::<Ipv6Prefix>("::/ffff:ffff:ffff:ffff:ffff:ffff:8000:0").len,
            97
        );
        assert_eq!(
            ok::<Ipv6Prefix>("::/ffff:ffff:ffff:ffff:ffff:ffff::").len,
            96
        );
        assert_eq!(ok::<Ipv6Prefix>("::/::").len, 0);
        assert!(Ipv6Prefix::from_arg("::/::1").is_err());
        assert!(Ipv6Prefix::from_arg("::/129").is_err());
        assert_eq!(ok::<Ipv6Prefix>("::/0").mask(), Ipv6Addr::UNSPECIFIED);
    }

    #[test]
    fn ether_addresses() {
        let e = EtherAddr([0, 1, 2, 3, 4, 5]);
        assert_eq!(ok::<EtherAddr>("00:01:02:03:04:05"), e);
        assert_eq!(ok::<EtherAddr>("0-1-2-3-4-5"), e);
        assert_eq!(ok::<EtherAddr>("0:1-2:3-4:5"), e);
        assert_eq!(ok::<EtherAddr>("1:1:1:1:1:1"), EtherAddr([1; 6]));
        assert_eq!(
            ok::<EtherAddr>("00-15-58-2d-FB-8F").to_string(),
            "00-15-58-2D-FB-8F"
        );
        assert_eq!(e.to_colon_string(), "00:01:02:03:04:05");
        for bad in [
            "",
            "00:01:02:03:04",
            "00:01:02:03:04:05:06",
            "000:1:2:3:4:5",
            "0:1:2:3:4:",
            "g:1:2:3:4:5",
            "0:1:2:3:4:5 ",
        ] {
            assert!(EtherAddr::from_arg(bad).is_err(), "{bad:?}");
        }
    }
}
