//! The npm package (`npm/`): the tool compiled to wasm32-wasip1 behind a Node launcher on
//! `node:wasi`, so that `npx wasm-unwind` needs only Node 20+.
//!
//! Once per run, `npm/build.sh` builds the wasm (cached in target/ like any cargo build), `npm pack`
//! makes the tarball, and the tarball is installed with `npm install --offline` into an empty
//! project in `CARGO_TARGET_TMPDIR` (a local tarball with no dependencies needs no registry). The
//! installed command is then held to the native binary: byte-identical output on every fixture,
//! the same messages and exit codes on bad input, nothing written when it fails.
//!
//! The launcher runs on the `node` of `PATH` (Node 20 here and in CI), or on `NODE`. A missing
//! `node` or `npm` is a failure, never a skip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

mod engines;
use engines::{repo, say};
use support::cli::{Cli, output};

const NATIVE: Cli = support::wasm_unwind!();

/// The installed package: the project it is installed in and its `node_modules/.bin` command.
struct Installed {
    project: PathBuf,
    bin: PathBuf,
}

/// Builds, packs and installs the package, once for all the tests of this file.
fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm");
        let _ = std::fs::remove_dir_all(&work);
        let project = work.join("project");
        std::fs::create_dir_all(&project).unwrap();

        let started = Instant::now();
        support::run_ok(
            Command::new("bash").arg(repo().join("npm/build.sh")),
            "npm/build.sh",
        );
        say(&format!(
            "npm/build.sh: {:.1} s",
            started.elapsed().as_secs_f64()
        ));

        let packed = support::run_ok(
            Command::new("npm")
                .args(["pack", "--silent", "--pack-destination"])
                .arg(&work)
                .current_dir(repo().join("npm")),
            "npm pack",
        );
        let tarball = work.join(String::from_utf8(packed.stdout).unwrap().trim());
        say(&format!(
            "{}: {} bytes",
            tarball.display(),
            std::fs::metadata(&tarball).unwrap().len()
        ));

        std::fs::write(
            project.join("package.json"),
            r#"{ "name": "empty-project", "private": true }"#,
        )
        .unwrap();
        support::run_ok(
            Command::new("npm")
                .args([
                    "install",
                    "--offline",
                    "--no-audit",
                    "--no-fund",
                    "--save-dev",
                ])
                .arg(&tarball)
                .current_dir(&project),
            "npm install",
        );
        let bin = project.join("node_modules/.bin/wasm-unwind");
        assert!(
            bin.exists(),
            "{} is missing after npm install",
            bin.display()
        );
        Installed { project, bin }
    })
}

/// `NODE` when set, else `node` from `PATH`; it must be Node 20 or later.
fn node() -> OsString {
    let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
    let version = support::run_ok(Command::new(&node).arg("--version"), "node --version").stdout;
    let version = String::from_utf8(version).unwrap();
    let major: u32 = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        major >= 20,
        "the npm package needs Node 20+, {node:?} is {version}"
    );
    node
}

/// The same arguments to the native tool and to the npm package's command, each run in its own
/// folder of the project (`native/`, `npm/`), so relative outputs land apart under the same name.
fn both(args: &[&str], stdin: Option<&[u8]>) -> (Output, Output) {
    let installed = installed();
    let mut native = NATIVE.command();
    let mut npm = Command::new(node());
    npm.arg(&installed.bin);
    for (cmd, dir) in [(&mut native, "native"), (&mut npm, "npm")] {
        let dir = installed.project.join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        cmd.args(args).current_dir(dir);
    }
    (output(&mut native, stdin), output(&mut npm, stdin))
}

/// The file `name` each tool wrote in its folder (None when it wrote none).
fn written(name: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let project = &installed().project;
    let read = |dir: &str| std::fs::read(project.join(dir).join(name)).ok();
    (read("native"), read("npm"))
}

/// The text of an error as both tools print it. WASI numbers its errors its own way (ENOENT is 2
/// on Linux and 44 in WASI), so the ` (os error N)` that Rust appends to an OS error's message
/// is taken out; the message itself must match.
fn message(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let mut out = String::new();
    let mut rest = text.as_ref();
    while let Some(at) = rest.find(" (os error ") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(')').map_or(rest.len(), |e| at + e + 1);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Same exit code, same messages, same standard output.
fn assert_same(native: &Output, npm: &Output, what: &str) {
    assert_eq!(npm.status.code(), native.status.code(), "{what}: exit code");
    assert_eq!(message(npm), message(native), "{what}: standard error");
    assert!(
        npm.stdout == native.stdout,
        "{what}: standard output differs ({} bytes native, {} npm)",
        native.stdout.len(),
        npm.stdout.len()
    );
}

fn fixtures() -> Vec<PathBuf> {
    let paths = support::fixtures();
    assert!(
        paths.len() >= 10,
        "fixtures/wasm/ holds {} modules",
        paths.len()
    );
    paths
}

/// Every fixture, given by absolute path (a folder the launcher must preopen) and written to a
/// relative path: the same bytes and the same summary as the native tool.
#[test]
fn every_fixture_gives_the_native_output_byte_for_byte() {
    for input in fixtures() {
        let name = input.file_name().unwrap().to_str().unwrap();
        let output = format!("fixture.{name}");
        let (native, npm) = both(&[input.to_str().unwrap(), "-o", &output], None);
        assert!(native.status.success(), "{name}: {}", message(&native));
        assert_same(&native, &npm, name);
        let (native, npm) = written(&output);
        assert!(native.is_some(), "{name}: the native tool wrote nothing");
        assert!(
            native == npm,
            "{name}: the npm package's output differs from the native tool's"
        );
    }
}

/// Standard input to standard output (`- -o -`), text output, the JS glue, and `inspect`: the
/// paths a build script uses besides plain files.
#[test]
fn pipes_text_output_js_glue_and_inspect_match_the_native_tool() {
    let input = support::fixture_path("panics.legacy.wasm");
    let bytes = std::fs::read(&input).unwrap();
    let (native, npm) = both(&["-", "-o", "-"], Some(&bytes));
    assert!(native.status.success() && !native.stdout.is_empty());
    assert_same(&native, &npm, "- -o -");

    let large = support::fixture("large.exnref.wasm");
    let (native, npm) = both(&["-", "-o", "-", "-q"], Some(&large));
    assert!(native.status.success() && native.stdout.len() > large.len());
    assert_same(&native, &npm, "large module through pipes");

    let input = input.to_str().unwrap();
    let (native, npm) = both(&[input, "-S", "-o", "text.wat"], None);
    assert_same(&native, &npm, "-S");
    let (native_text, npm_text) = written("text.wat");
    assert!(
        native_text.is_some() && native_text == npm_text,
        "-S output differs"
    );

    let (native, npm) = both(&[input, "-o", "js.wasm", "--emit-js", "glue.mjs"], None);
    assert_same(&native, &npm, "--emit-js");
    for file in ["js.wasm", "glue.mjs"] {
        let (native, npm) = written(file);
        assert!(
            native.is_some() && native == npm,
            "--emit-js: {file} differs"
        );
    }

    let (native, npm) = both(&["inspect", input], None);
    assert!(native.status.success() && !native.stdout.is_empty());
    assert_same(&native, &npm, "inspect");
}

/// Bad input: the same one-line error, the same exit code, and the existing output left as it was.
#[test]
fn bad_inputs_fail_with_the_native_messages_and_exit_codes() {
    let project = &installed().project;
    let panics = support::fixture("panics.exnref.wasm");
    let inputs: [(&str, &[u8]); 3] = [
        ("empty.wasm", b""),
        ("not-wasm.wasm", b"this is not a module\n"),
        ("truncated.wasm", &panics[..panics.len() / 2]),
    ];
    for (name, bytes) in inputs {
        std::fs::write(project.join(name), bytes).unwrap();
    }
    let cases: &[&[&str]] = &[
        &["../empty.wasm", "-o", "kept.wasm"],
        &["../not-wasm.wasm", "-o", "kept.wasm"],
        &["../truncated.wasm", "-o", "kept.wasm"],
        &["missing.wasm", "-o", "kept.wasm"],
        &["--no-such-option"],
        &[],
    ];
    for args in cases {
        for dir in ["native", "npm"] {
            std::fs::create_dir_all(project.join(dir)).unwrap();
            std::fs::write(project.join(dir).join("kept.wasm"), b"existing output").unwrap();
        }
        let what = format!("wasm-unwind {}", args.join(" "));
        let (native, npm) = both(args, None);
        assert!(
            !native.status.success(),
            "{what}: the native tool succeeded"
        );
        assert_same(&native, &npm, &what);
        let (native, npm) = written("kept.wasm");
        assert_eq!(
            native.as_deref(),
            Some(&b"existing output"[..]),
            "{what}: native"
        );
        assert_eq!(npm.as_deref(), Some(&b"existing output"[..]), "{what}: npm");
    }
}

/// The package as a user meets it: `npx wasm-unwind` in the project, version from Cargo.toml.
#[test]
fn npx_runs_the_installed_package_at_the_crate_version() {
    let project = &installed().project;
    let version = support::run_ok(
        Command::new("npx")
            .args(["--offline", "--no-install", "wasm-unwind", "--version"])
            .current_dir(project),
        "npx wasm-unwind --version",
    );
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("wasm-unwind {}\n", env!("CARGO_PKG_VERSION"))
    );
    let manifest =
        std::fs::read_to_string(project.join("node_modules/wasm-unwind/package.json")).unwrap();
    assert!(
        manifest.contains(&format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"))),
        "package.json version: {manifest}"
    );
}
