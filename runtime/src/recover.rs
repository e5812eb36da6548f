//! The hand-off: a caught exception goes back through Rust's own catch.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ptr;

/// The message of the last panic: `len` bytes of UTF-8 at `ptr`. All fields are 0 until a
/// panic has happened.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PanicMessage {
    pub ptr: *const u8,
    pub len: usize,
    /// 1 when that panic could not unwind, so the instance aborted right after it.
    pub aborted: u32,
}

/// What `std` puts first in every Rust exception (`_Unwind_Exception::exception_class`).
const RUST_EXCEPTION_CLASS: [u8; 8] = *b"MOZ\0RUST";

/// LLVM's tag number for C++ exceptions, the tag Rust's `_Unwind_RaiseException` throws.
const CPP_EXCEPTION_TAG: i32 = 0;

unsafe extern "C-unwind" {
    #[link_name = "llvm.wasm.throw"]
    fn wasm_throw(tag: i32, exception: *mut u8) -> !;
}

// One thread on wasm32: these are plain statics. The text keeps its capacity from panic to
// panic, so recovering does not grow memory once the longest message has been seen.
thread_local! {
    static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
    static LAST: Cell<PanicMessage> = const { Cell::new(PanicMessage { ptr: ptr::null(), len: 0, aborted: 0 }) };
    /// The hook saw a panic that nothing has recovered yet.
    static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
}

/// Takes back the Rust exception at `exception` (the `throw` operand the wrapper caught), frees
/// it and its payload through `catch_unwind`, and returns where its message now is.
/// Returns null, touching nothing, when `exception` is not a Rust exception (C++ throws the
/// same tag).
///
/// # Safety
/// `exception` must be the operand of a caught `throw` of the C++/Rust tag that nothing else
/// has taken back; after the call it is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wasm_unwind_recover(exception: *mut u8) -> *const PanicMessage {
    // SAFETY: a caught exception operand points at its header, which starts with the class.
    if exception.is_null()
        || unsafe { exception.cast::<[u8; 8]>().read_unaligned() } != RUST_EXCEPTION_CLASS
    {
        return ptr::null();
    }
    // SAFETY: rethrowing the caught exception as it was thrown; catch_unwind takes it back.
    let caught =
        std::panic::catch_unwind(|| -> () { unsafe { wasm_throw(CPP_EXCEPTION_TAG, exception) } });
    let Err(payload) = caught else {
        return ptr::null();
    };
    remember(payload_text(&*payload), false);
    drop(payload);
    IN_FLIGHT.set(false);
    __wasm_unwind_message()
}

/// The message of the last panic (see [`PanicMessage`]): recovered, or kept by the panic hook.
#[unsafe(no_mangle)]
pub extern "C" fn __wasm_unwind_message() -> *const PanicMessage {
    LAST.with(|last| last.as_ptr().cast_const())
}

/// The text of a panic payload (`&str` or `String`, as `panic!` makes them).
pub(crate) fn payload_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

/// The message the hook kept of a panic still in flight: none has been recovered since. A panic
/// the user's own `catch_unwind` caught also counts as in flight until the next panic.
pub(crate) fn in_flight() -> Option<String> {
    IN_FLIGHT
        .get()
        .then(|| TEXT.with_borrow(|text| text.clone()))
}

/// Copies `text` into `TEXT` and points `LAST` at it; `aborted` says the instance aborts now.
pub(crate) fn remember(text: &str, aborted: bool) {
    TEXT.with_borrow_mut(|stored| {
        stored.clear();
        stored.push_str(text);
        LAST.set(PanicMessage {
            ptr: stored.as_ptr(),
            len: stored.len(),
            aborted: aborted.into(),
        });
    });
    IN_FLIGHT.set(!aborted);
}
