//! Cloudflare's `wrangler` (npm, pinned and installed by `tests/engines/install.sh`), run by
//! Node 24 (it needs Node >= 22.12), offline.
//!
//! How nothing reaches the network: every run is in a network namespace of its own
//! (`unshare -n`, root or user namespaces needed) whose only interface is its loopback, brought
//! up for `wrangler dev`; nothing wrangler starts can reach any other host, whatever it tries.
//! It tries two things, both turned off here as well: metrics (`WRANGLER_SEND_METRICS=false`)
//! and `wrangler dev`'s fetch of `Request.cf` from workers.cloudflare.com
//! (`CLOUDFLARE_CF_FETCH_ENABLED=false`). Its npm update check (a DNS lookup, seen with
//! `strace -f -e trace=connect`) has no switch; in the namespace it fails at once (ENETUNREACH)
//! and wrangler goes on.
//!
//! `wrangler dev` listens on the namespace's loopback, which the test cannot reach;
//! `unix-to-loopback.mjs`, started in the same namespace, relays a Unix socket (a file, which
//! the test can reach) to it. The port is fixed: the namespace has no other listener.
//! `wrangler dev` starts workerd processes (two) and esbuild: all run in one process group,
//! killed as one when the test is done (SIGTERM, then SIGKILL after a grace period: workerd can
//! ignore SIGTERM with a request hanging in a Durable Object).

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

use super::workerd::{REQUEST_TIMEOUT, http_get};
use super::{engine, installed, repo};

/// Until `wrangler dev` is ready: it runs the `[build] command`, bundles and starts workerd
/// (5-10 s here, more with the 2 cores busy).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a SIGTERM'd process group gets before SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// The port `wrangler dev` listens on, in its own namespace.
const PORT: &str = "8787";

/// Brings the namespace's loopback up, starts the relay when asked to, and runs the command.
const NETNS_SCRIPT: &str = r#"ip link set lo up || exit 1
if [ -n "${RELAY_SOCKET:-}" ]; then "$NODE" "$RELAY_JS" "$RELAY_SOCKET" "$RELAY_PORT" & fi
exec "$@""#;

/// wrangler's entry script.
pub fn wrangler_js() -> PathBuf {
    static INSTALL: Once = Once::new();
    installed(
        ".engines/wrangler/node_modules/wrangler/bin/wrangler.js",
        &["install.sh"],
        &INSTALL,
    )
}

/// `wrangler ARGS` in `dir` in a network namespace of its own, with `path` as PATH (for the
/// `[build] command`) and wrangler's own files (config, logs) in `scratch`.
pub fn command(dir: &Path, path: &OsStr, scratch: &Path, args: &[&str]) -> Command {
    let node = engine("node24");
    let mut command = Command::new("unshare");
    command
        .args(["-n", "sh", "-c", NETNS_SCRIPT, "sh"])
        .arg(&node)
        .arg(wrangler_js())
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("NODE", &node)
        .env("XDG_CONFIG_HOME", scratch)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env_remove("RELAY_SOCKET");
    command
}

/// A running `wrangler dev`, in its own process group; dropping it kills the group.
pub struct WranglerDev {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl WranglerDev {
    /// `wrangler dev --ip 127.0.0.1 --port 8787` in `dir` (see [`command`]; `env` adds to its
    /// environment), once it says it is ready.
    pub fn start(
        dir: &Path,
        path: &OsStr,
        scratch: &Path,
        env: impl FnOnce(&mut Command),
    ) -> WranglerDev {
        let socket = scratch.join("wrangler-dev.sock");
        let log = scratch.join("wrangler-dev.log");
        let output = File::create(&log).expect("wrangler-dev.log");
        let mut command = command(
            dir,
            path,
            scratch,
            &["dev", "--ip", "127.0.0.1", "--port", PORT],
        );
        env(&mut command);
        let child = command
            .env("RELAY_SOCKET", &socket)
            .env(
                "RELAY_JS",
                repo().join("tests/engines/unix-to-loopback.mjs"),
            )
            .env("RELAY_PORT", PORT)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("log file"))
            .stderr(output)
            .spawn()
            .expect("starting unshare (wrangler dev)");
        let mut dev = WranglerDev { child, socket, log };
        dev.wait_ready();
        dev
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !(self.log().contains("Ready on http://127.0.0.1:") && self.socket.exists()) {
            if let Some(status) = self.child.try_wait().expect("waiting for wrangler") {
                panic!("wrangler dev exited ({status}) before it was ready");
            }
            assert!(
                Instant::now() < deadline,
                "wrangler dev not ready after {READY_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET path`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path, REQUEST_TIMEOUT)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `GET path`, or why there is no response within `timeout`.
    pub fn try_get(&self, path: &str, timeout: Duration) -> Result<(u16, String), String> {
        let stream = UnixStream::connect(&self.socket).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        http_get(stream, path)
    }

    /// What wrangler (and the Worker's console) printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("({e})"))
    }

    /// Signals the whole process group (its id is the child's: `process_group(0)`).
    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + KILL_GRACE;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        // Also when wrangler itself is gone: what it started may not be.
        self.signal("-KILL");
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("wrangler dev output:\n{}", self.log());
        }
    }
}
