/* The scheduler's splits inside a rank group, under a real MPI job (run by
 * tests/cli_mpi_split.sh with mpirun -np 3 and 4, groups of 2 and 3): every
 * task hands its group row problems and job lists, fixed and dynamic, of
 * widely varied costs (some rows sleep), and checks on every member that the
 * gathered values are the ones computed in one process; tasks with failing
 * rows check that every member returns the error of the lowest failing row,
 * as one process would. Every task also shares bytes from its leader
 * (sched_group_share: lengths on both sides of the first message's room, and
 * every fifth task a failure of the leader, which each member must return).
 * The master prints one TAP line per check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler.h"

enum { TASKS = 24, RESULT_BYTES = 16 };

/* A row's values depend on the task and the row only. */
static double row_value(int64_t task, size_t r, int side) { return (double)task * 1000.0 + (double)r * 1.5 + side; }

typedef struct {
    int64_t task;
    size_t fail_from, fail_also; /* rows that fail (SIZE_MAX: none) */
    int slow;                    /* 1: some rows sleep (costly blocks), 0: all cheap */
} problem;

static void nap(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

static int rows_fn(void *ctx, size_t lo, size_t hi, double *lower, double *upper, nn_error *err)
{
    const problem *p = ctx;
    for (size_t r = lo; r < hi; r++) {
        if (r == p->fail_also || r >= p->fail_from) return nn_fail(err, NN_ENUMERIC, "row %zu failed", r);
        if (p->slow && (r * 7 + (size_t)p->task) % 5 == 0) nap(3000);
        lower[r - lo] = row_value(p->task, r, 0);
        upper[r - lo] = row_value(p->task, r, 1);
    }
    return NN_OK;
}

static int items_fn(void *ctx, size_t lo, size_t hi, double *out, nn_error *err)
{
    const problem *p = ctx;
    for (size_t i = lo; i < hi; i++) {
        if (i == p->fail_also || i >= p->fail_from) return nn_fail(err, NN_ENUMERIC, "row %zu failed", i);
        if (p->slow && i % 6 == 1) nap(4000);
        for (int k = 0; k < 3; k++) out[(i - lo) * 3 + k] = row_value(p->task, i, k);
    }
    return NN_OK;
}

typedef struct {
    sched_group *g;
    int checks[4], failures[4]; /* master: per kind of check, tasks that passed and failed */
} app_ctx;

static int setup(void *ctx, sched_group *g, nn_error *err)
{
    (void)err;
    ((app_ctx *)ctx)->g = g;
    return NN_OK;
}

/* The leader's bytes of task t to every member: 1 if every member holds them
 * (or, every fifth task, the leader's failure). */
static int share_check(sched_group *g, int64_t task)
{
    size_t len = (size_t)(task * 997 % 9000), got_len = 0;
    int leader = sched_group_rank(g) == 0, fails = task % 5 == 0, rc = NN_OK;
    unsigned char *bytes = NULL;
    nn_error err;
    nn_error_clear(&err);
    if (leader) {
        bytes = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) bytes[i] = (unsigned char)(i * 31 + (size_t)task);
        if (fails) rc = nn_fail(&err, NN_EFORMAT, "leader of task %lld failed", (long long)task);
    }
    got_len = len;
    int back = sched_group_share(g, rc, &bytes, &got_len, &err);
    int ok;
    if (fails) {
        char want[64];
        snprintf(want, sizeof want, "leader of task %lld failed", (long long)task);
        ok = back == NN_EFORMAT && strcmp(err.msg, want) == 0;
    } else {
        ok = back == NN_OK && got_len == len && bytes;
        for (size_t i = 0; ok && i < len; i++) ok = bytes[i] == (unsigned char)(i * 31 + (size_t)task);
    }
    free(bytes);
    return ok;
}

/* Task t: kind t % 4 (0 rows fixed, 1 rows dynamic, 2 jobs dynamic, 3 failing
 * rows dynamic); result byte 0 = kind, byte 1 = 1 if the check held. */
static void run(void *ctx, int64_t task, unsigned char *result, sched_buf *extra)
{
    (void)extra;
    app_ctx *a = ctx;
    int kind = (int)(task % 4), ok = 1;
    size_t n = 5 + (size_t)(task * 13 % 60);
    problem p = {task, (size_t)-1, (size_t)-1, task % 3 != 0};
    double *lo = calloc(n * 3, sizeof *lo), *up = calloc(n, sizeof *up);
    nn_error err;
    nn_error_clear(&err);
    int rc;
    if (kind == 3) {
        p.fail_from = n - 2;
        p.fail_also = 1 + (size_t)task % (n - 3);
        rc = sched_group_split_rows_dynamic(a->g, n, 1 + (size_t)task % 3, rows_fn, &p, lo, up, &err);
        char want[64];
        snprintf(want, sizeof want, "row %zu failed", p.fail_also);
        ok = rc == NN_ENUMERIC && strcmp(err.msg, want) == 0;
    } else if (kind == 2) {
        rc = sched_group_split_items_dynamic(a->g, n, 3, 1, items_fn, &p, lo, &err);
        for (size_t i = 0; i < n && !rc; i++)
            for (int k = 0; k < 3; k++) ok &= lo[i * 3 + k] == row_value(task, i, k);
        ok &= rc == NN_OK;
    } else {
        size_t block = 1 + (size_t)task % 4;
        if (kind == 0 && task / 4 % 2) {
            /* rows cut anywhere by weight: zeros among them, every 3rd task's all zero */
            double *w = calloc(n, sizeof *w);
            for (size_t r = 0; r < n && task / 8 % 3; r++) w[r] = r % 5 == 0 ? 0.0 : (double)(1 + r % 3);
            rc = sched_group_split_rows_weighted(a->g, n, w, rows_fn, &p, lo, up, &err);
            free(w);
        } else {
            rc = kind ? sched_group_split_rows_dynamic(a->g, n, block, rows_fn, &p, lo, up, &err)
                      : sched_group_split_rows(a->g, n, block, rows_fn, &p, lo, up, &err);
        }
        for (size_t r = 0; r < n && !rc; r++) ok &= lo[r] == row_value(task, r, 0) && up[r] == row_value(task, r, 1);
        ok &= rc == NN_OK;
    }
    free(lo), free(up);
    ok &= share_check(a->g, task);
    /* every member's verdict, not only the leader's */
    ok = !sched_group_any(a->g, !ok);
    memset(result, 0, RESULT_BYTES);
    result[0] = (unsigned char)kind;
    result[1] = (unsigned char)ok;
}

static int done(void *ctx, int64_t task, int rank, const unsigned char *result, const unsigned char *extra,
                size_t extra_len, nn_error *err)
{
    (void)task, (void)rank, (void)extra, (void)extra_len, (void)err;
    app_ctx *a = ctx;
    int kind = result[0] & 3;
    if (result[1]) a->checks[kind]++;
    else a->failures[kind]++;
    return NN_OK;
}

static int tick(void *ctx, int final, nn_error *err)
{
    (void)ctx, (void)final, (void)err;
    return NN_OK;
}

int main(int argc, char **argv)
{
    sched_env env;
    nn_error err;
    nn_error_clear(&err);
    if (sched_init(&argc, &argv, &env, &err) || env.size < 3) {
        fprintf(stderr, "mpi_split: needs mpirun with 3 or more ranks\n");
        sched_finalize();
        return 2;
    }
    int group = argc > 1 ? atoi(argv[1]) : 0;
    app_ctx a = {0};
    sched_app app = {&a, RESULT_BYTES, setup, run, done, tick, NULL, NULL};
    sched_options o = {group, 2, NULL, 10};
    sched_group *g = NULL;
    int rc = sched_start(&env, &o, &app, &g, &err);
    int64_t tasks[TASKS];
    for (int i = 0; i < TASKS; i++) tasks[i] = i;
    if (!rc) rc = sched_loop(&env, &o, &app, g, tasks, TASKS, NULL, &err);
    sched_stop(g);
    int status = 0;
    if (env.is_master) {
        const char *what[4] = {"fixed row split, by blocks and by weights: every member holds the rows one process computes",
                               "dynamic row split of varied costs: every member holds the rows one process computes",
                               "dynamic job split of varied costs: every member holds every job's values",
                               "dynamic row split with failing rows: every member returns the lowest failing row's "
                               "error"};
        int test = 0;
        printf("1..4\n");
        for (int k = 0; k < 4; k++) {
            int pass = !rc && a.failures[k] == 0 && a.checks[k] == TASKS / 4;
            printf("%s %d - %s (%d of %d tasks, %d ranks, groups of %d)\n", pass ? "ok" : "not ok", ++test, what[k],
                   a.checks[k], TASKS / 4, env.size, group);
            status |= !pass;
        }
        if (rc) fprintf(stderr, "mpi_split: %s\n", err.msg);
    }
    sched_finalize();
    return status;
}
