//! Emscripten dynamic linking, in Node 24 with Emscripten's own loader: the glue of
//! web-tree-sitter (from the corpus, `tests/corpus/install.sh`), whose main module loads side
//! modules with `loadWebAssemblyModule` at a base it allocates. Processed and unprocessed main
//! and side modules mix and compute the same (the tree-sitter JavaScript grammar, a real side
//! module). Side modules linking the runtime's word share one through the loader's `GOT.mem`
//! (the first loaded one's, at its relocated address): a trap in any of them ends all of them,
//! either way round and for one loaded later, and leaves alone the main's memory and the modules
//! without the runtime, as `inspect` and the warning say (README "Threads and linked modules").

mod engines;

use std::path::Path;
use std::sync::Once;

use wasm_unwind::{Options, inspect};

const TREE_SITTER: &str = ".engines/corpus/node_modules/web-tree-sitter";
const GRAMMAR: &str =
    ".engines/corpus/node_modules/tree-sitter-javascript/tree-sitter-javascript.wasm";

/// A file of the installed corpus, installing it when missing.
fn corpus(path: &str) -> Vec<u8> {
    static INSTALL: Once = Once::new();
    let path = engines::installed(path, &["../corpus/install.sh"], &INSTALL);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn side() -> Vec<u8> {
    let path = engines::repo().join("fixtures/dylink/side.wat");
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Processes `wasm`, returning it and the warnings.
fn processed(wasm: &[u8]) -> (Vec<u8>, Vec<String>) {
    let out = wasm_unwind::process(wasm, &Options::default()).expect("processes");
    (out.wasm, out.report.warnings)
}

#[test]
fn side_with_a_word_says_an_abort_ends_the_modules_with_the_runtime() {
    let (_, warnings) = processed(&side());
    let linked = warnings.iter().filter(|w| w.contains("dynamically linked"));
    assert_eq!(linked.count(), 1, "{warnings:?}");
    let (wasm, _) = processed(&side());
    let text = wasmprinter::print_bytes(&wasm).unwrap();
    assert!(
        text.contains(r#"(import "GOT.mem" "__wasm_unwind_terminated" (global"#),
        "the program's word is imported"
    );
    let facts = inspect(&side()).expect("inspects");
    assert!(
        facts
            .to_table()
            .contains("main and side modules without the runtime keep running")
    );
}

#[test]
fn grammar_without_a_word_says_an_abort_stops_only_the_trapped_instance() {
    let (_, warnings) = processed(&corpus(GRAMMAR));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("only the instance that trapped")),
        "{warnings:?}"
    );
}

#[test]
fn emscripten_loader() {
    let glue = corpus(&format!("{TREE_SITTER}/web-tree-sitter.cjs"));
    let main = corpus(&format!("{TREE_SITTER}/web-tree-sitter.wasm"));
    let grammar = corpus(GRAMMAR);
    engines::node::run_suite_in(
        engines::engine("node24"),
        "dylink.test.mjs",
        |dir: &Path| {
            let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
            // One copy of the glue for each main: each is a program of its own in one process.
            for side in ["plain", "processed"] {
                std::fs::create_dir(dir.join(side)).unwrap();
                std::fs::write(dir.join(side).join("web-tree-sitter.cjs"), &glue).unwrap();
            }
            write("plain/web-tree-sitter.wasm", &main);
            write("processed/web-tree-sitter.wasm", &processed(&main).0);
            write("grammar.plain.wasm", &grammar);
            write("grammar.processed.wasm", &processed(&grammar).0);
            write("side.plain.wasm", &side());
            write("side.processed.wasm", &processed(&side()).0);
        },
    );
}

/// Position-independent code that uses the runtime's static itself reaches it through the same
/// `GOT.mem` import: the guard uses that one rather than importing the symbol twice.
#[test]
fn a_side_module_that_already_imports_the_word_keeps_one_import() {
    let source = std::fs::read_to_string(engines::repo().join("fixtures/dylink/side.wat")).unwrap();
    let got = r#"(import "GOT.mem" "__wasm_unwind_terminated" (global $got (mut i32)))"#;
    let wat = source.replacen("(global (export", &format!("{got}\n  (global (export"), 1);
    let (wasm, _) = processed(&wat::parse_str(&wat).unwrap());
    let text = wasmprinter::print_bytes(&wasm).unwrap();
    let imports = text.matches(r#"(import "GOT.mem" "__wasm_unwind_terminated""#);
    assert_eq!(imports.count(), 1, "{text}");
    assert!(text.contains("global.get $got\n    global.get $got\n    i32.eqz\n    select"));
}

/// A loader that has not filled the `GOT.mem` import yet (it is 0 while a module is being
/// instantiated, before the loader reads its exports): the guard uses the module's own word, at
/// its relocated address, rather than address 0. In Wasmtime, the side module's imports given by
/// hand, as a loader would.
#[test]
fn before_the_loader_fills_the_import_the_module_uses_its_own_word() {
    use wasmtime::{Global, GlobalType, Memory, MemoryType, Mutability, Store, Val, ValType};
    let module = support::host::compile(&processed(&side()).0);
    let mut store = Store::new(support::host::engine(), ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let global = |store: &mut Store<()>, mutability, value| {
        let ty = GlobalType::new(ValType::I32, mutability);
        Global::new(store, ty, Val::I32(value)).unwrap().into()
    };
    const BASE: i32 = 1024;
    let imports: Vec<wasmtime::Extern> = wasmtime::Module::imports(&module)
        .map(|import| match (import.module(), import.name()) {
            ("env", "memory") => memory.into(),
            ("env", "__memory_base") => global(&mut store, Mutability::Const, BASE),
            ("GOT.mem", "__wasm_unwind_terminated") => global(&mut store, Mutability::Var, 0),
            other => panic!("unexpected import {other:?}"),
        })
        .collect();
    let instance = wasmtime::Instance::new(&mut store, &module, &imports).unwrap();
    let bump = instance
        .get_typed_func::<(), i32>(&mut store, "bump")
        .unwrap();
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    let state = (instance.get_typed_func::<(), i32>(&mut store, "__wasm_unwind_state")).unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap(), 1);
    assert!(boom.call(&mut store, ()).is_err());
    assert_eq!(state.call(&mut store, ()).unwrap(), 1);
    let word = |store: &Store<()>, at: usize| memory.data(store)[at];
    assert_eq!(
        word(&store, BASE as usize + 8),
        1,
        "its own word, relocated, is set"
    );
    assert_eq!(word(&store, 0), 0, "address 0 is left alone");
}
