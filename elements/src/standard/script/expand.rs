//! Click's variable expansion (`cp_expand`): `$VAR`, `${VAR}` and
//! `$(HANDLER ARGS)`, outside single quotes, with comments skipped.
//!
//! The scanner only finds the references; looking them up is the
//! caller's `lookup(name, kind)`, which returns `None` to leave the
//! reference as written. All delimiters are ASCII, so every slice falls on
//! a character boundary.

/// How a reference was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// `$x`, `$1`, `$?`, `$#`, `$$`.
    Plain,
    /// `${x}`.
    Braced,
    /// `$(...)`: a variable or a read handler call.
    Paren,
}

/// Expands `text`, calling `lookup` for each reference. Values expanded
/// inside double quotes get `\` and `"` escaped so the quoting survives.
/// With `quote_values`, values outside quotes are quoted too (Click's
/// `expand_quote`). `depth` bounds the recursion into `$(...)`.
pub(crate) fn expand(
    text: &str,
    depth: usize,
    quote_values: bool,
    lookup: &mut dyn FnMut(&str, RefKind) -> Option<String>,
) -> String {
    if !text.contains('$') || depth > 32 {
        return text.to_string();
    }
    let s = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut quote = 0u8;
    let (mut i, mut last) = (0, 0);
    while i < s.len() {
        let c = s[i];
        if c == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if quote == 0 && (c == b'\'' || c == b'"') {
            quote = c;
        } else if quote != 0 && c == quote {
            quote = 0;
        } else if quote == 0 && c == b'/' && matches!(s.get(i + 1), Some(b'/' | b'*')) {
            i = click_engine::args::skip_comment(s, i);
            continue;
        } else if c == b'$' && quote != b'\'' {
            let Some((name, kind, end)) = reference(text, i, depth, lookup) else {
                i += 1;
                continue;
            };
            out.push_str(&text[last..i]);
            match lookup(&name, kind) {
                Some(v) if quote == b'"' => out.push_str(&escape_in_double_quotes(&v)),
                Some(v) if quote_values => out.push_str(&click_engine::args::quote(&v)),
                Some(v) => out.push_str(&v),
                None => out.push_str(&text[i..end]),
            }
            i = end;
            last = end;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[last.min(text.len())..]);
    out
}

/// Parses the reference whose `$` is at `i`: its name (a `$(...)` body
/// already expanded), kind, and the index just past it.
fn reference(
    text: &str,
    i: usize,
    depth: usize,
    lookup: &mut dyn FnMut(&str, RefKind) -> Option<String>,
) -> Option<(String, RefKind, usize)> {
    let s = text.as_bytes();
    match *s.get(i + 1)? {
        b'{' => {
            let close = i + 2 + s[i + 2..].iter().position(|&b| b == b'}')?;
            Some((text[i + 2..close].to_string(), RefKind::Braced, close + 1))
        }
        b'(' => {
            let close = matching_paren(s, i + 2)?;
            let inner = expand(&text[i + 2..close], depth + 1, false, lookup);
            Some((inner, RefKind::Paren, close + 1))
        }
        c if c.is_ascii_alphanumeric() || c == b'_' => {
            let mut j = i + 1;
            while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'_') {
                j += 1;
            }
            Some((text[i + 1..j].to_string(), RefKind::Plain, j))
        }
        b'?' | b'#' | b'$' => Some((text[i + 1..i + 2].to_string(), RefKind::Plain, i + 2)),
        _ => None,
    }
}

/// The index of the `)` closing a `$(` whose body starts at `i`, skipping
/// nested parentheses and quoted strings.
fn matching_paren(s: &[u8], mut i: usize) -> Option<usize> {
    let mut level = 1;
    let mut quote = 0u8;
    while i < s.len() {
        let c = s[i];
        if quote == b'"' && c == b'\\' {
            i += 2;
            continue;
        }
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b'(' {
            level += 1;
        } else if c == b')' {
            level -= 1;
            if level == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

fn escape_in_double_quotes(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        expand(text, 0, false, &mut |name, kind| match (name, kind) {
            ("x", _) => Some("5".into()),
            (n, RefKind::Paren) if n.starts_with("add ") => Some(format!("<{n}>")),
            _ => None,
        })
    }

    #[test]
    fn expands_variables_and_handlers() {
        assert_eq!(run("a $x ${x} $(x) b"), "a 5 5 5 b");
        assert_eq!(run("$(add $x 1)"), "<add 5 1>");
        assert_eq!(run("'$x' \"$x\" $y $"), "'$x' \"5\" $y $");
        assert_eq!(run("$(add (1) \")\")"), "<add (1) \")\">");
        assert_eq!(run("/* $x */ $x"), "/* $x */ 5");
    }

    #[test]
    fn never_panics_on_broken_text() {
        for t in [
            "$",
            "$(",
            "${",
            "$(()",
            "\"\\",
            "é$xé",
            "$(add \"é)",
            "/*",
            "//$x",
        ] {
            let _ = run(t);
        }
    }
}
