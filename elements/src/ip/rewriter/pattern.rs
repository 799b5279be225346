//! Rewrite patterns (`SADDR SPORT DADDR DPORT`, `-` for a field left
//! alone, a range for the field chosen per flow) and the input specs
//! that use them.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};

use click_engine::args::{split_words, Args, Ipv4Prefix};
use click_engine::Port;

use super::flow::FlowId;
use super::mapper::MapperCell;

/// How a pattern picks among its range of addresses or ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    /// The flow's own value if it is in range and free, else random.
    SameFirst,
    /// Random (`?`).
    Random,
    /// The next after the last one given, wrapping (`#`).
    Sequential,
}

/// A rewrite pattern. Fields left zero are not changed; `variation`
/// values above the source port (NAPT patterns, with ports) or the
/// source address (address patterns) are also used.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    saddr: u32,
    sport: u16,
    daddr: u32,
    dport: u16,
    /// Whether the pattern has ports (4 words) and varies the port.
    napt: bool,
    variation: u32,
    choice: Choice,
    next: u32,
    rng: u64,
}

/// Why a pattern did not parse: Click's messages.
const BAD_SADDR: &str = "bad source address";
const BAD_SPORT: &str = "bad source port";
const BAD_DADDR: &str = "bad destination address";
const BAD_DPORT: &str = "bad destination port";

/// Strips a `#` or `?` suffix and says which choice it asks for.
fn choice_suffix(word: &str) -> (&str, Option<Choice>) {
    if let Some(w) = word.strip_suffix('#') {
        (w, Some(Choice::Sequential))
    } else if let Some(w) = word.strip_suffix('?') {
        (w, Some(Choice::Random))
    } else {
        (word, None)
    }
}

/// A port 1-65535 on its own.
fn plain_port(word: &str) -> Option<u16> {
    word.parse::<u16>().ok().filter(|&p| p > 0)
}

/// `LOW-HIGH[#?]`: a port range, 0 <= LOW <= HIGH <= 65535.
fn port_range(word: &str) -> Option<(u16, u32, Option<Choice>)> {
    let (w, choice) = choice_suffix(word);
    let (lo, hi) = w.split_once('-')?;
    let (lo, hi): (u32, u32) = (lo.parse().ok()?, hi.parse().ok()?);
    (hi >= lo && hi < 65536).then(|| (lo as u16, hi - lo, choice))
}

/// `A-B[#?]` or `PREFIX/LEN[#?]`: an address range. A prefix leaves out
/// its network and broadcast addresses (but for /31 and /32).
fn address_range(args: &Args, word: &str) -> Option<(u32, u32, Option<Choice>)> {
    let (w, choice) = choice_suffix(word);
    if let Some((a, b)) = w.split_once('-') {
        let a: u32 = args.parse::<Ipv4Addr>(a).ok()?.into();
        let b: u32 = args.parse::<Ipv4Addr>(b).ok()?.into();
        return (b >= a).then(|| (a, b - a, choice));
    }
    let prefix: Ipv4Prefix = args.parse(w).ok()?;
    let (addr, mask) = (u32::from(prefix.addr), u32::from(prefix.mask));
    prefix.prefix_len()?;
    if addr == 0 || mask == 0 {
        return None;
    }
    Some(match mask {
        u32::MAX => (addr, 0, choice),
        0xffff_fffe => (addr & mask, 1, choice),
        _ => ((addr & mask) | 1, !mask - 2, choice),
    })
}

impl Pattern {
    /// Parses the words of a pattern: `SADDR DADDR` (address patterns) or
    /// `SADDR SPORT DADDR DPORT`. Addresses and prefixes are read in the
    /// router's context (AddressInfo names).
    pub fn parse(words: &[String], args: &Args) -> Result<Pattern, String> {
        if words.is_empty() || words.len() > 4 {
            return Err("syntax error".into());
        }
        if words.len() == 1 {
            return Err(format!("no such pattern '{}'", words[0]));
        }
        let mut p = Pattern {
            saddr: 0,
            sport: 0,
            daddr: 0,
            dport: 0,
            napt: words.len() >= 3,
            variation: 0,
            choice: Choice::SameFirst,
            next: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
        };
        let set_choice = |p: &mut Pattern, c: Option<Choice>| p.choice = c.unwrap_or(p.choice);
        // Click's word order: with three words the source port is last.
        let (sport_at, daddr_at) = match words.len() {
            3 => (Some(2), 1),
            4 => (Some(1), 2),
            _ => (None, 1),
        };
        let w = words[0].as_str();
        if w != "-" {
            if let Ok(a) = args.parse::<Ipv4Addr>(w) {
                p.saddr = a.into();
            } else {
                let (a, var, c) = address_range(args, w).ok_or(BAD_SADDR)?;
                (p.saddr, p.variation) = (a, var);
                set_choice(&mut p, c);
            }
        }
        if let Some(i) = sport_at {
            let w = words[i].as_str();
            if w != "-" {
                if let Some(port) = plain_port(w) {
                    p.sport = port;
                } else {
                    let (port, var, c) = port_range(w).ok_or(BAD_SPORT)?;
                    (p.sport, p.variation) = (port, var);
                    set_choice(&mut p, c);
                }
            }
        }
        let w = words[daddr_at].as_str();
        if w != "-" {
            p.daddr = args.parse::<Ipv4Addr>(w).map_err(|_| BAD_DADDR)?.into();
        }
        if words.len() == 4 && words[3] != "-" {
            p.dport = plain_port(&words[3]).ok_or(BAD_DPORT)?;
        }
        Ok(p)
    }

    /// Click's text for the pattern (the `patterns` handler).
    pub fn unparse(&self) -> String {
        let addr = |a: u32| Ipv4Addr::from(a).to_string();
        let mut s = if !self.napt && self.variation > 0 {
            format!("{}-{}", addr(self.saddr), addr(self.saddr + self.variation))
        } else if self.saddr != 0 {
            addr(self.saddr)
        } else {
            "-".into()
        };
        if self.napt {
            s += &match (self.sport, self.variation) {
                (0, _) => " -".to_string(),
                (p, 0) => format!(" {p}"),
                (p, v) => format!(" {}-{}", p, u32::from(p) + v),
            };
        }
        s += &if self.daddr != 0 {
            format!(" {}", addr(self.daddr))
        } else {
            " -".into()
        };
        if self.napt {
            s += &if self.dport != 0 {
                format!(" {}", self.dport)
            } else {
                " -".into()
            };
        }
        s
    }

    /// A 31-bit random number in `0..=top` (xorshift with a fixed seed).
    fn random(&mut self, top: u32) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        ((self.rng >> 33) % (u64::from(top) + 1)) as u32
    }

    /// The flow `flowid` becomes, or `None` when every choice in the
    /// range is taken. `taken(reply)` says whether a reply flow ID is
    /// already mapped: a choice is free when the reply flow it would
    /// make is not.
    pub fn rewrite(&mut self, flowid: FlowId, taken: impl Fn(&FlowId) -> bool) -> Option<FlowId> {
        let mut out = flowid;
        if self.saddr != 0 {
            out.saddr = self.saddr;
        }
        if self.sport != 0 {
            out.sport = self.sport;
        }
        if self.daddr != 0 {
            out.daddr = self.daddr;
        }
        if self.dport != 0 {
            out.dport = self.dport;
        }
        if self.variation == 0 {
            return Some(out);
        }
        let base = if self.napt {
            u32::from(self.sport)
        } else {
            self.saddr
        };
        let napt = self.napt;
        let with = |out: FlowId, v: u32| {
            let mut f = out;
            if napt {
                f.sport = (base + v) as u16;
            } else {
                f.saddr = base + v;
            }
            f
        };
        if self.choice == Choice::SameFirst {
            let own = if self.napt {
                u32::from(flowid.sport)
            } else {
                flowid.saddr
            };
            let v = own.wrapping_sub(base);
            if v <= self.variation && !taken(&with(out, v).reverse()) {
                self.next = v.wrapping_add(1);
                return Some(with(out, v));
            }
        }
        let mut v = match self.choice {
            Choice::Sequential if self.next <= self.variation => self.next,
            Choice::Sequential => 0,
            _ => self.random(self.variation),
        };
        for _ in 0..=u64::from(self.variation) {
            let candidate = with(out, v);
            if !taken(&candidate.reverse()) {
                self.next = v.wrapping_add(1);
                return Some(candidate);
            }
            v = if v == self.variation { 0 } else { v + 1 };
        }
        None
    }
}

/// A pattern as inputs hold it: shared, since a named pattern
/// (IPRewriterPatterns) is one pattern for every input that names it, in
/// any rewriter, and its sequential choice goes on from one to the next
/// as in Click. Locked only to make a flow.
pub(crate) type SharedPattern = Arc<Mutex<Pattern>>;

/// Locks a shared pattern (a panic while another held it leaves it
/// usable).
pub(crate) fn lock(p: &SharedPattern) -> MutexGuard<'_, Pattern> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// The named patterns of a router's IPRewriterPatterns elements.
pub(crate) type NamedPatterns = HashMap<String, SharedPattern>;

/// What an input does with a packet of a flow it has no mapping for.
#[derive(Clone, Debug)]
pub(crate) enum InputSpec {
    /// `drop`, `discard`: drop it.
    Drop,
    /// `pass OUTPUT` (`passthrough`, `nochange`): send it on unchanged,
    /// with no mapping.
    Pass(Port),
    /// `keep FOUTPUT ROUTPUT`: map the flow to itself.
    Keep(Port, Port),
    /// `pattern ... FOUTPUT ROUTPUT`: map it by a pattern.
    Pattern(SharedPattern, Port, Port),
    /// `pattern NAME FOUTPUT ROUTPUT` (or `NAME FOUTPUT ROUTPUT`): a
    /// named pattern, until the rewriter initializes and finds it
    /// ([`InputSpec::resolve`]).
    Named(String, Port, Port),
    /// A mapper element's name, until the rewriter initializes and finds
    /// it.
    Mapper(String),
    /// A mapper (RoundRobinIPMapper): its patterns in turn.
    RoundRobin(Arc<MapperCell>),
}

impl InputSpec {
    /// Parses one input's spec; errors are Click's (without the
    /// `input spec N:` prefix).
    pub fn parse(text: &str, noutputs: usize, args: &Args) -> Result<InputSpec, String> {
        let words = split_words(text);
        let Some((kind, rest)) = words.split_first() else {
            return Err("empty argument".into());
        };
        let out = |w: &String| -> Option<Port> { w.parse::<usize>().ok() };
        let check = |f: Port, r: Port| {
            if f < noutputs && r < noutputs {
                Ok((f, r))
            } else {
                Err("output port out of range".to_string())
            }
        };
        match kind.as_str() {
            "drop" | "discard" if rest.is_empty() => Ok(InputSpec::Drop),
            "drop" | "discard" => Err(format!("syntax error, expected '{kind}'")),
            "pass" | "passthrough" | "nochange" => {
                let port = match rest {
                    [] => 0,
                    [w] => out(w).ok_or("syntax error, expected 'nochange [OUTPUT]'")?,
                    _ => return Err("syntax error, expected 'nochange [OUTPUT]'".into()),
                };
                check(port, port).map(|_| InputSpec::Pass(port))
            }
            "keep" => {
                let (f, r) = ports(rest)?;
                check(f, r).map(|(f, r)| InputSpec::Keep(f, r))
            }
            "pattern" | "xpattern" => {
                if rest.len() <= 2 {
                    return Err("syntax error".into());
                }
                let (words, port_words) = rest.split_at(rest.len() - 2);
                if let [name] = words {
                    let (f, r) = ports(port_words)?;
                    return check(f, r).map(|(f, r)| InputSpec::Named(name.clone(), f, r));
                }
                let pattern = Pattern::parse(words, args)?;
                let (f, r) = ports(port_words)?;
                let pattern = Arc::new(Mutex::new(pattern));
                check(f, r).map(|(f, r)| InputSpec::Pattern(pattern, f, r))
            }
            // A named pattern without the `pattern` keyword, as Click
            // allows.
            name if rest.len() == 2 && ports(rest).is_ok() => {
                let (f, r) = ports(rest)?;
                check(f, r).map(|(f, r)| InputSpec::Named(name.to_string(), f, r))
            }
            // An element's name: a mapper (RoundRobinIPMapper), found when
            // the rewriter initializes.
            name if rest.is_empty() => Ok(InputSpec::Mapper(name.to_string())),
            _ => Err("unknown specification".into()),
        }
    }

    /// The `patterns` handler's text for this input.
    pub fn unparse(&self) -> String {
        match self {
            InputSpec::Drop => "<drop>".into(),
            InputSpec::Pass(_) => "<nochange>".into(),
            InputSpec::Keep(..) => "<keep>".into(),
            InputSpec::Pattern(p, ..) => lock(p).unparse(),
            InputSpec::Named(name, ..) => name.clone(),
            InputSpec::Mapper(_) | InputSpec::RoundRobin(_) => "<mapper>".into(),
        }
    }

    /// Replaces a named pattern by the pattern of that name in `named`.
    pub fn resolve(&mut self, named: &NamedPatterns) -> Result<(), String> {
        if let InputSpec::Named(name, f, r) = self {
            let pattern = named
                .get(name.as_str())
                .ok_or_else(|| format!("no such pattern '{name}'"))?;
            *self = InputSpec::Pattern(pattern.clone(), *f, *r);
        }
        Ok(())
    }
}

/// IPRewriterPatterns' arguments, `NAME SADDR SPORT DADDR DPORT` (or any
/// pattern's words after the name), read in its context: each name with
/// its pattern, or every bad argument's error.
pub(crate) fn parse_named(args: &mut Args) -> Result<Vec<(String, Pattern)>, String> {
    let mut out: Vec<(String, Pattern)> = Vec::new();
    let mut errors = Vec::new();
    for text in args.rest() {
        let words = split_words(&text);
        let Some((name, words)) = words.split_first() else {
            continue;
        };
        if out.iter().any(|(n, _)| n == name) {
            errors.push(format!("pattern '{name}' already defined"));
            continue;
        }
        match Pattern::parse(words, args) {
            Ok(p) => out.push((name.clone(), p)),
            Err(e) => errors.push(format!("pattern '{name}': {e}")),
        }
    }
    match errors.len() {
        0 => Ok(out),
        1 => Err(errors.remove(0)),
        _ => Err(errors.iter().map(|e| format!("\n  {e}")).collect()),
    }
}

/// `FOUTPUT ROUTPUT`.
fn ports(words: &[String]) -> Result<(Port, Port), String> {
    let [f, r] = words else {
        return Err("bad forward port".into());
    };
    let f = f.parse().map_err(|_| "bad forward port")?;
    let r = r.parse().map_err(|_| "bad reply port")?;
    Ok((f, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> Result<Pattern, String> {
        let words = split_words(text);
        Pattern::parse(&words, &Args::new(""))
    }

    #[test]
    fn patterns_unparse_as_click_does() {
        for (text, want) in [
            ("1.0.0.1 1 - -", "1.0.0.1 1 - -"),
            ("1.0.0.1 1-65535 - -", "1.0.0.1 1-65535 - -"),
            ("1.0.0.1 - - -", "1.0.0.1 - - -"),
            ("1.0.0.1 -", "1.0.0.1 -"),
            ("1.0.0.1-1.0.255.255 -", "1.0.0.1-1.0.255.255 -"),
            ("1.0.0.1/24 -", "1.0.0.1-1.0.0.254 -"),
            ("1.0.0.1/8 -", "1.0.0.1-1.255.255.254 -"),
        ] {
            assert_eq!(pattern(text).unwrap().unparse(), want, "{text}");
        }
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(pattern("1.0.0.x - ").unwrap_err(), BAD_SADDR);
        assert_eq!(pattern("1.255.0.0-1.0.255.255 -").unwrap_err(), BAD_SADDR);
        assert_eq!(pattern("1.0.0.1 1x - -").unwrap_err(), BAD_SPORT);
        assert_eq!(pattern("1.0.0.0 456-19 - -").unwrap_err(), BAD_SPORT);
        assert_eq!(pattern("1.0.0.0 456-65536 - -").unwrap_err(), BAD_SPORT);
        assert!(pattern("1.0.0.0 0-255 - -").is_ok());
        assert_eq!(pattern("- - x -").unwrap_err(), BAD_DADDR);
        assert_eq!(pattern("- - - 0").unwrap_err(), BAD_DPORT);
    }

    #[test]
    fn sequential_ports_skip_taken_reply_flows() {
        let mut p = pattern("1.0.0.1 1024-1026# - -").unwrap();
        let f = FlowId::new(1, 5, 2, 80);
        let taken = FlowId::new(2, 80, 0x0100_0001, 1025);
        let got: Vec<u16> = (0..3)
            .map(|_| p.rewrite(f, |r| *r == taken).unwrap().sport)
            .collect();
        assert_eq!(got, [1024, 1026, 1024]);
    }
}
