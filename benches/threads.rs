//! What the shared termination word costs per call, in Wasmtime: the `threads` fixture
//! (`+atomics`, shared memory, linking the runtime crate) run as wasm threads, one instance a
//! thread over one `SharedMemory` (`tests/support/src/threads.rs`).
//! `cargo bench --bench threads`; see BENCHMARKS.md.
//!
//! Variants, side by side: the fixture as built ("unprocessed"); processed with the export of
//! the runtime's word renamed in the input (same length), so the guard has no shared word and
//! checks only its own status, as a single-instance module's guard does ("guard, no word");
//! processed as is, the guard also reading the word atomically ("guard + shared word").
//! Rounds are interleaved (each round times every variant, the order alternating between
//! rounds); figures are medians over BENCH_RUNS rounds (default 9) after one warm-up round,
//! BENCH_CALLS calls a thread a round (default 2,000,000).
//!
//! - `count()`, a trivial export (an atomic load of a static), on one thread;
//! - the same on two threads at once, each its own instance (ns a call on each thread);
//! - `wait_in_host()`, which calls the import `host.block` (here returning at once), then bumps
//!   the shared counter: the import shim's check when the host returns reads the word too.

mod common;

use std::thread;
use std::time::Instant;

use common::{cores, env_count, fixture_path, loadavg, median, min_max, order};
use support::threads::{Thread, program};
use wasmtime::TypedFunc;

/// The export of the runtime's word and the name it is given in the "no word" variant.
const WORD: &[u8] = b"__wasm_unwind_terminated";
const NO_WORD: &[u8] = b"__wasm_unwind_terminatex";

struct Variant {
    label: &'static str,
    wasm: Vec<u8>,
}

fn main() {
    let runs = env_count("BENCH_RUNS", 9);
    let calls = env_count("BENCH_CALLS", 2_000_000);
    let fixture =
        std::fs::read(fixture_path("threads.exnref")).expect("fixtures/wasm/threads.exnref.wasm");
    let process = |wasm: &[u8]| support::host::process(wasm);
    let variants = [
        Variant {
            label: "unprocessed",
            wasm: fixture.clone(),
        },
        Variant {
            label: "guard, no word",
            wasm: process(&renamed(&fixture)),
        },
        Variant {
            label: "guard + shared word",
            wasm: process(&fixture),
        },
    ];
    println!(
        "benches/threads.rs: Wasmtime 48, medians of {runs} rounds (BENCH_RUNS) after one warm-up, {calls} calls a thread a round (BENCH_CALLS); {} cores, load {}",
        cores(),
        loadavg()
    );
    println!();
    println!(
        "| module | `count()`, 1 thread | `count()`, 2 threads at once | `wait_in_host()`, 1 thread |"
    );
    println!("|---|---:|---:|---:|");
    let mut programs: Vec<Vec<Thread>> = variants
        .iter()
        .map(|v| program(&v.wasm, 2, |_| Ok(())).1)
        .collect();
    let mut ns = vec![[Vec::new(), Vec::new(), Vec::new()]; variants.len()];
    for round in 0..=runs {
        for i in order(variants.len(), round) {
            let threads = &mut programs[i];
            let figures = [
                per_call(&mut threads[..1], "count", calls),
                per_call(&mut threads[..2], "count", calls),
                per_call(&mut threads[..1], "wait_in_host", calls),
            ];
            if round > 0 {
                for (samples, figure) in ns[i].iter_mut().zip(figures) {
                    samples.push(figure);
                }
            }
        }
    }
    for (v, samples) in variants.iter().zip(&ns) {
        let cells: Vec<String> = samples
            .iter()
            .map(|s| {
                let (lo, hi) = min_max(s);
                format!("{:.2} ns ({lo:.2}-{hi:.2})", median(s))
            })
            .collect();
        println!("| {} | {} |", v.label, cells.join(" | "));
    }
}

/// `fixture` with the runtime word's export renamed: the tool then finds no shared word.
fn renamed(fixture: &[u8]) -> Vec<u8> {
    let mut wasm = fixture.to_vec();
    let at = wasm
        .windows(WORD.len())
        .position(|w| w == WORD)
        .expect("the word's export");
    wasm[at..at + WORD.len()].copy_from_slice(NO_WORD);
    wasm
}

/// Calls `() -> i32` export `name` `calls` times on each of `threads` at once, each on its own
/// OS thread; ns a call (the slowest thread's time over `calls`).
fn per_call(threads: &mut [Thread], name: &str, calls: usize) -> f64 {
    let funcs: Vec<TypedFunc<(), i32>> = threads
        .iter_mut()
        .map(|t| t.instance.get_typed_func(&mut t.store, name).expect(name))
        .collect();
    let started = Instant::now();
    thread::scope(|s| {
        for (t, f) in threads.iter_mut().zip(funcs) {
            s.spawn(move || {
                for _ in 0..calls {
                    std::hint::black_box(f.call(&mut t.store, ()).expect("returns"));
                }
            });
        }
    });
    started.elapsed().as_secs_f64() * 1e9 / calls as f64
}
