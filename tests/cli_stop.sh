#!/usr/bin/env bash
# Stopping a certify job early by signal (doc/scheduler.md "Stopping"): SIGINT
# to a plain process and SIGUSR1 to mpirun stop it after the tasks in flight
# with exit status 75, and the rerun resumes exactly the finished tasks, to the
# bits of an uninterrupted run. A results file being written by one run is
# locked: a second run on it, even with --force-new, is refused.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
JOB=(--model models/fmnist_cnn_lenet_maxpool.h5 --data fashion-mnist:test --count 120 --progress-seconds 0)

$NNCERT certify "${JOB[@]}" --out "$TMP/ref.h5" >/dev/null 2>&1
check "an uninterrupted reference run" "[ -f '$TMP/ref.h5' ]"

# stopped LOG SIGNAL TOTAL: "K" of the stop message, when K + not started = TOTAL
stopped() {
    sed -n "s/.*$2: stopped on request: \([0-9]*\) task(s) finished in this run, \([0-9]*\) not started.*/\1 \2/p" "$1" |
        { read -r k m && [ $((k + m)) = "$3" ] && echo "$k"; }
}

# ---- one process, SIGINT ----
$NNCERT certify "${JOB[@]}" --out "$TMP/one.h5" >"$TMP/one.out" 2>"$TMP/one.log" &
pid=$!
started "$TMP/one.log"
expect_failure "a second run on results being written is refused, naming the process" \
    "one.h5.journal: in use by another nncert run \(process $pid holds its lock\)" \
    $NNCERT certify "${JOB[@]}" --out "$TMP/one.h5"
expect_failure "and so is --force-new on them" "in use by another nncert run" \
    $NNCERT certify "${JOB[@]}" --out "$TMP/one.h5" --force-new
kill -INT $pid
wait $pid
rc=$?
k=$(stopped "$TMP/one.log" SIGINT 120)
check "SIGINT stops a plain process after its task with exit status 75 ($rc, $k finished)" \
    "[ $rc = 75 ] && [ -n '$k' ] && [ '$k' -lt 120 ]" || tail -3 "$TMP/one.log"
$NNCERT certify "${JOB[@]}" --out "$TMP/one.h5" >"$TMP/one2.out" 2>&1
check "the rerun resumes exactly the $k finished tasks" "grep -q 'resumed: $k rows were finished' '$TMP/one2.out'"
check "and ends with the bits of the uninterrupted run" "$PY tests/same_results.py '$TMP/ref.h5' '$TMP/one.h5'"

# ---- three ranks, SIGUSR1 to mpirun (what slurm/launch.sh passes on) ----
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/mpi.h5" >"$TMP/mpi.out" 2>"$TMP/mpi.log" &
pid=$!
started "$TMP/mpi.log"
kill -USR1 $pid
wait $pid
rc=$?
k=$(stopped "$TMP/mpi.log" SIGUSR1 120)
check "SIGUSR1 to mpirun drains the ranks: exit status 75 ($rc, $k finished)" \
    "[ $rc = 75 ] && [ -n '$k' ] && [ '$k' -lt 120 ]" || tail -5 "$TMP/mpi.log"
check "the master says at once which rank (host, pid) holds which tasks in flight" \
    "grep -Eq 'stop requested: no new tasks(; waiting up to 60 s for the tasks in flight: rank [12] \(host [^,]+, pid [0-9]+\) \[[0-9]|, none in flight)' '$TMP/mpi.log'" ||
    grep 'stop requested' "$TMP/mpi.log"
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/mpi.h5" >"$TMP/mpi2.out" 2>&1
check "the 3-rank rerun resumes exactly the $k finished tasks" "grep -q 'resumed: $k rows were finished' '$TMP/mpi2.out'"
check "and ends with the bits of the uninterrupted run" "$PY tests/same_results.py '$TMP/ref.h5' '$TMP/mpi.h5'"

expect_failure "a negative drain time is refused, naming the key" "drain_seconds.*must be in \[0, 86400\]" \
    $NNCERT certify "${JOB[@]}" --out "$TMP/bad.h5" --drain-seconds -1

# ---- task_timeout: a task past it is a row with status 4 and its bracket ----
# The deadline is checked between row blocks; 1e-9 s has passed at the first
# check, whatever the machine's speed.
$NNCERT certify "${JOB[@]}" --out "$TMP/t0.h5" --task-timeout 1e-9 >"$TMP/t0.out" 2>&1
rc=$?
check "a task past task_timeout is a timeout row, not a failure: exit 0 ($rc)" \
    "[ $rc = 0 ] && grep -q 'failed 0, timeout [1-9]' '$TMP/t0.out'"
check "every correctly classified row timed out before any answer: radius 0, hi inf, no evaluation" "$PY - '$TMP/t0.h5' <<'PY'
import sys, h5py, numpy as np
r = h5py.File(sys.argv[1], 'r')['results']
s = r['status'][:]
assert set(s) <= {2, 4} and (s == 4).sum() > 0, s
t = s == 4
assert (r['radius'][:][t] == 0).all() and np.isinf(r['hi'][:][t]).all() and (r['evals'][:][t] == 0).all()
assert all(m.startswith(b'task_timeout 1e-09 s reached') for m in r['message'][:][t])
PY"
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/t0g.h5" --task-timeout 1e-9 --ranks-per-image 2 \
    >"$TMP/t0g.out" 2>&1
check "a group of 2 ranks agrees on a member's timeout and stays in step" \
    "grep -q 'failed 0, timeout [1-9]' '$TMP/t0g.out' && $PY tests/same_results.py '$TMP/t0.h5' '$TMP/t0g.h5'"
# Whatever the timing, a timed-out search is a prefix of the full one: its
# certified end is at most the full radius and its other end at least the
# full one; rows that finished are the rows of the full run.
$NNCERT certify "${JOB[@]}" --out "$TMP/t1.h5" --task-timeout 0.004 >/dev/null 2>&1
check "timeout rows bracket the full run's radius; finished rows equal it" "$PY - '$TMP/ref.h5' '$TMP/t1.h5' <<'PY'
import sys, h5py, numpy as np
ref, got = (h5py.File(p, 'r')['results'] for p in sys.argv[1:])
def rows(r):
    return {(i, s): k for k, (i, s) in enumerate(zip(r['index'][:], r['slot'][:]))}
a, b = rows(ref), rows(got)
assert a.keys() == b.keys()
for key, k in b.items():
    j = a[key]
    if got['status'][k] == 4:
        assert got['radius'][k] <= ref['radius'][j] and got['hi'][k] >= ref['hi'][j], key
    else:
        for c in ('status', 'radius', 'lo', 'hi', 'margin', 'evals'):
            x, y = got[c][k], ref[c][j]
            assert x == y or (x != x and y != y), (key, c, x, y)
PY"
expect_failure "a negative task_timeout is refused, naming the key" "task_timeout.*must be >= 0" \
    $NNCERT certify "${JOB[@]}" --out "$TMP/bad.h5" --task-timeout -1
