/* scheduler: the MPI layer (named so as not to shadow POSIX <sched.h>). Rank 0
 * hands out work units (task ids) and receives fixed-layout results; the other
 * ranks, in groups of ranks_per_image, run the tasks in lockstep and split row
 * problems among themselves (sched_group_split_rows). It moves task ids, rows
 * and byte buffers and knows neither the bound engine nor activations. */
#ifndef SCHEDULER_H
#define SCHEDULER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "nn_error.h"

typedef struct {
    int rank, size;     /* in MPI_COMM_WORLD */
    int is_master;      /* rank 0: reads the job, schedules, writes */
    int is_worker;      /* runs tasks: every rank but 0, or rank 0 alone when size = 1 */
} sched_env;

typedef struct sched_group sched_group;  /* the ranks that run one task together */

/* Computes rows [row_lo, row_hi) of a row problem into lower/upper[0 .. row_hi -
 * row_lo) and returns an nn_code; a row range must give the bits it gives as
 * part of any other range (sched_group_split_rows relies on it). */
typedef int (*sched_rows_fn)(void *ctx, size_t row_lo, size_t row_hi, double *lower, double *upper,
                             nn_error *err);

/* A growable byte buffer (a task's optional variable-size payload). */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} sched_buf;

/* What the scheduler calls. Worker side: setup once per worker rank, then run
 * for every task on every member of its group, in the same order, with
 * identical results (only the leader's are sent). Master side: done for every
 * finished task, tick after every done, at least every 0.2 s, and once more at
 * the end (final = 1); tick must be cheap when nothing is due. */
typedef struct {
    void *ctx;
    size_t result_bytes;   /* fixed size of one task's result */
    int (*setup)(void *ctx, sched_group *g, nn_error *err);
    void (*run)(void *ctx, int64_t task, unsigned char *result, sched_buf *extra);
    int (*done)(void *ctx, int64_t task, int rank, const unsigned char *result, const unsigned char *extra,
                size_t extra_len, nn_error *err);
    int (*tick)(void *ctx, int final, nn_error *err);
    /* Master, optional: tasks handed to the group led by world rank `rank`,
     * called before they are sent, or rank -1: tasks a group dropped unstarted
     * when asked to drain. A record of what is in flight, for telling after a
     * lost rank which tasks it held (doc/scheduler.md "Losing a rank"). */
    int (*assigned)(void *ctx, int rank, const int64_t *tasks, size_t n, nn_error *err);
    /* Master, optional: the bytes a group leader sent with sched_group_checkpoint
     * while running task, in the order sent and before that task's done. An
     * error stops the loop like one of done. */
    int (*checkpoint)(void *ctx, int64_t task, int rank, const unsigned char *data, size_t len, nn_error *err);
} sched_app;

typedef struct {
    int ranks_per_image;   /* group size; 0 = all workers in one group */
    int depth;             /* tasks queued per group while plenty are left (>= 1) */
    /* A request to stop, set asynchronously (the command line's signal handler),
     * read on the master: it hands out no more tasks, the groups drop the tasks
     * queued for them, and the tasks in flight may finish for drain_seconds.
     * NULL: never stops early. */
    const volatile sig_atomic_t *stop;
    double drain_seconds;
} sched_options;

typedef struct {
    FILE *out;             /* stderr */
    int tty;               /* one updating line (\r) instead of plain lines */
    double period;         /* seconds between plain lines (0: every update) */
    double t0, last;       /* start, last line */
    long total;            /* tasks of the job */
    long done, done_before;/* finished (including earlier runs), finished before this run */
    long certified, scored, failed;
    size_t width;          /* length of the last tty line */
} sched_progress;

/* Prototypes */
/* sched_mpi.c */
int sched_init(int *argc, char ***argv, sched_env *env, nn_error *err);
/* The ranks an MPI launcher (mpirun, srun) started this job with, read from its
 * environment without starting MPI: 1 when started on its own or not told;
 * *is_rank0 (may be NULL) = 1 unless the environment names another rank. */
long sched_launch_size(int *is_rank0);
void sched_finalize(void);
/* Rank 0's value on every rank. */
void sched_bcast_int(const sched_env *env, int *v);
/* Rank 0's buffer on every rank (*data malloc'd on the others). */
int sched_bcast_bytes(const sched_env *env, char **data, size_t *len, nn_error *err);
/* Collective over all ranks: every rank gets the code and message of the lowest
 * rank whose rc is non-zero (or NN_OK everywhere). */
int sched_agree(const sched_env *env, int rc, nn_error *err);
/* Collective: the worker ranks on this rank's node (ranks sharing its memory)
 * and the CPUs their affinity masks cover together; 1 and this process's mask
 * without MPI. For telling when ranks x BLAS threads exceed a node's CPUs. */
void sched_node_workers(const sched_env *env, int *workers, int *cpus);
/* Stop every rank after an error the master cannot recover from. */
void sched_abort(const sched_env *env, int status);

/* sched_memory.c */
/* What one rank may use (doc/scheduler.md "Memory"): the smallest of the cgroup's
 * and SLURM's limits shared by the node's ranks, RLIMIT_AS, else physical memory
 * over the node's ranks; no MPI call. */
typedef struct {
    size_t limit;       /* bytes; 0: none found */
    size_t in_use;      /* the process's usage now, of the limit's kind: RSS, or the
                           address space against RLIMIT_AS */
    size_t rss;         /* the process's resident set now */
    char from[1400];    /* where the limit came from, for messages */
} sched_memory;
void sched_rank_memory(sched_memory *m);
/* "512M", "4G", "1.5GiB", "1000000" (binary units) into bytes; -1 if not a size. */
int sched_parse_size(const char *text, size_t *bytes);
/* bytes as "1.5 GiB" into out. */
void sched_format_size(double bytes, char *out, size_t len);

/* sched_group.c */
/* Groups: the workers in runs of ranks_per_image consecutive ranks (0 = all in
 * one group; the last group may be smaller). */
int sched_group_count(const sched_env *env, int ranks_per_image);
/* Ranks per group (the last group may have fewer). */
int sched_group_width(const sched_env *env, int ranks_per_image);
int sched_group_size(const sched_group *g);
int sched_group_rank(const sched_group *g);   /* 0 = the group's leader */
int sched_group_id(const sched_group *g);     /* 0 = the first group */
/* Collective over the group: rows [0, n_rows) of one problem, which every member
 * holds identically, into lower/upper[0 .. n_rows) on every member. Member r
 * computes the whole blocks of row_block rows [nb r / g, nb (r+1) / g) of the
 * nb blocks (row_block 0: one block) by calling rows on them, failures are
 * agreed on (every member returns the lowest failing member's error) and the
 * rows are all-gathered. */
int sched_group_split_rows(sched_group *g, size_t n_rows, size_t row_block, sched_rows_fn rows, void *ctx,
                           double *lower, double *upper, nn_error *err);
/* The same for rows that may be cut anywhere (a row's bits do not depend on its
 * range), in contiguous ranges of equal weight: member r gets the rows from the
 * first whose prefix sum of weight[] reaches r/g of the total. weight (n_rows,
 * >= 0) must be the same on every member. */
int sched_group_split_rows_weighted(sched_group *g, size_t n_rows, const double *weight, sched_rows_fn rows,
                                    void *ctx, double *lower, double *upper, nn_error *err);
/* Items [lo, hi) of a problem into out[(hi - lo) x width] (out points at item lo);
 * like sched_rows_fn, an item gives the same doubles whatever range it is in. */
typedef int (*sched_items_fn)(void *ctx, size_t lo, size_t hi, double *out, nn_error *err);
/* Collective over the group, sched_group_split_rows for items of `width` doubles:
 * member r computes the whole blocks of `block` items (0: one block) [nb r / g,
 * nb (r+1) / g) by calling items, failures are agreed on, and out[n x width] is
 * all-gathered. */
int sched_group_split_items(sched_group *g, size_t n, size_t width, size_t block, sched_items_fn items, void *ctx,
                            double *out, nn_error *err);
/* The same two, with the blocks handed out by the master in chunks as the
 * members ask for them (doc/scheduler.md "Dynamic splits"), for rows whose costs
 * differ widely (an LP each, a branch-and-bound job each: block 1). Only in a job with a master (more than one rank),
 * and only for rows whose bits do not depend on which process computes them or
 * what it computed before. */
int sched_group_split_rows_dynamic(sched_group *g, size_t n_rows, size_t row_block, sched_rows_fn rows, void *ctx,
                                   double *lower, double *upper, nn_error *err);
int sched_group_split_items_dynamic(sched_group *g, size_t n, size_t width, size_t block, sched_items_fn items,
                                    void *ctx, double *out, nn_error *err);
/* Collective over the group: the leader's bytes to every member. On the leader
 * (*bytes, *len) stay its own; on the others they are replaced by a malloc'd
 * copy. rc is the leader's state (its error in err there): a failure reaches
 * every member as its code and message, and nothing is sent; the members pass
 * NN_OK and get rc back. A member that cannot hold the bytes stops the job,
 * saying why (it cannot fail alone in a collective). */
int sched_group_share(sched_group *g, int rc, unsigned char **bytes, size_t *len, nn_error *err);
/* Collective over the group: 1 on every member when flag is set on any. For a
 * decision every member must take alike though its inputs differ per process (a
 * deadline read from each one's clock). */
int sched_group_any(sched_group *g, int flag);

/* Worker, inside run: progress of task as opaque bytes for the master's
 * checkpoint callback (e.g. a finished part to journal). Only the group's
 * leader sends (the members hold the same bytes); with one process the
 * callback runs here. Blocks until the bytes are handed over; the master's
 * errors end the loop there, not here. A no-op without a checkpoint callback. */
void sched_group_checkpoint(sched_group *g, int64_t task, const void *data, size_t len);

/* sched_run.c */
/* Collective over all ranks: form the groups and call setup on every worker; an
 * error there is agreed on and returned by every rank. *g is NULL on a master
 * that does not compute. */
int sched_start(const sched_env *env, const sched_options *o, const sched_app *app, sched_group **g,
                nn_error *err);
/* Collective: run tasks[0..n) (the master's list; ignored elsewhere) to the
 * end. With one rank it runs them in order in-process through the same
 * callbacks. On the master the first error of done/tick stops the loop and is
 * returned; the caller should then sched_abort, as workers may still compute.
 * After a stop request the master returns NN_EINTERRUPTED once every result in
 * flight has come back (done and the final tick called for each), or once
 * drain_seconds have passed; *abandoned (may be NULL) is then the number of
 * tasks still running, and the caller must sched_abort if it is not 0. When a
 * rank's process is seen to have died (only ranks on the master's host can be
 * checked), the master returns NN_ELOST at once, naming the rank and the tasks
 * its group held; the caller must then sched_abort. */
int sched_loop(const sched_env *env, const sched_options *o, const sched_app *app, sched_group *g,
               const int64_t *tasks, size_t n_tasks, long *abandoned, nn_error *err);
void sched_stop(sched_group *g);

/* sched_buf */
int sched_buf_append(sched_buf *b, const void *data, size_t len);
void sched_buf_free(sched_buf *b);

/* progress.c */
void sched_progress_init(sched_progress *p, FILE *out, int tty, double period, long total, long done_before);
/* One finished task: certified / scored (certified or not) / failed flags. */
void sched_progress_add(sched_progress *p, int certified, int scored, int failed);
/* Print when due (final: always, and end the tty line). */
void sched_progress_tick(sched_progress *p, int final);

#endif
