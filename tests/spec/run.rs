//! Runs a script's steps in Wasmtime, each module first passed through the mode's processing.
//!
//! Every step that is a check gives `Ok(fingerprint)` or `Err(why)`. The fingerprint is the
//! exact outcome (result bits, trap code, "exception"), so a processed run can be compared with
//! the unprocessed one bit for bit, not only against the spec's pattern.
//!
//! With the abort guard ([`Mode::Guard`]) the runner also keeps its own model of which
//! instances are terminated. The rule (README "Limits"): a trap terminates the instance whose
//! code trapped, the innermost Wasm frame of the trap, and only that one. An instance that
//! reached that code through an import or a shared table cannot see the trap and keeps
//! serving. From a trap on, every call into a terminated instance must trap and its
//! `__wasm_unwind_state()` must say 1; a call into a live instance that traps only because it
//! reached a terminated one is what the rule predicts, and passes; every other step must hold
//! as unprocessed. After each trap every live instance's state is read: 1 exactly for the
//! terminated ones.

use std::collections::HashMap;

use support::{Failure, classify};
use wasm_unwind::{Options, STATE_EXPORT, process};
use wasmtime::{Engine, Extern, Instance, Linker, Module, Store, Val, WasmBacktrace};

use crate::script::{Exec, Expect, Step, What};
use crate::values;

/// How the modules of a script are prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Unprocessed,
    /// (a) `Options::default().abort_guard(false)`.
    NoGuard,
    /// (b) `Options::default()`.
    Guard,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Unprocessed => "unprocessed",
            Mode::NoGuard => "(a) no guard",
            Mode::Guard => "(b) guard",
        }
    }

    fn prepare(self, wasm: &[u8]) -> Result<Vec<u8>, String> {
        let options = match self {
            Mode::Unprocessed => return Ok(wasm.to_vec()),
            Mode::NoGuard => Options::default().abort_guard(false),
            Mode::Guard => Options::default(),
        };
        process(wasm, &options)
            .map(|p| p.wasm)
            .map_err(|e| format!("wasm_unwind::process refused the module: {e}"))
    }
}

/// What a check gave: the exact outcome, or why it failed.
pub type Check = Result<String, String>;

/// An instantiated (or, when its start trapped, half-instantiated) module.
struct Live {
    /// The line of the script that made it.
    line: usize,
    module: Module,
    instance: Option<Instance>,
    terminated: bool,
}

/// Where a name (or "the current module") points: an instance, or why there is none.
type Slot = Result<usize, String>;

pub struct Runner<'e> {
    engine: &'e Engine,
    mode: Mode,
    /// The line of the step being run.
    line: usize,
    store: Store<()>,
    linker: Linker<()>,
    lives: Vec<Live>,
    current: Option<Slot>,
    named: HashMap<String, Slot>,
    definitions: HashMap<Option<String>, Result<Vec<u8>, String>>,
}

impl<'e> Runner<'e> {
    pub fn new(engine: &'e Engine, mode: Mode) -> Runner<'e> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        crate::host::link(&mut linker, &mut store).expect("spectest host");
        Runner {
            engine,
            mode,
            line: 0,
            store,
            linker,
            lives: Vec::new(),
            current: None,
            named: HashMap::new(),
            definitions: HashMap::new(),
        }
    }

    /// Runs one step; `None` for steps that are not checks here.
    pub fn step(&mut self, step: &Step) -> Option<Check> {
        self.line = step.line;
        let check = match &step.what {
            What::Module {
                name,
                wasm,
                instantiate: true,
            } => self.module(*name, wasm, step.line),
            What::Module { name, wasm, .. } => {
                let prepared = self.mode.prepare(wasm);
                let check = prepared
                    .as_ref()
                    .map(|_| String::new())
                    .map_err(Clone::clone);
                self.definitions.insert(name.map(String::from), prepared);
                check
            }
            What::Instance { name, module } => self.instance(*name, *module, step.line),
            What::Register { as_, module } => self.register(as_, *module),
            What::Run { exec, expect } => self.run(exec, expect),
            What::Unlinkable { wasm } => self.unlinkable(wasm),
            What::Refused { .. } | What::Ignored => return None,
        };
        Some(check)
    }

    fn module(&mut self, name: Option<&str>, wasm: &[u8], line: usize) -> Check {
        let made = self
            .mode
            .prepare(wasm)
            .and_then(|wasm| self.instantiate(&wasm).map_err(|e| in_words(&e)));
        self.name_it(name, made.clone().map_err(|_| missing(line)));
        made.map(|_| String::new())
    }

    fn instance(&mut self, name: Option<&str>, module: Option<&str>, line: usize) -> Check {
        let key = module.map(String::from);
        let made = match self.definitions.get(&key).cloned() {
            Some(Ok(wasm)) => self.instantiate(&wasm).map_err(|e| in_words(&e)),
            Some(Err(e)) => Err(e),
            None => Err(format!("no module definition {module:?}")),
        };
        self.name_it(name, made.clone().map_err(|_| missing(line)));
        made.map(|_| String::new())
    }

    fn name_it(&mut self, name: Option<&str>, slot: Slot) {
        if let Some(name) = name {
            self.named.insert(name.to_string(), slot.clone());
        }
        self.current = Some(slot);
    }

    /// Compiles `wasm` anew (so each instance has its own `Module`, by which a trap's frames
    /// name it) and instantiates it.
    fn instantiate(&mut self, wasm: &[u8]) -> wasmtime::Result<usize> {
        let module = Module::new(self.engine, wasm)?;
        let made = self.linker.instantiate(&mut self.store, &module);
        let index = self.lives.len();
        self.lives.push(Live {
            line: self.line,
            module,
            instance: made.as_ref().ok().copied(),
            terminated: false,
        });
        made.map(|_| index)
    }

    fn register(&mut self, as_: &str, module: Option<&str>) -> Check {
        let live = self.resolve(module)?;
        let instance = self.lives[live]
            .instance
            .expect("registered instances exist");
        self.linker
            .instance(&mut self.store, as_, instance)
            .map_err(|e| format!("register: {}", in_words(&e)))?;
        Ok(String::new())
    }

    fn unlinkable(&mut self, wasm: &[u8]) -> Check {
        let wasm = self.mode.prepare(wasm)?;
        let module = Module::new(self.engine, &wasm).map_err(|e| in_words(&e))?;
        match self.linker.instantiate(&mut self.store, &module) {
            Ok(_) => Err("expected a link error, the module instantiated".into()),
            Err(e) if e.downcast_ref::<wasmtime::Trap>().is_some() => {
                Err(format!("expected a link error, {}", in_words(&e)))
            }
            Err(_) => Ok("unlinkable".into()),
        }
    }

    /// The instance `module` (or the current one) names.
    fn resolve(&self, module: Option<&str>) -> Result<usize, String> {
        let slot = match module {
            Some(name) => self.named.get(name),
            None => self.current.as_ref(),
        };
        slot.cloned()
            .unwrap_or_else(|| Err(format!("no module {module:?}")))
    }

    fn run(&mut self, exec: &Exec, expect: &Expect) -> Check {
        if self.mode != Mode::Guard {
            let outcome = self.exec(exec);
            return self.expect(expect, outcome);
        }
        crate::guard::run(self, exec, expect)
    }

    /// Performs `exec`: the call's results, or how it failed.
    pub(crate) fn exec(&mut self, exec: &Exec) -> Result<Vec<Val>, wasmtime::Error> {
        match exec {
            Exec::Invoke(invoke) => {
                let live = self
                    .resolve(invoke.module.map(|i| i.name()))
                    .map_err(wasmtime::Error::msg)?;
                self.invoke(live, invoke.name, &invoke.args)
            }
            Exec::Get { module, global } => {
                let live = self.resolve(*module).map_err(wasmtime::Error::msg)?;
                let instance = self.lives[live].instance.expect("instance");
                let global = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| wasmtime::Error::msg(format!("no global {global}")))?;
                Ok(vec![global.get(&mut self.store)])
            }
            Exec::Instantiate(wasm) => {
                let wasm = self.mode.prepare(wasm).map_err(wasmtime::Error::msg)?;
                self.instantiate(&wasm).map(|_| Vec::new())
            }
        }
    }

    pub(crate) fn invoke(
        &mut self,
        live: usize,
        name: &str,
        args: &[wast::WastArg],
    ) -> Result<Vec<Val>, wasmtime::Error> {
        let instance = self.lives[live].instance.expect("instance");
        let func = instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| wasmtime::Error::msg(format!("no function {name}")))?;
        let ty = func.ty(&self.store);
        let params: Vec<_> = ty.params().collect();
        let mut values = Vec::new();
        for (arg, ty) in args.iter().zip(&params) {
            values.push(values::arg(&mut self.store, arg, ty).map_err(wasmtime::Error::msg)?);
        }
        let mut results = vec![Val::I32(0); ty.results().len()];
        func.call(&mut self.store, &values, &mut results)?;
        Ok(results)
    }

    /// Whether `outcome` is what `expect` asks for; its fingerprint if so.
    pub(crate) fn expect(
        &mut self,
        expect: &Expect,
        outcome: Result<Vec<Val>, wasmtime::Error>,
    ) -> Check {
        let failure = outcome.as_ref().err().map(classify);
        if failure == Some(Failure::Exception) {
            self.store.take_pending_exception();
        }
        match (expect, outcome, failure) {
            (Expect::Nothing, Ok(vals), _) => Ok(self.bits(&vals)),
            (Expect::Return(rets), Ok(vals), _) => self.returns(rets, &vals),
            (Expect::Trap, Err(_), Some(Failure::Trap(t))) => Ok(format!("trap:{t:?}")),
            (
                Expect::Exhaustion,
                Err(_),
                Some(Failure::Trap(t @ wasmtime::Trap::StackOverflow)),
            ) => Ok(format!("trap:{t:?}")),
            (Expect::Exception, Err(_), Some(Failure::Exception)) => Ok("exception".into()),
            (_, Ok(vals), _) => Err(format!("returned {}", self.bits(&vals))),
            (_, Err(e), _) => Err(self.why(&e)),
        }
    }

    /// A failed call in words, with the instance whose code trapped.
    pub(crate) fn why(&self, e: &wasmtime::Error) -> String {
        let Some(owner) = self.owner(e) else {
            return in_words(e);
        };
        let state = if self.lives[owner].terminated {
            "terminated"
        } else {
            "live"
        };
        format!("{} in {} ({state})", in_words(e), self.describe(owner))
    }

    fn returns(&mut self, rets: &[wast::WastRet], vals: &[Val]) -> Check {
        let ok = rets.len() == vals.len()
            && rets
                .iter()
                .zip(vals)
                .all(|(r, v)| values::matches(&mut self.store, r, v));
        let bits = self.bits(vals);
        if ok {
            Ok(bits)
        } else {
            Err(format!("returned {bits}, not the expected"))
        }
    }

    fn bits(&mut self, vals: &[Val]) -> String {
        let bits: Vec<_> = vals
            .iter()
            .map(|v| values::bits(&mut self.store, v))
            .collect();
        bits.join(" ")
    }

    // ---- what the guard model (`guard.rs`) reads and changes ----

    /// The instance a step's call enters, when it is an invoke of a resolvable module.
    pub(crate) fn target(&self, exec: &Exec) -> Option<usize> {
        match exec {
            Exec::Invoke(invoke) => self.resolve(invoke.module.map(|i| i.name())).ok(),
            _ => None,
        }
    }

    pub(crate) fn describe(&self, live: usize) -> String {
        format!("the instance of line {}", self.lives[live].line)
    }

    pub(crate) fn take_exception(&mut self) {
        self.store.take_pending_exception();
    }

    pub(crate) fn terminated(&self, live: usize) -> bool {
        self.lives[live].terminated
    }

    pub(crate) fn terminate(&mut self, live: usize) {
        self.lives[live].terminated = true;
    }

    /// The instance whose code trapped: the innermost Wasm frame's module.
    pub(crate) fn owner(&self, err: &wasmtime::Error) -> Option<usize> {
        let frame = err.downcast_ref::<WasmBacktrace>()?.frames().first()?;
        self.lives
            .iter()
            .position(|l| Module::same(&l.module, frame.module()))
    }

    /// `__wasm_unwind_state()` of every instance that exports it, with whether the model says
    /// it is terminated.
    pub(crate) fn states(&mut self) -> Vec<(usize, Result<i32, String>, bool)> {
        let mut states = Vec::new();
        for live in 0..self.lives.len() {
            let Some(instance) = self.lives[live].instance else {
                continue;
            };
            let Some(Extern::Func(f)) = instance.get_export(&mut self.store, STATE_EXPORT) else {
                continue;
            };
            let state = f
                .typed::<(), i32>(&self.store)
                .and_then(|f| f.call(&mut self.store, ()))
                .map_err(|e| in_words(&e));
            states.push((live, state, self.lives[live].terminated));
        }
        states
    }
}

/// Why a name has no instance: the module at `line` did not instantiate.
fn missing(line: usize) -> String {
    format!("the module of line {line} did not instantiate")
}

/// An error in one line: the trap, "threw an exception", or the error's first line.
fn in_words(e: &wasmtime::Error) -> String {
    match classify(e) {
        Failure::Trap(t) => format!("trapped ({t:?})"),
        Failure::Exception => "threw an exception".into(),
        Failure::Other(_) => format!("{e:#}")
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}
