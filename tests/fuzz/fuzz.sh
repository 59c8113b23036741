#!/usr/bin/env bash
# Runs libFuzzer harnesses built by `make fuzz` (doc/testing.md "Fuzzing").
# usage: tests/fuzz/fuzz.sh SECONDS [HARNESS...]   (default: every harness, one after another)
# New inputs go to $FUZZ_WORK/<harness> (default /tmp/nncert-fuzz-work), not to
# the committed seeds; crashes, leaks and timeouts to $FUZZ_WORK/<harness>/artifacts/.
# FUZZ_TIMEOUT (default 10 s) is libFuzzer's -timeout per input: the HDF5 harnesses
# fork a trial read per file (h5_sandbox.h), which on a loaded machine can need more.
# Fork mode (-fork=1: one child at a time) keeps going after a finding, so an
# unattended run collects every kind of failure instead of stopping at the first.
# Minimize one with: build-fuzz/fuzz/HARNESS -minimize_crash=1 -runs=10000 FILE,
# then commit it under tests/fuzz/crashes/HARNESS/ with the fix.
set -u
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/fuzz.sh SECONDS [HARNESS...]}
shift
[ $# -gt 0 ] || set -- $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
work=${FUZZ_WORK:-/tmp/nncert-fuzz-work}
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export OPENBLAS_NUM_THREADS=1
for h in "$@"; do
    bin=build-fuzz/fuzz/$h
    [ -x "$bin" ] || { echo "$bin missing: run make fuzz" >&2; exit 2; }
    mkdir -p "$work/$h/corpus" "$work/$h/artifacts"
    seeds=(tests/fuzz/corpus/$h)
    [ -d tests/fuzz/crashes/$h ] && seeds+=(tests/fuzz/crashes/$h)
    echo "== $h: $secs s" >&2
    nice -n 19 "$bin" "$work/$h/corpus" "${seeds[@]}" -max_total_time="$secs" -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-10}" \
        -max_len=262144 -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        -artifact_prefix="$work/$h/artifacts/" >"$work/$h/log" 2>&1
    grep -E '^#[0-9]+: cov' "$work/$h/log" | tail -1 >&2
    ls "$work/$h/artifacts" >&2
done
