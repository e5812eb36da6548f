//! One `run(u)` per fuzz target in `fuzz/fuzz_targets/` (the shape of wasm-tools'
//! `fuzz/src/*.rs`): each panics on a bug, and returns `Err` only when the fuzzer's bytes run
//! out before a case is made. `tests/robustness.rs` runs each on fixed inputs, so they build and
//! run with `cargo test`.

pub mod process;
pub mod smith;
