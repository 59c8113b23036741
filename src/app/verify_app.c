/* One property over a rank group (include/verify_app.h; doc/verify.md "Over MPI").
 *
 * The task (id 0) runs prop_verify on every worker of the single group with the
 * group's executor for branch and bound's jobs (sched_group_split_items_dynamic: the
 * master hands them out as the members ask) and its agreement on clock
 * decisions, so every member explores the tree one process would and reaches
 * the same answer. The leader packs the result (answer, counts, branch and
 * bound's statistics, and a counterexample as extra bytes) for the master,
 * which prints it like the single-process command. */
#include "verify_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

enum { MSG_LEN = 224 };

/* The result's fixed layout: u64 status | char message[224] | then 8-byte
 * fields in this order. */
enum {
    F_ANSWER, F_SAT_CASE, F_BOXES, F_CASES, F_PGD, F_SECONDS, F_DOMAINS, F_LEAVES, F_EMPTY, F_OPEN, F_STUCK,
    F_DEPTH, F_MARGIN, F_VOLUME, F_ROUNDS, F_SEC_PGD, F_SEC_PLAN, F_SEC_JOBS, F_SEC_MERGE, F_USED_INPUT,
    F_USED_RELU, F_RESUMED_OPEN, F_RESUMED_SEC, F_SNAPSHOTS, F_PEAK, F_BATCHES, F_NX, F_NY, F_COUNT
};
#define FIELD(k) (8 + MSG_LEN + 8 * (k))
typedef char result_fits[FIELD(F_COUNT) <= VERIFY_RESULT_BYTES ? 1 : -1];

static int group_jobs(void *ctx, size_t n, size_t width, bab_jobs_fn jobs, void *jobs_ctx, double *out, nn_error *err)
{
    return sched_group_split_items_dynamic(((verify_app *)ctx)->group, n, width, 1, jobs, jobs_ctx, out, err);
}

static int group_late(void *ctx, int late) { return sched_group_any(((verify_app *)ctx)->group, late); }

static int group_share(void *ctx, int rc, unsigned char **bytes, size_t *len, nn_error *err)
{
    return sched_group_share(((verify_app *)ctx)->group, rc, bytes, len, err);
}

static int setup(void *ctx, sched_group *g, nn_error *err)
{
    (void)err;
    ((verify_app *)ctx)->group = g;
    return NN_OK;
}

static void put_i(unsigned char *out, int k, long long v) { le_put_u64(out + FIELD(k), (uint64_t)v); }
static void put_f(unsigned char *out, int k, double v) { le_put_f64(out + FIELD(k), v); }
static long long get_i(const unsigned char *in, int k) { return (long long)le_get_u64(in + FIELD(k)); }
static double get_f(const unsigned char *in, int k) { return le_get_f64(in + FIELD(k)); }

static void run(void *ctx, int64_t task, unsigned char *out, sched_buf *extra)
{
    verify_app *a = ctx;
    nn_error e;
    nn_error_clear(&e);
    prop_options po = a->po;
    if (a->group && sched_group_size(a->group) > 1) {
        po.bab.exec = group_jobs, po.bab.exec_ctx = a;
        po.bab.share = group_share, po.bab.share_ctx = a, po.bab.holder = sched_group_rank(a->group) == 0;
        po.agree = group_late, po.agree_ctx = a;
    }
    if (a->group && sched_group_rank(a->group) != 0) po.bab.save = NULL;  /* the leader writes the snapshots */
    prop_result r;
    memset(&r, 0, sizeof r);
    int rc = task == 0 ? prop_verify(a->model, a->spec, &po, &r, &e) : nn_fail(&e, NN_EARG, "no task %lld", (long long)task);
    memset(out, 0, VERIFY_RESULT_BYTES);
    le_put_u64(out, (uint64_t)rc);
    if (rc) {
        snprintf((char *)out + 8, MSG_LEN, "%.*s", MSG_LEN - 1, e.msg);
        return;
    }
    if (a->finished && (!a->group || sched_group_rank(a->group) == 0)) a->finished(a->finished_ctx, &r);
    const bab_stats *b = &r.bab;
    put_i(out, F_ANSWER, r.answer), put_i(out, F_SAT_CASE, (long long)r.sat_case);
    put_i(out, F_BOXES, (long long)r.boxes_proven), put_i(out, F_CASES, (long long)r.cases_proven);
    put_i(out, F_PGD, r.pgd_steps), put_f(out, F_SECONDS, r.seconds);
    put_i(out, F_DOMAINS, b->domains), put_i(out, F_LEAVES, b->leaves_proven), put_i(out, F_EMPTY, b->leaves_empty);
    put_i(out, F_OPEN, b->open), put_i(out, F_STUCK, b->stuck), put_i(out, F_DEPTH, b->depth);
    put_f(out, F_MARGIN, b->proven_margin), put_f(out, F_VOLUME, b->volume_proven), put_i(out, F_ROUNDS, b->rounds);
    put_f(out, F_SEC_PGD, b->sec_pgd), put_f(out, F_SEC_PLAN, b->sec_plan), put_f(out, F_SEC_JOBS, b->sec_jobs);
    put_f(out, F_SEC_MERGE, b->sec_merge), put_i(out, F_USED_INPUT, b->used_input);
    put_i(out, F_USED_RELU, b->used_relu), put_i(out, F_RESUMED_OPEN, b->resumed_open);
    put_f(out, F_RESUMED_SEC, b->resumed_seconds), put_i(out, F_SNAPSHOTS, b->snapshots);
    put_i(out, F_PEAK, b->frontier_peak), put_i(out, F_BATCHES, b->used_batches);
    size_t nx = r.answer == PROP_SAT ? a->spec->n_x : 0, ny = r.answer == PROP_SAT ? a->spec->n_y : 0;
    put_i(out, F_NX, (long long)nx), put_i(out, F_NY, (long long)ny);
    unsigned char v[8];
    for (size_t i = 0; i < nx + ny; i++) {
        le_put_f64(v, i < nx ? r.x[i] : r.y[i - nx]);
        if (sched_buf_append(extra, v, 8)) {  /* without the point the answer cannot stand */
            memset(out, 0, VERIFY_RESULT_BYTES);
            le_put_u64(out, NN_ENOMEM);
            snprintf((char *)out + 8, MSG_LEN, "out of memory for the counterexample");
            break;
        }
    }
    prop_result_free(&r);
}

static int done(void *ctx, int64_t task, int rank, const unsigned char *in, const unsigned char *extra,
                size_t extra_len, nn_error *err)
{
    verify_app *a = ctx;
    a->have = 1;
    a->rc = (int)le_get_u64(in);
    if (a->rc) {
        nn_fail(&a->err, (nn_code)a->rc, "%.*s", MSG_LEN, (const char *)in + 8);
        return NN_OK;
    }
    prop_result *r = &a->r;
    bab_stats *b = &r->bab;
    size_t nx = (size_t)get_i(in, F_NX), ny = (size_t)get_i(in, F_NY);
    if (task != 0 || get_i(in, F_ANSWER) < 0 || get_i(in, F_ANSWER) > PROP_TIMEOUT || extra_len != 8 * (nx + ny) ||
        (get_i(in, F_ANSWER) == PROP_SAT) != (nx > 0))
        return nn_fail(err, NN_EFORMAT, "malformed answer from rank %d", rank);
    r->answer = (prop_answer)get_i(in, F_ANSWER), r->sat_case = (size_t)get_i(in, F_SAT_CASE);
    r->boxes_proven = (size_t)get_i(in, F_BOXES), r->cases_proven = (size_t)get_i(in, F_CASES);
    r->pgd_steps = (long)get_i(in, F_PGD), r->seconds = get_f(in, F_SECONDS);
    b->domains = (long)get_i(in, F_DOMAINS), b->leaves_proven = (long)get_i(in, F_LEAVES);
    b->leaves_empty = (long)get_i(in, F_EMPTY), b->open = (long)get_i(in, F_OPEN);
    b->stuck = (long)get_i(in, F_STUCK), b->depth = (int)get_i(in, F_DEPTH);
    b->proven_margin = get_f(in, F_MARGIN), b->volume_proven = get_f(in, F_VOLUME);
    b->rounds = (long)get_i(in, F_ROUNDS), b->sec_pgd = get_f(in, F_SEC_PGD), b->sec_plan = get_f(in, F_SEC_PLAN);
    b->sec_jobs = get_f(in, F_SEC_JOBS), b->sec_merge = get_f(in, F_SEC_MERGE);
    b->used_input = (int)get_i(in, F_USED_INPUT), b->used_relu = (int)get_i(in, F_USED_RELU);
    b->resumed_open = (long)get_i(in, F_RESUMED_OPEN), b->resumed_seconds = get_f(in, F_RESUMED_SEC);
    b->snapshots = (long)get_i(in, F_SNAPSHOTS), b->frontier_peak = (long)get_i(in, F_PEAK);
    b->used_batches = (int)get_i(in, F_BATCHES);
    if (nx) {
        r->x = malloc(nx * sizeof *r->x), r->y = malloc(ny * sizeof *r->y);
        if (!r->x || !r->y) return nn_fail(err, NN_ENOMEM, "out of memory for the counterexample");
        for (size_t i = 0; i < nx + ny; i++) {
            double v = le_get_f64(extra + 8 * i);
            if (i < nx) r->x[i] = v;
            else r->y[i - nx] = v;
        }
    }
    return NN_OK;
}

static int tick(void *ctx, int final, nn_error *err)
{
    (void)ctx, (void)final, (void)err;
    return NN_OK;
}

sched_app verify_app_callbacks(verify_app *a)
{
    sched_app s = {a, VERIFY_RESULT_BYTES, setup, run, done, tick, NULL, NULL};
    return s;
}

void verify_app_free(verify_app *a) { prop_result_free(&a->r); }
