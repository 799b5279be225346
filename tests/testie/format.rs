//! Parser for Click's testie / clicktest file format.
//!
//! Our own implementation of the format described in the manual of Click's
//! `test/clicktest` (and its predecessor `test/testie`): sections start with
//! a line `%name args`, the text of a section runs to the next line that
//! starts with `%` (a leading `\%` is unescaped to `%`).
//!
//! Sections: `%script`/`%test`, `%require [-q]`, `%info`/`%desc`, `%cut`,
//! `%file`/`%stdin`/`%input`, `%expect`/`%stdout`/`%output`/`%stderr`,
//! `%expectx`, `%expectv`/`%expect_verbatim`/`%verbatim`, `%ignore`,
//! `%ignorex`, `%ignorev`, `%eot` (another test follows in the same file) and
//! `%eof` (the rest is ignored). File sections take flags `-a` (alternate),
//! `-d` (drop first character of every line), `-i` (case-insensitive
//! regexps), `-w` (ignore whitespace inside lines), `-e` (base64 data) and
//! `+LENGTH` (the data is exactly LENGTH bytes).

use std::collections::BTreeMap;

/// Comparison mode of an expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// `%expectv`: byte-for-byte.
    Verbatim,
    /// `%expect`: line by line, `{{regex}}` wildcards, whitespace-tolerant.
    Expect,
    /// `%expectx`: every line is a regex.
    Regex,
}

/// One alternative of an expected output file.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub data: String,
    pub whitespace: bool,
    /// `file:line` of the first data line, for error messages.
    pub first_line: String,
}

/// One `%ignore*` section's regexps for a file (or `all`).
#[derive(Clone, Debug)]
pub struct Ignore {
    /// Regexps (Perl syntax), one a line.
    pub patterns: String,
    pub whitespace: bool,
}

/// A parsed command of a `%script` or `%require` section.
#[derive(Clone, Debug)]
pub struct Command {
    pub text: String,
    /// `file:line` where the command starts.
    pub line: String,
}

#[derive(Clone, Debug, Default)]
pub struct ClickTest {
    pub name: String,
    pub info: String,
    pub script: Vec<Command>,
    pub require: Vec<Command>,
    pub require_quiet: bool,
    /// `%file` sections, in order: (fileref, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// Expected outputs by fileref; each entry lists alternatives per mode.
    pub expects: BTreeMap<String, BTreeMap<Mode, Vec<Expectation>>>,
    /// Order in which expected files were first named.
    pub expect_order: Vec<String>,
    /// `%ignore*` sections by fileref (`all` applies to every file).
    pub ignores: BTreeMap<String, Vec<Ignore>>,
    /// Problems found while parsing (clicktest reports them as errors too).
    pub diagnostics: Vec<String>,
}

impl ClickTest {
    pub fn has_file(&self, fileref: &str) -> bool {
        self.files.iter().any(|(f, _)| f == fileref) || self.expects.contains_key(fileref)
    }

    pub fn stdin(&self) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(f, _)| f == "stdin")
            .map(|(_, d)| d.as_slice())
    }
}

/// Parse a whole file, which may hold several tests separated by `%eot`.
pub fn parse(name: &str, data: &[u8]) -> Vec<ClickTest> {
    let mut p = Parser {
        name: name.to_string(),
        lines: split_lines(data),
        pos: 0,
    };
    let mut tests = Vec::new();
    loop {
        let (t, more) = p.parse_one();
        tests.push(t);
        if !more {
            break;
        }
    }
    tests
}

fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            out.push(data[start..=i].to_vec());
            start = i + 1;
        }
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

struct Parser {
    name: String,
    lines: Vec<Vec<u8>>,
    /// Index of the next line; the line number of `lines[pos]` is `pos + 1`.
    pos: usize,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Parser {
    fn err(&self, t: &mut ClickTest, line: usize, msg: &str) {
        t.diagnostics
            .push(format!("{}:{}: {}", self.name, line, msg));
    }

    /// Read section text up to the next `%` line.
    fn read_text(&mut self) -> Vec<u8> {
        let mut r = Vec::new();
        while self.pos < self.lines.len() {
            let l = &self.lines[self.pos];
            if l.first() == Some(&b'%') {
                break;
            }
            if l.starts_with(b"\\%") {
                r.extend_from_slice(&l[1..]);
            } else {
                r.extend_from_slice(l);
            }
            self.pos += 1;
        }
        r
    }

    fn parse_one(&mut self) -> (ClickTest, bool) {
        let mut t = ClickTest {
            name: self.name.clone(),
            ..Default::default()
        };
        let mut read_command = false;
        while self.pos < self.lines.len() {
            let lineno = self.pos + 1;
            let line = lossy(&self.lines[self.pos]);
            self.pos += 1;
            if let Some((command, args)) = section_header(&line) {
                match command.as_str() {
                    "script" | "test" => self.read_script(&mut t, &args, false, lineno),
                    "require" => self.read_script(&mut t, &args, true, lineno),
                    "info" | "desc" => {
                        if !args.is_empty() {
                            self.err(&mut t, lineno, "arguments to '%info' ignored");
                        }
                        let x = self.read_text();
                        t.info.push_str(&lossy(&x));
                    }
                    "cut" => {
                        self.read_text();
                    }
                    "stdin" | "input" => {
                        self.read_file_section(&mut t, &args, "file", Some("stdin"))
                    }
                    "file" => self.read_file_section(&mut t, &args, "file", None),
                    "stdout" | "output" => {
                        self.read_file_section(&mut t, &args, "expect", Some("stdout"))
                    }
                    "stderr" => self.read_file_section(&mut t, &args, "expect", Some("stderr")),
                    "expect" => self.read_file_section(&mut t, &args, "expect", None),
                    "expectx" => self.read_file_section(&mut t, &args, "expectx", None),
                    "expectv" | "expect_verbatim" | "verbatim" => {
                        self.read_file_section(&mut t, &args, "expectv", None)
                    }
                    "ignore" | "ignorex" | "ignorev" => {
                        self.read_file_section(&mut t, &args, &command, None)
                    }
                    "eot" => return (t, true),
                    "eof" => {
                        self.pos = self.lines.len();
                    }
                    _ => {
                        self.err(&mut t, lineno, &format!("unrecognized command '{command}'"));
                        self.read_text();
                    }
                }
                read_command = true;
            } else if line.starts_with('%') {
                self.err(&mut t, lineno, "bad '%' command");
            } else if !line.starts_with('#') && !line.starts_with('!') && !line.trim().is_empty() {
                if read_command {
                    self.err(&mut t, lineno, "warning: garbage ignored");
                }
                read_command = false;
            }
        }
        (t, false)
    }

    fn read_script(&mut self, t: &mut ClickTest, args: &str, require: bool, lineno: usize) {
        if require && args == "-q" {
            t.require_quiet = true;
        } else if !args.is_empty() {
            let what = if require { "require" } else { "script" };
            self.err(t, lineno, &format!("arguments to '%{what}' ignored"));
        }
        let text = lossy(&self.read_text());
        let (cmds, problem) = shell_split(&text, &self.name, lineno + 1);
        if let Some(p) = problem {
            self.err(t, lineno, &format!("{p} in '%script'"));
        }
        if require {
            t.require.extend(cmds);
        } else {
            t.script.extend(cmds);
        }
    }

    fn read_file_section(
        &mut self,
        t: &mut ClickTest,
        args: &str,
        secname: &str,
        backup: Option<&str>,
    ) {
        let seclineno = self.pos; // line number of the header
        let mut args: Vec<String> = args.split_whitespace().map(String::from).collect();
        let (mut alternate, mut delfirst, mut whitespace, mut base64, mut icase) =
            (false, false, false, false, false);
        let mut length: Option<usize> = None;
        while let Some(a) = args.first().cloned() {
            if let Some(n) = a
                .strip_prefix('+')
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            {
                length = n.parse().ok();
                args.remove(0);
                continue;
            }
            let Some(rest) = a.strip_prefix('-') else {
                break;
            };
            let mut chars = rest.chars();
            match chars.next() {
                Some('a') => alternate = true,
                Some('d') => delfirst = true,
                Some('i') => icase = true,
                Some('e') => base64 = true,
                Some('w') => whitespace = true,
                _ => break,
            }
            let remaining: String = chars.collect();
            if remaining.is_empty() {
                args.remove(0);
            } else {
                args[0] = format!("-{remaining}");
            }
        }
        if args.is_empty() {
            match backup {
                Some(b) => args.push(b.to_string()),
                None => args.push(
                    match secname {
                        "file" => "stdin",
                        "expect" | "expectv" | "expectx" => "stdout",
                        _ => "all",
                    }
                    .to_string(),
                ),
            }
        }
        let is_ignore = secname.starts_with("ignore");
        if (secname == "file" || is_ignore) && alternate {
            self.err(t, seclineno, &format!("'%{secname} -a' is illegal"));
        }
        if (secname == "file" || secname == "expectv") && (icase || whitespace) {
            self.err(t, seclineno, &format!("'%{secname} -i/-w' is illegal"));
        }
        let mut secname = secname.to_string();
        if secname == "expect" && base64 {
            secname = "expectv".into();
        }

        // read contents
        let first_line = format!("{}:{}", self.name, seclineno + 1);
        let mut data: Vec<u8> = match length {
            Some(len) => {
                let mut d = Vec::new();
                while d.len() < len && self.pos < self.lines.len() {
                    let l = self.lines[self.pos].clone();
                    let need = len - d.len();
                    if l.len() > need {
                        d.extend_from_slice(&l[..need]);
                        self.lines[self.pos] = l[need..].to_vec();
                    } else {
                        d.extend_from_slice(&l);
                        self.pos += 1;
                    }
                }
                if d.len() != len {
                    self.err(t, seclineno, "file too short");
                }
                d
            }
            None => self.read_text(),
        };

        if delfirst {
            let mut out = Vec::with_capacity(data.len());
            let mut at_start = true;
            for &b in &data {
                if at_start && b != b'\n' {
                    at_start = false;
                    continue;
                }
                at_start = b == b'\n';
                out.push(b);
            }
            data = out;
        }
        if base64 {
            data = base64_decode(&data);
        }
        let mut text = lossy(&data);
        if is_ignore && whitespace {
            text.retain(|c| !matches!(c, ' ' | '\x0c' | '\r' | '\t' | '\x0b'));
        }
        if is_ignore {
            let lines: Vec<String> = text
                .split('\n')
                .map(|l| {
                    if l.is_empty() {
                        return String::new();
                    }
                    match secname.as_str() {
                        "ignore" => crate::testie::matcher::braces_to_regex(l, 1).0,
                        "ignorev" => crate::testie::matcher::quotemeta(l),
                        _ => {
                            let stripped = crate::testie::matcher::strip_messages(l);
                            crate::testie::matcher::expand_int_ranges(&stripped)
                        }
                    }
                })
                .collect();
            text = lines.join("\n");
        }
        if icase && secname == "expect" {
            text = text.replace("{{", "{{(?i)");
        } else if icase {
            text = text
                .split('\n')
                .map(|l| {
                    if l.is_empty() {
                        l.to_string()
                    } else {
                        format!("(?i){l}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
        }

        for fileref in args {
            let bad_special = (fileref == "stdin" && secname != "file")
                || ((fileref == "stdout" || fileref == "stderr") && secname == "file")
                || (fileref == "all" && !is_ignore);
            if bad_special {
                self.err(
                    t,
                    seclineno,
                    &format!("'{fileref}' not meaningful for '%{secname}'"),
                );
            }
            if !valid_fileref(&fileref) {
                self.err(
                    t,
                    seclineno,
                    &format!("bad filename '%{secname} {fileref}'"),
                );
                continue;
            }
            match secname.as_str() {
                "file" => {
                    if t.files.iter().any(|(f, _)| *f == fileref) {
                        self.err(t, seclineno, &format!("'%file {fileref}' already defined"));
                    } else {
                        t.files.push((fileref, data.clone()));
                    }
                }
                "ignore" | "ignorex" | "ignorev" => {
                    t.ignores.entry(fileref).or_default().push(Ignore {
                        patterns: text.clone(),
                        whitespace,
                    });
                }
                _ => {
                    let mode = match secname.as_str() {
                        "expectv" => Mode::Verbatim,
                        "expectx" => Mode::Regex,
                        _ => Mode::Expect,
                    };
                    if !t.expect_order.contains(&fileref) {
                        t.expect_order.push(fileref.clone());
                    }
                    let modes = t.expects.entry(fileref.clone()).or_default();
                    let alts = modes.entry(mode).or_default();
                    if !alts.is_empty() && !alternate {
                        self.err(
                            t,
                            seclineno,
                            &format!("'%{secname} {fileref}' already defined"),
                        );
                        continue;
                    }
                    alts.push(Expectation {
                        data: text.clone(),
                        whitespace,
                        first_line: first_line.clone(),
                    });
                }
            }
        }
    }
}

/// `%name args` header: returns (lowercased name, trimmed args).
fn section_header(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('%')?;
    let rest = rest.trim_start();
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = rest[..name_len].to_ascii_lowercase();
    let args = rest[name_len..].trim().to_string();
    Some((name, args))
}

fn valid_fileref(f: &str) -> bool {
    let simple = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !f.is_empty() && f.chars().all(simple) {
        return true;
    }
    !f.is_empty()
        && f.chars().all(|c| simple(c) || c == '/')
        && !f.starts_with("../")
        && !f.contains("/../")
        && !f.ends_with("/..")
        && !f.starts_with('/')
        && !f.contains("//")
        && !f.ends_with('/')
}

/// Split a script section into commands the way clicktest does: a command
/// ends at a newline outside quotes, backquotes and `{ }` groups, not
/// preceded by a backslash. A comment runs to the end of its line and joins
/// the next line to the current command. Returns the commands and a
/// description of an unmatched quote, if any.
pub fn shell_split(text: &str, file: &str, first_line: usize) -> (Vec<Command>, Option<String>) {
    let b = text.as_bytes();
    let mut cmds = Vec::new();
    let (mut sq, mut dq, mut bq_open) = (false, false, false);
    let mut depth: i64 = 0;
    let mut start = 0;
    let mut lineno = first_line;
    let mut cmd_line = first_line;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if sq {
            if c == b'\'' {
                sq = false;
            } else if c == b'\n' {
                lineno += 1;
            }
            i += 1;
            continue;
        }
        if dq {
            if c == b'"' {
                dq = false;
            } else if c == b'\n' {
                lineno += 1;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' => sq = true,
            b'"' => dq = true,
            b'`' => bq_open = !bq_open,
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b'#' => {
                // comment: swallow through the newline
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                lineno += 1;
            }
            b'\n' => {
                lineno += 1;
                let escaped = i > start && b[i - 1] == b'\\';
                if !bq_open && depth == 0 && !escaped {
                    cmds.push(Command {
                        text: text[start..=i].to_string(),
                        line: format!("{file}:{cmd_line}"),
                    });
                    start = i + 1;
                    cmd_line = lineno;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        cmds.push(Command {
            text: text[start..].to_string(),
            line: format!("{file}:{cmd_line}"),
        });
    }
    let problem = if sq {
        Some("unmatched single quote".to_string())
    } else if dq {
        Some("unmatched double quote".to_string())
    } else if bq_open {
        Some("unmatched backquote".to_string())
    } else {
        None
    };
    (cmds, problem)
}

fn base64_decode(data: &[u8]) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in data {
        if let Some(v) = val(c) {
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_flags() {
        let src = b"%info\nhello\n%script\nclick -e 'a\nb'\necho x |\n  cat\n%file -d CONFIG\n!%x\n!y\n%expect stdout\nfoo {{\\d+}}\n%expect -a stdout\nbar\n%ignorex\n#.*\n%stdin +3\nabc\n%eof\n%garbage\n";
        let tests = parse("t.clicktest", src);
        assert_eq!(tests.len(), 1);
        let t = &tests[0];
        assert_eq!(t.info, "hello\n");
        assert_eq!(t.script.len(), 3, "{:?}", t.script);
        assert_eq!(t.script[0].text, "click -e 'a\nb'\n");
        assert_eq!(t.script[0].line, "t.clicktest:4");
        assert_eq!(t.script[1].line, "t.clicktest:6");
        assert_eq!(t.files[0], ("CONFIG".to_string(), b"%x\ny\n".to_vec()));
        assert_eq!(t.stdin(), Some(&b"abc"[..]));
        let alts = &t.expects["stdout"][&Mode::Expect];
        assert_eq!(alts.len(), 2);
        assert_eq!(alts[1].data, "bar\n");
        assert_eq!(t.ignores["all"][0].patterns, "#.*\n");
        assert!(t.diagnostics.is_empty(), "{:?}", t.diagnostics);
    }

    #[test]
    fn eot_splits_tests_and_duplicate_is_reported() {
        let src = b"%script\ntrue\n%expect stdout\na\n%expect stdout\nb\n%eot\n%script\nfalse\n";
        let tests = parse("x", src);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].diagnostics.len(), 1);
        assert_eq!(tests[1].script[0].text, "false\n");
    }

    #[test]
    fn combined_flags_and_icase() {
        let t = &parse("x", b"%expectx -ai OUT\nab+\n")[0];
        assert_eq!(t.expects["OUT"][&Mode::Regex][0].data, "(?i)ab+\n");
        assert!(t.diagnostics.is_empty());
    }

    #[test]
    fn base64_roundtrip() {
        assert_eq!(base64_decode(b"aGVsbG8=\n"), b"hello");
    }
}
