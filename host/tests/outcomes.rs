//! `wasm-unwind-wasmtime` on the committed fixtures, processed by the tool: every outcome a call
//! can have (returned, panicked with and without the runtime crate, every trap kind the fixtures
//! offer, a host function that throws or fails), the state, a fresh instance after an abort, and
//! a million panics in one instance with the runtime without memory growth.

use std::time::Instant;

use support::fixture;
use support::host::{self, Host, throw_host_exception};
use wasm_unwind_wasmtime::wasmtime::{Caller, Engine, Module, Trap, format_err};
use wasm_unwind_wasmtime::{Guest, Outcome, Panic, State};

/// The fixture `name`, processed with the default options, compiled for `engine`.
fn processed(engine: &Engine, name: &str) -> Module {
    host::compile_for(engine, &host::process(&fixture(name)))
}

/// A guest of `module` with the fixtures' `env` imports; each instance's store is
/// `host::store` (a fresh [`Host`] with a host tag).
fn guest(module: &Module) -> Guest<Host> {
    Guest::with_store(&host::linker(module.engine()), module, host::store).expect("instantiate")
}

/// Calls `name(params)` and returns the panic it must end in.
fn panic_of<P: wasmtime::WasmParams, R: wasmtime::WasmResults + std::fmt::Debug>(
    guest: &mut Guest<Host>,
    name: &str,
    params: P,
) -> Panic {
    match guest.call::<P, R>(name, params).unwrap() {
        Outcome::Panicked(panic) => panic,
        other => panic!("{name}: expected a panic, got {other:?}"),
    }
}

fn returned<P: wasmtime::WasmParams, R: wasmtime::WasmResults + std::fmt::Debug>(
    guest: &mut Guest<Host>,
    name: &str,
    params: P,
) -> R {
    match guest.call::<P, R>(name, params).unwrap() {
        Outcome::Returned(results) => results,
        other => panic!("{name}: expected it to return, got {other:?}"),
    }
}

/// The four panicking exports of the `panics` fixture, each with what its message says.
fn panic_every_way(guest: &mut Guest<Host>) -> Vec<Option<String>> {
    vec![
        panic_of::<_, ()>(guest, "panic_static", ()).message,
        panic_of::<_, i32>(guest, "panic_fmt", (13,)).message,
        panic_of::<_, i32>(guest, "panic_recurse_drop", (5,)).message,
        panic_of::<_, i32>(guest, "panic_in_iter", (7,)).message,
    ]
}

#[test]
fn panics_are_contained_with_their_message_when_the_runtime_is_linked() {
    let mut guest = guest(&processed(host::engine(), "panics-rt.exnref.wasm"));
    assert_eq!(returned::<_, i32>(&mut guest, "add", (2, 3)), 5);
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 1);
    let messages = panic_every_way(&mut guest);
    let expected = [
        "static panic message",
        "unlucky 13",
        "bottom reached at depth 5",
        "iterator hit 7",
    ];
    assert_eq!(messages, expected.map(|m| Some(m.to_string())));
    // Contained: the state is kept, Rust is no longer panicking, the drops ran.
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 2);
    assert_eq!(returned::<_, i32>(&mut guest, "is_panicking", ()), 0);
    assert_eq!(returned::<_, u32>(&mut guest, "drops_get", ()), 5);
    assert_eq!(guest.state().unwrap(), State::Live);
}

#[test]
fn panics_are_contained_without_a_message_when_the_runtime_is_absent() {
    let mut guest = guest(&processed(host::engine(), "panics.exnref.wasm"));
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 1);
    assert_eq!(panic_every_way(&mut guest), [None, None, None, None]);
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 2);
    assert_eq!(guest.state().unwrap(), State::Live);
}

/// `__wasm_unwind_state()`, called around the guest.
fn raw_state(guest: &mut Guest<Host>) -> i32 {
    let state = guest
        .instance()
        .get_typed_func::<(), i32>(guest.store_mut(), "__wasm_unwind_state");
    state.unwrap().call(guest.store_mut(), ()).unwrap()
}

/// Calls `name(params)` on a fresh guest of `module`: it must abort with `trap`; then the
/// instance is terminated and refuses calls until `renew` gives a fresh instance and store.
fn aborts<P: wasmtime::WasmParams, R: wasmtime::WasmResults + std::fmt::Debug>(
    module: &Module,
    name: &str,
    params: P,
    expected: Trap,
) {
    let mut guest = guest(module);
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 1);
    match guest.call::<P, R>(name, params).unwrap() {
        Outcome::Aborted { trap, error } => {
            assert_eq!(trap, expected, "{name}: {error:?}");
        }
        other => panic!("{name}: expected an abort ({expected:?}), got {other:?}"),
    }
    assert_eq!(guest.state().unwrap(), State::Terminated, "{name}");
    // The module's own guard latched it too, and refuses a call made around the guest.
    assert_eq!(raw_state(&mut guest), 1, "{name}");
    let counter = guest
        .instance()
        .get_typed_func::<(), u32>(guest.store_mut(), "counter_inc");
    let refused = counter.unwrap().call(guest.store_mut(), ()).unwrap_err();
    assert_eq!(
        refused.downcast_ref(),
        Some(&Trap::UnreachableCodeReached),
        "{name}"
    );
    for _ in 0..2 {
        let refused = guest.call::<(), u32>("counter_inc", ()).unwrap();
        assert!(
            matches!(refused, Outcome::Terminated),
            "{name}: {refused:?}"
        );
    }
    guest.store_mut().data_mut().notes.push("old store".into());
    guest.renew().unwrap();
    assert!(
        guest.store().data().notes.is_empty(),
        "{name}: the store was not renewed"
    );
    assert_eq!(guest.state().unwrap(), State::Live, "{name}");
    assert_eq!(
        returned::<_, u32>(&mut guest, "counter_inc", ()),
        1,
        "{name}"
    );
}

#[test]
fn every_trap_kind_aborts_and_a_renewed_instance_starts_fresh() {
    for fixture in ["panics.exnref.wasm", "panics-rt.exnref.wasm"] {
        let module = processed(host::engine(), fixture);
        let unreachable = Trap::UnreachableCodeReached;
        aborts::<_, ()>(&module, "abort_now", (), unreachable);
        aborts::<_, ()>(&module, "panic_nounwind", (), unreachable);
        aborts::<_, ()>(&module, "panic_in_hook", (), unreachable);
        aborts::<_, ()>(&module, "panic_while_unwinding", (), unreachable);
        aborts::<_, ()>(&module, "trap_oom", (), unreachable);
        aborts::<_, i32>(
            &module,
            "trap_div_zero",
            (1, 0),
            Trap::IntegerDivisionByZero,
        );
        aborts::<_, i32>(
            &module,
            "trap_div_zero",
            (i32::MIN, -1),
            Trap::IntegerOverflow,
        );
        aborts::<_, i32>(&module, "trap_oob", (), Trap::MemoryOutOfBounds);
        aborts::<_, i32>(&module, "trap_stack_overflow", (1,), Trap::StackOverflow);
        aborts::<_, i32>(&module, "trap_indirect_mismatch", (), Trap::BadSignature);
    }
    // panic=abort: no exception handling, a panic is a trap.
    let module = processed(host::engine(), "abort.wasm");
    aborts::<_, ()>(&module, "panic_now", (), Trap::UnreachableCodeReached);
    aborts::<_, ()>(&module, "abort_now", (), Trap::UnreachableCodeReached);
}

/// The host callback of the tests below: throws an exception with the store's host tag.
fn throw_7(caller: &mut Caller<'_, Host>, _: i32) -> wasmtime::Result<i32> {
    throw_host_exception(caller, 7)
}

#[test]
fn an_exception_a_host_function_throws_comes_back_and_the_instance_serves_on() {
    let mut guest = guest(&processed(host::engine(), "panics-rt.exnref.wasm"));
    guest.store_mut().data_mut().callback = throw_7;
    let exception = match guest.call::<(i32,), i32>("call_host", (1,)).unwrap() {
        Outcome::Thrown(exception) => exception,
        other => panic!("expected the host's exception, got {other:?}"),
    };
    let host_tag = guest.store().data().tag.unwrap();
    let store = guest.store_mut();
    assert!(wasmtime::Tag::eq(
        &exception.tag(&mut *store).unwrap(),
        &host_tag,
        &*store
    ));
    assert_eq!(exception.field(&mut *store, 0).unwrap().unwrap_i32(), 7);
    assert_eq!(guest.state().unwrap(), State::Live);
    // call_host counted before calling the host: the state is kept.
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 2);
    // Through a nounwind export, Rust aborts on the host's exception.
    guest.store_mut().data_mut().nounwind_callback = throw_7;
    let outcome = guest
        .call::<(i32,), i32>("call_host_nounwind", (1,))
        .unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Aborted {
                trap: Trap::UnreachableCodeReached,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn an_error_a_host_function_returns_terminates_the_instance() {
    let mut guest = guest(&processed(host::engine(), "panics.exnref.wasm"));
    guest.store_mut().data_mut().callback = |_, _| Err(format_err!("the host gave up"));
    match guest.call::<(i32,), i32>("call_host", (1,)).unwrap() {
        Outcome::HostError(error) => assert_eq!(error.root_cause().to_string(), "the host gave up"),
        other => panic!("expected the host's error, got {other:?}"),
    }
    // The Rust frames it left were never cleaned up, which the module cannot tell from the
    // host still being inside the import: its guard says live, the guest refuses.
    assert_eq!(raw_state(&mut guest), 0);
    assert_eq!(guest.state().unwrap(), State::Terminated);
    let refused = guest.call::<(), u32>("counter_inc", ()).unwrap();
    assert!(matches!(refused, Outcome::Terminated), "{refused:?}");
    assert_eq!(guest.store().data().calls, 1);
    guest.renew().unwrap();
    assert_eq!(returned::<_, u32>(&mut guest, "counter_inc", ()), 1);
}

#[test]
fn a_module_wasm_unwind_did_not_process_is_refused() {
    let module = host::compile(&fixture("panics.exnref.wasm"));
    let error = Guest::with_store(&host::linker(module.engine()), &module, host::store)
        .expect_err("an unprocessed module");
    assert_eq!(
        error.to_string(),
        "the module has no `__wasm_unwind_state` export: process it with wasm-unwind first"
    );
}

#[test]
fn a_million_panics_with_the_runtime_leave_memory_as_it_was() {
    const N: u32 = 1_000_000;
    let mut guest = guest(&processed(host::fast_engine(), "panics-rt.exnref.wasm"));
    // The first panic sizes the runtime's message buffer.
    panic_of::<_, i32>(&mut guest, "panic_fmt", (13,));
    let memory = guest
        .instance()
        .get_memory(guest.store_mut(), "memory")
        .unwrap();
    let before = memory.data_size(guest.store());
    let start = Instant::now();
    for i in 0..N {
        let panic = panic_of::<_, i32>(&mut guest, "panic_fmt", (13,));
        assert_eq!(panic.message.as_deref(), Some("unlucky 13"), "panic {i}");
    }
    let elapsed = start.elapsed();
    let after = memory.data_size(guest.store());
    eprintln!(
        "{N} panics through Guest::call: {elapsed:?} ({:.2} µs each); memory {before} -> {after} bytes",
        elapsed.as_secs_f64() * 1e6 / f64::from(N)
    );
    assert_eq!(after, before, "linear memory grew");
    assert_eq!(returned::<_, i32>(&mut guest, "is_panicking", ()), 0);
    assert_eq!(returned::<_, i32>(&mut guest, "panic_fmt", (21,)), 42);
    assert_eq!(guest.state().unwrap(), State::Live);
}

/// A guest moves between threads (a server's worker pool) when its store data does.
#[test]
fn a_guest_is_send() {
    fn send<T: Send>() {}
    send::<Guest<Host>>();
    send::<Outcome<i32>>();
}
