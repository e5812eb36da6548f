//! The command line as a build step (issue 12): the output's file mode, `--check` for CI,
//! errors that name the file, a closed or terminal standard output, `--json`, and a library
//! that builds without the command line's crates. Through the real binary.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::cli::Cli;
use support::fixture_path as fixture;

const CLI: Cli = support::wasm_unwind!();

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: exit code\nstderr:\n{}",
        stderr(output)
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing half-written

/// `--emit-js` writes the glue before the module, so a glue that cannot be written leaves an
/// existing module output as it was (the glue is the same text for every module of a version).
#[test]
fn a_failed_glue_write_leaves_the_old_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("app.wasm");
    std::fs::write(&out, b"old output").unwrap();
    let glue = dir.path().join("no-such-folder/wasm-unwind.mjs");
    let input = fixture("panics.exnref.wasm");
    let output = CLI.run(&[s(&input), "-o", s(&out), "--emit-js", s(&glue)], None);
    assert_exit(&output, 1, "--emit-js into a missing folder");
    assert_eq!(std::fs::read(&out).unwrap(), b"old output");
}

// ---------------------------------------------------------------------------------------------
// File mode

#[test]
fn a_new_output_gets_the_usual_mode() {
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.wasm");
        let output = run_with_umask(
            umask,
            &[s(&fixture("panics.exnref.wasm")), "-q", "-o", s(&out)],
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
    std::fs::copy(fixture("panics.legacy.wasm"), &module).unwrap();
    std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = run_with_umask("077", &[s(&module), "-q", "-o", s(&module)]);
    assert_exit(&output, 0, "in place");
    assert_eq!(mode(&module), 0o644, "in place: got {:o}", mode(&module));
    assert!(stderr(&CLI.run(&[s(&module), "--dry-run"], None)).is_empty());

    let other = dir.path().join("other.wasm");
    std::fs::write(&other, b"previous").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o604)).unwrap();
    let output = run_with_umask("077", &[s(&fixture("abort.wasm")), "-q", "-o", s(&other)]);
    assert_exit(&output, 0, "over another file");
    assert_eq!(mode(&other), 0o604, "got {:o}", mode(&other));
    assert_ne!(std::fs::read(&other).unwrap(), b"previous");
}

// ---------------------------------------------------------------------------------------------
// --check

/// `--check` exits 1 with one line naming the file and the difference, prints nothing on stdout
/// and writes nothing.
fn assert_check_fails(args: &[&str], file: &Path, needle: &str) {
    let output = CLI.run(&[&[s(file), "--check"], args].concat(), None);
    let err = stderr(&output);
    assert_exit(&output, 1, &format!("--check {args:?}"));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with(&format!("error: {}: ", s(file))) && err.contains(needle),
        "names the file and {needle:?}: {err}"
    );
    assert!(output.stdout.is_empty());
}

fn assert_check_passes(args: &[&str], file: &Path) {
    let output = CLI.run(&[&[s(file), "--check"], args].concat(), None);
    assert_exit(&output, 0, &format!("--check {args:?}"));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn check_passes_only_on_a_module_processed_with_the_same_options() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("built.wasm");
    std::fs::copy(fixture("panics.exnref.wasm"), &built).unwrap();
    assert_check_fails(&[], &built, "not processed");
    assert_eq!(
        std::fs::read(&built).unwrap(),
        support::fixture("panics.exnref.wasm"),
        "--check writes nothing"
    );

    let guarded = dir.path().join("guarded.wasm");
    assert_exit(
        &CLI.run(&[s(&built), "-q", "-o", s(&guarded)], None),
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
        &[s(&built), "--no-abort-guard", "-q", "-o", s(&unguarded)],
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
    let output = CLI.run(&[s(&guarded), "--check", "-o", s(&unguarded)], None);
    assert_exit(&output, 2, "--check -o");
}

// ---------------------------------------------------------------------------------------------
// Errors and streams

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (app, out) = (dir.path().join("app.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&app, b"not a module").unwrap();
    let output = CLI.run(&[s(&app), "-o", s(&out)], None);
    assert_exit(&output, 1, "not wasm");
    assert_eq!(
        stderr(&output),
        format!(
            "error: {}: input is not WebAssembly: no `\\0asm` header and not WebAssembly text\n",
            s(&app)
        )
    );
    // From standard input, and in `inspect`.
    let output = CLI.run(&["-", "-o", s(&out)], Some(&std::fs::read(&app).unwrap()));
    assert!(
        stderr(&output).starts_with("error: <stdin>: input is not WebAssembly"),
        "{}",
        stderr(&output)
    );
    let output = CLI.run(&["inspect", s(&app)], None);
    assert!(
        stderr(&output).starts_with(&format!("error: {}: input is not", s(&app))),
        "{}",
        stderr(&output)
    );
    // An option that does not fit the module is about that module too.
    let output = CLI.run(
        &[
            s(&fixture("abort.wasm")),
            "--export",
            "nosuch",
            "-o",
            s(&out),
        ],
        None,
    );
    assert!(
        stderr(&output).starts_with(&format!(
            "error: {}: --export nosuch",
            s(&fixture("abort.wasm"))
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
    let output = CLI.run(&[s(&wat), "--dry-run"], None);
    assert_exit(&output, 1, "bad text");
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {}: input is invalid WebAssembly text",
            s(&wat)
        )),
        "{err}"
    );
    assert!(err.contains("(line 3, column 5)"), "{err}");
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
    let input = fixture("abort.wasm");
    let in_terminal = |extra: &str| {
        Command::new("script")
            .args([
                "-qec",
                &format!("{} {} -q -o - {extra}", s(CLI.path()), s(&input)),
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

// ---------------------------------------------------------------------------------------------
// --json

fn json(output: &Output) -> Value {
    assert_exit(output, 0, "--json");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The summary without `changes` is what `inspect --json` says of the output.
fn split(mut summary: Value) -> (Value, Value) {
    let changes = summary
        .as_object_mut()
        .unwrap()
        .remove("changes")
        .expect("changes");
    (summary, changes)
}

#[test]
fn json_summarises_the_output_and_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture("panics.exnref.wasm");
    let (output, changes) = split(json(&CLI.run(
        &[
            s(&input),
            "--json",
            "--skip-export",
            "panic_*",
            "-o",
            s(&out),
        ],
        None,
    )));
    let inspected = json(&CLI.run(&["inspect", "--json", s(&out)], None));
    assert_eq!(
        output, inspected,
        "the output as inspect --json describes it"
    );

    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e.as_str()
                    .unwrap_or_else(|| e["name"].as_str().unwrap())
                    .to_string()
            })
            .collect()
    };
    let wrapped_rows: Vec<String> = inspected["exports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["wrapped"] == true)
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names(&changes["wrapped"]), wrapped_rows);
    let skipped = names(&changes["skipped"]);
    assert!(!skipped.is_empty() && skipped.iter().all(|n| n.starts_with("panic_")));
    assert!(
        changes["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"] == "not selected")
    );
    assert_eq!(changes["input"], s(&input));
    assert_eq!(changes["output"], s(&out));
    assert_eq!(changes["already_processed"], false);
    assert_eq!(changes["abort_guard"], true);
    assert_eq!(changes["js"], false);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert_eq!(changes["input_size"], size(&input));
    assert_eq!(changes["output_size"], size(&out));

    // A dry run says the same and writes nothing.
    let dry = dir.path().join("dry.wasm");
    let (planned, changes) = split(json(&CLI.run(
        &[
            s(&input),
            "--json",
            "--dry-run",
            "--skip-export",
            "panic_*",
            "-o",
            s(&dry),
        ],
        None,
    )));
    assert_eq!(planned, output);
    assert_eq!(changes["output"], Value::Null);
    assert!(!dry.exists());

    // Its own output: nothing changes, and it says so.
    let again = dir.path().join("again.wasm");
    let (_, changes) = split(json(
        &CLI.run(&[s(&out), "--json", "-q", "-o", s(&again)], None),
    ));
    assert_eq!(changes["already_processed"], true);
    assert_eq!(changes["wrapped"], Value::Array(Vec::new()));

    // Standard output cannot carry both.
    let output = CLI.run(&[s(&input), "--json", "-o", "-"], None);
    assert_exit(&output, 1, "--json -o -");
    assert!(output.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The library alone

/// `default-features = false` gives the library without clap, tempfile, wasmprinter or serde.
/// Direct dependencies only: `cargo tree` unifies features with the dev-dependencies, through
/// which wasmparser's own `serde` feature is on here (it is not for a user of the library).
// ---------------------------------------------------------------------------------------------
// Exports whose panics abort

/// The README's first module with `extern "C"` exports (issue 24): the summary names `push`
/// and says what to change, `inspect` says a panic in it aborts, `--json` carries both. Built
/// `extern "C-unwind"`, as the README says, the module gets no such line.
#[test]
fn exports_whose_panics_abort_are_named_in_the_summary_inspect_and_json() {
    for encoding in ["exnref", "legacy"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.wasm");
        let input = fixture(&format!("first-c.{encoding}.wasm"));
        let output = CLI.run(
            &[
                s(&input),
                "-o",
                s(&out),
                "--emit-js",
                s(&dir.path().join("g.mjs")),
            ],
            None,
        );
        assert_exit(&output, 0, "processing");
        let summary = stderr(&output);
        let line = summary
            .lines()
            .find(|l| l.contains("aborts the instance"))
            .unwrap_or_else(|| panic!("{encoding}: no line on aborting exports:\n{summary}"));
        assert!(
            line.contains("`push`") && line.contains("declare them `extern \"C-unwind\"`"),
            "{line}"
        );

        let table = String::from_utf8(CLI.run(&["inspect", s(&input)], None).stdout).unwrap();
        let header = table.lines().find(|l| l.starts_with("export ")).unwrap();
        let push = table.lines().find(|l| l.starts_with("push ")).unwrap();
        let column = header.find("on panic").expect("an `on panic` column");
        assert!(push[column..].starts_with("aborts "), "{header}\n{push}");

        let inspected = json(&CLI.run(&["inspect", "--json", s(&out)], None));
        let exports = inspected["exports"].as_array().unwrap();
        let push = exports.iter().find(|e| e["name"] == "push").unwrap();
        assert_eq!(push["on_panic"], "aborts", "{push}");
        assert_eq!(push["can_unwind"], false, "{push}");
        let (_, changes) = split(json(&CLI.run(&[s(&input), "--dry-run", "--json"], None)));
        let warned = changes["warnings"].as_array().unwrap();
        assert!(
            warned
                .iter()
                .any(|w| w.as_str().unwrap().contains("`push`")),
            "{warned:?}"
        );

        let c_unwind = CLI.run(
            &[s(&fixture(&format!("first.{encoding}.wasm"))), "--dry-run"],
            None,
        );
        let said = String::from_utf8(c_unwind.stdout).unwrap();
        assert!(!said.contains("aborts the instance"), "{said}");
        assert!(said.contains("runtime linked"), "{said}");
    }
}

/// Without the runtime crate, the summary says what it would add, abort messages included.
#[test]
fn the_runtime_note_says_it_keeps_abort_messages() {
    let said = String::from_utf8(
        CLI.run(&[s(&fixture("panics.exnref.wasm")), "--dry-run"], None)
            .stdout,
    )
    .unwrap();
    let note = said
        .lines()
        .find(|l| l.contains("note: linking wasm-unwind-runtime"))
        .expect("note");
    assert!(
        note.contains("keep the message of a panic that aborts"),
        "{note}"
    );
}

#[test]
fn the_library_does_not_pull_the_command_lines_crates() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--no-default-features",
            "-p",
            "wasm-unwind",
            "--depth",
            "1",
            "--prefix",
            "none",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .output()
        .expect("cargo tree");
    assert_exit(&output, 0, "cargo tree");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(tree.contains("wasmparser"), "{tree}");
    for crate_ in ["clap", "tempfile", "wasmprinter", "serde", "serde_json"] {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{crate_} "))),
            "{crate_} in the library's tree:\n{tree}"
        );
    }
}
