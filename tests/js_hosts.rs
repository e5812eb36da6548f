//! JS mode in real engines: Deno 2.9, Node 24 and Bun 1 (JavaScriptCore), both encodings, and
//! the machine's Node 20 with the legacy encoding, with and without the runtime.
//!
//! Each test processes the fixtures with `js: true` into a fresh directory, writes the glue
//! that `--emit-js` writes, and runs `tests/js/hosts.test.mjs` in one engine. That file checks
//! PanicError and its exact message, state kept across panics, 100,000 panics without memory
//! growth (with the runtime), TerminatedError after an abort, and a fresh instance on request.

use std::path::{Path, PathBuf};
use std::process::Command;

mod engines;
use engines::{deno_run, engine, modules, repo, run_streamed};

const DIR_ENV: &str = "WASM_UNWIND_JS_DIR";

/// The modules and glue `hosts.test.mjs` expects, in a fresh directory.
fn write_modules() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("wasm-unwind-hosts-")
        .tempdir()
        .expect("temp dir");
    modules::js_mode(dir.path());
    dir
}

/// Runs `hosts.test.mjs` with `engine` on the `encodings` (comma-separated); fails unless
/// every JS test passed.
fn run(label: &str, engine: &mut Command, encodings: &str) {
    let modules = write_modules();
    let command = engine
        .arg(repo().join("tests/js/hosts.test.mjs"))
        .current_dir(repo())
        .env(DIR_ENV, modules.path())
        .env("WASM_UNWIND_ENCODINGS", encodings);
    let status = run_streamed(command, &format!("[{label}] "));
    assert!(
        status.success(),
        "{label}: JS tests failed ({status}); see the output above"
    );
}

fn version(program: &Path) -> String {
    let output = Command::new(program)
        .arg("--version")
        .output()
        .expect("engine --version");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The engine `.engines/bin/<name>`, which must say a version starting with `line`.
fn pinned(name: &str, line: &str) -> PathBuf {
    let engine = engine(name);
    let said = version(&engine);
    assert!(
        said.starts_with(line),
        "{name}: expected {line}*, got {said}"
    );
    engine
}

#[test]
fn deno() {
    pinned("deno", "deno 2.9.");
    run("deno", deno_run().arg("--allow-env"), "exnref,legacy");
}

#[test]
fn node_24() {
    let node = pinned("node24", "v24.");
    run("node 24", &mut Command::new(node), "exnref,legacy");
}

/// Bun: JavaScriptCore, Safari's engine.
#[test]
fn bun() {
    let bun = pinned("bun", "1.");
    run("bun", &mut Command::new(bun), "exnref,legacy");
}

/// The machine's own Node (20 here and in CI; `NODE` overrides), which has legacy EH only.
#[test]
fn node_20_legacy() {
    let node = PathBuf::from(std::env::var_os("NODE").unwrap_or_else(|| "node".into()));
    run("node 20", &mut Command::new(node), "legacy");
}
