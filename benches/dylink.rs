//! What reaching the program's termination word through `GOT.mem` costs per call, in Wasmtime:
//! the side module of `fixtures/dylink/side.wat` (a `dylink.0` module linking the runtime's
//! word), given its imports by hand as Emscripten's loader would (its data at 1024, the
//! `GOT.mem` import filled with its own word's address).
//! `cargo bench --bench dylink`; see BENCHMARKS.md.
//!
//! Variants, side by side: the module as written ("unprocessed"); processed with the word's
//! export renamed, so the guard checks only its own status ("guard, no word"); processed without
//! the `dylink.0` section, so the guard reads its own word at `__memory_base` + offset, as a
//! thread of one module does ("guard + own word"); processed as is, the guard reading the word
//! at the address the `GOT.mem` import gives ("guard + linked word"). Rounds are interleaved
//! (the order alternating between rounds); figures are medians over BENCH_RUNS rounds (default
//! 9) after one warm-up round, BENCH_CALLS calls of `bump()` a round (default 2,000,000).

mod common;

use std::path::Path;
use std::time::Instant;

use common::{env_count, loadavg, median, min_max, order};
use wasmtime::{Extern, Global, GlobalType, Instance, Memory, MemoryType, Mutability, Store};
use wasmtime::{TypedFunc, Val, ValType};

/// Where the loader put the side module's data.
const BASE: i32 = 1024;
/// The word's address relative to it, as the module exports it.
const WORD: i32 = 8;

fn main() {
    let runs = env_count("BENCH_RUNS", 9);
    let calls = env_count("BENCH_CALLS", 2_000_000);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dylink/side.wat");
    let side = std::fs::read_to_string(&path).expect("fixtures/dylink/side.wat");
    let wasm = |wat: &str| wat::parse_str(wat).expect("side.wat parses");
    let process = |wat: &str| support::host::process(&wasm(wat));
    let unlinked: Vec<&str> = side.lines().filter(|l| !l.contains("dylink.0")).collect();
    let unlinked = unlinked.join("\n");
    let variants = [
        ("unprocessed", wasm(&side)),
        (
            "guard, no word",
            process(&side.replace("__wasm_unwind_terminated", "no_word")),
        ),
        ("guard + own word", process(&unlinked)),
        ("guard + linked word (GOT.mem)", process(&side)),
    ];
    println!(
        "benches/dylink.rs: Wasmtime 48, medians of {runs} rounds (BENCH_RUNS) after one warm-up, {calls} calls of bump() a round (BENCH_CALLS); load {}",
        loadavg()
    );
    println!();
    println!("| module | `bump()` |");
    println!("|---|---:|");
    let mut instances: Vec<(Store<()>, TypedFunc<(), i32>)> =
        variants.iter().map(|(_, wasm)| instantiate(wasm)).collect();
    let mut ns = vec![Vec::new(); variants.len()];
    for round in 0..=runs {
        for i in order(variants.len(), round) {
            let (store, bump) = &mut instances[i];
            let started = Instant::now();
            for _ in 0..calls {
                std::hint::black_box(bump.call(&mut *store, ()).expect("returns"));
            }
            if round > 0 {
                ns[i].push(started.elapsed().as_secs_f64() * 1e9 / calls as f64);
            }
        }
    }
    for ((label, _), samples) in variants.iter().zip(&ns) {
        let (lo, hi) = min_max(samples);
        println!("| {label} | {:.2} ns ({lo:.2}-{hi:.2}) |", median(samples));
    }
}

/// An instance of `wasm` with the imports a loader gives a side module, and its `bump`.
fn instantiate(wasm: &[u8]) -> (Store<()>, TypedFunc<(), i32>) {
    let module = support::host::compile(wasm);
    let mut store = Store::new(support::host::engine(), ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).expect("memory");
    let mut global = |mutability, value| -> Extern {
        let ty = GlobalType::new(ValType::I32, mutability);
        Global::new(&mut store, ty, Val::I32(value))
            .expect("global")
            .into()
    };
    let imports: Vec<Extern> = module
        .imports()
        .map(|import| match (import.module(), import.name()) {
            ("env", "memory") => memory.into(),
            ("env", "__memory_base") => global(Mutability::Const, BASE),
            ("GOT.mem", "__wasm_unwind_terminated") => global(Mutability::Var, BASE + WORD),
            other => panic!("unexpected import {other:?}"),
        })
        .collect();
    let instance = Instance::new(&mut store, &module, &imports).expect("instantiates");
    let bump = instance
        .get_typed_func(&mut store, "bump")
        .expect("bump: () -> i32");
    (store, bump)
}
