//! Wrap: put every chosen function export behind a wrapper that contains unwinds.
//!
//! The export is repointed at a new function with the same signature; calls from inside the
//! module still go to the original. The wrapper saves the shadow stack pointer, calls the
//! original inside a catch-all, and on any exception restores the stack pointer and rethrows
//! the very same exception. The caller sees an ordinary exception, and the instance keeps a
//! balanced shadow stack however many panics escape.
//!
//! One catch-all serves Rust panics and foreign exceptions alike: both need the same repair,
//! and rethrowing keeps the exception's identity (a JS error stays that JS error). Only when a
//! Rust panic has somewhere to go (see `recover`) does it get a `catch $tag` clause of its own.

use std::collections::HashMap;

use wasm_encoder::{BlockType, Catch, Function, InstructionSink, ValType};

use super::guard::Guard;
use super::recover::Recovery;
use super::{Callee, call_in_catch_all, push_params};
use crate::detect::Found;
use crate::edits::{Edits, val_type};
use crate::encoding::Encoding;
use crate::load::Module;
use crate::plan::ExportPlan;

/// How the wrappers are built.
pub struct Wrappers<'p> {
    /// `None` for a module without exception handling: wrappers then only keep the guard's count.
    pub encoding: Option<Encoding>,
    pub stack_pointer: Option<&'p Found>,
    pub guard: Option<&'p Guard>,
    /// Set when Rust panics get their own clause (runtime crate linked, or JS mode).
    pub recovery: Option<&'p Recovery>,
    /// Functions wasm-bindgen's glue may call as its abort hook, with their table slots.
    pub abort_hooks: Option<&'p HashMap<u32, Vec<u32>>>,
    /// Functions whose refused entry returns instead of trapping.
    pub quiet_refusals: &'p [u32],
    /// Functions whose wrappers never hand a panic on (see `Plan::unrecovered`).
    pub unrecovered: &'p [u32],
}

/// Builds the wrappers of one module: one per function, shared by its exports and its table
/// slots, so a host sees one function wherever it looks.
pub struct Wrapping<'m, 'a, 'p> {
    pub module: &'m Module<'a>,
    how: &'m Wrappers<'p>,
    /// The wrapper of each function wrapped so far.
    built: HashMap<u32, u32>,
}

impl<'m, 'a, 'p> Wrapping<'m, 'a, 'p> {
    pub fn new(module: &'m Module<'a>, how: &'m Wrappers<'p>) -> Self {
        Wrapping {
            module,
            how,
            built: HashMap::new(),
        }
    }

    /// The wrapper of `function`, built the first time it is asked for; `name` names it then.
    pub fn wrapper(
        &mut self,
        function: u32,
        name: impl FnOnce() -> String,
        edits: &mut Edits,
    ) -> u32 {
        let (module, how) = (self.module, self.how);
        *self.built.entry(function).or_insert_with(|| {
            let body = wrapper_body(module, function, how);
            let ty = module.function_types[function as usize];
            edits.add_function(ty, format!("wasm_unwind::wrap::{}", name()), body)
        })
    }
}

/// Wraps the exports the plan chose.
pub fn wrap_exports(
    wrapping: &mut Wrapping<'_, '_, '_>,
    exports: &[ExportPlan],
    edits: &mut Edits,
) {
    for export in exports.iter().filter(|e| e.outcome.wrapped) {
        let name = || export.outcome.name.clone();
        let wrapper = wrapping.wrapper(export.function, name, edits);
        edits.repointed_exports.insert(export.position, wrapper);
    }
}

/// The wrapper around `target`; see the module comment. In the exnref encoding:
///
/// ```wat
/// (local $sp i32)
/// [enter: global.get $status  if  call $refuse  end  i32.const 1  global.set $status]
/// global.get $stack_pointer  local.set $sp
/// block (result exnref)
///   local.get 0 .. local.get N
///   try_table (type $sig) (catch_all_ref 0)  call $target  end
///   [leave: i32.const 0  global.set $status]  return
/// end
/// local.get $sp  global.set $stack_pointer  [leave]  throw_ref
/// ```
///
/// With a recovery, `catch_ref $tag` comes first and its clause restores the stack pointer and
/// calls `$panicked` before joining the catch-all path. The legacy encoding has the same shape
/// with `try`/`catch $tag`/`catch_all`/`rethrow 0`.
fn wrapper_body(module: &Module<'_>, target: u32, plan: &Wrappers<'_>) -> Function {
    let ty = module.function_type(target);
    let params = ty.params().len() as u32;
    let call = (
        Callee::Function(target),
        BlockType::FunctionType(module.function_types[target as usize]),
        params,
    );
    let stack_pointer = plan
        .stack_pointer
        .filter(|_| plan.encoding.is_some())
        .map(|sp| {
            (
                sp.index,
                val_type(module.globals[sp.index as usize].ty.content_type),
            )
        });
    let recovery = plan
        .recovery
        .filter(|_| plan.encoding.is_some() && !plan.unrecovered.contains(&target));
    let saved = params;
    let mut locals: Vec<(u32, ValType)> =
        stack_pointer.map(|(_, ty)| (1, ty)).into_iter().collect();
    let exception = params + locals.len() as u32;
    if recovery.is_some() && plan.encoding == Some(Encoding::Exnref) {
        locals.push((1, ValType::EXNREF));
    }
    // The status the guard found on entry, when it may be "out through a table".
    let found = plan.guard.filter(|g| g.reentrant()).map(|_| {
        locals.push((1, ValType::I32));
        params + locals.len() as u32 - 1
    });

    let mut f = Function::new(locals);
    let mut code = f.instructions();
    if let Some(guard) = plan.guard {
        enter(&mut code, guard, target, plan, found);
    }
    if let Some((global, _)) = stack_pointer {
        code.global_get(global).local_set(saved);
    }
    let repair = Repair {
        stack_pointer: stack_pointer.map(|(global, _)| (global, saved)),
        guard: plan.guard,
        found,
    };
    let leave = |code: &mut InstructionSink<'_>| repair.leave(code);
    let restore_and_leave = |code: &mut InstructionSink<'_>| {
        repair.restore(code);
        repair.leave(code);
    };
    match (plan.encoding, recovery) {
        (Some(Encoding::Exnref), Some(recovery)) => {
            exnref_with_recovery(&mut code, call, recovery, exception, &repair)
        }
        (Some(Encoding::Legacy), Some(recovery)) => {
            legacy_with_recovery(&mut code, call, recovery, &repair)
        }
        (encoding, _) => call_in_catch_all(&mut code, encoding, call, leave, restore_and_leave),
    }
    code.end();
    f
}

/// The guard's entry check, after what comes before it for wasm-bindgen's abort hook and for a
/// destructor that must return when refused.
fn enter(
    code: &mut InstructionSink<'_>,
    guard: &Guard,
    target: u32,
    plan: &Wrappers<'_>,
    found: Option<u32>,
) {
    if let Some(slots) = plan.abort_hooks.and_then(|h| h.get(&target)) {
        guard.abort_hook_prologue(code, target, slots);
    }
    if plan.quiet_refusals.contains(&target) {
        guard.quiet_refusal_prologue(code);
    }
    guard.enter(code, found);
}

/// What a wrapper does on the way out: restore the saved stack pointer, leave the guard.
struct Repair<'g> {
    /// (stack pointer global, local holding its value on entry)
    stack_pointer: Option<(u32, u32)>,
    guard: Option<&'g Guard>,
    /// The local holding the status the guard found on entry, when it is reentrant.
    found: Option<u32>,
}

impl Repair<'_> {
    fn restore(&self, code: &mut InstructionSink<'_>) {
        if let Some((global, saved)) = self.stack_pointer {
            code.local_get(saved).global_set(global);
        }
    }

    fn leave(&self, code: &mut InstructionSink<'_>) {
        if let Some(guard) = self.guard {
            guard.leave(code, self.found);
        }
    }

    /// Calls `panicked` with the caught payload, unless the wrapper was entered through a
    /// table by the module itself: then the panic is the Rust frames' below, and only passes.
    fn hand_on(&self, code: &mut InstructionSink<'_>, recovery: &Recovery) {
        match self.found {
            Some(found) => {
                code.local_get(found)
                    .i32_eqz()
                    .if_(BlockType::FunctionType(recovery.panicked_type))
                    .call(recovery.panicked)
                    .else_()
                    .drop()
                    .end();
            }
            None => {
                code.call(recovery.panicked);
            }
        }
    }
}

/// The exnref wrapper with a `catch_ref $tag` clause that hands the panic on before joining
/// the catch-all path.
fn exnref_with_recovery(
    code: &mut InstructionSink<'_>,
    (target, signature, params): (Callee, BlockType, u32),
    recovery: &Recovery,
    exception: u32,
    repair: &Repair<'_>,
) {
    let caught = recovery
        .caught
        .expect("an exnref recovery has a catch block type");
    code.block(BlockType::Result(ValType::EXNREF)).block(caught);
    push_params(code, params);
    let catches = [
        Catch::OneRef {
            tag: recovery.tag,
            label: 0,
        },
        Catch::AllRef { label: 1 },
    ];
    code.try_table(signature, catches);
    target.call(code);
    code.end();
    repair.leave(code);
    code.return_().end();
    code.local_set(exception);
    repair.restore(code);
    repair.hand_on(code, recovery);
    code.local_get(exception).end();
    repair.restore(code);
    repair.leave(code);
    code.throw_ref();
}

/// The legacy wrapper with a `catch $tag` clause before the `catch_all`.
fn legacy_with_recovery(
    code: &mut InstructionSink<'_>,
    (target, signature, params): (Callee, BlockType, u32),
    recovery: &Recovery,
    repair: &Repair<'_>,
) {
    push_params(code, params);
    code.try_(signature);
    target.call(code);
    code.catch(recovery.tag);
    repair.restore(code);
    repair.hand_on(code, recovery);
    repair.restore(code);
    repair.leave(code);
    code.rethrow(0);
    code.catch_all();
    repair.restore(code);
    repair.leave(code);
    code.rethrow(0).end();
    repair.leave(code);
}
