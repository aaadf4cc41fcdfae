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

log() { printf '[redis] %s\n' "$*" >&2; }
die() { printf '[redis] ERROR: %s\n' "$*" >&2; exit 1; }

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
    local deadline=$((SECONDS + REDIS_WAIT_SECONDS))
    until is_ready; do
        if ((SECONDS >= deadline)); then
            tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
            die "Redis did not answer PING on 127.0.0.1:${REDIS_PORT}"
        fi
        sleep 0.2
    done
    log "ready: $(cmd_url)"
}

cmd_stop() {
    if is_ready; then
        log "stopping"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    else
        log "not running"
    fi
    local deadline=$((SECONDS + REDIS_WAIT_SECONDS))
    while is_ready; do
        ((SECONDS < deadline)) || die "still answering after shutdown"
        sleep 0.2
    done
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

cmd_logs() {
    local n="${1:-50}"
    if [[ -r "$LOG_FILE" ]]; then tail -n "$n" "$LOG_FILE"; else log "no log file at ${LOG_FILE}"; fi
}

cmd_url() {
    printf 'redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    logs) shift; cmd_logs "$@" ;;
    url) cmd_url ;;
    *) echo "usage: $0 {start|stop|restart|status|logs [N]|url}" >&2; exit 2 ;;
esac
