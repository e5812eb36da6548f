//! `--check`: is the input already what processing with these options gives? For a CI step that
//! verifies the artifact it ships, as `cargo fmt --check` does: exit 0 if so, 1 with one line
//! saying why not.
//!
//! A processed module carries a marker recording what its run did (encoding, guard, JS mode);
//! the check compares that record with what the options ask for. An input that was never
//! processed passes only if processing would leave it byte for byte as it is.

use wasm_unwind::{Marker, Options, Processed};

/// `Err` says what processing with `options` would change about `input`.
pub fn verdict(input: &[u8], processed: &Processed, options: &Options) -> Result<(), String> {
    let report = &processed.report;
    let Some(marker) = &report.already_processed else {
        return if processed.wasm == input {
            Ok(())
        } else {
            Err(format!(
                "not processed: wasm-unwind would wrap {} of {} function exports",
                report.wrapped(),
                report.exports.len()
            ))
        };
    };
    let marker = marker.parse::<Marker>().map_err(|bad| bad.to_string())?;
    let mut wanted = Vec::new();
    if let Some(encoding) = options.encoding {
        let found = marker
            .encoding
            .map_or("none".to_string(), |e| e.to_string());
        wanted.push(("encoding", found, encoding.to_string()));
    }
    // A run that wrapped nothing added neither the guard nor the JS imports, whatever it was asked.
    if marker.wrapped != 0 {
        wanted.push((
            "abort-guard",
            on_off(marker.abort_guard),
            on_off(options.abort_guard),
        ));
        wanted.push(("js", on_off(marker.js), on_off(options.js)));
    }
    for (key, found, value) in wanted {
        if found != value {
            return Err(format!(
                "processed with {key}={found}, but these options give {key}={value}"
            ));
        }
    }
    Ok(())
}

fn on_off(on: bool) -> String {
    (if on { "on" } else { "off" }).to_string()
}
