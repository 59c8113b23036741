/* A VNN-COMP benchmark through the scheduler (see include/vnncomp_app.h).
 *
 * One task per instance, independent of every other: the worker loads the
 * instance's model (kept while the next instance names the same file), reads
 * the property and runs prop_verify with the instance's timeout. An instance
 * that cannot be run (unreadable files, sizes that do not fit) is answered
 * "error" with the reason, and the run goes on. The master appends every answer
 * to the journal in one write (journal.h), so a killed run resumes with the
 * instances still missing; the CSV is written at the end from the journal's
 * answers and this run's. */
#include "vnncomp_app.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byteorder.h"
#include "checkpoint_file.h"
#include "model_io.h"
#include "nn_clock.h"
#include "results_h5.h"
#include "vnnlib.h"

enum { REC_IDENTITY = 1, REC_ANSWER = 2 };

static const char *const names[] = {"unsat", "sat", "unknown", "timeout", "error"};

const char *vnncomp_answer_name(int answer) { return answer >= 0 && answer <= VNNCOMP_ERROR ? names[answer] : "?"; }

int vnncomp_app_init(vnncomp_app *a, const instances *in, const prop_options *po, nn_error *err)
{
    memset(a, 0, sizeof *a);
    a->in = in;
    a->po = *po;
    model_init(&a->model);
    a->done = nn_calloc(in->n, 1, "instance flags", err);
    a->answer = nn_calloc(in->n, sizeof *a->answer, "instance answers", err);
    a->seconds = nn_calloc(in->n, sizeof *a->seconds, "instance seconds", err);
    a->bab_domains = nn_calloc(in->n, sizeof *a->bab_domains, "instance counts", err);
    a->bab_open = nn_calloc(in->n, sizeof *a->bab_open, "instance counts", err);
    return a->done && a->answer && a->seconds && a->bab_domains && a->bab_open ? NN_OK : NN_ENOMEM;
}

void vnncomp_app_free(vnncomp_app *a)
{
    if (a->j) journal_close(a->j, NULL);
    model_free(&a->model);
    free(a->model_path);
    free(a->done), free(a->answer), free(a->seconds), free(a->bab_domains), free(a->bab_open);
    memset(a, 0, sizeof *a);
}

/* ---- worker ---- */

static int setup(void *ctx, sched_group *g, nn_error *err)
{
    (void)err;
    ((vnncomp_app *)ctx)->group = g;
    return NN_OK;
}

/* A group verifies one instance in lockstep: every member runs the same search
 * and branch and bound hands each round's jobs (a fixed row of doubles each) to
 * sched_group_split_items_dynamic, which hands them out as the members ask
 * for them, so every member computes whole jobs and all end with every job's
 * row (doc/bab.md "Over MPI"). */
static int group_exec(void *ctx, size_t n, size_t width, bab_jobs_fn jobs, void *jobs_ctx, double *out, nn_error *err)
{
    return sched_group_split_items_dynamic(((vnncomp_app *)ctx)->group, n, width, 1, jobs, jobs_ctx, out, err);
}

static int group_late(void *ctx, int late) { return sched_group_any(((vnncomp_app *)ctx)->group, late); }

static int group_share(void *ctx, int rc, unsigned char **bytes, size_t *len, nn_error *err)
{
    return sched_group_share(((vnncomp_app *)ctx)->group, rc, bytes, len, err);
}

static void checkpoint_path(const vnncomp_app *a, size_t i, char *path, size_t cap)
{
    snprintf(path, cap, "%s/instance-%zu.ckpt", a->ckpt_dir, i);
}

/* Instance i's checkpoint: its identity (the job's, the instance and its files'
 * bytes) into sink, the snapshot to resume from into *resume (NULL: none). */
static int open_checkpoint(const vnncomp_app *a, size_t i, checkpoint_sink *sink, char *path, size_t cap_path,
                           char *identity, size_t cap_id, unsigned char **resume, size_t *len, nn_error *err)
{
    char vnn_sha[65];
    int rc = model_file_sha256(a->in->vnnlib_path[i], vnn_sha, err);
    if (rc) return rc;
    checkpoint_path(a, i, path, cap_path);
    snprintf(identity, cap_id, "%s instance=%zu onnx sha256=%s vnnlib sha256=%s", a->ckpt_identity, i, a->model_sha,
             vnn_sha);
    *sink = (checkpoint_sink){.path = path, .identity = identity, .build = results_git_commit(),
                              .kill_after = a->ckpt_kill_after};
    int found;
    return checkpoint_read(path, identity, resume, len, &found, sink->found_build, sizeof sink->found_build, err);
}

static int verify_instance(vnncomp_app *a, size_t i, prop_answer *answer, bab_stats *bab, nn_error *err)
{
    const instances *in = a->in;
    int rc = NN_OK;
    if (!a->model_path || strcmp(a->model_path, in->onnx_path[i])) {
        model_free(&a->model);
        free(a->model_path);
        a->model_path = NULL;
        if ((rc = model_load(in->onnx_path[i], &a->model, err))) return rc;
        /* hashed once per model loaded, not per instance */
        if (a->ckpt_dir && (rc = model_file_sha256(in->onnx_path[i], a->model_sha, err))) return rc;
        if (!(a->model_path = strdup(in->onnx_path[i]))) return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    prop_spec p;
    if ((rc = vnnlib_read(in->vnnlib_path[i], NULL, &p, err))) return rc;
    prop_options po = a->po;
    po.timeout = in->timeout[i];
    if (a->group && sched_group_size(a->group) > 1) {
        po.bab.exec = group_exec, po.bab.exec_ctx = a;
        po.bab.share = group_share, po.bab.share_ctx = a, po.bab.holder = sched_group_rank(a->group) == 0;
        po.agree = group_late, po.agree_ctx = a;
    }
    prop_result r;
    char path[4200], identity[1400];
    checkpoint_sink sink;
    unsigned char *resume = NULL;
    size_t resume_len = 0;
    rc = prop_check_sizes(&p, model_input_size(&a->model), model_output_size(&a->model), in->vnnlib_path[i], err);
    if (!rc && a->ckpt_dir && po.bab.enabled) {
        /* every member reads the snapshot; only the leader writes the next ones */
        rc = open_checkpoint(a, i, &sink, path, sizeof path, identity, sizeof identity, &resume, &resume_len, err);
        po.bab.resume = resume, po.bab.resume_len = resume_len;
        if (!a->group || sched_group_rank(a->group) == 0) po.bab.save = checkpoint_sink_save, po.bab.save_ctx = &sink;
        po.bab.timeout_final = 1; /* done() records a timeout and drops the checkpoint */
    }
    if (!rc) rc = prop_verify(&a->model, &p, &po, &r, err);
    if (po.bab.save && sink.failed)  /* the answer stands; only resuming is lost */
        fprintf(stderr, "nncert vnncomp: warning: instance %zu: checkpoints not written: %s\n", i,
                sink.first_error.msg);
    char note[640];
    if (!rc && r.bab.resumed_open >= 0 && po.bab.save) {
        fprintf(stderr, "nncert vnncomp: instance %zu resumed from %s: %ld open domains, %.3f s spent before\n", i,
                path, r.bab.resumed_open, r.bab.resumed_seconds);
        if (checkpoint_other_build(path, sink.found_build, sink.build, note, sizeof note))
            fprintf(stderr, "nncert vnncomp: instance %zu: %s\n", i, note);
    }
    if (!rc) {
        *answer = r.answer;
        *bab = r.bab;
        prop_result_free(&r);
    } else if (resume) {
        nn_error e = *err;  /* the snapshot's fault: name it */
        nn_fail(err, e.code, "%s: %s", path, e.msg);
    }
    free(resume);
    prop_spec_free(&p);
    return rc;
}

static void run(void *ctx, int64_t task, unsigned char *out, sched_buf *extra)
{
    (void)extra;
    vnncomp_app *a = ctx;
    double t0 = nn_wall_seconds();
    nn_error e;
    nn_error_clear(&e);
    prop_answer answer = PROP_UNKNOWN;
    bab_stats bab;
    memset(&bab, 0, sizeof bab);
    int rc = task >= 0 && (size_t)task < a->in->n ? verify_instance(a, (size_t)task, &answer, &bab, &e)
                                                   : nn_fail(&e, NN_EARG, "no instance %lld", (long long)task);
    memset(out, 0, VNNCOMP_RESULT_BYTES);
    le_put_u64(out, rc ? VNNCOMP_ERROR : (uint64_t)answer);
    le_put_f64(out + 8, nn_wall_seconds() - t0);
    if (rc) snprintf((char *)out + 16, 224, "%.223s", e.msg);
    le_put_u64(out + 240, (uint64_t)bab.domains);
    le_put_u64(out + 248, (uint64_t)bab.open);
}

/* ---- master ---- */

static int record(vnncomp_app *a, int64_t task, const unsigned char *res, int rank, nn_error *err)
{
    uint64_t answer = le_get_u64(res);
    if (task < 0 || (size_t)task >= a->in->n || answer > VNNCOMP_ERROR)
        return nn_fail(err, NN_EFORMAT, "result of task %lld from rank %d is corrupt", (long long)task, rank);
    size_t i = (size_t)task;
    if (!a->done[i]) a->counts[answer]++;
    a->done[i] = 1;
    a->answer[i] = (int)answer;
    a->seconds[i] = le_get_f64(res + 8);
    a->bab_domains[i] = (int64_t)le_get_u64(res + 240);
    a->bab_open[i] = (int64_t)le_get_u64(res + 248);
    return NN_OK;
}

typedef struct {
    vnncomp_app *a;
    const char *identity;
    int seen_identity;
} replay_ctx;

static int replay(void *ctx, uint32_t type, const unsigned char *data, size_t len, nn_error *err)
{
    replay_ctx *r = ctx;
    const char *path = journal_path(r->a->j);
    if (type == REC_IDENTITY) {
        if (len != strlen(r->identity) || memcmp(data, r->identity, len)) {
            char diff[600];
            checkpoint_identity_diff(r->identity, (const char *)data, len, diff, sizeof diff);
            return nn_fail(err, NN_EARG, "%s belongs to another job (%s); remove it or use --force-new", path, diff);
        }
        r->seen_identity = 1;
        return NN_OK;
    }
    if (type != REC_ANSWER || len != 8 + VNNCOMP_RESULT_BYTES || !r->seen_identity)
        return nn_fail(err, NN_EFORMAT, "%s: unexpected record (type %u, %zu bytes)", path, (unsigned)type, len);
    int rc = record(r->a, (int64_t)le_get_u64(data), data + 8, 0, err);
    if (!rc) r->a->recovered++;
    return rc;
}

int vnncomp_app_open_journal(vnncomp_app *a, const char *path, const char *identity, int force_new, nn_error *err)
{
    if (force_new && unlink(path) && access(path, F_OK) == 0)
        return nn_fail(err, NN_EIO, "cannot remove %s", path);
    int created;
    int rc = journal_open(&a->j, path, &created, err);
    if (rc) return rc;
    replay_ctx r = {a, identity, 0};
    size_t dropped;
    if ((rc = journal_replay(a->j, replay, &r, &dropped, err))) return rc;
    if (!r.seen_identity) rc = journal_append(a->j, REC_IDENTITY, identity, strlen(identity), err);
    return rc;
}

static int done(void *ctx, int64_t task, int rank, const unsigned char *result, const unsigned char *extra,
                size_t extra_len, nn_error *err)
{
    (void)extra, (void)extra_len;
    vnncomp_app *a = ctx;
    unsigned char rec[8 + VNNCOMP_RESULT_BYTES];
    le_put_u64(rec, (uint64_t)task);
    memcpy(rec + 8, result, VNNCOMP_RESULT_BYTES);
    int rc = record(a, task, result, rank, err);
    if (!rc && a->j) rc = journal_append(a->j, REC_ANSWER, rec, sizeof rec, err);
    if (rc) return rc;
    if (a->ckpt_dir) {  /* the answer is final: its search will not be resumed */
        char path[4200];
        checkpoint_path(a, (size_t)task, path, sizeof path);
        if ((rc = checkpoint_remove(path, err))) return rc;
    }
    if (a->kill_after > 0 && ++a->added == a->kill_after) raise(SIGKILL);
    int answer = a->answer[task];
    sched_progress_add(&a->progress, answer == PROP_UNSAT, answer != VNNCOMP_ERROR, answer == VNNCOMP_ERROR);
    if (answer == VNNCOMP_ERROR)
        fprintf(stderr, "nncert vnncomp: instance %lld (%s, %s): %.224s\n", (long long)task, a->in->onnx[task],
                a->in->vnnlib[task], (const char *)result + 16);
    return NN_OK;
}

static int tick(void *ctx, int final, nn_error *err)
{
    vnncomp_app *a = ctx;
    sched_progress_tick(&a->progress, final);
    if (final && a->j) return journal_sync(a->j, err);
    return NN_OK;
}

sched_app vnncomp_app_callbacks(vnncomp_app *a)
{
    sched_app s = {a, VNNCOMP_RESULT_BYTES, setup, run, done, tick, NULL, NULL};  /* its journal keeps answers only */
    return s;
}

int vnncomp_app_write_csv(const vnncomp_app *a, const char *path, nn_error *err)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp) return nn_fail(err, NN_ENOMEM, "out of memory");
    snprintf(tmp, n + 5, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return nn_fail(err, NN_EIO, "cannot write %s", path);
    }
    fprintf(f, "onnx,vnnlib,result,seconds\n");
    for (size_t i = 0; i < a->in->n; i++)
        fprintf(f, "%s,%s,%s,%.3f\n", a->in->onnx[i], a->in->vnnlib[i],
                a->done[i] ? vnncomp_answer_name(a->answer[i]) : "missing", a->done[i] ? a->seconds[i] : 0.0);
    int rc = fclose(f) || rename(tmp, path) ? nn_fail(err, NN_EIO, "cannot write %s", path) : NN_OK;
    free(tmp);
    return rc;
}

int vnncomp_app_write_h5(const vnncomp_app *a, const char *path, const char *identity, nn_error *err)
{
    size_t n = a->in->n, w_onnx = 1, w_vnnlib = 1;
    for (size_t i = 0; i < n; i++) {
        size_t lo = strlen(a->in->onnx[i]) + 1, lv = strlen(a->in->vnnlib[i]) + 1;
        if (lo > w_onnx) w_onnx = lo;
        if (lv > w_vnnlib) w_vnnlib = lv;
    }
    const h5_column cols[] = {{"onnx", H5COL_STRING, w_onnx}, {"vnnlib", H5COL_STRING, w_vnnlib},
                              {"result", H5COL_INT, 1}, {"seconds", H5COL_DOUBLE, 1}, {"timeout", H5COL_DOUBLE, 1},
                              {"bab_domains", H5COL_INT, 1}, {"bab_open", H5COL_INT, 1}};
    char *on = calloc(n ? n : 1, w_onnx), *vn = calloc(n ? n : 1, w_vnnlib);
    int64_t *res = malloc((n ? n : 1) * sizeof *res);
    double *sec = malloc((n ? n : 1) * sizeof *sec);
    int rc = on && vn && res && sec ? NN_OK : nn_fail(err, NN_ENOMEM, "out of memory for %zu instances", n);
    for (size_t i = 0; !rc && i < n; i++) {
        memcpy(on + i * w_onnx, a->in->onnx[i], strlen(a->in->onnx[i]));
        memcpy(vn + i * w_vnnlib, a->in->vnnlib[i], strlen(a->in->vnnlib[i]));
        res[i] = a->done[i] ? a->answer[i] : -1;
        sec[i] = a->done[i] ? a->seconds[i] : 0.0;
    }
    const h5_attr attrs[] = {{"command", "vnncomp", 0, 0}, {"job", identity, 0, 0}};
    const h5_attr legend = {"result_names", "-1 missing, 0 unsat, 1 sat, 2 unknown, 3 timeout, 4 error", 0, 0};
    const void *data[] = {on, vn, res, sec, a->in->timeout, a->bab_domains, a->bab_open};
    h5_table *t = NULL;
    if (!rc) rc = h5_table_create(&t, path, attrs, 2, cols, 7, err);
    if (!rc) rc = h5_table_attr(t, &legend, err);
    if (!rc && n) rc = h5_table_append(t, data, n, err);
    if (t) {
        nn_error cerr;
        int crc = h5_table_close(t, rc ? &cerr : err);
        if (!rc) rc = crc;
    }
    free(on), free(vn), free(res), free(sec);
    return rc;
}

int vnncomp_app_clear_checkpoints(const vnncomp_app *a, nn_error *err)
{
    char path[4200];
    for (size_t i = 0; a->ckpt_dir && i < a->in->n; i++) {
        checkpoint_path(a, i, path, sizeof path);
        int rc = checkpoint_remove(path, err);
        if (rc) return rc;
    }
    return NN_OK;
}
