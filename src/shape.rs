//! Shape: which exports of a processed module are wrapped, read from the code itself.
//!
//! Another tool may rewrite our output (`wasm-opt -O` renumbers the functions, inlines the
//! originals and the guard's small helpers into the wrappers, drops a `try` around code that
//! cannot throw, and keeps our marker), so function indices recorded at processing time say
//! nothing. What survives is the shape:
//! - the guard's status is the mutable i32 global that our `__wasm_unwind_state` export reads;
//! - a guarded wrapper sets the status to 1 ("running") in its own body (the guard's checks are
//!   inlined). Nothing else sets it to 1: import shims set it to 0 or to a saved value;
//! - without the guard, a wrapper is one catch-all around its whole body (simple moves before
//!   and after, no arithmetic) that ends rethrowing, and restores the stack pointer on the way.
//!
//! An unguarded wrapper that another tool reduced to its original (around code that cannot
//! throw) reads as not wrapped, which is what it then is.

use wasmparser::{Catch, Operator, ValType};

use crate::abi::STATE_EXPORT;
use crate::load::Module;

/// What the code of a processed module shows of our work.
pub struct Ours {
    /// The guard's status global, when the module has our state export.
    status: Option<u32>,
    stack_pointer: Option<u32>,
}

impl Ours {
    /// Reads the guard's status from our state export. Call only for a module with our marker:
    /// only then is an export of that name ours (the tool refuses inputs that already have one).
    pub fn find(module: &Module<'_>, stack_pointer: Option<u32>) -> Ours {
        let state = module
            .exports
            .iter()
            .find(|e| e.kind == wasmparser::ExternalKind::Func && e.name == STATE_EXPORT);
        let status = state
            .and_then(|e| module.operators(e.index))
            .and_then(|ops| {
                ops.iter().find_map(|op| match *op {
                    Operator::GlobalGet { global_index } if is_status(module, global_index) => {
                        Some(global_index)
                    }
                    _ => None,
                })
            });
        Ours {
            status,
            stack_pointer,
        }
    }

    /// Whether the abort guard is in place: some function sets the status to "running".
    pub fn guard(&self, module: &Module<'_>) -> bool {
        self.status.is_some()
            && (module.imported_functions()..module.function_count())
                .any(|f| self.enters(module, f))
    }

    /// Whether `function`, exported, is one of our wrappers.
    pub fn wraps(&self, module: &Module<'_>, function: u32) -> bool {
        let Some(ops) = module.operators(function) else {
            return false;
        };
        let guarded = self.status.is_some() && self.sets_running(&ops);
        guarded || self.contains_everything(&ops)
    }

    /// `function` sets the status to "running" in its own body.
    fn enters(&self, module: &Module<'_>, function: u32) -> bool {
        module
            .operators(function)
            .is_some_and(|ops| self.sets_running(&ops))
    }

    fn sets_running(&self, ops: &[Operator<'_>]) -> bool {
        ops.windows(2).any(|pair| {
            matches!(pair, [Operator::I32Const { value: 1 }, Operator::GlobalSet { global_index }]
                if Some(*global_index) == self.status)
        })
    }

    /// One catch-all around the whole body, rethrowing at the end, with the stack pointer
    /// restored after the catch (exnref: the epilogue; legacy: the handler) when there is one.
    fn contains_everything(&self, ops: &[Operator<'_>]) -> bool {
        let Some(start) = ops.iter().position(|op| !is_move(op)) else {
            return false;
        };
        if !matches!(ops[start], Operator::Block { .. } | Operator::Try { .. }) {
            return false;
        }
        let Some(end) = matching_end(ops, start) else {
            return false;
        };
        let (outer, after) = (&ops[start..=end], &ops[end + 1..]);
        let restores = |ops: &[Operator<'_>]| {
            self.stack_pointer.is_none_or(|sp| {
                ops.iter().any(
                    |op| matches!(*op, Operator::GlobalSet { global_index } if global_index == sp),
                )
            })
        };
        match outer[0] {
            Operator::Block { .. } => {
                let catches_all = outer.iter().any(|op| match op {
                    Operator::TryTable { try_table } => try_table
                        .catches
                        .iter()
                        .any(|c| matches!(c, Catch::AllRef { .. } | Catch::All { .. })),
                    _ => false,
                });
                let (last, epilogue) = match after {
                    [rest @ .., last, Operator::End] => (last, rest),
                    _ => return false,
                };
                catches_all
                    && matches!(last, Operator::ThrowRef)
                    && epilogue.iter().all(is_move)
                    && restores(epilogue)
            }
            Operator::Try { .. } => {
                let Some(handler) = top_level_catch_all(outer) else {
                    return false;
                };
                let handler = &outer[handler..];
                handler
                    .iter()
                    .any(|op| matches!(op, Operator::Rethrow { relative_depth: 0 }))
                    && restores(handler)
                    && after.iter().all(|op| {
                        is_move(op) || matches!(op, Operator::Unreachable | Operator::End)
                    })
            }
            _ => false,
        }
    }
}

/// The instructions a wrapper has besides its catch: moving values, calling helpers.
pub fn is_move(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::LocalGet { .. }
            | Operator::LocalSet { .. }
            | Operator::LocalTee { .. }
            | Operator::GlobalGet { .. }
            | Operator::GlobalSet { .. }
            | Operator::I32Const { .. }
            | Operator::Call { .. }
            | Operator::Drop
            | Operator::Nop
    )
}

/// Whether `op` opens a block that an `end` (or, for a legacy `try`, a `delegate`) closes.
fn opens_block(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. }
    )
}

/// Index of the `end` closing the block that opens at `ops[start]`.
fn matching_end(ops: &[Operator<'_>], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, op) in ops.iter().enumerate().skip(start) {
        match op {
            op if opens_block(op) => depth += 1,
            Operator::End | Operator::Delegate { .. } => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Index, in `try_ops` (a legacy `try` … `end`), of its own `catch_all`.
fn top_level_catch_all(try_ops: &[Operator<'_>]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, op) in try_ops.iter().enumerate() {
        match op {
            op if opens_block(op) => depth += 1,
            Operator::End | Operator::Delegate { .. } => depth = depth.checked_sub(1)?,
            Operator::CatchAll if depth == 1 => return Some(i),
            _ => {}
        }
    }
    None
}

fn is_status(module: &Module<'_>, global: u32) -> bool {
    module
        .globals
        .get(global as usize)
        .is_some_and(|g| g.import.is_none() && g.ty.mutable && g.ty.content_type == ValType::I32)
}
