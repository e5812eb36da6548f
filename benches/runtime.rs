//! What processing costs at run time, in Wasmtime: per call of a trivial export, per panic caught at
//! the host, and the code added. `cargo bench --bench runtime`; see BENCHMARKS.md.
//!
//! Modules: `fixtures/wasm/panics.exnref.wasm` as built ("unprocessed"), processed with the default
//! options ("processed"), and processed without the abort guard ("no guard"), to split the cost
//! of the wrapper from that of the guard. Rounds are interleaved: each round times every variant,
//! in an order that alternates between rounds, and the figures are medians over BENCH_RUNS rounds
//! (default 9) after one warm-up round.
//!
//! - per call: `add(1, 2)` through a `TypedFunc`, BENCH_CALLS calls a round (default 2,000,000);
//!   and `call_host(1)`, which goes out to the host import `env.host_callback` (through the
//!   import shim when processed).
//! - per realistic call: `json_count(ptr, len)` of `fixtures/wasm/medium.exnref.wasm`, which
//!   parses a 67-byte JSON document with serde_json (about a microsecond of real work), in the
//!   same three variants, BENCH_CALLS / 20 calls a round: the goal is processed within 1 % of
//!   unprocessed.
//! - per internal indirect call: `spin(n)` of `tests/regressions/exported-table.exnref.wat`, a
//!   loop of `n` `call_indirect`s through the table the module exports (BENCH_CALLS a round),
//!   unprocessed and processed: the host gets a table of wrappers, and the module's own indirect
//!   calls must cost the same as before.
//! - per panic: `panic_fmt(13)`, BENCH_PANICS panics a round (default 10,000), each caught at the
//!   host and its exception taken out of the store. The unprocessed module leaks shadow stack on
//!   every escaped panic and dies after about 13,000, so it gets a fresh instance every 5,000
//!   panics, instantiation not timed. The processed one runs twice: one instance for the whole
//!   benchmark (it must survive all of them), and on the unprocessed one's schedule.
//! - code size: the bodies the tool adds (`wasm_unwind::wrap::*`, `wasm_unwind::import::*`, the
//!   guard's functions), read from the processed module's code and name sections, for every
//!   fixture present; and the marginal output size of one more wrapped export.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use wasmparser::{BinaryReader, Name, NameSectionReader, Parser, Payload, TypeRef};
use wasmtime::{
    AsContextMut, Caller, Config, Engine, Instance, Linker, Module, RootScope, Store,
    ThrownException, TypedFunc,
};

mod common;
use common::{FIXTURES, cores, env_count, fixture_path, loadavg, median, min_max, order};

const FIXTURE: &str = "panics.exnref";
/// Fresh instance of the unprocessed module after this many escaped panics.
const UNPROCESSED_PANICS_PER_INSTANCE: usize = 5_000;

fn main() {
    let runs = env_count("BENCH_RUNS", 9);
    let calls = env_count("BENCH_CALLS", 2_000_000);
    let panics = env_count("BENCH_PANICS", 10_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    println!(
        "benches/runtime.rs: Wasmtime 48 (dev-dependency), medians of {runs} rounds (BENCH_RUNS), after one warm-up round"
    );
    println!(
        "machine: {} cores, load average at start {}",
        cores(),
        loadavg()
    );
    println!();

    let path = fixture_path(FIXTURE);
    let original =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let processed = wasm_unwind::process(&original, &wasm_unwind::Options::default())
        .expect("process")
        .wasm;
    let no_guard = wasm_unwind::process(
        &original,
        &wasm_unwind::Options::default().abort_guard(false),
    )
    .expect("process without guard")
    .wasm;

    let mut config = Config::new();
    config.wasm_exceptions(true);
    let engine = Engine::new(&config).expect("engine with exceptions");
    let variants = [
        Variant::new(&engine, "unprocessed", &original),
        Variant::new(&engine, "processed", &processed),
        Variant::new(&engine, "processed, no guard", &no_guard),
    ];

    per_call(&variants, runs, calls, "add", |v, store, instance, n| {
        let add: TypedFunc<(i32, i32), i32> = instance.get_typed_func(&mut *store, "add").unwrap();
        assert_eq!(
            add.call(&mut *store, (1, 2)).unwrap(),
            3,
            "{}: add(1, 2)",
            v.label
        );
        let t = Instant::now();
        for _ in 0..n {
            black_box(add.call(&mut *store, (black_box(1), black_box(2))).unwrap());
        }
        t.elapsed().as_secs_f64()
    });
    println!();
    per_call(
        &variants,
        runs,
        calls,
        "call_host",
        |v, store, instance, n| {
            let f: TypedFunc<i32, i32> = instance.get_typed_func(&mut *store, "call_host").unwrap();
            assert_eq!(
                f.call(&mut *store, 1).unwrap(),
                11,
                "{}: call_host(1)",
                v.label
            );
            let t = Instant::now();
            for _ in 0..n {
                black_box(f.call(&mut *store, black_box(1)).unwrap());
            }
            t.elapsed().as_secs_f64()
        },
    );
    println!();
    realistic_call(&engine, runs, (calls / 20).max(1));
    println!();
    let table = wat::parse_file(root.join("tests/regressions/exported-table.exnref.wat"))
        .expect("exported-table.exnref.wat parses");
    let table_processed = wasm_unwind::process(&table, &wasm_unwind::Options::default())
        .expect("process exported-table")
        .wasm;
    let table_variants = [
        Variant::new(&engine, "unprocessed", &table),
        Variant::new(&engine, "processed", &table_processed),
    ];
    per_call(
        &table_variants,
        runs,
        calls,
        "spin (internal call_indirect)",
        |v, store, instance, n| {
            let spin: TypedFunc<i32, i32> = instance.get_typed_func(&mut *store, "spin").unwrap();
            assert_eq!(
                spin.call(&mut *store, 5).unwrap(),
                5,
                "{}: spin(5)",
                v.label
            );
            let n = i32::try_from(n).expect("BENCH_CALLS fits an i32");
            let t = Instant::now();
            black_box(spin.call(&mut *store, black_box(n)).unwrap());
            t.elapsed().as_secs_f64()
        },
    );
    println!();
    per_panic(&variants, runs, panics);
    println!();
    for name in FIXTURES {
        let path = fixture_path(name);
        match std::fs::read(&path) {
            Ok(bytes) => code_size(name, &bytes),
            Err(_) => println!("code size: skipped {name}: fixtures/wasm/{name}.wasm is missing\n"),
        }
    }
    println!("load average at end {}", loadavg());
}

/// A JSON document for `json_count`: small, nested, the kind of request body a Worker parses.
const JSON_DOCUMENT: &str =
    r#"{"id":1234,"name":"wasm-unwind","tags":["wasm","unwind"],"ok":true}"#;

/// `json_count` on [`JSON_DOCUMENT`] in the three variants of medium.exnref, interleaved.
fn realistic_call(engine: &Engine, runs: usize, calls: usize) {
    let path = fixture_path("medium.exnref");
    let original =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let options = wasm_unwind::Options::default();
    let processed = wasm_unwind::process(&original, &options)
        .expect("process medium")
        .wasm;
    let no_guard = wasm_unwind::process(&original, &options.abort_guard(false))
        .expect("process medium without guard")
        .wasm;
    let variants = [
        Variant::new(engine, "unprocessed", &original),
        Variant::new(engine, "processed", &processed),
        Variant::new(engine, "processed, no guard", &no_guard),
    ];
    let export = "json_count (medium, 67-byte JSON document)";
    per_call(&variants, runs, calls, export, |v, store, instance, n| {
        let alloc: TypedFunc<i32, i32> = instance.get_typed_func(&mut *store, "alloc").unwrap();
        let count: TypedFunc<(i32, i32), i32> =
            instance.get_typed_func(&mut *store, "json_count").unwrap();
        let len = JSON_DOCUMENT.len() as i32;
        let ptr = alloc.call(&mut *store, len).unwrap();
        let memory = instance.get_memory(&mut *store, "memory").unwrap();
        memory
            .write(&mut *store, ptr as usize, JSON_DOCUMENT.as_bytes())
            .unwrap();
        assert_eq!(
            count.call(&mut *store, (ptr, len)).unwrap(),
            7,
            "{}: json_count",
            v.label
        );
        let t = Instant::now();
        for _ in 0..n {
            black_box(count.call(&mut *store, (black_box(ptr), len)).unwrap());
        }
        t.elapsed().as_secs_f64()
    });
}

struct Variant {
    label: &'static str,
    module: Module,
    linker: Linker<()>,
}

impl Variant {
    fn new(engine: &Engine, label: &'static str, wasm: &[u8]) -> Variant {
        let module = Module::new(engine, wasm)
            .unwrap_or_else(|e| panic!("{label}: wasmtime rejects it: {e:?}"));
        let mut linker = Linker::new(engine);
        // Same imports as benches/runtime.mjs: x => x * 10.
        linker
            .func_wrap("env", "host_callback", |_: Caller<'_, ()>, x: i32| {
                x.wrapping_mul(10)
            })
            .unwrap();
        linker
            .func_wrap(
                "env",
                "host_callback_nounwind",
                |_: Caller<'_, ()>, x: i32| x.wrapping_mul(10),
            )
            .unwrap();
        Variant {
            label,
            module,
            linker,
        }
    }

    fn instantiate(&self) -> (Store<()>, Instance) {
        let mut store = Store::new(self.module.engine(), ());
        let instance = self
            .linker
            .instantiate(&mut store, &self.module)
            .expect("instantiate");
        (store, instance)
    }
}

/// Times `body(variant, store, instance, calls)` (which returns seconds) per variant, interleaved.
fn per_call(
    variants: &[Variant],
    runs: usize,
    calls: usize,
    export: &str,
    body: impl Fn(&Variant, &mut Store<()>, &Instance, usize) -> f64,
) {
    let mut live: Vec<(Store<()>, Instance)> = variants.iter().map(Variant::instantiate).collect();
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..=runs {
        for i in order(variants.len(), round) {
            let (store, instance) = &mut live[i];
            let secs = body(&variants[i], store, instance, calls);
            if round > 0 {
                ns[i].push(secs * 1e9 / calls as f64);
            }
        }
    }
    println!(
        "## per call: `{export}`, {calls} calls a round (ns a call, median; min-max over rounds)"
    );
    println!();
    println!("| module | ns/call | min-max | overhead vs unprocessed |");
    println!("|---|---:|---:|---:|");
    let base = median(&ns[0]);
    for (v, samples) in variants.iter().zip(&ns) {
        let m = median(samples);
        let (lo, hi) = min_max(samples);
        let overhead = if v.label == "unprocessed" {
            "-".to_string()
        } else {
            format!("{:+.1}% ({:+.2} ns)", 100.0 * (m - base) / base, m - base)
        };
        println!("| {} | {m:.2} | {lo:.2}-{hi:.2} | {overhead} |", v.label);
    }
}

/// One way of running the panic benchmark: a module, and whether it gets a fresh instance every
/// [`UNPROCESSED_PANICS_PER_INSTANCE`] panics (instantiation not timed).
struct Lane<'a> {
    label: &'static str,
    variant: &'a Variant,
    fresh: bool,
    live: (Store<()>, Instance),
    since_fresh: usize,
    total: usize,
    us: Vec<f64>,
}

fn per_panic(variants: &[Variant], runs: usize, panics: usize) {
    let lane = |label, variant: &'static str, fresh| {
        let variant = variants.iter().find(|v| v.label == variant).unwrap();
        Lane {
            label,
            variant,
            fresh,
            live: variant.instantiate(),
            since_fresh: 0,
            total: 0,
            us: Vec::new(),
        }
    };
    let mut lanes = [
        // It dies after about 13,000 escaped panics: it cannot run any other way.
        lane(
            "unprocessed, fresh instance every 5,000",
            "unprocessed",
            true,
        ),
        // The real use: one instance takes every panic and goes on.
        lane("processed, one instance throughout", "processed", false),
        // Same schedule as the unprocessed one, to compare like with like.
        lane("processed, fresh instance every 5,000", "processed", true),
    ];
    let sp0 = stack_pointer(&mut lanes[1].live.0, &lanes[1].live.1);

    for round in 0..=runs {
        for i in order(lanes.len(), round) {
            let lane = &mut lanes[i];
            let mut elapsed = 0.0;
            let mut left = panics;
            while left > 0 {
                let mut batch = left;
                if lane.fresh {
                    if lane.since_fresh >= UNPROCESSED_PANICS_PER_INSTANCE {
                        lane.live = lane.variant.instantiate();
                        lane.since_fresh = 0;
                    }
                    batch = batch.min(UNPROCESSED_PANICS_PER_INSTANCE - lane.since_fresh);
                }
                elapsed += panic_batch(lane.variant.label, &mut lane.live.0, &lane.live.1, batch);
                lane.since_fresh += batch;
                lane.total += batch;
                left -= batch;
            }
            if round > 0 {
                lane.us.push(elapsed * 1e6 / panics as f64);
            }
        }
    }
    // The processed instance that took every panic is as it was.
    let (store, instance) = &mut lanes[1].live;
    let state: TypedFunc<(), i32> = instance
        .get_typed_func(&mut *store, wasm_unwind::STATE_EXPORT)
        .unwrap();
    assert_eq!(
        state.call(&mut *store, ()).unwrap(),
        0,
        "processed instance still live"
    );
    assert_eq!(
        stack_pointer(store, instance),
        sp0,
        "shadow stack restored after every panic"
    );
    let add: TypedFunc<(i32, i32), i32> = instance.get_typed_func(&mut *store, "add").unwrap();
    assert_eq!(add.call(&mut *store, (1, 2)).unwrap(), 3);

    println!(
        "## per panic: `panic_fmt(13)` caught at the host, {panics} panics a round (µs a panic, median; min-max over rounds)"
    );
    println!();
    println!("Instantiation is not timed.");
    println!();
    println!("| module | µs/panic | min-max | vs unprocessed |");
    println!("|---|---:|---:|---:|");
    let base = median(&lanes[0].us);
    for (i, lane) in lanes.iter().enumerate() {
        let m = median(&lane.us);
        let (lo, hi) = min_max(&lane.us);
        let vs = if i == 0 {
            "-".to_string()
        } else {
            format!("{:+.1}%", 100.0 * (m - base) / base)
        };
        println!("| {} | {:.2} | {:.2}-{:.2} | {vs} |", lane.label, m, lo, hi);
    }
    println!();
    println!(
        "The processed instance kept throughout took {} panics (warm-up included) and is still live, shadow stack pointer unchanged.",
        lanes[1].total
    );
}

/// `batch` calls of `panic_fmt(13)`, each failing with a Wasm exception that the host takes.
/// Returns seconds.
fn panic_batch(label: &str, store: &mut Store<()>, instance: &Instance, batch: usize) -> f64 {
    let f: TypedFunc<i32, i32> = instance.get_typed_func(&mut *store, "panic_fmt").unwrap();
    let t = Instant::now();
    for _ in 0..batch {
        let mut scope = RootScope::new(&mut *store);
        let err = f
            .call(&mut scope, black_box(13))
            .expect_err("panic_fmt(13) panics");
        if err.downcast_ref::<ThrownException>().is_none() {
            panic!("{label}: panic_fmt(13) failed with something else than an exception: {err:?}");
        }
        black_box(
            scope
                .as_context_mut()
                .take_pending_exception()
                .expect("pending exception"),
        );
    }
    t.elapsed().as_secs_f64()
}

fn stack_pointer(store: &mut Store<()>, instance: &Instance) -> i32 {
    let f: TypedFunc<(), i32> = instance
        .get_typed_func(&mut *store, "stack_pointer")
        .unwrap();
    f.call(&mut *store, ()).unwrap()
}

/// Sizes of what the tool adds to `input`.
fn code_size(name: &str, input: &[u8]) {
    let out = wasm_unwind::process(input, &wasm_unwind::Options::default()).expect("process");
    let report = &out.report;
    let funcs = functions(&out.wasm);
    let mut groups: Vec<(&str, Vec<&Func>)> = vec![
        ("wasm_unwind::wrap::*", vec![]),
        ("wasm_unwind::import::*", vec![]),
    ];
    let mut guard = Vec::new();
    for f in &funcs {
        let Some(n) = &f.name else { continue };
        if n.starts_with("wasm_unwind::wrap::") {
            groups[0].1.push(f);
        } else if n.starts_with("wasm_unwind::import::") {
            groups[1].1.push(f);
        } else if n.starts_with("wasm_unwind::") {
            guard.push(f);
        }
    }
    println!(
        "## code size: {name}.wasm ({} exports wrapped, {} import shims, guard {}; {} -> {} bytes, +{})",
        report.wrapped(),
        report.import_shims,
        if report.abort_guard { "on" } else { "off" },
        input.len(),
        out.wasm.len(),
        out.wasm.len() as i64 - input.len() as i64
    );
    println!();
    println!(
        "Body: the function body (locals and code). In module: body + its size prefix + its function-section entry."
    );
    println!("Name: its entry in the name section (present because the input has one).");
    println!();
    println!(
        "| added functions | count | body min / median / max | in module min / median / max | name median |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (label, fs) in &groups {
        if fs.is_empty() {
            println!("| `{label}` | 0 | - | - | - |");
            continue;
        }
        let body: Vec<f64> = fs.iter().map(|f| f.body as f64).collect();
        let in_module: Vec<f64> = fs.iter().map(|f| f.in_module() as f64).collect();
        let names: Vec<f64> = fs.iter().map(|f| f.name_entry as f64).collect();
        let (bl, bh) = min_max(&body);
        let (ml, mh) = min_max(&in_module);
        println!(
            "| `{label}` | {} | {bl} / {} / {bh} | {ml} / {} / {mh} | {} |",
            fs.len(),
            median(&body),
            median(&in_module),
            median(&names)
        );
    }
    for f in &guard {
        println!(
            "| `{}` | 1 | {} | {} | {} |",
            f.name.as_deref().unwrap_or("?"),
            f.body,
            f.in_module(),
            f.name_entry
        );
    }

    // The marginal cost of one more wrapped export, everything included (body, function-section
    // entry, name entry, a possibly longer export index): all exports wrapped vs only the first.
    if report.wrapped() >= 2
        && let Some(first) = first_function_export(input)
    {
        let one = wasm_unwind::process(
            input,
            &wasm_unwind::Options::default().exports([first.clone()]),
        )
        .expect("process one export");
        let marginal =
            (out.wasm.len() as f64 - one.wasm.len() as f64) / (report.wrapped() - 1) as f64;
        println!();
        println!(
            "Whole output, per wrapped export beyond the first (all {} wrapped vs only `{first}`): {marginal:.1} bytes, name entry included.",
            report.wrapped()
        );
    }
    println!();
}

struct Func {
    name: Option<String>,
    body: usize,
    size_prefix: usize,
    type_entry: usize,
    name_entry: usize,
}

impl Func {
    fn in_module(&self) -> usize {
        self.body + self.size_prefix + self.type_entry
    }
}

/// Every defined function of `wasm`: name, body size, and what it takes in the function and name
/// sections.
fn functions(wasm: &[u8]) -> Vec<Func> {
    let mut imported = 0u32;
    let mut type_indices = Vec::new();
    let mut bodies = Vec::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.expect("parse") {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(_) | TypeRef::FuncExact(_) = import.expect("import").ty {
                        imported += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    type_indices.push(ty.expect("function type"));
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body.range().len()),
            Payload::CustomSection(reader) if reader.name() == "name" => {
                let names_reader =
                    NameSectionReader::new(BinaryReader::new(reader.data(), reader.data_offset()));
                for sub in names_reader {
                    if let Ok(Name::Function(map)) = sub {
                        for naming in map.into_iter().flatten() {
                            names.insert(naming.index, naming.name.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    bodies
        .iter()
        .zip(&type_indices)
        .enumerate()
        .map(|(i, (&body, &ty))| {
            let index = imported + i as u32;
            let name = names.get(&index).cloned();
            let name_entry = name.as_ref().map_or(0, |n| {
                leb_len(index as u64) + leb_len(n.len() as u64) + n.len()
            });
            Func {
                name,
                body,
                size_prefix: leb_len(body as u64),
                type_entry: leb_len(ty as u64),
                name_entry,
            }
        })
        .collect()
}

/// Name of the first function export of `wasm`.
fn first_function_export(wasm: &[u8]) -> Option<String> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::ExportSection(reader)) = payload {
            for export in reader.into_iter().flatten() {
                if export.kind == wasmparser::ExternalKind::Func {
                    // a glob: escape nothing, the fixtures' names have no `*` or `?`
                    return Some(export.name.to_string());
                }
            }
        }
    }
    None
}

fn leb_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}
