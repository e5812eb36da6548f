//! The termination word every instance of a program shares.
//!
//! Threads (and dynamically linked modules) are several instances over one linear memory; each
//! instance has its own globals, so the guard's per-instance status cannot tell one instance that
//! another has trapped. `wasm-unwind` finds this static by its export (a global holding its
//! address) and makes every guard read it on entry and set it when it latches a termination.
//!
//! It is a static of this crate, placed by the linker: the module's allocator never hands out
//! its bytes, so no other code writes it. Zero until some instance of the program aborts.

use std::sync::atomic::AtomicU32;

/// 0 while the program lives, 1 once any of its instances has trapped in a guarded call.
#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static __wasm_unwind_terminated: AtomicU32 = AtomicU32::new(0);
