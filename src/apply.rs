//! Apply: build what the plan decided, as edits to the input.
//!
//! The passes run in the order their products are needed: the host's imports (JS mode), which
//! the guard and the recovery call; the guard, whose checks the recovery and the wrappers
//! inline; the recovery; the wrappers, of exports and of exported function tables, which share
//! them. Then the tag export and the marker.

use wasm_encoder::ExportKind;

use crate::abi::TAG_EXPORT;
use crate::edits::Edits;
use crate::load::Module;
use crate::marker::Marker;
use crate::passes::js::HostErrors;
use crate::passes::recover::{self, Setup};
use crate::passes::{guard, tables, wrap};
use crate::plan::Plan;

/// The edits that carry out `plan` on `module`. Empty when the plan changes nothing.
pub fn apply(module: &Module<'_>, plan: &Plan) -> Edits {
    let mut edits = Edits::new(module);
    let host = plan
        .js
        .any()
        .then(|| HostErrors::import(&mut edits, plan.js));
    let guard = plan.guard.as_ref().map(|guard| {
        let refusal = host.as_ref().and_then(|h| h.terminated);
        guard::install(module, plan.encoding, guard, refusal, &mut edits)
    });
    // Where the export or element entry that declared a function now names its wrapper.
    edits
        .declared_functions
        .extend(plan.still_declared.iter().copied());
    let recovery = plan
        .recovery
        .zip(plan.encoding)
        .map(|(recovery, encoding)| {
            let setup = Setup {
                encoding,
                tag: recovery.tag,
                runtime: recovery.hand_off.runtime,
                // Imported above exactly when the plan hands panics to the host.
                host_panic: host.as_ref().and_then(|h| h.panic),
                guard: guard.as_ref(),
            };
            recover::install(module, &setup, &mut edits)
        });
    let abort_hook = plan.guard.as_ref().and_then(|g| g.abort_hook.as_ref());
    let wrappers = wrap::Wrappers {
        encoding: plan.encoding,
        stack_pointer: plan.stack_pointer.as_ref(),
        guard: guard.as_ref(),
        recovery: recovery.as_ref(),
        abort_hooks: abort_hook.map(|h| &h.candidates),
        quiet_refusals: &plan.quiet_refusals(),
        unrecovered: &plan.unrecovered,
    };
    let mut wrapping = wrap::Wrapping::new(module, &wrappers);
    wrap::wrap_exports(&mut wrapping, &plan.exports, &mut edits);
    tables::wrap_tables(&mut wrapping, &plan.tables, &mut edits);
    if let Some(tag) = plan.unwind_tag.as_ref().filter(|_| plan.export_tag) {
        edits
            .exports
            .push((TAG_EXPORT.to_string(), ExportKind::Tag, tag.index));
    }
    if !edits.is_empty() {
        edits.marker = Some(marker(plan));
    }
    edits
}

/// The marker section's record of this run; the encoder fills in where our functions start.
fn marker(plan: &Plan) -> Marker {
    Marker {
        version: env!("CARGO_PKG_VERSION").to_string(),
        encoding: plan.encoding,
        wrapped: plan.wrapped(),
        abort_guard: plan.guard.is_some(),
        runtime: plan.runtime.is_some(),
        js: plan.js.any(),
        added_from: 0,
    }
}
