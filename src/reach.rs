//! Reach: which functions can get to a function of some kind through calls, direct or (to any
//! function whose address the module takes) indirect. Errs towards "yes".

use crate::load::Module;

/// A set of functions, by index (one flag each: modules have tens of thousands).
pub struct Functions(Vec<bool>);

impl Functions {
    fn none(module: &Module<'_>) -> Functions {
        Functions(vec![false; module.function_count() as usize])
    }

    /// Whether `f` is a function of the set (an index past the functions is not).
    pub fn contains(&self, f: u32) -> bool {
        self.0.get(f as usize) == Some(&true)
    }

    /// Adds `f`; true when it was not there yet.
    fn insert(&mut self, f: u32) -> bool {
        !std::mem::replace(&mut self.0[f as usize], true)
    }
}

/// Every function from which a function satisfying `seed` is reachable.
pub fn reaches(module: &Module<'_>, seed: impl Fn(&Module<'_>, u32) -> bool) -> Functions {
    let imported = module.imported_functions();
    let mut callers: Vec<Vec<u32>> = vec![Vec::new(); module.function_count() as usize];
    let mut indirect_callers = Vec::new();
    let mut address_taken = Functions::none(module);
    for use_ in module
        .uses_outside_code
        .iter()
        .filter(|u| u.takes_address())
    {
        address_taken.insert(use_.function);
    }
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

    let mut reached = Functions::none(module);
    let mut work: Vec<u32> = (0..module.function_count())
        .filter(|&f| seed(module, f))
        .collect();
    for &f in &work {
        reached.insert(f);
    }
    let mut indirect_done = false;
    while let Some(f) = work.pop() {
        let via_table = !indirect_done && address_taken.contains(f);
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
