//! JS mode end to end in Cloudflare's runtime: workerd serving a processed module over HTTP.
//!
//! A Worker keeps one instance for many requests, so what wasm-unwind promises is what it needs:
//! a panic becomes a `PanicError` with the panic's message and the instance keeps its state;
//! an abort ends that instance and, with the glue's `{ fresh: true }`, the next request is served
//! by a new one. workerd also differs from Node in ways that matter here: it compiles the Wasm
//! when the config loads and refuses to compile any at run time (see `tests/workerd/README.md`).
//!
//! For each EH encoding, the `panics-rt` fixture is processed in JS mode by the library into a
//! temporary directory with the glue and `tests/workerd/`'s Worker, imports and config,
//! then `.engines/bin/workerd` serves it and the test talks to it over plain HTTP/1.1.
//! A missing workerd is a failure, never a skip.

use std::path::Path;
use std::time::Instant;

use wasm_unwind::{Encoding, Options};

mod engines;
use engines::workerd::{Workerd, parse_response};

/// The panic message `panic_fmt(13)` formats.
const UNLUCKY: &str = "unlucky 13";

#[test]
fn exnref() {
    serve_and_check("panics-rt.exnref.wasm", Encoding::Exnref);
}

#[test]
fn legacy() {
    serve_and_check("panics-rt.legacy.wasm", Encoding::Legacy);
}

fn serve_and_check(fixture: &str, encoding: Encoding) {
    let started = Instant::now();
    let dir = write_worker(fixture, encoding);
    let workerd = Workerd::start(dir.path());
    eprintln!("{fixture}: workerd listening after {:?}", started.elapsed());
    let expect = |path: &str, status: u16, body: &str| {
        assert_eq!(
            workerd.get(path),
            (status, body.to_string()),
            "{fixture}: GET {path}"
        );
    };

    // The first request instantiates; the counter lives in the instance's memory.
    expect("/count", 200, "1");
    expect("/count", 200, "2");
    // The Worker answers 500 with the message only for a PanicError, so this also checks the
    // error's class.
    expect("/panic", 500, UNLUCKY);
    expect("/count", 200, "3");
    // Many panics in one instance: each must come back the same way, none may leave a panic in
    // progress, and none replaces the instance.
    for _ in 0..200 {
        expect("/panic", 500, UNLUCKY);
    }
    expect("/count", 200, "4");
    expect("/panicking", 200, "0");
    expect("/generation", 200, "1");

    // An abort is an ordinary trap to the Worker (it is not a PanicError); the glue marks the
    // instance dead, and the next call goes to a fresh one, whose counter starts over.
    expect("/abort", 500, "RuntimeError: unreachable");
    expect("/get", 200, "0");
    expect("/generation", 200, "2");
    expect("/count", 200, "1");

    eprintln!("{fixture}: passed in {:?}", started.elapsed());
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Processes the fixture in JS mode and writes everything `config.capnp` embeds beside it.
fn write_worker(fixture: &str, encoding: Encoding) -> tempfile::TempDir {
    let input = support::fixture(fixture);
    let options = Options::default().js(true);
    let processed = wasm_unwind::process(&input, &options)
        .unwrap_or_else(|e| panic!("processing {fixture}: {e}"));
    // Otherwise the test would pass without exercising the encoding it is named after.
    assert_eq!(
        processed.report.encoding,
        Some(encoding),
        "{fixture}: encoding"
    );

    let dir = tempfile::Builder::new()
        .prefix("wasm-unwind-workerd-")
        .tempdir()
        .expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    };
    write("app.wasm", &processed.wasm);
    write("wasm-unwind.mjs", wasm_unwind::JS_GLUE.as_bytes());
    for name in ["worker.mjs", "imports.mjs", "config.capnp"] {
        write(
            name,
            &read(&engines::repo().join("tests/workerd").join(name)),
        );
    }
    dir
}

/// workerd has sent no chunked body in these tests, so the decoder is checked on its own.
#[test]
fn http_response_parsing() {
    let fixed = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\n\r\nunlucky 13";
    assert_eq!(parse_response(fixed), Ok((500, UNLUCKY.to_string())));
    let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n4\r\nunlu\r\n6;x=y\r\ncky 13\r\n0\r\n\r\n";
    assert_eq!(parse_response(chunked), Ok((200, UNLUCKY.to_string())));
    assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab").is_err());
}
