//! Runs a configuration text through the whole stack: parse, flatten,
//! check, run, read handlers.

#![allow(dead_code)] // each test binary uses its own part

use click_engine::{Router, RunOptions};

pub mod probes;
pub mod record;

/// Runs `config` on `threads` threads and returns the final reads of
/// `handlers` (`element.handler`), or the rendered errors.
pub fn run(config: &str, threads: usize, handlers: &[&str]) -> Result<Vec<String>, String> {
    let flat =
        click_lang::load_str(config, "config", &Default::default()).map_err(|d| d.render())?;
    let mut registry = click_elements::registry();
    registry.add::<record::Record>();
    registry.add::<probes::Number>();
    registry.add::<probes::Alternate>();
    registry.add::<probes::Panicker>();
    registry.add::<probes::Ticker>();
    registry.add::<probes::Flusher>();
    let router = Router::new(&flat, &registry).map_err(render)?;
    let opts = RunOptions {
        threads,
        pin: None,
        final_reads: handlers.iter().map(|h| h.to_string()).collect(),
        ..Default::default()
    };
    let report = router.run(&opts).map_err(render)?;
    report.reads.into_iter().collect()
}

/// Checks `config` without running it.
pub fn check(config: &str) -> Result<(), String> {
    let flat =
        click_lang::load_str(config, "config", &Default::default()).map_err(|d| d.render())?;
    Router::new(&flat, &click_elements::registry())
        .map(|_| ())
        .map_err(render)
}

fn render(errors: Vec<click_lang::Diagnostic>) -> String {
    errors.iter().map(|d| format!("{d}\n")).collect()
}

/// The Internet checksum of `data`, computed from scratch: the
/// tests' own, independent of the library's.
pub fn cksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
