//! `--affinity[=OFFSET]` and `--no-affinity` (Click's flags, as
//! Click's threads/affinity-01 checks them): which cores the running
//! router's scheduler thread may use, read from /proc while it runs.

use std::process::{Command, Stdio};
use std::time::Duration;

/// The `Cpus_allowed_list` of a process (its main thread: scheduler 0).
fn allowed_cpus(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list line")
        .trim()
        .to_string()
}

/// The cores the router may use 150 ms into a 600 ms run with `flags`.
fn cores_while_running(flags: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(flags)
        .args(["-e", "Script(wait 600ms, stop)"])
        .stdout(Stdio::null())
        .spawn()
        .expect("run router");
    std::thread::sleep(Duration::from_millis(150));
    let cores = allowed_cpus(child.id());
    assert!(child.wait().expect("wait for router").success());
    cores
}

/// The cores of a `Cpus_allowed_list` ("0-3,6").
fn cores(list: &str) -> Vec<usize> {
    let mut cores = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        cores.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap());
    }
    cores
}

#[test]
fn affinity_pins_the_scheduler_from_an_offset() {
    // OFFSET counts the cores this process may use (all of them, unless
    // the test itself runs under `taskset`).
    let ours = allowed_cpus(std::process::id());
    let usable = cores(&ours);
    let nth = |k: usize| usable[k % usable.len()].to_string();
    assert_eq!(cores_while_running(&["--affinity=0"]), nth(0));
    if usable.len() > 1 {
        // An OFFSET past the last core is refused (tests/user_errors.rs).
        assert_eq!(cores_while_running(&["--affinity=1"]), nth(1));
    }
    assert_eq!(cores_while_running(&["-a"]), nth(0));
    // Not pinned: the same cores as this test process.
    assert_eq!(cores_while_running(&["--no-affinity"]), ours);
    assert_eq!(cores_while_running(&[]), ours);
}
