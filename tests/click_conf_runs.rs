//! Configurations shipped with Click that use only elements we have pass
//! every check, and run: the square-wave Script drives a RatedSource.

mod common;

use std::path::PathBuf;

use common::router;

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
        let path = click_conf(name);
        router(&["--check", path.to_str().unwrap()]);
    }
}

#[test]
fn the_square_wave_turns_the_source_on_and_off() {
    // 1000 packets/s for 0.5 s, then the Script writes the rate each
    // 0.5 s: 1000, 0, 1000, 0, ... Over 2.4 s of virtual time: on for
    // 0-0.5, 0.5-1.0, 1.5-2.0 s: about 1500 packets, where a source left
    // on would send 2400.
    let config = format!(
        "{}\nDriverManager(wait 2.4s, stop);",
        std::fs::read_to_string(click_conf("script-squarewave.click")).unwrap()
    );
    let out = router(&["--simtime", "-h", "c.count", "-e", &config]);
    let count: u64 = out.trim().parse().unwrap();
    assert!((1450..=1550).contains(&count), "{count}");
}
