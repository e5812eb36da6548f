//! Everything that can go wrong, worded for the person running the build.

/// One error type for the library: problems with the module or the options. Each message fits
/// on one line and says what to do about it where there is something to do. File I/O is the
/// caller's (the binary names the file).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("input is empty: expected a WebAssembly module")]
    Empty,

    #[error("input is not WebAssembly: no `\\0asm` header and not WebAssembly text")]
    NotWasm,

    #[error("input is invalid WebAssembly text: {0}")]
    Text(String),

    #[error(
        "input is a WebAssembly component, not a core module: run wasm-unwind on the core module before componentizing"
    )]
    Component,

    #[error("input is truncated: {0}")]
    Truncated(String),

    #[error("input is not a valid module: {0}")]
    Invalid(String),

    #[error("input uses a feature wasm-unwind does not support: {0}")]
    Unsupported(String),

    #[error(
        "input mixes legacy (`try`/`catch`) and standard (`try_table`/`throw_ref`) exception handling; engines reject such modules, so rebuild with one encoding"
    )]
    MixedEncoding,

    #[error("--tag {0}: no such tag, or it is not of type (param i32) / (param i64)")]
    TagNotFound(String),

    #[error(
        "global {0} is named `__stack_pointer` but is not a mutable i32/i64, so it cannot be the shadow stack pointer: pass --stack-pointer with the global that is"
    )]
    StackPointerUnusable(u32),

    #[error(
        "globals {0} are all named `__stack_pointer`: pass --stack-pointer with the right index"
    )]
    AmbiguousStackPointer(String),

    #[error(
        "input already exports `{0}`, a name wasm-unwind adds: rename that export (if the input is wasm-unwind's output with its `wasm-unwind` section stripped, it is already processed)"
    )]
    ExportClash(&'static str),

    #[error("--stack-pointer {0}: no such global, or it is not a mutable i32/i64")]
    StackPointerNotFound(String),

    #[error(
        "--js does not work on wasm-bindgen output: its glue does not provide the `wasm_unwind` imports, so instantiation would fail with a LinkError; run without --js (wasm-bindgen's glue already throws PanicError and refuses calls after an abort)"
    )]
    JsWithBindgen,

    #[error("--{option} {value}: {reason}")]
    BadOption {
        option: &'static str,
        value: String,
        reason: &'static str,
    },

    /// A module we built failed validation. This is our bug, never the user's.
    #[error(
        "internal error: the processed module does not validate ({0}); please report this with the input"
    )]
    OutputInvalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
