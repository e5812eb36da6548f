//! A `workerd serve` for the end-to-end tests: started on a free port (reported on its control
//! fd), talked to over plain HTTP/1.1, killed by PID when dropped (see tests/workerd/README.md).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Until workerd listens: 90-155 ms here, but it compiles the module first and the cores are shared.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Per request, so that a hung Worker fails the test instead of hanging it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `workerd serve`. Dropping it kills the process, so that no failure leaves one
/// behind, and when the test is failing prints what workerd logged (every failure, including
/// a timeout or an early exit while starting, goes through here).
pub struct Workerd {
    child: Child,
    stderr: PathBuf,
    port: u16,
}

impl Workerd {
    pub fn start(dir: &Path) -> Workerd {
        let bin = super::engine("workerd");
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
    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path, REQUEST_TIMEOUT)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `GET path`, or why there is no response within `timeout` (a Worker can leave a request
    /// unanswered: a trap inside a Durable Object does).
    pub fn try_get(&self, path: &str, timeout: Duration) -> Result<(u16, String), String> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        http_get(stream, path)
    }

    /// What workerd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_else(|e| format!("({e})"))
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        // SIGKILL, then reap it: the test needs nothing from a clean shutdown.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("workerd stderr:\n{}", self.log());
        }
    }
}

/// `GET path` over `stream` (connected, its read timeout set): status and body.
pub fn http_get(mut stream: impl Read + Write, path: &str) -> Result<(u16, String), String> {
    // `Connection: close`: the response ends where the stream does.
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    parse_response(&response)
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
pub fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
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

/// Writes `dir/config.capnp` (from `tests/worker_build/config.capnp`, with its Durable Object)
/// serving worker-build's output in `dir` (`index.js`, `index_bg.wasm`) after the ES modules
/// `before`, also in `dir`; the first module is the Worker's entry.
pub fn write_worker_build_config(dir: &Path, before: &[&str]) {
    let mut modules: Vec<String> = before
        .iter()
        .map(|name| format!("(name = \"{name}\", esModule = embed \"{name}\")"))
        .collect();
    modules.push(r#"(name = "index.js", esModule = embed "index.js")"#.into());
    modules.push(r#"(name = "index_bg.wasm", wasm = embed "index_bg.wasm")"#.into());
    let template = super::repo().join("tests/worker_build/config.capnp");
    let config = std::fs::read_to_string(&template)
        .unwrap_or_else(|e| panic!("reading {}: {e}", template.display()))
        .replace("$MODULES", &modules.join(",\n    "));
    std::fs::write(dir.join("config.capnp"), config).expect("writing config.capnp");
}
