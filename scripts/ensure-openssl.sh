#!/usr/bin/env bash
# Install Debian's openssl (its `ts` command is the local RFC 3161 timestamp authority of the
# tests and of scripts/local_tsa.py), unless `openssl ts` already works.
# Idempotent and non-interactive; needs root (or password-less sudo) only to install.
set -euo pipefail

log() { printf 'ensure-openssl: %s\n' "$*" >&2; }

if command -v openssl >/dev/null 2>&1 && openssl ts -help >/dev/null 2>&1; then
    log "$(openssl version) with ts is installed"
    exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        log "openssl is missing and installing it needs root: apt-get install openssl"
        exit 1
    fi
fi

log "installing Debian's openssl"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q openssl
log "$(openssl version)"
