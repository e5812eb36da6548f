//! Plan: decide everything the tool will do to a module, before anything is built.
//!
//! The plan is pure: from the loaded module and the options it says which exports are wrapped
//! (and why the others are not), whether the abort guard is installed and which imports it
//! shims, how a caught Rust panic is handed off, and whether the host's errors are imported
//! (JS mode). `apply` builds exactly that, and the `Report` is the plan plus what the encoder
//! had to say.

use std::collections::{HashMap, HashSet};

use globset::{Glob, GlobMatcher};
use wasmparser::ExternalKind;

use crate::Options;
use crate::abi::{MESSAGE_EXPORT, RUNTIME_EXPORT, STATE_EXPORT, TAG_EXPORT};
use crate::bindgen::{self, Bindgen};
use crate::detect::{self, Encoding, Found, Note, UnwindTag};
use crate::error::{Error, Result};
use crate::load::{Export, Module, UseKind};
use crate::nounwind::Nounwind;

/// What happened to one function export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub name: String,
    pub wrapped: bool,
    /// Why it was left alone, when it was.
    pub reason: Option<&'static str>,
    /// After an abort, a call returns without running instead of trapping (wasm-bindgen's
    /// class destructors, which its glue calls from finalisers, where nothing catches).
    pub refused_quietly: bool,
    /// Its own body catches every exception and aborts (an `extern "C"` function's terminate
    /// pad): a panic in it never reaches the wrapper.
    pub aborts_on_panic: bool,
}

/// One function export of the input and what is done with it.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// Position in the export section.
    pub position: usize,
    pub function: u32,
    pub outcome: ExportOutcome,
}

/// What happened to one function table the host can reach (exported or imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOutcome {
    /// Its first export name, or `module.name` for an imported table.
    pub name: String,
    /// Filled slots (instantiation writes a function there).
    pub entries: usize,
    /// Host calls through it go through the wrappers.
    pub wrapped: bool,
    /// Why they stay unguarded, when they do.
    pub reason: Option<String>,
    /// The slots whose function aborts on a panic (a terminate pad around its own body).
    pub aborting: Vec<u64>,
}

/// A function table the host can reach, and what is done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    pub table: u32,
    /// Positions of its exports in the export section.
    pub exports: Vec<usize>,
    pub outcome: TableOutcome,
}

/// The abort guard: the imports whose call sites go through a shim.
#[derive(Debug, Clone, Default)]
pub struct GuardPlan {
    pub shims: Vec<Shim>,
    /// The `call_indirect`s (by table and type) that go out through a shim.
    pub indirect: Vec<IndirectShim>,
    /// wasm-bindgen's terminated flag (the global holding its address), which the guard keeps
    /// in agreement with its own state.
    pub bindgen_flag: Option<u32>,
    /// wasm-unwind-runtime's termination word, which every instance over the same memory sees.
    pub shared_word: Option<detect::Word>,
    /// Memory 0 is shared: the words are read and written with atomic instructions.
    pub atomic: bool,
    /// A module of dynamic linking: its word (if any) is reached through the loader's `GOT.mem`,
    /// which gives every linked module the first definition's.
    pub dynamically_linked: bool,
    /// The hook wasm-bindgen's glue calls through the table after a termination. Set only with
    /// a wrapped table.
    pub abort_hook: Option<AbortHook>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortHook {
    /// The global holding the address of the hook's table slot.
    pub slot: u32,
    /// The functions that may be the hook, with their slots: their wrappers get its prologue.
    pub candidates: HashMap<u32, Vec<u32>>,
}

/// One shim for every `call_indirect` of this type through this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndirectShim {
    pub table: u32,
    pub type_index: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shim {
    pub import: u32,
    /// Code takes the import's address (`ref.func`, a table entry, a global), so the shim
    /// must be declared for `ref.func`.
    pub referenced: bool,
}

/// Where a caught Rust panic goes besides the stack repair every wrapper does: to the runtime
/// crate, to the host, or to both (the runtime frees it and finds its message, then the host
/// throws with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandOff {
    /// The runtime crate's recover function takes the exception back.
    pub runtime: Option<u32>,
    /// JS mode: the host's `panic` import throws a `PanicError`.
    pub to_host: bool,
}

/// How wrappers treat a caught Rust panic beyond repairing the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPlan {
    /// The Rust unwind tag.
    pub tag: u32,
    pub hand_off: HandOff,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub encoding: Option<Encoding>,
    pub unwind_tag: Option<Found>,
    pub stack_pointer: Option<Found>,
    /// Every function export of the input, in order.
    pub exports: Vec<ExportPlan>,
    pub guard: Option<GuardPlan>,
    /// The runtime crate's recover function, when the module links it.
    pub runtime: Option<u32>,
    pub recovery: Option<RecoveryPlan>,
    /// JS mode: which of the host's `panic` and `terminated` the output imports (those it
    /// calls).
    pub js: JsImports,
    /// Function tables the host can reach.
    pub tables: Vec<TablePlan>,
    /// Functions the code takes with `ref.func` that an export or an element entry declared,
    /// which now name their wrappers: the output declares them itself.
    pub still_declared: Vec<u32>,
    /// Functions whose wrappers never hand a panic on. Without the guard nothing tells the
    /// module's own call through a table from a host's, so the wrapper of a function the module
    /// calls through a wrapped table leaves a panic to the Rust frames below it.
    pub unrecovered: Vec<u32>,
    /// The output exports the unwind tag as `__wasm_unwind_tag`: the module defines it and
    /// does not export it, so the host could not reach it otherwise.
    pub export_tag: bool,
    /// What the report must say besides what the encoder says.
    pub warnings: Vec<String>,
    /// Choices the tool made where the module did not settle a question.
    pub notes: Vec<Note>,
}

/// The host's functions a JS-mode output imports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsImports {
    /// `panic`: a wrapper's Rust-panic clause throws the host's `PanicError`.
    pub panic: bool,
    /// `terminated`: the guard throws the host's `TerminatedError` on a refused entry.
    pub terminated: bool,
}

impl JsImports {
    pub fn any(&self) -> bool {
        self.panic || self.terminated
    }
}

/// The warning for a module with exception handling and no shadow stack pointer.
const NO_STACK_POINTER: &str = "no shadow stack pointer (no global named `__stack_pointer`, and global 0 is named otherwise, is not a mutable i32/i64, or the module does not show it is LLVM output): wrappers restore none; pass --stack-pointer if the module has one";

impl Plan {
    pub fn wrapped(&self) -> usize {
        self.exports.iter().filter(|e| e.outcome.wrapped).count()
    }

    /// Wrapped functions whose refused entry returns instead of trapping: wasm-bindgen's class
    /// destructors, which its glue calls from a `FinalizationRegistry` callback with no `try`.
    pub fn quiet_refusals(&self) -> Vec<u32> {
        self.exports
            .iter()
            .filter(|e| e.outcome.refused_quietly)
            .map(|e| e.function)
            .collect()
    }
}

/// One line naming the exports whose panics abort, and what to change. Only wrapped exports: the
/// others are not the user's to change (wasm-bindgen's internals, the runtime crate's own) or
/// were left out on purpose. Table slots are not named here (their functions are mostly
/// std's and wasm-bindgen's, `extern "C"` by design); the table's line and `inspect` list them.
fn nounwind_warning(exports: &[ExportPlan]) -> Option<String> {
    let names: Vec<String> = exports
        .iter()
        .filter(|e| e.outcome.aborts_on_panic && e.outcome.wrapped)
        .map(|e| format!("`{}`", e.outcome.name))
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "a panic in {} aborts the instance instead of unwinding: its own code catches every exception and aborts, as Rust does for `extern \"C\"` functions; declare them `extern \"C-unwind\"` to get the panic as an exception",
            names.join(", ")
        )
    })
}

/// Decides what to do with `module`. Fails on what the options or the module leave unsettled.
pub fn plan(module: &Module<'_>, options: &Options) -> Result<Plan> {
    let encoding = detect::encoding(module, options.encoding)?;
    let mut notes = Vec::new();
    if encoding.is_some() && options.encoding.is_none() && detect::encoding_unseen(module) {
        notes.push(Note::EncodingUnseen);
    }
    let (unwind_tag, stack_pointer) = match encoding {
        Some(_) => (
            detect::unwind_tag(module, options.tag.as_deref())?,
            detect::stack_pointer(module, options.stack_pointer.as_deref())?,
        ),
        None => (UnwindTag::None, None),
    };
    if let UnwindTag::Undecided(candidates) = &unwind_tag {
        notes.push(Note::UndecidedTag(candidates.clone()));
    }
    let unwind_tag = unwind_tag.found();
    let bindgen = bindgen::detect(module);
    if options.js && bindgen.is_some() {
        return Err(Error::JsWithBindgen);
    }
    let mut warnings = Vec::new();
    if encoding.is_some() && stack_pointer.is_none() {
        warnings.push(NO_STACK_POINTER.to_string());
    }
    let selection = Selection::new(options)?;
    selection.check(module)?;
    // Without exception handling a wrapper only serves the guard's count.
    let contain = encoding.is_some() || options.abort_guard;
    let nounwind = Nounwind::new(module, unwind_tag.as_ref().map(|t| t.index));
    let aborts = |f| encoding.is_some() && nounwind.aborts(f);
    let mut exports = choose_exports(module, &selection, contain, options.abort_guard);
    for export in &mut exports {
        export.outcome.aborts_on_panic = aborts(export.function);
    }
    let tables = choose_tables(module, contain, &aborts);
    warnings.extend(table_written_warnings(module, &tables));
    warnings.extend(nounwind_warning(&exports));
    let wraps =
        exports.iter().any(|e| e.outcome.wrapped) || tables.iter().any(|t| t.outcome.wrapped);
    // The host's errors are thrown from wrappers and the guard, so only wrapped exports need
    // them; without a wrapped export nothing counts activations, so a guard would guard nothing.
    let js = options.js && wraps;
    let guard = (options.abort_guard && wraps).then(|| guard_plan(module, bindgen, &tables));
    if let Some(warning) = reach(module, bindgen).warning().filter(|_| guard.is_some()) {
        warnings.push(warning.to_string());
    }
    let runtime = detect::runtime(module).filter(|_| encoding.is_some());
    // A caught panic goes somewhere only with the runtime crate or in JS mode.
    let recovery = unwind_tag
        .as_ref()
        .filter(|_| runtime.is_some() || js)
        .map(|tag| RecoveryPlan {
            tag: tag.index,
            hand_off: HandOff {
                runtime,
                to_host: js,
            },
        });
    let js = JsImports {
        panic: recovery.is_some_and(|r| r.hand_off.to_host),
        terminated: js && guard.is_some(),
    };
    let export_tag = unwind_tag
        .as_ref()
        .is_some_and(|tag| host_cannot_reach(module, tag.index));
    let added = [(STATE_EXPORT, guard.is_some()), (TAG_EXPORT, export_tag)];
    check_names_free(module, added)?;
    let still_declared = still_declared(module, &exports, &tables);
    let unrecovered = match (&guard, recovery) {
        (None, Some(_)) => called_through_tables(module, &tables),
        _ => Vec::new(),
    };
    Ok(Plan {
        encoding,
        unwind_tag,
        stack_pointer,
        exports,
        guard,
        runtime,
        recovery,
        js,
        tables,
        still_declared,
        unrecovered,
        export_tag,
        warnings,
        notes,
    })
}

/// The functions the code takes with `ref.func` whose exports or element entries now name their
/// wrappers (those may have been what declared them), exports first, then table entries.
fn still_declared(module: &Module<'_>, exports: &[ExportPlan], tables: &[TablePlan]) -> Vec<u32> {
    let referenced: HashSet<u32> = module
        .bodies
        .iter()
        .flat_map(|b| &b.uses)
        .filter(|u| u.takes_address())
        .map(|u| u.function)
        .collect();
    let in_tables = wrapped_segments(module, tables)
        .flat_map(|s| &module.uses_outside_code[s.uses.clone()])
        .map(|u| u.function);
    let wrapped_exports = exports
        .iter()
        .filter(|e| e.outcome.wrapped)
        .map(|e| e.function);
    let mut seen = HashSet::new();
    wrapped_exports
        .chain(in_tables)
        .filter(|f| referenced.contains(f) && seen.insert(*f))
        .collect()
}

/// The functions the module puts into wrapped tables that it also calls through.
fn called_through_tables(module: &Module<'_>, tables: &[TablePlan]) -> Vec<u32> {
    let called = |table: u32| {
        module
            .bodies
            .iter()
            .any(|b| b.indirect_calls.iter().any(|c| c.table == table))
    };
    let mut functions: Vec<u32> = wrapped_segments(module, tables)
        .filter(|s| called(s.table))
        .flat_map(|s| s.items.iter().flatten().flatten().copied())
        .collect();
    functions.sort_unstable();
    functions.dedup();
    functions
}

/// Whether the host has no way to the tag but the export we add: it is the module's own and
/// exported under no name. An imported tag the host already has, and an exported one it can
/// take from the existing export; adding a second export there would only disturb glue that
/// walks the exports (Emscripten's dynamic linking rejects a tag export it does not know).
fn host_cannot_reach(module: &Module<'_>, tag: u32) -> bool {
    let exported = module
        .exports
        .iter()
        .any(|e| e.kind == ExternalKind::Tag && e.index == tag);
    module.tags[tag as usize].import.is_none() && !exported
}

/// The names we add (those with `true`) must be free: an input that has one is refused, never
/// renamed.
fn check_names_free(module: &Module<'_>, added: [(&'static str, bool); 2]) -> Result<()> {
    let taken = added
        .into_iter()
        .find(|&(name, adds)| adds && module.exports.iter().any(|e| e.name == name));
    match taken {
        Some((name, _)) => Err(Error::ExportClash(name)),
        None => Ok(()),
    }
}

fn guard_plan(module: &Module<'_>, bindgen: Option<Bindgen>, tables: &[TablePlan]) -> GuardPlan {
    let bindgen = bindgen.unwrap_or_default();
    let table_wrapped = tables.iter().any(|t| t.outcome.wrapped);
    let abort_hook = match (bindgen.terminated, bindgen.abort_handler) {
        (Some(_), Some(slot)) if table_wrapped => Some(AbortHook {
            slot,
            candidates: abort_hook_candidates(module, tables),
        }),
        _ => None,
    };
    GuardPlan {
        shims: shimmed_imports(module, bindgen.before_cli),
        indirect: indirect_shims(module, tables),
        bindgen_flag: bindgen.terminated,
        shared_word: detect::shared_word(module),
        atomic: module.memory_shared,
        dynamically_linked: detect::dynamically_linked(module),
        abort_hook,
    }
}

/// The `() -> ()` functions of the wrapped tables with the slots they sit in, when the offsets
/// are constants: the candidates for wasm-bindgen's abort hook, whose slot its glue reads from
/// memory and calls through the exported table.
fn abort_hook_candidates(module: &Module<'_>, tables: &[TablePlan]) -> HashMap<u32, Vec<u32>> {
    let mut slots: HashMap<u32, Vec<u32>> = HashMap::new();
    for segment in wrapped_segments(module, tables) {
        let (Some(offset), Some(items)) = (segment.constant_offset, &segment.items) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let Some(function) = *item else { continue };
            let hook = bindgen::may_be_abort_hook(module, function);
            if let (true, Ok(slot)) = (hook, u32::try_from(offset + i as u64)) {
                slots.entry(function).or_default().push(slot);
            }
        }
    }
    slots
}

/// Which instances an abort ends, as far as the module lets the guard know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Memory 0 is the instance's own (or there is none): the instance is the program.
    Instance,
    /// Other instances may run over memory 0 (shared or imported), and a termination word in it
    /// (wasm-unwind-runtime's, or wasm-bindgen's flag) tells every guard: the whole program.
    Program,
    /// A module of dynamic linking with the runtime's word: every instance of every module
    /// linked with it that links the runtime too reads one word (the loader gives them the first
    /// definition's through `GOT.mem`); modules without the runtime do not.
    LinkedWithRuntime,
    /// Other instances may run over memory 0 and no word is safe to use: only the instance
    /// that trapped.
    TrappedInstanceOnly,
}

impl Reach {
    /// The warning (and `inspect`'s line) when an abort does not end the whole program.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Reach::Instance | Reach::Program => None,
            Reach::LinkedWithRuntime => Some(LINKED_WITH_RUNTIME),
            Reach::TrappedInstanceOnly => Some(INSTANCE_ONLY),
        }
    }
}

/// Which instances an abort ends. A word is safe only when nothing else can write it: a static
/// the linker placed for the runtime crate or wasm-bindgen, never bytes the tool would pick, as
/// the module's allocator may hand out any byte it does not know to be taken. A module of
/// dynamic linking shares the word with the modules linked with it that link the runtime too,
/// through the loader's `GOT.mem` (`passes::guard`); a module without the runtime has no word,
/// and the loader gives no module an import it does not declare (README "Threads and linked
/// modules").
pub fn reach(module: &Module<'_>, bindgen: Option<Bindgen>) -> Reach {
    let word =
        detect::shared_word(module).is_some() || bindgen.and_then(|b| b.terminated).is_some();
    let shared = module.memory_shared || module.memory_imported;
    match (shared, word, detect::dynamically_linked(module)) {
        (false, _, _) => Reach::Instance,
        (true, true, false) => Reach::Program,
        (true, true, true) => Reach::LinkedWithRuntime,
        (true, false, _) => Reach::TrappedInstanceOnly,
    }
}

/// The warning (and `inspect`'s line) for a module whose abort ends only the trapped instance.
pub const INSTANCE_ONLY: &str = "memory 0 is shared or imported and the module has no termination word all its instances see (link wasm-unwind-runtime): an abort stops only the instance that trapped, other threads or modules over that memory keep running";

/// The same for a module of dynamic linking with the runtime's word.
pub const LINKED_WITH_RUNTIME: &str = "the module is dynamically linked (dylink.0): an abort ends every module linked with it that links wasm-unwind-runtime too (they share one termination word through GOT.mem.__wasm_unwind_terminated), but main and side modules without the runtime keep running";

/// The function tables a host can reach, and whether processing would wrap each (for
/// `inspect`); `aborts` tells the functions that abort on a panic.
pub fn host_tables(module: &Module<'_>, aborts: &dyn Fn(u32) -> bool) -> Vec<TablePlan> {
    choose_tables(module, true, aborts)
}

/// The function tables a host can reach, and whether their entries are wrapped. The table
/// stays one: what the host or another module writes into it, the module's own indirect calls
/// see. The functions the module's active segments put there become their wrappers in place.
fn choose_tables(
    module: &Module<'_>,
    contain: bool,
    aborts: &dyn Fn(u32) -> bool,
) -> Vec<TablePlan> {
    (0..module.tables.len() as u32)
        .filter_map(|index| {
            let table = &module.tables[index as usize];
            let name = match (&table.import, table_exports(module, index).next()) {
                (Some(import), _) => format!("{}.{}", import.module, import.name),
                (None, Some((_, export))) => export.name.to_string(),
                (None, None) => return None,
            };
            if !table.ty.element_type.is_func_ref() {
                return None;
            }
            let entries = table_segments(module, index)
                .map(|s| s.items.as_ref().map_or(0, |i| i.iter().flatten().count()))
                .sum();
            let reason = why_table_unguarded(module, index, contain);
            Some(TablePlan {
                table: index,
                exports: table_exports(module, index)
                    .map(|(position, _)| position)
                    .collect(),
                outcome: TableOutcome {
                    name,
                    entries,
                    wrapped: reason.is_none(),
                    reason,
                    aborting: aborting_slots(module, index, aborts),
                },
            })
        })
        .collect()
}

/// The slots of table `index` that instantiation fills with a function that aborts on a panic
/// (segments at a constant offset: the others' slots are not known before instantiation).
fn aborting_slots(module: &Module<'_>, index: u32, aborts: &dyn Fn(u32) -> bool) -> Vec<u64> {
    let mut slots: Vec<u64> = table_segments(module, index)
        .filter_map(|s| Some((s.constant_offset?, s.items.as_ref()?)))
        .flat_map(|(offset, items)| {
            (offset..)
                .zip(items)
                .filter_map(|(slot, item)| item.filter(|&f| aborts(f)).map(|_| slot))
        })
        .collect();
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// Why the entries of function table `index` cannot be wrapped, if they cannot.
fn why_table_unguarded(module: &Module<'_>, index: u32, contain: bool) -> Option<String> {
    let table = &module.tables[index as usize];
    if table.initialised {
        Some("declared with an initialiser expression".to_string())
    } else if table.ty.element_type != wasmparser::RefType::FUNCREF {
        Some("holds typed function references".to_string())
    } else if table_segments(module, index).any(|s| s.items.is_none()) {
        Some("filled by an element expression other than ref.func".to_string())
    } else if !contain {
        Some("no exception handling and no abort guard".to_string())
    } else {
        None
    }
}

/// The warning for a wrapped table the module itself writes at run time: what it stores there
/// is what it stores, unwrapped.
fn table_written_warnings(module: &Module<'_>, tables: &[TablePlan]) -> Vec<String> {
    tables
        .iter()
        .filter(|t| t.outcome.wrapped)
        .filter_map(|t| {
            let write = module
                .bodies
                .iter()
                .flat_map(|b| &b.table_writes)
                .find(|(table, _)| *table == t.table)?;
            Some(format!(
                "table `{}`: the module stores functions in it at run time ({}); host calls through those slots are not wrapped",
                t.outcome.name, write.1
            ))
        })
        .collect()
}

/// The indirect calls that go out like calls to the host: every `call_indirect` through a
/// wrapped table, whose slots the host or another module may have filled.
fn indirect_shims(module: &Module<'_>, tables: &[TablePlan]) -> Vec<IndirectShim> {
    let wrapped: Vec<u32> = tables
        .iter()
        .filter(|t| t.outcome.wrapped)
        .map(|t| t.table)
        .collect();
    let mut shims: Vec<IndirectShim> = module
        .bodies
        .iter()
        .flat_map(|b| &b.indirect_calls)
        .filter(|c| wrapped.contains(&c.table))
        .map(|c| IndirectShim {
            table: c.table,
            type_index: c.type_index,
        })
        .collect();
    shims.sort_by_key(|s| (s.table, s.type_index));
    shims.dedup();
    shims
}

/// The exports of table `index`, with their positions in the export section.
fn table_exports<'m, 'a>(
    module: &'m Module<'a>,
    index: u32,
) -> impl Iterator<Item = (usize, &'m crate::load::Export<'a>)> {
    module
        .exports
        .iter()
        .enumerate()
        .filter(move |(_, e)| e.kind == ExternalKind::Table && e.index == index)
}

/// The active element segments that fill the tables whose entries are wrapped, in module order.
pub fn wrapped_segments<'m, 'a>(
    module: &'m Module<'a>,
    tables: &'m [TablePlan],
) -> impl Iterator<Item = &'m crate::load::ActiveSegment> {
    let wrapped = |table: u32| tables.iter().any(|t| t.outcome.wrapped && t.table == table);
    module
        .active_segments
        .iter()
        .filter(move |s| wrapped(s.table))
}

/// The active element segments that fill table `index`.
fn table_segments<'m, 'a>(
    module: &'m Module<'a>,
    index: u32,
) -> impl Iterator<Item = &'m crate::load::ActiveSegment> {
    module
        .active_segments
        .iter()
        .filter(move |s| s.table == index)
}

/// Which exports to wrap: shell-style globs (`*`, `?`, `[...]`). No `include` means all.
struct Selection {
    include: Vec<(String, GlobMatcher)>,
    exclude: Vec<(String, GlobMatcher)>,
}

fn matchers(option: &'static str, globs: &[String]) -> Result<Vec<(String, GlobMatcher)>, Error> {
    globs
        .iter()
        .map(|glob| {
            let matcher = Glob::new(glob).map_err(|_| Error::BadOption {
                option,
                value: glob.clone(),
                reason: "is not a valid glob",
            })?;
            Ok((glob.clone(), matcher.compile_matcher()))
        })
        .collect()
}

impl Selection {
    fn new(options: &Options) -> Result<Selection> {
        Ok(Selection {
            include: matchers("export", &options.exports)?,
            exclude: matchers("skip-export", &options.skip_exports)?,
        })
    }

    /// A glob given on the command line that matches no function export is almost surely a typo.
    fn check(&self, module: &Module<'_>) -> Result<()> {
        let options = [("export", &self.include), ("skip-export", &self.exclude)];
        for (option, globs) in options {
            for (glob, matcher) in globs {
                let matches = module
                    .exports
                    .iter()
                    .any(|e| e.kind == ExternalKind::Func && matcher.is_match(e.name));
                if !matches {
                    return Err(Error::BadOption {
                        option,
                        value: glob.clone(),
                        reason: "matches no function export",
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether `name` is wrapped, or why not.
    fn reason_to_skip(&self, name: &str) -> Option<&'static str> {
        let any = |globs: &[(String, GlobMatcher)]| globs.iter().any(|(_, m)| m.is_match(name));
        let included = any(&self.include);
        if (!self.include.is_empty() && !included) || any(&self.exclude) {
            Some("not selected")
        } else if !included && bindgen::own_export(name) {
            Some("wasm-bindgen internal")
        } else {
            None
        }
    }
}

/// Decides, for every function export, whether it is wrapped and why not. `contain` is false
/// when there is nothing for a wrapper to do (no exception handling, no guard).
fn choose_exports(
    module: &Module<'_>,
    selection: &Selection,
    contain: bool,
    guard: bool,
) -> Vec<ExportPlan> {
    function_exports(module)
        .map(|(position, export)| {
            let reason = if !contain {
                Some("no exception handling and no abort guard")
            } else if let Some(reason) = selection.reason_to_skip(export.name) {
                Some(reason)
            } else if export.index < module.imported_functions() {
                Some("re-exports an import: no Rust code runs in it")
            } else if RUNTIME_EXPORTS.contains(&export.name) {
                Some("wasm-unwind-runtime's own: the wrappers call it")
            } else {
                None
            };
            // A refused destructor has nothing to return, and its object dies with the instance.
            let refused_quietly = guard
                && reason.is_none()
                && bindgen::class_destructor(export.name)
                && module.function_type(export.index).results().is_empty();
            ExportPlan {
                position,
                function: export.index,
                outcome: ExportOutcome {
                    name: export.name.to_string(),
                    wrapped: reason.is_none(),
                    reason,
                    refused_quietly,
                    aborts_on_panic: false,
                },
            }
        })
        .collect()
}

/// The runtime crate's exports: the wrappers hand panics to the first, the host reads the
/// message with the second, after a panic or an abort alike.
const RUNTIME_EXPORTS: [&str; 2] = [RUNTIME_EXPORT, MESSAGE_EXPORT];

/// The input's function exports with their positions. The input is never our output (that is
/// returned as it is), so every export is the user's, whatever its name.
fn function_exports<'m, 'a>(
    module: &'m Module<'a>,
) -> impl Iterator<Item = (usize, &'m Export<'a>)> {
    module
        .exports
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == ExternalKind::Func)
}

/// The imports the guard shims: those the module's code calls, or takes with `ref.func`, a
/// table entry or a global initialiser, except, in a module `before_bindgen_cli`, the
/// toolchain's.
fn shimmed_imports(module: &Module<'_>, before_bindgen_cli: bool) -> Vec<Shim> {
    let imported = module.imported_functions() as usize;
    let mut shims: Vec<Option<Shim>> = vec![None; imported];
    let code = module.bodies.iter().flat_map(|b| &b.uses);
    let outside = module
        .uses_outside_code
        .iter()
        .filter(|u| u.kind != UseKind::Start);
    for use_ in code.chain(outside) {
        if let Some(shim) = shims.get_mut(use_.function as usize) {
            let shim = shim.get_or_insert(Shim {
                import: use_.function,
                referenced: false,
            });
            shim.referenced |= use_.takes_address();
        }
    }
    let toolchain = |s: &Shim| {
        let module_name = module.function_imports[s.import as usize].module;
        before_bindgen_cli && bindgen::replaced_by_cli(module_name)
    };
    shims
        .into_iter()
        .flatten()
        .filter(|s| !toolchain(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;

    fn planned(wat: &str, options: &Options) -> Plan {
        let bytes = wat::parse_str(wat).unwrap();
        let module = load::load(&bytes).unwrap();
        plan(&module, options).unwrap()
    }

    #[test]
    fn a_dynamically_linked_word_is_relative_to_the_memory_base_and_ends_the_linked_modules_with_it()
     {
        let module = |dylink: &str| {
            format!(
                r#"(module {dylink}
                (import "env" "memory" (memory 1))
                (import "env" "__memory_base" (global $base i32))
                (global (export "__wasm_unwind_terminated") i32 (i32.const 8))
                (func (export "f")))"#
            )
        };
        let side = wat::parse_str(module(
            r#"(@custom "dylink.0" (before first) "\01\04\10\02\00\00")"#,
        ))
        .unwrap();
        let side = load::load(&side).unwrap();
        let word = detect::shared_word(&side).unwrap();
        assert_eq!((word.global, word.base), (1, Some(0)));
        assert_eq!(reach(&side, None), Reach::LinkedWithRuntime);
        // Without dylink.0 the same module is one of a program over one memory, as before.
        let plain = wat::parse_str(module("")).unwrap();
        assert_eq!(reach(&load::load(&plain).unwrap(), None), Reach::Program);
    }

    const EXNREF: &str = r#"(module
        (import "env" "log" (func $log (param i32)))
        (import "env" "unused" (func))
        (import "__wbindgen_placeholder__" "__wbindgen_describe" (func $describe (param i32)))
        (tag $rust (param i32))
        (func $raise (param i32) (throw $rust (local.get 0)))
        (global $__stack_pointer (mut i32) (i32.const 1024))
        (table 2 funcref)
        (elem (i32.const 0) func $log)
        (func $run (export "run") (param i32)
            (try_table (catch_all 0) (call $log (local.get 0)) (call $describe (i32.const 0))))
        (func (export "__wbindgen_malloc") (param i32))
        (export "log" (func $log)))"#;

    fn wrapped(plan: &Plan) -> Vec<(&str, Option<&str>)> {
        plan.exports
            .iter()
            .map(|e| (e.outcome.name.as_str(), e.outcome.reason))
            .collect()
    }

    #[test]
    fn exports_are_wrapped_unless_a_reason_says_otherwise() {
        let plan = planned(EXNREF, &Options::default());
        assert_eq!(
            wrapped(&plan),
            [
                ("run", None),
                ("__wbindgen_malloc", Some("wasm-bindgen internal")),
                ("log", Some("re-exports an import: no Rust code runs in it")),
            ]
        );
        assert_eq!(plan.encoding, Some(Encoding::Exnref));
    }

    #[test]
    fn the_guard_shims_the_host_imports_the_code_uses() {
        let plan = planned(EXNREF, &Options::default());
        let shims = plan.guard.expect("guard").shims;
        // `unused` is never called; the toolchain's describe import must stay as it is.
        assert_eq!(
            shims,
            [Shim {
                import: 0,
                referenced: true
            }]
        );
    }

    /// `EXNREF` without wasm-bindgen's marks (JS mode refuses its output).
    fn not_bindgen() -> String {
        EXNREF
            .replace("__wbindgen_placeholder__", "env")
            .replace("__wbindgen_describe", "describe")
            .replace("__wbindgen_malloc", "__externref_table_alloc")
    }

    #[test]
    fn js_mode_is_refused_on_wasm_bindgen_output() {
        let options = Options::default().js(true);
        let module = wat::parse_str(EXNREF).unwrap();
        let module = load::load(&module).unwrap();
        assert!(matches!(plan(&module, &options), Err(Error::JsWithBindgen)));
    }

    #[test]
    fn tables_a_host_can_reach_get_wrappers_and_their_indirect_calls_go_out() {
        let planned_tables = |wat: &str| {
            let plan = planned(wat, &Options::default());
            let outcome = |t: &TablePlan| (t.outcome.entries, t.outcome.reason.clone());
            let tables = plan.tables.iter().map(outcome).collect::<Vec<_>>();
            (tables, plan.guard.map(|g| g.indirect), plan.warnings)
        };
        let module = |extra: &str| {
            format!(
                r#"(module (type $v (func)) (table $t (export "t") 4 funcref)
                   (elem (table $t) (i32.const 1) func $f $f) (func $f) {extra})"#
            )
        };
        let (tables, indirect, warnings) = planned_tables(&module(""));
        assert_eq!(tables, [(2, None)]);
        assert_eq!(indirect, Some(vec![]));
        assert!(warnings.is_empty(), "{warnings:?}");
        // The module's own calls through the table go out; what it stores there is its own.
        let call = r#"(func (call_indirect $t (type $v) (i32.const 1)))
                      (func (table.set $t (i32.const 0) (ref.null func)))"#;
        let (tables, indirect, warnings) = planned_tables(&module(call));
        assert_eq!(tables, [(2, None)]);
        let shim = IndirectShim {
            table: 0,
            type_index: 0,
        };
        assert_eq!(indirect, Some(vec![shim]));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("(table.set)"), "{warnings:?}");
        // An imported table is the host's or another module's: the same.
        let imported = r#"(module (import "env" "t" (table 1 funcref)) (func $f)
                          (elem (i32.const 0) func $f) (func (export "g")))"#;
        assert_eq!(planned_tables(imported).0, [(1, None)]);
        // Not exported, or not of functions: not a host entry.
        assert_eq!(planned_tables(r#"(module (table 1 funcref))"#).0, []);
        assert_eq!(
            planned_tables(r#"(module (table (export "x") 1 externref))"#).0,
            []
        );
    }

    /// An `extern "C"` export (a terminate pad around its code) is named in one warning, a
    /// "C-unwind" one is not; a table's slots are listed in its outcome.
    #[test]
    fn entries_whose_panics_abort_are_named_in_one_warning() {
        let wat = r#"(module
            (tag $rust (param i32))
            (global $__stack_pointer (mut i32) (i32.const 1024))
            (func $panic (param i32) (throw $rust (local.get 0)))
            (func $c (export "c") (param i32)
                try
                  local.get 0
                  call $panic
                catch_all
                  unreachable
                end)
            (func $c_unwind (export "c_unwind") (param i32) (call $panic (local.get 0)))
            (table $t (export "t") 4 funcref)
            (elem (table $t) (i32.const 1) func $c_unwind $c))"#;
        let plan = planned(wat, &Options::default());
        let aborting: Vec<_> = plan
            .exports
            .iter()
            .map(|e| e.outcome.aborts_on_panic)
            .collect();
        assert_eq!(aborting, [true, false]);
        assert_eq!(plan.tables[0].outcome.aborting, [2]);
        let warned: Vec<_> = plan
            .warnings
            .iter()
            .filter(|w| w.contains("aborts"))
            .collect();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].starts_with("a panic in `c` aborts the instance"),
            "{}",
            warned[0]
        );
    }

    #[test]
    fn js_mode_and_the_guard_need_a_wrapped_export() {
        let options = Options::default().js(true).skip_exports(["r?n"]);
        let plan = planned(&not_bindgen(), &options);
        assert_eq!(plan.wrapped(), 0);
        assert!(!plan.js.any() && plan.guard.is_none() && plan.recovery.is_none());
    }

    #[test]
    fn js_mode_hands_panics_to_the_host() {
        let options = Options::default().js(true);
        let plan = planned(&not_bindgen(), &options);
        let recovery = plan.recovery.expect("a recovery");
        let to_host_only = HandOff {
            runtime: None,
            to_host: true,
        };
        assert_eq!(recovery.hand_off, to_host_only);
        assert_eq!(recovery.tag, 0);
    }

    #[test]
    fn without_exception_handling_or_guard_nothing_is_wrapped() {
        let options = Options::default().abort_guard(false);
        let plan = planned(r#"(module (func (export "f")))"#, &options);
        assert_eq!(
            wrapped(&plan),
            [("f", Some("no exception handling and no abort guard"))]
        );
    }

    #[test]
    fn globs_match_like_a_shell() {
        let selection = |include: &[&str]| {
            let options = Options::default().exports(include.iter().copied());
            Selection::new(&options).unwrap()
        };
        let only = |glob: &str, name: &str| selection(&[glob]).reason_to_skip(name).is_none();
        assert!(only("*", "anything"));
        assert!(only("panic_*", "panic_fmt"));
        assert!(!only("panic_*", "add"));
        assert!(only("a?d", "add"));
        assert!(only("*_get", "counter_get"));
        assert!(!only("*_get", "counter_inc"));
        assert!(only("__wbg_*_*", "__wbg_log_1"));
        assert!(!only("add", "adder"));
        assert!(only("[ab]dd", "bdd"));
        assert!(only("\\*", "*") && !only("\\*", "x"));
        // Named, a wasm-bindgen internal is wrapped; others of its kind are not.
        let named = selection(&["__wbindgen_malloc", "greet"]);
        assert_eq!(named.reason_to_skip("__wbindgen_malloc"), None);
        assert_eq!(
            named.reason_to_skip("__wbindgen_free"),
            Some("not selected")
        );
        assert_eq!(
            selection(&[]).reason_to_skip("__wbg_upcast_point_to_shape"),
            Some("wasm-bindgen internal")
        );
    }

    #[test]
    fn wasm_bindgen_class_exports_are_wrapped_and_destructors_refused_quietly() {
        let wat = r#"(module
            (import "__wbindgen_placeholder__" "__wbindgen_describe" (func (param i32)))
            (tag (param i32))
            (func (param i32 i32))
            (func (param i32) (result i32) (local.get 0))
            (func (param i32) (result i32) (local.get 0))
            (export "__wbg_point_free" (func 1))
            (export "__wbg_point_free_5b2379407f1c837a" (func 1))
            (export "__wbg_get_point_x_5b2379407f1c837a" (func 2))
            (export "__wbg_set_point_x" (func 1))
            (export "__wbg_upcast_point_to_shape" (func 3))
            (export "__wbg_point_freeze" (func 1))
            (export "__wbindgen_free" (func 1)))"#;
        let plan = planned(wat, &Options::default());
        let internal = Some("wasm-bindgen internal");
        assert_eq!(
            wrapped(&plan),
            [
                ("__wbg_point_free", None),
                ("__wbg_point_free_5b2379407f1c837a", None),
                ("__wbg_get_point_x_5b2379407f1c837a", None),
                ("__wbg_set_point_x", None),
                ("__wbg_upcast_point_to_shape", internal),
                ("__wbg_point_freeze", internal),
                ("__wbindgen_free", internal),
            ]
        );
        assert!(plan.guard.is_some());
        assert_eq!(plan.quiet_refusals(), [1, 1]);
    }
    /// After wasm-bindgen's CLI (no describe functions), `--target nodejs` output still imports
    /// its JS functions from `__wbindgen_placeholder__`: real imports, shimmed like any other.
    #[test]
    fn placeholder_imports_are_shimmed_after_the_bindgen_cli() {
        let after = EXNREF.replace("__wbindgen_describe", "__wbg_log_5b2379407f1c837a");
        let shims = |wat: &str| {
            let plan = planned(wat, &Options::default());
            let shims = plan.guard.expect("guard").shims;
            shims.iter().map(|s| s.import).collect::<Vec<_>>()
        };
        assert_eq!(shims(EXNREF), [0]);
        assert_eq!(shims(&after), [0, 2]);
    }

    /// The tag export is added only where the host has no other way to the tag.
    #[test]
    fn the_tag_is_exported_only_when_the_host_cannot_reach_it() {
        let tag = |declaration: &str, encoding: &str| {
            let catch = match encoding {
                "exnref" => "(block (try_table (catch_all 0) (call $raise (local.get 0))))",
                _ => "local.get 0 try (param i32) call $raise catch_all end",
            };
            let wat = format!(
                r#"(module {declaration}
                    (func $raise (param i32) (throw 0 (local.get 0)))
                    (func (export "run") (param i32) {catch}))"#
            );
            let plan = planned(&wat, &Options::default());
            (plan.unwind_tag.map(|t| t.index), plan.export_tag)
        };
        for encoding in ["exnref", "legacy"] {
            let defined = r#"(tag (param i32))"#;
            assert_eq!(tag(defined, encoding), (Some(0), true));
            let exported = r#"(tag (export "__cpp_exception") (param i32))"#;
            assert_eq!(tag(exported, encoding), (Some(0), false));
            let imported = r#"(import "env" "__cpp_exception" (tag (param i32)))"#;
            assert_eq!(tag(imported, encoding), (Some(0), false));
        }
        // Exported under another name it still is the host's already: `__wasm_unwind_tag` is
        // then free for the module's own use.
        let wat = r#"(module (tag (export "t") (param i32))
            (func (export "__wasm_unwind_tag") (param i32) (throw 0 (local.get 0)))
            (func (export "run") (param i32) (block (try_table (catch_all 0)))))"#;
        assert!(!planned(wat, &Options::default()).export_tag);
    }

    /// Candidate tags nothing tells apart: no refusal, wrappers without a tag (no hand-off, no
    /// tag export, no JS `panic` import), and one note.
    #[test]
    fn undecided_tags_give_wrappers_that_need_no_tag() {
        for (encoding, catch) in [
            (
                "exnref",
                "(block (try_table (catch_all 0) (call $a (local.get 0))))",
            ),
            (
                "legacy",
                "local.get 0 try (param i32) call $a catch_all end",
            ),
        ] {
            let wat = format!(
                r#"(module (tag (param i32)) (tag (param i64))
                    (func $a (param i32) (throw 0 (local.get 0)))
                    (func (export "b") (param i64) (throw 1 (local.get 0)))
                    (func (export "run") (param i32) {catch}))"#
            );
            let plan = planned(&wat, &Options::default().js(true));
            assert_eq!(plan.unwind_tag, None, "{encoding}");
            assert_eq!(plan.notes, [Note::UndecidedTag(vec![0, 1])]);
            assert!(plan.recovery.is_none() && !plan.export_tag && !plan.js.panic);
            assert_eq!(plan.wrapped(), 2);
            assert!(
                plan.js.terminated,
                "the guard's refusal still throws the host's error"
            );
        }
    }

    #[test]
    fn a_module_that_never_catches_is_wrapped_in_the_standard_encoding_with_a_note() {
        let wat = r#"(module (tag (param i32))
            (func (export "f") (param i32) (throw 0 (local.get 0))))"#;
        let plan = planned(wat, &Options::default());
        assert_eq!(plan.encoding, Some(Encoding::Exnref));
        assert_eq!(plan.notes, [Note::EncodingUnseen]);
        let forced = planned(wat, &Options::default().encoding(Encoding::Legacy));
        assert_eq!(forced.encoding, Some(Encoding::Legacy));
        assert_eq!(forced.notes, []);
    }
}
