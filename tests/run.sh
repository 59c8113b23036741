#!/usr/bin/env bash
# Runs the whole suite: every cmocka unit test (tests/test_*.c) in the normal and
# the sanitizer build, and every CLI script (tests/cli_*.sh, TAP output) against
# both binaries. Prints one closing line "N passed, N failed" and exits non-zero
# on any failure. TESTS_ONLY=pattern restricts to matching test names.
set -u
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
# MPI and OpenBLAS keep a few process-lifetime allocations; UBSan must stop on any finding.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

passed=0 failed=0
failures=()
logdir=$(mktemp -d /tmp/nncert-tests.XXXXXX)

run_unit() {  # $1 = binary, $2 = label
    local bin=$1 label=$2 log out p f
    log="$logdir/${label////_}.log"
    "$bin" >"$log" 2>&1
    local rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$label (log: $log)"); fi
    printf '%-44s %3d passed, %d failed\n' "$label" "$p" "$f"
}

run_script() {  # $1 = script, $2 = nncert binary, $3 = label
    local script=$1 bin=$2 label=$3 log p f
    log="$logdir/${label////_}.log"
    NNCERT="$bin" bash "$script" >"$log" 2>&1
    local rc=$?
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$label (log: $log)"); fi
    printf '%-44s %3d passed, %d failed\n' "$label" "$p" "$f"
}

for build in build build-san; do
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        name="$build/$(basename "$t")"
        [[ -n "${TESTS_ONLY:-}" && "$name" != *$TESTS_ONLY* ]] && continue
        run_unit "$t" "$name"
    done
done
for s in tests/cli_*.sh; do
    [ -f "$s" ] || continue
    for bin in bin/nncert build-san/bin/nncert; do
        name="$(basename "$s" .sh)[$( [ "$bin" = bin/nncert ] && echo opt || echo san )]"
        [[ -n "${TESTS_ONLY:-}" && "$name" != *$TESTS_ONLY* ]] && continue
        # Scripts that only exercise heavy numerics may opt out of the sanitizer run.
        if [ "$bin" != bin/nncert ] && grep -q '^# no-sanitizer' "$s"; then continue; fi
        run_script "$s" "$bin" "$name"
    done
done

if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "failures:"
    for f in "${failures[@]}"; do echo "  $f"; done
    for f in "${failures[@]}"; do
        log=${f##*log: }; log=${log%)}
        echo "----- ${f%% (log*} -----"; tail -40 "$log"
    done
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
