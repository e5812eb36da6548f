//! The processed modules the JS suites (`tests/js/`) load, written into a directory: one
//! writer per mode, shared by every engine that runs the suites (Node, Deno, browsers).

use std::path::Path;

use wasm_unwind::{Encoding, Options, Report};

use support::fixture;

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

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("writing {name}: {e}"));
}

/// JS mode (`hosts.test.mjs`): the glue `--emit-js` writes, and
/// `panics-rt.E.wasm`, `panics.E.wasm` processed with `js: true`, `panics-rt.E.noguard.wasm`
/// also with `abort_guard: false`, and `first-c.E.wasm` (the README's first module with
/// `extern "C"` exports) processed with `js: true`, for both encodings E.
pub fn js_mode(dir: &Path) {
    for encoding in ["exnref", "legacy"] {
        for (stem, runtime, abort_guard, suffix) in [
            ("panics-rt", true, true, ""),
            ("panics", false, true, ""),
            ("panics-rt", true, false, ".noguard"),
        ] {
            let name = format!("{stem}.{encoding}{suffix}.wasm");
            let options = Options::default().js(true).abort_guard(abort_guard);
            let input = fixture(&format!("{stem}.{encoding}.wasm"));
            let processed = wasm_unwind::process(&input, &options)
                .unwrap_or_else(|e| panic!("processing {name}: {e}"));
            assert!(processed.report.js, "{name}: JS mode not applied");
            assert_eq!(
                processed.report.runtime, runtime,
                "{name}: runtime detection"
            );
            assert_eq!(
                processed.report.abort_guard, abort_guard,
                "{name}: abort guard"
            );
            write(dir, &name, &processed.wasm);
        }
        let name = format!("first-c.{encoding}.wasm");
        let processed = wasm_unwind::process(&fixture(&name), &Options::default().js(true))
            .unwrap_or_else(|e| panic!("processing {name}: {e}"));
        write(dir, &name, &processed.wasm);
    }
    write(dir, "wasm-unwind.mjs", wasm_unwind::JS_GLUE.as_bytes());
}

/// Processes `input`, checks the report for what every test relies on, returns the module.
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

fn detected(name: &str, encoding: Encoding) -> impl FnOnce(&Report) + '_ {
    move |report| {
        assert_eq!(
            report.encoding,
            Some(encoding),
            "{name}: not detected as {encoding:?}"
        );
        assert!(report.unwind_tag.is_some(), "{name}: no unwind tag found");
        assert!(
            report.stack_pointer.is_some(),
            "{name}: no stack pointer found"
        );
    }
}

/// The default mode (`contain.test.mjs`, `abort_guard.test.mjs`, listed in `harness.mjs`), for
/// each of `encodings`: `panics.E.wasm` processed, `panics.E.noguard.wasm` processed with
/// `abort_guard: false`, `panics.E.unprocessed.wasm` as built; and `abort.wasm` processed and
/// the engine probe `probe.catch_all.wasm`.
pub fn default_mode(dir: &Path, encodings: &[Encoding]) {
    for &encoding in encodings {
        let stem = match encoding {
            Encoding::Exnref => "panics.exnref",
            Encoding::Legacy => "panics.legacy",
        };
        let input = fixture(&format!("{stem}.wasm"));
        let name = format!("{stem}.wasm");
        let guarded = process(
            &name,
            &input,
            &Options::default(),
            detected(&name, encoding),
        );
        write(dir, &name, &guarded);
        let options = Options::default().abort_guard(false);
        let name = format!("{stem}.wasm (abort_guard: false)");
        let noguard = process(&name, &input, &options, detected(&name, encoding));
        write(dir, &format!("{stem}.noguard.wasm"), &noguard);
        write(dir, &format!("{stem}.unprocessed.wasm"), &input);
    }

    let abort = process(
        "abort.wasm",
        &fixture("abort.wasm"),
        &Options::default(),
        |report| {
            assert_eq!(
                report.encoding, None,
                "abort.wasm: a panic=abort build has no EH encoding"
            );
        },
    );
    write(dir, "abort.wasm", &abort);
    write(
        dir,
        "probe.catch_all.wasm",
        &wat::parse_str(CATCH_ALL_PROBE).expect("the catch_all probe"),
    );
}
