#!/usr/bin/env bash
# Runs the whole suite: every cmocka unit test (tests/test_*.c) in the normal and
# the sanitizer build, and every CLI script (tests/cli_*.sh, TAP output) against
# both binaries. Prints one closing line "N passed, N failed" and exits non-zero
# on any failure. TESTS_ONLY=pattern restricts to matching test names.
#
# Tests run TEST_JOBS at a time (default: the CPUs available plus one), each a single
# process or a small MPI job with its own temporary folder, so they do not see
# each other; no test depends on timing. The longest start first.
set -u
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
# MPI and OpenBLAS keep a few process-lifetime allocations; UBSan must stop on any finding.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

logdir=$(mktemp -d /tmp/nncert-tests.XXXXXX)
# one more than the CPUs: several tests spend much of their time waiting (MPI
# start-up, SLURM, signals)
max_jobs=${TEST_JOBS:-$(( $(nproc 2>/dev/null || echo 1) + 1 ))}
[[ $max_jobs =~ ^[1-9][0-9]*$ ]] || max_jobs=1

# One test: its log, and "passed failed" in LABEL.count for the tally.
run_one() {  # $1 = unit|script, $2 = binary or script, $3 = nncert binary (scripts), $4 = label
    local kind=$1 what=$2 bin=$3 label=$4 log p f rc t0=$SECONDS
    log="$logdir/${label////_}.log"
    if [ "$kind" = unit ]; then
        "$what" >"$log" 2>&1 </dev/null
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    else
        NNCERT="$bin" bash "$what" >"$log" 2>&1 </dev/null
        rc=$?
        p=$(grep -c '^ok ' "$log")
        f=$(grep -c '^not ok ' "$log")
    fi
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
    echo "$p $f" >"$logdir/${label////_}.count"
    printf '%-44s %3d passed, %d failed  (%d s)\n' "$label" "$p" "$f" $((SECONDS - t0))
}

# The list: kind, what, nncert binary, label.
tests=()
for build in build build-san; do
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        name="$build/$(basename "$t")"
        [[ -n "${TESTS_ONLY:-}" && "$name" != *$TESTS_ONLY* ]] && continue
        tests+=("unit|$t|-|$name")
    done
done
for s in tests/cli_*.sh; do
    [ -f "$s" ] || continue
    for bin in bin/nncert build-san/bin/nncert; do
        name="$(basename "$s" .sh)[$( [ "$bin" = bin/nncert ] && echo opt || echo san )]"
        [[ -n "${TESTS_ONLY:-}" && "$name" != *$TESTS_ONLY* ]] && continue
        # Scripts that only exercise heavy numerics may opt out of the sanitizer run.
        if [ "$bin" != bin/nncert ] && grep -q '^# no-sanitizer' "$s"; then continue; fi
        tests+=("script|$s|$bin|$name")
    done
done
# The longest first, so that the last to finish is a short one: the SLURM
# script, then the sanitizer build's unit tests, then the rest in order.
ordered=()
for pass in 1 2 3; do
    for j in "${tests[@]}"; do
        case $pass:$j in
        1:*cli_slurm*) ordered+=("$j") ;;
        2:unit\|build-san/*) ordered+=("$j") ;;
        3:*cli_slurm* | 3:unit\|build-san/*) ;;
        3:*) ordered+=("$j") ;;
        esac
    done
done

for j in "${ordered[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
    IFS='|' read -r kind what bin label <<<"$j"
    run_one "$kind" "$what" "$bin" "$label" &
done
wait

passed=0 failed=0
failures=()
for j in "${tests[@]}"; do
    IFS='|' read -r kind what bin label <<<"$j"
    count="$logdir/${label////_}.count"
    read -r p f <"$count" 2>/dev/null || { p=0 f=1; }
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$label (log: $logdir/${label////_}.log)"); fi
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
