//! The host's steps on a module that invites them (`Abi::HostWrites`: an exported `rust_table`
//! of three slots, 0 empty, 1 `x + 1`, 2 a panic; `rust_call_slot(x, slot)`, which calls a slot
//! with `call_indirect` inside a shadow-stack frame; `rust_trap`), on fresh instances of both
//! sides, after the main run:
//!
//! 1. the host grows the table with its own function and writes that function over the empty
//!    slot; the function calls back into `rust_call_slot` while the module waits in its
//!    `call_indirect`, `x` levels deep. The module's calls reach it and the host's own call
//!    through the table works, with the same results as unprocessed, every callback served,
//!    and the instance still live;
//! 2. a second module, processed on its own, imports the table and the export, and writes three
//!    functions into the table with its element segment (one calls back into the first module,
//!    one throws): the first module's calls through those slots compute the same, and an
//!    exception passing through leaves the first module's stack pointer restored; the exported
//!    state but the stack pointer is then the same on both sides;
//! 3. the host writes the export `rust_trap` into the table and the module calls it: the same
//!    trap on both sides, then every entry into the processed instance is refused (before any
//!    host function runs, or, when the host calls its own function, at the callback), and
//!    `__wasm_unwind_state()` says 1.

use std::sync::OnceLock;

use wasmtime::{Func, FuncType, Linker, Module, Ref, Table, Trap, Val, ValType};

use super::{Call, Entry, Expected, Host, Pair, Side, Value, engine, pair};
use crate::robustness::{Diff, Tally};

pub const TABLE: &str = "rust_table";
const CALL_SLOT: &str = "rust_call_slot";
const TRAP: &str = "rust_trap";
/// The slot the module's segment fills with `x + 1`.
const PLAIN: u64 = 1;
/// The module's table size as declared, which the steps grow by 2 and then 3: the second
/// module's segment goes at 5.
const DECLARED: u64 = 3;
const LINKED_AT: u64 = DECLARED + 2;

/// What a whole run of the steps counts: calls compared through slots the host wrote (5 in
/// step 1, the trap of step 3), callbacks served on the processed side (3 + 2 + 2), calls
/// through the second module's slots (3).
pub const HOST_STEPS: (usize, usize, usize) = (6, 7, 3);

/// The host's function, `(i32) -> i32`: `host(0) = 7`, `host(x) = 3 * rust_call_slot(x - 1,
/// s) + x` where `s` is the slot it was told to call back through.
fn host_function(side: &mut Side) -> Func {
    let ty = FuncType::new(engine(), [ValType::I32], [ValType::I32]);
    Func::new(&mut side.store, ty, |mut caller, params, results| {
        caller.data_mut().calls += 1;
        let x = params[0].unwrap_i32();
        let value = match caller.data().callback {
            Some((call_slot, slot)) if x > 0 => {
                let mut out = [Val::I32(0)];
                let args = [Val::I32(x - 1), Val::I32(slot as i32)];
                call_slot.call(&mut caller, &args, &mut out)?;
                caller.data_mut().callbacks += 1;
                out[0].unwrap_i32().wrapping_mul(3).wrapping_add(x)
            }
            _ => 7,
        };
        results[0] = Val::I32(value);
        Ok(())
    })
}

/// Runs the steps when `expected` says the input invites them; `None` otherwise.
pub(super) fn host_steps(
    module_o: &Module,
    module_p: &Module,
    expected: &Expected<'_>,
) -> Result<Option<Diff>, String> {
    let invited = expected.exports.iter().any(|e| e.name == CALL_SLOT);
    let Some(table) = expected.tables.iter().position(|t| t.name == TABLE) else {
        return Ok(None);
    };
    if !invited {
        return Ok(None);
    }
    let (mut o, mut p) = match pair(module_o, module_p, &expected.tables)? {
        Pair::Sides(o, p) => (o, p),
        // The main run says what instantiation decides.
        Pair::Done(_) => return Ok(None),
    };
    let mut tally = Tally::default();
    for side in [&mut o, &mut p] {
        write(side, table)?;
    }
    let host_slot = DECLARED;
    let steps: [(&str, Step); 5] = [
        ("a slot the host grew", Step::CallSlot(3, host_slot)),
        ("a slot the host wrote", Step::CallSlot(2, 0)),
        (
            "the host's call through its slot",
            Step::HostCall(2, host_slot),
        ),
        ("the module's own slot", Step::CallSlot(4, PLAIN)),
        ("the module's panicking slot", Step::CallSlot(5, PLAIN + 1)),
    ];
    for (what, step) in steps {
        if !same(&mut o, &mut p, what, step, expected)? {
            return Ok(Some(Diff::Inconclusive));
        }
        tally.host_calls += 1;
    }
    tally.callbacks = p.store.data().callbacks;
    tally.linked = linked(&mut o, &mut p, table, expected)?;
    // The exceptions left the stack pointer lowered on the input's side only.
    let when = || "the state after the host steps differs".to_string();
    let sp = expected.sp.as_deref();
    super::same_state(&mut o, &mut p, &expected.exports, sp, false, when)?;
    live(&mut p, 0, "after the callbacks")?;
    tally.host_calls += trap(&mut o, &mut p, table, expected)?;
    Ok(Some(Diff::Compared(tally)))
}

/// One call of the steps: `rust_call_slot(x, slot)`, or the host calling slot `slot` with `x`.
#[derive(Clone, Copy, Debug)]
enum Step {
    CallSlot(i32, u64),
    HostCall(i32, u64),
}

impl Side {
    fn step(&mut self, step: Step, table: usize) -> Result<Call, String> {
        let (func, args) = match step {
            Step::CallSlot(x, slot) => {
                let func = self.instance.get_func(&mut self.store, CALL_SLOT);
                (func, vec![Val::I32(x), Val::I32(slot as i32)])
            }
            Step::HostCall(x, slot) => {
                let t = self.tables[table].ok_or("no table")?;
                let func = t
                    .get(&mut self.store, slot)
                    .and_then(|r| r.as_func()?.copied());
                (func, vec![Val::I32(x)])
            }
        };
        let func = func.ok_or_else(|| format!("{step:?}: no function"))?;
        let mut results = [Val::I32(0)];
        self.store.set_fuel(super::FUEL).unwrap();
        Ok(match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Call::Returned(vec![super::value(&results[0])]),
            Err(e) => super::failed(&mut self.store, e),
        })
    }
}

/// Grows `table` by 2 with the host's function and writes it over empty slot 0; the function
/// calls back through the first new slot.
fn write(side: &mut Side, table: usize) -> Result<(), String> {
    let t: Table = side.tables[table].ok_or("the exported table is not found")?;
    let host = host_function(side);
    let at = t
        .grow(&mut side.store, 2, Ref::Func(Some(host)))
        .map_err(|e| format!("grow: {e:#}"))?;
    if at != DECLARED {
        return Err(format!("`{TABLE}` has {at} slots, not {DECLARED}"));
    }
    t.set(&mut side.store, 0, Ref::Func(Some(host)))
        .map_err(|e| format!("set: {e:#}"))?;
    let call_slot = side.instance.get_func(&mut side.store, CALL_SLOT);
    side.store.data_mut().callback = Some((call_slot.ok_or("no `rust_call_slot`")?, at));
    Ok(())
}

/// Makes `step` on both sides: the same outcome, a return or an exception, and for an
/// exception the processed side's stack pointer restored. `false` when out of fuel.
fn same(
    o: &mut Side,
    p: &mut Side,
    what: &str,
    step: Step,
    expected: &Expected<'_>,
) -> Result<bool, String> {
    let table = expected
        .tables
        .iter()
        .position(|t| t.name == TABLE)
        .unwrap();
    let sp = expected.sp.as_deref();
    let sp_before = sp.and_then(|n| p.global(n));
    let (call_o, call_p) = (o.step(step, table)?, p.step(step, table)?);
    match (&call_o, &call_p) {
        (Call::OutOfFuel, _) | (_, Call::OutOfFuel) => return Ok(false),
        (Call::Returned(a), Call::Returned(b)) if a == b => {}
        (Call::Threw(a), Call::Threw(b)) if a == b => {
            let sp_after = sp.and_then(|n| p.global(n));
            if sp_after != sp_before {
                return Err(format!(
                    "{what} ({step:?}) threw, stack pointer not restored: {sp_before:?}, then {sp_after:?}"
                ));
            }
        }
        _ => {
            return Err(format!(
                "{what} ({step:?}): input {call_o:?}, output {call_p:?}"
            ));
        }
    }
    Ok(true)
}

/// The second module: imports the first's table and `rust_call_slot`, and writes at
/// [`LINKED_AT`] `5x + 2`, a callback `rust_call_slot(x, PLAIN) + 100`, and a panic of its own.
fn partner_wat() -> String {
    format!(
        r#"(module
  (type $fn (func (param i32) (result i32)))
  (import "first" "rust_table" (table $t 0 funcref))
  (import "first" "rust_call_slot" (func $call_slot (param i32 i32) (result i32)))
  (tag $__cpp_exception (param i32))
  (global $__stack_pointer (mut i32) (i32.const 8192))
  (elem (table $t) (i32.const {LINKED_AT}) func $times5 $reenter $throw)
  (func $times5 (type $fn) (i32.add (i32.mul (local.get 0) (i32.const 5)) (i32.const 2)))
  (func $reenter (type $fn)
    (i32.add (call $call_slot (local.get 0) (i32.const {PLAIN})) (i32.const 100)))
  (func $throw (type $fn)
    (global.set $__stack_pointer (i32.sub (global.get $__stack_pointer) (i32.const 32)))
    (throw $__cpp_exception (local.get 0)))
  (func (export "partner_try") (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $__cpp_exception $caught) (call $throw (i32.const 1))))))"#
    )
}

/// The second module, unprocessed and processed (with the default options).
fn partners() -> &'static (Module, Module) {
    static PARTNERS: OnceLock<(Module, Module)> = OnceLock::new();
    PARTNERS.get_or_init(|| {
        let input = wat::parse_str(partner_wat()).expect("partner module");
        let output = wasm_unwind::process(&input, &wasm_unwind::Options::default())
            .expect("the second module is processed");
        let module = |wasm: &[u8]| Module::new(engine(), wasm).expect("partner compiles");
        (module(&input), module(&output.wasm))
    })
}

/// Step 2: grows the table by 3, links the second module (unprocessed with the input,
/// processed with the output), and calls its three slots through the first module.
fn linked(
    o: &mut Side,
    p: &mut Side,
    table: usize,
    expected: &Expected<'_>,
) -> Result<usize, String> {
    let (partner_o, partner_p) = partners();
    for (side, partner) in [(&mut *o, partner_o), (&mut *p, partner_p)] {
        let t = side.tables[table].ok_or("no table")?;
        t.grow(&mut side.store, 3, Ref::Func(None))
            .map_err(|e| format!("grow: {e:#}"))?;
        let call_slot = side
            .instance
            .get_func(&mut side.store, CALL_SLOT)
            .ok_or("no export")?;
        let mut linker: Linker<Host> = Linker::new(engine());
        linker.define(&side.store, "first", TABLE, t).unwrap();
        linker
            .define(&side.store, "first", CALL_SLOT, call_slot)
            .unwrap();
        side.store.set_fuel(super::FUEL).unwrap();
        linker
            .instantiate(&mut side.store, partner)
            .map_err(|e| format!("the second module does not instantiate: {e:#}"))?;
    }
    let steps = [
        ("the second module's slot", Step::CallSlot(6, LINKED_AT)),
        (
            "the second module's callback",
            Step::CallSlot(2, LINKED_AT + 1),
        ),
        (
            "the second module's panic",
            Step::CallSlot(7, LINKED_AT + 2),
        ),
    ];
    for (what, step) in steps {
        if !same(o, p, what, step, expected)? {
            return Err(format!("{what}: out of fuel"));
        }
    }
    Ok(steps.len())
}

/// `__wasm_unwind_state()` of the processed side is `state`.
fn live(p: &mut Side, state: u128, when: &str) -> Result<(), String> {
    match p.call_export(wasm_unwind::STATE_EXPORT) {
        None => Ok(()),
        Some(Call::Returned(v)) if v == [Value::Bits(state)] => Ok(()),
        Some(other) => Err(format!(
            "{} {when}: expected {state}, got {other:?}",
            wasm_unwind::STATE_EXPORT
        )),
    }
}

/// Step 3: the host writes `rust_trap` into slot 4 and the module calls it; then every entry
/// into the processed instance is refused. Returns the calls compared (1).
fn trap(
    o: &mut Side,
    p: &mut Side,
    table: usize,
    expected: &Expected<'_>,
) -> Result<usize, String> {
    for side in [&mut *o, &mut *p] {
        let t = side.tables[table].ok_or("no table")?;
        let trap = side
            .instance
            .get_func(&mut side.store, TRAP)
            .ok_or("no `rust_trap`")?;
        t.set(&mut side.store, DECLARED + 1, Ref::Func(Some(trap)))
            .map_err(|e| format!("set: {e:#}"))?;
    }
    let step = Step::CallSlot(0, DECLARED + 1);
    let (call_o, call_p) = (o.step(step, table)?, p.step(step, table)?);
    let trapped = Call::Trapped(Trap::UnreachableCodeReached);
    if call_o != trapped || call_p != trapped {
        return Err(format!(
            "the trap through a slot the host wrote: input {call_o:?}, output {call_p:?}"
        ));
    }
    let Some(refusal) = expected.roles(&Entry::Export(CALL_SLOT.into())).refusal else {
        return Ok(1);
    };
    live(p, 1, "after the trap")?;
    // The host's own function runs (one host call), and its callback is refused.
    for (step, host_calls) in [
        (Step::CallSlot(3, DECLARED), 0),
        (Step::HostCall(2, DECLARED), 1),
    ] {
        let before = p.store.data().calls;
        let call = p.step(step, table)?;
        let ran = p.store.data().calls - before;
        if call != refusal || ran != host_calls {
            return Err(format!(
                "{step:?} after the trap: expected {refusal:?} after {host_calls} host call(s), got {call:?} after {ran}"
            ));
        }
    }
    Ok(1)
}
