#!/usr/bin/env bash
# Start the local services the test suite talks to, unless they already answer, and wait
# until each one does. Idempotent: a service that answers is left alone.
#
#   scripts/ensure-services.sh [postgresql] [redis] [rabbitmq]   (default: all three)
#
# REDIS_PORT (default 6379) picks the Redis instance to check or start.
# The start commands are the ones this machine's own setup uses.
set -euo pipefail

WAIT_SECONDS=${WAIT_SECONDS:-90}
REDIS_PORT=${REDIS_PORT:-6379}

log() { printf 'ensure-services: %s\n' "$*" >&2; }

# wait_until NAME CHECK... : run CHECK until it succeeds, for at most WAIT_SECONDS.
wait_until() {
    local name=$1
    shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "$name did not answer within ${WAIT_SECONDS}s"
            return 1
        fi
        sleep 1
    done
}

need() {
    command -v "$1" >/dev/null 2>&1 || {
        log "$1 not found: install $2 or start the service yourself"
        exit 1
    }
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

postgres_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }
rabbitmq_ready() { tcp_open 127.0.0.1 5672; }

ensure_postgresql() {
    need pg_isready postgresql-client
    if postgres_ready; then
        log "PostgreSQL answers on 127.0.0.1:5432"
        return
    fi
    need pg_ctlcluster postgresql-common
    local version
    for version in /etc/postgresql/*/; do
        version=$(basename "$version")
        log "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    wait_until PostgreSQL postgres_ready
    log "PostgreSQL started"
}

ensure_redis() {
    need redis-cli redis-tools
    if redis_ready; then
        log "Redis answers on 127.0.0.1:$REDIS_PORT"
        return
    fi
    need redis-server redis-server
    log "starting Redis on port $REDIS_PORT"
    mkdir -p /var/lib/redis /var/log/redis
    # Nothing on disk: Redis is only the broker of throwaway test runs here.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_until Redis redis_ready
    log "Redis started"
}

ensure_rabbitmq() {
    if rabbitmq_ready; then
        log "RabbitMQ answers on 127.0.0.1:5672"
        return
    fi
    need rabbitmq-server rabbitmq-server
    log "starting RabbitMQ"
    rabbitmq-server -detached
    wait_until RabbitMQ rabbitmq_ready
    log "RabbitMQ started"
}

services=("$@")
((${#services[@]})) || services=(postgresql redis rabbitmq)
for service in "${services[@]}"; do
    case $service in
        postgresql | postgres) ensure_postgresql ;;
        redis) ensure_redis ;;
        rabbitmq) ensure_rabbitmq ;;
        *)
            log "unknown service: $service (known: postgresql redis rabbitmq)"
            exit 2
            ;;
    esac
done
