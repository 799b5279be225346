//! docs/ELEMENTS.md, the element reference, is made from the doc comments
//! of the element structs in elements/src and netmap-io/src (the device
//! elements), so it cannot drift
//! from the code: this test regenerates it and fails if the file differs.
//! After changing an element's doc comment, run
//!
//! ```sh
//! ELEMENTS_BLESS=1 cargo test --test element_reference
//! ```
//!
//! and commit both. Every registered class must have an entry.

use std::path::{Path, PathBuf};

const DOC: &str = "docs/ELEMENTS.md";

/// The `.rs` files under `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read elements source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `(struct name, doc lines)` for every documented `pub struct`.
fn documented_structs(source: &str) -> Vec<(String, Vec<String>)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("pub struct ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut doc = Vec::new();
        for l in lines[..i].iter().rev().skip_while(|l| l.starts_with("#[")) {
            match l.strip_prefix("///") {
                Some(text) => doc.push(text.strip_prefix(' ').unwrap_or(text).to_string()),
                None => break,
            }
        }
        doc.reverse();
        if !doc.is_empty() {
            found.push((name, doc));
        }
    }
    found
}

/// Rustdoc links to plain code: "[`Queue`](crate::Queue)" -> "`Queue`".
fn unlink(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("[`") {
        let Some(mid) = rest[start..].find("`](") else {
            break;
        };
        let Some(end) = rest[start + mid..].find(')') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&rest[start + 1..start + mid + 1]);
        rest = &rest[start + mid + end + 1..];
    }
    out.push_str(rest);
    out
}

fn generate(root: &Path) -> String {
    let mut registry = click_elements::registry();
    netmap_io::register(&mut registry);
    let mut classes = registry.class_names();
    classes.sort();
    let mut docs = std::collections::BTreeMap::new();
    let files = [root.join("elements/src"), root.join("netmap-io/src")]
        .iter()
        .flat_map(|dir| sources(dir))
        .collect::<Vec<_>>();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read element source");
        let rel = file
            .strip_prefix(root)
            .expect("under the root")
            .display()
            .to_string();
        for (name, doc) in documented_structs(&text) {
            docs.insert(name, (rel.clone(), doc));
        }
    }
    let mut out = String::from(
        "# Element reference\n\n\
         Generated from the elements' doc comments by `tests/element_reference.rs`\n\
         (`ELEMENTS_BLESS=1 cargo test --test element_reference`); edit the doc\n\
         comments, not this file. Semantics follow Click's elements of the same\n\
         name; where we differ, the entry says so.\n\n",
    );
    out.push_str("| class | source |\n|---|---|\n");
    for class in &classes {
        let source = docs
            .get(*class)
            .map_or("an alias".to_string(), |(file, _)| format!("`{file}`"));
        out.push_str(&format!(
            "| [{class}](#{}) | {source} |\n",
            class.to_lowercase()
        ));
    }
    for class in &classes {
        out.push_str(&format!("\n## {class}\n\n"));
        match docs.get(*class) {
            Some((_, doc)) => {
                for line in doc {
                    out.push_str(&unlink(line));
                    out.push('\n');
                }
            }
            None => match click_elements::ALIASES.iter().find(|(a, _)| a == class) {
                Some((_, target)) => out.push_str(&format!(
                    "Another name for [{target}](#{}), as in Click.\n",
                    target.to_lowercase()
                )),
                None => panic!("{class} is registered but has no doc comment"),
            },
        }
    }
    out
}

#[test]
fn element_reference_is_in_sync() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = generate(root);
    let path = root.join(DOC);
    if std::env::var_os("ELEMENTS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the element reference");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{DOC} is out of date: run `ELEMENTS_BLESS=1 cargo test --test element_reference`"
    );
}
