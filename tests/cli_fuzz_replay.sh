#!/usr/bin/env bash
# Replays the fuzzing corpora and every committed crash reproducer
# (tests/fuzz/corpus/<harness>, tests/fuzz/crashes/<harness>) through each
# harness once, linked with a plain driver in the build under test (the
# sanitizer build when NNCERT is build-san/bin/nncert): no input may crash,
# leak, trip UBSan or be refused without a message (doc/testing.md "Fuzzing").
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
export LSAN_OPTIONS=${LSAN_OPTIONS:-"suppressions=$PWD/tests/lsan.supp:print_suppressions=0"}
export OPENBLAS_NUM_THREADS=1
# HDF5 reproducers that hang the library end in the trial read's time limit (h5_sandbox.h)
export NNCERT_HDF5_TIMEOUT=2

build=$(dirname "$(dirname "$NNCERT")")
[ "$build" = . ] && build=build
for src in tests/fuzz/fuzz_*.c; do
    h=$(basename "$src" .c)
    bin=$build/fuzz/replay_$h
    if [ ! -x "$bin" ]; then not_ok "$h: replay driver built" "$bin missing (make all)"; continue; fi
    dirs=()
    for d in tests/fuzz/corpus/$h tests/fuzz/crashes/$h; do [ -d "$d" ] && dirs+=("$d"); done
    if [ ${#dirs[@]} -eq 0 ]; then not_ok "$h: has a seed corpus" "no tests/fuzz/corpus/$h"; continue; fi
    start=$(date +%s%3N)
    "$bin" "${dirs[@]}" >"$TMP/$h.out" 2>"$TMP/$h.err"
    rc=$?
    ms=$(($(date +%s%3N) - start))
    n=$(sed -n 's/^replayed \([0-9]*\) inputs/\1/p' "$TMP/$h.out")
    if [ "$rc" -ne 0 ] || grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/$h.err"; then
        not_ok "$h: ${n:-?} corpus and crash inputs replay cleanly" "exit $rc" "$(grep -m5 -E 'ERROR|runtime error|SUMMARY|refused' "$TMP/$h.err")"
    else
        ok "$h: $n corpus and crash inputs replay cleanly ($ms ms)"
    fi
done
