//! See `support::fuzz::smith` (tests/support/src/fuzz/smith.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = support::fuzz::smith::run(&mut arbitrary::Unstructured::new(data));
});
