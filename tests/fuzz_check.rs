//! Whole configurations, mutated, through what `router --check` does:
//! Click's sample configurations with bytes flipped, inserted, deleted
//! and spliced between files, loaded, checked and configured with every
//! element class, never panic and never take long. The long run is the
//! cargo-fuzz target (docs/FUZZING.md); this is its bounded CI form.

mod fuzzing;

use std::time::Duration;

use proptest::prelude::*;

/// Bytes and words worth inserting: Click's syntax, and values that
/// reach the edges of arguments.
const TOKENS: &[&[u8]] = &[
    b"->",
    b"=>",
    b"::",
    b"(",
    b")",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b";",
    b"|",
    b"\"",
    b"'",
    b"/*",
    b"//",
    b"\n",
    b"$a",
    b"input",
    b"output",
    b"elementclass",
    b"define($a 1)",
    b"-1",
    b"0",
    b"1e30",
    b"4294967296",
    b"18446744073709551616",
    b"0x",
    b"-",
    b".",
    b"ms",
    b"true",
    b"\xe9",
    b"\xff",
    b"Idle",
    b"Queue",
    b"Script(",
    b"wait ",
    b"STOP true",
    b"LIMIT ",
    b"CAPACITY ",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a byte with a mask.
    Flip(prop::sample::Index, u8),
    /// Insert a token.
    Insert(prop::sample::Index, &'static [u8]),
    /// Insert random bytes.
    Bytes(prop::sample::Index, Vec<u8>),
    /// Delete up to N bytes.
    Delete(prop::sample::Index, usize),
    /// Replace up to N bytes with a piece of another sample.
    Splice(
        prop::sample::Index,
        usize,
        prop::sample::Index,
        prop::sample::Index,
        usize,
    ),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<prop::sample::Index>;
    prop_oneof![
        (at(), 1u8..).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (at(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (at(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Bytes(i, b)),
        (at(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (at(), 0usize..64, at(), at(), 1usize..400)
            .prop_map(|(i, n, f, j, m)| Mutation::Splice(i, n, f, j, m)),
    ]
}

fn apply(text: &mut Vec<u8>, m: &Mutation, samples: &[(String, Vec<u8>)]) {
    let pos = |i: &prop::sample::Index, len: usize| i.index(len + 1);
    match m {
        Mutation::Flip(i, mask) if !text.is_empty() => {
            let p = i.index(text.len());
            text[p] ^= mask;
        }
        Mutation::Flip(..) => {}
        Mutation::Insert(i, token) => {
            let p = pos(i, text.len());
            text.splice(p..p, token.iter().copied());
        }
        Mutation::Bytes(i, bytes) => {
            let p = pos(i, text.len());
            text.splice(p..p, bytes.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let p = pos(i, text.len());
            let end = (p + n).min(text.len());
            text.drain(p..end);
        }
        Mutation::Splice(i, n, file, j, m) => {
            let other = &samples[file.index(samples.len())].1;
            let from = pos(j, other.len());
            let piece = &other[from..(from + m).min(other.len())];
            let p = pos(i, text.len());
            let end = (p + n).min(text.len());
            text.splice(p..end, piece.iter().copied());
        }
    }
}

/// One case must end well within this (CPU time), even in a debug build on a loaded
/// machine (a release build takes milliseconds: docs/FUZZING.md);
/// `FUZZ_SLOW_MS` sets it (the long release run asks for one second).
fn slow() -> Duration {
    let ms = std::env::var("FUZZ_SLOW_MS")
        .ok()
        .and_then(|v| v.parse().ok());
    Duration::from_millis(ms.unwrap_or(10_000))
}

/// Cases per run: 2,000 in CI, `FUZZ_CASES` for the long run
/// (docs/FUZZING.md: a million, in release).
fn cases() -> u32 {
    let n = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    n.unwrap_or(2000)
}

/// CPU time this thread has used: the bound is on the work a case does,
/// which a machine shared with other builds does not inflate as it does
/// wall-clock time.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The slowest case so far, in microseconds: printed when it grows, so a
/// long run's log shows how close it came to the bound.
static SLOWEST_US: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn note_time(took: Duration, text: &[u8]) {
    let us = took.as_micros() as u64;
    if SLOWEST_US.fetch_max(us, std::sync::atomic::Ordering::Relaxed) < us && us > 50_000 {
        eprintln!("slowest so far: {took:?} of CPU ({} bytes)", text.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_configurations_check_without_panicking(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let samples = fuzzing::samples();
        prop_assume!(!samples.is_empty());
        let mut text = samples[which.index(samples.len())].1.clone();
        for m in &mutations {
            apply(&mut text, m, samples);
        }
        let start = thread_cpu();
        fuzzing::check(&text);
        let took = thread_cpu() - start;
        note_time(took, &text);
        prop_assert!(took < slow(), "took {:?} of CPU", took);
    }
}

#[test]
fn the_samples_themselves_check_without_panicking() {
    let samples = fuzzing::samples();
    assert!(
        !samples.is_empty(),
        "shared/click-conf not found beside the workspace"
    );
    for (name, text) in samples {
        let start = thread_cpu();
        fuzzing::check(text);
        let took = thread_cpu() - start;
        assert!(took < slow(), "{name} took {took:?} of CPU");
    }
}

/// Configurations the long fuzzing runs found slow (variables whose values
/// nest and multiply, full of bytes that quote as octal escapes; a define
/// left open whose value refers to itself sixty times): they load, check
/// and configure without a panic, and quickly. Before the substitution
/// budget was checked ahead of each insertion, a debug build took 2 to 6 s
/// and up to 260 MB on each; now about 0.2 s and 15 MB.
#[test]
fn found_by_fuzzing_check_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        let start = thread_cpu();
        fuzzing::check(&text);
        let took = thread_cpu() - start;
        assert!(
            took < Duration::from_secs(2),
            "{path:?} took {took:?} of CPU"
        );
        seen += 1;
    }
    assert!(seen >= 4, "the fuzzing fixtures are missing from {dir:?}");
}
