//! Choosing the unwind tag and the stack pointer (`--tag`, `--stack-pointer`): by index or name,
//! refused when they name nothing that fits, a warning or a note when the module leaves them open,
//! and the choice has its effect.

use std::process::Output;

use support::cli::{assert_refused, stderr};
use support::exports_of;
use wasm_unwind::Options;

use super::{CLI, assert_exit, path_str, validate};

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
    assert_exit(&output, 0, "--tag 1 without a stack pointer");
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
    assert_exit(&output, 0, "two candidate tags");
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
        assert_exit(&output, 0, &args.join(" "));
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
