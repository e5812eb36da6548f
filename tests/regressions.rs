//! What each hand-written input under `tests/regressions/` must do (issue 10: inputs off the Rust
//! happy path get the truth). `robustness::regressions` re-checks the same files for the generic
//! properties (valid output, one-line errors, same results); here each gets its own expectation.
//!
//! Outputs run in real engines through `tests/js/calls.mjs`: the legacy encoding in the system
//! Node (Node 20 in CI), the exnref encoding in Node 24 (`.engines/`, installed on first use).
//! `inspect_after_wasm_opt` runs Binaryen's `wasm-opt` (npm `binaryen`, pinned in
//! `tests/engines/install.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_unwind::{Encoding, Error, Note, Options, Processed, inspect, process};

mod engines;

const ENCODINGS: [&str; 2] = ["exnref", "legacy"];

use support::regression;

fn run(name: &str, options: &Options) -> Processed {
    process(&regression(name), options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The one-line error `process` gives, checked to be a user's error, not ours.
fn refusal(name: &str, options: &Options) -> String {
    let message = match process(&regression(name), options) {
        Ok(_) => panic!("{name}: processed, expected a refusal"),
        Err(e @ Error::OutputInvalid(_)) => panic!("{name}: internal error: {e}"),
        Err(e) => e.to_string(),
    };
    assert!(
        !message.contains('\n') && !message.contains("internal error"),
        "{name}: {message}"
    );
    message
}

/// Writes `wasm` to a fresh temporary file and runs `calls` on it in the engine for `encoding`,
/// every import throwing `thrown` (see `tests/js/calls.mjs`). Returns the script's JSON line.
fn calls(encoding: &str, wasm: &[u8], calls: &str, thrown: &str) -> String {
    let node = match encoding {
        "legacy" => PathBuf::from(std::env::var_os("NODE").unwrap_or("node".into())),
        _ => engines::engine("node24"),
    };
    calls_in(&node, wasm, calls, thrown)
}

fn calls_in(node: &Path, wasm: &[u8], calls: &str, thrown: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("module.wasm");
    std::fs::write(&file, wasm).unwrap();
    let out = Command::new(node)
        .arg(engines::repo().join("tests/js/calls.mjs"))
        .arg(&file)
        .arg(calls)
        .arg(thrown)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", node.display());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

// ---------------------------------------------------------------------------------------------
// 2. The stack pointer

/// A global named `__stack_pointer` that cannot be one is an error; global 0, an unrelated
/// counter, is never taken instead (it used to be, and every throw reset the counter).
#[test]
fn named_stack_pointer_that_is_immutable_is_refused() {
    for encoding in ENCODINGS {
        let name = format!("stack-pointer-named-immutable.{encoding}.wat");
        let message = refusal(&name, &Options::default());
        assert!(
            message.contains("`__stack_pointer`") && message.contains("--stack-pointer"),
            "{name}: {message}"
        );
        // Naming the counter on purpose is the user's call, and works.
        let forced = Options::default().stack_pointer("counter");
        assert_eq!(run(&name, &forced).report.stack_pointer.unwrap().index, 0);
    }
}

/// Names that name global 0 something else say there is no stack pointer: wrapped without a
/// restore, with a warning, and a throw leaves the counter as the code left it.
#[test]
fn global_0_named_otherwise_is_not_the_stack_pointer() {
    for encoding in ENCODINGS {
        let name = format!("stack-pointer-global0-named-otherwise.{encoding}.wat");
        let processed = run(&name, &Options::default());
        let report = &processed.report;
        assert_eq!(report.stack_pointer, None, "{name}");
        assert_no_stack_pointer_warning(&name, &report.warnings);
        let out = calls(
            encoding,
            &processed.wasm,
            r#"[["bump",1],["bump",0]]"#,
            "error",
        );
        assert_eq!(
            out,
            r#"{"calls":[{"call":"bump","threw":"Exception","message":"","same":false},{"call":"bump","returned":null}],"globals":{"counter":2}}"#,
            "{name}"
        );
    }
}

/// Global 0 by convention is LLVM's convention: without evidence of LLVM output it is not the
/// stack pointer (an AssemblyScript allocator's root keeps where the code left it after a
/// throw, as unprocessed); with a `producers` section saying rustc it is, and is restored.
#[test]
fn global_0_is_the_stack_pointer_only_in_llvm_output() {
    for encoding in ENCODINGS {
        let name = format!("stack-pointer-global0-not-llvm.{encoding}.wat");
        let text = String::from_utf8(regression(&name)).unwrap();
        let rustc = text.replacen(
            "(module",
            r#"(module (@producers (processed-by "rustc" "1.97.0-nightly"))"#,
            1,
        );
        for (input, llvm, root) in [(text, false, 2), (rustc, true, 1)] {
            let processed = process(input.as_bytes(), &Options::default()).unwrap();
            let report = &processed.report;
            let found = report.stack_pointer.as_ref().map(|f| (f.index, f.how));
            let expected = llvm.then_some((0, "global 0 by convention"));
            assert_eq!(found, expected, "{name}, LLVM output: {llvm}");
            if !llvm {
                assert_no_stack_pointer_warning(&name, &report.warnings);
            }
            let out = calls(
                encoding,
                &processed.wasm,
                r#"[["bump",1],["bump",0]]"#,
                "error",
            );
            let expected = format!(
                r#"{{"calls":[{{"call":"bump","threw":"Exception","message":"","same":false}},{{"call":"bump","returned":null}}],"globals":{{"alloc_root":{root}}}}}"#
            );
            assert_eq!(out, expected, "{name}, LLVM output: {llvm}");
        }
    }
}

/// Exception handling and no global at all: wrapped without the restore (it used to be
/// refused), one warning, `inspect` says so; throws still pass and the guard still works.
#[test]
fn module_without_stack_pointer_is_wrapped_without_restore() {
    for encoding in ENCODINGS {
        let name = format!("stack-pointer-absent.{encoding}.wat");
        let processed = run(&name, &Options::default());
        let report = &processed.report;
        assert_eq!(report.encoding, Some(encoding.parse::<Encoding>().unwrap()));
        assert_eq!(report.stack_pointer, None);
        assert_eq!(report.wrapped(), 3, "{name}: {:?}", report.exports);
        assert_no_stack_pointer_warning(&name, &report.warnings);
        let table = inspect(&processed.wasm).unwrap().to_table();
        assert!(
            table.contains("stack pointer  none (wrappers restore none)"),
            "{name}:\n{table}"
        );
        let out = calls(
            encoding,
            &processed.wasm,
            r#"[["throws",1],["throws",0],["traps"],["throws",0],["__wasm_unwind_state"]]"#,
            "error",
        );
        assert_eq!(
            out,
            concat!(
                r#"{"calls":[{"call":"throws","threw":"Exception","message":"","same":false},"#,
                r#"{"call":"throws","returned":1},"#,
                r#"{"call":"traps","threw":"RuntimeError","message":"unreachable","same":false},"#,
                r#"{"call":"throws","threw":"RuntimeError","message":"unreachable","same":false},"#,
                r#"{"call":"__wasm_unwind_state","returned":1}],"globals":{}}"#
            ),
            "{name}"
        );
    }
}

fn assert_no_stack_pointer_warning(name: &str, warnings: &[String]) {
    let about: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("stack pointer"))
        .collect();
    assert_eq!(about.len(), 1, "{name}: {warnings:?}");
    assert!(!about[0].contains('\n'), "{name}: {}", about[0]);
}

// ---------------------------------------------------------------------------------------------
// 3. Names the tool adds

/// An input that already exports a name the tool would add is refused in one line naming it
/// (it used to end in "internal error ... please report": duplicate export names).
#[test]
fn export_names_the_tool_adds_are_refused_when_taken() {
    let cases = [
        ("export-clash-state.wat", "__wasm_unwind_state"),
        ("export-clash-tag.exnref.wat", "__wasm_unwind_tag"),
        ("export-clash-tag.legacy.wat", "__wasm_unwind_tag"),
    ];
    for (name, export) in cases {
        let message = refusal(name, &Options::default());
        assert!(
            message.contains(&format!("`{export}`")),
            "{name}: {message}"
        );
    }
    // Without the guard nothing adds `__wasm_unwind_state`: no clash, and no guard to skip.
    let unguarded = Options::default().abort_guard(false);
    let processed = run("export-clash-state.wat", &unguarded);
    assert_eq!(processed.report.exports.len(), 2);
}

/// A user export named `__wasm_unwind_*` is the user's: wrapped, listed, and its throw restores
/// the stack pointer (it used to be left unwrapped and missing from the summary).
#[test]
fn user_export_with_the_tool_prefix_is_wrapped() {
    for encoding in ENCODINGS {
        let name = format!("export-prefixed-by-user.{encoding}.wat");
        let processed = run(&name, &Options::default());
        let user = processed
            .report
            .exports
            .iter()
            .find(|e| e.name == "__wasm_unwind_user")
            .unwrap_or_else(|| panic!("{name}: not in the summary: {:?}", processed.report));
        assert!(user.wrapped, "{name}: {user:?}");
        let inspection = inspect(&processed.wasm).unwrap();
        let rows: Vec<(&str, bool)> = inspection
            .exports
            .iter()
            .filter(|e| e.kind == "func")
            .map(|e| (e.name.as_str(), e.wrapped))
            .collect();
        assert_eq!(
            rows,
            [
                ("__wasm_unwind_user", true),
                ("caught", true),
                ("__wasm_unwind_state", false)
            ],
            "{name}"
        );
        let out = calls(
            encoding,
            &processed.wasm,
            r#"[["__wasm_unwind_user",3],["__wasm_unwind_state"]]"#,
            "error",
        );
        assert_eq!(
            out,
            concat!(
                r#"{"calls":[{"call":"__wasm_unwind_user","threw":"Exception","message":"","same":false},"#,
                r#"{"call":"__wasm_unwind_state","returned":0}],"globals":{"__stack_pointer":65536}}"#
            ),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Reading processed modules truthfully

fn wasm_opt(input: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&from, input).unwrap();
    let out = Command::new(engines::wasm_opt())
        .args(engines::WORKER_BUILD_WASM_OPT_FLAGS)
        .arg(&from)
        .arg("-o")
        .arg(&to)
        .output()
        .expect("running wasm-opt");
    assert!(
        out.status.success(),
        "wasm-opt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&to).unwrap()
}

/// `(export, wrapped)` for every function export and every function table the host reaches
/// (`table <name>`), as `inspect` reads them.
fn wrapped_rows(wasm: &[u8]) -> Vec<(String, bool)> {
    let inspection = inspect(wasm).unwrap();
    let tables = inspection
        .tables
        .into_iter()
        .map(|t| (format!("table {}", t.name), t.wrapped));
    let mut rows: Vec<(String, bool)> = inspection
        .exports
        .into_iter()
        .filter(|e| e.kind == "func")
        .map(|e| (e.name, e.wrapped))
        .chain(tables)
        .collect();
    rows.sort();
    rows
}

/// wasm-opt renumbers functions (and inlines the small originals into their wrappers) but keeps
/// the marker: `inspect` still sees every wrapper, the guard and the tables of wrappers, by
/// their shape (it used to report every export unwrapped, going by the function index the
/// marker recorded).
#[test]
fn inspect_after_wasm_opt() {
    let inputs = ENCODINGS.iter().flat_map(|e| {
        let fixture = format!("panics.{e}.wasm");
        let regressions = [
            format!("inspect-after-wasm-opt.{e}.wat"),
            format!("exported-table.{e}.wat"),
        ];
        let regressions = regressions.map(|name| (regression(&name), name));
        [(support::fixture(&fixture), fixture)]
            .into_iter()
            .chain(regressions)
    });
    for (input, name) in inputs {
        let processed = process(&input, &Options::default()).unwrap();
        let expected = wrapped_rows(&processed.wasm);
        assert!(expected.iter().any(|(_, w)| *w), "{name}: {expected:?}");
        let optimized = wasm_opt(&processed.wasm);
        assert_eq!(
            wrapped_rows(&optimized),
            expected,
            "{name} after wasm-opt -O"
        );
        let table = inspect(&optimized).unwrap().to_table();
        assert!(table.contains("abort guard    on"), "{name}:\n{table}");
    }
}

/// The same input and options give the same bytes, run after run: detection does not depend on
/// hash-map order. Every fixture twice in each mode; inputs with duplicate names many times
/// (with two candidates, 16 runs that all agree by chance have odds of 1 in 32768).
#[test]
fn output_is_byte_identical_run_after_run() {
    let modes = [Options::default(), Options::default().js(true)];
    let fixtures = support::fixtures();
    assert!(fixtures.len() >= 7, "{fixtures:?}");
    for path in &fixtures {
        let input = std::fs::read(path).unwrap();
        for options in &modes {
            let first = process(&input, options)
                .map(|p| p.wasm)
                .map_err(|e| e.to_string());
            let second = process(&input, options)
                .map(|p| p.wasm)
                .map_err(|e| e.to_string());
            assert!(first == second, "{}: two runs differ", path.display());
        }
    }
    for stem in [
        "duplicate-global-names",
        "duplicate-tag-names",
        "duplicate-thrower-names",
    ] {
        for encoding in ENCODINGS {
            let name = format!("{stem}.{encoding}.wat");
            let input = regression(&name);
            let runs: Vec<Result<Vec<u8>, String>> = (0..16)
                .map(|_| {
                    process(&input, &Options::default())
                        .map(|p| p.wasm)
                        .map_err(|e| e.to_string())
                })
                .collect();
            assert!(runs.iter().all(|r| *r == runs[0]), "{name}: runs differ");
            // Two globals of one name settle nothing: a one-line refusal asking for the option.
            // Two candidate tags leave only a choice to make, and the tool makes the one that is
            // right either way (no tag: wrappers catch every exception), saying so in one note
            // that names the option (issue 19; these used to be refused too).
            if stem == "duplicate-global-names" {
                let message = refusal(&name, &Options::default());
                assert!(message.contains("--stack-pointer"), "{name}: {message}");
            } else {
                let report = run(&name, &Options::default()).report;
                assert_eq!(report.unwind_tag, None, "{name}");
                assert_eq!(report.notes, [Note::UndecidedTag(vec![0, 1])], "{name}");
                assert!(report.notes[0].to_string().contains("--tag"), "{name}");
                assert_eq!(report.wrapped(), 3, "{name}: {:?}", report.exports);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Engine quirks and leftovers

/// The `wasm_unwind` imports a JS-mode output declares.
fn js_imports(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(reader) = payload.unwrap() {
            for import in reader.into_imports() {
                let import = import.unwrap();
                if import.module == wasm_unwind::JS_IMPORT_MODULE {
                    names.push(import.name.to_string());
                }
            }
        }
    }
    names
}

/// JS mode adds only the host functions something calls: `panic` for a recovery clause (needs
/// an unwind tag), `terminated` for the guard (it used to add both whenever an export was
/// chosen, used or not).
#[test]
fn js_mode_imports_only_what_is_used() {
    let js = |abort_guard| Options::default().js(true).abort_guard(abort_guard);
    let mut cases = vec![
        ("js-no-guard-no-eh.wat".to_string(), false, vec![]),
        (
            "js-no-guard-no-eh.wat".to_string(),
            true,
            vec!["terminated"],
        ),
    ];
    for encoding in ENCODINGS {
        cases.push((format!("js-untagged.{encoding}.wat"), false, vec![]));
        cases.push((
            format!("js-untagged.{encoding}.wat"),
            true,
            vec!["terminated"],
        ));
        cases.push((
            format!("host-throws-null.{encoding}.wat"),
            false,
            vec!["panic"],
        ));
        cases.push((
            format!("host-throws-null.{encoding}.wat"),
            true,
            vec!["panic", "terminated"],
        ));
    }
    for (name, abort_guard, expected) in cases {
        let processed = run(&name, &js(abort_guard));
        assert_eq!(
            js_imports(&processed.wasm),
            expected,
            "{name}, abort guard {abort_guard}"
        );
        assert_eq!(processed.report.js, !expected.is_empty(), "{name}");
    }
}

/// Node 20 (V8 11.3) cannot rethrow a null exception from any `try` (see the comment in
/// `host-throws-null.legacy.wat`), and every wrapper and import shim has one: a host's `throw
/// null` through a processed module becomes `RuntimeError: rethrowing null value`, a trap, which
/// ends the instance. `undefined` passes unchanged and the instance lives on; unprocessed, `null`
/// passes too (no `try` on its path); Node 24 and the exnref encoding pass it unchanged.
#[test]
fn null_thrown_by_the_host_on_node_20() {
    let script = r#"[["call_host"],["ok"],["__wasm_unwind_state"]]"#;
    let input = wat::parse_bytes(&regression("host-throws-null.legacy.wat"))
        .unwrap()
        .into_owned();
    let legacy = run("host-throws-null.legacy.wat", &Options::default()).wasm;
    let exnref = run("host-throws-null.exnref.wat", &Options::default()).wasm;
    let node20 = PathBuf::from(std::env::var_os("NODE").unwrap_or("node".into()));
    let node24 = engines::engine("node24");
    let version = Command::new(&node20).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("v20."),
        "this test pins Node 20's behaviour; NODE or the PATH gives {}",
        String::from_utf8_lossy(&version.stdout)
    );
    let passed = |value: &str, state: i32, sp: &str| {
        format!(
            r#"{{"calls":[{{"call":"call_host","threw":"{value}","message":"","same":true}},{{"call":"ok","returned":2}},{{"call":"__wasm_unwind_state","returned":{state}}}],"globals":{{"__stack_pointer":{sp}}}}}"#
        )
    };
    // The trap comes at the shim's rethrow, before the wrapper could restore the stack pointer.
    let trapped = concat!(
        r#"{"calls":[{"call":"call_host","threw":"RuntimeError","message":"rethrowing null value","same":false},"#,
        r#"{"call":"ok","threw":"RuntimeError","message":"unreachable","same":false},"#,
        r#"{"call":"__wasm_unwind_state","returned":1}],"globals":{"__stack_pointer":65520}}"#
    );
    // Unprocessed: no `try` on the way, `null` passes (and the stack pointer leaks 16 bytes;
    // `__wasm_unwind_state` does not exist there, hence the TypeError).
    let unprocessed = calls_in(&node20, &input, r#"[["call_host"],["ok"]]"#, "null");
    assert_eq!(
        unprocessed,
        r#"{"calls":[{"call":"call_host","threw":"null","message":"","same":true},{"call":"ok","returned":2}],"globals":{"__stack_pointer":65520}}"#
    );
    assert_eq!(calls_in(&node20, &legacy, script, "null"), trapped);
    assert_eq!(
        calls_in(&node20, &legacy, script, "undefined"),
        passed("undefined", 0, "65536")
    );
    assert_eq!(
        calls_in(&node24, &legacy, script, "null"),
        passed("null", 0, "65536")
    );
    assert_eq!(
        calls_in(&node24, &exnref, script, "null"),
        passed("null", 0, "65536")
    );
}

/// wasm-bindgen `--target nodejs` output after its CLI, importing from
/// `__wbindgen_placeholder__`: every import the code calls is shimmed (it used to be none). The
/// same module with a describe import, as before the CLI, keeps its placeholder call sites as
/// they are for the CLI to read.
#[test]
fn bindgen_placeholder_imports_after_its_cli_are_shimmed() {
    let name = "bindgen-nodejs-placeholder.wat";
    let after = run(name, &Options::default()).report;
    assert_eq!(after.import_shims, 3, "{name}");
    assert_eq!(after.wrapped(), 3, "{name}: {:?}", after.exports);
    let text = String::from_utf8(regression(name)).unwrap();
    let before = text.replacen(
        "(memory",
        r#"(import "__wbindgen_placeholder__" "__wbindgen_describe" (func (param i32))) (memory"#,
        1,
    );
    let before = process(before.as_bytes(), &Options::default()).unwrap();
    assert_eq!(before.report.import_shims, 0, "{name} before the CLI");
}
