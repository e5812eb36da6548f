//! JS mode: the host's own errors, thrown from inside the module.
//!
//! With `--js` the output imports two functions from the module `wasm_unwind`, which the ES
//! module from `--emit-js` provides: `panic(message_ptr, message_len)` throws a `PanicError`
//! and `terminated()` a `TerminatedError`. Wrappers call them, so every caller of an export
//! (our loader, wasm-bindgen's glue, a table call from JS) sees those errors. They are added
//! as imports like any other edit; the encoder renumbers the functions they move.

use wasm_encoder::ValType;

use crate::edits::Edits;

/// The import module every JS-mode import comes from.
pub const IMPORT_MODULE: &str = "wasm_unwind";

/// The ES module `--emit-js` writes. It has no dependencies.
pub const GLUE: &str = include_str!("../js/wasm-unwind.mjs");

/// The two imports, by function index in the edits' index space.
#[derive(Debug, Clone)]
pub struct HostErrors {
    /// `panic(message_ptr: i32, message_len: i32)`; a null pointer means the message is unknown.
    pub panic: u32,
    /// `terminated()`.
    pub terminated: u32,
}

impl HostErrors {
    pub fn import(edits: &mut Edits) -> HostErrors {
        let panic_type = edits.add_type(&[ValType::I32, ValType::I32], &[]);
        let terminated_type = edits.add_type(&[], &[]);
        HostErrors {
            panic: edits.add_import(IMPORT_MODULE, "panic", panic_type),
            terminated: edits.add_import(IMPORT_MODULE, "terminated", terminated_type),
        }
    }
}
