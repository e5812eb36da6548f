//! wasm-bindgen's conventions: the names it gives what it adds, and what they tell the plan.
//!
//! wasm-bindgen works in two steps. Its macro compiles into the module exports for the user's
//! functions and classes, imports from the placeholder modules below, and "describe" functions
//! that encode each signature. Its CLI then runs those describe functions, writes the JS glue,
//! removes them and replaces the placeholder imports. The tool may run before or after the CLI,
//! and must not break either: before it, the placeholder imports' call sites stay as they are
//! (the CLI reads them); JS mode is refused (the glue does not provide our imports); its own
//! exports are left alone, but class exports that run user code are wrapped; and the glue's
//! termination flag and abort hook (0.2.114 and later) take part in the abort guard.

use wasmparser::ExternalKind;

use crate::detect::exported_address;
use crate::load::Module;

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
    /// wasm-bindgen's CLI has not run on the module yet: the describe functions it reads and
    /// then removes are still there (see [`describes`]).
    pub before_cli: bool,
}

/// Import modules of wasm-bindgen's toolchain: before its CLI, imports it reads and replaces;
/// after it, `--target nodejs` keeps the first for the functions its glue provides.
const IMPORT_MODULES: [&str; 2] = ["__wbindgen_placeholder__", "__wbindgen_externref_xform__"];

/// Prefixes of the exports wasm-bindgen generates for its own glue (allocator, externref
/// table, exception store, upcasts): left alone unless an `--export` glob names them.
const INTERNALS: [&str; 3] = ["__wbindgen_", "__wbg_", "__externref_"];

/// wasm-bindgen's class exports that run the user's code, so can unwind or trap: the
/// destructor (`Drop`, `__wbg_<class>_free`), and field accessors (`__wbg_get_*`,
/// `__wbg_set_*`: the getter's `Clone`, the `Drop` of the value a setter replaces). Its macro
/// makes them `extern "C-unwind"` and leaves them out of its `catch_unwind`. Before its CLI,
/// names end in a crate hash (`_` and 16 hex digits), which `name` must not have.
fn class_export(name: &str) -> bool {
    let destructor = name.len() >= "__wbg__free".len() && class_destructor(name);
    destructor || name.starts_with("__wbg_get_") || name.starts_with("__wbg_set_")
}

/// Whether `module` is wasm-bindgen output, and what of its abort machinery it has.
pub fn detect(module: &Module<'_>) -> Option<Bindgen> {
    let ours = |name: &str| name.starts_with("__wbindgen_") || name.starts_with("__wbg_");
    let imports = module
        .function_imports
        .iter()
        .any(|i| replaced_by_cli(i.module) || ours(i.name));
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
        before_cli: describes(module),
    })
}

/// Whether the module has wasm-bindgen's describe functions: the imports
/// `__wbindgen_describe*` its macro's code calls and the `__wbindgen_describe_*` exports it
/// emits, which the CLI interprets to write its glue and then removes. This, not the import
/// modules' names, tells a module before the CLI from one after it: the CLI's `--target nodejs`
/// output still imports from `__wbindgen_placeholder__`.
fn describes(module: &Module<'_>) -> bool {
    let describe = |name: &str| name.starts_with("__wbindgen_describe");
    module.function_imports.iter().any(|i| describe(i.name))
        || module
            .exports
            .iter()
            .any(|e| e.kind == ExternalKind::Func && describe(e.name))
}

/// Whether an import from `import_module` is not the host's before wasm-bindgen's CLI has run:
/// the CLI reads the functions that call these (its describe protocol) and replaces the
/// imports, so their call sites must stay as they are for the module to go through wasm-bindgen
/// after us. After the CLI they are real imports like any other (its `--target nodejs` output
/// keeps `__wbindgen_placeholder__` as the module name of the JS functions it provides).
pub fn replaced_by_cli(import_module: &str) -> bool {
    IMPORT_MODULES.contains(&import_module)
}

/// Whether the export `name` is wasm-bindgen's own ([`INTERNALS`]), not one of its class
/// exports that run the user's code. Plain prefixes and suffixes: compiling them as globs took
/// a regex engine and 0.6 MiB of every run's memory.
pub fn own_export(name: &str) -> bool {
    INTERNALS.iter().any(|p| name.starts_with(p)) && !class_export(strip_crate_hash(name))
}

/// Whether `name` is a wasm-bindgen class destructor, `__wbg_<class>_free[_<hash>]`.
pub fn class_destructor(name: &str) -> bool {
    let name = strip_crate_hash(name);
    name.starts_with("__wbg_") && name.ends_with("_free")
}

/// `name` without the crate hash wasm-bindgen's macro appends to export names.
fn strip_crate_hash(name: &str) -> &str {
    match name.rsplit_once('_') {
        Some((base, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            base
        }
        _ => name,
    }
}

/// Whether `function` of a table could be wasm-bindgen's abort hook, which its glue calls
/// through the exported table with no arguments: a defined `() -> ()` function.
pub fn may_be_abort_hook(module: &Module<'_>, function: u32) -> bool {
    let ty = module.function_type(function);
    let hook_type = ty.params().is_empty() && ty.results().is_empty();
    hook_type && function >= module.imported_functions()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;

    #[test]
    fn the_describe_functions_tell_wasm_bindgen_output_before_its_cli() {
        let import = r#"(import "__wbindgen_placeholder__" "__wbg_log_1" (func (param i32)))"#;
        let cases = [
            ("", false),
            (
                r#"(import "__wbindgen_placeholder__" "__wbindgen_describe" (func (param i32)))"#,
                true,
            ),
            (r#"(func (export "__wbindgen_describe_greet"))"#, true),
        ];
        for (fields, before) in cases {
            let bytes = wat::parse_str(format!("(module {import} {fields})")).unwrap();
            let found = detect(&load::load(&bytes).unwrap()).expect("wasm-bindgen output");
            assert_eq!(found.before_cli, before, "{fields}");
        }
    }
}
