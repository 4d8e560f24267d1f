#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests, unless /usr/bin/chromium is there.
# Playwright drives this system browser; it never downloads a browser of its own.
# Idempotent and non-interactive; needs root (or password-less sudo).
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
log() { printf 'ensure-chromium: %s\n' "$*" >&2; }

if [[ -x "$CHROMIUM" ]]; then
    log "$CHROMIUM is installed"
    exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        log "$CHROMIUM is missing and installing it needs root: apt-get install chromium"
        exit 1
    fi
fi

log "installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q chromium
log "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
