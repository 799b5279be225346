//! Our output against Click's own, kept in `tests/click-fixtures` (see its
//! README): `click-flatten` for `to_click()`, `click -qo-` for
//! `to_click_expanded()`.

use std::path::{Path, PathBuf};

use click_lang::{load_str, LoadOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/click-fixtures")
}

/// Click's output without what ours leaves out: `#` line directives, blank
/// lines, the router's closing complaint.
fn normalize(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter(|l| *l != "Router could not be initialized!")
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What we print for `NAME.click`: as `router --flatten` does (`flatten`)
/// or as `router -q -o -` does.
fn ours(name: &str, flatten: bool) -> String {
    let dir = fixtures();
    let text = std::fs::read_to_string(dir.join(format!("{name}.click"))).unwrap();
    let defines = std::fs::read_to_string(dir.join(format!("{name}.args")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let opts = LoadOptions {
        defines,
        ..Default::default()
    };
    match load_str(&text, &format!("{name}.click"), &opts) {
        Ok(c) if flatten => match c.flatten_errors() {
            Some(d) => d.render_click(),
            None => c.to_click(),
        },
        Ok(c) => c.to_click_expanded(),
        Err(d) => d.render_click(),
    }
}

#[test]
fn outputs_match_clicks() {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_string();
            match path.extension()?.to_str()? {
                "click-flatten" => Some((name, true)),
                "click-qo" => Some((name, false)),
                _ => None,
            }
        })
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for (name, flatten) in &names {
        let ext = if *flatten {
            "click-flatten"
        } else {
            "click-qo"
        };
        let expected = std::fs::read_to_string(fixtures().join(format!("{name}.{ext}"))).unwrap();
        let (expected, got) = (normalize(&expected), normalize(&ours(name, *flatten)));
        if expected != got {
            failures.push(format!(
                "{name}.{ext}:\n--- Click\n{expected}--- ours\n{got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
