/* The certify job through the scheduler.
 *
 * A task is one (image, slot) pair, task = index * slots + slot, and depends
 * on nothing else: the radius search starts cold from the norm's eps0 for every
 * task (a warm start from "the previous image" would make a radius depend on
 * which rank ran which image before it). Every member of a rank group runs the
 * same task with its own verifier, whose row splitter is the group's row
 * split (sched_group_split_rows), so the members agree bit for bit and only
 * the leader's row is sent. Rows of images past the end of the data set are
 * failed rows with the reason, not errors: the run goes on.
 *
 * Checkpoints (doc/lp.md "Checkpoints"): with lp-all and milp every layer a
 * task computes is sent to the master as it finishes and journaled there; a
 * rerun hands the layers of the tasks left unfinished to every rank, and a
 * task that meets one of its (eps, layer) again commits it instead of
 * computing it. The layer's bytes (opaque to the scheduler and the store):
 *   u32 version 1 | u32 method | u64 image hash | f64 eps | u32 norm | u32 clip |
 *   i32 layer | u32 0 | u64 n | n f64 lower | n f64 upper   (little-endian)
 * so that a layer is only ever applied to the region and layer it bounds. */
#include "cert_app.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "byteorder.h"
#include "forward.h"

/* ---- checkpoints ---- */

#define LAYER_VERSION 1
#define LAYER_HEAD 48
/* A branch-and-bound search's record (certify.h's bab_find and bab_keep):
 * u32 BAB_VERSION | u32 done | u64 x_hash | f64 eps | i32 class | i32 target
 * | the record's bytes */
#define BAB_VERSION 2
#define BAB_HEAD 32

struct cert_app_part {
    int64_t task;
    const unsigned char *data;  /* into a->parts */
    size_t len;
};

struct cert_app_layer {
    const unsigned char *rec;   /* LAYER_HEAD + 16 n bytes (if it is well formed) */
    size_t len;
    unsigned char *owned;       /* rec when computed by this task, else NULL */
    int journaled;              /* handed back by the master */
};

static uint64_t f64_bits(double v)
{
    unsigned char b[8];
    le_put_f64(b, v);
    return le_get_u64(b);
}

/* Does rec bound (this task's image, st's region and method, layer of n rows)? */
static int layer_matches(const cert_app *a, const unsigned char *rec, size_t len, const bound_state *st, int layer,
                         size_t n)
{
    return len == LAYER_HEAD + 16 * n && le_get_u32(rec) == LAYER_VERSION &&
           le_get_u32(rec + 4) == (uint32_t)st->opt.method && le_get_u64(rec + 8) == a->x_hash &&
           le_get_u64(rec + 16) == f64_bits(st->region.eps) && le_get_u32(rec + 24) == (uint32_t)st->region.norm &&
           le_get_u32(rec + 28) == (uint32_t)st->region.clip && (int32_t)le_get_u32(rec + 32) == layer &&
           le_get_u64(rec + 40) == n;
}

static int known_push(cert_app *a, const unsigned char *rec, size_t len, unsigned char *owned, int journaled)
{
    if (a->n_known == a->cap_known) {
        size_t cap = a->cap_known ? 2 * a->cap_known : 32;
        struct cert_app_layer *p = realloc(a->known, cap * sizeof *p);
        if (!p) return NN_ENOMEM;
        a->known = p, a->cap_known = cap;
    }
    a->known[a->n_known++] = (struct cert_app_layer){rec, len, owned, journaled};
    return NN_OK;
}

static void known_clear(cert_app *a)
{
    for (size_t i = 0; i < a->n_known; i++) free(a->known[i].owned);
    a->n_known = 0;
}

/* cert_layer_store.find: the layer if this task has it, journaled or computed. */
static int layer_find(void *ctx, const bound_state *st, int layer, size_t n, double *lower, double *upper)
{
    cert_app *a = ctx;
    if (a->task_now < 0 || st->region.center != a->x_now) return 0;
    for (size_t i = 0; i < a->n_known; i++) {
        const unsigned char *r = a->known[i].rec;
        if (!layer_matches(a, r, a->known[i].len, st, layer, n)) continue;
        for (size_t k = 0; k < n; k++) {
            lower[k] = le_get_f64(r + LAYER_HEAD + 8 * k);
            upper[k] = le_get_f64(r + LAYER_HEAD + 8 * (n + k));
        }
        if (a->known[i].journaled) a->reused++;
        return 1;
    }
    return 0;
}

/* cert_layer_store.keep: a computed layer, kept for this task and journaled. */
static void layer_keep(void *ctx, const bound_state *st, int layer, size_t n, const double *lower,
                       const double *upper)
{
    cert_app *a = ctx;
    if (a->task_now < 0 || st->region.center != a->x_now) return;
    size_t len = LAYER_HEAD + 16 * n;
    unsigned char *r = malloc(len);
    if (!r) return;  /* only the checkpoint is lost */
    le_put_u32(r, LAYER_VERSION);
    le_put_u32(r + 4, (uint32_t)st->opt.method);
    le_put_u64(r + 8, a->x_hash);
    le_put_f64(r + 16, st->region.eps);
    le_put_u32(r + 24, (uint32_t)st->region.norm);
    le_put_u32(r + 28, (uint32_t)st->region.clip);
    le_put_u32(r + 32, (uint32_t)layer);
    le_put_u32(r + 36, 0);
    le_put_u64(r + 40, n);
    for (size_t k = 0; k < n; k++) {
        le_put_f64(r + LAYER_HEAD + 8 * k, lower[k]);
        le_put_f64(r + LAYER_HEAD + 8 * (n + k), upper[k]);
    }
    sched_group_checkpoint(a->g, a->task_now, r, len);
    if (known_push(a, r, len, r, 0)) free(r);
}

/* Is rec the record of the search at (eps, c, target) of this task's image? */
static int bab_matches(const cert_app *a, const unsigned char *rec, size_t len, double eps, int c, int target)
{
    return len >= BAB_HEAD && le_get_u32(rec) == BAB_VERSION && le_get_u64(rec + 8) == a->x_hash &&
           le_get_u64(rec + 16) == f64_bits(eps) && (int32_t)le_get_u32(rec + 24) == c &&
           (int32_t)le_get_u32(rec + 28) == target;
}

/* cert_task_options.bab_find: the latest record an earlier run journaled for
 * the search (the parts of a task are in journal order). */
static int bab_find(void *ctx, double eps, int c, int target, int *done, const unsigned char **bytes, size_t *len)
{
    cert_app *a = ctx;
    const struct cert_app_layer *last = NULL;
    for (size_t i = 0; a->task_now >= 0 && i < a->n_known; i++)
        if (a->known[i].journaled && bab_matches(a, a->known[i].rec, a->known[i].len, eps, c, target))
            last = &a->known[i];
    if (!last) return 0;
    *done = le_get_u32(last->rec + 4) != 0;
    if (*done) a->bab_reused++;
    else a->bab_resumed++;
    *bytes = last->rec + BAB_HEAD;
    *len = last->len - BAB_HEAD;
    return 1;
}

/* cert_task_options.bab_keep, on a group's leader: sent to the master to journal. */
static void bab_keep(void *ctx, double eps, int c, int target, int done, const unsigned char *bytes, size_t len)
{
    cert_app *a = ctx;
    if (a->task_now < 0) return;
    unsigned char *r = malloc(BAB_HEAD + len);
    if (!r) return;  /* only the checkpoint is lost */
    le_put_u32(r, BAB_VERSION);
    le_put_u32(r + 4, (uint32_t)(done != 0));
    le_put_u64(r + 8, a->x_hash);
    le_put_f64(r + 16, eps);
    le_put_u32(r + 24, (uint32_t)c);
    le_put_u32(r + 28, (uint32_t)target);
    if (len) memcpy(r + BAB_HEAD, bytes, len);
    sched_group_checkpoint(a->g, a->task_now, r, BAB_HEAD + len);
    free(r);
}

/* Does a later part of the same task supersede search record i (same search)? */
static int bab_superseded(const cert_store_part *p, size_t n, size_t i)
{
    if (p[i].len < BAB_HEAD || le_get_u32(p[i].data) != BAB_VERSION) return 0;
    for (size_t k = i + 1; k < n; k++)
        if (p[k].task == p[i].task && p[k].len >= BAB_HEAD && !memcmp(p[k].data, p[i].data, 4) &&
            !memcmp(p[k].data + 8, p[i].data + 8, BAB_HEAD - 8))
            return 1;
    return 0;
}

/* The LP methods journal each finished layer of a task (doc/lp.md "Checkpoints"). */
static int keeps_layers(const cert_job *c) { return bound_method_lp_layers(c->bopt.method); }

static int cmp_part(const void *x, const void *y)
{
    const struct cert_app_part *p = x, *q = y;
    if (p->task != q->task) return (p->task > q->task) - (p->task < q->task);
    return (p->data > q->data) - (p->data < q->data);  /* journal order */
}

int cert_app_pack_parts(cert_app *a, nn_error *err)
{
    const cert_store_part *p;
    size_t n = cert_store_checkpoints(a->store, &p), len = 8, kept = 0;
    /* a search's snapshots are superseded by its later ones and its outcome */
    unsigned char *drop = calloc(n ? n : 1, 1);
    if (!drop) return nn_fail(err, NN_ENOMEM, "out of memory for %zu journaled records", n);
    for (size_t i = 0; i < n; i++)
        if (!(drop[i] = (unsigned char)bab_superseded(p, n, i))) len += 16 + p[i].len, kept++;
    unsigned char *b = malloc(len);
    if (!b) {
        free(drop);
        return nn_fail(err, NN_ENOMEM, "out of memory for %zu journaled records", n);
    }
    le_put_u64(b, kept);
    size_t off = 8;
    for (size_t i = 0; i < n; i++) {
        if (drop[i]) continue;
        le_put_u64(b + off, (uint64_t)p[i].task);
        le_put_u64(b + off + 8, p[i].len);
        memcpy(b + off + 16, p[i].data, p[i].len);
        off += 16 + p[i].len;
    }
    free(drop);
    free(a->parts);
    a->parts = (char *)b, a->parts_len = len;
    return NN_OK;
}

int cert_app_index_parts(cert_app *a, nn_error *err)
{
    const unsigned char *b = (const unsigned char *)a->parts;
    if (!b || a->parts_len < 8) return NN_OK;
    uint64_t n = le_get_u64(b);
    if (n > a->parts_len / 16) return nn_fail(err, NN_EFORMAT, "journaled layers: %llu parts in %zu bytes",
                                              (unsigned long long)n, a->parts_len);
    free(a->index);
    a->index = nn_malloc((n ? n : 1) * sizeof *a->index, "journaled layers", err);
    if (!a->index) return NN_ENOMEM;
    size_t off = 8;
    for (uint64_t i = 0; i < n; i++) {
        if (a->parts_len - off < 16 || le_get_u64(b + off + 8) > a->parts_len - off - 16)
            return nn_fail(err, NN_EFORMAT, "journaled layers: part %llu is cut short", (unsigned long long)i);
        size_t len = (size_t)le_get_u64(b + off + 8);
        a->index[i] = (struct cert_app_part){(int64_t)le_get_u64(b + off), b + off + 16, len};
        off += 16 + len;
    }
    a->n_index = (size_t)n;
    qsort(a->index, a->n_index, sizeof *a->index, cmp_part);
    return NN_OK;
}

/* Start of a task: its journaled layers (those of its image) become known. */
static void task_begin(cert_app *a, int64_t task, const double *x)
{
    known_clear(a);
    a->task_now = task;
    a->x_now = x;
    a->x_hash = le_fnv_f64(LE_FNV_START, x, model_input_size(a->m));
    a->reused = a->bab_reused = a->bab_resumed = 0;
    size_t lo = 0, hi = a->n_index;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->index[mid].task < task) lo = mid + 1;
        else hi = mid;
    }
    for (; lo < a->n_index && a->index[lo].task == task; lo++) {
        const struct cert_app_part *p = &a->index[lo];
        uint32_t version = p->len >= BAB_HEAD ? le_get_u32(p->data) : 0;
        if (((version == LAYER_VERSION && p->len >= LAYER_HEAD) || version == BAB_VERSION) &&
            le_get_u64(p->data + 8) == a->x_hash)
            known_push(a, p->data, p->len, NULL, 1);
    }
}

static void task_end(cert_app *a)
{
    known_clear(a);
    a->task_now = -1;
    a->x_now = NULL;
}

int cert_app_init(cert_app *a, const cert_job *c, const nn_model *m, nn_error *err)
{
    memset(a, 0, sizeof *a);
    a->c = c;
    a->m = m;
    a->task_now = -1;
    a->checkpoints = !c->dry_tasks && (keeps_layers(c) || c->task.bab.enabled);
    int n_classes = (int)model_output_size(m);
    if (c->target.mode == TARGET_CLASS && c->target.cls >= n_classes)
        return nn_fail(err, NN_EARG, "--target %d out of range: %s has %d classes", c->target.cls, c->model,
                       n_classes);
    if (n_classes < 2) return nn_fail(err, NN_EVALUE, "%s: a margin needs at least 2 outputs, the model has %d",
                                      c->model, n_classes);
    a->slots = cert_tasks_per_image(&c->target, n_classes);
    for (int i = 0; i < m->n_layers; i++) a->n_layers += layer_is_nonlinear(m->layers[i].type);
    a->layer = nn_calloc((size_t)a->n_layers + 1, sizeof *a->layer, "layer list", err);
    a->layer_size = nn_calloc((size_t)a->n_layers + 1, sizeof *a->layer_size, "layer list", err);
    if (!a->layer || !a->layer_size) return NN_ENOMEM;
    for (int i = 0, k = 0; i < m->n_layers; i++)
        if (layer_is_nonlinear(m->layers[i].type)) a->layer[k] = i, a->layer_size[k++] = shape_size(m->layers[i].in);
    nn_dataset probe;
    int rc = dataset_load(c->data, 0, 1, &probe, err);
    if (rc) return rc;
    a->total = probe.total;
    a->data_shape = probe.shape;
    dataset_free(&probe);
    nn_shape x = m->input, d = a->data_shape;
    int same = x.c == d.c && x.h == d.h && x.w == d.w;
    int flat = ((x.c > 1) + (x.h > 1) + (x.w > 1) <= 1) || ((d.c > 1) + (d.h > 1) + (d.w > 1) <= 1);
    if (!same && !(shape_size(x) == shape_size(d) && flat))
        return nn_fail(err, NN_ESHAPE, "%s expects inputs %dx%dx%d but %s holds %dx%dx%d images", c->model, x.c, x.h,
                       x.w, c->data, d.c, d.h, d.w);
    if ((size_t)c->start >= a->total && c->count == 0)
        return nn_fail(err, NN_EARG, "data set '%s': start %ld is past the end: it holds %zu images", c->data,
                       c->start, a->total);
    /* a label the model cannot predict would pass for a misclassification */
    if (c->dry_tasks || (size_t)c->start >= a->total) return NN_OK;
    size_t n = a->total - (size_t)c->start;
    if ((size_t)cert_app_images(a) < n) n = (size_t)cert_app_images(a);
    nn_dataset labels;
    if (!(rc = dataset_load_labels(c->data, (size_t)c->start, n, &labels, err)))
        rc = dataset_check_labels(&labels, (size_t)n_classes, err);
    dataset_free(&labels);
    return rc;
}

void cert_app_free(cert_app *a)
{
    if (a->have_v) cert_verifier_free(&a->v);
    dataset_free(&a->ds);
    known_clear(a);
    free(a->known);
    free(a->index);
    free(a->parts);
    free(a->layer);
    free(a->layer_size);
    memset(a, 0, sizeof *a);
}

long cert_app_images(const cert_app *a)
{
    if (a->c->count > 0) return a->c->count;
    return (size_t)a->c->start < a->total ? (long)(a->total - (size_t)a->c->start) : 0;
}

/* ---- worker ---- */

/* The verifier's row splitter (certify.h), ctx = the rank group. */
static int group_split(void *ctx, size_t n_rows, size_t row_block, cert_rows_fn rows, void *rows_ctx,
                       double *lower, double *upper, nn_error *err)
{
    return sched_group_split_rows(ctx, n_rows, row_block, rows, rows_ctx, lower, upper, err);
}

/* The same for rows of widely different costs: blocks handed out on request. */
static int group_split_varied(void *ctx, size_t n_rows, size_t row_block, cert_rows_fn rows, void *rows_ctx,
                              double *lower, double *upper, nn_error *err)
{
    return sched_group_split_rows_dynamic(ctx, n_rows, row_block, rows, rows_ctx, lower, upper, err);
}

/* Items of widely different costs, handed out on request: MILP's margin rows
 * (a Cbc solve each) and, as bab_options.exec, the jobs of a branch-and-bound
 * round, which a group runs in lockstep (doc/bab.md "Over MPI"); ctx = the
 * rank group. */
static int group_split_items(void *ctx, size_t n, size_t width, bound_items_fn items, void *items_ctx, double *out,
                             nn_error *err)
{
    return sched_group_split_items_dynamic(ctx, n, width, 1, items, items_ctx, out, err);
}

/* Rows that may be cut anywhere, in ranges of equal cost. */
static int group_split_weighted(void *ctx, size_t n_rows, const double *weight, cert_rows_fn rows, void *rows_ctx,
                                double *lower, double *upper, nn_error *err)
{
    return sched_group_split_rows_weighted(ctx, n_rows, weight, rows, rows_ctx, lower, upper, err);
}

static int group_late(void *ctx, int late) { return sched_group_any(ctx, late); }

/* bab_options.share: the leader holds a search's frontier and shares each
 * round's domains. */
static int group_share(void *ctx, int rc, unsigned char **bytes, size_t *len, nn_error *err)
{
    return sched_group_share(ctx, rc, bytes, len, err);
}

/* A group of g members shares a layer's rows in whole row blocks where a row's
 * bits depend on its block (bound_row_split_unit = row_block): a wide layer cut
 * into fewer than 4 g blocks leaves one member a block more than another
 * (measured: the 10-layer CNN 75 % efficient at row_block 512, 90 % at 128,
 * before its layers were split row by row). Said once per job, by the first
 * group's leader, when row_block was left to nncert; changing it is the user's
 * call since it is part of the job (other bits). */
static void hint_row_block(const cert_verifier *v, const sched_group *g)
{
    size_t members = (size_t)sched_group_size(g), want = 4 * members, rb = v->st.opt.row_block;
    const nn_model *m = v->model;
    int worst = -1;
    size_t worst_n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (!layer_is_nonlinear(m->layers[i].type) || bound_row_split_unit(&v->st, i) != rb) continue;
        size_t n = shape_size(m->layers[i].in), nb = (n + rb - 1) / rb;
        if (nb < want && n >= want * 32 && n > worst_n) worst = i, worst_n = n;
    }
    if (worst < 0) return;
    size_t nb = (worst_n + rb - 1) / rb, better = rb;
    while (better > 32 && (worst_n + better - 1) / better < want) better /= 2;
    fprintf(stderr, "nncert certify: note: ranks_per_image %zu with the automatic row_block %zu cuts layer %d's %zu "
            "rows into %zu block(s), fewer than 4 per member; --row-block %zu makes %zu, which balances the members "
            "better (row_block is part of the job: radii would differ in the last bits)\n", members, rb, worst,
            worst_n, nb, better, (worst_n + better - 1) / better);
}

static int app_setup(void *ctx, sched_group *g, nn_error *err)
{
    cert_app *a = ctx;
    const cert_job *c = a->c;
    size_t start = (size_t)c->start, n = 0;
    if (start < a->total) {
        n = a->total - start;
        if ((size_t)cert_app_images(a) < n) n = (size_t)cert_app_images(a);
    }
    if (n > 0 && !c->dry_tasks) {
        int rc = dataset_load(c->data, start, n, &a->ds, err);
        if (rc) return rc;
    }
    if (c->dry_tasks) return NN_OK;
    int rc = cert_verifier_init(&a->v, a->m, &c->bopt, err);
    if (rc) return rc;
    a->have_v = 1;
    /* one member computes every row itself: the verifier's own executor (no
     * splitter) skips the row costs a weighted cut would need */
    if (g && sched_group_size(g) > 1)
        cert_verifier_split_rows(&a->v, (cert_row_splitter){group_split, g, group_split_varied, group_split_items,
                                                             group_split_weighted});
    a->g = g;
    if (keeps_layers(c)) cert_verifier_keep_layers(&a->v, (cert_layer_store){layer_find, layer_keep, a});
    a->to = c->task;
    if (c->task.bab.enabled) {
        a->to.bab_find = bab_find, a->to.bab_ctx = a;
        /* the leader journals the records: the others need not even encode them */
        if (!g || sched_group_rank(g) == 0) a->to.bab_keep = bab_keep;
    }
    if (g && sched_group_size(g) > 1) {
        a->to.bab.exec = group_split_items, a->to.bab.exec_ctx = g;
        a->to.bab.share = group_share, a->to.bab.share_ctx = g, a->to.bab.holder = sched_group_rank(g) == 0;
        a->to.agree = group_late, a->to.agree_ctx = g;
        if (!c->bopt.row_block && sched_group_id(g) == 0 && sched_group_rank(g) == 0) hint_row_block(&a->v, g);
    }
    cert_search_options_default(&a->to.search, c->task.norm, model_input_size(a->m));
    a->to.search.kind = c->task.search.kind;
    a->to.search.rtol = c->task.search.rtol;
    return NN_OK;
}

/* Bounds of every nonlinear layer at the reported radius (or the smallest
 * uncertified eps when nothing was certified), for the saved images, and whose
 * bound each neuron carries (bound_label_sources, as 'nncert bounds' saves). */
static void save_bounds(cert_app *a, const double *x, const cert_result *r, sched_buf *extra)
{
    double eps = a->to.fixed ? a->to.eps : r->radius > 0 ? r->radius : r->hi;
    if (!isfinite(eps) || !(eps >= 0)) return;
    nn_error e;
    double margin;
    int certified;
    /* the job's method's bounds of every neuron, as 'nncert bounds' saves them,
     * not CROWN's where CROWN would have certified (doc/lp.md "Least work") */
    a->v.full_bounds = 1;
    int rc = cert_verify(&a->v, x, a->to.norm, eps, a->to.clip, r->pred, r->target, &margin, &certified, &e);
    a->v.full_bounds = 0;
    if (rc) return;
    size_t bytes = cert_store_bounds_bytes(a->n_layers, a->layer_size);
    unsigned char *p = malloc(bytes), **src = calloc((size_t)a->m->n_layers + 1, sizeof *src);
    if (!p || !src || bound_label_sources(&a->v.st, src, &e)) {
        for (int i = 0; src && i < a->m->n_layers; i++) free(src[i]);
        free(src), free(p);
        return;
    }
    le_put_f64(p, eps);
    size_t off = 8;
    for (int l = 0; l < a->n_layers; l++)
        for (int side = 0; side < 2; side++) {
            const double *b = side ? a->v.st.pre_upper[a->layer[l]] : a->v.st.pre_lower[a->layer[l]];
            for (size_t k = 0; k < a->layer_size[l]; k++, off += 8) le_put_f64(p + off, b[k]);
        }
    for (int l = 0; l < a->n_layers; l++) {
        memcpy(p + off, src[a->layer[l]], a->layer_size[l]);
        off += a->layer_size[l];
    }
    for (int i = 0; i < a->m->n_layers; i++) free(src[i]);
    free(src);
    unsigned char len[8];
    le_put_u64(len, bytes);  /* each saved payload travels with its length (cert_store.h) */
    if (sched_buf_append(extra, len, 8) || sched_buf_append(extra, p, bytes)) extra->len = 0;
    free(p);
}

/* PGD after the radius search (attack = pgd); the counterexample follows the
 * row for the images of save_attacks. An attack that cannot run fails the row. */
static void run_attack(cert_app *a, const double *x, cert_result *r, sched_buf *extra)
{
    size_t in = model_input_size(a->m), k = model_output_size(a->m), bytes = 8 * (1 + in + k);
    double *buf = malloc((in + k) * sizeof *buf);
    unsigned char *p = malloc(bytes);
    nn_error e;
    nn_error_clear(&e);
    int rc = buf && p ? cert_attack_task(a->m, a->to.norm, x, r, buf, buf + in, &e)
                      : nn_fail(&e, NN_ENOMEM, "out of memory for the pgd attack");
    if (rc) {
        r->status = CERT_FAILED;
        r->code = rc;
        snprintf(r->message, sizeof r->message, "pgd attack: %.240s", e.msg);
    } else if (r->pgd_class >= 0 && cert_job_saves_attack(a->c, r->index)) {
        unsigned char len[8];
        le_put_u64(len, bytes);
        le_put_f64(p, r->pgd_eps);
        for (size_t i = 0; i < in + k; i++) le_put_f64(p + 8 * (i + 1), buf[i]);
        size_t at = extra->len;
        if (!sched_buf_append(extra, len, 8) && !sched_buf_append(extra, p, bytes)) r->saved |= CERT_SAVED_ATTACK;
        else extra->len = at;
    }
    free(buf);
    free(p);
}

/* The certificate of the row's radius (save_certificates), after the other
 * payloads; a certificate that cannot travel is only missing from the file. */
static void save_certificate(const cert_certificate *c, cert_result *r, sched_buf *extra)
{
    size_t bytes = cert_certificate_bytes(c), at = extra->len;
    unsigned char *p = malloc(bytes), len[8];
    if (!p) return;
    cert_certificate_pack(c, p);
    le_put_u64(len, bytes);
    if (!sched_buf_append(extra, len, 8) && !sched_buf_append(extra, p, bytes)) r->saved |= CERT_SAVED_CERT;
    else extra->len = at;
    free(p);
}

/* The row's checked MILP counterexample (cert_milp_counterexample), last of the
 * payloads; one that cannot travel leaves milp_eps without its point, so the
 * row's milp_eps and milp_class are cleared with it (nothing unproven stays). */
static void save_milp_point(const cert_verifier *v, cert_result *r, sched_buf *extra)
{
    size_t in = model_input_size(v->model), k = (size_t)v->n_classes, bytes = 8 * (1 + in + k), at = extra->len;
    unsigned char *p = malloc(bytes), len[8];
    int ok = 0;
    if (p) {
        le_put_f64(p, r->milp_eps);
        for (size_t i = 0; i < in; i++) le_put_f64(p + 8 * (1 + i), v->milp_x[i]);
        for (size_t i = 0; i < k; i++) le_put_f64(p + 8 * (1 + in + i), v->milp_z[i]);
        le_put_u64(len, bytes);
        ok = !sched_buf_append(extra, len, 8) && !sched_buf_append(extra, p, bytes);
    }
    if (ok) r->saved |= CERT_SAVED_MILP;
    else {
        extra->len = at;
        r->milp_eps = NAN;
        r->milp_class = -1;
    }
    free(p);
}

static void app_run(void *ctx, int64_t task, unsigned char *out, sched_buf *extra)
{
    cert_app *a = ctx;
    long index = (long)(task / a->slots);
    int slot = (int)(task % a->slots);
    cert_result r;
    memset(&r, 0, sizeof r);
    r.index = index;
    r.target = a->c->target.mode == TARGET_CLASS ? a->c->target.cls : CERT_UNTARGETED;
    r.label = r.pred = -1;
    r.status = CERT_FAILED;
    r.margin = NAN;
    r.hi = INFINITY;
    r.milp_eps = NAN;
    r.milp_class = -1;
    size_t at = (size_t)index - a->ds.first;
    if (a->c->dry_tasks) {
        snprintf(r.message, sizeof r.message, "dry task: no bound work (scheduler benchmark mode)");
    } else if ((size_t)index >= a->total) {
        snprintf(r.message, sizeof r.message, "image %ld is past the end of data set '%s' (%zu images)", index,
                 a->c->data, a->total);
    } else if (index < (long)a->ds.first || at >= a->ds.n) {
        snprintf(r.message, sizeof r.message, "image %ld is not among the images this rank loaded", index);
    } else {
        const double *x = a->ds.images + at * model_input_size(a->m);
        nn_error e;
        nn_error_clear(&e);
        if (a->checkpoints) task_begin(a, task, x);
        cert_run_image_task(&a->v, &a->to, &a->c->target, x, index, a->ds.labels[at], slot, &r, &e);
        cert_certificate cert;
        int have_cert = cert_job_saves_certificate(a->c, index) && (r.status == CERT_CERTIFIED ||
                                                                    r.status == CERT_TIMEOUT) &&
                        cert_certificate_of(&a->v, x, &cert, &e) == 1;
        size_t before = extra->len;
        if ((r.status == CERT_CERTIFIED || r.status == CERT_UNCERTIFIED) && cert_job_saves_bounds(a->c, index))
            save_bounds(a, x, &r, extra);
        if (a->reused && sched_group_rank(a->g) == 0)
            fprintf(stderr, "nncert certify: image %ld slot %d: %ld layer(s) taken from the journal, not computed "
                            "again\n", index, slot, a->reused);
        if ((a->bab_reused || a->bab_resumed) && sched_group_rank(a->g) == 0)
            fprintf(stderr, "nncert certify: image %ld slot %d: %ld branch-and-bound search(es) taken from the "
                            "journal as they ended, %ld continued from their last snapshot\n", index, slot,
                    a->bab_reused, a->bab_resumed);
        if (a->checkpoints) task_end(a);
        if (extra->len > before) r.saved |= CERT_SAVED_BOUNDS;
        if (a->c->attack) run_attack(a, x, &r, extra);
        if (have_cert && r.status != CERT_FAILED) save_certificate(&cert, &r, extra);
        if (have_cert) cert_certificate_free(&cert);
        if (r.milp_class >= 0 && a->v.milp_x) save_milp_point(&a->v, &r, extra);
    }
    cert_result_pack(&r, out);
}

/* ---- master ---- */

void cert_app_count(void *ctx, int64_t task, const cert_result *r)
{
    (void)task;
    cert_app *a = ctx;
    a->counts[r->status]++;
    a->rows++;
    a->evals += r->evals;
    if (r->status == CERT_CERTIFIED || r->status == CERT_UNCERTIFIED) a->sum_radius += r->radius;
}

static int app_done(void *ctx, int64_t task, int rank, const unsigned char *result, const unsigned char *extra,
                    size_t extra_len, nn_error *err)
{
    cert_app *a = ctx;
    cert_result r;
    int rc = cert_result_unpack(result, &r, err);
    if (rc) return nn_error_prefix(err, "result of task %lld from rank %d: ", (long long)task, rank);
    if ((rc = cert_store_add(a->store, task, rank, &r, extra_len ? extra : NULL, extra_len, err))) return rc;
    if (a->kill_after > 0 && ++a->added == a->kill_after) raise(SIGKILL);
    cert_app_count(a, task, &r);
    sched_progress_add(&a->progress, r.status == CERT_CERTIFIED,
                       r.status == CERT_CERTIFIED || r.status == CERT_UNCERTIFIED, r.status == CERT_FAILED);
    if (r.status == CERT_FAILED && !a->c->dry_tasks)
        fprintf(stderr, "nncert certify: image %ld target %d failed: %s\n", r.index, r.target, r.message);
    /* a counterexample inside a certified ball: the bounds are wrong somewhere */
    if (r.status == CERT_CERTIFIED && r.pgd_eps <= r.radius)
        fprintf(stderr, "nncert certify: UNSOUND: image %ld target %d: PGD found a counterexample at eps %.17g <= "
                        "certified radius %.17g\n", r.index, r.target, r.pgd_eps, r.radius);
    if (r.status == CERT_CERTIFIED && r.milp_eps <= r.radius)
        fprintf(stderr, "nncert certify: UNSOUND: image %ld target %d: the MILP found a checked counterexample at "
                        "eps %.17g <= certified radius %.17g\n", r.index, r.target, r.milp_eps, r.radius);
    return NN_OK;
}

static int app_checkpoint(void *ctx, int64_t task, int rank, const unsigned char *data, size_t len, nn_error *err)
{
    cert_app *a = ctx;
    (void)rank;
    int rc = cert_store_checkpoint(a->store, task, data, len, err);
    if (!rc && a->kill_after_layers > 0 && ++a->layers_added == a->kill_after_layers) raise(SIGKILL);
    return rc;
}

static int app_tick(void *ctx, int final, nn_error *err)
{
    cert_app *a = ctx;
    sched_progress_tick(&a->progress, final);
    return cert_store_tick(a->store, final, err);
}

static int app_assigned(void *ctx, int rank, const int64_t *tasks, size_t n, nn_error *err)
{
    cert_app *a = ctx;
    return cert_store_assigned(a->store, rank, tasks, n, err);
}

sched_app cert_app_callbacks(cert_app *a)
{
    sched_app s = {a, CERT_RESULT_BYTES, app_setup, app_run, app_done, app_tick, app_assigned,
                   a->checkpoints ? app_checkpoint : NULL};
    return s;
}

/* ---- memory ---- */

/* Images a worker loads (app_setup): [start, start + count) that exist. */
static size_t images_loaded(const cert_app *a)
{
    size_t start = (size_t)a->c->start;
    if (start >= a->total) return 0;
    size_t n = a->total - start;
    return (size_t)cert_app_images(a) < n ? (size_t)cert_app_images(a) : n;
}

/* What a worker still allocates with options o (the model is loaded already). */
static double worker_bytes(const cert_app *a, const bound_options *o, size_t images, bound_memory *bm)
{
    nn_error e;
    if (bound_estimate_memory(a->m, o, bm, &e)) return INFINITY;
    if (bound_method_lp_layers(o->method)) {
        /* the verifier's CROWN state, which goes first (doc/lp.md "Least work"),
         * counted with the method's own */
        bound_options g = *o;
        bound_memory gm;
        g.method = METHOD_CROWN;
        if (bound_estimate_memory(a->m, &g, &gm, &e)) return INFINITY;
        bm->method += gm.total - gm.model;
        bm->total += gm.total - gm.model;
    }
    size_t in = model_input_size(a->m);
    return (double)(bm->total - bm->model) + (double)images * ((double)in * sizeof(double) + sizeof(int));
}

int cert_app_check_memory(const cert_app *a, nn_error *err)
{
    const cert_job *c = a->c;
    if (c->dry_tasks) return NN_OK;
    sched_memory lim;
    sched_rank_memory(&lim);
    if (c->max_memory) {
        lim.limit = c->max_memory;
        lim.in_use = lim.rss;
        snprintf(lim.from, sizeof lim.from, "max_memory (--max-memory)");
    }
    if (!lim.limit) return NN_OK;
    size_t images = images_loaded(a);
    bound_memory bm;
    double need = worker_bytes(a, &c->bopt, images, &bm);
    double room = (double)lim.limit - (double)lim.in_use;
    if (need <= room) return NN_OK;
    char s_need[32], s_use[32], s_lim[32], s_state[32], s_block[32], s_meth[32], s_data[32], s_model[32], t[32];
    sched_format_size(need, s_need, sizeof s_need);
    sched_format_size((double)lim.in_use, s_use, sizeof s_use);
    sched_format_size((double)lim.limit, s_lim, sizeof s_lim);
    sched_format_size((double)bm.state, s_state, sizeof s_state);
    sched_format_size((double)bm.block, s_block, sizeof s_block);
    sched_format_size((double)bm.method, s_meth, sizeof s_meth);
    sched_format_size(need - (double)(bm.total - bm.model), s_data, sizeof s_data);
    sched_format_size((double)bm.model, s_model, sizeof s_model);
    /* suggestions keep a margin: the usage at start varies from run to run */
    room -= 0.02 * (double)lim.limit + 4.0 * 1048576;
    char hint[1200] = "";
    size_t h = 0;
#define HINT(...) (h += (size_t)snprintf(hint + h, h < sizeof hint ? sizeof hint - h : 0, __VA_ARGS__))
    /* row_block: the largest that fits, by bisection (the estimate grows with it) */
    bound_options o = c->bopt;
    bound_memory b1;
    o.row_block = 1;
    double need1 = worker_bytes(a, &o, images, &b1);
    if (bm.row_block > 1 && need1 <= room) {
        size_t lo = 1, hi = bm.row_block;  /* lo fits, hi does not */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            o.row_block = mid;
            if (worker_bytes(a, &o, images, &b1) <= room) lo = mid;
            else hi = mid;
        }
        HINT("row_block = %zu (--row-block %zu; now %zu rows; part of the job's identity)", lo, lo, bm.row_block);
    } else {
        sched_format_size(need1, t, sizeof t);
        HINT("row_block alone cannot (row_block = 1 still needs %s)", t);
    }
    if (c->bopt.method == METHOD_FROWN && bm.method > 0) {
        o = c->bopt;
        size_t g = 0;
        for (size_t G = o.frown_group * 2; G <= 4096 && !g; G *= 2) {
            o.frown_group = G;
            if (worker_bytes(a, &o, images, &b1) <= room) g = G;
        }
        if (g) HINT("; frown_group = %zu (FROWN's warm start and problems, %s now)", g, s_meth);
        else HINT("; frown_warm = 0 or a larger frown_group (FROWN's warm start, %s now)", s_meth);
    }
    if (c->bopt.single) {
        o = c->bopt;
        o.single = 0;
        sched_format_size(need - worker_bytes(a, &o, images, &b1), t, sizeof t);
        HINT("; precision = double (single keeps float copies of the weights: %s more)", t);
    }
    if (images > 1) {
        double per = (double)model_input_size(a->m) * sizeof(double) + sizeof(int);
        double fit = (room - (need - (double)images * per)) / per;
        if (fit >= 1) HINT("; count = %.0f per run (each rank loads the job's %zu images: %s)", floor(fit), images,
                           s_data);
    }
    HINT("; ranks_per_image does not lower it (every member of a group holds the whole state); or raise "
         "--max-memory");
#undef HINT
    return nn_fail(err, NN_ENOMEM,
                   "memory: a worker rank needs about %s more (bound state %s, row blocks of %zu rows %s, %s's own %s, "
                   "images %s; the model's %s is loaded) besides the %s in use, and its limit is %s (from %s). To "
                   "lower it: %s",
                   s_need, s_state, bm.row_block, s_block, bound_method_name(c->bopt.method), s_meth, s_data, s_model,
                   s_use, s_lim, lim.from, hint);
}
