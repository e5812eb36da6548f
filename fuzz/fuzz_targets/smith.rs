//! A wasm-smith module from the fuzz input, in one of the four variants the fixed-seed test
//! uses (exnref or legacy; with or without a Rust-like stack pointer and unwind tag), through
//! the checker: no panic, valid output, and for exnref outputs the differential run in Wasmtime.
#![no_main]

#[path = "../../tests/robustness.rs"]
mod robustness;

use libfuzzer_sys::fuzz_target;
use wasm_unwind::{Encoding, Options};

fuzz_target!(|data: &[u8]| {
    let Some((&variant, data)) = data.split_first() else {
        return;
    };
    let Some(module) = robustness::smith(data) else {
        return;
    };
    let module = if variant & 1 == 1 {
        match robustness::add_rust_abi(&module) {
            Some(m) => m,
            None => return,
        }
    } else {
        module
    };
    let (module, encoding) = if variant & 2 == 2 {
        match robustness::to_legacy(&module) {
            Some(m) => (m, Encoding::Legacy),
            None => return,
        }
    } else {
        (module, Encoding::Exnref)
    };
    let check = |options: &Options| match robustness::check_case(&module, options, true) {
        Ok(outcome) => outcome,
        Err(bug) => panic!("{}", bug.what),
    };
    if let robustness::Outcome::Rejected(msg) = check(&Options::default()) {
        // A module that throws but never catches: retry as a user would, naming the encoding.
        if msg.contains("--encoding") {
            check(&Options::default().encoding(encoding));
        }
    }
});
