//! What the tool says: the summary on stderr, the plan of `--dry-run`, silence with `-q`, "already
//! processed" on its own output, `--json`, and the lines on exports whose panics abort.

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::cli::{dir_listing, stderr};
use support::{fixture, fixture_path};

use super::{
    CLI, FIXTURES, assert_exit, original_function_export_names, path_str, stdout, validate,
    wrapped_exports,
};

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
        assert_exit(&output, 0, name);
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
    assert_exit(&output, 0, "-q");
    assert!(output.stdout.is_empty(), "stdout: {}", stdout(&output));
    assert!(output.stderr.is_empty(), "stderr: {}", stderr(&output));
    validate(&std::fs::read(&out).unwrap());
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let input = fixture_path("panics.exnref.wasm");
    let output = CLI.run(&[path_str(&input), "--dry-run", "-o", path_str(&out)], None);
    assert_exit(&output, 0, "--dry-run");
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
    assert_exit(&output, 0, "--dry-run without -o");
    assert_eq!(stdout(&output), plan);
}

#[test]
fn running_on_its_own_output_does_nothing_and_says_so() {
    for name in FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let (once, twice) = (dir.path().join("once.wasm"), dir.path().join("twice.wasm"));
        assert_exit(
            &CLI.run(
                &[path_str(&fixture_path(name)), "-q", "-o", path_str(&once)],
                None,
            ),
            0,
            name,
        );
        let output = CLI.run(&[path_str(&once), "-o", path_str(&twice)], None);
        assert_exit(&output, 0, &format!("{name} again"));
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
        assert_exit(&output, 0, "--dry-run on processed input");
        assert!(
            stdout(&output).contains("already processed"),
            "{}",
            stdout(&output)
        );
        let text = wasmprinter::print_bytes(&once).unwrap();
        let output = CLI.run(&["-", "-o", "-"], Some(text.as_bytes()));
        assert_exit(&output, 0, "processed text input");
        assert!(
            stderr(&output).contains("already processed"),
            "{}",
            stderr(&output)
        );
    }
}

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
    let input = fixture_path("panics.exnref.wasm");
    let (output, changes) = split(json(&CLI.run(
        &[
            path_str(&input),
            "--json",
            "--skip-export",
            "panic_*",
            "-o",
            path_str(&out),
        ],
        None,
    )));
    let inspected = json(&CLI.run(&["inspect", "--json", path_str(&out)], None));
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
    assert_eq!(changes["input"], path_str(&input));
    assert_eq!(changes["output"], path_str(&out));
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
            path_str(&input),
            "--json",
            "--dry-run",
            "--skip-export",
            "panic_*",
            "-o",
            path_str(&dry),
        ],
        None,
    )));
    assert_eq!(planned, output);
    assert_eq!(changes["output"], Value::Null);
    assert!(!dry.exists());

    // Its own output: nothing changes, and it says so.
    let again = dir.path().join("again.wasm");
    let (_, changes) = split(json(&CLI.run(
        &[path_str(&out), "--json", "-q", "-o", path_str(&again)],
        None,
    )));
    assert_eq!(changes["already_processed"], true);
    assert_eq!(changes["wrapped"], Value::Array(Vec::new()));

    // Standard output cannot carry both.
    let output = CLI.run(&[path_str(&input), "--json", "-o", "-"], None);
    assert_exit(&output, 1, "--json -o -");
    assert!(output.stdout.is_empty());
}

/// The README's first module with `extern "C"` exports (issue 24): the summary names `push`
/// and says what to change, `inspect` says a panic in it aborts, `--json` carries both. Built
/// `extern "C-unwind"`, as the README says, the module gets no such line.
#[test]
fn exports_whose_panics_abort_are_named_in_the_summary_inspect_and_json() {
    for encoding in ["exnref", "legacy"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("app.wasm");
        let input = fixture_path(&format!("first-c.{encoding}.wasm"));
        let output = CLI.run(
            &[
                path_str(&input),
                "-o",
                path_str(&out),
                "--emit-js",
                path_str(&dir.path().join("g.mjs")),
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

        let table =
            String::from_utf8(CLI.run(&["inspect", path_str(&input)], None).stdout).unwrap();
        let header = table.lines().find(|l| l.starts_with("export ")).unwrap();
        let push = table.lines().find(|l| l.starts_with("push ")).unwrap();
        let column = header.find("on panic").expect("an `on panic` column");
        assert!(push[column..].starts_with("aborts "), "{header}\n{push}");

        let inspected = json(&CLI.run(&["inspect", "--json", path_str(&out)], None));
        let exports = inspected["exports"].as_array().unwrap();
        let push = exports.iter().find(|e| e["name"] == "push").unwrap();
        assert_eq!(push["on_panic"], "aborts", "{push}");
        assert_eq!(push["can_unwind"], false, "{push}");
        let (_, changes) = split(json(
            &CLI.run(&[path_str(&input), "--dry-run", "--json"], None),
        ));
        let warned = changes["warnings"].as_array().unwrap();
        assert!(
            warned
                .iter()
                .any(|w| w.as_str().unwrap().contains("`push`")),
            "{warned:?}"
        );

        let c_unwind = CLI.run(
            &[
                path_str(&fixture_path(&format!("first.{encoding}.wasm"))),
                "--dry-run",
            ],
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
        CLI.run(
            &[path_str(&fixture_path("panics.exnref.wasm")), "--dry-run"],
            None,
        )
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
