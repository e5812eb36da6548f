//! Validate: the features the tool accepts; the output, checked as it is written, before
//! anyone takes it as a module (a failure there is our bug).
//!
//! Output bodies the encoder vouches for (`Encoder::trusted_bodies`, whose one rule is stated on
//! `Encoder::trusted`) are skipped: they are the input's bytes, validated by `load`, with
//! nothing changed that could change their validity. Everything else is validated in full.
//!
//! The input's bodies are validated in parallel (`bodies`, used by `load`): once the module's
//! sections are validated, each body's validator depends on nothing but them.

use rayon::prelude::*;
use wasmparser::{
    BinaryReader, BinaryReaderError, Chunk, FuncToValidate, FuncValidator,
    FuncValidatorAllocations, FunctionBody, Parser, Payload, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
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

/// Validates a module this tool writes while it is written, and passes each piece on (`take`)
/// once it is validated, so that the output need not be held whole. Sections and bodies are
/// parsed as soon as they are complete; what is not yet waits in `pending`. `trusted[f]` says
/// body `f` may be skipped; the others (ours, small) are kept and validated in parallel at the
/// end, before the caller takes the output as a module.
pub struct Checked<'t> {
    validator: Validator,
    parser: Parser,
    trusted: Vec<bool>,
    /// Bytes received that do not yet make a whole section or body.
    pending: Vec<u8>,
    /// How many more bytes the parser last asked for.
    wanted: usize,
    /// Bodies to validate: each one's validator, bytes and offset.
    untrusted: Vec<(FuncToValidate<ValidatorResources>, Vec<u8>, usize)>,
    take: &'t mut dyn FnMut(&[u8]),
    failed: Option<BinaryReaderError>,
}

impl<'t> Checked<'t> {
    pub fn new(trusted: Vec<bool>, take: &'t mut dyn FnMut(&[u8])) -> Self {
        Checked {
            validator: Validator::new_with_features(supported_features()),
            parser: Parser::new(0),
            trusted,
            pending: Vec::new(),
            wanted: 0,
            untrusted: Vec::new(),
            take,
            failed: None,
        }
    }

    /// The next piece of the module.
    pub fn piece(&mut self, mut bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // What waits is completed a little at a time, as much as the parser asks for, so that
        // a large piece is not copied to the end of a small one.
        while !self.pending.is_empty() && !bytes.is_empty() && self.failed.is_none() {
            let more = self.wanted.clamp(1, bytes.len());
            self.pending.extend_from_slice(&bytes[..more]);
            bytes = &bytes[more..];
            let pending = std::mem::take(&mut self.pending);
            let used = self.advance(&pending, false);
            self.pending = pending;
            self.pending.drain(..used);
        }
        // After a failure nothing more is looked at or kept.
        if !bytes.is_empty() && self.failed.is_none() {
            let used = self.advance(bytes, false);
            self.pending.extend_from_slice(&bytes[used..]);
        }
    }

    /// Checks the end of the module, once all of it has been written, and the bodies kept.
    pub fn finish(mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.advance(&pending, true);
        let (funcs, kept): (Vec<_>, Vec<_>) = (self.untrusted.into_iter())
            .map(|(to_validate, bytes, offset)| (to_validate, (bytes, offset)))
            .unzip();
        let pending = funcs
            .into_iter()
            .zip(&kept)
            .map(|(to_validate, (bytes, offset))| {
                (
                    to_validate,
                    FunctionBody::new(BinaryReader::new(bytes, *offset)),
                )
            });
        let bodies = bodies(pending.collect(), |func, body| func.validate(body));
        match self.failed.map_or(bodies.map(drop), Err) {
            Err(e) => Err(Error::OutputInvalid(e.to_string())),
            Ok(()) => Ok(()),
        }
    }

    /// Validates what `bytes` holds whole, passes it on, and says how much that was.
    fn advance(&mut self, bytes: &[u8], eof: bool) -> usize {
        let mut used = 0;
        while self.failed.is_none() {
            match self.parser.parse(&bytes[used..], eof) {
                Ok(Chunk::NeedMoreData(more)) => {
                    self.wanted = usize::try_from(more).unwrap_or(usize::MAX);
                    break;
                }
                Ok(Chunk::Parsed { consumed, payload }) => {
                    used += consumed;
                    match self.check(&payload) {
                        Ok(end) if !end => continue,
                        Ok(_) => break,
                        Err(e) => self.failed = Some(e),
                    }
                }
                Err(e) => self.failed = Some(e),
            }
        }
        if self.failed.is_none() {
            (self.take)(&bytes[..used]);
        }
        used
    }

    /// Validates one payload; true at the module's end.
    fn check(&mut self, payload: &Payload<'_>) -> Result<bool, BinaryReaderError> {
        match self.validator.payload(payload)? {
            ValidPayload::Func(to_validate, body)
                if self.trusted.get(to_validate.index as usize) != Some(&true) =>
            {
                let bytes = body.as_bytes().to_vec();
                self.untrusted
                    .push((to_validate, bytes, body.range().start));
            }
            ValidPayload::End(_) => return Ok(true),
            _ => {}
        }
        Ok(false)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Checked` makes of `bytes` handed over in pieces of `size` bytes: its verdict and
    /// what it passed on.
    fn check(bytes: &[u8], trusted: Vec<bool>, size: usize) -> (Result<()>, Vec<u8>) {
        let mut passed = Vec::new();
        let mut take = |piece: &[u8]| passed.extend_from_slice(piece);
        let mut check = Checked::new(trusted, &mut take);
        for piece in bytes.chunks(size) {
            check.piece(piece);
        }
        let verdict = check.finish();
        (verdict, passed)
    }

    #[test]
    fn a_module_in_pieces_of_any_size_is_validated_and_passed_on_unchanged() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wasm");
        for name in ["panics.exnref", "panics.legacy", "first-c.exnref"] {
            let bytes = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
            for size in [1, 3, 64, 4096, bytes.len()] {
                let (verdict, passed) = check(&bytes, Vec::new(), size);
                assert!(verdict.is_ok(), "{name} in pieces of {size}: {verdict:?}");
                assert!(passed == bytes, "{name} in pieces of {size}");
            }
        }
    }

    #[test]
    fn a_body_that_does_not_validate_fails_unless_it_is_trusted() {
        let bytes = wat::parse_str("(module (func) (func (result i32)))").unwrap();
        for size in [1, bytes.len()] {
            let (verdict, _) = check(&bytes, Vec::new(), size);
            assert!(
                matches!(verdict, Err(Error::OutputInvalid(_))),
                "{verdict:?}"
            );
            assert!(check(&bytes, vec![false, true], size).0.is_ok());
        }
    }

    #[test]
    fn a_module_cut_short_fails() {
        let bytes = wat::parse_str("(module (func (export \"f\")))").unwrap();
        for end in [4, 9, bytes.len() - 1] {
            let (verdict, _) = check(&bytes[..end], Vec::new(), 2);
            assert!(
                matches!(verdict, Err(Error::OutputInvalid(_))),
                "{end}: {verdict:?}"
            );
        }
    }
}
