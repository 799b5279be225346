//! The driver's flags around a run: `-q` (Click's "initialize, don't
//! run", with `-h` handlers read from the initialized router), `-t`, `-x`
//! and `-w`.

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
