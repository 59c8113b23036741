#!/usr/bin/env bash
# `make bench`: runs every tools/bench_*.sh in name order (bench_engine.sh: one-core
# bound-engine figures; others add their own, e.g. ranks vs ranks), each with the
# binaries already built by make. Exits non-zero if any of them failed.
set -u
cd "$(dirname "$0")/.."
status=0
for b in tools/bench_*.sh; do
    [ -f "$b" ] || continue
    echo "=== $b"
    bash "$b" || status=1
    echo
done
exit $status
