//! The changes the passes ask for, kept apart from the input so the encoder can splice.
//!
//! Everything new is appended in one index space per kind: the input's functions (globals) keep
//! their indices, and every added import or function (global) takes the next index after the
//! input's, in the order it was added. The encoder maps each space onto the output's (imports
//! come before definitions there, so an added import moves every defined function or global);
//! see `IndexMap`. Types are only appended, so their indices never move.

use std::collections::HashMap;

use wasm_encoder::{ConstExpr, ExportKind, Function, GlobalType, ValType};

use crate::load::Module;
use crate::marker::Marker;

pub struct NewFunction {
    pub type_index: u32,
    pub name: String,
    pub body: Function,
}

/// An added import of a function (`Ty`: its type index) or a global (its type).
pub struct NewImport<Ty> {
    pub module: &'static str,
    pub name: &'static str,
    pub ty: Ty,
}

impl<Ty> NewImport<Ty> {
    /// `module.name`, the name it gets in the name section.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

pub struct NewGlobal {
    pub ty: GlobalType,
    pub init: ConstExpr,
    pub name: String,
}

/// An added function (global), in the order of the edits' index space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The import at this position of `Edits::imports` (`global_imports`).
    Import(u32),
    /// The function at this position of `Edits::functions` (the global of `globals`).
    Defined(u32),
}

/// Additions and changes to one module. Function indices are in the edits' index space.
pub struct Edits {
    first_type: u32,
    first_function: u32,
    first_global: u32,
    pub types: Vec<(Vec<ValType>, Vec<ValType>)>,
    pub imports: Vec<NewImport<u32>>,
    pub functions: Vec<NewFunction>,
    /// Every added import and function, by index from `first_function` on.
    pub added: Vec<Added>,
    pub globals: Vec<NewGlobal>,
    pub global_imports: Vec<NewImport<GlobalType>>,
    /// Every added global and global import, by index from `first_global` on.
    pub added_globals: Vec<Added>,
    /// Function exports (by position in the export section) that now point at another function.
    pub repointed_exports: HashMap<usize, u32>,
    /// Exports added after the input's, all named `__wasm_unwind_*`.
    pub exports: Vec<(String, ExportKind, u32)>,
    /// Direct calls, `ref.func`s and element entries of the key that now go to the value.
    pub redirected_calls: HashMap<u32, u32>,
    /// Element entries (by where their index is in the input) that name another function,
    /// before `redirected_calls`: the wrappers in tables a host can reach.
    pub redirected_entries: HashMap<usize, u32>,
    /// `call_indirect`s through a table (key: table, type) that now call the value instead.
    pub redirected_indirect: HashMap<(u32, u32), u32>,
    /// Added functions that code takes with `ref.func`, which validation requires be declared.
    pub declared_functions: Vec<u32>,
    /// What the marker section records; the encoder fills in `added_from`.
    pub marker: Option<Marker>,
}

impl Edits {
    pub fn new(module: &Module<'_>) -> Edits {
        Edits {
            first_type: module.types.len() as u32,
            first_function: module.function_count(),
            first_global: module.globals.len() as u32,
            types: Vec::new(),
            imports: Vec::new(),
            functions: Vec::new(),
            added: Vec::new(),
            globals: Vec::new(),
            global_imports: Vec::new(),
            added_globals: Vec::new(),
            repointed_exports: HashMap::new(),
            exports: Vec::new(),
            redirected_calls: HashMap::new(),
            redirected_entries: HashMap::new(),
            redirected_indirect: HashMap::new(),
            declared_functions: Vec::new(),
            marker: None,
        }
    }

    /// Index of a function type with this signature among the added ones, adding it if needed.
    pub fn add_type(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let position = self
            .types
            .iter()
            .position(|(p, r)| p == params && r == results)
            .unwrap_or_else(|| {
                self.types.push((params.to_vec(), results.to_vec()));
                self.types.len() - 1
            });
        self.first_type + position as u32
    }

    pub fn add_function(&mut self, type_index: u32, name: String, body: Function) -> u32 {
        self.functions.push(NewFunction {
            type_index,
            name,
            body,
        });
        self.push_added(Added::Defined(self.functions.len() as u32 - 1))
    }

    /// A function import; the output lists it after the input's imports.
    pub fn add_import(&mut self, module: &'static str, name: &'static str, type_index: u32) -> u32 {
        self.imports.push(NewImport {
            module,
            name,
            ty: type_index,
        });
        self.push_added(Added::Import(self.imports.len() as u32 - 1))
    }

    fn push_added(&mut self, added: Added) -> u32 {
        self.added.push(added);
        self.first_function + self.added.len() as u32 - 1
    }

    pub fn add_global(&mut self, ty: GlobalType, init: ConstExpr, name: String) -> u32 {
        self.globals.push(NewGlobal { ty, init, name });
        self.push_added_global(Added::Defined(self.globals.len() as u32 - 1))
    }

    /// A global import; the output lists it after the input's imports.
    pub fn add_global_import(
        &mut self,
        module: &'static str,
        name: &'static str,
        ty: GlobalType,
    ) -> u32 {
        self.global_imports.push(NewImport { module, name, ty });
        self.push_added_global(Added::Import(self.global_imports.len() as u32 - 1))
    }

    fn push_added_global(&mut self, added: Added) -> u32 {
        self.added_globals.push(added);
        self.first_global + self.added_globals.len() as u32 - 1
    }

    pub fn first_function(&self) -> u32 {
        self.first_function
    }

    pub fn first_global(&self) -> u32 {
        self.first_global
    }

    /// What function `index` (in the edits' space) was, if the edits added it.
    pub fn added(&self, index: u32) -> Option<Added> {
        let position = index.checked_sub(self.first_function)?;
        self.added.get(position as usize).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.added_globals.is_empty()
            && self.exports.is_empty()
            && self.redirected_entries.is_empty()
    }
}

/// The encoder's form of a parsed value type. Every type a validated module uses has one.
pub fn val_type(ty: wasmparser::ValType) -> ValType {
    ValType::try_from(ty).expect("validated value types re-encode")
}
