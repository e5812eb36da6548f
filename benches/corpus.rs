//! The real-world corpus of `tests/corpus.rs`: how much slower does each package's own workload
//! run processed? `cargo bench --bench corpus` (`--profile dev` gives the same figures: the time
//! is Node's, the bench only starts it); see BENCHMARKS.md.
//!
//! Per package, one Node process loads the unprocessed and the processed copy (the test's
//! driver, `tests/corpus/<driver>.mjs`, with `--rounds`): after the transcript's pass (the
//! warm-up) it runs BENCH_RUNS rounds per side (default 15), the sides alternating which goes
//! first; a round repeats the workload's steps until it takes about 50 ms. The table gives each
//! side's median wall time per workload, their ratio processed / unprocessed, and the ratio of
//! the medians of the process's CPU time (less exposed to a loaded machine, where the wall time
//! is mostly the wait for a core). A package the tool
//! refuses, or that computes otherwise processed, gets a row that says so instead.

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
    println!(
        "| package | producer | unprocessed ms | processed ms | processed/unprocessed | CPU time processed/unprocessed |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for package in PACKAGES {
        let row = prepare(package, &work.join(package.driver))
            .and_then(|tree| run_driver(package, &tree, rounds))
            .and_then(|report| {
                // A package that computes otherwise processed (a refused call ends its instance)
                // does other work: its times say nothing.
                if report.transcript("plain") != report.transcript("processed") {
                    return Err("outputs differ (tests/corpus.rs): not comparable".into());
                }
                let ratio = |clock| {
                    let median = |side| median(&report.times(clock, side));
                    (median("plain"), median("processed"))
                };
                let ((a, b), (c, d)) = (ratio("times"), ratio("cpu"));
                Ok(format!("{a:.3} | {b:.3} | {:.3}x | {:.3}x", b / a, d / c))
            });
        let row = row.unwrap_or_else(|e| format!("- | - | - | {}", e.replace('|', "\\|")));
        println!("| {} | {} | {row} |", package.id, package.producer);
    }
    println!();
    println!("load average at end {}", loadavg());
}
