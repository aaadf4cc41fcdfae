# Shared by the service scripts of .ci (postgres.sh, redis.sh, elasticsearch.sh): logging, waiting for a service
# to come up or go down, the log tail and the command line. Source it after setting SERVICE (the log tag):
#
#   SERVICE=redis
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   cmd_start() { ...; }  cmd_stop() { ...; }  cmd_status() { ...; }  cmd_logs() { ci_logs "$LOG_FILE" "$@"; }
#   ci_main "$@"          # start|stop|restart|status|logs [N]|url, whichever cmd_* the script defines

log() { printf '[%s] %s\n' "$SERVICE" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$SERVICE" "$*" >&2; exit 1; }

# ci_wait SECONDS INTERVAL until|while CHECK...: run CHECK every INTERVAL seconds until it succeeds (until) or
# fails (while); 1 when SECONDS pass first.
ci_wait() {
    local deadline=$((SECONDS + $1)) interval=$2 mode=$3
    shift 3
    while :; do
        if "$@"; then [[ $mode == until ]] && return 0; else [[ $mode == while ]] && return 0; fi
        ((SECONDS < deadline)) || return 1
        sleep "$interval"
    done
}

# ci_logs FILE [N]: the last N lines (default 50) of the service's log file.
ci_logs() {
    local file=$1 n="${2:-50}"
    if [[ -r "$file" ]]; then tail -n "$n" "$file"; else log "no log file at ${file}"; fi
}

# ci_main [COMMAND [ARGS]]: run cmd_COMMAND (restart = stop then start); COMMAND defaults to CI_DEFAULT_COMMAND
# when the script sets it. Unknown commands print the usage built from the cmd_* functions defined.
ci_main() {
    local command="${1:-${CI_DEFAULT_COMMAND:-}}"
    (($#)) && shift
    case "$command" in
        restart) cmd_stop && cmd_start ;;
        *)
            if [[ -n "$command" ]] && declare -F "cmd_$command" >/dev/null; then
                "cmd_$command" "$@"
            else
                local commands
                commands=$(declare -F | awk '$3 ~ /^cmd_/ {sub(/^cmd_/, "", $3); print $3}' | tr '\n' '|')
                echo "usage: $0 {${commands}restart}" >&2
                exit 2
            fi
            ;;
    esac
}
