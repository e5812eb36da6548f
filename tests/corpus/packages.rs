//! The real-world corpus, shared by `tests/corpus.rs` and `benches/corpus.rs`: npm packages that
//! ship wasm from every producer, installed by `tests/corpus/install.sh`, each with a driver
//! (`tests/corpus/<driver>.mjs`, on `harness.mjs`) that runs the package's own workload.
//!
//! [`prepare`] makes the processed tree beside the installed one: a `node_modules` whose corpus
//! packages are copies with every wasm file processed by the CLI with its default options, and
//! whose other entries link to the installed ones. [`run_driver`] runs a driver on both trees in
//! one process and returns what the harness reported.

// The bench reads the times, the test the transcripts.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

use crate::engines::{self, repo};
use support::cli::Cli;

const CLI: Cli = support::wasm_unwind!();

/// The engine a package runs on.
#[derive(Clone, Copy, Debug)]
pub enum Engine {
    /// The machine's Node 20 (`node` on PATH, or `NODE`): legacy EH only.
    Node20,
    /// `.engines/bin/node24`, for packages that need Node >= 22.
    Node24,
}

pub struct Package {
    /// `name@version`, as pinned in `tests/corpus/package.json`.
    pub id: &'static str,
    /// `tests/corpus/<driver>.mjs`.
    pub driver: &'static str,
    /// What built the wasm, as its `producers` section, imports or build scripts show.
    pub producer: &'static str,
    pub engine: Engine,
    /// Folders under node_modules that are copied into the processed tree.
    pub folders: &'static [&'static str],
    /// The wasm files (under node_modules) the driver loads: each is processed.
    pub wasm: &'static [&'static str],
}

pub const PACKAGES: &[Package] = &[
    Package {
        id: "@resvg/resvg-wasm@2.6.2",
        driver: "resvg",
        producer: "Rust, wasm-bindgen 0.2.92 --target web",
        engine: Engine::Node20,
        folders: &["@resvg/resvg-wasm"],
        wasm: &["@resvg/resvg-wasm/index_bg.wasm"],
    },
    Package {
        id: "@dprint/json@0.24.0",
        driver: "dprint",
        producer: "Rust 1.95 (dprint plugin ABI, no wasm-bindgen), run by @dprint/formatter@0.6.0",
        engine: Engine::Node20,
        folders: &["@dprint/json"],
        wasm: &["@dprint/json/plugin.wasm"],
    },
    Package {
        id: "sql.js@1.17.0",
        driver: "sqljs",
        producer: "C, Emscripten (glue adds JS functions to the table)",
        engine: Engine::Node20,
        folders: &["sql.js"],
        wasm: &["sql.js/dist/sql-wasm.wasm"],
    },
    Package {
        id: "web-tree-sitter@0.27.2",
        driver: "tree-sitter",
        producer: "C, Emscripten dynamic linking: MAIN_MODULE + tree-sitter-javascript@0.25.0 SIDE_MODULE",
        engine: Engine::Node20,
        folders: &["web-tree-sitter", "tree-sitter-javascript"],
        wasm: &[
            "web-tree-sitter/web-tree-sitter.wasm",
            "tree-sitter-javascript/tree-sitter-javascript.wasm",
        ],
    },
    Package {
        id: "wasm-vips@0.0.19",
        driver: "vips",
        producer: "C++, Emscripten -fwasm-exceptions (legacy EH) + pthreads, MAIN_MODULE + 3 side modules",
        engine: Engine::Node20,
        folders: &["wasm-vips"],
        wasm: &[
            "wasm-vips/lib/vips.wasm",
            "wasm-vips/lib/vips-heif.wasm",
            "wasm-vips/lib/vips-jxl.wasm",
            "wasm-vips/lib/vips-resvg.wasm",
        ],
    },
    Package {
        id: "@oxc-parser/binding-wasm32-wasi@0.156.0",
        driver: "oxc",
        producer: "Rust, napi-rs on wasm32-wasip1-threads (emnapi, shared memory, workers)",
        engine: Engine::Node20,
        folders: &["@oxc-parser/binding-wasm32-wasi"],
        wasm: &["@oxc-parser/binding-wasm32-wasi/parser.wasm32-wasi.wasm"],
    },
    Package {
        id: "esbuild-wasm@0.28.2",
        driver: "esbuild",
        producer: "Go 1.26.5, GOOS=js GOARCH=wasm",
        engine: Engine::Node20,
        folders: &["esbuild-wasm"],
        wasm: &["esbuild-wasm/esbuild.wasm"],
    },
    Package {
        id: "hyphenopoly@6.1.0",
        driver: "hyphenopoly",
        producer: "AssemblyScript (hyphenEngine.ts + patterns, one wasm per language)",
        engine: Engine::Node24,
        folders: &["hyphenopoly"],
        wasm: &[
            "hyphenopoly/patterns/en-us.wasm",
            "hyphenopoly/patterns/de.wasm",
        ],
    },
    Package {
        id: "@prisma/prisma-schema-wasm@8.1.0-2.59be4fda12412a79eeb9c2ae727b6aa723593323",
        driver: "prisma",
        producer: "Rust 1.97.1, wasm-bindgen 0.2.105 --target nodejs (__wbindgen_placeholder__)",
        engine: Engine::Node20,
        folders: &["@prisma/prisma-schema-wasm"],
        wasm: &["@prisma/prisma-schema-wasm/src/prisma_schema_build_bg.wasm"],
    },
];

pub fn package(driver: &str) -> &'static Package {
    PACKAGES
        .iter()
        .find(|p| p.driver == driver)
        .unwrap_or_else(|| panic!("no corpus package with driver {driver}"))
}

/// `.engines/corpus/node_modules`, installed by `tests/corpus/install.sh` when missing or stale.
pub fn installed() -> PathBuf {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let status = Command::new("bash")
            .arg(repo().join("tests/corpus/install.sh"))
            .status()
            .expect("cannot run tests/corpus/install.sh");
        assert!(
            status.success(),
            "tests/corpus/install.sh failed ({status})"
        );
    });
    repo().join(".engines/corpus/node_modules")
}

/// The processed tree of one package, in `work` (emptied first): its folders copied, its wasm
/// processed by the CLI, every other entry of the installed node_modules linked. `Err` holds
/// the CLI's error when it refuses a file.
pub fn prepare(package: &Package, work: &Path) -> Result<PathBuf, String> {
    let plain = installed();
    let tree = work.join("node_modules");
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(&tree).unwrap();
    link_all(&plain, &tree, package.folders);
    for folder in package.folders {
        copy_dir(&plain.join(folder), &tree.join(folder));
    }
    for wasm in package.wasm {
        let (input, output) = (plain.join(wasm), tree.join(wasm));
        let out = CLI.run(
            &[input.as_os_str(), "-o".as_ref(), output.as_os_str()],
            None,
        );
        if !out.status.success() {
            let message = String::from_utf8_lossy(&out.stderr);
            let installed = format!("{}/", plain.display());
            return Err(message.lines().next().unwrap_or("").replace(&installed, ""));
        }
    }
    Ok(tree)
}

/// Whether the file is the tool's output: `wasm-unwind inspect` names the marker it carries.
pub fn is_processed(wasm: &Path) -> bool {
    let bytes = std::fs::read(wasm).unwrap();
    wasm_unwind::inspect(&bytes).is_ok_and(|i| i.processed.is_some())
}

/// Links every entry of `from` into `to` (one level into `@scope` folders), except `skip`.
fn link_all(from: &Path, to: &Path, skip: &[&str]) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let skipped_inside = skip.iter().any(|s| s.starts_with(&format!("{name}/")));
        if skip.contains(&name.as_str()) {
            continue;
        } else if skipped_inside {
            std::fs::create_dir_all(to.join(&name)).unwrap();
            let inner: Vec<&str> = skip
                .iter()
                .filter_map(|s| s.strip_prefix(&format!("{name}/")))
                .collect();
            link_all(&entry.path(), &to.join(&name), &inner);
        } else {
            std::os::unix::fs::symlink(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), target).unwrap();
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn node(engine: Engine) -> OsString {
    match engine {
        Engine::Node20 => std::env::var_os("NODE")
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "node".into()),
        Engine::Node24 => engines::engine("node24").into(),
    }
}

/// What the harness reported (its `@@corpus` line, parsed), and the driver's whole output.
pub struct Report {
    pub json: serde_json::Value,
    pub output: Output,
}

impl Report {
    pub fn transcript(&self, side: &str) -> &str {
        self.json["transcripts"][side].as_str().unwrap_or("")
    }

    /// Modules instantiated on the driver's thread on `side`, and how many were processed.
    pub fn seen(&self, side: &str) -> (u64, u64) {
        let seen = &self.json["seen"][side];
        (
            seen["modules"].as_u64().unwrap_or(0),
            seen["processed"].as_u64().unwrap_or(0),
        )
    }

    /// Per-round times per workload in ms on `side` (with `--rounds`): `"times"` (wall) or
    /// `"cpu"` (the process's CPU time).
    pub fn times(&self, clock: &str, side: &str) -> Vec<f64> {
        let times = self.json[clock][side]
            .as_array()
            .cloned()
            .unwrap_or_default();
        times.iter().filter_map(|t| t.as_f64()).collect()
    }
}

/// Runs the package's driver on the installed tree and `processed`, in one Node process.
pub fn run_driver(package: &Package, processed: &Path, rounds: usize) -> Result<Report, String> {
    let mut cmd = Command::new(node(package.engine));
    // Node's one-time ExperimentalWarning (node:wasi) would land in whichever side ran first.
    cmd.arg("--disable-warning=ExperimentalWarning")
        .arg(repo().join(format!("tests/corpus/{}.mjs", package.driver)))
        .arg(installed())
        .arg(processed)
        .current_dir(repo());
    if rounds > 0 {
        cmd.args(["--rounds", &rounds.to_string()]);
    }
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("@@corpus "));
    match line.map(serde_json::from_str::<serde_json::Value>) {
        Some(Ok(json)) if output.status.success() => Ok(Report { json, output }),
        _ => Err(format!(
            "driver failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .join(" / ")
        )),
    }
}
