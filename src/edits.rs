//! The changes the passes ask for, kept apart from the input so the encoder can splice.
//!
//! Everything new is appended: new types, functions and globals take the indices after the
//! input's, so no existing index moves and untouched function bodies are copied byte for byte.

use std::collections::HashMap;

use wasm_encoder::{ConstExpr, ExportKind, Function, GlobalType, ValType};

use crate::load::Module;

pub struct NewFunction {
    pub type_index: u32,
    pub name: String,
    pub body: Function,
}

pub struct NewGlobal {
    pub ty: GlobalType,
    pub init: ConstExpr,
    pub name: String,
}

/// Additions and changes to one module.
pub struct Edits {
    first_type: u32,
    first_function: u32,
    first_global: u32,
    pub types: Vec<(Vec<ValType>, Vec<ValType>)>,
    pub functions: Vec<NewFunction>,
    pub globals: Vec<NewGlobal>,
    /// Exports (by position in the export section) that now point at another function.
    pub repointed_exports: HashMap<usize, u32>,
    /// Exports added after the input's, all named `__wasm_unwind_*`.
    pub exports: Vec<(String, ExportKind, u32)>,
    /// Direct calls and `ref.func`s of the key that now go to the value instead.
    pub redirected_calls: HashMap<u32, u32>,
    /// Added functions that code takes with `ref.func`, which validation requires be declared.
    pub declared_functions: Vec<u32>,
    /// Text of the marker section: what was done, so a second run can say so.
    pub marker: String,
}

impl Edits {
    pub fn new(module: &Module<'_>) -> Edits {
        Edits {
            first_type: module.types.len() as u32,
            first_function: module.function_count(),
            first_global: module.globals.len() as u32,
            types: Vec::new(),
            functions: Vec::new(),
            globals: Vec::new(),
            repointed_exports: HashMap::new(),
            exports: Vec::new(),
            redirected_calls: HashMap::new(),
            declared_functions: Vec::new(),
            marker: String::new(),
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
        let index = self.first_function + self.functions.len() as u32;
        self.functions.push(NewFunction {
            type_index,
            name,
            body,
        });
        index
    }

    pub fn add_global(&mut self, ty: GlobalType, init: ConstExpr, name: String) -> u32 {
        self.globals.push(NewGlobal { ty, init, name });
        self.first_global + self.globals.len() as u32 - 1
    }

    pub fn first_function(&self) -> u32 {
        self.first_function
    }

    pub fn first_global(&self) -> u32 {
        self.first_global
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.globals.is_empty() && self.exports.is_empty()
    }
}

/// The encoder's form of a parsed value type. Every type a validated module uses has one.
pub fn val_type(ty: wasmparser::ValType) -> ValType {
    ValType::try_from(ty).expect("validated value types re-encode")
}
