//! A whole configuration's bytes through what `router --check` does (see
//! tests/fuzzing/mod.rs and docs/FUZZING.md).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzzing/mod.rs"]
mod fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::check(data);
});
