//! Robustness: hostile and generated inputs never crash the tool or yield a broken module, and
//! processing keeps what a module computes.
//!
//! Every case goes through [`check_case`]; when the output is runnable in Wasmtime (exnref or no
//! EH), the [`differential`] run compares it with the input. Legacy outputs get the validity
//! checks only: Wasmtime does not run legacy EH. Cases come from [`generate`] (wasm-smith
//! variants), [`odd`] (wasm-smith modules off the Rust happy path, each with what the tool must
//! do with it) and, in the fixed-seed [`campaign`], also from wasm-mutate, truncation and bit
//! flips. The tests (`tests/robustness.rs`) and the fuzz targets ([`crate::fuzz`]) both run
//! them.

pub mod campaign;
mod check;
mod differential;
mod generate;
mod odd;

pub use campaign::{Campaign, Counts, Kind, campaign, campaign_of, run_one};
pub use check::{Bug, check_case, check_input, check_js_mode, eh_use};
pub use differential::{HOST_STEPS, differential, differential_of, replay};
pub use generate::{Rng, add_rust_abi, smith, smith_config, to_legacy};
pub use odd::{Abi, Case, DETECTION_ABIS, Detection, Expect, ODD_ABIS, TableExpect, add_odd_abi};

use wasm_unwind::{Encoding, Report};

/// What happened to one input.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The tool refused the input with this one-line message.
    Rejected(String),
    /// The tool wrote a valid module; `diff` says what the differential run found.
    Accepted {
        encoding: Option<Encoding>,
        diff: Diff,
        report: Box<Report>,
    },
}

/// The differential run of an accepted case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// Compared: what the tally counts agreed on both sides.
    Compared(Tally),
    /// Out of fuel on one side: nothing to conclude.
    Inconclusive,
    /// Legacy EH (Wasmtime rejects it): validity checks only.
    Legacy,
    /// Wasmtime cannot compile or link the *input* (a feature or an import it cannot provide).
    NotRunnable,
    /// The differential was not asked for.
    Skipped,
}

/// What differential runs compared: calls that agreed on both sides, the uncaught exceptions
/// among them, and the traps that ended the instance; then the same for calls through function
/// tables the host holds, and the calls through them refused after such a trap; then the
/// host steps' calls (through slots the host wrote: `host_calls`), the callbacks into exports
/// its functions made and were served (`callbacks`), and the calls through slots a second
/// module wrote (`linked`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub calls: usize,
    pub exceptions: usize,
    pub traps: usize,
    pub table_calls: usize,
    pub table_exceptions: usize,
    pub table_traps: usize,
    pub table_refused: usize,
    pub host_calls: usize,
    pub callbacks: usize,
    pub linked: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.calls += other.calls;
        self.exceptions += other.exceptions;
        self.traps += other.traps;
        self.table_calls += other.table_calls;
        self.table_exceptions += other.table_exceptions;
        self.table_traps += other.table_traps;
        self.table_refused += other.table_refused;
        self.host_calls += other.host_calls;
        self.callbacks += other.callbacks;
        self.linked += other.linked;
    }
}
