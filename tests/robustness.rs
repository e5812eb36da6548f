//! Robustness: hostile and generated inputs never crash the tool or yield a broken module, and
//! processing keeps what a module computes. The checker, the differential run in Wasmtime and
//! the generators live in `support::robustness` (shared with the fuzz targets in `fuzz/`).
//!
//! `fuzz_fixed_seed` runs `WASM_UNWIND_FUZZ_CASES` cases (default [`FIXED_SEED_CASES`]) from
//! `WASM_UNWIND_FUZZ_SEED`: a seed means the same cases on every machine. Failing inputs are
//! written to `target/robustness-failures/`. Inputs under `tests/regressions/` are re-checked by
//! `regressions`.

use std::path::PathBuf;

use arbitrary::Unstructured;
use support::robustness::{
    self, Abi, DETECTION_ABIS, Diff, HOST_STEPS, Kind, ODD_ABIS, Outcome, Rng, add_odd_abi,
    add_rust_abi, campaign::BASE_FIXTURES, campaign_of, check_case, check_input, differential,
    differential_of, smith, to_legacy,
};
use wasm_unwind::{Encoding, Options, Processed};

/// Cases in the fixed-seed run, 120 of each kind: 6 to 20 s in a debug build on a busy 2-core
/// machine (the `secs` column of its table says where the time goes).
const FIXED_SEED_CASES: usize = 1800;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The fixed-seed run. Every bug is saved and reported; the test fails at the end if there was
/// any, or if the run checked too little to mean anything.
#[test]
fn fuzz_fixed_seed() {
    let cases: usize = env("WASM_UNWIND_FUZZ_CASES", FIXED_SEED_CASES);
    let seed: u64 = env("WASM_UNWIND_FUZZ_SEED", 0x005e_ed0f_u64);
    let run = robustness::campaign(seed, cases);
    run.print();
    assert!(
        run.bugs.is_empty(),
        "{} distinct bug(s), first inputs:\n{}",
        run.bug_cases.len(),
        run.bugs.join("\n")
    );
    // The run must not pass vacuously.
    let total = run.total();
    assert_eq!(total.cases, cases, "every case was run");
    assert!(
        total.compared >= 20,
        "only {} differential runs",
        total.compared
    );
    assert!(
        total.tally.exceptions >= 5,
        "only {} exceptions compared",
        total.tally.exceptions
    );
    assert!(
        total.legacy_only >= 5,
        "only {} legacy outputs checked",
        total.legacy_only
    );
    assert!(
        total.rejected >= 20,
        "only {} rejections checked",
        total.rejected
    );
    // Each odd variant is made, and got what the tool must do with it (a bug otherwise).
    for abi in ODD_ABIS {
        let c = &run.counts[&Kind::SmithOdd(abi)];
        assert!(c.not_generated * 10 <= c.cases, "{abi:?}: {c:?}");
    }
    for abi in [Abi::NoStackPointer, Abi::Prefixed, Abi::Tables] {
        let c = &run.counts[&Kind::SmithOdd(abi)];
        assert!(
            c.compared >= 20 && c.tally.exceptions >= 20,
            "{abi:?}: {c:?}"
        );
    }
    // Calls through the tables: returns, panics (stack pointer restored), traps that end the
    // instance, and refusals after them.
    let tables = run.counts[&Kind::SmithOdd(Abi::Tables)].tally;
    assert!(
        tables.table_calls >= 200
            && tables.table_exceptions >= 20
            && tables.table_traps >= 20
            && tables.table_refused >= 100,
        "{tables:?}"
    );
    // The host steps ran whole (each case to the end, or not at all) in most cases: grown and
    // written slots, callbacks served, the second module's slots.
    let host = &run.counts[&Kind::SmithOdd(Abi::HostWrites)];
    let (calls, callbacks, linked) = HOST_STEPS;
    let whole = host.tally.host_calls / calls;
    assert!(
        whole >= 60
            && host.tally.host_calls == whole * calls
            && host.tally.callbacks == whole * callbacks
            && host.tally.linked == whole * linked,
        "{host:?}"
    );
}

/// The detection shapes (issue 19): several one-parameter tags, a module that throws but never
/// catches, a stack pointer and a tag known only by their export names, each accepted as the
/// issue asks ([`support::robustness::Detection`]), with one note line where the tool chose.
#[test]
fn detection_shapes() {
    let kinds = DETECTION_ABIS.map(Kind::SmithOdd);
    let run = campaign_of(&kinds, 0x005e_ed0f, 90);
    run.print();
    assert!(run.bugs.is_empty(), "{}", run.bugs.join("\n"));
    for kind in kinds {
        let c = &run.counts[&kind];
        assert!(c.accepted >= 10 && c.compared >= 5, "{kind:?}: {c:?}");
    }
}

/// Every input once found to break the tool, kept under `tests/regressions/`.
#[test]
fn regressions() {
    let dir = support::repo().join("tests/regressions");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let inputs: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("wasm" | "wat")
            )
        })
        .collect();
    assert!(
        !inputs.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    let mut bugs = Vec::new();
    for path in &inputs {
        let bytes = std::fs::read(path).unwrap();
        if let Err(bug) = check_input(&bytes) {
            bugs.push(format!("{}: {}", path.display(), bug.what));
        }
    }
    assert!(bugs.is_empty(), "{}", bugs.join("\n"));
}

/// The fuzz targets' `run`, on the fixtures and on generated bytes: what `cargo fuzz` runs works.
#[test]
fn fuzz_targets_run() {
    for name in BASE_FIXTURES {
        support::fuzz::process::run(&mut Unstructured::new(&support::fixture(name))).unwrap();
    }
    let mut rng = Rng::new(2);
    let mut made = 0;
    for _ in 0..8 {
        let bytes = rng.bytes(4000);
        made += support::fuzz::smith::run(&mut Unstructured::new(&bytes)).is_ok() as usize;
    }
    assert!(made > 0, "no wasm-smith case made from 8 inputs");
}

/// Prefixes of every fixture: refused with one line (or, cut at a section boundary, a valid
/// smaller module), never a panic.
#[test]
fn every_truncation_of_the_fixtures() {
    for name in BASE_FIXTURES {
        let bytes = support::fixture(name);
        // Every cut in the header and first sections and near the end, every 7th in between
        // (all of them take minutes in a debug build).
        let n = bytes.len();
        for len in (0..n).filter(|&l| l < 2048 || l % 7 == 0 || n - l < 512) {
            match check_case(&bytes[..len], &Options::default(), false) {
                // A cut at a section boundary is a valid (smaller) module.
                Ok(_) => {}
                Err(bug) => panic!("{name} cut to {len} bytes: {}", bug.what),
            }
        }
    }
}

/// Every small fixture, in every mode the options give: valid, no feature the input lacks, a
/// second run changes nothing, and (exnref) the same results in Wasmtime.
#[test]
fn every_fixture_in_every_mode() {
    let fixtures = ["panics", "panics-rt", "bindgen"]
        .iter()
        .flat_map(|f| [format!("{f}.exnref.wasm"), format!("{f}.legacy.wasm")])
        .chain(["abort.wasm".to_string()]);
    for name in fixtures {
        let bytes = support::fixture(&name);
        for js in [false, true] {
            for abort_guard in [true, false] {
                let options = Options::default().js(js).abort_guard(abort_guard);
                // The differential expects the guard's refusals, and JS mode imports what its
                // host does not provide.
                if let Err(bug) = check_case(&bytes, &options, !js && abort_guard) {
                    panic!("{name}, js {js}, abort guard {abort_guard}: {}", bug.what);
                }
            }
        }
    }
}

/// The helpers themselves: the Rust-like ABI and the legacy translation yield what the tool
/// detects, and the differential sees the stack pointer being restored.
#[test]
fn generators_produce_what_they_claim() {
    let mut rng = Rng::new(1);
    let mut rust_exnref = 0;
    let mut rust_legacy = 0;
    for _ in 0..200 {
        let data = rng.bytes(2000);
        let Some(m) = smith(&mut Unstructured::new(&data)).and_then(|m| add_rust_abi(&m)) else {
            continue;
        };
        let p = wasm_unwind::process(&m, &Options::default());
        if let Ok(p) = p {
            assert_eq!(
                p.report
                    .stack_pointer
                    .as_ref()
                    .and_then(|f| f.name.as_deref()),
                Some("__stack_pointer")
            );
            assert_eq!(
                p.report.unwind_tag.as_ref().and_then(|f| f.name.as_deref()),
                Some("__cpp_exception")
            );
            rust_exnref += 1;
            let diff = differential_of(&m, &p);
            let diff = diff.unwrap_or_else(|e| {
                let saved = robustness::campaign::save_failure(Kind::SmithExnrefRust, 0, &m);
                panic!("{e} ({})", saved.display())
            });
            match diff {
                Diff::Compared(_) | Diff::Inconclusive | Diff::NotRunnable => {}
                other => panic!("{other:?}"),
            }
        }
        if let Some(Ok(p)) = to_legacy(&m).map(|l| wasm_unwind::process(&l, &Options::default())) {
            assert_eq!(p.report.encoding, Some(Encoding::Legacy));
            rust_legacy += 1;
        }
    }
    assert!(
        rust_exnref >= 20 && rust_legacy >= 20,
        "{rust_exnref} exnref, {rust_legacy} legacy"
    );
}

/// The differential's table checks can fail: handed an output whose exported table the tool left
/// unwrapped (declared with an initialiser expression), with a report saying it is wrapped, it
/// sees a call through the table run after a trap. With the true report the same run passes.
#[test]
fn the_differential_sees_an_unguarded_table() {
    let wat = std::fs::read_to_string(
        support::repo().join("tests/regressions/exported-table.exnref.wat"),
    )
    .unwrap();
    let declared = r#"(table $t (export "table") 8 funcref)"#;
    assert!(wat.contains(declared));
    let changed = wat.replace(
        declared,
        r#"(table $t (export "table") 8 funcref (ref.null func))"#,
    );
    let input = wat::parse_str(changed).unwrap();
    let processed = wasm_unwind::process(&input, &Options::default()).unwrap();
    let table = &processed.report.tables[0];
    assert!(!table.wrapped && table.name == "table", "{table:?}");
    match differential_of(&input, &processed) {
        Ok(Diff::Compared(tally)) => assert!(tally.table_calls > 0, "{tally:?}"),
        other => panic!("{other:?}"),
    }
    let mut report = processed.report.clone();
    report.tables[0].wrapped = true;
    let claimed = Processed {
        wasm: processed.wasm,
        report,
    };
    let error = differential_of(&input, &claimed).unwrap_err();
    assert!(
        error.starts_with("table `table`[") && error.contains("after a trap: expected refusal"),
        "{error}"
    );
}

/// The host steps can fail. Handed the output of a module whose `call_indirect` goes through a
/// private copy of the table (what the host grows and writes is not seen: the split issue 19
/// found), they see the host's slot missing. Handed an output without the abort guard, with a
/// report that says it has one, they see an entry served after the trap. With the true output
/// the same steps pass, every one of them.
#[test]
fn the_host_steps_can_fail() {
    let case = add_odd_abi(
        &wat::parse_str("(module)").unwrap(),
        Abi::HostWrites,
        &mut Rng::new(0),
    )
    .unwrap();
    let input = case.wasm;
    let processed = wasm_unwind::process(&input, &Options::default()).unwrap();
    let (calls, callbacks, linked) = HOST_STEPS;
    match differential_of(&input, &processed) {
        Ok(Diff::Compared(t)) => assert_eq!(
            (t.host_calls, t.callbacks, t.linked),
            (calls, callbacks, linked)
        ),
        other => panic!("{other:?}"),
    }
    let text = wasmprinter::print_bytes(&input).unwrap();
    // The only table, printed without its name.
    let call = "call_indirect (type $rust_fn)";
    assert!(text.contains(call), "{text}");
    let private = format!(
        "{}\n (table $rust_private 3 funcref)\n (elem (table $rust_private) (i32.const 1) func $rust_plain $rust_throw))",
        text.replace(call, "call_indirect $rust_private (type $rust_fn)")
            .trim_end()
            .strip_suffix(')')
            .unwrap()
    );
    let split =
        wasm_unwind::process(&wat::parse_str(private).unwrap(), &Options::default()).unwrap();
    let error = differential(&input, &split.wasm, &processed.report).unwrap_err();
    assert!(error.starts_with("a slot the host grew"), "{error}");
    let unguarded = wasm_unwind::process(&input, &Options::default().abort_guard(false)).unwrap();
    let error = differential(&input, &unguarded.wasm, &processed.report).unwrap_err();
    assert!(
        error
            .starts_with("CallSlot(3, 3) after the trap: expected Trapped(UnreachableCodeReached)"),
        "{error}"
    );
}

/// The differential's global check can fail: handed an output whose wrappers restore global 0
/// (the tool was told it is the stack pointer), with a report saying there is no stack pointer,
/// it sees the counter "restored" when the panic escapes. With the true report it passes.
#[test]
fn the_differential_sees_another_global_restored() {
    let input = wat::parse_str(
        r#"(module
          (tag $t (param i32))
          (global $counter (export "counter") (mut i32) (i32.const 0))
          (func (export "bump")
            (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
            (throw $t (i32.const 8)))
          (func (export "caught") (result i32)
            (block (result i32) (try_table (catch $t 0) (throw $t (i32.const 1))) (i32.const 0))))"#,
    )
    .unwrap();
    let told = Options::default().stack_pointer("counter");
    let processed = wasm_unwind::process(&input, &told).unwrap();
    match differential_of(&input, &processed) {
        Ok(Diff::Compared(tally)) => assert!(tally.exceptions > 0, "{tally:?}"),
        other => panic!("{other:?}"),
    }
    let mut report = processed.report.clone();
    report.stack_pointer = None;
    let claimed = Processed {
        wasm: processed.wasm,
        report,
    };
    let error = differential_of(&input, &claimed).unwrap_err();
    assert!(
        error.starts_with("`bump` threw, and other globals changed"),
        "{error}"
    );
}

/// `ref.func` of an import in code, the import declared only by a global initializer or an
/// export: the guard's shim that replaces it must be declared too.
#[test]
fn regression_shim_ref_func_must_be_declared() {
    for wat in [
        r#"(module (import "env" "f" (func $f (result i32))) (global funcref (ref.func $f))
            (func (export "get") (result funcref) ref.func $f))"#,
        r#"(module (import "env" "f" (func $f (result i32))) (export "f" (func $f))
            (func (export "get") (result funcref) ref.func $f))"#,
    ] {
        match check_case(wat.as_bytes(), &Options::default(), true) {
            Ok(Outcome::Accepted { .. }) => {}
            other => panic!("{wat}\n{:?}", other.map_err(|b| b.what)),
        }
    }
}

/// `ref.func $f` in code, `$f` declared only by its own export: repointing the export to the
/// wrapper must not leave `$f` undeclared (the output then fails validation, and the tool, which
/// validates only what it changed, writes it anyway).
#[test]
fn regression_export_ref_func_must_stay_declared() {
    let wat = r#"(module (func $f (export "f")) (func (export "g") (result funcref) ref.func $f))"#;
    match check_case(wat.as_bytes(), &Options::default(), true) {
        Ok(Outcome::Accepted { .. }) => {}
        other => panic!("{:?}", other.map_err(|b| b.what)),
    }
}

/// Replays one input (`WASM_UNWIND_REPLAY=path`), printing each call on both sides.
#[test]
#[ignore]
fn replay() {
    let path = std::env::var("WASM_UNWIND_REPLAY").expect("WASM_UNWIND_REPLAY");
    robustness::replay(&std::fs::read(path).unwrap());
}
