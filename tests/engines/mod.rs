//! The engines the end-to-end tests run on (Deno, Node 24, Bun, workerd, wrangler), from `.engines/`, and
//! the machine's Node 20 ([`node`]).
//!
//! `tests/engines/install.sh` puts them there at pinned versions; the first test that needs one
//! runs it (it is idempotent and locked), so `cargo test` works on a fresh machine. A missing
//! engine is a failure, never a skip.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;
use std::thread;

pub mod bun;
pub mod modules;
pub mod node;
pub mod workerd;
pub mod wrangler;

pub use support::repo;

/// `.engines/bin/<name>`, installing the pinned engines first when it is missing.
pub fn engine(name: &str) -> PathBuf {
    static INSTALL: Once = Once::new();
    installed(&format!(".engines/bin/{name}"), &["install.sh"], &INSTALL)
}

/// `deno run --allow-read` with no update check, its caches in `.engines/deno-dir`, plain output.
pub fn deno_run() -> Command {
    let mut deno = Command::new(engine("deno"));
    deno.args(["run", "--allow-read"])
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("DENO_DIR", repo().join(".engines/deno-dir"))
        .env("NO_COLOR", "1");
    deno
}

/// The wasm-bindgen CLI at the bindgen fixture's version, installed first when missing by
/// `tests/engines/wasm-bindgen.sh` (`cargo install`, several minutes the first time).
pub fn wasm_bindgen() -> PathBuf {
    static INSTALL: Once = Once::new();
    installed(
        ".engines/wasm-bindgen/bin/wasm-bindgen",
        &["wasm-bindgen.sh"],
        &INSTALL,
    )
}

/// The wasm-bindgen CLI at the version of `fixtures/bindgen-old/Cargo.lock` (one from before
/// its own unwind and abort support), installed like [`wasm_bindgen`].
pub fn wasm_bindgen_old() -> PathBuf {
    static INSTALL: Once = Once::new();
    installed(
        ".engines/wasm-bindgen-old/bin/wasm-bindgen",
        &["wasm-bindgen.sh", "fixtures/bindgen-old/Cargo.lock"],
        &INSTALL,
    )
}

/// Binaryen's `wasm-opt` at the version worker-build runs (npm `binaryen`, a Node script: it
/// runs on the `node` of the PATH), installed with the engines by `tests/engines/install.sh`.
/// What `worker-build --release` passes to wasm-opt after wasm-bindgen (worker-build 0.8.7,
/// see FIELD.md).
pub const WORKER_BUILD_WASM_OPT_FLAGS: &[&str] = &[
    "-O",
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-reference-types",
    "--enable-exception-handling",
    "--debuginfo",
];

pub fn wasm_opt() -> PathBuf {
    static INSTALL: Once = Once::new();
    installed(".engines/binaryen/bin/wasm-opt", &["install.sh"], &INSTALL)
}

/// The file at `path` (from the repo root, or absolute), running `tests/engines/<script>` once
/// when it is missing (`script`: its name, then its arguments, run from the repo root).
pub fn installed(path: &str, script: &[&str], once: &Once) -> PathBuf {
    let path = repo().join(path);
    let (script, args) = script.split_first().expect("a script");
    let script = repo().join("tests/engines").join(script);
    if !path.is_file() {
        once.call_once(|| {
            say(&format!(
                "{} is missing: running {}",
                path.display(),
                script.display()
            ));
            let status = Command::new("bash")
                .arg(&script)
                .args(args)
                .current_dir(repo())
                .status()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(status.success(), "{} failed ({status})", script.display());
        });
    }
    assert!(
        path.is_file(),
        "{} is missing after {}; these tests need it",
        path.display(),
        script.display()
    );
    path
}

/// Runs `command` with its output copied to stderr as it arrives, each line after `prefix`, and
/// says how it ended and after how long.
pub fn run_streamed(command: &mut Command, prefix: &str) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let out = stream(child.stdout.take().unwrap(), prefix.to_string());
    let err = stream(child.stderr.take().unwrap(), prefix.to_string());
    let status = child.wait().expect("waiting for the engine");
    out.join().unwrap();
    err.join().unwrap();
    say(&format!(
        "{prefix}exited with {status} after {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    status
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
