//! The loopback HTTP server a browser test talks to: serves the page, the runner, the shared JS
//! suite and the modules; receives the runner's log lines and results. HTTP/1.1 with one request
//! a connection, enough for a page, a Worker and `fetch`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Where each URL prefix is served from: the repo's `tests/` or the test's module directory.
pub struct Roots {
    pub tests: PathBuf,
    pub modules: PathBuf,
}

#[derive(Default)]
struct Posted {
    /// Place (`page`, `worker`) -> the result body it posted.
    results: HashMap<String, String>,
}

pub struct Server {
    pub port: u16,
    posted: Arc<(Mutex<Posted>, Condvar)>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    /// Starts serving on 127.0.0.1 (a free port); log lines go to `log(place, line)`.
    pub fn start(roots: Roots, log: impl Fn(&str, &str) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let posted = Arc::new((Mutex::new(Posted::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (roots, log) = (Arc::new(roots), Arc::new(log));
        let thread = {
            let (posted, stop) = (posted.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (roots, log, posted) = (roots.clone(), log.clone(), posted.clone());
                    thread::spawn(move || {
                        let _ = serve(stream, &roots, &*log, &posted);
                    });
                }
            })
        };
        Server {
            port,
            posted,
            stop,
            thread: Some(thread),
        }
    }

    /// The results posted by each of `places`, once all have posted; `None` on timeout or
    /// when `gone()` says the browser has exited.
    pub fn results(
        &self,
        places: &[&str],
        timeout: Duration,
        mut gone: impl FnMut() -> bool,
    ) -> Option<HashMap<String, String>> {
        let deadline = Instant::now() + timeout;
        let (lock, posted) = &*self.posted;
        let mut state = lock.lock().unwrap();
        loop {
            if places.iter().all(|p| state.results.contains_key(*p)) {
                return Some(state.results.clone());
            }
            if Instant::now() >= deadline || gone() {
                return None;
            }
            state = posted
                .wait_timeout(state, Duration::from_millis(250))
                .unwrap()
                .0;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    roots: &Roots,
    log: &dyn Fn(&str, &str),
    posted: &(Mutex<Posted>, Condvar),
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);

    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let reply = match (method, path.split_once('/').map(|p| p.1).unwrap_or("")) {
        ("POST", route) => {
            if let Some(place) = route.strip_prefix("log/") {
                for line in body.lines() {
                    log(place, line);
                }
            } else if let Some(place) = route.strip_prefix("result/") {
                let (lock, posted_cv) = posted;
                let mut state = lock.lock().unwrap();
                state.results.insert(place.to_string(), body.into_owned());
                posted_cv.notify_all();
            }
            Some(("text/plain", Vec::new()))
        }
        ("GET", "") => file(&roots.tests.join("browsers/index.html")),
        ("GET", route) => route_file(roots, route),
        _ => None,
    };
    let mut stream = stream;
    match reply {
        Some((kind, bytes)) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                bytes.len()
            )?;
            stream.write_all(&bytes)
        }
        None => {
            log("server", &format!("404 {method} {path}"));
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        }
    }
}

/// `tests/…` from the repo (JS with its `node:` imports pointed at the browser stand-ins),
/// `modules/…` from the module directory, `list/DIR` the file names in a module directory.
fn route_file(roots: &Roots, route: &str) -> Option<(&'static str, Vec<u8>)> {
    if route.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    if let Some(dir) = route.strip_prefix("list/") {
        let mut names: Vec<String> = std::fs::read_dir(roots.modules.join(dir))
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        return Some(("text/plain", names.join("\n").into_bytes()));
    }
    if let Some(rest) = route.strip_prefix("modules/") {
        return file(&roots.modules.join(rest));
    }
    let rest = route.strip_prefix("tests/")?;
    let (kind, bytes) = file(&roots.tests.join(rest))?;
    if kind != "text/javascript" {
        return Some((kind, bytes));
    }
    Some((
        kind,
        browser_imports(&String::from_utf8(bytes).ok()?).into_bytes(),
    ))
}

/// `source` with every `from 'node:…'` importing `tests/browsers/node.mjs` instead.
fn browser_imports(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("from 'node:") {
        out.push_str(&rest[..at]);
        out.push_str("from '/tests/browsers/node.mjs'");
        let after = &rest[at + "from '".len()..];
        rest = &after[after.find('\'').map_or(after.len(), |end| end + 1)..];
    }
    out.push_str(rest);
    out
}

fn file(path: &Path) -> Option<(&'static str, Vec<u8>)> {
    let kind = match path.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    };
    Some((kind, std::fs::read(path).ok()?))
}
