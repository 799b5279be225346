//! Runs a parsed clicktest in a private temporary directory, the way
//! Click's `clicktest` does: `%require` first (stdin and stdout /dev/null;
//! any failure means the test does not apply), then the `%file`s are
//! written, then `%script` runs as `sh -e %script` in the test directory
//! with stdin from `%stdin`, stdout to `stdout` and stderr to `stderr`, in
//! its own process group with a timeout. Then every `%expect*` file is
//! checked.

use super::format::{ClickTest, Command};
use super::matcher::{check_file, MatchError};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// A `%require` command failed: the test does not apply here.
    Skipped(String),
    Fail(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Skipped(_) => "skip",
            Outcome::Fail(_) => "FAIL",
        }
    }
}

pub struct Env {
    /// Directory with the `click`, `click-flatten`, ... shims.
    pub bin_dir: PathBuf,
    /// Scratch root; one subdirectory per test run.
    pub scratch: PathBuf,
    pub timeout: Duration,
    pub keep: bool,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How long processes a script left running in the background may take to
/// finish before they are killed.
const BACKGROUND_GRACE: Duration = Duration::from_millis(300);

/// Whether any process of group `pgid` is still running.
fn group_alive(pgid: u32) -> bool {
    Proc::new("/bin/sh")
        .args(["-c", &format!("kill -0 -{pgid} 2>/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Tools of a Click installation that tests call; each one not listed in
/// [`write_shims`] as supported gets a shim failing with a clear message.
const UNSUPPORTED_TOOLS: &[&str] = &[
    "click-combine",
    "click-uncombine",
    "click-devirtualize",
    "click-fastclassifier",
    "click-install",
    "click-uninstall",
    "click-mkmindriver",
    "click-undead",
    "click-pretty",
    "click2xml",
    "clicktest",
];

/// `click-xform`'s command line (`-p PATTERNS`, `-r`, `-f`, `-e`, `-o`,
/// the configuration file then pattern files as arguments, `NAME=VALUE`)
/// turned into the router's (`--xform PATTERNS`, `--reverse`, ...).
/// Without patterns Click warns and prints the configuration flattened.
fn xform_shim(router: &str) -> String {
    format!(
        r#"export ROUTER_ERRORS=click
n=$#; config=; patterns=
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n-1))
  case $a in
    -p|--patterns) set -- "$@" --xform "$1"; shift; n=$((n-1)); patterns=1;;
    --patterns=*) set -- "$@" --xform "${{a#*=}}"; patterns=1;;
    -p?*) set -- "$@" --xform "${{a#-p}}"; patterns=1;;
    -r|--reverse) set -- "$@" --reverse;;
    +r|--no-reverse) ;;
    -f|--file|-e|--expression) set -- "$@" "$a" "$1"; shift; n=$((n-1)); config=1;;
    -o|--output) set -- "$@" "$a" "$1"; shift; n=$((n-1));;
    -?*|*=*) set -- "$@" "$a";;
    *) if [ -z "$config" ]; then config=1; set -- "$@" "$a"
       else set -- "$@" --xform "$a"; patterns=1; fi;;
  esac
done
if [ -z "$patterns" ]; then
  echo "click-xform: warning: no patterns read" >&2
  set -- "$@" --xform /dev/null
fi
exec {router} "$@"
"#
    )
}

impl Env {
    /// Create the shim directory: `click` runs our binary, `click-flatten`
    /// runs `router --flatten`, `click-xform` `router --xform` (see
    /// [`xform_shim`]), `click-align` `router --align`,
    /// `click-buildtool provides ...` answers from the feature list
    /// (everything else is unsupported).
    pub fn new(router: &Path, scratch: PathBuf, provides: &[&str]) -> std::io::Result<Env> {
        let bin_dir = scratch.join("bin");
        fs::create_dir_all(&bin_dir)?;
        let r = shquote(&router.to_string_lossy());
        let mut shims: Vec<(String, String)> = vec![
            // Click's tests compare Click's one-line error format.
            ("click".into(), format!("export ROUTER_ERRORS=click\nexec {r} \"$@\"\n")),
            (
                "click-flatten".into(),
                format!("export ROUTER_ERRORS=click\nexec {r} --flatten \"$@\"\n"),
            ),
            // click-align: the flattened configuration; this router needs
            // no Align elements (docs/LANGUAGE.md, "click-xform and
            // click-align").
            (
                "click-align".into(),
                format!("export ROUTER_ERRORS=click\nexec {r} --align \"$@\"\n"),
            ),
            ("click-xform".into(), xform_shim(&r)),
            (
                "click-buildtool".into(),
                format!(
                    "if [ \"$1\" = provides ]; then\n  shift\n  for f in \"$@\"; do\n    case \" {} \" in\n      *\" $f \"*) ;;\n      *) echo \"click-buildtool: router does not provide '$f'\" >&2; exit 1;;\n    esac\n  done\n  exit 0\nfi\necho \"click-buildtool: '$1' is not supported by the router test shim\" >&2\nexit 1\n",
                    provides.join(" ")
                ),
            ),
        ];
        for tool in UNSUPPORTED_TOOLS {
            shims.push((
                tool.to_string(),
                format!(
                    "echo \"{tool}: not provided by the router (testie shim)\" >&2\nexit 127\n"
                ),
            ));
        }
        for (name, body) in shims {
            let p = bin_dir.join(name);
            fs::write(&p, format!("#!/bin/sh\n{body}"))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
        }
        Ok(Env {
            bin_dir,
            scratch,
            timeout: Duration::from_secs(45),
            keep: false,
        })
    }

    pub fn run(&self, t: &ClickTest) -> Outcome {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        // clicktest runs each test in a subdirectory of where it was started
        // ($rundir is ".."); do the same.
        let rundir = self.scratch.join(format!("run{n}"));
        let dir = rundir.join("test");
        let _ = fs::remove_dir_all(&rundir);
        if let Err(e) = fs::create_dir_all(&dir) {
            return Outcome::Fail(format!("cannot create {}: {e}", dir.display()));
        }
        let out = self.run_in(t, &dir);
        if !self.keep {
            let _ = fs::remove_dir_all(&rundir);
        }
        out
    }

    fn run_in(&self, t: &ClickTest, dir: &Path) -> Outcome {
        if t.script.is_empty() {
            return Outcome::Fail("no %script section".into());
        }
        if !t.require.is_empty() {
            let script = script_text(&t.require);
            if let Err(e) = fs::write(dir.join("%require"), script) {
                return Outcome::Fail(format!("write %require: {e}"));
            }
            match self.shell(dir, "%require", None, false) {
                Ok(None) => {}
                Ok(Some(status)) => {
                    let why = describe_failure(dir, &t.require, &status);
                    return Outcome::Skipped(format!("requirement {why}"));
                }
                Err(e) => return Outcome::Fail(e),
            }
        }
        // write %file contents (creating implied subdirectories)
        for (name, data) in &t.files {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                let _ = fs::create_dir_all(parent);
            }
            if let Err(e) = fs::write(&p, data) {
                return Outcome::Fail(format!("write {name}: {e}"));
            }
        }
        if let Err(e) = fs::write(dir.join("%script"), script_text(&t.script)) {
            return Outcome::Fail(format!("write %script: {e}"));
        }
        let stdin = t.stdin().map(|_| dir.join("stdin"));
        let want_stdout = t.has_file("stdout");
        match self.shell(dir, "%script", stdin.as_deref(), want_stdout) {
            Ok(None) => {}
            Ok(Some(status)) => {
                let mut why = describe_failure(dir, &t.script, &status);
                // the output checks often tell more about why a command failed
                for f in &t.expect_order {
                    if let Ok(raw) = fs::read(dir.join(f)) {
                        if let Err(e) = check_file(t, f, &String::from_utf8_lossy(&raw)) {
                            why.push_str(&format!("\n  (also) {}", indent(&e.to_string())));
                        }
                    }
                }
                return Outcome::Fail(why);
            }
            Err(e) => return Outcome::Fail(e),
        }
        let mut problems = Vec::new();
        for f in &t.expect_order {
            let raw = match fs::read(dir.join(f)) {
                Ok(r) => String::from_utf8_lossy(&r).into_owned(),
                Err(e) => {
                    problems.push(format!("{f}: {e}"));
                    continue;
                }
            };
            match check_file(t, f, &raw) {
                Ok(()) => {}
                Err(e @ MatchError::BadPattern(_)) => problems.push(e.to_string()),
                Err(e) => {
                    let mut msg = e.to_string();
                    msg.push_str(&format!("\n  --- actual {f} ---\n{}", excerpt(&raw)));
                    problems.push(msg);
                }
            }
        }
        if problems.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(problems.join("\n"))
        }
    }

    /// Run `sh -e SCRIPT` in `dir`; Ok(None) on success, Ok(Some(status
    /// text)) on failure or timeout.
    fn shell(
        &self,
        dir: &Path,
        script: &str,
        stdin: Option<&Path>,
        stdout_to_file: bool,
    ) -> Result<Option<String>, String> {
        let open = |p: &Path| fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()));
        let create = |p: &Path| fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let sin = match stdin {
            Some(p) => Stdio::from(open(p)?),
            None => Stdio::null(),
        };
        let sout = if stdout_to_file {
            Stdio::from(create(&dir.join("stdout"))?)
        } else {
            Stdio::null()
        };
        let serr = Stdio::from(create(&dir.join("stderr"))?);
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
        );
        // Click's tests were written where `sh` is bash (macOS, Fedora):
        // ICMPPingEncap-01's requirement writes a pcap header with
        // `printf '\x..'`, which dash's printf does not know. Every file
        // marked `pass` passes under both shells.
        let mut child = Proc::new("bash")
            .arg("-e")
            .arg(script)
            .current_dir(dir)
            .env("PATH", path)
            .env("LC_ALL", "C")
            .env("rundir", "..")
            .stdin(sin)
            .stdout(sout)
            .stderr(serr)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run bash: {e}"))?;
        let pgid = child.id();
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) => {}
                Err(e) => return Err(format!("wait: {e}")),
            }
            if start.elapsed() > self.timeout {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Background jobs of the script (a router sent a signal just before
        // the script ended) get a moment to finish, then whatever is left
        // in the process group is killed (through sh's builtin kill: no
        // procps needed).
        let grace = Instant::now();
        while grace.elapsed() < BACKGROUND_GRACE && group_alive(pgid) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = Proc::new("/bin/sh")
            .args(["-c", &format!("kill -9 -{pgid} 2>/dev/null; true")])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
        match status {
            None => {
                if let Ok(mut f) = fs::OpenOptions::new().append(true).open(dir.join("stderr")) {
                    let _ = writeln!(f, "clicktest_failure:timeout");
                }
                Ok(Some(format!(
                    "timed out after {} s",
                    self.timeout.as_secs()
                )))
            }
            Some(s) if s.success() => Ok(None),
            Some(s) => Ok(Some(match s.code() {
                Some(1) => "failure".to_string(),
                Some(c) => format!("error {c}"),
                None => format!("killed ({s})"),
            })),
        }
    }
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n  ")
}

fn excerpt(raw: &str) -> String {
    const MAX: usize = 60;
    let lines: Vec<&str> = raw.lines().collect();
    let mut out: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with("clicktest_lineno:"))
        .take(MAX)
        .map(|l| format!("  | {l}"))
        .collect();
    if lines.len() > MAX {
        out.push(format!("  | ... ({} more lines)", lines.len() - MAX));
    }
    if out.iter().all(|l| l.trim() == "|") {
        return "  (empty)".to_string();
    }
    out.join("\n")
}

pub fn shquote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// The shell script clicktest writes for a list of commands: a trap that
/// reports the exit status, and before every command a marker on stderr
/// naming the command's line (stderr checks ignore these markers).
pub fn script_text(cmds: &[Command]) -> String {
    let mut t = String::from(
        "clicktest_failed () {\n    exitval=$?\n    test $exitval = 0 || (echo; echo clicktest_failure:$exitval) >&2\n    exit $exitval\n}\nclicktest_subtest () {\n    echo clicktest_subtest \"$@\"\n    echo clicktest_subtest \"$@\" >&2\n}\ntrap clicktest_failed EXIT\n",
    );
    let mut last_unfinished = false;
    for c in cmds {
        if !last_unfinished {
            t.push_str(&format!("echo >&2; echo clicktest_lineno:{} >&2\n", c.line));
        }
        let text = c.text.strip_suffix('\n').unwrap_or(&c.text);
        if text.trim().is_empty() {
            continue;
        }
        let trimmed = text.trim_end();
        last_unfinished =
            trimmed.ends_with("&&") || trimmed.ends_with("||") || trimmed.ends_with('|');
        // a command starting with ./ refers to the directory clicktest ran in
        let ws = text.len() - text.trim_start().len();
        if text[ws..].starts_with("./") {
            t.push_str(&text[..ws]);
            t.push_str("../");
            t.push_str(&text[ws + 2..]);
        } else {
            t.push_str(text);
        }
        t.push('\n');
    }
    t
}

/// Explain a failed script from its stderr: which command failed and what
/// it printed.
fn describe_failure(dir: &Path, cmds: &[Command], status: &str) -> String {
    let err = fs::read(dir.join("stderr")).unwrap_or_default();
    let err = String::from_utf8_lossy(&err);
    let mut lineno: Option<String> = None;
    let mut text = String::new();
    for l in err.lines() {
        if let Some(n) = l.strip_prefix("clicktest_lineno:") {
            lineno = Some(n.to_string());
            text.clear();
        } else if l.starts_with("clicktest_failure:") {
        } else {
            text.push_str(l);
            text.push('\n');
        }
    }
    let cmd = lineno
        .as_ref()
        .and_then(|n| cmds.iter().find(|c| &c.line == n));
    let mut out = match (&lineno, cmd) {
        (Some(n), Some(c)) => {
            let mut s = c.text.trim().to_string();
            if s.len() > 200 {
                let mut cut = 200;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                s.push_str("...");
            }
            format!("{n}: {status} at '{s}'")
        }
        _ => format!("{status} at undefined point in script"),
    };
    let text = text.trim();
    if !text.is_empty() {
        out.push_str("\n  stderr of that command:\n");
        out.push_str(&excerpt(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::format::parse;
    use super::*;

    #[test]
    fn script_text_markers_and_rundir() {
        let t = &parse("f", b"%script\n./x.sh\necho a |\n  cat\n# c\ntrue\n")[0];
        let s = script_text(&t.script);
        assert!(
            s.contains("echo >&2; echo clicktest_lineno:f:2 >&2\n../x.sh\n"),
            "{s}"
        );
        // no marker between a pipe and its continuation
        assert!(s.contains("echo a |\n  cat\n"), "{s}");
        assert!(s.contains("trap clicktest_failed EXIT"));
        assert_eq!(t.script.last().unwrap().text, "# c\ntrue\n");
    }
}
