//! `router -q`: Click's "initialize, don't run" flag, with `-h` handlers
//! read from the initialized router.

use std::process::Command;

fn router(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .output()
        .expect("run router");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn quiet_reads_global_and_element_handlers_without_running() {
    let (out, err, ok) = router(&[
        "-q",
        "-e",
        "i :: InfiniteSource(LIMIT 5) -> c :: Counter -> Discard; Script(print ran)",
        "-h",
        "list",
        "-h",
        "c.count",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out, "list:\n4\ni\nc\nDiscard@3\nScript@4\n\nc.count:\n0\n\n",
        "nothing ran: no packet counted, the Script printed nothing"
    );
}

#[test]
fn quiet_without_handlers_prints_nothing_and_still_reports_errors() {
    let (out, _, ok) = router(&["-q", "-e", "Idle -> Discard"]);
    assert!(ok);
    assert_eq!(out, "");
    let (_, err, ok) = router(&["-q", "-e", "Idle -> Counter(COUNT_CALL x y.z) -> Discard"]);
    assert!(!ok);
    assert!(err.contains("COUNT_CALL type mismatch"), "{err}");
}

#[test]
fn t_prints_the_run_time_on_standard_error() {
    let (out, err, ok) = router(&["-t", "-e", "InfiniteSource(LIMIT 10, STOP true) -> Discard"]);
    assert!(ok, "{err}");
    assert_eq!(out, "");
    let line = err.trim();
    let (real, cpu) = line.split_once(" real, ").expect("'S real, S cpu'");
    assert!(
        real.parse::<f64>().is_ok() && cpu.strip_suffix(" cpu").is_some(),
        "{line}"
    );
}
