//! The names the output shares with hosts and with other tools, in one place (as Binaryen keeps
//! its shared names in `shared-constants.h`): what the tool adds, what it recognises of the
//! runtime crate, and its custom section. README "ABI" says what each one means.

/// Every export the tool adds starts with this (but not every export so named is the tool's:
/// the marker section says whether a module is its output).
pub const ADDED_PREFIX: &str = "__wasm_unwind_";

/// The export that reports the instance state: 0 live, 1 terminated.
pub const STATE_EXPORT: &str = "__wasm_unwind_state";

/// The export through which a host can recognise Rust panics (`exception.is(tag)`).
pub const TAG_EXPORT: &str = "__wasm_unwind_tag";

/// wasm-unwind-runtime's export that takes a caught exception back into Rust's `catch_unwind`.
pub const RUNTIME_EXPORT: &str = "__wasm_unwind_recover";

/// wasm-unwind-runtime's export that gives the address of the last panic's message.
pub const MESSAGE_EXPORT: &str = "__wasm_unwind_message";

/// wasm-unwind-runtime's termination word (a static, exported by address), which every instance
/// over the same memory sees: threads. A dynamically linked module exports it relative to
/// `__memory_base`, and imports the program's under the same name from `GOT.mem`.
pub const SHARED_WORD_EXPORT: &str = "__wasm_unwind_terminated";

/// The import module through which a loader of dynamic linking gives a module the address of a
/// data symbol, wherever it is defined (Emscripten's; the tool-conventions' `DynamicLinking.md`).
pub const GOT_MEM: &str = "GOT.mem";

/// The import module of JS mode's host functions.
pub const JS_IMPORT_MODULE: &str = "wasm_unwind";

/// JS mode's `panic(message_ptr, message_len)`, which throws the host's `PanicError`.
pub const JS_PANIC: &str = "panic";

/// JS mode's `terminated()`, which throws the host's `TerminatedError`.
pub const JS_TERMINATED: &str = "terminated";

/// The custom section that marks a module as processed and records the run.
pub const MARKER_SECTION: &str = "wasm-unwind";
