//! A wasm-smith module from the fuzz input, in one of the variants the fixed-seed run uses
//! (exnref or legacy; with or without a Rust-like stack pointer and unwind tag, or with a
//! Rust-like ABI off the happy path: odd stack pointers, names the tool adds, function tables),
//! through the checker: no panic, valid output, for exnref outputs the differential run in
//! Wasmtime, and for the odd variants what the tool must do. A module that throws but never
//! catches is retried with its encoding given, as a user would.

use arbitrary::{Result, Unstructured};

use crate::robustness::campaign::{SMITH_KINDS, smith_variant};
use crate::robustness::{Counts, run_one};

pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let kind = *u.choose(SMITH_KINDS)?;
    let Some(case) = smith_variant(kind, u) else {
        return Ok(());
    };
    if let Err(bug) = run_one(kind, &case, &mut Counts::default()) {
        panic!("{}", bug.what);
    }
    Ok(())
}
