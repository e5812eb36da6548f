//! Guard: once any call traps, the instance refuses every later entry.
//!
//! A trap cannot be caught, so it is detected by what it leaves behind. Wrapped exports count
//! live activations in `active` (in on entry, out on return or exception). Before a call goes
//! out to the host, `host_depth` records `active`; when the host calls back in, or returns, the
//! two must still agree. A trap skips the decrement, so the next entry (or the return from the
//! import that a nested call trapped under) finds them apart, latches `terminated`, and traps
//! at once, before any original code runs. Exceptions keep the count: wrappers and import
//! call sites catch, settle the count, and rethrow.
//!
//! Imports are not changed: their call sites, `ref.func`s and table entries are redirected to
//! one shim per import.

use wasm_encoder::{
    BlockType, Catch, ConstExpr, ExportKind, Function, GlobalType, InstructionSink, ValType,
};

use crate::detect::Encoding;
use crate::edits::Edits;
use crate::load::Module;

/// The helper functions the wrappers call.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Refuses the call when the instance is terminated, else counts an activation in.
    pub enter: u32,
    /// Counts an activation out.
    pub leave: u32,
}

/// Import modules that are not the host: wasm-bindgen's CLI reads the functions that call
/// these (its describe protocol) and replaces the imports, so their call sites must stay as
/// they are for the module to go through wasm-bindgen after us.
const TOOLCHAIN_IMPORT_MODULES: [&str; 2] =
    ["__wbindgen_placeholder__", "__wbindgen_externref_xform__"];

/// Name of the export that reports the instance state: 0 live, 1 terminated.
pub const STATE_EXPORT: &str = "__wasm_unwind_state";

/// Adds the guard's globals and helpers, the state export, and a shim for every import that
/// the code calls. Returns the helpers for the export wrappers and the number of shims.
///
/// `refusal`, in JS mode, is called before an export traps on a refused entry, to throw the
/// host's `TerminatedError` instead. Only entry uses it: a refusal found when an import returns
/// must trap, because an exception would run Rust cleanup code on the way out.
pub fn install(
    module: &Module<'_>,
    encoding: Option<Encoding>,
    refusal: Option<u32>,
    edits: &mut Edits,
) -> (Guard, usize) {
    let counter = || GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    };
    let active = edits.add_global(
        counter(),
        ConstExpr::i32_const(0),
        "wasm_unwind::active".into(),
    );
    let host_depth = edits.add_global(
        counter(),
        ConstExpr::i32_const(0),
        "wasm_unwind::host_depth".into(),
    );
    let terminated = edits.add_global(
        counter(),
        ConstExpr::i32_const(0),
        "wasm_unwind::terminated".into(),
    );
    let globals = Globals {
        active,
        host_depth,
        terminated,
    };

    let nothing = edits.add_type(&[], &[]);
    let one_i32 = edits.add_type(&[ValType::I32], &[]);
    let state_type = edits.add_type(&[], &[ValType::I32]);

    let mut f = Function::new([]);
    globals.refuse_if_broken(&mut f.instructions(), refusal);
    globals.add_to_active(&mut f.instructions(), 1);
    f.instructions().end();
    let enter = edits.add_function(nothing, "wasm_unwind::enter".into(), f);

    let mut f = Function::new([]);
    globals.add_to_active(&mut f.instructions(), -1);
    f.instructions().end();
    let leave = edits.add_function(nothing, "wasm_unwind::leave".into(), f);

    // Back from the host: the count must be where it was left, then the outer depth returns.
    let mut f = Function::new([]);
    globals.refuse_if_broken(&mut f.instructions(), None);
    f.instructions().local_get(0).global_set(host_depth).end();
    let returned = edits.add_function(one_i32, "wasm_unwind::returned".into(), f);

    let mut f = Function::new([]);
    globals.broken(&mut f.instructions());
    f.instructions().end();
    let state = edits.add_function(state_type, "wasm_unwind::state".into(), f);
    edits
        .exports
        .push((STATE_EXPORT.into(), ExportKind::Func, state));

    // Which imports the code calls, or takes with `ref.func` or a table entry.
    let mut called = vec![false; module.imported_functions() as usize];
    let mut referenced = vec![false; module.imported_functions() as usize];
    let code = module.bodies.iter().flat_map(|b| &b.calls);
    for call in code.chain(&module.function_references) {
        if let Some(seen) = called.get_mut(call.callee as usize) {
            *seen = true;
            // Table entries are references too; declaring them again is valid and harmless.
            referenced[call.callee as usize] |= call.reference;
        }
    }
    let mut shims = 0;
    let real =
        |i: u32| !TOOLCHAIN_IMPORT_MODULES.contains(&module.function_imports[i as usize].module);
    for import in (0..module.imported_functions()).filter(|&i| called[i as usize] && real(i)) {
        let body = shim_body(module, import, encoding, &globals, returned);
        let name = &module.function_imports[import as usize];
        let shim = edits.add_function(
            module.function_types[import as usize],
            format!("wasm_unwind::import::{}.{}", name.module, name.name),
            body,
        );
        edits.redirected_calls.insert(import, shim);
        if referenced[import as usize] {
            edits.declared_functions.push(shim);
        }
        shims += 1;
    }
    (Guard { enter, leave }, shims)
}

struct Globals {
    active: u32,
    host_depth: u32,
    terminated: u32,
}

impl Globals {
    /// Leaves 1 on the stack when the instance is, or has just been found, terminated.
    fn broken(&self, code: &mut InstructionSink<'_>) {
        code.global_get(self.terminated)
            .global_get(self.active)
            .global_get(self.host_depth)
            .i32_ne()
            .i32_or();
    }

    /// Latches `terminated` and traps (after calling `refusal`, if any) when the count is off.
    fn refuse_if_broken(&self, code: &mut InstructionSink<'_>, refusal: Option<u32>) {
        self.broken(code);
        code.if_(BlockType::Empty)
            .i32_const(1)
            .global_set(self.terminated);
        if let Some(refusal) = refusal {
            code.call(refusal);
        }
        code.unreachable().end();
    }

    fn add_to_active(&self, code: &mut InstructionSink<'_>, delta: i32) {
        code.global_get(self.active)
            .i32_const(delta)
            .i32_add()
            .global_set(self.active);
    }
}

/// Calls import `import` with the host depth set, and checks the count when control comes back,
/// by return or by exception.
fn shim_body(
    module: &Module<'_>,
    import: u32,
    encoding: Option<Encoding>,
    globals: &Globals,
    returned: u32,
) -> Function {
    let params = module.function_type(import).params().len() as u32;
    let outer = params;
    let signature = BlockType::FunctionType(module.function_types[import as usize]);
    let mut f = Function::new([(1, ValType::I32)]);
    let mut code = f.instructions();
    code.global_get(globals.host_depth)
        .local_set(outer)
        .global_get(globals.active)
        .global_set(globals.host_depth);
    let push_params = |code: &mut InstructionSink<'_>| {
        for i in 0..params {
            code.local_get(i);
        }
    };
    match encoding {
        Some(Encoding::Exnref) => {
            code.block(BlockType::Result(ValType::EXNREF));
            push_params(&mut code);
            code.try_table(signature, [Catch::AllRef { label: 0 }])
                .call(import)
                .end();
            code.local_get(outer).call(returned).return_().end();
            code.local_get(outer).call(returned).throw_ref();
        }
        Some(Encoding::Legacy) => {
            push_params(&mut code);
            code.try_(signature).call(import).catch_all();
            code.local_get(outer).call(returned).rethrow(0).end();
            code.local_get(outer).call(returned);
        }
        None => {
            push_params(&mut code);
            code.call(import).local_get(outer).call(returned);
        }
    }
    code.end();
    f
}
