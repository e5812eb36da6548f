//! The default-mode JS suites (`tests/js/contain.test.mjs`, `abort_guard.test.mjs`) in Bun
//! (JavaScriptCore, Safari's engine), in either encoding. The behaviour tests
//! (`tests/contain.rs`, `tests/abort_guard.rs`) call [`run_suite`].
//!
//! `bun test` runs the files as they are: it provides `node:test` (`test`, `t.diagnostic`) and
//! `node:assert`. Its JUnit report gives the counts. Output is streamed to stderr, prefixed.

use std::path::Path;
use std::process::Command;

use wasm_unwind::Encoding;

use super::{engine, modules, repo, run_streamed};

/// Per JS test (ms), as for Node: the million-panic test is long on 2 busy cores.
const TEST_TIMEOUT_MS: u32 = 10 * 60 * 1000;

/// Runs `tests/js/<file>` in Bun on modules of `encoding`; panics when Bun is missing, fails, or
/// runs no tests.
pub fn run_suite(file: &str, encoding: Encoding) {
    let bun = engine("bun");
    let modules = tempfile::Builder::new()
        .prefix("wasm-unwind-bun-")
        .tempdir()
        .expect("temp dir");
    modules::default_mode(modules.path(), &[encoding]);
    let name = match encoding {
        Encoding::Exnref => "exnref",
        Encoding::Legacy => "legacy",
    };
    let report = modules.path().join("report.xml");
    let prefix = format!("[bun {file} {name}] ");
    let status = run_streamed(
        Command::new(&bun)
            .args(["test", &format!("--timeout={TEST_TIMEOUT_MS}")])
            .args(["--reporter=junit", "--reporter-outfile"])
            .arg(&report)
            // A path, not a filter: `bun test NAME` would match NAME anywhere in the repo.
            .arg(format!("./tests/js/{file}"))
            .current_dir(repo())
            .env("WASM_UNWIND_JS_DIR", modules.path())
            .env("WASM_UNWIND_ENCODING", name)
            .env("NO_COLOR", "1"),
        &prefix,
    );
    let (tests, failures, skipped) = junit_counts(&report);
    assert!(
        status.success() && failures == 0,
        "{file} ({name}): {failures} of {tests} JS tests failed (bun: {status}); see the output above"
    );
    assert_eq!(skipped, 0, "{file} ({name}): JS tests skipped");
    assert!(tests > 0, "{file} ({name}): no JS tests ran");
}

/// `tests`, `failures`, `skipped` of the `<testsuites>` element of a JUnit report.
fn junit_counts(report: &Path) -> (u64, u64, u64) {
    let xml = std::fs::read_to_string(report)
        .unwrap_or_else(|e| panic!("no JUnit report from bun at {}: {e}", report.display()));
    let suites = xml
        .split_once("<testsuites ")
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(attributes, _)| attributes)
        .unwrap_or_else(|| panic!("no <testsuites> in bun's report:\n{xml}"));
    let count = |key: &str| -> u64 {
        suites
            .split_once(&format!(" {key}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(value, _)| value.parse().ok())
            .unwrap_or_else(|| panic!("no {key}=\"N\" in bun's report: <testsuites {suites}>"))
    };
    (count("tests"), count("failures"), count("skipped"))
}
