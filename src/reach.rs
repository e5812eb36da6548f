//! Reach: which functions can get to a function of some kind through calls, direct or (to any
//! function whose address the module takes) indirect. Errs towards "yes".

use std::collections::HashSet;

use crate::load::Module;

/// Every function from which a function satisfying `seed` is reachable.
pub fn reaches(module: &Module<'_>, seed: impl Fn(&Module<'_>, u32) -> bool) -> HashSet<u32> {
    let imported = module.imported_functions();
    let mut callers: Vec<Vec<u32>> = vec![Vec::new(); module.function_count() as usize];
    let mut indirect_callers = Vec::new();
    let mut address_taken: HashSet<u32> = module
        .uses_outside_code
        .iter()
        .filter(|u| u.takes_address())
        .map(|u| u.function)
        .collect();
    for (i, body) in module.bodies.iter().enumerate() {
        let caller = imported + i as u32;
        for use_ in &body.uses {
            if use_.takes_address() {
                address_taken.insert(use_.function);
            } else {
                callers[use_.function as usize].push(caller);
            }
        }
        if body.calls_indirectly {
            indirect_callers.push(caller);
        }
    }

    let mut reached: HashSet<u32> = (0..module.function_count())
        .filter(|&f| seed(module, f))
        .collect();
    let mut work: Vec<u32> = reached.iter().copied().collect();
    let mut indirect_done = false;
    while let Some(f) = work.pop() {
        let via_table = !indirect_done && address_taken.contains(&f);
        indirect_done |= via_table;
        let more = callers[f as usize].iter().chain(if via_table {
            &indirect_callers[..]
        } else {
            &[]
        });
        for &caller in more {
            if reached.insert(caller) {
                work.push(caller);
            }
        }
    }
    reached
}
