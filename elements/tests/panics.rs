//! An element that panics stops the router cleanly, within a second, on one
//! thread or two. (A binary of its own: its panic hook prints the message
//! without a backtrace, so that the time measured is the router's, not that
//! of symbolizing a backtrace under RUST_BACKTRACE=1.)

mod common;
use common::run;

/// An element that panics stops the router: the run ends with an error
/// naming the element and its port, within a second, and every element is
/// cleaned up (a trace file would be flushed). On one thread and on two,
/// with the panic on either.
fn panic_stops_the_router(threads: usize, panicking_thread: usize) {
    let dir = std::env::temp_dir().join(format!(
        "router-panic-{}-{threads}-{panicking_thread}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (near, far) = (dir.join("near"), dir.join("far"));
    let config = format!(
        "s0 :: InfiniteSource(BURST 8) -> p :: Panicker(100) -> Flusher({near}) -> Discard;
         s1 :: InfiniteSource(BURST 8) -> Flusher({far}) -> Discard;
         StaticThreadSched(s0 {panicking_thread}, s1 {other});",
        near = near.display(),
        far = far.display(),
        other = (panicking_thread + 1) % threads,
    );
    let start = std::time::Instant::now();
    let err = run(&config, threads, &[]).unwrap_err();
    let took = start.elapsed();
    assert!(
        err.contains(
            "'p :: Panicker' panicked on a push into input 0: Panicker reached its packet"
        ),
        "{err}"
    );
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
    for f in [&near, &far] {
        assert_eq!(std::fs::read_to_string(f).unwrap(), "flushed", "{f:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_panic_stops_the_router_on_one_thread_or_two() {
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    panic_stops_the_router(1, 0);
    panic_stops_the_router(2, 1);
    panic_stops_the_router(2, 0);
    let _ = std::panic::take_hook();
}

#[test]
fn a_panic_while_configuring_is_a_configuration_error() {
    let err = run("InfiniteSource -> p :: Panicker(0) -> Discard;", 1, &[]).unwrap_err();
    assert!(
        err.contains(
            "while configuring 'p :: Panicker': panicked: Panicker(0) panics in configure"
        ),
        "{err}"
    );
}
