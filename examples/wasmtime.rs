//! A module processed by wasm-unwind, embedded in Wasmtime with the `wasm-unwind-wasmtime` crate:
//! each call says how it ended; after a panic the instance keeps serving, after an abort every
//! call is refused until `renew` makes a fresh instance.
//! `cargo run --example wasmtime -- app.wasm` (exports of the bundled `panics` fixture).
use wasm_unwind_wasmtime::wasmtime::{self, Config, Engine, Linker, Module};
use wasm_unwind_wasmtime::{Guest, Outcome, State};

fn main() -> wasmtime::Result<()> {
    run(&std::env::args().nth(1).unwrap_or_else(|| "app.wasm".into()))
}

pub fn run(path: &str) -> wasmtime::Result<()> {
    let engine = Engine::new(Config::new().wasm_exceptions(true))?;
    let module = Module::from_file(&engine, path)?;
    let mut linker = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module)?; // your imports here
    // Each instance's store data (yours here) comes from the closure, a fresh instance's too.
    let mut app = Guest::new(&linker, &module, || ())?;
    let count = |app: &mut Guest<()>| app.call::<(), u32>("counter_inc", ());

    assert!(matches!(count(&mut app)?, Outcome::Returned(1)));
    // A panic is contained: the instance keeps its state. The message needs the runtime crate.
    match app.call::<(), ()>("panic_static", ())? {
        Outcome::Panicked(panic) => eprintln!("panicked: {:?}", panic.message),
        other => panic!("expected a panic: {other:?}"),
    }
    assert!(matches!(count(&mut app)?, Outcome::Returned(2)));
    assert_eq!(app.state()?, State::Live);

    // An abort is a trap, and final: every later call is refused. Make a fresh instance.
    match app.call::<(), ()>("abort_now", ())? {
        Outcome::Aborted { trap, .. } => eprintln!("aborted: {trap}"),
        other => panic!("expected an abort: {other:?}"),
    }
    assert_eq!(app.state()?, State::Terminated);
    assert!(matches!(count(&mut app)?, Outcome::Terminated));
    app.renew()?;
    assert!(matches!(count(&mut app)?, Outcome::Returned(1)));
    Ok(())
}
