//! JS mode end to end in Cloudflare's runtime: workerd serving a processed module over HTTP.
//!
//! A Worker keeps one instance for many requests, so what wasm-unwind promises is what it needs:
//! a panic becomes a `PanicError` with the panic's message and the instance keeps its state;
//! an abort ends that instance and, with the glue's `{ fresh: true }`, the next request is served
//! by a new one. workerd also differs from Node in ways that matter here: it compiles the Wasm
//! when the config loads and refuses to compile any at run time (see `tests/workerd/README.md`).
//!
//! For each EH encoding, the `panics-rt` fixture is processed in JS mode by the library into a
//! temporary directory with the glue, `tests/workerd/worker.mjs` and `tests/workerd/config.capnp`,
//! then `.engines/bin/workerd` serves it and the test talks to it over plain HTTP/1.1.
//! A missing workerd is a failure, never a skip.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use wasm_unwind::{Encoding, Options};

mod engines;

/// Until workerd listens: 90-155 ms here, but it compiles the module first and the cores are shared.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Per request, so that a hung Worker fails the test instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
    for name in ["worker.mjs", "config.capnp"] {
        write(
            name,
            &read(&engines::repo().join("tests/workerd").join(name)),
        );
    }
    dir
}

/// A running `workerd serve`. Dropping it kills the process, so that no failure leaves one
/// behind, and when the test is failing prints what workerd logged (every failure, including
/// a timeout or an early exit while starting, goes through here).
struct Workerd {
    child: Child,
    stderr: PathBuf,
    port: u16,
}

impl Workerd {
    fn start(dir: &Path) -> Workerd {
        let bin = engines::engine("workerd");
        // workerd reports the port it bound (port 0: no clashes between tests) on the control fd.
        // std can only hand a child a pipe as fd 0, 1 or 2, and workerd never reads stdin, so the
        // control channel is fd 0: no unsafe fd juggling in a pre_exec hook.
        let (control, control_writer) = std::io::pipe().expect("control pipe");
        let stderr = dir.join("workerd.stderr");
        let child = Command::new(&bin)
            .args(["serve", "config.capnp", "--socket-addr", "http=127.0.0.1:0"])
            .args(["--control-fd", "0"])
            .current_dir(dir)
            .stdin(control_writer)
            .stdout(Stdio::null())
            // A file, not a pipe: nothing to drain while the test runs, and it can be read after.
            .stderr(File::create(&stderr).expect("workerd.stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        // From here on the guard owns the process. The Command, dropped above, held our copy of
        // the pipe's write end, so the pipe ends exactly when workerd exits.
        let mut workerd = Workerd {
            child,
            stderr,
            port: 0,
        };

        // Lines are read on a thread, for the timeout, and until the end, so that a later
        // control message never meets a closed pipe.
        let (lines, received) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(control).lines() {
                if lines
                    .send(line.expect("reading workerd's control fd"))
                    .is_err()
                {
                    break;
                }
            }
        });
        let deadline = Instant::now() + READY_TIMEOUT;
        workerd.port = loop {
            let timeout = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(timeout) {
                // {"event":"listen","socket":"http","port":41493}
                Ok(line) if line.contains(r#""event":"listen""#) => break listen_port(&line),
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("workerd not listening after {READY_TIMEOUT:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = workerd.child.wait().expect("waiting for workerd");
                    panic!("workerd exited ({status}) before listening")
                }
            }
        };
        workerd
    }

    /// `GET path`: status and body.
    fn get(&self, path: &str) -> (u16, String) {
        let fail = |e: &dyn std::fmt::Display| -> ! { panic!("GET {path}: {e}") };
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap_or_else(|e| fail(&e));
        stream
            .set_read_timeout(Some(REQUEST_TIMEOUT))
            .unwrap_or_else(|e| fail(&e));
        // `Connection: close`: the response ends where the stream does.
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| fail(&e));
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .unwrap_or_else(|e| fail(&e));
        parse_response(&response).unwrap_or_else(|e| fail(&e))
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        // SIGKILL, then reap it: the test needs nothing from a clean shutdown.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let log = std::fs::read_to_string(&self.stderr).unwrap_or_else(|e| format!("({e})"));
            eprintln!("workerd stderr:\n{log}");
        }
    }
}

fn listen_port(line: &str) -> u16 {
    let port = line
        .split_once(r#""port":"#)
        .map(|(_, rest)| rest.trim_end_matches('}').trim());
    port.and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in workerd's control message {line:?}"))
}

/// Status and body of an HTTP/1.1 response that ends with the stream. workerd sends a
/// Content-Length for the Worker's string bodies; chunked bodies are decoded all the same.
fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8(raw.to_vec()).map_err(|e| format!("response not UTF-8: {e}"))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line in {text:?}"))?;
    let header = |name: &str| {
        lines
            .clone()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_ascii_lowercase())
    };
    let body = if header("transfer-encoding").as_deref() == Some("chunked") {
        dechunk(body).ok_or_else(|| format!("bad chunked body in {text:?}"))?
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad Content-Length in {text:?}"))?;
        body.get(..length)
            .ok_or_else(|| format!("body shorter than Content-Length in {text:?}"))?
            .to_string()
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// The data of a chunked body: hex size (extensions ignored), CRLF, data, CRLF; size 0 ends it.
fn dechunk(mut body: &str) -> Option<String> {
    let mut data = String::new();
    loop {
        let (size_line, rest) = body.split_once("\r\n")?;
        let size = size_line.split(';').next()?.trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        if size == 0 {
            return Some(data);
        }
        data.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
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
