//! The differential run in Wasmtime: the input and the output side by side on the same calls,
//! with bounded fuel, comparing results, exceptions, traps, and the final exported memories and
//! globals. Only the documented changes are allowed: after a trap every later call (into a
//! wrapped export) is refused, and the stack pointer is restored when an exception leaves an
//! export. One allowance besides: a stack overflow comes at a depth that depends on frame sizes,
//! and the wrapper adds a frame, so the state a deep recursion leaves behind is not compared, and
//! a call that overflows on one side only is inconclusive.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use wasmparser::ExternalKind;
use wasmtime::{
    AsContextMut, Config, Engine, Extern, Instance, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, Trap, Val,
};

use super::Diff;
use crate::{Export, Failure, classify, exports_of};

/// Fuel per call (and for instantiation). Both sides get the same; running out on either side
/// makes the case inconclusive.
const FUEL: u64 = 100_000;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config
            .wasm_exceptions(true)
            .wasm_gc(true)
            .wasm_function_references(true)
            .wasm_tail_call(true)
            .wasm_memory64(true)
            .wasm_multi_memory(true)
            .wasm_extended_const(true)
            .wasm_relaxed_simd(true)
            .consume_fuel(true)
            .wasm_backtrace_max_frames(None);
        Engine::new(&config).expect("wasmtime engine")
    })
}

struct Side {
    store: Store<StoreLimits>,
    instance: Instance,
}

/// A call's outcome, comparable across the two sides.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Returned(Vec<Value>),
    /// An uncaught exception and its payload.
    Threw(Vec<Value>),
    Trapped(Trap),
    OutOfFuel,
    Other(String),
}

/// A value with references reduced to null or not (their identity differs between instances).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Bits(u128),
    Ref { null: bool },
}

fn value(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::Bits(*x as u32 as u128),
        Val::I64(x) => Value::Bits(*x as u64 as u128),
        Val::F32(x) => Value::Bits(*x as u128),
        Val::F64(x) => Value::Bits(*x as u128),
        Val::V128(x) => Value::Bits(x.as_u128()),
        Val::FuncRef(r) => Value::Ref { null: r.is_none() },
        Val::ExternRef(r) => Value::Ref { null: r.is_none() },
        Val::AnyRef(r) => Value::Ref { null: r.is_none() },
        Val::ExnRef(r) => Value::Ref { null: r.is_none() },
        Val::ContRef(r) => Value::Ref { null: r.is_none() },
    }
}

fn new_store() -> Store<StoreLimits> {
    let limits = StoreLimitsBuilder::new()
        .memory_size(16 << 20)
        .table_elements(100_000)
        .instances(4)
        .build();
    let mut store = Store::new(engine(), limits);
    store.limiter(|l| l);
    store
}

enum Instantiated {
    Ok(Side),
    Failed(Call),
}

fn instantiate(module: &Module) -> Result<Instantiated, String> {
    let mut store = new_store();
    let mut linker: Linker<StoreLimits> = Linker::new(engine());
    linker
        .define_unknown_imports_as_default_values(&mut store, module)
        .map_err(|e| format!("{e:#}"))?;
    store.set_fuel(FUEL).unwrap();
    match linker.instantiate(&mut store, module) {
        Ok(instance) => Ok(Instantiated::Ok(Side { store, instance })),
        Err(e) => Ok(Instantiated::Failed(failed(&mut store, e))),
    }
}

/// The outcome of a failed call, with an exception's payload read from the store.
fn failed(store: &mut Store<StoreLimits>, err: wasmtime::Error) -> Call {
    match classify(&err) {
        Failure::Exception => match pending_payload(store) {
            Some(fields) => Call::Threw(fields),
            None => Call::Other("exception without a pending exnref".into()),
        },
        Failure::Trap(Trap::OutOfFuel) => Call::OutOfFuel,
        Failure::Trap(trap) => Call::Trapped(trap),
        Failure::Other(text) => Call::Other(text),
    }
}

/// The fields of the exception an uncaught throw left in the store.
fn pending_payload(store: &mut Store<StoreLimits>) -> Option<Vec<Value>> {
    let mut scope = wasmtime::RootScope::new(store);
    let exn = scope.as_context_mut().take_pending_exception()?;
    let n = exn
        .tag(&mut scope)
        .map(|t| t.ty(&scope).ty().params().len())
        .unwrap_or(0);
    let fields = (0..n).map(|i| {
        exn.field(&mut scope, i)
            .map(|v| value(&v))
            .unwrap_or(Value::Ref { null: true })
    });
    Some(fields.collect())
}

impl Side {
    fn call(&mut self, name: &str) -> Option<Call> {
        let func = self.instance.get_func(&mut self.store, name)?;
        let ty = func.ty(&self.store);
        let args: Option<Vec<Val>> = ty.params().map(|p| p.default_value()).collect();
        let args = args?; // a non-nullable reference parameter: cannot call
        let mut results: Vec<Val> = ty.results().map(|_| Val::I32(0)).collect();
        self.store.set_fuel(FUEL).unwrap();
        Some(match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Call::Returned(results.iter().map(value).collect()),
            Err(e) => failed(&mut self.store, e),
        })
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let global = self.instance.get_global(&mut self.store, name)?;
        Some(value(&global.get(&mut self.store)))
    }

    /// Exported memories and globals (all but `skip`), and table sizes.
    fn state(&mut self, exports: &[Export], skip: Option<&str>) -> BTreeMap<String, String> {
        let mut state = BTreeMap::new();
        for Export { name, .. } in exports {
            if Some(name.as_str()) == skip {
                continue;
            }
            let text = match self.instance.get_export(&mut self.store, name) {
                Some(Extern::Memory(m)) => format!(
                    "memory {:016x} {} bytes",
                    hash(m.data(&self.store)),
                    m.data_size(&self.store)
                ),
                Some(Extern::Global(g)) => format!("global {:?}", value(&g.get(&mut self.store))),
                Some(Extern::Table(t)) => format!("table {}", t.size(&self.store)),
                Some(Extern::SharedMemory(m)) => format!("shared memory {}", m.data_size()),
                _ => continue,
            };
            state.insert(name.clone(), text);
        }
        state
    }
}

fn hash(bytes: &[u8]) -> u64 {
    // FNV-1a over 8-byte words: enough to tell memories apart.
    let mut h: u64 = 0xcbf29ce484222325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(0x100000001b3);
    }
    for &b in chunks.remainder() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    h
}

/// The export name of global `sp`, if it is exported.
fn export_name_of_global(exports: &[Export], sp: Option<u32>) -> Option<String> {
    exports
        .iter()
        .find(|e| e.kind == ExternalKind::Global && Some(e.index) == sp)
        .map(|e| e.name.clone())
}

/// [`differential`] of `input` and what the tool made of it, with the stack pointer and what
/// became of each export taken from the tool's report.
pub fn differential_of(input: &[u8], processed: &wasm_unwind::Processed) -> Result<Diff, String> {
    let report = &processed.report;
    let sp = report.stack_pointer.as_ref().map(|f| f.index);
    differential(input, &processed.wasm, sp, &report.exports)
}

/// Runs `original` and `processed` side by side: every exported function of the original, in
/// order, twice, with default arguments. `sp` is the stack pointer the tool chose; `outcomes`
/// says which function exports it left alone (re-exported imports: no module code runs in them,
/// so no refusal after a trap either) and which are refused by returning.
pub fn differential(
    original: &[u8],
    processed: &[u8],
    sp: Option<u32>,
    outcomes: &[wasm_unwind::ExportOutcome],
) -> Result<Diff, String> {
    let Ok(module_o) = Module::new(engine(), original) else {
        return Ok(Diff::NotRunnable);
    };
    let module_p = Module::new(engine(), processed)
        .map_err(|e| format!("Wasmtime rejects the output but not the input: {e:#}"))?;
    let mut side_o = match instantiate(&module_o) {
        Err(_) => return Ok(Diff::NotRunnable),
        Ok(Instantiated::Failed(Call::OutOfFuel)) => return Ok(Diff::Inconclusive),
        Ok(Instantiated::Failed(call_o)) => {
            return match instantiate(&module_p) {
                Ok(Instantiated::Failed(Call::OutOfFuel)) => Ok(Diff::Inconclusive),
                Ok(Instantiated::Failed(call_p)) if call_p == call_o => Ok(Diff::Compared {
                    calls: 0,
                    exceptions: 0,
                    trapped: true,
                }),
                Ok(Instantiated::Failed(call_p)) => Err(format!(
                    "instantiation fails differently: input {call_o:?}, output {call_p:?}"
                )),
                Ok(Instantiated::Ok(_)) => Err(format!(
                    "instantiation of the input fails ({call_o:?}), of the output not"
                )),
                Err(e) => Err(format!("output cannot be linked: {e}")),
            };
        }
        Ok(Instantiated::Ok(side)) => side,
    };
    let mut side_p = match instantiate(&module_p) {
        Ok(Instantiated::Ok(side)) => side,
        Ok(Instantiated::Failed(Call::OutOfFuel)) => return Ok(Diff::Inconclusive),
        Ok(Instantiated::Failed(call)) => {
            return Err(format!("input instantiates, output fails: {call:?}"));
        }
        Err(e) => return Err(format!("output cannot be linked: {e}")),
    };

    let exports = exports_of(original);
    let sp_name = export_name_of_global(&exports, sp);
    let funcs: Vec<&str> = exports
        .iter()
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| e.name.as_str())
        .collect();
    let mut calls = 0;
    let mut exceptions = 0;
    let mut sp_changed = false;
    let mut trapped = false;
    for name in funcs.iter().chain(funcs.iter()) {
        if trapped {
            let outcome = outcomes.iter().find(|e| e.name == *name);
            // Unwrapped exports, and the runtime crate's (`__wasm_unwind_*`, never wrapped),
            // are not refused.
            if outcome.is_some_and(|e| !e.wrapped) || name.starts_with(wasm_unwind::ADDED_PREFIX) {
                continue;
            }
            // After a trap every call into the processed instance is refused: it traps, or
            // returns nothing for a quiet refusal.
            let refusal = match outcome.is_some_and(|e| e.refused_quietly) {
                true => Call::Returned(Vec::new()),
                false => Call::Trapped(Trap::UnreachableCodeReached),
            };
            match side_p.call(name) {
                None => continue,
                Some(call) if call == refusal => continue,
                Some(other) => {
                    return Err(format!(
                        "`{name}` after a trap: expected refusal, got {other:?}"
                    ));
                }
            }
        }
        let sp_before = sp_name.as_deref().and_then(|n| side_p.global(n));
        let (Some(o), Some(p)) = (side_o.call(name), side_p.call(name)) else {
            continue;
        };
        calls += 1;
        match (&o, &p) {
            (Call::OutOfFuel, _) | (_, Call::OutOfFuel) => return Ok(Diff::Inconclusive),
            (Call::Returned(a), Call::Returned(b)) if a == b => {}
            (Call::Threw(a), Call::Threw(b)) if a == b => {
                exceptions += 1;
                if let Some(n) = sp_name.as_deref() {
                    let sp_after = side_p.global(n);
                    if sp_after != sp_before {
                        return Err(format!(
                            "`{name}` threw, but the stack pointer `{n}` was not restored: {sp_before:?} before, {sp_after:?} after"
                        ));
                    }
                    sp_changed |= side_o.global(n) != sp_after;
                }
            }
            (Call::Trapped(a), Call::Trapped(b)) if a == b => trapped = true,
            (Call::Other(_), Call::Other(_)) => {}
            // One side just within the stack limit, the other just beyond (see below).
            (Call::Trapped(Trap::StackOverflow), _) | (_, Call::Trapped(Trap::StackOverflow)) => {
                return Ok(Diff::Inconclusive);
            }
            _ => return Err(format!("`{name}`: input {o:?}, output {p:?}")),
        }
        // A stack overflow comes at a depth that depends on the frames' sizes, and the wrapper
        // adds a frame: a recursion that changes state on the way down leaves a different state
        // behind. Only the trap itself and the refusals after it are compared then.
        if trapped && o != Call::Trapped(Trap::StackOverflow) {
            // Compare the state the trap left, then check the refusals.
            // An exception that left an export earlier restored the stack pointer on one side only.
            let skip = if sp_changed { sp_name.as_deref() } else { None };
            let state_o = side_o.state(&exports, skip);
            let state_p = side_p.state(&exports, skip);
            if state_o != state_p {
                return Err(format!(
                    "state after the trap in `{name}` differs:\n input  {state_o:?}\n output {state_p:?}"
                ));
            }
        }
    }
    if !trapped {
        let skip = if sp_changed { sp_name.as_deref() } else { None };
        let state_o = side_o.state(&exports, skip);
        let state_p = side_p.state(&exports, skip);
        if state_o != state_p {
            return Err(format!(
                "final state differs:\n input  {state_o:?}\n output {state_p:?}"
            ));
        }
    }
    // The instance reports itself dead exactly when a call trapped.
    if let Some(state) = side_p.call(wasm_unwind::STATE_EXPORT) {
        let expected = Call::Returned(vec![Value::Bits(trapped as u128)]);
        if state != expected {
            return Err(format!(
                "{}: expected {expected:?}, got {state:?}",
                wasm_unwind::STATE_EXPORT
            ));
        }
    }
    Ok(Diff::Compared {
        calls,
        exceptions,
        trapped,
    })
}

/// Processes `input` and prints each call of it and of the output side by side (every function
/// export, in order, twice), with the exported state after each: for reading a failing case.
pub fn replay(input: &[u8]) {
    let input = &super::check::read_binary(input);
    let output = &wasm_unwind::process(input, &wasm_unwind::Options::default())
        .expect("process")
        .wasm;
    let side = |wasm: &[u8]| match instantiate(&Module::new(engine(), wasm).unwrap()).unwrap() {
        Instantiated::Ok(side) => side,
        Instantiated::Failed(call) => panic!("instantiation: {call:?}"),
    };
    let (mut o, mut q) = (side(input), side(output));
    let exports = exports_of(input);
    let funcs = exports.iter().filter(|e| e.kind == ExternalKind::Func);
    for Export { name, .. } in funcs.clone().chain(funcs) {
        let a = o.call(name);
        let b = q.call(name);
        eprintln!(
            "{name:?}: input {a:?}\n{:>w$}  output {b:?}",
            "",
            w = name.len() + 2
        );
        eprintln!(
            "  input  {:?}\n  output {:?}",
            o.state(&exports, None),
            q.state(&exports, None)
        );
    }
}
