//! The code wasm-unwind adds, as WebAssembly text, for review: wrappers, guard helpers and an
//! import shim, in both EH encodings and for a module without EH.
//!
//! Update with `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta review`), then
//! read the diff: these snapshots are the emitted code.

use support::fixture;
use wasm_unwind::Options;

/// The text of the functions named `$<name>` in `wat`, in the order asked, separated by blank
/// lines. wasmprinter prints each function from `  (func $name ` to a line `  )`.
fn added_functions(wat: &str, names: &[&str]) -> String {
    let lines: Vec<&str> = wat.lines().collect();
    let mut out = Vec::new();
    for name in names {
        let head = format!("  (func ${name} ");
        let start = lines
            .iter()
            .position(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("no function `{name}` in the output"));
        let len = lines[start..]
            .iter()
            .position(|l| *l == "  )")
            .expect("function end")
            + 1;
        out.push(lines[start..start + len].join("\n"));
    }
    out.join("\n\n") + "\n"
}

fn processed_text(fixture_name: &str) -> String {
    processed_text_with(fixture_name, &Options::default())
}

fn processed_text_with(fixture_name: &str, options: &Options) -> String {
    let processed = wasm_unwind::process(&fixture(fixture_name), options).unwrap();
    wasmprinter::print_bytes(&processed.wasm).unwrap()
}

fn js_mode() -> Options {
    Options::default().js(true)
}

/// A wrapper with a `catch $tag` clause and the helper it calls, plus the guard's refusal.
const RECOVERY: [&str; 3] = [
    "wasm_unwind::wrap::panic_fmt",
    "wasm_unwind::panicked",
    "wasm_unwind::refuse",
];

/// In JS mode the refusal throws the host's error, so the import shims trap through their own.
const JS_RECOVERY: [&str; 4] = [
    "wasm_unwind::wrap::panic_fmt",
    "wasm_unwind::panicked",
    "wasm_unwind::refuse",
    "wasm_unwind::trap",
];

/// The guard's functions: its checks are inlined into the wrappers and shims.
const GUARD: [&str; 2] = ["wasm_unwind::refuse", "wasm_unwind::state"];

fn panics_selection() -> Vec<&'static str> {
    let mut names = vec![
        "wasm_unwind::wrap::add",
        "wasm_unwind::wrap::panic_static",
        "wasm_unwind::wrap::panic_fmt",
        "wasm_unwind::wrap::call_host",
    ];
    names.extend(GUARD);
    names.push("wasm_unwind::import::env.host_callback");
    names
}

#[test]
fn exnref_wrappers() {
    let text = processed_text("panics.exnref.wasm");
    insta::assert_snapshot!(
        "exnref_wrappers",
        added_functions(&text, &panics_selection())
    );
}

#[test]
fn legacy_wrappers() {
    let text = processed_text("panics.legacy.wasm");
    insta::assert_snapshot!(
        "legacy_wrappers",
        added_functions(&text, &panics_selection())
    );
}

#[test]
fn abort_wrappers() {
    let text = processed_text("abort.wasm");
    let mut names = vec!["wasm_unwind::wrap::add", "wasm_unwind::wrap::call_host"];
    names.extend(GUARD);
    names.push("wasm_unwind::import::env.host_callback");
    insta::assert_snapshot!("abort_wrappers", added_functions(&text, &names));
}

#[test]
fn runtime_recovery_exnref() {
    let text = processed_text("panics-rt.exnref.wasm");
    insta::assert_snapshot!("runtime_recovery_exnref", added_functions(&text, &RECOVERY));
}

#[test]
fn runtime_recovery_legacy() {
    let text = processed_text("panics-rt.legacy.wasm");
    insta::assert_snapshot!("runtime_recovery_legacy", added_functions(&text, &RECOVERY));
}

#[test]
fn js_mode_with_runtime() {
    let text = processed_text_with("panics-rt.exnref.wasm", &js_mode());
    let imports: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(import \"wasm_unwind\""))
        .collect();
    let shown = imports.join("\n") + "\n\n" + &added_functions(&text, &JS_RECOVERY);
    insta::assert_snapshot!("js_mode_with_runtime", shown);
}

#[test]
fn js_mode_without_runtime() {
    let text = processed_text_with("panics.legacy.wasm", &js_mode());
    insta::assert_snapshot!(
        "js_mode_without_runtime",
        added_functions(&text, &JS_RECOVERY)
    );
}
