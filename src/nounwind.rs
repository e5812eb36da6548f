//! Nounwind: which entry points abort on a panic instead of letting it out.
//!
//! Rust gives every function that must not unwind (`extern "C"`, the default ABI of most
//! examples' exports) a terminate pad: its body runs inside a catch-everything handler that
//! calls `panic_cannot_unwind` and ends in `unreachable`. A panic in such an export never reaches
//! its wrapper: the instance aborts. Users meant `extern "C-unwind"` nearly every time, so the
//! summary and `inspect` say which entries are built that way.
//!
//! Told from the code alone, in either encoding and without names: a handler is a terminate pad
//! when it is reached by the first clause that a Rust exception matches, a `catch_all` or
//! `catch_all_ref` (legacy: a `try` whose first handler is `catch_all`), and it is straight-line
//! code ending in `unreachable`. A function aborts on a panic when every instruction of its body
//! that may throw is inside such a handler's `try` or calls a function that aborts on a panic,
//! and at least one is; one that may throw elsewhere unwinds. A forwarder (a body of a few
//! instructions) takes after the function it forwards to, its last call, because wasm-ld puts one
//! in front of every export of a module with constructors (the runtime crate has one): the
//! constructors, then the export's code. Other calls are not followed: a "C-unwind" export that calls an `extern "C"`
//! helper reads as unwinding, and the analysis stays one decode of each entry point.

use std::cell::RefCell;
use std::collections::HashMap;

use wasmparser::{Operator, ValType};

use crate::load::Module;
use crate::reach::{Functions, reaches};
use crate::shape::is_move;

/// What a panic inside a function does at its boundary, as far as its own body tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnPanic {
    /// It leaves the function as an exception (or may: the answer errs towards this).
    Unwinds,
    /// A terminate pad catches it: the instance aborts.
    Aborts,
    /// Nothing in the function throws.
    Never,
}

/// Tells which functions abort on a panic, for one module.
pub struct Nounwind<'m, 'a> {
    module: &'m Module<'a>,
    /// Every function that may throw when called: those that throw or rethrow, imports (the
    /// host may throw), and everything that calls one of them, directly or through a table.
    may_throw: Functions,
    /// The Rust unwind tag when known: a `catch` of it is `catch_unwind`, not a terminate pad.
    tag: Option<u32>,
    /// Answers so far, and functions being looked at (taken to unwind meanwhile).
    known: RefCell<HashMap<u32, OnPanic>>,
}

/// A body of at most this many instructions is a forwarder, whose calls are followed.
const FORWARDER: usize = 16;

impl<'m, 'a> Nounwind<'m, 'a> {
    pub fn new(module: &'m Module<'a>, tag: Option<u32>) -> Self {
        let may_throw = reaches(module, |m, f| {
            m.body(f).is_none_or(|b| !b.throws.is_empty() || b.rethrows)
        });
        Nounwind {
            module,
            may_throw,
            tag,
            known: RefCell::default(),
        }
    }

    /// Whether a panic in function `f` aborts the instance, from `f`'s own body.
    pub fn aborts(&self, f: u32) -> bool {
        self.on_panic(f) == OnPanic::Aborts
    }

    /// What a panic in function `f` does: its own body decides, or for a forwarder what a panic
    /// does in the functions it calls.
    pub fn on_panic(&self, f: u32) -> OnPanic {
        if let Some(&known) = self.known.borrow().get(&f) {
            return known;
        }
        self.known.borrow_mut().insert(f, OnPanic::Unwinds);
        let answer = self.of_body(f);
        self.known.borrow_mut().insert(f, answer);
        answer
    }

    /// Whether `op` may throw, and how; `follow`: a call goes by what the callee does.
    fn throws(&self, op: &Operator<'_>, follow: bool) -> Option<Throw> {
        let call = |f: u32, how: Throw| {
            if !self.may_throw.contains(f) {
                return None;
            }
            match follow {
                true => match self.on_panic(f) {
                    OnPanic::Unwinds => Some(how),
                    OnPanic::Aborts => Some(Throw::Aborts),
                    OnPanic::Never => None,
                },
                false => Some(how),
            }
        };
        match *op {
            Operator::Call { function_index } => call(function_index, Throw::Here),
            Operator::ReturnCall { function_index } => call(function_index, Throw::Past),
            Operator::CallIndirect { .. } | Operator::CallRef { .. } => Some(Throw::Here),
            Operator::ReturnCallIndirect { .. } | Operator::ReturnCallRef { .. } => {
                Some(Throw::Past)
            }
            Operator::Throw { .. } | Operator::ThrowRef | Operator::Rethrow { .. } => {
                Some(Throw::Here)
            }
            _ => None,
        }
    }

    fn of_body(&self, f: u32) -> OnPanic {
        let Some(ops) = self.module.operators(f) else {
            return OnPanic::Unwinds;
        };
        let rust_tag = |t: u32| match self.tag {
            Some(tag) => t == tag,
            None => self
                .module
                .tags
                .get(t as usize)
                .is_some_and(|t| matches!(t.params[..], [ValType::I32] | [ValType::I64])),
        };
        let follow = ops.len() <= FORWARDER;
        // A forwarder takes after the function it forwards to, its last call: wasm-ld's calls
        // the constructors first, which abort only on a panic of their own.
        let last_call = ops
            .iter()
            .rposition(|op| matches!(op, Operator::Call { .. } | Operator::ReturnCall { .. }));
        let forwarded = |op: &Operator<'_>| last_call.is_some_and(|i| std::ptr::eq(op, &ops[i]));
        Walk::new(&ops, &rust_tag).run(&|op| match self.throws(op, follow) {
            Some(Throw::Aborts) if !forwarded(op) => None,
            how => how,
        })
    }
}

/// What an instruction that may throw does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Throw {
    /// Throws from this frame: the enclosing `try`s decide.
    Here,
    /// A tail call: the exception leaves from where this function's caller waits.
    Past,
    /// Calls a function whose own panics abort: whatever encloses the call, the instance aborts.
    Aborts,
}

/// Where an exception thrown inside a `try` body goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    /// A clause catches Rust panics (`catch_unwind`): they go no further.
    Catches,
    /// A catch-everything clause leads to a terminate pad.
    Terminates,
    /// Passed on outwards (cleanup pads rethrow; their rethrow is followed on its own).
    PassesOn,
    /// Legacy `delegate N`: passed to the frame N levels out.
    Delegates(u32),
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    Plain,
    /// A `try_table`, or a legacy `try` until its first handler.
    Try(Handler),
}

/// The body's operators with their block structure: where each block ends and which operators
/// are a terminate pad's (not followed: they are the abort).
struct Walk<'o, 'a> {
    ops: &'o [Operator<'a>],
    /// For each block-opening operator, the index of its `end` (or `delegate`); for legacy
    /// `try`, also its first handler.
    ends: Vec<usize>,
    first_handler: Vec<Option<usize>>,
    pads: Vec<bool>,
    rust_tag: &'o dyn Fn(u32) -> bool,
}

impl<'o, 'a> Walk<'o, 'a> {
    fn new(ops: &'o [Operator<'a>], rust_tag: &'o dyn Fn(u32) -> bool) -> Self {
        let mut ends = vec![usize::MAX; ops.len()];
        let mut first_handler = vec![None; ops.len()];
        let mut open = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. } => open.push(i),
                Operator::Catch { .. } | Operator::CatchAll => {
                    if let Some(&start) = open.last() {
                        first_handler[start].get_or_insert(i);
                    }
                }
                Operator::End | Operator::Delegate { .. } => {
                    if let Some(start) = open.pop() {
                        ends[start] = i;
                    }
                }
                _ => {}
            }
        }
        Walk {
            ops,
            ends,
            first_handler,
            pads: vec![false; ops.len()],
            rust_tag,
        }
    }

    /// Whether the code from `start` is a terminate pad: straight-line code (a `drop` of the
    /// caught exception, restoring the stack pointer, a call to `panic_cannot_unwind`) that ends
    /// in `unreachable`. Marks it when it is.
    fn pad(&mut self, start: usize) -> bool {
        for (i, op) in self.ops.iter().enumerate().skip(start) {
            match op {
                Operator::Unreachable => {
                    self.pads[start..=i].fill(true);
                    return true;
                }
                // Straight-line code: what a wrapper has besides its catch, and i64 constants.
                op if is_move(op) || matches!(op, Operator::I64Const { .. }) => {}
                _ => return false,
            }
        }
        false
    }

    /// The handler of a `try_table` opened inside `frames` (the block frames, outermost
    /// first, the function's own included).
    fn try_table_handler(&mut self, catches: &[wasmparser::Catch], starts: &[usize]) -> Handler {
        use wasmparser::Catch;
        for catch in catches {
            let label = match *catch {
                Catch::One { tag, .. } | Catch::OneRef { tag, .. } if (self.rust_tag)(tag) => {
                    return Handler::Catches;
                }
                Catch::One { .. } | Catch::OneRef { .. } => continue,
                Catch::All { label } | Catch::AllRef { label } => label,
            };
            // The clause branches to the end of the block `label` levels out; the function's
            // own frame (start 0 here, not a block) and loops do not lead to a pad.
            let target = starts.len().checked_sub(1 + label as usize);
            let Some(&start) = target
                .and_then(|t| starts.get(t))
                .filter(|_| target != Some(0))
            else {
                return Handler::PassesOn;
            };
            if matches!(self.ops[start], Operator::Loop { .. }) {
                return Handler::PassesOn;
            }
            let end = self.ends[start];
            return match end < self.ops.len() && self.pad(end + 1) {
                true => Handler::Terminates,
                false => Handler::PassesOn,
            };
        }
        Handler::PassesOn
    }

    /// The handler of a legacy `try` at `start`.
    fn try_handler(&mut self, start: usize) -> Handler {
        let end = self.ends[start];
        if let Some(Operator::Delegate { relative_depth }) = self.ops.get(end) {
            return Handler::Delegates(*relative_depth);
        }
        match self.first_handler[start].map(|h| (h, &self.ops[h])) {
            Some((_, Operator::Catch { tag_index })) if (self.rust_tag)(*tag_index) => {
                Handler::Catches
            }
            Some((h, Operator::CatchAll)) if self.pad(h + 1) => Handler::Terminates,
            _ => Handler::PassesOn,
        }
    }

    /// Follows every instruction that may throw to where its exception goes first.
    fn run(mut self, throws: &dyn Fn(&Operator<'_>) -> Option<Throw>) -> OnPanic {
        // The function's own frame first; `starts` mirrors `frames` with each opener's index.
        let mut frames = vec![Frame::Plain];
        let mut starts = vec![0];
        let (mut escapes, mut aborts) = (false, false);
        for i in 0..self.ops.len() {
            if self.pads[i] {
                continue;
            }
            let frame = match &self.ops[i] {
                Operator::TryTable { try_table } => {
                    let catches = try_table.catches.clone();
                    Some(Frame::Try(self.try_table_handler(&catches, &starts)))
                }
                Operator::Try { .. } => Some(Frame::Try(self.try_handler(i))),
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    Some(Frame::Plain)
                }
                _ => None,
            };
            if let Some(frame) = frame {
                frames.push(frame);
                starts.push(i);
                continue;
            }
            match &self.ops[i] {
                // Past its first handler a legacy `try` covers nothing.
                Operator::Catch { .. } | Operator::CatchAll => {
                    if let Some(last) = frames.last_mut() {
                        *last = Frame::Plain;
                    }
                }
                Operator::End | Operator::Delegate { .. } => {
                    frames.pop();
                    starts.pop();
                }
                op => match throws(op) {
                    Some(Throw::Here) => match fate(&frames) {
                        Handler::Terminates => aborts = true,
                        Handler::Catches => {}
                        _ => escapes = true,
                    },
                    Some(Throw::Past) => escapes = true,
                    Some(Throw::Aborts) => aborts = true,
                    None => {}
                },
            }
        }
        match (escapes, aborts) {
            (true, _) => OnPanic::Unwinds,
            (false, true) => OnPanic::Aborts,
            (false, false) => OnPanic::Never,
        }
    }
}

/// Where an exception thrown inside `frames` (outermost first) ends: `Terminates`, `Catches`,
/// or `PassesOn` when it leaves the function.
fn fate(frames: &[Frame]) -> Handler {
    let mut level = frames.len();
    while level > 1 {
        level -= 1;
        match frames[level] {
            Frame::Try(Handler::Delegates(depth)) => {
                // Delegated to the frame `depth` levels out of the `try`; past the function's
                // own frame, to the caller.
                match level.checked_sub(depth as usize) {
                    Some(to) if to > 1 => level = to,
                    _ => return Handler::PassesOn,
                }
            }
            Frame::Try(handler @ (Handler::Terminates | Handler::Catches)) => return handler,
            Frame::Try(Handler::PassesOn) | Frame::Plain => {}
        }
    }
    Handler::PassesOn
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a panic does in the function named `f` of `wat`.
    fn on_panic_of(wat: &str, f: &str) -> OnPanic {
        let bytes = wat::parse_str(wat).unwrap();
        let module = crate::load::load(&bytes).unwrap();
        let index = module
            .exports
            .iter()
            .find(|e| e.name == f)
            .map(|e| e.index)
            .unwrap();
        let tag = crate::detect::unwind_tag(&module, None)
            .unwrap()
            .found()
            .map(|t| t.index);
        Nounwind::new(&module, tag).on_panic(index)
    }

    const PRELUDE: &str = r#"
        (tag $rust (param i32))
        (global $sp (mut i32) (i32.const 1024))
        (func $panic (param i32) (throw $rust (local.get 0)))
        (func $cannot_unwind (call $abort) unreachable)
        (func $abort unreachable)
        (func $pure (param i32) (result i32) (local.get 0))
    "#;

    fn module(body: &str) -> String {
        format!("(module {PRELUDE} {body})")
    }

    #[test]
    fn an_exnref_terminate_pad_aborts() {
        let wat = module(
            r#"(func (export "f") (param i32) (result i32) (local i32)
                global.get $sp
                local.set 1
                block
                  block
                    try_table (catch_all 0)
                      local.get 0
                      call $panic
                      br 2
                    end
                    unreachable
                  end
                  local.get 1
                  global.set $sp
                  call $cannot_unwind
                  unreachable
                end
                local.get 0)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Aborts);
    }

    #[test]
    fn an_exnref_catch_all_ref_pad_aborts() {
        let wat = module(
            r#"(func (export "f") (param i32)
                block (result exnref)
                  try_table (catch_all_ref 0)
                    local.get 0
                    call $panic
                  end
                  return
                end
                drop
                call $cannot_unwind
                unreachable)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Aborts);
    }

    #[test]
    fn a_legacy_terminate_pad_aborts() {
        let wat = module(
            r#"(func (export "f") (param i32) (local i32)
                global.get $sp
                local.set 1
                try
                  local.get 0
                  call $panic
                catch_all
                  local.get 1
                  global.set $sp
                  call $cannot_unwind
                  unreachable
                end)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Aborts);
    }

    #[test]
    fn cleanup_pads_rethrow_so_the_panic_unwinds() {
        let exnref = module(
            r#"(func (export "f") (param i32)
                block (result exnref)
                  try_table (catch_all_ref 0)
                    local.get 0
                    call $panic
                  end
                  return
                end
                throw_ref)"#,
        );
        assert_eq!(on_panic_of(&exnref, "f"), OnPanic::Unwinds);
        let legacy = module(
            r#"(func (export "f") (param i32)
                try
                  local.get 0
                  call $panic
                catch_all
                  rethrow 0
                end)"#,
        );
        assert_eq!(on_panic_of(&legacy, "f"), OnPanic::Unwinds);
    }

    #[test]
    fn a_call_that_may_throw_outside_the_pad_unwinds() {
        let wat = module(
            r#"(func (export "f") (param i32)
                local.get 0
                call $panic
                try
                  local.get 0
                  call $panic
                catch_all
                  call $cannot_unwind
                  unreachable
                end)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Unwinds);
    }

    #[test]
    fn catch_unwind_inside_a_pad_catches_rust_panics() {
        // wasm-bindgen's exports: `extern "C"` around Rust's `catch_unwind`.
        let wat = module(
            r#"(func (export "f") (param i32)
                try
                  try
                    local.get 0
                    call $panic
                  catch $rust
                    drop
                  end
                catch_all
                  call $cannot_unwind
                  unreachable
                end)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Never);
    }

    #[test]
    fn a_delegate_past_the_pad_unwinds() {
        let wat = module(
            r#"(func (export "f") (param i32)
                try
                  try
                    local.get 0
                    call $panic
                  delegate 1
                catch_all
                  call $cannot_unwind
                  unreachable
                end)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Unwinds);
        let to_the_pad = wat.replace("delegate 1", "delegate 0");
        assert_eq!(on_panic_of(&to_the_pad, "f"), OnPanic::Aborts);
    }

    #[test]
    fn nothing_thrown_is_never() {
        let wat =
            module(r#"(func (export "f") (param i32) (result i32) (call $pure (local.get 0)))"#);
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Never);
    }

    /// `bytes` without its name section.
    fn strip_names(bytes: &[u8]) -> Vec<u8> {
        let mut module = wasm_encoder::Module::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            let payload = payload.unwrap();
            let named =
                matches!(&payload, wasmparser::Payload::CustomSection(c) if c.name() == "name");
            if let Some((id, range)) = payload.as_section().filter(|_| !named) {
                module.section(&wasm_encoder::RawSection {
                    id,
                    data: &bytes[range],
                });
            }
        }
        module.finish()
    }

    /// The committed fixtures in both encodings, with and without names: exactly the two
    /// `extern "C"` exports that can throw abort.
    #[test]
    fn the_fixtures_nounwind_exports_abort_in_both_encodings_with_or_without_names() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasm");
        for name in [
            "panics.exnref",
            "panics.legacy",
            "panics-rt.exnref",
            "panics-rt.legacy",
        ] {
            let built = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
            for bytes in [built.clone(), strip_names(&built)] {
                let module = crate::load::load(&bytes).unwrap();
                let tag = crate::detect::unwind_tag(&module, None)
                    .unwrap()
                    .found()
                    .map(|t| t.index);
                let nounwind = Nounwind::new(&module, tag);
                let mut aborting: Vec<&str> = module
                    .exports
                    .iter()
                    .filter(|e| {
                        e.kind == wasmparser::ExternalKind::Func && nounwind.aborts(e.index)
                    })
                    // The runtime's own `extern "C"` functions abort on a panic too.
                    .filter(|e| !e.name.starts_with("__wasm_unwind_"))
                    .map(|e| e.name)
                    .collect();
                aborting.sort_unstable();
                let names = if module.names.present {
                    "names"
                } else {
                    "no names"
                };
                assert_eq!(
                    aborting,
                    ["call_host_nounwind", "panic_nounwind"],
                    "{name}, {names}"
                );
                let panic_fmt = module
                    .exports
                    .iter()
                    .find(|e| e.name == "panic_fmt")
                    .unwrap();
                assert_eq!(
                    nounwind.on_panic(panic_fmt.index),
                    OnPanic::Unwinds,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn a_wrapper_that_calls_an_aborting_function_aborts() {
        // wasm-ld's `.command_export` wrappers: constructors, then the export's code.
        let wat = module(
            r#"(func $ctors)
               (func $nounwind (param i32)
                try
                  local.get 0
                  call $panic
                catch_all
                  call $cannot_unwind
                  unreachable
                end)
               (func (export "f") (param i32)
                call $ctors
                local.get 0
                call $nounwind)"#,
        );
        assert_eq!(on_panic_of(&wat, "f"), OnPanic::Aborts);
    }
}
