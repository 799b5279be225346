//! The syntax tree of a Click configuration, built from the pest grammar.
//!
//! Positions are byte ranges into the file's text; the file's
//! [`SourceMap`](crate::source::SourceMap) turns them into spans.

use std::ops::Range;

use pest::iterators::Pair;
use pest::Parser;

use crate::source::SourceMap;
use crate::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct ClickParser;

/// Text from the source, with where it came from.
#[derive(Debug, Clone)]
pub struct Word {
    pub text: String,
    pub at: Range<usize>,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Connection(Connection),
    ElementClass {
        name: Word,
        def: ClassDef,
    },
    Require(Word),
    Define(Word),
    /// `provide(...)`: accepted and ignored, as Click's runtime does.
    Provide,
}

#[derive(Debug, Clone)]
pub enum ClassDef {
    Synonym(Word),
    Compound(Compound),
}

/// `{ body || body || ... }`.
#[derive(Debug, Clone)]
pub struct Compound {
    pub bodies: Vec<Body>,
    /// Ends with `|| ...`: extends the previous class of the same name.
    pub extension: Option<Range<usize>>,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub formals: Vec<Formal>,
    pub stmts: Vec<Stmt>,
    pub at: Range<usize>,
}

/// `$var` or `KEYWORD $var`.
#[derive(Debug, Clone)]
pub struct Formal {
    pub keyword: Option<Word>,
    pub var: Word,
}

/// Element lists separated by arrows: `lists.len() == arrows.len() + 1`.
/// An empty list stands for an implicit `input` or `output`.
#[derive(Debug, Clone)]
pub struct Connection {
    pub lists: Vec<Vec<Endpoint>>,
    pub arrows: Vec<Arrow>,
    pub at: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Arrow {
    /// `=>` rather than `->`.
    pub many: bool,
    pub at: Range<usize>,
}

/// `[in] element [out]`; a lone `[ports]` is an implicit `input`/`output`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub inputs: Option<Ports>,
    pub elem: Option<Elem>,
    pub outputs: Option<Ports>,
    pub at: Range<usize>,
}

/// `[0, 1, 2]`, `[0-2]`, `[2,]`: the tokens between the brackets, read by
/// the builder as Click's `yport` reads them.
#[derive(Debug, Clone)]
pub struct Ports {
    pub tokens: Vec<PortToken>,
    /// The list with its brackets.
    pub at: Range<usize>,
}

#[derive(Debug, Clone)]
pub enum PortToken {
    Number(Word),
    Comma(Range<usize>),
    Dash(Range<usize>),
}

#[derive(Debug, Clone)]
pub enum Elem {
    /// `name`, `name :: Class`, `Class(config)`, `name :: { ... } (config)`.
    Named {
        name: Word,
        class: Option<ClassRef>,
        config: Option<Word>,
    },
    /// `{ ... } (config)`: an anonymous compound used in place.
    Compound {
        compound: Compound,
        config: Option<Word>,
    },
    /// `( ... )`: an element group.
    Group { stmts: Vec<Stmt>, at: Range<usize> },
}

#[derive(Debug, Clone)]
pub enum ClassRef {
    Name(Word),
    Compound(Compound),
}

/// Nesting deeper than this is refused before pest sees the text, so no
/// input can exhaust the stack.
const MAX_NESTING: usize = 256;

/// Parses a whole file.
pub fn parse(map: &SourceMap) -> Result<Vec<Stmt>, Diagnostic> {
    check_nesting(map)?;
    let mut pairs = ClickParser::parse(Rule::file, &map.text).map_err(|e| syntax_error(map, &e))?;
    let file = pairs
        .next()
        .ok_or_else(|| Diagnostic::new(map.span(0, 0), "empty parse"))?;
    let any_unclosed = file
        .clone()
        .into_inner()
        .flatten()
        .any(|p| p.as_rule() == Rule::unclosed);
    if let Some((opener, p)) = any_unclosed.then(|| first_unclosed(file.clone())).flatten() {
        return Err(unclosed(map, &opener, &p));
    }
    Ok(file.into_inner().filter_map(stmt).collect())
}

/// The first `unclosed` mark in the tree (the innermost, since a
/// construct's own mark is its last child), with the construct it closes.
fn first_unclosed(file: Pair<Rule>) -> Option<(Pair<Rule>, Pair<Rule>)> {
    let mut stack = vec![file];
    while let Some(p) = stack.pop() {
        let children: Vec<Pair<Rule>> = p.clone().into_inner().collect();
        for (i, child) in children.iter().enumerate() {
            if child.as_rule() == Rule::unclosed {
                // Anything unclosed before the mark is inside it: innermost.
                if let Some(inner) = children[..i]
                    .iter()
                    .rev()
                    .find_map(|c| first_unclosed(c.clone()))
                {
                    return Some(inner);
                }
                return Some((p, child.clone()));
            }
        }
        stack.extend(children.into_iter().rev());
    }
    None
}

/// A group, compound or configuration string left open: at the end of
/// the file, said with where it opened (in Click's one-line form, Click's
/// `expected ')'`); elsewhere, the token found instead of the closer.
fn unclosed(map: &SourceMap, opener: &Pair<Rule>, mark: &Pair<Rule>) -> Diagnostic {
    let text = &map.text;
    let open = opener.as_span().start();
    let (what, at, closer) = match opener.as_rule() {
        Rule::compound => ("'{'", open, '}'),
        Rule::args => match unclosed_in_config(text, open + 1) {
            Some((at, '"')) => ("string", at, '"'),
            Some((at, '\'')) => ("string", at, '\''),
            Some((at, '*')) => ("comment", at, '/'),
            Some((at, _)) => ("'('", at, ')'),
            None => ("'('", open, ')'),
        },
        _ => ("'('", open, ')'),
    };
    let click_closer = if opener.as_rule() == Rule::compound {
        '}'
    } else {
        ')'
    };
    let len = if what == "comment" { 2 } else { 1 };
    let note = format!("{what} opened here");
    let found = token_range(text, mark.as_span().start());
    if !found.is_empty() {
        let message = format!("syntax error near '{}'", &text[found.clone()]);
        return Diagnostic::new(map.span(found.start, found.end), message)
            .with_note(map.span(at, at + len), note);
    }
    let message = match what {
        "comment" => "unclosed comment: expected '*/' before the end of the file".to_string(),
        _ => format!("unclosed {what}: expected '{closer}' before the end of the file"),
    };
    Diagnostic::new(map.span(found.start, found.end), message)
        .with_note(map.span(at, at + len), note)
        .click_says(format!("expected '{click_closer}'"))
}

/// In a configuration string that ran to the end of the file (from byte
/// `from`), what is still open there, innermost first: a quote (`"` or
/// `'`), a comment (`*`, for `/*`) or a parenthesis, with where it
/// opened; `None` if only the string's own parenthesis is. Reads as the
/// grammar's `config` does.
fn unclosed_in_config(text: &str, from: usize) -> Option<(usize, char)> {
    let b = text.as_bytes();
    let mut parens = Vec::new();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Some((start, q as char)),
                        Some(b'\\') if q == b'"' => i += 2,
                        Some(&c) if c == q => break,
                        Some(_) => i += 1,
                    }
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                match text.get(i + 2..).and_then(|t| t.find("*/")) {
                    Some(end) => i += 2 + end + 1,
                    None => return Some((start, '*')),
                }
            }
            b'(' => parens.push(i),
            b')' => {
                parens.pop()?;
            }
            _ => {}
        }
        i += 1;
    }
    parens.pop().map(|at| (at, '('))
}

fn check_nesting(map: &SourceMap) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    for (i, c) in map.text.char_indices() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => continue,
        }
        if depth > MAX_NESTING {
            return Err(Diagnostic::new(
                map.span(i, i + 1),
                "maximum nesting depth exceeded",
            ));
        }
    }
    Ok(())
}

/// Turns pest's error into Click's "syntax error near 'TOKEN'".
fn syntax_error(map: &SourceMap, e: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((p, _)) => p,
    };
    let at = token_range(&map.text, pos);
    let token = &map.text[at.clone()];
    let message = if token.is_empty() {
        "syntax error at end of file".to_string()
    } else {
        format!("syntax error near '{token}'")
    };
    let d = Diagnostic::new(map.span(at.start, at.end), message);
    match map.byte_not_utf8(at.start) {
        // Click shows the byte as an octal escape.
        Some(b) => d
            .with_help(format!(
                "byte 0x{b:02X} is not UTF-8 (read as the Latin-1 '{}'): such bytes are allowed \
                 only in comments and strings",
                char::from(b)
            ))
            .click_says(format!("syntax error near '\\{b:03o}'")),
        None => d,
    }
}

/// Where the lexeme at or after `pos` lies, past white space, comments and
/// line directives, as Click's lexer cuts it. Click names the line of that
/// lexeme in its errors, so ours point at it (empty at the end of the file).
pub fn token_range(text: &str, pos: usize) -> Range<usize> {
    let b = text.as_bytes();
    let mut i = pos.min(b.len());
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'#' || b[i..].starts_with(b"//") {
            i += b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .unwrap_or(b.len() - i);
        } else if b[i..].starts_with(b"/*") {
            i += 2 + b[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(b.len() - i - 2, |p| p + 2);
        } else {
            break;
        }
    }
    let i = if text.is_char_boundary(i) { i } else { pos };
    lexeme(text, i)
}

/// Where the lexeme at `pos` (after white space) lies: a word, an operator
/// or one character; empty at the end of the text or past it.
fn lexeme(text: &str, pos: usize) -> Range<usize> {
    let Some(rest) = text.get(pos..) else {
        return text.len()..text.len();
    };
    let trimmed = rest.trim_start();
    let start = pos + (rest.len() - trimmed.len());
    let word = trimmed.len()
        - trimmed
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '@')
            .len();
    let len = if word > 0 {
        word
    } else if let Some(op) = ["...", "->", "=>", "::", "||"]
        .into_iter()
        .find(|op| trimmed.starts_with(op))
    {
        op.len()
    } else {
        trimmed.chars().next().map_or(0, char::len_utf8)
    };
    start..start + len
}

fn word(p: Pair<Rule>) -> Word {
    let s = p.as_span();
    Word {
        text: s.as_str().to_string(),
        at: s.start()..s.end(),
    }
}

fn range(p: &Pair<Rule>) -> Range<usize> {
    p.as_span().start()..p.as_span().end()
}

fn stmt(p: Pair<Rule>) -> Option<Stmt> {
    let at = range(&p);
    let rule = p.as_rule();
    let mut inner = p.into_inner();
    Some(match rule {
        Rule::connection => Stmt::Connection(connection(inner, at)),
        Rule::elementclass => {
            let name = word(inner.next()?);
            let def = inner.next()?;
            let def = match def.as_rule() {
                Rule::compound => ClassDef::Compound(compound(def)),
                _ => ClassDef::Synonym(word(def)),
            };
            Stmt::ElementClass { name, def }
        }
        Rule::require => Stmt::Require(word(inner.next()?)),
        Rule::define => Stmt::Define(word(inner.next()?)),
        Rule::provide => Stmt::Provide,
        _ => return None,
    })
}

fn stmts<'i>(pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Vec<Stmt> {
    pairs.filter_map(stmt).collect()
}

fn compound(p: Pair<Rule>) -> Compound {
    let mut bodies = Vec::new();
    let mut extension = None;
    for part in p.into_inner() {
        match part.as_rule() {
            Rule::body => bodies.push(body(part)),
            Rule::extension => extension = Some(range(&part)),
            _ => {}
        }
    }
    Compound { bodies, extension }
}

fn body(p: Pair<Rule>) -> Body {
    let at = range(&p);
    let mut formals = Vec::new();
    let mut inner = p.into_inner().peekable();
    if let Some(f) = inner.next_if(|q| q.as_rule() == Rule::formals) {
        for formal in f.into_inner() {
            let mut parts: Vec<Word> = formal.into_inner().map(word).collect();
            if let Some(var) = parts.pop() {
                formals.push(Formal {
                    keyword: parts.pop(),
                    var,
                });
            }
        }
    }
    Body {
        formals,
        stmts: stmts(inner),
        at,
    }
}

fn connection(pairs: pest::iterators::Pairs<Rule>, at: Range<usize>) -> Connection {
    let mut lists = vec![Vec::new()];
    let mut arrows = Vec::new();
    for p in pairs {
        match p.as_rule() {
            Rule::arrow => {
                arrows.push(Arrow {
                    many: p.as_str() == "=>",
                    at: range(&p),
                });
                lists.push(Vec::new());
            }
            Rule::elist => {
                if let Some(last) = lists.last_mut() {
                    *last = p.into_inner().map(endpoint).collect();
                }
            }
            _ => {}
        }
    }
    Connection { lists, arrows, at }
}

fn endpoint(p: Pair<Rule>) -> Endpoint {
    let at = range(&p);
    let mut e = Endpoint {
        inputs: None,
        elem: None,
        outputs: None,
        at,
    };
    for part in p.into_inner() {
        match part.as_rule() {
            Rule::in_ports => e.inputs = part.into_inner().next().map(ports),
            Rule::out_ports => e.outputs = part.into_inner().next().map(ports),
            Rule::named => e.elem = Some(named(part)),
            Rule::anon_compound => {
                let mut inner = part.into_inner();
                if let Some(c) = inner.next() {
                    let config = inner.next().and_then(args);
                    e.elem = Some(Elem::Compound {
                        compound: compound(c),
                        config,
                    });
                }
            }
            Rule::group => {
                let at = range(&part);
                e.elem = Some(Elem::Group {
                    stmts: stmts(part.into_inner()),
                    at,
                });
            }
            _ => {}
        }
    }
    e
}

fn named(p: Pair<Rule>) -> Elem {
    let mut inner = p.into_inner();
    let name = inner.next().map(word).unwrap_or(Word {
        text: String::new(),
        at: 0..0,
    });
    let mut class = None;
    let mut config = None;
    for part in inner {
        match part.as_rule() {
            Rule::class => {
                class = part.into_inner().next().map(|c| match c.as_rule() {
                    Rule::compound => ClassRef::Compound(compound(c)),
                    _ => ClassRef::Name(word(c)),
                })
            }
            Rule::args => config = args(part),
            _ => {}
        }
    }
    Elem::Named {
        name,
        class,
        config,
    }
}

fn args(p: Pair<Rule>) -> Option<Word> {
    p.into_inner().next().map(word)
}

fn ports(p: Pair<Rule>) -> Ports {
    let at = range(&p);
    let tokens = p
        .into_inner()
        .filter_map(|part| match part.as_rule() {
            Rule::port => Some(PortToken::Number(word(part))),
            Rule::port_comma => Some(PortToken::Comma(range(&part))),
            Rule::port_dash => Some(PortToken::Dash(range(&part))),
            _ => None,
        })
        .collect();
    Ports { tokens, at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Vec<Stmt>, Diagnostic> {
        parse(&SourceMap::new("t", s))
    }

    #[test]
    fn parses_the_main_forms() {
        let src = "require(package \"x\"); define($A 1);\n\
                   elementclass Foo { $a, KW $b | input -> Print($a) -> output || ... }\n\
                   elementclass Bar Foo;\n\
                   a, b :: Idle; a [0,1] => [0,] b -> { -> } -> (-> c :: Idle) -> d;";
        let stmts = parse_str(src).unwrap();
        assert_eq!(stmts.len(), 6);
    }

    #[test]
    fn config_runs_to_matching_paren() {
        let stmts = parse_str("x :: A(a (b) \")\" ')' // )\n /* ) */ c);").unwrap();
        let Stmt::Connection(c) = &stmts[0] else {
            panic!()
        };
        let Some(Elem::Named {
            config: Some(cfg), ..
        }) = &c.lists[0][0].elem
        else {
            panic!()
        };
        assert_eq!(cfg.text, "a (b) \")\" ')' // )\n /* ) */ c");
    }

    fn unclosed_at(s: &str) -> (String, String, String) {
        let d = parse_str(s).unwrap_err();
        let note = &d.notes[0];
        let place = |span: &Option<crate::Span>| span.as_ref().unwrap().to_string();
        (
            d.message.clone(),
            place(&d.span),
            place(&note.span) + " " + &note.message,
        )
    }

    #[test]
    fn unclosed_brackets_say_where_they_opened() {
        let (message, at, note) = unclosed_at("Idle -> Print(\"abc\n -> Discard;\n");
        assert_eq!(
            message,
            "unclosed string: expected '\"' before the end of the file"
        );
        assert_eq!(
            (at, note),
            ("t:3:1".into(), "t:1:15 string opened here".into())
        );
        let (message, _, note) = unclosed_at("x :: A(a (b (c) d\n");
        assert_eq!(
            message,
            "unclosed '(': expected ')' before the end of the file"
        );
        assert_eq!(note, "t:1:10 '(' opened here");
        let (_, _, note) = unclosed_at("x :: A(a /* (\n");
        assert_eq!(note, "t:1:10 comment opened here");
        let (message, _, note) = unclosed_at("elementclass A {\n input -> output\n");
        assert_eq!(
            message,
            "unclosed '{': expected '}' before the end of the file"
        );
        assert_eq!(note, "t:1:16 '{' opened here");
        let (_, _, note) = unclosed_at("a -> ( -> { -> b");
        assert_eq!(note, "t:1:11 '{' opened here", "the innermost");
        let d = parse_str("a -> (b").unwrap_err();
        assert_eq!(d.click_line(), "t:1: expected ')'");
    }

    #[test]
    fn keywords_are_not_idents() {
        assert!(parse_str("elementclassX :: Idle;").is_ok());
        assert!(parse_str("require :: Idle;").is_err());
    }
}
