//! `router`: load a Click configuration and run it (see `router --help`).

fn main() -> std::process::ExitCode {
    router::main_with(router::registry())
}
