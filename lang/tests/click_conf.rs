//! Every configuration shipped with Click parses, flattens, and survives a
//! round trip through `to_click()`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use click_lang::{load_file, load_str, FlatConfig, LoadOptions};

/// `shared/` sits beside the workspace (here and in CI).
fn shared_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [manifest.join("../../shared"), manifest.join("../shared")]
        .into_iter()
        .find(|p| p.join("click-conf").is_dir())
        .expect("shared/click-conf not found beside the workspace")
}

/// Files Click's own parser rejects too (they need a macro preprocessor).
const NOT_CLICK: &[&str] = &["grid.click"];

type Graph = (
    BTreeSet<(String, String, String)>,
    BTreeSet<(String, usize, String, usize)>,
);

/// A configuration as a set of facts, independent of order.
fn graph(c: &FlatConfig) -> Graph {
    let elements = c
        .elements
        .iter()
        .map(|e| (e.name.clone(), e.class.clone(), e.config.clone()))
        .collect();
    let name = |i: usize| c.elements[i].name.clone();
    let connections = c
        .connections
        .iter()
        .map(|k| (name(k.from), k.from_port, name(k.to), k.to_port))
        .collect();
    (elements, connections)
}

#[test]
fn click_conf_files_flatten_and_round_trip() {
    let dir = shared_dir().join("click-conf");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read click-conf")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("click" | "clickpat" | "ipb")
            )
        })
        .collect();
    files.sort();
    assert!(
        files.len() > 40,
        "expected Click's sample configurations in {}",
        dir.display()
    );
    let opts = LoadOptions::default();
    for path in files {
        let file_name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = load_file(&path, &opts);
        if NOT_CLICK.contains(&file_name.as_str()) {
            assert!(result.is_err(), "{file_name} should be rejected");
            continue;
        }
        let flat = result.unwrap_or_else(|d| panic!("{file_name}:\n{}", d.render()));
        let text = flat.to_click();
        let again = load_str(&text, "flat", &opts)
            .unwrap_or_else(|d| panic!("{file_name} reflattened:\n{}\n{text}", d.render()));
        assert_eq!(
            graph(&flat),
            graph(&again),
            "{file_name}: round trip changed the graph"
        );
        assert_eq!(
            text,
            again.to_click(),
            "{file_name}: flat output is not a fixed point"
        );
    }
}
