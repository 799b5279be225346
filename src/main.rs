//! `router`: load a Click configuration and (later) run it.
//!
//! For now only the configuration modes exist: `--flatten`, `--check` and
//! `--dot`. Running a router is the engine's job; [`run`] is where it will
//! plug in.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use click_lang::{Diagnostics, FlatConfig, LoadOptions};

/// The Click modular router, rebuilt in Rust.
#[derive(Parser, Debug)]
#[command(name = "router", version)]
struct Cli {
    /// Configuration file (`-` or absent: standard input).
    config: Option<String>,
    /// `NAME=VALUE` definitions, overriding the configuration's `define`s.
    #[arg(value_name = "NAME=VALUE")]
    defines: Vec<String>,
    /// Configuration file (same as the positional CONFIG).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "expr"
    )]
    file: Option<String>,
    /// Read the configuration from this argument (named `config` in errors).
    #[arg(short = 'e', long = "expression", value_name = "EXPR")]
    expr: Option<String>,
    /// Print the flattened configuration and exit.
    #[arg(long)]
    flatten: bool,
    /// Check the configuration without running it.
    #[arg(long)]
    check: bool,
    /// Print the configuration graph in Graphviz dot format and exit.
    #[arg(long)]
    dot: bool,
    /// Write output here instead of standard output (`-`: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<String>,
    /// Quiet: do not run the router (Click's `-q`); with `-o`, print the
    /// flattened configuration.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Directory searched for `require(library ...)` files (repeatable).
    #[arg(short = 'C', long = "clickpath", value_name = "DIR")]
    search_path: Vec<PathBuf>,
}

enum Mode {
    Flatten,
    Dot,
    Check,
    Run,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // `router NAME=VALUE` with no file: the first word is a definition.
    if cli
        .config
        .as_deref()
        .is_some_and(|c| c.contains('=') && !std::path::Path::new(c).exists())
    {
        let first = cli.config.take().unwrap_or_default();
        cli.defines.insert(0, first);
    }
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprint!("{message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> Result<(), String> {
    let mode = if cli.dot {
        Mode::Dot
    } else if cli.flatten || (cli.quiet && cli.output.is_some()) {
        Mode::Flatten
    } else if cli.check || cli.quiet {
        Mode::Check
    } else {
        Mode::Run
    };
    let opts = load_options(&cli)?;
    let config = load(&cli, &opts).map_err(|d| render(&d))?;
    match mode {
        Mode::Flatten => write_output(cli.output.as_deref(), &config.to_click()),
        Mode::Dot => write_output(cli.output.as_deref(), &config.to_dot()),
        Mode::Check => check(&config),
        Mode::Run => run(&config),
    }
}

fn load_options(cli: &Cli) -> Result<LoadOptions, String> {
    let mut defines = Vec::new();
    for d in &cli.defines {
        let (name, value) = d
            .split_once('=')
            .ok_or_else(|| format!("'{d}': expected NAME=VALUE\n"))?;
        defines.push((name.to_string(), value.to_string()));
    }
    Ok(LoadOptions {
        defines,
        search_path: cli.search_path.clone(),
    })
}

fn load(cli: &Cli, opts: &LoadOptions) -> Result<FlatConfig, Diagnostics> {
    if let Some(expr) = &cli.expr {
        return click_lang::load_str(expr, "config", opts);
    }
    match cli.file.as_deref().or(cli.config.as_deref()) {
        Some(path) if path != "-" => click_lang::load_file(path.as_ref(), opts),
        _ => {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                let d = click_lang::Diagnostic::without_span(format!("<stdin>: {e}"));
                return Err(Diagnostics::new(vec![d]));
            }
            click_lang::load_str(&text, "<stdin>", opts)
        }
    }
}

/// Click's one-line errors when stderr is a file or pipe (what Click's
/// tests compare), the rustc-like form with source excerpts on a terminal.
fn render(d: &Diagnostics) -> String {
    if std::io::stderr().is_terminal() {
        d.render()
    } else {
        d.render_click()
    }
}

fn write_output(path: Option<&str>, text: &str) -> Result<(), String> {
    match path {
        None | Some("-") => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("stdout: {e}\n")),
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{path}: {e}\n")),
    }
}

/// Checks beyond parsing (element classes, port counts, processing) will
/// be added here by the engine.
fn check(_config: &FlatConfig) -> Result<(), String> {
    Ok(())
}

/// Running a router: the engine plugs in here.
fn run(_config: &FlatConfig) -> Result<(), String> {
    Err("router: the runtime is not built yet; use --flatten, --check or --dot\n".into())
}
