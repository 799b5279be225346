//! One case of the whole-configuration fuzzing: what `router --check`
//! does with a configuration's bytes (load: parse and flatten; the graph's
//! checks; every element configured; placement), with every element of
//! the full registry, plus the printers and both renderings of errors.
//! Shared by the proptest (`tests/fuzz_check.rs`) and the cargo-fuzz
//! target (`fuzz/fuzz_targets/check.rs`); see docs/FUZZING.md.

#![allow(dead_code)] // each user takes its part

use std::path::PathBuf;
use std::sync::OnceLock;

use click_engine::{ConfigureCtx, Processing, Registry, Router};

/// The full registry, made once.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(click_elements::registry)
}

/// Runs one case. A panic anywhere (ours, or an element's, which the
/// engine catches and reports as `panicked: ...`) fails it.
pub fn check(bytes: &[u8]) {
    let registry = registry();
    let config = match click_lang::load_bytes(bytes, "fuzz", &Default::default()) {
        Ok(config) => config,
        Err(d) => {
            render(&d);
            return;
        }
    };
    let _ = config.to_click();
    let _ = config.to_click_expanded();
    let _ = config.to_dot();
    if let Some(d) = config.flatten_errors() {
        render(&d);
    }
    match Router::new(&config, registry) {
        Ok(router) => {
            for threads in [1, 2] {
                if let Err(errors) = router.check_threads(threads) {
                    no_panic(&errors);
                }
            }
        }
        Err(errors) => {
            no_panic(&errors);
            render(&click_lang::Diagnostics::with_sources(
                errors,
                &config.sources,
            ));
            // The graph failed: configure each element of a known class
            // on its own, so that mutated arguments still reach configure.
            configure_alone(&config, registry);
        }
    }
}

fn configure_alone(config: &click_lang::FlatConfig, registry: &Registry) {
    let (mut nin, mut nout) = (
        vec![0; config.elements.len()],
        vec![0; config.elements.len()],
    );
    for c in &config.connections {
        nout[c.from] = nout[c.from].max(c.from_port + 1);
        nin[c.to] = nin[c.to].max(c.to_port + 1);
    }
    for (i, e) in config.elements.iter().enumerate() {
        let Some(spec) = registry.get(&e.class) else {
            continue;
        };
        // Elements that refuse absurd port counts do so by their class.
        let inputs = vec![Processing::Push; nin[i].min(64)];
        let outputs = vec![Processing::Push; nout[i].min(64)];
        let ctx = ConfigureCtx {
            name: &e.name,
            inputs: &inputs,
            outputs: &outputs,
        };
        if let Err(e) = spec.create(&e.config, &ctx) {
            assert!(!e.contains("panicked"), "{e}");
        }
    }
}

fn no_panic(errors: &[click_lang::Diagnostic]) {
    for e in errors {
        assert!(!e.message.contains("panicked"), "{}", e.message);
    }
}

fn render(d: &click_lang::Diagnostics) {
    let _ = d.render();
    let _ = d.render_click();
}

/// Click's sample configurations (`shared/click-conf/*.click`, beside the
/// workspace) and ours (`configs/`, which use the classes we have, so
/// more of them get past the class check), sorted by name.
pub fn samples() -> &'static [(String, Vec<u8>)] {
    static SAMPLES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let shared = [
            manifest.join("../shared/click-conf"),
            manifest.join("../../shared/click-conf"),
        ]
        .into_iter()
        .find(|p| p.is_dir());
        let ours = [manifest.join("configs"), manifest.join("configs/bench")];
        let mut files: Vec<(String, Vec<u8>)> = shared
            .into_iter()
            .chain(ours)
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| {
                let path = e.ok()?.path();
                (path.extension()? == "click").then_some(())?;
                let name = path.file_name()?.to_string_lossy().into_owned();
                Some((name, std::fs::read(&path).ok()?))
            })
            .collect();
        files.sort();
        files
    })
}
