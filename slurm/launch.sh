#!/usr/bin/env bash
# Runs one nncert certify job inside a SLURM allocation (called by run.sbatch and
# sweep.sbatch): rank 0 schedules and writes, the other ranks compute.
#
#   launch.sh CONFIG.ini [nncert certify flags]
#
# Environment (all optional):
#   NNCERT_HOME         repository with bin/nncert (default: the submit directory)
#   NNCERT_NP           MPI ranks (default: $SLURM_NTASKS)
#   NNCERT_MPIRUN       launcher (default: mpirun; e.g. "srun --mpi=pmix")
#   NNCERT_MPIRUN_ARGS  extra launcher options (e.g. --oversubscribe)
#
# Requeue-safe: rerunning the same config resumes from its results journal, so
# a requeued, preempted or timed-out job loses at most the tasks in flight. On
# SIGUSR1 (sbatch --signal=B:USR1@SECONDS, set in the .sbatch files) this script
# passes the signal to mpirun, which forwards it to every rank: nncert hands out
# no more tasks, lets the tasks in flight finish (drain_seconds, default 60),
# writes its results and exits with status 75; the job then requeues itself and
# the rerun carries on where it stopped. SIGTERM (scancel, the time limit) goes
# to every process at once and mpirun kills the ranks a second later: finished
# tasks are in the journal already, the ones in flight run again on the rerun.
set -uo pipefail
config=${1:?usage: launch.sh CONFIG.ini [nncert certify flags]}
shift
home=${NNCERT_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
cd "$home" || { echo "launch.sh: cannot cd to $home" >&2; exit 1; }
[ -x bin/nncert ] || { echo "launch.sh: $home/bin/nncert is missing (run make there, or set NNCERT_HOME)" >&2; exit 1; }
# nncert sets every rank's BLAS threads itself (threads key, default 1); this only
# keeps OpenBLAS from starting one idle thread per core in every rank when it loads.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
np=${NNCERT_NP:-${SLURM_NTASKS:-2}}
echo "nncert: job ${SLURM_JOB_ID:-?} task ${SLURM_ARRAY_TASK_ID:-none} restart ${SLURM_RESTART_COUNT:-0}" \
     "on $(hostname): $np ranks, config $config"

requeue() {
    echo "nncert: job ${SLURM_JOB_ID:-?} stopped early (exit status 75): requeueing; the rerun resumes from the journal"
    [ -n "${SLURM_JOB_ID:-}" ] && scontrol requeue "$SLURM_JOB_ID"  # an array task has its own job id
}
# shellcheck disable=SC2086
${NNCERT_MPIRUN:-mpirun} -np "$np" ${NNCERT_MPIRUN_ARGS:-} bin/nncert certify --config "$config" "$@" &
pid=$!
stop() {
    echo "nncert: time limit near (SIGUSR1): asking the job to stop after the tasks in flight"
    kill -USR1 "$pid" 2>/dev/null
}
trap stop USR1
wait $pid
rc=$?
while [ $rc -gt 128 ] && kill -0 $pid 2>/dev/null; do wait $pid; rc=$?; done  # woken by the trap
echo "nncert: exit status $rc"
[ $rc -eq 75 ] && requeue
exit $rc
