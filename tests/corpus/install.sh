#!/usr/bin/env bash
# Install the real-world corpus of tests/corpus.rs (and benches/corpus.rs): the npm packages
# pinned exactly in tests/corpus/package.json, every dependency pinned with its integrity hash by
# tests/corpus/package-lock.json, into the git-ignored folder .engines/corpus/node_modules/.
#
# `npm ci --ignore-scripts`: the lockfile as written, no install scripts run. Idempotent: when the
# stamp .engines/corpus/STAMP holds the lockfile's hash and every package is there, nothing is
# done. Any failure (download, integrity, a package missing after install) exits non-zero.
# Runnable from any directory; needs bash, npm (any node), sha256sum. Serialised with flock.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$REPO_ROOT/tests/corpus"
DEST="$REPO_ROOT/.engines/corpus"

die() { echo "corpus/install.sh: $*" >&2; exit 1; }
command -v npm >/dev/null || die "npm not found on PATH"

mkdir -p "$DEST"
if command -v flock >/dev/null; then
  exec 9>"$DEST/.lock"
  flock 9
fi

# Every package the drivers load is installed at its pinned version (one node run checks all).
installed_ok() {
  node -e '
    const [src, dest] = process.argv.slice(1);
    for (const [name, version] of Object.entries(require(src).dependencies)) {
      let got;
      try { got = require(`${dest}/${name}/package.json`).version; } catch { process.exit(1); }
      if (got !== version) process.exit(1);
    }' "$SRC/package.json" "$DEST/node_modules"
}

want="$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$DEST/STAMP" && "$(cat "$DEST/STAMP")" == "$want" ]] && installed_ok; then
  echo "corpus: already installed ($DEST/node_modules)"
  exit 0
fi

echo "corpus: installing into $DEST/node_modules"
rm -f "$DEST/STAMP"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
started=$SECONDS
(cd "$DEST" && NPM_CONFIG_UPDATE_NOTIFIER=false npm ci --ignore-scripts --no-audit --no-fund \
  --loglevel=error) || die "npm ci failed in $DEST"
installed_ok || die "a pinned package is missing or at another version after npm ci"
echo "$want" >"$DEST/STAMP"
echo "corpus: installed in $((SECONDS - started)) s, $(du -sh "$DEST/node_modules" | cut -f1)"
