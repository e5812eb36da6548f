//! JS mode: the host's own errors, thrown from inside the module.
//!
//! With `--js` the output imports up to two functions from the module `wasm_unwind`, which the
//! ES module from `--emit-js` provides: `panic(message_ptr, message_len)` throws a `PanicError`
//! and `terminated()` a `TerminatedError`. Wrappers call them, so every caller of an export
//! (our loader, wasm-bindgen's glue, a table call from JS) sees those errors. Each is imported
//! only when something calls it (the plan says which). They are added as imports like any
//! other edit; the encoder renumbers the functions they move.

use wasm_encoder::ValType;

use crate::abi::{JS_IMPORT_MODULE, JS_PANIC, JS_TERMINATED};
use crate::edits::Edits;
use crate::plan::JsImports;

/// The ES module `--emit-js` writes. It has no dependencies.
pub const GLUE: &str = include_str!("../js/wasm-unwind.mjs");

/// The imports, by function index in the edits' index space.
#[derive(Debug, Clone)]
pub struct HostErrors {
    /// `panic(message_ptr: i32, message_len: i32)`; a null pointer means the message is unknown.
    pub panic: Option<u32>,
    /// `terminated()`.
    pub terminated: Option<u32>,
}

impl HostErrors {
    /// Imports the functions `wanted` names.
    pub fn import(edits: &mut Edits, wanted: JsImports) -> HostErrors {
        let panic = wanted.panic.then(|| {
            let ty = edits.add_type(&[ValType::I32, ValType::I32], &[]);
            edits.add_import(JS_IMPORT_MODULE, JS_PANIC, ty)
        });
        let terminated = wanted.terminated.then(|| {
            let ty = edits.add_type(&[], &[]);
            edits.add_import(JS_IMPORT_MODULE, JS_TERMINATED, ty)
        });
        HostErrors { panic, terminated }
    }
}
