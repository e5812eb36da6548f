#!/usr/bin/env bash
# Install the two browsers tests/browsers.rs runs the end-to-end suite in, from Debian's
# packages, pinned (Debian 12 "bookworm" + bookworm-security):
#
#   chromium      /usr/bin/chromium       (V8, like Deno and Node)
#   firefox-esr   /usr/bin/firefox-esr    (SpiderMonkey, a second engine family)
#
# Idempotent: nothing is fetched when both are installed at the pinned versions. Needs apt-get
# and root (or sudo). Any failure exits non-zero; a missing browser fails the tests, never
# skips them.
set -euo pipefail

# --- pinned versions (the candidates of bookworm-security when written) -------
CHROMIUM_VERSION=156.0.8078.108-1~deb12u1
FIREFOX_VERSION=153.8.0esr-1~deb12u1
# -----------------------------------------------------------------------------

die() { echo "browsers.sh: $*" >&2; exit 1; }

installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

if [[ "$(installed chromium)" == "$CHROMIUM_VERSION" && "$(installed firefox-esr)" == "$FIREFOX_VERSION" ]]; then
  echo "chromium $CHROMIUM_VERSION, firefox-esr $FIREFOX_VERSION: already installed"
else
  command -v apt-get >/dev/null || die "apt-get not found: install chromium=$CHROMIUM_VERSION and firefox-esr=$FIREFOX_VERSION yourself"
  SUDO=()
  [[ "$(id -u)" == 0 ]] || SUDO=(sudo)
  # Serialise concurrent runs (two test binaries starting at once).
  exec 9>"${TMPDIR:-/tmp}/wasm-unwind-browsers.lock"
  flock 9
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    "chromium=$CHROMIUM_VERSION" "chromium-common=$CHROMIUM_VERSION" \
    "firefox-esr=$FIREFOX_VERSION" \
    || die "apt-get install failed (are the pinned versions still in the package lists? apt-cache policy chromium firefox-esr)"
fi

# Both must run and say the pinned versions.
chromium_v="$(chromium --version 2>/dev/null)" || die "chromium does not run"
firefox_v="$(firefox-esr --version 2>/dev/null)" || die "firefox-esr does not run"
[[ "$chromium_v" == "Chromium ${CHROMIUM_VERSION%%-*}"* ]] || die "unexpected chromium version: $chromium_v"
[[ "$firefox_v" == "Mozilla Firefox ${FIREFOX_VERSION%%esr-*}esr"* ]] || die "unexpected firefox-esr version: $firefox_v"
echo "chromium:    $chromium_v"
echo "firefox-esr: $firefox_v"
