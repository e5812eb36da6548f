//! A module processed by wasm-unwind, embedded in Wasmtime: a panic is an error and the instance
//! keeps serving; after a trap every call fails and `__wasm_unwind_state` says 1.
//! `cargo run --example wasmtime -- app.wasm` (exports of the bundled `panics` fixture).
use wasmtime::{Config, Engine, Linker, Module, Store, ThrownException};

fn main() -> wasmtime::Result<()> {
    run(&std::env::args().nth(1).unwrap_or_else(|| "app.wasm".into()))
}

pub fn run(path: &str) -> wasmtime::Result<()> {
    let engine = Engine::new(Config::new().wasm_exceptions(true))?;
    let module = Module::from_file(&engine, path)?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module)?; // your imports here
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let count = instance.get_typed_func::<(), u32>(&mut store, "counter_inc")?;
    let panic = instance.get_typed_func::<(), ()>(&mut store, "panic_static")?;
    let abort = instance.get_typed_func::<(), ()>(&mut store, "abort_now")?;
    let state = instance.get_typed_func::<(), i32>(&mut store, "__wasm_unwind_state")?;

    assert_eq!(count.call(&mut store, ())?, 1);
    // A panic arrives as the Rust exception, uncaught; the instance keeps its state.
    let error = panic.call(&mut store, ()).unwrap_err();
    assert!(error.is::<ThrownException>());
    store.take_pending_exception(); // drop it
    assert_eq!(count.call(&mut store, ())?, 2);
    assert_eq!(state.call(&mut store, ())?, 0);

    // An abort is a trap. From then on every call traps: make a fresh instance.
    assert!(abort.call(&mut store, ()).is_err());
    assert_eq!(state.call(&mut store, ())?, 1);
    assert!(count.call(&mut store, ()).is_err());
    Ok(())
}
