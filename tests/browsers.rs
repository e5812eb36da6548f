//! The end-to-end JS suite in real browsers: headless Chromium (V8) and Firefox ESR
//! (SpiderMonkey), from Debian's packages, pinned by `tests/engines/browsers.sh` (which the
//! first test runs when a browser is missing; a missing browser is a failure, never a skip).
//!
//! Each test writes the processed modules, starts a loopback HTTP server (`browsers/server.rs`),
//! and opens its page in the browser. The page (`browsers/runner.mjs`) runs the shared suite of
//! `tests/js/` on the page and then in a dedicated Worker: JS mode through the loader
//! (`hosts.test.mjs`, both encodings), the default mode (`contain.test.mjs`,
//! `abort_guard.test.mjs`, once per encoding), and wasm-bindgen's `--target web` glue over the
//! processed bindgen fixture; each place posts one line a test back. The browser is killed by
//! process group when the test ends, and after a timeout.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use wasm_unwind::{Encoding, Options};

mod engines;
#[path = "browsers/server.rs"]
mod server;
use engines::{modules, repo, say, wasm_bindgen};
use server::{Roots, Server};

/// Places the suite runs in, each posting its own results.
const PLACES: [&str; 2] = ["page", "worker"];

/// A whole run (both places) must be done by then. trap_oom (2 GiB of memory filled, twice a
/// place) is most of a run: 4-5 min on this 2-core machine under a load of 19.
const TIMEOUT: Duration = Duration::from_secs(600);

/// The browser, started in its own process group; killed (the whole group) when dropped.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// `/usr/bin/NAME`, installing the pinned browsers first when it is missing.
fn browser(name: &str) -> PathBuf {
    static INSTALL: Once = Once::new();
    engines::installed(&format!("/usr/bin/{name}"), &["browsers.sh"], &INSTALL)
}

/// wasm-bindgen's `--target web` glue over the bindgen fixture processed before and after the
/// CLI, for both encodings, in `ENCODING-before/` and `ENCODING-after/` of `dir`.
fn write_bindgen(dir: &Path) {
    let cli = wasm_bindgen();
    let bindgen = |input: &Path, out: &Path| {
        let status = Command::new(&cli)
            .args(["--target", "web", "--out-dir"])
            .arg(out)
            .arg(input)
            .status()
            .expect("running wasm-bindgen");
        assert!(
            status.success(),
            "wasm-bindgen {}: {status}",
            input.display()
        );
    };
    let process = |bytes: &[u8], encoding| {
        let processed = wasm_unwind::process(bytes, &Options::default()).expect("process");
        assert_eq!(processed.report.encoding, Some(encoding));
        processed.wasm
    };
    for (encoding, name) in [(Encoding::Exnref, "exnref"), (Encoding::Legacy, "legacy")] {
        let raw = support::fixture(&format!("bindgen.{name}.wasm"));
        // wasm-bindgen names its output after the input's stem.
        let before = dir.join(format!("{name}-before"));
        std::fs::create_dir_all(&before).unwrap();
        std::fs::write(before.join("bindgen.wasm"), process(&raw, encoding)).unwrap();
        bindgen(&before.join("bindgen.wasm"), &before);

        let after = dir.join(format!("{name}-after"));
        std::fs::create_dir_all(&after).unwrap();
        std::fs::write(after.join("bindgen.wasm"), &raw).unwrap();
        bindgen(&after.join("bindgen.wasm"), &after);
        let bg = after.join("bindgen_bg.wasm");
        std::fs::write(&bg, process(&std::fs::read(&bg).unwrap(), encoding)).unwrap();
    }
}

/// The modules the runner loads, under `js/`, `default/` and `bindgen/`.
fn write_modules() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("wasm-unwind-browsers-")
        .tempdir()
        .expect("temp dir");
    for sub in ["js", "default", "bindgen"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    modules::js_mode(&dir.path().join("js"));
    modules::default_mode(
        &dir.path().join("default"),
        &[Encoding::Exnref, Encoding::Legacy],
    );
    write_bindgen(&dir.path().join("bindgen"));
    dir
}

/// Opens `url` in `browser` headless, with a fresh profile in `profile`.
fn launch(browser: &str, url: &str, profile: &Path, log: &Path) -> Browser {
    let mut command = Command::new(self::browser(browser));
    match browser {
        "chromium" => command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--disable-crash-reporter",
            ])
            .arg(format!("--user-data-dir={}", profile.display())),
        _ => {
            // No update checks, telemetry or first-run pages: the network is closed.
            std::fs::write(
                profile.join("user.js"),
                [
                    r#"user_pref("app.update.enabled", false);"#,
                    r#"user_pref("app.update.auto", false);"#,
                    r#"user_pref("browser.shell.checkDefaultBrowser", false);"#,
                    r#"user_pref("browser.startup.homepage_override.mstone", "ignore");"#,
                    r#"user_pref("datareporting.policy.dataSubmissionEnabled", false);"#,
                    r#"user_pref("toolkit.telemetry.enabled", false);"#,
                    r#"user_pref("browser.aboutwelcome.enabled", false);"#,
                    r#"user_pref("extensions.update.enabled", false);"#,
                    r#"user_pref("network.captive-portal-service.enabled", false);"#,
                    r#"user_pref("network.connectivity-service.enabled", false);"#,
                    r#"user_pref("browser.safebrowsing.update.enabled", false);"#,
                    r#"user_pref("dom.max_script_run_time", 0);"#,
                    r#"user_pref("dom.max_chrome_script_run_time", 0);"#,
                ]
                .join("\n"),
            )
            .expect("user.js");
            command
                .env("MOZ_CRASHREPORTER_DISABLE", "1")
                .arg("--headless")
                .arg("--profile")
                .arg(profile)
                .arg("--no-remote")
        }
    };
    let log = std::fs::File::create(log).expect("browser log");
    let child = command
        .arg(url)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {browser}: {e}"));
    Browser(child)
}

/// Runs the suite in `browser` on the page and in a Worker; fails unless every test passed and
/// every mode ran in both encodings in both places. `many` is how often the long loops go round.
fn run(browser: &str, many: u32) {
    let modules = write_modules();
    let profile = tempfile::tempdir().expect("profile dir");
    let server = Server::start(
        Roots {
            tests: repo().join("tests"),
            modules: modules.path().to_path_buf(),
        },
        {
            let browser = browser.to_string();
            move |place, line| say(&format!("[{browser} {place}] {line}"))
        },
    );
    let url = format!("http://127.0.0.1:{}/?many={many}", server.port);
    let log = modules.path().join("browser.log");
    let started = Instant::now();
    let mut child = launch(browser, &url, profile.path(), &log);
    let results = server.results(&PLACES, TIMEOUT, || {
        matches!(child.0.try_wait(), Ok(Some(_)))
    });
    let seconds = started.elapsed().as_secs_f64();
    drop(child);
    let Some(results) = results else {
        panic!(
            "{browser}: no results from every place after {seconds:.1} s; its output:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    say(&format!(
        "[{browser}] page and worker done in {seconds:.1} s"
    ));
    check(browser, &results);
}

/// Prints the browser × encoding × mode × place table; fails on any failed or missing cell.
fn check(browser: &str, results: &std::collections::HashMap<String, String>) {
    // (mode, encoding, place) -> (passed, failed)
    let mut table: BTreeMap<(String, String, String), (u32, u32)> = BTreeMap::new();
    let mut failures = Vec::new();
    for place in PLACES {
        let body = &results[place];
        assert!(
            body.lines().last() == Some("end"),
            "{browser} {place}: the result is cut short:\n{body}"
        );
        for line in body.lines().filter(|l| *l != "end") {
            let fields: Vec<&str> = line.splitn(4, '\t').collect();
            let [status, mode, encoding, name] = fields[..] else {
                panic!("{browser} {place}: bad result line {line:?}");
            };
            let cell = table
                .entry((mode.into(), encoding.into(), place.into()))
                .or_default();
            if status == "ok" {
                cell.0 += 1;
            } else {
                cell.1 += 1;
                failures.push(format!("{place} {mode} {encoding}: {name}"));
            }
        }
    }
    for ((mode, encoding, place), (passed, failed)) in &table {
        say(&format!(
            "[{browser}] {encoding:7} {mode:8} {place:7} {passed:3} passed, {failed} failed"
        ));
    }
    assert!(
        failures.is_empty(),
        "{browser}: {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for mode in ["js", "default", "bindgen"] {
        for encoding in ["exnref", "legacy"] {
            for place in PLACES {
                let key = (mode.to_string(), encoding.to_string(), place.to_string());
                assert!(
                    table.get(&key).is_some_and(|cell| cell.0 > 0),
                    "{browser}: no {mode} test ran in {encoding} on the {place}"
                );
            }
        }
    }
}

#[test]
fn chromium() {
    run("chromium", 20_000);
}

/// SpiderMonkey throws and catches about six times slower than V8: fewer rounds.
#[test]
fn firefox() {
    run("firefox-esr", 5_000);
}
