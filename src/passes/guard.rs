//! Guard: once any call traps, the instance refuses every later entry.
//!
//! A trap cannot be caught, so it is detected by what it leaves behind. One global, `status`,
//! says whether Rust code of this instance is running at the innermost level: 0 idle, 1
//! running, -1 terminated. A wrapped export requires 0 on entry and sets 1; it sets 0 again
//! when it returns or an exception leaves it. A call out to the host saves the status and sets
//! 0 (the host may call back in), and requires 0 again when the host returns, by value or by
//! exception, before restoring the saved status. A trap skips the reset, so the next entry, or
//! the return from the import that a nested call trapped under, finds 1, latches -1 and traps
//! at once, before any original code runs.
//!
//! Imports are not changed: their call sites, `ref.func`s, table entries and global
//! initialisers are redirected to one shim per import.
//!
//! A `call_indirect` through a table the host can reach may call anything the host or another
//! module put there, which may call back in: it goes out like an import call, through one shim
//! per table and type, which sets a fourth status, 2 "out through a table". There the callee is
//! our wrapper (every function the module put in such a table is), or a foreign function; a
//! wrapper accepts "idle" and "out through a table" alike, and puts back on its way out the
//! status it found. So a status with its low bit set (running, terminated) refuses an entry,
//! and the shim requires "out through a table" when control comes back. The slot is checked
//! first, with the status running: an empty or missing slot traps in the shim exactly as the
//! instruction would, and that trap is seen. A trap in the callee's own instance is seen by that
//! instance; a signature mismatch, or a trap in a foreign function, leaves this instance's
//! status "out" and is not seen (README "Limits").
//!
//! A wrapper entered "out through a table" is an internal call, or a callback from a foreign
//! function the module called: a Rust panic passing through it belongs to the Rust frames
//! below, so it is not handed to the runtime or the host (`recover`), only rethrown.
//!
//! wasm-bindgen output keeps a termination flag of its own (a u32 in linear memory), which its
//! glue sets when a call fails with anything but a JS exception, and then calls the module's
//! abort hook through the exported function table before refusing calls or re-instantiating.
//! The two must agree: a termination the guard latches also sets that flag, the flag set counts
//! as terminated for the guard, and the registered abort hook, called through the table after a
//! termination, runs (with the status running, so that it can call the import that schedules
//! wasm-bindgen's reinit) instead of being refused.
//!
//! Threads, and modules linked over one memory, are several instances of one program: each
//! has its own status global, which no other instance sees. So one word in linear memory says
//! "terminated" to all of them: every guard ORs it into its entry check, reads it when an
//! import returns (another thread may have trapped while this one waited), and sets it when it
//! latches. The word must be one nothing else can write, and the tool cannot know which bytes
//! the module's allocator may hand out; so it is only ever a static the linker placed: the
//! runtime crate's `__wasm_unwind_terminated` (exported by address, as the linker exports a
//! data symbol), or wasm-bindgen's flag (above), which serves the same way. With memory 0
//! shared, the words are read and written with atomic instructions, so every thread sees one
//! order of them. A trap leaves its trace only in its own instance's status: the word is set
//! when that instance's guard latches, at its next entry or when the host asks its state (the
//! host libraries do on a trap). A module whose memory is shared or imported without such a
//! word is processed as before, with one warning that an abort stops only the trapped instance.
//! wasm-bindgen's abort hook may call an import after a termination, so with a hook the word is
//! read on entry only, not when an import returns.
//!
//! A module of dynamic linking (`dylink.0`) exports its data addresses relative to
//! `__memory_base`, where the loader placed its data: the guard adds it, as the loader does.
//! Its word is its own copy of the static; to make one word for every module that links the
//! runtime, the guard imports `GOT.mem.__wasm_unwind_terminated`, which the loader fills with
//! the first definition's address, and reads the word there once it is filled (non-zero).
//! Modules without the runtime have no word and keep running, and the warning says so.
//!
//! wasm-bindgen's class destructors (`__wbg_<class>_free`) are refused without a trap: its glue
//! also calls them from a `FinalizationRegistry` callback, outside any `try`, where an error
//! would be uncaught (Node ends the process). The object dies with the instance anyway.

use wasm_encoder::{
    BlockType, ConstExpr, ExportKind, Function, GlobalType, InstructionSink, ValType,
};

use super::{Callee, call_in_catch_all, push_params};
use crate::abi::{GOT_MEM, SHARED_WORD_EXPORT, STATE_EXPORT};
use crate::detect::{self, Word};
use crate::edits::{Edits, val_type};
use crate::encoding::Encoding;
use crate::load::Module;
use crate::plan::{GuardPlan, IndirectShim, Shim};

/// The guard as the wrappers and the recovery see it. Its checks are emitted inline (`enter`,
/// `leave`): a call to a helper costs more than the check itself in engines that do not inline
/// across functions (Cranelift). Only the cold path, `refuse`, is a function.
#[derive(Debug, Clone)]
pub struct Guard {
    status: Status,
    /// Latches `TERMINATED` and refuses the entry (a trap, or the host's error in JS mode).
    refuse: u32,
    /// The global holding the address of wasm-bindgen's abort hook's slot, when it has one.
    abort_hook: Option<u32>,
}

/// Where the guard's state lives: its status global, and the words in memory that say
/// "terminated" to every instance over it.
#[derive(Debug, Clone, Copy)]
struct Status {
    global: u32,
    words: Words,
    /// Indirect calls go out through shims, so the status may be `OUT`, which admits entries.
    reentrant: bool,
}

/// Termination words in memory 0.
#[derive(Debug, Clone, Copy)]
struct Words {
    /// wasm-bindgen's terminated flag.
    bindgen: Option<Word>,
    /// wasm-unwind-runtime's word, which other instances over the same memory set too.
    shared: Option<Word>,
    /// Memory 0 is shared: another thread writes the words, so they are accessed atomically
    /// (the access is then ordered with the other thread's, and never torn).
    atomic: bool,
}

impl Words {
    fn all(&self) -> impl Iterator<Item = Word> {
        self.bindgen.into_iter().chain(self.shared)
    }

    /// Pushes the word.
    fn load(&self, code: &mut InstructionSink<'_>, word: Word) {
        address(code, word);
        match self.atomic {
            true => code.i32_atomic_load(MEMORY_U32),
            false => code.i32_load(MEMORY_U32),
        };
    }

    /// Sets every word to 1.
    fn set(&self, code: &mut InstructionSink<'_>) {
        for word in self.all() {
            address(code, word);
            code.i32_const(1);
            match self.atomic {
                true => code.i32_atomic_store(MEMORY_U32),
                false => code.i32_store(MEMORY_U32),
            };
        }
    }
}

impl Status {
    /// Pushes non-zero when an entry must be refused: the status (its low bit, when it may be
    /// `OUT`), or'ed with every termination word.
    fn get(&self, code: &mut InstructionSink<'_>) {
        code.global_get(self.global);
        for word in self.words.all() {
            self.words.load(code, word);
            code.i32_or();
        }
        if self.reentrant {
            code.i32_const(1).i32_and();
        }
    }

    /// Latches `TERMINATED`, in every termination word too.
    fn latch(&self, code: &mut InstructionSink<'_>) {
        code.i32_const(TERMINATED).global_set(self.global);
        self.words.set(code);
    }
}

/// Pushes the word's address: the exported one, plus `__memory_base` in a module of dynamic
/// linking, whose exported addresses are relative to where the loader placed its data. There,
/// the program's word, once the loader has filled the `GOT.mem` import (it is 0 until then:
/// while the module is instantiated, and before this module's own export fills it).
fn address(code: &mut InstructionSink<'_>, word: Word) {
    code.global_get(word.global);
    if let Some(base) = word.base {
        code.global_get(base).i32_add();
    }
    if let Some(linked) = word.linked {
        code.global_get(linked)
            .global_get(linked)
            .i32_eqz()
            .select();
    }
}

/// The runtime's word, and in a module of dynamic linking (which exports it relative to
/// `__memory_base`), the import of the program's word that makes it one for every module that
/// links the runtime: `GOT.mem.__wasm_unwind_terminated`, a mutable i32 that the loader fills with
/// the address of the first definition of that symbol (the main module's, when it has one).
/// Every module that imports it also defines it, so it is never unresolved. Position-independent
/// code that uses the static itself already imports it: that import serves.
fn linked(module: &Module<'_>, word: Word, plan: &GuardPlan, edits: &mut Edits) -> Word {
    if !plan.dynamically_linked || word.base.is_none() {
        return word;
    }
    let import = (GOT_MEM, SHARED_WORD_EXPORT);
    let linked = detect::imported_i32(module, import, true)
        .unwrap_or_else(|| edits.add_global_import(GOT_MEM, SHARED_WORD_EXPORT, MUTABLE_I32));
    Word {
        linked: Some(linked),
        ..word
    }
}

/// The status global's type, and that of a `GOT.mem` entry.
const MUTABLE_I32: GlobalType = GlobalType {
    val_type: ValType::I32,
    mutable: true,
    shared: false,
};

const MEMORY_U32: wasm_encoder::MemArg = wasm_encoder::MemArg {
    offset: 0,
    align: 2,
    memory_index: 0,
};

impl Guard {
    /// Whether wrappers must keep the status they found (in a local, `enter`'s `found`).
    pub fn reentrant(&self) -> bool {
        self.status.reentrant
    }

    /// Refuses the call unless the instance is idle (or out through a table), else marks it
    /// running. `found`, when the guard is reentrant, is the local that keeps the status found.
    pub fn enter(&self, code: &mut InstructionSink<'_>, found: Option<u32>) {
        if let Some(found) = found {
            code.global_get(self.status.global).local_set(found);
        }
        self.status.get(code);
        code.if_(BlockType::Empty)
            .call(self.refuse)
            .end()
            .i32_const(RUNNING)
            .global_set(self.status.global);
    }

    /// Puts back the status `enter` found (`found`), or marks the instance idle.
    pub fn leave(&self, code: &mut InstructionSink<'_>, found: Option<u32>) {
        match found {
            Some(found) => code.local_get(found),
            None => code.i32_const(IDLE),
        };
        code.global_set(self.status.global);
    }

    /// The start of a wrapper of `target`, a `() -> ()` function the exported table holds at
    /// `slots`, when wasm-bindgen's glue may call it as its abort hook: after a termination, if
    /// the hook's slot is one of these, the call runs the function with the status running and
    /// leaves the instance terminated. Otherwise the wrapper goes on to `enter`, which refuses.
    pub fn abort_hook_prologue(&self, code: &mut InstructionSink<'_>, target: u32, slots: &[u32]) {
        let Some(hook) = self.abort_hook.filter(|_| !slots.is_empty()) else {
            return;
        };
        self.status.get(code);
        code.if_(BlockType::Empty);
        for (i, &slot) in slots.iter().enumerate() {
            code.global_get(hook)
                .i32_load(MEMORY_U32)
                .i32_const(slot as i32)
                .i32_eq();
            if i > 0 {
                code.i32_or();
            }
        }
        code.if_(BlockType::Empty)
            .i32_const(RUNNING)
            .global_set(self.status.global)
            .call(target);
        self.status.latch(code);
        code.return_().end().end();
    }

    /// The start of a wrapper whose refused entry returns (a `-> ()` function): when the
    /// instance is not idle, latch the termination and return before any original code runs.
    pub fn quiet_refusal_prologue(&self, code: &mut InstructionSink<'_>) {
        self.status.get(code);
        code.if_(BlockType::Empty);
        self.status.latch(code);
        code.return_().end();
    }
}

/// Adds the guard's status global, its cold paths, the state export, and a shim for every
/// import the plan names. Returns the guard for the export wrappers.
///
/// `refusal`, in JS mode, is called before an export traps on a refused entry, to throw the
/// host's `TerminatedError` instead. Only entry uses it: a refusal found when an import returns
/// must trap, because an exception would run Rust cleanup code on the way out.
pub fn install(
    module: &Module<'_>,
    encoding: Option<Encoding>,
    plan: &GuardPlan,
    refusal: Option<u32>,
    edits: &mut Edits,
) -> Guard {
    let global = edits.add_global(
        MUTABLE_I32,
        ConstExpr::i32_const(IDLE),
        "wasm_unwind::status".into(),
    );
    let status = Status {
        global,
        words: Words {
            bindgen: (plan.bindgen_flag).map(|global| Word {
                global,
                base: None,
                linked: None,
            }),
            shared: (plan.shared_word).map(|word| linked(module, word, plan, edits)),
            atomic: plan.atomic,
        },
        reentrant: !plan.indirect.is_empty(),
    };
    let refuse = add_terminate(status, refusal, "wasm_unwind::refuse", edits);
    add_state_export(status, edits);
    if !plan.shims.is_empty() || !plan.indirect.is_empty() {
        // A shim must trap, not throw the host's error: it needs its own cold path in JS mode.
        let trap = match refusal {
            Some(_) => add_terminate(status, None, "wasm_unwind::trap", edits),
            None => refuse,
        };
        // wasm-bindgen's abort hook, run after a termination, may call an import (to schedule
        // its reinit): its return must not be refused, so then only entries read the word.
        let word = status.words.shared.filter(|_| plan.abort_hook.is_none());
        let host = HostCall { status, trap, word };
        for shim in &plan.shims {
            add_shim(module, encoding, shim, &host, edits);
        }
        for shim in &plan.indirect {
            add_indirect_shim(module, encoding, *shim, &host, edits);
        }
    }
    Guard {
        status,
        refuse,
        abort_hook: plan.abort_hook.as_ref().map(|h| h.slot),
    }
}

/// A function that latches `TERMINATED` and traps, after calling `refusal` if any: the cold
/// path of every check, kept out of line so that the inlined checks stay small.
fn add_terminate(status: Status, refusal: Option<u32>, name: &str, edits: &mut Edits) -> u32 {
    let nothing = edits.add_type(&[], &[]);
    let mut f = Function::new([]);
    let mut code = f.instructions();
    status.latch(&mut code);
    if let Some(refusal) = refusal {
        code.call(refusal);
    }
    code.unreachable().end();
    edits.add_function(nothing, name.into(), f)
}

/// The state export. Asked by the host, whose calls into Rust have all returned: anything but
/// idle is a trap's trace, or the latch. It latches.
fn add_state_export(status: Status, edits: &mut Edits) {
    let gives_i32 = edits.add_type(&[], &[ValType::I32]);
    let mut f = Function::new([]);
    let mut code = f.instructions();
    status.get(&mut code);
    code.if_(BlockType::Result(ValType::I32));
    status.latch(&mut code);
    code.i32_const(1).else_().i32_const(0).end().end();
    let state = edits.add_function(gives_i32, "wasm_unwind::state".into(), f);
    edits
        .exports
        .push((STATE_EXPORT.into(), ExportKind::Func, state));
}

/// The checks every shim makes around its import, inlined like the wrappers' (`local` holds
/// the status to restore).
struct HostCall {
    status: Status,
    /// Latches `TERMINATED` and traps.
    trap: u32,
    /// The shared termination word, read when the host returns: another thread may have
    /// trapped while this one waited in the host.
    word: Option<Word>,
}

impl HostCall {
    /// Out to the host, which may call back in: saves the status in `local` and sets `to`
    /// (idle, or out through a table). A terminated instance makes no host calls (only
    /// unwrapped code could get here).
    fn out(&self, code: &mut InstructionSink<'_>, local: u32, to: i32) {
        let global = self.status.global;
        code.global_get(global)
            .local_tee(local)
            .i32_const(IDLE)
            .i32_lt_s()
            .if_(BlockType::Empty)
            .unreachable()
            .end()
            .i32_const(to)
            .global_set(global);
    }

    /// Back from the host: anything but what `out` set (`to`) means a call under this one
    /// trapped, and the shared word set means another instance did. Else the saved status
    /// comes back.
    fn back(&self, code: &mut InstructionSink<'_>, local: u32, to: i32) {
        let global = self.status.global;
        code.global_get(global);
        if to != IDLE {
            code.i32_const(to).i32_ne();
        }
        if let Some(word) = self.word {
            self.status.words.load(code, word);
            code.i32_or();
        }
        code.if_(BlockType::Empty)
            .call(self.trap)
            .end()
            .local_get(local)
            .global_set(global);
    }
}

/// The shim of one import; every use of the import in the module goes to it instead.
fn add_shim(
    module: &Module<'_>,
    encoding: Option<Encoding>,
    shim: &Shim,
    host: &HostCall,
    edits: &mut Edits,
) {
    let body = shim_body(module, shim.import, encoding, host);
    let name = &module.function_imports[shim.import as usize];
    let index = edits.add_function(
        module.function_types[shim.import as usize],
        format!("wasm_unwind::import::{}.{}", name.module, name.name),
        body,
    );
    edits.redirected_calls.insert(shim.import, index);
    if shim.referenced {
        edits.declared_functions.push(index);
    }
}

const IDLE: i32 = 0;
const RUNNING: i32 = 1;
const TERMINATED: i32 = -1;
/// Out through a table: the low bit clear, so entries are admitted.
const OUT: i32 = 2;

/// Calls import `import` with the status idle, and checks it when control comes back, by
/// return or by exception.
fn shim_body(
    module: &Module<'_>,
    import: u32,
    encoding: Option<Encoding>,
    host: &HostCall,
) -> Function {
    let params = module.function_type(import).params().len() as u32;
    let outer = params;
    let signature = BlockType::FunctionType(module.function_types[import as usize]);
    let mut f = Function::new([(1, ValType::I32)]);
    let mut code = f.instructions();
    host.out(&mut code, outer, IDLE);
    let back = |code: &mut InstructionSink<'_>| host.back(code, outer, IDLE);
    let call = (Callee::Function(import), signature, params);
    call_in_catch_all(&mut code, encoding, call, back, back);
    code.end();
    f
}

/// The shim of every `call_indirect` of one type through one table: its arguments, then the
/// slot. Every such instruction in the module's code becomes a call of it.
fn add_indirect_shim(
    module: &Module<'_>,
    encoding: Option<Encoding>,
    shim: IndirectShim,
    host: &HostCall,
    edits: &mut Edits,
) {
    let ty = module.types[shim.type_index as usize]
        .as_ref()
        .expect("validated: call_indirect names a function type");
    let slot_type = match module.tables[shim.table as usize].ty.table64 {
        true => ValType::I64,
        false => ValType::I32,
    };
    let mut params: Vec<ValType> = ty.params().iter().map(|&t| val_type(t)).collect();
    params.push(slot_type);
    let results: Vec<ValType> = ty.results().iter().map(|&t| val_type(t)).collect();
    let type_index = edits.add_type(&params, &results);
    let body = indirect_shim_body(
        shim,
        type_index,
        (params.len() as u32, slot_type),
        encoding,
        host,
    );
    let name = format!(
        "wasm_unwind::indirect::table{}.type{}",
        shim.table, shim.type_index
    );
    let index = edits.add_function(type_index, name, body);
    edits
        .redirected_indirect
        .insert((shim.table, shim.type_index), index);
}

/// Checks the slot with the status as it is (a missing or empty slot traps here, with the
/// instruction's own trap), then calls through it with the status "out through a table".
fn indirect_shim_body(
    shim: IndirectShim,
    own_type: u32,
    (params, slot_type): (u32, ValType),
    encoding: Option<Encoding>,
    host: &HostCall,
) -> Function {
    let (slot, saved) = (params - 1, params);
    let callee = Callee::Indirect {
        type_index: shim.type_index,
        table: shim.table,
    };
    // The catch block takes what the shim takes: the arguments and the slot.
    let signature = BlockType::FunctionType(own_type);
    let mut f = Function::new([(1, ValType::I32)]);
    let mut code = f.instructions();
    code.local_get(slot).table_size(shim.table);
    match slot_type {
        ValType::I64 => code.i64_ge_u(),
        _ => code.i32_ge_u(),
    };
    code.if_(BlockType::Result(ValType::I32))
        .i32_const(1)
        .else_()
        .local_get(slot)
        .table_get(shim.table)
        .ref_is_null()
        .end()
        .if_(BlockType::Empty);
    push_params(&mut code, params);
    callee.call(&mut code);
    code.return_().end();
    host.out(&mut code, saved, OUT);
    let back = |code: &mut InstructionSink<'_>| host.back(code, saved, OUT);
    call_in_catch_all(&mut code, encoding, (callee, signature, params), back, back);
    code.end();
    f
}
