#!/usr/bin/env bash
# Fetch (from Maven Central, with Maven) and run the real Elasticsearch server for CI and local dev.
#
#   .ci/elasticsearch.sh [start]   fetch if needed, start if not healthy, wait for yellow, print the URL
#   .ci/elasticsearch.sh stop      stop the server started by this script (used by fault-injection tests)
#   .ci/elasticsearch.sh status    exit 0 when the server answers healthy
#
# Environment (all optional):
#   MARKET_ES_VERSION  server version (default below: the newest integ-test-zip that resolves on Maven Central;
#                      no 9.x integ-test-zip resolves there, see the note at ES_VERSION)
#   MARKET_CACHE       cache root outside the repo (default ~/.cache/ip-pledge-market)
#   MARKET_ES_PORT     HTTP port (default 9200)
#   MARKET_ES_HEAP     heap size (default 512m)
#   ES_JAVA_HOME       JDK 21+ (default /usr/lib/jvm/temurin-25-jdk-amd64)
#   MARKET_ES_USER     unprivileged user that runs the server when invoked as root (default elastic)
set -euo pipefail

# 9.3.0 and 9.5.1 answer "not found" on Maven Central for integ-test-zip; its metadata lists 8.19.21 as newest.
ES_VERSION="${MARKET_ES_VERSION:-8.19.21}"
CACHE_ROOT="${MARKET_CACHE:-$HOME/.cache/ip-pledge-market}"
ES_PORT="${MARKET_ES_PORT:-9200}"
ES_HEAP="${MARKET_ES_HEAP:-512m}"
export ES_JAVA_HOME="${ES_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
ES_USER="${MARKET_ES_USER:-elastic}"

BASE="$CACHE_ROOT/elasticsearch-$ES_VERSION"
HOME_DIR="$BASE/elasticsearch-$ES_VERSION"
RUN_DIR="$BASE/run-$ES_PORT"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
PID_FILE="$RUN_DIR/elasticsearch.pid"
URL="http://127.0.0.1:$ES_PORT"
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"

SERVICE=elasticsearch.sh
CI_DEFAULT_COMMAND=start
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

healthy() {
    curl -fsS --max-time 5 "$URL/_cluster/health" >/dev/null 2>&1
}

yellow() {
    curl -fsS --max-time 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}

fetch() {
    local zip="$BASE/elasticsearch-$ES_VERSION.zip"
    mkdir -p "$BASE"
    if [[ ! -s "$zip" ]]; then
        log "fetching $ARTIFACT with Maven"
        mvn -q -B dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$BASE.tmp" \
            -Dmdep.overWriteReleases=true
        mv "$BASE.tmp/elasticsearch-$ES_VERSION.zip" "$zip.part"
        rmdir "$BASE.tmp" 2>/dev/null || true
        mv "$zip.part" "$zip"
    fi
    if [[ ! -x "$HOME_DIR/bin/elasticsearch" ]]; then
        log "unpacking $zip"
        rm -rf "$BASE/unpack.tmp"
        mkdir -p "$BASE/unpack.tmp"
        if command -v unzip >/dev/null; then
            unzip -q "$zip" -d "$BASE/unpack.tmp"
        else
            python3 -m zipfile -e "$zip" "$BASE/unpack.tmp"
        fi
        chmod +x "$BASE/unpack.tmp/elasticsearch-$ES_VERSION/bin/"* \
            "$BASE/unpack.tmp/elasticsearch-$ES_VERSION/lib/"*/bin/* 2>/dev/null || true
        rm -rf "$HOME_DIR"
        mv "$BASE/unpack.tmp/elasticsearch-$ES_VERSION" "$HOME_DIR"
        rm -rf "$BASE/unpack.tmp"
    fi
}

configure() {
    mkdir -p "$DATA_DIR" "$LOG_DIR"
    cat >"$HOME_DIR/config/elasticsearch.yml" <<EOF
cluster.name: ip-pledge-market
node.name: market-dev
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
path.data: $DATA_DIR
path.logs: $LOG_DIR
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
    if [[ "$(id -u)" == 0 ]]; then
        if ! id "$ES_USER" >/dev/null 2>&1; then
            log "creating system user $ES_USER"
            useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
        fi
        chown -R "$ES_USER" "$HOME_DIR" "$RUN_DIR"
        # The server user must be able to reach the tree through the cache path.
        local d="$BASE"
        while [[ "$d" != "/" ]]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
    fi
}

as_server_user() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u "$ES_USER" -- env ES_JAVA_HOME="$ES_JAVA_HOME" ES_JAVA_OPTS="$ES_JAVA_OPTS" "$@"
    else
        "$@"
    fi
}

cmd_start() {
    if healthy; then
        log "already running and healthy"
        echo "$URL"
        return 0
    fi
    if [[ ! -x "$ES_JAVA_HOME/bin/java" ]]; then
        log "no JDK at ES_JAVA_HOME=$ES_JAVA_HOME (needs JDK 21+)"
        return 1
    fi
    command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; return 1; }
    fetch
    if [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        log "pid $(cat "$PID_FILE") is starting already; waiting for it"
    else
        configure
        rm -f "$PID_FILE"
        export ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP ${MARKET_ES_JAVA_OPTS:-}"
        log "starting $HOME_DIR on $URL"
        as_server_user "$HOME_DIR/bin/elasticsearch" -d -p "$PID_FILE" \
            >"$RUN_DIR/stdout.log" 2>&1 || {
            log "the server did not start"
            tail -n 40 "$RUN_DIR/stdout.log" "$LOG_DIR/"*.log 2>/dev/null >&2 || true
            return 1
        }
    fi
    if ci_wait 120 1 until yellow; then
        log "healthy (version $ES_VERSION)"
        echo "$URL"
        return 0
    fi
    log "not healthy after 120 s; log tail:"
    tail -n 60 "$LOG_DIR/ip-pledge-market.log" "$RUN_DIR/stdout.log" 2>/dev/null >&2 || true
    return 1
}

cmd_stop() {
    if [[ -s "$PID_FILE" ]]; then
        local pid
        pid="$(cat "$PID_FILE")"
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping pid $pid"
            kill "$pid"
            ci_wait 60 1 while kill -0 "$pid" 2>/dev/null || kill -9 "$pid"
        fi
        rm -f "$PID_FILE"
    else
        log "no pid file at $PID_FILE; nothing to stop"
    fi
}

cmd_status() {
    if healthy; then echo "$URL"; else exit 1; fi
}

ci_main "$@"
