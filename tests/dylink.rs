//! Emscripten dynamic linking, in Node 24 with Emscripten's own loader: the glue of
//! web-tree-sitter (from the corpus, `tests/corpus/install.sh`), whose main module loads side
//! modules with `loadWebAssemblyModule` at a base it allocates. Processed and unprocessed main
//! and side modules mix and compute the same (the tree-sitter JavaScript grammar, a real side
//! module); a side module linking the runtime's word keeps it at its relocated address, so a
//! trap ends that module and leaves the main's memory and the other side modules alone, as
//! `inspect` and the warning say (an abort does not cross modules: README "Threads and linked
//! modules").

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
fn side_with_its_own_word_says_an_abort_ends_only_it() {
    let (_, warnings) = processed(&side());
    let linked = warnings.iter().filter(|w| w.contains("dynamically linked"));
    assert_eq!(linked.count(), 1, "{warnings:?}");
    let facts = inspect(&side()).expect("inspects");
    assert!(
        facts
            .to_table()
            .contains("main and side modules linked with it keep running")
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
