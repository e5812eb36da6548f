//! The `threads` fixture in Wasmtime as wasm threads run: one instance a thread, each in its
//! own store, all over one `SharedMemory`; every instance but the first gets its own shadow
//! stack and TLS block from the first one's allocator. For `tests/threads.rs` and
//! `benches/threads.rs`.

use wasmtime::{
    Caller, Config, Engine, Instance, Linker, MemoryType, Module, SharedMemory, Store, Val,
    WasmParams, WasmResults,
};

/// Each extra thread's shadow stack, in bytes.
const STACK: i32 = 1 << 16;

/// One thread's instance, in its own store.
pub struct Thread {
    pub store: Store<()>,
    pub instance: Instance,
}

impl Thread {
    /// Calls export `name`: its results as `{:?}`, or `trap <code>` (see [`outcome`]).
    pub fn call<P: WasmParams, R: WasmResults + std::fmt::Debug>(
        &mut self,
        name: &str,
        params: P,
    ) -> String {
        let f = self.instance.get_typed_func::<P, R>(&mut self.store, name);
        outcome(f.and_then(|f| f.call(&mut self.store, params)))
    }

    /// `__wasm_unwind_state()`.
    pub fn state(&mut self) -> String {
        self.call::<(), i32>("__wasm_unwind_state", ())
    }
}

/// `value` for a result, `trap <code>` for a trap, `error …` for anything else.
pub fn outcome<R: std::fmt::Debug>(result: wasmtime::Result<R>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(e) => match e.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => format!("trap {trap:?}"),
            None => format!("error {e:?}"),
        },
    }
}

/// A program of `threads` + 1 instances of `wasm` over one shared memory: the first, then the
/// others. `block` is the import `host.block`.
pub fn program(
    wasm: &[u8],
    threads: usize,
    block: impl Fn(Caller<'_, ()>) -> wasmtime::Result<()> + Send + Sync + 'static,
) -> (Thread, Vec<Thread>) {
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .wasm_threads(true)
        .shared_memory(true);
    let engine = Engine::new(&config).expect("engine with threads");
    let module = Module::new(&engine, wasm).expect("compiles");
    let memory = SharedMemory::new(&engine, MemoryType::shared(32, 1024)).expect("memory");
    let mut linker = Linker::new(&engine);
    // Defining needs a store, though a shared memory belongs to none.
    let definer = Store::new(&engine, ());
    linker.define(&definer, "env", "memory", memory).unwrap();
    linker.func_wrap("host", "block", block).unwrap();
    let instantiate = || {
        let mut store = Store::new(&engine, ());
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("instantiates");
        Thread { store, instance }
    };
    let mut first = instantiate();
    let others = (0..threads)
        .map(|_| {
            let mut thread = instantiate();
            start(&mut first, &mut thread);
            thread
        })
        .collect();
    (first, others)
}

/// Gives `thread` a stack and TLS block of its own, allocated by `first`.
fn start(first: &mut Thread, thread: &mut Thread) {
    let global = |t: &mut Thread, name: &str| {
        let global = t.instance.get_global(&mut t.store, name).unwrap();
        global.get(&mut t.store).unwrap_i32()
    };
    let (size, align) = (global(first, "__tls_size"), global(first, "__tls_align"));
    let mut alloc = |size: i32, align: i32| {
        let f = first
            .instance
            .get_typed_func::<(i32, i32), i32>(&mut first.store, "alloc");
        f.unwrap().call(&mut first.store, (size, align)).unwrap()
    };
    let (tls, stack) = (alloc(size, align), alloc(STACK, 16));
    let sp = thread
        .instance
        .get_global(&mut thread.store, "__stack_pointer")
        .unwrap();
    sp.set(&mut thread.store, Val::I32(stack + STACK)).unwrap();
    assert_eq!(thread.call::<i32, ()>("__wasm_init_tls", tls), "()");
}
