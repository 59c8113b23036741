/* What memory one rank can get, for refusing a job before any work when its
 * estimate does not fit (doc/scheduler.md "Memory"). Every source that applies is
 * read and the smallest share wins: the cgroup's limit (v2 memory.max of the
 * process's cgroup or a parent, v1 memory.limit_in_bytes) and SLURM's
 * (SLURM_MEM_PER_NODE, or SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK) are shared by
 * the ranks of the node, RLIMIT_AS (ulimit -v) is the process's own, and physical
 * memory over the ranks of the node is the fallback. No MPI call: rank 0 checks
 * before it broadcasts the job, so the ranks of the node come from the launcher's
 * environment (OMPI_COMM_WORLD_LOCAL_SIZE, SLURM_NTASKS_PER_NODE). */
#include "scheduler.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A limit this large means none (cgroup v1 writes 2^63 rounded to pages). */
#define NO_LIMIT ((size_t)1 << 60)
/* Address space a rank reserves beyond its allocations (see sched_rank_memory). */
#define SCHED_VM_RESERVE ((size_t)192 << 20)

int sched_parse_size(const char *text, size_t *bytes)
{
    if (!text) return -1;
    char *end;
    double v = strtod(text, &end);
    if (end == text || !(v >= 0) || !isfinite(v)) return -1;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0, end++; break;
    case 'M': mult = 1024.0 * 1024, end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024, end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024, end++; break;
    default: break;
    }
    if (mult > 1 && (*end == 'i' || *end == 'I')) end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v * mult >= (double)NO_LIMIT) return -1;
    *bytes = (size_t)(v * mult);
    return 0;
}

void sched_format_size(double bytes, char *out, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    snprintf(out, len, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

/* A number of bytes in a file ("max" or a missing file: none). */
static size_t read_limit_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[64] = "";
    size_t v = 0;
    if (fgets(buf, sizeof buf, f) && isdigit((unsigned char)buf[0])) {
        unsigned long long x = strtoull(buf, NULL, 10);
        v = x >= NO_LIMIT ? 0 : (size_t)x;
    }
    fclose(f);
    return v;
}

/* The cgroup limit of this process (v2, walking up to the root, or v1): bytes and
 * the file it came from, 0 if none. */
static size_t cgroup_limit(char *file, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return 0;
    char line[1024], path[1200];
    size_t best = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        const char *ctl = c1 + 1, *cg = c2 + 1;
        int v2 = !*ctl, v1 = strstr(ctl, "memory") != NULL;
        if (!v2 && !v1) continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", cg);
        for (;;) {
            snprintf(path, sizeof path, v2 ? "/sys/fs/cgroup%s/memory.max" : "/sys/fs/cgroup/memory%s/memory.limit_in_bytes",
                     strcmp(dir, "/") ? dir : "");
            size_t v = read_limit_file(path);
            if (v && (!best || v < best)) {
                best = v;
                snprintf(file, len, "%s", path);
            }
            char *slash = strrchr(dir, '/');
            if (!slash || slash == dir) {
                if (strcmp(dir, "/") && dir[0]) {
                    strcpy(dir, "/");
                    continue;
                }
                break;
            }
            *slash = '\0';
        }
    }
    fclose(f);
    return best;
}

/* Ranks of this job on this node, from the launcher's environment (1 if unknown). */
static long local_ranks(void)
{
    const char *names[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n >= 1) return n;
    }
    return 1;
}

/* VmRSS or VmSize of this process in bytes (0 if unknown). */
static size_t proc_status(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t v = 0, k = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ':') {
            v = (size_t)strtoull(line + k + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

static void consider(sched_memory *m, size_t limit, size_t in_use, const char *fmt, const char *what, long ranks)
{
    if (!limit || (m->limit && limit >= m->limit)) return;
    m->limit = limit;
    m->in_use = in_use;
    if (ranks > 1) snprintf(m->from, sizeof m->from, "%s over %ld ranks on the node", what, ranks);
    else snprintf(m->from, sizeof m->from, fmt, what);
}

void sched_rank_memory(sched_memory *m)
{
    memset(m, 0, sizeof *m);
    long ranks = local_ranks();
    size_t rss = proc_status("VmRSS"), vm = proc_status("VmSize");
    m->rss = rss;
    char file[1200] = "", what[1300];
    size_t cg = cgroup_limit(file, sizeof file);
    if (cg) {
        snprintf(what, sizeof what, "the cgroup limit %s", file);
        consider(m, cg / (size_t)ranks, rss, "%s", what, ranks);
    }
    const char *node = getenv("SLURM_MEM_PER_NODE"), *cpu = getenv("SLURM_MEM_PER_CPU");
    if (node && atof(node) > 0) {  /* megabytes */
        consider(m, (size_t)(atof(node) * 1048576.0) / (size_t)ranks, rss, "%s", "SLURM_MEM_PER_NODE", ranks);
    } else if (cpu && atof(cpu) > 0) {
        const char *c = getenv("SLURM_CPUS_PER_TASK");
        double per = c && atof(c) >= 1 ? atof(c) : 1;
        consider(m, (size_t)(atof(cpu) * per * 1048576.0), rss, "%s", "SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK", 1);
    }
    struct rlimit rl;
    /* address space that is reserved and never touched: OpenBLAS's GEMM buffers,
     * thread stacks, malloc's arenas (measured 150-250 MB beyond the allocations,
     * doc/scheduler.md "Memory"), counted as in use */
    if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < NO_LIMIT)
        consider(m, (size_t)rl.rlim_cur, vm + SCHED_VM_RESERVE, "%s", "RLIMIT_AS (ulimit -v; in use: the address space and 192 MiB that OpenBLAS and malloc reserve)", 1);
    if (!m->limit) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        if (pages > 0 && page > 0)
            consider(m, (size_t)pages * (size_t)page / (size_t)ranks, rss, "%s", "physical memory", ranks);
    }
}
