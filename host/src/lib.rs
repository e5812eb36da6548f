//! Run a module processed by [wasm-unwind](https://crates.io/crates/wasm-unwind) in Wasmtime and
//! get each call's outcome as a type: it returned, it panicked (with the panic message when the
//! module links `wasm-unwind-runtime`), it aborted (a trap: the instance is dead from then on), or
//! the host's own error went through it. After an abort, [`Guest::renew`] makes a fresh instance
//! with fresh store data.
//!
//! The module must be wasm-unwind's output in the exnref encoding (Wasmtime has no legacy
//! exception handling), and the [`Engine`] must have exceptions on (`Config::wasm_exceptions`).
//!
//! ```
//! # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/wasm/panics-rt.exnref.wasm");
//! # let app_wasm = wasm_unwind::process(&std::fs::read(fixture)?, &Default::default())?.wasm;
//! use wasm_unwind_wasmtime::wasmtime::{Config, Engine, Linker, Module};
//! use wasm_unwind_wasmtime::{Guest, Outcome};
//!
//! let engine = Engine::new(Config::new().wasm_exceptions(true))?;
//! let module = Module::new(&engine, &app_wasm)?; // the bytes of wasm-unwind's output
//! let mut linker = Linker::<u32>::new(&engine); // the store data here: a count of host calls
//! linker.func_wrap("env", "host_callback", |mut caller: wasmtime::Caller<'_, u32>, x: i32| {
//!     *caller.data_mut() += 1;
//!     x
//! })?;
//! linker.define_unknown_imports_as_traps(&module)?;
//! // Each instance gets its store data from the closure: this one and every fresh one.
//! let mut app = Guest::new(&linker, &module, || 0)?;
//!
//! assert!(matches!(app.call::<(i32,), i32>("call_host", (41,))?, Outcome::Returned(42)));
//! match app.call::<(), ()>("panic_static", ())? {
//!     Outcome::Panicked(panic) => assert_eq!(panic.message.as_deref(), Some("static panic message")),
//!     other => panic!("{other:?}"),
//! }
//! // The panic was contained: the instance keeps its state.
//! assert!(matches!(app.call::<(), u32>("counter_inc", ())?, Outcome::Returned(2)));
//! assert!(matches!(app.call::<(), ()>("abort_now", ())?, Outcome::Aborted { .. }));
//! assert!(matches!(app.call::<(), u32>("counter_inc", ())?, Outcome::Terminated));
//! app.renew()?; // a fresh instance, fresh store data
//! assert!(matches!(app.call::<(), u32>("counter_inc", ())?, Outcome::Returned(1)));
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

use std::fmt;

pub use wasmtime;
use wasmtime::{
    AsContextMut, Engine, ExnRef, Instance, InstancePre, Linker, Memory, Module, OwnedRooted,
    Result, RootScope, Store, Tag, ThrownException, Trap, TypedFunc, WasmParams, WasmResults, bail,
};

/// The export wasm-unwind adds: `() -> i32`, 0 while the instance is live, 1 once terminated.
const STATE_EXPORT: &str = "__wasm_unwind_state";
/// The export wasm-unwind adds when the module has Rust's unwind tag.
const TAG_EXPORT: &str = "__wasm_unwind_tag";
/// The runtime crate's export: the address of `{ ptr: u32, len: u32 }`, the last panic's message.
const MESSAGE_EXPORT: &str = "__wasm_unwind_message";

/// A live instance of a processed module, with its store, and what makes the next one.
pub struct Guest<T: 'static> {
    pre: InstancePre<T>,
    new_store: Box<dyn FnMut(&Engine) -> Store<T> + Send>,
    store: Store<T>,
    instance: Instance,
    exports: Exports,
    /// A call ended the instance: a trap (which the abort guard latched too) or a host error
    /// (which the module cannot see). Calls are no longer made.
    terminated: bool,
}

/// What one call of [`Guest::call`] came to.
#[derive(Debug)]
#[must_use]
pub enum Outcome<R> {
    /// The export returned these results.
    Returned(R),
    /// A Rust panic left the export. wasm-unwind contained it: the stack pointer is restored and
    /// the instance keeps serving with its state.
    Panicked(Panic),
    /// The call trapped: an abort (`std::process::abort`, out of memory, a panic where Rust cannot
    /// unwind) or a Wasm trap. The instance is terminated: every later call is
    /// [`Outcome::Terminated`] until [`Guest::renew`].
    Aborted {
        /// What trapped.
        trap: Trap,
        /// Wasmtime's error, with the Wasm backtrace when the engine records them.
        error: wasmtime::Error,
    },
    /// Not called: an earlier call ended the instance (an abort or a host error). The module's
    /// abort guard would refuse the call anyway after a trap; after a host error only the host
    /// knows. [`Guest::renew`] makes a fresh instance.
    Terminated,
    /// An exception a host function threw (not a Rust panic) went through the module and out of
    /// the export; Rust's cleanup ran on the way and the instance keeps serving. Read it with
    /// the store: `exception.tag(guest.store_mut())`, `exception.field(guest.store_mut(), 0)`.
    Thrown(OwnedRooted<ExnRef>),
    /// A host function returned an error (neither an exception nor a trap), which Wasm cannot
    /// see: the Rust frames it left were never cleaned up, and the abort guard cannot tell (it
    /// looks like the host still inside the import). So the instance is taken as terminated
    /// here: later calls are [`Outcome::Terminated`].
    HostError(wasmtime::Error),
}

/// A contained Rust panic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Panic {
    /// The panic's message, when the module links `wasm-unwind-runtime` (its
    /// `__wasm_unwind_message` export); `None` without it.
    pub message: Option<String>,
}

/// Whether an instance still serves calls ([`Guest::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls run.
    Live,
    /// A call trapped or a host function failed: calls are refused. [`Guest::renew`] makes a
    /// fresh instance.
    Terminated,
}

/// The processed module's own exports, found once per instance.
struct Exports {
    state: TypedFunc<(), i32>,
    tag: Option<Tag>,
    message: Option<(TypedFunc<(), i32>, Memory)>,
}

impl<T: 'static> Guest<T> {
    /// Instantiates `module` with `linker`'s definitions in a store of `module`'s engine holding
    /// `data()`. `data` is called again for each fresh instance ([`Guest::renew`]).
    ///
    /// Fails when an import is missing, instantiation fails, or the module was not processed by
    /// wasm-unwind (no `__wasm_unwind_state` export).
    pub fn new(
        linker: &Linker<T>,
        module: &Module,
        mut data: impl FnMut() -> T + Send + 'static,
    ) -> Result<Self> {
        Self::with_store(linker, module, move |engine| Store::new(engine, data()))
    }

    /// Like [`Guest::new`], with the whole store from `store` (for fuel, limits, epochs or
    /// tags made in the store): it is called with `module`'s engine for each instance.
    ///
    /// ```
    /// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/wasm/panics.exnref.wasm");
    /// # let wasm = wasm_unwind::process(&std::fs::read(fixture)?, &Default::default())?.wasm;
    /// use wasm_unwind_wasmtime::wasmtime::{Config, Engine, Linker, Module, Store, Trap};
    /// use wasm_unwind_wasmtime::{Guest, Outcome, State};
    ///
    /// let engine = Engine::new(Config::new().wasm_exceptions(true).consume_fuel(true))?;
    /// let module = Module::new(&engine, &wasm)?;
    /// let mut linker = Linker::new(&engine);
    /// linker.define_unknown_imports_as_traps(&module)?;
    /// let mut app = Guest::with_store(&linker, &module, |engine| {
    ///     let mut store = Store::new(engine, ());
    ///     store.set_fuel(10_000).unwrap();
    ///     store
    /// })?;
    /// // Running out of fuel stops Rust code half-way: the instance is terminated.
    /// match app.call::<(i32,), i32>("trap_stack_overflow", (0,))? {
    ///     Outcome::Aborted { trap, .. } => assert_eq!(trap, Trap::OutOfFuel),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(app.state()?, State::Terminated);
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    pub fn with_store(
        linker: &Linker<T>,
        module: &Module,
        store: impl FnMut(&Engine) -> Store<T> + Send + 'static,
    ) -> Result<Self> {
        let pre = linker.instantiate_pre(module)?;
        let mut new_store: Box<dyn FnMut(&Engine) -> Store<T> + Send> = Box::new(store);
        let mut store = new_store(module.engine());
        let (instance, exports) = instantiate(&pre, &mut store)?;
        Ok(Guest {
            pre,
            new_store,
            store,
            instance,
            exports,
            terminated: false,
        })
    }

    /// Calls the function export `name` with `params` and says how the call ended. Once a call
    /// has ended the instance (aborted, or a host error), no call is made: [`Outcome::Terminated`].
    ///
    /// `Err` only when there is no such export or its type is not `P -> R`.
    pub fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<Outcome<R>> {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)?;
        if self.terminated {
            return Ok(Outcome::Terminated);
        }
        let result = func.call(&mut self.store, params);
        self.outcome(result)
    }

    /// Whether the instance is terminated: a call ended it, or `__wasm_unwind_state` says so
    /// (it also latches a trap of a call made through [`Guest::store_mut`]).
    pub fn state(&mut self) -> Result<State> {
        if !self.terminated && self.exports.state.call(&mut self.store, ())? != 0 {
            self.terminated = true;
        }
        Ok(if self.terminated {
            State::Terminated
        } else {
            State::Live
        })
    }

    /// Replaces the instance with a fresh one of the same module, in a new store from the
    /// closure given to [`Guest::new`] or [`Guest::with_store`]: fresh memory, state and store
    /// data. On error the current instance stays.
    pub fn renew(&mut self) -> Result<()> {
        let mut store = (self.new_store)(self.pre.module().engine());
        let (instance, exports) = instantiate(&self.pre, &mut store)?;
        self.store = store;
        self.instance = instance;
        self.exports = exports;
        self.terminated = false;
        Ok(())
    }

    /// The current instance (for its other exports: memories, globals, tables).
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// The current instance's store (its data: [`Store::data`]).
    pub fn store(&self) -> &Store<T> {
        &self.store
    }

    /// The current instance's store, mutably. A call made through it directly is guarded by the
    /// module all the same, but its outcome is not seen here (a trap is, by [`Guest::state`]).
    pub fn store_mut(&mut self) -> &mut Store<T> {
        &mut self.store
    }

    /// Classifies the result of a call into the instance.
    fn outcome<R>(&mut self, result: Result<R>) -> Result<Outcome<R>> {
        let error = match result {
            Ok(results) => return Ok(Outcome::Returned(results)),
            Err(error) => error,
        };
        if error.is::<ThrownException>() {
            return self.exception();
        }
        self.terminated = true;
        // Asking the state latches the termination at once, in the word every instance over a
        // shared memory reads (threads): they are refused from now, not from this one's next
        // call. Its answer is known: terminated.
        let _ = self.exports.state.call(&mut self.store, ());
        Ok(match error.downcast_ref::<Trap>().copied() {
            Some(trap) => Outcome::Aborted { trap, error },
            None => Outcome::HostError(error),
        })
    }

    /// The exception an uncaught throw left in the store: a Rust panic (the module's unwind tag)
    /// or the host's own.
    fn exception<R>(&mut self) -> Result<Outcome<R>> {
        // A scope, so that the exception's root does not outlive this call (a million panics
        // would otherwise keep a million roots in the store).
        let mut scope = RootScope::new(&mut self.store);
        let Some(exception) = scope.as_context_mut().take_pending_exception() else {
            bail!("Wasmtime reported a thrown exception but none is pending");
        };
        let thrown = exception.tag(&mut scope)?;
        let panicked = match &self.exports.tag {
            Some(rust) => Tag::eq(rust, &thrown, &scope),
            None => false,
        };
        if !panicked {
            return Ok(Outcome::Thrown(exception.to_owned_rooted(&mut scope)?));
        }
        drop(scope);
        let message = self.message()?;
        Ok(Outcome::Panicked(Panic { message }))
    }

    /// The runtime crate's message of the last recovered panic, when the module links it.
    fn message(&mut self) -> Result<Option<String>> {
        let Some((message, memory)) = &self.exports.message else {
            return Ok(None);
        };
        let at = message.call(&mut self.store, ())? as u32 as usize;
        let memory = memory.data(&self.store);
        let word = |offset: usize| -> Option<usize> {
            let bytes = memory.get(at.checked_add(offset)?..at.checked_add(offset + 4)?)?;
            Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
        };
        let text = (|| {
            let (ptr, len) = (word(0)?, word(4)?);
            memory.get(ptr..ptr.checked_add(len)?)
        })();
        match text {
            Some(text) => Ok(Some(String::from_utf8_lossy(text).into_owned())),
            None => bail!("{MESSAGE_EXPORT} points outside the instance's memory"),
        }
    }
}

impl<T: 'static> fmt::Debug for Guest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest")
            .field("instance", &self.instance)
            .field("terminated", &self.terminated)
            .finish_non_exhaustive()
    }
}

/// Instantiates `pre` in `store` and finds the exports wasm-unwind and its runtime add.
fn instantiate<T>(pre: &InstancePre<T>, store: &mut Store<T>) -> Result<(Instance, Exports)> {
    let instance = pre.instantiate(&mut *store)?;
    let Some(state) = instance.get_func(&mut *store, STATE_EXPORT) else {
        bail!("the module has no `{STATE_EXPORT}` export: process it with wasm-unwind first");
    };
    let state = state.typed::<(), i32>(&*store)?;
    let tag = instance.get_tag(&mut *store, TAG_EXPORT);
    let message = match instance.get_func(&mut *store, MESSAGE_EXPORT) {
        Some(func) => match instance.get_memory(&mut *store, "memory") {
            Some(memory) => Some((func.typed::<(), i32>(&*store)?, memory)),
            None => None,
        },
        None => None,
    };
    Ok((
        instance,
        Exports {
            state,
            tag,
            message,
        },
    ))
}
