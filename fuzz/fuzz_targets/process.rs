//! See `support::fuzz::process` (tests/support/src/fuzz/process.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = support::fuzz::process::run(&mut arbitrary::Unstructured::new(data));
});
