//! `inspect`: snapshots of the table and the JSON for fixtures as built and as processed, and
//! checks of the facts a user reads from them.

use support::fixture;
use wasm_unwind::{Inspection, Options, inspect, process};

fn processed(name: &str) -> Vec<u8> {
    process(&fixture(name), &Options::default())
        .expect("fixture processes")
        .wasm
}

fn row<'i>(inspection: &'i Inspection, name: &str) -> &'i wasm_unwind::ExportRow {
    inspection
        .exports
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no export {name}"))
}

#[test]
fn table_of_the_exnref_fixture_as_built() {
    insta::assert_snapshot!(inspect(&fixture("panics.exnref.wasm")).unwrap().to_table());
}

#[test]
fn table_of_the_legacy_fixture_processed() {
    insta::assert_snapshot!(
        inspect(&processed("panics.legacy.wasm"))
            .unwrap()
            .to_table()
    );
}

#[test]
fn json_of_the_abort_fixture_as_built_and_processed() {
    insta::assert_snapshot!(
        "abort_built",
        inspect(&fixture("abort.wasm")).unwrap().to_json()
    );
    insta::assert_snapshot!(
        "abort_processed",
        inspect(&processed("abort.wasm")).unwrap().to_json()
    );
}

/// What can unwind and trap follows the code, not the names: `add` does neither, a panicking
/// export unwinds, an abort traps, a host call may trap (the host can), a nounwind export that
/// panics traps through its terminate pad.
#[test]
fn reachability_matches_what_the_exports_do() {
    let built = inspect(&fixture("panics.exnref.wasm")).unwrap();
    let add = row(&built, "add");
    assert!(!add.can_unwind && !add.can_trap, "{add:?}");
    assert!(row(&built, "panic_fmt").can_unwind);
    assert!(row(&built, "abort_now").can_trap);
    assert!(row(&built, "call_host").can_trap);
    assert!(row(&built, "panic_nounwind").can_trap);
    assert!(built.exports.iter().all(|e| !e.wrapped));
    assert!(built.processed.is_none());
}

/// What a panic does at each export: the `extern "C"` ones that can throw abort (their terminate
/// pad), the "C-unwind" ones unwind, the others have nothing to throw. After processing the
/// export is our wrapper, which rethrows whatever it catches: the aborting ones still abort.
#[test]
fn on_panic_tells_unwinding_exports_from_aborting_ones() {
    for fixture_name in ["panics.exnref.wasm", "panics.legacy.wasm"] {
        let built = inspect(&fixture(fixture_name)).unwrap();
        let after = inspect(&processed(fixture_name)).unwrap();
        for inspection in [&built, &after] {
            for (name, on_panic) in [
                ("panic_nounwind", "aborts"),
                ("call_host_nounwind", "aborts"),
                ("panic_fmt", "unwinds"),
                ("panic_static", "unwinds"),
            ] {
                assert_eq!(
                    row(inspection, name).on_panic(),
                    on_panic,
                    "{fixture_name} {name}"
                );
            }
            assert!(!row(inspection, "panic_nounwind").can_unwind);
        }
        assert_eq!(row(&built, "add").on_panic(), "none", "{fixture_name}");
    }
}

#[test]
fn processed_modules_show_their_wrappers_and_options() {
    let after = inspect(&processed("panics.exnref.wasm")).unwrap();
    let marker = after.processed.as_deref().expect("marker");
    assert!(
        marker.contains("encoding=exnref") && marker.contains("abort-guard=on"),
        "{marker}"
    );
    for e in after.exports.iter().filter(|e| e.kind == "func") {
        assert_eq!(e.wrapped, !e.name.starts_with("__wasm_unwind_"), "{e:?}");
    }
    let partial = process(
        &fixture("panics.exnref.wasm"),
        &Options::default().exports(["add"]),
    )
    .unwrap();
    let partial = inspect(&partial.wasm).unwrap();
    assert!(row(&partial, "add").wrapped);
    assert!(!row(&partial, "panic_fmt").wrapped);
}

#[test]
fn bad_input_is_an_error() {
    assert!(inspect(b"").is_err());
    assert!(inspect(b"\0asm\x01\0\0\0\x01").is_err());
}

#[test]
fn runtime_and_js_mode_are_reported_and_wrapped_exports_still_found() {
    let input = fixture("panics-rt.exnref.wasm");
    assert!(inspect(&input).unwrap().runtime, "the runtime is linked");
    assert!(!inspect(&fixture("panics.exnref.wasm")).unwrap().runtime);

    // JS mode moves every function index up by two; the marker must account for it.
    let options = Options::default().js(true);
    let output = process(&input, &options).expect("fixture processes").wasm;
    let inspection = inspect(&output).unwrap();
    assert!(inspection.runtime);
    let marker = inspection.processed.as_deref().expect("marker");
    assert!(marker.contains("runtime=linked; js=on"), "{marker}");
    // `added-from` names the first function the tool added, after the moved indices.
    let added_from: u32 = marker
        .split("; ")
        .find_map(|f| f.strip_prefix("added-from="))
        .and_then(|v| v.parse().ok())
        .expect("added-from in the marker");
    let first_named_ours = wasmparser::Parser::new(0)
        .parse_all(&output)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(c) if c.name() == "name" => Some(c),
            _ => None,
        })
        .flat_map(|c| {
            wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(
                c.data(),
                c.data_offset(),
            ))
        })
        .filter_map(|n| match n.unwrap() {
            wasmparser::Name::Function(map) => Some(map),
            _ => None,
        })
        .flat_map(|map| map.into_iter().map(|n| n.unwrap()))
        .filter(|n| n.name.starts_with("wasm_unwind::"))
        .map(|n| n.index)
        .min();
    assert_eq!(Some(added_from), first_named_ours);
    for export in inspection.exports.iter().filter(|e| e.kind == "func") {
        let ours = export.name.starts_with(wasm_unwind::ADDED_PREFIX);
        assert_eq!(export.wrapped, !ours, "{}", export.name);
    }
    assert!(row(&inspection, "panic_fmt").can_unwind);
}
