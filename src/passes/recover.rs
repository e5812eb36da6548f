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

use super::guard::Guard;
use crate::edits::{Edits, val_type};
use crate::encoding::Encoding;
use crate::load::Module;

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
    /// Its type, `[payload] -> []`.
    pub panicked_type: u32,
}

/// How `panicked` is built.
pub struct Setup<'h> {
    pub encoding: Encoding,
    /// The Rust unwind tag.
    pub tag: u32,
    /// The runtime crate's recover function, when it takes the exception back.
    pub runtime: Option<u32>,
    /// JS mode's `panic` import, when the host throws the panic as a `PanicError`.
    pub host_panic: Option<u32>,
    /// The guard, to settle before the host's `panic` import throws.
    pub guard: Option<&'h Guard>,
}

/// Adds `panicked` for Rust panics thrown with the tag.
pub fn install(module: &Module<'_>, setup: &Setup<'_>, edits: &mut Edits) -> Recovery {
    let payload = val_type(module.tags[setup.tag as usize].params[0]);
    // Only the exnref encoding catches into a block; a legacy module must not gain an exnref
    // type, which engines with only legacy EH (Node 20) cannot even decode.
    let caught = (setup.encoding == Encoding::Exnref)
        .then(|| BlockType::FunctionType(edits.add_type(&[], &[payload, ValType::EXNREF])));
    let panicked_type = edits.add_type(&[payload], &[]);
    let body = panicked_body(module, setup, payload);
    let panicked = edits.add_function(panicked_type, "wasm_unwind::panicked".into(), body);
    Recovery {
        tag: setup.tag,
        caught,
        panicked,
        panicked_type,
    }
}

/// `panicked(exception)`: the hand-off, then a return when the exception is to be rethrown.
fn panicked_body(module: &Module<'_>, setup: &Setup<'_>, payload: ValType) -> Function {
    // Only the runtime's message pointer, read twice in JS mode, needs a local.
    let both = setup.runtime.is_some() && setup.host_panic.is_some();
    let locals = both.then_some((1, ValType::I32));
    let mut f = Function::new(locals);
    let mut code = f.instructions();
    match (setup.runtime, setup.host_panic) {
        (Some(recover), Some(host)) => {
            let message = 1;
            code.local_get(0).call(recover).local_tee(message);
            // Null: not a Rust exception (C++ throws the same tag); rethrow it as it is.
            code.if_(BlockType::Empty)
                .local_get(message)
                .i32_load(word(0))
                .local_get(message)
                .i32_load(word(4));
            throw_panic_error(&mut code, setup, host);
        }
        (Some(recover), None) => {
            code.local_get(0).call(recover).drop();
        }
        (None, Some(host)) => {
            // No runtime, so no message; still tell a Rust panic from a C++ exception.
            if payload == ValType::I32 && module.memory32 {
                code.local_get(0)
                    .i64_load(MemArg {
                        align: 0,
                        ..word(0)
                    })
                    .i64_const(RUST_EXCEPTION_CLASS)
                    .i64_eq();
            } else {
                code.i32_const(1);
            }
            code.if_(BlockType::Empty).i32_const(0).i32_const(0);
            throw_panic_error(&mut code, setup, host);
        }
        // Nothing to hand on to (the plan plans no recovery then): rethrown as it is.
        (None, None) => {}
    }
    code.end();
    f
}

/// An aligned 32-bit word of memory 0 at `offset`.
fn word(offset: u64) -> MemArg {
    MemArg {
        offset,
        align: 2,
        memory_index: 0,
    }
}

/// With the message (address, length) pushed: settles the guard, then the host's `panic`
/// import throws its `PanicError`; closes the `if` that tested for a Rust panic.
fn throw_panic_error(code: &mut InstructionSink<'_>, setup: &Setup<'_>, panic: u32) {
    if let Some(guard) = setup.guard {
        // Only a wrapper entered idle hands a panic on: idle is what it found.
        guard.leave(code, None);
    }
    code.call(panic).unreachable().end();
}
