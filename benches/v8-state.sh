#!/usr/bin/env bash
# Why the guard costs what it does in V8 (issue 14): assembles benches/v8-state/state.wat with the
# npm binaryen wasm-opt that tests/engines/install.sh pins, then times its exports in Deno and in
# Node 24 (benches/v8-state/state.mjs). Prints one Markdown table per engine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tests/engines/install.sh" >/dev/null
out="$root/benches/out"
mkdir -p "$out"
node "$root/.engines/binaryen/bin/wasm-opt" "$root/benches/v8-state/state.wat" --all-features \
    -o "$out/state.wasm" 2>/dev/null
export DENO_DIR="$root/.engines/deno-dir" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
echo "Deno $("$root/.engines/bin/deno" --version | head -1 | cut -d' ' -f2):"
"$root/.engines/bin/deno" run --allow-read "$root/benches/v8-state/state.mjs" "$out/state.wasm"
echo
echo "Node $("$root/.engines/bin/node24" --version):"
"$root/.engines/bin/node24" "$root/benches/v8-state/state.mjs" "$out/state.wasm"
