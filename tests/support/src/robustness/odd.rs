//! Generated modules off the Rust happy path (issue 10), each with what the tool must do with it
//! ([`Expect`], checked by [`Expect::check`] on top of the checks every case gets): a global
//! named `__stack_pointer` that cannot be one, no stack pointer at all, exports of the names the
//! tool adds or of its prefix, and exported and imported function tables holding functions that
//! return, panic, trap, call the host or call back through the table.
//!
//! Like [`add_rust_abi`](super::add_rust_abi), each adds a Rust-like ABI (a `(param i32)` tag
//! named `__cpp_exception`, `rust_panic` that throws it, `rust_try` that catches it so that the
//! encoding shows) after a wasm-smith module's own fields, so that no index of the module moves;
//! the tables' imports, which must come first, are made room for by re-encoding the module with
//! its defined functions and tables moved up by one.

use std::convert::Infallible;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode, utils};
use wasm_encoder::{
    EntityType, ImportSection, RefType, SectionId, TableType, TypeSection, ValType,
};
use wasm_unwind::{Error, Options, Report, STATE_EXPORT, TAG_EXPORT};
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

use super::differential::HOST_STEPS;
use super::generate::Rng;
use super::{Bug, Diff, Outcome, check_case};

/// How a generated module departs from a Rust build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Abi {
    /// The global named `__stack_pointer` is immutable (i32 or i64).
    StackPointerImmutable,
    /// The global named `__stack_pointer` is mutable but not an i32/i64.
    StackPointerWrongType,
    /// No global is named `__stack_pointer`, and every other global is named otherwise.
    NoStackPointer,
    /// The module already exports `__wasm_unwind_state` (a function or a global).
    ClashState,
    /// The module already exports `__wasm_unwind_tag`.
    ClashTag,
    /// A user export whose name starts with `__wasm_unwind_`.
    Prefixed,
    /// An exported table (sometimes changed by the module) and an imported one, both holding
    /// functions that return, panic, trap, call the host, or call back through the table, the
    /// host's import itself, and exports that call each slot with `call_indirect`.
    Tables,
    /// An exported table of three slots (empty, a plain function, one that panics) and
    /// `rust_call_slot(x, slot)`, which calls a slot with `call_indirect` inside a shadow-stack
    /// frame: the differential's host steps grow and write the table, place functions there
    /// that call back in, and link a second module that writes it (`differential/host.rs`).
    HostWrites,
    /// Two one-parameter tags, `(param i32)` and `(param i64)`, both thrown, neither named.
    SeveralTags,
    /// A `(param i32)` tag that is thrown and never caught: the code shows no encoding.
    NeverCatches,
    /// The stack pointer (not global 0) and the tag exported as `__stack_pointer` and
    /// `__cpp_exception`, with no name section to name them.
    ExportedUnnamed,
}

/// The detection shapes: the tool refuses them on main today; [`Expect::Detected`] is the
/// behaviour issue 19 asks for. Not in [`ODD_ABIS`] until the tool does it.
pub const DETECTION_ABIS: [Abi; 3] = [Abi::SeveralTags, Abi::NeverCatches, Abi::ExportedUnnamed];

pub const ODD_ABIS: [Abi; 8] = [
    Abi::StackPointerImmutable,
    Abi::StackPointerWrongType,
    Abi::NoStackPointer,
    Abi::ClashState,
    Abi::ClashTag,
    Abi::Prefixed,
    Abi::Tables,
    Abi::HostWrites,
];

/// What the tool must do with a generated module: what it does today, by design (see
/// `tests/regressions.rs` for the same on hand-written inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Refused in one line naming global `index`: the name settles which global is the stack
    /// pointer, so no other global is taken instead.
    StackPointerUnusable(u32),
    /// Wrapped without a stack-pointer restore, with one warning saying so.
    NoStackPointer,
    /// Refused in one line naming the export the tool would add. Without the abort guard,
    /// nothing adds `__wasm_unwind_state`, so that clash goes away.
    Clash(&'static str),
    /// The user's export of that name is wrapped like any other.
    Wrapped(String),
    /// These tables appear in the report, wrapped or not as said.
    Tables(Vec<TableExpect>),
    /// `rust_table` wrapped, and the differential's host steps all ran and agreed (or the
    /// module's own part ended the run first: inconclusive, or a trap at instantiation).
    HostWrites,
    /// Accepted as issue 19 asks: see [`Detection`].
    Detected(Detection),
}

/// What the tool must find in a [detection shape](DETECTION_ABIS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// No tag chosen: the wrappers `catch_all` (restoring the stack pointer for any exception,
    /// which the differential checks), no `__wasm_unwind_tag` export, one note line on the tag.
    CatchAll,
    /// The standard encoding (exnref), one note line saying how to ask for legacy.
    Exnref,
    /// The stack pointer and the unwind tag found by their export names: these indices.
    ByExportName { global: u32, tag: u32 },
}

/// One function table the report must list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableExpect {
    /// Its first export name, or `module.name` when imported.
    pub name: String,
    /// Slots filled at instantiation, each holding its wrapper.
    pub entries: usize,
    /// The module stores functions into it at run time: one warning line names it and the
    /// instruction.
    pub stored_by_module: Option<&'static str>,
}

/// A generated input and, for the odd ones, what the tool must do with it.
#[derive(Debug, Clone)]
pub struct Case {
    pub wasm: Vec<u8>,
    pub expect: Option<Expect>,
}

impl Case {
    pub fn plain(wasm: Vec<u8>) -> Case {
        Case { wasm, expect: None }
    }
}

/// `wasm` (a wasm-smith module without a name section) with a Rust-like ABI departing as `abi`
/// says; `choices` picks the details. `None` when the module has a name section, already
/// exports a name this adds, or does not print as text.
pub fn add_odd_abi(wasm: &[u8], abi: Abi, choices: &mut Rng) -> Option<Case> {
    let counts = Counts::of(wasm)?;
    match abi {
        Abi::Tables => return tables(wasm, &counts, choices),
        Abi::HostWrites => return host_writes(wasm),
        Abi::SeveralTags | Abi::NeverCatches | Abi::ExportedUnnamed => {
            return detection(wasm, abi, &counts);
        }
        _ => {}
    }
    let mut fields = String::new();
    let (stack_pointer, lower) = match abi {
        Abi::StackPointerImmutable => {
            let ty = ["i32", "i64"][choices.below(2)];
            (format!("{ty} ({ty}.const 4096)"), "")
        }
        Abi::StackPointerWrongType => {
            let (ty, init) = [
                ("f32", "(f32.const 4096)"),
                ("f64", "(f64.const 4096)"),
                ("funcref", "(ref.null func)"),
            ][choices.below(3)];
            (format!("(mut {ty}) {init}"), "")
        }
        Abi::NoStackPointer => (String::new(), ""),
        _ => (
            "(mut i32) (i32.const 4096)".to_string(),
            "(global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))",
        ),
    };
    let expect = match abi {
        Abi::StackPointerImmutable | Abi::StackPointerWrongType => {
            Expect::StackPointerUnusable(counts.globals)
        }
        Abi::NoStackPointer => Expect::NoStackPointer,
        Abi::ClashState | Abi::ClashTag => {
            let name = if abi == Abi::ClashState {
                STATE_EXPORT
            } else {
                TAG_EXPORT
            };
            let what = ["(func $rust_try)", "(global $rust_count)"][choices.below(2)];
            fields.push_str(&format!("\n  (export \"{name}\" {what})"));
            Expect::Clash(name)
        }
        Abi::Prefixed => {
            let names = [
                "__wasm_unwind_user",
                "__wasm_unwind_",
                "__wasm_unwind_states",
                "__wasm_unwind_tag_",
            ];
            let name = names[choices.below(names.len())];
            fields.push_str(&format!("\n  (export \"{name}\" (func $rust_panic))"));
            Expect::Wrapped(name.to_string())
        }
        _ => unreachable!("handled above"),
    };
    if !stack_pointer.is_empty() {
        fields.push_str(&format!(
            "\n  (global $__stack_pointer (export \"__stack_pointer\") {stack_pointer})"
        ));
    }
    // Without a stack pointer, a panic still changes other globals on its way out (the count,
    // and global 0 when it could pass for a stack pointer): none of them may be "restored".
    let mut bump =
        String::from("(global.set $rust_count (i32.add (global.get $rust_count) (i32.const 1)))");
    if abi == Abi::NoStackPointer && counts.global0_mut_i32 {
        bump.push_str("\n    (global.set 0 (i32.add (global.get 0) (i32.const 1)))");
        fields.push_str("\n  (export \"rust_global0\" (global 0))");
    }
    fields.push_str(&rust_abi(lower, &bump));
    let mut text = wasmprinter::print_bytes(wasm).ok()?;
    if abi == Abi::NoStackPointer {
        // Names for the module's globals say none of them is the stack pointer (global 0 is
        // taken by convention only when nothing names it).
        text = name_globals(text, counts.globals);
    }
    let wasm = append(&text, &fields)?;
    Some(Case {
        wasm,
        expect: Some(expect),
    })
}

/// The tag, the panic count, `rust_panic` (lowers the stack pointer as `lower` says, bumps as
/// `bump` says, throws) and `rust_try` (catches it).
fn rust_abi(lower: &str, bump: &str) -> String {
    format!(
        r#"
  (tag $__cpp_exception (param i32))
  (global $rust_count (export "rust_count") (mut i32) (i32.const 0))
  (func $rust_panic (export "rust_panic") (param i32)
    {lower}
    {bump}
    (throw $__cpp_exception (local.get 0)))
  (func $rust_try (export "rust_try") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $__cpp_exception $caught)
        (call $rust_panic (local.get 0)))
      (i32.const -1)))"#
    )
}

/// Names global `i` `$smith_global_i` in the printed module (the text names each `(;i;)`).
fn name_globals(text: String, globals: u32) -> String {
    (0..globals).fold(text, |text, i| {
        text.replacen(
            &format!("(global (;{i};) "),
            &format!("(global $smith_global_{i} "),
            1,
        )
    })
}

/// The printed module `text` with `fields` after its own, compiled and validated.
fn append(text: &str, fields: &str) -> Option<Vec<u8>> {
    let own = text.trim_end().strip_suffix(')')?;
    let out = wat::parse_str(format!("{own}{fields})")).ok()?;
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&out)
        .ok()?;
    Some(out)
}

/// What the generated fields must know of the module they are added to.
struct Counts {
    types: u32,
    imported_functions: u32,
    imported_tables: u32,
    globals: u32,
    tags: u32,
    /// Global 0 is a mutable i32: the stack pointer by convention, when nothing names it.
    global0_mut_i32: bool,
}

impl Counts {
    /// `None` when the module has a name section (the generated names would clash with it).
    fn of(wasm: &[u8]) -> Option<Counts> {
        let mut counts = Counts {
            types: 0,
            imported_functions: 0,
            imported_tables: 0,
            globals: 0,
            tags: 0,
            global0_mut_i32: false,
        };
        let global = |counts: &mut Counts, ty: wasmparser::GlobalType| {
            if counts.globals == 0 {
                counts.global0_mut_i32 = ty.mutable && ty.content_type == wasmparser::ValType::I32;
            }
            counts.globals += 1;
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.ok()? {
                Payload::TypeSection(r) => {
                    for group in r {
                        counts.types += group.ok()?.types().len() as u32;
                    }
                }
                Payload::ImportSection(r) => {
                    for import in r.into_imports() {
                        match import.ok()?.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                                counts.imported_functions += 1
                            }
                            TypeRef::Table(_) => counts.imported_tables += 1,
                            TypeRef::Global(ty) => global(&mut counts, ty),
                            TypeRef::Tag(_) => counts.tags += 1,
                            _ => {}
                        }
                    }
                }
                Payload::GlobalSection(r) => {
                    for g in r {
                        global(&mut counts, g.ok()?.ty);
                    }
                }
                Payload::TagSection(r) => counts.tags += r.count(),
                Payload::CustomSection(c) if c.name() == "name" => return None,
                _ => {}
            }
        }
        Some(counts)
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

/// What a slot of the generated tables holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Returns `x + 1` using a shadow-stack frame.
    Plain,
    /// Lowers the stack pointer by 32, counts, throws the Rust tag (an escaping panic).
    Panic,
    Trap,
    /// Adds `x + 1` to the count and returns it.
    Bump,
    /// Calls the host's import.
    CallHost,
    /// Calls the exported table's `Plain` slot with `call_indirect` (an internal call made
    /// while Rust code runs).
    Reenter,
    /// The host's import itself.
    Host,
}

const SLOTS: [Slot; 7] = [
    Slot::Plain,
    Slot::Panic,
    Slot::Trap,
    Slot::Bump,
    Slot::CallHost,
    Slot::Reenter,
    Slot::Host,
];

/// Where the functions go in one table: segments `(offset, items)`, in slot order, apart.
struct Layout {
    segments: Vec<(u32, Vec<Slot>)>,
    size: u32,
}

impl Layout {
    /// Random slots, and `with` in the first segment, each at a random place.
    fn new(choices: &mut Rng, with: &[Slot]) -> Layout {
        let mut segments = Vec::new();
        let mut next = choices.below(3) as u32;
        for _ in 0..1 + choices.below(2) {
            let mut items: Vec<Slot> = (0..choices.below(5))
                .map(|_| SLOTS[choices.below(SLOTS.len())])
                .collect();
            if segments.is_empty() {
                for &slot in with {
                    items.insert(choices.below(items.len() + 1), slot);
                }
            }
            if items.is_empty() {
                items.push(SLOTS[choices.below(SLOTS.len())]);
            }
            let len = items.len() as u32;
            segments.push((next, items));
            next += len + choices.below(3) as u32;
        }
        Layout {
            segments,
            size: next + choices.below(2) as u32,
        }
    }

    fn entries(&self) -> usize {
        self.segments.iter().map(|(_, items)| items.len()).sum()
    }

    /// Every filled slot with what it holds.
    fn slots(&self) -> impl Iterator<Item = (u32, Slot)> + '_ {
        self.segments.iter().flat_map(|(offset, items)| {
            items
                .iter()
                .enumerate()
                .map(move |(i, &s)| (offset + i as u32, s))
        })
    }
}

/// [`Abi::Tables`]: the exported table `rust_table` (changed by `rust_install` in a third of
/// the cases, and sometimes exported twice) and the imported `rust.table`, filled from
/// [`SLOTS`] (most exported tables with a function that traps); `rust_dispatch_*` call each slot
/// but those with `call_indirect`, `rust_catch_*` do so for the exported table inside a catch of
/// the Rust tag (like `catch_unwind`).
fn tables(wasm: &[u8], counts: &Counts, choices: &mut Rng) -> Option<Case> {
    // Most exported tables hold a function that traps: a trap through the table must end the
    // instance. Calls through the table before it check the rest.
    let with = if choices.below(4) == 0 {
        &[Slot::Plain][..]
    } else {
        &[Slot::Plain, Slot::Trap]
    };
    let exported = Layout::new(choices, with);
    let imported = Layout::new(choices, &[]);
    let mutated = choices.below(3) == 0;
    let alias = choices.below(3) == 0;
    let wasm = with_imports(wasm, counts, imported.size)?;
    let ty = counts.types;
    let host = counts.imported_functions;
    let itable = counts.imported_tables;
    let plain = exported
        .slots()
        .find(|&(_, s)| s == Slot::Plain)
        .map(|(i, _)| i)?;
    let item = |slot: Slot| match slot {
        Slot::Plain => "$rust_plain".to_string(),
        Slot::Panic => "$rust_throw".to_string(),
        Slot::Trap => "$rust_trap".to_string(),
        Slot::Bump => "$rust_bump".to_string(),
        Slot::CallHost => "$rust_call_host".to_string(),
        Slot::Reenter => "$rust_reenter".to_string(),
        Slot::Host => host.to_string(),
    };
    let elems = |table: &str, layout: &Layout| -> String {
        layout
            .segments
            .iter()
            .map(|(offset, items)| {
                let items: Vec<String> = items.iter().map(|&s| item(s)).collect();
                format!(
                    "\n  (elem (table {table}) (i32.const {offset}) func {})",
                    items.join(" ")
                )
            })
            .collect()
    };
    let sp = "$__stack_pointer";
    let mut fields = format!(
        r#"
  (global {sp} (export "__stack_pointer") (mut i32) (i32.const 4096))
  (table $rust_table (export "rust_table") {size} funcref){elems_exported}{elems_imported}
  (func $rust_plain (type {ty})
    (global.set {sp} (i32.sub (global.get {sp}) (i32.const 16)))
    (i32.add (local.get 0) (i32.const 1))
    (global.set {sp} (i32.add (global.get {sp}) (i32.const 16))))
  (func $rust_throw (type {ty})
    (global.set {sp} (i32.sub (global.get {sp}) (i32.const 32)))
    (global.set $rust_count (i32.add (global.get $rust_count) (i32.const 1)))
    (throw $__cpp_exception (local.get 0)))
  (func $rust_trap (type {ty}) unreachable)
  (func $rust_bump (type {ty})
    (global.set $rust_count
      (i32.add (global.get $rust_count) (i32.add (local.get 0) (i32.const 1))))
    (global.get $rust_count))
  (func $rust_call_host (type {ty}) (call {host} (local.get 0)))
  (func $rust_reenter (type {ty})
    (call_indirect $rust_table (type {ty}) (local.get 0) (i32.const {plain})))"#,
        size = exported.size,
        elems_exported = elems("$rust_table", &exported),
        elems_imported = elems(&itable.to_string(), &imported),
    );
    let itable = itable.to_string();
    // Calls through the tables from inside, but not of the functions that trap: the host's
    // calls through the table come after the exports, and would never run.
    let mut calls = Vec::new();
    for (table, name, layout) in [
        ("$rust_table", "", &exported),
        (itable.as_str(), "imported_", &imported),
    ] {
        for (slot, _) in layout.slots().filter(|&(_, s)| s != Slot::Trap) {
            calls.push(format!(
                r#"
  (func (export "rust_dispatch_{name}{slot}") (result i32)
    (call_indirect {table} (type {ty}) (i32.const 7) (i32.const {slot})))"#
            ));
        }
    }
    for (slot, _) in exported.slots().filter(|&(_, s)| s != Slot::Trap) {
        calls.push(format!(
            r#"
  (func (export "rust_catch_{slot}") (result i32)
    (local $sp i32)
    (local.set $sp (global.get {sp}))
    (block $caught (result i32)
      (try_table (result i32) (catch $__cpp_exception $caught)
        (call_indirect $rust_table (type {ty}) (i32.const 7) (i32.const {slot})))
      return)
    drop
    (global.set {sp} (local.get $sp))
    (i32.const -1))"#
        ));
    }
    fields.push_str(&rust_abi(
        "(global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 16)))",
        "(global.set $rust_count (i32.add (global.get $rust_count) (i32.const 1)))",
    ));
    fields.extend(calls);
    if mutated {
        let (first, _) = exported.segments[0];
        fields.push_str(&format!(
            r#"
  (elem declare func $rust_bump)
  (func (export "rust_install") (table.set $rust_table (i32.const {first}) (ref.func $rust_bump)))"#
        ));
    }
    if alias {
        fields.push_str("\n  (export \"rust_table_alias\" (table $rust_table))");
    }
    let text = wasmprinter::print_bytes(&wasm).ok()?;
    let wasm = append(&text, &fields)?;
    let expect = Expect::Tables(vec![
        TableExpect {
            name: "rust_table".into(),
            entries: exported.entries(),
            stored_by_module: mutated.then_some("table.set"),
        },
        TableExpect {
            name: format!("{IMPORT_MODULE}.{IMPORT_TABLE}"),
            entries: imported.entries(),
            stored_by_module: None,
        },
    ]);
    Some(Case {
        wasm,
        expect: Some(expect),
    })
}

/// [`Abi::HostWrites`]: `rust_table` of 3 slots, 1 and 2 holding `$rust_plain` (`x + 1` in a
/// shadow-stack frame) and `$rust_throw` (lowers the stack pointer, throws `x`), 0 empty;
/// `rust_call_slot(x, slot)` calls a slot with `call_indirect` in a frame of its own; `rust_trap`
/// traps. What the host does with them is in `differential/host.rs`, which relies on this layout.
fn host_writes(wasm: &[u8]) -> Option<Case> {
    let sp = "$__stack_pointer";
    let lower = |n: u32| format!("(global.set {sp} (i32.sub (global.get {sp}) (i32.const {n})))");
    let mut fields = format!(
        r#"
  (type $rust_fn (func (param i32) (result i32)))
  (global {sp} (export "__stack_pointer") (mut i32) (i32.const 4096))
  (table $rust_table (export "rust_table") 3 funcref)
  (elem (table $rust_table) (i32.const 1) func $rust_plain $rust_throw)
  (func $rust_plain (type $rust_fn)
    {lower16}
    (i32.add (local.get 0) (i32.const 1))
    (global.set {sp} (i32.add (global.get {sp}) (i32.const 16))))
  (func $rust_throw (type $rust_fn)
    {lower32}
    (throw $__cpp_exception (local.get 0)))
  (func (export "rust_trap") (type $rust_fn) unreachable)
  (func (export "rust_call_slot") (param $x i32) (param $slot i32) (result i32)
    {lower16}
    (call_indirect $rust_table (type $rust_fn) (local.get $x) (local.get $slot))
    (global.set {sp} (i32.add (global.get {sp}) (i32.const 16))))"#,
        lower16 = lower(16),
        lower32 = lower(32),
    );
    let bump = "(global.set $rust_count (i32.add (global.get $rust_count) (i32.const 1)))";
    fields.push_str(&rust_abi(&lower(16), bump));
    let wasm = append(&wasmprinter::print_bytes(wasm).ok()?, &fields)?;
    Some(Case {
        wasm,
        expect: Some(Expect::HostWrites),
    })
}

/// A [detection shape](DETECTION_ABIS) after the module's own fields. The tags (and in
/// [`Abi::ExportedUnnamed`] the stack pointer) are unnamed: referred to by index.
fn detection(wasm: &[u8], abi: Abi, counts: &Counts) -> Option<Case> {
    let tag = counts.tags;
    let named_sp = r#"
  (global $__stack_pointer (export "__stack_pointer") (mut i32) (i32.const 4096))"#;
    let throw = |sp: &str, tag: u32, value: &str| {
        format!(
            "(global.set {sp} (i32.sub (global.get {sp}) (i32.const 16)))
    (throw {tag} {value})"
        )
    };
    let catch = |tag: u32, callee: &str| {
        format!(
            r#"
  (func (export "rust_try") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch {tag} $caught) (call {callee} (local.get 0)))
      (i32.const -1)))"#
        )
    };
    let (fields, detection) = match abi {
        Abi::SeveralTags => {
            let sp = "$__stack_pointer";
            let fields = format!(
                r#"{named_sp}
  (tag (param i32))
  (tag (param i64))
  (func $rust_throw_i32 (export "rust_throw_i32") (param i32)
    {throw32})
  (func (export "rust_throw_i64") (param i32)
    {throw64}){catch}"#,
                throw32 = throw(sp, tag, "(local.get 0)"),
                throw64 = throw(sp, tag + 1, "(i64.extend_i32_u (local.get 0))"),
                catch = catch(tag, "$rust_throw_i32"),
            );
            (fields, Detection::CatchAll)
        }
        Abi::NeverCatches => {
            // Nothing in the module may catch, or its encoding would show.
            if super::eh_use(wasm) != (false, false) {
                return None;
            }
            let fields = format!(
                r#"{named_sp}
  (tag (param i32))
  (func (export "rust_panic") (param i32)
    {throw})"#,
                throw = throw("$__stack_pointer", tag, "(local.get 0)"),
            );
            (fields, Detection::Exnref)
        }
        _ => {
            // A mutable i32 before the stack pointer, so that it is never global 0.
            let global = counts.globals + 1;
            let fields = format!(
                r#"
  (global (mut i32) (i32.const 0))
  (global (export "__stack_pointer") (mut i32) (i32.const 4096))
  (tag (export "__cpp_exception") (param i32))
  (func $rust_panic (export "rust_panic") (param i32)
    {throw}){catch}"#,
                throw = throw(&global.to_string(), tag, "(local.get 0)"),
                catch = catch(tag, "$rust_panic"),
            );
            (fields, Detection::ByExportName { global, tag })
        }
    };
    let wasm = append(&wasmprinter::print_bytes(wasm).ok()?, &fields)?;
    Some(Case {
        wasm,
        expect: Some(Expect::Detected(detection)),
    })
}

const IMPORT_MODULE: &str = "rust";
const IMPORT_TABLE: &str = "table";

type Reencoded<T = ()> = Result<T, ReencodeError<Infallible>>;

/// `wasm` re-encoded with two imports after its own: the function `rust.host`, `(i32) -> i32`
/// (a new type, the last), and the funcref table `rust.table` of `size` slots. Its defined
/// functions and tables move up by one; nothing else moves.
fn with_imports(wasm: &[u8], counts: &Counts, size: u32) -> Option<Vec<u8>> {
    struct Room {
        functions: u32,
        tables: u32,
        ty: u32,
        size: u32,
        typed: bool,
        imported: bool,
    }
    impl Room {
        fn add_type(&mut self, types: &mut TypeSection) {
            types.ty().function([ValType::I32], [ValType::I32]);
            self.typed = true;
        }
        fn add_imports(&mut self, imports: &mut ImportSection) {
            imports.import(IMPORT_MODULE, "host", EntityType::Function(self.ty));
            let table = TableType {
                element_type: RefType::FUNCREF,
                table64: false,
                minimum: u64::from(self.size),
                maximum: None,
                shared: false,
            };
            imports.import(IMPORT_MODULE, IMPORT_TABLE, EntityType::Table(table));
            self.imported = true;
        }
    }
    impl Reencode for Room {
        type Error = Infallible;
        fn function_index(&mut self, f: u32) -> Reencoded<u32> {
            Ok(f + u32::from(f >= self.functions))
        }
        fn table_index(&mut self, t: u32) -> Reencoded<u32> {
            Ok(t + u32::from(t >= self.tables))
        }
        fn parse_type_section(
            &mut self,
            types: &mut TypeSection,
            section: wasmparser::TypeSectionReader<'_>,
        ) -> Reencoded {
            utils::parse_type_section(self, types, section)?;
            self.add_type(types);
            Ok(())
        }
        fn parse_import_section(
            &mut self,
            imports: &mut ImportSection,
            section: wasmparser::ImportSectionReader<'_>,
        ) -> Reencoded {
            utils::parse_import_section(self, imports, section)?;
            self.add_imports(imports);
            Ok(())
        }
        /// Type and import sections the module lacks go in before the first section after them.
        fn intersperse_section_hook(
            &mut self,
            module: &mut wasm_encoder::Module,
            _after: Option<SectionId>,
            before: Option<SectionId>,
        ) -> Reencoded {
            if !self.typed && before != Some(SectionId::Type) {
                let mut types = TypeSection::new();
                self.add_type(&mut types);
                module.section(&types);
            }
            if !self.imported && !matches!(before, Some(SectionId::Type | SectionId::Import)) {
                let mut imports = ImportSection::new();
                self.add_imports(&mut imports);
                module.section(&imports);
            }
            Ok(())
        }
    }
    let mut room = Room {
        functions: counts.imported_functions,
        tables: counts.imported_tables,
        ty: counts.types,
        size,
        typed: false,
        imported: false,
    };
    let mut module = wasm_encoder::Module::new();
    room.parse_core_module(&mut module, Parser::new(0), wasm)
        .ok()?;
    Some(module.finish())
}

// ---------------------------------------------------------------------------------------------
// The check

impl Expect {
    /// Whether `outcome`, what the tool did with `wasm`, is what is expected.
    pub fn check(&self, wasm: &[u8], outcome: &Outcome) -> Result<(), Bug> {
        let fail = || {
            Err(Bug {
                what: format!("expected {self:?}, got {outcome:?}"),
            })
        };
        match (self, outcome) {
            (Expect::StackPointerUnusable(index), Outcome::Rejected(msg))
                if *msg == Error::StackPointerUnusable(*index).to_string() =>
            {
                Ok(())
            }
            (Expect::Clash(name), Outcome::Rejected(msg))
                if *msg == Error::ExportClash(name).to_string() =>
            {
                if *name != STATE_EXPORT {
                    return Ok(());
                }
                let unguarded = Options::default().abort_guard(false);
                match check_case(wasm, &unguarded, false)? {
                    Outcome::Accepted { report, .. } if !report.abort_guard => Ok(()),
                    other => Err(Bug {
                        what: format!(
                            "`{name}` taken, no abort guard: expected it processed, got {other:?}"
                        ),
                    }),
                }
            }
            (Expect::NoStackPointer, Outcome::Accepted { report, .. }) => {
                let warned: Vec<&String> = report
                    .warnings
                    .iter()
                    .filter(|w| w.contains("no shadow stack pointer"))
                    .collect();
                if report.stack_pointer.is_none() && warned.len() == 1 && !warned[0].contains('\n')
                {
                    Ok(())
                } else {
                    fail()
                }
            }
            (Expect::Wrapped(name), Outcome::Accepted { report, .. })
                if report.exports.iter().any(|e| e.name == *name && e.wrapped) =>
            {
                Ok(())
            }
            (Expect::Tables(tables), Outcome::Accepted { report, .. }) => {
                let listed = |t: &TableExpect| {
                    let head = format!("table `{}`: the module stores functions", t.name);
                    let warned: Vec<&String> = report
                        .warnings
                        .iter()
                        .filter(|w| w.starts_with(&head))
                        .collect();
                    let warned_right = match t.stored_by_module {
                        None => warned.is_empty(),
                        Some(op) => warned.len() == 1 && warned[0].contains(op),
                    };
                    warned_right
                        && report.tables.iter().any(|r| {
                            r.name == t.name
                                && r.entries == t.entries
                                && r.wrapped
                                && r.reason.is_none()
                        })
                };
                if tables.iter().all(listed) {
                    Ok(())
                } else {
                    fail()
                }
            }
            (Expect::HostWrites, Outcome::Accepted { report, diff, .. })
                if report
                    .tables
                    .iter()
                    .any(|t| t.name == "rust_table" && t.wrapped)
                    && host_steps_ran(diff) =>
            {
                Ok(())
            }
            (Expect::Detected(detection), Outcome::Accepted { report, .. })
                if detection.holds(wasm, report) =>
            {
                Ok(())
            }
            _ => fail(),
        }
    }
}

/// Whether the differential's host steps ran whole and agreed, or the module's own part ended
/// the run first (out of fuel, or instantiation failing alike on both sides).
fn host_steps_ran(diff: &Diff) -> bool {
    match diff {
        Diff::Compared(t) => {
            let instantiation_failed = t.calls == 0 && t.traps == 1;
            (t.host_calls, t.callbacks, t.linked) == HOST_STEPS
                || (instantiation_failed && t.host_calls == 0)
        }
        Diff::Inconclusive => true,
        _ => false,
    }
}

impl Detection {
    /// Whether `report`, the tool's report on `wasm`, shows the behaviour issue 19 asks for
    /// (what the wrappers do is the differential's part).
    fn holds(&self, wasm: &[u8], report: &Report) -> bool {
        // One note line: what the tool chose, said once.
        let notes = |about: &str| {
            let lines: Vec<String> = report
                .notes
                .iter()
                .map(|n| n.to_string())
                .filter(|n| n.contains(about))
                .collect();
            lines.len() == 1 && !lines[0].contains('\n')
        };
        match self {
            Detection::CatchAll => {
                let output = wasm_unwind::process(wasm, &Options::default());
                let tag_exported = output.is_ok_and(|p| {
                    crate::exports_of(&p.wasm)
                        .iter()
                        .any(|e| e.name == TAG_EXPORT)
                });
                report.unwind_tag.is_none() && !tag_exported && notes("tag")
            }
            Detection::Exnref => {
                report.encoding == Some(wasm_unwind::Encoding::Exnref) && notes("legacy")
            }
            Detection::ByExportName { global, tag } => {
                report.stack_pointer.as_ref().map(|f| f.index) == Some(*global)
                    && report.unwind_tag.as_ref().map(|f| f.index) == Some(*tag)
            }
        }
    }
}
