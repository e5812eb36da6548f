//! Detect: read from the module itself what the wrappers must work with.
//!
//! Three facts: which exception-handling encoding the code uses (the output must keep it, since
//! engines reject modules that mix the two), which tag carries Rust unwinds, and which global is
//! the shadow stack pointer. Each can be forced from the command line; where the module does not
//! settle a question and no option does, we stop with a message rather than guess. Answers never
//! depend on the order of a hash map: where names pick two entities, that is an error.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use wasmparser::ValType;

use crate::error::{Error, Result};
use crate::load::{Import, Module};

/// How exceptions are encoded in the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The standardized form: `try_table`, `catch_ref`, `throw_ref`.
    Exnref,
    /// The legacy form: `try`, `catch`, `catch_all`, `rethrow`, `delegate`.
    Legacy,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Exnref => "exnref",
            Encoding::Legacy => "legacy",
        })
    }
}

impl FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exnref" => Ok(Encoding::Exnref),
            "legacy" => Ok(Encoding::Legacy),
            _ => Err(format!("expected `exnref` or `legacy`, got `{s}`")),
        }
    }
}

/// What wasm-bindgen left in a module (raw cargo output using it, or its CLI's output) that
/// the tool must cooperate with. Its glue keeps its own termination flag, a u32 in memory 0 at
/// the address the global `__instance_terminated` holds, and calls the abort hook whose table
/// slot is stored at the address `__abort_handler` holds (wasm-bindgen 0.2.114 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bindgen {
    /// The global holding the address of wasm-bindgen's terminated flag.
    pub terminated: Option<u32>,
    /// The global holding the address of the abort hook's table slot.
    pub abort_handler: Option<u32>,
}

/// Import modules only wasm-bindgen's toolchain uses (its CLI replaces them).
pub const BINDGEN_IMPORT_MODULES: [&str; 2] =
    ["__wbindgen_placeholder__", "__wbindgen_externref_xform__"];

/// Whether `module` is wasm-bindgen output, and what of its abort machinery it has.
pub fn bindgen(module: &Module<'_>) -> Option<Bindgen> {
    let ours = |name: &str| name.starts_with("__wbindgen_") || name.starts_with("__wbg_");
    let imports = module
        .function_imports
        .iter()
        .any(|i| BINDGEN_IMPORT_MODULES.contains(&i.module) || ours(i.name));
    let exports = module
        .exports
        .iter()
        .any(|e| e.name.starts_with("__wbindgen_"));
    if !imports && !exports {
        return None;
    }
    Some(Bindgen {
        terminated: exported_address(module, "__instance_terminated"),
        abort_handler: exported_address(module, "__abort_handler"),
    })
}

/// The export of wasm-unwind-runtime's termination word, a static every instance over the same
/// memory shares.
pub const SHARED_WORD_EXPORT: &str = "__wasm_unwind_terminated";

/// The runtime crate's termination word (the global holding its address), when the module links
/// it.
pub fn shared_word(module: &Module<'_>) -> Option<u32> {
    exported_address(module, SHARED_WORD_EXPORT)
}

/// An immutable i32 global of the module's own, exported under `name`: the address of a static
/// in memory 0, as the linker exports a data symbol.
fn exported_address(module: &Module<'_>, name: &str) -> Option<u32> {
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
/// (a `panic=abort` build).
pub fn encoding(module: &Module<'_>, forced: Option<Encoding>) -> Result<Option<Encoding>> {
    let eh = module.eh;
    match (eh.exnref, eh.legacy) {
        (true, true) => Err(Error::MixedEncoding),
        (true, false) => Ok(Some(Encoding::Exnref)),
        (false, true) => Ok(Some(Encoding::Legacy)),
        (false, false) if forced.is_some() => Ok(forced),
        (false, false) if eh.throw => Err(Error::UnknownEncoding),
        (false, false) => Ok(None),
    }
}

/// The tag that Rust's `_Unwind_RaiseException` throws: `(param i32)`, or `(param i64)` on wasm64.
pub fn unwind_tag(module: &Module<'_>, choice: Option<&str>) -> Result<Option<Found>> {
    let is_candidate = |i: u32| {
        module
            .tags
            .get(i as usize)
            .is_some_and(|t| matches!(t.params[..], [ValType::I32] | [ValType::I64]))
    };
    let found = |index: u32, how| Found {
        index,
        name: tag_name(module, index),
        how,
    };

    if let Some(choice) = choice {
        let index = resolve(choice, |name| tag_indices_by_name(module, name))
            .filter(|&i| is_candidate(i))
            .ok_or_else(|| Error::TagNotFound(choice.to_string()))?;
        return Ok(Some(found(index, "from --tag")));
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
    if let Some(index) = one(&thrown_by_throwers, Error::AmbiguousTag)? {
        return Ok(Some(found(index, "thrown by Rust's panic entry point")));
    }
    // LLVM's C++ tag, named or imported.
    let named = tag_indices_by_name(module, "__cpp_exception");
    let named: Vec<u32> = named.into_iter().filter(|&i| is_candidate(i)).collect();
    if let Some(index) = one(&named, Error::AmbiguousTag)? {
        return Ok(Some(found(index, "named __cpp_exception")));
    }
    // Otherwise the one candidate that is actually thrown.
    let thrown = sorted(
        module
            .bodies
            .iter()
            .flat_map(|b| b.throws.iter().copied())
            .filter(|&i| is_candidate(i)),
    );
    Ok(one(&thrown, Error::AmbiguousTag)?
        .map(|index| found(index, "the only (param i32) tag thrown")))
}

/// The global that holds the shadow stack pointer, or `None` when the module has none.
///
/// A global named `__stack_pointer` is the stack pointer, or the module is refused when it
/// cannot be one: the name settles the question, so no other global is taken instead. Global 0
/// is taken by convention only when nothing names it (names stripped); when names say it is
/// something else, or nothing fits, there is no stack pointer and the wrappers restore none.
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
    if is_candidate(0) && global_name(module, 0).is_none() {
        return Ok(Some(found(0, "global 0 by convention")));
    }
    Ok(None)
}

/// The only entry of `indices` (sorted, deduplicated), `None` for none, `ambiguous` for more.
fn one(indices: &[u32], ambiguous: fn(String) -> Error) -> Result<Option<u32>> {
    match indices {
        [] => Ok(None),
        [index] => Ok(Some(*index)),
        _ => Err(ambiguous(
            indices
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
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
    indices_by_name(
        &module.names.tags,
        module.tags.iter().map(|t| t.import.as_ref()),
        name,
    )
}

fn global_indices_by_name(module: &Module<'_>, name: &str) -> Vec<u32> {
    indices_by_name(
        &module.names.globals,
        module.globals.iter().map(|g| g.import.as_ref()),
        name,
    )
}

/// The name-section name, else `module.name` of the import.
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
