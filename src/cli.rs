//! The command line: load a Click configuration and run it, or print,
//! check or draw it (`--flatten`, `--check`, `--dot`). Flags follow Click's
//! `click` driver where they make sense (`-e`, `-f`, `-h`, `-j`, `-o`,
//! `-q`).

use crate::{hotswap, run};

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use clap::Parser;
use click_engine::Registry;
use click_lang::{Diagnostics, FlatConfig, LoadOptions};

/// The Click modular router, rebuilt in Rust.
#[derive(Parser, Debug)]
#[command(name = "router", version, disable_help_flag = true)]
struct Cli {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Read handler ELEMENT.HANDLER after the run and print its value
    /// (repeatable; Click's `-h`).
    #[arg(short = 'h', long = "handler", value_name = "ELEMENT.HANDLER")]
    handlers: Vec<String>,
    /// Read handler ELEMENT.HANDLER after the run and exit with its value:
    /// an integer, or a boolean (true 0, false 1) (Click's `-x`).
    #[arg(short = 'x', long = "exit-handler", value_name = "ELEMENT.HANDLER")]
    exit_handler: Option<String>,
    /// Scheduler threads, one per core.
    #[arg(short = 'j', long = "threads", value_name = "N", default_value_t = 1)]
    threads: usize,
    /// Pin scheduler thread T to core OFFSET+T, counting the cores this
    /// process may use (Click's `--affinity`; OFFSET defaults to 0). With
    /// `-j N` for N > 1 threads are pinned from the first core unless
    /// `--no-affinity`; one thread is not pinned by default.
    #[arg(
        short = 'a',
        long = "affinity",
        value_name = "OFFSET",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "0"
    )]
    affinity: Option<usize>,
    /// Do not pin scheduler threads to cores.
    #[arg(long = "no-affinity", conflicts_with = "affinity")]
    no_affinity: bool,
    /// Simulated time (Click's `--simtime`): the clock is virtual and
    /// jumps to the next timer whenever no task is runnable; optionally
    /// the start time in seconds since the epoch (default 1000000000).
    /// With `-j N`, time jumps only when no thread has a task to run.
    #[arg(
        long = "simtime",
        alias = "simulation-time",
        value_name = "START",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1000000000"
    )]
    simtime: Option<f64>,
    /// Print each element's statistics when the run ends, on standard
    /// error: packets in and out by port, drops by reason, and the cycles
    /// it cost per packet (sampled). The global `stats` handler reads the
    /// same table while the router runs.
    #[arg(long)]
    stats: bool,
    /// Print the run's user and system CPU time and its wall-clock time
    /// (`0.120u 0.004s 0:00.13`, Click's `-t`).
    #[arg(short = 't', long)]
    time: bool,
    /// More logging (repeatable); `RUST_LOG` sets it finely.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// Do not print warnings, only errors (Click's `-w`).
    #[arg(short = 'w', long = "no-warnings", conflicts_with = "verbose")]
    no_warnings: bool,
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
    /// Click's click-xform: replace the patterns of the pattern file
    /// PATTERNS (pairs of compound classes `X` and `X_Replacement`;
    /// repeatable) until none matches, and print the result flattened.
    #[arg(long = "xform", value_name = "PATTERNS")]
    xform: Vec<String>,
    /// With --xform: replace each pattern's replacement by the pattern,
    /// the last pattern first (click-xform's `-r`).
    #[arg(long, requires = "xform")]
    reverse: bool,
    /// Click's click-align: print the configuration flattened, as
    /// --flatten does. Click adds Align elements where its elements need
    /// aligned IP headers; this router reads headers at any alignment, so
    /// nothing is added.
    #[arg(long, conflicts_with = "xform")]
    align: bool,
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
    /// Serve handlers on TCP port PORT of 127.0.0.1 (a ControlSocket,
    /// Click's `-p`; repeatable); ADDR:PORT listens on another address
    /// (0.0.0.0:PORT: every interface), with a warning.
    #[arg(short = 'p', long = "port", value_name = "[ADDR:]PORT")]
    ports: Vec<String>,
    /// Serve handlers on the Unix-domain socket FILE, made usable by its
    /// owner only (a ControlSocket, Click's `-u`; repeatable).
    #[arg(short = 'u', long = "unix-socket", value_name = "FILE")]
    unix_sockets: Vec<String>,
    /// Allow hot swapping: writing new configuration text to the global
    /// `hotconfig` handler replaces the running router (Click's `-R`).
    #[arg(short = 'R', long = "allow-reconfigure")]
    allow_reconfigure: bool,
}

enum Mode {
    Flatten,
    Xform,
    Dot,
    Check,
    /// Click's `-q`: configure and initialize, run nothing, then read the
    /// `-h` handlers.
    Quiet,
    Run,
}

/// A build for x86-64-v3 (the default, see .cargo/config.toml) on a
/// processor without AVX2 would die of an illegal instruction somewhere:
/// say so instead, before anything else runs.
fn processor_check() -> Result<(), String> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    if !std::arch::is_x86_feature_detected!("avx2") {
        return Err(
            "this build needs a processor with AVX2 (x86-64-v3); rebuild with \
                    RUSTFLAGS=\"-C llvm-args=-align-loops=64\" for an older one"
                .into(),
        );
    }
    Ok(())
}

/// Runs the command line of this process with the element classes of
/// `registry`.
pub fn main_with(registry: Registry) -> ExitCode {
    if let Err(message) = processor_check() {
        eprintln!("router: {message}");
        return ExitCode::FAILURE;
    }
    let mut cli = Cli::parse();
    init_logging(cli.verbose, cli.no_warnings);
    // `router NAME=VALUE` with no file: the first word is a definition.
    if cli
        .config
        .as_deref()
        .is_some_and(|c| c.contains('=') && !std::path::Path::new(c).exists())
    {
        let first = cli.config.take().unwrap_or_default();
        cli.defines.insert(0, first);
    }
    match real_main(cli, Arc::new(registry)) {
        Ok(status) => ExitCode::from(status),
        Err(message) => {
            if !message.is_empty() {
                eprint!("{message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs what the command line asks; the exit status on success.
fn real_main(cli: Cli, registry: Arc<Registry>) -> Result<u8, String> {
    let mode = if cli.dot {
        Mode::Dot
    } else if !cli.xform.is_empty() {
        Mode::Xform
    } else if cli.flatten || cli.align || (cli.quiet && cli.output.is_some()) {
        Mode::Flatten
    } else if cli.check {
        Mode::Check
    } else if cli.quiet {
        Mode::Quiet
    } else {
        Mode::Run
    };
    let opts = load_options(&cli)?;
    if matches!(mode, Mode::Run | Mode::Quiet | Mode::Check) {
        check_threads_and_cores(&cli, matches!(mode, Mode::Run))?;
    }
    let mut config = load(&cli, &opts).map_err(|d| render(&d))?;
    tracing::info!(
        "read {}: {}, {}",
        source_name(&cli),
        plural(config.elements.len(), "element"),
        plural(config.connections.len(), "connection")
    );
    if config.elements.is_empty() && matches!(mode, Mode::Run | Mode::Check) {
        // Click's driver: nothing would ever happen, so say so and end.
        if !cli.no_warnings {
            eprintln!(
                "warning: {}: configuration has no elements, exiting",
                source_name(&cli)
            );
        }
        return Ok(0);
    }
    if matches!(mode, Mode::Run | Mode::Quiet | Mode::Check) {
        add_control_sockets(&cli.ports, &cli.unix_sockets, &mut config);
    }
    match mode {
        // `--flatten` is Click's click-flatten (global variables kept
        // symbolic); `-q -o FILE` is Click's router writing its flat
        // configuration (everything substituted).
        Mode::Xform => {
            let mut patterns = Vec::new();
            for file in &cli.xform {
                let more =
                    click_lang::load_patterns_file(file.as_ref(), &opts).map_err(|d| render(&d))?;
                patterns.extend(more);
            }
            let done = click_lang::xform(&config, &patterns, cli.reverse)
                .map_err(|e| format!("error: {e}\n"))?;
            tracing::info!("{} made", plural(done.replacements, "replacement"));
            write_output(cli.output.as_deref(), &done.config.to_click_expanded()).map(|()| 0)
        }
        Mode::Flatten if cli.flatten || cli.align => match config.flatten_errors() {
            Some(errors) => Err(render(&errors)),
            None => write_output(cli.output.as_deref(), &config.to_click()).map(|()| 0),
        },
        Mode::Flatten => {
            write_output(cli.output.as_deref(), &config.to_click_expanded()).map(|()| 0)
        }
        Mode::Dot => write_output(cli.output.as_deref(), &config.to_dot()).map(|()| 0),
        Mode::Check => run::build(&config, &registry, cli.threads)
            .map(|router| say_messages(&config, &router))
            .map(|()| 0)
            .map_err(|e| render_engine(&config, &e)),
        Mode::Quiet | Mode::Run => {
            let router = run::build(&config, &registry, cli.threads)
                .map_err(|e| render_init_failure(&config, &e))?;
            say_messages(&config, &router);
            let flags = run::RunFlags {
                handlers: cli.handlers.clone(),
                exit_handler: cli.exit_handler.clone(),
                threads: cli.threads,
                time: cli.time,
                pin: pinning(&cli),
                simtime: cli.simtime,
                stats: cli.stats,
            };
            if matches!(mode, Mode::Quiet) {
                run::initialize_only(&router, &flags).map_err(|e| render_init_failure(&config, &e))
            } else {
                let reconfigure = cli
                    .allow_reconfigure
                    .then(|| hotswap::Reconfigure::new(hotconfig_builder(&cli, opts, registry)));
                let loaded = hotswap::Loaded { router, config };
                run::run(loaded, &flags, reconfigure, render_engine)
            }
        }
    }
}

/// `-p PORT` and `-u FILE` add a ControlSocket each, as Click's driver does
/// (named as Click names them: `click_driver@@ControlSocket`, then `@1`,
/// `@2`, ...).
///
/// Each comes from its flag: errors about it name the flag (`-p 7777:
/// ...`), not a place in the configuration.
fn add_control_sockets(ports: &[String], unix_sockets: &[String], config: &mut FlatConfig) {
    let sockets = ports
        .iter()
        .map(|p| (format!("tcp, {p}"), format!("-p {p}")));
    let sockets = sockets.chain(
        unix_sockets
            .iter()
            .map(|f| (format!("unix, {f}"), format!("-u {f}"))),
    );
    for (i, (socket, flag)) in sockets.enumerate() {
        let suffix = if i == 0 {
            String::new()
        } else {
            format!("@{i}")
        };
        config.elements.push(click_lang::FlatElement {
            name: format!("click_driver@@ControlSocket{suffix}"),
            class: "ControlSocket".into(),
            config: socket,
            span: click_lang::Span::command_line(&flag),
            implicit_class: false,
        });
    }
}

/// How `-R`'s `hotconfig` handler builds a router from new text: as the
/// command line built the first (definitions, library path, control
/// sockets, threads). Errors are Click's one-line messages, as a
/// ControlSocket client gets them.
fn hotconfig_builder(cli: &Cli, opts: LoadOptions, registry: Arc<Registry>) -> hotswap::Build {
    let (ports, unix_sockets, threads) = (cli.ports.clone(), cli.unix_sockets.clone(), cli.threads);
    Box::new(move |text| {
        let mut config =
            click_lang::load_str(text, "hotconfig", &opts).map_err(|d| d.render_click())?;
        add_control_sockets(&ports, &unix_sockets, &mut config);
        let unknown = click_engine::unknown_classes(&config, &registry);
        if !unknown.is_empty() {
            return Err(Diagnostics::with_sources(unknown, &config.sources).render_click());
        }
        match run::build(&config, &registry, threads) {
            Ok(router) => Ok(hotswap::Loaded { router, config }),
            Err(errors) => Err(format!(
                "{}Router could not be initialized!",
                Diagnostics::with_sources(errors, &config.sources).render_click()
            )),
        }
    })
}

/// `-j` and `--affinity` against the cores this process may use: `-j 0`
/// and an OFFSET past the last core are refused (a router needs a thread;
/// there is no such core), and with `warn` (a run) more threads than
/// cores is said, since pinned threads then share cores and unpinned ones
/// take turns.
fn check_threads_and_cores(cli: &Cli, warn: bool) -> Result<(), String> {
    if cli.threads == 0 {
        return Err("error: -j 0: a router needs at least one scheduler thread\n".into());
    }
    let Some(cores) = usable_cores() else {
        return Ok(());
    };
    if let Some(offset) = cli.affinity.filter(|_| !cli.no_affinity) {
        if offset >= cores {
            return Err(format!(
                "error: --affinity={offset}: this process may use {}, so OFFSET is at most {}\n",
                plural(cores, "core"),
                cores - 1
            ));
        }
    }
    if warn && !cli.no_warnings && cli.threads > cores {
        let how = match pinning(cli) {
            Some(_) => "pinned threads share cores (--no-affinity leaves them to the kernel)",
            None => "the threads take turns on them",
        };
        eprintln!(
            "warning: -j {}: this process may use {}: {how}",
            cli.threads,
            plural(cores, "core")
        );
    }
    Ok(())
}

/// `1 core`, `2 cores`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// How many cores this process may run on (its affinity mask), as the
/// engine counts them when it pins threads.
fn usable_cores() -> Option<usize> {
    // SAFETY: sched_getaffinity writes at most `size_of::<cpu_set_t>()`
    // bytes into the set we own; CPU_COUNT only reads it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        usize::try_from(libc::CPU_COUNT(&set))
            .ok()
            .filter(|&n| n > 0)
    }
}

/// Where scheduler threads are pinned: `--affinity[=OFFSET]`, or from core
/// 0 when there are several threads, unless `--no-affinity`.
fn pinning(cli: &Cli) -> Option<usize> {
    match (cli.affinity, cli.no_affinity) {
        (_, true) => None,
        (Some(offset), false) => Some(offset),
        (None, false) => (cli.threads > 1).then_some(0),
    }
}

/// Logs go to standard error through tracing: warnings by default (only
/// errors with `-w`), more with each `-v`, or as `RUST_LOG` says.
fn init_logging(verbose: u8, no_warnings: bool) {
    let default = if no_warnings {
        "error"
    } else {
        ["warn", "info", "debug", "trace"][usize::from(verbose.min(3))]
    };
    let from_env = tracing_subscriber::EnvFilter::try_from_default_env().ok();
    // Which module logged a line helps a developer (RUST_LOG, -vv and
    // more), not someone following a run with -v.
    let targets = from_env.is_some() || verbose >= 2;
    let filter = from_env.unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(targets)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
}

/// Errors found by the engine (classes, ports, push/pull, arguments),
/// rendered like the language's own.
fn render_engine(config: &FlatConfig, errors: &[click_lang::Diagnostic]) -> String {
    let errors = errors.iter().cloned().map(about_flag).collect();
    render(&Diagnostics::with_sources(errors, &config.sources))
}

/// As [`render_engine`], for a router that could not be built to run:
/// Click's driver ends that report with "Router could not be
/// initialized!", which Click's tests expect. Errors about a flag alone
/// (`-p 99999`) are the command line's, which Click reports before it
/// makes a router, without that line.
fn render_init_failure(config: &FlatConfig, errors: &[click_lang::Diagnostic]) -> String {
    let text = render_engine(config, errors);
    let about_flags_only = errors
        .iter()
        .all(|d| d.span.as_ref().is_some_and(|s| s.is_command_line()));
    if click_errors() && !about_flags_only {
        text + "Router could not be initialized!\n"
    } else {
        text
    }
}

/// Prints what elements said while configured that is not an error
/// (Message's text) on standard error, where Click prints it: in Click's
/// form under `ROUTER_ERRORS=click`, else labelled `info`.
fn say_messages(config: &FlatConfig, router: &click_engine::Router) {
    if router.messages().is_empty() {
        return;
    }
    let messages = Diagnostics::with_sources(router.messages().to_vec(), &config.sources);
    if click_errors() {
        eprint!("{}", messages.render_click());
    } else {
        eprint!("{}", messages.render_as("info"));
    }
}

/// An error about an element a flag added (`-p 7777`'s ControlSocket) is
/// about the flag, which the rendering names: the element's internal name
/// (`while initializing 'click_driver@@ControlSocket :: ControlSocket'`)
/// and a repeat of the flag's value are left out.
fn about_flag(mut d: click_lang::Diagnostic) -> click_lang::Diagnostic {
    let Some(flag) = d.span.as_ref().filter(|s| s.is_command_line()) else {
        return d;
    };
    let value = flag.file.split_once(' ').map_or("", |(_, v)| v).to_string();
    let mut message = d.message.as_str();
    for context in ["while configuring '", "while initializing '"] {
        if let Some((_, rest)) = message
            .strip_prefix(context)
            .and_then(|m| m.split_once("': "))
        {
            message = rest;
        }
    }
    for repeat in [format!("{value}: "), format!("port {value}: ")] {
        message = message.strip_prefix(repeat.as_str()).unwrap_or(message);
    }
    d.message = message.to_string();
    d
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

/// The configuration's name in messages: the file, `config` for `-e`,
/// `<stdin>`.
fn source_name(cli: &Cli) -> String {
    if cli.expr.is_some() {
        return "config".into();
    }
    match cli.file.as_deref().or(cli.config.as_deref()) {
        Some(path) if path != "-" => path.into(),
        _ => "<stdin>".into(),
    }
}

fn load(cli: &Cli, opts: &LoadOptions) -> Result<FlatConfig, Diagnostics> {
    if let Some(expr) = &cli.expr {
        return click_lang::load_str(expr, "config", opts);
    }
    match cli.file.as_deref().or(cli.config.as_deref()) {
        Some(path) if path != "-" => click_lang::load_file(path.as_ref(), opts),
        _ => {
            let mut bytes = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
                let d = click_lang::Diagnostic::without_span(format!("<stdin>: {e}"));
                return Err(Diagnostics::new(vec![d]));
            }
            click_lang::load_bytes(&bytes, "<stdin>", opts)
        }
    }
}

/// Errors as `error: message`, ` --> file:line:column` and the source line
/// with the text underlined; or, with `ROUTER_ERRORS=click` (set by the
/// testie shims), Click's one-line `file:line: message`, which Click's own
/// tests compare.
fn render(d: &Diagnostics) -> String {
    if click_errors() {
        d.render_click()
    } else {
        d.render()
    }
}

/// Whether errors are rendered Click's way (`ROUTER_ERRORS=click`).
fn click_errors() -> bool {
    std::env::var_os("ROUTER_ERRORS").is_some_and(|v| v == "click")
}

fn write_output(path: Option<&str>, text: &str) -> Result<(), String> {
    match path {
        None | Some("-") => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("stdout: {e}\n")),
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{path}: {e}\n")),
    }
}
