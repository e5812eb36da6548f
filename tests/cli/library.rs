//! The library's promises about the output module (interface kept, names, producers), where the
//! process boundary does not matter, and a library that builds without the command line's crates.

use std::collections::BTreeMap;
use std::process::Command;

use support::{exports_of, fixture};
use wasm_unwind::ADDED_PREFIX;
use wasmparser::{BinaryReader, ExternalKind, Parser, Payload, ProducersSectionReader};

use super::{FIXTURES, assert_exit, function_names, validate};

/// Producers fields: field name -> value names.
fn producers(bytes: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(c) = payload.unwrap() {
            if c.name() != "producers" {
                continue;
            }
            let reader =
                ProducersSectionReader::new(BinaryReader::new(c.data(), c.data_offset())).unwrap();
            for field in reader {
                let field = field.unwrap();
                let values = field
                    .values
                    .into_iter()
                    .map(|v| v.unwrap().name.to_string())
                    .collect();
                out.insert(field.name.to_string(), values);
            }
        }
    }
    out
}

/// A readable, index-free description of an entity's type.
fn describe(types: &wasmparser::types::Types, ty: wasmparser::types::EntityType) -> String {
    use wasmparser::types::EntityType;
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => {
            format!("func {:?}", types[id].unwrap_func())
        }
        EntityType::Tag(id) => format!("tag {:?}", types[id].unwrap_func()),
        EntityType::Table(t) => format!("{t:?}"),
        EntityType::Memory(m) => format!("{m:?}"),
        EntityType::Global(g) => format!("{g:?}"),
    }
}

fn imports_of(bytes: &[u8]) -> Vec<(String, String, String)> {
    let types = validate(bytes);
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::ImportSection(reader) = payload.unwrap() {
            for import in reader.into_imports() {
                let import = import.unwrap();
                let ty = types
                    .as_ref()
                    .entity_type_from_import(&import)
                    .expect("import type");
                out.push((
                    import.module.to_string(),
                    import.name.to_string(),
                    describe(&types, ty),
                ));
            }
        }
    }
    out
}

fn export_types(bytes: &[u8]) -> BTreeMap<String, (ExternalKind, String)> {
    let types = validate(bytes);
    let mut out = BTreeMap::new();
    for e in exports_of(bytes) {
        let export = wasmparser::Export {
            name: &e.name,
            kind: e.kind,
            index: e.index,
        };
        let ty = types
            .as_ref()
            .entity_type_from_export(&export)
            .expect("export type");
        out.insert(e.name.clone(), (e.kind, describe(&types, ty)));
    }
    out
}

#[test]
fn output_keeps_the_interface() {
    for name in FIXTURES {
        let input = fixture(name);
        let output = support::host::process(&input);
        validate(&output);

        assert_eq!(
            imports_of(&output),
            imports_of(&input),
            "{name}: imports kept exactly, in order"
        );

        let (before, after) = (export_types(&input), export_types(&output));
        for (export, kind_and_type) in &before {
            assert_eq!(
                after.get(export),
                Some(kind_and_type),
                "{name}: export `{export}` kept as it was"
            );
        }
        let added: Vec<&String> = after.keys().filter(|e| !before.contains_key(*e)).collect();
        assert!(
            !added.is_empty(),
            "{name}: at least the state export is added"
        );
        for export in added {
            assert!(
                export.starts_with(ADDED_PREFIX),
                "{name}: added export `{export}` has our prefix"
            );
        }
        assert!(
            after.contains_key(wasm_unwind::STATE_EXPORT),
            "{name}: state export"
        );
    }
}

#[test]
fn output_keeps_names_and_names_what_it_adds() {
    for name in FIXTURES {
        let input = fixture(name);
        let output = support::host::process(&input);
        let (before, after) = (function_names(&input), function_names(&output));
        assert!(!before.is_empty(), "{name}: fixtures keep their names");
        for (index, function) in &before {
            assert_eq!(
                after.get(index),
                Some(function),
                "{name}: function {index} keeps its name"
            );
        }
        let input_functions = validate(&input).as_ref().function_count();
        let output_functions = validate(&output).as_ref().function_count();
        assert!(output_functions > input_functions);
        for index in input_functions..output_functions {
            let added = after
                .get(&index)
                .unwrap_or_else(|| panic!("{name}: added function {index} unnamed"));
            assert!(
                added.starts_with("wasm_unwind::"),
                "{name}: added function {index} is `{added}`"
            );
        }
    }
}

#[test]
fn producers_section_records_the_tool() {
    for name in FIXTURES {
        let input = fixture(name);
        let output = support::host::process(&input);
        let (before, after) = (producers(&input), producers(&output));
        assert!(
            after
                .get("processed-by")
                .is_some_and(|v| v.iter().any(|n| n == "wasm-unwind")),
            "{name}: processed-by wasm-unwind: {after:?}"
        );
        for (field, values) in &before {
            for value in values {
                assert!(
                    after[field].contains(value),
                    "{name}: producers {field} {value} kept: {after:?}"
                );
            }
        }
    }
}

/// `default-features = false` gives the library without clap, tempfile, wasmprinter or serde.
/// Direct dependencies only: `cargo tree` unifies features with the dev-dependencies, through
/// which wasmparser's own `serde` feature is on here (it is not for a user of the library).
#[test]
fn the_library_does_not_pull_the_command_lines_crates() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--no-default-features",
            "-p",
            "wasm-unwind",
            "--depth",
            "1",
            "--prefix",
            "none",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .output()
        .expect("cargo tree");
    assert_exit(&output, 0, "cargo tree");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(tree.contains("wasmparser"), "{tree}");
    for crate_ in ["clap", "tempfile", "wasmprinter", "serde", "serde_json"] {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{crate_} "))),
            "{crate_} in the library's tree:\n{tree}"
        );
    }
}
