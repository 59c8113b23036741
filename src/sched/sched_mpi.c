/* MPI start-up and the few collectives the command line needs around a run:
 * broadcasting the job, agreeing on start-up errors, aborting, and the idle
 * waits. Every rank calls these in the same order. */
#define _GNU_SOURCE
#include "sched_internal.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <sched.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

/* Started by an MPI launcher (mpirun, srun)? A process started on its own is a
 * job of one rank and needs no MPI at all: the one-rank path makes no MPI
 * calls, and skipping a singleton MPI_Init saves about half a second. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "NNCERT_MPI"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

long sched_launch_size(int *is_rank0)
{
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    static const char *const ranks[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK"};
    long n = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && n == 1; i++) {
        const char *v = getenv(sizes[i]);
        long k = v ? strtol(v, NULL, 10) : 0;
        if (k > 1) n = k;
    }
    const char *r = NULL;
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0] && !r; i++) r = getenv(ranks[i]);
    if (is_rank0) *is_rank0 = !r || !strcmp(r, "0");
    return n;
}

/* Each rank's host and process id, on the master only (NULL elsewhere): MPI
 * itself is process-wide state, and so is this table of its processes. */
typedef struct {
    int32_t pid;
    char host[64];
} peer;
static peer *peers;
static int n_peers;

static void peer_self(peer *p)
{
    memset(p, 0, sizeof *p);
    p->pid = (int32_t)getpid();
    if (gethostname(p->host, sizeof p->host - 1) != 0) strcpy(p->host, "?");
}

/* Collective: gather every rank's peer to rank 0 (a failed allocation there
 * only loses the names and the checks). */
static void peers_gather(const sched_env *env)
{
    peer me;
    peer_self(&me);
    peer *all = env->rank == 0 ? calloc((size_t)env->size, sizeof *all) : NULL;
    int have = env->rank != 0 || all != NULL;
    MPI_Bcast(&have, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!have) return;
    MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (all) peers = all, n_peers = env->size;
}

int sched_peer_gone(int rank)
{
    if (!peers || rank <= 0 || rank >= n_peers || strcmp(peers[rank].host, peers[0].host) != 0) return 0;
    return kill((pid_t)peers[rank].pid, 0) != 0 && errno == ESRCH;
}

void sched_peer_name(int rank, char *buf, size_t size)
{
    if (!peers || rank < 0 || rank >= n_peers) snprintf(buf, size, "host and pid unknown");
    else snprintf(buf, size, "host %s, pid %ld", peers[rank].host, (long)peers[rank].pid);
}

int sched_init(int *argc, char ***argv, sched_env *env, nn_error *err)
{
    memset(env, 0, sizeof *env);
    env->size = 1;
    int ok = 0;
    MPI_Initialized(&ok);
    if (!ok && launched_by_mpi()) {
#ifdef __SANITIZE_ADDRESS__
        /* Open MPI keeps (and leaks) small allocations of plugins it loads and
         * unloads while it starts; they cannot be named afterwards. */
        __lsan_disable();
#endif
        int st = MPI_Init(argc, argv);
#ifdef __SANITIZE_ADDRESS__
        __lsan_enable();
#endif
        if (st != MPI_SUCCESS) return nn_fail(err, NN_EIO, "MPI_Init failed");
        ok = 1;
    }
    if (ok) {
        MPI_Comm_rank(MPI_COMM_WORLD, &env->rank);
        MPI_Comm_size(MPI_COMM_WORLD, &env->size);
        if (env->size > 1) peers_gather(env);
#ifdef __linux__
        /* The waits of the run (sched_wait, sched_backoff) sleep 20 us and up;
         * Linux stretches every sleep by the thread's timer slack, 50 us by
         * default, more than the shortest sleeps ask for, and the master's
         * answers to a dynamic split's chunk requests wait on them. 1 us: the
         * sleeps last about what they ask for. */
        if (env->size > 1) prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
#endif
    }
    env->is_master = env->rank == 0;
    env->is_worker = env->size == 1 || env->rank > 0;
    return NN_OK;
}

void sched_finalize(void)
{
    free(peers);
    peers = NULL, n_peers = 0;
    int ok = 0, done = 0;
    MPI_Initialized(&ok);
    MPI_Finalized(&done);
    if (!ok || done) return;
#ifdef __SANITIZE_ADDRESS__
    /* MPI_Finalize unloads Open MPI's plugins, after which LeakSanitizer can no
     * longer name their frames (nor suppress them): check for leaks now, while
     * they are loaded. This replaces the check at exit. */
    __lsan_do_leak_check();
#endif
    MPI_Finalize();
}

void sched_abort(const sched_env *env, int status)
{
    if (env->size > 1) MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

void sched_node_workers(const sched_env *env, int *workers, int *cpus)
{
    cpu_set_t set, all;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) CPU_ZERO(&set);
    *workers = env->is_worker;
    all = set;
    if (env->size > 1) {
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, env->rank, MPI_INFO_NULL, &node);
        int mine = env->is_worker;
        MPI_Allreduce(&mine, workers, 1, MPI_INT, MPI_SUM, node);
        /* the union of the masks: ranks bound to one core each cover only those */
        MPI_Allreduce(&set, &all, (int)sizeof set, MPI_BYTE, MPI_BOR, node);
        MPI_Comm_free(&node);
    }
    *cpus = CPU_COUNT(&all) > 0 ? CPU_COUNT(&all) : 1;
}

void sched_bcast_int(const sched_env *env, int *v)
{
    if (env->size > 1) MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD);
}

int sched_bcast_bytes(const sched_env *env, char **data, size_t *len, nn_error *err)
{
    if (env->size == 1) return NN_OK;
    unsigned long long n = env->rank == 0 ? (unsigned long long)*len : 0;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    if (env->rank != 0) {
        *len = (size_t)n;
        *data = malloc((size_t)n + 1);
    }
    int have = *data != NULL, all = 0;
    MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all) return nn_fail(err, NN_ENOMEM, "out of memory for a %llu-byte broadcast", n);
    for (size_t off = 0; off < (size_t)n;) {
        int chunk = (size_t)n - off > (1u << 30) ? (1 << 30) : (int)((size_t)n - off);
        MPI_Bcast(*data + off, chunk, MPI_BYTE, 0, MPI_COMM_WORLD);
        off += (size_t)chunk;
    }
    if (env->rank != 0) (*data)[n] = '\0';
    return NN_OK;
}

int sched_agree(const sched_env *env, int rc, nn_error *err)
{
    if (env->size == 1) return rc;
    int mine = rc ? env->rank : env->size, first = env->size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == env->size) return NN_OK;
    nn_error e;
    nn_error_clear(&e);
    if (env->rank == first) {
        if (err) e = *err;
        e.code = (nn_code)rc;
    }
    MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, first, MPI_COMM_WORLD);
    if (err) *err = e;
    return e.code ? (int)e.code : NN_EIO;
}

void sched_backoff_cap(int *idle, int cap_us)
{
    if (*idle == 0) {
        *idle = 20;
        return;
    }
    if (*idle > cap_us) *idle = cap_us;
    struct timespec ts = {0, (long)*idle * 1000L};
    nanosleep(&ts, NULL);
    if (*idle < cap_us) *idle *= 2;
}

void sched_backoff(int *idle) { sched_backoff_cap(idle, 1000); }

void sched_wait_cap(MPI_Request *req, MPI_Status *status, int cap_us)
{
    int flag = 0, idle = 0;
    for (;;) {
        MPI_Test(req, &flag, status ? status : MPI_STATUS_IGNORE);
        if (flag) return;
        sched_backoff_cap(&idle, cap_us);
    }
}

void sched_wait(MPI_Request *req, MPI_Status *status) { sched_wait_cap(req, status, 1000); }

int sched_buf_append(sched_buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) return NN_ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    return NN_OK;
}

void sched_buf_free(sched_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
