//! `custom-router`: the `router` command line, every flag of it, with this
//! crate's element classes next to the library's.
//!
//! ```text
//! custom-router examples/custom-element/demo.click -h lf.passed -h big.count
//! custom-router -j 2 -p 7777 --simtime MY-CONFIG.click
//! ```

fn main() -> std::process::ExitCode {
    router::main_with(custom_element_example::registry())
}
