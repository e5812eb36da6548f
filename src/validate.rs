//! Validate: the output is checked before anyone sees it; a failure is our bug.
//!
//! Bodies the encoder vouches for (`Encoded::trusted`, whose one rule is stated in `encode`)
//! are skipped: they are the input's bytes, validated by `load`, with nothing changed that
//! could change their validity. Everything else is validated in full.

use wasmparser::{Parser, ValidPayload, Validator};

use crate::error::{Error, Result};
use crate::load::supported_features;

/// Validates a module this tool wrote. `trusted[f]` says body `f` may be skipped.
pub fn output(bytes: &[u8], trusted: &[bool]) -> Result<()> {
    validate(bytes, trusted).map_err(|e| Error::OutputInvalid(e.to_string()))
}

fn validate(bytes: &[u8], trusted: &[bool]) -> Result<(), wasmparser::BinaryReaderError> {
    let mut validator = Validator::new_with_features(supported_features());
    let mut allocations = Default::default();
    for payload in Parser::new(0).parse_all(bytes) {
        if let ValidPayload::Func(to_validate, body) = validator.payload(&payload?)? {
            if trusted.get(to_validate.index as usize) == Some(&true) {
                continue;
            }
            let mut func = to_validate.into_validator(allocations);
            func.validate(&body)?;
            allocations = func.into_allocations();
        }
    }
    Ok(())
}
