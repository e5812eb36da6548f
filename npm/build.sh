#!/usr/bin/env bash
# Builds the npm package in npm/: the wasm-unwind tool compiled to wasm32-wasip1 (profile `npm`:
# release, stripped), the licence files, and the version of Cargo.toml in package.json.
# Then `cd npm && npm pack` makes the tarball. The build is cached in target/ as any cargo build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! rustup target list --installed | grep -qx wasm32-wasip1; then
    rustup target add wasm32-wasip1
fi
cargo build --locked --profile npm --target wasm32-wasip1 --bin wasm-unwind
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip1/npm/wasm-unwind.wasm" npm/wasm-unwind.wasm
cp LICENSE-MIT LICENSE-APACHE npm/

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
(cd npm && npm pkg set version="$version")
echo "npm/: wasm-unwind $version, $(wc -c < npm/wasm-unwind.wasm) bytes of wasm"
