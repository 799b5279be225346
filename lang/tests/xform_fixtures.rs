//! `click_lang::xform` against Click's own click-xform, kept in
//! `tests/xform-fixtures` (see its README).

use std::path::{Path, PathBuf};

use click_lang::{load_file, load_patterns_file, xform, LoadOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xform-fixtures")
}

/// Without what ours leaves out: `#` line directives and blank lines.
fn normalize(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

fn ours(name: &str) -> String {
    let opts = LoadOptions::default();
    let dir = fixtures();
    let config = load_file(&dir.join(format!("{name}.click")), &opts).unwrap();
    let patterns = load_patterns_file(&dir.join(format!("{name}.pat")), &opts).unwrap();
    xform(&config, &patterns, false)
        .unwrap()
        .config
        .to_click_expanded()
}

#[test]
fn outputs_match_clicks() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "click-xform")
                .then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let expected =
            std::fs::read_to_string(fixtures().join(format!("{name}.click-xform"))).unwrap();
        let (expected, got) = (normalize(&expected), normalize(&ours(name)));
        if expected != got {
            failures.push(format!("{name}:\n--- Click\n{expected}--- ours\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
