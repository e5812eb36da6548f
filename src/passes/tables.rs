//! Tables: host calls through an exported function table go through the wrappers.
//!
//! A host can call any function of an exported funcref table (`table.get(i)(...)` in JS,
//! `Table::get` + `Func::call` in Wasmtime); wasm-bindgen's glue does, for closure destructors
//! and its abort hook. Those calls must be contained and guarded like exports. The module's own
//! `call_indirect` through the same table must not: a guarded entry would refuse an internal
//! call made while Rust code runs, and would cost every indirect call.
//!
//! So the host gets a table of its own. A second table of the same type and size is added and
//! exported under the original's name(s); the original stays, unexported, for the module's
//! indirect calls. Copies of the input's active segments fill the new table at instantiation,
//! each function replaced by its wrapper (the same wrapper as its export, so a host sees one
//! function either way); imports stay themselves. This holds only while the two tables
//! hold the same functions, which `plan` checks: the module never changes the table after
//! instantiation. What the host itself writes into its table, the module's calls do not see.

use std::collections::HashMap;

use super::wrap::{self, Built, Wrappers};
use crate::edits::{Edits, NewSegment, NewTable};
use crate::load::Module;
use crate::plan::TablePlan;

/// Adds a table of wrappers for every table the plan wraps and repoints its exports there.
pub fn wrap_tables(
    module: &Module<'_>,
    tables: &[&TablePlan],
    wrappers: &Wrappers<'_>,
    built: &mut Built,
    edits: &mut Edits,
) {
    for plan in tables {
        let mut segments = Vec::new();
        for segment in module
            .active_segments
            .iter()
            .filter(|s| s.table == plan.table)
        {
            let items = segment
                .items
                .as_ref()
                .expect("plan wraps only tables filled by functions");
            let items = items
                .iter()
                .map(|item| item.map(|f| entry(module, f, wrappers, built, edits)))
                .collect();
            segments.push(NewSegment {
                offset: module.bytes[segment.offset.clone()].to_vec(),
                items,
            });
        }
        let ty = module.tables[plan.table as usize].ty;
        let ty = wasm_encoder::TableType::try_from(ty).expect("a funcref table re-encodes");
        let index = edits.add_table(NewTable { ty, segments });
        for &position in &plan.exports {
            edits.repointed_exports.insert(position, index);
        }
    }
}

/// What the host's table holds where the module's holds `function`.
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
