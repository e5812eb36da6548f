//! Arbitrary bytes through the whole pipeline: never a panic; either a module that validates
//! (and is left alone by a second run) or a one-line error. The differential runs only for
//! outputs that Wasmtime can execute; most byte strings are rejected long before.
#![no_main]

#[path = "../../tests/robustness.rs"]
mod robustness;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bug) = robustness::check_case(data, &wasm_unwind::Options::default(), true) {
        panic!("{}", bug.what);
    }
});
