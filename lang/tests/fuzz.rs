//! Whatever the input, loading never panics: it returns a configuration or
//! diagnostics whose positions point into the input.

use std::path::PathBuf;

use click_lang::{load_str, Diagnostics, LoadOptions};
use proptest::prelude::*;

fn check(src: &str) {
    match load_str(src, "fuzz", &LoadOptions::default()) {
        Ok(config) => {
            // What we print must load again.
            let text = config.to_click();
            if let Err(d) = load_str(&text, "again", &LoadOptions::default()) {
                panic!("flat output does not reload:\n{}\n{text}", d.render_click());
            }
            let _ = config.to_dot();
        }
        Err(d) => check_positions(src, &d),
    }
}

fn check_positions(src: &str, d: &Diagnostics) {
    assert!(!d.errors.is_empty());
    for e in &d.errors {
        if let Some(span) = &e.span {
            assert!(
                span.start <= src.len() && span.end >= span.start,
                "{span:?} outside input"
            );
            assert!(span.line >= 1 && span.column >= 1, "{span:?}");
        }
    }
    let _ = d.render();
}

/// Click's sample configurations, to mutate (read once).
fn samples() -> &'static [String] {
    static SAMPLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(|| {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = [
            manifest.join("../../shared/click-conf"),
            manifest.join("../shared/click-conf"),
        ]
        .into_iter()
        .find(|p| p.is_dir());
        let mut texts: Vec<String> = dir
            .and_then(|d| std::fs::read_dir(d).ok())
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect();
        texts.sort();
        texts.push(
            "a :: A(1) -> b :: { $x | input -> X($x) -> output || ... } -> [1] (-> c) => d, e;"
                .into(),
        );
        texts
    })
}

const TOKENS: &[&str] = &[
    "->",
    "=>",
    "::",
    "||",
    "...",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    "|",
    "$a",
    "${a-1}",
    "input",
    "output",
    "elementclass",
    "require(",
    "define(",
    "\"",
    "'",
    "/*",
    "//",
    "\n# 3 \"f\"\n",
    "@",
    "/",
    "0",
    "x",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(src in "\\PC{0,200}") {
        check(&src);
    }

    #[test]
    fn token_soup(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        check(&tokens.join(" "));
    }

    #[test]
    fn mutated_samples(which in any::<prop::sample::Index>(), edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(TOKENS), 0usize..4), 1..6)) {
        let samples = samples();
        let mut text = samples[which.index(samples.len())].clone();
        for (at, token, cut) in edits {
            let mut pos = at.index(text.len() + 1);
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            let mut end = (pos + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(pos..end, token);
        }
        check(&text);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let opens = [
        "(",
        "{",
        "x -> (",
        "x -> {",
        "a :: {",
        "elementclass A {",
        "a(",
        "[",
        "-> (",
    ];
    for open in opens {
        check(&open.repeat(100_000));
        check(&open.repeat(255));
    }
    // Closed nesting just under the limit parses, in a test thread's stack.
    let nested = format!(
        "a :: A; b :: B; a -> {}b{};",
        "(-> ".repeat(200),
        " ->)".repeat(200)
    );
    check(&nested);
}

#[test]
fn long_tunnel_chains_do_not_recurse() {
    let groups = format!("a :: A; b :: B; a{} -> b;", " -> (->)".repeat(10_000));
    let c = load_str(&groups, "t", &LoadOptions::default()).unwrap();
    assert_eq!(c.to_click(), "a :: A;\nb :: B;\n\na -> b;\n");
}
