/* blas_threads: how many threads OpenBLAS runs each GEMM with in this process
 * (set by nncert, not left to OPENBLAS_NUM_THREADS or OMP_NUM_THREADS), and how
 * many CPUs the process may use, to tell when ranks x threads exceed them. */
#ifndef BLAS_THREADS_H
#define BLAS_THREADS_H

#include "nn_error.h"

/* Largest thread count a job may ask for; OpenBLAS may allow fewer (checked). */
#define BLAS_THREADS_MAX 1024

/* Prototypes */
/* Set OpenBLAS's thread count for every later GEMM of this process, whatever
 * the environment said when the library started, and check it took effect
 * (NN_EARG naming the limit when this OpenBLAS runs fewer threads). */
int blas_threads_set(int threads, nn_error *err);
/* Threads OpenBLAS runs a GEMM with now. */
int blas_threads_get(void);
/* CPUs this process may run on: its affinity mask, capped by the CPU quota of
 * its cgroup (v2 cpu.max or v1 cpu.cfs_quota_us, rounded up); at least 1. */
int blas_cpus_available(void);
/* The cgroup CPU quota in whole CPUs (rounded up), 0 when there is none. */
int blas_cpu_quota(void);

#endif
