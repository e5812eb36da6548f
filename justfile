# wasm-unwind tasks. `just --list` shows them.

# Build the command-line tool (release).
build:
    cargo build --release

# Run every test: Rust unit and integration tests, wasmtime and Node end to end, the Wasmtime host library.
test:
    cargo test
    cargo test -p wasm-unwind-wasmtime

# What CI runs.
ci:
    bash .ci/run

# Rebuild the committed fixture modules from fixtures/*/ (needs nightly; installs rust-src and the target).
fixtures:
    fixtures/build.sh

# Benchmarks (see BENCHMARKS.md).
bench:
    cargo bench

# Process the bundled fixture, as in the README.
demo:
    cargo run --release -- fixtures/wasm/panics.exnref.wasm -o target/panics.wasm
