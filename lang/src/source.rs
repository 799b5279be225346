//! Source files and the positions `# LINE "FILE"` directives announce.

use std::sync::Arc;

use crate::{Diagnostic, Span};

/// One loaded source text, able to turn byte offsets into [`Span`]s.
///
/// Click's preprocessor-style directives (`# 12 "file.click"`, also
/// `# line 12`) renumber the lines that follow them; positions reported to the
/// user must use those numbers, exactly as Click's landmarks do.
#[derive(Debug, Clone)]
pub struct SourceMap {
    pub name: Arc<str>,
    pub text: Arc<str>,
    /// Byte offset of the start of each physical line.
    line_starts: Vec<usize>,
    /// Directives, in order: (first physical line they affect, its logical
    /// number, the file name in force from there).
    directives: Vec<(usize, u32, Arc<str>)>,
    /// Malformed directives, reported when the file is parsed.
    pub errors: Vec<Diagnostic>,
    /// Bytes of the file that were not UTF-8, by offset in `text`.
    pub not_utf8: Vec<(usize, u8)>,
    /// Whether each physical line is ASCII (its columns are its bytes).
    ascii_lines: Vec<bool>,
}

impl SourceMap {
    pub fn new(name: &str, text: &str) -> SourceMap {
        let starts = line_starts(text);
        let ascii_lines = (0..starts.len())
            .map(|i| {
                let end = starts.get(i + 1).copied().unwrap_or(text.len());
                text.as_bytes()[starts[i]..end].is_ascii()
            })
            .collect();
        let mut map = SourceMap {
            name: name.into(),
            text: text.into(),
            line_starts: starts,
            directives: Vec::new(),
            errors: Vec::new(),
            not_utf8: Vec::new(),
            ascii_lines,
        };
        map.scan_directives();
        map
    }

    /// A file's bytes as text (see [`decode`]): positions stay those of
    /// the bytes, a character per byte that is not UTF-8.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> SourceMap {
        let (text, not_utf8) = decode(bytes);
        SourceMap {
            not_utf8,
            ..SourceMap::new(name, &text)
        }
    }

    /// The byte that was not UTF-8 at `offset` of the text, if it was one.
    pub fn byte_not_utf8(&self, offset: usize) -> Option<u8> {
        let i = self.not_utf8.partition_point(|&(at, _)| at < offset);
        self.not_utf8
            .get(i)
            .filter(|&&(at, _)| at == offset)
            .map(|&(_, b)| b)
    }

    fn scan_directives(&mut self) {
        for phys in 0..self.line_starts.len() {
            let start = self.line_starts[phys];
            let line = physical_line(&self.text, start);
            let Some(rest) = line.strip_prefix('#') else {
                continue;
            };
            if phys == 0 && rest.starts_with('!') {
                continue; // a `#!` interpreter line: not a directive
            }
            match parse_directive(rest) {
                Some((number, file)) => {
                    let file = match file {
                        Some(f) if !f.is_empty() => Arc::from(f.as_str()),
                        _ => self.name.clone(), // `""` returns to the real file
                    };
                    self.directives.push((phys + 1, number, file));
                }
                None => {
                    let span = self.span(start, start + line.len());
                    self.errors
                        .push(Diagnostic::new(span, "unknown preprocessor directive"));
                }
            }
        }
    }

    /// The position of the byte range `start..end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let start = start.min(self.text.len());
        let phys = self
            .line_starts
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        // Columns count characters (a byte that was not UTF-8 is one).
        let line_start = self.line_starts[phys];
        let column = if self.ascii_lines.get(phys).copied().unwrap_or(true) {
            start - line_start
        } else {
            self.text
                .get(line_start..start)
                .map_or(start - line_start, |t| t.chars().count())
        } as u32
            + 1;
        let at = self.directives.partition_point(|d| d.0 <= phys);
        let (file, line) = match at.checked_sub(1).map(|i| &self.directives[i]) {
            Some((first, number, file)) => (file.clone(), number + (phys - first) as u32),
            None => (self.name.clone(), phys as u32 + 1),
        };
        Span {
            file,
            line,
            column,
            start,
            end: end.max(start),
        }
    }
}

/// Reads a file's bytes as Click does, whatever they are: UTF-8 where
/// they are UTF-8, and each other byte as the Latin-1 character of that
/// value (a Latin-1 `é`, byte 0xE9, stays `é`), so comments and strings in
/// other encodings are kept and lines and columns still count as in the
/// file. Returns the text and where each byte that was not UTF-8 now is.
pub fn decode(bytes: &[u8]) -> (String, Vec<(usize, u8)>) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_string(), Vec::new());
    }
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut not_utf8 = Vec::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for &b in chunk.invalid() {
            not_utf8.push((text.len(), b));
            text.push(char::from(b));
        }
    }
    (text, not_utf8)
}

fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => starts.push(i + 1),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                starts.push(i + 2);
                i += 1;
            }
            b'\r' => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
}

fn physical_line(text: &str, start: usize) -> &str {
    let rest = &text[start..];
    let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    &rest[..end]
}

/// Parses what follows `#`: `[line] NUMBER ["FILE"]`.
fn parse_directive(rest: &str) -> Option<(u32, Option<String>)> {
    let mut s = rest.trim_start_matches([' ', '\t']);
    if let Some(after) = s.strip_prefix("line") {
        if after.starts_with([' ', '\t']) {
            s = after.trim_start_matches([' ', '\t']);
        }
    }
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let number = s[..digits].parse::<u32>().ok()?;
    let s = s[digits..].trim_start_matches([' ', '\t']);
    let file = s.strip_prefix('"').map(|quoted| {
        let mut out = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    });
    Some((number, file))
}

/// Removes directive lines from a configuration string (Click drops them
/// from the text, keeping only their effect on line numbers).
pub fn strip_directives(config: &str) -> String {
    if !config.contains("\n#") && !config.contains("\r#") {
        return config.to_string();
    }
    let mut out = String::with_capacity(config.len());
    let mut at_line_start = false;
    let mut skipping = false;
    for c in config.chars() {
        if at_line_start && c == '#' {
            skipping = true;
        }
        at_line_start = c == '\n' || c == '\r';
        if skipping {
            if at_line_start {
                skipping = false;
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_renumber_lines() {
        let map = SourceMap::new("A.click", "a\n# 100 \"foo.click\"\nb\nc");
        let b = map.text.find('b').unwrap();
        let c = map.text.rfind('c').unwrap();
        assert_eq!(map.span(0, 1).to_string(), "A.click:1:1");
        assert_eq!(map.span(b, b + 1).to_string(), "foo.click:100:1");
        assert_eq!(map.span(c, c + 1).to_string(), "foo.click:101:1");
    }

    #[test]
    fn bad_directive_is_reported() {
        let map = SourceMap::new("x", "# what\n");
        assert_eq!(map.errors.len(), 1);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_one_character_each() {
        let map = SourceMap::from_bytes("l.click", b"// caf\xe9\n\xe9x \xff y\n");
        assert_eq!(&*map.text, "// café\néx ÿ y\n");
        let y = map.text.rfind('y').unwrap();
        assert_eq!(map.span(y, y + 1).to_string(), "l.click:2:6");
        let ff = map.text.find('ÿ').unwrap();
        assert_eq!(map.byte_not_utf8(ff), Some(0xFF));
        assert_eq!(map.byte_not_utf8(ff + 1), None);
        // Valid UTF-8 is read as such, and counted in characters.
        let map = SourceMap::from_bytes("u", "é y".as_bytes());
        assert!(map.not_utf8.is_empty());
        assert_eq!(map.span(3, 4).to_string(), "u:1:3");
    }

    #[test]
    fn a_latin1_file_loads() {
        let c = crate::load_bytes(
            b"// caf\xe9\nIdle -> Print(\"caf\xe9\") -> Discard;",
            "l.click",
            &Default::default(),
        )
        .unwrap();
        assert_eq!(c.elements[1].config, "\"café\"");
        let e =
            crate::load_bytes(b"Idle -> Discard\xff;", "l.click", &Default::default()).unwrap_err();
        assert_eq!(e.render_click(), "l.click:1: syntax error near '\\377'\n");
        assert!(e.render().contains("--> l.click:1:16"), "{}", e.render());
        assert!(
            e.render().contains("byte 0xFF is not UTF-8"),
            "{}",
            e.render()
        );
    }

    #[test]
    fn strips_directive_lines_from_config() {
        assert_eq!(strip_directives("\n# 100 \"f\"\n\"test\""), "\n\"test\"");
    }
}
