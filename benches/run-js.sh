#!/usr/bin/env bash
# The JS-engine benchmark: writes the processed legacy-EH modules with the release CLI into
# benches/out/ (git-ignored), then runs benches/runtime.mjs on them in Node.
# Runnable from any directory. Needs cargo and node. BENCH_RUNS, BENCH_CALLS, BENCH_PANICS as in
# benches/runtime.mjs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/benches/out"
cd "$root"

cargo build --release --locked --bin wasm-unwind
cli="$root/target/release/wasm-unwind"

mkdir -p "$out"
cp fixtures/wasm/panics.legacy.wasm "$out/panics.legacy.unprocessed.wasm"
"$cli" fixtures/wasm/panics.legacy.wasm -o "$out/panics.legacy.wasm" -q
"$cli" fixtures/wasm/panics.legacy.wasm -o "$out/panics.legacy.noguard.wasm" --no-abort-guard -q

node "$root/benches/runtime.mjs" "$out"
