//! Robustness: hostile and generated inputs never crash the tool or yield a broken module, and
//! processing keeps what a module computes.
//!
//! Every case goes through [`check_case`]: `wasm_unwind::process` must not panic, and must either
//! return a module that validates (and does not mix the two EH encodings, and is left alone by a
//! second run) or an error whose message is one non-empty line. When the output is runnable in
//! Wasmtime (exnref or no EH), [`differential`] runs the input and the output side by side on the
//! same calls with bounded fuel and compares results, exceptions, traps, and the final exported
//! memories and globals, allowing only for the documented changes: after a trap every later call
//! (into a wrapped export) is refused, and the stack pointer is restored when an exception leaves
//! an export. One allowance besides: a stack overflow comes at a depth that depends on frame
//! sizes, and the wrapper adds a frame, so the state a deep recursion leaves behind is not
//! compared, and a call that overflows on one side only is inconclusive.
//!
//! Cases: wasm-smith modules (exnref; legacy, translated from exnref since wasm-smith 0.254 only
//! generates exnref; each with and without a Rust-like `__stack_pointer` global and `(param i32)`
//! tag), wasm-mutate mutants (wasm-mutate 0.254 refuses modules with a tag section, so in
//! practice `abort.wasm` and tag-free generated modules), truncated and bit-flipped files.
//! Legacy outputs get the validity checks only: Wasmtime does not run legacy EH.
//!
//! `fuzz_fixed_seed` is bounded by `WASM_UNWIND_FUZZ_CASES` (default 4000) and
//! `WASM_UNWIND_FUZZ_SECS` (default 75); `WASM_UNWIND_FUZZ_SEED` picks the seed. Failing inputs are
//! written to `target/robustness-failures/`. Inputs under `tests/regressions/` are re-checked by
//! `regressions`.
//!
//! The fuzz targets in `fuzz/` include this file as a module, so the checker is shared.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_unwind::{Encoding, Error, Options};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};
use wasmtime::{
    AsContextMut, Config, Engine, Extern, Instance, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, ThrownException, Trap, Val,
};

// ---------------------------------------------------------------------------------------------
// The checker

/// Fuel per call (and for instantiation). Both sides get the same; running out on either side
/// makes the case inconclusive.
pub const FUEL: u64 = 100_000;

/// What happened to one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The tool refused the input with this one-line message.
    Rejected(String),
    /// The tool wrote a valid module; `diff` says what the differential run found.
    Accepted {
        encoding: Option<Encoding>,
        diff: Diff,
    },
}

/// The differential run of an accepted case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// Compared: `calls` calls made on both sides agreed.
    Compared {
        calls: usize,
        exceptions: usize,
        trapped: bool,
    },
    /// Out of fuel on one side: nothing to conclude.
    Inconclusive,
    /// Legacy EH (Wasmtime rejects it): validity checks only.
    Legacy,
    /// Wasmtime cannot compile or link the *input* (a feature or an import it cannot provide).
    NotRunnable,
    /// The differential was not asked for.
    Skipped,
}

/// A bug: the input and what went wrong.
#[derive(Debug, Clone)]
pub struct Bug {
    pub what: String,
}

/// Runs the tool on `bytes` with `options`; `run` asks for the differential on acceptance.
pub fn check_case(bytes: &[u8], options: &Options, run: bool) -> Result<Outcome, Bug> {
    let bug = |what: String| Bug { what };
    let result = catch_unwind(AssertUnwindSafe(|| wasm_unwind::process(bytes, options)));
    let processed = match result {
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic payload)".into());
            return Err(bug(format!("wasm_unwind::process panicked: {msg}")));
        }
        Ok(Err(e)) => {
            let msg = e.to_string();
            if matches!(e, Error::OutputInvalid(_)) {
                return Err(bug(format!(
                    "output does not validate (reported by the tool): {msg}"
                )));
            }
            if msg.trim().is_empty() || msg.contains('\n') || msg.contains('\r') {
                return Err(bug(format!(
                    "error message is not one non-empty line: {msg:?}"
                )));
            }
            return Ok(Outcome::Rejected(msg));
        }
        Ok(Ok(p)) => p,
    };
    let out = &processed.wasm;
    if let Err(e) = Validator::new_with_features(WasmFeatures::all()).validate_all(out) {
        let input = match Validator::new_with_features(WasmFeatures::all())
            .validate_all(&read_binary(bytes))
        {
            Ok(_) => "input valid".to_string(),
            Err(e) => format!("input invalid too: {e}"),
        };
        return Err(bug(format!("output does not validate: {e} ({input})")));
    }
    // No exnref type in a legacy (or EH-free) output whose input has none: engines with legacy
    // EH only (Node 20) cannot even decode one.
    if processed.report.encoding != Some(Encoding::Exnref)
        && has_exnref_type(out)
        && !has_exnref_type(&read_binary(bytes))
    {
        return Err(bug(
            "the output has an exnref type, the input has none".into()
        ));
    }
    let (exnref, legacy) = eh_use(out);
    if exnref && legacy {
        return Err(bug("output mixes exnref and legacy EH instructions".into()));
    }
    let encoding = processed.report.encoding;
    match encoding {
        Some(Encoding::Legacy) if exnref => {
            return Err(bug("legacy input, exnref instructions in output".into()));
        }
        Some(Encoding::Exnref) if legacy => {
            return Err(bug("exnref input, legacy instructions in output".into()));
        }
        _ => {}
    }
    // A second run recognises its own output and changes nothing.
    match catch_unwind(AssertUnwindSafe(|| wasm_unwind::process(out, options))) {
        Err(_) => return Err(bug("second run on the output panicked".into())),
        Ok(Err(e)) => return Err(bug(format!("second run on the output failed: {e}"))),
        Ok(Ok(again)) => {
            if &again.wasm != out {
                return Err(bug("second run on the output changed it".into()));
            }
        }
    }
    let diff = if !run {
        Diff::Skipped
    } else if encoding == Some(Encoding::Legacy) || legacy {
        Diff::Legacy
    } else {
        let sp = processed.report.stack_pointer.as_ref().map(|f| f.index);
        let unwrapped: Vec<&str> = processed
            .report
            .exports
            .iter()
            .filter(|e| !e.wrapped)
            .map(|e| e.name.as_str())
            .collect();
        differential(&read_binary(bytes), out, sp, &unwrapped).map_err(bug)?
    };
    Ok(Outcome::Accepted { encoding, diff })
}

/// Whether any type, global or local of `wasm` is (or holds) an exception reference.
fn has_exnref_type(wasm: &[u8]) -> bool {
    let exn = |t: &wasmparser::ValType| {
        matches!(t, wasmparser::ValType::Ref(r) if matches!(
            r.heap_type(),
            wasmparser::HeapType::Abstract { ty: wasmparser::AbstractHeapType::Exn | wasmparser::AbstractHeapType::NoExn, .. }
        ))
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { return false };
        let found = match payload {
            Payload::TypeSection(reader) => reader
                .into_iter_err_on_gc_types()
                .flatten()
                .any(|f| f.params().iter().chain(f.results()).any(exn)),
            Payload::GlobalSection(reader) => reader
                .into_iter()
                .flatten()
                .any(|g| exn(&g.ty.content_type)),
            Payload::CodeSectionEntry(body) => body
                .get_locals_reader()
                .into_iter()
                .flatten()
                .flatten()
                .any(|(_, t)| exn(&t)),
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// `.wat` inputs are compiled here too, so that the differential sees binary.
fn read_binary(bytes: &[u8]) -> Vec<u8> {
    wasm_unwind::read_input(bytes)
        .map(|b| b.into_owned())
        .unwrap_or_else(|_| bytes.to_vec())
}

/// Which EH instruction families appear in the code: (exnref, legacy).
pub fn eh_use(wasm: &[u8]) -> (bool, bool) {
    let (mut exnref, mut legacy) = (false, false);
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut ops) = body.get_operators_reader() else {
            continue;
        };
        while !ops.eof() {
            match ops.read() {
                Ok(Operator::TryTable { .. } | Operator::ThrowRef) => exnref = true,
                Ok(
                    Operator::Try { .. }
                    | Operator::Catch { .. }
                    | Operator::CatchAll
                    | Operator::Rethrow { .. }
                    | Operator::Delegate { .. },
                ) => legacy = true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    (exnref, legacy)
}

// ---------------------------------------------------------------------------------------------
// The differential run in Wasmtime

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
        Err(e) => Ok(Instantiated::Failed(classify(&mut store, e))),
    }
}

fn classify(store: &mut Store<StoreLimits>, err: wasmtime::Error) -> Call {
    if err.downcast_ref::<ThrownException>().is_some() {
        let mut scope = wasmtime::RootScope::new(store);
        let Some(exn) = scope.as_context_mut().take_pending_exception() else {
            return Call::Other("exception without a pending exnref".into());
        };
        let n = exn
            .tag(&mut scope)
            .map(|t| t.ty(&scope).ty().params().len())
            .unwrap_or(0);
        let fields = (0..n).map(|i| {
            exn.field(&mut scope, i)
                .map(|v| value(&v))
                .unwrap_or(Value::Ref { null: true })
        });
        return Call::Threw(fields.collect());
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Call::OutOfFuel,
        Some(trap) => Call::Trapped(*trap),
        None => Call::Other(format!("{err:#}")),
    }
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
            Err(e) => classify(&mut self.store, e),
        })
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let global = self.instance.get_global(&mut self.store, name)?;
        Some(value(&global.get(&mut self.store)))
    }

    /// Exported memories and globals (all but `skip`), and table sizes.
    fn state(
        &mut self,
        exports: &[(String, wasmparser::ExternalKind)],
        skip: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut state = BTreeMap::new();
        for (name, _) in exports {
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

/// Exports of `wasm` in order, and the export name of global `sp` if it is exported.
fn exports_of(
    wasm: &[u8],
    sp: Option<u32>,
) -> (Vec<(String, wasmparser::ExternalKind)>, Option<String>) {
    let mut exports = Vec::new();
    let mut sp_name = None;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::ExportSection(reader)) = payload {
            for e in reader.into_iter().flatten() {
                if e.kind == wasmparser::ExternalKind::Global
                    && Some(e.index) == sp
                    && sp_name.is_none()
                {
                    sp_name = Some(e.name.to_string());
                }
                exports.push((e.name.to_string(), e.kind));
            }
        }
    }
    (exports, sp_name)
}

/// Runs `original` and `processed` side by side: every exported function of the original, in
/// order, twice, with default arguments. `sp` is the stack pointer the tool chose; `unwrapped`
/// the function exports it left alone (re-exported imports: no module code runs in them, so no
/// refusal after a trap either).
pub fn differential(
    original: &[u8],
    processed: &[u8],
    sp: Option<u32>,
    unwrapped: &[&str],
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

    let (exports, sp_name) = exports_of(original, sp);
    let funcs: Vec<&str> = exports
        .iter()
        .filter(|(_, k)| *k == wasmparser::ExternalKind::Func)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut calls = 0;
    let mut exceptions = 0;
    let mut sp_changed = false;
    let mut trapped = false;
    for name in funcs.iter().chain(funcs.iter()) {
        if trapped {
            // Unwrapped exports, and the runtime crate's (`__wasm_unwind_*`, never wrapped),
            // are not refused.
            if unwrapped.contains(name) || name.starts_with(wasm_unwind::ADDED_PREFIX) {
                continue;
            }
            // After a trap every call into the processed instance is refused.
            match side_p.call(name) {
                None | Some(Call::Trapped(Trap::UnreachableCodeReached)) => continue,
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

// ---------------------------------------------------------------------------------------------
// Generated modules

/// A small deterministic RNG (SplitMix64).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// wasm-smith's configuration: small modules with exceptions, everything exported, and only
/// proposals both Wasmtime and the tool handle (no threads, no shared-everything).
pub fn smith_config(u: &mut arbitrary::Unstructured<'_>) -> wasm_smith::Config {
    let mut c = wasm_smith::Config::default();
    c.exceptions_enabled = true;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.custom_descriptors_enabled = false;
    c.export_everything = true;
    c.min_funcs = 1;
    c.max_funcs = 20;
    c.max_instructions = 200;
    c.max_types = 30;
    c.max_globals = 10;
    c.max_tags = 6;
    c.max_imports = 10;
    c.max_data_segments = 8;
    c.max_element_segments = 8;
    c.max_elements = 20;
    c.max_tables = 2;
    c.max_memories = 2;
    c.max_memory32_bytes = 1 << 20;
    c.max_memory64_bytes = 1 << 20;
    c.max_table_elements = 1000;
    c.memory_max_size_required = true;
    c.table_max_size_required = true;
    c.disallow_traps = u.arbitrary().unwrap_or(false);
    c.gc_enabled = u.arbitrary().unwrap_or(true);
    c.simd_enabled = u.arbitrary().unwrap_or(true);
    c.relaxed_simd_enabled = c.simd_enabled;
    c
}

/// A wasm-smith module from `data`.
pub fn smith(data: &[u8]) -> Option<Vec<u8>> {
    let mut u = arbitrary::Unstructured::new(data);
    let config = smith_config(&mut u);
    let module = wasm_smith::Module::new(config, &mut u).ok()?;
    Some(module.to_bytes())
}

/// Adds what a Rust `panic=unwind` build has: a mutable i32 global named `__stack_pointer`
/// (exported as such), a `(param i32)` tag named `__cpp_exception`, an export `rust_panic(i32)`
/// that lowers the stack pointer by 16 and throws, and `rust_try(i32) -> i32` that catches it
/// (so the module's encoding shows). All appended, so no index moves. `None` when the module
/// already has a name section or an export of those names.
pub fn add_rust_abi(wasm: &[u8]) -> Option<Vec<u8>> {
    use wasm_encoder::{
        BlockType, Catch, CodeSection, ConstExpr, Encode, ExportKind, ExportSection, Function,
        FunctionSection, GlobalSection, GlobalType, Instruction as I, NameMap, NameSection,
        TagKind, TagSection, TagType, TypeSection, ValType,
    };
    let (mut types, mut funcs, mut globals, mut tags) = (0u32, 0u32, 0u32, 0u32);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::TypeSection(r) => {
                for group in r {
                    types += group.ok()?.types().len() as u32;
                }
            }
            Payload::ImportSection(r) => {
                for imports in r {
                    for import in imports.ok()? {
                        match import.ok()?.1.ty {
                            wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_) => {
                                funcs += 1
                            }
                            wasmparser::TypeRef::Global(_) => globals += 1,
                            wasmparser::TypeRef::Tag(_) => tags += 1,
                            _ => {}
                        }
                    }
                }
            }
            Payload::FunctionSection(r) => funcs += r.count(),
            Payload::GlobalSection(r) => globals += r.count(),
            Payload::TagSection(r) => tags += r.count(),
            Payload::ExportSection(r) => {
                for e in r {
                    if matches!(e.ok()?.name, "rust_panic" | "rust_try" | "__stack_pointer") {
                        return None;
                    }
                }
            }
            Payload::CustomSection(c) if c.name() == "name" => return None,
            _ => {}
        }
    }
    let (t_panic, t_try) = (types, types + 1);
    let (f_panic, f_try) = (funcs, funcs + 1);
    let (sp, tag) = (globals, tags);

    let mut rt = RoundtripReencoder;
    // (order key, section id, encoded section with its size prefix)
    let mut sections: Vec<(u8, u8, Vec<u8>)> = Vec::new();
    let mut seen = [false; 16];
    let enc = |s: &dyn Encode| {
        let mut v = Vec::new();
        s.encode(&mut v);
        v
    };
    let order = |id: u8| -> u8 {
        match id {
            1 => 1,
            2 => 2,
            3 => 3,
            4 => 4,
            5 => 5,
            13 => 6,
            6 => 7,
            7 => 8,
            8 => 9,
            9 => 10,
            12 => 11,
            10 => 12,
            11 => 13,
            _ => 14,
        }
    };
    let mut type_section = TypeSection::new();
    let mut function_section = FunctionSection::new();
    let mut tag_section = TagSection::new();
    let mut global_section = GlobalSection::new();
    let mut export_section = ExportSection::new();
    let mut code_section = CodeSection::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.ok()?;
        match payload {
            Payload::TypeSection(r) => {
                rt.parse_type_section(&mut type_section, r).ok()?;
                seen[1] = true;
            }
            Payload::FunctionSection(r) => {
                rt.parse_function_section(&mut function_section, r).ok()?;
                seen[3] = true;
            }
            Payload::TagSection(r) => {
                rt.parse_tag_section(&mut tag_section, r).ok()?;
                seen[13] = true;
            }
            Payload::GlobalSection(r) => {
                rt.parse_global_section(&mut global_section, r).ok()?;
                seen[6] = true;
            }
            Payload::ExportSection(r) => {
                rt.parse_export_section(&mut export_section, r).ok()?;
                seen[7] = true;
            }
            Payload::CodeSectionStart { .. } => seen[10] = true,
            Payload::CodeSectionEntry(body) => {
                rt.parse_function_body(&mut code_section, body).ok()?
            }
            Payload::Version { .. } | Payload::End(_) => {}
            other => {
                let (id, range) = other.as_section()?;
                let mut v = Vec::new();
                wasm[range].encode(&mut v);
                sections.push((order(id), id, v));
            }
        }
    }
    type_section.ty().function([ValType::I32], []);
    type_section.ty().function([ValType::I32], [ValType::I32]);
    function_section.function(t_panic);
    function_section.function(t_try);
    tag_section.tag(TagType {
        kind: TagKind::Exception,
        func_type_idx: t_panic,
    });
    global_section.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(4096),
    );
    export_section.export("rust_panic", ExportKind::Func, f_panic);
    export_section.export("rust_try", ExportKind::Func, f_try);
    export_section.export("__stack_pointer", ExportKind::Global, sp);
    let mut panic = Function::new([]);
    panic
        .instruction(&I::GlobalGet(sp))
        .instruction(&I::I32Const(16))
        .instruction(&I::I32Sub)
        .instruction(&I::GlobalSet(sp))
        .instruction(&I::LocalGet(0))
        .instruction(&I::Throw(tag))
        .instruction(&I::End);
    code_section.function(&panic);
    let mut try_ = Function::new([]);
    try_.instruction(&I::Block(BlockType::Result(ValType::I32)))
        .instruction(&I::TryTable(
            BlockType::Empty,
            vec![Catch::One { tag, label: 0 }].into(),
        ))
        .instruction(&I::LocalGet(0))
        .instruction(&I::Call(f_panic))
        .instruction(&I::End)
        .instruction(&I::I32Const(-1))
        .instruction(&I::End)
        .instruction(&I::End);
    code_section.function(&try_);
    sections.push((order(1), 1, enc(&type_section)));
    sections.push((order(3), 3, enc(&function_section)));
    sections.push((order(13), 13, enc(&tag_section)));
    sections.push((order(6), 6, enc(&global_section)));
    sections.push((order(7), 7, enc(&export_section)));
    sections.push((order(10), 10, enc(&code_section)));
    let mut names = NameSection::new();
    let mut global_names = NameMap::new();
    global_names.append(sp, "__stack_pointer");
    names.globals(&global_names);
    let mut tag_names = NameMap::new();
    tag_names.append(tag, "__cpp_exception");
    names.tags(&tag_names);
    let custom = wasm_encoder::CustomSection {
        name: "name".into(),
        data: names.as_custom().data,
    };
    sections.push((15, 0, enc(&custom)));
    let _ = seen;
    sections.sort_by_key(|s| s.0); // stable: custom sections keep their order
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    for (_, id, bytes) in sections {
        out.push(id);
        out.extend(bytes);
    }
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&out)
        .ok()?;
    Some(out)
}

/// Rewrites an exnref module into the legacy encoding: `try_table` with `catch`/`catch_all`
/// clauses becomes `try … catch $t (br L+1) … end`, and the first body starts with an empty
/// `try catch_all end` so that the encoding shows. `None` when the module uses what legacy EH
/// cannot express (`catch_ref`, `catch_all_ref`, `throw_ref`).
pub fn to_legacy(wasm: &[u8]) -> Option<Vec<u8>> {
    struct Legacy {
        ok: bool,
        first: bool,
    }
    impl Reencode for Legacy {
        type Error = std::convert::Infallible;
        fn parse_function_body(
            &mut self,
            code: &mut wasm_encoder::CodeSection,
            func: wasmparser::FunctionBody<'_>,
        ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
            use wasm_encoder::Instruction as I;
            let mut f = self.new_function_with_parsed_locals(&func)?;
            if std::mem::take(&mut self.first) {
                f.instruction(&I::Try(wasm_encoder::BlockType::Empty))
                    .instruction(&I::CatchAll)
                    .instruction(&I::End);
            }
            // One entry per open block: the catches of a try_table, or None.
            let mut frames: Vec<Option<Vec<wasmparser::Catch>>> = Vec::new();
            let mut reader = func.get_operators_reader()?;
            while !reader.eof() {
                let op = reader.read()?;
                match op {
                    Operator::TryTable { try_table } => {
                        let bt = self.block_type(try_table.ty)?;
                        f.instruction(&I::Try(bt));
                        frames.push(Some(try_table.catches));
                    }
                    Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                        frames.push(None);
                        f.instruction(&self.instruction(op)?);
                    }
                    Operator::End => {
                        if let Some(Some(catches)) = frames.pop() {
                            for catch in catches {
                                match catch {
                                    wasmparser::Catch::One { tag, label } => {
                                        f.instruction(&I::Catch(tag))
                                            .instruction(&I::Br(label + 1));
                                    }
                                    wasmparser::Catch::All { label } => {
                                        f.instruction(&I::CatchAll).instruction(&I::Br(label + 1));
                                        break;
                                    }
                                    _ => self.ok = false,
                                }
                            }
                        }
                        f.instruction(&I::End);
                    }
                    Operator::ThrowRef => {
                        self.ok = false;
                        f.instruction(&I::Unreachable);
                    }
                    op => {
                        f.instruction(&self.instruction(op)?);
                    }
                }
            }
            code.function(&f);
            Ok(())
        }
    }
    let mut legacy = Legacy {
        ok: true,
        first: true,
    };
    let mut module = wasm_encoder::Module::new();
    legacy
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .ok()?;
    if !legacy.ok {
        return None;
    }
    let out = module.finish();
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&out)
        .ok()?;
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// The fixed-seed run

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    SmithExnref,
    SmithExnrefRust,
    SmithLegacy,
    SmithLegacyRust,
    Mutated,
    Truncated,
    BitFlipped,
}

const KINDS: [Kind; 7] = [
    Kind::SmithExnref,
    Kind::SmithExnrefRust,
    Kind::SmithLegacy,
    Kind::SmithLegacyRust,
    Kind::Mutated,
    Kind::Truncated,
    Kind::BitFlipped,
];

#[derive(Default, Debug)]
pub struct Counts {
    pub cases: usize,
    /// Generation gave nothing usable (wasm-smith ran out of data, no legacy form, mutator error).
    pub not_generated: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Accepted only with `encoding` forced (the module throws but never catches).
    pub forced_encoding: usize,
    pub compared: usize,
    pub compared_calls: usize,
    pub compared_exceptions: usize,
    pub compared_traps: usize,
    pub inconclusive: usize,
    pub legacy_only: usize,
    pub not_runnable: usize,
    /// Also processed in JS mode, and valid.
    pub js_checked: usize,
}

pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasm");
    ["panics.exnref.wasm", "panics.legacy.wasm", "abort.wasm"]
        .iter()
        .map(|name| {
            (
                name.to_string(),
                std::fs::read(dir.join(name)).expect("fixture"),
            )
        })
        .collect()
}

/// JS mode re-encodes the whole module to add its imports: that path is checked on everything
/// the default accepts (validity only: the differential host does not provide those imports).
/// Returns whether it ran.
fn check_js_mode(bytes: &[u8], outcome: &Outcome) -> Result<bool, Bug> {
    let Outcome::Accepted { encoding, .. } = outcome else {
        return Ok(false);
    };
    let mut js = Options::default().js(true);
    js.encoding = *encoding;
    match check_case(bytes, &js, false)? {
        Outcome::Rejected(msg) => Err(Bug {
            what: format!("accepted by default but refused in JS mode: {msg}"),
        }),
        Outcome::Accepted { .. } => Ok(true),
    }
}

/// The whole case: the variants first try with default options; a module that throws but never
/// catches is retried with its encoding given, as a user would.
fn run_one(kind: Kind, bytes: &[u8], counts: &mut Counts) -> Result<(), Bug> {
    let outcome = check_case(bytes, &Options::default(), true)?;
    let outcome = match (&outcome, kind) {
        (
            Outcome::Rejected(msg),
            Kind::SmithExnref | Kind::SmithExnrefRust | Kind::SmithLegacy | Kind::SmithLegacyRust,
        ) if msg.contains("--encoding") => {
            let encoding = if matches!(kind, Kind::SmithExnref | Kind::SmithExnrefRust) {
                Encoding::Exnref
            } else {
                Encoding::Legacy
            };
            let forced = check_case(bytes, &Options::default().encoding(encoding), true)?;
            if matches!(forced, Outcome::Accepted { .. }) {
                counts.forced_encoding += 1;
            }
            forced
        }
        _ => outcome,
    };
    if check_js_mode(bytes, &outcome)? {
        counts.js_checked += 1;
    }
    match outcome {
        Outcome::Rejected(_) => counts.rejected += 1,
        Outcome::Accepted { diff, .. } => {
            counts.accepted += 1;
            match diff {
                Diff::Compared {
                    calls,
                    exceptions,
                    trapped,
                } => {
                    counts.compared += 1;
                    counts.compared_calls += calls;
                    counts.compared_exceptions += exceptions;
                    counts.compared_traps += trapped as usize;
                }
                Diff::Inconclusive => counts.inconclusive += 1,
                Diff::Legacy => counts.legacy_only += 1,
                Diff::NotRunnable => counts.not_runnable += 1,
                Diff::Skipped => {}
            }
        }
    }
    Ok(())
}

/// Makes the input of one case.
fn generate(kind: Kind, rng: &mut Rng, pool: &[Vec<u8>]) -> Option<Vec<u8>> {
    let smith_data = |rng: &mut Rng| {
        let n = 64 + rng.below(8192);
        rng.bytes(n)
    };
    match kind {
        Kind::SmithExnref => smith(&smith_data(rng)),
        Kind::SmithExnrefRust => smith(&smith_data(rng)).and_then(|m| add_rust_abi(&m)),
        Kind::SmithLegacy => smith(&smith_data(rng)).and_then(|m| to_legacy(&m)),
        Kind::SmithLegacyRust => smith(&smith_data(rng))
            .and_then(|m| add_rust_abi(&m))
            .and_then(|m| to_legacy(&m)),
        Kind::Mutated => {
            let base = &pool[rng.below(pool.len())];
            let mut mutate = wasm_mutate::WasmMutate::default();
            mutate
                .seed(rng.next_u64())
                .fuel(1000)
                .preserve_semantics(rng.below(4) == 0);
            // wasm-mutate's own panics are not ours: such a case counts as not generated.
            catch_unwind(AssertUnwindSafe(|| mutate.run(base).ok()?.next()?.ok()))
                .ok()
                .flatten()
        }
        Kind::Truncated => {
            let base = &pool[rng.below(pool.len())];
            Some(base[..rng.below(base.len())].to_vec())
        }
        Kind::BitFlipped => {
            let mut bytes = pool[rng.below(pool.len())].clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bytes.len());
                match rng.below(4) {
                    0 => bytes[i] = rng.next_u64() as u8,
                    1 => bytes[i] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)],
                    _ => bytes[i] ^= 1 << rng.below(8),
                }
            }
            Some(bytes)
        }
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn save_failure(kind: Kind, case: usize, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/robustness-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind:?}-{case}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The fixed-seed run: cases of every kind in turn until the case count or the time budget is
/// spent. Every bug is saved and reported; the test fails at the end if there was any.
#[test]
fn fuzz_fixed_seed() {
    let max_cases: usize = env("WASM_UNWIND_FUZZ_CASES", 4000);
    let budget = Duration::from_secs(env("WASM_UNWIND_FUZZ_SECS", 75));
    let seed: u64 = env("WASM_UNWIND_FUZZ_SEED", 0x005e_ed0f_u64);
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    // wasm-mutate panics on some inputs (caught, the case counts as not generated): keep its
    // backtraces out of the log. Panics anywhere else still print.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .location()
            .is_some_and(|l| l.file().contains("wasm-mutate"))
        {
            default_hook(info)
        }
    }));

    // Bases for mutation, truncation and bit flips: the fixtures, then generated modules too.
    let mut pool: Vec<Vec<u8>> = fixtures().into_iter().map(|(_, b)| b).collect();
    let mut counts: BTreeMap<Kind, Counts> =
        KINDS.iter().map(|&k| (k, Counts::default())).collect();
    let mut bugs: Vec<String> = Vec::new();
    let mut bug_cases: BTreeMap<String, usize> = BTreeMap::new();
    let mut case = 0;
    let mut last_report = Instant::now();
    while case < max_cases && start.elapsed() < budget && bug_cases.len() < 20 {
        let kind = KINDS[case % KINDS.len()];
        case += 1;
        let c = counts.get_mut(&kind).unwrap();
        c.cases += 1;
        let Some(bytes) = generate(kind, &mut rng, &pool) else {
            c.not_generated += 1;
            continue;
        };
        if matches!(
            kind,
            Kind::SmithExnref | Kind::SmithExnrefRust | Kind::SmithLegacy | Kind::SmithLegacyRust
        ) {
            // Keep a few recent generated modules as bases for the byte-level mutations.
            if pool.len() < 64 {
                pool.push(bytes.clone());
            } else {
                let i = 3 + rng.below(pool.len() - 3);
                pool[i] = bytes.clone();
            }
        }
        if let Err(bug) = run_one(kind, &bytes, c) {
            // One bug shows up many times: group by the message without its numbers, keep the
            // first few inputs of each, and go on.
            let key: String = bug
                .what
                .chars()
                .filter(|c| !c.is_ascii_hexdigit())
                .collect();
            let seen = bug_cases.entry(key).or_insert(0);
            *seen += 1;
            if *seen <= 3 {
                let path = save_failure(kind, case, &bytes);
                eprintln!(
                    "BUG ({kind:?}, case {case}): {}\n  input saved to {}",
                    bug.what,
                    path.display()
                );
                bugs.push(format!(
                    "{kind:?} case {case}: {} ({})",
                    bug.what,
                    path.display()
                ));
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            eprintln!("... {case} cases, {:.0?}", start.elapsed());
        }
    }
    let elapsed = start.elapsed();
    let mut total = Counts::default();
    eprintln!("robustness: seed {seed:#x}, {case} cases in {elapsed:.1?}");
    eprintln!(
        "{:<16} {:>7} {:>7} {:>8} {:>8} {:>6} {:>8} {:>7} {:>6} {:>5} {:>6} {:>6} {:>7}",
        "kind",
        "cases",
        "no-gen",
        "accepted",
        "rejected",
        "forced",
        "compared",
        "calls",
        "exns",
        "traps",
        "inconc",
        "legacy",
        "no-run"
    );
    for (kind, c) in &counts {
        eprintln!(
            "{:<16} {:>7} {:>7} {:>8} {:>8} {:>6} {:>8} {:>7} {:>6} {:>5} {:>6} {:>6} {:>7}",
            format!("{kind:?}"),
            c.cases,
            c.not_generated,
            c.accepted,
            c.rejected,
            c.forced_encoding,
            c.compared,
            c.compared_calls,
            c.compared_exceptions,
            c.compared_traps,
            c.inconclusive,
            c.legacy_only,
            c.not_runnable
        );
        total.cases += c.cases;
        total.accepted += c.accepted;
        total.rejected += c.rejected;
        total.compared += c.compared;
        total.compared_calls += c.compared_calls;
        total.compared_exceptions += c.compared_exceptions;
        total.legacy_only += c.legacy_only;
        total.js_checked += c.js_checked;
    }
    eprintln!(
        "total: {} cases, {} accepted, {} rejected, {} differential runs ({} calls, {} exceptions), {} legacy validity-only, {} also valid in JS mode, {} failing cases",
        total.cases,
        total.accepted,
        total.rejected,
        total.compared,
        total.compared_calls,
        total.compared_exceptions,
        total.legacy_only,
        total.js_checked,
        bug_cases.values().sum::<usize>()
    );
    for (what, n) in &bug_cases {
        eprintln!("bug seen in {n} case(s): {what}");
    }
    assert!(
        bugs.is_empty(),
        "{} distinct bug(s), first inputs:\n{}",
        bug_cases.len(),
        bugs.join("\n")
    );
    // The run must not pass vacuously.
    assert!(
        total.compared >= 20,
        "only {} differential runs",
        total.compared
    );
    assert!(
        total.compared_exceptions >= 5,
        "only {} exceptions compared",
        total.compared_exceptions
    );
    assert!(
        total.legacy_only >= 5,
        "only {} legacy outputs checked",
        total.legacy_only
    );
    assert!(
        total.rejected >= 20,
        "only {} rejections checked",
        total.rejected
    );
}

/// Every input once found to break the tool, kept under `tests/regressions/`.
#[test]
fn regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut bugs = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "wat")
        ) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let checked = check_case(&bytes, &Options::default(), true)
            .and_then(|outcome| check_js_mode(&bytes, &outcome));
        if let Err(bug) = checked {
            bugs.push(format!("{}: {}", path.display(), bug.what));
        }
    }
    assert!(bugs.is_empty(), "{}", bugs.join("\n"));
}

/// Prefixes of every fixture: refused with one line (or, cut at a section boundary, a valid
/// smaller module), never a panic.
#[test]
fn every_truncation_of_the_fixtures() {
    for (name, bytes) in fixtures() {
        // Every cut in the header and first sections and near the end, every 7th in between
        // (all of them take minutes in a debug build).
        let n = bytes.len();
        for len in (0..n).filter(|&l| l < 2048 || l % 7 == 0 || n - l < 512) {
            match check_case(&bytes[..len], &Options::default(), false) {
                // A cut at a section boundary is a valid (smaller) module.
                Ok(_) => {}
                Err(bug) => panic!("{name} cut to {len} bytes: {}", bug.what),
            }
        }
    }
}

/// Every small fixture, in every mode the options give: valid, no feature the input lacks, a
/// second run changes nothing, and (exnref) the same results in Wasmtime.
#[test]
fn every_fixture_in_every_mode() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasm");
    let fixtures = ["panics", "panics-rt", "bindgen"]
        .iter()
        .flat_map(|f| [format!("{f}.exnref.wasm"), format!("{f}.legacy.wasm")])
        .chain(["abort.wasm".to_string()]);
    for name in fixtures {
        let bytes = std::fs::read(dir.join(&name)).expect("fixture");
        for js in [false, true] {
            for abort_guard in [true, false] {
                let options = Options::default().js(js).abort_guard(abort_guard);
                // The differential expects the guard's refusals, and JS mode imports what its
                // host does not provide.
                if let Err(bug) = check_case(&bytes, &options, !js && abort_guard) {
                    panic!("{name}, js {js}, abort guard {abort_guard}: {}", bug.what);
                }
            }
        }
    }
}

/// The helpers themselves: the Rust-like ABI and the legacy translation yield what the tool
/// detects, and the differential sees the stack pointer being restored.
#[test]
fn generators_produce_what_they_claim() {
    let mut rng = Rng::new(1);
    let mut rust_exnref = 0;
    let mut rust_legacy = 0;
    for _ in 0..200 {
        let Some(m) = smith(&rng.bytes(2000)).and_then(|m| add_rust_abi(&m)) else {
            continue;
        };
        let p = wasm_unwind::process(&m, &Options::default());
        if let Ok(p) = p {
            assert_eq!(
                p.report
                    .stack_pointer
                    .as_ref()
                    .and_then(|f| f.name.as_deref()),
                Some("__stack_pointer")
            );
            assert_eq!(
                p.report.unwind_tag.as_ref().and_then(|f| f.name.as_deref()),
                Some("__cpp_exception")
            );
            rust_exnref += 1;
            let unwrapped: Vec<&str> = p
                .report
                .exports
                .iter()
                .filter(|e| !e.wrapped)
                .map(|e| e.name.as_str())
                .collect();
            let diff = differential(
                &m,
                &p.wasm,
                p.report.stack_pointer.as_ref().map(|f| f.index),
                &unwrapped,
            );
            let diff = diff.unwrap_or_else(|e| {
                panic!(
                    "{e} ({})",
                    save_failure(Kind::SmithExnrefRust, 0, &m).display()
                )
            });
            match diff {
                Diff::Compared { .. } | Diff::Inconclusive | Diff::NotRunnable => {}
                other => panic!("{other:?}"),
            }
        }
        if let Some(Ok(p)) = to_legacy(&m).map(|l| wasm_unwind::process(&l, &Options::default())) {
            assert_eq!(p.report.encoding, Some(Encoding::Legacy));
            rust_legacy += 1;
        }
    }
    assert!(
        rust_exnref >= 20 && rust_legacy >= 20,
        "{rust_exnref} exnref, {rust_legacy} legacy"
    );
}

/// `ref.func` of an import in code, the import declared only by a global initializer or an
/// export: the guard's shim that replaces it must be declared too.
#[test]
fn regression_shim_ref_func_must_be_declared() {
    for wat in [
        r#"(module (import "env" "f" (func $f (result i32))) (global funcref (ref.func $f))
            (func (export "get") (result funcref) ref.func $f))"#,
        r#"(module (import "env" "f" (func $f (result i32))) (export "f" (func $f))
            (func (export "get") (result funcref) ref.func $f))"#,
    ] {
        match check_case(wat.as_bytes(), &Options::default(), true) {
            Ok(Outcome::Accepted { .. }) => {}
            other => panic!("{wat}\n{:?}", other.map_err(|b| b.what)),
        }
    }
}

/// Replays one input (`WASM_UNWIND_REPLAY=path`), printing each call on both sides.
#[test]
#[ignore]
fn replay() {
    let path = std::env::var("WASM_UNWIND_REPLAY").expect("WASM_UNWIND_REPLAY");
    let input = read_binary(&std::fs::read(path).unwrap());
    let p = wasm_unwind::process(&input, &Options::default()).expect("process");
    let mut o = match instantiate(&Module::new(engine(), &input).unwrap()).unwrap() {
        Instantiated::Ok(s) => s,
        Instantiated::Failed(c) => panic!("{c:?}"),
    };
    let mut q = match instantiate(&Module::new(engine(), &p.wasm).unwrap()).unwrap() {
        Instantiated::Ok(s) => s,
        Instantiated::Failed(c) => panic!("{c:?}"),
    };
    let (exports, _) = exports_of(&input, None);
    for (name, kind) in exports.iter().chain(exports.iter()) {
        if *kind != wasmparser::ExternalKind::Func {
            continue;
        }
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

/// `ref.func $f` in code, `$f` declared only by its own export: repointing the export to the
/// wrapper must not leave `$f` undeclared (the output then fails validation, and the tool, which
/// validates only what it changed, writes it anyway).
#[test]
fn regression_export_ref_func_must_stay_declared() {
    let wat = r#"(module (func $f (export "f")) (func (export "g") (result funcref) ref.func $f))"#;
    match check_case(wat.as_bytes(), &Options::default(), true) {
        Ok(Outcome::Accepted { .. }) => {}
        other => panic!("{:?}", other.map_err(|b| b.what)),
    }
}
