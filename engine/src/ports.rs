//! An element's declared shape: port counts, processing codes and flow
//! codes, in Click's notation, parsed once when the router is built.
//!
//! * Port counts: `"1/1"`, `"1/1-2"`, `"0/1"`, `"1-/="`, `"-/-"`, `"2"`
//!   (same on both sides). A side is `N`, `N-M`, `N-` or `-` (any); the
//!   output side may be `=` (as many outputs as inputs) or `=+` (one more).
//! * Processing: `"a/a"`, `"h/l"`, `"h/lh"`: one letter per port, the last
//!   letter repeating; `h` push, `l` pull, `a` agnostic. Without `/`, the
//!   same letters apply to both sides.
//! * Flow: `"x/x"`, `"xy/x"`, `"#/#"`: input *i* flows to output *j* when
//!   their letters are equal; `#` relates input *i* to output *i* only.

use std::fmt;

/// Push, pull or (before resolution) agnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Processing {
    Push,
    Pull,
    Agnostic,
}

impl Processing {
    fn from_letter(c: u8) -> Option<Self> {
        match c {
            b'h' => Some(Processing::Push),
            b'l' => Some(Processing::Pull),
            b'a' => Some(Processing::Agnostic),
            _ => None,
        }
    }

    /// Click's word for it, as used in error messages.
    pub fn word(self) -> &'static str {
        match self {
            Processing::Push => "push",
            Processing::Pull => "pull",
            Processing::Agnostic => "agnostic",
        }
    }
}

impl fmt::Display for Processing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The processing code of an all-push element (`"h/h"`).
pub const PUSH: &str = "h/h";
/// The processing code of an all-pull element (`"l/l"`).
pub const PULL: &str = "l/l";
/// The processing code of an agnostic element (`"a/a"`).
pub const AGNOSTIC: &str = "a/a";
/// Push inputs, pull outputs: a queue.
pub const PUSH_TO_PULL: &str = "h/l";
/// Pull inputs, push outputs: an unqueue.
pub const PULL_TO_PUSH: &str = "l/h";
/// Every input flows to every output.
pub const COMPLETE_FLOW: &str = "x/x";

/// An inclusive range of acceptable port counts for one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lo: usize,
    hi: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputSide {
    Range(Range),
    /// `=`, `=+`, `=++`: as many outputs as inputs, plus this many.
    SameAsInputs(usize),
}

/// A parsed port-count specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortCount {
    inputs: Range,
    outputs: OutputSide,
}

impl PortCount {
    /// Parses Click's notation; `Err` names the bad specification.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let bad = || format!("bad port count specification '{spec}'");
        let (ins, outs) = spec.split_once('/').unwrap_or((spec, spec));
        let inputs = parse_range(ins).ok_or_else(bad)?;
        let outputs = if let Some(pluses) = outs.strip_prefix('=') {
            if !pluses.bytes().all(|c| c == b'+') {
                return Err(bad());
            }
            OutputSide::SameAsInputs(pluses.len())
        } else {
            OutputSide::Range(parse_range(outs).ok_or_else(bad)?)
        };
        Ok(PortCount { inputs, outputs })
    }

    /// Click's rule: the number of ports used by connections is clamped
    /// into the acceptable range. Ports beyond the result are errors
    /// ("has no input 3"); ports within it but unconnected are errors too
    /// ("input 0 unused").
    pub fn resolve(&self, used_inputs: usize, used_outputs: usize) -> (usize, usize) {
        let ninputs = used_inputs.clamp(self.inputs.lo, self.inputs.hi);
        let noutputs = match self.outputs {
            OutputSide::SameAsInputs(extra) => ninputs + extra,
            OutputSide::Range(r) => used_outputs.clamp(r.lo, r.hi),
        };
        (ninputs, noutputs)
    }
}

fn parse_range(s: &str) -> Option<Range> {
    let (lo, rest) = if s.is_empty() || s.starts_with('-') {
        (0, s)
    } else {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        (s[..digits].parse().ok()?, &s[digits..])
    };
    let hi = match rest.strip_prefix('-') {
        None if rest.is_empty() => lo,
        None => return None,
        Some("") => usize::MAX,
        Some(n) => n.parse().ok()?,
    };
    (lo <= hi).then_some(Range { lo, hi })
}

/// A parsed processing code: one letter per port, the last one repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingCode {
    inputs: Vec<Processing>,
    outputs: Vec<Processing>,
}

impl ProcessingCode {
    pub fn parse(code: &str) -> Result<Self, String> {
        let bad = || format!("bad processing code '{code}'");
        let (ins, outs) = code.split_once('/').unwrap_or((code, code));
        let side = |s: &str| -> Option<Vec<Processing>> {
            let v: Option<Vec<_>> = s.bytes().map(Processing::from_letter).collect();
            v.filter(|v| !v.is_empty())
        };
        Ok(ProcessingCode {
            inputs: side(ins).ok_or_else(bad)?,
            outputs: side(outs).ok_or_else(bad)?,
        })
    }

    pub fn input(&self, port: usize) -> Processing {
        self.inputs[port.min(self.inputs.len() - 1)]
    }

    pub fn output(&self, port: usize) -> Processing {
        self.outputs[port.min(self.outputs.len() - 1)]
    }
}

/// A parsed flow code: which inputs can reach which outputs. Each port has
/// a code, a letter, `#`, or a class of letters (`[xy]`, or `[^xy]` for all
/// but those); the last code repeats for further ports, as in Click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowCode {
    inputs: Vec<PortFlow>,
    outputs: Vec<PortFlow>,
}

/// One port's flow code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortFlow {
    /// `#`: flows only to the port of the same number marked `#`.
    Same,
    /// A set of letters, one bit each (`a`-`z`, then `A`-`Z`).
    Letters(u64),
}

fn letter_bit(c: u8) -> Option<u64> {
    match c {
        b'a'..=b'z' => Some(1 << (c - b'a')),
        b'A'..=b'Z' => Some(1 << (26 + c - b'A')),
        _ => None,
    }
}

/// All letters a class can hold.
const ALL_LETTERS: u64 = (1 << 52) - 1;

/// Parses one side of a flow code (`xy`, `[xy]x`, `#`).
fn parse_side(side: &str) -> Option<Vec<PortFlow>> {
    let mut ports = Vec::new();
    let mut bytes = side.bytes();
    while let Some(c) = bytes.next() {
        let port = match c {
            b'#' => PortFlow::Same,
            b'[' => {
                let mut set = 0;
                let mut negate = false;
                let mut first = true;
                loop {
                    match bytes.next()? {
                        b']' => break,
                        b'^' if first => negate = true,
                        c => set |= letter_bit(c)?,
                    }
                    first = false;
                }
                PortFlow::Letters(if negate { ALL_LETTERS & !set } else { set })
            }
            c => PortFlow::Letters(letter_bit(c)?),
        };
        ports.push(port);
    }
    (!ports.is_empty()).then_some(ports)
}

impl FlowCode {
    pub fn parse(code: &str) -> Result<Self, String> {
        let bad = || format!("bad flow code '{code}'");
        let (ins, outs) = code.split_once('/').unwrap_or((code, code));
        Ok(FlowCode {
            inputs: parse_side(ins).ok_or_else(bad)?,
            outputs: parse_side(outs).ok_or_else(bad)?,
        })
    }

    /// Does a packet arriving on `input` possibly leave on `output`?
    pub fn flows(&self, input: usize, output: usize) -> bool {
        let i = self.inputs[input.min(self.inputs.len() - 1)];
        let o = self.outputs[output.min(self.outputs.len() - 1)];
        match (i, o) {
            (PortFlow::Same, PortFlow::Same) => input == output,
            (PortFlow::Letters(a), PortFlow::Letters(b)) => a & b != 0,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_counts_clamp_like_click() {
        let pc = PortCount::parse("1/1-2").unwrap();
        assert_eq!(pc.resolve(0, 0), (1, 1));
        assert_eq!(pc.resolve(1, 5), (1, 2));
        let any = PortCount::parse("-/-").unwrap();
        assert_eq!(any.resolve(7, 3), (7, 3));
        let same = PortCount::parse("1-/=").unwrap();
        assert_eq!(same.resolve(3, 0), (3, 3));
        let plus = PortCount::parse("1/=+").unwrap();
        assert_eq!(plus.resolve(1, 0), (1, 2));
        assert_eq!(PortCount::parse("2").unwrap().resolve(0, 9), (2, 2));
        assert_eq!(PortCount::parse("0/1").unwrap().resolve(0, 1), (0, 1));
        assert_eq!(PortCount::parse("1/1-").unwrap().resolve(1, 4), (1, 4));
    }

    #[test]
    fn flow_codes_with_letter_classes() {
        // Bypass: input 0 reaches both outputs, input 1 only output 0.
        let f = FlowCode::parse("xy/[xy]x").unwrap();
        assert!(f.flows(0, 0) && f.flows(0, 1) && f.flows(1, 0) && !f.flows(1, 1));
        let not = FlowCode::parse("xy/[^x]").unwrap();
        assert!(!not.flows(0, 0) && not.flows(1, 0) && not.flows(1, 3));
        let same = FlowCode::parse("#/#").unwrap();
        assert!(same.flows(2, 2) && !same.flows(2, 1));
        for bad in ["", "x/", "[x", "x/[1]", "x/y]"] {
            assert!(FlowCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_port_counts_are_errors() {
        for bad in ["x/1", "1/y", "2-1/1", "1/=x", "1/1/1"] {
            assert!(PortCount::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn processing_letters_repeat() {
        let p = ProcessingCode::parse("h/lh").unwrap();
        assert_eq!(p.input(0), Processing::Push);
        assert_eq!(p.input(3), Processing::Push);
        assert_eq!(p.output(0), Processing::Pull);
        assert_eq!(p.output(1), Processing::Push);
        assert_eq!(p.output(9), Processing::Push);
        let a = ProcessingCode::parse("a").unwrap();
        assert_eq!(a.output(2), Processing::Agnostic);
        assert!(ProcessingCode::parse("h/q").is_err());
        assert!(ProcessingCode::parse("/h").is_err());
    }

    #[test]
    fn flow_codes() {
        let complete = FlowCode::parse("x/x").unwrap();
        assert!(complete.flows(0, 3));
        let split = FlowCode::parse("xy/x").unwrap();
        assert!(split.flows(0, 0));
        assert!(!split.flows(1, 0));
        let diag = FlowCode::parse("#/#").unwrap();
        assert!(diag.flows(2, 2));
        assert!(!diag.flows(2, 1));
    }
}
