//! The control plane: handlers of a running router, read and written from
//! outside and across scheduler threads.

use std::time::{Duration, Instant};

use click_engine::{Router, RunOptions};

fn router(config: &str) -> Router {
    let flat = click_lang::load_str(config, "config", &Default::default()).expect("parses");
    Router::new(&flat, &click_elements::registry()).expect("checks")
}

/// Polls `read` until it gives a value, or fails after a few seconds.
fn eventually(what: &str, mut read: impl FnMut() -> Option<u64>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = read() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_handle_reads_writes_and_stops_a_running_router_on_two_threads() {
    let r = router(
        "src :: InfiniteSource(LENGTH 64, BURST 32);
         src -> q :: ThreadSafeQueue(1024) -> uq :: Unqueue(BURST 32) -> c :: Counter -> Discard;
         StaticThreadSched(src 0, uq 1);",
    );
    let handle = r.handle();
    assert!(handle.read("c.count").is_err(), "not running yet");
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            r.run(&RunOptions {
                threads: 2,
                final_reads: vec!["c.count".into()],
                ..Default::default()
            })
        });
        // c runs on thread 1: its count is answered by that thread's inbox.
        let count =
            |h: &click_engine::RouterHandle| h.read("c.count").ok()?.trim().parse::<u64>().ok();
        let first = eventually("a first count", || count(&handle).filter(|&n| n > 0));
        let later = eventually("counting on", || count(&handle).filter(|&n| n > first));
        assert!(later > first);

        // Pause the source (thread 0) through a write handler; the count settles.
        handle
            .write("src.active", "false")
            .expect("write reaches thread 0");
        std::thread::sleep(Duration::from_millis(50));
        let settled = count(&handle).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            count(&handle).unwrap(),
            settled,
            "a paused source sends nothing"
        );
        assert!(handle.write("src.nonexistent", "1").is_err());
        assert!(handle.read("nosuch.count").is_err());

        handle.stop();
        let report = run.join().unwrap().expect("runs");
        let final_count: u64 = report.reads[0].as_ref().unwrap().trim().parse().unwrap();
        assert_eq!(final_count, settled);
    });
    assert!(!handle.is_running());
}
