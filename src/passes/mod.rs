//! The passes `apply` runs, each adding its part to the `Edits`: `js` (the host's imports),
//! `guard` (the abort guard), `recover` (where a caught panic goes), `wrap` (the export
//! wrappers) and `tables` (the wrappers in the tables a host can reach), plus the one code shape two of them share.

pub mod guard;
pub mod js;
pub mod recover;
pub mod tables;
pub mod wrap;

use wasm_encoder::{BlockType, Catch, InstructionSink, ValType};

use crate::encoding::Encoding;

/// What a shim or wrapper calls.
#[derive(Debug, Clone, Copy)]
pub enum Callee {
    Function(u32),
    /// `call_indirect`: the slot index comes after the arguments.
    Indirect {
        type_index: u32,
        table: u32,
    },
}

impl Callee {
    fn call(self, code: &mut InstructionSink<'_>) {
        match self {
            Callee::Function(f) => code.call(f),
            Callee::Indirect { type_index, table } => code.call_indirect(table, type_index),
        };
    }
}

/// Calls `target` with the caller's `params` first locals, inside a catch-all in `encoding`
/// (`None`: a plain call). `on_return` runs after a normal return, and the function then
/// returns; `on_throw` runs when any exception leaves `target`, which is then rethrown as it
/// is (a JS error stays that JS error). `signature` is `target`'s type.
pub fn call_in_catch_all(
    code: &mut InstructionSink<'_>,
    encoding: Option<Encoding>,
    (target, signature, params): (Callee, BlockType, u32),
    on_return: impl Fn(&mut InstructionSink<'_>),
    on_throw: impl Fn(&mut InstructionSink<'_>),
) {
    match encoding {
        Some(Encoding::Exnref) => {
            code.block(BlockType::Result(ValType::EXNREF));
            push_params(code, params);
            code.try_table(signature, [Catch::AllRef { label: 0 }]);
            target.call(code);
            code.end();
            on_return(code);
            code.return_().end();
            on_throw(code);
            code.throw_ref();
        }
        Some(Encoding::Legacy) => {
            push_params(code, params);
            code.try_(signature);
            target.call(code);
            code.catch_all();
            on_throw(code);
            code.rethrow(0).end();
            on_return(code);
        }
        None => {
            push_params(code, params);
            target.call(code);
            on_return(code);
        }
    }
}

/// Pushes the first `params` locals: the caller's arguments, to pass them on.
pub fn push_params(code: &mut InstructionSink<'_>, params: u32) {
    for i in 0..params {
        code.local_get(i);
    }
}
