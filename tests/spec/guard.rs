//! Mode (b): a step's run under the abort guard, checked against the model of which instances
//! are terminated (the rule is in `run.rs`'s header).

use support::{Failure, classify};
use wasmtime::Trap;

use crate::run::{Check, Runner};
use crate::script::{Exec, Expect};

/// The fingerprint of a call the rule says must trap because it entered, or reached, a
/// terminated instance: it stands for whatever the unprocessed run gave.
pub const REFUSED: &str = "refused after a trap";

pub fn run(r: &mut Runner, exec: &Exec, expect: &Expect) -> Check {
    if let Some(target) = r.target(exec).filter(|&t| r.terminated(t)) {
        return into_terminated(r, exec, target);
    }
    let outcome = r.exec(exec);
    // For a trap: the instance whose code trapped (None when no frame names one).
    let owner = match &outcome {
        Err(e) if e.downcast_ref::<Trap>().is_some() => Some(r.owner(e)),
        _ => None,
    };
    let reached_terminated = owner.flatten().is_some_and(|o| r.terminated(o));
    let check = r.expect(expect, outcome);
    // Whatever the call was to give, it reached a terminated instance, which refused it.
    let check = if reached_terminated {
        Ok(REFUSED.to_string())
    } else {
        check
    };
    if let Some(owner) = owner {
        if let Some(o) = owner {
            r.terminate(o);
        }
        states_agree(r)?;
    }
    check
}

/// A call into an instance the model says is terminated: it must trap, and the instance's
/// state must say 1.
fn into_terminated(r: &mut Runner, exec: &Exec, target: usize) -> Check {
    match r.exec(exec).map_err(|e| (classify(&e), e)) {
        Err((Failure::Trap(_), _)) => {}
        Err((Failure::Exception, _)) => {
            r.take_exception();
            return Err("a call into a terminated instance threw instead of trapping".into());
        }
        Err((_, e)) => return Err(r.why(&e)),
        Ok(_) => {
            return Err("a call into a terminated instance returned instead of trapping".into());
        }
    }
    let state = r.states().into_iter().find(|(live, ..)| *live == target);
    match state {
        Some((_, Ok(1), _)) | None => Ok(REFUSED.to_string()),
        Some((_, state, _)) => Err(format!(
            "a terminated instance's {} gave {state:?}, not 1",
            wasm_unwind::STATE_EXPORT
        )),
    }
}

/// After a trap: every instance's state is 1 exactly when the model says it is terminated.
fn states_agree(r: &mut Runner) -> Result<(), String> {
    for (live, state, terminated) in r.states() {
        if state != Ok(i32::from(terminated)) {
            let (what, line) = (r.describe(live), i32::from(terminated));
            return Err(format!(
                "after the trap, {what} has {}() = {state:?}; the rule says {line}",
                wasm_unwind::STATE_EXPORT
            ));
        }
    }
    Ok(())
}
