//! The README's recipes, run as written (issue 11 item 5, issue 12). Every fenced block marked
//! `<!-- recipe: NAME -->` on the line before it is read from README.md and run for real in a
//! temporary directory, then checked as a user would check it: the output is processed, loads in
//! the engine the recipe targets, a panic comes back as an ordinary exception with the instance
//! still serving, an abort is final (or, where the host promises it, a fresh instance follows).
//!
//! Only what CI cannot do is stood in for, each named where it happens: the nightly
//! `-Zbuild-std` build, `worker-build` and `wasm-pack` (tests/readme/bin/ puts the committed
//! fixture they produce in place; the wasm-pack stand-in then runs the real wasm-bindgen and
//! wasm-opt as wasm-pack does). The Worker recipes run in the real wrangler (tests/engines/wrangler.rs,
//! offline in a network namespace of its own): `wrangler deploy --dry-run` runs the recipe's
//! `[build] command` and bundles the Worker, `wrangler dev` serves it on loopback and answers
//! the scenario over HTTP. `wasm-unwind` on the recipes' PATH is the binary under test,
//! `wasm-bindgen` the CLI tests/engines/wasm-bindgen.sh installs. The "Install" blocks are not
//! marked: `cargo install` and `npm/build.sh` are release builds, which `cargo test --test npm`
//! covers (pack, install into an empty project, run), and the registry lines await a release.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod engines;
use engines::wrangler::{self, WranglerDev};
use engines::{repo, say};

/// The README's Wasmtime recipe: the test runs it, and checks the README shows this file.
#[path = "../examples/wasmtime.rs"]
#[allow(dead_code)] // its `main` is for `cargo run --example wasmtime`
mod example;

/// Every marked recipe, each run by one test below.
const RECIPES: &[&str] = &[
    "setup",
    "use",
    "wasmtime",
    "wrangler-worker-build",
    "wrangler-raw",
    "worker-raw",
    "bindgen-web",
    "bindgen-nodejs",
    "json-summary",
    "wasm-pack-web",
    "wasm-pack-nodejs",
    "first-cargo-toml",
    "first-lib-rs",
    "first-build",
    "first-host",
];

/// The marked blocks of README.md, in order: (name, the block's text without its fences).
fn marked_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let mut lines = readme.lines();
    let mut blocks = Vec::new();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("<!-- recipe: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "recipe {name}: the line after its marker opens no fenced block: {fence:?}"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((name.to_string(), body.join("\n") + "\n"));
    }
    blocks
}

/// The block marked `name`.
fn recipe(name: &str) -> String {
    let mut found = marked_blocks().into_iter().filter(|(n, _)| n == name);
    let (_, body) = found
        .next()
        .unwrap_or_else(|| panic!("README.md has no block marked `<!-- recipe: {name} -->`"));
    assert!(found.next().is_none(), "README.md marks two blocks {name}");
    body
}

#[test]
fn every_marked_recipe_is_run_here() {
    let mut marked: Vec<String> = marked_blocks().into_iter().map(|(n, _)| n).collect();
    marked.sort();
    let mut known: Vec<&str> = RECIPES.to_vec();
    known.sort();
    assert_eq!(
        marked, known,
        "marked in README.md vs run by tests/readme.rs"
    );
}

/// A temporary directory to run recipes in (`work/`), with `bin/` on their PATH ahead of
/// tests/readme/bin/ (the stand-ins) and the machine's PATH.
struct Sandbox {
    root: tempfile::TempDir,
    /// The committed fixture the nightly build stand-in writes as the crate's `app.wasm`.
    nightly_output: Option<PathBuf>,
}

impl Sandbox {
    fn new(nightly_output: Option<&str>) -> Sandbox {
        let root = tempfile::Builder::new()
            .prefix("wasm-unwind-readme-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(root.path().join("work")).unwrap();
        std::fs::create_dir_all(root.path().join("bin")).unwrap();
        let sandbox = Sandbox {
            root,
            nightly_output: nightly_output.map(support::fixture_path),
        };
        sandbox.put_on_path("wasm-unwind", support::wasm_unwind!().path());
        sandbox
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// `bin/NAME` -> `target`.
    fn put_on_path(&self, name: &str, target: &Path) {
        std::os::unix::fs::symlink(target, self.root.path().join("bin").join(name))
            .unwrap_or_else(|e| panic!("linking {name}: {e}"));
    }

    /// Runs `script` in `work/` with bash (`-euo pipefail`: any failing line fails the recipe),
    /// as a user pastes a block; returns its standard output.
    fn bash(&self, script: &str) -> String {
        self.run(&["bash", "-euo", "pipefail", "-c"], script)
    }

    /// The recipes' PATH: `bin/`, the stand-ins, the machine's PATH.
    fn path(&self) -> OsString {
        let machine = std::env::var_os("PATH").unwrap_or_default();
        let dirs = [
            self.root.path().join("bin"),
            repo().join("tests/readme/bin"),
        ];
        std::env::join_paths(dirs.into_iter().chain(std::env::split_paths(&machine))).unwrap()
    }

    /// What the stand-ins copy (see tests/readme/bin/).
    fn stand_in_env(&self, command: &mut Command) {
        command.env(
            "RECIPE_WORKER_BUILD",
            repo().join("fixtures/worker/build/unwind"),
        );
        if let Some(fixture) = &self.nightly_output {
            command.env("RECIPE_FIXTURE", fixture);
        }
    }

    /// wrangler's own files (config, logs), outside the project.
    fn scratch(&self) -> PathBuf {
        let scratch = self.root.path().join("wrangler");
        std::fs::create_dir_all(&scratch).unwrap();
        scratch
    }

    /// `wrangler deploy --dry-run --outdir out` on `work/wrangler.toml`: it runs the `[build]
    /// command` (a failing command fails it) and bundles `main` with the modules it imports
    /// into `out/`; returns wrangler's output.
    fn wrangler_dry_run(&self) -> String {
        let mut command = wrangler::command(
            &self.work(),
            &self.path(),
            &self.scratch(),
            &["deploy", "--dry-run", "--outdir", "out"],
        );
        self.stand_in_env(&mut command);
        let output = command.output().expect("running wrangler");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "wrangler deploy --dry-run failed ({}):\n{printed}",
            output.status
        );
        printed
    }

    /// `wrangler dev` on `work/wrangler.toml` (it runs the `[build] command` again).
    fn wrangler_dev(&self) -> WranglerDev {
        WranglerDev::start(&self.work(), &self.path(), &self.scratch(), |command| {
            self.stand_in_env(command)
        })
    }

    fn run(&self, shell: &[&str], script: &str) -> String {
        let mut command = Command::new(shell[0]);
        command
            .args(&shell[1..])
            .arg(script)
            .current_dir(self.work())
            .env("PATH", self.path());
        self.stand_in_env(&mut command);
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", shell[0]));
        assert!(
            output.status.success(),
            "the recipe failed ({}):\n{script}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Checks that wrangler's bundle in `work/out/` has `main` (as `<stem>.js`) and the
    /// processed module `wasm` beside it, under the hashed name the bundle imports it by.
    fn assert_bundled(&self, main: &str, wasm: &str) {
        let out = self.work().join("out");
        let stem = Path::new(main).file_stem().unwrap().to_str().unwrap();
        let bundle = std::fs::read_to_string(out.join(format!("{stem}.js")))
            .unwrap_or_else(|e| panic!("wrangler's bundle of {main}: {e}"));
        let suffix = format!("-{wasm}");
        let hashed: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(&suffix))
            .collect();
        assert_eq!(hashed.len(), 1, "{wasm} in out/: {hashed:?}");
        assert!(
            bundle.contains(&hashed[0]),
            "the bundle does not import {}",
            hashed[0]
        );
        self.assert_processed(&format!("out/{}", hashed[0]));
    }

    /// Checks that the module at `work/FILE` is wasm-unwind's output, with the abort guard.
    fn assert_processed(&self, file: &str) {
        let bytes = std::fs::read(self.work().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let inspection = wasm_unwind::inspect(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(inspection.processed.is_some(), "{file} is not processed");
        assert!(inspection.abort_guard, "{file} has no abort guard");
    }
}

/// The string value of `key = "…"` in a TOML block (a basic string: JSON's escapes).
fn toml_string(toml: &str, key: &str) -> String {
    let value = toml
        .lines()
        .find_map(|line| line.strip_prefix(key)?.trim_start().strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{key} =` in\n{toml}"));
    serde_json::from_str(value.trim()).unwrap_or_else(|e| panic!("{key}: {e}: {value}"))
}

/// Checks `(path, status, body)` in order against `wrangler dev`; `None` for the body checks
/// only the status.
fn expect(dev: &WranglerDev, steps: &[(&str, u16, Option<&str>)]) {
    for &(path, status, body) in steps {
        let (got_status, got_body) = dev.get(path);
        say(&format!(
            "wrangler dev: GET {path}: {got_status} {}",
            first_line(&got_body)
        ));
        assert_eq!(got_status, status, "GET {path}: {got_body}");
        if let Some(body) = body {
            assert_eq!(got_body, body, "GET {path}");
        }
    }
}

fn first_line(body: &str) -> &str {
    body.lines().next().unwrap_or("")
}

/// Set-up, in a directory with the repository's fixtures.
#[test]
fn setup() {
    let sandbox = Sandbox::new(None);
    std::os::unix::fs::symlink(repo().join("fixtures"), sandbox.work().join("fixtures")).unwrap();
    sandbox.bash(&recipe("setup"));
    example::run(sandbox.work().join("panics.wasm").to_str().unwrap())
        .expect("the set-up's panics.wasm in Wasmtime");
}

/// The nightly build of "Use" (the recipe's lines before its `wasm-unwind`), which the
/// wasm-bindgen recipes start from.
fn nightly_build() -> String {
    let lines: Vec<String> = recipe("use")
        .lines()
        .take_while(|line| !line.starts_with("wasm-unwind "))
        .map(|line| format!("{line}\n"))
        .collect();
    let build = lines.concat();
    assert!(build.contains("cargo +nightly build"), "{build}");
    build
}

/// "Use": the nightly build, then the tool; the module runs in Wasmtime as the Wasmtime recipe
/// says it does.
fn use_recipe() -> Sandbox {
    let sandbox = Sandbox::new(Some("panics.exnref.wasm"));
    sandbox.bash(&recipe("use"));
    sandbox.assert_processed("app.wasm");
    sandbox
}

#[test]
fn use_() {
    let sandbox = use_recipe();
    example::run(sandbox.work().join("app.wasm").to_str().unwrap()).expect("app.wasm in Wasmtime");
}

/// The README shows examples/wasmtime.rs as it is, and it runs on the Use recipe's output.
#[test]
fn wasmtime() {
    let file = std::fs::read_to_string(repo().join("examples/wasmtime.rs")).unwrap();
    assert_eq!(
        recipe("wasmtime"),
        file,
        "README.md's Wasmtime block is not examples/wasmtime.rs"
    );
    let sandbox = use_recipe();
    example::run(sandbox.work().join("app.wasm").to_str().unwrap()).expect("the example");
}

/// What a request whose handler traps inside async Rust answers within this bound (README
/// "Limits": none; the runtime gives up on it much later).
const UNSETTLED_WAIT: Duration = Duration::from_secs(5);

/// The bindings of the fixture's Durable Object, which the fixture's own `wrangler.toml` adds to
/// what the recipe shows.
const DURABLE_OBJECT_TOML: &str = r#"
[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_classes = ["Counter"]
"#;

/// workers-rs: worker-build's `[build] command` in wrangler, which bundles worker-build's
/// `index.js` with the processed module; then `wrangler dev`. A panic is a 500 and the state
/// stays, in the Worker and in its Durable Object; after an abort the next request runs on a
/// fresh instance; a trap inside the Durable Object leaves its request unanswered.
#[test]
fn wrangler_worker_build() {
    let sandbox = Sandbox::new(None);
    let toml = recipe("wrangler-worker-build");
    let main = toml_string(&toml, "main");
    std::fs::write(
        sandbox.work().join("wrangler.toml"),
        toml + DURABLE_OBJECT_TOML,
    )
    .unwrap();
    let printed = sandbox.wrangler_dry_run();
    assert!(printed.contains("env.COUNTER (Counter)"), "{printed}");
    sandbox.assert_processed("build/index_bg.wasm");
    sandbox.assert_bundled(&main, "index_bg.wasm");
    let dev = sandbox.wrangler_dev();
    expect(
        &dev,
        &[
            ("/count", 200, Some("1")),
            ("/panic", 500, None),
            ("/count", 200, Some("2")),
            ("/abort", 500, None),
            ("/get", 200, Some("0")),
            ("/do/count", 200, Some("1")),
            ("/do/panic", 500, None),
            ("/do/count", 200, Some("2")),
        ],
    );
    // A trap inside the Durable Object's `fetch` (async Rust: a task of wasm-bindgen-futures)
    // settles nothing: the request hangs. The next one gets a fresh instance.
    let answer = match dev.try_get("/do/abort", UNSETTLED_WAIT) {
        Ok((status, body)) => format!("{status} {}", first_line(&body)),
        Err(e) => format!("no response within {UNSETTLED_WAIT:?} ({e})"),
    };
    say(&format!("wrangler dev: GET /do/abort: {answer}"));
    assert!(
        answer.starts_with("no response"),
        "README \"Limits\" says this request hangs; it answered {answer}"
    );
    expect(
        &dev,
        &[("/do/count", 200, Some("1")), ("/count", 200, Some("1"))],
    );
}

/// A raw module and the README's hand-written Worker: the `[build] command` (the nightly build
/// gives the `panics-rt` fixture, a crate linking the runtime) in wrangler, which bundles the
/// Worker with the glue and the processed module; then `wrangler dev`.
#[test]
fn wrangler_raw_module_with_hand_written_worker() {
    let sandbox = Sandbox::new(Some("panics-rt.exnref.wasm"));
    let toml = recipe("wrangler-raw");
    std::fs::write(sandbox.work().join("wrangler.toml"), &toml).unwrap();
    let main = toml_string(&toml, "main");
    std::fs::write(sandbox.work().join(&main), recipe("worker-raw")).unwrap();
    // The user's imports object: the fixture's host functions.
    std::fs::copy(
        repo().join("tests/workerd/imports.mjs"),
        sandbox.work().join("imports.mjs"),
    )
    .unwrap();
    sandbox.wrangler_dry_run();
    sandbox.assert_processed("app.wasm");
    sandbox.assert_bundled(&main, "app.wasm");
    let dev = sandbox.wrangler_dev();
    expect(
        &dev,
        &[
            ("/count", 200, Some("1")),
            ("/count", 200, Some("2")),
            ("/panic", 500, Some("static panic message")),
            ("/count", 200, Some("3")),
            ("/abort", 500, Some("RuntimeError: unreachable")),
            ("/count", 200, Some("1")),
            ("/elsewhere", 404, None),
        ],
    );
}

/// wasm-bindgen after the nightly build (its output: the `bindgen` fixture), then the tool on
/// `pkg/app_bg.wasm`.
fn bindgen(target: &str, engine: Command) {
    let sandbox = Sandbox::new(Some("bindgen.exnref.wasm"));
    sandbox.put_on_path("wasm-bindgen", &engines::wasm_bindgen());
    sandbox.bash(&nightly_build());
    sandbox.bash(&recipe(&format!("bindgen-{target}")));
    check_bindgen_pkg(&sandbox, target, engine);
}

/// `pkg/app_bg.wasm` is processed, and `tests/js/bindgen.test.mjs` drives wasm-bindgen's glue
/// in `pkg/` in `engine`.
fn check_bindgen_pkg(sandbox: &Sandbox, target: &str, mut engine: Command) {
    sandbox.assert_processed("pkg/app_bg.wasm");
    let output = engine
        .arg(repo().join("tests/js/bindgen.test.mjs"))
        .arg(sandbox.work().join("pkg"))
        .args(["app", target])
        .output()
        .expect("running the engine");
    say(String::from_utf8_lossy(&output.stdout).trim());
    assert!(
        output.status.success(),
        "bindgen.test.mjs ({target}) failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `--target web`, in Deno (tests/browsers.rs runs the same glue in Chromium and Firefox).
#[test]
fn bindgen_web() {
    bindgen("web", engines::deno_run());
}

#[test]
fn bindgen_nodejs() {
    bindgen("nodejs", Command::new(engines::engine("node24")));
}

/// "First steps for a raw Rust module": the crate the README shows is the `first` fixture's
/// (its `lib.rs` as it is, its `Cargo.toml` but for the runtime's path and the fixture's own
/// lines), built (the nightly build stands in), processed, and run by the README's host in
/// Node 24 (as `node`) and Deno: a PanicError with the message, the state kept.
#[test]
fn first_module() {
    let fixture_crate = repo().join("fixtures/first");
    let lib_rs = std::fs::read_to_string(fixture_crate.join("src/lib.rs")).unwrap();
    assert_eq!(
        recipe("first-lib-rs"),
        lib_rs,
        "README.md's first lib.rs is not fixtures/first/src/lib.rs"
    );
    let cargo_toml = recipe("first-cargo-toml");
    let fixture_toml = std::fs::read_to_string(fixture_crate.join("Cargo.toml")).unwrap();
    for line in cargo_toml.lines() {
        let same = match line.strip_prefix("wasm-unwind-runtime = ") {
            Some(_) => fixture_toml.contains("wasm-unwind-runtime = { path = "),
            None => fixture_toml.lines().any(|l| l == line),
        };
        assert!(
            same,
            "README.md's first Cargo.toml line is not the fixture's: {line}"
        );
    }
    assert!(
        cargo_toml.contains("crate-type = [\"cdylib\"]")
            && cargo_toml.contains("edition = \"2024\"")
    );

    let sandbox = Sandbox::new(Some("first.exnref.wasm"));
    std::fs::create_dir_all(sandbox.work().join("src")).unwrap();
    std::fs::write(sandbox.work().join("Cargo.toml"), &cargo_toml).unwrap();
    std::fs::write(sandbox.work().join("src/lib.rs"), &lib_rs).unwrap();
    std::fs::write(sandbox.work().join("host.mjs"), recipe("first-host")).unwrap();
    sandbox.put_on_path("node", &engines::engine("node24"));
    let printed = sandbox.bash(&recipe("first-build"));
    sandbox.assert_processed("app.wasm");
    let expected = "1 3\nPanicError: unlucky 13\n3\n";
    assert_eq!(printed, expected, "host.mjs in Node 24");
    let deno = engines::deno_run()
        .arg("host.mjs")
        .current_dir(sandbox.work())
        .output()
        .expect("running Deno");
    assert!(
        deno.status.success(),
        "host.mjs in Deno:\n{}",
        String::from_utf8_lossy(&deno.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&deno.stdout),
        expected,
        "host.mjs in Deno"
    );
}

/// "JSON output": the summary piped into Node (the machine's `node`), on the nightly build's
/// `app.wasm` (the `panics` fixture): it prints how many exports the tool wrapped.
#[test]
fn json_summary() {
    let sandbox = Sandbox::new(None);
    let fixture = support::fixture("panics.exnref.wasm");
    std::fs::write(sandbox.work().join("app.wasm"), &fixture).unwrap();
    let printed = sandbox.bash(&recipe("json-summary"));
    let report = wasm_unwind::process(&fixture, &wasm_unwind::Options::default())
        .unwrap()
        .report;
    assert!(report.wrapped() > 0);
    assert_eq!(printed, format!("{} wrapped\n", report.wrapped()));
    sandbox.assert_processed("app.out.wasm");
}

/// wasm-pack, then the tool on `pkg/app_bg.wasm`. tests/readme/bin/wasm-pack stands in for the
/// nightly build (the `bindgen` fixture) and runs what wasm-pack runs after it: the
/// wasm-bindgen CLI and Binaryen's wasm-opt, both on the PATH as wasm-pack looks for them.
fn wasm_pack(target: &str, engine: Command) {
    let sandbox = Sandbox::new(Some("bindgen.exnref.wasm"));
    sandbox.put_on_path("wasm-bindgen", &engines::wasm_bindgen());
    sandbox.put_on_path("wasm-opt", &engines::wasm_opt());
    sandbox.bash(&recipe(&format!("wasm-pack-{target}")));
    check_bindgen_pkg(&sandbox, target, engine);
}

#[test]
fn wasm_pack_web() {
    wasm_pack("web", engines::deno_run());
}

#[test]
fn wasm_pack_nodejs() {
    wasm_pack("nodejs", Command::new(engines::engine("node24")));
}
