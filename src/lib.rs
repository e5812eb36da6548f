//! wasm-unwind makes a Rust `panic=unwind` wasm32 module safe to keep serving after failures.
//!
//! Panics are contained: every exported entrypoint is wrapped so that an unwind reaching the
//! boundary leaves as an ordinary exception, with the shadow stack restored. Aborts are final:
//! after any trap, every later entry into the instance is refused.
//!
//! The pipeline, one module each: [`load`](load::load) validates and indexes the input,
//! `detect` finds the EH encoding, unwind tag and stack pointer, the passes (`wrap`, `guard`)
//! record their changes as `edits`, and `encode` splices them into the original bytes.

mod detect;
mod edits;
mod encode;
mod error;
mod guard;
mod inspect;
mod js;
mod load;
mod options;
mod recover;
mod wrap;

use wasm_encoder::ExportKind;

pub use detect::{Encoding, Found};
pub use error::{Error, Result};
pub use guard::STATE_EXPORT;
pub use inspect::{ExportRow, Inspection, inspect};
pub use js::{GLUE as JS_GLUE, IMPORT_MODULE as JS_IMPORT_MODULE};
pub use load::{MARKER_SECTION, read_input};
pub use options::Options;
pub use recover::RUNTIME_EXPORT;
pub use wrap::ExportOutcome;

/// Every export the tool adds starts with this.
pub const ADDED_PREFIX: &str = "__wasm_unwind_";

/// The export through which a host can recognise Rust panics (`exception.is(tag)`).
pub const TAG_EXPORT: &str = "__wasm_unwind_tag";

/// What the tool found and did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub input_size: usize,
    pub output_size: usize,
    /// The marker of an earlier run, when the input is already processed (then nothing changes).
    pub already_processed: Option<String>,
    pub encoding: Option<Encoding>,
    pub unwind_tag: Option<Found>,
    pub stack_pointer: Option<Found>,
    /// Every function export, wrapped or not.
    pub exports: Vec<ExportOutcome>,
    pub abort_guard: bool,
    /// Imports whose call sites now go through the guard.
    pub import_shims: usize,
    /// The module links wasm-unwind-runtime: caught panics are handed back to Rust.
    pub runtime: bool,
    /// The output imports the `wasm_unwind` host functions (JS mode).
    pub js: bool,
    pub warnings: Vec<String>,
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
    let bytes = read_input(input)?;
    let module = load::load(&bytes)?;
    let mut report = Report {
        input_size: input.len(),
        ..Report::default()
    };
    if let Some(marker) = module.marker {
        report.already_processed = Some(marker.to_string());
        report.output_size = bytes.len();
        return Ok(Processed {
            wasm: bytes.into_owned(),
            report,
        });
    }

    report.encoding = detect::encoding(&module, options.encoding)?;
    if report.encoding.is_some() {
        report.unwind_tag = detect::unwind_tag(&module, options.tag.as_deref())?;
        report.stack_pointer = Some(detect::stack_pointer(
            &module,
            options.stack_pointer.as_deref(),
        )?);
    }
    check_globs(&module, "export", &options.exports)?;
    check_globs(&module, "skip-export", &options.skip_exports)?;

    let selection = wrap::Selection {
        include: options.exports.clone(),
        exclude: options.skip_exports.clone(),
    };
    report.exports = wrap::choose_exports(&module, &selection);
    let mut edits = edits::Edits::new(&module);
    let runtime = recover::runtime(&module).filter(|_| report.encoding.is_some());
    report.runtime = runtime.is_some();
    // The host's errors are thrown from wrappers and the guard, so only wrapped exports need them.
    let host = (options.js && report.wrapped() > 0).then(|| js::HostErrors::declare(&mut edits));
    report.js = host.is_some();
    // Without a wrapped export nothing counts activations, so a guard would guard nothing.
    let guard = (options.abort_guard && report.wrapped() > 0).then(|| {
        let refusal = host.as_ref().map(|h| h.terminated);
        let (guard, shims) = guard::install(&module, report.encoding, refusal, &mut edits);
        report.import_shims = shims;
        guard
    });
    report.abort_guard = guard.is_some();
    let recovery = match (&report.unwind_tag, report.encoding) {
        (Some(tag), Some(encoding)) if runtime.is_some() || host.is_some() => {
            Some(recover::install(
                &module,
                encoding,
                tag.index,
                runtime,
                host.as_ref(),
                guard.as_ref().map(|g| g.leave),
                &mut edits,
            ))
        }
        _ => None,
    };
    if report.encoding.is_some() || guard.is_some() {
        let plan = wrap::Plan {
            encoding: report.encoding,
            stack_pointer: report.stack_pointer.as_ref(),
            guard: guard.as_ref(),
            recovery: recovery.as_ref(),
        };
        wrap::wrap_exports(&module, &report.exports, &plan, &mut edits);
    } else {
        // Nothing to contain and no guard: every export stays as it is.
        for export in &mut report.exports {
            export.wrapped = false;
            export.reason = Some("no exception handling and no abort guard");
        }
    }
    if let Some(tag) = &report.unwind_tag {
        edits
            .exports
            .push((TAG_EXPORT.to_string(), ExportKind::Tag, tag.index));
    }
    if edits.is_empty() {
        report.output_size = bytes.len();
        return Ok(Processed {
            wasm: bytes.into_owned(),
            report,
        });
    }
    // In JS mode the host stand-ins, added first, become imports; ours start after them.
    let first_added = edits.first_function() + host.as_ref().map_or(0, |_| js::HostErrors::COUNT);
    edits.marker = marker(&report, first_added);

    let encoded = encode::encode(&module, &edits, options.add_names);
    report.warnings = encoded.warnings;
    let wasm = match &host {
        None => encoded.wasm,
        Some(host) => js::externalize(
            &encoded.wasm,
            module.imported_functions(),
            host,
            &mut report.warnings,
        )?,
    };
    // Bodies copied byte for byte keep the input's validity, unless JS mode renumbered them.
    let unchanged = |f: u32| {
        host.is_none()
            && f < edits.first_function()
            && module
                .body(f)
                .is_some_and(|b| !encode::redirects(b, &edits))
    };
    load::validate_output(&wasm, unchanged).map_err(|e| Error::OutputInvalid(e.to_string()))?;
    report.output_size = wasm.len();
    Ok(Processed { wasm, report })
}

/// A glob given on the command line that matches no function export is almost surely a typo.
fn check_globs(module: &load::Module<'_>, option: &'static str, globs: &[String]) -> Result<()> {
    for glob in globs {
        let matches = module
            .exports
            .iter()
            .any(|e| e.kind == wasmparser::ExternalKind::Func && wrap::glob_match(glob, e.name));
        if !matches {
            return Err(Error::BadOption {
                option,
                value: glob.clone(),
                reason: "matches no function export",
            });
        }
    }
    Ok(())
}

/// The marker section's text: what a later run or `inspect` needs to know about this one.
/// Functions from `added-from` on are ours, which is how `inspect` tells wrapped exports.
fn marker(report: &Report, first_added: u32) -> String {
    let encoding = report
        .encoding
        .map_or_else(|| "none".to_string(), |e| e.to_string());
    format!(
        "wasm-unwind {}; encoding={encoding}; wrapped={}; abort-guard={}; runtime={}; js={}; added-from={first_added}",
        env!("CARGO_PKG_VERSION"),
        report.wrapped(),
        on_off(report.abort_guard),
        if report.runtime { "linked" } else { "absent" },
        on_off(report.js),
    )
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
