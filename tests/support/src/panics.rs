//! The `panics` fixture (`fixtures/wasm/panics.exnref.wasm`) in Wasmtime, as the behaviour tests
//! (`tests/contain.rs`, `tests/abort_guard.rs`) use it: the module as built and processed, calls
//! to its exports, and the check that a pending exception is a Rust panic.

use std::sync::OnceLock;

use wasm_unwind::TAG_EXPORT;
use wasmtime::{Caller, Module, Val};

use crate::fixture;
use crate::host::{self, Host, Run, compile};

/// The Rust exception class at the start of every `_Unwind_Exception` Rust throws
/// (`u64::from_ne_bytes(*b"MOZ\0RUST")` in `panic_unwind`).
const RUST_EXCEPTION_CLASS: &[u8; 8] = b"MOZ\0RUST";

/// The fixture as built.
pub fn panics_raw() -> &'static Module {
    static M: OnceLock<Module> = OnceLock::new();
    M.get_or_init(|| compile(&fixture("panics.exnref.wasm")))
}

/// The fixture processed with the default options.
pub fn panics() -> &'static Module {
    static M: OnceLock<Module> = OnceLock::new();
    M.get_or_init(|| compile(&host::process(&fixture("panics.exnref.wasm"))))
}

/// Calls `name` with i32 arguments through the dynamic API; results as i32 where there are any.
pub fn call_i32s(run: &mut Run, name: &str, args: &[i32]) -> wasmtime::Result<Vec<i32>> {
    let func = run.func(name).unwrap_or_else(|| panic!("no export {name}"));
    let ty = func.ty(&run.store);
    let params: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
    let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
    func.call(&mut run.store, &params, &mut results)?;
    Ok(results.iter().map(|v| v.unwrap_i32()).collect())
}

pub fn counter_inc(run: &mut Run) -> u32 {
    run.call::<(), u32>("counter_inc", ()).expect("counter_inc")
}

pub fn add(run: &mut Run, a: i32, b: i32) -> wasmtime::Result<i32> {
    run.call::<(i32, i32), i32>("add", (a, b))
}

/// Takes the pending exception and checks it is a Rust panic: thrown with the module's Rust tag
/// (exported by the tool as `__wasm_unwind_tag`), its operand pointing at an `_Unwind_Exception`
/// whose class is Rust's. `rust_tag` is `None` for the unprocessed module (no tag export): then
/// only the exception class is checked.
pub fn assert_rust_panic_pending(run: &mut Run, rust_tag: Option<&wasmtime::Tag>, what: &str) {
    assert!(
        run.store.has_pending_exception(),
        "{what}: no pending exception in the store"
    );
    let (tag, pointer) = run.take_exception().expect("pending exception");
    if let Some(rust_tag) = rust_tag {
        assert!(
            run.same_tag(&tag, rust_tag),
            "{what}: exception tag is not {TAG_EXPORT}"
        );
        assert!(
            !run.same_tag(&tag, &run.host_tag()),
            "{what}: exception carries the host tag"
        );
    }
    let at = pointer as u32 as usize;
    let class = run.memory().get(at..at + 8).map(<[u8]>::to_vec);
    assert_eq!(
        class.as_deref(),
        Some(&RUST_EXCEPTION_CLASS[..]),
        "{what}: the exception operand {at:#x} does not point at a Rust _Unwind_Exception"
    );
}

/// A host callback that throws a host exception carrying `3 * x`.
pub fn throw_3x(caller: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
    host::throw_host_exception(caller, x * 3)
}
