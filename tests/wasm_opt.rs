//! wasm-opt before and after wasm-unwind, both EH encodings: Binaryen 132 (npm `binaryen`, the
//! version worker-build 0.8.7 runs) with `-O` and exactly the `--enable-*` flags worker-build
//! passes. Whatever the order, the processed module must behave as the tests of the plain
//! pipeline require, and running wasm-unwind again on the final module must change nothing.
//!
//! - `panics.exnref.wasm` in Wasmtime: panics leave as Rust exceptions with the stack pointer
//!   restored and state kept; after a trap every call is refused.
//! - the four `panics*` fixtures and `first-c` in JS mode: `tests/js/hosts.test.mjs` in Deno (both encodings).
//! - the bindgen fixture through the wasm-bindgen CLI: `tests/js/bindgen.test.mjs` in Node 24.

mod engines;

use std::path::Path;
use std::process::Command;

use engines::{engine, repo, say, wasm_bindgen, wasm_opt};
use support::host::{Run, compile, failure};
use support::{Failure, classify};
use wasm_unwind::{Encoding, Options};

#[derive(Clone, Copy, Debug)]
enum Order {
    /// wasm-opt, then wasm-unwind.
    OptFirst,
    /// wasm-unwind, then wasm-opt.
    OptAfter,
}

const ORDERS: [Order; 2] = [Order::OptFirst, Order::OptAfter];

/// `wasm-opt <worker-build's flags>` on `input`.
fn optimize(input: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (from, to) = (dir.path().join("in.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&from, input).unwrap();
    support::run_ok(
        Command::new(wasm_opt())
            .args(engines::WORKER_BUILD_WASM_OPT_FLAGS)
            .arg(&from)
            .arg("-o")
            .arg(&to),
        "wasm-opt",
    );
    std::fs::read(&to).expect("wasm-opt output")
}

/// wasm-unwind with `options`; checks the encoding it saw.
fn unwind(input: &[u8], options: &Options, encoding: Encoding, what: &str) -> Vec<u8> {
    let processed =
        wasm_unwind::process(input, options).unwrap_or_else(|e| panic!("{what}: processing: {e}"));
    assert_eq!(
        processed.report.encoding,
        Some(encoding),
        "{what}: encoding"
    );
    processed.wasm
}

/// The module after both steps, in `order`, and checks that a second wasm-unwind run on it is
/// a no-op (it recognises its own output, even after wasm-opt rewrote it).
fn pipeline(
    input: &[u8],
    options: &Options,
    encoding: Encoding,
    order: Order,
    what: &str,
) -> Vec<u8> {
    let what = format!("{what} ({order:?})");
    let output = match order {
        Order::OptFirst => unwind(&optimize(input), options, encoding, &what),
        Order::OptAfter => optimize(&unwind(input, options, encoding, &what)),
    };
    let again = wasm_unwind::process(&output, options)
        .unwrap_or_else(|e| panic!("{what}: second run: {e}"));
    assert!(
        again.report.already_processed.is_some(),
        "{what}: a second run does not recognise the module as processed"
    );
    assert!(
        again.wasm == output,
        "{what}: a second run changed the module"
    );
    output
}

fn encoding_of(fixture: &str) -> Encoding {
    if fixture.contains(".legacy.") {
        Encoding::Legacy
    } else {
        Encoding::Exnref
    }
}

/// The core behaviour in Wasmtime (exnref): panics contained, state kept, stack pointer
/// restored, a trap terminates the instance.
#[test]
fn wasmtime_behaviour_in_both_orders() {
    let raw = support::fixture("panics.exnref.wasm");
    for order in ORDERS {
        let what = format!("panics.exnref.wasm ({order:?})");
        let module = compile(&pipeline(
            &raw,
            &Options::default(),
            Encoding::Exnref,
            order,
            "panics.exnref.wasm",
        ));
        let mut run = Run::new(&module);
        let sp0 = run.stack_pointer();
        assert_eq!(run.call::<(i32, i32), i32>("add", (2, 3)).unwrap(), 5);
        for i in 1..=300u32 {
            assert_eq!(run.call::<(), u32>("counter_inc", ()).unwrap(), i, "{what}");
            let panic = ["panic_static", "panic_fmt", "panic_recurse_drop"][i as usize % 3];
            let err = run
                .call_dynamic(panic, 13)
                .expect_err(&format!("{what}: {panic} returned"));
            assert_eq!(
                classify(&err),
                Failure::Exception,
                "{what}: {panic}: {err:?}"
            );
            run.take_exception().expect("pending exception");
            assert_eq!(run.stack_pointer(), sp0, "{what}: {panic}: stack pointer");
            assert_eq!(run.state(), 0, "{what}: {panic} terminated the instance");
        }
        for trap in ["abort_now", "panic_nounwind", "trap_oob"] {
            let mut run = Run::new(&module);
            assert_eq!(run.call::<(), u32>("counter_inc", ()).unwrap(), 1);
            assert!(
                matches!(failure(run.call_dynamic(trap, 0)), Failure::Trap(_)),
                "{what}: {trap} did not trap"
            );
            assert_eq!(run.state(), 1, "{what}: {trap}: state after the trap");
            assert!(
                matches!(
                    failure(run.call::<(), u32>("counter_inc", ())),
                    Failure::Trap(_)
                ),
                "{what}: {trap}: a call after the trap ran"
            );
        }
    }
}

/// JS mode, both encodings, with and without the runtime: the whole `hosts.test.mjs` in Deno.
#[test]
fn js_mode_in_deno_in_both_orders() {
    for order in ORDERS {
        let dir = tempfile::tempdir().expect("temp dir");
        // The set `engines::modules::js_mode` writes: `.noguard` is processed without the guard.
        for (fixture, abort_guard, written_as) in [
            ("panics-rt.exnref.wasm", true, "panics-rt.exnref.wasm"),
            ("panics-rt.legacy.wasm", true, "panics-rt.legacy.wasm"),
            ("panics.exnref.wasm", true, "panics.exnref.wasm"),
            ("panics.legacy.wasm", true, "panics.legacy.wasm"),
            (
                "panics-rt.exnref.wasm",
                false,
                "panics-rt.exnref.noguard.wasm",
            ),
            (
                "panics-rt.legacy.wasm",
                false,
                "panics-rt.legacy.noguard.wasm",
            ),
            ("first-c.exnref.wasm", true, "first-c.exnref.wasm"),
            ("first-c.legacy.wasm", true, "first-c.legacy.wasm"),
        ] {
            let options = Options::default().js(true).abort_guard(abort_guard);
            let module = pipeline(
                &support::fixture(fixture),
                &options,
                encoding_of(fixture),
                order,
                written_as,
            );
            std::fs::write(dir.path().join(written_as), module).unwrap();
        }
        std::fs::write(dir.path().join("wasm-unwind.mjs"), wasm_unwind::JS_GLUE).unwrap();
        let out = support::run_ok(
            engines::deno_run()
                .arg("--allow-env")
                .arg(repo().join("tests/js/hosts.test.mjs"))
                .current_dir(repo())
                .env("WASM_UNWIND_JS_DIR", dir.path()),
            &format!("hosts.test.mjs in deno ({order:?})"),
        );
        say(&format!(
            "deno ({order:?}): {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
}

/// wasm-bindgen's glue over its `_bg.wasm` after wasm-opt and wasm-unwind, in both orders.
#[test]
fn wasm_bindgen_glue_in_both_orders() {
    for fixture in ["bindgen.exnref.wasm", "bindgen.legacy.wasm"] {
        for order in ORDERS {
            let tmp = tempfile::tempdir().expect("temp dir");
            // wasm-bindgen names its output after the input's stem.
            let input = tmp.path().join("bindgen.wasm");
            std::fs::copy(support::fixture_path(fixture), &input).unwrap();
            let pkg = tmp.path().join("pkg");
            support::run_ok(
                Command::new(wasm_bindgen())
                    .args(["--target", "nodejs", "--out-dir"])
                    .arg(&pkg)
                    .arg(&input),
                "wasm-bindgen",
            );
            let bg = pkg.join("bindgen_bg.wasm");
            let module = pipeline(
                &std::fs::read(&bg).unwrap(),
                &Options::default(),
                encoding_of(fixture),
                order,
                fixture,
            );
            std::fs::write(&bg, module).unwrap();
            drive_bindgen(&pkg, &format!("{fixture} ({order:?})"));
        }
    }
}

fn drive_bindgen(pkg: &Path, what: &str) {
    let out = support::run_ok(
        Command::new(engine("node24"))
            .arg(repo().join("tests/js/bindgen.test.mjs"))
            .arg(pkg),
        &format!("bindgen.test.mjs in node 24: {what}"),
    );
    say(&format!(
        "{what}: {}",
        String::from_utf8_lossy(&out.stdout).trim()
    ));
}
