//! The engines the end-to-end tests run on (Deno, Node 24, workerd), from `.engines/bin/`.
//!
//! `tests/engines/install.sh` puts them there at pinned versions; the first test that needs one
//! runs it (it is idempotent and locked), so `cargo test` works on a fresh machine. A missing
//! engine is a failure, never a skip.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::thread;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `.engines/bin/<name>`, installing the pinned engines first when it is missing.
pub fn engine(name: &str) -> PathBuf {
    static INSTALL: Once = Once::new();
    let path = repo().join(".engines/bin").join(name);
    if !path.is_file() {
        INSTALL.call_once(|| {
            say(&format!(
                "{} is missing: running tests/engines/install.sh",
                path.display()
            ));
            let status = Command::new("bash")
                .arg(repo().join("tests/engines/install.sh"))
                .status()
                .unwrap_or_else(|e| panic!("cannot run tests/engines/install.sh: {e}"));
            assert!(
                status.success(),
                "tests/engines/install.sh failed ({status})"
            );
        });
    }
    assert!(
        path.is_file(),
        "{} is missing after tests/engines/install.sh; these tests need it",
        path.display()
    );
    path
}

/// The wasm-bindgen CLI at the bindgen fixture's version, installed first when missing by
/// `tests/engines/wasm-bindgen.sh` (`cargo install`, several minutes the first time).
pub fn wasm_bindgen() -> PathBuf {
    static INSTALL: Once = Once::new();
    let path = repo().join(".engines/wasm-bindgen/bin/wasm-bindgen");
    if !path.is_file() {
        INSTALL.call_once(|| {
            say("wasm-bindgen is missing: running tests/engines/wasm-bindgen.sh");
            let status = Command::new("bash")
                .arg(repo().join("tests/engines/wasm-bindgen.sh"))
                .status()
                .unwrap_or_else(|e| panic!("cannot run tests/engines/wasm-bindgen.sh: {e}"));
            assert!(
                status.success(),
                "tests/engines/wasm-bindgen.sh failed ({status})"
            );
        });
    }
    assert!(
        path.is_file(),
        "{} is missing after tests/engines/wasm-bindgen.sh",
        path.display()
    );
    path
}

/// Copies `from` to stderr line by line, prefixed, as it arrives (past the test harness's
/// capture, so long runs show progress).
pub fn stream(from: impl Read + Send + 'static, prefix: String) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            say(&format!("{prefix}{line}"));
        }
    })
}

/// One line to stderr, past the test harness's output capture.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
