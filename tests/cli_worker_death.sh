#!/usr/bin/env bash
# Losing a rank (doc/scheduler.md "Losing a rank"): a worker SIGKILLed mid-run
# is named by the master with the tasks it held before mpirun ends the job;
# the journal is intact, and the rerun names the tasks the lost run had in
# flight, computes them and ends with the bits of an uninterrupted run. The
# same holds when the master itself is killed (the rerun names what it held).
#
# Timing: the kill comes after the first finished task (a progress line), so
# the job is mid-run; the master checks its host's ranks every 0.2 s, and
# mpirun gives it about 2 s (SIGTERM after 1 s, SIGKILL a second later) before
# it ends the job.
# no-sanitizer: killing processes and timing of Open MPI; the journal records
# and their reader run under the sanitizers in test_cert_store.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
JOB=(--model models/fmnist_cnn_lenet_maxpool.h5 --data fashion-mnist:test --count 40 --progress-seconds 0)

$NNCERT certify "${JOB[@]}" --out "$TMP/ref.h5" >/dev/null 2>&1
check "an uninterrupted reference run" "[ -f '$TMP/ref.h5' ]"

rank_pid() {  # the pid of world rank $2 among mpirun $1's children
    local p
    for p in $(pgrep -P "$1"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p" && return
    done
}
# images LOG: the image numbers the rerun's report names, sorted
rerun_images() { grep 'previous run ended with' "$1" | grep -o 'image [0-9]*' | cut -d' ' -f2 | sort -n | tr '\n' ' '; }

# ---- a worker (rank 1, a group of one) SIGKILLed mid-run ----
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/w.h5" >"$TMP/w.out" 2>"$TMP/w.log" &
mp=$!
started "$TMP/w.log"
victim=$(rank_pid $mp 1)
kill -9 "$victim"
wait $mp
rc=$?
msg=$(grep -o "rank 1 (host [^,]*, pid $victim) died holding task(s) \[[0-9, ]*\]" "$TMP/w.log")
check "the job ends with a failure ($rc) and the master names the dead rank, its host and pid" \
    "[ $rc != 0 ] && [ -n '$msg' ]" || tail -5 "$TMP/w.log"
held=$(echo "$msg" | sed 's/.*\[\(.*\)\]/\1/' | tr -d ',')
inflight=$(grep -o 'still in flight: .*; finished' "$TMP/w.log" | grep -o '\[[0-9, ]*\]' | tr -d '[],')
check "and the tasks it held ($held), no more than the 2 queued per group" \
    "[ -n '$held' ] && [ $(echo $held | wc -w) -le 2 ]"
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/w.h5" >"$TMP/w2.out" 2>"$TMP/w2.log"
rc=$?
expect=$(echo $held $inflight | tr ' ' '\n' | sort -n | tr '\n' ' ')
check "the rerun names the tasks the lost run had in flight ($(rerun_images "$TMP/w2.log")) and computes them" \
    "[ $rc = 0 ] && grep -q 'rank 1: image' '$TMP/w2.log' && [ '$(rerun_images "$TMP/w2.log")' = '$expect' ]" ||
    grep -v '^progress' "$TMP/w2.log"
check "and ends with the bits of the uninterrupted run" "$PY tests/same_results.py '$TMP/ref.h5' '$TMP/w.h5'"

# ---- a group member that is not its leader ----
mpirun -np 3 $NNCERT certify "${JOB[@]}" --ranks-per-image 2 --out "$TMP/g.h5" >"$TMP/g.out" 2>"$TMP/g.log" &
mp=$!
started "$TMP/g.log"
victim=$(rank_pid $mp 2)
kill -9 "$victim"
wait $mp
check "a dead group member is named with its group's leader and tasks" \
    "grep -q 'rank 2 (host [^,]*, pid $victim) died (in the group led by rank 1) holding task(s) \[[0-9]' '$TMP/g.log'" ||
    tail -5 "$TMP/g.log"
# (reruns by one process from here: the bits do not depend on the ranks)
$NNCERT certify "${JOB[@]}" --ranks-per-image 2 --out "$TMP/g.h5" >/dev/null 2>"$TMP/g2.log"
check "the rerun names them and ends with the uninterrupted bits" \
    "grep -q 'previous run ended with .* rank 1: image' '$TMP/g2.log' && $PY tests/same_results.py '$TMP/ref.h5' '$TMP/g.h5'"

# ---- the master killed (as a lost node would take it): the rerun still knows ----
(NNCERT_TEST_KILL_AFTER_ROWS=5 mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/m.h5" >/dev/null 2>&1)
$NNCERT certify "${JOB[@]}" --out "$TMP/m.h5" >"$TMP/m2.out" 2>"$TMP/m2.log"
n=$(sed -n 's/.*previous run ended with \([0-9]*\) task.*/\1/p' "$TMP/m2.log")
check "after the master's kill -9 the rerun names the $n task(s) then in flight (at most 2 per worker)" \
    "[ -n '$n' ] && [ '$n' -ge 1 ] && [ '$n' -le 4 ] && grep -q 'resumed: 5 rows' '$TMP/m2.out'" ||
    grep -v '^progress' "$TMP/m2.log"
check "and ends with the bits of the uninterrupted run" "$PY tests/same_results.py '$TMP/ref.h5' '$TMP/m.h5'"

# ---- a stop request drains: the dropped queued tasks are not reported as lost,
# and a run after a complete one names nothing either ----
mpirun -np 3 $NNCERT certify "${JOB[@]}" --out "$TMP/s.h5" >/dev/null 2>"$TMP/s.log" &
mp=$!
started "$TMP/s.log"
kill -USR1 $mp
wait $mp
rc=$?
$NNCERT certify "${JOB[@]}" --out "$TMP/s.h5" >/dev/null 2>"$TMP/s2.log"
check "after a drained stop ($rc) the rerun names nothing in flight" \
    "[ $rc = 75 ] && ! grep -q 'previous run ended' '$TMP/s2.log' && $PY tests/same_results.py '$TMP/ref.h5' '$TMP/s.h5'" ||
    grep -v '^progress' "$TMP/s.log" "$TMP/s2.log"
$NNCERT certify "${JOB[@]}" --out "$TMP/s.h5" >"$TMP/s3.out" 2>"$TMP/s3.log"
check "and neither does a run after a complete one" \
    "grep -q 'resumed: 40 rows' '$TMP/s3.out' && ! grep -q 'previous run ended' '$TMP/s3.log'"
