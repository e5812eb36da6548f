//! Tables: host calls through a function table the host can reach go through the wrappers.
//!
//! A host can call any function of an exported funcref table (`table.get(i)(...)` in JS,
//! `Table::get` + `Func::call` in Wasmtime); wasm-bindgen's glue does, for closure destructors
//! and its abort hook; another module can, through a table it imports. Those calls must be
//! contained and guarded like exports. And the host or another module can write the table
//! (Emscripten's `addFunction`, a dynamic linker placing a side module's functions), and the
//! module must see what they wrote: the table stays one.
//!
//! So every function the module's active segments put into such a table (exported or imported)
//! is put there as its wrapper instead (the same wrapper as its export, so a host sees one
//! function either way); imports stay themselves (the host calling its own function runs no
//! code of the instance). The module's own `call_indirect` through the table then reaches
//! wrappers, or whatever the host put there, so the guard sends it out like an import call
//! (`guard`), and a wrapper reached that way admits the call.

use std::collections::HashMap;

use super::wrap::{self, Built, Wrappers};
use crate::edits::Edits;
use crate::load::Module;
use crate::plan::TablePlan;

/// Puts the wrappers into the active segments of every table the plan wraps.
pub fn wrap_tables(
    module: &Module<'_>,
    tables: &[&TablePlan],
    wrappers: &Wrappers<'_>,
    built: &mut Built,
    edits: &mut Edits,
) {
    let segments = module
        .active_segments
        .iter()
        .filter(|s| tables.iter().any(|t| t.table == s.table));
    let referenced = wrap::referenced_in_code(module);
    for segment in segments {
        for entry in &module.uses_outside_code[segment.uses.clone()] {
            wrap::keep_declared(entry.function, &referenced, edits);
            let to = self::entry(module, entry.function, wrappers, built, edits);
            edits.redirected_entries.insert(entry.index_bytes.start, to);
        }
    }
}

/// What the table holds where the module's segment names `function`.
fn entry(
    module: &Module<'_>,
    function: u32,
    wrappers: &Wrappers<'_>,
    built: &mut Built,
    edits: &mut Edits,
) -> u32 {
    if function < module.imported_functions() {
        // The host calling its own function runs no code of the instance, so it gets the import
        // itself. Not its shim: a shim serves calls from Rust code, and marks the instance idle
        // for the host's callbacks, which would wipe the trace a trap left.
        return function;
    }
    let name = || match module.names.functions.get(&function) {
        Some(name) => format!("table::{name}"),
        None => format!("table::{function}"),
    };
    wrap::wrapper(module, function, name, wrappers, built, edits)
}

/// The `() -> ()` functions of the wrapped tables with the slots they sit in, when the offsets
/// are constants: the candidates for wasm-bindgen's abort hook, whose slot its glue reads from
/// memory and calls through the exported table.
pub fn abort_hook_slots(module: &Module<'_>, tables: &[&TablePlan]) -> HashMap<u32, Vec<u32>> {
    let mut slots: HashMap<u32, Vec<u32>> = HashMap::new();
    let segments = module
        .active_segments
        .iter()
        .filter(|s| tables.iter().any(|t| t.table == s.table));
    for segment in segments {
        let (Some(offset), Some(items)) = (segment.constant_offset, &segment.items) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let Some(function) = *item else { continue };
            let ty = module.function_type(function);
            let hook_type = ty.params().is_empty() && ty.results().is_empty();
            let defined = function >= module.imported_functions();
            if let (true, true, Ok(slot)) = (hook_type, defined, u32::try_from(offset + i as u64)) {
                slots.entry(function).or_default().push(slot);
            }
        }
    }
    slots
}
