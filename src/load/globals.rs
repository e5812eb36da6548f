//! Globals: where the module names a defined global by index (`global.get`, `global.set`), so
//! that the encoder can renumber it when an added global import moves every defined global up.
//!
//! Found on demand rather than while scanning: only a module that gains a global import needs
//! them (a side module of dynamic linking, `passes::guard`), and Rust code reads its stack
//! pointer, a defined global, in nearly every function. Imported globals never move, so only
//! indices from `first_defined` on are recorded.

use std::ops::Range;

use wasm_encoder::SectionId;
use wasmparser::{
    BinaryReader, ConstExpr, DataKind, ElementItems, ElementKind, FunctionBody, Operator,
    OperatorsReader, TableInit,
};

use super::Module;

const GLOBAL: u8 = SectionId::Global as u8;
const TABLE: u8 = SectionId::Table as u8;
const ELEMENT: u8 = SectionId::Element as u8;
const DATA: u8 = SectionId::Data as u8;

/// A `global.get` or `global.set` of a defined global, with where its LEB128 index is.
#[derive(Debug, Clone)]
pub struct GlobalUse {
    pub global: u32,
    pub index_bytes: Range<usize>,
}

/// The defined globals a body names: `bytes` holds the body (locals and code) at `offset` in the
/// module (offsets in the uses are the module's). The body is valid, so it decodes.
pub fn in_body(bytes: &[u8], offset: usize, first_defined: u32) -> Vec<GlobalUse> {
    let body = FunctionBody::new(BinaryReader::new(bytes, offset));
    let ops = body.get_operators_reader().expect("valid bodies decode");
    in_operators(ops, first_defined)
}

/// The defined globals the constant expressions of the global, table, element and data sections
/// name, in the order of the module. The module is valid, so its sections read.
pub fn outside_code(module: &Module<'_>) -> Vec<GlobalUse> {
    let first_defined = module.imported_globals();
    let mut uses = Vec::new();
    let mut expr = |e: &ConstExpr<'_>| {
        uses.extend(in_operators(e.get_operators_reader(), first_defined));
    };
    for section in &module.sections {
        let reader = BinaryReader::new(&module.bytes[section.range.clone()], section.range.start);
        match section.id {
            GLOBAL => {
                for global in valid(wasmparser::GlobalSectionReader::new(reader)) {
                    expr(&valid(global).init_expr);
                }
            }
            TABLE => {
                for table in valid(wasmparser::TableSectionReader::new(reader)) {
                    if let TableInit::Expr(init) = &valid(table).init {
                        expr(init);
                    }
                }
            }
            ELEMENT => {
                for element in valid(wasmparser::ElementSectionReader::new(reader)) {
                    let element = valid(element);
                    if let ElementKind::Active { offset_expr, .. } = &element.kind {
                        expr(offset_expr);
                    }
                    if let ElementItems::Expressions(_, items) = element.items {
                        items.into_iter().for_each(|item| expr(&valid(item)));
                    }
                }
            }
            DATA => {
                for data in valid(wasmparser::DataSectionReader::new(reader)) {
                    if let DataKind::Active { offset_expr, .. } = &valid(data).kind {
                        expr(offset_expr);
                    }
                }
            }
            _ => {}
        }
    }
    uses
}

/// What reading a valid module gives.
fn valid<T>(read: wasmparser::Result<T>) -> T {
    read.expect("valid sections read")
}

/// The `global.get`s and `global.set`s of defined globals among `ops`.
fn in_operators(mut ops: OperatorsReader<'_>, first_defined: u32) -> Vec<GlobalUse> {
    let mut uses = Vec::new();
    while !ops.eof() {
        let (op, at) = ops.read_with_offset().expect("valid code decodes");
        if let Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } = op
            && global_index >= first_defined
        {
            uses.push(GlobalUse {
                global: global_index,
                index_bytes: at + 1..ops.original_position(),
            });
        }
    }
    uses
}
