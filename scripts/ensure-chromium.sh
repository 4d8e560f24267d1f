#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests, unless /usr/bin/chromium is there.
# Playwright drives this system browser; it never downloads a browser of its own.
# Idempotent and non-interactive; needs root (or password-less sudo) only to install
# (scripts/apt-install.sh).
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
log() { printf 'ensure-chromium: %s\n' "$*" >&2; }

if [[ -x "$CHROMIUM" ]]; then
    log "$CHROMIUM is installed"
    exit 0
fi

"$(dirname "$0")/apt-install.sh" ensure-chromium chromium
log "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
