//! `--check`: is the input already what processing with these options gives? For a CI step that
//! verifies the artifact it ships, as `cargo fmt --check` does: exit 0 if so, 1 with one line
//! saying why not.
//!
//! A processed module carries a marker recording what its run did (encoding, guard, JS mode);
//! the check compares that record with what the options ask for. An input that was never
//! processed passes only if processing would leave it byte for byte as it is.

use wasm_unwind::{Options, Processed};

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
    let mut wanted = Vec::new();
    if let Some(encoding) = options.encoding {
        wanted.push(("encoding", encoding.to_string()));
    }
    // A run that wrapped nothing added neither the guard nor the JS imports, whatever it was asked.
    if field(marker, "wrapped") != Some("0") {
        wanted.push(("abort-guard", on_off(options.abort_guard)));
        wanted.push(("js", on_off(options.js)));
    }
    for (key, value) in wanted {
        let found = field(marker, key).unwrap_or("unrecorded");
        if found != value {
            return Err(format!(
                "processed with {key}={found}, but these options give {key}={value}"
            ));
        }
    }
    Ok(())
}

/// One `key=value` field of the marker text (`wasm-unwind VERSION; key=value; ...`). The one
/// place the binary reads the marker, until the library parses it into a type of its own.
fn field<'m>(marker: &'m str, key: &str) -> Option<&'m str> {
    marker
        .split("; ")
        .filter_map(|f| f.split_once('='))
        .find_map(|(k, v)| (k == key).then_some(v))
}

fn on_off(on: bool) -> String {
    (if on { "on" } else { "off" }).to_string()
}
