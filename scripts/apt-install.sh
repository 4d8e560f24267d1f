#!/usr/bin/env bash
# Install Debian packages non-interactively, as root or through password-less sudo; the
# ensure-*.sh scripts call it only when what they need is missing.
#   scripts/apt-install.sh <who> <package>...     (<who> prefixes the log lines)
set -euo pipefail

who=$1
shift
log() { printf '%s: %s\n' "$who" "$*" >&2; }

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        log "installing $* needs root: apt-get install $*"
        exit 1
    fi
fi

log "installing Debian's $*"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q "$@"
