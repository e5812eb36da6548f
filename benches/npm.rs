//! The npm package's command against the native one: how much slower is the tool compiled to
//! wasm32-wasip1 and run by Node's WASI? `cargo bench --bench npm`; see BENCHMARKS.md.
//!
//! Per input, each round runs one right after the other, end to end as a build step does:
//!   (a) the native command line: `target/release/wasm-unwind IN -o OUT -q`, built first by the
//!       bench (`cargo build --release`), so that the figures do not depend on the profile the
//!       bench itself is built with: `cargo bench --profile dev --bench npm` gives the same
//!       figures without building Wasmtime (a dev-dependency) in release mode;
//!   (b) the npm package's: `node npm/bin/wasm-unwind.js IN -o OUT -q`, the launcher and wasm
//!       that `npm pack` packs (built first by `npm/build.sh`), on the `node` of `PATH` or `NODE`.
//! Figures are medians over BENCH_RUNS rounds (default 9), after one warm-up round; the ratio is
//! npm / native; the last column takes each command's start-up (its empty-module time: for npm,
//! Node starting and compiling the tool's wasm) off both.

use std::path::PathBuf;
use std::process::{Command, Stdio};

mod common;
use common::{cores, env_count, fixture_path, loadavg, median, ms, run_timed};

const FIXTURES: &[&str] = &["medium.exnref", "large.exnref"];

fn main() {
    let runs = env_count("BENCH_RUNS", 9);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
    let work = tempfile::tempdir().expect("temporary directory");

    build(Command::new("cargo").args(["build", "--release", "--locked", "--bin", "wasm-unwind"]));
    build(Command::new("bash").arg(root.join("npm/build.sh")));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let native = target.join("release/wasm-unwind");
    let launcher = root.join("npm/bin/wasm-unwind.js");

    println!("benches/npm.rs: medians of {runs} rounds (BENCH_RUNS), after one warm-up round");
    println!(
        "machine: {} cores, load average at start {}",
        cores(),
        loadavg()
    );
    println!("node: {}", version(Command::new(&node).arg("--version")));
    println!(
        "npm/wasm-unwind.wasm: {} bytes",
        std::fs::metadata(root.join("npm/wasm-unwind.wasm"))
            .unwrap()
            .len()
    );
    println!();
    println!(
        "| input | size | native ms | npm ms | npm/native | npm/native above the empty module |"
    );
    println!("|---|---:|---:|---:|---:|---:|");

    let empty = work.path().join("empty.wasm");
    std::fs::write(&empty, b"\0asm\x01\0\0\0").unwrap();
    let mut inputs = vec![("(empty module)".to_string(), empty)];
    // The empty module's times: each command's start-up, taken off in the last column.
    let mut floor = None;
    for name in FIXTURES {
        inputs.push((name.to_string(), fixture_path(name)));
    }
    for (name, input) in &inputs {
        let out = work.path().join("out.wasm");
        let native_cmd = || {
            let mut c = Command::new(&native);
            c.arg(input).arg("-o").arg(&out).arg("-q");
            c
        };
        let npm_cmd = || {
            let mut c = Command::new(&node);
            c.arg(&launcher).arg(input).arg("-o").arg(&out).arg("-q");
            c
        };
        let (mut native_ms, mut npm_ms) = (vec![], vec![]);
        for round in 0..=runs {
            let a = run_timed(&mut native_cmd(), "wasm-unwind");
            let b = run_timed(&mut npm_cmd(), "the npm package");
            if round > 0 {
                native_ms.push(ms(a));
                npm_ms.push(ms(b));
            }
        }
        let (a, b) = (median(&native_ms), median(&npm_ms));
        let above = match floor {
            None => "-".to_string(),
            Some((fa, fb)) => format!("{:.1}x", (b - fb) / (a - fa)),
        };
        floor.get_or_insert((a, b));
        println!(
            "| {name} | {} B | {a:.1} | {b:.1} | {:.1}x | {above} |",
            std::fs::metadata(input).unwrap().len(),
            b / a
        );
    }
    println!();
    println!("load average at end {}", loadavg());
}

fn build(cmd: &mut Command) {
    let status = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed ({status})");
}

fn version(cmd: &mut Command) -> String {
    cmd.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}
