//! Parses and flattens a generated 10,000-element configuration.
//!
//! `cargo bench -p click-lang --bench flatten` (plain `Instant` timing, no
//! harness). Half the elements come from compound expansion.

use std::time::Instant;

use click_lang::{load_str, LoadOptions};

/// 1,000 plain chains of 4 elements, and 1,000 lines holding a 4-element
/// compound between two plain elements: 10,000 elements after flattening.
fn config() -> String {
    let mut s = String::from(
        "define($LIMIT 10);\n\
         elementclass Stage { $n | input -> c :: Counter -> q :: Queue($n) -> u :: Unqueue -> p :: Paint($n) -> output }\n",
    );
    for i in 0..1000 {
        s += &format!(
            "src{i} :: InfiniteSource(LIMIT $LIMIT) -> c{i} :: Counter -> [0] sw{i} :: StaticSwitch(0) [0] -> Discard;\n"
        );
    }
    for i in 0..1000 {
        s += &format!("Idle -> st{i} :: Stage({i}) -> Discard;\n");
    }
    s
}

fn main() {
    let text = config();
    let opts = LoadOptions::default();
    let mut best = f64::MAX;
    let mut elements = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let flat = load_str(&text, "bench.click", &opts).expect("generated config loads");
        let printed = flat.to_click();
        best = best.min(start.elapsed().as_secs_f64());
        elements = flat.elements.len();
        assert!(printed.len() > text.len() / 2);
    }
    println!(
        "flatten: {elements} elements, {} bytes of source: best of 5 {:.1} ms (load_str + to_click)",
        text.len(),
        best * 1e3
    );
}
