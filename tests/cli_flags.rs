//! The driver's flags around a run: `-q` (Click's "initialize, don't
//! run", with `-h` handlers read from the initialized router), `-t`, `-x`
//! and `-w`; and Click's transforming tools, `--xform` and `--align`.

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
fn t_prints_cpu_and_wall_time_as_click_does() {
    let (out, err, ok) = router(&[
        "-t",
        "-h",
        "c.count",
        "-e",
        "InfiniteSource(LIMIT 10, STOP true) -> c :: Counter -> Discard",
    ]);
    assert!(ok, "{err}");
    // `0.001u 0.000s 0:00.00`, before the handlers.
    let (time, count) = out.split_once('\n').expect("two lines");
    assert_eq!(count, "10\n");
    let fields: Vec<&str> = time.split(' ').collect();
    let seconds = |f: &str, unit: char| {
        let v = f.strip_suffix(unit).unwrap_or_else(|| panic!("{time}"));
        assert_eq!(v.split_once('.').map(|(_, ms)| ms.len()), Some(3), "{time}");
        v.parse::<f64>().unwrap()
    };
    assert_eq!(fields.len(), 3, "{time}");
    assert!(seconds(fields[0], 'u') >= 0.0 && seconds(fields[1], 's') >= 0.0);
    let (minutes, rest) = fields[2].split_once(':').expect("M:SS.CC");
    assert!(minutes.parse::<u32>().is_ok() && rest.len() == 5, "{time}");
}

fn exit_status(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .output()
        .expect("run router");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), err)
}

#[test]
fn x_exits_with_a_handler_value() {
    // Click's `-x`: an integer is the status; a boolean true 0, false 1.
    let count = "InfiniteSource(LIMIT 7, STOP true) -> c :: Counter -> Discard";
    assert_eq!(exit_status(&["-x", "c.count", "-e", count]).0, Some(7));
    let value = |v: &str| format!("s :: Script(TYPE PASSIVE, export v {v}); DriverManager(stop)");
    assert_eq!(exit_status(&["-x", "s.v", "-e", &value("true")]).0, Some(0));
    assert_eq!(
        exit_status(&["-x", "s.v", "-e", &value("false")]).0,
        Some(1)
    );
    // `-q` reads it too, from the initialized router.
    assert_eq!(
        exit_status(&["-q", "-x", "s.v", "-e", &value("3")]).0,
        Some(3)
    );
    let (code, err) = exit_status(&["-x", "s.v", "-e", &value("hello")]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("exit handler value should be integer, not 'hello'"),
        "{err}"
    );
    let (code, err) = exit_status(&["-x", "nosuch.count", "-e", count]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no element named 'nosuch'"), "{err}");
}

#[test]
fn w_keeps_warnings_quiet() {
    // A source's END_CALL that fails is a warning (the run goes on).
    let config = "InfiniteSource(LIMIT 1, END_CALL c.nosuch 1) -> c :: Counter -> Discard;
                  DriverManager(wait 10ms, stop)";
    let (_, err, ok) = router(&["--simtime", "-e", config]);
    assert!(ok && err.contains("call of c.nosuch"), "{err}");
    let (_, err, ok) = router(&["-w", "--simtime", "-e", config]);
    assert!(ok && err.is_empty(), "{err}");
}

/// A pattern file in a scratch directory of its own.
fn pattern_file(tag: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("router-cli-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let path = dir.join("patterns.click");
    std::fs::write(&path, text).expect("write patterns");
    path
}

#[test]
fn xform_replaces_patterns_and_the_result_runs() {
    let patterns = pattern_file(
        "xform",
        "elementclass Count2 { input -> Counter -> Counter -> output }
         elementclass Count2_Replacement { input -> c :: Counter -> output }",
    );
    let patterns = patterns.to_str().unwrap();
    let config = "InfiniteSource(LIMIT 5, STOP true) -> a :: Counter -> b :: Counter -> Discard";
    let (out, err, ok) = router(&["--xform", patterns, "-e", config]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "InfiniteSource@1 :: InfiniteSource(LIMIT 5, STOP true);\n\
         Discard@4 :: Discard;\n\
         Count2@1/c :: Counter;\n\n\
         InfiniteSource@1 -> Count2@1/c\n    -> Discard@4;\n"
    );
    // What it prints is a configuration the router runs.
    let (count, err, ok) = router(&["-h", "Count2@1/c.count", "-e", &out]);
    assert!(ok, "{err}");
    assert_eq!(count, "5\n");
    // --reverse turns the replacement back into the pattern.
    let (back, err, ok) = router(&["--xform", patterns, "--reverse", "-e", &out]);
    assert!(ok, "{err}");
    assert_eq!(back.matches(":: Counter;").count(), 2, "{back}");
    // --reverse alone is refused; a missing pattern file is an error.
    assert!(!router(&["--reverse", "-e", config]).2);
    let (_, err, ok) = router(&["--xform", "/nonexistent/patterns", "-e", config]);
    assert!(!ok && err.contains("/nonexistent/patterns"), "{err}");
    let _ = std::fs::remove_dir_all(std::path::Path::new(patterns).parent().unwrap());
}

#[test]
fn align_prints_the_flattened_configuration() {
    let config = "define($N 3); elementclass C { input -> Counter -> output }
                  Idle -> c :: Classifier(12/0800) -> Strip(14) -> CheckIPHeader -> C -> Discard";
    let (aligned, err, ok) = router(&["--align", "-e", config]);
    assert!(ok, "{err}");
    let (flat, _, _) = router(&["--flatten", "-e", config]);
    assert_eq!(aligned, flat);
    assert!(!aligned.contains("Align"), "{aligned}");
}
