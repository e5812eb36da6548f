//! JS mode in real engines: Deno 2.9, Node 24 and Bun 1 (JavaScriptCore), both encodings, and
//! the machine's Node 20 with the legacy encoding, with and without the runtime.
//!
//! Each test processes the fixtures with `js: true` into a fresh directory, writes the glue
//! that `--emit-js` writes, and runs `tests/js/hosts.test.mjs` in one engine. That file checks
//! PanicError and its exact message, state kept across panics, 100,000 panics without memory
//! growth (with the runtime), TerminatedError after an abort, and a fresh instance on request.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod engines;
use engines::{engine, modules, repo, say, stream};

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

/// Runs `hosts.test.mjs` with `program args..` on the `encodings` (comma-separated); fails
/// unless every JS test passed.
fn run(label: &str, program: &Path, args: &[&str], encodings: &str) {
    let modules = write_modules();
    let script = repo().join("tests/js/hosts.test.mjs");
    let prefix = format!("[{label}] ");
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .arg(&script)
        .current_dir(repo())
        .env(DIR_ENV, modules.path())
        .env("WASM_UNWIND_ENCODINGS", encodings)
        // Deno: no update check, caches inside the repo's engine folder, plain output.
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("DENO_DIR", repo().join(".engines/deno-dir"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let out = stream(child.stdout.take().unwrap(), prefix.clone());
    let err = stream(child.stderr.take().unwrap(), prefix.clone());
    let status = child.wait().expect("waiting for the engine");
    out.join().unwrap();
    err.join().unwrap();
    say(&format!(
        "{prefix}exited with {status} after {:.1} s",
        started.elapsed().as_secs_f64()
    ));
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

#[test]
fn deno() {
    let deno = engine("deno");
    assert!(
        version(&deno).starts_with("deno 2.9."),
        "expected Deno 2.9, got {}",
        version(&deno)
    );
    run(
        "deno",
        &deno,
        &["run", "--allow-read", "--allow-env"],
        "exnref,legacy",
    );
}

#[test]
fn node_24() {
    let node = engine("node24");
    assert!(
        version(&node).starts_with("v24."),
        "expected Node 24, got {}",
        version(&node)
    );
    run("node 24", &node, &[], "exnref,legacy");
}

/// Bun: JavaScriptCore, Safari's engine.
#[test]
fn bun() {
    let bun = engine("bun");
    assert!(
        version(&bun).starts_with("1."),
        "expected Bun 1, got {}",
        version(&bun)
    );
    run("bun", &bun, &[], "exnref,legacy");
}

/// The machine's own Node (20 here and in CI; `NODE` overrides), which has legacy EH only.
#[test]
fn node_20_legacy() {
    let node = PathBuf::from(std::env::var_os("NODE").unwrap_or_else(|| "node".into()));
    run("node 20", &node, &[], "legacy");
}
