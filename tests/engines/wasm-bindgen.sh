#!/usr/bin/env bash
# Install the wasm-bindgen CLI a bindgen fixture needs, into a git-ignored folder at the repo root:
#
#   wasm-bindgen.sh                                  .engines/wasm-bindgen/bin/wasm-bindgen
#   wasm-bindgen.sh fixtures/bindgen-old/Cargo.lock  .engines/wasm-bindgen-old/bin/wasm-bindgen
#
# (crate wasm-bindgen-cli). The version is read from the fixture's Cargo.lock (default
# fixtures/bindgen/Cargo.lock; the `wasm-bindgen` package), never written here: the CLI refuses
# modules whose macro output has another schema version, so the two must not drift. Bump the
# fixture's `wasm-bindgen = "=X"`, re-lock, rebuild the fixture (fixtures/build.sh bindgen) and
# rerun this script.
#
# `cargo install --locked` compiles for several minutes on 2 cores (run it under `nice`).
# Idempotent: skipped when the installed binary already reports the pinned version.
# Runnable from any directory; needs cargo (stable is enough).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEFAULT_LOCK="$REPO_ROOT/fixtures/bindgen/Cargo.lock"
LOCK="$(realpath -m "${1:-$DEFAULT_LOCK}")"

die() { echo "wasm-bindgen.sh: $*" >&2; exit 1; }

[[ -f "$LOCK" ]] || die "$LOCK not found"
# The `version` line of the [[package]] whose name is exactly "wasm-bindgen".
VERSION="$(awk '
  /^\[\[package\]\]/ { name = "" }
  /^name = / { name = $3 }
  /^version = / && name == "\"wasm-bindgen\"" { gsub(/"/, "", $3); print $3; exit }
' "$LOCK")"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no wasm-bindgen version in $LOCK (got '$VERSION')"
# Named after the fixture's folder: fixtures/bindgen -> .engines/wasm-bindgen.
ROOT="$REPO_ROOT/.engines/wasm-$(basename "$(dirname "$LOCK")")"
BIN="$ROOT/bin/wasm-bindgen"

installed() { [[ -x "$BIN" ]] && [[ "$("$BIN" --version 2>/dev/null)" == "wasm-bindgen $VERSION" ]]; }

if installed; then
  echo "wasm-bindgen $VERSION: already installed ($BIN)"
  exit 0
fi

command -v cargo >/dev/null || die "cargo not found on PATH"
mkdir -p "$ROOT"
# Serialise concurrent runs (two test jobs starting at once).
if command -v flock >/dev/null; then
  exec 9>"$ROOT/.lock"
  flock 9
  if installed; then echo "wasm-bindgen $VERSION: already installed ($BIN)"; exit 0; fi
fi

echo "wasm-bindgen $VERSION: installing wasm-bindgen-cli into $ROOT"
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
LOG="$ROOT/install.log"
rm -f "$ROOT/LOCK-DRIFT"
# Run outside the repo so no workspace or .cargo/config of ours applies; stdin closed.
if ! (cd "$ROOT" && cargo install wasm-bindgen-cli --version "=$VERSION" --locked --force --root "$ROOT" \
      </dev/null 2> >(tee "$LOG" >&2)); then
  # A registry mirror can lack a version the CLI's own Cargo.lock pins (seen here: webpki-roots
  # 1.0.11, a dependency of the download code the CLI has for its test runner). Only for that
  # failure: unpack the published crate, move just the missing packages to the newest version
  # the registry has, and install from that lockfile, still --locked. What moved is written to
  # .engines/wasm-bindgen/LOCK-DRIFT, the lockfile used to Cargo.lock.used.
  grep -q 'failed to select a version for the requirement' "$LOG" \
    || die "cargo install wasm-bindgen-cli --version =$VERSION --locked failed (see $LOG)"
  crate="$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"wasm-bindgen-cli-$VERSION.crate" 2>/dev/null | head -n1)"
  [[ -f "$crate" ]] || die "locked install failed and wasm-bindgen-cli-$VERSION.crate is not in cargo's cache"
  # Outside the repo: under it, our own Cargo.toml would claim the package as a workspace member.
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/wasm-bindgen-cli.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  src="$tmp/src"
  mkdir -p "$src"
  tar -xzf "$crate" -C "$src"
  src="$src/wasm-bindgen-cli-$VERSION"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if (cd "$src" && cargo metadata --locked --format-version 1 >/dev/null 2>"$LOG" </dev/null); then
      break
    fi
    # error: failed to select a version for the requirement `NAME = "^X"` (locked to V)
    missing="$(sed -n 's/.*failed to select a version for the requirement `\([^ ]*\) = .*(locked to \([^)]*\)).*/\1@\2/p' "$LOG" | head -n1)"
    [[ -n "$missing" ]] || die "cannot resolve the CLI's Cargo.lock here (see $LOG)"
    echo "  $missing is not in the registry: cargo update -p $missing" >&2
    (cd "$src" && cargo update -p "$missing" </dev/null 2>&1 | grep -E 'Updating|Downgrading' | tee -a "$ROOT/LOCK-DRIFT") \
      || die "cargo update -p $missing failed"
  done
  (cd "$src" && cargo metadata --locked --format-version 1 >/dev/null </dev/null) \
    || die "still cannot resolve the CLI's Cargo.lock (see $LOG)"
  cp "$src/Cargo.lock" "$ROOT/Cargo.lock.used"
  # cargo install --path would keep the package's own target/: build in the temporary dir.
  (cd "$src" && cargo install --path . --locked --force --root "$ROOT" --target-dir "$tmp/target" </dev/null) \
    || die "cargo install --path $src --locked failed"
fi

installed || die "$BIN does not report 'wasm-bindgen $VERSION' (got '$("$BIN" --version 2>&1 || true)')"
echo "$BIN: $("$BIN" --version)"
