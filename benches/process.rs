//! How long processing a module takes, against the validation floor and a `wasm-opt` round trip,
//! and how much memory the command line needs. `cargo bench --bench process`; see BENCHMARKS.md.
//!
//! Per fixture, each round measures, one right after the other:
//!   (a) `wasm_unwind::process(&bytes, &Options::default())`, in process; and (a') the same in
//!       JS mode (`Options::default().js(true)`): its imports are edits like any other, so it
//!       should cost what the default costs;
//!   (b) the floor: one `wasmparser` validation of the input with every feature on, in process;
//!       and, untimed in the goal but shown, the same for the output (processing validates the
//!       input once and its output once, so input + output validation is the floor of any
//!       processing that checks its work);
//!   (c) the command line end to end: `wasm-unwind IN -o OUT -q` as a subprocess (read, process,
//!       write; process start-up included);
//!   (d) `wasm-opt --enable-exception-handling IN -o OUT`, no passes: read, parse into Binaryen IR,
//!       write. wasm-opt from `benches/setup.sh` (npm `binaryen`), or `$WASM_OPT`.
//! Then, per thread count (1 and 2, the 2-core machine and one core of it; `RAYON_NUM_THREADS`
//! for the subprocesses, a pool of that many threads in process), against what validation alone
//! costs when it too runs the bodies in parallel:
//!   (e) `wasm_unwind::process` in a rayon pool of that size, in process;
//!   (f) the command line, as (c), with `RAYON_NUM_THREADS`;
//!   (g) `wasm-tools validate --features all IN` with `RAYON_NUM_THREADS` (wasm-tools validates
//!       the module's sections, then the bodies in parallel with rayon): the goal is (f) within
//!       1.5x of it. wasm-tools from `.engines/wasm-tools` (see BENCHMARKS.md), or `$WASM_TOOLS`;
//!   (h) the same validation in process: wasmparser as wasm-tools drives it, in the pool;
//!   (i) with `BENCH_BEFORE=/path/to/an/older/wasm-unwind`, that binary as (f), for before and
//!       after figures from one run.
//! The subprocess lanes (f, g, i) take CPU time (user + system, all threads) as well as wall
//! time. Figures are medians over BENCH_RUNS rounds (default 9), after one warm-up round.
//!
//! Peak memory: the maximum resident set size of the same subprocesses, from GNU time
//! (`/usr/bin/time -f %M`), in separate, untimed runs, per thread count.
//!
//! Inputs: the fixtures, and two real modules from the corpus (`tests/corpus/install.sh`):
//! wasm-vips' HEIF module (3.8 MB, C++ from Emscripten, legacy EH, a large table) and
//! esbuild (14 MB, Go). A missing input is skipped with a note.
//!
//! The first row is an empty module (8 bytes): its times are the start-up floors of the two tools.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use wasmparser::{Validator, WasmFeatures};

mod common;
use common::{
    FIXTURES, cores, env_count, fixture_path, loadavg, median, ms, run_timed, run_timed_cpu,
};

/// Real modules, by name and path under the corpus's install (`tests/corpus/install.sh`).
const REAL: &[(&str, &str)] = &[
    ("vips-heif (real, C++)", "wasm-vips/lib/vips-heif.wasm"),
    ("esbuild (real, Go)", "esbuild-wasm/esbuild.wasm"),
];

const GNU_TIME: &str = "/usr/bin/time";
/// The thread counts of lanes (e) to (h).
const THREADS: [usize; 2] = [1, 2];
/// How many untimed runs to take the peak memory from (median).
const RSS_RUNS: usize = 3;

struct Input {
    name: String,
    path: PathBuf,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Samples {
    process: Vec<f64>,
    process_js: Vec<f64>,
    validate: Vec<f64>,
    validate_out: Vec<f64>,
    cli: Vec<f64>,
    wasm_opt: Vec<f64>,
    cli_rss: Vec<f64>,
    wasm_opt_rss: Vec<f64>,
    /// Lanes (e) to (h), by thread count.
    parallel: [Parallel<Vec<f64>>; THREADS.len()],
}

/// Lanes (e) to (i) at one thread count: samples, then medians.
#[derive(Default, Clone)]
struct Parallel<T> {
    process: T,
    cli: T,
    cli_cpu: T,
    wasm_tools: Option<T>,
    wasm_tools_cpu: Option<T>,
    validate: T,
    before: Option<T>,
    before_cpu: Option<T>,
    /// Peak memory (KiB) of the subprocesses.
    cli_rss: Option<T>,
    wasm_tools_rss: Option<T>,
    before_rss: Option<T>,
}

struct Row {
    name: String,
    size: usize,
    output_size: usize,
    process_ms: f64,
    process_js_ms: f64,
    validate_ms: f64,
    validate_out_ms: f64,
    cli_ms: f64,
    wasm_opt_ms: Option<f64>,
    cli_rss_kib: Option<f64>,
    wasm_opt_rss_kib: Option<f64>,
    parallel: Vec<Parallel<f64>>,
}

struct Tools<'a> {
    cli: &'a Path,
    before: Option<&'a Path>,
    wasm_opt: Option<&'a Path>,
    wasm_tools: Option<&'a Path>,
    gnu_time: Option<&'a Path>,
    pools: &'a [rayon::ThreadPool],
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects fixtures by substring.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = env_count("BENCH_RUNS", 9);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_wasm-unwind"));
    let wasm_opt = find_wasm_opt(&root);
    let before = std::env::var_os("BENCH_BEFORE").map(PathBuf::from);
    let wasm_tools = find_tool(
        "WASM_TOOLS",
        &root.join(".engines/wasm-tools/bin/wasm-tools"),
    );
    let pools: Vec<_> = THREADS
        .iter()
        .map(|&n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("thread pool")
        })
        .collect();
    let gnu_time = Path::new(GNU_TIME)
        .exists()
        .then(|| PathBuf::from(GNU_TIME));
    let work = tempfile::tempdir().expect("temporary directory");

    println!("benches/process.rs: medians of {runs} rounds (BENCH_RUNS), after one warm-up round");
    println!(
        "machine: {} cores, load average at start {}",
        cores(),
        loadavg()
    );
    println!("wasm-unwind: {}", cli.display());
    if let Some(path) = &before {
        println!("before:      {} ({})", path.display(), tool_version(path));
    }
    match &wasm_opt {
        Some(path) => println!("wasm-opt:    {} ({})", path.display(), tool_version(path)),
        None => println!(
            "wasm-opt:    not found; the wasm-opt columns are left empty. Install it with `bash benches/setup.sh` \
             (npm binaryen, into benches/node_modules), or set WASM_OPT=/path/to/wasm-opt"
        ),
    }
    match &wasm_tools {
        Some(path) => println!("wasm-tools:  {} ({})", path.display(), tool_version(path)),
        None => println!(
            "wasm-tools:  not found; its column is left empty, compare with the in-process parallel validation. \
             Install it as BENCHMARKS.md says (into .engines/wasm-tools), or set WASM_TOOLS=/path/to/wasm-tools"
        ),
    }
    if gnu_time.is_none() {
        println!(
            "peak memory: {GNU_TIME} not found (`apt-get install time`); memory columns left empty"
        );
    }

    let empty_path = work.path().join("empty.wasm");
    std::fs::write(&empty_path, b"\0asm\x01\0\0\0").unwrap();
    let mut inputs = vec![Input {
        name: "(empty module)".into(),
        path: empty_path,
        bytes: b"\0asm\x01\0\0\0".to_vec(),
    }];
    let corpus = root.join(".engines/corpus/node_modules");
    let fixtures = FIXTURES
        .iter()
        .map(|name| (*name, fixture_path(name), "the fixture is missing"));
    let real = (REAL.iter()).map(|(name, path)| {
        (
            *name,
            corpus.join(path),
            "run `bash tests/corpus/install.sh`",
        )
    });
    for (name, path, fix) in fixtures.chain(real) {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => inputs.push(Input {
                name: name.to_string(),
                path,
                bytes,
            }),
            Err(_) => println!("skipped {name}: {}: {fix}", path.display()),
        }
    }
    println!();

    let mut rows = Vec::new();
    for input in &inputs {
        eprint!("measuring {} ({} bytes) ...", input.name, input.bytes.len());
        let tools = Tools {
            cli: &cli,
            before: before.as_deref(),
            wasm_opt: wasm_opt.as_deref(),
            wasm_tools: wasm_tools.as_deref(),
            gnu_time: gnu_time.as_deref(),
            pools: &pools,
        };
        let row = measure(input, runs, &tools, work.path());
        eprintln!(" done");
        rows.push(row);
    }

    print_times(&rows);
    println!();
    print_parallel(&rows);
    println!();
    print_memory(&rows);
    println!();
    print_goals(&rows);
    println!();
    print_floor(&rows);
    println!();
    println!("load average at end {}", loadavg());
}

fn measure(input: &Input, runs: usize, tools: &Tools<'_>, work: &Path) -> Row {
    let Tools {
        cli,
        before,
        wasm_opt,
        wasm_tools,
        gnu_time,
        pools,
    } = *tools;
    let stem = input.name.replace(['(', ')', ' '], "");
    let cli_out = work.join(format!("{stem}.wasm-unwind.wasm"));
    let opt_out = work.join(format!("{stem}.wasm-opt.wasm"));
    let options = wasm_unwind::Options::default();
    let js_options = wasm_unwind::Options::default().js(true);

    let processed = wasm_unwind::process(&input.bytes, &options)
        .unwrap_or_else(|e| panic!("{}: wasm_unwind::process failed: {e}", input.name));
    let output_size = processed.wasm.len();

    let cli_cmd_of = |cli: &Path| {
        let mut c = Command::new(cli);
        c.arg(&input.path).arg("-o").arg(&cli_out).arg("-q");
        c
    };
    let cli_cmd = || cli_cmd_of(cli);
    let wasm_tools_cmd = |path: &Path| {
        let mut c = Command::new(path);
        c.args(["validate", "--features", "all"]).arg(&input.path);
        c
    };
    let opt_cmd = |path: &Path| {
        let mut c = Command::new(path);
        c.arg("--enable-exception-handling")
            .arg(&input.path)
            .arg("-o")
            .arg(&opt_out);
        c
    };

    let mut s = Samples::default();
    for round in 0..=runs {
        // (a) the library
        let t = Instant::now();
        let out = wasm_unwind::process(black_box(&input.bytes), &options);
        let a = t.elapsed();
        black_box(out.expect("processed once already"));
        // (a') JS mode
        let t = Instant::now();
        let out = wasm_unwind::process(black_box(&input.bytes), &js_options);
        let a_js = t.elapsed();
        black_box(out.expect("processes in JS mode"));
        // (b) the validation floor
        let t = Instant::now();
        let valid =
            Validator::new_with_features(WasmFeatures::all()).validate_all(black_box(&input.bytes));
        let b = t.elapsed();
        black_box(valid.expect("fixture validates"));
        // (b') validating the output too: what processing does at least (it checks its result)
        let t = Instant::now();
        let valid = Validator::new_with_features(WasmFeatures::all())
            .validate_all(black_box(&processed.wasm));
        let b_out = t.elapsed();
        black_box(valid.expect("output validates"));
        // (c) the command line
        let c = run_timed(&mut cli_cmd(), "wasm-unwind");
        // (d) wasm-opt
        let d = wasm_opt.map(|path| run_timed(&mut opt_cmd(path), "wasm-opt"));
        if round == 0 {
            // warm-up; and the command line writes what the library returns
            let written = std::fs::read(&cli_out).expect("CLI output");
            if written != processed.wasm {
                println!(
                    "note: {}: the CLI output differs from the library's",
                    input.name
                );
            }
            continue;
        }
        s.process.push(ms(a));
        s.process_js.push(ms(a_js));
        s.validate.push(ms(b));
        s.validate_out.push(ms(b_out));
        s.cli.push(ms(c));
        if let Some(d) = d {
            s.wasm_opt.push(ms(d));
        }
        for (lanes, (pool, threads)) in s.parallel.iter_mut().zip(pools.iter().zip(THREADS)) {
            let threads = threads.to_string();
            // (e) the library in a pool of `threads`
            let t = Instant::now();
            let out = pool.install(|| wasm_unwind::process(black_box(&input.bytes), &options));
            let e = t.elapsed();
            black_box(out.expect("processed once already"));
            // (f) the command line
            let f = run_timed_cpu(cli_cmd().env("RAYON_NUM_THREADS", &threads), "wasm-unwind");
            // (g) wasm-tools validate
            let g = wasm_tools.map(|path| {
                run_timed_cpu(
                    wasm_tools_cmd(path).env("RAYON_NUM_THREADS", &threads),
                    "wasm-tools validate",
                )
            });
            // (i) the older command line
            let i = before.map(|path| {
                let mut cmd = cli_cmd_of(path);
                run_timed_cpu(cmd.env("RAYON_NUM_THREADS", &threads), "BENCH_BEFORE")
            });
            // (h) the same in process
            let t = Instant::now();
            let valid = pool.install(|| validate_in_parallel(black_box(&input.bytes)));
            let h = t.elapsed();
            valid.expect("fixture validates");
            if round == 0 {
                continue;
            }
            lanes.process.push(ms(e));
            lanes.cli.push(ms(f.0));
            lanes.cli_cpu.push(ms(f.1));
            if let Some((wall, cpu)) = g {
                lanes.wasm_tools.get_or_insert_default().push(ms(wall));
                lanes.wasm_tools_cpu.get_or_insert_default().push(ms(cpu));
            }
            if let Some((wall, cpu)) = i {
                lanes.before.get_or_insert_default().push(ms(wall));
                lanes.before_cpu.get_or_insert_default().push(ms(cpu));
            }
            lanes.validate.push(ms(h));
        }
    }

    if let Some(time) = gnu_time {
        for _ in 0..RSS_RUNS.min(runs) {
            s.cli_rss.push(max_rss_kib(time, &mut cli_cmd()));
            if let Some(path) = wasm_opt {
                s.wasm_opt_rss.push(max_rss_kib(time, &mut opt_cmd(path)));
            }
            for (lanes, threads) in s.parallel.iter_mut().zip(THREADS) {
                let threads = threads.to_string();
                let rss =
                    |cmd: &mut Command| max_rss_kib(time, cmd.env("RAYON_NUM_THREADS", &threads));
                let cli_rss = rss(&mut cli_cmd());
                lanes.cli_rss.get_or_insert_default().push(cli_rss);
                if let Some(path) = wasm_tools {
                    let wt = rss(&mut wasm_tools_cmd(path));
                    lanes.wasm_tools_rss.get_or_insert_default().push(wt);
                }
                if let Some(path) = before {
                    let old = rss(&mut cli_cmd_of(path));
                    lanes.before_rss.get_or_insert_default().push(old);
                }
            }
        }
    }

    Row {
        name: input.name.clone(),
        size: input.bytes.len(),
        output_size,
        process_ms: median(&s.process),
        process_js_ms: median(&s.process_js),
        validate_ms: median(&s.validate),
        validate_out_ms: median(&s.validate_out),
        cli_ms: median(&s.cli),
        wasm_opt_ms: (!s.wasm_opt.is_empty()).then(|| median(&s.wasm_opt)),
        cli_rss_kib: (!s.cli_rss.is_empty()).then(|| median(&s.cli_rss)),
        wasm_opt_rss_kib: (!s.wasm_opt_rss.is_empty()).then(|| median(&s.wasm_opt_rss)),
        parallel: s
            .parallel
            .iter()
            .map(|p| Parallel {
                process: median(&p.process),
                cli: median(&p.cli),
                cli_cpu: median(&p.cli_cpu),
                wasm_tools: p.wasm_tools.as_deref().map(median),
                wasm_tools_cpu: p.wasm_tools_cpu.as_deref().map(median),
                validate: median(&p.validate),
                before: p.before.as_deref().map(median),
                before_cpu: p.before_cpu.as_deref().map(median),
                cli_rss: p.cli_rss.as_deref().map(median),
                wasm_tools_rss: p.wasm_tools_rss.as_deref().map(median),
                before_rss: p.before_rss.as_deref().map(median),
            })
            .collect(),
    }
}

/// What `wasm-tools validate` does, in process: the module's sections in order, then every body
/// in parallel (in the current rayon pool), the first failing body's error kept.
fn validate_in_parallel(bytes: &[u8]) -> Result<(), wasmparser::BinaryReaderError> {
    use rayon::prelude::*;
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut bodies = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::ValidPayload::Func(func, body) = validator.payload(&payload?)? {
            bodies.push((func, body));
        }
    }
    let results: Vec<_> = bodies
        .into_par_iter()
        .map_init(
            wasmparser::FuncValidatorAllocations::default,
            |allocations, (func, body)| {
                let mut func = func.into_validator(std::mem::take(allocations));
                let result = func.validate(&body);
                *allocations = func.into_allocations();
                result
            },
        )
        .collect();
    results.into_iter().collect()
}

fn print_times(rows: &[Row]) {
    println!("## time (ms, median)");
    println!();
    println!(
        "| fixture | size | process ms | JS mode ms | JS/default | validate ms | process/validate | process/(validate in+out) | CLI ms | wasm-opt ms | wasm-opt/CLI | output growth |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let growth = r.output_size as f64 - r.size as f64;
        println!(
            "| {} | {} | {} | {} | {:.2}x | {} | {:.2}x | {:.2}x | {} | {} | {} | +{} B ({:+.1}%) |",
            r.name,
            bytes(r.size),
            fmt_ms(r.process_ms),
            fmt_ms(r.process_js_ms),
            r.process_js_ms / r.process_ms,
            fmt_ms(r.validate_ms),
            r.process_ms / r.validate_ms,
            r.process_ms / (r.validate_ms + r.validate_out_ms),
            fmt_ms(r.cli_ms),
            r.wasm_opt_ms.map_or("-".into(), fmt_ms),
            r.wasm_opt_ms
                .map_or("-".into(), |w| format!("{:.1}x", w / r.cli_ms)),
            growth as i64,
            100.0 * growth / r.size as f64,
        );
    }
}

fn print_parallel(rows: &[Row]) {
    println!("## wall time against `wasm-tools validate`, by thread count (ms, median)");
    println!();
    println!(
        "| fixture | threads | process ms | parallel validate ms | process/validate | CLI ms | wasm-tools validate ms | CLI/wasm-tools (goal <= 1.5x) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        for (p, threads) in r.parallel.iter().zip(THREADS) {
            let (wt, ratio) = match p.wasm_tools {
                Some(wt) => {
                    let ratio = p.cli / wt;
                    (fmt_ms(wt), format!("{ratio:.2}x {}", verdict(ratio <= 1.5)))
                }
                None => ("-".into(), "-".into()),
            };
            println!(
                "| {} | {threads} | {} | {} | {:.2}x | {} | {wt} | {ratio} |",
                r.name,
                fmt_ms(p.process),
                fmt_ms(p.validate),
                p.process / p.validate,
                fmt_ms(p.cli),
            );
        }
    }
}

fn print_memory(rows: &[Row]) {
    let baseline = rows.first().and_then(|r| r.cli_rss_kib);
    println!("## peak memory (max RSS, median of {RSS_RUNS} untimed runs)");
    println!();
    println!("The empty module's row is the CLI's fixed floor (executable, libc, allocator).");
    println!();
    println!(
        "| fixture | size | CLI max RSS | RSS/size | CLI RSS above empty | (above empty)/size | wasm-opt max RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, r) in rows.iter().enumerate() {
        let (rss, ratio, above, above_ratio) = match (r.cli_rss_kib, baseline) {
            (Some(rss), Some(_)) if i == 0 => (kib(rss), "-".into(), "-".into(), "-".into()),
            (Some(rss), Some(base)) => {
                let above = (rss - base).max(0.0);
                (
                    kib(rss),
                    format!("{:.1}x", rss * 1024.0 / r.size as f64),
                    kib(above),
                    format!("{:.2}x", above * 1024.0 / r.size as f64),
                )
            }
            _ => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {rss} | {ratio} | {above} | {above_ratio} | {} |",
            r.name,
            bytes(r.size),
            r.wasm_opt_rss_kib.map_or("-".into(), kib)
        );
    }
}

fn print_goals(rows: &[Row]) {
    let Some(empty) = rows.first() else { return };
    println!("## goals (every input)");
    println!();
    for r in rows.iter().skip(1) {
        let mut parts = vec![];
        let pv = r.process_ms / r.validate_ms;
        parts.push(format!(
            "process within 3x of validation: {:.2}x {}",
            pv,
            verdict(pv <= 3.0)
        ));
        if let Some(w) = r.wasm_opt_ms {
            let ratio = w / r.cli_ms;
            parts.push(format!(
                "5x faster than wasm-opt (end to end): {ratio:.1}x {}",
                verdict(ratio >= 5.0)
            ));
            if let Some(we) = empty.wasm_opt_ms {
                // both tools' start-up taken off: the work itself (meaningless when the CLI's work is
                // below the noise of its start-up)
                let work_opt = w - we;
                let work_cli = r.cli_ms - empty.cli_ms;
                if work_cli >= 1.0 {
                    parts.push(format!("(start-up excluded: {:.1}x)", work_opt / work_cli));
                } else {
                    parts.push(
                        "(start-up excluded: n/a, the CLI's work is within its start-up noise)"
                            .into(),
                    );
                }
            }
        }
        if let (Some(rss), Some(base)) = (r.cli_rss_kib, empty.cli_rss_kib) {
            let above = (rss - base).max(0.0) * 1024.0 / r.size as f64;
            parts.push(format!(
                "peak memory within 4x input: {:.1}x total {}, {:.2}x above the empty-module floor {}",
                rss * 1024.0 / r.size as f64,
                verdict(rss * 1024.0 <= 4.0 * r.size as f64),
                above,
                verdict(above <= 4.0)
            ));
        }
        println!("- {}: {}", r.name, parts.join("; "));
    }
}

/// Issue 22's goals: the command line within 1.5x of `wasm-tools validate` in wall time, CPU
/// time and peak memory, per input and thread count; and the same ratios for `BENCH_BEFORE`.
fn print_floor(rows: &[Row]) {
    println!(
        "## the command line against the validation floor (`wasm-tools validate`), goal <= 1.5x"
    );
    println!();
    println!(
        "| input | size | threads | wall ms | CPU ms | peak | wall / floor | CPU / floor | peak / floor | before: wall, CPU, peak / floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let ratio = |ours: Option<f64>, floor: Option<f64>| match (ours, floor) {
        (Some(ours), Some(floor)) => {
            let r = ours / floor;
            format!("{r:.2}x {}", verdict(r <= 1.5))
        }
        _ => "-".into(),
    };
    let plain = |ours: Option<f64>, floor: Option<f64>| match (ours, floor) {
        (Some(ours), Some(floor)) => format!("{:.2}x", ours / floor),
        _ => "-".into(),
    };
    for r in rows {
        for (p, threads) in r.parallel.iter().zip(THREADS) {
            let before = match p.before {
                Some(_) => format!(
                    "{}, {}, {}",
                    plain(p.before, p.wasm_tools),
                    plain(p.before_cpu, p.wasm_tools_cpu),
                    plain(p.before_rss, p.wasm_tools_rss)
                ),
                None => "-".into(),
            };
            println!(
                "| {} | {} | {threads} | {} | {} | {} | {} | {} | {} | {before} |",
                r.name,
                bytes(r.size),
                fmt_ms(p.cli),
                fmt_ms(p.cli_cpu),
                p.cli_rss.map_or("-".into(), kib),
                ratio(Some(p.cli), p.wasm_tools),
                ratio(Some(p.cli_cpu), p.wasm_tools_cpu),
                ratio(p.cli_rss, p.wasm_tools_rss),
            );
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "(met)" } else { "(NOT met)" }
}

/// Peak resident set size of `cmd`, in KiB, from GNU time.
fn max_rss_kib(time: &Path, cmd: &mut Command) -> f64 {
    let mut wrapped = Command::new(time);
    wrapped
        .arg("-f")
        .arg("maxrss_kib=%M")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    wrapped.stdin(Stdio::null()).stdout(Stdio::null());
    let out = wrapped.output().expect("run GNU time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        panic!("{:?} failed: {stderr}", cmd.get_program());
    }
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in GNU time's output: {stderr}"))
}

fn find_wasm_opt(root: &Path) -> Option<PathBuf> {
    find_tool("WASM_OPT", &root.join("benches/node_modules/.bin/wasm-opt"))
}

/// The tool named by the environment variable `var`, else `local` if it exists.
fn find_tool(var: &str, local: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        if !path.exists() {
            println!("{var}={} does not exist", path.display());
            return None;
        }
        return Some(path);
    }
    local.exists().then(|| local.to_path_buf())
}

fn tool_version(path: &Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("--version failed: {e}"))
}

fn fmt_ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn bytes(n: usize) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else if n < 10 * 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

fn kib(v: f64) -> String {
    if v < 10.0 * 1024.0 {
        format!("{v:.0} KiB")
    } else {
        format!("{:.1} MiB", v / 1024.0)
    }
}
