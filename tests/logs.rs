//! What `-v` and `-vv` say about a run: the configuration read, the
//! threads and their tasks, the reason for stopping (info); each
//! element's configuration and the handler writes (debug).

use std::process::{Command, ExitStatus};

/// Runs the router with `args`, whatever `RUST_LOG` the tests run with:
/// status, standard output, standard error.
fn router_outcome(args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run router");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status, text(&out.stdout), text(&out.stderr))
}

const CONFIG: &str = "src :: InfiniteSource(LIMIT 100, STOP true) -> c :: Counter -> Discard;
                      Script(write c.reset)";

#[test]
fn v_says_what_was_read_what_runs_where_and_why_it_stopped() {
    let (status, _, err) = router_outcome(&["-v", "-e", CONFIG]);
    assert!(status.success(), "{err}");
    for line in [
        "INFO read config: 4 elements, 2 connections",
        "4 elements, 1 task: src",
        "stopping: 'src :: InfiniteSource' asked the router to stop (run count 0)",
        "INFO router stopped: 'src :: InfiniteSource' asked the router to stop",
    ] {
        assert!(err.contains(line), "no {line:?} in:\n{err}");
    }
    assert!(!err.contains("DEBUG"), "{err}");
}

#[test]
fn vv_adds_configurations_and_handler_writes() {
    let (status, _, err) = router_outcome(&["-vv", "-e", CONFIG]);
    assert!(status.success(), "{err}");
    for line in [
        "src :: InfiniteSource(LIMIT 100, STOP true)",
        "c :: Counter\n",
        "handler write element=\"c\" handler=\"reset\"",
    ] {
        assert!(err.contains(line), "no {line:?} in:\n{err}");
    }
}

#[test]
fn the_stop_reason_names_the_driver_or_the_end_of_simulated_time() {
    let (_, _, err) =
        router_outcome(&["-v", "-e", "Idle -> Discard; DriverManager(wait 5ms, stop)"]);
    assert!(
        err.contains("router stopped: 'DriverManager@3 :: DriverManager' stopped the router"),
        "{err}"
    );
    let (_, _, err) = router_outcome(&["-v", "--simtime", "-e", "Script(wait 1s)"]);
    assert!(
        err.contains(
            "router stopped: nothing left to do: simulated time has no task or timer left"
        ),
        "{err}"
    );
    let (_, _, err) = router_outcome(&["-e", CONFIG]);
    assert_eq!(err, "", "nothing is logged without -v");
}
