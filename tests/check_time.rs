//! Checking is linear in the size of a configuration: a 50,000-element
//! pull chain (`Queue -> 50,000 Counters -> Unqueue`, where Click's
//! push/pull resolution sweeps once per element) and push chain check
//! within bounds generous for a loaded machine and a debug build.

use std::time::{Duration, Instant};

use click_engine::Router;

const N: usize = 50_000;

/// Loads `text`, then checks it as `--check` does (graph, push and pull,
/// every element configured, placement on one thread): the two times.
fn load_and_check(text: &str) -> (Duration, Duration) {
    let start = Instant::now();
    let config = click_lang::load_str(text, "chain", &Default::default()).expect("loads");
    let loaded = start.elapsed();
    let start = Instant::now();
    let registry = router::registry();
    let router = Router::new(&config, &registry).expect("checks");
    router.check_threads(1).expect("places");
    (loaded, start.elapsed())
}

fn chain(first: &str, middle: &str, last: &str) -> String {
    let mut text = String::from(first);
    for _ in 0..N {
        text += " -> ";
        text += middle;
    }
    text + " -> " + last + ";\n"
}

#[test]
fn a_long_pull_chain_checks_in_linear_time() {
    let (loaded, checked) =
        load_and_check(&chain("Idle -> Queue", "Counter", "Unqueue -> Discard"));
    eprintln!("pull chain of {N}: loaded in {loaded:?}, checked in {checked:?}");
    assert!(checked < Duration::from_secs(10), "checked in {checked:?}");
    assert!(loaded < Duration::from_secs(30), "loaded in {loaded:?}");
}

#[test]
fn a_long_push_chain_checks_in_linear_time() {
    let (loaded, checked) = load_and_check(&chain("Idle", "Counter", "Discard"));
    eprintln!("push chain of {N}: loaded in {loaded:?}, checked in {checked:?}");
    assert!(checked < Duration::from_secs(10), "checked in {checked:?}");
    assert!(loaded < Duration::from_secs(30), "loaded in {loaded:?}");
}
