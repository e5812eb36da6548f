//! The default-mode JS suites (`tests/js/contain.test.mjs`, `abort_guard.test.mjs`) in Node
//! (V8), which on this machine and in CI is Node 20 and runs only the legacy EH encoding. The
//! behaviour tests (`tests/contain.rs`, `tests/abort_guard.rs`) call [`run_suite`].
//!
//! Each run processes the fixtures with the library into a fresh temporary directory and runs
//! one file of `tests/js/` with `node --test`, the directory named by `WASM_UNWIND_JS_DIR`.
//! Node's output is streamed to stderr as it comes, each line prefixed with the file name.
//! A missing `node` is a failure, never a skip. `NODE` overrides the `node` found on `PATH`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use wasm_unwind::Encoding;

use super::{modules, repo, run_streamed, say};

/// The variable through which the JS tests find the modules.
const DIR_ENV: &str = "WASM_UNWIND_JS_DIR";

/// Per JS test (ms): generous; the million-panic test took 13-37 s here (2 cores, varying load).
const TEST_TIMEOUT_MS: u32 = 10 * 60 * 1000;

/// A fresh directory for the modules a JS suite loads.
fn module_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wasm-unwind-node-")
        .tempdir()
        .expect("temp dir")
}

/// `NODE` when set, else `node` from `PATH`.
fn node() -> OsString {
    std::env::var_os("NODE")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "node".into())
}

/// The engine's version; panics (fails the test) when it cannot be run.
fn node_version(node: &OsString) -> String {
    let output = Command::new(node).arg("--version").output().unwrap_or_else(|e| {
        panic!(
            "cannot run Node ({:?}: {e}). These tests need a JS engine: install Node 20 or later on PATH, \
             or point NODE at one. A missing engine is a failure, not a skip.",
            node
        )
    });
    assert!(
        output.status.success(),
        "{node:?} --version failed: {output:?}"
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The totals at the end of a TAP report (`# pass 3`, ...).
fn tap_count(tap: &str, key: &str) -> Option<u64> {
    tap.lines()
        .rev()
        .find_map(|line| line.strip_prefix(&format!("# {key} "))?.trim().parse().ok())
}

/// Runs `tests/js/<file>` in Node on the default-mode modules (listed in `tests/js/harness.mjs`);
/// panics when Node is missing, fails, or runs no tests.
pub fn run_suite(file: &str) {
    run_suite_with(file, |dir| modules::default_mode(dir, &[Encoding::Legacy]));
}

/// Runs `tests/js/<file>` in Node on the modules `write` puts into the directory it is given.
pub fn run_suite_with(file: &str, write: impl FnOnce(&Path)) {
    run_suite_in(node(), file, write)
}

/// [`run_suite_with`] in the Node at `node` (e.g. `.engines/bin/node24`).
pub fn run_suite_in(node: impl Into<OsString>, file: &str, write: impl FnOnce(&Path)) {
    let node = node.into();
    let version = node_version(&node);
    let modules = module_dir();
    write(modules.path());
    let js = repo().join("tests/js").join(file);
    assert!(js.is_file(), "{} missing", js.display());
    let tap = modules.path().join("report.tap");

    let prefix = format!("[{file}] ");
    say(&format!(
        "{prefix}node {version}, modules in {}",
        modules.path().display()
    ));
    let status = run_streamed(
        Command::new(&node)
            .arg("--test")
            .arg(format!("--test-timeout={TEST_TIMEOUT_MS}"))
            .args(["--test-reporter=spec", "--test-reporter-destination=stdout"])
            .arg("--test-reporter=tap")
            .arg(arg("--test-reporter-destination=", &tap))
            .arg(&js)
            .current_dir(repo())
            .env(DIR_ENV, modules.path()),
        &prefix,
    );

    let report =
        std::fs::read_to_string(&tap).unwrap_or_else(|e| panic!("no TAP report from node ({e})"));
    let count = |key| {
        tap_count(&report, key)
            .unwrap_or_else(|| panic!("no `# {key}` in node's TAP report:\n{report}"))
    };
    let (tests, pass, fail) = (count("tests"), count("pass"), count("fail"));
    let (cancelled, skipped, todo) = (count("cancelled"), count("skipped"), count("todo"));
    assert!(
        status.success() && fail == 0 && cancelled == 0,
        "{file}: {fail} of {tests} JS tests failed, {cancelled} cancelled (node: {status}); see the output above"
    );
    assert_eq!((skipped, todo), (0, 0), "{file}: JS tests skipped or todo");
    assert!(
        pass > 0 && pass == tests,
        "{file}: {pass} of {tests} JS tests passed"
    );
}

fn arg(flag: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(flag);
    arg.push(path);
    arg
}
