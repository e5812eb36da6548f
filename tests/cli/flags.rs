//! Options that change what is done: which exports are wrapped (`--export`, `--skip-export`),
//! names (`-g`), JS mode (`--emit-js`), and `--check` against the options a module was built with.

use std::path::Path;

use support::cli::stderr;
use support::{fixture, fixture_path};
use wasmparser::{Parser, Payload};

use super::{
    CLI, assert_exit, function_exports, function_names, has_name_section,
    original_function_export_names, path_str, stdout, validate, wrapped_exports,
};

#[test]
fn export_globs_choose_what_is_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture_path("panics.exnref.wasm");
    let output = CLI.run(
        &[
            path_str(&input),
            "--export",
            "add",
            "--export",
            "counter_*",
            "-o",
            path_str(&out),
        ],
        None,
    );
    assert_exit(&output, 0, "--export");
    let bytes = std::fs::read(&out).unwrap();
    validate(&bytes);
    assert_eq!(
        wrapped_exports(&bytes),
        ["add", "counter_get", "counter_inc"]
    );
    let total = original_function_export_names(&fixture("panics.exnref.wasm")).len();
    assert!(
        stderr(&output).contains(&format!("wrapped 3 of {total} function exports")),
        "{}",
        stderr(&output)
    );

    let output = CLI.run(
        &[
            path_str(&input),
            "--dry-run",
            "--export",
            "add",
            "--export",
            "counter_*",
        ],
        None,
    );
    assert_exit(&output, 0, "--dry-run --export");
    let plan = stdout(&output);
    assert!(
        plan.contains("wrap add\n") && plan.contains("wrap counter_inc\n"),
        "{plan}"
    );
    assert!(plan.contains("skip panic_fmt (not selected)"), "{plan}");
}

#[test]
fn skip_export_globs_leave_exports_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture_path("panics.legacy.wasm");
    let output = CLI.run(
        &[
            path_str(&input),
            "--skip-export",
            "panic_*",
            "--skip-export",
            "trap_?o?",
            "-q",
            "-o",
            path_str(&out),
        ],
        None,
    );
    assert_exit(&output, 0, "--skip-export");
    let bytes = std::fs::read(&out).unwrap();
    validate(&bytes);
    let expected: Vec<String> = original_function_export_names(&fixture("panics.legacy.wasm"))
        .into_iter()
        .filter(|n| !n.starts_with("panic_") && n != "trap_oob" && n != "trap_oom")
        .collect();
    assert_eq!(wrapped_exports(&bytes), expected);
    // Skipped exports still point at their original function.
    let names = function_names(&bytes);
    let (_, index) = function_exports(&bytes)
        .into_iter()
        .find(|(n, _)| n == "panic_fmt")
        .unwrap();
    assert_eq!(names[&index], "panic_fmt");
}

#[test]
fn debuginfo_adds_names_to_a_module_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wasm");
    std::fs::write(
        &input,
        wat::parse_str(r#"(module (func (export "f")))"#).unwrap(),
    )
    .unwrap();
    assert!(!has_name_section(&std::fs::read(&input).unwrap()));

    let plain = dir.path().join("plain.wasm");
    assert_exit(
        &CLI.run(&[path_str(&input), "-q", "-o", path_str(&plain)], None),
        0,
        "no -g",
    );
    assert!(
        !has_name_section(&std::fs::read(&plain).unwrap()),
        "no name section is invented without -g"
    );

    let named = dir.path().join("named.wasm");
    assert_exit(
        &CLI.run(
            &[path_str(&input), "-g", "-q", "-o", path_str(&named)],
            None,
        ),
        0,
        "-g",
    );
    let bytes = std::fs::read(&named).unwrap();
    validate(&bytes);
    assert_eq!(wrapped_exports(&bytes), ["f"], "-g names the wrapper");
    assert!(
        function_names(&bytes)
            .values()
            .any(|n| n == "wasm_unwind::refuse")
    );
}

#[test]
fn emit_js_writes_the_glue_and_imports_from_wasm_unwind() {
    let dir = tempfile::tempdir().unwrap();
    let (out, glue) = (dir.path().join("out.wasm"), dir.path().join("glue.mjs"));
    let input = fixture_path("panics-rt.legacy.wasm");
    let args = [
        path_str(&input),
        "-o",
        path_str(&out),
        "--emit-js",
        path_str(&glue),
    ];
    let output = CLI.run(&args, None);
    assert_exit(&output, 0, "--emit-js");
    assert!(stderr(&output).contains("JS mode"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("runtime linked"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(&glue).unwrap(),
        wasm_unwind::JS_GLUE
    );
    let bytes = std::fs::read(&out).unwrap();
    validate(&bytes);
    let added: Vec<(String, String)> = Parser::new(0)
        .parse_all(&bytes)
        .filter_map(|p| match p.unwrap() {
            Payload::ImportSection(r) => Some(r),
            _ => None,
        })
        .flat_map(|r| r.into_imports().map(|i| i.unwrap()))
        .filter(|i| i.module == wasm_unwind::JS_IMPORT_MODULE)
        .map(|i| (i.module.to_string(), i.name.to_string()))
        .collect();
    let expected = [("wasm_unwind", "panic"), ("wasm_unwind", "terminated")];
    assert_eq!(added, expected.map(|(m, n)| (m.to_string(), n.to_string())));
    // The same interface otherwise: every original export is still there.
    assert_eq!(
        original_function_export_names(&bytes),
        original_function_export_names(&fixture("panics-rt.legacy.wasm"))
    );

    // Without the runtime the tool says what linking it would add.
    let output = CLI.run(
        &[path_str(&fixture_path("panics.legacy.wasm")), "--dry-run"],
        None,
    );
    assert!(
        stdout(&output).contains("linking wasm-unwind-runtime"),
        "{}",
        stdout(&output)
    );
}

/// `--check` exits 1 with one line naming the file and the difference, prints nothing on stdout
/// and writes nothing.
fn assert_check_fails(args: &[&str], file: &Path, needle: &str) {
    let output = CLI.run(&[&[path_str(file), "--check"], args].concat(), None);
    let err = stderr(&output);
    assert_exit(&output, 1, &format!("--check {args:?}"));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with(&format!("error: {}: ", path_str(file))) && err.contains(needle),
        "names the file and {needle:?}: {err}"
    );
    assert!(output.stdout.is_empty());
}

fn assert_check_passes(args: &[&str], file: &Path) {
    let output = CLI.run(&[&[path_str(file), "--check"], args].concat(), None);
    assert_exit(&output, 0, &format!("--check {args:?}"));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn check_passes_only_on_a_module_processed_with_the_same_options() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("built.wasm");
    std::fs::copy(fixture_path("panics.exnref.wasm"), &built).unwrap();
    assert_check_fails(&[], &built, "not processed");
    assert_eq!(
        std::fs::read(&built).unwrap(),
        support::fixture("panics.exnref.wasm"),
        "--check writes nothing"
    );

    let guarded = dir.path().join("guarded.wasm");
    assert_exit(
        &CLI.run(&[path_str(&built), "-q", "-o", path_str(&guarded)], None),
        0,
        "process",
    );
    assert_check_passes(&[], &guarded);
    assert_check_passes(&["--encoding", "exnref"], &guarded);
    assert_check_fails(&["--no-abort-guard"], &guarded, "abort-guard=on");
    assert_check_fails(&["--js"], &guarded, "js=off");
    assert_check_fails(&["--encoding", "legacy"], &guarded, "encoding=exnref");

    let unguarded = dir.path().join("unguarded.wasm");
    let output = CLI.run(
        &[
            path_str(&built),
            "--no-abort-guard",
            "-q",
            "-o",
            path_str(&unguarded),
        ],
        None,
    );
    assert_exit(&output, 0, "process --no-abort-guard");
    assert_check_fails(&[], &unguarded, "abort-guard=off");
    assert_check_passes(&["--no-abort-guard"], &unguarded);

    // A module processing would leave as it is passes as it is.
    let nothing = dir.path().join("nothing.wasm");
    std::fs::write(&nothing, wat::parse_str("(module)").unwrap()).unwrap();
    assert_check_passes(&[], &nothing);

    // --check writes nothing, so options that write are usage errors.
    let output = CLI.run(
        &[path_str(&guarded), "--check", "-o", path_str(&unguarded)],
        None,
    );
    assert_exit(&output, 2, "--check -o");
}
