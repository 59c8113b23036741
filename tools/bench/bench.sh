#!/usr/bin/env bash
# `make bench`: runs every tools/bench/bench_*.sh in turn (one core per figure unless a
# benchmark says otherwise); fails if any of them failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0
for b in tools/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    echo "### $b"
    bash "$b" || { echo "bench: $b failed" >&2; status=1; }
done
exit $status
