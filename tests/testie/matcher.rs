//! Expectation matching with clicktest's semantics.
//!
//! * `%expectv`: the output must equal the data exactly.
//! * `%expect`: trailing whitespace on lines and at the end of the file is
//!   ignored, blank lines on either side are skipped, lines matching an
//!   `%ignore*` regexp are skipped, `{{regex}}` parts are Perl regexps
//!   (`{{?text}}` is a message shown on failure, `{{~ A - B}}` and
//!   `{{~ N +- D[%]}}` match integer ranges); `-w` ignores all whitespace.
//! * `%expectx`: like `%expect`, but every line is a regexp.
//!
//! Alternatives (`-a`) are tried in order verbatim, expect, regex; any match
//! wins.

use super::format::{ClickTest, Expectation, Ignore, Mode};
use fancy_regex::Regex;

/// Marks a line removed by `%ignore` (Perl's "\377").
const IGNORED: &str = "\u{ff}";
/// End-of-file sentinel (Perl's "\376").
const EOF_MARK: &str = "\u{fe}";

/// A failed expectation, with enough detail for a useful report.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub fileref: String,
    /// 1-based line in the actual output where matching stopped.
    pub text_line: usize,
    pub expected: String,
    pub got: String,
    pub expected_at: Option<String>,
    pub message: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.fileref.as_str() {
            "stdout" => "standard output".to_string(),
            "stderr" => "standard error".to_string(),
            other => format!("file {other}"),
        };
        let show = |s: &str| {
            if s == EOF_MARK {
                "<end of file>".to_string()
            } else {
                s.replace(IGNORED, "<ignored>")
            }
        };
        if let Some(at) = &self.expected_at {
            write!(f, "{at}: ")?;
        }
        writeln!(
            f,
            "{what} has unexpected value starting at line {}",
            self.text_line
        )?;
        writeln!(
            f,
            "    expected: '{}'",
            show(&strip_messages(&self.expected))
        )?;
        write!(f, "    but got:  '{}'", show(&self.got))?;
        if let Some(m) = &self.message {
            write!(f, "\n    note: {m}")?;
        }
        Ok(())
    }
}

/// Perl's `quotemeta`, for our regex engine: escape exactly the characters
/// that are special to it. (Escaping everything non-word, as Perl does, is
/// wrong here: `\<` and `\>` are word-boundary assertions in Rust's regex.)
pub fn quotemeta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
            | '#' | '&' | '-' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Split at the first `{{` and its matching `}}` (one nesting level).
pub fn parse_double_braces(s: &str) -> Option<(&str, &str, &str)> {
    let open = s.find("{{")?;
    let mut pos = open + 2;
    let mut level = 1;
    while level > 0 {
        let rest = &s[pos..];
        let o = rest.find("{{");
        let c = rest.find("}}");
        let (at, is_open) = match (o, c) {
            (Some(o), Some(c)) if o < c => (o, true),
            (_, Some(c)) => (c, false),
            (Some(o), None) => (o, true),
            (None, None) => return None,
        };
        pos += at + 2;
        level += if is_open { 1 } else { -1 };
        if level > 2 {
            return None;
        }
    }
    Some((&s[..open], &s[open + 2..pos - 2], &s[pos..]))
}

/// A regex for the integers from `lo` to `hi` inclusive.
fn range_regex(lo: u64, hi: u64) -> String {
    let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
    if hi - lo <= 5000 {
        let alts: Vec<String> = (lo..=hi).rev().map(|n| n.to_string()).collect();
        format!("({})", alts.join("|"))
    } else {
        // Too wide to enumerate: accept numbers with a plausible digit count.
        format!("(\\d{{{},{}}})", lo.to_string().len(), hi.to_string().len())
    }
}

fn parse_int_range(middle: &str) -> Option<String> {
    let m = middle.strip_prefix('~')?.trim();
    if let Some((a, b)) = m.split_once("+-") {
        let val: u64 = a.trim().parse().ok()?;
        let b = b.trim();
        let (fuzz, pct) = match b.strip_suffix('%') {
            Some(x) => (x.trim().parse::<u64>().ok()?, true),
            None => (b.parse::<u64>().ok()?, false),
        };
        let delta = if pct { fuzz * val / 100 } else { fuzz };
        return Some(range_regex(val.saturating_sub(delta), val + delta));
    }
    let (a, b) = m.split_once('-')?;
    Some(range_regex(a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Replace `{{~ ...}}` ranges inside a regex.
pub fn expand_int_ranges(re: &str) -> String {
    let mut out = String::new();
    let mut rest = re;
    while let Some((before, middle, after)) = parse_double_braces(rest) {
        out.push_str(before);
        match parse_int_range(middle) {
            Some(r) => out.push_str(&r),
            None => {
                out.push_str("{{");
                out.push_str(middle);
                out.push_str("}}");
            }
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Remove `{{?message}}` annotations (and whitespace around them).
pub fn strip_messages(line: &str) -> String {
    let mut out = line.to_string();
    while let Some(start) = out.find("{{?") {
        let Some(end) = out[start..].find("}}") else {
            break;
        };
        let end = start + end + 2;
        let before = out[..start].trim_end().to_string();
        let after = out[end..].trim_start().to_string();
        out = before + &after;
    }
    out
}

/// Convert a line with `{{regex}}` parts to a regex. Mode 1 quotes the text
/// outside braces, mode 2 (expectx) keeps it as a regex. Returns the regex
/// and the `{{?message}}` notes found.
pub fn braces_to_regex(line: &str, mode: u8) -> (String, Option<String>) {
    let mut re = String::new();
    let mut message: Option<String> = None;
    let mut x = line.to_string();
    let q = |s: &str| {
        if mode == 1 {
            quotemeta(s)
        } else {
            s.to_string()
        }
    };
    while let Some((before, middle, after)) = parse_double_braces(&x) {
        let (before, middle, after) = (before.to_string(), middle.to_string(), after.to_string());
        if let Some(m) = middle.strip_prefix('?') {
            let m = m.trim().to_string();
            message = Some(match message {
                Some(old) => format!("{old} {m}"),
                None => m,
            });
            x = format!("{}{}", before.trim_end(), after.trim_start());
        } else if let Some(r) = parse_int_range(&middle) {
            re.push_str(&q(&before));
            re.push_str(&r);
            x = after;
        } else {
            re.push_str(&q(&before));
            re.push_str("(?:");
            re.push_str(&expand_int_ranges(&middle));
            re.push(')');
            x = after;
        }
    }
    re.push_str(&q(&x));
    (re, message)
}

fn compile(re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("bad regex /{re}/: {e}"))
}

fn full_match(re: &str, text: &str) -> Result<bool, String> {
    let r = compile(&format!("\\A{re}\\z"))?;
    r.is_match(text).map_err(|e| format!("regex /{re}/: {e}"))
}

fn strip_ws(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '\x0c' | '\r' | '\t' | '\x0b'))
        .collect()
}

/// Trim whitespace outside `{{ }}` parts (for `-w`).
fn expect_trim_whitespace(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some((before, middle, after)) = parse_double_braces(rest) {
        out.push_str(&strip_ws(before));
        out.push_str("{{");
        out.push_str(middle);
        out.push_str("}}");
        rest = after;
    }
    out.push_str(&strip_ws(rest));
    out
}

/// Apply `%ignore*` patterns: every matching line becomes the IGNORED mark.
pub fn apply_ignores(text: &str, ignores: &[&Ignore], is_stderr: bool) -> Result<String, String> {
    let mut plain: Vec<String> = Vec::new();
    let mut wpats: Vec<String> = Vec::new();
    for ig in ignores {
        for l in ig.patterns.split('\n') {
            // clicktest only uses lines with a non-blank character
            if l.trim().is_empty() {
                continue;
            }
            if ig.whitespace {
                wpats.push(l.to_string());
            } else {
                plain.push(l.to_string());
            }
        }
    }
    if is_stderr {
        plain.push("clicktest_lineno:.*".into());
        plain.push("clicktest_error:.*".into());
    }
    if plain.is_empty() && wpats.is_empty() {
        return Ok(text.to_string());
    }
    if wpats.is_empty() {
        // s/^PATTERN[ \t]*$/\377/mg over the whole text, like clicktest
        let mut t = text.to_string();
        for p in &plain {
            let r = compile(&format!("(?m)^{p}[ \\t]*$"))?;
            t = r
                .try_replacen(&t, 0, IGNORED)
                .map_err(|e| format!("regex /{p}/: {e}"))?
                .into_owned();
        }
        return Ok(t);
    }
    let plain_re: Vec<Regex> = plain
        .iter()
        .map(|p| compile(&format!("\\A{p}[ \\t]*\\z")))
        .collect::<Result<_, _>>()?;
    let w_re: Vec<Regex> = wpats
        .iter()
        .map(|p| compile(&format!("\\A{p}\\z")))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for line in text.split('\n') {
        let x = strip_ws(line);
        let mut l = line.to_string();
        for r in &plain_re {
            if r.is_match(&l).unwrap_or(false) {
                l = IGNORED.to_string();
            }
        }
        for r in &w_re {
            if r.is_match(&x).unwrap_or(false) {
                l = IGNORED.to_string();
            }
        }
        out.push(l);
    }
    Ok(out.join("\n"))
}

/// Perl's `split /\n/`: trailing empty fields are dropped.
fn perl_split_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split('\n').map(String::from).collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

fn normalize_trailing_ws(s: &str) -> String {
    // s/[ \f\r\t\013]+\n/\n/g
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line);
    }
    let mut res = String::with_capacity(out.len());
    let parts: Vec<&str> = out.split('\n').collect();
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 < n {
            res.push_str(p.trim_end_matches([' ', '\x0c', '\r', '\t', '\x0b']));
            res.push('\n');
        } else {
            res.push_str(p);
        }
    }
    res
}

fn collapse_final_blank_lines(s: &mut String) {
    // s/\n\n+\z/\n/
    if s.ends_with("\n\n") {
        let t = s.trim_end_matches('\n').len();
        s.truncate(t);
        s.push('\n');
    }
}

/// Result of comparing one alternative: Ok or where it failed.
fn check_alternative(
    raw: &str,
    exp: &Expectation,
    mode: Mode,
    ignores: &[&Ignore],
    is_stderr: bool,
    fileref: &str,
) -> Result<Option<Mismatch>, String> {
    if raw == exp.data {
        return Ok(None);
    }
    let mut text = raw.to_string();
    let mut expd = exp.data.clone();
    if mode != Mode::Verbatim {
        text = normalize_trailing_ws(&text);
        collapse_final_blank_lines(&mut text);
        if let Some(t) = text.strip_prefix('\n') {
            text = t.to_string();
        }
        expd = normalize_trailing_ws(&expd);
        collapse_final_blank_lines(&mut expd);
        if text == expd {
            return Ok(None);
        }
        text = apply_ignores(&text, ignores, is_stderr)?;
    }
    let mut tl = perl_split_lines(&text);
    tl.push(EOF_MARK.into());
    let mut el = perl_split_lines(&expd);
    el.push(EOF_MARK.into());
    let loose = mode != Mode::Verbatim;
    let (mut tp, mut ep) = (0usize, 0usize);
    let mut message = None;
    while tp < tl.len() && ep < el.len() {
        while loose && el[ep].is_empty() {
            ep += 1;
        }
        while (loose && tl[tp].is_empty()) || tl[tp] == IGNORED {
            tp += 1;
        }
        if tl[tp].starts_with("clicktest_subtest ") && tl[tp].len() > 18 {
            tp += 1;
            continue;
        }
        let (mut tline, mut eline) = (tl[tp].clone(), el[ep].clone());
        if exp.whitespace {
            tline = strip_ws(&tline);
            eline = expect_trim_whitespace(&eline);
        }
        let ok = if mode != Mode::Verbatim && eline.contains("{{") {
            let m = if mode == Mode::Expect { 1 } else { 2 };
            let (re, msg) = braces_to_regex(&eline, m);
            message = msg;
            full_match(&re, &tline)?
        } else if mode == Mode::Regex {
            full_match(&eline, &tline)?
        } else {
            tline == eline
        };
        if !ok {
            break;
        }
        tp += 1;
        ep += 1;
    }
    if tp >= tl.len() || ep >= el.len() {
        return Ok(None);
    }
    let expected_at = exp
        .first_line
        .rsplit_once(':')
        .and_then(|(f, l)| l.parse::<usize>().ok().map(|l| format!("{f}:{}", l + ep)));
    Ok(Some(Mismatch {
        fileref: fileref.to_string(),
        text_line: tp + 1,
        expected: el[ep].clone(),
        got: tl[tp].clone(),
        expected_at,
        message,
    }))
}

/// Check one expected file's actual contents against all its alternatives.
pub fn check_file(t: &ClickTest, fileref: &str, raw: &str) -> Result<(), MatchError> {
    let mut ignores: Vec<&Ignore> = Vec::new();
    for key in [fileref, "all"] {
        if let Some(v) = t.ignores.get(key) {
            ignores.extend(v.iter());
        }
    }
    let is_stderr = fileref == "stderr";
    let mut best: Option<Mismatch> = None;
    if let Some(modes) = t.expects.get(fileref) {
        for (mode, alts) in modes {
            for exp in alts {
                match check_alternative(raw, exp, *mode, &ignores, is_stderr, fileref) {
                    Ok(None) => return Ok(()),
                    Ok(Some(m)) => {
                        if best.as_ref().is_none_or(|b| m.text_line > b.text_line) {
                            best = Some(m);
                        }
                    }
                    Err(e) => return Err(MatchError::BadPattern(e)),
                }
            }
        }
    }
    Err(MatchError::Mismatch(Box::new(
        best.expect("expectation without alternatives"),
    )))
}

#[derive(Debug)]
pub enum MatchError {
    Mismatch(Box<Mismatch>),
    BadPattern(String),
}

impl std::fmt::Display for MatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchError::Mismatch(m) => m.fmt(f),
            MatchError::BadPattern(e) => write!(f, "{e}"),
        }
    }
}

/// Compile every regex a test uses (for the runner's self-check on the
/// whole corpus); returns the problems found.
pub fn check_patterns(t: &ClickTest) -> Vec<String> {
    let mut errs = Vec::new();
    for (fileref, modes) in &t.expects {
        for (mode, alts) in modes {
            for exp in alts {
                for line in exp.data.split('\n') {
                    let re = match mode {
                        Mode::Verbatim => continue,
                        Mode::Expect if !line.contains("{{") => continue,
                        Mode::Expect => braces_to_regex(line, 1).0,
                        Mode::Regex if line.contains("{{") => braces_to_regex(line, 2).0,
                        Mode::Regex => line.to_string(),
                    };
                    if let Err(e) = compile(&format!("\\A{re}\\z")) {
                        errs.push(format!("{}: %expect {fileref}: {e}", exp.first_line));
                    }
                }
            }
        }
    }
    for (fileref, igs) in &t.ignores {
        let refs: Vec<&Ignore> = igs.iter().collect();
        if let Err(e) = apply_ignores("x\n", &refs, false) {
            errs.push(format!("{}: %ignore {fileref}: {e}", t.name));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::format::parse;
    use super::*;

    fn check(src: &str, fileref: &str, out: &str) -> Result<(), MatchError> {
        let t = &parse("t", src.as_bytes())[0];
        assert!(t.diagnostics.is_empty(), "{:?}", t.diagnostics);
        check_file(t, fileref, out)
    }

    #[test]
    fn literal_text_is_quoted() {
        let lit = "c2 [1] -> Paint@ <x> a.b (c) $d ^e {f} g|h \\ #i &j ~k \t";
        let re = format!("{}{{{{\\d+}}}}", lit);
        let (re, _) = braces_to_regex(&re, 1);
        assert!(full_match(&re, &format!("{lit}12")).unwrap(), "{re}");
        assert!(!full_match(&re, &format!("{lit}x")).unwrap());
        let src = "%script\ntrue\n%expect stdout\nc2 [1] -> Paint@{{\\d+}} -> p;\n";
        assert!(check(src, "stdout", "c2 [1] -> Paint@12 -> p;\n").is_ok());
    }

    #[test]
    fn double_braces() {
        assert_eq!(parse_double_braces("a{{b}}c"), Some(("a", "b", "c")));
        assert_eq!(
            parse_double_braces("x{{m1{{m2}}m3}}y"),
            Some(("x", "m1{{m2}}m3", "y"))
        );
        assert_eq!(parse_double_braces("{{"), None);
        assert_eq!(parse_double_braces("{{ {{ {{ }} }} }}"), None);
        assert_eq!(parse_double_braces("{{}}"), Some(("", "", "")));
    }

    #[test]
    fn int_ranges() {
        assert_eq!(expand_int_ranges("{{~1-2}}"), "(2|1)");
        let (re, _) = braces_to_regex("n={{~ 100 +- 5%}}", 1);
        assert!(full_match(&re, "n=104").unwrap());
        assert!(!full_match(&re, "n=106").unwrap());
    }

    #[test]
    fn regex_wildcards() {
        let src = "%script\ntrue\n%expect stdout\nfoo {{\\d+}} bar.\n{{?a note}}x{{(?!10,)\\d+}}\n";
        assert!(check(src, "stdout", "foo 12 bar.\nx9\n").is_ok());
        // '.' outside braces is literal
        assert!(check(src, "stdout", "foo 12 barX\nx9\n").is_err());
        // negative lookahead works
        assert!(check(src, "stdout", "foo 1 bar.\nx10,\n").is_err());
        match check(src, "stdout", "foo 1 bar.\ny\n") {
            Err(MatchError::Mismatch(m)) => {
                assert_eq!(m.text_line, 2);
                assert_eq!(m.message.as_deref(), Some("a note"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whitespace_and_blank_lines() {
        let src = "%script\ntrue\n%expect stdout\na\n\nb\n";
        assert!(check(src, "stdout", "\na   \n\n\n\nb\n\n\n").is_ok());
        assert!(check(src, "stdout", "a\nb\n").is_ok());
        assert!(check(src, "stdout", "a\nb\nc\n").is_err());
        assert!(check(src, "stdout", "a\n").is_err());
        let w = "%script\ntrue\n%expect -w stdout\na b  {{\\d+}} x\n";
        assert!(check(w, "stdout", "ab 7 x\n").is_ok());
        assert!(check(w, "stdout", "a   b7x\n").is_ok());
        assert!(check(w, "stdout", "ac7x\n").is_err());
        // whitespace inside a regex part is kept
        let w2 = "%script\ntrue\n%expect -w stdout\n{{\\d+ x}}\n";
        assert!(check(w2, "stdout", "7x\n").is_err());
    }

    #[test]
    fn verbatim_is_exact() {
        let src = "%script\ntrue\n%expectv stdout\na\n";
        assert!(check(src, "stdout", "a\n").is_ok());
        assert!(check(src, "stdout", "a \n").is_err());
    }

    #[test]
    fn ignores() {
        let src = "%script\ntrue\n%expect stderr\nreal\n%ignorex\n#.*\n%ignore stderr\nwarn {{\\d+}}: x.y\n";
        assert!(check(src, "stderr", "# comment\nreal\nwarn 12: x.y\n").is_ok());
        // clicktest's own markers in stderr are always ignored
        assert!(check(src, "stderr", "\nclicktest_lineno:t:3\nreal\n").is_ok());
        // the %ignore line's '.' is literal
        assert!(check(src, "stderr", "real\nwarn 12: xzy\n").is_err());
        let ws = "%script\ntrue\n%expect OUT\nz\n%ignorex -w OUT\na b\n";
        assert!(check(ws, "OUT", "a  b\nz\n").is_ok());
    }

    #[test]
    fn expectx_and_alternates() {
        let src = "%script\ntrue\n%expectx -i OUT\nab+c\n%expect -a OUT\nq\n%expect -a OUT\nr\n";
        assert!(check(src, "OUT", "ABBC\n").is_ok());
        assert!(check(src, "OUT", "r\n").is_ok());
        assert!(check(src, "OUT", "s\n").is_err());
    }
}
