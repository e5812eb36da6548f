//! Wasmtime with the `env.host_callback*` imports the fixtures declare: an engine, a store
//! whose [`Host`] counts and scripts those calls, and [`Run`], a live instance with helpers.

use std::sync::OnceLock;

use wasmtime::{
    AsContextMut, Caller, Config, Engine, ExnRef, ExnRefPre, ExnType, Extern, Func, Instance,
    Linker, Module, Store, Tag, Val, ValType,
};

use crate::{Failure, classify};

/// Runs the library on `bytes` and returns the output module.
pub fn process_with(bytes: &[u8], options: &wasm_unwind::Options) -> Vec<u8> {
    match wasm_unwind::process(bytes, options) {
        Ok(processed) => processed.wasm,
        Err(e) => panic!("wasm_unwind::process failed: {e}"),
    }
}

/// Runs the library with the default options (wrap everything, abort guard on).
pub fn process(bytes: &[u8]) -> Vec<u8> {
    process_with(bytes, &wasm_unwind::Options::default())
}

// ---------------------------------------------------------------------------------------------
// Wasmtime

/// One engine for the whole test binary: exceptions on (exnref encoding). Wasmtime 48 turns the
/// exception proposal on by default when built with `gc`; it is set here explicitly so the
/// tests say what they need.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| new_engine(true))
}

/// The same without Wasm backtraces in errors: each uncaught exception or trap then costs
/// about a third less, for loops of a million failing calls.
pub fn fast_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| new_engine(false))
}

fn new_engine(backtraces: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_exceptions(true);
    if !backtraces {
        config.wasm_backtrace_max_frames(None);
    }
    Engine::new(&config).expect("wasmtime engine with exceptions")
}

/// Compiles `wasm` for [`engine`].
pub fn compile(wasm: &[u8]) -> Module {
    compile_for(engine(), wasm)
}

pub fn compile_for(engine: &Engine, wasm: &[u8]) -> Module {
    Module::new(engine, wasm).unwrap_or_else(|e| panic!("wasmtime rejects the module: {e:?}"))
}

/// What the host import does when called: gets the caller (to re-enter the instance, throw,
/// look at memory) and the argument. Plain `fn` so that the store can hold it and the call
/// does not borrow the store.
pub type Callback = fn(&mut Caller<'_, Host>, i32) -> wasmtime::Result<i32>;

/// The host side: counts and behaviour of the `env.host_callback*` imports.
pub struct Host {
    /// Invocations of `env.host_callback`.
    pub calls: u32,
    /// Invocations of `env.host_callback_nounwind`.
    pub nounwind_calls: u32,
    /// Arguments `env.host_callback` got, in order.
    pub args: Vec<i32>,
    pub callback: Callback,
    pub nounwind_callback: Callback,
    /// A host-defined tag `(param i32)` for exceptions the host throws ([`throw_host_exception`]).
    pub tag: Option<Tag>,
    /// Free slot for a test's own bookkeeping (callbacks have only `Caller<Host>`).
    pub notes: Vec<String>,
}

/// The default callback: returns its argument unchanged.
pub fn identity(_: &mut Caller<'_, Host>, x: i32) -> wasmtime::Result<i32> {
    Ok(x)
}

impl Default for Host {
    fn default() -> Self {
        Host {
            calls: 0,
            nounwind_calls: 0,
            args: Vec::new(),
            callback: identity,
            nounwind_callback: identity,
            tag: None,
            notes: Vec::new(),
        }
    }
}

/// A linker that provides `env.host_callback` and `env.host_callback_nounwind`, both
/// `(i32) -> i32`, dispatching to the store's [`Host`].
pub fn linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "env",
            "host_callback",
            |mut caller: Caller<'_, Host>, x: i32| {
                let host = caller.data_mut();
                host.calls += 1;
                host.args.push(x);
                let callback = host.callback;
                callback(&mut caller, x)
            },
        )
        .unwrap();
    linker
        .func_wrap(
            "env",
            "host_callback_nounwind",
            |mut caller: Caller<'_, Host>, x: i32| {
                caller.data_mut().nounwind_calls += 1;
                let callback = caller.data().nounwind_callback;
                callback(&mut caller, x)
            },
        )
        .unwrap();
    linker
}

/// A store with a fresh [`Host`] and a host tag `(param i32)` already created.
pub fn store(engine: &Engine) -> Store<Host> {
    let mut store = Store::new(engine, Host::default());
    let ty = ExnType::new(engine, [ValType::I32]).unwrap();
    let tag = Tag::new(&mut store, &ty.tag_type()).unwrap();
    store.data_mut().tag = Some(tag);
    store
}

/// Throws, from inside a host function, an exception with the host tag and payload `value`.
/// Always returns `Err` (the `ThrownException` marker; the exception waits in the store).
pub fn throw_host_exception<T>(caller: &mut Caller<'_, Host>, value: i32) -> wasmtime::Result<T> {
    let tag = caller
        .data()
        .tag
        .expect("store made by host::store has a host tag");
    let ty = ExnType::from_tag_type(&tag.ty(&*caller))?;
    let pre = ExnRefPre::new(&mut *caller, ty);
    let exn = ExnRef::new(&mut *caller, &pre, &tag, &[Val::I32(value)])?;
    caller.as_context_mut().throw(exn)
}

/// A live instance with its store.
pub struct Run {
    pub store: Store<Host>,
    pub instance: Instance,
    pub module: Module,
}

impl Run {
    /// Instantiates `module` in a fresh store (fresh [`Host`]) of the module's engine.
    pub fn new(module: &Module) -> Run {
        let mut store = store(module.engine());
        let instance = linker(module.engine())
            .instantiate(&mut store, module)
            .unwrap_or_else(|e| panic!("instantiation failed: {e:?}"));
        Run {
            store,
            instance,
            module: module.clone(),
        }
    }

    pub fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
    ) -> wasmtime::TypedFunc<P, R> {
        self.instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap_or_else(|e| panic!("export {name}: {e:?}"))
    }

    /// Calls export `name` with typed parameters and results.
    pub fn call<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> wasmtime::Result<R> {
        let f = self.typed::<P, R>(name);
        f.call(&mut self.store, params)
    }

    pub fn func(&mut self, name: &str) -> Option<Func> {
        self.instance.get_func(&mut self.store, name)
    }

    /// `__wasm_unwind_state()`: 0 live, 1 terminated. Panics when the export is missing.
    pub fn state(&mut self) -> i32 {
        self.call::<(), i32>(wasm_unwind::STATE_EXPORT, ())
            .unwrap_or_else(|e| panic!("{} failed: {e:?}", wasm_unwind::STATE_EXPORT))
    }

    /// The fixture's `stack_pointer()` export, which must succeed.
    pub fn stack_pointer(&mut self) -> i32 {
        self.call::<(), i32>("stack_pointer", ())
            .unwrap_or_else(|e| panic!("stack_pointer() failed: {e:?}"))
    }

    /// Linear memory `memory`.
    pub fn memory(&mut self) -> &[u8] {
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("memory export");
        memory.data(&self.store)
    }

    /// Names and types of all function exports, in module order.
    pub fn function_exports(&self) -> Vec<(String, wasmtime::FuncType)> {
        self.module
            .exports()
            .filter_map(|e| match e.ty() {
                wasmtime::ExternType::Func(ty) => Some((e.name().to_string(), ty)),
                _ => None,
            })
            .collect()
    }

    /// Calls function export `name` with every parameter set to `arg` (i32/i64/f32/f64 only).
    pub fn call_dynamic(&mut self, name: &str, arg: i32) -> wasmtime::Result<Vec<Val>> {
        let func = self
            .func(name)
            .unwrap_or_else(|| panic!("no function export {name}"));
        let ty = func.ty(&self.store);
        let params: Vec<Val> = ty
            .params()
            .map(|p| match p {
                ValType::I32 => Val::I32(arg),
                ValType::I64 => Val::I64(arg.into()),
                ValType::F32 => Val::F32((arg as f32).to_bits()),
                ValType::F64 => Val::F64((arg as f64).to_bits()),
                other => panic!("{name}: parameter type {other} not supported here"),
            })
            .collect();
        let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
        func.call(&mut self.store, &params, &mut results)?;
        Ok(results)
    }

    /// Takes the exception an uncaught throw left in the store: `(tag, field 0 as i32)`.
    pub fn take_exception(&mut self) -> Option<(Tag, i32)> {
        let mut scope = wasmtime::RootScope::new(&mut self.store);
        let exn = scope.as_context_mut().take_pending_exception()?;
        let tag = exn.tag(&mut scope).unwrap();
        let field = exn.field(&mut scope, 0).unwrap().unwrap_i32();
        Some((tag, field))
    }

    pub fn tag_export(&mut self, name: &str) -> Option<Tag> {
        self.instance.get_tag(&mut self.store, name)
    }

    pub fn host_tag(&self) -> Tag {
        self.store.data().tag.expect("host tag")
    }

    pub fn same_tag(&self, a: &Tag, b: &Tag) -> bool {
        Tag::eq(a, b, &self.store)
    }
}

// ---------------------------------------------------------------------------------------------
// Classifying failures

/// The failure of `result`, which must be an error.
pub fn failure<T: std::fmt::Debug>(result: wasmtime::Result<T>) -> Failure {
    match result {
        Ok(v) => panic!("expected the call to fail, it returned {v:?}"),
        Err(e) => classify(&e),
    }
}

/// Extern helper: the function of an export obtained through a `Caller`.
pub fn caller_func(caller: &mut Caller<'_, Host>, name: &str) -> Func {
    match caller.get_export(name) {
        Some(Extern::Func(f)) => f,
        _ => panic!("no function export {name} visible from the caller"),
    }
}

// ---------------------------------------------------------------------------------------------
// Memory snapshots (cheap for mostly-zero multi-GiB memories)

const PAGE: usize = 65536;
static ZERO_PAGE: [u8; PAGE] = [0; PAGE];

/// Linear memory, page by page; all-zero pages are not stored.
pub struct MemorySnapshot {
    len: usize,
    pages: Vec<Option<Box<[u8]>>>,
}

impl MemorySnapshot {
    pub fn take(data: &[u8]) -> MemorySnapshot {
        let pages = data
            .chunks(PAGE)
            .map(|page| {
                if page == &ZERO_PAGE[..page.len()] {
                    None
                } else {
                    Some(page.into())
                }
            })
            .collect();
        MemorySnapshot {
            len: data.len(),
            pages,
        }
    }

    /// `None` when `data` is byte-for-byte the snapshot, else where it first differs.
    pub fn first_difference(&self, data: &[u8]) -> Option<String> {
        if data.len() != self.len {
            return Some(format!("memory size {} -> {}", self.len, data.len()));
        }
        for (i, (page, now)) in self.pages.iter().zip(data.chunks(PAGE)).enumerate() {
            let then: &[u8] = page.as_deref().unwrap_or(&ZERO_PAGE[..now.len()]);
            if then != now {
                let at = then.iter().zip(now).position(|(a, b)| a != b).unwrap();
                let offset = i * PAGE + at;
                return Some(format!(
                    "byte {offset:#x}: {:#04x} -> {:#04x}",
                    then[at], now[at]
                ));
            }
        }
        None
    }
}
