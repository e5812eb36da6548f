//! A real workers-rs Worker (fixtures/worker: worker 0.8.7, built by worker-build 0.8.7 with
//! wasm-bindgen 0.2.130, wasm-opt 132 and esbuild, committed under fixtures/worker/build/) served
//! in workerd exactly as worker-build wrote it, unprocessed and with `wasm-unwind` run on
//! `build/index_bg.wasm`, side by side, for both builds: `--panic-unwind` and the default
//! (panic=abort).
//!
//! One scenario of requests runs against each Worker and every answer is recorded; the processed
//! Worker must answer every step exactly as the unprocessed one does (status and body: state
//! kept, panics, concurrency, aborts and the fresh instance after them, the Durable Object's
//! in-memory state), and the unprocessed answers must be the ones the build promises, so the
//! comparison cannot pass on two broken Workers.
//!
//! A third Worker per build is the processed one with a host that reads `__wasm_unwind_state()`
//! whenever a call into the instance throws, as our README tells hosts to (a module loaded before
//! worker-build's bundle wraps `WebAssembly.Instance` to do so). It must answer the same.
//!
//! A trap inside a Durable Object leaves that request unanswered, and workerd then ignores
//! SIGTERM: Durable Object requests have a short timeout, recorded as "no response", and the
//! server is killed by PID when the test ends.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

mod engines;
use engines::workerd::{REQUEST_TIMEOUT, Workerd, write_worker_build_config};
use engines::{repo, say};

/// Enough for any answered request to a Durable Object here; a trap there leaves the request
/// unanswered for minutes.
const DO_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Build {
    /// `worker-build --release --panic-unwind`
    Unwind,
    /// `worker-build --release` (panic=abort)
    Default,
}

impl Build {
    fn dir(self) -> &'static str {
        match self {
            Build::Unwind => "unwind",
            Build::Default => "default",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Unprocessed,
    Processed,
    /// Processed, with a host that reads `__wasm_unwind_state()` when a call throws.
    ProcessedStateRead,
}

/// The answers of one Worker: (step, what it answered).
type Transcript = Vec<(String, String)>;

#[test]
fn unwind_build() {
    side_by_side(Build::Unwind);
}

#[test]
fn default_build() {
    side_by_side(Build::Default);
}

fn side_by_side(build: Build) {
    let started = Instant::now();
    // The three Workers run at once: each is its own workerd process.
    let [unprocessed, processed, state_read] = thread::scope(|s| {
        [
            Variant::Unprocessed,
            Variant::Processed,
            Variant::ProcessedStateRead,
        ]
        .map(|variant| s.spawn(move || serve(build, variant)))
        .map(|handle| handle.join().expect("a scenario thread panicked"))
    });
    print_table(build, &unprocessed, &processed, &state_read);
    say(&format!(
        "{build:?}: three Workers in {:?}",
        started.elapsed()
    ));

    check_promises(build, &unprocessed);
    let mut failures = Vec::new();
    for (variant, transcript) in [
        (Variant::Processed, &processed),
        (Variant::ProcessedStateRead, &state_read),
    ] {
        for ((step, want), (_, got)) in unprocessed.iter().zip(transcript) {
            if comparable(build, step, want) != comparable(build, step, got) {
                failures.push(format!(
                    "{variant:?}: {step}: {got:?}, unprocessed {want:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{build:?}: the processed Worker answers worse:\n{}",
        failures.join("\n")
    );
}

/// An answer as far as it is the Worker's to decide. In the default build a panic aborts, so two
/// counts sent with it land on the old instance or on the fresh one, whichever the race gives:
/// only that both succeed with consecutive values is the Worker's answer.
fn comparable(build: Build, step: &str, answer: &str) -> String {
    if !matches!(build, Build::Default) || step != "concurrent GET /count, GET /count" {
        return answer.to_string();
    }
    let counts: Vec<Option<u32>> = answer
        .split(", ")
        .map(|a| a.strip_prefix("200 ").and_then(|n| n.parse().ok()))
        .collect();
    match counts[..] {
        [Some(a), Some(b)] if b == a + 1 => "200 n, 200 n+1".to_string(),
        _ => answer.to_string(),
    }
}

/// What each build promises without our tool (the unprocessed Worker must keep them).
fn check_promises(build: Build, transcript: &Transcript) {
    let answer = |step: &str| -> &str {
        &transcript
            .iter()
            .find(|(s, _)| s == step)
            .unwrap_or_else(|| panic!("no step {step}"))
            .1
    };
    // After an abort the next request is served by a fresh instance: its counter starts over.
    for trap in ["abort", "unreachable", "oom"] {
        assert!(answer(&format!("GET /{trap}")).starts_with("500"), "{trap}");
        assert_eq!(
            answer(&format!("GET /get after /{trap}")),
            "200 0",
            "{trap}"
        );
    }
    match build {
        Build::Unwind => {
            // Panics give 500 and keep the instance and its state, in the Worker and in the
            // Durable Object.
            assert_eq!(answer("GET /count after 3 panics"), "200 4");
            assert_eq!(answer("GET /count after 200 panics"), "200 7");
            assert_eq!(answer("concurrent GET /count, GET /count"), "200 5, 200 6");
            assert_eq!(answer("GET /do/count after 3 panics"), "200 3");
        }
        Build::Default => {
            // A panic aborts: 500, then a fresh instance.
            assert_eq!(answer("GET /count after 3 panics"), "200 1");
            assert_eq!(answer("GET /count after 200 panics"), "200 1");
        }
    }
}

fn print_table(build: Build, unprocessed: &Transcript, processed: &Transcript, read: &Transcript) {
    say(&format!(
        "{build:?} build | step | unprocessed | processed | processed + state read"
    ));
    for (((step, a), (_, b)), (_, c)) in unprocessed.iter().zip(processed).zip(read) {
        say(&format!("{build:?} | {step} | {a} | {b} | {c}"));
    }
}

/// Serves the Worker and runs the scenario against it.
fn serve(build: Build, variant: Variant) -> Transcript {
    let dir = write_worker(build, variant);
    let workerd = Workerd::start(dir.path());
    let transcript = scenario(&workerd);
    // How the Worker failed, for the table in the test output.
    let log = workerd.log();
    let count = |what: &str| log.matches(what).count();
    say(&format!(
        "{build:?} {variant:?} logged: {} \"Module terminated\", {} RuntimeError, {} PanicError",
        count("Module terminated"),
        count("RuntimeError"),
        count("PanicError")
    ));
    if variant == Variant::ProcessedStateRead {
        // Otherwise the variant would pass without any host read.
        let reads = workerd.get("/__state_reads");
        assert!(
            reads.0 == 200 && reads.1 != "0",
            "{build:?}: the host never read the state ({reads:?})"
        );
    }
    transcript
}

fn scenario(workerd: &Workerd) -> Transcript {
    let mut t = Transcript::new();
    let mut step = |label: &str, path: &str| {
        let answer = ask(workerd, path);
        t.push((label.to_string(), answer));
    };
    step("GET /count", "/count");
    step("GET /count (2nd)", "/count");
    step("GET /panic", "/panic");
    step("GET /count after a panic", "/count");
    for i in 1..=3 {
        step(&format!("GET /panic ({i} of 3 in a row)"), "/panic");
    }
    step("GET /count after 3 panics", "/count");
    let concurrent = thread::scope(|s| {
        let panic = s.spawn(|| ask(workerd, "/panic"));
        let counts = [
            s.spawn(|| ask(workerd, "/count")),
            s.spawn(|| ask(workerd, "/count")),
        ];
        let mut counts = counts.map(|c| c.join().unwrap());
        counts.sort();
        (panic.join().unwrap(), counts.join(", "))
    });
    t.push(("concurrent GET /panic".into(), concurrent.0));
    t.push(("concurrent GET /count, GET /count".into(), concurrent.1));
    let panics: Vec<String> = (0..200).map(|_| ask(workerd, "/panic")).collect();
    t.push((
        "200 × GET /panic (distinct answers)".into(),
        distinct(&panics),
    ));
    let mut step = |label: &str, path: &str| {
        let answer = ask(workerd, path);
        t.push((label.to_string(), answer));
    };
    step("GET /count after 200 panics", "/count");
    step("GET /throw", "/throw");
    step("GET /get after /throw", "/get");
    for trap in ["abort", "unreachable", "oom"] {
        step(&format!("GET /{trap}"), &format!("/{trap}"));
        step(&format!("GET /get after /{trap}"), "/get");
        step(&format!("GET /count after /{trap}"), "/count");
    }
    step("GET /do/count", "/do/count");
    step("GET /do/panic", "/do/panic");
    step("GET /do/count after a panic", "/do/count");
    for i in 1..=3 {
        step(&format!("GET /do/panic ({i} of 3)"), "/do/panic");
    }
    step("GET /do/count after 3 panics", "/do/count");
    t
}

/// "STATUS BODY" (the body's first line, at most 100 characters), or why there was none.
fn ask(workerd: &Workerd, path: &str) -> String {
    let timeout = if path.starts_with("/do/") {
        DO_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match workerd.try_get(path, timeout) {
        Ok((status, body)) => {
            let line: String = body
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(100)
                .collect();
            format!("{status} {line}").trim_end().to_string()
        }
        Err(e) if e.contains("timed out") || e.contains("Resource temporarily unavailable") => {
            "no response".to_string()
        }
        Err(e) => format!("failed: {e}"),
    }
}

/// The distinct items of `answers`, in first-seen order, with how often each came.
fn distinct(answers: &[String]) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for a in answers {
        match seen.iter_mut().find(|(s, _)| s == a) {
            Some((_, n)) => *n += 1,
            None => seen.push((a, 1)),
        }
    }
    let parts: Vec<String> = seen.iter().map(|(a, n)| format!("{n} × {a}")).collect();
    parts.join("; ")
}

/// The Worker in a fresh directory: worker-build's `index.js` and `index_bg.wasm` (processed
/// for the processed variants), and a workerd config serving them with the Durable Object.
fn write_worker(build: Build, variant: Variant) -> tempfile::TempDir {
    let built = repo().join("fixtures/worker/build").join(build.dir());
    let dir = tempfile::Builder::new()
        .prefix("wasm-unwind-worker-")
        .tempdir()
        .expect("temp dir");
    let copy = |name: &str, to: &Path| {
        std::fs::copy(built.join(name), to.join(name))
            .unwrap_or_else(|e| panic!("copying {name} from {}: {e}", built.display()));
    };
    copy("index.js", dir.path());
    copy("index_bg.wasm", dir.path());
    if variant != Variant::Unprocessed {
        process_in_place(&dir.path().join("index_bg.wasm"));
    }
    let mut before = Vec::new();
    if variant == Variant::ProcessedStateRead {
        for name in ["main.mjs", "state-reader.mjs"] {
            std::fs::copy(
                repo().join("tests/worker_build").join(name),
                dir.path().join(name),
            )
            .unwrap_or_else(|e| panic!("copying {name}: {e}"));
            before.push(name);
        }
    }
    write_worker_build_config(dir.path(), &before);
    dir
}

/// `wasm-unwind FILE -o FILE`, the command a user adds after worker-build.
fn process_in_place(wasm: &Path) {
    let output =
        support::wasm_unwind!().run(&[wasm.as_os_str(), "-o".as_ref(), wasm.as_os_str()], None);
    assert!(
        output.status.success(),
        "wasm-unwind {} failed:\n{}",
        wasm.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}
