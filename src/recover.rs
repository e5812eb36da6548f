//! Recover: what a wrapper does with a caught Rust panic besides repairing the shadow stack.
//!
//! Two optional hand-offs, each enabled by what the module and options allow:
//! - the runtime crate (`wasm-unwind-runtime`, seen by its `__wasm_unwind_recover` export) takes
//!   the exception back through Rust's own `catch_unwind`, which frees it and its payload and
//!   ends `std::thread::panicking()`; it returns where the panic message now is;
//! - in JS mode, the host's `panic` import throws a `PanicError` with that message instead of
//!   the raw exception.
//!
//! Both live in one helper, `panicked`, that wrappers call from a `catch $tag` clause. When it
//! returns, the wrapper rethrows the exception it caught, as it does for foreign exceptions.

use wasm_encoder::{BlockType, Function, InstructionSink, MemArg, ValType};

use crate::detect::Encoding;
use crate::edits::{Edits, val_type};
use crate::js::HostErrors;
use crate::load::Module;

/// Name of the runtime crate's export that takes a caught exception back.
pub const RUNTIME_EXPORT: &str = "__wasm_unwind_recover";

/// `_Unwind_Exception::exception_class` of every Rust exception, as an i64 load reads it.
const RUST_EXCEPTION_CLASS: i64 = i64::from_le_bytes(*b"MOZ\0RUST");

/// What the wrappers need to catch Rust panics apart from other exceptions.
#[derive(Debug, Clone)]
pub struct Recovery {
    pub tag: u32,
    /// Block type of a `catch_ref $tag` target, `[] -> [payload exnref]` (exnref encoding only).
    pub caught: Option<BlockType>,
    /// `panicked(exception)`: hands the panic on; returns when it is to be rethrown as it is.
    pub panicked: u32,
}

/// The runtime crate's recover function, when the module links it with the expected type
/// `(i32) -> i32`.
pub fn runtime(module: &Module<'_>) -> Option<u32> {
    let export = module
        .exports
        .iter()
        .find(|e| e.kind == wasmparser::ExternalKind::Func && e.name == RUNTIME_EXPORT)?;
    let ty = module.function_type(export.index);
    (ty.params() == [wasmparser::ValType::I32] && ty.results() == [wasmparser::ValType::I32])
        .then_some(export.index)
}

/// Adds `panicked` for Rust panics thrown with `tag`. `leave` settles the abort guard before
/// the host's `panic` import throws.
pub fn install(
    module: &Module<'_>,
    encoding: Encoding,
    tag: u32,
    runtime: Option<u32>,
    host: Option<&HostErrors>,
    leave: Option<u32>,
    edits: &mut Edits,
) -> Recovery {
    let payload = val_type(module.tags[tag as usize].params[0]);
    // Only the exnref encoding catches into a block; a legacy module must not gain an exnref
    // type, which engines with only legacy EH (Node 20) cannot even decode.
    let caught = (encoding == Encoding::Exnref)
        .then(|| BlockType::FunctionType(edits.add_type(&[], &[payload, ValType::EXNREF])));
    let panicked_type = edits.add_type(&[payload], &[]);

    // Only the runtime's message pointer, read twice in JS mode, needs a local.
    let message = 1;
    let locals = (runtime.is_some() && host.is_some()).then_some((1, ValType::I32));
    let mut f = Function::new(locals);
    let mut code = f.instructions();
    let throw_panic_error = |code: &mut InstructionSink<'_>, host: &HostErrors| {
        if let Some(leave) = leave {
            code.call(leave);
        }
        code.call(host.panic).unreachable().end();
    };
    match (runtime, host) {
        (Some(recover), Some(host)) => {
            let word = |offset| MemArg {
                offset,
                align: 2,
                memory_index: 0,
            };
            code.local_get(0).call(recover).local_tee(message);
            // Null: not a Rust exception (C++ throws the same tag); rethrow it as it is.
            code.if_(BlockType::Empty)
                .local_get(message)
                .i32_load(word(0))
                .local_get(message)
                .i32_load(word(4));
            throw_panic_error(&mut code, host);
        }
        (Some(recover), None) => {
            code.local_get(0).call(recover).drop();
        }
        (None, Some(host)) => {
            // No runtime, so no message; still tell a Rust panic from a C++ exception.
            if payload == ValType::I32 && module.memory32 {
                code.local_get(0)
                    .i64_load(MemArg {
                        offset: 0,
                        align: 0,
                        memory_index: 0,
                    })
                    .i64_const(RUST_EXCEPTION_CLASS)
                    .i64_eq();
            } else {
                code.i32_const(1);
            }
            code.if_(BlockType::Empty).i32_const(0).i32_const(0);
            throw_panic_error(&mut code, host);
        }
        (None, None) => unreachable!("recovery is installed only with the runtime or JS mode"),
    }
    code.end();
    let panicked = edits.add_function(panicked_type, "wasm_unwind::panicked".into(), f);
    Recovery {
        tag,
        caught,
        panicked,
    }
}
