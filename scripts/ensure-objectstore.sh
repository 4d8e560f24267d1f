#!/usr/bin/env bash
# Install the S3-compatible object store of the tests (s3rver, tools/objectstore/) from its
# committed package-lock.json with the machine's Node.js, unless it is already installed at
# that lock. Installs Debian's nodejs and npm if they are missing (scripts/apt-install.sh).
# Nothing is fetched at test run time: tests/objectstore.py starts
# tools/objectstore/server.js from this folder.
set -euo pipefail

DIR="$(cd "$(dirname "$0")/.." && pwd)/tools/objectstore"
STAMP="$DIR/node_modules/.zkarena-lock"

log() { printf 'ensure-objectstore: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    "$(dirname "$0")/apt-install.sh" ensure-objectstore nodejs npm
fi

if [[ -f "$STAMP" ]] && cmp -s "$STAMP" "$DIR/package-lock.json"; then
    log "s3rver is installed ($(node --version))"
    exit 0
fi
log "installing s3rver from tools/objectstore/package-lock.json"
npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error
cp "$DIR/package-lock.json" "$STAMP"
log "installed ($(node --version))"
