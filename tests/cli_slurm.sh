#!/usr/bin/env bash
# no-sanitizer: drives the optimized binary through a real SLURM.
# A one-node SLURM cluster in a temporary folder (its own munge key and socket,
# slurm.conf, state, spool and logs, free ports): munged, slurmctld and slurmd
# are started here and stopped on exit, whatever happens. A small sweep is
# expanded by 'nncert sweep' and submitted as a job array through
# slurm/sweep.sbatch with 3 MPI ranks per run (mpirun --oversubscribe inside the
# batch script); every results file is checked, one against a one-process run
# bit for bit, and a requeued array task must resume instead of recomputing.
# If SLURM cannot run here the tests fail and say why; they never skip.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1
S=$TMP/slurm
mkdir -p "$S/state" "$S/spool" "$S/log" "$S/key" "$S/sock"
chmod 700 "$S/key"
chmod 755 "$S/sock"
daemons=()

stop_all() {
    local jobs
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
        jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
        [ -n "$jobs" ] && scancel $jobs 2>/dev/null
    fi
    for pid in "${daemons[@]}"; do
        # job steps left by slurmd first, then the daemons themselves
        local kids
        kids=$(pgrep -P "$pid" 2>/dev/null)
        [ -n "$kids" ] && kill $kids 2>/dev/null
    done
    for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${daemons[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap stop_all EXIT

need() {
    local missing=()
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    if [ ${#missing[@]} -gt 0 ]; then
        not_ok "SLURM and munge are installed" "missing: ${missing[*]} (tools/install/install-deps.sh installs slurm-wlm and munge)"
        exit 1
    fi
    ok "SLURM and munge are installed"
}
need munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel mpirun

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
ctld_port=$(free_port)
d_port=$(free_port)
while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port); done

# ---- munge ----
mungekey -c -f -k "$S/key/munge.key" >"$S/log/mungekey.out" 2>&1 && chmod 600 "$S/key/munge.key"
munged -F -f --socket="$S/sock/munge.sock" --key-file="$S/key/munge.key" --pid-file="$S/munged.pid" \
    --seed-file="$S/munge.seed" --log-file="$S/log/munged.log" >"$S/log/munged.out" 2>&1 &
daemons+=($!)
for _ in $(seq 50); do [ -S "$S/sock/munge.sock" ] && break; sleep 0.1; done
if munge -n -S "$S/sock/munge.sock" 2>/dev/null | unmunge -S "$S/sock/munge.sock" >/dev/null 2>&1; then
    ok "munged runs with the test's own key and socket"
else
    not_ok "munged runs with the test's own key and socket" "$(tail -5 "$S/log/munged.out" "$S/log/munged.log" 2>/dev/null)"
    exit 1
fi

# ---- slurmctld, slurmd ----
cat >"$S/slurm.conf" <<EOF
ClusterName=nncerttest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/sock/munge.sock,cred_expire=10
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
KillWait=5
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$S/log/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$S/log/slurmd.out" 2>&1 &
daemons+=($!)
state=
for _ in $(seq 150); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.2
done
if [ "$state" = idle ]; then
    ok "slurmctld and slurmd bring up one idle node ($host, 2 CPUs)"
else
    not_ok "slurmctld and slurmd bring up one idle node ($host, 2 CPUs)" "node state: '${state:-none}'" \
        "$(tail -5 "$S/log/slurmctld.out" "$S/log/slurmd.out" "$S/log/slurmctld.log" "$S/log/slurmd.log" 2>/dev/null)"
    exit 1
fi

# ---- a sweep through sbatch ----
cat >"$TMP/sweep.ini" <<EOF
[sweep]
name = slurmtest
models = models/fmnist_mlp_2x20_relu.h5, models/fmnist_mlp_2x20_tanh.h5
methods = crown
norms = inf
images = 0-11
images_per_run = 6
results = $TMP/results

[job]
data = fashion-mnist:test

[output]
progress_seconds = 1
EOF
expect_success "nncert sweep expands the sweep" $NNCERT sweep --jobs "$TMP/sweep.ini" --out-dir "$TMP/runs"
runs=$(($(wc -l <"$TMP/runs/manifest.tsv") - 1))
check "the sweep has 2 models x 2 image ranges = 4 runs" "[ $runs = 4 ]"
job=$(sbatch --parsable --array=1-$runs --ntasks=2 --output="$TMP/log-%A_%a.out" \
    --export=ALL,NNCERT_NP=3,NNCERT_MPIRUN_ARGS=--oversubscribe \
    slurm/sweep.sbatch "$TMP/runs/manifest.tsv" 2>"$TMP/err")
check "sbatch accepts the job array" "[ -n '$job' ]" || cat "$TMP/err"
wait_done() {  # until no task of the job is pending or running (at most $2 s)
    for _ in $(seq $(($2 * 5))); do
        [ -z "$(squeue -h -j "$1" -t PENDING,RUNNING,CONFIGURING,COMPLETING 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    return 1
}
check "the array finishes" "wait_done $job 300"
states=$(scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z]*' | sort | uniq -c | tr -s ' ')
check "every array task completed (${states})" "[ \"\$(scontrol show job $job | grep -c 'JobState=COMPLETED')\" = $runs ]" ||
    tail -n 20 "$TMP"/log-*.out "$S/log/slurmd.log" | sed 's/^/#   /'
logs_ok() {
    local f n=0
    for f in "$TMP"/log-"$1"_*.out; do
        grep -q '3 ranks, config' "$f" && grep -q 'images 6, rows 6' "$f" && grep -q 'exit status 0' "$f" || return 1
        n=$((n + 1))
    done
    [ $n = "$2" ]
}
check "each run's log shows the 3-rank launch and its summary" "logs_ok $job $runs"
check "every results file has its 6 rows, 3 ranks and an end time" "$PY - '$TMP/runs/manifest.tsv' <<'PY'
import sys, h5py, csv
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
assert len(rows) == 4
for r in rows:
    f = h5py.File(r['out'], 'r')
    idx = sorted(f['results/index'][:])
    assert idx == list(range(int(r['start']), int(r['start']) + 6)), (r['out'], idx)
    assert f.attrs['ranks'] == 3 and f.attrs['end_time'], r['out']
    assert set(f['results/status'][:]) <= {0, 1, 2}
PY"
first_out=$(awk -F'\t' 'NR == 2 { print $3 }' "$TMP/runs/manifest.tsv")
first_cfg=$(awk -F'\t' 'NR == 2 { print $2 }' "$TMP/runs/manifest.tsv")
$NNCERT certify --config "$first_cfg" --out "$TMP/direct.h5" >/dev/null 2>&1
check "a run through SLURM gives the bits of a one-process run" "$PY tests/same_results.py '$TMP/direct.h5' '$first_out'"

# ---- requeue: the rerun resumes ----
scontrol requeue "${job}_1" 2>"$TMP/err"
check "a requeued array task runs again" "wait_done ${job}_1 120 && scontrol show job ${job}_1 | grep -q 'Restarts=1'" ||
    cat "$TMP/err"
check "the requeued task resumes its finished results instead of recomputing" \
    "grep -q 'restart 1' '$TMP/log-${job}_1.out' && grep -q 'resumed: 6 rows were finished by earlier runs' '$TMP/log-${job}_1.out'"
check "and leaves the results as they were (6 rows, 2 runs recorded)" "$PY -c \"
import h5py, sys; f = h5py.File(sys.argv[1], 'r')
assert len(f['results/index']) == 6 and f.attrs['runs'] == 2\" '$first_out'"

# ---- stopping early: SIGUSR1 ahead of the time limit, SIGTERM at it ----
# A 300-task job on 3 ranks, signalled as soon as its first tasks are done. With
# SIGUSR1 to the batch script (what --signal=B:USR1@S sends before the limit)
# nncert finishes the tasks in flight, exits 75, and the job requeues itself;
# the rerun must resume exactly the tasks the first run finished.
cat >"$TMP/stop.ini" <<EOF2
[job]
model = models/fmnist_cnn_lenet_maxpool.h5
data = fashion-mnist:test
count = 300

[output]
progress_seconds = 1
EOF2
$NNCERT certify --config "$TMP/stop.ini" --out "$TMP/stop-direct.h5" >/dev/null 2>&1
started() {  # until the log shows finished tasks (at most $2 s)
    for _ in $(seq $(($2 * 5))); do
        grep -q '^progress: [1-9]' "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
# A requeued job waits cred_expire (10 s here, 120 by default) before it starts
# again: its old credential is revoked, and forcing an earlier start (scontrol
# update StartTime=now) makes slurmd refuse the launch ("Job credential revoked").
restarted() {  # until the job is pending again after its $2-th requeue (at most 300 s)
    for _ in $(seq 1500); do
        if scontrol show job "$1" 2>/dev/null | grep -q "Restarts=$2" &&
           scontrol show job "$1" 2>/dev/null | grep -q "JobState=PENDING"; then
            return 0
        fi
        sleep 0.2
    done
    echo "# job $1 not pending after requeue $2:"; scontrol show job "$1" 2>&1 | sed 's/^/#   /'
    return 1
}
ended() {  # until the job reaches a final state (at most $2 s); prints it
    local s
    for _ in $(seq $(($2 * 5))); do
        s=$(scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*')
        case $s in
        *=COMPLETED | *=FAILED | *=CANCELLED | *=TIMEOUT | *=NODE_FAIL | *=OUT_OF_MEMORY) return 0 ;;
        esac
        sleep 0.2
    done
    return 1
}
stop_job=$(sbatch --parsable --ntasks=2 --output="$TMP/stop-usr1.log" \
    --export=ALL,NNCERT_NP=3,NNCERT_MPIRUN_ARGS=--oversubscribe \
    slurm/run.sbatch "$TMP/stop.ini" --out "$TMP/stop-usr1.h5" 2>"$TMP/err")
check "sbatch accepts the job to be stopped" "[ -n '$stop_job' ] && started '$TMP/stop-usr1.log' 120" ||
    { cat "$TMP/err"; tail -5 "$TMP/stop-usr1.log"; }
scancel --signal=USR1 --batch "$stop_job"
check "on SIGUSR1 the job stops early and requeues itself" \
    "restarted $stop_job 1 && ended $stop_job 300 && scontrol show job $stop_job | grep -q 'JobState=COMPLETED'" ||
    tail -n 20 "$TMP/stop-usr1.log" | sed 's/^/#   /'
finished=$(sed -n 's/.*SIGUSR1: stopped on request: \([0-9]*\) task(s) finished in this run, \([0-9]*\) not started.*/\1 \2/p' \
    "$TMP/stop-usr1.log")
set -- $finished
check "the first run drained: finished tasks plus tasks not started are the whole job ($finished)" \
    "[ -n '$finished' ] && [ \$(($1 + $2)) = 300 ] && [ $1 -lt 300 ] && grep -q 'exit status 75' '$TMP/stop-usr1.log'"
check "the rerun resumes exactly the $1 finished tasks: none lost, none computed twice" \
    "grep -q 'restart 1' '$TMP/stop-usr1.log' && grep -q 'resumed: $1 rows were finished by earlier runs' '$TMP/stop-usr1.log'"
check "the stopped and resumed job gives the bits of a one-process run" \
    "$PY tests/same_results.py '$TMP/stop-direct.h5' '$TMP/stop-usr1.h5'"

# scancel (as the time limit does) sends SIGTERM to every process, and SIGKILL
# KillWait later; mpirun kills its ranks a second after SIGTERM. The finished
# tasks are in the journal: resubmitting the job completes it.
term_job=$(sbatch --parsable --ntasks=2 --output="$TMP/stop-term.log" \
    --export=ALL,NNCERT_NP=3,NNCERT_MPIRUN_ARGS=--oversubscribe \
    slurm/run.sbatch "$TMP/stop.ini" --out "$TMP/stop-term.h5" 2>"$TMP/err")
check "sbatch accepts the job to be cancelled" "[ -n '$term_job' ] && started '$TMP/stop-term.log' 120" ||
    cat "$TMP/err"
scancel "$term_job"
check "the cancelled job ends" "ended $term_job 60"
again=$(sbatch --parsable --ntasks=2 --output="$TMP/stop-term2.log" \
    --export=ALL,NNCERT_NP=3,NNCERT_MPIRUN_ARGS=--oversubscribe \
    slurm/run.sbatch "$TMP/stop.ini" --out "$TMP/stop-term.h5" 2>"$TMP/err")
check "resubmitted, it resumes the tasks finished before SIGTERM and completes" \
    "ended $again 300 && grep -q 'resumed: [1-9][0-9]* rows were finished by earlier runs' '$TMP/stop-term2.log'" ||
    tail -n 20 "$TMP/stop-term.log" "$TMP/stop-term2.log" | sed 's/^/#   /'
check "and gives the bits of a one-process run" "$PY tests/same_results.py '$TMP/stop-direct.h5' '$TMP/stop-term.h5'"
