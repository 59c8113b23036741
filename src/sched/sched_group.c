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
 * i.e. the error of the lowest failing row, which is what one process reports.
 *
 * Rows whose costs differ by orders of magnitude (one LP per neuron, one
 * branch-and-bound sub-domain per item) go by a dynamic split instead: guided
 * chunks of blocks (sched_chunk), the first one per member fixed, the others
 * handed out by the master as the members ask, so a member that drew cheap
 * blocks takes more of them. The rows' bits do not depend on who computes
 * them, so neither do the results. */
#include "sched_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The group's collectives wait for members a share of a layer behind: short
 * waits, so the sleeps between polls stay short too (a member asleep does not
 * progress a collective, and the one it waits for finds it asleep). */
#define GROUP_WAIT_CAP_US 100
static void group_wait(MPI_Request *req, MPI_Status *status) { sched_wait_cap(req, status, GROUP_WAIT_CAP_US); }

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
int sched_group_id(const sched_group *g) { return g->id; }

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
    free(g->owner_base);
    free(g->gather);
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

void sched_group_astray(const sched_group *g)
{
    fprintf(stderr,
            "nncert: rank %d: the members of rank group %d are at different steps of a task (one left it early); "
            "stopping the job\n", g->world_rank, g->id);
    MPI_Abort(MPI_COMM_WORLD, 3);
}

int sched_group_sync(sched_group *g, int kind, int failed)
{
    if (g->size == 1) return failed ? 0 : -1;
    /* the lowest failing member wins the MAX */
    int v[3] = {kind, -kind, failed ? INT_MAX - g->rank : 0}, r[3];
    MPI_Request req;
    MPI_Iallreduce(v, r, 3, MPI_INT, MPI_MAX, g->comm, &req);
    group_wait(&req, NULL);
    if (r[0] != -r[1]) sched_group_astray(g);
    return r[2] ? INT_MAX - r[2] : -1;
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

/* Member root's failure (code rc, message in *err there) on every member:
 * returns its code, with its error in *err. */
static int bcast_error(sched_group *g, int root, int rc, nn_error *err)
{
    nn_error e;
    nn_error_clear(&e);
    if (g->rank == root && err) e = *err;
    if (g->rank == root) e.code = (nn_code)rc;
    MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, root, g->comm);
    if (err) *err = e;
    return e.code ? (int)e.code : NN_ENUMERIC;
}

/* Failures agreed on before a gather: -1 when every member succeeded, else the
 * code of the lowest failing member, with its error on every member. */
static int agree_failure(sched_group *g, int rc, nn_error *err)
{
    int first = sched_group_sync(g, SYNC_ROWS, rc != NN_OK);
    return first < 0 ? -1 : bcast_error(g, first, rc, err);
}

/* A share's first message: the length (SHARE_FAILED: the leader failed, its
 * code and message follow) and the first bytes, so that a round of a light
 * branch-and-bound search costs one collective. With a lockstep check and the
 * length as collectives of their own, the ACAS Xu-like 6x[50] search by input
 * halves (12,503 rounds) took 14.2 s on a group of two instead of 12.7 s.
 * 4 KiB is a round number above such a round: 8 input-split domains of a
 * 5-input net and the snapshot header are about 1.2 KB (a ReLU-split round
 * carries every domain's bounds, 26 KB for the 10x[20] MLP, and takes the
 * second message either way). */
#define SHARE_HEAD 4096
#define SHARE_FAILED UINT64_MAX

int sched_group_share(sched_group *g, int rc, unsigned char **bytes, size_t *len, nn_error *err)
{
    if (g->size == 1) return rc;
    unsigned char head[SHARE_HEAD];
    size_t room = SHARE_HEAD - 8;
    uint64_t n = 0;
    if (g->rank == 0) {
        n = rc ? SHARE_FAILED : (uint64_t)*len;
        memcpy(head, &n, 8);
        if (rc) {
            int code = rc;
            memcpy(head + 8, &code, sizeof code);
            snprintf((char *)head + 16, SHARE_HEAD - 16, "%s", err ? err->msg : "");
        } else {
            memcpy(head + 8, *bytes, *len < room ? *len : room);
        }
    }
    MPI_Request req;
    MPI_Ibcast(head, SHARE_HEAD, MPI_BYTE, 0, g->comm, &req);
    group_wait(&req, NULL);
    if (g->rank == 0) {
        if (rc) return rc;
    } else {
        memcpy(&n, head, 8);
        if (n == SHARE_FAILED) {
            int code;
            memcpy(&code, head + 8, sizeof code);
            head[SHARE_HEAD - 1] = 0;
            return nn_fail(err, code ? (nn_code)code : NN_ENUMERIC, "%s", (char *)head + 16);
        }
        *len = (size_t)n;
        if ((uint64_t)*len != n || !(*bytes = malloc(n ? (size_t)n : 1))) {
            fprintf(stderr, "nncert: rank %d: out of memory for %llu bytes the leader of rank group %d shares; "
                    "stopping the job (finished tasks are saved, a rerun resumes)\n", g->world_rank,
                    (unsigned long long)n, g->id);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        memcpy(*bytes, head + 8, *len < room ? *len : room);
    }
    /* the rest, in pieces MPI's int counts can hold */
    for (size_t at = room, piece = (size_t)1 << 30; at < *len; at += piece) {
        size_t k = *len - at < piece ? *len - at : piece;
        MPI_Ibcast(*bytes + at, (int)k, MPI_BYTE, 0, g->comm, &req);
        group_wait(&req, NULL);
    }
    return rc;
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
    group_wait(&req, NULL);
    return NN_OK;
}

/* This member's share (g->displs, g->counts) computed, rows [0, n) into lower
 * and upper on every member. */
static int gather_rows(sched_group *g, sched_rows_fn rows, void *ctx, double *lower, double *upper, nn_error *err)
{
    size_t lo = (size_t)g->displs[g->rank], hi = lo + (size_t)g->counts[g->rank];
    int rc = rows(ctx, lo, hi, lower + lo, upper + lo, err);
    if ((rc = agree_failure(g, rc, err)) >= 0) return rc;
    MPI_Request req[2];
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, lower, g->counts, g->displs, MPI_DOUBLE, g->comm, &req[0]);
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, upper, g->counts, g->displs, MPI_DOUBLE, g->comm, &req[1]);
    group_wait(&req[0], NULL);
    group_wait(&req[1], NULL);
    return NN_OK;
}

int sched_group_split_rows(sched_group *g, size_t n, size_t row_block, sched_rows_fn rows, void *ctx,
                           double *lower, double *upper, nn_error *err)
{
    size_t rb = row_block ? row_block : n, nb = rb ? (n + rb - 1) / rb : 0;
    if (g->size == 1 || nb < 2) return rows(ctx, 0, n, lower, upper, err);
    share(g, n, rb, 1);
    return gather_rows(g, rows, ctx, lower, upper, err);
}

int sched_group_split_rows_weighted(sched_group *g, size_t n, const double *weight, sched_rows_fn rows, void *ctx,
                                    double *lower, double *upper, nn_error *err)
{
    if (g->size == 1 || n < 2) return rows(ctx, 0, n, lower, upper, err);
    double total = 0, sum = 0;
    for (size_t i = 0; i < n; i++) total += weight[i];
    if (!(total > 0)) {  /* no weight: equal counts */
        share(g, n, 1, 1);
        return gather_rows(g, rows, ctx, lower, upper, err);
    }
    size_t i = 0;
    for (int r = 0; r < g->size; r++) {
        size_t lo = i;
        double goal = total * (double)(r + 1) / (double)g->size;
        if (r == g->size - 1) i = n;
        else
            while (i < n && sum + weight[i] / 2 < goal) sum += weight[i++];  /* a row goes where most of it lies */
        g->displs[r] = (int)lo;
        g->counts[r] = (int)(i - lo);
    }
    return gather_rows(g, rows, ctx, lower, upper, err);
}

/* ---- dynamic splits ---- */

/* Computes items [lo, hi) of a dynamic split in place. */
typedef int (*block_fn)(void *ctx, size_t lo, size_t hi, nn_error *err);

/* A request for the group's next chunk, posted now and read by chunk_wait.
 * While blocks are cheap a member keeps one in flight as it computes, so the
 * answer is there when it finishes (the round trip to the master costs a light
 * job's time); costly blocks are asked for only once the last one is done, so
 * that no member sits on a costly block another could have started. */
typedef struct {
    unsigned char req[MSG_CHUNK_REQUEST_SIZE], ans[MSG_CHUNK_SIZE];
    MPI_Request send, recv;
} chunk_ask;

/* This member's largest cost of a block in the split, whole microseconds (0: none). */
static uint32_t block_us(const sched_group *g)
{
    double us = g->block_seconds * 1e6;
    return us <= 0 ? 0 : us < 1 ? 1 : us < 4e9 ? (uint32_t)us : 4000000000u;
}

static void chunk_post(sched_group *g, chunk_ask *q, size_t nb)
{
    msg_chunk_request_pack(q->req, g->split_serial, nb, (uint32_t)g->size, g->agreed_us);
    MPI_Irecv(q->ans, MSG_CHUNK_SIZE, MPI_BYTE, 0, TAG_CHUNK, MPI_COMM_WORLD, &q->recv);
    MPI_Isend(q->req, MSG_CHUNK_REQUEST_SIZE, MPI_BYTE, 0, TAG_CHUNK_REQUEST, MPI_COMM_WORLD, &q->send);
}

/* The answer: 0 with [*first, *first + *count), or -1 when none is left. */
static int chunk_wait(sched_group *g, chunk_ask *q, size_t nb, size_t *first, size_t *count)
{
    sched_wait(&q->send, NULL);
    sched_wait(&q->recv, NULL);
    int64_t f;
    uint64_t c;
    if (msg_chunk_unpack(q->ans, MSG_CHUNK_SIZE, &f, &c) || (f >= 0 && (uint64_t)f + c > nb)) {
        fprintf(stderr, "nncert: rank %d: malformed chunk answer from the master; stopping the job\n", g->world_rank);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    if (f < 0) return -1;
    *first = (size_t)f, *count = (size_t)c;
    return 0;
}

/* Room for a split of nb blocks and `doubles` values. Every member must take
 * part in the split's collectives with these sizes, so a member that cannot get
 * them cannot fail alone: it stops the job, saying why (finished tasks are in
 * the journal; a rerun resumes). */
static void dynamic_room(sched_group *g, size_t nb, size_t doubles)
{
    if (nb + 4 > g->owner_cap) {
        int *p = realloc(g->owner_base, (nb + 4) * sizeof *p);
        if (!p) goto out_of_memory;
        g->owner_base = p, g->owner_cap = nb + 4;
    }
    g->owner = g->owner_base + 4;  /* the 4 ints before: the lockstep check's and the cost */
    if (doubles > g->gather_cap) {
        double *p = realloc(g->gather, doubles * sizeof *p);
        if (!p) goto out_of_memory;
        g->gather = p, g->gather_cap = doubles;
    }
    memset(g->owner, 0, nb * sizeof *g->owner);
    return;
out_of_memory:
    fprintf(stderr, "nncert: rank %d: out of memory for a split of %zu values over rank group %d; stopping the job "
            "(finished tasks are saved, a rerun resumes)\n", g->world_rank, doubles, g->id);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* A dynamic split of n items in blocks of `block`: this member's static first
 * chunk, then chunks from the master until none is left, each computed by f;
 * failures agreed on (the error of the lowest failing chunk on every member,
 * returned: chunks are disjoint and handed out in increasing order, so that is
 * the first failure one process meets), then every member learns every block's
 * owner (g->owner[b], the member + 1). Each member times its chunks; the
 * group agrees at the end of each split on the largest cost of a block it saw
 * (a chunk's time over its blocks: the largest, so that one costly chunk makes
 * the next split go a block at a time) and sizes the next split's chunks by it
 * (sched_chunk). A split whose shares would each last at most a chunk's time
 * (SCHED_CHUNK_US) by that cost goes in equal static shares, without asking
 * the master: its answers would cost more than they even out (rounds of light
 * branch-and-bound jobs, 0.05 ms each). Every member decides alike, from the
 * agreed cost. Timing changes only who computes what, never a result. */
static int run_dynamic(sched_group *g, size_t n, size_t block, size_t width, block_fn f, void *ctx, nn_error *err)
{
    size_t nb = (n + block - 1) / block, members = (size_t)g->size, me = (size_t)g->rank, first, count;
    int fixed = g->agreed_us > 0 && (double)nb * g->agreed_us <= (double)SCHED_CHUNK_US * (double)members;
    if (fixed) {
        first = nb * me / members;
        count = nb * (me + 1) / members - first;
    } else {
        size_t k = sched_chunk_first(nb, g->size, g->agreed_us);
        first = me * k;
        count = first < nb ? (nb - first < k ? nb - first : k) : 0;
    }
    g->split_serial++;  /* every member counts its splits alike: lockstep */
    g->block_seconds = 0;
    dynamic_room(g, nb, n * width);
    int rc = NN_OK, fail = -1, posted = 0;
    /* cheap blocks: a request in flight while computing */
    int ahead = !fixed && g->agreed_us > 0 && g->agreed_us < SCHED_CHUNK_US;
    chunk_ask q;
    for (;;) {
        if (ahead) chunk_post(g, &q, nb), posted = 1;
        if (count) {
            size_t lo = first * block, hi = (first + count) * block < n ? (first + count) * block : n;
            for (size_t b = first; b < first + count; b++) g->owner[b] = g->rank + 1;
            double t0 = MPI_Wtime();
            if ((rc = f(ctx, lo, hi, err))) fail = (int)first;
            double each = (MPI_Wtime() - t0) / (double)count;
            if (each > g->block_seconds) g->block_seconds = each;
        }
        if (fixed) break;
        if (!posted) chunk_post(g, &q, nb);
        posted = 0;
        /* after a failure the chunk answered is dropped: its blocks lie above
         * the failing one */
        if (chunk_wait(g, &q, nb, &first, &count) < 0 || rc) break;
    }
    /* one collective for the lockstep check, the failures, the cost and the
     * owners: all reduce by MAX (sched_group_sync's encoding, with the failing
     * chunk in place of the member; owners 0 or r + 1) */
    int *v = g->owner - 4;
    v[0] = SYNC_ROWS, v[1] = -SYNC_ROWS, v[2] = fail >= 0 ? INT_MAX - fail : 0;
    v[3] = (int)(block_us(g) < INT_MAX ? block_us(g) : INT_MAX);
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, v, (int)nb + 4, MPI_INT, MPI_MAX, g->comm, &req);
    group_wait(&req, NULL);
    if (v[0] != -v[1]) sched_group_astray(g);
    g->agreed_us = (uint32_t)v[3];
    if (!v[2]) return NN_OK;
    int lowest = INT_MAX - v[2], mine = fail == lowest ? g->rank : -1, root = 0;
    MPI_Allreduce(&mine, &root, 1, MPI_INT, MPI_MAX, g->comm);
    return bcast_error(g, root, rc, err);
}

/* Every member's blocks of out[n x width] to every member, by g->owner. */
static void gather_owned(sched_group *g, size_t n, size_t block, size_t width, double *out)
{
    size_t nb = (n + block - 1) / block;
    for (int r = 0; r < g->size; r++) g->counts[r] = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t hi = (b + 1) * block < n ? (b + 1) * block : n;
        g->counts[g->owner[b] - 1] += (int)((hi - b * block) * width);
    }
    for (int r = 0, at = 0; r < g->size; r++) g->displs[r] = at, at += g->counts[r];
    double *mine = g->gather + g->displs[g->rank];
    for (size_t b = 0; b < nb; b++) {
        if (g->owner[b] != g->rank + 1) continue;
        size_t lo = b * block, len = ((lo + block < n ? lo + block : n) - lo) * width;
        memcpy(mine, out + lo * width, len * sizeof *out);
        mine += len;
    }
    MPI_Request req;
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, g->gather, g->counts, g->displs, MPI_DOUBLE, g->comm, &req);
    group_wait(&req, NULL);
    for (size_t b = 0; b < nb; b++) {
        int r = g->owner[b] - 1;
        size_t lo = b * block, len = ((lo + block < n ? lo + block : n) - lo) * width;
        memcpy(out + lo * width, g->gather + g->displs[r], len * sizeof *out);
        g->displs[r] += (int)len;
    }
}

typedef struct {
    sched_rows_fn rows;
    void *ctx;
    double *lower, *upper;
} rows_blocks;

static int rows_block(void *ctx, size_t lo, size_t hi, nn_error *err)
{
    rows_blocks *r = ctx;
    return r->rows(r->ctx, lo, hi, r->lower + lo, r->upper + lo, err);
}

int sched_group_split_rows_dynamic(sched_group *g, size_t n, size_t row_block, sched_rows_fn rows, void *ctx,
                                   double *lower, double *upper, nn_error *err)
{
    size_t rb = row_block ? row_block : n, nb = rb ? (n + rb - 1) / rb : 0;
    if (g->size == 1 || nb < 2) return rows(ctx, 0, n, lower, upper, err);
    rows_blocks r = {rows, ctx, lower, upper};
    int rc = run_dynamic(g, n, rb, 1, rows_block, &r, err);
    if (rc) return rc;
    gather_owned(g, n, rb, 1, lower);
    gather_owned(g, n, rb, 1, upper);
    return NN_OK;
}

typedef struct {
    sched_items_fn items;
    void *ctx;
    double *out;
    size_t width;
} items_blocks;

static int items_block(void *ctx, size_t lo, size_t hi, nn_error *err)
{
    items_blocks *t = ctx;
    return t->items(t->ctx, lo, hi, t->out + lo * t->width, err);
}

int sched_group_split_items_dynamic(sched_group *g, size_t n, size_t width, size_t block, sched_items_fn items,
                                    void *ctx, double *out, nn_error *err)
{
    size_t bs = block ? block : n;
    if (g->size == 1 || bs == 0 || (n + bs - 1) / bs < 2) return items(ctx, 0, n, out, err);
    items_blocks t = {items, ctx, out, width};
    int rc = run_dynamic(g, n, bs, width, items_block, &t, err);
    if (!rc) gather_owned(g, n, bs, width, out);
    return rc;
}
