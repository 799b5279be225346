//! Configurations shipped with Click that use only elements we have pass
//! every check, and run: the square-wave Script drives a RatedSource.

use std::path::PathBuf;
use std::process::Command;

fn click_conf(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("../shared/click-conf").join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// The click-conf files whose elements all exist here (the rest need the
/// IP, Ethernet and device elements of later issues).
const CHECKED: &[&str] = &[
    "script-parabolawave.click",
    "script-squarewave.click",
    "script-trianglewave.click",
    "stridetest.click",
    "test-clicky.click",
    "test3.click",
];

#[test]
fn click_conf_files_with_our_elements_pass_every_check() {
    for name in CHECKED {
        let out = Command::new(env!("CARGO_BIN_EXE_router"))
            .arg("--check")
            .arg(click_conf(name))
            .output()
            .expect("run router");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_square_wave_turns_the_source_on_and_off() {
    // 1000 packets/s for 0.5 s, then the Script writes the rate each
    // 0.5 s: 1000, 0, 1000, 0, ... Over 2.4 s of virtual time: on for
    // 0-0.5, 0.5-1.0, 1.5-2.0 s: about 1500 packets, where a source left
    // on would send 2400.
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(["--simtime", "-h", "c.count", "-e"])
        .arg(format!(
            "{}\nDriverManager(wait 2.4s, stop);",
            std::fs::read_to_string(click_conf("script-squarewave.click")).unwrap()
        ))
        .output()
        .expect("run router");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!((1450..=1550).contains(&count), "{count}");
}
