#!/usr/bin/env bash
# The JS-engine benchmark: writes the processed fixtures (both EH encodings) with the release CLI
# into benches/out/ (git-ignored), then runs benches/runtime.mjs on them in Deno (both encodings;
# installed by tests/engines/install.sh) and in this machine's Node (legacy).
# Runnable from any directory. Needs cargo and node. BENCH_RUNS, BENCH_CALLS, BENCH_PANICS as in
# benches/runtime.mjs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/benches/out"
cd "$root"

cargo build --release --locked --bin wasm-unwind
cli="$root/target/release/wasm-unwind"

mkdir -p "$out"
for enc in exnref legacy; do
    cp "fixtures/wasm/panics.$enc.wasm" "$out/panics.$enc.unprocessed.wasm"
    "$cli" "fixtures/wasm/panics.$enc.wasm" -o "$out/panics.$enc.wasm" -q
    "$cli" "fixtures/wasm/panics.$enc.wasm" -o "$out/panics.$enc.noguard.wasm" --no-abort-guard -q
    "$cli" "fixtures/wasm/panics-rt.$enc.wasm" -o "$out/panics-rt.$enc.wasm" -q
    cp "fixtures/wasm/medium.$enc.wasm" "$out/medium.$enc.unprocessed.wasm"
    "$cli" "fixtures/wasm/medium.$enc.wasm" -o "$out/medium.$enc.wasm" -q
    "$cli" "fixtures/wasm/medium.$enc.wasm" -o "$out/medium.$enc.noguard.wasm" --no-abort-guard -q
done

# Deno (V8 of Deno 2.9, both encodings), then this machine's Node (Node 20 runs legacy only).
bash "$root/tests/engines/install.sh" >/dev/null
export DENO_DIR="$root/.engines/deno-dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
for enc in exnref legacy; do
    "$root/.engines/bin/deno" run --allow-read --allow-env --allow-sys "$root/benches/runtime.mjs" "$out" "$enc"
done
node "$root/benches/runtime.mjs" "$out" legacy
