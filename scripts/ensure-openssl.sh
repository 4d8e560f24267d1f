#!/usr/bin/env bash
# Install Debian's openssl (its `ts` command is the local RFC 3161 timestamp authority of the
# tests and of scripts/local_tsa.py), unless `openssl ts` already works.
# Idempotent and non-interactive; needs root (or password-less sudo) only to install
# (scripts/apt-install.sh).
set -euo pipefail

log() { printf 'ensure-openssl: %s\n' "$*" >&2; }

if command -v openssl >/dev/null 2>&1 && openssl ts -help >/dev/null 2>&1; then
    log "$(openssl version) with ts is installed"
    exit 0
fi

"$(dirname "$0")/apt-install.sh" ensure-openssl openssl
log "$(openssl version)"
