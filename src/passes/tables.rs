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

use super::wrap::Wrapping;
use crate::edits::Edits;
use crate::plan::{self, TablePlan};

/// Puts the wrappers into the active segments of every table the plan wraps.
pub fn wrap_tables(wrapping: &mut Wrapping<'_, '_, '_>, tables: &[TablePlan], edits: &mut Edits) {
    let module = wrapping.module;
    for segment in plan::wrapped_segments(module, tables) {
        for entry in &module.uses_outside_code[segment.uses.clone()] {
            let to = self::entry(wrapping, entry.function, edits);
            edits
                .redirected_entries
                .insert(entry.index_bytes().start, to);
        }
    }
}

/// What the table holds where the module's segment names `function`.
fn entry(wrapping: &mut Wrapping<'_, '_, '_>, function: u32, edits: &mut Edits) -> u32 {
    let module = wrapping.module;
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
    wrapping.wrapper(function, name, edits)
}
