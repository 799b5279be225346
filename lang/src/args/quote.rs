//! Click's quoting: removing one level of quotes, and quoting for output.
//!
//! * `"..."`: double quotes; backslash escapes inside are expanded
//!   (`\n \t \r \a \b \f \v`, `\\ \" \' \$ \,`, octal `\NNN`, `\xHH`,
//!   `\<hex>` and backslash-newline as a line continuation).
//! * `'...'`: single quotes; the contents are taken verbatim.
//! * `\<48 65 /* comment */ 6c>`: hexadecimal data, allowed inside and
//!   outside double quotes; spaces and comments inside are ignored.
//!
//! Outside quotes, other backslashes are kept as they are.

use super::split::{comment_at, skip_comment, uncomment};

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Expands the backslash escape at `s[i]` (a `\`), appending the bytes it
/// stands for to `out`. Returns the index just past the escape.
fn expand_backslash(s: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let Some(&c) = s.get(i + 1) else {
        out.push(b'\\');
        return s.len();
    };
    match c {
        b'\r' => i + if s.get(i + 2) == Some(&b'\n') { 3 } else { 2 },
        b'\n' => i + 2,
        b'a' => push(out, 0x07, i + 2),
        b'b' => push(out, 0x08, i + 2),
        b'f' => push(out, 0x0c, i + 2),
        b'n' => push(out, b'\n', i + 2),
        b'r' => push(out, b'\r', i + 2),
        b't' => push(out, b'\t', i + 2),
        b'v' => push(out, 0x0b, i + 2),
        b'0'..=b'7' => expand_octal(s, i + 1, out),
        b'x' => expand_hex_char(s, i + 2, out),
        b'<' => expand_hex_block(s, i + 2, out),
        _ => push(out, c, i + 2),
    }
}

fn push(out: &mut Vec<u8>, b: u8, next: usize) -> usize {
    out.push(b);
    next
}

/// Up to three octal digits; the value is truncated to a byte as in Click.
fn expand_octal(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    let mut v = 0u32;
    let start = i;
    while i < s.len() && i - start < 3 && (b'0'..=b'7').contains(&s[i]) {
        v = v * 8 + u32::from(s[i] - b'0');
        i += 1;
    }
    out.push(v as u8);
    i
}

/// `\x` followed by any number of hex digits; the low byte of the value.
fn expand_hex_char(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    let mut v = 0u8;
    while let Some(d) = s.get(i).and_then(|&b| hex_value(b)) {
        v = v.wrapping_mul(16).wrapping_add(d);
        i += 1;
    }
    out.push(v);
    i
}

/// The body of `\<...>`: pairs of hex digits become bytes; spaces,
/// comments and other characters are skipped; `>` ends it.
fn expand_hex_block(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    let mut pending: Option<u8> = None;
    while i < s.len() {
        if s[i] == b'>' {
            return i + 1;
        } else if comment_at(s, i) {
            i = skip_comment(s, i);
            continue;
        } else if let Some(d) = hex_value(s[i]) {
            match pending.take() {
                Some(hi) => out.push(hi * 16 + d),
                None => pending = Some(d),
            }
        }
        i += 1;
    }
    s.len()
}

/// Removes one level of quoting from `s`, producing raw bytes (Click's
/// `cp_unquote`). Comments outside quotes are removed first and the
/// result is trimmed, as by [`uncomment`](super::uncomment).
///
/// ```
/// use click_lang::args::unquote_bytes;
/// assert_eq!(unquote_bytes("\\<48656c6C 6f 2 /* ! */ 1>"), b"Hello!");
/// assert_eq!(unquote_bytes("\"\\xff\\0\""), [0xff, 0]);
/// ```
pub fn unquote_bytes(s: &str) -> Vec<u8> {
    let text = uncomment(s);
    let s = text.as_bytes();
    let mut out = Vec::with_capacity(s.len());
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (Some(b'"'), b'\\') | (None, b'\\') if i + 1 < s.len() => {
                if quote.is_some() || s[i + 1] == b'<' {
                    i = expand_backslash(s, i, &mut out);
                    continue;
                }
                out.push(b);
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// Removes one level of quoting from `s` (Click's `cp_unquote`), as text.
/// Bytes that are not valid UTF-8 (say, from `\xff`) become U+FFFD; use
/// [`unquote_bytes`] for binary data.
///
/// ```
/// use click_lang::args::unquote;
/// assert_eq!(unquote("\"\\n\" abc /* 123 */ '/* def */'"), "\n abc /* def */");
/// ```
pub fn unquote(s: &str) -> String {
    String::from_utf8_lossy(&unquote_bytes(s)).into_owned()
}

/// Quotes `s` so that [`unquote`] gives it back (Click's `cp_quote`): the
/// result is always one double-quoted string, `""` for the empty string.
///
/// ```
/// use click_lang::args::{quote, unquote};
/// assert_eq!(quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
/// assert_eq!(unquote(&quote("tab\there")), "tab\there");
/// ```
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// Quotes binary data like [`quote`]: `\`, `"` and `$` are escaped, tab,
/// CR and newline use C escapes, and other control or non-ASCII bytes
/// become three-digit octal escapes.
pub fn quote_bytes(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + 2);
    out.push('"');
    for &b in data {
        match b {
            b'\\' | b'"' | b'$' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            32..=126 => out.push(b as char),
            _ => {
                // `\ooo`, written digit by digit: no allocation per byte.
                out.push('\\');
                for shift in [6, 3, 0] {
                    out.push(char::from(b'0' + ((b >> shift) & 7)));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_matches_click() {
        assert_eq!(
            unquote("\"\\n\" abc /* 123 */ '/* def */'"),
            "\n abc /* def */"
        );
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(unquote(r#""a\tb\\c\"d\$e\,f""#), "a\tb\\c\"d$e,f");
        assert_eq!(unquote_bytes(r#""\a\b\f\v\r""#), [7, 8, 12, 11, 13]);
        assert_eq!(unquote_bytes(r#""\101\1012\7""#), b"AA2\x07");
        assert_eq!(unquote_bytes(r#""\777""#), [0o777u32 as u8]);
        assert_eq!(unquote_bytes(r#""\x41\x4a2z""#), [0x41, 0xa2, b'z']);
        assert_eq!(unquote_bytes(r#""\x""#), [0]);
        assert_eq!(unquote("\"a\\\nb\""), "ab");
        assert_eq!(unquote("\"a\\\r\nb\""), "ab");
    }

    #[test]
    fn single_quotes_are_verbatim() {
        assert_eq!(unquote(r"'a\nb'"), r"a\nb");
        assert_eq!(unquote(r#"'"'"#), "\"");
        assert_eq!(unquote(r#""'""#), "'");
    }

    #[test]
    fn hex_blocks() {
        assert_eq!(
            unquote_bytes("\\<48656c6C 6f 2 /* And finally */ 1>"),
            b"Hello!"
        );
        assert_eq!(
            unquote_bytes("\\<00 11 // > not the end\n 22>"),
            [0, 0x11, 0x22]
        );
        assert_eq!(unquote_bytes("x\\<41>y"), b"xAy");
        assert_eq!(unquote_bytes("\"a\\<42>c\""), b"aBc");
        assert_eq!(unquote_bytes("\\<4>"), b"");
        assert_eq!(unquote_bytes("\\<41 4"), b"A");
    }

    #[test]
    fn backslash_outside_quotes_is_literal() {
        assert_eq!(unquote(r"a\nb"), r"a\nb");
        assert_eq!(unquote("a\\"), "a\\");
        assert_eq!(unquote("\"a\\"), "a\\");
    }

    #[test]
    fn unterminated_quotes() {
        assert_eq!(unquote("\"abc"), "abc");
        assert_eq!(unquote("'abc"), "abc");
    }

    #[test]
    fn non_ascii_passes_through() {
        assert_eq!(unquote("\"é\\é\" 'ü'"), "éé ü");
    }

    #[test]
    fn quote_round_trips() {
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a$b"), "\"a\\$b\"");
        assert_eq!(quote_bytes(&[0, 0xff]), "\"\\000\\377\"");
        for s in ["", "plain", "a \"q\" \\ $ \t\r\n", "/* c */ // d", "é"] {
            assert_eq!(unquote(&quote(s)), s);
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unquote_bytes(&quote_bytes(&all)), all);
    }
}
