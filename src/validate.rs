//! Validate: the features the tool accepts; the output, checked before anyone sees it (a failure
//! there is our bug).
//!
//! Bodies the encoder vouches for (`Encoded::trusted`, whose one rule is stated in `encode`)
//! are skipped: they are the input's bytes, validated by `load`, with nothing changed that
//! could change their validity. Everything else is validated in full.
//!
//! Function bodies are validated in parallel (`bodies`), here and in `load`: once the module's
//! sections are validated, each body's validator depends on nothing but them.

use rayon::prelude::*;
use wasmparser::{
    BinaryReaderError, FuncToValidate, FuncValidator, FuncValidatorAllocations, FunctionBody,
    Parser, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

use crate::error::{Error, Result};

/// Proposals a Rust (or C/C++) wasm build may use and that the pass handles. Stack switching,
/// shared-everything threads and the like are left out: a wrapper cannot promise anything about
/// a call that suspends through it.
pub fn supported_features() -> WasmFeatures {
    (WasmFeatures::WASM3
        | WasmFeatures::LEGACY_EXCEPTIONS
        | WasmFeatures::GC_TYPES
        | WasmFeatures::CALL_INDIRECT_OVERLONG
        | WasmFeatures::BULK_MEMORY_OPT
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::CUSTOM_PAGE_SIZES)
        - WasmFeatures::COMPONENT_MODEL
}

/// A body waiting for its validation, as the module's validator hands it out.
pub type Pending<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// Validates a module this tool wrote. `trusted[f]` says body `f` may be skipped.
pub fn output(bytes: &[u8], trusted: &[bool]) -> Result<()> {
    validate(bytes, trusted).map_err(|e| Error::OutputInvalid(e.to_string()))
}

fn validate(bytes: &[u8], trusted: &[bool]) -> Result<(), BinaryReaderError> {
    let mut validator = Validator::new_with_features(supported_features());
    let mut pending = Vec::new();
    let rest = (|| {
        for payload in Parser::new(0).parse_all(bytes) {
            if let ValidPayload::Func(to_validate, body) = validator.payload(&payload?)?
                && trusted.get(to_validate.index as usize) != Some(&true)
            {
                pending.push((to_validate, body));
            }
        }
        Ok(())
    })();
    // The bodies come before whatever stopped the sections: their errors first.
    bodies(pending, |func, body| func.validate(body))?;
    rest
}

/// Runs `work` (which validates the body with the validator it is given) on every body, in
/// parallel, and returns its results in the bodies' order; when bodies fail, the error of the
/// first of them in module order, whatever the number of threads.
pub fn bodies<'a, T: Send>(
    pending: Vec<Pending<'a>>,
    work: impl Fn(
        &mut FuncValidator<ValidatorResources>,
        &FunctionBody<'a>,
    ) -> Result<T, BinaryReaderError>
    + Sync,
) -> Result<Vec<T>, BinaryReaderError> {
    let results: Vec<_> = pending
        .into_par_iter()
        .map_init(
            FuncValidatorAllocations::default,
            |allocations, (to_validate, body)| {
                let mut func = to_validate.into_validator(std::mem::take(allocations));
                let result = work(&mut func, &body);
                *allocations = func.into_allocations();
                result
            },
        )
        .collect();
    // Collected first: rayon's own collection into a `Result` keeps any error, not the first.
    results.into_iter().collect()
}
