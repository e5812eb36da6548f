//! The command line (issue 2): exit codes, files and streams, through the real binary; and the
//! promises about the output module (interface kept, names, producers), through the library.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Output;

use support::cli::{Cli, assert_refused, dir_listing, stderr};
use support::{exports_of, fixture, fixture_path};
use wasm_unwind::{ADDED_PREFIX, Options};
use wasmparser::{
    BinaryReader, ExternalKind, Name, NameSectionReader, Parser, Payload, ProducersSectionReader,
    Validator, WasmFeatures,
};

const FIXTURES: [&str; 3] = ["panics.exnref.wasm", "panics.legacy.wasm", "abort.wasm"];

// ---------------------------------------------------------------------------------------------
// Helpers

const CLI: Cli = support::wasm_unwind!();

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_success(output: &Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: expected exit 0\nstderr:\n{}",
        stderr(output)
    );
}

/// Features a processed Rust EH module needs: the defaults plus both EH encodings.
fn features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::EXCEPTIONS | WasmFeatures::LEGACY_EXCEPTIONS
}

fn validate(bytes: &[u8]) -> wasmparser::types::Types {
    Validator::new_with_features(features())
        .validate_all(bytes)
        .unwrap_or_else(|e| panic!("output does not validate: {e}"))
}

/// Function exports of a module: (name, function index).
fn function_exports(bytes: &[u8]) -> Vec<(String, u32)> {
    exports_of(bytes)
        .into_iter()
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| (e.name, e.index))
        .collect()
}

/// The function names of the name section, by index (empty without a name section).
fn function_names(bytes: &[u8]) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(c) = payload.unwrap() {
            if c.name() != "name" {
                continue;
            }
            for sub in NameSectionReader::new(BinaryReader::new(c.data(), c.data_offset())) {
                if let Name::Function(map) = sub.unwrap() {
                    for naming in map {
                        let naming = naming.unwrap();
                        names.insert(naming.index, naming.name.to_string());
                    }
                }
            }
        }
    }
    names
}

fn has_name_section(bytes: &[u8]) -> bool {
    Parser::new(0)
        .parse_all(bytes)
        .any(|p| matches!(p.unwrap(), Payload::CustomSection(c) if c.name() == "name"))
}

/// Producers fields: field name -> value names.
fn producers(bytes: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(c) = payload.unwrap() {
            if c.name() != "producers" {
                continue;
            }
            let reader =
                ProducersSectionReader::new(BinaryReader::new(c.data(), c.data_offset())).unwrap();
            for field in reader {
                let field = field.unwrap();
                let values = field
                    .values
                    .into_iter()
                    .map(|v| v.unwrap().name.to_string())
                    .collect();
                out.insert(field.name.to_string(), values);
            }
        }
    }
    out
}

/// The exports `wasm-unwind` wrapped: those whose function is named `wasm_unwind::wrap::*`.
fn wrapped_exports(bytes: &[u8]) -> Vec<String> {
    let names = function_names(bytes);
    let mut wrapped: Vec<String> = function_exports(bytes)
        .into_iter()
        .filter(|(_, index)| {
            names
                .get(index)
                .is_some_and(|n| n.starts_with("wasm_unwind::wrap::"))
        })
        .map(|(name, _)| name)
        .collect();
    wrapped.sort();
    wrapped
}

/// The export names of a module that are not ours, sorted.
fn original_function_export_names(bytes: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = function_exports(bytes)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !name.starts_with(ADDED_PREFIX))
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Happy paths

#[test]
fn processes_each_fixture_and_summarises_on_stderr() {
    for (name, encoding) in [
        ("panics.exnref.wasm", "exnref exception handling"),
        ("panics.legacy.wasm", "legacy exception handling"),
        ("abort.wasm", "no exception handling"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.wasm");
        let output = CLI.run(&[path_str(&fixture_path(name)), "-o", path_str(&out)], None);
        assert_success(&output, name);
        assert!(
            output.stdout.is_empty(),
            "{name}: nothing on stdout when writing a file"
        );

        let bytes = std::fs::read(&out).expect("output written");
        validate(&bytes);
        let exports = original_function_export_names(&fixture(name)).len();
        assert!(exports > 0);
        assert_eq!(
            wrapped_exports(&bytes).len(),
            exports,
            "{name}: every function export wrapped"
        );

        let summary = stderr(&output);
        assert!(
            summary.contains(encoding),
            "{name}: summary names the encoding:\n{summary}"
        );
        assert!(
            summary.contains(&format!("wrapped {exports} of {exports} function exports")),
            "{name}: summary counts the wrapped exports:\n{summary}"
        );
        let sizes = format!("{} -> {} bytes", fixture(name).len(), bytes.len());
        assert!(
            summary.contains(&sizes),
            "{name}: summary gives sizes `{sizes}`:\n{summary}"
        );
    }
}

#[test]
fn quiet_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let output = CLI.run(
        &[
            path_str(&fixture_path("panics.exnref.wasm")),
            "-q",
            "-o",
            path_str(&out),
        ],
        None,
    );
    assert_success(&output, "-q");
    assert!(output.stdout.is_empty(), "stdout: {}", stdout(&output));
    assert!(output.stderr.is_empty(), "stderr: {}", stderr(&output));
    validate(&std::fs::read(&out).unwrap());
}

#[test]
fn stdin_to_stdout() {
    let input = fixture("panics.legacy.wasm");
    let output = CLI.run(&["-", "-o", "-"], Some(&input));
    assert_success(&output, "- -o -");
    validate(&output.stdout);
    // The same bytes as the library gives: stdout carries the module and nothing else.
    let expected = wasm_unwind::process(&input, &Options::default())
        .unwrap()
        .wasm;
    assert!(
        output.stdout == expected,
        "stdout differs from the library's output"
    );
    assert!(
        stderr(&output).contains("legacy exception handling"),
        "summary still on stderr"
    );
}

#[test]
fn text_input_on_stdin() {
    let wat = r#"(module (func $f (export "f") (param i32) (result i32) local.get 0))"#;
    let output = CLI.run(&["-", "-o", "-", "-q"], Some(wat.as_bytes()));
    assert_success(&output, "wat on stdin");
    validate(&output.stdout);
    assert_eq!(wrapped_exports(&output.stdout), ["f"]);
}

#[test]
fn emit_text_parses_back_with_the_same_exports() {
    for name in FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let (text_out, binary_out) = (dir.path().join("out.wat"), dir.path().join("out.wasm"));
        let input = fixture_path(name);
        assert_success(
            &CLI.run(
                &[path_str(&input), "-S", "-q", "-o", path_str(&text_out)],
                None,
            ),
            "-S",
        );
        assert_success(
            &CLI.run(&[path_str(&input), "-q", "-o", path_str(&binary_out)], None),
            name,
        );

        let text = std::fs::read_to_string(&text_out).expect("-S writes UTF-8 text");
        assert!(
            text.starts_with("(module"),
            "{name}: -S writes a text module"
        );
        let reparsed = wat::parse_str(&text)
            .unwrap_or_else(|e| panic!("{name}: -S output does not parse: {e}"));
        validate(&reparsed);
        let binary = std::fs::read(&binary_out).unwrap();
        assert_eq!(
            exports_of(&reparsed),
            exports_of(&binary),
            "{name}: text and binary outputs export the same"
        );
    }
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture_path("panics.exnref.wasm");
    let output = CLI.run(&[path_str(&input), "--dry-run", "-o", path_str(&out)], None);
    assert_success(&output, "--dry-run");
    assert!(!out.exists(), "--dry-run must not write the output");
    assert_eq!(
        dir_listing(dir.path()),
        Vec::<String>::new(),
        "--dry-run leaves no file behind"
    );

    let plan = stdout(&output);
    let exports = original_function_export_names(&fixture("panics.exnref.wasm"));
    assert!(plan.contains("exnref"), "plan names the encoding:\n{plan}");
    let n = exports.len();
    assert!(
        plan.contains(&format!("would wrap {n} of {n} function exports")),
        "plan:\n{plan}"
    );
    for export in &exports {
        assert!(
            plan.contains(&format!("wrap {export}\n")),
            "plan lists `{export}`:\n{plan}"
        );
    }

    // Without -o too.
    let output = CLI.run(&[path_str(&input), "--dry-run"], None);
    assert_success(&output, "--dry-run without -o");
    assert_eq!(stdout(&output), plan);
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
    assert_success(
        &CLI.run(&[path_str(&input), "-q", "-o", path_str(&plain)], None),
        "no -g",
    );
    assert!(
        !has_name_section(&std::fs::read(&plain).unwrap()),
        "no name section is invented without -g"
    );

    let named = dir.path().join("named.wasm");
    assert_success(
        &CLI.run(
            &[path_str(&input), "-g", "-q", "-o", path_str(&named)],
            None,
        ),
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

// ---------------------------------------------------------------------------------------------
// Bad input: exit 1, one line naming the problem, nothing written

/// A module that does not validate: `(func (result i32) i32.add)`, `i32.add` without operands.
/// Hand-made, since `wat` might refuse to encode it.
fn invalid_module() -> Vec<u8> {
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.extend_from_slice(&[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f]); // type: [] -> [i32]
    m.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]); // function 0: type 0
    m.extend_from_slice(&[0x0a, 0x05, 0x01, 0x03, 0x00, 0x6a, 0x0b]); // code: i32.add end
    m
}

fn bad_inputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let exnref = fixture("panics.exnref.wasm");
    let mut random = vec![0u8; 256];
    // Deterministic noise that is neither `\0asm` nor text.
    let mut x: u32 = 0x9e37_79b9;
    for b in random.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = (x >> 24) as u8 | 0x80;
    }
    let stack_switching = wat::parse_str(
        r#"(module
             (type $ft (func))
             (type $ct (cont $ft))
             (func $f)
             (elem declare func $f)
             (func (export "g") (drop (cont.new $ct (ref.func $f)))))"#,
    )
    .expect("wat encodes stack switching");
    let mixed = wat::parse_str(
        r#"(module
             (func (export "legacy") try nop catch_all end)
             (func (export "exnref")
               (block $l (result exnref) (try_table (catch_all_ref $l) nop) return)
               throw_ref))"#,
    )
    .expect("wat encodes both EH encodings");
    vec![
        ("empty", Vec::new(), "empty"),
        ("random bytes", random, "not WebAssembly"),
        (
            "truncated fixture",
            exnref[..exnref.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "header + garbage section id",
            b"\0asm\x01\0\0\0\x2a\x01\x00".to_vec(),
            "not a valid module",
        ),
        (
            "i32.add without operands",
            invalid_module(),
            "not a valid module",
        ),
        (
            "bad text",
            b"(module (func i32.bogus))".to_vec(),
            "invalid WebAssembly text",
        ),
        (
            "component",
            wat::parse_str("(component)").unwrap(),
            "component",
        ),
        ("stack switching", stack_switching, "does not support"),
        ("legacy and exnref mixed", mixed, "mixes"),
    ]
}

#[test]
fn bad_input_is_refused_with_one_line_and_nothing_written() {
    let before = b"previous output".to_vec();
    for (what, input, needle) in bad_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let (in_path, out) = (dir.path().join("in"), dir.path().join("out.wasm"));
        std::fs::write(&in_path, &input).unwrap();
        std::fs::write(&out, &before).unwrap();
        let output = CLI.run(&[path_str(&in_path), "-o", path_str(&out)], None);
        assert_refused(&output, what, needle, dir.path(), &out, &before);

        // The same from stdin to stdout, and with --check: still refused, still one line, and
        // nothing on stdout.
        let output = CLI.run(&["-", "-o", "-"], Some(&input));
        assert_refused(
            &output,
            &format!("{what} (stdin)"),
            needle,
            dir.path(),
            &out,
            &before,
        );
        let output = CLI.run(&[path_str(&in_path), "--check"], None);
        assert_refused(
            &output,
            &format!("{what} (--check)"),
            needle,
            dir.path(),
            &out,
            &before,
        );
        // JS mode writes no glue either (assert_refused checks the folder holds nothing new).
        let glue = dir.path().join("wasm-unwind.mjs");
        let output = CLI.run(
            &[
                path_str(&in_path),
                "-o",
                path_str(&out),
                "--emit-js",
                path_str(&glue),
            ],
            None,
        );
        assert_refused(
            &output,
            &format!("{what} (--emit-js)"),
            needle,
            dir.path(),
            &out,
            &before,
        );
    }
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
    assert_success(&output, "--emit-js");
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

#[test]
fn unreadable_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let before = b"previous output".to_vec();
    std::fs::write(&out, &before).unwrap();
    let missing = dir.path().join("missing.wasm");
    for (what, input) in [
        ("missing file", missing.as_path()),
        ("a directory", dir.path()),
    ] {
        let output = CLI.run(&[path_str(input), "-o", path_str(&out)], None);
        assert_refused(&output, what, "cannot read", dir.path(), &out, &before);
        assert!(
            stderr(&output).contains(path_str(input)),
            "{what}: names the path"
        );
    }
}

#[test]
fn unwritable_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no/such/folder/out.wasm");
    let output = CLI.run(
        &[path_str(&fixture_path("abort.wasm")), "-o", path_str(&out)],
        None,
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{err}");
    assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    assert!(err.starts_with("error: cannot write"), "{err}");
    assert!(!out.exists());
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture_path("abort.wasm");
    for (what, args) in [
        (
            "unknown flag",
            vec![path_str(&input), "--bogus", "-o", path_str(&out)],
        ),
        ("no output and no --dry-run", vec![path_str(&input)]),
        ("no input", vec!["-o", path_str(&out)]),
        (
            "bad --encoding",
            vec![path_str(&input), "--encoding", "new", "-o", path_str(&out)],
        ),
    ] {
        let output = CLI.run(&args, None);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: stderr:\n{}",
            stderr(&output)
        );
        assert!(
            stderr(&output).starts_with("error: "),
            "{what}: {}",
            stderr(&output)
        );
        assert!(!out.exists(), "{what}: nothing written");
    }
}

// ---------------------------------------------------------------------------------------------
// Idempotence

#[test]
fn running_on_its_own_output_does_nothing_and_says_so() {
    for name in FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let (once, twice) = (dir.path().join("once.wasm"), dir.path().join("twice.wasm"));
        assert_success(
            &CLI.run(
                &[path_str(&fixture_path(name)), "-q", "-o", path_str(&once)],
                None,
            ),
            name,
        );
        let output = CLI.run(&[path_str(&once), "-o", path_str(&twice)], None);
        assert_success(&output, &format!("{name} again"));
        assert!(
            stderr(&output).contains("already processed"),
            "{name}: says so:\n{}",
            stderr(&output)
        );
        let (once, twice) = (
            std::fs::read(&once).unwrap(),
            std::fs::read(&twice).unwrap(),
        );
        assert!(once == twice, "{name}: second run changed the module");

        // Also in place, and from the text form of the output.
        let output = CLI.run(&["-", "--dry-run"], Some(&once));
        assert_success(&output, "--dry-run on processed input");
        assert!(
            stdout(&output).contains("already processed"),
            "{}",
            stdout(&output)
        );
        let text = wasmprinter::print_bytes(&once).unwrap();
        let output = CLI.run(&["-", "-o", "-"], Some(text.as_bytes()));
        assert_success(&output, "processed text input");
        assert!(
            stderr(&output).contains("already processed"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn processes_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::write(&module, fixture("panics.exnref.wasm")).unwrap();
    let output = CLI.run(&[path_str(&module), "-q", "-o", path_str(&module)], None);
    assert_success(&output, "in place");
    let bytes = std::fs::read(&module).unwrap();
    validate(&bytes);
    assert_eq!(
        wrapped_exports(&bytes),
        original_function_export_names(&fixture("panics.exnref.wasm")),
        "every function export wrapped"
    );
    assert_eq!(
        dir_listing(dir.path()),
        ["app.wasm"],
        "no temporary file left behind"
    );
}

// ---------------------------------------------------------------------------------------------
// Choosing exports

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
    assert_success(&output, "--export");
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
    assert_success(&output, "--dry-run --export");
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
    assert_success(&output, "--skip-export");
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
fn a_glob_that_matches_nothing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture_path("panics.exnref.wasm");
    for option in ["--export", "--skip-export"] {
        let output = CLI.run(
            &[
                path_str(&input),
                option,
                "add",
                option,
                "nosuch_*",
                "-o",
                path_str(&out),
            ],
            None,
        );
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{option}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains("nosuch_*"),
            "{option}: names the glob: {err}"
        );
        assert!(!out.exists());
    }
}

// ---------------------------------------------------------------------------------------------
// The output's interface (library: the process boundary does not matter here)

/// A readable, index-free description of an entity's type.
fn describe(types: &wasmparser::types::Types, ty: wasmparser::types::EntityType) -> String {
    use wasmparser::types::EntityType;
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => {
            format!("func {:?}", types[id].unwrap_func())
        }
        EntityType::Tag(id) => format!("tag {:?}", types[id].unwrap_func()),
        EntityType::Table(t) => format!("{t:?}"),
        EntityType::Memory(m) => format!("{m:?}"),
        EntityType::Global(g) => format!("{g:?}"),
    }
}

fn imports_of(bytes: &[u8]) -> Vec<(String, String, String)> {
    let types = validate(bytes);
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::ImportSection(reader) = payload.unwrap() {
            for import in reader.into_imports() {
                let import = import.unwrap();
                let ty = types
                    .as_ref()
                    .entity_type_from_import(&import)
                    .expect("import type");
                out.push((
                    import.module.to_string(),
                    import.name.to_string(),
                    describe(&types, ty),
                ));
            }
        }
    }
    out
}

fn export_types(bytes: &[u8]) -> BTreeMap<String, (ExternalKind, String)> {
    let types = validate(bytes);
    let mut out = BTreeMap::new();
    for e in exports_of(bytes) {
        let export = wasmparser::Export {
            name: &e.name,
            kind: e.kind,
            index: e.index,
        };
        let ty = types
            .as_ref()
            .entity_type_from_export(&export)
            .expect("export type");
        out.insert(e.name.clone(), (e.kind, describe(&types, ty)));
    }
    out
}

#[test]
fn output_keeps_the_interface() {
    for name in FIXTURES {
        let input = fixture(name);
        let output = wasm_unwind::process(&input, &Options::default())
            .unwrap()
            .wasm;
        validate(&output);

        assert_eq!(
            imports_of(&output),
            imports_of(&input),
            "{name}: imports kept exactly, in order"
        );

        let (before, after) = (export_types(&input), export_types(&output));
        for (export, kind_and_type) in &before {
            assert_eq!(
                after.get(export),
                Some(kind_and_type),
                "{name}: export `{export}` kept as it was"
            );
        }
        let added: Vec<&String> = after.keys().filter(|e| !before.contains_key(*e)).collect();
        assert!(
            !added.is_empty(),
            "{name}: at least the state export is added"
        );
        for export in added {
            assert!(
                export.starts_with(ADDED_PREFIX),
                "{name}: added export `{export}` has our prefix"
            );
        }
        assert!(
            after.contains_key(wasm_unwind::STATE_EXPORT),
            "{name}: state export"
        );
    }
}

#[test]
fn output_keeps_names_and_names_what_it_adds() {
    for name in FIXTURES {
        let input = fixture(name);
        let output = wasm_unwind::process(&input, &Options::default())
            .unwrap()
            .wasm;
        let (before, after) = (function_names(&input), function_names(&output));
        assert!(!before.is_empty(), "{name}: fixtures keep their names");
        for (index, function) in &before {
            assert_eq!(
                after.get(index),
                Some(function),
                "{name}: function {index} keeps its name"
            );
        }
        let input_functions = validate(&input).as_ref().function_count();
        let output_functions = validate(&output).as_ref().function_count();
        assert!(output_functions > input_functions);
        for index in input_functions..output_functions {
            let added = after
                .get(&index)
                .unwrap_or_else(|| panic!("{name}: added function {index} unnamed"));
            assert!(
                added.starts_with("wasm_unwind::"),
                "{name}: added function {index} is `{added}`"
            );
        }
    }
}

#[test]
fn producers_section_records_the_tool() {
    for name in FIXTURES {
        let input = fixture(name);
        let output = wasm_unwind::process(&input, &Options::default())
            .unwrap()
            .wasm;
        let (before, after) = (producers(&input), producers(&output));
        assert!(
            after
                .get("processed-by")
                .is_some_and(|v| v.iter().any(|n| n == "wasm-unwind")),
            "{name}: processed-by wasm-unwind: {after:?}"
        );
        for (field, values) in &before {
            for value in values {
                assert!(
                    after[field].contains(value),
                    "{name}: producers {field} {value} kept: {after:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing the unwind tag and the stack pointer (--tag, --stack-pointer)

/// Two `(param i32)` tags, both thrown (so detection cannot choose), and an `f32` tag; global 0
/// immutable and none named `__stack_pointer` (so there is no stack pointer by convention), two
/// mutable i32 globals to choose from. `lower_other_and_throw` lowers `$other` and throws `$b`.
const TWO_TAGS: &str = r#"(module
  (tag $a (param i32))
  (tag $b (param i32))
  (tag $f (param f32))
  (global $flag i32 (i32.const 0))
  (global $sp (export "sp") (mut i32) (i32.const 1024))
  (global $other (export "other") (mut i32) (i32.const 2048))
  (func (export "throw_a") (param i32) (throw $a (local.get 0)))
  (func (export "lower_other_and_throw") (param i32)
    (global.set $other (i32.sub (global.get $other) (i32.const 16)))
    (throw $b (local.get 0)))
  (func (export "catch_all") (param i32)
    (block (try_table (catch_all 0) (throw $a (local.get 0))))))"#;

/// Runs the binary on `TWO_TAGS` (as text, file `in`) with `args`, writing over an existing
/// `out.wasm`; returns the output and the folder, for `assert_refused`.
fn run_two_tags(args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (in_path, out) = (dir.path().join("in"), dir.path().join("out.wasm"));
    std::fs::write(&in_path, TWO_TAGS).unwrap();
    std::fs::write(&out, b"previous output").unwrap();
    let mut all = vec![path_str(&in_path), "-o", path_str(&out)];
    all.extend(args);
    (CLI.run(&all, None), dir)
}

#[test]
fn tag_and_stack_pointer_errors_are_one_line_and_write_nothing() {
    for (what, args, needles) in [
        (
            "--tag by a name no tag has",
            &["--tag", "nope"][..],
            &["--tag nope: no such tag"][..],
        ),
        (
            "--tag by an index past the end",
            &["--tag", "7"],
            &["--tag 7: no such tag"],
        ),
        (
            "--tag of an f32 tag",
            &["--tag", "2"],
            &["--tag 2: no such tag", "(param i32)"],
        ),
        (
            "--stack-pointer by a name no global has",
            &["--tag", "1", "--stack-pointer", "nope"],
            &["--stack-pointer nope: no such global"],
        ),
        (
            "--stack-pointer of an immutable global",
            &["--tag", "1", "--stack-pointer", "0"],
            &["--stack-pointer 0: no such global", "mutable i32/i64"],
        ),
        (
            "--stack-pointer by an index past the end",
            &["--tag", "1", "--stack-pointer", "9"],
            &["--stack-pointer 9: no such global"],
        ),
    ] {
        let (output, dir) = run_two_tags(args);
        let out = dir.path().join("out.wasm");
        for needle in needles {
            assert_refused(&output, what, needle, dir.path(), &out, b"previous output");
        }
    }
}

/// No `__stack_pointer` and global 0 immutable: no stack pointer at all, which is processed
/// without the restore and one warning that names the option (issue 10), not refused.
#[test]
fn no_stack_pointer_is_a_warning_naming_the_option() {
    let (output, _dir) = run_two_tags(&["--tag", "1"]);
    assert_success(&output, "--tag 1 without a stack pointer");
    let err = stderr(&output);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("no shadow stack pointer") && warnings[0].contains("--stack-pointer"),
        "{err}"
    );
}

/// Two candidate tags, both thrown, and nothing to tell them apart: processed without a tag (it
/// used to be refused), with one note saying so and naming `--tag`; no tag export is added.
/// `sp` is the stack pointer by its export name.
#[test]
fn undecided_tags_are_a_note_not_a_refusal() {
    let (output, dir) = run_two_tags(&["--stack-pointer", "sp"]);
    assert_success(&output, "two candidate tags");
    let err = stderr(&output);
    let notes: Vec<&str> = err.lines().filter(|l| l.contains("note:")).collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(
        notes[0].contains("tags 0, 1") && notes[0].contains("--tag"),
        "{err}"
    );
    assert!(!err.contains("no Rust unwind tag found"), "{err}");
    assert!(err.contains("stack pointer global 1 `sp`"), "{err}");
    let wasm = std::fs::read(dir.path().join("out.wasm")).unwrap();
    validate(&wasm);
    let exports = exports_of(&wasm);
    assert!(
        !exports.iter().any(|e| e.name == wasm_unwind::TAG_EXPORT),
        "{exports:?}"
    );
}

#[test]
fn tag_and_stack_pointer_by_index_or_name() {
    let tag_b = "unwind tag 1 `b` (from --tag)";
    let other = "stack pointer global 2 `other` (from --stack-pointer)";
    for args in [
        ["--tag", "1", "--stack-pointer", "2"],
        ["--tag", "b", "--stack-pointer", "other"],
    ] {
        let (output, dir) = run_two_tags(&args);
        assert_success(&output, &args.join(" "));
        let err = stderr(&output);
        assert!(
            err.contains(tag_b) && err.contains(other),
            "{args:?}:\n{err}"
        );
        validate(&std::fs::read(dir.path().join("out.wasm")).unwrap());
    }
}

/// The choice has its effect: an exception leaving an export restores the global chosen as the
/// stack pointer, and the unwind tag chosen is the one exported for hosts.
#[test]
fn the_chosen_stack_pointer_is_restored_and_the_chosen_tag_exported() {
    use support::host::{Run, compile, failure};
    let options = Options::default().tag("b").stack_pointer("other");
    let processed = wasm_unwind::process(TWO_TAGS.as_bytes(), &options).expect("processes");
    let report = &processed.report;
    let tag = report.unwind_tag.as_ref().expect("unwind tag");
    assert_eq!((tag.index, tag.name.as_deref()), (1, Some("b")));
    let sp = report.stack_pointer.as_ref().expect("stack pointer");
    assert_eq!((sp.index, sp.name.as_deref()), (2, Some("other")));

    let mut run = Run::new(&compile(&processed.wasm));
    let global = |run: &mut Run, name: &str| {
        let g = run.instance.get_global(&mut run.store, name).unwrap();
        g.get(&mut run.store).unwrap_i32()
    };
    assert_eq!(
        failure(run.call::<i32, ()>("lower_other_and_throw", 7)),
        support::Failure::Exception
    );
    let (thrown, payload) = run.take_exception().expect("pending exception");
    assert_eq!(payload, 7);
    let exported = run.tag_export(wasm_unwind::TAG_EXPORT).expect("tag export");
    assert!(
        run.same_tag(&thrown, &exported),
        "the chosen tag is exported"
    );
    assert_eq!(
        global(&mut run, "other"),
        2048,
        "the chosen global is restored"
    );
    assert_eq!(
        global(&mut run, "sp"),
        1024,
        "the other global is not touched"
    );
}
