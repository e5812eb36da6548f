//! The panic hook: keeps the message of every panic, so that an abort can say why.
//!
//! A panic that cannot unwind (in an `extern "C"` function, a destructor during cleanup) ends in
//! an `unreachable` trap, and nothing of it reaches the host but that trap. Rust knows the
//! message first: a hook records it before the abort, and the host reads it through
//! `__wasm_unwind_message` (its `aborted` field says the instance died of that panic).
//!
//! The hook is installed by a constructor (`.init_array`), so the user's code changes nothing.
//! On wasm32 wasm-ld runs the constructors of a module without `_initialize` on entry to every
//! export, so installing happens once, on the first call, and later entries only read a flag.
//! The hook that was in place stays: ours records, then calls it. A user hook set later replaces
//! ours, as `set_hook` always does; chain to `take_hook()` to keep the messages.

use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::recover::{payload_text, remember};

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// What the second panic of a function that cannot unwind says (`core::panicking`).
const CANNOT_UNWIND: &str = "panic in a function that cannot unwind";

#[used]
#[unsafe(link_section = ".init_array")]
static INSTALL: extern "C" fn() = install;

extern "C" fn install() {
    // `set_hook` refuses to run while a panic is in flight; the next entry installs it then.
    if std::thread::panicking() || INSTALLED.swap(true, Ordering::Relaxed) {
        return;
    }
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        record(info);
        previous(info);
    }));
}

/// Keeps the panic's message. A panic that cannot unwind aborts right after the hook returns;
/// when it is the abort of an earlier panic that hit a terminate pad (still in flight: nothing
/// recovered it), the message names both, `panic in a function that cannot unwind: unlucky 13`.
fn record(info: &PanicHookInfo<'_>) {
    let text = payload_text(info.payload());
    let aborts = !info.can_unwind();
    if aborts && text == CANNOT_UNWIND {
        if let Some(first) = crate::recover::in_flight() {
            return remember(&format!("{text}: {first}"), true);
        }
    }
    remember(text, aborts);
}
