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

started() {  # until $1 shows a finished task (at most 120 s)
    for _ in $(seq 1200); do
        grep -q '^progress: [1-9]' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
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
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/mpi.h5" >"$TMP/mpi2.out" 2>&1
check "the 3-rank rerun resumes exactly the $k finished tasks" "grep -q 'resumed: $k rows were finished' '$TMP/mpi2.out'"
check "and ends with the bits of the uninterrupted run" "$PY tests/same_results.py '$TMP/ref.h5' '$TMP/mpi.h5'"

expect_failure "a negative drain time is refused, naming the key" "drain_seconds.*must be in \[0, 86400\]" \
    $NNCERT certify "${JOB[@]}" --out "$TMP/bad.h5" --drain-seconds -1
