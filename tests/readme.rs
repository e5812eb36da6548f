//! The README's recipes, run as written (issue 11 item 5, issue 12). Every fenced block marked
//! `<!-- recipe: NAME -->` on the line before it is read from README.md and run for real in a
//! temporary directory, then checked as a user would check it: the output is processed, loads in
//! the engine the recipe targets, a panic comes back as an ordinary exception with the instance
//! still serving, an abort is final (or, where the host promises it, a fresh instance follows).
//!
//! Only what CI cannot do is stood in for, each named where it happens: the nightly
//! `-Zbuild-std` build and `worker-build` (tests/readme/bin/ puts the committed fixture they
//! produce in place), and wrangler (workerd serves the Worker; its `[build] command` runs in
//! `sh -c`, as wrangler runs it on Linux). `wasm-unwind` on the recipes' PATH is the binary under test,
//! `wasm-bindgen` the CLI tests/engines/wasm-bindgen.sh installs. The "Install" blocks are not
//! marked: `cargo install` and `npm/build.sh` are release builds, which `cargo test --test npm`
//! covers (pack, install into an empty project, run), and the registry lines await a release.

use std::path::{Path, PathBuf};
use std::process::Command;

mod engines;
use engines::workerd::{Workerd, write_worker_build_config};
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
        sandbox.put_on_path("wasm-unwind", Path::new(env!("CARGO_BIN_EXE_wasm-unwind")));
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

    /// Runs a wrangler `[build] command` as wrangler does on Linux: `sh -c`.
    fn wrangler_build(&self, toml: &str) {
        self.run(&["sh", "-c"], &toml_string(toml, "command"));
    }

    fn run(&self, shell: &[&str], script: &str) -> String {
        let path = std::env::join_paths(
            [
                self.root.path().join("bin"),
                repo().join("tests/readme/bin"),
            ]
            .into_iter()
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
        )
        .unwrap();
        let mut command = Command::new(shell[0]);
        command
            .args(&shell[1..])
            .arg(script)
            .current_dir(self.work())
            .env("PATH", path)
            .env(
                "RECIPE_WORKER_BUILD",
                repo().join("fixtures/worker/build/unwind"),
            );
        if let Some(fixture) = &self.nightly_output {
            command.env("RECIPE_FIXTURE", fixture);
        }
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

/// Serves `dir` in workerd and checks `(path, status, body)` in order; `None` for the body
/// checks only the status.
fn serve_and_expect(dir: &Path, steps: &[(&str, u16, Option<&str>)]) {
    let workerd = Workerd::start(dir);
    for &(path, status, body) in steps {
        let (got_status, got_body) = workerd.get(path);
        assert_eq!(got_status, status, "GET {path}: {got_body}");
        if let Some(body) = body {
            assert_eq!(got_body, body, "GET {path}");
        }
    }
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

/// workers-rs: worker-build's `[build] command`, then the Worker in workerd. A panic is a 500
/// and the state stays; after an abort the next request runs on a fresh instance.
#[test]
fn wrangler_worker_build() {
    let sandbox = Sandbox::new(None);
    let toml = recipe("wrangler-worker-build");
    sandbox.wrangler_build(&toml);
    sandbox.assert_processed("build/index_bg.wasm");
    // What wrangler would generate for workerd: its `main`, worker-build's index.js, with the
    // fixture's Durable Object.
    assert_eq!(toml_string(&toml, "main"), "build/index.js");
    let build = sandbox.work().join("build");
    write_worker_build_config(&build, &[]);
    serve_and_expect(
        &build,
        &[
            ("/count", 200, Some("1")),
            ("/panic", 500, None),
            ("/count", 200, Some("2")),
            ("/abort", 500, None),
            ("/get", 200, Some("0")),
        ],
    );
}

/// A raw module and the README's hand-written Worker: the `[build] command` (the nightly build
/// gives the `panics-rt` fixture, a crate linking the runtime), then the Worker in workerd.
#[test]
fn wrangler_raw_module_with_hand_written_worker() {
    let sandbox = Sandbox::new(Some("panics-rt.exnref.wasm"));
    let toml = recipe("wrangler-raw");
    sandbox.wrangler_build(&toml);
    sandbox.assert_processed("app.wasm");
    let main = toml_string(&toml, "main");
    std::fs::write(sandbox.work().join(&main), recipe("worker-raw")).unwrap();
    // What wrangler would generate for workerd: tests/workerd/config.capnp serves worker.mjs with
    // the glue, app.wasm and imports.mjs, the user's imports object (the fixture's host functions).
    assert_eq!(
        main, "worker.mjs",
        "the entry tests/workerd/config.capnp serves"
    );
    for name in ["config.capnp", "imports.mjs"] {
        std::fs::copy(
            repo().join("tests/workerd").join(name),
            sandbox.work().join(name),
        )
        .unwrap();
    }
    serve_and_expect(
        &sandbox.work(),
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
/// `pkg/app_bg.wasm`; `tests/js/bindgen.test.mjs` drives wasm-bindgen's glue in `engine`.
fn bindgen(target: &str, mut engine: Command) {
    let sandbox = Sandbox::new(Some("bindgen.exnref.wasm"));
    sandbox.put_on_path("wasm-bindgen", &engines::wasm_bindgen());
    sandbox.bash(&nightly_build());
    sandbox.bash(&recipe(&format!("bindgen-{target}")));
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
