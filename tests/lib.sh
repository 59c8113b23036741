# Shared helpers for tests/cli_*.sh: TAP-style "ok - name" / "not ok - name" lines.
# $NNCERT is the binary under test (set by tests/run.sh; bin/nncert by default).
NNCERT=${NNCERT:-bin/nncert}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d /tmp/nncert-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

ok()     { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; shift; [ $# -gt 0 ] && printf '#   %s\n' "$@"; }

# expect_success NAME CMD...: exit status 0.
expect_success() {
    local name=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then ok "$name"
    else not_ok "$name" "exit $? from: $*" "$(tail -5 "$TMP/err")"; fi
}

# expect_failure NAME PATTERN CMD...: non-zero exit, stderr matches PATTERN (grep -E),
# and no sanitizer report or crash signal.
expect_failure() {
    local name=$1 pattern=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -eq 0 ]; then not_ok "$name" "exit 0 from: $*"
    elif [ "$rc" -ge 128 ]; then not_ok "$name" "killed by signal $((rc - 128)): $*"
    elif grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/err"; then not_ok "$name" "$(head -5 "$TMP/err")"
    elif ! grep -qE -- "$pattern" "$TMP/err"; then not_ok "$name" "stderr lacks /$pattern/:" "$(head -5 "$TMP/err")"
    else ok "$name"; fi
}

# check NAME CONDITION...: evaluate a test(1)-style or shell condition.
# Returns non-zero on failure, so a script can print more: check ... || cat log
check() {
    local name=$1; shift
    if eval "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; return 1; fi
}

# started LOG [SECONDS]: wait until a certify job's LOG shows a finished task (a
# progress line counting one or more), at most SECONDS (default 120); non-zero
# if it never does. For stopping or killing a job mid-run, whatever the speed.
started() {
    local _
    for _ in $(seq $((${2:-120} * 10))); do
        grep -q '^progress: [1-9]' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# reverified NAME FILE: nncert certify --reverify FILE exits 0, and every certified
# (or timed-out with a radius) row of /results has a line "verified, identical"
# (doc/radius.md "Certificates").
reverified() {
    local name=$1 f=$2 rc=0
    $NNCERT certify --reverify "$f" >"$TMP/rv.out" 2>"$TMP/rv.err" || rc=$?
    if [ $rc -ne 0 ]; then
        not_ok "$name" "exit $rc from certify --reverify $f" "$(tail -3 "$TMP/rv.err")" "$(tail -3 "$TMP/rv.out")"
        return
    fi
    check "$name" "/usr/bin/python3 - '$f' '$TMP/rv.out' <<'PY'
import sys, h5py, numpy as np
r = h5py.File(sys.argv[1], 'r')['results']
want = int(np.sum((r['radius'][:] > 0) & np.isin(r['status'][:], (0, 4))))
lines = open(sys.argv[2]).read().splitlines()
good = [l for l in lines if l.endswith(': verified, identical')]
assert want > 0 and len(good) == want, (want, lines)
assert lines[-1].startswith('certificates %d: verified %d, not verified 0, identical %d, refused 0' % (want, want, want)), lines[-1]
PY"
}

# die_after_records K CMD...: run CMD in its own session with the master killing
# itself by SIGKILL once K checkpoint records of this run are journaled (layers
# of the LP methods, branch-and-bound records of certify --bab:
# NNCERT_TEST_KILL_AFTER_LAYERS, a known point whatever the speed; mpirun then
# takes the other ranks down); output in $TMP/kill.log; every process of the
# session is gone on return.
die_after_records() {
    local n=$1; shift
    (NNCERT_TEST_KILL_AFTER_LAYERS=$n setsid "$@" >"$TMP/kill.log" 2>&1 & echo $! >"$TMP/sid"; wait) 2>/dev/null
    local pids
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(pgrep -s "$(cat "$TMP/sid")")
        [ -z "$pids" ] && break
        kill -9 $pids 2>/dev/null
        sleep 0.1
    done
}
