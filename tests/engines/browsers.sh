#!/usr/bin/env bash
# Install the two browsers tests/browsers.rs runs the end-to-end suite in, from Debian's
# packages, pinned to a major line (Debian 12 "bookworm" + bookworm-security):
#
#   chromium      /usr/bin/chromium       (V8, like Deno and Node)
#   firefox-esr   /usr/bin/firefox-esr    (SpiderMonkey, a second engine family)
#
# Idempotent: nothing is fetched when both are installed from the pinned lines. Needs apt-get
# and root (or sudo). Any failure exits non-zero; a missing browser fails the tests, never
# skips them.
#
# The pin is the major version, not the exact package version: bookworm-security keeps only
# its newest build, so an exact pin (156.0.8078.108 when first written) stops installing the
# day Debian ships a security update. The candidate must be of the pinned line, else this fails.
set -euo pipefail

# --- pinned lines (bookworm-security's when written) ---------------------------
CHROMIUM_LINE=156
FIREFOX_LINE=153
# -----------------------------------------------------------------------------

die() { echo "browsers.sh: $*" >&2; exit 1; }

installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
candidate() { apt-cache policy "$1" | awk '/Candidate:/ { print $2 }'; }
of_line() { [[ "$1" == "$2".* ]]; }

if of_line "$(installed chromium)" "$CHROMIUM_LINE" && of_line "$(installed firefox-esr)" "$FIREFOX_LINE"; then
  echo "chromium $(installed chromium), firefox-esr $(installed firefox-esr): already installed"
else
  command -v apt-get >/dev/null || die "apt-get not found: install chromium $CHROMIUM_LINE and firefox-esr $FIREFOX_LINE yourself"
  SUDO=()
  [[ "$(id -u)" == 0 ]] || SUDO=(sudo)
  # Serialise concurrent runs (two test binaries starting at once).
  exec 9>"${TMPDIR:-/tmp}/wasm-unwind-browsers.lock"
  flock 9
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
  chromium_pkg="$(candidate chromium)"
  firefox_pkg="$(candidate firefox-esr)"
  of_line "$chromium_pkg" "$CHROMIUM_LINE" || die "chromium candidate $chromium_pkg is not of line $CHROMIUM_LINE"
  of_line "$firefox_pkg" "$FIREFOX_LINE" || die "firefox-esr candidate $firefox_pkg is not of line $FIREFOX_LINE"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    "chromium=$chromium_pkg" "chromium-common=$chromium_pkg" \
    "firefox-esr=$firefox_pkg" \
    || die "apt-get install failed (apt-cache policy chromium firefox-esr)"
fi

# Both must run and be of the pinned lines.
chromium_v="$(chromium --version 2>/dev/null)" || die "chromium does not run"
firefox_v="$(firefox-esr --version 2>/dev/null)" || die "firefox-esr does not run"
[[ "$chromium_v" == "Chromium $CHROMIUM_LINE."* ]] || die "unexpected chromium version: $chromium_v"
[[ "$firefox_v" == "Mozilla Firefox $FIREFOX_LINE."* ]] || die "unexpected firefox-esr version: $firefox_v"
echo "chromium:    $chromium_v"
echo "firefox-esr: $firefox_v"
