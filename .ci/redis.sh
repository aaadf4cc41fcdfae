#!/usr/bin/env bash
# Start/stop/inspect Debian's redis-server for the tests (the shared rate-limit store of several server processes).
#
#   bash .ci/redis.sh start    # start on 127.0.0.1:$REDIS_PORT (loopback only, no disk persistence), wait for PONG
#   bash .ci/redis.sh stop     # shut it down (idempotent)
#   bash .ci/redis.sh status   # exit 0 when it answers PING
#   bash .ci/redis.sh logs [N] # last N lines of its log (default 50)
#   bash .ci/redis.sh url      # print the URL the tests use (MARKET_TEST_REDIS_URL)
#
# Runs as the "redis" user when it exists (Debian's package creates it). Every command is idempotent.
# Tunables (env): REDIS_PORT (6379), REDIS_WAIT_SECONDS (30), REDIS_DIR (/var/lib/redis-market-ci).
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_WAIT_SECONDS="${REDIS_WAIT_SECONDS:-30}"
REDIS_DIR="${REDIS_DIR:-/var/lib/redis-market-ci}"
LOG_FILE="$REDIS_DIR/redis.log"
PID_FILE="$REDIS_DIR/redis.pid"

SERVICE=redis
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

is_ready() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

cmd_start() {
    command -v redis-server >/dev/null || die "redis-server not found; install the 'redis-server' Debian package"
    if is_ready; then
        log "already running on 127.0.0.1:${REDIS_PORT}"
        return 0
    fi
    mkdir -p "$REDIS_DIR"
    local user=root
    if id redis >/dev/null 2>&1; then
        user=redis
        chown redis: "$REDIS_DIR"
    fi
    # Loopback only, protected mode on, no RDB/AOF files: the limits it holds are worth nothing after a restart.
    runuser -u "$user" -- redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --daemonize yes --pidfile "$PID_FILE" --logfile "$LOG_FILE" --dir "$REDIS_DIR" \
        --save '' --appendonly no --maxmemory 64mb --maxmemory-policy volatile-lru \
        || die "redis-server did not start"
    ci_wait "$REDIS_WAIT_SECONDS" 0.2 until is_ready || {
        tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
        die "Redis did not answer PING on 127.0.0.1:${REDIS_PORT}"
    }
    log "ready: $(cmd_url)"
}

cmd_stop() {
    if is_ready; then
        log "stopping"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    else
        log "not running"
    fi
    ci_wait "$REDIS_WAIT_SECONDS" 0.2 while is_ready || die "still answering after shutdown"
}

cmd_status() {
    if is_ready; then
        log "running on 127.0.0.1:${REDIS_PORT} ($(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info server \
            | tr -d '\r' | sed -n 's/^redis_version://p'))"
        return 0
    fi
    log "not answering on 127.0.0.1:${REDIS_PORT}"
    return 3
}

cmd_logs() { ci_logs "$LOG_FILE" "$@"; }

cmd_url() {
    printf 'redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
}

ci_main "$@"
