//! Wrap: put every chosen function export behind a wrapper that contains unwinds.
//!
//! The export is repointed at a new function with the same signature; calls from inside the
//! module still go to the original. The wrapper saves the shadow stack pointer, calls the
//! original inside a catch-all, and on any exception restores the stack pointer and rethrows
//! the very same exception. The caller sees an ordinary exception, and the instance keeps a
//! balanced shadow stack however many panics escape.
//!
//! One catch-all serves Rust panics and foreign exceptions alike: both need the same repair,
//! and rethrowing keeps the exception's identity (a JS error stays that JS error). Only when a
//! Rust panic has somewhere to go (see `recover`) does it get a `catch $tag` clause of its own.

use std::collections::{HashMap, HashSet};

use wasm_encoder::{BlockType, Catch, Function, ValType};
use wasmparser::ExternalKind;

use crate::detect::{Encoding, Found};
use crate::edits::{Edits, val_type};
use crate::guard::Guard;
use crate::load::{Export, Module};
use crate::recover::Recovery;

/// What happened to one function export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub name: String,
    pub wrapped: bool,
    /// Why it was left alone, when it was.
    pub reason: Option<&'static str>,
}

/// Which exports to wrap: shell-style globs (`*`, `?`). No `include` means all.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// Exports wasm-bindgen generates for its own glue (allocator, externref table, exception
/// store, struct field accessors): left alone unless an `--export` glob names them.
const BINDGEN_INTERNALS: [&str; 3] = ["__wbindgen_*", "__wbg_*", "__externref_*"];

impl Selection {
    /// Whether `name` is wrapped, or why not.
    fn reason_to_skip(&self, name: &str) -> Option<&'static str> {
        let included = self.include.iter().any(|g| glob_match(g, name));
        let excluded = self.exclude.iter().any(|g| glob_match(g, name));
        if (!self.include.is_empty() && !included) || excluded {
            Some("not selected")
        } else if !included && BINDGEN_INTERNALS.iter().any(|g| glob_match(g, name)) {
            Some("wasm-bindgen internal")
        } else {
            None
        }
    }
}

/// How the wrappers are built.
pub struct Plan<'p> {
    /// `None` for a module without exception handling: wrappers then only keep the guard's count.
    pub encoding: Option<Encoding>,
    pub stack_pointer: Option<&'p Found>,
    pub guard: Option<&'p Guard>,
    /// Set when Rust panics get their own clause (runtime crate linked, or JS mode).
    pub recovery: Option<&'p Recovery>,
}

/// Decides, for every function export, whether it is wrapped and why not.
pub fn choose_exports(module: &Module<'_>, selection: &Selection) -> Vec<ExportOutcome> {
    function_exports(module)
        .map(|(_, export)| {
            let reason = if let Some(reason) = selection.reason_to_skip(export.name) {
                Some(reason)
            } else if export.index < module.imported_functions() {
                Some("re-exports an import: no Rust code runs in it")
            } else {
                None
            };
            ExportOutcome {
                name: export.name.to_string(),
                wrapped: reason.is_none(),
                reason,
            }
        })
        .collect()
}

/// Wraps the exports `choose_exports` chose. One wrapper per function, shared by its exports.
pub fn wrap_exports(
    module: &Module<'_>,
    chosen: &[ExportOutcome],
    plan: &Plan<'_>,
    edits: &mut Edits,
) {
    let mut wrappers: HashMap<u32, u32> = HashMap::new();
    let referenced: HashSet<u32> = module
        .bodies
        .iter()
        .flat_map(|b| &b.calls)
        .filter(|c| c.reference)
        .map(|c| c.callee)
        .collect();
    for ((position, export), outcome) in function_exports(module).zip(chosen) {
        if !outcome.wrapped {
            continue;
        }
        // The export may have been what declared the function for `ref.func`; keep it declared.
        if referenced.contains(&export.index) && !edits.declared_functions.contains(&export.index) {
            edits.declared_functions.push(export.index);
        }
        let wrapper = *wrappers.entry(export.index).or_insert_with(|| {
            let body = wrapper_body(module, export.index, plan);
            let ty = module.function_types[export.index as usize];
            edits.add_function(ty, format!("wasm_unwind::wrap::{}", export.name), body)
        });
        edits.repointed_exports.insert(position, wrapper);
    }
}

/// The input's function exports with their positions, leaving out any we added earlier.
fn function_exports<'m, 'a>(
    module: &'m Module<'a>,
) -> impl Iterator<Item = (usize, &'m Export<'a>)> {
    module
        .exports
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == ExternalKind::Func && !e.name.starts_with(crate::ADDED_PREFIX))
}

/// The wrapper around `target`; see the module comment. In the exnref encoding:
///
/// ```wat
/// (local $sp i32)
/// [call $enter]
/// global.get $stack_pointer  local.set $sp
/// block (result exnref)
///   local.get 0 .. local.get N
///   try_table (type $sig) (catch_all_ref 0)  call $target  end
///   [call $leave]  return
/// end
/// local.get $sp  global.set $stack_pointer  [call $leave]  throw_ref
/// ```
///
/// With a recovery, `catch_ref $tag` comes first and its clause restores the stack pointer and
/// calls `$panicked` before joining the catch-all path. The legacy encoding has the same shape
/// with `try`/`catch $tag`/`catch_all`/`rethrow 0`.
fn wrapper_body(module: &Module<'_>, target: u32, plan: &Plan<'_>) -> Function {
    let ty = module.function_type(target);
    let params = ty.params().len() as u32;
    let signature = BlockType::FunctionType(module.function_types[target as usize]);
    let stack_pointer = plan
        .stack_pointer
        .filter(|_| plan.encoding.is_some())
        .map(|sp| {
            (
                sp.index,
                val_type(module.globals[sp.index as usize].ty.content_type),
            )
        });
    let recovery = plan.recovery.filter(|_| plan.encoding.is_some());
    let saved = params;
    let mut locals: Vec<(u32, ValType)> =
        stack_pointer.map(|(_, ty)| (1, ty)).into_iter().collect();
    let exception = params + locals.len() as u32;
    if recovery.is_some() && plan.encoding == Some(Encoding::Exnref) {
        locals.push((1, ValType::EXNREF));
    }

    let mut f = Function::new(locals);
    let mut code = f.instructions();
    if let Some(guard) = plan.guard {
        code.call(guard.enter);
    }
    if let Some((global, _)) = stack_pointer {
        code.global_get(global).local_set(saved);
    }
    let restore = |code: &mut wasm_encoder::InstructionSink<'_>| {
        if let Some((global, _)) = stack_pointer {
            code.local_get(saved).global_set(global);
        }
    };
    let leave = |code: &mut wasm_encoder::InstructionSink<'_>| {
        if let Some(guard) = plan.guard {
            code.call(guard.leave);
        }
    };
    match (plan.encoding, recovery) {
        (Some(Encoding::Exnref), None) => {
            code.block(BlockType::Result(ValType::EXNREF));
            push_params(&mut code, params);
            code.try_table(signature, [Catch::AllRef { label: 0 }])
                .call(target)
                .end();
            leave(&mut code);
            code.return_().end();
            restore(&mut code);
            leave(&mut code);
            code.throw_ref();
        }
        (Some(Encoding::Exnref), Some(recovery)) => {
            let caught = recovery
                .caught
                .expect("an exnref recovery has a catch block type");
            code.block(BlockType::Result(ValType::EXNREF)).block(caught);
            push_params(&mut code, params);
            let catches = [
                Catch::OneRef {
                    tag: recovery.tag,
                    label: 0,
                },
                Catch::AllRef { label: 1 },
            ];
            code.try_table(signature, catches).call(target).end();
            leave(&mut code);
            code.return_().end();
            code.local_set(exception);
            restore(&mut code);
            code.call(recovery.panicked).local_get(exception).end();
            restore(&mut code);
            leave(&mut code);
            code.throw_ref();
        }
        (Some(Encoding::Legacy), recovery) => {
            push_params(&mut code, params);
            code.try_(signature).call(target);
            if let Some(recovery) = recovery {
                code.catch(recovery.tag);
                restore(&mut code);
                code.call(recovery.panicked);
                restore(&mut code);
                leave(&mut code);
                code.rethrow(0);
            }
            code.catch_all();
            restore(&mut code);
            leave(&mut code);
            code.rethrow(0).end();
            leave(&mut code);
        }
        (None, _) => {
            push_params(&mut code, params);
            code.call(target);
            leave(&mut code);
        }
    }
    code.end();
    f
}

fn push_params(code: &mut wasm_encoder::InstructionSink<'_>, params: u32) {
    for i in 0..params {
        code.local_get(i);
    }
}

/// Shell-style wildcard match: `*` any run of characters, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic backtracking on the last `*`: linear in practice for export names.
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::{Selection, glob_match};

    #[test]
    fn wasm_bindgen_internals_are_left_alone_unless_named() {
        let all = Selection::default();
        assert_eq!(all.reason_to_skip("greet"), None);
        for internal in [
            "__wbindgen_malloc",
            "__wbg_point_free",
            "__externref_table_alloc",
        ] {
            assert_eq!(all.reason_to_skip(internal), Some("wasm-bindgen internal"));
        }
        let named = Selection {
            include: vec!["__wbindgen_malloc".into(), "greet".into()],
            exclude: Vec::new(),
        };
        assert_eq!(named.reason_to_skip("__wbindgen_malloc"), None);
        assert_eq!(
            named.reason_to_skip("__wbindgen_free"),
            Some("not selected")
        );
        let skipped = Selection {
            include: Vec::new(),
            exclude: vec!["gr*".into()],
        };
        assert_eq!(skipped.reason_to_skip("greet"), Some("not selected"));
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("panic_*", "panic_fmt"));
        assert!(!glob_match("panic_*", "add"));
        assert!(glob_match("a?d", "add"));
        assert!(glob_match("*_get", "counter_get"));
        assert!(!glob_match("*_get", "counter_inc"));
        assert!(glob_match("__wbg_*_*", "__wbg_log_1"));
        assert!(!glob_match("add", "adder"));
    }
}
