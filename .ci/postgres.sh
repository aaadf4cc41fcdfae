#!/usr/bin/env bash
# Start/stop/inspect the Debian PostgreSQL cluster used by the tests.
#
#   bash .ci/postgres.sh start    # create cluster if needed, start, wait, provision role + DBs
#   bash .ci/postgres.sh stop     # fast shutdown (idempotent)
#   bash .ci/postgres.sh restart
#   bash .ci/postgres.sh status   # exit 0 when accepting connections on 127.0.0.1:$PGPORT
#   bash .ci/postgres.sh logs [N] # last N lines of the server log (default 50)
#   bash .ci/postgres.sh url      # print the SQLAlchemy URL of the main test database
#
# Must run as root (it switches to the "postgres" OS user for admin work).
# Used by .ci/run and by fault-injection tests that stop/start the server.
# Every command is idempotent. Tunables (env): PG_VERSION (default 15),
# PG_CLUSTER (main), PGPORT (5432), PG_WAIT_SECONDS (60).
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PGPORT="${PGPORT:-5432}"
PG_WAIT_SECONDS="${PG_WAIT_SECONDS:-60}"
PG_HOST=127.0.0.1
DB_USER=market
DB_PASSWORD=market
DATABASES=(market_test market_test_2)
LOG_FILE="/var/log/postgresql/postgresql-${PG_VERSION}-${PG_CLUSTER}.log"

SERVICE=postgres
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

as_postgres() { runuser -u postgres -- "$@"; }

psql_admin() {
    # Admin connection over the unix socket with peer auth.
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT" "$@"
}

require_binaries() {
    [[ $EUID -eq 0 ]] || die "must run as root"
    for bin in pg_lsclusters pg_createcluster pg_ctlcluster pg_isready psql runuser; do
        command -v "$bin" >/dev/null 2>&1 || die "'$bin' not found; install the 'postgresql' Debian package"
    done
    [[ -x "/usr/lib/postgresql/${PG_VERSION}/bin/postgres" ]] \
        || die "PostgreSQL ${PG_VERSION} server binaries missing (/usr/lib/postgresql/${PG_VERSION}/bin/postgres)"
}

cluster_exists() {
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {found=1} END {exit !found}'
}

is_ready() {
    pg_isready -q -h "$PG_HOST" -p "$PGPORT" -t 2
}

wait_ready() {
    ci_wait "$PG_WAIT_SECONDS" 0.5 until is_ready || {
        log "not ready after ${PG_WAIT_SECONDS}s; last log lines:"
        tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
        die "PostgreSQL did not become ready on ${PG_HOST}:${PGPORT}"
    }
}

provision() {
    # Role with a password (TCP uses scram-sha-256 in Debian's pg_hba.conf) and CREATEDB so
    # tests may create throwaway databases of their own.
    psql_admin -d postgres <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DB_USER}') THEN
        CREATE ROLE ${DB_USER} LOGIN CREATEDB PASSWORD '${DB_PASSWORD}';
    ELSE
        ALTER ROLE ${DB_USER} LOGIN CREATEDB PASSWORD '${DB_PASSWORD}';
    END IF;
END
\$\$;
SQL
    local db enc
    for db in "${DATABASES[@]}"; do
        enc=$(psql_admin -d postgres -Atc "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '${db}'")
        if [[ -n "$enc" && "$enc" != "UTF8" ]]; then
            log "database ${db} has encoding ${enc}; recreating it as UTF8"
            psql_admin -d postgres -c "DROP DATABASE \"${db}\" WITH (FORCE)"
            enc=""
        fi
        if [[ -z "$enc" ]]; then
            # template0 + explicit UTF-8 so Chinese text works whatever locale the cluster was made with.
            psql_admin -d postgres -c "CREATE DATABASE \"${db}\" OWNER ${DB_USER} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            log "created database ${db}"
        else
            psql_admin -d postgres -c "ALTER DATABASE \"${db}\" OWNER TO ${DB_USER}"
        fi
    done
    # Check the password login path the tests use (TCP + scram).
    PGPASSWORD="$DB_PASSWORD" psql -X -q -h "$PG_HOST" -p "$PGPORT" -U "$DB_USER" -d "${DATABASES[0]}" -Atc 'SELECT 1' >/dev/null \
        || die "cannot log in as ${DB_USER} over TCP"
}

cmd_start() {
    require_binaries
    if ! cluster_exists; then
        log "creating cluster ${PG_VERSION}/${PG_CLUSTER}"
        pg_createcluster --locale C.UTF-8 --encoding UTF8 -p "$PGPORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null
    fi
    if is_ready; then
        log "already running on ${PG_HOST}:${PGPORT}"
    else
        # A stale pid file after an unclean stop is handled by pg_ctlcluster itself.
        log "starting cluster ${PG_VERSION}/${PG_CLUSTER}"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start || {
            tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
            die "pg_ctlcluster start failed"
        }
        wait_ready
    fi
    provision
    log "ready: $(cmd_url)"
}

cmd_stop() {
    require_binaries
    if cluster_exists && pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; then
        log "stopping cluster ${PG_VERSION}/${PG_CLUSTER}"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast
    else
        log "not running"
    fi
    # Wait until the port is really closed so a following start/refusal test is deterministic.
    ci_wait "$PG_WAIT_SECONDS" 0.2 while is_ready || die "still accepting connections after stop"
}

cmd_status() {
    if is_ready; then
        log "running, accepting connections on ${PG_HOST}:${PGPORT}"
        return 0
    fi
    log "not accepting connections on ${PG_HOST}:${PGPORT}"
    return 3
}

cmd_logs() { ci_logs "$LOG_FILE" "$@"; }

cmd_url() {
    printf 'postgresql+psycopg://%s:%s@%s:%s/%s\n' "$DB_USER" "$DB_PASSWORD" "$PG_HOST" "$PGPORT" "${DATABASES[0]}"
}

ci_main "$@"
