//! The real-world corpus: npm packages that ship wasm, from every producer, processed by the CLI
//! with its default options and run through their own JS with their own workloads, side by side
//! with the unprocessed package in one Node process (`tests/corpus/README.md`).
//!
//! Per package: every wasm file it loads is processed into a copy of the package; the driver
//! runs each step on both copies, interleaved; the two transcripts (results, errors and what the
//! package printed) must be byte-identical, the processed side must have instantiated processed
//! modules (they export `__wasm_unwind_state`) and the unprocessed side none.
//!
//! `cargo test --test corpus -- --nocapture` prints one line per package.

mod engines;
#[path = "corpus/packages.rs"]
mod packages;

use engines::say;
use packages::{Package, is_processed, package, prepare, run_driver};

/// How one package came out.
fn outcome(package: &Package) -> Result<String, String> {
    let work = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("corpus")
        .join(package.driver);
    let tree = prepare(package, &work).map_err(|e| format!("tool refused: {e}"))?;
    for wasm in package.wasm {
        assert!(is_processed(&tree.join(wasm)), "{wasm}: not processed");
    }
    let report = run_driver(package, &tree, 0)?;
    let (plain, processed) = (report.transcript("plain"), report.transcript("processed"));
    // Kept beside the trees, to read a difference whole (`diff` them).
    for (side, text) in [("plain", plain), ("processed", processed)] {
        std::fs::write(work.join(format!("transcript.{side}.txt")), text).unwrap();
    }
    if let Some(diff) = first_difference(plain, processed) {
        return Err(diff);
    }
    // Output no step caught (a worker's console, a warning) cannot be told to one side.
    let stray = stray_output(&report.output);
    assert!(
        stray.is_empty(),
        "the driver printed outside the transcripts:\n{stray}"
    );
    let ((plain_modules, plain_ours), (modules, ours)) =
        (report.seen("plain"), report.seen("processed"));
    assert!(plain_modules > 0, "the driver instantiated no module");
    assert_eq!(plain_ours, 0, "the unprocessed side ran a processed module");
    if ours == 0 {
        return Err(format!(
            "the processed side ran no processed module ({modules} instantiated)"
        ));
    }
    Ok(format!(
        "outputs equal ({} lines; {ours} of {modules} modules processed)",
        plain.lines().count()
    ))
}

/// What the driver printed besides the harness's report line.
fn stray_output(output: &std::process::Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    let lines = stdout.lines().chain(stderr.lines());
    let stray: Vec<&str> = lines.filter(|l| !l.starts_with("@@corpus ")).collect();
    stray.join("\n")
}

/// The first line where the transcripts differ, both versions shown.
fn first_difference(plain: &str, processed: &str) -> Option<String> {
    if plain == processed {
        return None;
    }
    let (a, b): (Vec<_>, Vec<_>) = (plain.lines().collect(), processed.lines().collect());
    let at = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
    let cut = |s: Option<&&str>| s.map_or("(end)".to_string(), |s| s.chars().take(160).collect());
    Some(format!(
        "outputs differ at line {}: unprocessed `{}`, processed `{}`",
        at + 1,
        cut(a.get(at)),
        cut(b.get(at))
    ))
}

/// Runs one package and prints its line; fails unless the two sides computed the same.
fn check(driver: &str) {
    let package = package(driver);
    let result = outcome(package);
    let line = match &result {
        Ok(ok) => ok,
        Err(e) => e,
    };
    say(&format!(
        "corpus: {} [{}]: {line}",
        package.id, package.producer
    ));
    if let Err(e) = result {
        panic!("{}: {e}", package.id);
    }
}

#[test]
fn rust_wasm_bindgen_web_resvg() {
    check("resvg");
}

#[test]
fn rust_own_abi_dprint_json_plugin() {
    check("dprint");
}

#[test]
fn emscripten_c_table_written_by_glue_sqljs() {
    check("sqljs");
}

#[test]
fn emscripten_dynamic_linking_web_tree_sitter() {
    check("tree-sitter");
}

#[test]
fn emscripten_cpp_wasm_exceptions_pthreads_wasm_vips() {
    check("vips");
}

#[test]
fn rust_napi_wasi_threads_oxc_parser() {
    check("oxc");
}

#[test]
fn go_js_esbuild_wasm() {
    check("esbuild");
}

#[test]
fn assemblyscript_hyphenopoly() {
    check("hyphenopoly");
}

#[test]
fn rust_wasm_bindgen_nodejs_prisma_schema() {
    check("prisma");
}
