#!/usr/bin/env bash
# Installs onnxruntime-node (the version pinned in tools/ref/ort/package-lock.json)
# under tools/ref/ort/node_modules: the independent ONNX runtime that
# tests/cli_onnx_ort.sh and tools/ref/ort_run.js compare nncert with. Does nothing
# (and returns at once) when the pinned version is there; --force reinstalls.
#
# `npm ci --ignore-scripts`: the package's install script would download GPU
# libraries from outside the npm registry; the CPU library nncert's tests use
# ships in the package itself. Without a reachable registry this prints a
# warning and exits 0: nncert builds and runs without it, only
# tests/cli_onnx_ort.sh is skipped. Never reads stdin (runs unattended).
set -euo pipefail

DIR=$(cd "$(dirname "$0")/../ref/ort" && pwd)
force=0
case "${1:-}" in
    "") ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "fetch-ort: unknown option '$1' (only --force)" >&2; exit 2 ;;
esac

want=$(sed -n '/"node_modules\/onnxruntime-node": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' "$DIR/package-lock.json" | head -1)
[ -n "$want" ] || { echo "fetch-ort: $DIR/package-lock.json pins no onnxruntime-node version" >&2; exit 1; }
have=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$DIR/node_modules/onnxruntime-node/package.json" 2>/dev/null || true)
[ "$force" -eq 0 ] && [ "$have" = "$want" ] && exit 0

warn() {
    echo "fetch-ort: warning: $1; onnxruntime-node $want is not installed and tests/cli_onnx_ort.sh will be skipped" >&2
    exit 0
}
command -v npm >/dev/null 2>&1 || warn "npm not found (apt-get install npm)"
echo "fetch-ort: installing onnxruntime-node $want into $DIR/node_modules"
log=$(mktemp /tmp/nncert-fetch-ort.XXXXXX)
trap 'rm -f "$log"' EXIT
(cd "$DIR" && CI=true npm_config_update_notifier=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    </dev/null >"$log" 2>&1) || warn "'npm ci' in $DIR failed (is the npm registry reachable?): $(grep -m1 -i 'error' "$log")"
