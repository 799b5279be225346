//! A user's first hour: inputs that used to hang, abort or mislead. Each
//! exits within a second, with the message asked for, never with a panic
//! or an abort.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the router with `args` and `stdin`, killed after two seconds:
/// (exit code, stdout, stderr, how long it took).
fn outcome(args: &[&str], stdin: &str) -> (Option<i32>, String, String, Duration) {
    outcome_env(args, stdin, &[])
}

/// [`outcome`] with more environment variables (`ROUTER_ERRORS=click`).
fn outcome_env(
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (Option<i32>, String, String, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run router");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let deadline = start + Duration::from_secs(2);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr),
        start.elapsed(),
    )
}

#[test]
fn an_empty_configuration_ends_as_clicks_does() {
    let dir = std::env::temp_dir().join(format!("router-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (empty, comments) = (dir.join("empty.click"), dir.join("comments.click"));
    std::fs::write(&empty, "").unwrap();
    std::fs::write(&comments, "// nothing here\n/* nor here */\n").unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (vec![empty.to_str().unwrap()], "empty.click"),
        (vec![comments.to_str().unwrap()], "comments.click"),
        (vec!["-e", ""], "config"),
        (vec![], "<stdin>"),
        (
            vec!["--check", comments.to_str().unwrap()],
            "comments.click",
        ),
    ];
    for (args, name) in cases {
        let (code, _, err, took) = outcome(&args, "");
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(
            err.contains(name) && err.contains("configuration has no elements, exiting"),
            "{args:?}: {err}"
        );
        assert!(took < Duration::from_secs(1), "{args:?} took {took:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_huge_queue_neither_aborts_nor_allocates_for_it() {
    for class in ["Queue", "SimpleQueue", "ThreadSafeQueue"] {
        let config = format!(
            "InfiniteSource(LIMIT 10, STOP true) -> q :: {class}(4000000000) -> Unqueue
               -> c :: Counter -> Discard;
             DriverManager(wait_stop, wait 20ms, stop);"
        );
        let (code, _, err, _) = outcome(&["--check", "-e", &config], "");
        assert_eq!(code, Some(0), "{class}: {err}");
        let (code, out, err, _) =
            outcome(&["-e", &config, "-h", "c.count", "-h", "q.capacity"], "");
        assert_eq!(code, Some(0), "{class}: {err}");
        assert_eq!(
            out, "c.count:\n10\n\nq.capacity:\n4000000000\n\n",
            "{class}"
        );
    }
}

#[test]
fn arguments_past_the_limits_say_the_limit() {
    let cases = [
        (
            "InfiniteSource(LENGTH 4000000000) -> Discard",
            "LENGTH 4000000000 is longer than the longest packet, 131072 bytes",
        ),
        (
            "Idle -> t :: Tee(100000) -> Discard",
            "N is 100000, but 1 output connected",
        ),
        ("RandomSource(100000) -> Discard", "bad length 100000"),
    ];
    for (config, message) in cases {
        let (code, _, err, took) = outcome(&["--check", "-e", config], "");
        assert_eq!(code, Some(1), "{config}: {err}");
        assert!(err.contains(message), "{config}: {err}");
        assert!(!err.contains("panicked"), "{config}: {err}");
        assert!(took < Duration::from_secs(1), "{config} took {took:?}");
    }
}

#[test]
fn packages_are_not_loaded_at_run_time_and_say_so() {
    let (code, _, err, _) = outcome(
        &["--check", "-e", "require(package \"foo\"); Idle -> Discard"],
        "",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("requirement 'foo' not available")
            && err.contains("build a router binary with those elements"),
        "{err}"
    );
    let (code, _, err, _) = outcome(
        &[
            "--check",
            "-e",
            "require(userlevel, compact_config); Idle -> Discard",
        ],
        "",
    );
    assert_eq!(
        code,
        Some(0),
        "the driver's own features are provided: {err}"
    );
}

#[test]
fn nothing_is_dropped_in_silence() {
    // Unstrip past the longest packet: dropped, said once, counted.
    let (code, out, err, _) = outcome(
        &[
            "--stats",
            "-h",
            "c.count",
            "-e",
            "InfiniteSource(LIMIT 2, LENGTH 10, STOP true) -> u :: Unstrip(200000)
               -> c :: Counter -> Print -> Discard",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "0\n");
    let warning = "dropped packets: too long to unstrip";
    assert_eq!(err.matches(warning).count(), 1, "said once: {err}");
    let row = err
        .lines()
        .find(|l| l.starts_with("u :: Unstrip"))
        .unwrap_or_else(|| panic!("no stats row: {err}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    // element (3 words), in, out, drops, cycles/pkt, reasons...
    assert_eq!(columns[3..6], ["2", "0", "2"], "{row}");
    assert!(
        row.ends_with("too long to unstrip: past the longest packet: 2"),
        "{row}"
    );
}

#[test]
fn stats_count_packets_by_port_pushed_and_pulled() {
    let (code, _, err, _) = outcome(
        &[
            "--stats",
            "-e",
            "InfiniteSource(LIMIT 100, BURST 8, STOP true) -> t :: Tee(2) -> q :: Queue
               -> u :: Unqueue -> Discard;
             t[1] -> d :: Discard;
             DriverManager(wait_stop, wait 20ms, stop);",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    let row = |name: &str| -> Vec<String> {
        let line = err
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}: {err}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("t :: Tee")[3..6], ["100", "0:100", "1:100"]);
    assert_eq!(
        row("q :: Queue")[3..5],
        ["100", "100"],
        "pulled out of the queue"
    );
    assert_eq!(row("u :: Unqueue")[3..5], ["100", "100"]);
    assert_eq!(row("d :: Discard")[3..5], ["100", "-"]);
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("router-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `args`, expecting a quick failure without a panic: its stderr,
/// and Click's one-line form of it (`ROUTER_ERRORS=click`).
fn fails(args: &[&str]) -> (String, String) {
    let (code, _, err, took) = outcome(args, "");
    assert_eq!(code, Some(1), "{args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    assert!(took < Duration::from_secs(1), "{args:?} took {took:?}");
    let (_, _, click, _) = outcome_env(args, "", &[("ROUTER_ERRORS", "click")]);
    (err, click)
}

#[test]
fn a_bad_port_is_shown_where_it_is_used() {
    let dir = scratch("ports");
    let file = dir.join("ports.click");
    std::fs::write(
        &file,
        "c :: Counter;\nIdle -> c[1] -> Discard;\nIdle -> [2]c;\n",
    )
    .unwrap();
    let (err, click) = fails(&["--check", file.to_str().unwrap()]);
    let path = file.to_str().unwrap();
    assert!(
        err.contains(&format!(
            "error: 'c :: Counter' has no output 1\n --> {path}:2:10\n  |\n\
             2 | Idle -> c[1] -> Discard;\n  |          ^^^\n\
             note: 'c :: Counter' declared here\n --> {path}:1:1\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: 'c :: Counter' has no input 2\n --> {path}:3:9\n  |\n\
             3 | Idle -> [2]c;\n  |         ^^^\n\
             note: 'c :: Counter' declared here\n"
        )),
        "{err}"
    );
    // Click's own form stays Click's: at the declaration.
    assert_eq!(
        click,
        format!(
            "{path}:1: 'c :: Counter' has no output 1\n{path}:1: 'c :: Counter' has no input 2\n"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unclosed_bracket_says_where_it_opened() {
    let cases = [
        (
            "Idle -> Print(\"abc\n -> Discard;\n",
            "unclosed string: expected '\"' before the end of the file\n --> config:3:1",
            "note: string opened here\n --> config:1:15",
            "config:3: expected ')'\n",
        ),
        (
            "Idle -> Print(abc\n -> Discard;\n",
            "unclosed '(': expected ')' before the end of the file\n --> config:3:1",
            "note: '(' opened here\n --> config:1:14",
            "config:3: expected ')'\n",
        ),
        (
            "elementclass A {\n input -> output\nIdle -> A -> Discard;\n",
            "unclosed '{': expected '}' before the end of the file\n --> config:4:1",
            "note: '{' opened here\n --> config:1:16",
            "config:4: expected '}'\n",
        ),
    ];
    for (config, error, note, click_line) in cases {
        let (err, click) = fails(&["--check", "-e", config]);
        assert!(err.contains(error), "{config}: {err}");
        assert!(err.contains(note), "{config}: {err}");
        assert_eq!(click, click_line, "{config}");
    }
}

#[test]
fn a_bad_wait_names_the_time() {
    let cases = [
        ("Script(wait -1s, stop)", "wait: the time '-1s' is negative"),
        (
            "DriverManager(wait 1e30, stop)",
            "wait: the time '1e30' is too long (at most 18446744073709551615 seconds)",
        ),
        (
            "Script(wait_time 3x, stop)",
            "wait_time: '3x' is not a time (like 1.5s, 20ms or 2min)",
        ),
    ];
    for (config, message) in cases {
        let (err, _) = fails(&["--check", "-e", config]);
        assert!(err.contains(message), "{config}: {err}");
        assert!(!err.contains("syntax error"), "{config}: {err}");
    }
    // A wait too long for the clock is never, not a panic.
    let (code, out, err, _) = outcome(
        &["--simtime", "-e", "Script(wait 1e19, print \"done\", stop)"],
        "",
    );
    assert_eq!((code, out.as_str()), (Some(0), "done\n"), "{err}");
}

#[test]
fn errors_about_control_socket_flags_name_the_flag() {
    let (err, click) = fails(&["-e", "Idle -> Discard", "-p", "99999"]);
    assert_eq!(
        err,
        "error: -p 99999: bad port number '99999' (expected 0 to 65535)\n"
    );
    assert_eq!(
        click,
        "-p 99999: bad port number '99999' (expected 0 to 65535)\n"
    );
    let (err, _) = fails(&["-e", "Idle -> Discard", "-u", "/nonexistent/dir/sock"]);
    assert_eq!(
        err,
        "error: -u /nonexistent/dir/sock: No such file or directory (os error 2)\n"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (err, _) = fails(&["-e", "Idle -> Discard", "-p", &port]);
    assert!(
        err.starts_with(&format!(
            "error: -p {port}: 127.0.0.1:{port}: Address already in use"
        )),
        "{err}"
    );
    assert!(!err.contains(":0:0"), "{err}");
}

#[test]
fn a_file_that_is_not_utf8_loads() {
    let dir = scratch("latin1");
    let good = dir.join("latin1.click");
    std::fs::write(
        &good,
        b"// caf\xe9\nIdle -> Print(\"caf\xe9\") -> Discard;\n",
    )
    .unwrap();
    let (code, _, err, _) = outcome(&["--check", good.to_str().unwrap()], "");
    assert_eq!(code, Some(0), "{err}");
    let bad = dir.join("stray.click");
    std::fs::write(&bad, b"Idle -> Discard\xff;\n").unwrap();
    let (err, click) = fails(&["--check", bad.to_str().unwrap()]);
    let path = bad.to_str().unwrap();
    assert!(
        err.contains(&format!("syntax error near '\u{ff}'\n --> {path}:1:16")),
        "{err}"
    );
    assert!(err.contains("help: byte 0xFF is not UTF-8"), "{err}");
    assert_eq!(click, format!("{path}:1: syntax error near '\\377'\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_class_is_the_only_error_and_near_names_are_suggested() {
    let (err, _) = fails(&["--check", "-e", "Idle -> Queue -> Unqeue -> Tee -> Discrad"]);
    assert!(
        err.contains("unknown element class 'Unqeue'") && err.contains("did you mean 'Unqueue'?"),
        "{err}"
    );
    assert!(err.contains("did you mean 'Discard'?"), "{err}");
    assert!(!err.contains("mixed context"), "{err}");
    assert_eq!(err.matches("error:").count(), 2, "{err}");
    let (err, _) = fails(&[
        "--check",
        "-e",
        "counter1 :: Counter; Idle -> countr1 -> Discard",
    ]);
    assert!(err.contains("the element 'counter1'"), "{err}");
}

#[test]
fn threads_and_cores_are_checked() {
    let run = "InfiniteSource(LIMIT 5, STOP true) -> Discard";
    let (err, _) = fails(&["-j", "0", "-e", run]);
    assert_eq!(
        err,
        "error: -j 0: a router needs at least one scheduler thread\n"
    );
    let (err, _) = fails(&["--affinity=4096", "-e", run]);
    assert!(
        err.starts_with("error: --affinity=4096: this process may use "),
        "{err}"
    );
    // One more thread than this process has cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map_or(cores, |list| {
            list.trim()
                .split(',')
                .map(|part| match part.split_once('-') {
                    Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
                    None => 1,
                })
                .sum()
        });
    let threads = (allowed + 1).to_string();
    let (code, _, err, _) = outcome(&["-j", &threads, "--no-affinity", "-e", run], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.starts_with(&format!(
            "warning: -j {threads}: this process may use {allowed} core"
        )) && err.contains("the threads take turns"),
        "{err}"
    );
}

#[test]
fn a_router_that_cannot_be_built_says_so_as_click_does() {
    // Click's format ends with Click's line; each bad input spec of a
    // rewriter is on its own line, indented under the element (the
    // second names output 1 of an element with one).
    let (err, click) = fails(&[
        "-e",
        "i :: Idle; rw :: IPAddrRewriter(pattern 1.0.0.x - 0 1, pattern 1.0.0.1 - 0 1, drop);\n\
         i -> [0]rw; i[1] -> [1]rw; i[2] -> [2]rw; rw -> i",
    ]);
    assert!(err.contains("input spec 0: bad source address"), "{err}");
    assert!(!err.contains("Router could not be initialized!"), "{err}");
    assert_eq!(
        click,
        "config:1: while configuring 'rw :: IPAddrRewriter': \n  \
         input spec 0: bad source address\n  \
         input spec 1: output port out of range\n\
         Router could not be initialized!\n"
    );
}
