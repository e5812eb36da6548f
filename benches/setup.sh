#!/usr/bin/env bash
# Installs the comparison tool for benches/process.rs: wasm-opt from the npm `binaryen` package,
# pinned, into benches/node_modules (git-ignored). Runnable from any directory. Needs npm.
#
# The bench finds it at benches/node_modules/.bin/wasm-opt; set WASM_OPT=/path/to/wasm-opt to
# use another one instead.
set -euo pipefail

BINARYEN_VERSION="${BINARYEN_VERSION:-132.0.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# --prefix keeps npm from walking up to a package.json of the repository (there is none today).
npm install --no-save --no-audit --no-fund --prefix "$here" "binaryen@$BINARYEN_VERSION"
"$here/node_modules/.bin/wasm-opt" --version
