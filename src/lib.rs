//! wasm-unwind makes a Rust `panic=unwind` wasm32 module safe to keep serving after failures.
//!
//! Panics are contained: every exported entrypoint is wrapped so that an unwind reaching the
//! boundary leaves as an ordinary exception, with the shadow stack restored. Aborts are final:
//! after any trap, every later entry into the instance is refused.
//!
//! The pipeline, one module each: `load` validates and indexes the input; `detect` finds the EH
//! encoding, unwind tag and stack pointer, and `bindgen` what wasm-bindgen left; `nounwind` finds
//! the entries whose panics abort (an `extern "C"` terminate pad), which the report names; `plan`
//! decides what to do (which exports to wrap, guard or not, where caught panics go); `apply` runs
//! the `passes` that build it as `edits`; `encode` splices those into the original bytes and
//! `validate` checks the output as it is written.
//! The `Report` is the plan plus what the encoder said.

mod abi;
mod apply;
mod bindgen;
mod detect;
mod edits;
mod encode;
mod encoding;
mod error;
mod inspect;
mod load;
mod marker;
mod nounwind;
mod options;
mod passes;
mod plan;
mod reach;
mod shape;
mod validate;

pub use abi::{
    ADDED_PREFIX, JS_IMPORT_MODULE, MARKER_SECTION, RUNTIME_EXPORT, STATE_EXPORT, TAG_EXPORT,
};
pub use detect::{Found, Note};
pub use encoding::Encoding;
pub use error::{Error, Result};
pub use inspect::{ExportRow, Inspection, inspect, table_text};
pub use load::read_input;
pub use marker::Marker;
pub use options::Options;
pub use passes::js::GLUE as JS_GLUE;
pub use plan::{ExportOutcome, TableOutcome};

/// What the tool found and did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub input_size: usize,
    pub output_size: usize,
    /// The marker of an earlier run, when the input is already processed (then nothing changes).
    pub already_processed: Option<String>,
    pub encoding: Option<Encoding>,
    pub unwind_tag: Option<Found>,
    /// The output exports the unwind tag as `__wasm_unwind_tag` (only when the host could not
    /// reach it otherwise: a tag the module imports or exports is left as it is).
    pub tag_exported: bool,
    pub stack_pointer: Option<Found>,
    /// Every function export, wrapped or not.
    pub exports: Vec<ExportOutcome>,
    /// Every function table a host can reach, wrapped or not.
    pub tables: Vec<TableOutcome>,
    pub abort_guard: bool,
    /// Imports whose call sites now go through the guard.
    pub import_shims: usize,
    /// The guard reads and sets the runtime crate's termination word, which every instance
    /// over memory 0 (threads) shares: an abort ends them all.
    pub shared_word: bool,
    /// The module is dynamically linked (dylink.0): its word is the program's, through the
    /// loader's `GOT.mem`, so an abort ends the modules linked with it that link the runtime
    /// too, not those without it.
    pub dynamically_linked: bool,
    /// The module links wasm-unwind-runtime: caught panics are handed back to Rust.
    pub runtime: bool,
    /// The output imports the `wasm_unwind` host functions (JS mode).
    pub js: bool,
    pub warnings: Vec<String>,
    /// Choices made where the module did not settle a question, each naming the option that
    /// makes another (no encoding shown, several candidate tags).
    pub notes: Vec<Note>,
}

impl Report {
    pub fn wrapped(&self) -> usize {
        self.exports.iter().filter(|e| e.wrapped).count()
    }
}

pub struct Processed {
    pub wasm: Vec<u8>,
    pub report: Report,
}

/// Runs the whole pipeline on `input` (binary or text). The result always validates.
///
/// ```
/// use wasm_unwind::{Options, process};
///
/// let wat = r#"(module
///     (global $sp (mut i32) (i32.const 1024))
///     (func (export "add") (param i32 i32) (result i32)
///         (i32.add (local.get 0) (local.get 1))))"#;
/// let processed = process(wat.as_bytes(), &Options::default())?;
/// assert_eq!(processed.report.wrapped(), 1);
/// assert!(processed.report.abort_guard);
///
/// // Processing is idempotent: the output carries a marker and is left as it is.
/// let again = process(&processed.wasm, &Options::default())?;
/// assert!(again.report.already_processed.is_some());
/// assert_eq!(again.wasm, processed.wasm);
/// # Ok::<(), wasm_unwind::Error>(())
/// ```
pub fn process(input: &[u8], options: &Options) -> Result<Processed> {
    let mut wasm = Vec::new();
    let report = process_to(input, options, &mut |piece| {
        if wasm.is_empty() {
            // Room for the whole module (about the input's size plus what is added), so that
            // it is not moved while it grows: that would hold it twice.
            wasm.reserve(piece.len().max(input.len() + input.len() / 16));
        }
        wasm.extend_from_slice(piece);
    })?;
    Ok(Processed { wasm, report })
}

/// Runs the whole pipeline on `input`, handing the output to `take` piece by piece, in order,
/// as it is written and validated: a large module is never held whole. On an error, what
/// `take` was given is not a module; discard it (the command line writes to a temporary file
/// that it renames over the output only when this returns `Ok`).
pub fn process_to(input: &[u8], options: &Options, take: &mut dyn FnMut(&[u8])) -> Result<Report> {
    let bytes = read_input(input)?;
    let module = load::load(&bytes)?;
    if let Some(marker) = module.marker {
        take(&bytes);
        return Ok(Report {
            input_size: input.len(),
            output_size: bytes.len(),
            already_processed: Some(marker.to_string()),
            ..Report::default()
        });
    }
    let plan = plan::plan(&module, options)?;
    let edits = apply::apply(&module, &plan);
    let mut written = 0;
    let mut counted = |piece: &[u8]| {
        written += piece.len();
        take(piece);
    };
    let warnings = if edits.is_empty() {
        counted(&bytes);
        Vec::new()
    } else {
        let encoder = encode::Encoder::new(&module, &edits);
        let mut check = validate::Checked::new(encoder.trusted_bodies(), &mut counted);
        let warnings = encoder.encode(options.add_names, &mut |piece| check.piece(piece));
        check.finish()?;
        warnings
    };
    Ok(Report::new(&plan, input.len(), written, warnings))
}

impl Report {
    /// What the plan decided, and what the run produced.
    fn new(
        plan: &plan::Plan,
        input_size: usize,
        output_size: usize,
        warnings: Vec<String>,
    ) -> Report {
        Report {
            input_size,
            output_size,
            already_processed: None,
            encoding: plan.encoding,
            unwind_tag: plan.unwind_tag.clone(),
            tag_exported: plan.export_tag,
            stack_pointer: plan.stack_pointer.clone(),
            exports: plan.exports.iter().map(|e| e.outcome.clone()).collect(),
            tables: plan.tables.iter().map(|t| t.outcome.clone()).collect(),
            abort_guard: plan.guard.is_some(),
            import_shims: plan.guard.as_ref().map_or(0, |g| g.shims.len()),
            shared_word: plan.guard.as_ref().is_some_and(|g| g.shared_word.is_some()),
            dynamically_linked: plan.guard.as_ref().is_some_and(|g| g.dynamically_linked),
            runtime: plan.runtime.is_some(),
            js: plan.js.any(),
            warnings: plan.warnings.iter().cloned().chain(warnings).collect(),
            notes: plan.notes.clone(),
        }
    }
}
