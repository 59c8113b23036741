/* sched_internal (private to src/sched): the group structure, message tags,
 * lockstep checks and waiting; the wire format is in sched_msg.h. */
#ifndef SCHED_INTERNAL_H
#define SCHED_INTERNAL_H

#include <mpi.h>

#include "sched_msg.h"
#include "scheduler.h"

enum { TAG_TASKS = 11, TAG_RESULT = 12, TAG_DRAINED = 13, TAG_CHECKPOINT = 14, TAG_CHUNK_REQUEST = 15, TAG_CHUNK = 16 };

/* Kinds of lockstep collectives in a group: members compare them so that a
 * member that left a task early is detected instead of matched to the wrong call. */
enum { SYNC_ROWS = 1, SYNC_END = 2, SYNC_ANY = 3 };

struct sched_group {
    MPI_Comm comm;     /* MPI_COMM_NULL for a group of one without MPI peers */
    int rank, size;    /* in the group */
    int world_rank;    /* of this process */
    int id;            /* group number */
    int *counts, *displs;  /* [size] scratch for the all-gathers */
    /* checkpoints (sched_group_checkpoint): the application, and in a job of
     * one process the first error of its checkpoint callback, which run_local
     * returns after the task like the master's loop returns it */
    const sched_app *app;
    int local;
    int checkpoint_rc;
    nn_error checkpoint_err;
    unsigned char *cbuf;   /* message scratch */
    size_t ccap;
    /* dynamic splits (sched_group.c): how many this group has run, the block
     * owners of the current one, and its gather buffer */
    uint64_t split_serial;
    int *owner_base, *owner;  /* owner = owner_base + 4 */
    size_t owner_cap;
    double *gather;
    size_t gather_cap;
    double block_seconds;  /* this member's largest cost of a block in the current split */
    uint32_t agreed_us;    /* the group's, in the last split (us; 0: none yet) */
};

/* Collective over all ranks (sched_group.c); *g is NULL on a master that does
 * not compute. */
int sched_group_init(const sched_env *env, int ranks_per_image, sched_group **g, nn_error *err);
void sched_group_free(sched_group *g);

/* Lockstep check of a group (SYNC_ROWS / SYNC_END) carrying a failure flag:
 * returns the lowest failing member's index (or -1) and aborts the job if the
 * members are at different kinds of call. */
int sched_group_sync(sched_group *g, int kind, int failed);
/* Members at different kinds of lockstep call: abort the job, saying so. */
void sched_group_astray(const sched_group *g);

/* The master's view of the other ranks' processes, gathered at sched_init
 * (doc/scheduler.md "Losing a rank"): whether rank's process is known to have
 * ended (only a process on the master's own host can be checked: kill(pid, 0)
 * fails with ESRCH), and "host H, pid P" for messages. */
int sched_peer_gone(int rank);
void sched_peer_name(int rank, char *buf, size_t size);

/* Wait for a request, sleeping with a growing pause instead of spinning (an
 * idle rank must not take CPU from working ranks on the same cores). */
void sched_wait(MPI_Request *req, MPI_Status *status);
void sched_wait_cap(MPI_Request *req, MPI_Status *status, int cap_us);
/* Pause for the idle loop: 0, then 20 us doubling up to 1 ms (cap_us: up to
 * that instead, for a loop that must answer quickly). */
void sched_backoff(int *idle);
void sched_backoff_cap(int *idle, int cap_us);

#endif
