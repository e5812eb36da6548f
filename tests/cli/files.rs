//! Where the output goes: files written whole (in place, or over another file, keeping its mode),
//! nothing half-written, standard input and output, a terminal, a closed pipe, the text form.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::cli::{dir_listing, stderr};
use support::{exports_of, fixture, fixture_path};

use super::{
    CLI, FIXTURES, assert_exit, original_function_export_names, path_str, validate, wrapped_exports,
};

/// Runs the binary under `sh` with `umask` set in the child only: the test process's umask is
/// shared by every test thread.
fn run_with_umask(umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(CLI.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run wasm-unwind under sh")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `--emit-js` writes the glue before the module, so a glue that cannot be written leaves an
/// existing module output as it was (the glue is the same text for every module of a version).
#[test]
fn a_failed_glue_write_leaves_the_old_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("app.wasm");
    std::fs::write(&out, b"old output").unwrap();
    let glue = dir.path().join("no-such-folder/wasm-unwind.mjs");
    let input = fixture_path("panics.exnref.wasm");
    let output = CLI.run(
        &[
            path_str(&input),
            "-o",
            path_str(&out),
            "--emit-js",
            path_str(&glue),
        ],
        None,
    );
    assert_exit(&output, 1, "--emit-js into a missing folder");
    assert_eq!(std::fs::read(&out).unwrap(), b"old output");
}

#[test]
fn a_new_output_gets_the_usual_mode() {
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.wasm");
        let output = run_with_umask(
            umask,
            &[
                path_str(&fixture_path("panics.exnref.wasm")),
                "-q",
                "-o",
                path_str(&out),
            ],
        );
        assert_exit(&output, 0, "process");
        assert_eq!(
            mode(&out),
            expected,
            "umask {umask}: 0666 less the umask, got {:o}",
            mode(&out)
        );
    }
}

#[test]
fn an_existing_output_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    // In place, as a build step runs it on the module it ships; and over another file. The
    // umask would give 0600: the existing file's mode wins.
    let module = dir.path().join("app.wasm");
    std::fs::copy(fixture_path("panics.legacy.wasm"), &module).unwrap();
    std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = run_with_umask("077", &[path_str(&module), "-q", "-o", path_str(&module)]);
    assert_exit(&output, 0, "in place");
    assert_eq!(mode(&module), 0o644, "in place: got {:o}", mode(&module));
    assert!(stderr(&CLI.run(&[path_str(&module), "--dry-run"], None)).is_empty());

    let other = dir.path().join("other.wasm");
    std::fs::write(&other, b"previous").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o604)).unwrap();
    let output = run_with_umask(
        "077",
        &[
            path_str(&fixture_path("abort.wasm")),
            "-q",
            "-o",
            path_str(&other),
        ],
    );
    assert_exit(&output, 0, "over another file");
    assert_eq!(mode(&other), 0o604, "got {:o}", mode(&other));
    assert_ne!(std::fs::read(&other).unwrap(), b"previous");
}

#[test]
fn processes_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::write(&module, fixture("panics.exnref.wasm")).unwrap();
    let output = CLI.run(&[path_str(&module), "-q", "-o", path_str(&module)], None);
    assert_exit(&output, 0, "in place");
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

#[test]
fn stdin_to_stdout() {
    let input = fixture("panics.legacy.wasm");
    let output = CLI.run(&["-", "-o", "-"], Some(&input));
    assert_exit(&output, 0, "- -o -");
    validate(&output.stdout);
    // The same bytes as the library gives: stdout carries the module and nothing else.
    let expected = support::host::process(&input);
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
    assert_exit(&output, 0, "wat on stdin");
    validate(&output.stdout);
    assert_eq!(wrapped_exports(&output.stdout), ["f"]);
}

/// Standard output closed before anything is written (`| head -c 0`): the run ends quietly
/// with wasm-tools' status 1, no panic and no message.
#[test]
fn a_closed_stdout_ends_quietly() {
    let input = support::fixture("panics.exnref.wasm");
    for args in [
        &["-", "-o", "-"][..],
        &["inspect", "-"],
        &["-", "--dry-run"],
    ] {
        let mut child = CLI
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The binary reads all of its input before it writes, so closing the reading end first
        // is certain to close it before the first write.
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&input).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        assert_eq!(stderr(&output), "", "{args:?}: nothing on stderr");
        assert_exit(&output, 1, &format!("{args:?}"));
    }
}

/// Under `script`, standard output is a terminal: binary is refused there, text is not.
#[test]
fn binary_output_to_a_terminal_is_refused() {
    let input = fixture_path("abort.wasm");
    let in_terminal = |extra: &str| {
        Command::new("script")
            .args([
                "-qec",
                &format!(
                    "{} {} -q -o - {extra}",
                    path_str(CLI.path()),
                    path_str(&input)
                ),
                "/dev/null",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("script (util-linux) runs a command in a pseudo-terminal")
    };
    let output = in_terminal("");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert_exit(&output, 1, "binary to a terminal");
    assert!(
        shown.contains("error: cannot write binary WebAssembly to a terminal: pass -S"),
        "{shown}"
    );
    assert!(!shown.contains("asm"), "no module bytes: {shown}");

    let output = in_terminal("-S");
    assert_exit(&output, 0, "text to a terminal");
    assert!(String::from_utf8_lossy(&output.stdout).contains("(module"));
}

#[test]
fn emit_text_parses_back_with_the_same_exports() {
    for name in FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let (text_out, binary_out) = (dir.path().join("out.wat"), dir.path().join("out.wasm"));
        let input = fixture_path(name);
        assert_exit(
            &CLI.run(
                &[path_str(&input), "-S", "-q", "-o", path_str(&text_out)],
                None,
            ),
            0,
            "-S",
        );
        assert_exit(
            &CLI.run(&[path_str(&input), "-q", "-o", path_str(&binary_out)], None),
            0,
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
