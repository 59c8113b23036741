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
# SIGUSR1 (sbatch --signal=B:USR1@SECONDS, set in the .sbatch files) the job
# requeues itself before its time limit and carries on where it stopped.
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
    echo "nncert: time limit near: requeueing job ${SLURM_JOB_ID:-?}; the rerun resumes from the journal"
    [ -n "${SLURM_JOB_ID:-}" ] && scontrol requeue "$SLURM_JOB_ID"  # an array task has its own job id
}
trap requeue USR1
# shellcheck disable=SC2086
${NNCERT_MPIRUN:-mpirun} -np "$np" ${NNCERT_MPIRUN_ARGS:-} bin/nncert certify --config "$config" "$@" &
pid=$!
wait $pid
rc=$?
while [ $rc -gt 128 ] && kill -0 $pid 2>/dev/null; do wait $pid; rc=$?; done  # woken by the trap
echo "nncert: exit status $rc"
exit $rc
