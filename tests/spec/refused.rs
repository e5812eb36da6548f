//! (c) Every `assert_invalid` / `assert_malformed` module of the scripts that has a binary form
//! (all but the `module quote` texts that do not parse) is refused by the command line: exit 1,
//! one line `error: FILE: ...` naming the file, nothing on stdout, an existing output left as it
//! was and no file left behind. A binary that Wasmtime 48 validates is not invalid for the
//! current spec (some proposals' scripts predate it: multiple tables and memories, a non-zero
//! or multi-byte memory index where a zero byte was reserved): it is counted and listed, not
//! checked, like what Wasmtime fails in the runs of `spec.rs`.
//!
//! Every such binary goes through the real binary, one process each: they are some thousands,
//! and a refused run of the debug binary costs a few milliseconds, so the whole set takes
//! seconds on two threads (measured in the report). A sample would leave most of them to the
//! library alone, and the library is not what a user runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{path, script, scripts};

/// One refused-module binary: where it is (`file:line`) and its bytes.
struct Binary {
    at: String,
    wasm: Vec<u8>,
}

fn binaries() -> Vec<Binary> {
    let mut binaries = Vec::new();
    for file in scripts() {
        let name = path(&file);
        let buf = script::buffer(&name, file.raw());
        for step in script::parse(&name, file.raw(), &buf) {
            if let script::What::Refused { wasm } = step.what {
                let at = format!("{name}:{}", step.line);
                binaries.push(Binary { at, wasm });
            }
        }
    }
    binaries
}

/// Runs the CLI on `binary` as `in`, next to an `out.wasm` that must survive.
fn refuse(binary: &Binary) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (input, out) = (dir.path().join("in"), dir.path().join("out.wasm"));
    let before = b"previous output";
    std::fs::write(&input, &binary.wasm).map_err(|e| e.to_string())?;
    std::fs::write(&out, before).map_err(|e| e.to_string())?;
    let (input_str, out_str) = (input.to_str().unwrap(), out.to_str().unwrap());
    let output = support::wasm_unwind!().run(&[input_str, "-o", out_str], None);
    // The line names the file: `error: /tmp/.../in: ...`.
    support::cli::refused(&output, &format!("{input_str}:"), dir.path(), &out, before)
}

#[test]
fn invalid_and_malformed_binaries_are_refused_with_one_line_and_nothing_written() {
    let engine = crate::engine();
    let (binaries, valid): (Vec<_>, Vec<_>) = binaries()
        .into_iter()
        .partition(|b| wasmtime::Module::validate(&engine, &b.wasm).is_err());
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(b) = binaries.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(why) = refuse(b) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{} (c): {why}", b.at));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "(c) refused: {} / {} binaries of assert_invalid / assert_malformed ({:.1} s)",
        binaries.len() - failures.len(),
        binaries.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  not checked (Wasmtime 48 validates them): {}",
        valid.len()
    );
    for b in &valid {
        println!("    {}", b.at);
    }
    assert!(
        failures.is_empty(),
        "{} invalid or malformed binaries not refused cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
