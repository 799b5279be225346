//! The example configurations in `configs/` that need no devices or
//! privileges run as their comments say: `hello.click` is README's first
//! command, `nat.click` the NAT example.

use std::path::PathBuf;
use std::process::Command;

/// Runs the router on `configs/NAME` with `args` before it, from the
/// repository root as README does: (stdout, stderr), after checking that
/// it succeeded.
fn run_example(name: &str, args: &[&str]) -> (String, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .current_dir(&root)
        .args(args)
        .arg(format!("configs/{name}"))
        .output()
        .expect("run the router");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "router configs/{name}: {}\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

#[test]
fn hello_prints_its_five_packets() {
    let (stdout, stderr) = run_example("hello.click", &["-h", "count.count"]);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("hello:")).collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    // Print's hex of "Hello, router!\n", 15 bytes.
    let hex = " 15 | 48656c6c 6f2c2072 6f757465 72210a";
    assert!(lines.iter().all(|l| l.ends_with(hex)), "{stderr}");
    assert_eq!(stdout, "5\n", "one -h prints its value alone");
}

#[test]
fn nat_maps_each_host_to_a_port_and_the_answers_back() {
    let (stdout, stderr) = run_example("nat.click", &["-h", "nat.table", "-h", "answers.count"]);
    let outside: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("outside:"))
        .collect();
    let inside: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("inside:"))
        .collect();
    assert_eq!(
        outside,
        [
            "outside: 198.51.100.1.1024 > 203.0.113.9.53: udp 13",
            "outside: 198.51.100.1.1025 > 203.0.113.9.53: udp 13",
        ]
        .repeat(2),
        "{stderr}"
    );
    assert_eq!(
        inside,
        [
            "inside: 203.0.113.9.53 > 10.0.0.2.5000: udp 13",
            "inside: 203.0.113.9.53 > 10.0.0.3.5000: udp 13",
        ]
        .repeat(2),
        "{stderr}"
    );
    assert!(stdout.contains("answers.count:\n4\n"), "{stdout}");
    for flow in [
        "(10.0.0.2, 5000, 203.0.113.9, 53) => (198.51.100.1, 1024, 203.0.113.9, 53)",
        "(10.0.0.3, 5000, 203.0.113.9, 53) => (198.51.100.1, 1025, 203.0.113.9, 53)",
    ] {
        assert!(stdout.contains(flow), "{flow} not in\n{stdout}");
    }
}
