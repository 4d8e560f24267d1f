#!/usr/bin/env bash
# Install Debian's docker-compose (a Compose client: tests/test_docker.py validates
# docker/compose.yaml with it), unless `docker compose` or `docker-compose` already works.
# Idempotent and non-interactive; needs root (or password-less sudo) only to install
# (scripts/apt-install.sh).
set -euo pipefail

log() { printf 'ensure-compose: %s\n' "$*" >&2; }

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    log "$(docker compose version | head -n 1)"
    exit 0
fi
if ! command -v docker-compose >/dev/null 2>&1; then
    "$(dirname "$0")/apt-install.sh" ensure-compose docker-compose
fi
log "$(docker-compose version | head -n 1)"
