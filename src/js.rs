//! JS mode: the host's own errors, thrown from inside the module.
//!
//! With `--js` the output imports two functions from the module `wasm_unwind`, which the ES
//! module from `--emit-js` provides: `panic(message_ptr, message_len)` throws a `PanicError`
//! and `terminated()` a `TerminatedError`. Wrappers call them, so every caller of an export
//! (our loader, wasm-bindgen's glue, a table call from JS) sees those errors.
//!
//! The passes build against stand-in functions, and `externalize` turns the stand-ins into
//! imports at the very end. Imports take the first function indices, so this is the one step
//! that renumbers functions; it re-encodes the whole module, which only JS mode pays for.

use std::convert::Infallible;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{EntityType, Function, ImportSection, NameMap, SectionId, ValType};

use crate::edits::Edits;
use crate::error::{Error, Result};

/// The import module every JS-mode import comes from.
pub const IMPORT_MODULE: &str = "wasm_unwind";

/// The ES module `--emit-js` writes. It has no dependencies.
pub const GLUE: &str = include_str!("js/wasm-unwind.mjs");

/// The stand-ins for the two imports, by function index before `externalize`.
#[derive(Debug, Clone)]
pub struct HostErrors {
    /// `panic(message_ptr: i32, message_len: i32)`; a null pointer means the message is unknown.
    pub panic: u32,
    /// `terminated()`.
    pub terminated: u32,
    /// Type indices of `panic` and `terminated`.
    types: [u32; 2],
}

impl HostErrors {
    /// How many functions `declare` adds (and `externalize` turns into imports).
    pub const COUNT: u32 = 2;

    /// Adds the stand-ins. Their bodies only trap: they are replaced before anything runs.
    pub fn declare(edits: &mut Edits) -> HostErrors {
        let mut stand_in = |params: &[ValType], name: &str| {
            let ty = edits.add_type(params, &[]);
            let mut body = Function::new([]);
            body.instructions().unreachable().end();
            (
                edits.add_function(ty, format!("{IMPORT_MODULE}.{name}"), body),
                ty,
            )
        };
        let (panic, panic_type) = stand_in(&[ValType::I32, ValType::I32], "panic");
        let (terminated, terminated_type) = stand_in(&[], "terminated");
        HostErrors {
            panic,
            terminated,
            types: [panic_type, terminated_type],
        }
    }
}

/// Turns the stand-ins of `errors` into imports of `wasm_unwind`, renumbering every function
/// reference in `wasm` (code, tables, exports, start, names). Debug info is dropped with a
/// warning: the code moves. `wasm` must be valid; so is the result.
pub fn externalize(
    wasm: &[u8],
    imported_functions: u32,
    errors: &HostErrors,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>> {
    let mut pass = Externalize {
        imported_functions,
        stand_ins: [
            (errors.panic, "panic", errors.types[0]),
            (errors.terminated, "terminated", errors.types[1]),
        ],
        import_section_written: false,
        dropped_debug_info: false,
        dropped_names: false,
    };
    let mut out = wasm_encoder::Module::new();
    pass.parse_core_module(&mut out, wasmparser::Parser::new(0), wasm)
        .map_err(|e| Error::OutputInvalid(format!("adding the `{IMPORT_MODULE}` imports: {e}")))?;
    if pass.dropped_debug_info {
        warnings.push("dropped DWARF debug info: --js renumbers the module's functions".into());
    }
    if pass.dropped_names {
        warnings
            .push("dropped the name section: it is malformed, so --js cannot renumber it".into());
    }
    Ok(out.finish())
}

struct Externalize {
    imported_functions: u32,
    /// (stand-in function, import name, type), in the order the imports are added.
    stand_ins: [(u32, &'static str, u32); 2],
    import_section_written: bool,
    dropped_debug_info: bool,
    dropped_names: bool,
}

impl Externalize {
    fn is_stand_in(&self, function: u32) -> bool {
        self.stand_ins.iter().any(|&(f, _, _)| f == function)
    }

    fn add_imports(&mut self, section: &mut ImportSection) {
        for &(_, name, ty) in &self.stand_ins {
            section.import(IMPORT_MODULE, name, EntityType::Function(ty));
        }
        self.import_section_written = true;
    }

    /// The entries of the function or code section, one per defined function, less the
    /// stand-ins' (their imports take their place).
    fn defined_without_stand_ins<T>(
        &self,
        section: impl IntoIterator<Item = wasmparser::Result<T>>,
    ) -> wasmparser::Result<Vec<T>> {
        let mut kept = Vec::new();
        for (defined, entry) in section.into_iter().enumerate() {
            let entry = entry?;
            if !self.is_stand_in(self.imported_functions + defined as u32) {
                kept.push(entry);
            }
        }
        Ok(kept)
    }

    /// Index `function` takes once the stand-ins are imports after the input's own imports.
    fn renumber(&self, function: u32) -> u32 {
        if function < self.imported_functions {
            return function;
        }
        if let Some(position) = self.stand_ins.iter().position(|&(f, _, _)| f == function) {
            return self.imported_functions + position as u32;
        }
        let before = self
            .stand_ins
            .iter()
            .filter(|&&(f, _, _)| f < function)
            .count() as u32;
        function + self.stand_ins.len() as u32 - before
    }

    fn sorted_names(
        &self,
        map: wasmparser::NameMap<'_>,
    ) -> Result<NameMap, wasmparser::BinaryReaderError> {
        let mut names = map
            .into_iter()
            .map(|n| n.map(|n| (self.renumber(n.index), n.name)))
            .collect::<Result<Vec<_>, _>>()?;
        names.sort_unstable_by_key(|&(index, _)| index);
        let mut out = NameMap::new();
        for (index, name) in names {
            out.append(index, name);
        }
        Ok(out)
    }
}

type ReencodeResult<T> = Result<T, reencode::Error<Infallible>>;

impl Reencode for Externalize {
    type Error = Infallible;

    fn function_index(&mut self, function: u32) -> ReencodeResult<u32> {
        Ok(self.renumber(function))
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> ReencodeResult<()> {
        reencode::utils::parse_import_section(self, imports, section)?;
        self.add_imports(imports);
        Ok(())
    }

    /// A module without imports gets an import section just after its type section.
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> ReencodeResult<()> {
        let past_imports = !matches!(
            before,
            Some(SectionId::Type | SectionId::Custom | SectionId::Import)
        );
        if past_imports && !self.import_section_written {
            let mut section = ImportSection::new();
            self.add_imports(&mut section);
            module.section(&section);
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> ReencodeResult<()> {
        for ty in self.defined_without_stand_ins(section)? {
            functions.function(ty);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> ReencodeResult<()> {
        for body in self.defined_without_stand_ins(section)? {
            reencode::utils::parse_function_body(self, code, body)?;
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> ReencodeResult<()> {
        if section.name().starts_with(".debug_") {
            self.dropped_debug_info = true;
            return Ok(());
        }
        // A name section that does not parse cannot be renumbered; engines ignore it anyway.
        if let wasmparser::KnownCustom::Name(names) = section.as_known() {
            match self.custom_name_section(names) {
                Ok(names) => {
                    module.section(&names);
                }
                Err(_) => self.dropped_names = true,
            }
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }

    fn parse_custom_name_subsection(
        &mut self,
        names: &mut wasm_encoder::NameSection,
        section: wasmparser::Name<'_>,
    ) -> ReencodeResult<()> {
        // The stand-ins move to lower indices and name maps must stay in index order. Every
        // other function keeps its rank, and the stand-ins have no local or label names, so
        // only the function names need sorting.
        match section {
            wasmparser::Name::Function(map) => {
                names.functions(&self.sorted_names(map)?);
                Ok(())
            }
            other => reencode::utils::parse_custom_name_subsection(self, names, other),
        }
    }
}
