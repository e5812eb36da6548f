//! Host entries through function tables (issue 10 item 1; one table, issue 19), in Wasmtime (exnref).
//!
//! A host can call any function held in an exported funcref table (`Table::get` + `Func::call`).
//! Such calls must be contained and guarded exactly like exports, while the module's own
//! `call_indirect` through the same table is never refused, and sees what the host or another
//! module wrote into the table. Inputs: `tests/regressions/exported-table.*.wat` (slots listed there),
//! `mutated-table.wat`, `imported-table.wat`, `table-import-entry-after-trap.wat`. The legacy encoding runs in Deno
//! (`tests/js/entries.test.mjs`, driven by `deno_both_encodings` below).

mod engines;

use support::Failure;
use support::host::{Host, Run, compile, failure, process};
use wasmtime::{Caller, Func, Trap};

const ADD1: u64 = 1;
const TRAP: u64 = 2;
const PANIC: u64 = 3;
const BUMP: u64 = 4;
const CALL_HOST: u64 = 5;
const REENTER: u64 = 6;

use support::regression_path as regression;

fn exported_table_raw() -> Vec<u8> {
    wat::parse_file(regression("exported-table.exnref.wat")).expect("regression input parses")
}

fn exported_table(processed: bool) -> Run {
    let raw = exported_table_raw();
    let bytes = if processed { process(&raw) } else { raw };
    Run::new(&compile(&bytes))
}

/// The function in slot `slot` of the exported table, as a host sees it.
fn entry(run: &mut Run, slot: u64) -> Func {
    let table = run
        .instance
        .get_table(&mut run.store, "table")
        .expect("table export");
    let value = table.get(&mut run.store, slot).expect("slot in bounds");
    *value
        .as_func()
        .expect("a funcref table")
        .expect("slot is filled")
}

/// Calls slot `slot` of the exported table from the host.
fn call_entry(run: &mut Run, slot: u64, x: i32) -> wasmtime::Result<i32> {
    let f = entry(run, slot).typed::<i32, i32>(&run.store)?;
    f.call(&mut run.store, x)
}

fn global(run: &mut Run, name: &str) -> i32 {
    run.instance
        .get_global(&mut run.store, name)
        .unwrap_or_else(|| panic!("global export {name}"))
        .get(&mut run.store)
        .unwrap_i32()
}

fn stack_pointer(run: &mut Run) -> i32 {
    global(run, "stack_pointer_global")
}

#[test]
fn a_trap_through_the_exported_table_ends_the_instance() {
    let mut run = exported_table(true);
    assert_eq!(call_entry(&mut run, ADD1, 1).unwrap(), 2);
    assert_eq!(
        failure(call_entry(&mut run, TRAP, 0)),
        Failure::Trap(Trap::UnreachableCodeReached)
    );
    assert_eq!(run.state(), 1, "the trap through the table went unnoticed");
    assert!(
        run.call::<i32, i32>("add1", 1).is_err(),
        "export ran after the trap"
    );
    assert!(
        call_entry(&mut run, ADD1, 1).is_err(),
        "table entry ran after the trap"
    );
}

#[test]
fn after_an_abort_nothing_through_the_table_runs() {
    let mut run = exported_table(true);
    assert!(run.call::<i32, i32>("trap", 0).is_err());
    assert_eq!(
        failure(call_entry(&mut run, BUMP, 5)),
        Failure::Trap(Trap::UnreachableCodeReached)
    );
    assert_eq!(global(&mut run, "count"), 0, "bump ran after the abort");
    assert!(call_entry(&mut run, CALL_HOST, 3).is_err());
    assert_eq!(
        run.store.data().calls,
        0,
        "a host import ran after the abort"
    );
    assert_eq!(run.state(), 1);
}

thread_local! {
    /// The instance's `bump`, for a callback that the host calls directly (its `Caller` then
    /// sees no instance to look exports up in).
    static BUMP_FUNC: std::cell::Cell<Option<Func>> = const { std::cell::Cell::new(None) };
}

/// The callback of `table-import-entry-after-trap.wat`: back into the instance through `bump`.
fn call_bump(caller: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
    let bump = BUMP_FUNC.get().expect("the test sets BUMP_FUNC");
    bump.typed::<i32, i32>(&*caller)?.call(&mut *caller, x)
}

#[test]
fn after_an_abort_an_import_called_through_the_table_cannot_call_back_in() {
    let wasm = wat::parse_file(regression("table-import-entry-after-trap.wat"))
        .expect("regression input parses");
    let mut run = Run::new(&compile(&process(&wasm)));
    BUMP_FUNC.set(run.func("bump"));
    run.store.data_mut().callback = call_bump;
    // Before the abort, the import in slot 0 calls back into `bump` as it should.
    assert_eq!(call_entry(&mut run, 0, 7).unwrap(), 1);
    assert!(run.call::<(), ()>("trap", ()).is_err());
    assert!(
        call_entry(&mut run, 0, 7).is_err(),
        "the callback was refused"
    );
    assert_eq!(global(&mut run, "count"), 1, "bump ran after the abort");
    assert_eq!(run.state(), 1);
}

#[test]
fn a_panic_through_the_table_restores_the_stack_pointer_and_the_instance_serves_on() {
    let mut run = exported_table(true);
    let before = stack_pointer(&mut run);
    for i in 0..100 {
        assert_eq!(failure(call_entry(&mut run, PANIC, i)), Failure::Exception);
        let (_, payload) = run.take_exception().expect("the Rust exception");
        assert_eq!(payload, i, "the very same exception reaches the host");
        assert_eq!(stack_pointer(&mut run), before, "after panic {i}");
    }
    assert_eq!(run.state(), 0);
    assert_eq!(call_entry(&mut run, ADD1, 41).unwrap(), 42);
    assert_eq!(run.call::<i32, i32>("add1", 1).unwrap(), 2);
}

/// Re-enters through the exported table from inside an import: a legitimate host entry.
fn reenter_slot_1(caller: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
    let Some(wasmtime::Extern::Table(table)) = caller.get_export("table") else {
        panic!("table export");
    };
    let f = table.get(&mut *caller, ADD1).unwrap();
    let f = f.as_func().unwrap().unwrap().typed::<i32, i32>(&*caller)?;
    Ok(f.call(&mut *caller, x)? * 100)
}

/// What the module's own `call_indirect` gives, in one instance, as a list.
fn internal_calls(processed: bool) -> Vec<i32> {
    let mut run = exported_table(processed);
    run.store.data_mut().callback = reenter_slot_1;
    let sp = stack_pointer(&mut run);
    let mut seen = Vec::new();
    let mut dispatch = |run: &mut Run, export: &str, slot: i32, x: i32| {
        let result = run.call::<(i32, i32), i32>(export, (slot, x));
        seen.push(result.unwrap_or_else(|e| panic!("{export}({slot}, {x}) refused: {e:?}")));
    };
    dispatch(&mut run, "dispatch", ADD1 as i32, 41);
    dispatch(&mut run, "dispatch", BUMP as i32, 2);
    dispatch(&mut run, "dispatch", BUMP as i32, 3);
    dispatch(&mut run, "dispatch", REENTER as i32, 9);
    dispatch(&mut run, "dispatch", CALL_HOST as i32, 4);
    dispatch(&mut run, "catch_dispatch", PANIC as i32, 1);
    dispatch(&mut run, "catch_dispatch", REENTER as i32, 5);
    for _ in 0..1000 {
        dispatch(&mut run, "catch_dispatch", PANIC as i32, 1);
    }
    seen.push(stack_pointer(&mut run) - sp);
    seen.push(global(&mut run, "count"));
    if processed {
        seen.push(run.state());
    }
    seen
}

#[test]
fn internal_indirect_calls_give_the_same_results_and_are_never_refused() {
    let raw = internal_calls(false);
    let mut processed = internal_calls(true);
    assert_eq!(processed.pop(), Some(0), "the instance is live at the end");
    assert_eq!(processed, raw);
    assert_eq!(&raw[..7], &[42, 2, 5, 10, 500, -1, 6]);
}

/// Decision (README, "Function tables"): a funcref the module itself hands to the host as a
/// value is the original function, exactly as before. The module's own references must keep
/// reaching the original (a guarded wrapper would refuse an internal `call_ref` made while Rust
/// runs), and the module cannot tell where a value it passes on ends up. So such a funcref is
/// not an entry point the tool guards: it still runs after an abort.
#[test]
fn a_funcref_the_module_hands_out_is_the_original_function() {
    let mut run = exported_table(true);
    let f = run
        .call::<(), Option<Func>>("add1_ref", ())
        .unwrap()
        .expect("a function");
    let f = f.typed::<i32, i32>(&run.store).unwrap();
    assert_eq!(f.call(&mut run.store, 1).unwrap(), 2);
    assert!(run.call::<i32, i32>("trap", 0).is_err());
    assert_eq!(run.state(), 1);
    assert_eq!(
        f.call(&mut run.store, 1).unwrap(),
        2,
        "the handed-out funcref is unguarded, as documented"
    );
}

// ---------------------------------------------------------------------------------------------
// One table: what the host writes, the module sees; a host function in a slot may call back in.

/// `host-written-table.wat`, unprocessed or processed, with the host's function (`x + 1000`,
/// after calling back into `result(2x)`) written into a slot it grew the table by, as
/// Emscripten's `addFunction` does. Returns the run and the slot.
fn host_written_table(processed: bool) -> (Run, u64) {
    let raw =
        wat::parse_file(regression("host-written-table.wat")).expect("regression input parses");
    let bytes = if processed { process(&raw) } else { raw };
    let mut run = Run::new(&compile(&bytes));
    let ty = wasmtime::FuncType::new(
        run.store.engine(),
        [wasmtime::ValType::I32],
        [wasmtime::ValType::I32],
    );
    let result = run.func("result").expect("result export");
    let callback = Func::new(&mut run.store, ty, move |mut caller, args, out| {
        let x = args[0].unwrap_i32();
        let mut back = [wasmtime::Val::I32(0)];
        result.call(&mut caller, &[wasmtime::Val::I32(2 * x)], &mut back)?;
        out[0] = wasmtime::Val::I32(x + 1000);
        Ok(())
    });
    let table = run
        .instance
        .get_table(&mut run.store, "table")
        .expect("table export");
    let slot = table
        .grow(&mut run.store, 1, wasmtime::Ref::Func(Some(callback)))
        .expect("the table grows");
    (run, slot)
}

/// What the module computes through a table the host wrote, as a list.
fn through_host_written_slots(processed: bool) -> Vec<i32> {
    let (mut run, slot) = host_written_table(processed);
    let slot = slot as i32;
    let mut seen = Vec::new();
    for (export, slot, x) in [
        ("dispatch", 1, 41),
        ("dispatch", slot, 5),
        ("tail_dispatch", slot, 7),
        ("dispatch", slot, 9),
    ] {
        let result = run.call::<(i32, i32), i32>(export, (slot, x));
        seen.push(result.unwrap_or_else(|e| panic!("{export}({slot}, {x}): {e:?}")));
        seen.push(global(&mut run, "last"));
    }
    if processed {
        seen.push(run.state());
    }
    seen
}

#[test]
fn the_module_calls_what_the_host_wrote_into_its_table_and_the_callback_is_served() {
    let raw = through_host_written_slots(false);
    let mut processed = through_host_written_slots(true);
    assert_eq!(processed.pop(), Some(0), "the instance is live at the end");
    assert_eq!(processed, raw);
    assert_eq!(raw, [42, 0, 1005, 10, 1007, 14, 1009, 18]);
}

#[test]
fn a_call_through_an_empty_or_missing_slot_traps_as_before_and_ends_the_instance() {
    for (slot, trap) in [
        (0, Trap::IndirectCallToNull),
        (99, Trap::TableOutOfBounds),
        (2, Trap::UnreachableCodeReached),
    ] {
        for processed in [false, true] {
            let (mut run, _) = host_written_table(processed);
            let result = run.call::<(i32, i32), i32>("dispatch", (slot, 1));
            assert_eq!(failure(result), Failure::Trap(trap), "slot {slot}");
            if processed {
                assert_eq!(run.state(), 1, "slot {slot}: the trap went unnoticed");
                assert!(run.call::<i32, i32>("result", 1).is_err(), "slot {slot}");
                assert_eq!(global(&mut run, "last"), 0);
            }
        }
    }
}

/// The spec suite's `linking.wast` shape: module B writes its function into module A's exported
/// table through an element segment; A's own `call_indirect` must reach it. Each is processed on
/// its own. A trap in B's function ends B; A cannot see it (README "Limits") and serves on.
#[test]
fn another_module_writes_the_table_through_its_element_segment() {
    let a = process(
        &wat::parse_str(
            r#"(module
            (type $ii (func (param i32) (result i32)))
            (table $t (export "table") 4 funcref)
            (func (export "dispatch") (param $slot i32) (param $x i32) (result i32)
                (call_indirect (type $ii) (local.get $x) (local.get $slot))))"#,
        )
        .unwrap(),
    );
    let b = process(
        &wat::parse_str(
            r#"(module
            (type $ii (func (param i32) (result i32)))
            (import "a" "table" (table 4 funcref))
            (elem (i32.const 2) func $times3 $trap)
            (func $times3 (type $ii) (i32.mul (local.get 0) (i32.const 3)))
            (func $trap (type $ii) unreachable)
            (func (export "noop")))"#,
        )
        .unwrap(),
    );
    let mut store = support::host::store(support::host::engine());
    let mut linker = support::host::linker(support::host::engine());
    let a = linker.instantiate(&mut store, &compile(&a)).unwrap();
    linker.instance(&mut store, "a", a).unwrap();
    let b = linker.instantiate(&mut store, &compile(&b)).unwrap();
    let dispatch = a
        .get_typed_func::<(i32, i32), i32>(&mut store, "dispatch")
        .unwrap();
    assert_eq!(dispatch.call(&mut store, (2, 14)).unwrap(), 42);
    assert!(dispatch.call(&mut store, (3, 1)).is_err());
    let state = |store: &mut wasmtime::Store<Host>, instance: wasmtime::Instance| {
        let state = instance.get_typed_func::<(), i32>(&mut *store, "__wasm_unwind_state");
        state.unwrap().call(store, ()).unwrap()
    };
    assert_eq!(
        state(&mut store, b),
        1,
        "b's own guard saw the trap in its function"
    );
    assert_eq!(
        state(&mut store, a),
        0,
        "a cannot see a trap in b's function"
    );
    let noop = b.get_typed_func::<(), ()>(&mut store, "noop").unwrap();
    assert!(noop.call(&mut store, ()).is_err(), "b is terminated");
    assert!(
        dispatch.call(&mut store, (2, 5)).is_err(),
        "b's function is refused: b is terminated"
    );
}

// ---------------------------------------------------------------------------------------------
// Tables the tool cannot cover: said in one line, in the summary and in `inspect`.

fn cli(args: &[&str]) -> (bool, String, String) {
    let output = support::wasm_unwind!().run(args, None);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The summary's and `inspect`'s lines about tables (`table `name`: …`).
fn table_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains("table `")).collect()
}

/// Processes `input` and inspects it: the table lines of the summary and of `inspect`.
fn table_report(input: &str) -> (Vec<String>, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wasm");
    let input = regression(input);
    let (ok, _, stderr) = cli(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let (ok, stdout, inspect_err) = cli(&["inspect", input.to_str().unwrap()]);
    assert!(ok, "{inspect_err}");
    let owned = |lines: Vec<&str>| lines.into_iter().map(String::from).collect();
    (owned(table_lines(&stderr)), owned(table_lines(&stdout)))
}

#[test]
fn a_table_the_module_writes_is_wrapped_and_the_summary_says_its_own_stores_are_not() {
    let (summary, inspect) = table_report("mutated-table.wat");
    let stores: Vec<_> = summary
        .iter()
        .filter(|l| l.contains("not wrapped"))
        .collect();
    assert_eq!(stores.len(), 1, "{summary:?}");
    assert!(stores[0].contains("table.set"), "{summary:?}");
    assert!(
        inspect.iter().all(|l| !l.contains("unguarded:")),
        "{inspect:?}"
    );
}

#[test]
fn an_imported_table_gets_the_wrappers_of_what_the_module_puts_there() {
    let (summary, inspect) = table_report("imported-table.wat");
    assert_eq!(
        summary,
        ["wasm-unwind: table `env.table`: 1 entries, wrapped"]
    );
    assert!(
        inspect.iter().all(|l| !l.contains("unguarded:")),
        "{inspect:?}"
    );
}

#[test]
fn inspect_counts_the_wrapped_table_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wasm");
    let input = regression("exported-table.exnref.wat");
    let (ok, _, stderr) = cli(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    for file in [&input, &out] {
        let (ok, stdout, stderr) = cli(&["inspect", file.to_str().unwrap()]);
        assert!(ok, "{stderr}");
        let line = stdout
            .lines()
            .find(|l| l.contains("table") && l.contains("6 entries"))
            .unwrap_or_else(|| panic!("no table line in:\n{stdout}"));
        let wrapped = file == &out;
        assert_eq!(line.contains("wrapped"), wrapped, "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// Deno, both encodings (the legacy one cannot run in Wasmtime).

#[test]
fn deno_both_encodings() {
    let tmp = tempfile::tempdir().unwrap();
    for encoding in ["exnref", "legacy"] {
        let raw = wat::parse_file(regression(&format!("exported-table.{encoding}.wat"))).unwrap();
        std::fs::write(tmp.path().join(format!("{encoding}.raw.wasm")), &raw).unwrap();
        let processed = process(&raw);
        std::fs::write(tmp.path().join(format!("{encoding}.wasm")), processed).unwrap();
    }
    let output = engines::deno_run()
        .arg(engines::repo().join("tests/js/entries.test.mjs"))
        .arg(tmp.path())
        .output()
        .expect("run deno");
    let stderr = String::from_utf8_lossy(&output.stderr);
    engines::say(&String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "deno failed:\n{stderr}");
}

/// wasm-bindgen's abort flow played by hand (issue 11; the real glue runs in tests/bindgen.rs):
/// after a trap its glue sets its flag and calls the abort hook through the exported table; the
/// hook must run (and schedule the reinit through its import) even when the host asked
/// `__wasm_unwind_state()` first, nothing else may run, and the two flags must agree.
#[test]
fn deno_wasm_bindgen_abort_hook_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = wat::parse_file(regression("bindgen-abort-hook.wat")).unwrap();
    let processed = wasm_unwind::process(&raw, &wasm_unwind::Options::default()).unwrap();
    let table = &processed.report.tables;
    assert!(table.len() == 1 && table[0].wrapped, "{table:?}");
    let file = tmp.path().join("hook.wasm");
    std::fs::write(&file, processed.wasm).unwrap();
    let output = engines::deno_run()
        .arg(engines::repo().join("tests/js/bindgen_hook.test.mjs"))
        .arg(&file)
        .output()
        .expect("run deno");
    engines::say(&String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "deno failed:\n{stderr}");
}
