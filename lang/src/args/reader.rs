//! [`Args`]: reading an element's arguments by keyword and position.

use std::fmt;
use std::sync::Arc;

use super::context::{ArgContext, NoContext};
use super::split::{is_space, split_args, split_words};
use super::types::FromArg;

/// Splits an argument into keyword and value if it looks like a keyword
/// argument, by Click's rule: it starts with a letter or `_`, continues with
/// letters, digits or `_ : . ? !`, and is followed by whitespace and a
/// non-empty value. So `LIMIT 5` and `STOP true` are keyword arguments,
/// while `LIMIT`, `5 LIMIT` and `LIMIT:5` are not.
///
/// Case does not matter for detection (`src host 1.2.3.4` looks like keyword
/// `src`); only an exact match with a keyword that an element reads uses it.
///
/// ```
/// use click_lang::args::split_keyword;
/// assert_eq!(split_keyword("DATA  \"x y\""), Some(("DATA", "\"x y\"")));
/// assert_eq!(split_keyword("STOP"), None);
/// ```
pub fn split_keyword(arg: &str) -> Option<(&str, &str)> {
    let b = arg.as_bytes();
    let first = *b.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let kw_end = b.iter().position(|&c| {
        !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.' | b'?' | b'!'))
    })?;
    let value_start = kw_end + b[kw_end..].iter().position(|&c| !is_space(c))?;
    (value_start > kw_end).then(|| (&arg[..kw_end], &arg[value_start..]))
}

/// What went wrong reading arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgErrorKind {
    /// A mandatory argument was not given.
    Missing,
    /// An argument's value did not parse (or failed an element's check).
    Invalid,
    /// A keyword argument that the element does not read.
    UnknownKeyword,
    /// More positional arguments than the element reads.
    TooMany,
}

/// An error reading configuration arguments. Displays as Click does:
/// `LIMIT: expected unsigned integer`, `DATA: required argument missing`,
/// `FOO: unknown argument`, `too many arguments`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError {
    keyword: Option<String>,
    kind: ArgErrorKind,
    message: String,
}

impl ArgError {
    /// An invalid-value error for `keyword`, for checks an element makes
    /// itself: `ArgError::invalid("BURST", "must be positive")`.
    pub fn invalid(keyword: &str, message: impl Into<String>) -> Self {
        ArgError {
            keyword: Some(keyword.to_string()),
            kind: ArgErrorKind::Invalid,
            message: message.into(),
        }
    }

    fn missing(keyword: &str) -> Self {
        ArgError {
            keyword: Some(keyword.to_string()),
            kind: ArgErrorKind::Missing,
            message: "required argument missing".to_string(),
        }
    }

    /// The keyword the error is about, if any.
    pub fn keyword(&self) -> Option<&str> {
        self.keyword.as_deref()
    }

    /// The kind of error.
    pub fn kind(&self) -> ArgErrorKind {
        self.kind
    }

    /// The message without the keyword prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.keyword {
            Some(k) => write!(f, "{}: {}", k, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ArgError {}

/// How a read finds its argument (Click's `Args::mandatory`,
/// `Args::positional` and `Args::firstmatch` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Missing the argument is an error.
    pub mandatory: bool,
    /// The next unused positional argument may supply the value.
    pub positional: bool,
    /// Use the first occurrence of a repeated keyword instead of the last,
    /// leaving later ones for later reads.
    pub first_match: bool,
}

impl Flags {
    /// Optional keyword argument.
    pub const KEYWORD: Flags = Flags {
        mandatory: false,
        positional: false,
        first_match: false,
    };
    /// Mandatory keyword argument.
    pub const MANDATORY: Flags = Flags {
        mandatory: true,
        positional: false,
        first_match: false,
    };
    /// Optional positional-or-keyword argument.
    pub const POSITIONAL: Flags = Flags {
        mandatory: false,
        positional: true,
        first_match: false,
    };
    /// Mandatory positional-or-keyword argument.
    pub const MANDATORY_POSITIONAL: Flags = Flags {
        mandatory: true,
        positional: true,
        first_match: false,
    };
}

/// The state of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Unused; does not look like a keyword argument.
    Positional,
    /// Unused; looks like a keyword argument with a keyword this long.
    Keyword(usize),
    /// Used as a positional argument.
    UsedPositional,
    /// Used as a keyword argument.
    UsedKeyword,
}

impl Slot {
    fn of(arg: &str) -> Slot {
        match split_keyword(arg) {
            Some((k, _)) => Slot::Keyword(k.len()),
            None => Slot::Positional,
        }
    }

    fn unused(self) -> bool {
        matches!(self, Slot::Positional | Slot::Keyword(_))
    }
}

/// Reads an element's configuration arguments, with Click's `Args`
/// semantics.
///
/// Each read names a keyword. Keyword arguments (`LIMIT 5`) match by exact
/// keyword; when a keyword is repeated the last one wins (all are used up).
/// Positional reads (`read_p`, `read_mp`) may instead take the next unused
/// positional argument, in the order the reads are made. An argument that
/// looks like a keyword argument is taken positionally only by a mandatory
/// read whose keyword was not given. [`complete`](Args::complete) then
/// rejects anything left over.
///
/// ```
/// use click_lang::args::{Args, Bytes};
/// # fn main() -> Result<(), click_lang::args::ArgError> {
/// let mut args = Args::new("\"hello\", 10, STOP true");
/// let data: Bytes = args.read_mp("DATA")?;
/// let limit: u64 = args.read_p("LIMIT")?.unwrap_or(u64::MAX);
/// let stop: bool = args.read("STOP")?.unwrap_or(false);
/// args.complete()?;
/// assert_eq!((data.0.as_slice(), limit, stop), (&b"hello"[..], 10, true));
/// # Ok(())
/// # }
/// ```
///
/// Arguments that name things elsewhere in the router (an `AddressInfo`
/// address, an annotation, an element) need its [`ArgContext`]: the engine
/// builds an element's `Args` with [`Args::with_context`], and every read
/// then parses with [`FromArg::from_arg_in`].
#[derive(Clone, Default)]
pub struct Args {
    args: Vec<String>,
    slots: Vec<Slot>,
    context: Option<Arc<dyn ArgContext>>,
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Args")
            .field("args", &self.args)
            .field("slots", &self.slots)
            .field(
                "context",
                &self
                    .context
                    .as_ref()
                    .map(|c| c.element_name().unwrap_or("")),
            )
            .finish()
    }
}

impl Args {
    /// Arguments from a configuration string, split at commas
    /// ([`split_args`]).
    pub fn new(config: &str) -> Self {
        Self::from_vec(split_args(config))
    }

    /// Arguments from a configuration string, read in `context`: names in
    /// them (`AddressInfo` addresses, annotations, elements) resolve as
    /// seen from the element whose configuration it is.
    pub fn with_context(config: &str, context: Arc<dyn ArgContext>) -> Self {
        let mut args = Self::new(config);
        args.context = Some(context);
        args
    }

    /// Arguments already split (each one uncommented and trimmed).
    pub fn from_vec(args: Vec<String>) -> Self {
        let slots = args.iter().map(|a| Slot::of(a)).collect();
        Args {
            args,
            slots,
            context: None,
        }
    }

    /// Reads in `context` from now on (see [`with_context`](Args::with_context)).
    pub fn set_context(&mut self, context: Arc<dyn ArgContext>) {
        self.context = Some(context);
    }

    /// The context the arguments are read in ([`NoContext`] if none), for
    /// parsers that take one (`parse_address_info`, `parse_annotation`).
    pub fn context(&self) -> &dyn ArgContext {
        match &self.context {
            Some(c) => c.as_ref(),
            None => &NoContext,
        }
    }

    /// The context, to keep: an element that parses more values later (a
    /// handler write taking an address) keeps it and reads them with
    /// [`with_context`](Args::with_context) or
    /// [`FromArg::from_arg_in`]. `None` if the arguments have none.
    pub fn shared_context(&self) -> Option<Arc<dyn ArgContext>> {
        self.context.clone()
    }

    /// Parses `text` as a `T` in this `Args`' context (or none).
    pub fn parse<T: FromArg>(&self, text: &str) -> Result<T, String> {
        T::from_arg_in(text, self.context())
    }

    /// Arguments from the space-separated words of `s` ([`split_words`]),
    /// for elements whose configuration is a list of words.
    pub fn from_words(s: &str) -> Self {
        Self::from_vec(split_words(s))
    }

    /// Appends one more argument.
    pub fn push(&mut self, arg: impl Into<String>) {
        let arg = arg.into();
        self.slots.push(Slot::of(&arg));
        self.args.push(arg);
    }

    /// The number of arguments, used or not.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether there are no arguments at all.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// The arguments not used so far, in order.
    pub fn remaining(&self) -> Vec<&str> {
        self.args
            .iter()
            .zip(&self.slots)
            .filter(|(_, s)| s.unused())
            .map(|(a, _)| a.as_str())
            .collect()
    }

    /// Finds the argument for `keyword` and marks it used, returning its
    /// value text. Mirrors Click's `Args::find`.
    fn find(&mut self, keyword: &str, flags: Flags) -> Result<Option<String>, ArgError> {
        let mut got: Option<(usize, bool)> = None; // (index, is keyword)
        let mut position: Option<Option<usize>> = None; // Some(None): blocked
        for i in 0..self.slots.len() {
            if position.is_none() && self.slots[i] != Slot::UsedPositional {
                position = Some(self.slots[i].unused().then_some(i));
            }
            if self.slots[i] == Slot::Keyword(keyword.len()) && self.args[i].starts_with(keyword) {
                got = Some((i, true));
                self.slots[i] = Slot::UsedKeyword;
                if flags.first_match {
                    break;
                }
            }
        }
        if let Some(Some(p)) = position.filter(|_| flags.positional) {
            self.take_positional(p, &mut got, keyword.len(), flags);
        }
        match got {
            None if flags.mandatory => Err(ArgError::missing(keyword)),
            None => Ok(None),
            Some((i, true)) => Ok(split_keyword(&self.args[i]).map(|(_, v)| v.to_string())),
            Some((i, false)) => Ok(Some(self.args[i].clone())),
        }
    }

    /// The positional half of [`find`](Args::find): whether the argument at
    /// `p` supplies the value instead of (or in the absence of) a keyword.
    fn take_positional(
        &mut self,
        p: usize,
        got: &mut Option<(usize, bool)>,
        kw_len: usize,
        flags: Flags,
    ) {
        let slot = self.slots[p];
        let eligible = slot.unused()
            && ((got.is_none() && flags.mandatory) || slot == Slot::Positional)
            && (!flags.first_match || got.is_none_or(|(g, _)| p < g));
        if !eligible {
            return;
        }
        self.slots[p] = Slot::UsedPositional;
        match *got {
            Some((g, _)) if flags.first_match && p < g => {
                self.slots[g] = Slot::Keyword(kw_len);
                *got = Some((p, false));
            }
            Some((g, _)) if g > p => {}
            _ => *got = Some((p, false)),
        }
    }

    /// Reads `keyword` with `flags`, parsing the value with `parse` (for
    /// values that need more than a [`FromArg`] type). Errors from `parse`
    /// are reported against `keyword`.
    pub fn read_with<T>(
        &mut self,
        keyword: &str,
        flags: Flags,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ArgError> {
        match self.find(keyword, flags)? {
            Some(text) => parse(&text)
                .map(Some)
                .map_err(|m| ArgError::invalid(keyword, m)),
            None => Ok(None),
        }
    }

    /// Reads `keyword` with `flags` as a `T` (in this `Args`' context).
    pub fn read_flags<T: FromArg>(
        &mut self,
        keyword: &str,
        flags: Flags,
    ) -> Result<Option<T>, ArgError> {
        match self.find(keyword, flags)? {
            Some(text) => self
                .parse(&text)
                .map(Some)
                .map_err(|m| ArgError::invalid(keyword, m)),
            None => Ok(None),
        }
    }

    /// Optional keyword argument (Click's `read`).
    pub fn read<T: FromArg>(&mut self, keyword: &str) -> Result<Option<T>, ArgError> {
        self.read_flags(keyword, Flags::KEYWORD)
    }

    /// Mandatory keyword argument (Click's `read_m`).
    pub fn read_m<T: FromArg>(&mut self, keyword: &str) -> Result<T, ArgError> {
        self.read_flags(keyword, Flags::MANDATORY)?
            .ok_or_else(|| ArgError::missing(keyword))
    }

    /// Optional argument given by position or keyword (Click's `read_p`).
    pub fn read_p<T: FromArg>(&mut self, keyword: &str) -> Result<Option<T>, ArgError> {
        self.read_flags(keyword, Flags::POSITIONAL)
    }

    /// Mandatory argument given by position or keyword (Click's `read_mp`).
    pub fn read_mp<T: FromArg>(&mut self, keyword: &str) -> Result<T, ArgError> {
        self.read_flags(keyword, Flags::MANDATORY_POSITIONAL)?
            .ok_or_else(|| ArgError::missing(keyword))
    }

    /// Every occurrence of keyword argument `keyword`, in order (Click's
    /// `read_all`). Empty if there is none.
    pub fn read_all<T: FromArg>(&mut self, keyword: &str) -> Result<Vec<T>, ArgError> {
        let flags = Flags {
            first_match: true,
            ..Flags::KEYWORD
        };
        let mut all = Vec::new();
        while let Some(v) = self.read_flags(keyword, flags)? {
            all.push(v);
        }
        Ok(all)
    }

    /// Takes every argument not used so far, in order, marking them used
    /// (like Click's `consume`). For elements such as Classifier whose
    /// remaining arguments are free-form.
    pub fn rest(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for (arg, slot) in self.args.iter().zip(self.slots.iter_mut()) {
            if slot.unused() {
                out.push(arg.clone());
                *slot = Slot::UsedPositional;
            }
        }
        out
    }

    /// Checks that every argument was used (Click's `complete`). Reports the
    /// first unused keyword argument (`FOO: unknown argument`), or else
    /// `too many arguments` for unused positional ones.
    pub fn complete(&self) -> Result<(), ArgError> {
        for (arg, slot) in self.args.iter().zip(&self.slots) {
            if let Slot::Keyword(n) = *slot {
                return Err(ArgError {
                    keyword: Some(arg[..n].to_string()),
                    kind: ArgErrorKind::UnknownKeyword,
                    message: "unknown argument".to_string(),
                });
            }
        }
        if self.slots.contains(&Slot::Positional) {
            return Err(ArgError {
                keyword: None,
                kind: ArgErrorKind::TooMany,
                message: "too many arguments".to_string(),
            });
        }
        Ok(())
    }
}

/// Lets element constructors that report errors as `String` use `?` on
/// argument reads.
impl From<ArgError> for String {
    fn from(e: ArgError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Bytes, Raw};

    #[test]
    fn keyword_detection() {
        assert_eq!(split_keyword("LIMIT 5"), Some(("LIMIT", "5")));
        assert_eq!(split_keyword("STOP\ttrue"), Some(("STOP", "true")));
        assert_eq!(split_keyword("DATA \"x\""), Some(("DATA", "\"x\"")));
        assert_eq!(split_keyword("_X1:a.b?! v"), Some(("_X1:a.b?!", "v")));
        assert_eq!(
            split_keyword("src host 1.2.3.4"),
            Some(("src", "host 1.2.3.4"))
        );
        for not_kw in [
            "", "STOP", "STOP ", "5 LIMIT", "LIMIT:5", "\"A\" 1", "-A 1", "A-B 1", " A 1", "É 1",
        ] {
            assert_eq!(split_keyword(not_kw), None, "{not_kw:?}");
        }
    }

    #[test]
    fn click_doc_examples() {
        // MyElement(DATA, LIMIT positional; STOP keyword) from Click's docs.
        fn parse(conf: &str) -> Result<(Bytes, Option<u32>, Option<bool>), ArgError> {
            let mut a = Args::new(conf);
            let data = a.read_mp("DATA")?;
            let limit = a.read_p("LIMIT")?;
            let stop = a.read("STOP")?;
            a.complete()?;
            Ok((data, limit, stop))
        }
        let d = |s: &str| Bytes(s.as_bytes().to_vec());
        assert_eq!(
            parse("DATA \"blah blah\", LIMIT 10"),
            Ok((d("blah blah"), Some(10), None))
        );
        assert_eq!(
            parse("LIMIT 10, DATA \"blah blah\""),
            Ok((d("blah blah"), Some(10), None))
        );
        // Click's Args: a mandatory positional read whose keyword is absent
        // takes the next argument even if it looks like a keyword argument.
        assert_eq!(
            parse("LIMIT 10").unwrap_err().to_string(),
            "DATA: expected data string"
        );
        assert_eq!(
            parse("").unwrap_err().to_string(),
            "DATA: required argument missing"
        );
        assert_eq!(
            parse("DATA \"x\", STOP true"),
            Ok((d("x"), None, Some(true)))
        );
        assert_eq!(
            parse("DATA \"a\", LIMIT 10, DATA \"b\""),
            Ok((d("b"), Some(10), None))
        );
        assert_eq!(
            parse("DATA \"a\", LIMIT 10, BOGUS \"b\"")
                .unwrap_err()
                .to_string(),
            "BOGUS: unknown argument"
        );
        assert_eq!(parse("\"blah\", 10"), Ok((d("blah"), Some(10), None)));
        assert_eq!(
            parse("\"blah\", 10, true").unwrap_err().to_string(),
            "too many arguments"
        );
        assert_eq!(
            parse("x, LIMIT lots").unwrap_err().to_string(),
            "LIMIT: expected unsigned integer"
        );
    }

    #[test]
    fn mandatory_positional_takes_keyword_like_argument() {
        let mut a = Args::new("hello world, 5");
        let label: Raw = a.read_mp("LABEL").unwrap();
        assert_eq!(label.0, "hello world");
        assert_eq!(a.read_p::<u32>("N").unwrap(), Some(5));
        assert!(a.complete().is_ok());

        let mut a = Args::new("hello world");
        assert_eq!(a.read_p::<Raw>("LABEL").unwrap(), None);
        assert_eq!(
            a.complete().unwrap_err().to_string(),
            "hello: unknown argument"
        );
    }

    #[test]
    fn keyword_after_positional_wins_but_uses_both() {
        let mut a = Args::new("5, LIMIT 6");
        assert_eq!(a.read_p::<u32>("LIMIT").unwrap(), Some(6));
        assert!(a.complete().is_ok());
    }

    #[test]
    fn positional_order_follows_reads() {
        let mut a = Args::new("1, 2, 3");
        assert_eq!(a.read_p::<u8>("A").unwrap(), Some(1));
        assert_eq!(a.read::<u8>("X").unwrap(), None);
        assert_eq!(a.read_p::<u8>("B").unwrap(), Some(2));
        assert_eq!(a.read_mp::<u8>("C").unwrap(), 3);
        assert_eq!(a.read_p::<u8>("D").unwrap(), None);
        assert_eq!(
            a.read_mp::<u8>("E").unwrap_err().to_string(),
            "E: required argument missing"
        );
        assert!(a.complete().is_ok());
    }

    #[test]
    fn keyword_only_reads_skip_positionals() {
        let mut a = Args::new("1, B 2");
        assert_eq!(a.read::<u8>("A").unwrap(), None);
        assert_eq!(a.read_m::<u8>("B").unwrap(), 2);
        assert_eq!(a.complete().unwrap_err().kind(), ArgErrorKind::TooMany);
    }

    #[test]
    fn read_all_matches_click() {
        let mut a = Args::new("A 1, B 2, A 3, A 4   , A 5");
        assert_eq!(
            a.read_all::<Raw>("A").unwrap(),
            [
                Raw("1".into()),
                Raw("3".into()),
                Raw("4".into()),
                Raw("5".into())
            ]
        );
        assert_eq!(a.read::<i32>("B").unwrap(), Some(2));
        assert!(a.complete().is_ok());

        let mut a = Args::new("B 3");
        assert!(a.read_all::<u8>("A").unwrap().is_empty());
        assert_eq!(a.read::<i32>("B").unwrap(), Some(3));
    }

    #[test]
    fn first_match_leaves_later_occurrences() {
        let mut a = Args::new("A 1, A 2");
        let first = Flags {
            first_match: true,
            ..Flags::KEYWORD
        };
        assert_eq!(a.read_flags::<u8>("A", first).unwrap(), Some(1));
        assert_eq!(a.remaining(), ["A 2"]);
    }

    #[test]
    fn size_keyword() {
        let mut a = Args::from_vec(vec!["SIZE 123456789".to_string()]);
        assert_eq!(a.read::<usize>("SIZE").unwrap(), Some(123456789));
        assert!(a.complete().is_ok());
    }

    #[test]
    fn rest_takes_everything_unused() {
        let mut a = Args::new("12/0800, src host 1.2.3.4, MAX 3, -");
        assert_eq!(a.read::<u8>("MAX").unwrap(), Some(3));
        assert_eq!(a.rest(), ["12/0800", "src host 1.2.3.4", "-"]);
        assert!(a.complete().is_ok());
    }

    #[test]
    fn empty_config_and_empty_args() {
        let mut a = Args::new("");
        assert!(a.is_empty());
        assert_eq!(a.read_p::<u8>("A").unwrap(), None);
        assert!(a.complete().is_ok());
        let mut a = Args::new(", 5");
        assert_eq!(
            a.read_p::<u8>("A").unwrap_err().to_string(),
            "A: expected unsigned integer"
        );
    }

    #[test]
    fn custom_parsers_and_errors() {
        let mut a = Args::new("BURST 0");
        let burst = a
            .read_with("BURST", Flags::KEYWORD, |t| match u32::from_arg(t)? {
                0 => Err("must be positive".to_string()),
                n => Ok(n),
            })
            .unwrap_err();
        assert_eq!(burst.to_string(), "BURST: must be positive");
        assert_eq!(burst.keyword(), Some("BURST"));
        assert_eq!(burst.message(), "must be positive");
        assert_eq!(ArgError::invalid("X", "bad").to_string(), "X: bad");
    }

    #[test]
    fn words_and_push() {
        let mut a = Args::from_words("1 2");
        a.push("C 3");
        assert_eq!(a.len(), 3);
        assert_eq!(a.read_p::<u8>("A").unwrap(), Some(1));
        assert_eq!(a.read_p::<u8>("B").unwrap(), Some(2));
        assert_eq!(a.read::<u8>("C").unwrap(), Some(3));
        assert!(a.complete().is_ok());
    }
}
