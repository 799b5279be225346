//! Source positions and diagnostics.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A position in a source file: `file:line:column` (1-based; the column
/// counts characters), plus the byte range so a diagnostic can underline
/// the text. A span at line 0 names no place in a file but where else
/// the text came from: a command-line flag (`-p 7777`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// Text that came from the command line rather than from a file: an
    /// element a flag adds (`-p 7777` adds a ControlSocket). Errors about
    /// it name the flag (`-p 7777: ...`).
    pub fn command_line(flag: &str) -> Span {
        Span {
            file: flag.into(),
            ..Span::default()
        }
    }

    /// The span names a flag, not a place in a file.
    pub fn is_command_line(&self) -> bool {
        self.line == 0 && !self.file.is_empty()
    }

    /// Click's landmark, `file:line`, which starts Click's error lines.
    pub fn landmark(&self) -> String {
        if self.line == 0 {
            return self.file.to_string();
        }
        format!("{}:{}", self.file, self.line)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}", self.file);
        }
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Another place a diagnostic points at, with what it is: where an
/// element was declared, where a bracket opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Note {
    pub span: Option<Span>,
    pub message: String,
}

/// One error or warning about a configuration.
///
/// Build one with [`Diagnostic::new`] or [`Diagnostic::without_span`] and
/// the `with_*` methods; a struct literal needs `..Default::default()`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostic {
    /// Where the cause is: the text to underline.
    pub span: Option<Span>,
    pub message: String,
    /// Other places that explain it (`note: 'c :: Counter' declared here`),
    /// each shown with its own line of text.
    pub notes: Vec<Note>,
    /// Click's one-line form, when it is not `span` and `message` (see
    /// [`ClickLine`]). Boxed: most errors have none.
    pub click: Option<Box<ClickLine>>,
}

/// Where and how Click's one-line form reports an error, when that is not
/// where and how we do: Click reports a bad port at the element's
/// declaration, not at the connection that uses it, and says `expected
/// ')'` where we name what is unclosed. Click's own tests compare that
/// form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClickLine {
    /// Click's place, if not the diagnostic's.
    pub span: Option<Span>,
    /// Click's words, if not the diagnostic's.
    pub message: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span: Some(span),
            message: message.into(),
            ..Diagnostic::default()
        }
    }

    pub fn without_span(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            ..Diagnostic::default()
        }
    }

    /// `new` or `without_span`, as `span` is.
    pub fn at(span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span,
            message: message.into(),
            ..Diagnostic::default()
        }
    }

    /// Adds a note about another place.
    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Note {
            span: Some(span),
            message: message.into(),
        });
        self
    }

    /// Adds a note that points nowhere (`did you mean 'Classifier'?`).
    pub fn with_help(mut self, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Note {
            span: None,
            message: message.into(),
        });
        self
    }

    /// Click's one-line form reports this at `span` instead.
    pub fn click_at(mut self, span: Span) -> Diagnostic {
        self.click.get_or_insert_default().span = Some(span);
        self
    }

    /// Click's one-line form says `message` instead.
    pub fn click_says(mut self, message: impl Into<String>) -> Diagnostic {
        self.click.get_or_insert_default().message = Some(message.into());
        self
    }

    /// Click's one-line form: `file:line: message`.
    pub fn click_line(&self) -> String {
        let click = self.click.as_deref();
        let message = click
            .and_then(|c| c.message.as_deref())
            .unwrap_or(&self.message);
        match click.and_then(|c| c.span.as_ref()).or(self.span.as_ref()) {
            Some(span) => format!("{}: {message}", span.landmark()),
            None => message.to_string(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// All the errors found in a configuration, with the source texts needed to
/// show them in context.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub errors: Vec<Diagnostic>,
    /// Source text by file name (the name spans carry before directives).
    sources: HashMap<Arc<str>, Arc<str>>,
}

impl Diagnostics {
    pub fn new(errors: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics {
            errors,
            sources: HashMap::new(),
        }
    }

    /// Errors about a configuration whose source texts are known (found
    /// after loading, e.g. by the engine's checks), so `render` can point
    /// at the text.
    pub fn with_sources(errors: Vec<Diagnostic>, sources: &crate::SourceTexts) -> Diagnostics {
        let mut d = Diagnostics::new(errors);
        for (name, text) in &sources.0 {
            d.add_source(name.clone(), text.clone());
        }
        d
    }

    pub(crate) fn add_source(&mut self, name: Arc<str>, text: Arc<str>) {
        self.sources.insert(name, text);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Click's short form, one `file:line: message` line per error: what
    /// Click's own tests expect on stderr.
    pub fn render_click(&self) -> String {
        self.errors.iter().map(|d| d.click_line() + "\n").collect()
    }

    /// A rustc-like rendering: `error: message`, ` --> file:line:column`,
    /// the source line with the offending text underlined; then each note
    /// the same way. An error about a flag says so first (`error: -p
    /// 7777: ...`).
    pub fn render(&self) -> String {
        self.render_as("error")
    }

    /// As [`render`](Self::render), labelled `kind` rather than `error`:
    /// `info` for what an element says while configured that is not an
    /// error (Click's Message element).
    pub fn render_as(&self, kind: &str) -> String {
        let mut out = String::new();
        for d in &self.errors {
            out += &self.place(kind, d.span.as_ref(), &d.message);
            for note in &d.notes {
                let kind = if note.span.is_some() { "note" } else { "help" };
                out += &self.place(kind, note.span.as_ref(), &note.message);
            }
        }
        out
    }

    fn place(&self, kind: &str, span: Option<&Span>, message: &str) -> String {
        match span {
            Some(span) if span.is_command_line() => {
                format!("{kind}: {}: {message}\n", span.file)
            }
            Some(span) if span.line > 0 => {
                format!("{kind}: {message}\n --> {span}\n{}", self.snippet(span))
            }
            _ => format!("{kind}: {message}\n"),
        }
    }

    fn snippet(&self, span: &Span) -> String {
        let Some(text) = self.sources.get(&span.file) else {
            return String::new();
        };
        let start = span.start.min(text.len());
        let Some((line, at)) = line_at(text, start) else {
            return String::new();
        };
        let number = span.line.to_string();
        let pad = " ".repeat(number.len());
        // Columns count characters; the underline covers the span's
        // characters on this line (at least one).
        let end = span.end.clamp(start, at + line.len());
        let width = text.get(start..end).map_or(1, |t| t.chars().count()).max(1);
        let indent: String = line[..start - at]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{pad} |\n{number} | {line}\n{pad} | {indent}{}\n",
            "^".repeat(width)
        )
    }
}

/// The text of the physical line containing byte `offset`, and where that
/// line starts.
fn line_at(text: &str, offset: usize) -> Option<(&str, usize)> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let end = text[offset..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| offset + i);
    Some((&text[start..end], start))
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> crate::SourceTexts {
        crate::SourceTexts(vec![(
            "f.click".into(),
            "c :: Counter;\nIdle -> c[1] -> Discard;\n".into(),
        )])
    }

    fn span(line: u32, column: u32, start: usize, end: usize) -> Span {
        Span {
            file: "f.click".into(),
            line,
            column,
            start,
            end,
        }
    }

    #[test]
    fn notes_have_their_own_snippets_and_click_keeps_its_line() {
        let d = Diagnostic::new(span(2, 10, 23, 26), "'c :: Counter' has no output 1")
            .with_note(span(1, 1, 0, 1), "'c :: Counter' declared here")
            .click_at(span(1, 1, 0, 1));
        let all = Diagnostics::with_sources(vec![d], &sources());
        assert_eq!(
            all.render(),
            "error: 'c :: Counter' has no output 1\n --> f.click:2:10\n  |\n\
             2 | Idle -> c[1] -> Discard;\n  |          ^^^\n\
             note: 'c :: Counter' declared here\n --> f.click:1:1\n  |\n\
             1 | c :: Counter;\n  | ^\n"
        );
        assert_eq!(
            all.render_click(),
            "f.click:1: 'c :: Counter' has no output 1\n"
        );
    }

    #[test]
    fn a_flag_is_named_instead_of_a_position() {
        let d = Diagnostic::new(Span::command_line("-p 99999"), "bad port number");
        let all = Diagnostics::new(vec![d]);
        assert_eq!(all.render(), "error: -p 99999: bad port number\n");
        assert_eq!(all.render_click(), "-p 99999: bad port number\n");
    }

    #[test]
    fn help_without_a_place() {
        let d = Diagnostic::without_span("unknown element class 'Clasifier'")
            .with_help("did you mean 'Classifier'?")
            .click_says("undeclared element 'Clasifier'");
        let all = Diagnostics::new(vec![d]);
        assert_eq!(
            all.render(),
            "error: unknown element class 'Clasifier'\nhelp: did you mean 'Classifier'?\n"
        );
        assert_eq!(all.render_click(), "undeclared element 'Clasifier'\n");
    }
}
