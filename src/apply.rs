//! Apply: build what the plan decided, as edits to the input.
//!
//! The passes run in the order their products are needed: the host's imports (JS mode), which
//! the guard and the recovery call; the guard, whose checks the recovery and the wrappers
//! inline; the recovery; the wrappers, of exports and of exported function tables, which share
//! them. Then the tag export and the marker.

use wasm_encoder::ExportKind;

use crate::TAG_EXPORT;
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
    let recovery = plan
        .recovery
        .zip(plan.encoding)
        .map(|(recovery, encoding)| {
            // The plan hands panics to the host only in JS mode, whose imports were added above.
            let host = || {
                host.as_ref()
                    .expect("a host hand-off is planned only in JS mode")
            };
            let setup = Setup {
                encoding,
                tag: recovery.tag,
                hand_off: recovery.hand_off.with_host(host),
                guard: guard.as_ref(),
            };
            recover::install(module, &setup, &mut edits)
        });
    let wrapped_tables: Vec<_> = plan.wrapped_tables().collect();
    let hooks = plan.guard.as_ref().and_then(|g| g.abort_hook);
    let abort_hook_slots = match hooks {
        Some(_) => tables::abort_hook_slots(module, &wrapped_tables),
        None => Default::default(),
    };
    let wrappers = wrap::Wrappers {
        encoding: plan.encoding,
        stack_pointer: plan.stack_pointer.as_ref(),
        guard: guard.as_ref(),
        recovery: recovery.as_ref(),
        abort_hook_slots: &abort_hook_slots,
        quiet_refusals: &plan.quiet_refusals(),
        unrecovered: &plan.unrecovered,
    };
    let mut built = wrap::Built::new();
    wrap::wrap_exports(module, &plan.exports, &wrappers, &mut built, &mut edits);
    tables::wrap_tables(module, &wrapped_tables, &wrappers, &mut built, &mut edits);
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
