//! The legacy EH encoding end to end in a real JS engine: Node (V8), which on this machine and in
//! CI is Node 20 and runs only the legacy encoding.
//!
//! Each test processes the fixtures with the library into a fresh temporary directory and runs
//! one file of `tests/js/` with `node --test`, the directory named by `WASM_UNWIND_JS_DIR`.
//! Node's output is streamed to stderr as it comes, each line prefixed with the file name.
//! A missing `node` is a failure, never a skip. `NODE` overrides the `node` found on `PATH`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use wasm_unwind::{Encoding, Options, Report};

mod engines;
use engines::{say, stream};

/// The variable through which the JS tests find the modules.
const DIR_ENV: &str = "WASM_UNWIND_JS_DIR";

/// Per JS test (ms): generous; the million-panic test took 13-37 s here (2 cores, varying load).
const TEST_TIMEOUT_MS: u32 = 10 * 60 * 1000;

/// A legacy-EH probe of the engine itself (see `abort_guard.test.mjs`): `run(0)` recurses until
/// the engine's stack is exhausted, `run(1)` calls a host function that throws; both under a
/// `catch_all` that records in `caught` whether it ran.
const CATCH_ALL_PROBE: &str = r#"
(module
  (import "env" "host" (func $host))
  (global $caught (export "caught") (mut i32) (i32.const 0))
  (func $recurse (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $recurse
    local.get 0
    i32.xor)
  (func (export "run") (param i32)
    try
      local.get 0
      if
        call $host
      else
        i32.const 0
        call $recurse
        drop
      end
    catch_all
      i32.const 1
      global.set $caught
    end))
"#;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Vec<u8> {
    let path = manifest_dir().join("fixtures/wasm").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Processes `input`, checks the report for what every test here relies on, returns the module.
fn process(name: &str, input: &[u8], options: &Options, check: impl FnOnce(&Report)) -> Vec<u8> {
    let processed =
        wasm_unwind::process(input, options).unwrap_or_else(|e| panic!("processing {name}: {e}"));
    let report = &processed.report;
    assert_eq!(
        report.already_processed, None,
        "{name}: the fixture is already processed"
    );
    assert_eq!(
        report.abort_guard, options.abort_guard,
        "{name}: abort guard"
    );
    assert!(report.wrapped() > 0, "{name}: nothing wrapped");
    assert_eq!(
        report.wrapped(),
        report.exports.len(),
        "{name}: not every export wrapped: {:?}",
        report.exports
    );
    check(report);
    processed.wasm
}

fn legacy_eh(name: &str) -> impl FnOnce(&Report) {
    move |report| {
        assert_eq!(
            report.encoding,
            Some(Encoding::Legacy),
            "{name}: not detected as legacy EH"
        );
        assert!(report.unwind_tag.is_some(), "{name}: no unwind tag found");
        assert!(
            report.stack_pointer.is_some(),
            "{name}: no stack pointer found"
        );
    }
}

/// Writes the modules the JS tests use (listed in `tests/js/harness.mjs`) into a fresh directory.
fn write_modules() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("wasm-unwind-node-")
        .tempdir()
        .expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes)
            .unwrap_or_else(|e| panic!("writing {name}: {e}"));
    };

    let legacy = fixture("panics.legacy.wasm");
    let guarded = process(
        "panics.legacy.wasm",
        &legacy,
        &Options::default(),
        legacy_eh("panics.legacy.wasm"),
    );
    write("panics.legacy.wasm", &guarded);
    let options = Options::default().abort_guard(false);
    let name = "panics.legacy.wasm (abort_guard: false)";
    write(
        "panics.legacy.noguard.wasm",
        &process(name, &legacy, &options, legacy_eh(name)),
    );
    write("panics.legacy.unprocessed.wasm", &legacy);

    let abort = fixture("abort.wasm");
    let abort = process("abort.wasm", &abort, &Options::default(), |report| {
        assert_eq!(
            report.encoding, None,
            "abort.wasm: a panic=abort build has no EH encoding"
        );
    });
    write("abort.wasm", &abort);

    write(
        "probe.catch_all.wasm",
        &wat::parse_str(CATCH_ALL_PROBE).expect("the catch_all probe"),
    );
    dir
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

/// Runs `tests/js/<file>` in Node; panics when Node is missing, fails, or runs no tests.
fn run_js(file: &str) {
    let node = node();
    let version = node_version(&node);
    let modules = write_modules();
    let js = manifest_dir().join("tests/js").join(file);
    assert!(js.is_file(), "{} missing", js.display());
    let tap = modules.path().join("report.tap");

    let prefix = format!("[{file}] ");
    say(&format!(
        "{prefix}node {version}, modules in {}",
        modules.path().display()
    ));
    let started = Instant::now();
    let mut child = Command::new(&node)
        .arg("--test")
        .arg(format!("--test-timeout={TEST_TIMEOUT_MS}"))
        .args(["--test-reporter=spec", "--test-reporter-destination=stdout"])
        .arg("--test-reporter=tap")
        .arg(arg("--test-reporter-destination=", &tap))
        .arg(&js)
        .current_dir(manifest_dir())
        .env(DIR_ENV, modules.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {node:?}: {e}"));
    let out = stream(child.stdout.take().unwrap(), prefix.clone());
    let err = stream(child.stderr.take().unwrap(), prefix.clone());
    let status = child.wait().expect("waiting for node");
    out.join().unwrap();
    err.join().unwrap();
    say(&format!(
        "{prefix}node exited with {status} after {:.1} s",
        started.elapsed().as_secs_f64()
    ));

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

#[test]
fn contain() {
    run_js("contain.test.mjs");
}

#[test]
fn abort_guard() {
    run_js("abort_guard.test.mjs");
}
