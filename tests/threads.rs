//! Threads: an abort in one thread ends the whole program. Several instances of the `threads`
//! fixture (built with `+atomics`, shared memory, linking the runtime crate) run over one shared
//! memory, each on its own OS thread: one aborts while others run, while another is blocked in
//! an import, and when that one calls back in; afterwards every instance is refused and says 1.
//! Without an abort the threaded program computes what it computes unprocessed.
//! A trap leaves its trace in its own instance only: the word all instances read is set when the
//! trapped instance's guard latches, at its next entry or when the host asks its state (as
//! wasm-unwind-wasmtime and the JS loader do on a trap; the worker here does after each call).
//! One section an engine: Wasmtime (`SharedMemory` across threads; exnref), Node 24
//! (`worker_threads`; exnref and legacy).

mod engines;

use std::path::Path;

use wasm_unwind::Options;

/// The fixture as built, in `encoding` (`exnref`, `legacy`).
fn fixture_in(encoding: &str) -> Vec<u8> {
    support::fixture(&format!("threads.{encoding}.wasm"))
}

fn processed_in(encoding: &str) -> Vec<u8> {
    let out = wasm_unwind::process(&fixture_in(encoding), &Options::default()).expect("processes");
    // Its `alloc` is `extern "C"`, which the summary names (a panic there aborts); no warning
    // may say that an abort stops only the trapped instance.
    assert!(
        !out.report
            .warnings
            .iter()
            .any(|w| w.contains("only the instance that trapped")),
        "a module linking the runtime ends every instance on an abort: {:?}",
        out.report.warnings
    );
    assert!(out.report.shared_word, "the guard uses the runtime's word");
    out.wasm
}

/// The exnref fixture (Wasmtime runs no legacy EH), as built and processed.
fn fixture() -> Vec<u8> {
    fixture_in("exnref")
}

fn processed() -> Vec<u8> {
    processed_in("exnref")
}

mod node_24 {
    use super::*;

    #[test]
    fn threads() {
        engines::node::run_suite_in(
            engines::engine("node24"),
            "threads.test.mjs",
            |dir: &Path| {
                for e in ["exnref", "legacy"] {
                    std::fs::write(dir.join(format!("threads.{e}.wasm")), processed_in(e)).unwrap();
                    let unprocessed = format!("threads.{e}.unprocessed.wasm");
                    std::fs::write(dir.join(unprocessed), fixture_in(e)).unwrap();
                }
            },
        );
    }
}

mod wasmtime {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    use super::{fixture, processed};
    use ::wasmtime::{Caller, Val};
    use support::threads::{self, Thread, outcome};

    const THREADS: usize = 3;

    /// The host's side of `host.block`: the thread says it is blocked, waits to be released,
    /// then, when asked, calls back into its own instance and keeps how that call ended.
    #[derive(Default)]
    struct Gate {
        blocked: Option<Arc<Barrier>>,
        release: Option<Arc<Barrier>>,
        call_back: AtomicBool,
        callback: Mutex<Option<String>>,
    }

    const TRAP: &str = "trap UnreachableCodeReached";

    /// The program, its `host.block` waiting at the gate's barriers and then, when asked,
    /// calling back into its instance.
    fn program(wasm: &[u8], gate: &Arc<Gate>) -> (Thread, Vec<Thread>) {
        let gate = gate.clone();
        threads::program(wasm, THREADS, move |mut caller: Caller<'_, ()>| {
            gate.blocked.as_ref().map(|b| b.wait());
            gate.release.as_ref().map(|b| b.wait());
            if gate.call_back.load(Ordering::SeqCst) {
                let bump = caller
                    .get_export("bump")
                    .and_then(|e| e.into_func())
                    .unwrap();
                let mut result = [Val::I32(0)];
                let answer = bump.call(&mut caller, &[], &mut result);
                *gate.callback.lock().unwrap() =
                    Some(outcome(answer.map(|_| result[0].unwrap_i32())));
            }
            Ok(())
        })
    }

    /// Runs `work` for each thread's instance on its own OS thread; returns what each gave.
    fn on_threads<T: Send>(
        threads: &mut [Thread],
        work: impl Fn(usize, &mut Thread) -> T + Sync,
    ) -> Vec<T> {
        let work = &work;
        thread::scope(|s| {
            let handles: Vec<_> = threads
                .iter_mut()
                .enumerate()
                .map(|(i, t)| s.spawn(move || work(i, t)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// The parallel sum and the shared counter, computed by every thread at once.
    fn compute(wasm: &[u8]) -> (String, String, Vec<String>) {
        let (mut first, mut others) = program(wasm, &Arc::default());
        let chunk = 39_999 / THREADS as u32;
        let sums = on_threads(&mut others, |i, t| {
            let sum =
                t.call::<(u32, u32), u64>("sum_chunk", (i as u32 * chunk, (i as u32 + 1) * chunk));
            for _ in 0..50 {
                assert!(!t.call::<(), u32>("bump", ()).starts_with("trap"));
            }
            sum
        });
        (
            first.call::<(), u64>("total", ()),
            first.call::<(), u32>("count", ()),
            sums,
        )
    }

    #[test]
    fn without_an_abort_the_threaded_program_computes_what_it_computes_unprocessed() {
        let processed = compute(&processed());
        let expected: u64 = (0..39_999u64).map(|i| i * 2_654_435_761 % 1_000_003).sum();
        assert_eq!(processed.0, expected.to_string());
        assert_eq!(processed.1, "150");
        assert_eq!(processed, compute(&fixture()));
    }

    #[test]
    fn one_thread_aborts_while_others_run_and_every_instance_is_refused_after() {
        let (mut first, mut others) = program(&processed(), &Arc::default());
        let started = Barrier::new(THREADS);
        let answers = on_threads(&mut others, |i, t| {
            if i == 0 {
                started.wait();
                return (0, t.call::<(), ()>("abort_now", ()), t.state());
            }
            // Bump until refused (for 10 s at most); the aborting thread starts once this one
            // has bumped.
            let (mut returned, deadline) = (0, Instant::now() + Duration::from_secs(10));
            loop {
                let answer = t.call::<(), u32>("bump", ());
                if answer.starts_with("trap") || Instant::now() > deadline {
                    return (returned, answer, t.state());
                }
                returned += 1;
                if returned == 1 {
                    started.wait();
                }
            }
        });
        assert_eq!(answers[0], (0, TRAP.into(), "1".into()), "the abort");
        for (returned, answer, state) in &answers[1..] {
            assert!(*returned > 0);
            assert_eq!(
                (answer.as_str(), state.as_str()),
                (TRAP, "1"),
                "a running thread"
            );
        }
        assert_eq!(first.call::<(), u32>("count", ()), TRAP);
        assert_eq!(first.state(), "1");
        for t in &mut others {
            assert_eq!(
                (t.call::<(), u32>("bump", ()), t.state()),
                (TRAP.into(), "1".into())
            );
        }
    }

    #[test]
    fn one_thread_aborts_while_another_is_blocked_in_an_import_whose_return_and_call_back_are_refused()
     {
        let gate = Arc::new(Gate {
            blocked: Some(Arc::new(Barrier::new(2))),
            release: Some(Arc::new(Barrier::new(2))),
            ..Gate::default()
        });
        let (mut first, mut others) = program(&processed(), &gate);
        let answers = on_threads(&mut others[..2], |i, t| {
            if i == 0 {
                return (t.call::<(), u32>("wait_in_host", ()), t.state());
            }
            gate.blocked.as_ref().unwrap().wait(); // the other thread is in the import
            // A trap leaves no trace but in its own instance: the host, told of it, asks that
            // instance's state, whose guard then sets the word every instance reads.
            let abort = (t.call::<(), ()>("abort_now", ()), t.state());
            gate.call_back.store(true, Ordering::SeqCst);
            gate.release.as_ref().unwrap().wait();
            abort
        });
        assert_eq!(answers[1], (TRAP.into(), "1".into()), "the abort");
        assert_eq!(answers[0], (TRAP.into(), "1".into()), "the import's return");
        let callback = gate.callback.lock().unwrap().clone();
        assert_eq!(callback.as_deref(), Some(TRAP), "the call back in");
        assert_eq!(first.state(), "1");
        assert_eq!(others[2].call::<(), u32>("bump", ()), TRAP);
    }

    #[test]
    fn unprocessed_the_other_threads_keep_serving_after_one_aborts() {
        let (mut first, mut others) = program(&fixture(), &Arc::default());
        assert_eq!(others[0].call::<(), ()>("abort_now", ()), TRAP);
        assert_eq!(others[1].call::<(), u32>("bump", ()), "1");
        assert_eq!(first.call::<(), u32>("bump", ()), "2");
    }
}

/// A module over a shared, imported memory with no termination word it could safely use: it is
/// processed as before, with one warning (and `inspect` says the same), and an abort stops only
/// the instance that trapped.
mod no_shared_word {
    use ::wasmtime::{Config, Engine, Linker, MemoryType, Module, SharedMemory, Store};
    use support::cli::{Cli, stderr};

    const CLI: Cli = support::wasm_unwind!();

    const WAT: &str = r#"(module
        (import "env" "memory" (memory 1 1 shared))
        (func (export "bump") (result i32)
            (i32.add (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (i32.const 1)))
        (func (export "abort_now") unreachable))"#;
    const WARNING: &str = "an abort stops only the instance that trapped";

    #[test]
    fn is_processed_with_one_warning_and_inspect_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.wat"), dir.path().join("out.wasm"));
        std::fs::write(&input, WAT).unwrap();
        let processed = CLI.run(
            &[input.to_str().unwrap(), "-o", output.to_str().unwrap()],
            None,
        );
        assert!(processed.status.success(), "{}", stderr(&processed));
        let warnings: Vec<_> = stderr(&processed)
            .lines()
            .filter(|l| l.contains("warning"))
            .map(str::to_string)
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(WARNING), "{warnings:?}");
        let inspected = CLI.run(&["inspect", output.to_str().unwrap()], None);
        let text = String::from_utf8_lossy(&inspected.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("memory "))
            .expect("a memory line");
        assert!(line.contains(WARNING), "{text}");

        // Two instances over the memory: the one that trapped is refused, the other serves on.
        let mut config = Config::new();
        config.wasm_threads(true).shared_memory(true);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, std::fs::read(&output).unwrap()).unwrap();
        let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
        let mut linker = Linker::new(&engine);
        linker
            .define(&Store::new(&engine, ()), "env", "memory", memory)
            .unwrap();
        let mut stores = [Store::new(&engine, ()), Store::new(&engine, ())];
        let [a, b] = stores
            .each_mut()
            .map(|s| linker.instantiate(&mut *s, &module).unwrap());
        let [sa, sb] = &mut stores;
        let call = |i: ::wasmtime::Instance, s: &mut Store<()>, name: &str| {
            let f = i.get_typed_func::<(), i32>(&mut *s, name);
            f.and_then(|f| f.call(&mut *s, ()))
                .map_err(|e| e.to_string())
        };
        assert!(
            a.get_typed_func::<(), ()>(&mut *sa, "abort_now")
                .unwrap()
                .call(&mut *sa, ())
                .is_err()
        );
        assert_eq!(call(a, sa, "__wasm_unwind_state"), Ok(1));
        assert!(call(a, sa, "bump").is_err());
        assert_eq!(call(b, sb, "bump"), Ok(1));
        assert_eq!(call(b, sb, "__wasm_unwind_state"), Ok(0));
    }
}
