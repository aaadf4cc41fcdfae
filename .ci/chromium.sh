#!/usr/bin/env bash
# Debian Chromium for the browser tests (driven by Playwright with executable_path).
#
#   bash .ci/chromium.sh install        # apt-get install chromium chromium-driver fonts-noto-cjk if missing
#   bash .ci/chromium.sh check          # binaries + CJK fonts present, print versions
#   bash .ci/chromium.sh smoke [DIR]    # headless --dump-dom and a screenshot of Chinese text into DIR
#   bash .ci/chromium.sh                # check + smoke
#
# Never runs `playwright install`: browser downloads are blocked here, Debian's chromium is used instead.
# Flags: as root Chromium needs --no-sandbox; the networking flags stop it from calling home (the
# machine's network is closed, and those connection attempts only slow it down and fill the log).
set -euo pipefail

CHROMIUM_BIN="${MARKET_TEST_CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER_BIN="${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}"
SMOKE_TIMEOUT="${CHROMIUM_SMOKE_TIMEOUT:-60}"
PACKAGES=(chromium chromium-driver fonts-noto-cjk)
CHROMIUM_FLAGS=(
    --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-dev-shm-usage --hide-scrollbars
)

log() { printf '[chromium] %s\n' "$*" >&2; }
die() { printf '[chromium] ERROR: %s\n' "$*" >&2; exit 1; }

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
}

cmd_install() {
    local missing
    missing=$(missing_packages | tr '\n' ' ')
    if [[ -z "${missing// /}" ]]; then
        log "packages already installed: ${PACKAGES[*]}"
        return 0
    fi
    log "installing: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

cmd_check() {
    local missing
    missing=$(missing_packages | tr '\n' ' ')
    [[ -z "${missing// /}" ]] || die "Debian packages missing: $missing(run: bash .ci/chromium.sh install)"
    [[ -x "$CHROMIUM_BIN" ]] || die "$CHROMIUM_BIN not executable"
    [[ -x "$CHROMEDRIVER_BIN" ]] || die "$CHROMEDRIVER_BIN not executable"
    # The Debian launcher script prints a harmless shell warning on some /dev/shm setups; keep stderr out.
    log "$("$CHROMIUM_BIN" --version 2>/dev/null)"
    log "$("$CHROMEDRIVER_BIN" --version 2>/dev/null | head -n1)"
    if command -v fc-list >/dev/null 2>&1; then
        local zh
        zh=$(fc-list :lang=zh family | grep -c . || true)
        ((zh > 0)) || die "no font for Chinese found by fontconfig (fonts-noto-cjk)"
        log "fonts with Chinese coverage: $zh"
    fi
}

cmd_smoke() {
    local outdir="${1:-${MARKET_ARTIFACTS_DIR:-}}"
    local work
    work=$(mktemp -d /tmp/chromium-smoke.XXXXXX)
    [[ -n "$outdir" ]] || outdir="$work"
    mkdir -p "$outdir"
    local profile="$work/profile" errlog="$work/chromium.log"

    # 1) DOM dump of about:blank
    local dom
    if ! dom=$(timeout "$SMOKE_TIMEOUT" "$CHROMIUM_BIN" "${CHROMIUM_FLAGS[@]}" --user-data-dir="$profile" \
        --dump-dom about:blank 2>"$errlog"); then
        tail -n 30 "$errlog" >&2
        die "headless --dump-dom failed"
    fi
    [[ "$dom" == *"<body>"* ]] || { tail -n 30 "$errlog" >&2; die "unexpected --dump-dom output: $dom"; }
    log "dump-dom about:blank ok"

    # 2) Screenshot of a page with Chinese text (fonts-noto-cjk must render it).
    local shot="$outdir/chromium-smoke.png"
    local html='<!doctype html><meta charset="utf-8"><body style="font:32px sans-serif;margin:16px">知识产权质押融资 smoke ✓</body>'
    rm -f "$shot"
    if ! timeout "$SMOKE_TIMEOUT" "$CHROMIUM_BIN" "${CHROMIUM_FLAGS[@]}" --user-data-dir="$profile-2" \
        --window-size=800,300 --screenshot="$shot" "data:text/html;charset=utf-8,${html}" 2>>"$errlog" >/dev/null; then
        tail -n 30 "$errlog" >&2
        die "headless --screenshot failed"
    fi
    [[ -s "$shot" ]] || die "screenshot not written: $shot"
    [[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] || die "screenshot is not a PNG"
    log "screenshot ok: $shot ($(stat -c %s "$shot") bytes)"
    rm -rf "$profile" "$profile-2"
}

case "${1:-all}" in
    install) cmd_install ;;
    check) cmd_check ;;
    smoke) shift; cmd_smoke "$@" ;;
    all) cmd_check; cmd_smoke "${2:-}" ;;
    *) echo "usage: $0 {install|check|smoke [DIR]}" >&2; exit 2 ;;
esac
