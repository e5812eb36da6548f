//! Panics are contained: a panic leaves an export as an ordinary exception, with the shadow
//! stack pointer back where it was and the instance's state kept, however many panics escape;
//! host exceptions pass through unchanged; with the runtime crate, every panic is freed.
//!
//! One section an engine: Wasmtime (exnref) here, and the JS suite `tests/js/contain.test.mjs`
//! in Node 20 (legacy) and Bun (both encodings). Browsers run the same JS suite in
//! `tests/browsers.rs`.

mod engines;

/// Wasmtime 48 (exnref; `fixtures/wasm/panics.legacy.wasm` is not used: Wasmtime does not run
/// legacy EH).
mod wasmtime {
    use std::sync::OnceLock;
    use std::time::Instant;

    use ::wasmtime::{Caller, Module, ThrownException};
    use support::host::{self, Host, Run, compile, failure, process};
    use support::panics::{
        add, assert_rust_panic_pending, call_i32s, counter_inc, panics, panics_raw, throw_3x,
    };
    use support::{Failure, classify, fixture};
    use wasm_unwind::{STATE_EXPORT, TAG_EXPORT};

    /// [`panics`] for the engine without backtraces.
    fn panics_fast() -> &'static Module {
        static M: OnceLock<Module> = OnceLock::new();
        M.get_or_init(|| {
            host::compile_for(
                host::fast_engine(),
                &host::process(&fixture("panics.exnref.wasm")),
            )
        })
    }

    #[test]
    fn panics_reach_host_as_rust_exceptions_with_stack_pointer_restored_and_state_kept() {
        let mut run = Run::new(panics());
        let rust_tag = run
            .tag_export(TAG_EXPORT)
            .expect("processed module exports the Rust tag");
        let sp0 = run.stack_pointer();
        assert_eq!(add(&mut run, 2, 3).unwrap(), 5);
        assert_eq!(call_i32s(&mut run, "panic_fmt", &[4]).unwrap(), [8]);
        assert_eq!(call_i32s(&mut run, "panic_in_iter", &[-1]).unwrap(), [4950]);
        let mut counter = counter_inc(&mut run);
        assert_eq!(counter, 1);

        let cases: [(&str, &[i32], u32); 4] = [
            ("panic_fmt", &[13], 0),
            ("panic_static", &[], 0),
            ("panic_recurse_drop", &[50], 50),
            ("panic_in_iter", &[7], 0),
        ];
        for round in 0..2 {
            for &(name, args, drops) in &cases {
                let what = format!("{name}{args:?} (round {round})");
                let drops_before = run.call::<(), u32>("drops_get", ()).unwrap();
                let err = call_i32s(&mut run, name, args).expect_err(&what);
                assert_eq!(classify(&err), Failure::Exception, "{what}: {err:?}");
                assert_eq!(
                    err.root_cause().to_string(),
                    "thrown Wasm exception",
                    "{what}: {err:?}"
                );
                assert_rust_panic_pending(&mut run, Some(&rust_tag), &what);
                assert_eq!(
                    run.stack_pointer(),
                    sp0,
                    "{what}: stack pointer not restored"
                );
                assert_eq!(
                    run.call::<(), u32>("drops_get", ()).unwrap() - drops_before,
                    drops,
                    "{what}: Drop count"
                );
                let next = counter_inc(&mut run);
                assert_eq!(next, counter + 1, "{what}: counter state lost");
                counter = next;
                assert_eq!(
                    run.state(),
                    0,
                    "{what}: a panic must not terminate the instance"
                );
            }
        }
        assert_eq!(run.call::<(), u32>("counter_get", ()).unwrap(), counter);
        assert_eq!(add(&mut run, 40, 2).unwrap(), 42);
    }

    #[test]
    fn a_million_panics_in_one_instance_keep_the_stack_pointer_balanced() {
        const N: u32 = 1_000_000;
        let mut run = Run::new(panics_fast());
        let rust_tag = run.tag_export(TAG_EXPORT).unwrap();
        let sp0 = run.stack_pointer();
        let memory_before = run.memory().len();
        let panic_fmt = run.typed::<(i32,), i32>("panic_fmt");
        let stack_pointer = run.typed::<(), i32>("stack_pointer");

        let start = Instant::now();
        for i in 0..N {
            match panic_fmt.call(&mut run.store, (13,)) {
                Ok(v) => panic!("panic {i}: panic_fmt(13) returned {v}"),
                Err(e) if e.is::<ThrownException>() => {}
                Err(e) => panic!("panic {i}: not an exception: {e:?}"),
            }
            if i % 10_000 == 0 {
                assert_rust_panic_pending(&mut run, Some(&rust_tag), &format!("panic {i}"));
            }
            let sp = stack_pointer.call(&mut run.store, ()).unwrap();
            assert_eq!(sp, sp0, "stack pointer moved after panic {i}");
        }
        let elapsed = start.elapsed();
        eprintln!(
            "{N} panics: {elapsed:?} ({:.2} µs a panic + stack_pointer call); memory {memory_before} -> {} bytes",
            elapsed.as_secs_f64() * 1e6 / f64::from(N),
            run.memory().len()
        );

        assert_eq!(run.state(), 0);
        assert_eq!(add(&mut run, 20, 22).unwrap(), 42);
        assert_eq!(panic_fmt.call(&mut run.store, (21,)).unwrap(), 42);
        assert_eq!(counter_inc(&mut run), 1);
        assert_eq!(run.stack_pointer(), sp0);
    }

    /// What the tool fixes: without it every escaped panic leaks the frames' shadow stack, until
    /// the stack pointer leaves linear memory and the instance is unusable.
    #[test]
    fn unprocessed_module_leaks_shadow_stack_on_each_panic_and_dies_early() {
        const LIMIT: u32 = 100_000;
        let mut run = Run::new(panics_raw());
        assert!(run.func(STATE_EXPORT).is_none());
        let sp0 = run.stack_pointer();

        assert_eq!(
            failure(call_i32s(&mut run, "panic_fmt", &[13])),
            Failure::Exception
        );
        assert_rust_panic_pending(&mut run, None, "first panic");
        let sp1 = run.stack_pointer();
        assert!(
            sp1 < sp0,
            "stack pointer did not drift down: {sp0} -> {sp1}"
        );
        let leak = sp0 - sp1;

        let panic_fmt = run.typed::<(i32,), i32>("panic_fmt");
        let stack_pointer = run.typed::<(), i32>("stack_pointer");
        let mut previous = sp1;
        let mut died = None;
        for i in 1..LIMIT {
            match panic_fmt.call(&mut run.store, (13,)) {
                Ok(v) => panic!("panic {i}: panic_fmt(13) returned {v}"),
                Err(e) if e.is::<ThrownException>() => {
                    let sp = stack_pointer.call(&mut run.store, ()).unwrap();
                    assert!(sp < previous, "panic {i}: stack pointer {previous} -> {sp}");
                    previous = sp;
                }
                Err(e) => {
                    died = Some((i, classify(&e)));
                    break;
                }
            }
        }
        let (at, how) =
            died.unwrap_or_else(|| panic!("unprocessed module survived {LIMIT} panics"));
        eprintln!(
            "unprocessed: {leak} bytes of shadow stack leaked a panic; died at panic {at}: {how:?}"
        );
        assert!(matches!(how, Failure::Trap(_)), "died by {how:?}");
        // It dies once the stack is used up: at most sp0 / leak panics fit.
        assert!(
            at as i64 <= i64::from(sp0) / i64::from(leak) + 1,
            "died at {at}, later than the stack allows"
        );
    }
    // ---------------------------------------------------------------------------------------------
    // Host exceptions (Wasmtime 48: `Store::throw` with an `ExnRef`)
    #[test]
    fn host_exception_passes_through_an_export_unchanged_with_stack_pointer_restored() {
        let mut run = Run::new(panics());
        let sp0 = run.stack_pointer();
        run.store.data_mut().callback = throw_3x;
        for round in 1..=3 {
            let err = run
                .call::<(i32,), i32>("call_host", (7,))
                .expect_err("host throws");
            assert_eq!(classify(&err), Failure::Exception, "{err:?}");
            let (tag, value) = run.take_exception().expect("pending exception");
            assert!(
                run.same_tag(&tag, &run.host_tag()),
                "the host's exception came back with another tag"
            );
            assert_eq!(value, 21, "payload changed on the way");
            assert_eq!(run.stack_pointer(), sp0, "round {round}");
            assert_eq!(
                run.call::<(), u32>("counter_get", ()).unwrap(),
                round,
                "call_host counts before calling"
            );
            assert_eq!(run.state(), 0);
        }
        assert_eq!(run.store.data().calls, 3);
        run.store.data_mut().callback = host::identity;
        assert_eq!(run.call::<(i32,), i32>("call_host", (5,)).unwrap(), 6);
        assert_eq!(run.store.data().calls, 4);
    }

    /// A Rust build with `strip = true` has no custom section at all (no names, no producers)
    /// and exports no linker symbol: its global 0 is still taken as the stack pointer (issue
    /// 19), by LLVM's frame prologue in its code, so a panic leaves it where it was.
    #[test]
    fn a_stripped_build_keeps_its_stack_pointer_restored() {
        let fixture = fixture("panics.exnref.wasm");
        let mut stripped = wasm_encoder::Module::new();
        for payload in wasmparser::Parser::new(0).parse_all(&fixture) {
            if let Some((id @ 1.., range)) = payload.unwrap().as_section() {
                let data = &fixture[range];
                stripped.section(&wasm_encoder::RawSection { id, data });
            }
        }
        let stripped = stripped.finish();
        let custom = wasmparser::Parser::new(0)
            .parse_all(&stripped)
            .any(|p| matches!(p, Ok(wasmparser::Payload::CustomSection(_))));
        assert!(!custom && stripped.len() < fixture.len());
        let processed = wasm_unwind::process(&stripped, &Default::default()).unwrap();
        let sp = processed
            .report
            .stack_pointer
            .as_ref()
            .map(|f| (f.index, f.how));
        assert_eq!(sp, Some((0, "global 0 by convention")));
        let mut run = Run::new(&compile(&processed.wasm));
        let sp0 = run.stack_pointer();
        for round in 0..3 {
            let err = call_i32s(&mut run, "panic_static", &[]).expect_err("panics");
            assert_eq!(classify(&err), Failure::Exception, "{err:?}");
            run.take_exception().expect("pending exception");
            assert_eq!(run.stack_pointer(), sp0, "round {round}");
        }
    }

    /// A C++ module as Emscripten builds it with `-fwasm-exceptions` for release (issue 19): no
    /// name section, global 0 imported, the stack pointer exported as `__stack_pointer` behind it,
    /// two thrown `(param i32)` tags, LLVM's C++ tag exported as `__cpp_exception`. Indices only:
    /// a `$name` would give the module a name section.
    const CXX_EMSCRIPTEN: &str = r#"(module
      (import "env" "__memory_base" (global i32))
      (global (export "__stack_pointer") (mut i32) (i32.const 65536))
      (tag (export "__c_longjmp") (param i32))
      (tag (export "__cpp_exception") (param i32))
      (func (export "stack_pointer") (result i32) (global.get 1))
      (func (export "throw_cxx") (param i32)
        (global.set 1 (i32.sub (global.get 1) (i32.const 32)))
        (throw 1 (local.get 0)))
      (func (export "catch_cxx") (result i32)
        (block (result i32)
          (try_table (catch 1 0) (call 1 (i32.const 5)))
          (i32.const -1))))"#;

    /// An instance of `wasm` (`CXX_EMSCRIPTEN`, processed or not) with `env.__memory_base`.
    fn cxx_run(wasm: &[u8]) -> Run {
        use ::wasmtime::{Global, GlobalType, Mutability, Val, ValType};
        let module = compile(wasm);
        let mut store = host::store(module.engine());
        let base = GlobalType::new(ValType::I32, Mutability::Const);
        let base = Global::new(&mut store, base, Val::I32(0)).unwrap();
        let mut linker = host::linker(module.engine());
        linker.define(&store, "env", "__memory_base", base).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        Run {
            store,
            instance,
            module,
        }
    }

    /// C++ exceptions are contained like Rust panics, with the tag and stack pointer found by
    /// their export names (it used to be refused: "no Rust unwind tag could be chosen"): each
    /// reaches the host as the very exception thrown, the shadow stack back where it was, and the
    /// host recognises it by the tag export the module already has, so none is added.
    #[test]
    fn cxx_exceptions_are_contained_with_tag_and_stack_pointer_found_by_export_name() {
        let input = wat::parse_str(CXX_EMSCRIPTEN).unwrap();
        let processed = wasm_unwind::process(&input, &Default::default()).expect("processed");
        let report = &processed.report;
        let index = |found: &Option<wasm_unwind::Found>| found.as_ref().map(|f| f.index);
        assert_eq!(index(&report.unwind_tag), Some(1));
        assert_eq!(index(&report.stack_pointer), Some(1));
        assert!(
            !report.tag_exported && report.notes.is_empty(),
            "{report:?}"
        );

        for (wasm, leak) in [(&processed.wasm, 0), (&input, 32)] {
            let mut run = cxx_run(wasm);
            assert!(run.tag_export(TAG_EXPORT).is_none());
            let cxx = run.tag_export("__cpp_exception").expect("C++ tag export");
            let sp0 = run.stack_pointer();
            for i in 1..=3 {
                let err = run
                    .call::<(i32,), ()>("throw_cxx", (i,))
                    .expect_err("throws");
                assert_eq!(classify(&err), Failure::Exception, "{err:?}");
                let (tag, value) = run.take_exception().expect("pending exception");
                assert!(run.same_tag(&tag, &cxx) && value == i);
                assert_eq!(
                    run.stack_pointer(),
                    sp0 - leak * i,
                    "leak {leak}, throw {i}"
                );
            }
            // Caught inside the module, the exception never reaches a wrapper.
            assert_eq!(run.call::<(), i32>("catch_cxx", ()).unwrap(), 5);
        }
    }

    /// A host function returning a plain error (not an exception) unwinds the Wasm frames in
    /// Wasmtime without running any Wasm code. The module cannot tell that state from a host that is
    /// still inside the import and calls back in, so this is a documented limit (README, "Limits"):
    /// the host sees the error from the outer call and must treat the instance as dead itself.
    /// This pins that behaviour, so that a change to it is seen and the README kept true.
    #[test]
    fn host_error_inside_an_import_is_seen_by_the_host_not_by_the_module() {
        fn host_error(_: &mut Caller<'_, Host>, _: i32) -> wasmtime::Result<i32> {
            Err(wasmtime::Error::msg("host failure"))
        }
        let mut run = Run::new(panics());
        run.store.data_mut().callback = host_error;
        let err = run
            .call::<(i32,), i32>("call_host", (1,))
            .expect_err("host error");
        assert!(
            matches!(classify(&err), Failure::Other(ref s) if s.contains("host failure")),
            "{err:?}"
        );
        assert!(!run.store.has_pending_exception());
        assert_eq!(
            run.state(),
            0,
            "the module cannot see a host error; if it now can, update the README"
        );
        assert_eq!(run.call::<(i32, i32), i32>("add", (2, 3)).expect("add"), 5);
    }

    // ---------------------------------------------------------------------------------------------
    // The runtime crate: caught panics go back through Rust's catch_unwind

    /// The message `__wasm_unwind_message()` points at (the runtime's last panic), and its
    /// `aborted` field: whether the instance aborted right after that panic.
    fn panic_message(run: &mut Run) -> (String, bool) {
        let at = run.call::<(), i32>("__wasm_unwind_message", ()).unwrap() as usize;
        let memory = run.memory();
        let word = |i: usize| u32::from_le_bytes(memory[i..i + 4].try_into().unwrap()) as usize;
        let (ptr, len, aborted) = (word(at), word(at + 4), word(at + 8));
        let text = String::from_utf8(memory[ptr..ptr + len].to_vec()).expect("UTF-8 message");
        (text, aborted == 1)
    }

    /// The message of the last recovered panic.
    fn last_panic_message(run: &mut Run) -> String {
        let (text, aborted) = panic_message(run);
        assert!(!aborted, "a recovered panic is marked as an abort: {text}");
        text
    }

    /// A panic that cannot unwind (an `extern "C"` export) aborts; the runtime's panic hook kept
    /// why, and the host reads it after the trap: the README's first module with `extern "C"`
    /// exports (issue 24), and the `panics-rt` fixture's nounwind export.
    #[test]
    fn runtime_keeps_the_message_of_a_panic_that_aborts() {
        let push_13 = |run: &mut Run| run.call::<(i32,), i32>("push", (13,)).map(|_| ());
        let nounwind = |run: &mut Run| run.call::<(), ()>("panic_nounwind", ());
        let cases: [(_, &dyn Fn(&mut Run) -> ::wasmtime::Result<()>, _); 2] = [
            ("first-c.exnref.wasm", &push_13, "unlucky 13"),
            ("panics-rt.exnref.wasm", &nounwind, "in nounwind"),
        ];
        for (fixture_name, call, message) in cases {
            let module = compile(&process(&fixture(fixture_name)));
            let mut run = Run::new(&module);
            let result = call(&mut run);
            assert!(
                matches!(failure(result), Failure::Trap(_)),
                "{fixture_name}: the panic aborts"
            );
            assert_eq!(run.state(), 1, "{fixture_name}: terminated");
            let expected = format!("panic in a function that cannot unwind: {message}");
            assert_eq!(panic_message(&mut run), (expected, true), "{fixture_name}");
        }
    }

    #[test]
    fn runtime_frees_every_panic_and_keeps_its_message() {
        const N: u32 = 100_000;
        let module = compile(&process(&fixture("panics-rt.exnref.wasm")));
        let mut run = Run::new(&module);
        let tag = run.tag_export(wasm_unwind::TAG_EXPORT).expect("tag export");
        assert_eq!(
            failure(run.call::<(i32,), i32>("panic_fmt", (13,))),
            Failure::Exception
        );
        let (thrown, _) = run.take_exception().expect("pending exception");
        assert!(
            run.same_tag(&thrown, &tag),
            "the host still sees the Rust tag"
        );
        assert_eq!(last_panic_message(&mut run), "unlucky 13");
        assert_eq!(run.call::<(), i32>("is_panicking", ()).unwrap(), 0);

        let sp = run.stack_pointer();
        let before = run.memory().len();
        for i in 0..N {
            let failure = failure(run.call::<(i32,), i32>("panic_fmt", (13,)));
            assert_eq!(failure, Failure::Exception, "panic {i}");
            run.take_exception();
        }
        assert_eq!(run.memory().len(), before, "memory grew over {N} panics");
        assert_eq!(run.stack_pointer(), sp);
        assert_eq!(run.call::<(), i32>("is_panicking", ()).unwrap(), 0);
        assert_eq!(
            failure(run.call::<(), ()>("panic_static", ())),
            Failure::Exception
        );
        run.take_exception();
        assert_eq!(last_panic_message(&mut run), "static panic message");
        assert_eq!(run.call::<(), u32>("counter_inc", ()).unwrap(), 1);
        assert_eq!(run.state(), 0);
    }
}

/// `tests/js/contain.test.mjs` in JS engines.
mod js {
    use crate::engines::{bun, node};
    use wasm_unwind::Encoding;

    #[test]
    fn node_20_legacy() {
        node::run_suite("contain.test.mjs");
    }

    #[test]
    fn bun_exnref() {
        bun::run_suite("contain.test.mjs", Encoding::Exnref);
    }

    #[test]
    fn bun_legacy() {
        bun::run_suite("contain.test.mjs", Encoding::Legacy);
    }
}
