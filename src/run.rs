//! Checking and running a configuration with the engine: what the binary
//! does once the language has produced a flattened configuration.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use click_engine::packet::Timestamp;
use click_engine::{ClockMode, Registry, Router, RunOptions};
use click_lang::{Diagnostic, FlatConfig};

use crate::hotswap::{Loaded, Reconfigure};

/// The run-time flags of the command line.
#[derive(Debug, Default, Clone)]
pub struct RunFlags {
    /// `-h ELEMENT.HANDLER`: read after the run, printed Click's way.
    pub handlers: Vec<String>,
    /// `-x ELEMENT.HANDLER`: read after the run, its value the exit status.
    pub exit_handler: Option<String>,
    /// `-j N`: scheduler threads.
    pub threads: usize,
    /// `--time`: print the run's CPU and wall-clock time, Click's way.
    pub time: bool,
    /// Pin scheduler thread `t` to core `offset + t`: `Some(offset)`.
    pub pin: Option<usize>,
    /// `--simtime[=START]`: simulated time from START seconds.
    pub simtime: Option<f64>,
    /// `--stats`: print each element's statistics when the run ends.
    pub stats: bool,
}

impl RunFlags {
    /// What to read when the run ends: the `-h` handlers, then `-x`'s.
    fn final_reads(&self) -> Vec<String> {
        let mut reads = self.handlers.clone();
        reads.extend(self.exit_handler.clone());
        reads
    }

    fn clock(&self) -> ClockMode {
        match self.simtime {
            None => ClockMode::Real,
            Some(start) => {
                ClockMode::Simulated(Timestamp::from(Duration::from_secs_f64(start.max(0.0))))
            }
        }
    }
}

/// Builds the router: all checks, all configuration strings.
pub fn build(
    config: &FlatConfig,
    registry: &Registry,
    threads: usize,
) -> Result<Router, Vec<Diagnostic>> {
    let router = Router::new(config, registry)?;
    router.check_threads(threads.max(1))?;
    Ok(router)
}

/// Runs `loaded` until it stops, then prints the handlers asked for and
/// returns the exit status ([`finish`]). With `reconfigure` (`-R`), a
/// `hotconfig` write stops the running router and the new one runs in its
/// place; the handlers are read from the last. Errors come back rendered
/// by `render`, with the sources of the router that failed.
pub fn run(
    mut loaded: Loaded,
    flags: &RunFlags,
    reconfigure: Option<Arc<Reconfigure>>,
    render: impl Fn(&FlatConfig, &[Diagnostic]) -> String,
) -> Result<u8, String> {
    install_signal_handlers();
    let mut opts = RunOptions {
        threads: flags.threads.max(1),
        pin: flags.pin,
        final_reads: flags.final_reads(),
        clock: flags.clock(),
        hotswap: reconfigure.as_ref().map(|r| r.state.clone()),
    };
    if let Some(r) = &reconfigure {
        r.install(&mut loaded.router);
        r.running(&loaded.router);
    }
    let (start, cpu) = (Instant::now(), cpu_times());
    let report = loop {
        let report = loaded
            .router
            .run(&opts)
            .map_err(|e| render(&loaded.config, &e))?;
        match reconfigure.as_ref().and_then(|r| r.take_next()) {
            Some(next) => {
                tracing::info!(
                    "hot swap: the new configuration runs; the replaced one dropped {}",
                    drops_summary(&report.engine_drops)
                );
                loaded = next;
                if let ClockMode::Simulated(_) = opts.clock {
                    // Simulated time goes on, as Click's, which is global.
                    opts.clock = ClockMode::Simulated(report.ended_at);
                }
            }
            None => break report,
        }
    };
    if flags.time {
        print_time(cpu_times().since(cpu), start.elapsed());
    }
    if flags.stats {
        eprint!("{}", click_engine::render_table(&report.stats));
    }
    finish(flags, report.reads).map_err(|e| render(&loaded.config, &e))
}

/// "N packets (a: 2, b: 1)", or "no packet": what a router's elements
/// dropped, for the log of a hot swap (nothing else may be lost there).
fn drops_summary(drops: &[(String, u64)]) -> String {
    let total: u64 = drops.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return "no packet".into();
    }
    let each: Vec<String> = drops
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name}: {n}"))
        .collect();
    format!("{total} packets ({})", each.join(", "))
}

/// Click's `-q`: initializes every element (so initialization errors are
/// reported) but runs no task or timer, then prints the handlers asked for,
/// read from the initialized router. The stop flag is raised before the
/// start, so the scheduler loop never begins.
pub fn initialize_only(router: &Router, flags: &RunFlags) -> Result<u8, Vec<Diagnostic>> {
    router
        .stop_flag()
        .store(true, std::sync::atomic::Ordering::Release);
    let opts = RunOptions {
        threads: flags.threads.max(1),
        pin: None,
        final_reads: flags.final_reads(),
        clock: flags.clock(),
        hotswap: None,
    };
    let report = router.run(&opts)?;
    finish(flags, report.reads)
}

/// The end of a run: prints the `-h` values, then gives the exit status,
/// 0 or as Click's `-x` reads it (an integer is the status, a boolean
/// true 0 and false 1; anything else, or a failed read, is an error).
fn finish(flags: &RunFlags, mut reads: Vec<Result<String, String>>) -> Result<u8, Vec<Diagnostic>> {
    let exit = flags.exit_handler.as_ref().and_then(|_| reads.pop());
    print_handlers(&flags.handlers, reads)?;
    let Some(value) = exit else {
        return Ok(0);
    };
    let error = |message: String| vec![Diagnostic::without_span(message)];
    let value = value.map_err(error)?;
    let value = value.trim();
    if let Ok(n) = value.parse::<i64>() {
        return Ok(n as u8); // the low byte, as the process's exit status
    }
    match click_engine::args::FromArg::from_arg(value) {
        Ok(b) => Ok(if b { 0 } else { 1 }),
        Err(_) => Err(error(format!(
            "exit handler value should be integer, not '{value}'"
        ))),
    }
}

/// Click's format: a lone handler's value as is; with several, each value
/// under a `name:` line and followed by a blank line.
fn print_handlers(
    names: &[String],
    values: Vec<Result<String, String>>,
) -> Result<(), Vec<Diagnostic>> {
    let mut out = std::io::stdout().lock();
    let mut errors = Vec::new();
    let labelled = names.len() > 1;
    for (name, value) in names.iter().zip(values) {
        match value {
            Ok(value) if labelled => {
                let _ = write!(out, "{name}:\n{value}\n");
            }
            Ok(value) => {
                let _ = write!(out, "{value}");
            }
            Err(message) => errors.push(Diagnostic::without_span(message)),
        }
    }
    let _ = out.flush();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// SIGINT and SIGTERM stop the router cleanly: threads finish their round,
/// handlers are still read and printed. A second one ends the process, as
/// with Click, and a Script catching either takes it over.
fn install_signal_handlers() {
    if let Err(e) = click_engine::signals::stop_on(&[libc::SIGINT, libc::SIGTERM]) {
        tracing::warn!("cannot handle SIGINT and SIGTERM: {e}");
    }
}

/// Click's `-t` line on standard output: user and system CPU seconds,
/// then the wall-clock time as minutes:seconds (`0.120u 0.004s 0:00.13`).
fn print_time(cpu: CpuTimes, wall: Duration) {
    let centis = (wall.as_millis() + 5) / 10;
    println!(
        "{:.3}u {:.3}s {}:{:02}.{:02}",
        cpu.user,
        cpu.system,
        centis / 6000,
        centis / 100 % 60,
        centis % 100
    );
}

/// This process's CPU time so far, in seconds.
#[derive(Debug, Clone, Copy)]
struct CpuTimes {
    user: f64,
    system: f64,
}

impl CpuTimes {
    fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

fn cpu_times() -> CpuTimes {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a complete `rusage` into the buffer we own;
    // RUSAGE_SELF is always a valid `who`.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return CpuTimes {
                user: 0.0,
                system: 0.0,
            };
        }
        usage.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    CpuTimes {
        user: secs(usage.ru_utime),
        system: secs(usage.ru_stime),
    }
}
