//! Robustness: hostile and generated inputs never crash the tool or yield a broken module, and
//! processing keeps what a module computes.
//!
//! Every case goes through [`check_case`]; when the output is runnable in Wasmtime (exnref or no
//! EH), the [`differential`] run compares it with the input. Legacy outputs get the validity
//! checks only: Wasmtime does not run legacy EH. Cases come from [`generate`] (wasm-smith
//! variants) and, in the fixed-seed [`campaign`], also from wasm-mutate, truncation and bit
//! flips. The tests (`tests/robustness.rs`) and the fuzz targets ([`crate::fuzz`]) both run
//! them.

pub mod campaign;
mod check;
mod differential;
mod generate;

pub use campaign::{Campaign, Counts, Kind, campaign, run_one};
pub use check::{Bug, check_case, check_input, check_js_mode, eh_use};
pub use differential::{differential_of, replay};
pub use generate::{Rng, add_rust_abi, smith, smith_config, to_legacy};

use wasm_unwind::Encoding;

/// What happened to one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The tool refused the input with this one-line message.
    Rejected(String),
    /// The tool wrote a valid module; `diff` says what the differential run found.
    Accepted {
        encoding: Option<Encoding>,
        diff: Diff,
    },
}

/// The differential run of an accepted case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// Compared: `calls` calls made on both sides agreed.
    Compared {
        calls: usize,
        exceptions: usize,
        trapped: bool,
    },
    /// Out of fuel on one side: nothing to conclude.
    Inconclusive,
    /// Legacy EH (Wasmtime rejects it): validity checks only.
    Legacy,
    /// Wasmtime cannot compile or link the *input* (a feature or an import it cannot provide).
    NotRunnable,
    /// The differential was not asked for.
    Skipped,
}
