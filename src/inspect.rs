//! Inspect: what a module is and what each export can do, for people and for scripts.
//!
//! "Can unwind" and "can trap" are static reachability over the call graph: an export can unwind
//! when it reaches `throw`, `throw_ref` or `rethrow`, and can trap when it reaches `unreachable`
//! (what Rust's aborts compile to) or a host import. Calls through a table or a reference are
//! taken to reach every function whose address is taken, so the answers err towards "yes".
//!
//! Function tables a host can reach are listed too: how many entries, and whether host calls
//! through them go through wrappers. A processed table is recognised by its shape: every
//! function in it is one the tool added.

use std::fmt::Write;

use wasmparser::{ExternalKind, FuncType};

use crate::abi::STATE_EXPORT;
use crate::bindgen;
use crate::detect::{self, Encoding, Found, UnwindTag};
use crate::error::Result;
use crate::load::{self, Module};
use crate::nounwind::{Nounwind, OnPanic};
use crate::plan::{self, Reach, TableOutcome};
use crate::reach::reaches;
use crate::shape::Ours;

#[derive(Debug, Clone)]
pub struct Inspection {
    pub encoding: std::result::Result<Option<Encoding>, String>,
    pub unwind_tag: std::result::Result<Option<Found>, String>,
    /// `Ok(None)`: no stack pointer, so wrappers restore none.
    pub stack_pointer: std::result::Result<Option<Found>, String>,
    /// The marker text of an earlier wasm-unwind run.
    pub processed: Option<String>,
    /// A processed module's code has the abort guard.
    pub abort_guard: bool,
    /// The module links wasm-unwind-runtime (exports `__wasm_unwind_recover`).
    pub runtime: bool,
    pub exports: Vec<ExportRow>,
    /// Function tables a host can reach.
    pub tables: Vec<TableOutcome>,
    /// Which instances an abort ends (other instances may share memory 0).
    pub reach: Reach,
}

#[derive(Debug, Clone)]
pub struct ExportRow {
    pub name: String,
    pub kind: &'static str,
    /// The signature of a function export.
    pub signature: Option<String>,
    /// A panic (or any exception) in it leaves it as an exception.
    pub can_unwind: bool,
    /// Its own body catches every exception and aborts (`extern "C"`): a panic in it aborts
    /// the instance instead of unwinding.
    pub aborts_on_panic: bool,
    pub can_trap: bool,
    pub wrapped: bool,
}

/// Inspects `input` (binary or text). Detection problems are reported, not raised.
pub fn inspect(input: &[u8]) -> Result<Inspection> {
    let bytes = load::read_input(input)?;
    let module = load::load(&bytes)?;
    let stack_pointer = detect::stack_pointer(&module, None).map_err(|e| e.to_string());
    // Only our output has wrappers; which they are, its code shows (see `shape`).
    let ours = module.marker.map(|_| {
        let sp = stack_pointer.as_ref().ok().and_then(|f| f.as_ref());
        Ours::find(&module, sp.map(|f| f.index))
    });
    let unwind_tag = unwind_tag(&module);
    let tag = unwind_tag
        .as_ref()
        .ok()
        .and_then(|t| t.as_ref())
        .map(|t| t.index);
    let nounwind = Nounwind::new(&module, tag);
    let panic = |f| on_panic(&module, &nounwind, ours.as_ref(), f);
    let exports = export_rows(&module, ours.as_ref(), &panic);
    let tables = table_rows(&module, ours.as_ref(), &|f| panic(f) == OnPanic::Aborts);
    let encoding = detect::encoding(&module, None).map_err(|e| e.to_string());
    Ok(Inspection {
        unwind_tag,
        stack_pointer,
        encoding,
        processed: module.marker.map(str::to_string),
        abort_guard: ours.is_some_and(|o| o.guard(&module)),
        runtime: detect::runtime(&module).is_some(),
        exports,
        tables,
        reach: plan::reach(&module, bindgen::detect(&module)),
    })
}

/// What a panic in entry point `f` does: its own code decides or, for one of our wrappers
/// (which rethrow what they catch), the functions it calls.
fn on_panic(module: &Module<'_>, nounwind: &Nounwind, ours: Option<&Ours>, f: u32) -> OnPanic {
    match (ours, module.body(f)) {
        (Some(ours), Some(body)) if ours.wraps(module, f) => {
            let mut calls = body.uses.iter().filter(|u| !u.takes_address());
            match calls.any(|u| nounwind.aborts(u.function)) {
                true => OnPanic::Aborts,
                false => OnPanic::Unwinds,
            }
        }
        _ => nounwind.on_panic(f),
    }
}

/// The unwind tag as processing would take it; candidates detection cannot tell apart are
/// reported as what processing then does.
fn unwind_tag(module: &Module<'_>) -> std::result::Result<Option<Found>, String> {
    match detect::unwind_tag(module, None) {
        Ok(UnwindTag::Found(found)) => Ok(Some(found)),
        Ok(UnwindTag::None) => Ok(None),
        Ok(UnwindTag::Undecided(candidates)) => {
            Err(detect::Note::UndecidedTag(candidates).to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A row for each export; `ours` is set for a module this tool wrote, whose wrappers it tells.
fn export_rows(
    module: &Module<'_>,
    ours: Option<&Ours>,
    panic: &dyn Fn(u32) -> OnPanic,
) -> Vec<ExportRow> {
    let unwinds = reaches(module, |m, f| {
        m.body(f)
            .is_some_and(|b| !b.throws.is_empty() || b.rethrows)
    });
    let traps = reaches(module, |m, f| m.body(f).is_none_or(|b| b.has_unreachable));
    module
        .exports
        .iter()
        .map(|e| {
            let is_func = e.kind == ExternalKind::Func;
            // Reachability errs towards "yes"; the code of the entry itself can tell "no".
            let panic = is_func.then(|| panic(e.index));
            ExportRow {
                name: e.name.to_string(),
                kind: kind_name(e.kind),
                signature: is_func.then(|| signature(module.function_type(e.index))),
                can_unwind: unwinds.contains(e.index) && panic == Some(OnPanic::Unwinds),
                aborts_on_panic: panic == Some(OnPanic::Aborts),
                can_trap: is_func && traps.contains(e.index),
                wrapped: is_func
                    && e.name != STATE_EXPORT
                    && ours.is_some_and(|o| o.wraps(module, e.index)),
            }
        })
        .collect()
}

/// The function tables a host can reach, each wrapped when every slot holds one of our wrappers
/// (told by shape, like exports), an import (the host's own function) or nothing.
fn table_rows(
    module: &Module<'_>,
    ours: Option<&Ours>,
    aborts: &dyn Fn(u32) -> bool,
) -> Vec<TableOutcome> {
    let guarded = |item: &Option<u32>| match (*item, ours) {
        (None, _) => true,
        (Some(f), _) if f < module.imported_functions() => true,
        (Some(f), Some(ours)) => ours.wraps(module, f),
        (Some(_), None) => false,
    };
    plan::host_tables(module, aborts)
        .into_iter()
        .map(|t| {
            let wrapped = ours.is_some()
                && t.outcome.entries > 0
                && module
                    .active_segments
                    .iter()
                    .filter(|s| s.table == t.table)
                    .all(|s| s.items.as_ref().is_some_and(|i| i.iter().all(guarded)));
            TableOutcome {
                wrapped,
                ..t.outcome
            }
        })
        .collect()
}

fn kind_name(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "func",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

fn signature(ty: &FuncType) -> String {
    let list = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(ty.params()), list(ty.results()))
}

impl ExportRow {
    /// What a panic in the export does: `unwinds` out as an exception, `aborts` the instance
    /// (a terminate pad), or `none` when nothing in it throws.
    pub fn on_panic(&self) -> &'static str {
        match (self.aborts_on_panic, self.can_unwind) {
            (true, _) => "aborts",
            (false, true) => "unwinds",
            (false, false) => "none",
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn found_text<T: std::fmt::Display>(
    value: &std::result::Result<Option<T>, String>,
    none: &str,
) -> String {
    match value {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => none.to_string(),
        Err(e) => format!("unknown: {e}"),
    }
}

impl Inspection {
    /// A table for people: the module's facts, then a row an export.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        self.write_facts(&mut out);
        let _ = writeln!(out);
        self.write_exports(&mut out);
        out
    }

    /// One `label  value` line a fact, the values in one column.
    fn write_facts(&self, out: &mut String) {
        let mut fact = |label: &str, value: &str| {
            let _ = writeln!(out, "{label:15}{value}");
        };
        let encoding = found_text(&self.encoding, "none (no exception handling)");
        fact("encoding", &encoding);
        fact("unwind tag", &found_text(&self.unwind_tag, "none"));
        let stack_pointer = found_text(&self.stack_pointer, "none (wrappers restore none)");
        fact("stack pointer", &stack_pointer);
        fact("processed", self.processed.as_deref().unwrap_or("no"));
        fact(
            "runtime",
            if self.runtime { "linked" } else { "not linked" },
        );
        // Whether the guard is in means something only in a module the tool wrote.
        if self.processed.is_some() {
            fact("abort guard", if self.abort_guard { "on" } else { "off" });
        }
        for table in &self.tables {
            fact("table", &table_text(table));
        }
        match self.reach {
            Reach::Instance => {}
            Reach::Program => fact(
                "memory",
                "shared or imported: an abort ends every instance over it",
            ),
            reach => fact("memory", reach.warning().unwrap_or_default()),
        }
    }

    /// The exports, in columns as wide as their longest entry; `-` where a column applies to
    /// functions only.
    fn write_exports(&self, out: &mut String) {
        let width = self
            .exports
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(0)
            .max(6);
        let sig_width = self
            .exports
            .iter()
            .filter_map(|e| e.signature.as_ref())
            .map(|s| s.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let _ = writeln!(
            out,
            "{:width$}  {:6}  {:sig_width$}  {:8}  {:5}  wrapped",
            "export", "kind", "type", "on panic", "traps"
        );
        for e in &self.exports {
            let (panic, traps, wrapped) = match e.signature {
                Some(_) => (e.on_panic(), yes_no(e.can_trap), yes_no(e.wrapped)),
                None => ("-", "-", "-"),
            };
            let sig = e.signature.as_deref().unwrap_or("-");
            let _ = writeln!(
                out,
                "{:width$}  {:6}  {sig:sig_width$}  {panic:8}  {traps:5}  {wrapped}",
                e.name, e.kind
            );
        }
    }
}

/// The JSON schema (README, "JSON output"): the facts as `to_table` shows them, with `null` for
/// what does not apply and `{"error": "..."}` for what detection could not settle.
#[cfg(feature = "json")]
mod json {
    use serde::{Serialize, Serializer};

    use super::{ExportRow, Found, Inspection, Reach, TableOutcome};

    impl Inspection {
        /// The same facts as JSON, for scripts: one line.
        pub fn to_json(&self) -> String {
            let mut text = serde_json::to_string(self).expect("plain data serialises");
            text.push('\n');
            text
        }
    }

    impl Serialize for Inspection {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            Schema {
                encoding: fact(self.encoding.as_ref().map(|e| e.map(|e| e.to_string()))),
                unwind_tag: fact(self.unwind_tag.as_ref().map(|f| f.as_ref().map(found))),
                stack_pointer: fact(self.stack_pointer.as_ref().map(|f| f.as_ref().map(found))),
                processed: self.processed.as_deref(),
                abort_guard: self.processed.is_some().then_some(self.abort_guard),
                runtime: self.runtime,
                abort_ends: match self.reach {
                    Reach::Instance => "instance",
                    Reach::Program => "program",
                    Reach::LinkedWithRuntime => "modules with the runtime",
                    Reach::TrappedInstanceOnly => "trapped instance only",
                },
                exports: self.exports.iter().map(export).collect(),
                tables: self.tables.iter().map(table).collect(),
            }
            .serialize(serializer)
        }
    }

    #[derive(Serialize)]
    struct Schema<'a> {
        encoding: Fact<'a, String>,
        unwind_tag: Fact<'a, FoundJson<'a>>,
        stack_pointer: Fact<'a, FoundJson<'a>>,
        processed: Option<&'a str>,
        /// Whether the guard is in; `null` for a module the tool has not processed.
        abort_guard: Option<bool>,
        runtime: bool,
        /// Which instances an abort ends: `instance` (memory 0 is its own), `program` (every
        /// instance over a shared or imported memory 0), `modules with the runtime` (dynamic
        /// linking: every instance of the modules linked together that link the runtime),
        /// `trapped instance only` (no safe word).
        abort_ends: &'static str,
        exports: Vec<ExportJson<'a>>,
        tables: Vec<TableJson<'a>>,
    }

    /// A detected fact: its value, `null` when there is none, or why detection failed.
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Fact<'a, T> {
        Known(Option<T>),
        Unknown { error: &'a str },
    }

    fn fact<T>(value: Result<Option<T>, &String>) -> Fact<'_, T> {
        match value {
            Ok(value) => Fact::Known(value),
            Err(error) => Fact::Unknown { error },
        }
    }

    #[derive(Serialize)]
    struct FoundJson<'a> {
        index: u32,
        name: Option<&'a str>,
        how: &'a str,
    }

    fn found(f: &Found) -> FoundJson<'_> {
        FoundJson {
            index: f.index,
            name: f.name.as_deref(),
            how: f.how,
        }
    }

    /// The flags are `null` for exports that are not functions.
    #[derive(Serialize)]
    struct ExportJson<'a> {
        name: &'a str,
        kind: &'a str,
        #[serde(rename = "type")]
        signature: Option<&'a str>,
        can_unwind: Option<bool>,
        on_panic: Option<&'static str>,
        can_trap: Option<bool>,
        wrapped: Option<bool>,
    }

    fn export(e: &ExportRow) -> ExportJson<'_> {
        let flag = |value: bool| e.signature.is_some().then_some(value);
        ExportJson {
            name: &e.name,
            kind: e.kind,
            signature: e.signature.as_deref(),
            can_unwind: flag(e.can_unwind),
            on_panic: e.signature.is_some().then(|| e.on_panic()),
            can_trap: flag(e.can_trap),
            wrapped: flag(e.wrapped),
        }
    }

    /// `unguarded_because` is `null` for a wrapped table.
    #[derive(Serialize)]
    struct TableJson<'a> {
        name: &'a str,
        entries: usize,
        wrapped: bool,
        unguarded_because: Option<&'a str>,
        /// Slots whose function aborts on a panic.
        aborts_on_panic: &'a [u64],
    }

    fn table(t: &TableOutcome) -> TableJson<'_> {
        TableJson {
            name: &t.name,
            entries: t.entries,
            wrapped: t.wrapped,
            unguarded_because: t.reason.as_deref().filter(|_| !t.wrapped),
            aborts_on_panic: &t.aborting,
        }
    }
}

/// One line on a function table: its entries, and whether host calls through them are wrapped.
pub fn table_text(table: &TableOutcome) -> String {
    let head = format!("`{}`: {} entries", table.name, table.entries);
    let text = match (&table.reason, table.wrapped) {
        (_, true) => format!("{head}, wrapped"),
        (Some(reason), false) => format!("{head}, unguarded: {reason}"),
        (None, false) => format!("{head}, unguarded until processed"),
    };
    match &table.aborting[..] {
        [] => text,
        slots => format!("{text}; a panic aborts in slots {}", list(slots)),
    }
}

/// `1, 2, 3`.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
