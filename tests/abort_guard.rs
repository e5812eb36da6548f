//! Aborts are final: after any trap (every kind the fixtures raise) every later entry into the
//! instance is refused and `__wasm_unwind_state()` reports it, including re-entry from the host
//! while the trapped call is still on the host's stack; legitimate re-entry is allowed.
//!
//! One section an engine: Wasmtime (exnref) here, and the JS suite `tests/js/abort_guard.test.mjs`
//! in Node 20 (legacy) and Bun (both encodings). Browsers run the same JS suite in
//! `tests/browsers.rs`.

mod engines;

/// Wasmtime 48 (exnref).
mod wasmtime {
    use std::sync::OnceLock;
    use std::time::Instant;

    use ::wasmtime::{AsContextMut, Caller, Module, ThrownException, Trap, Val};
    use support::host::{self, Host, MemorySnapshot, Run, caller_func, compile, failure, process};
    use support::panics::{
        add, assert_rust_panic_pending, call_i32s, counter_inc, panics, panics_raw, throw_3x,
    };
    use support::{Failure, classify, fixture};
    use wasm_unwind::{Options, STATE_EXPORT, TAG_EXPORT};

    fn panics_no_guard() -> &'static Module {
        static M: OnceLock<Module> = OnceLock::new();
        M.get_or_init(|| {
            let options = Options::default().abort_guard(false);
            compile(&host::process_with(
                &fixture("panics.exnref.wasm"),
                &options,
            ))
        })
    }

    fn abort_processed() -> &'static Module {
        static M: OnceLock<Module> = OnceLock::new();
        M.get_or_init(|| compile(&host::process(&fixture("abort.wasm"))))
    }

    fn abort_raw() -> &'static Module {
        static M: OnceLock<Module> = OnceLock::new();
        M.get_or_init(|| compile(&fixture("abort.wasm")))
    }

    #[test]
    fn host_exception_through_a_nounwind_export_aborts_and_the_instance_is_refused() {
        let mut run = Run::new(panics());
        run.store.data_mut().nounwind_callback = throw_3x;
        assert_eq!(
            run.call::<(i32,), i32>("call_host_nounwind", (1,))
                .err()
                .map(|e| classify(&e)),
            Some(Failure::Trap(Trap::UnreachableCodeReached))
        );
        assert_eq!(run.store.data().nounwind_calls, 1);
        assert_eq!(run.state(), 1);
        assert_all_exports_refused(&mut run);
    }

    /// After the instance is terminated: every function export but the state query traps with
    /// `unreachable` (the guard's refusal, not the export's own behaviour), with arguments 1 and 0;
    /// no host import is called and linear memory stays byte-for-byte the same.
    fn assert_all_exports_refused(run: &mut Run) {
        assert_eq!(run.state(), 1);
        let snapshot = MemorySnapshot::take(run.memory());
        let (calls, nounwind_calls) = (run.store.data().calls, run.store.data().nounwind_calls);
        let exports = run.function_exports();
        assert!(exports.len() > 5, "too few exports: {exports:?}");
        for (name, _) in &exports {
            if name == STATE_EXPORT {
                continue;
            }
            for arg in [1, 0] {
                match run.call_dynamic(name, arg) {
                    Ok(v) => {
                        panic!("{name}({arg}) ran on a terminated instance and returned {v:?}")
                    }
                    Err(e) => assert_eq!(
                        classify(&e),
                        Failure::Trap(Trap::UnreachableCodeReached),
                        "{name}({arg}) was not refused by the guard: {e:?}"
                    ),
                }
                assert!(
                    !run.store.has_pending_exception(),
                    "{name}({arg}) left an exception"
                );
            }
        }
        let data = run.store.data();
        assert_eq!(
            (data.calls, data.nounwind_calls),
            (calls, nounwind_calls),
            "a refused call reached the host"
        );
        if let Some(difference) = snapshot.first_difference(run.memory()) {
            panic!("linear memory changed by refused calls: {difference}");
        }
        assert_eq!(run.state(), 1, "the terminated state must stay latched");
    }

    /// One trap kind on a fresh processed instance: the trap itself comes through with its own
    /// code, then the instance is terminated for good.
    fn trap_terminates_instance(name: &str, args: &[i32], expected: Trap) {
        let mut run = Run::new(panics());
        assert_eq!(counter_inc(&mut run), 1);
        assert_eq!(run.call::<(i32,), i32>("call_host", (1,)).unwrap(), 2);
        assert_eq!(run.state(), 0);
        let err = call_i32s(&mut run, name, args).expect_err("must trap");
        assert_eq!(
            classify(&err),
            Failure::Trap(expected),
            "{name}{args:?}: {err:?}"
        );
        assert!(!run.store.has_pending_exception());
        assert_eq!(run.state(), 1, "{name}: state after the trap");
        assert_all_exports_refused(&mut run);
    }

    #[test]
    fn guard_refuses_everything_after_abort_now() {
        trap_terminates_instance("abort_now", &[], Trap::UnreachableCodeReached);
    }

    #[test]
    fn guard_refuses_everything_after_panic_in_nounwind_function() {
        trap_terminates_instance("panic_nounwind", &[], Trap::UnreachableCodeReached);
    }

    #[test]
    fn guard_refuses_everything_after_panic_in_panic_hook() {
        trap_terminates_instance("panic_in_hook", &[], Trap::UnreachableCodeReached);
    }

    #[test]
    fn guard_refuses_everything_after_panic_while_unwinding() {
        trap_terminates_instance("panic_while_unwinding", &[], Trap::UnreachableCodeReached);
    }

    #[test]
    fn guard_refuses_everything_after_division_by_zero() {
        trap_terminates_instance("trap_div_zero", &[1, 0], Trap::IntegerDivisionByZero);
    }

    #[test]
    fn guard_refuses_everything_after_out_of_bounds_access() {
        trap_terminates_instance("trap_oob", &[], Trap::MemoryOutOfBounds);
    }

    #[test]
    fn guard_refuses_everything_after_stack_overflow() {
        trap_terminates_instance("trap_stack_overflow", &[1], Trap::StackOverflow);
    }

    #[test]
    fn guard_refuses_everything_after_out_of_memory() {
        trap_terminates_instance("trap_oom", &[], Trap::UnreachableCodeReached);
    }

    #[test]
    fn guard_refuses_everything_after_indirect_call_signature_mismatch() {
        trap_terminates_instance("trap_indirect_mismatch", &[], Trap::BadSignature);
    }

    /// What the guard fixes: the unprocessed module keeps running Rust code on the state a trap
    /// left behind.
    #[test]
    fn unprocessed_module_keeps_running_after_a_trap() {
        for (name, expected) in [
            ("abort_now", Trap::UnreachableCodeReached),
            ("trap_oob", Trap::MemoryOutOfBounds),
        ] {
            let mut run = Run::new(panics_raw());
            assert_eq!(counter_inc(&mut run), 1);
            assert_eq!(
                failure(call_i32s(&mut run, name, &[])),
                Failure::Trap(expected),
                "{name}"
            );
            assert_eq!(add(&mut run, 2, 3).unwrap(), 5, "after {name}");
            assert_eq!(counter_inc(&mut run), 2, "after {name}");
            assert_eq!(
                run.call::<(i32,), i32>("call_host", (1,)).unwrap(),
                2,
                "after {name}"
            );
            assert_eq!(run.store.data().calls, 1);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Re-entrancy

    /// Re-enters `export` (which traps), swallows the trap, tries one more re-entry (`add`), notes
    /// both outcomes in `Host::notes`, and returns normally.
    fn reenter_trap_and_swallow(
        caller: &mut Caller<'_, Host>,
        export: &str,
    ) -> wasmtime::Result<i32> {
        let func = caller_func(caller, export);
        let mut results: Vec<Val> = func.ty(&*caller).results().map(|_| Val::I32(0)).collect();
        let outcome = match func.call(&mut *caller, &[], &mut results) {
            Ok(()) => format!("{export}: returned"),
            Err(e) => format!("{export}: {:?}", classify(&e)),
        };
        caller.data_mut().notes.push(outcome);
        let add = caller_func(caller, "add");
        let mut result = [Val::I32(0)];
        let outcome = match add.call(&mut *caller, &[Val::I32(1), Val::I32(2)], &mut result) {
            Ok(()) => format!("add: returned {}", result[0].unwrap_i32()),
            Err(e) => format!("add: {:?}", classify(&e)),
        };
        caller.data_mut().notes.push(outcome);
        Ok(100)
    }

    fn reenter_abort_now(caller: &mut Caller<'_, Host>, _: i32) -> wasmtime::Result<i32> {
        reenter_trap_and_swallow(caller, "abort_now")
    }

    fn reenter_trap_oob(caller: &mut Caller<'_, Host>, _: i32) -> wasmtime::Result<i32> {
        reenter_trap_and_swallow(caller, "trap_oob")
    }

    fn nested_trap_stops_the_outer_call(callback: host::Callback, nested: &str) {
        let mut run = Run::new(panics());
        run.store.data_mut().callback = callback;
        let err = run
            .call::<(i32,), i32>("call_host_twice", (1,))
            .expect_err("outer call must fail");
        assert_eq!(
            classify(&err),
            Failure::Trap(Trap::UnreachableCodeReached),
            "{err:?}"
        );
        let host = run.store.data();
        assert_eq!(
            host.calls, 1,
            "host_callback called again after the nested trap (args {:?})",
            host.args
        );
        assert_eq!(host.args, [1]);
        assert_eq!(host.notes.len(), 2, "{:?}", host.notes);
        assert!(
            host.notes[0].starts_with(&format!("{nested}: Trap(")),
            "nested call: {:?}",
            host.notes
        );
        assert_eq!(
            host.notes[1], "add: Trap(UnreachableCodeReached)",
            "re-entry after the nested trap must be refused"
        );
        assert_eq!(run.state(), 1);
        assert_all_exports_refused(&mut run);
    }

    #[test]
    fn nested_abort_swallowed_by_host_stops_the_outer_call_before_its_second_host_call() {
        nested_trap_stops_the_outer_call(reenter_abort_now, "abort_now");
    }

    #[test]
    fn nested_out_of_bounds_swallowed_by_host_stops_the_outer_call_before_its_second_host_call() {
        nested_trap_stops_the_outer_call(reenter_trap_oob, "trap_oob");
    }

    #[test]
    fn nested_trap_propagated_by_host_terminates_the_instance() {
        fn propagate(caller: &mut Caller<'_, Host>, _: i32) -> wasmtime::Result<i32> {
            let f = caller_func(caller, "abort_now");
            f.call(&mut *caller, &[], &mut [])?;
            Ok(0)
        }
        let mut run = Run::new(panics());
        run.store.data_mut().callback = propagate;
        let err = run
            .call::<(i32,), i32>("call_host_twice", (1,))
            .expect_err("outer call must fail");
        assert_eq!(
            classify(&err),
            Failure::Trap(Trap::UnreachableCodeReached),
            "{err:?}"
        );
        assert_eq!(run.store.data().calls, 1);
        assert_eq!(run.state(), 1);
        assert_all_exports_refused(&mut run);
    }

    fn reenter_counter_inc(caller: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
        let f = caller_func(caller, "counter_inc").typed::<(), u32>(&*caller)?;
        f.call(&mut *caller, ())?;
        Ok(x * 10)
    }

    #[test]
    fn legitimate_reentry_is_allowed_by_the_guard() {
        let mut run = Run::new(panics());
        let sp0 = run.stack_pointer();
        run.store.data_mut().callback = reenter_counter_inc;
        assert_eq!(
            run.call::<(i32,), i32>("call_host_twice", (4,)).unwrap(),
            40 + 50
        );
        assert_eq!(run.store.data().calls, 2);
        assert_eq!(run.store.data().args, [4, 5]);
        assert_eq!(
            run.call::<(), u32>("counter_get", ()).unwrap(),
            3,
            "two re-entries and one counter_inc of its own"
        );
        assert_eq!(run.state(), 0);
        assert_eq!(run.stack_pointer(), sp0);
        assert_eq!(
            run.call::<(i32,), i32>("call_host_twice", (1,)).unwrap(),
            10 + 20
        );
        assert_eq!(run.store.data().calls, 4);
    }

    /// Re-enters `panic_fmt(13)`, checks it failed with an exception, takes it, returns `x`.
    fn reenter_panic_and_catch(caller: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
        let f = caller_func(caller, "panic_fmt").typed::<(i32,), i32>(&*caller)?;
        match f.call(&mut *caller, (13,)) {
            Ok(v) => panic!("panic_fmt(13) returned {v}"),
            Err(e) => assert_eq!(classify(&e), Failure::Exception, "{e:?}"),
        }
        let exn = caller.as_context_mut().take_pending_exception();
        assert!(exn.is_some(), "no pending exception after the nested panic");
        Ok(x)
    }

    #[test]
    fn nested_panic_caught_by_the_host_keeps_the_instance_live() {
        let mut run = Run::new(panics());
        let sp0 = run.stack_pointer();
        run.store.data_mut().callback = reenter_panic_and_catch;
        assert_eq!(
            run.call::<(i32,), i32>("call_host_twice", (4,)).unwrap(),
            4 + 5
        );
        assert_eq!(run.store.data().calls, 2);
        assert_eq!(run.state(), 0);
        assert_eq!(run.stack_pointer(), sp0);
        assert_eq!(run.call::<(), u32>("counter_get", ()).unwrap(), 1);
    }

    // ---------------------------------------------------------------------------------------------
    // Balance

    /// The callback's behaviour is chosen by its argument, `x & 3`:
    /// 0 re-enter `counter_inc`; 1 re-enter `panic_fmt(13)` and catch it; 2 throw a host
    /// exception with payload `x`; 3 return.
    fn mixed_callback(caller: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
        match x & 3 {
            0 => reenter_counter_inc(caller, x).map(|_| x),
            1 => reenter_panic_and_catch(caller, x),
            2 => host::throw_host_exception(caller, x),
            _ => Ok(x),
        }
    }

    #[test]
    fn mixed_calls_panics_and_reentry_never_terminate_the_instance() {
        const N: u32 = 100_000;
        let mut run = Run::new(panics());
        let sp0 = run.stack_pointer();
        run.store.data_mut().callback = mixed_callback;
        let add = run.typed::<(i32, i32), i32>("add");
        let panic_fmt = run.typed::<(i32,), i32>("panic_fmt");
        let call_host = run.typed::<(i32,), i32>("call_host");
        let state = run.typed::<(), i32>(STATE_EXPORT);

        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut counter, mut host_calls) = (0u32, 0u32);
        let mut seen = [0u32; 7];
        let start = Instant::now();
        for i in 0..N {
            let r = next();
            let a = (r >> 8) as i32 & 0xffff;
            match r % 6 {
                0 => {
                    seen[0] += 1;
                    assert_eq!(add.call(&mut run.store, (a, 7)).unwrap(), a + 7, "call {i}");
                }
                1 => {
                    seen[1] += 1;
                    let err = panic_fmt.call(&mut run.store, (13,)).expect_err("panic");
                    assert!(err.is::<ThrownException>(), "call {i}: {err:?}");
                }
                2 => {
                    seen[2] += 1;
                    let n = if a == 13 { 14 } else { a };
                    assert_eq!(
                        panic_fmt.call(&mut run.store, (n,)).unwrap(),
                        n * 2,
                        "call {i}"
                    );
                }
                _ => {
                    let x = a;
                    let mode = (x & 3) as usize;
                    seen[3 + mode] += 1;
                    counter += 1 + u32::from(mode == 0);
                    host_calls += 1;
                    let result = call_host.call(&mut run.store, (x,));
                    if mode == 2 {
                        let err = result.expect_err("host exception");
                        assert!(err.is::<ThrownException>(), "call {i}: {err:?}");
                        let (tag, value) = run.take_exception().unwrap();
                        assert!(
                            run.same_tag(&tag, &run.host_tag()) && value == x,
                            "call {i}: wrong exception"
                        );
                    } else {
                        assert_eq!(result.unwrap(), x + 1, "call {i} (mode {mode})");
                    }
                }
            }
            if i % 1000 == 0 {
                assert_eq!(
                    state.call(&mut run.store, ()).unwrap(),
                    0,
                    "terminated by call {i}"
                );
            }
        }
        eprintln!("{N} mixed calls in {:?}: {seen:?}", start.elapsed());
        assert!(
            seen.iter().all(|&n| n > 1000),
            "every kind of call ran: {seen:?}"
        );
        assert_eq!(run.state(), 0);
        assert_eq!(run.store.data().calls, host_calls);
        assert_eq!(run.call::<(), u32>("counter_get", ()).unwrap(), counter);
        assert_eq!(run.stack_pointer(), sp0);
        assert_eq!(add.call(&mut run.store, (1, 2)).unwrap(), 3);
    }

    // ---------------------------------------------------------------------------------------------
    // panic=abort module and the opt-out

    #[test]
    fn abort_module_processed_refuses_everything_after_panic() {
        let mut run = Run::new(abort_processed());
        assert!(
            run.tag_export(TAG_EXPORT).is_none(),
            "no EH in abort.wasm, so no tag to export"
        );
        assert_eq!(run.state(), 0);
        assert_eq!(run.call::<(i32,), i32>("call_host", (41,)).unwrap(), 42);
        assert_eq!(run.store.data().calls, 1);
        assert_eq!(add(&mut run, 2, 3).unwrap(), 5);
        assert_eq!(counter_inc(&mut run), 2, "call_host counted once");
        assert_eq!(
            failure(call_i32s(&mut run, "panic_now", &[])),
            Failure::Trap(Trap::UnreachableCodeReached)
        );
        assert_eq!(run.state(), 1);
        assert_all_exports_refused(&mut run);
    }

    #[test]
    fn abort_module_unprocessed_keeps_running_after_panic() {
        let mut run = Run::new(abort_raw());
        assert_eq!(
            failure(call_i32s(&mut run, "panic_now", &[])),
            Failure::Trap(Trap::UnreachableCodeReached)
        );
        assert_eq!(add(&mut run, 2, 3).unwrap(), 5);
        assert_eq!(counter_inc(&mut run), 1);
    }

    #[test]
    fn without_abort_guard_calls_still_run_after_a_trap_but_panics_are_contained() {
        let mut run = Run::new(panics_no_guard());
        assert!(
            run.func(STATE_EXPORT).is_none(),
            "no {STATE_EXPORT} export without the guard"
        );
        let rust_tag = run.tag_export(TAG_EXPORT).expect("tag still exported");
        let sp0 = run.stack_pointer();
        assert_eq!(
            failure(call_i32s(&mut run, "panic_fmt", &[13])),
            Failure::Exception
        );
        assert_rust_panic_pending(&mut run, Some(&rust_tag), "panic_fmt(13)");
        assert_eq!(
            run.stack_pointer(),
            sp0,
            "wrappers still restore the stack pointer"
        );
        assert_eq!(
            failure(call_i32s(&mut run, "abort_now", &[])),
            Failure::Trap(Trap::UnreachableCodeReached)
        );
        assert_eq!(
            add(&mut run, 2, 3).unwrap(),
            5,
            "documented opt-out: calls still run after a trap"
        );
        assert_eq!(counter_inc(&mut run), 1);
        assert_eq!(run.call::<(i32,), i32>("call_host", (1,)).unwrap(), 2);
    }

    /// An import taken through a global's `ref.func` goes through the guard like any call site:
    /// `via_global` calls `env.host_callback` with `call_ref` on a global initialised to it; the
    /// host re-enters `abort_now` (which traps, and the host swallows it) and returns normally.
    const IMPORT_IN_A_GLOBAL: &str = r#"
(module
  (type $cb (func (param i32) (result i32)))
  (import "env" "host_callback" (func $host (type $cb)))
  (global $__stack_pointer (mut i32) (i32.const 1024))
  (global $callback (ref null $cb) (ref.func $host))
  (memory (export "memory") 1)
  (func (export "via_global") (param i32) (result i32)
    local.get 0
    global.get $callback
    call_ref $cb
    i32.const 1
    i32.add)
  (func (export "abort_now") unreachable)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
"#;

    #[test]
    fn a_trap_under_an_import_called_through_a_global_stops_the_caller() {
        let module = compile(&process(IMPORT_IN_A_GLOBAL.as_bytes()));
        let mut run = Run::new(&module);
        assert_eq!(run.call::<(i32,), i32>("via_global", (1,)).unwrap(), 2);
        run.store.data_mut().callback = reenter_abort_now;
        let failure = failure(run.call::<(i32,), i32>("via_global", (1,)));
        assert_eq!(failure, Failure::Trap(Trap::UnreachableCodeReached));
        assert_eq!(
            run.store.data().notes[0],
            "abort_now: Trap(UnreachableCodeReached)"
        );
        assert_eq!(run.state(), 1);
    }
}

/// `tests/js/abort_guard.test.mjs` in JS engines.
mod js {
    use crate::engines::{bun, node};
    use wasm_unwind::Encoding;

    #[test]
    fn node_20_legacy() {
        node::run_suite("abort_guard.test.mjs");
    }

    #[test]
    fn bun_exnref() {
        bun::run_suite("abort_guard.test.mjs", Encoding::Exnref);
    }

    #[test]
    fn bun_legacy() {
        bun::run_suite("abort_guard.test.mjs", Encoding::Legacy);
    }
}
