//! The route lookup elements against Click's own output: every
//! `tests/iplookup/NAME.click` must make `router` print what Click printed
//! (`NAME.stdout`, `NAME.stderr`; see tests/iplookup/README.md).

use std::path::Path;
use std::process::Command;

#[test]
fn route_lookups_print_what_click_prints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/iplookup");
    let mut configs: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/iplookup")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "click"))
        .collect();
    configs.sort();
    assert!(configs.len() >= 10, "fixtures missing: {configs:?}");
    let mut failures = Vec::new();
    for config in &configs {
        let out = Command::new(env!("CARGO_BIN_EXE_router"))
            .arg(config.file_name().expect("file name"))
            .current_dir(&dir)
            .output()
            .expect("run router");
        for (stream, got) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let want = std::fs::read(config.with_extension(stream)).unwrap_or_default();
            if *got != want {
                failures.push(format!(
                    "{} ({stream}):\n--- Click ---\n{}--- router ---\n{}",
                    config.display(),
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(got)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
