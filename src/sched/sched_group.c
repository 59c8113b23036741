/* Groups of ranks that run one task together, and the row split inside them.
 *
 * Every member of a group runs the same task on its own, identical state.
 * Whenever the task has a row problem it hands the rows to
 * sched_group_split_rows, which gives member r the row blocks
 * [nb r / g, nb (r+1) / g) of the problem's nb blocks of row_block rows, has
 * the caller's rows function compute them and all-gathers the rest. A rows
 * function gives for a row range the bits it gives as part of the whole
 * problem (sched_rows_fn), so every member ends with the same state as a
 * single process would and takes the same decisions after it: results do not
 * depend on the group size or on how many ranks the job has. The row block
 * size is part of the job, not chosen per group, for the same reason.
 *
 * Members that finish their share wait by polling with short sleeps
 * (sched_wait), not by spinning, so on shared or oversubscribed cores they give
 * the CPU to the members still computing.
 *
 * Failures are agreed on before the gather: if any member's rows failed (NaN,
 * allocation), every member returns the error of the lowest failing member,
 * i.e. the error of the lowest failing row, which is what one process reports. */
#include "sched_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sched_group_width(const sched_env *env, int ranks_per_image)
{
    int workers = env->size > 1 ? env->size - 1 : 1;
    return ranks_per_image <= 0 || ranks_per_image > workers ? workers : ranks_per_image;
}

int sched_group_count(const sched_env *env, int ranks_per_image)
{
    int workers = env->size > 1 ? env->size - 1 : 1, w = sched_group_width(env, ranks_per_image);
    return (workers + w - 1) / w;
}

int sched_group_size(const sched_group *g) { return g->size; }
int sched_group_rank(const sched_group *g) { return g->rank; }

int sched_group_init(const sched_env *env, int ranks_per_image, sched_group **out, nn_error *err)
{
    *out = NULL;
    int w = sched_group_width(env, ranks_per_image);
    sched_group *g = NULL;
    if (env->is_worker) {
        g = nn_calloc(1, sizeof *g, "rank group", err);
        if (!g) return NN_ENOMEM;
        g->comm = MPI_COMM_NULL;
        g->world_rank = env->rank;
        g->size = 1;
    }
    if (env->size > 1) {
        int color = env->rank == 0 ? MPI_UNDEFINED : (env->rank - 1) / w;
        MPI_Comm comm;
        MPI_Comm_split(MPI_COMM_WORLD, color, env->rank, &comm);
        if (g) {
            g->comm = comm;
            g->id = color;
            MPI_Comm_rank(comm, &g->rank);
            MPI_Comm_size(comm, &g->size);
        }
    }
    if (g) {
        g->counts = nn_calloc((size_t)g->size, sizeof *g->counts, "rank group", err);
        g->displs = nn_calloc((size_t)g->size, sizeof *g->displs, "rank group", err);
        if (!g->counts || !g->displs) {
            sched_group_free(g);
            return NN_ENOMEM;
        }
    }
    *out = g;
    return NN_OK;
}

void sched_group_free(sched_group *g)
{
    if (!g) return;
    if (g->comm != MPI_COMM_NULL) MPI_Comm_free(&g->comm);
    free(g->counts);
    free(g->displs);
    free(g->cbuf);
    free(g);
}

/* One message per checkpoint, sent blocking: a large one waits for the master
 * to take it, which it does between results (sched_run.c). The master reads a
 * leader's messages in the order they were sent, so a task's checkpoints reach
 * it before its result. */
void sched_group_checkpoint(sched_group *g, int64_t task, const void *data, size_t len)
{
    if (!g || g->rank != 0 || !g->app || !g->app->checkpoint) return;
    if (g->local) {
        nn_error e;
        nn_error_clear(&e);
        int rc = g->app->checkpoint(g->app->ctx, task, 0, data, len, &e);
        if (rc && !g->checkpoint_rc) g->checkpoint_rc = rc, g->checkpoint_err = e;
        return;
    }
    size_t n = MSG_CHECKPOINT_HEADER + len;
    if (n > g->ccap) {
        unsigned char *p = realloc(g->cbuf, n);
        if (!p) return;  /* only progress lost: the task goes on and is journaled when done */
        g->cbuf = p, g->ccap = n;
    }
    msg_checkpoint_header(g->cbuf, task, g->world_rank);
    if (len) memcpy(g->cbuf + MSG_CHECKPOINT_HEADER, data, len);
    MPI_Send(g->cbuf, (int)n, MPI_BYTE, 0, TAG_CHECKPOINT, MPI_COMM_WORLD);
}

int sched_group_sync(sched_group *g, int kind, int failed)
{
    if (g->size == 1) return failed ? 0 : -1;
    int v[3] = {kind, -kind, failed ? g->size - g->rank : 0}, r[3];
    MPI_Request req;
    MPI_Iallreduce(v, r, 3, MPI_INT, MPI_MAX, g->comm, &req);
    sched_wait(&req, NULL);
    if (r[0] != -r[1]) {
        fprintf(stderr,
                "nncert: rank %d: the members of rank group %d are at different steps of a task (one left it "
                "early); stopping the job\n",
                g->world_rank, g->id);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    return r[2] ? g->size - r[2] : -1;
}

int sched_group_any(sched_group *g, int flag) { return sched_group_sync(g, SYNC_ANY, flag) >= 0; }

/* Member r's share of n items in blocks of `block` items: the whole blocks
 * [nb r / g, nb (r+1) / g), into g->counts and g->displs scaled by `scale`
 * (the MPI elements per item). */
static void share(sched_group *g, size_t n, size_t block, size_t scale)
{
    size_t nb = (n + block - 1) / block;
    for (int r = 0; r < g->size; r++) {
        size_t lo = nb * (size_t)r / (size_t)g->size * block, hi = nb * (size_t)(r + 1) / (size_t)g->size * block;
        if (lo > n) lo = n;
        if (hi > n) hi = n;
        g->displs[r] = (int)(lo * scale);
        g->counts[r] = (int)((hi - lo) * scale);
    }
}

/* Failures agreed on before a gather: -1 when every member succeeded, else the
 * code of the lowest failing member, with its error on every member. */
static int agree_failure(sched_group *g, int rc, nn_error *err)
{
    int first = sched_group_sync(g, SYNC_ROWS, rc != NN_OK);
    if (first < 0) return -1;
    nn_error e;
    nn_error_clear(&e);
    if (g->rank == first && err) e = *err;
    if (g->rank == first) e.code = (nn_code)rc;
    MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, first, g->comm);
    if (err) *err = e;
    return e.code ? (int)e.code : NN_ENUMERIC;
}

int sched_group_split_items(sched_group *g, size_t n, size_t width, size_t block, sched_items_fn items, void *ctx,
                            double *out, nn_error *err)
{
    size_t bs = block ? block : n;
    if (g->size == 1 || bs == 0 || (n + bs - 1) / bs < 2) return items(ctx, 0, n, out, err);
    share(g, n, bs, width);
    size_t lo = (size_t)g->displs[g->rank] / width, hi = lo + (size_t)g->counts[g->rank] / width;
    int rc = items(ctx, lo, hi, out + lo * width, err);
    if ((rc = agree_failure(g, rc, err)) >= 0) return rc;
    MPI_Request req;
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, g->counts, g->displs, MPI_DOUBLE, g->comm, &req);
    sched_wait(&req, NULL);
    return NN_OK;
}

int sched_group_split_rows(sched_group *g, size_t n, size_t row_block, sched_rows_fn rows, void *ctx,
                           double *lower, double *upper, nn_error *err)
{
    size_t rb = row_block ? row_block : n, nb = rb ? (n + rb - 1) / rb : 0;
    if (g->size == 1 || nb < 2) return rows(ctx, 0, n, lower, upper, err);
    share(g, n, rb, 1);
    size_t lo = (size_t)g->displs[g->rank], hi = lo + (size_t)g->counts[g->rank];
    int rc = rows(ctx, lo, hi, lower + lo, upper + lo, err);
    if ((rc = agree_failure(g, rc, err)) >= 0) return rc;
    MPI_Request req[2];
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, lower, g->counts, g->displs, MPI_DOUBLE, g->comm, &req[0]);
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, upper, g->counts, g->displs, MPI_DOUBLE, g->comm, &req[1]);
    sched_wait(&req[0], NULL);
    sched_wait(&req[1], NULL);
    return NN_OK;
}
