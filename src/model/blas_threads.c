/* OpenBLAS's thread count and the CPUs available (include/blas_threads.h).
 *
 * OpenBLAS reads OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS, else the number of
 * cores) when it is loaded, before main; openblas_set_num_threads changes the
 * count for every later call, starting more threads if needed. nncert sets it
 * explicitly so that N ranks on N cores do not each start N threads and a job's
 * numbers do not depend on a variable of the environment it happened to run in. */
#define _GNU_SOURCE
#include "blas_threads.h"

#include <cblas.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS maps its GEMM buffers (128 MiB per thread, measured with 0.3.21's
 * Prescott, Haswell and SkylakeX kernels) at the first GEMM too large for its
 * small-matrix path, and when that mmap fails its allocator retries forever. One
 * such GEMM now, while the address space is still free, maps them for the whole
 * run: a job under a memory limit then fails in nncert's own allocations, with
 * a message, instead of hanging inside OpenBLAS at its first large GEMM. */
static void map_gemm_buffers(void)
{
    enum { N = 256 };
    double *m = calloc(3 * (size_t)N * N, sizeof *m);
    if (!m) return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0, m, N, m + N * N, N, 0.0, m + 2 * N * N, N);
    free(m);
}

int blas_threads_set(int threads, nn_error *err)
{
    if (threads < 1 || threads > BLAS_THREADS_MAX)
        return nn_fail(err, NN_EARG, "threads must be in [1, %d], got %d", BLAS_THREADS_MAX, threads);
    openblas_set_num_threads(threads);
    int got = openblas_get_num_threads();
    if (got != threads)
        return nn_fail(err, NN_EARG, "threads %d: this OpenBLAS (%s) runs at most %d threads", threads,
                       openblas_get_config(), got);
    map_gemm_buffers();
    return NN_OK;
}

int blas_threads_get(void) { return openblas_get_num_threads(); }

/* Whole CPUs of a cgroup v2 cpu.max ("QUOTA PERIOD" or "max PERIOD"), rounded
 * up: 0 when unlimited, -1 when the file does not exist. */
static int quota_v2(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char q[32] = "";
    long long period = 0;
    int n = fscanf(f, "%31s %lld", q, &period);
    fclose(f);
    if (n != 2 || !strcmp(q, "max") || period <= 0) return 0;
    long long quota = 0;
    if (sscanf(q, "%lld", &quota) != 1 || quota <= 0) return 0;
    return (int)((quota + period - 1) / period);
}

/* The same from a cgroup v1 directory's cpu.cfs_quota_us and cpu.cfs_period_us. */
static int quota_v1(const char *dir)
{
    char p[600];
    long long quota = 0, period = 0;
    snprintf(p, sizeof p, "%s/cpu.cfs_quota_us", dir);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    int ok = fscanf(f, "%lld", &quota) == 1;
    fclose(f);
    snprintf(p, sizeof p, "%s/cpu.cfs_period_us", dir);
    if (!ok || !(f = fopen(p, "r"))) return 0;
    ok = fscanf(f, "%lld", &period) == 1;
    fclose(f);
    if (!ok || quota <= 0 || period <= 0) return 0;
    return (int)((quota + period - 1) / period);
}

int blas_cpu_quota(void)
{
    /* this process's cgroup: "0::PATH" (v2) or "N:...cpu...:PATH" (v1) */
    char v2[512] = "", v1[512] = "", line[600];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
            if (!b) continue;
            *b = '\0';
            if (!strncmp(line, "0:", 2) && a[1] == '\0') snprintf(v2, sizeof v2, "%s", b + 1);
            for (char *c = strtok(a + 1, ","); c; c = strtok(NULL, ","))
                if (!strcmp(c, "cpu")) snprintf(v1, sizeof v1, "%s", b + 1);
        }
        fclose(f);
    }
    char p[1100];
    int q;
    /* inside a container the path may be its root: try it, then the mount's root */
    snprintf(p, sizeof p, "/sys/fs/cgroup%s/cpu.max", v2);
    if ((q = quota_v2(p)) >= 0 || (q = quota_v2("/sys/fs/cgroup/cpu.max")) >= 0) return q;
    snprintf(p, sizeof p, "/sys/fs/cgroup/cpu%s", v1);
    if ((q = quota_v1(p)) >= 0 || (q = quota_v1("/sys/fs/cgroup/cpu")) >= 0) return q;
    return 0;
}

int blas_cpus_available(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n < 1) n = 1;
    int q = blas_cpu_quota();
    return q > 0 && q < n ? q : n;
}
