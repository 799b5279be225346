//! Quick throughput check of a config on one thread (development aid; the
//! published figures come from the router binary and shared/bench/mpps.py).
//! Usage: cargo run --release -p click-elements --example quickbench -- FILE [NAME=VALUE...]

use std::time::Instant;

fn main() {
    let mut argv = std::env::args().skip(1);
    let file = argv.next().expect("config file");
    let defines = argv
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let opts = click_lang::LoadOptions {
        defines,
        ..Default::default()
    };
    let flat = click_lang::load_file(std::path::Path::new(&file), &opts)
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router = click_engine::Router::new(&flat, &click_elements::registry())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let run = click_engine::RunOptions {
        final_reads: vec!["c.count".into()],
        ..Default::default()
    };
    let t = Instant::now();
    let report = router.run(&run).unwrap_or_else(|e| panic!("{e:?}"));
    let secs = t.elapsed().as_secs_f64();
    let count: f64 = report.reads[0].as_ref().unwrap().trim().parse().unwrap();
    println!(
        "{count} packets in {secs:.3}s: {:.1} Mpps, {:.2} ns/packet",
        count / secs / 1e6,
        secs * 1e9 / count
    );
}
