//! The command line through the real binary, grouped by what each test proves, and the library's
//! promises about the output module. One test binary: each links Wasmtime.

#[path = "cli/errors.rs"]
mod errors;
#[path = "cli/files.rs"]
mod files;
#[path = "cli/flags.rs"]
mod flags;
#[path = "cli/library.rs"]
mod library;
#[path = "cli/summaries.rs"]
mod summaries;
#[path = "cli/tag_and_stack_pointer.rs"]
mod tag_and_stack_pointer;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use support::cli::{Cli, stderr};
use support::exports_of;
use wasm_unwind::ADDED_PREFIX;
use wasmparser::{
    BinaryReader, ExternalKind, Name, NameSectionReader, Parser, Payload, Validator, WasmFeatures,
};

const CLI: Cli = support::wasm_unwind!();

const FIXTURES: [&str; 3] = ["panics.exnref.wasm", "panics.legacy.wasm", "abort.wasm"];

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: exit code\nstderr:\n{}",
        stderr(output)
    );
}

/// Features a processed Rust EH module needs: the defaults plus both EH encodings.
fn features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::EXCEPTIONS | WasmFeatures::LEGACY_EXCEPTIONS
}

fn validate(bytes: &[u8]) -> wasmparser::types::Types {
    Validator::new_with_features(features())
        .validate_all(bytes)
        .unwrap_or_else(|e| panic!("output does not validate: {e}"))
}

/// Function exports of a module: (name, function index).
fn function_exports(bytes: &[u8]) -> Vec<(String, u32)> {
    exports_of(bytes)
        .into_iter()
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| (e.name, e.index))
        .collect()
}

/// The function names of the name section, by index (empty without a name section).
fn function_names(bytes: &[u8]) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(c) = payload.unwrap() {
            if c.name() != "name" {
                continue;
            }
            for sub in NameSectionReader::new(BinaryReader::new(c.data(), c.data_offset())) {
                if let Name::Function(map) = sub.unwrap() {
                    for naming in map {
                        let naming = naming.unwrap();
                        names.insert(naming.index, naming.name.to_string());
                    }
                }
            }
        }
    }
    names
}

fn has_name_section(bytes: &[u8]) -> bool {
    Parser::new(0)
        .parse_all(bytes)
        .any(|p| matches!(p.unwrap(), Payload::CustomSection(c) if c.name() == "name"))
}

/// The exports `wasm-unwind` wrapped: those whose function is named `wasm_unwind::wrap::*`.
fn wrapped_exports(bytes: &[u8]) -> Vec<String> {
    let names = function_names(bytes);
    let mut wrapped: Vec<String> = function_exports(bytes)
        .into_iter()
        .filter(|(_, index)| {
            names
                .get(index)
                .is_some_and(|n| n.starts_with("wasm_unwind::wrap::"))
        })
        .map(|(name, _)| name)
        .collect();
    wrapped.sort();
    wrapped
}

/// The export names of a module that are not ours, sorted.
fn original_function_export_names(bytes: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = function_exports(bytes)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !name.starts_with(ADDED_PREFIX))
        .collect();
    names.sort();
    names
}
