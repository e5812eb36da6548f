//! Refusals: bad input, unreadable or unwritable files and bad usage end with one `error:` line
//! that names the file and the problem, the exit code says which (1 or 2), and nothing is written.

use support::cli::{assert_refused, stderr};
use support::{fixture, fixture_path};

use super::{CLI, assert_exit, path_str};

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

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (app, out) = (dir.path().join("app.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&app, b"not a module").unwrap();
    let output = CLI.run(&[path_str(&app), "-o", path_str(&out)], None);
    assert_exit(&output, 1, "not wasm");
    assert_eq!(
        stderr(&output),
        format!(
            "error: {}: input is not WebAssembly: no `\\0asm` header and not WebAssembly text\n",
            path_str(&app)
        )
    );
    // From standard input, and in `inspect`.
    let output = CLI.run(
        &["-", "-o", path_str(&out)],
        Some(&std::fs::read(&app).unwrap()),
    );
    assert!(
        stderr(&output).starts_with("error: <stdin>: input is not WebAssembly"),
        "{}",
        stderr(&output)
    );
    let output = CLI.run(&["inspect", path_str(&app)], None);
    assert!(
        stderr(&output).starts_with(&format!("error: {}: input is not", path_str(&app))),
        "{}",
        stderr(&output)
    );
    // An option that does not fit the module is about that module too.
    let output = CLI.run(
        &[
            path_str(&fixture_path("abort.wasm")),
            "--export",
            "nosuch",
            "-o",
            path_str(&out),
        ],
        None,
    );
    assert!(
        stderr(&output).starts_with(&format!(
            "error: {}: --export nosuch",
            path_str(&fixture_path("abort.wasm"))
        )),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
}

#[test]
fn a_text_error_keeps_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("app.wat");
    std::fs::write(&wat, "(module\n  (func (export \"f\")\n    i32.bogus))\n").unwrap();
    let output = CLI.run(&[path_str(&wat), "--dry-run"], None);
    assert_exit(&output, 1, "bad text");
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {}: input is invalid WebAssembly text",
            path_str(&wat)
        )),
        "{err}"
    );
    assert!(err.contains("(line 3, column 5)"), "{err}");
}
