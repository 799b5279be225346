//! Source positions and diagnostics.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A position in a source file: `file:line:column` (1-based), plus the byte
/// range so a diagnostic can underline the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// Click's landmark, `file:line`, which starts Click's error lines.
    pub fn landmark(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One error or warning about a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Option<Span>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span: Some(span),
            message: message.into(),
        }
    }

    pub fn without_span(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span: None,
            message: message.into(),
        }
    }

    /// Click's one-line form: `file:line: message`.
    pub fn click_line(&self) -> String {
        match &self.span {
            Some(span) => format!("{}: {}", span.landmark(), self.message),
            None => self.message.clone(),
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

    /// A rustc-like rendering: Click's line, then the source line with the
    /// offending text underlined.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.errors {
            out += &format!("error: {}\n", d.message);
            if let Some(span) = &d.span {
                out += &format!(" --> {span}\n");
                out += &self.snippet(span);
            }
        }
        out
    }

    fn snippet(&self, span: &Span) -> String {
        let Some(text) = self.sources.get(&span.file) else {
            return String::new();
        };
        let Some(line) = line_at(text, span.start) else {
            return String::new();
        };
        let number = span.line.to_string();
        let pad = " ".repeat(number.len());
        let width = (span.end - span.start).clamp(
            1,
            line.len().saturating_sub(span.column as usize - 1).max(1),
        );
        let indent: String = line
            .chars()
            .take(span.column as usize - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{pad} |\n{number} | {line}\n{pad} | {indent}{}\n",
            "^".repeat(width)
        )
    }
}

/// The text of the physical line containing byte `offset`.
fn line_at(text: &str, offset: usize) -> Option<&str> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let end = text[offset..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| offset + i);
    Some(&text[start..end])
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}
