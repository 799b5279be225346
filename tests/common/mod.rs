//! What the end-to-end tests share: running the router binary and reading
//! the numbers its `-h` handlers print.

#![allow(dead_code)] // each test binary uses its own part

pub mod netns;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` to its end and asserts it succeeded (its standard error
/// in the message otherwise); returns its output.
pub fn output_ok(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the router with `args`, asserts it succeeded, and returns its
/// standard output.
pub fn router(args: &[&str]) -> String {
    let out = output_ok(
        Command::new(env!("CARGO_BIN_EXE_router")).args(args),
        "router",
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the router with `args`, whatever its outcome: status, standard
/// output and standard error as text.
pub fn router_outcome(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .output()
        .expect("run router");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status, text(&out.stdout), text(&out.stderr))
}

/// Runs the router with `args` and returns its standard output; `None` if
/// it had not finished after `deadline` and was killed.
pub fn router_within(args: &[&str], deadline: Duration) -> Option<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run router");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for router") {
            assert!(status.success(), "router failed: {status}");
            let mut out = String::new();
            let mut stdout = child.stdout.take().expect("piped stdout");
            stdout.read_to_string(&mut out).expect("read router output");
            return Some(out);
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The numbers of a `-h a -h b ...` output, in order.
pub fn values(out: &str) -> Vec<u64> {
    out.lines().filter_map(|l| l.parse().ok()).collect()
}

/// The workspace's root.
pub fn workspace() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared real captures (`../shared/pcaps`), which the trace and
/// differential tests need: a loud failure if they are missing.
pub fn shared_pcaps() -> std::path::PathBuf {
    let p = workspace().join("../shared/pcaps");
    assert!(
        p.join("bad-packets.pcap").exists(),
        "{} is missing: these tests need the shared captures",
        p.display()
    );
    p.canonicalize().unwrap()
}

/// The kept expected outputs of one test suite (`tests/fixtures/SUITE`).
pub fn fixtures(suite: &str) -> std::path::PathBuf {
    workspace().join("tests/fixtures").join(suite)
}

/// A fresh, empty scratch directory for one test of `suite`.
pub fn scratch(suite: &str, tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("router-{suite}-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Where Click's output and ours first differ, for a failure message.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let show = |d: &[u8]| {
        format!(
            "{:02x?}",
            &d[at.saturating_sub(8).min(d.len())..(at + 16).min(d.len())]
        )
    };
    format!(
        "lengths {} and {}; first difference at byte {at}:\n  click: {}\n  ours:  {}",
        a.len(),
        b.len(),
        show(a),
        show(b)
    )
}
