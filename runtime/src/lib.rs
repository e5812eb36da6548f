//! Optional runtime for modules processed by `wasm-unwind`.
//!
//! Link it with one line in a wasm32 `cdylib` built with `panic=unwind`:
//!
//! ```ignore
//! use wasm_unwind_runtime as _;
//! ```
//!
//! It exports two functions. `wasm-unwind` sees `__wasm_unwind_recover` and makes every export
//! wrapper hand a caught Rust panic to it: the exception is thrown again inside
//! `std::panic::catch_unwind`, so Rust's own catch frees the exception and its payload and
//! `std::thread::panicking()` is false again. The message stays readable by the host through
//! `__wasm_unwind_message` until the next panic.
//!
//! It also installs a panic hook (from a constructor: nothing to call) that keeps the message of
//! every panic, so that after a panic that cannot unwind (an `extern "C"` export) the host can
//! still read why the instance aborted.
//!
//! It also holds `__wasm_unwind_terminated`, a word in linear memory that every instance over the
//! same memory (threads, dynamically linked modules) sees: `wasm-unwind` makes each guard refuse
//! entries once it is set, so an abort in one thread ends the whole program (any panic strategy).
//!
//! On any other target the crate is empty, and with `panic=abort` it holds only that word.

#![cfg_attr(
    all(target_family = "wasm", panic = "unwind"),
    feature(link_llvm_intrinsics, panic_can_unwind),
    allow(internal_features)
)]

#[cfg(all(target_family = "wasm", panic = "unwind"))]
mod hook;
#[cfg(all(target_family = "wasm", panic = "unwind"))]
mod recover;
#[cfg(target_family = "wasm")]
mod terminated;

#[cfg(all(target_family = "wasm", panic = "unwind"))]
pub use recover::{__wasm_unwind_message, __wasm_unwind_recover, PanicMessage};
#[cfg(target_family = "wasm")]
pub use terminated::__wasm_unwind_terminated;
