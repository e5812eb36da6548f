//! The differential run in Wasmtime: the input and the output side by side on the same calls,
//! with bounded fuel, comparing results, exceptions, traps, and the final exported memories and
//! globals. The calls are every function export and every function a host can reach through a
//! funcref table it holds (exported, or imported: the host made it), `Table::get` + `Func::call`,
//! each twice, exports first; then again on fresh instances with the tables' slots first, in
//! reverse, so that a trap in an export or a slot does not keep the other slots from being tried.
//!
//! Only the documented changes are allowed: after a trap in a wrapped entry (an export, or a
//! function of a table the tool wraps) every later call into one is refused, with no host
//! function called, and `__wasm_unwind_state()` says 1; when an exception leaves a wrapped entry
//! the stack pointer is restored and no other exported global differs. Entries the tool leaves
//! alone (re-exported imports, tables the module changes or the host provides) behave as before
//! processing: a trap in one does not end the instance. One allowance besides: a stack overflow
//! comes at a depth that depends on frame sizes, and the wrapper adds a frame, so the state a
//! deep recursion leaves behind is not compared, and a call that overflows on one side only is
//! inconclusive. A module that invites it also gets the [host steps](host): the host writes
//! and grows its table, its functions call back in, and a second module links to it.
//!
//! The engine compiles without optimisation: the modules are small and run once, so
//! compiling is most of a case's time, and what they compute does not depend on it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use wasm_unwind::{ExportOutcome, Report};
use wasmparser::{ElementItems, ElementKind, ExternalKind, Operator, Parser, Payload, TypeRef};
use wasmtime::{
    AsContextMut, Config, Engine, Extern, ExternType, Func, Instance, Linker, Module, Store,
    StoreLimits, StoreLimitsBuilder, Table, Trap, Val,
};

use super::{Diff, Tally};
use crate::{Export, Failure, classify, exports_of};

mod host;
pub use host::HOST_STEPS;

/// Fuel per call (and for instantiation). Both sides get the same; running out on either side
/// makes the case inconclusive.
const FUEL: u64 = 100_000;

/// Functions called through each table, at most (the first filled slots).
const SLOTS_PER_TABLE: usize = 12;

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
            .cranelift_opt_level(wasmtime::OptLevel::None)
            .wasm_backtrace_max_frames(None);
        Engine::new(&config).expect("wasmtime engine")
    })
}

/// The store's data: its limits, how many times the module called a host function, and for
/// the [host steps](host): the export and slot the host's function calls back through, and
/// how many such callbacks returned.
struct Host {
    limits: StoreLimits,
    calls: u64,
    callback: Option<(Func, u64)>,
    callbacks: usize,
}

struct Side {
    store: Store<Host>,
    instance: Instance,
    /// The [`HostTable`]s, in order (`None` where the module has no such table after all).
    tables: Vec<Option<Table>>,
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

fn new_store() -> Store<Host> {
    let limits = StoreLimitsBuilder::new()
        .memory_size(16 << 20)
        .table_elements(100_000)
        .instances(4)
        .build();
    let host = Host {
        limits,
        calls: 0,
        callback: None,
        callbacks: 0,
    };
    let mut store = Store::new(engine(), host);
    store.limiter(|host| &mut host.limits);
    store
}

/// A funcref table the host holds: one the module exports, or one it imports (the host made it).
#[derive(Debug)]
struct HostTable {
    /// Its first export name, or `module.name` when imported: its name in the tool's report.
    name: String,
    import: Option<(String, String)>,
    /// Host calls through it go through the wrappers (the report says so).
    wrapped: bool,
    /// The function instantiation puts in each slot; `None` when an offset or an item is not
    /// a constant.
    functions_at: Option<BTreeMap<u64, u32>>,
    /// The module stores functions into it at run time (the report warns of it), so what a
    /// slot holds when the host calls it is not known here: its slots are not called.
    stored_by_module: bool,
}

/// One way in: a function export, or slot `slot` of host table `table`.
#[derive(Debug, Clone)]
enum Entry {
    Export(String),
    Slot { table: usize, slot: u64 },
}

/// What the tool promises for one entry.
struct Roles {
    /// A trap in it ends the instance, an exception leaving it restores the stack pointer.
    contained: bool,
    /// How a call is refused after a trap (it traps, or returns nothing for a quiet refusal);
    /// `None` when it is not refused (not wrapped; an import, in which no Rust code runs).
    refusal: Option<Call>,
}

enum Instantiated {
    Ok(Side),
    Failed(Call),
}

fn instantiate(module: &Module, tables: &[HostTable]) -> Result<Instantiated, String> {
    let mut store = new_store();
    let mut linker: Linker<Host> = Linker::new(engine());
    define_counted_functions(&mut linker, &mut store, module)?;
    linker
        .define_unknown_imports_as_default_values(&mut store, module)
        .map_err(|e| format!("{e:#}"))?;
    store.set_fuel(FUEL).unwrap();
    let instance = match linker.instantiate(&mut store, module) {
        Ok(instance) => instance,
        Err(e) => return Ok(Instantiated::Failed(failed(&mut store, e))),
    };
    let tables = tables
        .iter()
        .map(|t| {
            let found = match &t.import {
                Some((module, name)) => linker.get(&mut store, module, name).ok(),
                None => instance.get_export(&mut store, &t.name),
            };
            found.and_then(|e| e.into_table())
        })
        .collect();
    Ok(Instantiated::Ok(Side {
        store,
        instance,
        tables,
    }))
}

/// The module's function imports: each returns default values and counts its calls.
fn define_counted_functions(
    linker: &mut Linker<Host>,
    store: &mut Store<Host>,
    module: &Module,
) -> Result<(), String> {
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        // Results without a default (non-nullable references), and a name imported twice,
        // are left to `define_unknown_imports_as_default_values`.
        let results: Option<Vec<Val>> = ty.results().map(|t| t.default_value()).collect();
        let taken = linker
            .get(&mut *store, import.module(), import.name())
            .is_ok();
        if results.is_none() || taken {
            continue;
        }
        linker
            .func_new(
                import.module(),
                import.name(),
                ty.clone(),
                move |mut caller, _, out| {
                    caller.data_mut().calls += 1;
                    for (slot, ty) in out.iter_mut().zip(ty.results()) {
                        *slot = ty.default_value().expect("checked above");
                    }
                    Ok(())
                },
            )
            .map_err(|e| format!("{e:#}"))?;
    }
    Ok(())
}

/// The outcome of a failed call, with an exception's payload read from the store.
fn failed(store: &mut Store<Host>, err: wasmtime::Error) -> Call {
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
fn pending_payload(store: &mut Store<Host>) -> Option<Vec<Value>> {
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
    /// The function behind `entry`, if there is one (a slot may be empty).
    fn func(&mut self, entry: &Entry) -> Option<Func> {
        match entry {
            Entry::Export(name) => self.instance.get_func(&mut self.store, name),
            Entry::Slot { table, slot } => {
                let table = self.tables[*table]?;
                table.get(&mut self.store, *slot)?.as_func()?.copied()
            }
        }
    }

    /// Calls `func` with default arguments; `None` when a parameter has no default.
    fn call(&mut self, func: Func) -> Option<Call> {
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

    fn call_export(&mut self, name: &str) -> Option<Call> {
        let func = self.func(&Entry::Export(name.to_string()))?;
        self.call(func)
    }

    /// The filled slots of host table `table`, the first [`SLOTS_PER_TABLE`] of them.
    fn filled_slots(&mut self, table: usize) -> Vec<u64> {
        let Some(t) = self.tables[table] else {
            return Vec::new();
        };
        (0..t.size(&self.store))
            .filter(|&slot| {
                t.get(&mut self.store, slot)
                    .is_some_and(|r| r.as_func().is_some_and(|f| f.is_some()))
            })
            .take(SLOTS_PER_TABLE)
            .collect()
    }

    /// The table slot of wasm-bindgen's abort hook: the u32 in memory 0 at the address its
    /// `__abort_handler` global holds.
    fn abort_hook_slot(&mut self, exports: &[Export]) -> Option<u64> {
        let Value::Bits(address) = self.global("__abort_handler")? else {
            return None;
        };
        let memory = exports
            .iter()
            .find(|e| e.kind == ExternalKind::Memory && e.index == 0)?;
        let memory = self.instance.get_memory(&mut self.store, &memory.name)?;
        let at = usize::try_from(address).ok()?;
        let bytes = memory.data(&self.store).get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?).into())
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let global = self.instance.get_global(&mut self.store, name)?;
        Some(value(&global.get(&mut self.store)))
    }

    /// Exported memories (unless `globals_only`) and globals (all but `skip`), and table sizes.
    fn state(
        &mut self,
        exports: &[Export],
        skip: Option<&str>,
        globals_only: bool,
    ) -> BTreeMap<String, String> {
        let mut state = BTreeMap::new();
        for Export { name, kind, .. } in exports {
            if Some(name.as_str()) == skip || (globals_only && *kind != ExternalKind::Global) {
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

/// The funcref tables of `wasm` a host holds, and whether `report` says the tool wraps each;
/// with the number of imported functions.
fn host_tables(wasm: &[u8], report: Option<&Report>) -> (Vec<HostTable>, u32) {
    let exports = exports_of(wasm);
    let mut imported_functions = 0;
    let mut imported_globals = Vec::new();
    // Per table index, its import.
    let mut imports: Vec<Option<(String, String)>> = Vec::new();
    let mut defined = 0;
    let mut segments: Vec<Segment> = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ImportSection(reader)) => {
                for import in reader.into_imports().flatten() {
                    match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => imported_functions += 1,
                        TypeRef::Table(_) => {
                            imports.push(Some((import.module.into(), import.name.into())))
                        }
                        TypeRef::Global(_) => imported_globals.push(true),
                        _ => {}
                    }
                }
            }
            Ok(Payload::TableSection(reader)) => defined += reader.count(),
            Ok(Payload::GlobalSection(reader)) => {
                imported_globals.extend((0..reader.count()).map(|_| false))
            }
            Ok(Payload::ElementSection(reader)) => {
                for element in reader.into_iter().flatten() {
                    let ElementKind::Active {
                        table_index,
                        offset_expr,
                    } = element.kind
                    else {
                        continue;
                    };
                    let ops: Vec<Operator<'_>> = offset_expr
                        .get_operators_reader()
                        .into_iter()
                        .flatten()
                        .collect();
                    // An imported global is 0 here: the host gives default values.
                    let offset = match ops[..] {
                        [Operator::I32Const { value }, Operator::End] => Some(value as u32 as u64),
                        [Operator::I64Const { value }, Operator::End] => Some(value as u64),
                        [Operator::GlobalGet { global_index }, Operator::End]
                            if imported_globals.get(global_index as usize) == Some(&true) =>
                        {
                            Some(0)
                        }
                        _ => None,
                    };
                    segments.push(Segment {
                        table: table_index.unwrap_or(0),
                        offset,
                        items: items(element.items),
                    });
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    imports.extend((0..defined).map(|_| None));
    let wrapped =
        |name: &str| report.is_some_and(|r| r.tables.iter().any(|t| t.name == name && t.wrapped));
    let stored_by_module = |name: &str| {
        let warning = format!("table `{name}`: the module stores functions in it at run time");
        report.is_some_and(|r| r.warnings.iter().any(|w| w.starts_with(&warning)))
    };
    let mut tables = Vec::new();
    for (index, import) in imports.into_iter().enumerate() {
        let export = exports
            .iter()
            .find(|e| e.kind == ExternalKind::Table && e.index as usize == index);
        let name = match (&import, export) {
            (Some((module, name)), _) => format!("{module}.{name}"),
            (None, Some(export)) => export.name.clone(),
            (None, None) => continue,
        };
        let on_table = segments.iter().filter(|s| s.table as usize == index);
        tables.push(HostTable {
            wrapped: wrapped(&name),
            stored_by_module: stored_by_module(&name),
            name,
            import,
            functions_at: functions_at(on_table),
        });
    }
    (tables, imported_functions)
}

/// An active element segment: its table, its offset when known, its items.
struct Segment {
    table: u32,
    offset: Option<u64>,
    items: Vec<Option<Option<u32>>>,
}

/// The function each slot `segments` fill holds; `None` when an offset or an item is not known.
fn functions_at<'s>(segments: impl Iterator<Item = &'s Segment>) -> Option<BTreeMap<u64, u32>> {
    let mut map = BTreeMap::new();
    for segment in segments {
        let offset = segment.offset?;
        for (i, item) in segment.items.iter().enumerate() {
            let slot = offset + i as u64;
            match item {
                Some(Some(f)) => map.insert(slot, *f),
                Some(None) => map.remove(&slot),
                None => return None,
            };
        }
    }
    Some(map)
}

/// An element segment's items: a function, null (`Some(None)`), or an expression that is
/// neither (`None`).
fn items(items: ElementItems<'_>) -> Vec<Option<Option<u32>>> {
    match items {
        ElementItems::Functions(functions) => functions
            .into_iter()
            .flatten()
            .map(|f| Some(Some(f)))
            .collect(),
        ElementItems::Expressions(_, exprs) => exprs
            .into_iter()
            .flatten()
            .map(|expr| {
                let ops: Vec<Operator<'_>> =
                    expr.get_operators_reader().into_iter().flatten().collect();
                match ops[..] {
                    [Operator::RefFunc { function_index }, Operator::End] => {
                        Some(Some(function_index))
                    }
                    [Operator::RefNull { .. }, Operator::End] => Some(None),
                    _ => None,
                }
            })
            .collect(),
    }
}

/// [`differential`] of `input` and what the tool made of it.
pub fn differential_of(input: &[u8], processed: &wasm_unwind::Processed) -> Result<Diff, String> {
    differential(input, &processed.wasm, &processed.report)
}

/// What the run goes by, from the tool's report.
struct Expected<'a> {
    exports: Vec<Export>,
    tables: Vec<HostTable>,
    imported_functions: u32,
    /// The stack pointer's export name, when it is exported.
    sp: Option<String>,
    /// What became of each function export.
    outcomes: &'a [ExportOutcome],
    /// The functions whose wrapper (an export's, or a table's: the same) refuses by returning.
    quiet: Vec<u32>,
}

impl Expected<'_> {
    fn roles(&self, entry: &Entry) -> Roles {
        let refusal = |quiet: bool| match quiet {
            true => Call::Returned(Vec::new()),
            false => Call::Trapped(Trap::UnreachableCodeReached),
        };
        match entry {
            Entry::Export(name) => {
                let outcome = self.outcomes.iter().find(|e| e.name == *name);
                let wrapped = outcome.is_none_or(|e| e.wrapped);
                Roles {
                    contained: wrapped,
                    refusal: wrapped.then(|| refusal(outcome.is_some_and(|e| e.refused_quietly))),
                }
            }
            Entry::Slot { table, slot } => {
                let table = &self.tables[*table];
                let function = table.functions_at.as_ref().and_then(|m| m.get(slot));
                let wrapper = function.filter(|&&f| table.wrapped && f >= self.imported_functions);
                Roles {
                    // The host's functions in a wrapped table (our default-value stubs) neither
                    // throw nor trap: what does is a wrapper.
                    contained: table.wrapped,
                    refusal: wrapper.map(|f| refusal(self.quiet.contains(f))),
                }
            }
        }
    }

    fn label(&self, entry: &Entry) -> String {
        match entry {
            Entry::Export(name) => format!("`{name}`"),
            Entry::Slot { table, slot } => format!("table `{}`[{slot}]", self.tables[*table].name),
        }
    }
}

/// Runs `original` and `processed` side by side (see the module's doc); `report` is what the
/// tool said of `processed`.
pub fn differential(original: &[u8], processed: &[u8], report: &Report) -> Result<Diff, String> {
    let Ok(module_o) = Module::new(engine(), original) else {
        return Ok(Diff::NotRunnable);
    };
    let module_p = Module::new(engine(), processed)
        .map_err(|e| format!("Wasmtime rejects the output but not the input: {e:#}"))?;
    let exports = exports_of(original);
    let (tables, imported_functions) = host_tables(original, Some(report));
    let quiet = report
        .exports
        .iter()
        .filter(|e| e.refused_quietly)
        .filter_map(|e| exports.iter().find(|x| x.name == e.name))
        .map(|e| e.index)
        .collect();
    let expected = Expected {
        sp: export_name_of_global(&exports, report.stack_pointer.as_ref().map(|f| f.index)),
        tables,
        imported_functions,
        outcomes: &report.exports,
        quiet,
        exports,
    };
    let host = host::host_steps(&module_o, &module_p, &expected)?;
    Ok(match (main_runs(&module_o, &module_p, &expected)?, host) {
        (Diff::Compared(mut tally), Some(Diff::Compared(steps))) => {
            tally += steps;
            Diff::Compared(tally)
        }
        (Diff::Compared(_), Some(steps)) => steps,
        (main, _) => main,
    })
}

/// The calls of every export and slot, exports first, then slots first (see the module's doc).
fn main_runs(
    module_o: &Module,
    module_p: &Module,
    expected: &Expected<'_>,
) -> Result<Diff, String> {
    let (mut side_o, side_p) = match pair(module_o, module_p, &expected.tables)? {
        Pair::Sides(o, p) => (o, p),
        Pair::Done(diff) => return Ok(diff),
    };
    let export_entries: Vec<Entry> = expected
        .exports
        .iter()
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| Entry::Export(e.name.clone()))
        .collect();
    let slot_entries: Vec<Entry> = (0..expected.tables.len())
        .filter(|&table| !expected.tables[table].stored_by_module)
        .flat_map(|table| {
            side_o
                .filled_slots(table)
                .into_iter()
                .map(move |slot| Entry::Slot { table, slot })
        })
        .collect();
    let exports_first: Vec<Entry> = [&export_entries[..], &slot_entries[..]].concat();
    let diff = run(side_o, side_p, &exports_first, expected)?;
    let Diff::Compared(mut tally) = diff else {
        return Ok(diff);
    };
    if slot_entries.is_empty() {
        return Ok(diff);
    }
    let Pair::Sides(side_o, side_p) = pair(module_o, module_p, &expected.tables)? else {
        return Err("the second instantiation differs from the first".into());
    };
    // The slots in reverse: those after a slot that traps get their turn.
    let tables_first: Vec<Entry> = slot_entries
        .iter()
        .rev()
        .chain(&export_entries)
        .cloned()
        .collect();
    // When the second run is inconclusive, what the first compared stands.
    if let Diff::Compared(second) = run(side_o, side_p, &tables_first, expected)? {
        tally += second;
    }
    Ok(Diff::Compared(tally))
}

enum Pair {
    Sides(Side, Side),
    /// Instantiation decided the case.
    Done(Diff),
}

/// Instantiates both sides, or says what their instantiation decides.
fn pair(module_o: &Module, module_p: &Module, tables: &[HostTable]) -> Result<Pair, String> {
    let side_o = match instantiate(module_o, tables) {
        Err(_) => return Ok(Pair::Done(Diff::NotRunnable)),
        Ok(Instantiated::Failed(Call::OutOfFuel)) => return Ok(Pair::Done(Diff::Inconclusive)),
        Ok(Instantiated::Failed(call_o)) => {
            return match instantiate(module_p, tables) {
                Ok(Instantiated::Failed(Call::OutOfFuel)) => Ok(Pair::Done(Diff::Inconclusive)),
                Ok(Instantiated::Failed(call_p)) if call_p == call_o => {
                    Ok(Pair::Done(Diff::Compared(Tally {
                        traps: 1,
                        ..Tally::default()
                    })))
                }
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
    match instantiate(module_p, tables) {
        Ok(Instantiated::Ok(side_p)) => Ok(Pair::Sides(side_o, side_p)),
        Ok(Instantiated::Failed(Call::OutOfFuel)) => Ok(Pair::Done(Diff::Inconclusive)),
        Ok(Instantiated::Failed(call)) => {
            Err(format!("input instantiates, output fails: {call:?}"))
        }
        Err(e) => Err(format!("output cannot be linked: {e}")),
    }
}

/// Calls `entries` twice, in order, on both sides, and checks what the tool promises.
fn run(
    mut side_o: Side,
    mut side_p: Side,
    entries: &[Entry],
    expected: &Expected<'_>,
) -> Result<Diff, String> {
    let exports = &expected.exports;
    let sp_name = expected.sp.as_deref();
    let mut tally = Tally::default();
    let mut sp_changed = false;
    let mut trapped = false;
    for entry in entries.iter().chain(entries) {
        let roles = expected.roles(entry);
        let label = expected.label(entry);
        if trapped {
            // Entries the tool leaves alone run as before, and so does an import in a wrapped
            // table (the host's own function: no code of the instance runs in it).
            let Some(refusal) = roles.refusal else {
                continue;
            };
            // wasm-bindgen's abort hook, called through its table after a termination, runs
            // by design (README, "Cooperating with wasm-bindgen's abort handling").
            if let Entry::Slot { slot, .. } = entry
                && side_p.abort_hook_slot(exports) == Some(*slot)
            {
                continue;
            }
            let host_calls = side_p.store.data().calls;
            let refused = match side_p.func(entry) {
                None => continue,
                Some(func) => side_p.call(func),
            };
            match refused {
                None => {}
                Some(call) if call == refusal => {}
                Some(other) => {
                    return Err(format!(
                        "{label} after a trap: expected refusal, got {other:?}"
                    ));
                }
            }
            if side_p.store.data().calls != host_calls {
                return Err(format!(
                    "{label} after a trap: refused, but a host function ran first"
                ));
            }
            tally.table_refused += matches!(entry, Entry::Slot { .. }) as usize;
            continue;
        }
        let sp_before = sp_name.and_then(|n| side_p.global(n));
        let (o, p) = match (side_o.func(entry), side_p.func(entry)) {
            (None, None) => continue,
            (Some(o), Some(p)) => (side_o.call(o), side_p.call(p)),
            (o, p) => {
                return Err(format!(
                    "{label}: a function in the input {}, in the output {}",
                    o.is_some(),
                    p.is_some()
                ));
            }
        };
        let (Some(o), Some(p)) = (o, p) else {
            continue;
        };
        let through_table = matches!(entry, Entry::Slot { .. });
        tally.calls += 1;
        tally.table_calls += through_table as usize;
        match (&o, &p) {
            (Call::OutOfFuel, _) | (_, Call::OutOfFuel) => return Ok(Diff::Inconclusive),
            (Call::Returned(a), Call::Returned(b)) if a == b => {}
            (Call::Threw(a), Call::Threw(b)) if a == b => {
                tally.exceptions += 1;
                tally.table_exceptions += through_table as usize;
                if !roles.contained {
                    continue;
                }
                if let Some(n) = sp_name {
                    let sp_after = side_p.global(n);
                    if sp_after != sp_before {
                        return Err(format!(
                            "{label} threw, but the stack pointer `{n}` was not restored: {sp_before:?} before, {sp_after:?} after"
                        ));
                    }
                    sp_changed |= side_o.global(n) != sp_after;
                }
                // Restoring the stack pointer touches no other global.
                let skip = sp_name.filter(|_| sp_changed);
                let when = || format!("{label} threw, and other globals changed");
                same_state(&mut side_o, &mut side_p, exports, skip, true, when)?;
            }
            (Call::Trapped(a), Call::Trapped(b)) if a == b && roles.contained => {
                trapped = true;
                tally.traps += 1;
                tally.table_traps += through_table as usize;
            }
            // A trap in an entry the tool leaves alone does not end the instance.
            (Call::Trapped(a), Call::Trapped(b)) if a == b => {}
            (Call::Other(_), Call::Other(_)) => {}
            // One side just within the stack limit, the other just beyond (see below).
            (Call::Trapped(Trap::StackOverflow), _) | (_, Call::Trapped(Trap::StackOverflow)) => {
                return Ok(Diff::Inconclusive);
            }
            _ => return Err(format!("{label}: input {o:?}, output {p:?}")),
        }
        // A stack overflow comes at a depth that depends on the frames' sizes, and the wrapper
        // adds a frame: a recursion that changes state on the way down leaves a different state
        // behind. Only the trap itself and the refusals after it are compared then.
        if trapped && o != Call::Trapped(Trap::StackOverflow) {
            // Compare the state the trap left, then check the refusals.
            // An exception that left an export earlier restored the stack pointer on one side only.
            let skip = sp_name.filter(|_| sp_changed);
            let when = || format!("state after the trap in {label} differs");
            same_state(&mut side_o, &mut side_p, exports, skip, false, when)?;
        }
    }
    if !trapped {
        let skip = sp_name.filter(|_| sp_changed);
        let when = || "final state differs".to_string();
        same_state(&mut side_o, &mut side_p, exports, skip, false, when)?;
    }
    // The instance reports itself dead exactly when a wrapped entry trapped.
    if let Some(state) = side_p.call_export(wasm_unwind::STATE_EXPORT) {
        let expected = Call::Returned(vec![Value::Bits(trapped as u128)]);
        if state != expected {
            return Err(format!(
                "{}: expected {expected:?}, got {state:?}",
                wasm_unwind::STATE_EXPORT
            ));
        }
    }
    Ok(Diff::Compared(tally))
}

/// Compares [`Side::state`] of the two sides; `when` says what differs.
fn same_state(
    side_o: &mut Side,
    side_p: &mut Side,
    exports: &[Export],
    skip: Option<&str>,
    globals_only: bool,
    when: impl Fn() -> String,
) -> Result<(), String> {
    let state_o = side_o.state(exports, skip, globals_only);
    let state_p = side_p.state(exports, skip, globals_only);
    if state_o == state_p {
        return Ok(());
    }
    Err(format!(
        "{}:\n input  {state_o:?}\n output {state_p:?}",
        when()
    ))
}

/// Processes `input` and prints each call of it and of the output side by side (every function
/// export, then every filled slot of the tables the host holds, twice), with the exported state
/// after each: for reading a failing case.
pub fn replay(input: &[u8]) {
    let input = &super::check::read_binary(input);
    let output = &wasm_unwind::process(input, &wasm_unwind::Options::default())
        .expect("process")
        .wasm;
    let (tables, _) = host_tables(input, None);
    let side = |wasm: &[u8]| match instantiate(&Module::new(engine(), wasm).unwrap(), &tables) {
        Ok(Instantiated::Ok(side)) => side,
        Ok(Instantiated::Failed(call)) => panic!("instantiation: {call:?}"),
        Err(e) => panic!("linking: {e}"),
    };
    let (mut o, mut q) = (side(input), side(output));
    let exports = exports_of(input);
    let mut entries: Vec<Entry> = exports
        .iter()
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| Entry::Export(e.name.clone()))
        .collect();
    for table in 0..tables.len() {
        let slots = o.filled_slots(table);
        entries.extend(slots.into_iter().map(|slot| Entry::Slot { table, slot }));
    }
    for entry in entries.iter().chain(&entries) {
        let a = o.func(entry).and_then(|f| o.call(f));
        let b = q.func(entry).and_then(|f| q.call(f));
        eprintln!("{entry:?}: input {a:?}\n  output {b:?}");
        eprintln!(
            "  input  {:?}\n  output {:?}",
            o.state(&exports, None, false),
            q.state(&exports, None, false)
        );
    }
}
