//! Arbitrary bytes through the whole pipeline: never a panic; either a module that validates
//! (and is left alone by a second run, and is valid in JS mode too) or a one-line error. The
//! differential runs only for outputs that Wasmtime can execute; most byte strings are
//! rejected long before.

use arbitrary::{Result, Unstructured};

use crate::robustness::check_input;

pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let bytes = u.bytes(u.len())?;
    if let Err(bug) = check_input(bytes) {
        panic!("{}", bug.what);
    }
    Ok(())
}
