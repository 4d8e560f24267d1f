#!/usr/bin/env bash
# Install Debian's docker-compose (a Compose client: tests/test_docker.py validates
# docker/compose.yaml with it), unless `docker compose` or `docker-compose` already works.
# Idempotent and non-interactive; needs root (or password-less sudo) only to install.
set -euo pipefail

log() { printf 'ensure-compose: %s\n' "$*" >&2; }

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    log "$(docker compose version | head -n 1)"
    exit 0
fi
if command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
    log "$(docker-compose version | head -n 1)"
    exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        log "no Compose client and installing one needs root: apt-get install docker-compose"
        exit 1
    fi
fi

log "installing Debian's docker-compose"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q docker-compose
log "$(docker-compose version | head -n 1)"
