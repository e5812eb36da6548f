//! The checker every case goes through: the tool must not panic, and must either return a module
//! that validates (does not mix the two EH encodings, gains no exnref type, and is left alone by a
//! second run) or an error whose message is one non-empty line; then, on request, the
//! [differential](super::differential) run.

use std::panic::{AssertUnwindSafe, catch_unwind};

use wasm_unwind::{Encoding, Error, Options};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

use super::differential::differential_of;
use super::{Diff, Outcome};

/// A bug: the input and what went wrong.
#[derive(Debug, Clone)]
pub struct Bug {
    pub what: String,
}

/// Runs the tool on `bytes` with `options`; `run` asks for the differential on acceptance.
pub fn check_case(bytes: &[u8], options: &Options, run: bool) -> Result<Outcome, Bug> {
    let bug = |what: String| Bug { what };
    let result = catch_unwind(AssertUnwindSafe(|| wasm_unwind::process(bytes, options)));
    let processed = match result {
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic payload)".into());
            return Err(bug(format!("wasm_unwind::process panicked: {msg}")));
        }
        Ok(Err(e)) => {
            let msg = e.to_string();
            if matches!(e, Error::OutputInvalid(_)) {
                return Err(bug(format!(
                    "output does not validate (reported by the tool): {msg}"
                )));
            }
            if msg.trim().is_empty() || msg.contains('\n') || msg.contains('\r') {
                return Err(bug(format!(
                    "error message is not one non-empty line: {msg:?}"
                )));
            }
            return Ok(Outcome::Rejected(msg));
        }
        Ok(Ok(p)) => p,
    };
    let out = &processed.wasm;
    if let Err(e) = Validator::new_with_features(WasmFeatures::all()).validate_all(out) {
        let input = match Validator::new_with_features(WasmFeatures::all())
            .validate_all(&read_binary(bytes))
        {
            Ok(_) => "input valid".to_string(),
            Err(e) => format!("input invalid too: {e}"),
        };
        return Err(bug(format!("output does not validate: {e} ({input})")));
    }
    // No exnref type in a legacy (or EH-free) output whose input has none: engines with legacy
    // EH only (Node 20) cannot even decode one.
    if processed.report.encoding != Some(Encoding::Exnref)
        && has_exnref_type(out)
        && !has_exnref_type(&read_binary(bytes))
    {
        return Err(bug(
            "the output has an exnref type, the input has none".into()
        ));
    }
    let (exnref, legacy) = eh_use(out);
    if exnref && legacy {
        return Err(bug("output mixes exnref and legacy EH instructions".into()));
    }
    let encoding = processed.report.encoding;
    match encoding {
        Some(Encoding::Legacy) if exnref => {
            return Err(bug("legacy input, exnref instructions in output".into()));
        }
        Some(Encoding::Exnref) if legacy => {
            return Err(bug("exnref input, legacy instructions in output".into()));
        }
        _ => {}
    }
    // A second run recognises its own output and changes nothing.
    match catch_unwind(AssertUnwindSafe(|| wasm_unwind::process(out, options))) {
        Err(_) => return Err(bug("second run on the output panicked".into())),
        Ok(Err(e)) => return Err(bug(format!("second run on the output failed: {e}"))),
        Ok(Ok(again)) => {
            if &again.wasm != out {
                return Err(bug("second run on the output changed it".into()));
            }
        }
    }
    let diff = if !run {
        Diff::Skipped
    } else if encoding == Some(Encoding::Legacy) || legacy {
        Diff::Legacy
    } else {
        differential_of(&read_binary(bytes), &processed).map_err(bug)?
    };
    Ok(Outcome::Accepted {
        encoding,
        diff,
        report: Box::new(processed.report),
    })
}

/// Whether any type, global or local of `wasm` is (or holds) an exception reference.
fn has_exnref_type(wasm: &[u8]) -> bool {
    let exn = |t: &wasmparser::ValType| {
        matches!(t, wasmparser::ValType::Ref(r) if matches!(
            r.heap_type(),
            wasmparser::HeapType::Abstract { ty: wasmparser::AbstractHeapType::Exn | wasmparser::AbstractHeapType::NoExn, .. }
        ))
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { return false };
        let found = match payload {
            Payload::TypeSection(reader) => reader
                .into_iter_err_on_gc_types()
                .flatten()
                .any(|f| f.params().iter().chain(f.results()).any(exn)),
            Payload::GlobalSection(reader) => reader
                .into_iter()
                .flatten()
                .any(|g| exn(&g.ty.content_type)),
            Payload::CodeSectionEntry(body) => body
                .get_locals_reader()
                .into_iter()
                .flatten()
                .flatten()
                .any(|(_, t)| exn(&t)),
            _ => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// `.wat` inputs are compiled here too, so that the differential sees binary.
pub(crate) fn read_binary(bytes: &[u8]) -> Vec<u8> {
    wasm_unwind::read_input(bytes)
        .map(|b| b.into_owned())
        .unwrap_or_else(|_| bytes.to_vec())
}

/// Which EH instruction families appear in the code: (exnref, legacy).
pub fn eh_use(wasm: &[u8]) -> (bool, bool) {
    let (mut exnref, mut legacy) = (false, false);
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut ops) = body.get_operators_reader() else {
            continue;
        };
        while !ops.eof() {
            match ops.read() {
                Ok(Operator::TryTable { .. } | Operator::ThrowRef) => exnref = true,
                Ok(
                    Operator::Try { .. }
                    | Operator::Catch { .. }
                    | Operator::CatchAll
                    | Operator::Rethrow { .. }
                    | Operator::Delegate { .. },
                ) => legacy = true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    (exnref, legacy)
}

/// JS mode re-encodes the whole module to add its imports: that path is checked on everything
/// the default accepts (validity only: the differential host does not provide those imports).
/// Returns whether it ran.
pub fn check_js_mode(bytes: &[u8], outcome: &Outcome) -> Result<bool, Bug> {
    let Outcome::Accepted { encoding, .. } = outcome else {
        return Ok(false);
    };
    let mut js = Options::default().js(true);
    js.encoding = *encoding;
    match check_case(bytes, &js, false)? {
        // JS mode cannot work with wasm-bindgen's glue, and says so.
        Outcome::Rejected(msg) if msg == wasm_unwind::Error::JsWithBindgen.to_string() => Ok(false),
        Outcome::Rejected(msg) => Err(Bug {
            what: format!("accepted by default but refused in JS mode: {msg}"),
        }),
        Outcome::Accepted { .. } => Ok(true),
    }
}

/// An input as it comes (a fuzzer's bytes, a regression file): checked with the default
/// options, then, if accepted, in JS mode.
pub fn check_input(bytes: &[u8]) -> Result<Outcome, Bug> {
    let outcome = check_case(bytes, &Options::default(), true)?;
    check_js_mode(bytes, &outcome)?;
    Ok(outcome)
}
