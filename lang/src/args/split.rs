//! Splitting configuration strings into arguments and words.
//!
//! Click's lexical rules for configuration strings: comments (`/* */` and
//! `//` to end of line) are removed, double-quoted strings (with backslash
//! escapes), single-quoted strings (verbatim) and `\<hex>` data blocks are
//! opaque, and whitespace around arguments is trimmed.
//!
//! All scanning works on bytes: every delimiter is ASCII, so positions found
//! this way always fall on UTF-8 character boundaries of the input, and the
//! pieces are converted back to text without loss.

/// Whether `b` is a space character in the "C" locale (`[ \t\n\v\f\r]`).
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether a comment (`//` or `/*`) starts at `i`.
pub(crate) fn comment_at(s: &[u8], i: usize) -> bool {
    s.get(i) == Some(&b'/') && matches!(s.get(i + 1), Some(b'/') | Some(b'*'))
}

/// Skips the comment (`//` or `/* */`) starting at `i`; returns the index
/// just past it. For scanners of configuration text outside this module.
/// A `//` comment includes its terminating newline (`\n`, `\r` or `\r\n`);
/// an unterminated `/*` comment runs to the end.
pub fn skip_comment(s: &[u8], i: usize) -> usize {
    if s.get(i + 1) == Some(&b'/') {
        let mut j = i + 2;
        while j < s.len() && s[j] != b'\n' && s[j] != b'\r' {
            j += 1;
        }
        if j + 1 < s.len() && s[j] == b'\r' && s[j + 1] == b'\n' {
            j += 1;
        }
        (j + 1).min(s.len())
    } else {
        let mut j = i + 2;
        while j + 1 < s.len() {
            if s[j] == b'*' && s[j + 1] == b'/' {
                return j + 2;
            }
            j += 1;
        }
        s.len()
    }
}

/// Skips the backslash escape starting at `i` (which holds `\`).
/// `\<...>` runs to the closing `>` (comments inside are skipped, so a `>`
/// inside a comment does not close it); `\` + CRLF is one escape; any
/// other escape covers the backslash and the following character.
pub(crate) fn skip_backslash(s: &[u8], i: usize) -> usize {
    match s.get(i + 1) {
        None => i + 1,
        Some(b'<') => {
            let mut j = i + 2;
            while j < s.len() {
                if s[j] == b'>' {
                    return j + 1;
                } else if comment_at(s, j) {
                    j = skip_comment(s, j);
                } else {
                    j += 1;
                }
            }
            s.len()
        }
        Some(b'\r') if s.get(i + 2) == Some(&b'\n') => i + 3,
        Some(_) => i + 2,
    }
}

/// Skips the double-quoted string starting at `i`; returns the index just
/// past the closing quote, or the end if it is unterminated.
pub(crate) fn skip_double_quote(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j = skip_backslash(s, j),
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    s.len()
}

/// Skips the single-quoted string starting at `i` (no escapes inside).
pub(crate) fn skip_single_quote(s: &[u8], i: usize) -> usize {
    match s[i + 1..].iter().position(|&b| b == b'\'') {
        Some(p) => i + 1 + p + 1,
        None => s.len(),
    }
}

/// Skips spaces and comments from `i`; returns the first other index.
pub(crate) fn skip_comment_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        if is_space(s[i]) {
            i += 1;
        } else if comment_at(s, i) {
            i = skip_comment(s, i);
        } else {
            break;
        }
    }
    i
}

/// Skips one opaque token starting at `i` that is not a space or comment:
/// a quoted string, a `\<...>` block, or a single byte.
fn skip_token(s: &[u8], i: usize) -> usize {
    match s[i] {
        b'\'' => skip_single_quote(s, i),
        b'"' => skip_double_quote(s, i),
        b'\\' if s.get(i + 1) == Some(&b'<') => skip_backslash(s, i),
        _ => i + 1,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads one argument starting at `start`, uncommenting it as Click's
/// `partial_uncomment` does. With `stop_at_comma`, an unquoted top-level
/// comma ends the argument. Returns the argument and the index where
/// scanning stopped (the comma, or the end).
fn uncomment_from(s: &[u8], start: usize, stop_at_comma: bool) -> (Vec<u8>, usize) {
    let mut i = skip_comment_space(s, start);
    let mut out = Vec::new();
    let (mut left, mut right) = (i, i);
    let mut after_comment = false;
    let mut depth = 0usize;
    while i < s.len() {
        let b = s[i];
        if is_space(b) {
            i += 1;
        } else if comment_at(s, i) {
            i = skip_comment(s, i);
            after_comment = true;
        } else if b == b',' && stop_at_comma && depth == 0 {
            break;
        } else {
            if after_comment {
                out.extend_from_slice(&s[left..right]);
                out.push(b' ');
                left = i;
                after_comment = false;
            }
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i = skip_token(s, i);
            right = i;
        }
    }
    out.extend_from_slice(&s[left..right]);
    (out, i)
}

/// Removes comments and surrounding whitespace from `s` (Click's
/// `cp_uncomment`). Whitespace inside is kept, except that a comment and the
/// spaces around it become one space. Quoted text is left alone.
///
/// ```
/// use click_lang::args::uncomment;
/// assert_eq!(uncomment("  a /* x */   // y\n  b  "), "a b");
/// ```
pub fn uncomment(s: &str) -> String {
    text(&uncomment_from(s.as_bytes(), 0, false).0)
}

/// Splits a configuration string into arguments at top-level commas
/// (Click's `cp_argvec`).
///
/// Each argument is uncommented and trimmed. Commas inside quotes, `\<...>`
/// blocks, comments, or parentheses, brackets and braces do not split. An
/// empty configuration has zero arguments, and an empty final argument (after
/// a trailing comma) is dropped; other empty arguments are kept.
///
/// Click itself does not track bracket nesting: `a(b, c)` is two arguments
/// there and one here. Balanced brackets in Click configurations contain no
/// commas in practice, so this only matters for unusual configurations.
///
/// ```
/// use click_lang::args::split_args;
/// assert_eq!(split_args("a, \"x, y\" // c\n, f(1, 2)"), ["a", "\"x, y\"", "f(1, 2)"]);
/// assert!(split_args("").is_empty());
/// ```
pub fn split_args(config: &str) -> Vec<String> {
    let s = config.as_bytes();
    let mut args = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let (arg, end) = uncomment_from(s, pos, true);
        if !arg.is_empty() || end < s.len() {
            args.push(text(&arg));
        }
        pos = end + 1;
    }
    args
}

/// Joins arguments back into a configuration string with `", "` (Click's
/// `cp_unargvec`). Arguments are not quoted.
pub fn join_args<S: AsRef<str>>(args: &[S]) -> String {
    let parts: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
    parts.join(", ")
}

/// Finds the end of the space-separated word starting at `i`: the first
/// unquoted space or comment.
pub(crate) fn skip_word(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && !is_space(s[i]) && !comment_at(s, i) {
        i = skip_token(s, i);
    }
    i
}

/// Splits `s` into words at unquoted whitespace (Click's `cp_spacevec`).
///
/// Comments separate words and are dropped; quoted strings and `\<...>`
/// blocks stay inside their word, quotes included. Commas are ordinary
/// characters here.
///
/// ```
/// use click_lang::args::split_words;
/// assert_eq!(split_words("a  b, c"), ["a", "b,", "c"]);
/// assert_eq!(split_words("  'a /*?*/ b'c"), ["'a /*?*/ b'c"]);
/// ```
pub fn split_words(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut words = Vec::new();
    let mut i = skip_comment_space(b, 0);
    while i < b.len() {
        let end = skip_word(b, i);
        words.push(text(&b[i..end]));
        i = skip_comment_space(b, end);
    }
    words
}

/// Splits off the first word of `s` (Click's `cp_pop_spacevec`): returns
/// the word and the rest with leading spaces and comments removed.
///
/// ```
/// use click_lang::args::pop_word;
/// assert_eq!(pop_word(" LIMIT  5 6"), ("LIMIT".to_string(), "5 6".to_string()));
/// ```
pub fn pop_word(s: &str) -> (String, String) {
    let b = s.as_bytes();
    let start = skip_comment_space(b, 0);
    let end = skip_word(b, start);
    let rest = skip_comment_space(b, end);
    (text(&b[start..end]), text(&b[rest..]))
}

/// Whether `s` is a Click "word": one or more printable ASCII characters
/// (`!` to `~`) other than quotes, backslash and comma (Click's `cp_is_word`).
pub fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && !matches!(b, b'"' | b'\'' | b'\\' | b','))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncomment_matches_click() {
        assert_eq!(uncomment("  a  b  "), "a  b");
        assert_eq!(
            uncomment("  a /* whatever */   // whatever\n    b  "),
            "a b"
        );
        assert_eq!(uncomment("  \" /*???  */ \"  "), "\" /*???  */ \"");
        assert_eq!(uncomment("/* only */ // comment"), "");
    }

    #[test]
    fn argvec_matches_click() {
        assert_eq!(split_args("a, b, c"), ["a", "b", "c"]);
        assert_eq!(split_args("  a /*?*/ b,  c, "), ["a b", "c"]);
        assert_eq!(split_args("\"x, y\" // ?"), ["\"x, y\""]);
    }

    #[test]
    fn argvec_empty_and_blank_arguments() {
        assert!(split_args("").is_empty());
        assert!(split_args("   ").is_empty());
        assert!(split_args("/* nothing */").is_empty());
        assert_eq!(split_args(","), [""]);
        assert_eq!(split_args("a,,b"), ["a", "", "b"]);
        assert_eq!(split_args(", a"), ["", "a"]);
    }

    #[test]
    fn argvec_opaque_regions() {
        assert_eq!(split_args("'a, b', c"), ["'a, b'", "c"]);
        assert_eq!(split_args("\"a\\\", b\", c"), ["\"a\\\", b\"", "c"]);
        assert_eq!(split_args("\\<00, 11>, c"), ["\\<00, 11>", "c"]);
        assert_eq!(
            split_args("\\<00 /* > , */ 11>, c"),
            ["\\<00 /* > , */ 11>", "c"]
        );
        assert_eq!(split_args("a /* , */ b, c // , d\n, e"), ["a b", "c", "e"]);
    }

    #[test]
    fn argvec_nesting() {
        assert_eq!(split_args("f(a, (b, c)), d"), ["f(a, (b, c))", "d"]);
        assert_eq!(split_args("[1, 2], {3, 4}"), ["[1, 2]", "{3, 4}"]);
        assert_eq!(split_args(") a, b"), [") a", "b"]);
        assert_eq!(split_args("\"(\", b"), ["\"(\"", "b"]);
    }

    #[test]
    fn argvec_unterminated_constructs_do_not_panic() {
        assert_eq!(split_args("\"abc, d"), ["\"abc, d"]);
        assert_eq!(split_args("a /* b, c"), ["a"]);
        assert_eq!(split_args("\\<00, 11"), ["\\<00, 11"]);
        assert_eq!(split_args("a\\"), ["a\\"]);
        assert_eq!(split_args("é, ü"), ["é", "ü"]);
    }

    #[test]
    fn spacevec_matches_click() {
        assert_eq!(split_words("a  b, c"), ["a", "b,", "c"]);
        assert_eq!(split_words("  'a /*?*/ b'c"), ["'a /*?*/ b'c"]);
        assert_eq!(split_words("a/*x*/b // c"), ["a", "b"]);
        assert_eq!(
            split_words("\"x y\" \\<00 11> z"),
            ["\"x y\"", "\\<00 11>", "z"]
        );
        assert!(split_words(" /* */ ").is_empty());
    }

    #[test]
    fn pop_word_splits_first() {
        assert_eq!(pop_word(""), (String::new(), String::new()));
        assert_eq!(pop_word("a"), ("a".to_string(), String::new()));
        assert_eq!(
            pop_word("'a b' c d"),
            ("'a b'".to_string(), "c d".to_string())
        );
    }

    #[test]
    fn words() {
        assert!(is_word("abc!~"));
        assert!(!is_word(""));
        assert!(!is_word("a b"));
        assert!(!is_word("a,b"));
        assert!(!is_word("\"a\""));
        assert!(!is_word("é"));
        assert_eq!(join_args(&["a", "b"]), "a, b");
    }
}
