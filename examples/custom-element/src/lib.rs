//! A user's own elements, written against click-engine's public API,
//! registered next to the element library and run by the real engine.
//!
//! * [`LengthFilter`]: a per-packet element ([`click_engine::PacketElement`],
//!   Click's `simple_action`) routing packets by length to output 0 or 1.
//! * [`SetDSCP`]: a per-packet element that writes into packets
//!   (copy-on-write, incremental checksum update).
//! * [`RateMeter`]: a batch-native element ([`click_engine::Element`]) with a
//!   timer, reporting packets per second through a handler.
//!
//! [`registry`] returns the `router` binary's classes plus these; the
//! `custom-router` binary (`src/main.rs`, three lines) is the whole
//! `router` command line with them. See `docs/WRITING-ELEMENTS.md` for the
//! guide these examples illustrate.

mod length_filter;
mod rate_meter;
mod set_dscp;

pub use length_filter::LengthFilter;
pub use rate_meter::RateMeter;
pub use set_dscp::{update_checksum, SetDSCP};

use click_engine::{Registry, Router, RunOptions};

/// Every class of the `router` binary plus this crate's.
pub fn registry() -> Registry {
    let mut r = router::registry();
    r.add::<LengthFilter>().add::<RateMeter>().add::<SetDSCP>();
    r
}

/// Parses `config`, builds a router against [`registry`], runs it on one
/// thread until it stops, and returns the final values of `handlers`
/// (`element.handler`), in order. Errors (parse, check or configure) come
/// back rendered, one per line, each naming the element at fault.
pub fn run_config(config: &str, handlers: &[&str]) -> Result<Vec<String>, String> {
    let flat =
        click_lang::load_str(config, "config", &Default::default()).map_err(|d| d.render())?;
    let router = Router::new(&flat, &registry()).map_err(render)?;
    let opts = RunOptions {
        final_reads: handlers.iter().map(|h| h.to_string()).collect(),
        ..RunOptions::default()
    };
    let report = router.run(&opts).map_err(render)?;
    report.reads.into_iter().collect()
}

fn render(errors: Vec<click_lang::Diagnostic>) -> String {
    errors.iter().map(|d| format!("{d}\n")).collect()
}
