//! The `router` command line as a library, so that a crate of your own
//! elements gets the whole of it (`-e`, `-h`, `-j`, `-p`, `--simtime`,
//! `-R`, ...) with a `main` of three lines:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let registry = router::registry(); // every built-in element class
//!     // registry.add::<MyElement>();    // and your own
//!     router::main_with(registry)
//! }
//! ```
//!
//! See `docs/WRITING-ELEMENTS.md` and `examples/custom-element/`.

mod cli;
mod hotswap;
mod run;

pub use cli::main_with;

/// Every element class the `router` binary knows: the element library's,
/// and the device elements of netmap-io.
pub fn registry() -> click_engine::Registry {
    let mut r = click_elements::registry();
    netmap_io::register(&mut r);
    r
}
