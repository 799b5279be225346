//! Handler reads made in the middle of a push, as Scripts make them: what
//! a read of an element on the call stack gives, and what its errors say.

mod common;

#[test]
fn a_lent_element_reports_its_missing_handler_not_busy() {
    // Counter lends itself for its COUNT_CALL: `c.count` reads, and a
    // handler it lacks is named as missing, not blamed on the call stack.
    let config =
        "InfiniteSource(LIMIT 3, STOP true) -> c :: Counter(COUNT_CALL 2 s.run) -> Discard;
                  s :: Script(TYPE PASSIVE, print $(c.count) $(c.nosuch))";
    let (status, stdout, stderr) = common::router_outcome(&["-e", config]);
    assert!(status.success(), "{stderr}");
    // A print with an error adds no newline, as Click's.
    assert_eq!(stdout, "2 $(c.nosuch)");
    assert!(stderr.contains("no handler 'c.nosuch'"), "{stderr}");
    assert!(!stderr.contains("busy"), "{stderr}");
}

#[test]
fn a_packet_script_reading_upstream_is_told_busy() {
    let config = "InfiniteSource(LIMIT 1, STOP true) -> up :: Counter
                      -> Script(TYPE PACKET, print $(up.count), return 0) -> Discard";
    let (status, _, stderr) = common::router_outcome(&["-e", config]);
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("up: busy (a read of an element on the current call stack)"),
        "{stderr}"
    );
}
