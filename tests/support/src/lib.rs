//! What the tests (`tests/*.rs`) and the fuzz targets (`fuzz/`) share: the committed fixtures,
//! the exports of a module, how a failed Wasmtime call is classified, the Wasmtime host the
//! fixtures import from ([`host`]), the `panics` fixture in that host ([`panics`]), and the
//! robustness checker ([`robustness`]) with one `run(u)` per fuzz target ([`fuzz`]).

pub mod cli;
pub mod fuzz;
pub mod host;
pub mod panics;
pub mod robustness;
pub mod threads;

use std::path::PathBuf;

use wasmparser::{ExternalKind, Parser, Payload};
use wasmtime::{ThrownException, Trap};

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs `command`, which must succeed (`what` names it in the failure, with its output).
pub fn run_ok(command: &mut std::process::Command, what: &str) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Path of an input under `tests/regressions/`.
pub fn regression_path(name: &str) -> PathBuf {
    repo().join("tests/regressions").join(name)
}

/// The bytes of a `tests/regressions/` input (text or binary: the tool reads both).
pub fn regression(name: &str) -> Vec<u8> {
    let path = regression_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Path of a committed fixture under `fixtures/wasm/`.
pub fn fixture_path(name: &str) -> PathBuf {
    repo().join("fixtures/wasm").join(name)
}

/// Bytes of a committed fixture under `fixtures/wasm/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Every committed fixture (`fixtures/wasm/*.wasm`), sorted by path.
pub fn fixtures() -> Vec<PathBuf> {
    let dir = repo().join("fixtures/wasm");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
        .collect();
    paths.sort();
    paths
}

/// One export of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExternalKind,
    pub index: u32,
}

/// The exports of `wasm`, in module order (none past a part that does not parse).
pub fn exports_of(wasm: &[u8]) -> Vec<Export> {
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ExportSection(reader)) => {
                exports.extend(reader.into_iter().flatten().map(|e| Export {
                    name: e.name.to_string(),
                    kind: e.kind,
                    index: e.index,
                }))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    exports
}

/// How a call into Wasm failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An uncaught Wasm exception (`ThrownException`; the exception is pending in the store).
    Exception,
    /// A Wasm trap with its code.
    Trap(Trap),
    /// Anything else (a host error, ...), as text.
    Other(String),
}

/// What kind of failure a Wasmtime error is.
pub fn classify(err: &wasmtime::Error) -> Failure {
    let exception = err.downcast_ref::<ThrownException>().is_some();
    let trap = err.downcast_ref::<Trap>().copied();
    match (exception, trap) {
        (true, None) => Failure::Exception,
        (false, Some(trap)) => Failure::Trap(trap),
        (true, Some(trap)) => panic!("error is both an exception and a trap ({trap:?}): {err:?}"),
        (false, None) => Failure::Other(format!("{err:?}")),
    }
}
