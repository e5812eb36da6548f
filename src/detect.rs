//! Detect: read from the module itself what the wrappers must work with.
//!
//! Three facts: which exception-handling encoding the code uses (the output must keep it, since
//! engines reject modules that mix the two), which tag carries Rust unwinds, and which global is
//! the shadow stack pointer. Each can be forced from the command line. Where the module does not
//! settle a question and no option does, the answer is the choice that is correct whatever the
//! truth (the plan says which in a note): code that shows no encoding gets the standard one, and
//! several candidate tags mean no tag (wrappers catch every exception without one). Names are
//! those of the name section, of imports and, when neither names an entity, of exports (release
//! builds keep no name section, but Emscripten exports `__cpp_exception` and `__stack_pointer`).
//! Answers never depend on the order of a hash map: where names pick two globals, that is an
//! error.

use std::collections::HashMap;
use std::fmt;

use wasmparser::{BinaryReader, ExternalKind, ProducersSectionReader, ValType};

use crate::abi::{RUNTIME_EXPORT, SHARED_WORD_EXPORT};
pub use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::load::{Import, Module};

/// A choice made where the module does not settle a question; its text says what was chosen
/// and which option makes another choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The code throws but never catches, so it shows no encoding: the standard one is used.
    EncodingUnseen,
    /// Several candidate unwind tags (see [`UnwindTag::Undecided`]): none is used.
    UndecidedTag(Vec<u32>),
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::EncodingUnseen => f.write_str(
                "the code throws but never catches, so it does not show its exception-handling encoding: wrappers use the standard one (exnref); pass --encoding legacy for engines with only legacy exception handling",
            ),
            Note::UndecidedTag(candidates) => write!(
                f,
                "cannot tell which of tags {} is the unwind tag, so none is used: wrappers catch every exception with catch_all, which needs no tag, and leave out the Rust-panic hand-off and the {} export; pass --tag to choose",
                list(candidates),
                crate::abi::TAG_EXPORT
            ),
        }
    }
}

/// The runtime crate's termination word, when the module links it.
pub fn shared_word(module: &Module<'_>) -> Option<Word> {
    Some(Word {
        global: exported_address(module, SHARED_WORD_EXPORT)?,
        base: memory_base(module),
        linked: None,
    })
}

/// A static in memory 0: the global holding its address, and the global it is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub global: u32,
    /// `__memory_base`, in a module of dynamic linking that imports it: the loader puts the
    /// module's data there, so the addresses it exports are relative to it (Emscripten's
    /// `relocateExports` adds it).
    pub base: Option<u32>,
    /// The `GOT.mem` global through which a loader of dynamic linking gives this module the
    /// program's word (the first module's to export it), when the guard imports one.
    pub linked: Option<u32>,
}

/// The immutable i32 global imported as `env.__memory_base`: in the dynamic-linking ABI, where
/// the loader placed the module's data.
fn memory_base(module: &Module<'_>) -> Option<u32> {
    imported_i32(module, ("env", "__memory_base"), false)
}

/// The i32 global imported as `import` (module, name), mutable or not as `mutable` says.
pub fn imported_i32(module: &Module<'_>, import: (&str, &str), mutable: bool) -> Option<u32> {
    let found = module.globals.iter().position(|g| {
        g.import.as_ref().map(|i| (i.module, i.name)) == Some(import)
            && g.ty.mutable == mutable
            && g.ty.content_type == ValType::I32
    })?;
    u32::try_from(found).ok()
}

/// The module is a main or side module of dynamic linking (it has a `dylink.0` section, or the
/// older `dylink`): a loader links it with other modules over one memory and one table.
pub fn dynamically_linked(module: &Module<'_>) -> bool {
    module
        .sections
        .iter()
        .any(|s| matches!(s.custom_name, Some("dylink.0" | "dylink")))
}

/// An immutable i32 global of the module's own, exported under `name`: the address of a static
/// in memory 0, as the linker exports a data symbol.
pub(crate) fn exported_address(module: &Module<'_>, name: &str) -> Option<u32> {
    let export = module
        .exports
        .iter()
        .find(|e| e.name == name && e.kind == wasmparser::ExternalKind::Global)?;
    let global = module.globals.get(export.index as usize)?;
    let fits = module.memory32
        && global.import.is_none()
        && !global.ty.mutable
        && global.ty.content_type == ValType::I32;
    fits.then_some(export.index)
}

/// A tag or global the pass uses, and how it was found (for the summary and `--check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub index: u32,
    pub name: Option<String>,
    pub how: &'static str,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.index)?;
        if let Some(name) = &self.name {
            write!(f, " `{name}`")?;
        }
        write!(f, " ({})", self.how)
    }
}

/// The EH encoding of the module: `None` when it uses no exception handling at all
/// (a `panic=abort` build). A module that throws but never catches shows neither; it gets
/// `forced`, else the standard encoding (see [`encoding_unseen`]).
pub fn encoding(module: &Module<'_>, forced: Option<Encoding>) -> Result<Option<Encoding>> {
    let eh = module.eh;
    match (eh.exnref, eh.legacy) {
        (true, true) => Err(Error::MixedEncoding),
        (true, false) => Ok(Some(Encoding::Exnref)),
        (false, true) => Ok(Some(Encoding::Legacy)),
        (false, false) if forced.is_some() => Ok(forced),
        (false, false) if eh.throw => Ok(Some(Encoding::Exnref)),
        (false, false) => Ok(None),
    }
}

/// Whether the module throws but its code shows no encoding (`throw` is valid in both), so the
/// encoding is the option's or the standard one by default.
pub fn encoding_unseen(module: &Module<'_>) -> bool {
    let eh = module.eh;
    eh.throw && !eh.exnref && !eh.legacy
}

/// What detection says of the unwind tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnwindTag {
    Found(Found),
    /// No `(param i32)` / `(param i64)` tag is thrown, named or chosen.
    None,
    /// Several candidates (sorted), and nothing says which one Rust throws. Wrappers then catch
    /// every exception with `catch_all`, which needs no tag: only what is specific to Rust
    /// panics (the runtime crate's hand-off, JS mode's `PanicError`, the tag export) is left out.
    Undecided(Vec<u32>),
}

impl UnwindTag {
    pub fn found(self) -> Option<Found> {
        match self {
            UnwindTag::Found(found) => Some(found),
            UnwindTag::None | UnwindTag::Undecided(_) => None,
        }
    }
}

/// The tag that Rust's `_Unwind_RaiseException` throws: `(param i32)`, or `(param i64)` on wasm64.
/// Evidence in order, the first that names any candidate deciding: the tag thrown by Rust's
/// panic entry point (by function name), LLVM's C++ tag `__cpp_exception` (which Rust throws
/// too) by name, import or export name, the candidates actually thrown.
pub fn unwind_tag(module: &Module<'_>, choice: Option<&str>) -> Result<UnwindTag> {
    let is_candidate = |i: u32| {
        module
            .tags
            .get(i as usize)
            .is_some_and(|t| matches!(t.params[..], [ValType::I32] | [ValType::I64]))
    };
    let found = |index: u32, how| {
        UnwindTag::Found(Found {
            index,
            name: tag_name(module, index),
            how,
        })
    };

    if let Some(choice) = choice {
        let index = resolve(choice, |name| tag_indices_by_name(module, name))
            .filter(|&i| is_candidate(i))
            .ok_or_else(|| Error::TagNotFound(choice.to_string()))?;
        return Ok(found(index, "from --tag"));
    }
    // The thrower itself, when names are kept: `_Unwind_RaiseException`, or Rust's
    // `__rust_start_panic` (its symbol mangled) once LTO has inlined the former into it.
    let thrower =
        |name: &str| name == "_Unwind_RaiseException" || name.ends_with("__rust_start_panic");
    let thrown_by_throwers = sorted(module.names.functions.iter().filter_map(|(&f, name)| {
        match module.body(f).map(|b| &b.throws[..]) {
            Some(&[tag]) if thrower(name) && is_candidate(tag) => Some(tag),
            _ => None,
        }
    }));
    let named = tag_indices_by_name(module, "__cpp_exception");
    let named: Vec<u32> = named.into_iter().filter(|&i| is_candidate(i)).collect();
    let thrown = || {
        sorted(
            module
                .bodies
                .iter()
                .flat_map(|b| b.throws.iter().copied())
                .filter(|&i| is_candidate(i)),
        )
    };
    let evidence = [
        (thrown_by_throwers, "thrown by Rust's panic entry point"),
        (named, "named __cpp_exception"),
        (thrown(), "the only (param i32) tag thrown"),
    ];
    let decided = evidence.into_iter().find(|(tags, _)| !tags.is_empty());
    Ok(match decided {
        None => UnwindTag::None,
        Some((tags, how)) => match tags[..] {
            [index] => found(index, how),
            _ => UnwindTag::Undecided(tags),
        },
    })
}

/// The global that holds the shadow stack pointer, or `None` when the module has none.
///
/// A global named `__stack_pointer` (by the name section, an import, or else an export) is the
/// stack pointer, or the module is refused when it cannot be one: the name settles the
/// question, so no other global is taken instead. Global 0 is taken by LLVM's convention, only
/// when the module shows it is LLVM output ([`llvm_output`]) and nothing names global 0: other
/// producers put other things there (AssemblyScript its allocator's root, which a restore after
/// an exception would corrupt). Otherwise there is no stack pointer and the wrappers restore none.
pub fn stack_pointer(module: &Module<'_>, choice: Option<&str>) -> Result<Option<Found>> {
    let is_candidate = |i: u32| {
        module.globals.get(i as usize).is_some_and(|g| {
            g.ty.mutable && matches!(g.ty.content_type, ValType::I32 | ValType::I64)
        })
    };
    let found = |index: u32, how| Found {
        index,
        name: global_name(module, index),
        how,
    };

    if let Some(choice) = choice {
        let index = resolve(choice, |name| global_indices_by_name(module, name))
            .filter(|&i| is_candidate(i))
            .ok_or_else(|| Error::StackPointerNotFound(choice.to_string()))?;
        return Ok(Some(found(index, "from --stack-pointer")));
    }
    let named = global_indices_by_name(module, "__stack_pointer");
    if let Some(index) = one(&named, Error::AmbiguousStackPointer)? {
        if !is_candidate(index) {
            return Err(Error::StackPointerUnusable(index));
        }
        return Ok(Some(found(index, "named __stack_pointer")));
    }
    if is_candidate(0) && global_name(module, 0).is_none() && llvm_output(module) {
        return Ok(Some(found(0, "global 0 by convention")));
    }
    Ok(None)
}

/// Symbols only LLVM's linker (wasm-ld) defines, which its output exports or imports under
/// these names: the table of address-taken functions, the ends of the data and of the static
/// area, the constructors' caller, and the bases a dynamically linked module imports.
const WASM_LD_SYMBOLS: [&str; 6] = [
    "__indirect_function_table",
    "__heap_base",
    "__data_end",
    "__wasm_call_ctors",
    "__memory_base",
    "__table_base",
];

/// Whether the module shows it is LLVM output (rustc, clang, Emscripten), whose global 0 is
/// the stack pointer when the linker keeps no name for it. The evidence: the `producers`
/// section says so (`processed-by` rustc or clang, `language` Rust, C or C++; LLVM writes it
/// and Binaryen keeps it); an import, export or function name is one only wasm-ld gives
/// (Emscripten strips `producers` but exports or imports some of these); or a function opens
/// with LLVM's frame prologue on global 0 (`FramePrologue` in `load::scan`), what is left of a Rust build
/// with `strip = true`, which removes both sections and exports none of those names.
pub fn llvm_output(module: &Module<'_>) -> bool {
    let linker_names = module
        .exports
        .iter()
        .map(|e| e.name)
        .chain(module.function_imports.iter().map(|i| i.name))
        .chain(
            module
                .globals
                .iter()
                .filter_map(|g| Some(g.import.as_ref()?.name)),
        )
        .chain(
            module
                .tables
                .iter()
                .filter_map(|t| Some(t.import.as_ref()?.name)),
        )
        .chain(module.names.functions.values().copied());
    producers(module).any(|(field, value)| llvm_producer(field, value))
        || linker_names
            .into_iter()
            .any(|name| WASM_LD_SYMBOLS.contains(&name))
        || module.bodies.iter().any(|b| b.llvm_frame)
}

/// A `producers` entry (field, value name) that only LLVM output carries.
fn llvm_producer(field: &str, value: &str) -> bool {
    let c_family = |lang: &str| {
        lang.strip_prefix('C').is_some_and(|rest| {
            rest.is_empty() || rest.starts_with("++") || rest.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match field {
        "processed-by" => matches!(value, "rustc" | "clang"),
        "language" => value.trim() == "Rust" || c_family(value.trim()),
        _ => false,
    }
}

/// The (field, value name) pairs of the `producers` section; nothing when it is absent or
/// malformed (it carries no meaning an engine uses, so it is not validated).
fn producers<'m>(module: &'m Module<'_>) -> impl Iterator<Item = (&'m str, &'m str)> {
    let section = module
        .sections
        .iter()
        .find(|s| s.custom_name == Some("producers"));
    let reader = section.and_then(|s| {
        let data = &module.bytes[s.range.clone()];
        ProducersSectionReader::new(BinaryReader::new(data, s.range.start)).ok()
    });
    reader
        .into_iter()
        .flatten()
        .map_while(|f| f.ok())
        .flat_map(|field| {
            let values = field.values.into_iter().map_while(|v| v.ok());
            values.map(move |v| (field.name, v.name))
        })
}

/// The only entry of `indices` (sorted, deduplicated), `None` for none, `ambiguous` for more.
fn one(indices: &[u32], ambiguous: fn(String) -> Error) -> Result<Option<u32>> {
    match indices {
        [] => Ok(None),
        [index] => Ok(Some(*index)),
        _ => Err(ambiguous(list(indices))),
    }
}

/// `0, 1, 2`.
fn list(indices: &[u32]) -> String {
    let texts: Vec<String> = indices.iter().map(|i| i.to_string()).collect();
    texts.join(", ")
}

fn sorted(indices: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut indices: Vec<u32> = indices.collect();
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// An option value is an index, or a name that identifies exactly one entity.
fn resolve(choice: &str, by_name: impl Fn(&str) -> Vec<u32>) -> Option<u32> {
    choice
        .parse::<u32>()
        .ok()
        .or_else(|| match by_name(choice)[..] {
            [index] => Some(index),
            _ => None,
        })
}

fn tag_name(module: &Module<'_>, index: u32) -> Option<String> {
    display_name(
        &module.names.tags,
        module.tags[index as usize].import.as_ref(),
        index,
    )
}

fn global_name(module: &Module<'_>, index: u32) -> Option<String> {
    display_name(
        &module.names.globals,
        module.globals[index as usize].import.as_ref(),
        index,
    )
}

fn tag_indices_by_name(module: &Module<'_>, name: &str) -> Vec<u32> {
    let named = indices_by_name(
        &module.names.tags,
        module.tags.iter().map(|t| t.import.as_ref()),
        name,
    );
    or_exported(named, module, ExternalKind::Tag, name)
}

fn global_indices_by_name(module: &Module<'_>, name: &str) -> Vec<u32> {
    let named = indices_by_name(
        &module.names.globals,
        module.globals.iter().map(|g| g.import.as_ref()),
        name,
    );
    or_exported(named, module, ExternalKind::Global, name)
}

/// The name-section name, else `module.name` of the import. Export names are the host's, and
/// a processed module's tag export is ours: they find entities but do not name them.
fn display_name(
    names: &HashMap<u32, &str>,
    import: Option<&Import<'_>>,
    index: u32,
) -> Option<String> {
    names
        .get(&index)
        .map(|n| n.to_string())
        .or_else(|| import.map(|i| format!("{}.{}", i.module, i.name)))
}

/// `named` when the name section or an import names something; else the entity exported as
/// `name` (export names are unique). Names come first: an export name is the host's, and
/// must not contradict what the module's own names say.
fn or_exported(named: Vec<u32>, module: &Module<'_>, kind: ExternalKind, name: &str) -> Vec<u32> {
    if !named.is_empty() {
        return named;
    }
    let export = module
        .exports
        .iter()
        .find(|e| e.kind == kind && e.name == name);
    export.map(|e| e.index).into_iter().collect()
}

/// Every entity with `name` as its name-section name, its import name, or `module.name` of its
/// import, in index order (the name section is a map, but nothing stops two entries sharing a
/// name).
fn indices_by_name<'m>(
    names: &HashMap<u32, &str>,
    imports: impl Iterator<Item = Option<&'m Import<'m>>>,
    name: &str,
) -> Vec<u32> {
    let named = names.iter().filter(|(_, n)| **n == name).map(|(&i, _)| i);
    let imported = imports
        .enumerate()
        .filter(|(_, i)| i.is_some_and(|i| import_matches(i, name)))
        .map(|(index, _)| index as u32);
    sorted(named.chain(imported))
}

fn import_matches(import: &Import<'_>, name: &str) -> bool {
    import.name == name
        || name
            .split_once('.')
            .is_some_and(|(m, n)| m == import.module && n == import.name)
}

/// The runtime crate's recover function, when the module links it with the expected type
/// `(i32) -> i32`.
pub fn runtime(module: &Module<'_>) -> Option<u32> {
    let export = module
        .exports
        .iter()
        .find(|e| e.kind == wasmparser::ExternalKind::Func && e.name == RUNTIME_EXPORT)?;
    let ty = module.function_type(export.index);
    (ty.params() == [wasmparser::ValType::I32] && ty.results() == [wasmparser::ValType::I32])
        .then_some(export.index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;

    const ENCODINGS: [Encoding; 2] = [Encoding::Exnref, Encoding::Legacy];

    /// A module with `fields`, and a function that catches everything in `encoding`, so that
    /// the code shows it.
    fn module(encoding: Encoding, fields: &str) -> Vec<u8> {
        let catcher = match encoding {
            Encoding::Exnref => "(block (try_table (catch_all 0) (call $may_throw)))",
            Encoding::Legacy => "try call $may_throw catch_all end",
        };
        let wat = format!(
            r#"(module {fields}
                (func $may_throw)
                (func (export "catches") {catcher}))"#
        );
        wat::parse_str(wat).unwrap()
    }

    fn with<T>(bytes: &[u8], f: impl FnOnce(&Module<'_>) -> T) -> T {
        f(&load::load(bytes).unwrap())
    }

    /// Emscripten's shape for C++ with `-fwasm-exceptions`, release (no name section): an
    /// imported global 0, the stack pointer exported behind it, and two thrown `(param i32)`
    /// tags, LLVM's C++ tag exported as `__cpp_exception`.
    const EMSCRIPTEN_CXX: &str = r#"
        (import "env" "__memory_base" (global i32))
        (global (export "__stack_pointer") (mut i32) (i32.const 65536))
        (tag (export "__c_longjmp") (param i32))
        (tag (export "__cpp_exception") (param i32))
        (func (export "throw_cxx") (param i32) (throw 1 (local.get 0)))
        (func (export "longjmp") (param i32) (throw 0 (local.get 0)))"#;

    #[test]
    fn tag_and_stack_pointer_are_found_by_their_export_names() {
        for encoding in ENCODINGS {
            let bytes = module(encoding, EMSCRIPTEN_CXX);
            with(&bytes, |m| {
                let tag = unwind_tag(m, None).unwrap().found().expect("a tag");
                assert_eq!((tag.index, tag.how), (1, "named __cpp_exception"));
                let sp = stack_pointer(m, None).unwrap().expect("a stack pointer");
                assert_eq!((sp.index, sp.how), (1, "named __stack_pointer"));
                assert!(!encoding_unseen(m));
            });
        }
    }

    #[test]
    fn options_take_export_names() {
        for encoding in ENCODINGS {
            let bytes = module(encoding, EMSCRIPTEN_CXX);
            with(&bytes, |m| {
                let tag = unwind_tag(m, Some("__c_longjmp")).unwrap().found().unwrap();
                assert_eq!((tag.index, tag.how), (0, "from --tag"));
                let sp = stack_pointer(m, Some("__stack_pointer")).unwrap().unwrap();
                assert_eq!((sp.index, sp.how), (1, "from --stack-pointer"));
                assert!(matches!(
                    unwind_tag(m, Some("nope")),
                    Err(Error::TagNotFound(_))
                ));
            });
        }
    }

    /// An export name never overrides the module's own names: the name section says global 1
    /// is the stack pointer, whatever global 2 is exported as.
    #[test]
    fn names_come_before_export_names() {
        let fields = r#"
            (global $counter (mut i32) (i32.const 0))
            (global $__stack_pointer (mut i32) (i32.const 1024))
            (global (export "__stack_pointer") (mut i32) (i32.const 2048))"#;
        for encoding in ENCODINGS {
            let bytes = module(encoding, fields);
            with(&bytes, |m| {
                let sp = stack_pointer(m, None).unwrap().unwrap();
                assert_eq!(sp.index, 1);
            });
        }
    }

    #[test]
    fn several_candidate_tags_and_nothing_to_tell_them_apart_is_undecided() {
        let fields = r#"
            (tag (param i32))
            (tag (param i64))
            (func (param i32) (throw 0 (local.get 0)))
            (func (param i64) (throw 1 (local.get 0)))"#;
        for encoding in ENCODINGS {
            let bytes = module(encoding, fields);
            with(&bytes, |m| {
                assert_eq!(
                    unwind_tag(m, None).unwrap(),
                    UnwindTag::Undecided(vec![0, 1])
                );
                // The option settles it.
                let tag = unwind_tag(m, Some("1")).unwrap().found().unwrap();
                assert_eq!(tag.index, 1);
            });
        }
        let note = Note::UndecidedTag(vec![0, 1]).to_string();
        assert!(
            note.contains("tags 0, 1") && note.contains("--tag"),
            "{note}"
        );
        assert!(!note.contains('\n'));
    }

    #[test]
    fn a_module_that_throws_but_never_catches_gets_the_standard_encoding() {
        let bytes = wat::parse_str(
            r#"(module (tag (param i32)) (func (export "f") (param i32) (throw 0 (local.get 0))))"#,
        )
        .unwrap();
        with(&bytes, |m| {
            assert!(encoding_unseen(m));
            assert_eq!(encoding(m, None).unwrap(), Some(Encoding::Exnref));
            let legacy = Some(Encoding::Legacy);
            assert_eq!(encoding(m, legacy).unwrap(), legacy);
        });
        let note = Note::EncodingUnseen.to_string();
        assert!(
            note.contains("exnref") && note.contains("--encoding legacy"),
            "{note}"
        );
    }

    /// Global 0 is the stack pointer by LLVM's convention only in a module that shows it is
    /// LLVM output: an AssemblyScript-like module's global 0 (its allocator's root) is not.
    #[test]
    fn global_0_by_convention_only_in_llvm_output() {
        let global0 = r#"(global (mut i32) (i32.const 1024))
            (tag (param i32)) (func (param i32) (throw 0 (local.get 0)))"#;
        // (fields, LLVM output, the stack pointer found)
        let evidence = [
            ("", false, None),
            (r#"(@producers (processed-by "asc" "0.27"))"#, false, None),
            (
                r#"(@producers (processed-by "rustc" "1.97.0-nightly"))"#,
                true,
                Some(0),
            ),
            (
                r#"(@producers (processed-by "clang" "19.1"))"#,
                true,
                Some(0),
            ),
            (r#"(@producers (language "Rust" ""))"#, true, Some(0)),
            (r#"(@producers (language "C11" ""))"#, true, Some(0)),
            (r#"(@producers (language "C++14" ""))"#, true, Some(0)),
            (r#"(@producers (language "Cobol" ""))"#, false, None),
            (
                r#"(global (export "__heap_base") i32 (i32.const 0))"#,
                true,
                Some(0),
            ),
            (
                r#"(table (export "__indirect_function_table") 1 funcref)"#,
                true,
                Some(0),
            ),
            // LLVM's frame prologue, all that a stripped Rust build shows.
            (
                "(func (local i32) global.get 0 i32.const 32 i32.sub local.tee 0 global.set 0)",
                true,
                Some(0),
            ),
            // A shadow stack of another kind (AssemblyScript's, 4-byte slots, no tee): not it.
            (
                "(func global.get 0 i32.const 4 i32.sub global.set 0)",
                false,
                None,
            ),
            // Global 0 is then the import, named by it: not taken.
            (r#"(import "env" "__memory_base" (global i32))"#, true, None),
        ];
        for encoding in ENCODINGS {
            for (fields, llvm, sp) in evidence {
                // Imports come first in the text format.
                let text = match fields.starts_with("(import") {
                    true => format!("{fields} {global0}"),
                    false => format!("{global0} {fields}"),
                };
                let bytes = module(encoding, &text);
                with(&bytes, |m| {
                    assert_eq!(llvm_output(m), llvm, "{fields}");
                    let found = stack_pointer(m, None).unwrap();
                    assert_eq!(found.map(|f| f.index), sp, "{fields}");
                });
            }
        }
    }
}
