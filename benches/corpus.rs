//! The real-world corpus of `tests/corpus.rs`: how much slower does each package's own workload
//! run processed? `cargo bench --bench corpus` (`--profile dev` gives the same figures: the time
//! is Node's, the bench only starts it); see BENCHMARKS.md.
//!
//! Per package, one Node process loads the unprocessed and the processed copy (the test's
//! driver, `tests/corpus/<driver>.mjs`, with `--rounds`): after the transcript's pass (the
//! warm-up) it runs the workload's steps BENCH_RUNS more times per side (default 15), the sides
//! alternating which goes first; the table gives each side's median round and the ratio
//! processed / unprocessed. A package the tool refuses today gets a row that says so.

mod common;
#[path = "../tests/engines/mod.rs"]
mod engines;
#[path = "../tests/corpus/packages.rs"]
mod packages;

use common::{cores, env_count, loadavg, median};
use packages::{PACKAGES, prepare, run_driver};

fn main() {
    let rounds = env_count("BENCH_RUNS", 15);
    let work = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-bench");
    println!(
        "benches/corpus.rs: medians of {rounds} interleaved rounds (BENCH_RUNS) per side, in one process"
    );
    println!(
        "machine: {} cores, load average at start {}",
        cores(),
        loadavg()
    );
    println!();
    println!("| package | producer | unprocessed ms | processed ms | processed/unprocessed |");
    println!("|---|---|---:|---:|---:|");
    for package in PACKAGES {
        let row = prepare(package, &work.join(package.driver))
            .and_then(|tree| run_driver(package, &tree, rounds))
            .map(|report| {
                let (a, b) = (
                    median(&report.times("plain")),
                    median(&report.times("processed")),
                );
                format!("{a:.2} | {b:.2} | {:.3}x", b / a)
            });
        let row = row.unwrap_or_else(|e| format!("- | - | {}", e.replace('|', "\\|")));
        println!("| {} | {} | {row} |", package.id, package.producer);
    }
    println!();
    println!("load average at end {}", loadavg());
}
