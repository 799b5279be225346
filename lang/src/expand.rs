//! Variable substitution and the small pieces of Click's argument splitting
//! the flattener needs (compound arguments, `define`, `require`).
//!
//! These follow Click's `cp_expand` (with `VariableEnvironment::expand`) and `cp_assign_arguments`; splitting
//! (`cp_argvec`, `cp_spacevec`) is [`crate::args`]'s, the same elements use.

use std::cell::Cell;

use crate::args::split;

/// A stack of variable frames, innermost last (Click's VariableEnvironment).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub frames: Vec<Vec<(String, String)>>,
}

impl Env {
    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()))
    }

    /// The environment a compound defined `depth` frames deep starts from:
    /// lexical scoping of formals.
    pub fn prefix(&self, depth: usize) -> Env {
        Env {
            frames: self.frames[..depth.min(self.frames.len())].to_vec(),
        }
    }
}

/// How deep substitutions may nest: Click's `cp_expand` stops expanding
/// past depth 10 (values are expanded in turn, so `define($A $A)` ends).
const MAX_DEPTH: usize = 10;

/// Substitutes variables in `config` as Click's `cp_expand` does, with
/// Click's `VariableEnvironment::expand` for each reference:
///
/// * `$x`, `${x}`: x's value, itself expanded (so `define($GW $DEV:gw)`
///   gives `eth0:gw`); unknown variables are left as written.
/// * `${x-default}`: x's value, or the (expanded) default if x is unknown.
/// * `${x[i]}`: the i-th space-separated word of x's value, empty past the
///   end; `${x[i]-default}` combines both. Inside the braces, spaces around
///   the name and index are allowed, and anything else after the name is
///   ignored (`${x.y}` is x). `$` inside the braces is expanded first.
/// * `$(...)`, `$?`, `$#`, `$$` are Click's Script syntax and name no
///   variable (but, as in Click, `$(x)` is looked up like `$x`); they are
///   left as written, with variables inside `$(...)` substituted.
///
/// Nothing is substituted inside single quotes or comments; inside double
/// quotes a value is quoted as Click's `cp_quote` does (`"`, `\`, `$` and
/// control characters escaped). A `${` or `$(` left open stops substitution
/// for the rest of the string. And as in Click, if everything substituted
/// so far is empty when the string ends (`$E` or `$E x` with `$E` empty),
/// the string is left exactly as written.
#[cfg(test)]
pub fn expand(config: &str, env: &Env) -> String {
    expand_within(config, env, &Budget::new())
}

/// [`expand`], drawing on `budget`, which a whole configuration's
/// substitutions share.
pub fn expand_within(config: &str, env: &Env, budget: &Budget) -> String {
    expand_at(
        config,
        &Ctx {
            env,
            budget: &budget.0,
        },
        0,
    )
}

/// Values can refer to each other (`define($A $B$B, $B $C$C, ...)`), so
/// substitution can take time exponential in the depth, as in Click. A
/// budget bounds the work (bytes substituted, plus one per reference);
/// a reference whose value would not fit in what is left, and every one
/// after it, is left as written. One budget serves a
/// whole configuration, so that many elements each spending a large one
/// cannot add up to seconds.
pub struct Budget(Cell<usize>);

impl Budget {
    /// A configuration's budget: far beyond what real configurations
    /// substitute (Click's largest shipped ones, a few kilobytes).
    pub fn new() -> Budget {
        Budget(Cell::new(BUDGET))
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

const BUDGET: usize = 1 << 22;

struct Ctx<'a> {
    env: &'a Env,
    budget: &'a Cell<usize>,
}

fn expand_at(config: &str, ctx: &Ctx, depth: usize) -> String {
    if !config.contains('$') {
        return config.to_string();
    }
    let b = config.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut quote = 0u8;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' && i + 1 < b.len() => i += 1,
            q @ (b'\'' | b'"') if quote == 0 => quote = q,
            q @ (b'\'' | b'"') if quote == q => quote = 0,
            b'/' if quote == 0 && split::comment_at(b, i) => {
                i = split::skip_comment_space(b, i);
                continue;
            }
            b'$' if i + 1 < b.len()
                && quote != b'\''
                && depth <= MAX_DEPTH
                && ctx.budget.get() > 0 =>
            {
                let r = match reference_at(config, i) {
                    Scan::Reference(r) => r,
                    Scan::NotOne => {
                        i += 1;
                        continue;
                    }
                    Scan::Unclosed => break,
                };
                out.push_str(&config[copied..i]);
                copied = r.end;
                let name = if r.nested {
                    expand_at(r.name, ctx, depth + 1)
                } else {
                    r.name.to_string()
                };
                let value = lookup(&name, r.form, ctx, depth);
                // Charge what is inserted: inside double quotes a value
                // grows as it is quoted (a byte can become a four-byte
                // escape), and nested quoting would multiply that at each
                // level if only the value were charged.
                let value = match value {
                    Some(value) if quote == b'"' => {
                        let quoted = crate::args::quote(&value);
                        Some(quoted[1..quoted.len() - 1].to_string())
                    }
                    other => other,
                };
                let inserted = match (&value, r.nested) {
                    (Some(value), _) => value.len(),
                    (None, true) => name.len(),
                    (None, false) => 0,
                };
                let left = ctx.budget.get();
                if inserted >= left {
                    // The budget is spent: this reference, and every one
                    // after it, stays as written. Checking before inserting
                    // bounds each level's text by what is left, not only
                    // the next look-ups.
                    ctx.budget.set(0);
                    out.push_str(&config[copied..r.end]);
                    copied = r.end;
                    i = r.end;
                    continue;
                }
                ctx.budget.set(left - inserted - 1);
                match value {
                    Some(value) => out.push_str(&value),
                    // `${a$n}` with nothing found keeps its expanded name.
                    None if r.nested => {
                        out.push_str(&config[i..i + 2]);
                        out.push_str(&name);
                        out.push_str(&config[r.end - 1..r.end]);
                    }
                    None => copied = i,
                }
                i = r.end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if out.is_empty() {
        // Click's quirk, kept: nothing but empty substitutions so far means
        // "nothing substituted".
        return config.to_string();
    }
    out.push_str(&config[copied..]);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `$name`, `$?`, `$#`, `$$`.
    Plain,
    /// `${...}`.
    Braced,
    /// `$(...)`.
    Paren,
}

struct Reference<'a> {
    form: Form,
    /// The text naming the variable (inside the braces or parentheses).
    name: &'a str,
    /// The name holds a `$` and is expanded before the look-up.
    nested: bool,
    /// Just past the reference.
    end: usize,
}

enum Scan<'a> {
    Reference(Reference<'a>),
    /// A `$` starting no reference, like `$ ` or `$-`.
    NotOne,
    /// `${` or `$(` without its closer.
    Unclosed,
}

/// The reference starting with the `$` at `i` (followed by something).
fn reference_at(s: &str, i: usize) -> Scan<'_> {
    let b = s.as_bytes();
    let reference = |form, start: usize, name_end: usize, end: usize| {
        let name = &s[start..name_end];
        Scan::Reference(Reference {
            form,
            name,
            nested: form != Form::Plain && name.contains('$'),
            end,
        })
    };
    match b[i + 1] {
        b'{' => match s[i + 2..].find('}') {
            Some(p) => reference(Form::Braced, i + 2, i + 2 + p, i + 3 + p),
            None => Scan::Unclosed,
        },
        b'(' => {
            // Click's scan: parentheses nest outside quotes; backslashes
            // escape outside single quotes.
            let start = i + 2;
            let (mut j, mut level, mut quote) = (start, 1, 0u8);
            while j < b.len() && level > 0 {
                match b[j] {
                    b'(' if quote == 0 => level += 1,
                    b')' if quote == 0 => level -= 1,
                    q @ (b'"' | b'\'') if quote == 0 => quote = q,
                    q @ (b'"' | b'\'') if quote == q => quote = 0,
                    b'\\' if j + 1 < b.len() && quote != b'\'' => j += 1,
                    _ => {}
                }
                j += 1;
            }
            if j == start || b[j - 1] != b')' {
                Scan::Unclosed
            } else {
                reference(Form::Paren, start, j - 1, j)
            }
        }
        c if c.is_ascii_alphanumeric() || c == b'_' => {
            let len = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            reference(Form::Plain, i + 1, i + 1 + len, i + 1 + len)
        }
        b'?' | b'#' | b'$' => reference(Form::Plain, i + 1, i + 2, i + 2),
        _ => Scan::NotOne,
    }
}

/// The value a reference stands for (Click's `VariableEnvironment::expand`),
/// or `None` to leave it as written.
fn lookup(text: &str, form: Form, ctx: &Ctx, depth: usize) -> Option<String> {
    let mut name = text;
    let mut index = None;
    let mut default = None;
    if form == Form::Braced {
        let b = text.as_bytes();
        let mut k = skip_space(b, 0);
        let start = k;
        while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_') {
            k += 1;
        }
        name = &text[start..k];
        k = skip_space(b, k);
        if b.get(k) == Some(&b'[') {
            let digits = skip_space(b, k + 1);
            match int_prefix(b, digits) {
                Some((end, n)) if end < b.len() && b[end] == b']' => {
                    index = usize::try_from(n).ok();
                    k = skip_space(b, end + 1);
                }
                Some((end, _)) => k = end,
                None => k = digits,
            }
        }
        if b.get(k) == Some(&b'-') {
            default = Some(&text[k + 1..]);
        }
    }
    match ctx.env.lookup(name) {
        Some(value) => {
            let value = expand_at(value, ctx, depth + 1);
            Some(match index {
                Some(n) => nth_word(value, n),
                None => value,
            })
        }
        None => default.map(|d| expand_at(d, ctx, depth + 1)),
    }
}

/// The `n`-th word of `value` (from 0) as Click's `cp_shift_spacevec`
/// loop picks it: empty past the end.
fn nth_word(mut value: String, n: usize) -> String {
    let mut word = String::new();
    for _ in 0..=n {
        if value.is_empty() && word.is_empty() {
            break;
        }
        (word, value) = crate::args::pop_word(&value);
    }
    word
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && split::is_space(b[i]) {
        i += 1;
    }
    i
}

/// The integer at the start of `b[i..]` as Click's `cp_integer` (base 0)
/// reads it: an optional sign, `0x` hex, `0b` binary, leading-`0` octal or
/// decimal, `_` between digits. Returns where it ends and its value
/// (saturated), or `None` if no digits start there.
fn int_prefix(b: &[u8], i: usize) -> Option<(usize, i64)> {
    let mut s = i;
    let negative = b.get(s) == Some(&b'-');
    if matches!(b.get(s), Some(b'-' | b'+')) {
        s += 1;
    }
    let prefixed = |c: u8| s + 2 < b.len() && b[s] == b'0' && b[s + 1].eq_ignore_ascii_case(&c);
    let (base, first) = if prefixed(b'x') {
        (16, s + 2)
    } else if prefixed(b'b') {
        (2, s + 2)
    } else if b.get(s) == Some(&b'0') {
        (8, s)
    } else {
        (10, s)
    };
    let mut value: i64 = 0;
    let mut last_digit = None;
    let mut k = first;
    while k < b.len() {
        if b[k] == b'_' && last_digit == Some(k) {
            k += 1;
            continue;
        }
        match (b[k] as char).to_digit(base) {
            Some(d) => {
                value = value.saturating_mul(base.into()).saturating_add(d.into());
                last_digit = Some(k + 1);
            }
            None => break,
        }
        k += 1;
    }
    let value = if negative { -value } else { value };
    match last_digit {
        Some(end) => Some((end, value)),
        // `0x!` reads as the `0` before the `x`.
        None if first > i + 1 => Some((first - 1, 0)),
        None => None,
    }
}

/// Assigns compound arguments to formals (Click's `cp_assign_arguments`).
/// `formals` holds each formal's keyword: empty for positional,
/// `__REST__` for the rest. Returns the values in formal order, or `None`
/// when the arguments do not fit.
pub fn assign_arguments(args: &[String], formals: &[String]) -> Option<Vec<String>> {
    if formals.last().is_none_or(|k| k.is_empty()) {
        return (args.len() == formals.len()).then(|| args.to_vec());
    }
    let npositional = formals.iter().take_while(|k| k.is_empty()).count();
    if args.len() < npositional {
        return None;
    }
    let mut values = vec![String::new(); formals.len()];
    values[..npositional].clone_from_slice(&args[..npositional]);
    let rest = formals.iter().position(|k| k == "__REST__");
    let mut supplied = vec![false; formals.len()];
    let mut rest_args = Vec::new();
    for arg in &args[npositional..] {
        let (keyword, value) = match arg.find(|c: char| c.is_ascii_whitespace()) {
            Some(p) => (&arg[..p], arg[p..].trim_start()),
            None => (arg.as_str(), ""),
        };
        let slot = formals[npositional..]
            .iter()
            .position(|k| k == keyword && k != "__REST__");
        match (slot, rest) {
            (Some(k), _) => {
                values[npositional + k] = value.to_string();
                supplied[npositional + k] = true;
            }
            (None, Some(_)) => rest_args.push(arg.as_str()),
            (None, None) => return None,
        }
    }
    // Keyword parameters are mandatory (doc/click.5: `{ COUNT $count | ... }
    // (1)` is an error), as cp_assign_arguments makes them.
    let missing = (npositional..formals.len()).any(|k| Some(k) != rest && !supplied[k]);
    if missing {
        return None;
    }
    if let Some(r) = rest {
        values[r] = rest_args.join(", ");
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env {
            frames: vec![vars
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()],
        }
    }

    #[test]
    fn substitutes_variables() {
        let e = env(&[("a", "A B C"), ("n", "2"), ("q", "x\"y")]);
        assert_eq!(expand("$a", &e), "A B C");
        assert_eq!(expand("${a[0]}-${a[$n]}-${a[3]}", &e), "A-C-");
        assert_eq!(expand("'$a' $zz ${zz-def}", &e), "'$a' $zz def");
        assert_eq!(expand("\"$q\"", &e), "\"x\\\"y\"");
        assert_eq!(expand("$", &e), "$");
    }

    #[test]
    fn values_referring_to_themselves_end() {
        // Click stops substituting past depth 10.
        assert_eq!(expand("$a", &env(&[("a", "$a")])), "$a");
        assert_eq!(
            expand("<$a>", &env(&[("a", "($a)")])),
            format!("<{}$a{}>", "(".repeat(11), ")".repeat(11))
        );
        // Eight references per level would be 8^11 look-ups: the budget
        // stops it.
        let e = env(&[("a", "$a$a$a$a$a$a$a$a")]);
        let start = std::time::Instant::now();
        let out = expand("$a", &e);
        assert!(
            out.starts_with("$a") && out.len() <= BUDGET,
            "{}",
            out.len()
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn the_budget_bounds_the_text_not_only_the_look_ups() {
        // Found by fuzzing: a 5 KB value referring to itself 60 times.
        // Charged only after each look-up returned, every level kept the
        // text its first reference built: 87 MB, and 260 MB of memory.
        let value = format!("{}{}", "x".repeat(5000), "$a ".repeat(60));
        let e = env(&[("a", &value)]);
        let out = expand("$a", &e);
        assert!(out.len() <= BUDGET + value.len(), "{} bytes", out.len());
    }

    #[test]
    fn assigns_compound_arguments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(assign_arguments(&s(&["A"]), &s(&["", ""])), None);
        assert_eq!(
            assign_arguments(&s(&["A"]), &s(&["", "__REST__"])),
            Some(s(&["A", ""]))
        );
        assert_eq!(
            assign_arguments(&s(&["A", "TWO B", "C"]), &s(&["", "TWO", "__REST__"])),
            Some(s(&["A", "B", "C"]))
        );
        assert_eq!(assign_arguments(&s(&["A", "X B"]), &s(&["", "TWO"])), None);
        // A keyword parameter must be given.
        assert_eq!(assign_arguments(&s(&["A"]), &s(&["", "TWO"])), None);
        assert_eq!(
            assign_arguments(&s(&["A"]), &s(&["", "TWO", "__REST__"])),
            None
        );
    }
}
