/* FROWN: bounding lines optimized per bounded row and side (doc/frown.md).
 *
 * Problems. Every bound is a lower bound of a signed row: the lower bound of row r
 * of layer k's input is the problem (r, +1), its upper bound is minus the lower
 * bound of (r, -1); spec rows C_r . f(x) + d_r likewise. A problem's bound with
 * lines theta is the backward pass (doc/bounds.md "Backward pass") with the lower-side selection
 * (coefficient >= 0: lower line, < 0: upper line) concretized on the region:
 *   LB(theta) = min_{x in region} ftilde_theta(x),
 * ftilde the relaxed network: z~_1 = W_1 x + b_1, a~_j = s_j(theta) o z~_j + t_j(theta)
 * with each neuron's line chosen by the sign of its backward coefficient g_j, and
 * the signed row on top. Every theta in the feasible ranges gives valid lines, so
 * every iterate's bound is sound (doc/frown.md "Search space").
 *
 * Variables: the free parameter of each free line of the earlier activation layers
 * (relax_lines lower/upper_param with lo < hi): ReLU, leaky ReLU and ParamRamp lower
 * slopes, S-shaped tangent points. Chords, exact lines and MaxPool planes are fixed.
 * A group (G aligned rows of one side) has one theta for all its rows and maximizes
 * the mean of their bounds.
 *
 * Gradient (hand-derived reverse mode, masks held constant): by the envelope theorem
 * dLB/dtheta = d ftilde_theta(x*)/dtheta at the minimizer x*:
 *   l_inf ball: x* = x0 - eps sign(g_0); l2: x0 - eps g_0/||g_0||; l1: x0 moved by eps
 *   against the sign of the largest |g_0| coordinate; clipped l_inf: the corner of the
 *   clipped box; clipped l1 and l2: the exact point of bound_clipped_argmin. Then
 *   the relaxed network runs forward from x* (batched over
 *   the block's problems: GEMMs), and for a selected line with parameter p
 *   dLB/dp = g_j,i (ds/dp z~_j,i + dt/dp): ReLU-like slopes ds/dp = 1, dt/dp = 0;
 *   a tangent at d has s = sigma'(d), t = sigma(d) - d sigma'(d), so
 *   dLB/dd = sigma''(d) g (z~ - d). The rounding accounting (bound_rows.c: the
 *   1e-10 allowance and the budget of the coefficient rows, both ~1e-10 relative
 *   or less) is left out of the gradient.
 *
 * Optimizer: projection (clamp) before every evaluation, Adam (lr, betas 0.9/0.999,
 * eps 1e-8) ascending the group's mean bound, at most frown_iters steps, early stop
 * after frown_patience steps in a row that each improve the best mean by less than
 * frown_threshold relative. Each problem reports the best bound any iterate gave it
 * (all are sound), and the caller keeps CROWN's bound when that is better, so FROWN
 * is never looser than CROWN on the same committed bounds.
 *
 * Work. A block is an aligned range of row_block rows (a multiple of G), one side at
 * a time: CROWN bounds the whole block first; only rows it leaves unstable (ReLU-like
 * inputs; every S-shaped or MaxPool input with u > l) become problems, and none of a
 * layer right after an activation (a MaxPool on a ReLU's output: the activation's
 * box of its committed bounds is already the best any linear bound can give). All problems
 * of a block go through each affine layer as one GEMM (per-problem lines are applied
 * element-wise), backward and forward; groups that stop drop out of later GEMMs.
 * A block's results depend only on the block (never on the requested range or on
 * the other side), which keeps bound.c's bit-identity promise.
 *
 * Batches of regions (bound_frown_spec_batch, for branch and bound's input
 * halves): the spec problems of several states go through the same GEMMs, each
 * state one segment of the evaluation (frown_seg) with its own space, lines,
 * region, warm start, Adam steps and early stop; one state alone is one segment.
 *
 * Residual graphs: both passes follow the edges (dag_backward, dag_forward below).
 *
 * Warm start (see include/bound.h): per (top layer, group, side) two generations of
 * theta (float) tagged with the evaluation that wrote them; an evaluation reads the
 * newest one written before it and writes the other, so a block computed twice in
 * one evaluation starts from the same point. */
#include "bound_frown.h"
#include "bound_concretize.h"
#include "bound_cost.h"
#include "bound_crown.h"
#include "bound_rows.h"
#include "byteorder.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FROWN_BLOCK_BYTES ((size_t)256 << 20)
#define ADAM_B1 0.9
#define ADAM_B2 0.999
#define ADAM_EPS 1e-8
#define NONE ((size_t)-1)

/* Warm-start variables of the problems of one top layer. */
typedef struct {
    size_t groups, S;  /* groups allocated, slots per theta */
    float *data;       /* [groups][2 sides][2 generations][S] */
    int *gen;          /* evaluation that wrote each generation (-1: never) */
    uint64_t *key;     /* spec rows: hash of the group's rows */
} frown_warm;

struct frown_work {
    frown_warm *warm;  /* [n_layers + 1]; index n_layers = spec rows */
    int eval;          /* evaluations (regions) so far */
    int epoch;         /* first evaluation of the current image */
    void *buf;         /* scratch, grown on demand */
    size_t buf_bytes;
    layer_workspace ws;
};

/* The variables of the problems of one top layer. */
typedef struct {
    int top;
    size_t V;              /* variables */
    int *vlayer;           /* [V] activation layer of the line */
    size_t *vneuron;       /* [V] neuron */
    unsigned char *vupper; /* [V] 1: the upper line's parameter */
    double *vlo, *vhi, *vstart;
    size_t *vslot;         /* [V] warm-state slot */
    relax_free_line *vline; /* [V] each variable's line, prepared for many values */
    size_t S;              /* warm-state slots */
    int *var_map;          /* per activation layer, 2n entries: var of lower, upper line or -1 */
    size_t *map_off;       /* [layer] offset into var_map (NONE: no free line) */
    size_t *lo_off, *up_off; /* [layer] offset of the group's lower/upper lines (NONE: shared) */
    size_t line_len;       /* doubles of per-group lines */
    size_t *g_off;         /* [layer] offset of the stored coefficients (NONE: not stored) */
    size_t g_len;          /* stored coefficients per problem */
    int last_free;         /* last activation layer with a variable, -1 if none */
    /* Split multipliers (beta) of a sub-domain: variables [V_lines, V), by layer. */
    size_t V_lines;
    signed char *vphase;   /* [V] +1: z >= 0, -1: z <= 0 (beta); 0: a line's parameter */
    size_t *beta_first;    /* [layer] first beta variable of the layer; beta_first[j+1] ends it */
    size_t beta_off;       /* offset of the betas in a group's line chunk */
} frown_space;

/* One block of problems, one side. Problems of a group are consecutive. */
typedef struct {
    int top;
    const double *C;       /* spec rows (top = n_layers) or NULL */
    size_t ldc;
    const double *d;
    double sign;           /* +1 lower bounds, -1 upper bounds */
    int side;              /* 0 lower, 1 upper (warm state) */
    size_t P;
    const size_t *row;     /* [P] */
    size_t ng;
    const size_t *gstart;  /* [ng + 1] problems of group g: [gstart[g], gstart[g+1]) */
    const size_t *gid;     /* [ng] warm-state group index */
    const uint64_t *gkey;  /* [ng] warm key (spec) or NULL */
} frown_batch;



int bound_frown_check_options(const bound_options *o, nn_error *err)
{
    if (o->method == METHOD_FROWN) {
        if (o->frown_group < 1) return nn_fail(err, NN_EARG, "frown: group size %zu must be >= 1", o->frown_group);
        if (o->frown_iters < 0) return nn_fail(err, NN_EARG, "frown: iterations %d must be >= 0", o->frown_iters);
        if (!(o->frown_lr > 0) || !isfinite(o->frown_lr))
            return nn_fail(err, NN_EARG, "frown: learning rate %g must be a finite number > 0", o->frown_lr);
        if (o->frown_patience < 1) return nn_fail(err, NN_EARG, "frown: patience %d must be >= 1", o->frown_patience);
        if (!(o->frown_threshold >= 0) || !isfinite(o->frown_threshold))
            return nn_fail(err, NN_EARG, "frown: threshold %g must be a finite number >= 0", o->frown_threshold);
    }
    if (o->method == METHOD_CROWN_QUAD && o->quad_iters < 0)
        return nn_fail(err, NN_EARG, "crown-quad: iterations %d must be >= 0", o->quad_iters);
    return NN_OK;
}

/* Bytes per problem of a block (G = 1 worst case for the per-group parts). */
size_t bound_frown_problem_bytes(const nn_model *m, const bound_options *o, size_t maxw)
{
    size_t g = 0, act = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (!layer_is_nonlinear(m->layers[i].type)) continue;
        g += shape_size(m->layers[i].out);
        if (layer_is_activation(m->layers[i].type)) act += shape_size(m->layers[i].in);
    }
    size_t G = o->frown_group ? o->frown_group : 1;
    size_t per_group = 4 * act + 7 * 2 * act; /* lines; theta, Adam, best, ds, dt, grad */
    return sizeof(double) * (2 * maxw + g + 8 + (per_group + G - 1) / G);
}

size_t bound_frown_row_block(const nn_model *m, const bound_options *o, size_t maxw, size_t rb)
{
    if (o->method != METHOD_FROWN) return rb;
    size_t f = FROWN_BLOCK_BYTES / bound_frown_problem_bytes(m, o, maxw);
    if (f < 1) f = 1;
    return f < rb ? f : rb;
}

size_t bound_frown_align_block(const bound_options *o, size_t rb)
{
    size_t G = o->frown_group;
    if (o->method != METHOD_FROWN || G <= 1) return rb;
    return (rb + G - 1) / G * G;
}

int bound_frown_init(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    if (st->opt.method != METHOD_FROWN) return NN_OK;
    struct frown_work *fw = nn_calloc(1, sizeof *fw, "FROWN state", err);
    if (!fw) return NN_ENOMEM;
    fw->warm = nn_calloc((size_t)st->model->n_layers + 1, sizeof *fw->warm, "FROWN warm start", err);
    if (!fw->warm) {
        free(fw);
        return NN_ENOMEM;
    }
    layer_workspace_init(&fw->ws);
    fw->eval = fw->epoch = 0;
    w->frown = fw;
    return NN_OK;
}

static void warm_free(frown_warm *W)
{
    free(W->data);
    free(W->gen);
    free(W->key);
    memset(W, 0, sizeof *W);
}

void bound_frown_free(bound_work *w, const nn_model *m)
{
    struct frown_work *fw = w->frown;
    if (!fw) return;
    for (int i = 0; i <= m->n_layers; i++) warm_free(&fw->warm[i]);
    free(fw->warm);
    free(fw->buf);
    layer_workspace_free(&fw->ws);
    free(fw);
    w->frown = NULL;
}

void bound_frown_new_region(bound_state *st, int same_image)
{
    struct frown_work *fw = ((bound_work *)st->work)->frown;
    if (!fw) return;
    fw->eval++;
    if (!same_image) fw->epoch = fw->eval;
}

void bound_forget_warm(bound_state *st)
{
    struct frown_work *fw = st && st->work ? ((bound_work *)st->work)->frown : NULL;
    if (fw) fw->epoch = fw->eval + 1;
}

int bound_keeps_state(const bound_options *opt)
{
    return opt->method == METHOD_FROWN && opt->frown_warm && opt->frown_iters > 0;
}

static void *scratch(struct frown_work *fw, size_t bytes, nn_error *err)
{
    if (bytes > fw->buf_bytes) {
        free(fw->buf);
        fw->buf = nn_malloc(bytes, "FROWN block scratch", err);
        fw->buf_bytes = fw->buf ? bytes : 0;
    }
    return fw->buf;
}

/* ---- variables ---- */

static void space_free(frown_space *sp)
{
    free(sp->vlayer);
    free(sp->vneuron);
    free(sp->vupper);
    free(sp->vlo);
    free(sp->vslot);
    free(sp->vline);
    free(sp->var_map);
    free(sp->map_off);
    free(sp->vphase);
    free(sp->beta_first);
    memset(sp, 0, sizeof *sp);
}

static int space_build(const bound_state *st, int top, frown_space *sp, nn_error *err)
{
    const nn_model *m = st->model;
    const bound_work *w = st->work;
    int n = m->n_layers;
    memset(sp, 0, sizeof *sp);
    sp->top = top;
    sp->last_free = -1;
    size_t V = 0, maps = 0;
    int end = top;
    /* split constraints s z >= 0 of a sub-domain get multipliers (doc/frown.md) */
    signed char *const *phase = st->sub && st->opt.frown_beta ? st->sub->phase : NULL;
    for (int j = w->first_nl; j < end; j++) {
        if (!layer_is_activation(m->layers[j].type)) continue;
        for (size_t i = 0; phase && phase[j] && i < shape_size(m->layers[j].in); i++) V += phase[j][i] != 0;
        const relax_lines *ln = &st->lines[j];
        size_t f = 0;
        for (size_t i = 0; i < ln->n; i++)
            f += (ln->lower_lo[i] < ln->lower_hi[i]) + (relax_upper_can_be_free(m->layers[j].type) && ln->upper_lo[i] < ln->upper_hi[i]);
        if (f) {
            V += f;
            maps += 2 * ln->n;
        }
    }
    sp->V = V;
    sp->vlayer = nn_malloc((V ? V : 1) * sizeof *sp->vlayer, "FROWN variables", err);
    sp->vneuron = nn_malloc((V ? V : 1) * sizeof *sp->vneuron, "FROWN variables", err);
    sp->vupper = nn_malloc(V ? V : 1, "FROWN variables", err);
    sp->vlo = nn_malloc(3 * (V ? V : 1) * sizeof *sp->vlo, "FROWN variables", err);
    sp->vslot = nn_malloc((V ? V : 1) * sizeof *sp->vslot, "FROWN variables", err);
    sp->vline = nn_malloc((V ? V : 1) * sizeof *sp->vline, "FROWN variables", err);
    sp->var_map = nn_malloc((maps ? maps : 1) * sizeof *sp->var_map, "FROWN variables", err);
    sp->map_off = nn_malloc(4 * (size_t)(n + 1) * sizeof *sp->map_off, "FROWN variables", err);
    sp->vphase = nn_calloc(V ? V : 1, 1, "FROWN variables", err);
    sp->beta_first = nn_malloc((size_t)(n + 1) * sizeof *sp->beta_first, "FROWN variables", err);
    if (!sp->vlayer || !sp->vneuron || !sp->vupper || !sp->vlo || !sp->vslot || !sp->vline || !sp->var_map ||
        !sp->map_off || !sp->vphase || !sp->beta_first) {
        space_free(sp);
        return NN_ENOMEM;
    }
    sp->vhi = sp->vlo + (V ? V : 1);
    sp->vstart = sp->vhi + (V ? V : 1);
    sp->lo_off = sp->map_off + (n + 1);
    sp->up_off = sp->lo_off + (n + 1);
    sp->g_off = sp->up_off + (n + 1);
    for (int j = 0; j <= n; j++) sp->map_off[j] = sp->lo_off[j] = sp->up_off[j] = sp->g_off[j] = NONE;
    size_t v = 0, mo = 0;
    for (int j = w->first_nl; j < end; j++) {
        const nn_layer *L = &m->layers[j];
        if (!layer_is_activation(L->type)) continue;
        const relax_lines *ln = &st->lines[j];
        int two = relax_upper_can_be_free(L->type);
        size_t slot0 = sp->S, v0 = v;
        sp->S += ln->n * (two ? 2 : 1);
        int any_lo = 0, any_up = 0;
        for (size_t i = 0; i < ln->n; i++)
            for (int up = 0; up <= two; up++) {
                double lo = up ? ln->upper_lo[i] : ln->lower_lo[i], hi = up ? ln->upper_hi[i] : ln->lower_hi[i];
                if (!(lo < hi)) continue;
                sp->vlayer[v] = j;
                sp->vneuron[v] = i;
                sp->vupper[v] = (unsigned char)up;
                sp->vlo[v] = lo;
                sp->vhi[v] = hi;
                sp->vstart[v] = up ? ln->upper_param[i] : ln->lower_param[i];
                sp->vslot[v] = slot0 + i * (two ? 2 : 1) + (size_t)up;
                relax_free_line_init(&sp->vline[v], L, i, st->pre_lower[j][i], st->pre_upper[j][i], up);
                any_lo |= !up;
                any_up |= up;
                v++;
            }
        if (v == v0) continue;
        sp->map_off[j] = mo;
        int *map = sp->var_map + mo;
        for (size_t i = 0; i < 2 * ln->n; i++) map[i] = -1;
        for (size_t k = v0; k < v; k++) map[2 * sp->vneuron[k] + sp->vupper[k]] = (int)k;
        mo += 2 * ln->n;
        if (any_lo) {
            sp->lo_off[j] = sp->line_len;
            sp->line_len += 2 * ln->n;
        }
        if (any_up) {
            sp->up_off[j] = sp->line_len;
            sp->line_len += 2 * ln->n;
        }
        sp->last_free = j;
    }
    sp->V_lines = v;
    for (int j = 0; j < n; j++) {
        sp->beta_first[j] = v;
        if (j < w->first_nl || j >= end || !phase || !phase[j] || !layer_is_activation(m->layers[j].type)) continue;
        for (size_t i = 0; i < shape_size(m->layers[j].in); i++) {
            if (!phase[j][i]) continue;
            sp->vlayer[v] = j;
            sp->vneuron[v] = i;
            sp->vupper[v] = 0;
            sp->vphase[v] = phase[j][i];
            sp->vlo[v] = 0.0;
            sp->vhi[v] = INFINITY;
            sp->vstart[v] = 0.0;
            sp->vslot[v] = sp->S + (v - sp->V_lines);
            if (j > sp->last_free) sp->last_free = j;
            v++;
        }
    }
    sp->beta_first[n] = v;
    sp->S += v - sp->V_lines;
    sp->beta_off = sp->line_len;
    sp->line_len += v - sp->V_lines;
    for (int j = w->first_nl; j <= sp->last_free; j++)
        if (layer_is_nonlinear(m->layers[j].type)) {
            sp->g_off[j] = sp->g_len;
            sp->g_len += shape_size(m->layers[j].out);
        }
    return NN_OK;
}

/* Shared lines into a group's line chunk (the parts that have variables). */
static void lines_base(const bound_state *st, const frown_space *sp, double *chunk)
{
    for (int j = 0; j <= sp->last_free; j++) {
        const relax_lines *ln = &st->lines[j];
        if (sp->lo_off[j] != NONE) {
            memcpy(chunk + sp->lo_off[j], ln->lower_slope, ln->n * sizeof(double));
            memcpy(chunk + sp->lo_off[j] + ln->n, ln->lower_icpt, ln->n * sizeof(double));
        }
        if (sp->up_off[j] != NONE) {
            memcpy(chunk + sp->up_off[j], ln->upper_slope, ln->n * sizeof(double));
            memcpy(chunk + sp->up_off[j] + ln->n, ln->upper_icpt, ln->n * sizeof(double));
        }
    }
}

/* Lines of theta (projected in place) into the chunk, and its betas after them;
 * derivatives into ds, dt. */
static void lines_set(const bound_state *st, const frown_space *sp, double *theta, double *chunk, double *ds,
                      double *dt)
{
    for (size_t v = 0; v < sp->V; v++) {
        double p = theta[v];
        p = p < sp->vlo[v] ? sp->vlo[v] : (p > sp->vhi[v] ? sp->vhi[v] : p);
        theta[v] = p;
        if (v >= sp->V_lines) {
            chunk[sp->beta_off + (v - sp->V_lines)] = p;
            ds[v] = dt[v] = 0.0;
            continue;
        }
        int j = sp->vlayer[v];
        size_t n = st->lines[j].n, i = sp->vneuron[v];
        double *dst = chunk + (sp->vupper[v] ? sp->up_off[j] : sp->lo_off[j]);
        relax_free_line_at(&sp->vline[v], p, &dst[i], &dst[n + i], &ds[v], &dt[v]);
    }
}

/* ---- one evaluation of a set of problems ---- */

typedef struct {
    size_t na;             /* active problems */
    const size_t *row;     /* [na] */
    const size_t *grp;     /* [na] local group */
    double *A0, *A1;       /* na x maxw each */
    double *c, *s, *e;     /* na: constants, |terms|, rounding budgets (bound_rows.c) */
    double *G;             /* na x g_len */
    double *lb;            /* na */
} frown_eval_buf;

/* Lower-side step through activation j, each problem with its group's lines. */
static void step_lines(const bound_state *st, const frown_space *sp, int j, const frown_eval_buf *e,
                       const double *lines, double *A, size_t n)
{
    const relax_lines *sh = &st->lines[j];
    for (size_t p = 0; p < e->na; p++) {
        const double *gl = lines + e->grp[p] * sp->line_len;
        const double *ls = sh->lower_slope, *lt = sh->lower_icpt, *us = sh->upper_slope, *ut = sh->upper_icpt;
        if (sp->lo_off[j] != NONE) ls = gl + sp->lo_off[j], lt = ls + n;
        if (sp->up_off[j] != NONE) us = gl + sp->up_off[j], ut = us + n;
        bound_rows_activation(st, j, ls, lt, us, ut, A + p * n, n, e->c + p, e->s + p, e->e + p);
    }
}

/* The split terms -beta s z at the input of activation j, each problem with its
 * group's betas. Rounding only moves the effective multiplier (A - fl(A - beta s)) / s,
 * which stays >= 0 because rounding is monotone: every such term is a valid one. */
static void step_betas(const frown_space *sp, int j, const frown_eval_buf *e, const double *lines, double *A, size_t n)
{
    size_t b0 = sp->beta_first[j], b1 = sp->beta_first[j + 1];
    if (b0 == b1) return;
    for (size_t p = 0; p < e->na; p++) {
        const double *beta = lines + e->grp[p] * sp->line_len + sp->beta_off - sp->V_lines;
        double *a = A + p * n;
        for (size_t v = b0; v < b1; v++) a[sp->vneuron[v]] -= sp->vphase[v] * beta[v];
    }
}

static void swap(double **a, double **b)
{
    double *t = *a;
    *a = *b;
    *b = t;
}

/* The relaxed network through activation j for every problem, with its group's
 * lines selected by the sign of G: the gradient at the variable lines into grad,
 * and (out != NULL; may be in) the lines' values at in. */
static void fwd_lines(const bound_state *st, const frown_space *sp, const frown_eval_buf *e, const double *lines,
                      const double *ds, const double *dt, double *grad, int j, const double *in, double *out)
{
    const relax_lines *sh = &st->lines[j];
    const int *map = sp->map_off[j] != NONE ? sp->var_map + sp->map_off[j] : NULL;
    size_t nj = sh->n;
    for (size_t p = 0; p < e->na; p++) {
        size_t g = e->grp[p];
        const double *gl = lines + g * sp->line_len;
        const double *ls = sp->lo_off[j] != NONE ? gl + sp->lo_off[j] : sh->lower_slope;
        const double *lt = sp->lo_off[j] != NONE ? gl + sp->lo_off[j] + nj : sh->lower_icpt;
        const double *us = sp->up_off[j] != NONE ? gl + sp->up_off[j] : sh->upper_slope;
        const double *ut = sp->up_off[j] != NONE ? gl + sp->up_off[j] + nj : sh->upper_icpt;
        const double *gv = e->G + p * sp->g_len + sp->g_off[j];
        const double *z = in + p * nj;
        double *o = out ? out + p * nj : NULL, *gr = grad + g * sp->V;
        const double *dsg = ds + g * sp->V, *dtg = dt + g * sp->V;
        /* d/dbeta of -beta s z~ at x* (before out, which may be in, is written) */
        for (size_t v = sp->beta_first[j]; v < sp->beta_first[j + 1]; v++) gr[v] -= sp->vphase[v] * z[sp->vneuron[v]];
        for (size_t i = 0; i < nj; i++) {
            double gi = gv[i], zi = z[i], sl, ic;
            int up = gi < 0;
            if (up) sl = us[i], ic = ut[i];
            else sl = ls[i], ic = lt[i];
            if (map) {
                int v = map[2 * i + up];
                if (v >= 0) gr[v] += gi * (dsg[v] * zi + dtg[v]);
            }
            if (o) o[i] = sl * zi + ic;
        }
    }
}

/* The relaxed network through MaxPool j: the plane G's sign selects, in -> out. */
static void fwd_planes(const bound_state *st, const frown_space *sp, const frown_eval_buf *e, int j, const double *in,
                       double *out)
{
    const relax_pool *pl = &st->pools[j];
    int W = pl->window;
    size_t n_out = pl->n_out, nj = shape_size(st->model->layers[j].in);
    for (size_t p = 0; p < e->na; p++) {
        const double *gv = e->G + p * sp->g_len + sp->g_off[j];
        const double *z = in + p * nj;
        double *y = out + p * n_out;
        for (size_t o = 0; o < n_out; o++) {
            int use_upper = gv[o] < 0;
            const double *coef = (use_upper ? pl->upper_coef : pl->lower_coef) + o * (size_t)W;
            const int *ix = pl->inputs + o * (size_t)W;
            double acc = use_upper ? pl->upper_icpt[o] : pl->lower_icpt[o];
            for (int k = 0; k < W; k++)
                if (ix[k] >= 0) acc += coef[k] * z[ix[k]];
            y[o] = acc;
        }
    }
}

/* ---- residual graphs (doc/frown.md; doc/bounds.md "Residual graphs") ----
 * The same passes along the graph's edges: backward, one row block per output
 * that rows reached (an add copies its block to both inputs, blocks meeting at an
 * output are summed, adding u (|y| + |x|) . G_k to the budget as the kernel
 * does); forward from x*, every output of the relaxed network kept. The
 * constants c, s and budgets e are per problem whichever block adds to them. */

static size_t out_width(const bound_state *st, int k)
{
    return k < 0 ? ((const bound_work *)st->work)->n_in : shape_size(st->model->layers[k].out);
}

/* Rows y (na x width of output k) onto output k: kept, or summed into the rows there. */
static void dag_deposit(bound_state *st, double **pend, int k, double *y, size_t na, double *e)
{
    bound_work *w = st->work;
    double *x = pend[k + 1];
    if (!x) {
        pend[k + 1] = y;
        return;
    }
    size_t n = out_width(st, k);
    const double *G = w->dag_g[k + 1];
    double u = UNIT_ROUNDOFF_D * (1 + 1e-9);
    for (size_t p = 0; p < na; p++) {
        double *a = x + p * n, mag = 0;
        const double *bb = y + p * n;
        for (size_t q = 0; q < n; q++) {
            mag += (fabs(a[q]) + fabs(bb[q])) * G[q];
            a[q] += bb[q];
        }
        e[p] += u * mag;
    }
    free(y);
}

/* The backward pass of eval_block on a graph from rows A (na x width on output
 * pos) to the model input: the result in A (na x n_in); G stored as in the chain. */
static int dag_backward(bound_state *st, const frown_space *sp, const frown_eval_buf *e, const double *lines,
                        int pos, double *A, int store_g, nn_error *err)
{
    bound_work *w = st->work;
    struct frown_work *fw = w->frown;
    const nn_model *m = st->model;
    size_t na = e->na;
    int rc = NN_OK;
    double **pend = nn_calloc((size_t)m->n_layers + 1, sizeof *pend, "FROWN graph rows", err);
    if (!pend) return NN_ENOMEM;
    if (store_g) memset(e->G, 0, na * sp->g_len * sizeof *e->G);
    size_t w0 = out_width(st, pos);
    if (!(pend[pos + 1] = nn_malloc(na * w0 * sizeof(double), "FROWN graph rows", err))) rc = NN_ENOMEM;
    else memcpy(pend[pos + 1], A, na * w0 * sizeof(double));
    for (int j = pos; j >= 0 && !rc; j--) {
        double *x = pend[j + 1];
        if (!x) continue;
        pend[j + 1] = NULL;
        const nn_layer *L = &m->layers[j];
        size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
        if (sp->g_off[j] != NONE && store_g)
            for (size_t p = 0; p < na; p++)
                memcpy(e->G + p * sp->g_len + sp->g_off[j], x + p * n_out, n_out * sizeof(double));
        double *y = x;
        if (L->type == LAYER_ADD) {
            if (!(y = nn_malloc(na * n_out * sizeof *y, "FROWN graph rows", err))) {
                free(x);
                rc = NN_ENOMEM;
                break;
            }
            memcpy(y, x, na * n_out * sizeof *y);
            dag_deposit(st, pend, bound_in(m, j, 0), x, na, e->e);
            dag_deposit(st, pend, bound_in(m, j, 1), y, na, e->e);
            continue;
        } else if (layer_is_affine(L->type) && L->type != LAYER_FLATTEN) {
            bound_rows_offset(st, j, x, na, n_out, e->c, e->s, e->e);
            if (!(y = nn_malloc(na * n_in * sizeof *y, "FROWN graph rows", err))) rc = NN_ENOMEM;
            else rc = layer_affine_adjoint_ws(L, x, na, n_out, y, n_in, &fw->ws, err);
            if (rc) nn_error_prefix(err, "FROWN backward pass, layer %d: ", j);
            st->flops += bound_affine_flops(L, na);
            free(x);
        } else if (layer_is_activation(L->type)) {
            step_lines(st, sp, j, e, lines, x, n_out);
            step_betas(sp, j, e, lines, x, n_out);
        } else if (L->type == LAYER_MAXPOOL2D) {
            if (!(y = nn_malloc(na * n_in * sizeof *y, "FROWN graph rows", err))) rc = NN_ENOMEM;
            else bound_rows_maxpool(st, j, na, x, y, e->c, e->s, e->e);
            free(x);
        }
        if (!rc) dag_deposit(st, pend, bound_in(m, j, 0), y, na, e->e);
    }
    if (!rc) memcpy(A, pend[0], na * w->n_in * sizeof *A);
    for (int k = 0; k <= m->n_layers; k++) free(pend[k]);
    free(pend);
    return rc;
}

/* The forward pass of eval_block on a graph: the relaxed network from the
 * minimizers X (na x n_in) up to last_free, the gradient at the variable lines. */
static int dag_forward(bound_state *st, const frown_space *sp, const frown_eval_buf *e, const double *lines,
                       const double *ds, const double *dt, const double *X, double *grad, nn_error *err)
{
    struct frown_work *fw = ((bound_work *)st->work)->frown;
    const nn_model *m = st->model;
    size_t na = e->na;
    int rc = NN_OK, top = sp->last_free;
    double **z = nn_calloc((size_t)top + 2, sizeof *z, "FROWN graph forward", err);
    if (!z) return NN_ENOMEM;
    z[0] = (double *)X;
    for (int j = 0; j <= top && !rc; j++) {
        const nn_layer *L = &m->layers[j];
        size_t n_out = shape_size(L->out), nj = shape_size(L->in);
        const double *in = z[bound_in(m, j, 0) + 1];
        if (!(z[j + 1] = nn_malloc(na * n_out * sizeof(double), "FROWN graph forward", err))) {
            rc = NN_ENOMEM;
            break;
        }
        double *out = z[j + 1];
        if (L->type == LAYER_ADD) {
            const double *in2 = z[bound_in(m, j, 1) + 1];
            for (size_t q = 0; q < na * n_out; q++) out[q] = in[q] + in2[q];
        } else if (layer_is_affine(L->type)) {
            rc = layer_affine_forward_ws(L, in, na, nj, out, n_out, &fw->ws, err);
            if (rc) nn_error_prefix(err, "FROWN forward pass, layer %d: ", j);
            st->flops += bound_affine_flops(L, na);
        } else if (layer_is_activation(L->type)) {
            fwd_lines(st, sp, e, lines, ds, dt, grad, j, in, out);
        } else {
            fwd_planes(st, sp, e, j, in, out);
        }
    }
    for (int k = 1; k <= top + 1; k++) free(z[k]);
    free(z);
    return rc;
}

/* One state's problems in an evaluation. A state alone is one segment; a batch
 * of states (bound_frown_spec_batch) puts its segments' rows one after another,
 * so that every affine layer is one GEMM over all of them, and each segment's
 * own steps (offsets, lines, region, gradient) run on its run of rows with its
 * own state. The optimizer's arrays are the segment's (optimize_segs). */
typedef struct {
    bound_state *st;
    const frown_space *sp;
    const frown_batch *b;
    frown_warm *W;
    double *best;           /* [b->P] best bound per problem */
    frown_eval_buf e;       /* its active problems; their rows start at a0 */
    size_t a0;
    double *lines, *theta, *am, *av, *btheta, *ds, *dt, *grad, *bobj, *obj;
    size_t *act_row, *act_grp, *gcount;
    int *small, *alive;
} frown_seg;

/* The dense layer right below layer top when its weight rows are the problems'
 * rows (no spec rows), else -1: seg_top_rows' and top_width's one test. */
static int top_dense(const nn_model *m, const frown_batch *b)
{
    int s = b->top >= 1 ? bound_in(m, b->top, 0) : -1;
    return !b->C && s >= 0 && m->layers[s].type == LAYER_DENSE ? s : -1;
}

/* Rows on top of segment g's active problems into A (width wide), times the
 * sign, with their constants; returns the layer the backward pass starts at. */
static int seg_top_rows(frown_seg *g, double *A, size_t width)
{
    const bound_state *st = g->st;
    const nn_model *m = st->model;
    const frown_batch *b = g->b;
    frown_eval_buf *e = &g->e;
    int top = b->top;
    if (b->C) {
        for (size_t p = 0; p < e->na; p++) {
            const double *cr = b->C + e->row[p] * b->ldc;
            for (size_t k = 0; k < width; k++) A[p * width + k] = b->sign * cr[k];
            double dv = b->d ? b->d[e->row[p]] : 0.0;
            e->c[p] = b->sign * dv;
            e->s[p] = fabs(dv);
            e->e[p] = 0.0; /* C and W are exact in double */
        }
        return top - 1;
    }
    int s = top_dense(m, b);
    if (s >= 0) {
        const nn_layer *L = &m->layers[s];
        for (size_t p = 0; p < e->na; p++) {
            const double *wr = L->weight + e->row[p] * width;
            for (size_t k = 0; k < width; k++) A[p * width + k] = b->sign * wr[k];
            e->c[p] = b->sign * L->bias[e->row[p]];
            e->s[p] = fabs(L->bias[e->row[p]]);
            e->e[p] = 0.0;
        }
        return bound_in(m, s, 0);
    }
    s = top >= 1 ? bound_in(m, top, 0) : -1;
    memset(A, 0, e->na * width * sizeof *A);
    for (size_t p = 0; p < e->na; p++) {
        A[p * width + e->row[p]] = b->sign;
        e->c[p] = e->s[p] = e->e[p] = 0.0;
    }
    return s;
}

/* The width of the rows on top of a block of layer top's problems. */
static size_t top_width(const bound_state *st, const frown_batch *b)
{
    const nn_model *m = st->model;
    int top = b->top;
    if (b->C) return model_output_size(m);
    int s = top_dense(m, b);
    if (s >= 0) return shape_size(m->layers[s].in);
    s = top >= 1 ? bound_in(m, top, 0) : -1;
    return s >= 0 ? shape_size(m->layers[s].out) : ((const bound_work *)st->work)->n_in;
}

/* Bounds of the segments' active problems (e.lb; NA rows in all, from A0 and A1,
 * each maxw wide) and, with want_grad, the gradient of each group's mean bound
 * (grad[g*V + v] of its segment, zeroed here for the groups present). Segments
 * share the model, the top layer and the kind of rows on top; a residual graph
 * is one segment. */
static int eval_segs(frown_seg *sg, size_t ns, size_t NA, double *A0, double *A1, int want_grad, nn_error *err)
{
    bound_state *st0 = sg[0].st;
    bound_work *w = st0->work;
    struct frown_work *fw = w->frown;
    const nn_model *m = st0->model;
    int j = -1;
    double *A = A0, *B = A1;
    size_t width = top_width(st0, sg[0].b);
    for (size_t s = 0; s < ns; s++) j = seg_top_rows(&sg[s], A + sg[s].a0 * width, width);
    if (w->dag) { /* a residual graph: rows on output j, the pass along the edges */
        int rc = dag_backward(st0, sg[0].sp, &sg[0].e, sg[0].lines, j, A, want_grad, err);
        if (rc) return rc;
        j = -1;
    }
    for (; j >= 0; j--) {
        const nn_layer *L = &m->layers[j];
        size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
        for (size_t s = 0; want_grad && s < ns; s++) {
            const frown_space *sp = sg[s].sp;
            if (sp->g_off[j] == NONE) continue;
            for (size_t p = 0; p < sg[s].e.na; p++)
                memcpy(sg[s].e.G + p * sp->g_len + sp->g_off[j], A + (sg[s].a0 + p) * n_out, n_out * sizeof(double));
        }
        if (L->type == LAYER_FLATTEN) {
            /* the identity on memory */
        } else if (layer_is_affine(L->type)) {
            for (size_t s = 0; s < ns; s++) {
                frown_eval_buf *e = &sg[s].e;
                bound_rows_offset(sg[s].st, j, A + sg[s].a0 * n_out, e->na, n_out, e->c, e->s, e->e);
                sg[s].st->flops += bound_affine_flops(L, e->na);
            }
            int rc = layer_affine_adjoint_ws(L, A, NA, n_out, B, n_in, &fw->ws, err);
            if (rc) return nn_error_prefix(err, "FROWN backward pass, layer %d: ", j);
            swap(&A, &B);
        } else if (layer_is_activation(L->type)) {
            for (size_t s = 0; s < ns; s++) {
                double *As = A + sg[s].a0 * n_out;
                step_lines(sg[s].st, sg[s].sp, j, &sg[s].e, sg[s].lines, As, n_out);
                step_betas(sg[s].sp, j, &sg[s].e, sg[s].lines, As, n_out);
            }
            if (j == w->first_nl && bound_rows_composite(st0)) {
                /* the first affine block as the kernel crosses it: each state's
                 * offset terms, and one GEMM for all segments' rows (contiguous
                 * from a0 = 0), the composite being the model's */
                for (size_t s = 0; s < ns; s++)
                    bound_rows_first_block_offset(sg[s].st, sg[s].e.na, A + sg[s].a0 * n_out, sg[s].e.c, sg[s].e.s);
                bound_rows_first_block_on(st0, NA, A, n_out, w->fb_A, B);
                swap(&A, &B);
                break;
            }
        } else {
            for (size_t s = 0; s < ns; s++) {
                frown_eval_buf *e = &sg[s].e;
                bound_rows_maxpool(sg[s].st, j, e->na, A + sg[s].a0 * n_out, B + sg[s].a0 * n_in, e->c, e->s, e->e);
            }
            swap(&A, &B);
        }
    }
    /* Concretize; the minimizers go to B (NA x n_in). */
    size_t n_in = w->n_in;
    for (size_t s = 0; s < ns; s++) {
        frown_eval_buf *e = &sg[s].e;
        sg[s].st->backward_rows += e->na;
        for (size_t p = 0; p < e->na; p++) {
            size_t q = sg[s].a0 + p;
            double *x = want_grad ? B + q * n_in : NULL;
            e->lb[p] = bound_region_argmin(sg[s].st, A + q * n_in, e->c[p], e->s[p], x) - e->e[p];
        }
    }
    if (!want_grad) return NN_OK;

    /* Relaxed network forward from x*; gradient at the selected variable lines. */
    int last = -1;
    for (size_t s = 0; s < ns; s++) {
        frown_seg *g = &sg[s];
        for (size_t p = 0; p < g->e.na; p++)
            if (p == 0 || g->e.grp[p] != g->e.grp[p - 1]) memset(g->grad + g->e.grp[p] * g->sp->V, 0, g->sp->V * sizeof *g->grad);
        if (g->sp->last_free > last) last = g->sp->last_free;
    }
    if (w->dag) {
        int rc = dag_forward(st0, sg[0].sp, &sg[0].e, sg[0].lines, sg[0].ds, sg[0].dt, B, sg[0].grad, err);
        if (rc) return rc;
    }
    double *Z = B, *Z2 = A;
    j = 0;
    if (!w->dag && bound_rows_composite(st0) && w->fb_A && last >= w->first_nl) {
        /* the first affine block in one product with its composite (the backward
         * pass crosses it so too): no pass per layer below, e.g. an input
         * normalization over every input of every problem */
        size_t nf = w->fb_rows, nx = w->n_in;
        for (size_t p = 0; p < NA; p++) memcpy(Z2 + p * nf, w->fb_c, nf * sizeof *Z2);
        rows_dgemm(1, NA, nf, nx, Z, nx, w->fb_A, nx, 1.0, Z2, nf);
        for (size_t s = 0; s < ns; s++) sg[s].st->flops += 2.0 * (double)sg[s].e.na * (double)nf * (double)nx;
        swap(&Z, &Z2);
        j = w->first_nl;
    }
    for (; !w->dag && j <= last; j++) {
        const nn_layer *L = &m->layers[j];
        size_t n_out = shape_size(L->out), nj = shape_size(L->in);
        if (L->type == LAYER_DENSE) {
            /* only the gradient reads these values, so a row need not keep its bits
             * alone and in a block, and one row goes through GEMV (rows_dgemm) */
            for (size_t p = 0; p < NA; p++) memcpy(Z2 + p * n_out, L->bias, n_out * sizeof *Z2);
            rows_dgemm(1, NA, n_out, nj, Z, nj, L->weight, nj, 1.0, Z2, n_out);
            for (size_t s = 0; s < ns; s++) sg[s].st->flops += bound_affine_flops(L, sg[s].e.na);
            swap(&Z, &Z2);
        } else if (layer_is_affine(L->type)) {
            int rc = layer_affine_forward_ws(L, Z, NA, nj, Z2, n_out, &fw->ws, err);
            if (rc) return nn_error_prefix(err, "FROWN forward pass, layer %d: ", j);
            for (size_t s = 0; s < ns; s++) sg[s].st->flops += bound_affine_flops(L, sg[s].e.na);
            swap(&Z, &Z2);
        } else if (layer_is_activation(L->type)) {
            /* a segment past its last variable keeps its rows as they are: unread */
            for (size_t s = 0; s < ns; s++) {
                frown_seg *g = &sg[s];
                double *Zs = Z + g->a0 * nj;
                if (j <= g->sp->last_free)
                    fwd_lines(g->st, g->sp, &g->e, g->lines, g->ds, g->dt, g->grad, j, Zs, j < g->sp->last_free ? Zs : NULL);
            }
        } else if (j < last) {
            for (size_t s = 0; s < ns; s++) {
                frown_seg *g = &sg[s];
                if (j < g->sp->last_free) fwd_planes(g->st, g->sp, &g->e, j, Z + g->a0 * nj, Z2 + g->a0 * n_out);
                else memset(Z2 + g->a0 * n_out, 0, g->e.na * n_out * sizeof *Z2);
            }
            swap(&Z, &Z2);
        }
    }
    for (size_t s = 0; s < ns; s++) {
        frown_seg *g = &sg[s];
        for (size_t p = 0; p < g->e.na; p++)
            if (p + 1 == g->e.na || g->e.grp[p + 1] != g->e.grp[p]) {
                size_t gi = g->e.grp[p];
                double f = 1.0 / (double)g->gcount[gi];
                for (size_t v = 0; v < g->sp->V; v++) g->grad[gi * g->sp->V + v] *= f;
            }
    }
    return NN_OK;
}

/* eval_segs for one state's problems e (the probe's single evaluation). */
static int eval_block(bound_state *st, const frown_space *sp, const frown_batch *b, const frown_eval_buf *e,
                      const double *lines, const double *ds, const double *dt, double *grad, const size_t *gcount,
                      nn_error *err)
{
    frown_seg g;
    memset(&g, 0, sizeof g);
    g.st = st, g.sp = sp, g.b = b, g.e = *e;
    g.lines = (double *)lines, g.ds = (double *)ds, g.dt = (double *)dt, g.grad = grad;
    g.gcount = (size_t *)gcount;
    int rc = eval_segs(&g, 1, e->na, e->A0, e->A1, grad != NULL, err);
    return rc;
}

/* ---- warm start ---- */

static size_t warm_index(size_t g, int side, int gen) { return (g * 2 + (size_t)side) * 2 + (size_t)gen; }

/* Room for `groups` groups of S slots (a different S or more groups start afresh). */
static int warm_reserve(frown_warm *W, size_t groups, size_t S, nn_error *err)
{
    if (W->data && W->S == S && W->groups >= groups) return NN_OK;
    warm_free(W);
    size_t e = groups * 4;
    size_t cells = e * S > 0 ? e * S : 1;
    W->data = nn_malloc(cells * sizeof *W->data, "FROWN warm start", err);
    W->gen = nn_malloc(e * sizeof *W->gen, "FROWN warm start", err);
    W->key = nn_calloc(e, sizeof *W->key, "FROWN warm start", err);
    if (!W->data || !W->gen || !W->key) {
        warm_free(W);
        return NN_ENOMEM;
    }
    for (size_t k = 0; k < e; k++) W->gen[k] = -1;
    W->groups = groups;
    W->S = S;
    return NN_OK;
}

/* The generation to start from: newest written by an earlier evaluation of this
 * image with the same key, or -1. */
static int warm_pick(const struct frown_work *fw, const frown_warm *W, size_t g, int side, uint64_t key)
{
    int best = -1;
    for (int k = 0; k < 2; k++) {
        size_t e = warm_index(g, side, k);
        int gen = W->gen[e];
        if (gen >= fw->epoch && gen < fw->eval && W->key[e] == key && (best < 0 || gen > W->gen[warm_index(g, side, best)]))
            best = k;
    }
    return best;
}

static void warm_start(const struct frown_work *fw, const frown_warm *W, const frown_space *sp, size_t g, int side,
                       uint64_t key, double *theta)
{
    int k = W && W->data ? warm_pick(fw, W, g, side, key) : -1;
    const float *src = k >= 0 ? W->data + warm_index(g, side, k) * W->S : NULL;
    for (size_t v = 0; v < sp->V; v++) {
        double p = sp->vstart[v];
        if (src && isfinite(src[sp->vslot[v]])) p = src[sp->vslot[v]];
        theta[v] = p < sp->vlo[v] ? sp->vlo[v] : (p > sp->vhi[v] ? sp->vhi[v] : p);
    }
}

static void warm_store(const struct frown_work *fw, frown_warm *W, const frown_space *sp, size_t g, int side,
                       uint64_t key, const double *theta)
{
    int src = warm_pick(fw, W, g, side, key), dst = -1;
    for (int k = 0; k < 2; k++) {
        size_t e = warm_index(g, side, k);
        if (W->gen[e] == fw->eval && W->key[e] == key) dst = k;
    }
    if (dst < 0) dst = src >= 0 ? 1 - src : 0;
    float *out = W->data + warm_index(g, side, dst) * W->S;
    if (src >= 0 && src != dst) memcpy(out, W->data + warm_index(g, side, src) * W->S, W->S * sizeof *out);
    else if (src < 0)
        for (size_t k = 0; k < W->S; k++) out[k] = NAN;
    for (size_t v = 0; v < sp->V; v++) out[sp->vslot[v]] = (float)theta[v];
    W->gen[warm_index(g, side, dst)] = fw->eval;
    W->key[warm_index(g, side, dst)] = key;
}

/* ---- the optimizer ---- */

/* Best bound per problem over the iterates (each segment's best[P]), all
 * segments' problems evaluated together; scratch from the first state's. */
static int optimize_segs(frown_seg *sg, size_t ns, nn_error *err)
{
    bound_work *w = sg[0].st->work;
    const bound_options *o = &sg[0].st->opt;
    size_t mw = w->maxw, Ptot = 0, dbl = 0, idx = 0, ints = 0;
    for (size_t s = 0; s < ns; s++) {
        const frown_space *sp = sg[s].sp;
        size_t P = sg[s].b->P, ng = sg[s].b->ng;
        Ptot += P;
        /* per problem G (g_len), c, s, e, lb; per group lines, 7 V arrays, 2 scalars */
        dbl += P * (sp->g_len + 4) + ng * (sp->line_len + 7 * sp->V + 2);
        idx += 2 * P + ng;
        ints += 2 * ng;
    }
    dbl += 2 * Ptot * mw;  /* A0, A1 */
    char *mem = scratch(w->frown, dbl * sizeof(double) + idx * sizeof(size_t) + ints * sizeof(int), err);
    if (!mem) return NN_ENOMEM;
    double *d = (double *)mem;
    double *A0 = d, *A1 = d + Ptot * mw;
    d += 2 * Ptot * mw;
    size_t *ix = (size_t *)(d + (dbl - 2 * Ptot * mw));
    int *in = (int *)(ix + idx);
    for (size_t s = 0; s < ns; s++) {
        frown_seg *g = &sg[s];
        const frown_space *sp = g->sp;
        size_t P = g->b->P, ng = g->b->ng, V = sp->V;
        g->e.G = d, d += P * sp->g_len;
        g->e.c = d, d += P;
        g->e.s = d, d += P;
        g->e.e = d, d += P;
        g->e.lb = d, d += P;
        g->lines = d, d += ng * sp->line_len;
        g->theta = d, g->am = d + ng * V, g->av = d + 2 * ng * V, g->btheta = d + 3 * ng * V;
        g->ds = d + 4 * ng * V, g->dt = d + 5 * ng * V, g->grad = d + 6 * ng * V;
        d += 7 * ng * V;
        g->bobj = d, g->obj = d + ng;
        d += 2 * ng;
        g->act_row = ix, g->act_grp = ix + P, g->gcount = ix + 2 * P;
        ix += 2 * P + ng;
        g->small = in, g->alive = in + ng;
        in += 2 * ng;
        memset(g->am, 0, 2 * ng * V * sizeof *g->am);
        struct frown_work *fw = ((bound_work *)g->st->work)->frown;
        for (size_t k = 0; k < ng; k++) {
            g->gcount[k] = g->b->gstart[k + 1] - g->b->gstart[k];
            g->small[k] = 0;
            g->alive[k] = 1;
            g->bobj[k] = -INFINITY;
            lines_base(g->st, sp, g->lines + k * sp->line_len);
            warm_start(fw, o->frown_warm ? g->W : NULL, sp, g->b->gid[k], g->b->side, g->b->gkey ? g->b->gkey[k] : 0,
                       g->theta + k * V);
            memcpy(g->btheta + k * V, g->theta + k * V, V * sizeof *g->theta);
        }
        for (size_t p = 0; p < P; p++) g->best[p] = -INFINITY;
    }
    double b1t = 1.0, b2t = 1.0;
    for (int it = 0; it <= o->frown_iters; it++) {
        size_t NA = 0;
        for (size_t s = 0; s < ns; s++) {
            frown_seg *g = &sg[s];
            const frown_space *sp = g->sp;
            const frown_batch *b = g->b;
            size_t na = 0;
            for (size_t k = 0; k < b->ng; k++) {
                if (!g->alive[k]) continue;
                lines_set(g->st, sp, g->theta + k * sp->V, g->lines + k * sp->line_len, g->ds + k * sp->V,
                          g->dt + k * sp->V);
                for (size_t p = b->gstart[k]; p < b->gstart[k + 1]; p++) {
                    g->act_row[na] = b->row[p];
                    g->act_grp[na++] = k;
                }
            }
            g->a0 = NA;
            g->e.na = na;
            g->e.row = g->act_row;
            g->e.grp = g->act_grp;
            NA += na;
        }
        if (!NA) break;
        /* the segments without active problems stay out of the evaluation */
        size_t live = 0;
        for (size_t s = 0; s < ns; s++)
            if (sg[s].e.na) {
                if (live != s) {
                    frown_seg t = sg[live];
                    sg[live] = sg[s];
                    sg[s] = t;
                }
                live++;
            }
        int rc = eval_segs(sg, live, NA, A0, A1, 1, err);
        if (rc) return rc;
        b1t *= ADAM_B1;
        b2t *= ADAM_B2;
        for (size_t s = 0; s < live; s++) {
            frown_seg *g = &sg[s];
            const frown_batch *b = g->b;
            size_t V = g->sp->V;
            /* Active entries list each live group's problems in order. */
            for (size_t k = 0; k < g->e.na;) {
                size_t q = g->act_grp[k];
                g->obj[q] = 0;
                for (size_t p = b->gstart[q]; p < b->gstart[q + 1]; p++, k++) {
                    g->obj[q] += g->e.lb[k];
                    if (g->e.lb[k] > g->best[p]) g->best[p] = g->e.lb[k];
                }
            }
            for (size_t q = 0; q < b->ng; q++) {
                if (!g->alive[q]) continue;
                double mean = g->obj[q] / (double)g->gcount[q];
                double rel = 0.0;
                int finite = isfinite(mean);
                for (size_t v = 0; finite && v < V; v++) finite = isfinite(g->grad[q * V + v]);
                if (mean > g->bobj[q]) {
                    rel = isfinite(g->bobj[q]) ? (mean - g->bobj[q]) / fmax(fabs(g->bobj[q]), DBL_MIN) : INFINITY;
                    g->bobj[q] = mean;
                    memcpy(g->btheta + q * V, g->theta + q * V, V * sizeof *g->theta);
                }
                if (it > 0) g->small[q] = rel < o->frown_threshold ? g->small[q] + 1 : 0;
                if (!finite || it == o->frown_iters || g->small[q] >= o->frown_patience) {
                    g->alive[q] = 0;
                    continue;
                }
                /* Adam ascent step; projection happens before the next evaluation. */
                double *th = g->theta + q * V, *m1 = g->am + q * V, *m2 = g->av + q * V, *gr = g->grad + q * V;
                double c1 = 1.0 - b1t, c2 = 1.0 - b2t;
                for (size_t v = 0; v < V; v++) {
                    m1[v] = ADAM_B1 * m1[v] + (1.0 - ADAM_B1) * gr[v];
                    m2[v] = ADAM_B2 * m2[v] + (1.0 - ADAM_B2) * gr[v] * gr[v];
                    th[v] += o->frown_lr * (m1[v] / c1) / (sqrt(m2[v] / c2) + ADAM_EPS);
                }
            }
        }
    }
    for (size_t s = 0; s < ns; s++) {
        frown_seg *g = &sg[s];
        if (!o->frown_warm || !g->W) continue;
        struct frown_work *fw = ((bound_work *)g->st->work)->frown;
        for (size_t q = 0; q < g->b->ng; q++)
            warm_store(fw, g->W, g->sp, g->b->gid[q], g->b->side, g->b->gkey ? g->b->gkey[q] : 0,
                       g->btheta + q * g->sp->V);
    }
    return NN_OK;
}

/* ---- rows of a layer ---- */

/* Can a better bound of this row change the relaxation built from it? */
static int row_matters(const nn_layer *L, size_t r, double l, double u)
{
    if (!(u > l)) return 0;
    return L->type == LAYER_MAXPOOL2D || !relax_row_stable(L, r, l, u);
}

static uint64_t rows_key(const double *C, size_t ldc, size_t no, const double *d, size_t r0, size_t r1)
{
    uint64_t h = LE_FNV_START;
    for (size_t r = r0; r < r1; r++) {
        double dr = d ? d[r] : 0.0;
        h = le_fnv_f64(le_fnv_f64(h, C + r * ldc, no), &dr, 1);
    }
    return h ? h : 1;
}

/* Problems of one side of a block: rows[] (sorted) grouped by aligned G. Fills the
 * batch's group arrays (gstart needs ng+1, gid ng entries) and returns ng. */
static size_t group_rows(const size_t *rows, size_t P, size_t G, size_t *gstart, size_t *gid)
{
    size_t ng = 0;
    for (size_t p = 0; p < P; p++)
        if (p == 0 || rows[p] / G != rows[p - 1] / G) {
            gstart[ng] = p;
            gid[ng++] = rows[p] / G;
        }
    gstart[ng] = P;
    return ng;
}

/* Both sides (as asked) of the problems of one block, for ns states at once:
 * state k's are its rows rows[k][0 .. P[k]) (sorted), and every state with
 * variables and problems is a segment of its own (optimize_segs), warm-started
 * from its own work's slots at top. State k's results tighten lo[k][p] and
 * hi[k][p] (p: position in rows[k]; lo, hi NULL where that side is not asked). */
static int run_sides(bound_state *const *st, const frown_space *sp, size_t ns, int top, const double *C, size_t ldc,
                     const double *d, const size_t *const *rows, const size_t *P, int want_l, int want_u,
                     double *const *lo, double *const *hi, nn_error *err)
{
    size_t G = st[0]->opt.frown_group, Ptot = 0;
    for (size_t k = 0; k < ns; k++) Ptot += P[k];
    /* per state: gstart (P + 1), gid (P), keys (P), best (P) */
    size_t *gstart = nn_malloc((2 * Ptot + ns) * sizeof *gstart, "FROWN groups", err);
    uint64_t *gkey = C ? nn_malloc((Ptot ? Ptot : 1) * sizeof *gkey, "FROWN groups", err) : NULL;
    double *best = nn_malloc((Ptot ? Ptot : 1) * sizeof *best, "FROWN groups", err);
    size_t *ng = nn_malloc(ns * sizeof *ng, "FROWN groups", err), *at = nn_malloc(ns * sizeof *at, "FROWN groups", err);
    frown_seg *sg = nn_malloc(ns * sizeof *sg, "FROWN groups", err);
    frown_batch *bt = nn_malloc(ns * sizeof *bt, "FROWN groups", err);
    int rc = NN_ENOMEM;
    if (!gstart || (C && !gkey) || !best || !ng || !at || !sg || !bt) goto done;
    for (size_t k = 0, a = 0; k < ns; a += P[k++]) {
        at[k] = a; /* state k's P entries start at a in gkey and best, 2a + k in gstart */
        size_t *gs = gstart + 2 * a + k, *gid = gs + P[k] + 1;
        ng[k] = group_rows(rows[k], P[k], G, gs, gid);
        for (size_t g = 0; C && g < ng[k]; g++)
            gkey[a + g] = rows_key(C, ldc, model_output_size(st[0]->model), d, rows[k][gs[g]], rows[k][gs[g + 1] - 1] + 1);
    }
    rc = NN_OK;
    for (int side = 0; side < 2 && !rc; side++) {
        if (side ? !want_u : !want_l) continue;
        size_t live = 0;
        for (size_t k = 0; k < ns; k++) {
            if (!sp[k].V || !P[k]) continue;
            size_t a = at[k], *gs = gstart + 2 * a + k;
            bt[k] = (frown_batch){top, C, ldc, d, side ? -1.0 : 1.0, side, P[k], rows[k], ng[k], gs, gs + P[k] + 1,
                                  C ? gkey + a : NULL};
            memset(&sg[live], 0, sizeof sg[live]);
            sg[live].st = st[k], sg[live].sp = &sp[k], sg[live].b = &bt[k], sg[live].best = best + a;
            sg[live++].W = &((bound_work *)st[k]->work)->frown->warm[top];
        }
        if (!live || (rc = optimize_segs(sg, live, err))) continue;
        for (size_t k = 0; k < ns; k++)
            for (size_t p = 0; sp[k].V && p < P[k]; p++) {
                double b = best[at[k] + p];
                if (!side && b > lo[k][p]) lo[k][p] = b;
                if (side && -b < hi[k][p]) hi[k][p] = -b;
            }
    }
done:
    free(gstart), free(gkey), free(best), free(ng), free(at), free(sg), free(bt);
    return rc;
}

int bound_frown_layer_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper,
                           nn_error *err)
{
    return bound_frown_layer_rows_batch(&st, 1, i, lo, hi, lower ? &lower : NULL, upper ? &upper : NULL, err);
}

int bound_frown_layer_rows_batch(bound_state *const *st, size_t ns, int i, size_t lo, size_t hi,
                                 double *const *lower, double *const *upper, nn_error *err)
{
    const nn_model *m = st[0]->model;
    const nn_layer *L = &m->layers[i];
    size_t n = shape_size(L->in), rb = ((bound_work *)st[0]->work)->rb, G = st[0]->opt.frown_group;
    for (size_t k = 1; k < ns; k++)
        if (st[k]->model != m || ((bound_work *)st[k]->work)->rb != rb || st[k]->opt.frown_group != G ||
            st[k]->opt.frown_iters != st[0]->opt.frown_iters)
            return nn_fail(err, NN_EARG, "bound_frown_layer_rows: state %zu is not one a batch can optimize", k);
    /* Right after an element-wise activation, no linear bound beats the box
     * [sigma(l), sigma(u)] of that activation's committed bounds (the backward pass
     * of row r meets one line of neuron r, with a fixed sign): nothing to optimize. */
    int direct = i > 0 && bound_in(m, i, 0) >= 0 && layer_is_activation(m->layers[bound_in(m, i, 0)].type);
    /* per state: its space, and rb each of CROWN's bounds, problems and their bounds */
    frown_space *sp = nn_calloc(ns, sizeof *sp, "FROWN block", err);
    double *cl = nn_malloc(4 * ns * rb * sizeof *cl, "FROWN block", err);
    size_t *rows = nn_malloc(ns * rb * sizeof *rows, "FROWN block", err), *P = nn_malloc(ns * sizeof *P, "FROWN block", err);
    const size_t **rp = nn_malloc(ns * sizeof *rp, "FROWN block", err);
    double **op = nn_malloc(2 * ns * sizeof *op, "FROWN block", err);
    int rc = NN_ENOMEM;
    if (!sp || !cl || !rows || !P || !rp || !op) goto done;
    double *cu = cl + ns * rb, *ol = cu + ns * rb, *ou = ol + ns * rb;
    rc = NN_OK;
    for (size_t k = 0; k < ns && !rc; k++) {
        rp[k] = rows + k * rb, op[k] = ol + k * rb, op[ns + k] = ou + k * rb;
        if ((rc = space_build(st[k], i, &sp[k], err))) break;
        frown_warm *W = &((bound_work *)st[k]->work)->frown->warm[i];
        if (st[k]->opt.frown_warm && sp[k].V && !direct) rc = warm_reserve(W, (n + G - 1) / G, sp[k].S, err);
    }
    for (size_t blo = lo - lo % rb; blo < hi && !rc; blo += rb) {
        size_t bhi = blo + rb < n ? blo + rb : n, any = 0;
        for (size_t k = 0; k < ns && !rc; k++) {
            double *kl = cl + k * rb, *ku = cu + k * rb;
            if ((rc = bound_crown_rows(st[k], i, blo, bhi, kl, ku, err))) break;
            size_t *kr = rows + k * rb;
            P[k] = 0;
            if (sp[k].V && st[k]->opt.frown_iters > 0 && !direct)
                for (size_t r = blo; r < bhi; r++)
                    if (row_matters(L, r, kl[r - blo], ku[r - blo])) kr[P[k]++] = r;
            for (size_t p = 0; p < P[k]; p++) {
                op[k][p] = kl[kr[p] - blo];
                op[ns + k][p] = ku[kr[p] - blo];
            }
            any += P[k];
        }
        if (!rc && any)
            rc = run_sides(st, sp, ns, i, NULL, 0, NULL, rp, P, lower != NULL, upper != NULL, op, op + ns, err);
        for (size_t k = 0; k < ns && !rc; k++) {
            double *kl = cl + k * rb, *ku = cu + k * rb;
            for (size_t p = 0; p < P[k]; p++) {
                kl[rp[k][p] - blo] = op[k][p];
                ku[rp[k][p] - blo] = op[ns + k][p];
            }
            for (size_t r = blo > lo ? blo : lo; r < bhi && r < hi; r++) {
                if (lower) lower[k][r - lo] = kl[r - blo];
                if (upper) upper[k][r - lo] = ku[r - blo];
            }
        }
    }
done:
    for (size_t k = 0; sp && k < ns; k++) space_free(&sp[k]);
    free(sp), free(cl), free(rows), free(P), free(rp), free(op);
    return rc;
}

/* The spec rows of n states of one model at once (n = 1: bound_frown_spec):
 * each state's problems are its own segment, with its own space (its split
 * multipliers too), warm start, Adam steps and early stop, and every affine
 * layer of an iteration is one GEMM over the problems of all states still
 * running. lower, upper (NULL: side not wanted) hold state k's CROWN bounds at
 * k * rows and are tightened in place. */
static int spec_rows(bound_state *const *st, size_t n, const double *C, size_t rows, size_t ldc, const double *d,
                     double *lower, double *upper, nn_error *err)
{
    if (n == 0 || rows == 0 || (!lower && !upper) || st[0]->opt.frown_iters == 0) return NN_OK;
    const nn_model *m = st[0]->model;
    int top = m->n_layers;
    size_t rb = ((bound_work *)st[0]->work)->rb, G = st[0]->opt.frown_group;
    frown_space *sp = nn_calloc(n, sizeof *sp, "FROWN spec rows", err);
    size_t *idx = nn_malloc(rb * sizeof *idx, "FROWN spec rows", err), *P = nn_malloc(n * sizeof *P, "FROWN spec rows", err);
    const size_t **rp = nn_malloc(n * sizeof *rp, "FROWN spec rows", err);
    double **lp = nn_malloc(2 * n * sizeof *lp, "FROWN spec rows", err);
    int rc = NN_ENOMEM;
    if (!sp || !idx || !P || !rp || !lp) goto done;
    rc = NN_OK;
    for (size_t k = 0; k < n && !rc; k++) {
        /* a residual graph's passes follow the edges of one segment only */
        if (st[k]->model != m || st[k]->opt.method != METHOD_FROWN || ((bound_work *)st[k]->work)->rb != rb ||
            st[k]->opt.frown_group != G || (n > 1 && ((bound_work *)st[k]->work)->dag)) {
            rc = nn_fail(err, NN_EARG, "bound_frown_spec_batch: state %zu is not one a batch can optimize", k);
            break;
        }
        if ((rc = space_build(st[k], top, &sp[k], err))) break;
        struct frown_work *fw = ((bound_work *)st[k]->work)->frown;
        if (st[k]->opt.frown_warm && sp[k].V) rc = warm_reserve(&fw->warm[top], (rows + G - 1) / G, sp[k].S, err);
    }
    for (size_t r0 = 0; r0 < rows && !rc; r0 += rb) {
        size_t R = rows - r0 < rb ? rows - r0 : rb;
        for (size_t r = 0; r < R; r++) idx[r] = r0 + r;
        for (size_t k = 0; k < n; k++) {
            rp[k] = idx, P[k] = R;
            lp[k] = lower ? lower + k * rows + r0 : NULL, lp[n + k] = upper ? upper + k * rows + r0 : NULL;
        }
        rc = run_sides(st, sp, n, top, C, ldc, d, rp, P, lower != NULL, upper != NULL, lp, lp + n, err);
    }
done:
    for (size_t k = 0; sp && k < n; k++) space_free(&sp[k]);
    free(sp), free(idx), free(P), free(rp), free(lp);
    return rc;
}

int bound_frown_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                     double *upper, nn_error *err)
{
    return spec_rows(&st, 1, C, rows, ldc, d, lower, upper && st->opt.spec_upper ? upper : NULL, err);
}

/* bound_frown_spec's lower sides for n states of one model at once (batches of
 * regions or sub-domains, bound_batch.c): lower[k * rows + r] holds state k's
 * CROWN bound and gets the better one. */
int bound_frown_spec_batch(bound_state *const *st, size_t n, const double *C, size_t rows, size_t ldc,
                           double *lower, nn_error *err)
{
    return spec_rows(st, n, C, rows, ldc, NULL, lower, NULL, err);
}

/* ---- spec-row variables carried between regions (bound.h) ---- */

/* Warm slots of the spec rows' space: every activation neuron's lines, the same
 * on every region (space_build numbers them so; split multipliers come after
 * them and are not carried, since their slots follow the region's splits). */
static size_t spec_line_slots(const nn_model *m)
{
    size_t S = 0;
    for (int j = 0; j < m->n_layers; j++)
        if (layer_is_activation(m->layers[j].type))
            S += shape_size(m->layers[j].in) * (relax_upper_can_be_free(m->layers[j].type) ? 2u : 1u);
    return S;
}

size_t bound_spec_warm_len(const nn_model *m, const bound_options *opt, size_t rows)
{
    if (!m || !opt || !bound_keeps_state(opt) || opt->frown_group == 0) return 0;
    size_t groups = (rows + opt->frown_group - 1) / opt->frown_group;
    return groups * (opt->spec_upper ? 2u : 1u) * spec_line_slots(m);
}

/* The warm key of spec group g of `rows` rows: run_sides' key of the same rows. */
static uint64_t spec_group_key(const bound_state *st, const double *C, size_t ldc, const double *d, size_t rows,
                               size_t g)
{
    size_t G = st->opt.frown_group, end = g * G + G < rows ? g * G + G : rows;
    return rows_key(C, ldc, model_output_size(st->model), d, g * G, end);
}

/* Checks shared by get and seed; the spec rows' warm state, or NULL. */
static int spec_warm_args(const bound_state *st, const double *C, size_t rows, size_t ldc, const char *fn,
                          frown_warm **W, size_t *S, nn_error *err)
{
    if (!st || !st->work) return nn_fail(err, NN_EARG, "%s: state not initialized", fn);
    const bound_work *w = st->work;
    if (!w->region_set) return nn_fail(err, NN_EARG, "%s: no region set", fn);
    if (rows && (!C || ldc < model_output_size(st->model)))
        return nn_fail(err, NN_EARG, "%s: C is NULL or its leading dimension %zu is too small", fn, ldc);
    *W = bound_spec_warm_len(st->model, &st->opt, rows) && w->frown ? &w->frown->warm[st->model->n_layers] : NULL;
    *S = spec_line_slots(st->model);
    return NN_OK;
}

int bound_spec_warm_get(const bound_state *st, const double *C, size_t rows, size_t ldc, const double *d,
                        float *out, nn_error *err)
{
    frown_warm *W;
    size_t S;
    int rc = spec_warm_args(st, C, rows, ldc, "bound_spec_warm_get", &W, &S, err);
    if (rc || !W) return rc;
    const struct frown_work *fw = ((const bound_work *)st->work)->frown;
    size_t G = st->opt.frown_group, groups = (rows + G - 1) / G;
    int sides = st->opt.spec_upper ? 2 : 1;
    for (size_t g = 0; g < groups; g++) {
        uint64_t key = spec_group_key(st, C, ldc, d, rows, g);
        for (int side = 0; side < sides; side++) {
            float *o = out + (g * (size_t)sides + (size_t)side) * S;
            int k = -1;  /* what this region's evaluation wrote */
            for (int e = 0; W->data && W->S >= S && g < W->groups && e < 2; e++) {
                size_t at = warm_index(g, side, e);
                if (W->gen[at] == fw->eval && W->key[at] == key) k = e;
            }
            if (k < 0)
                for (size_t v = 0; v < S; v++) o[v] = NAN;
            else
                memcpy(o, W->data + warm_index(g, side, k) * W->S, S * sizeof *o);
        }
    }
    return NN_OK;
}

int bound_spec_warm_seed(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d,
                         const float *in, nn_error *err)
{
    frown_warm *W;
    size_t S;
    int rc = spec_warm_args(st, C, rows, ldc, "bound_spec_warm_seed", &W, &S, err);
    if (rc || !W || !rows) return rc;
    if (st->sub && st->opt.frown_beta)
        return nn_fail(err, NN_EARG, "bound_spec_warm_seed: a sub-domain's split multipliers are not carried");
    struct frown_work *fw = ((bound_work *)st->work)->frown;
    size_t G = st->opt.frown_group, groups = (rows + G - 1) / G;
    if ((rc = warm_reserve(W, groups, S, err))) return rc;
    /* the seed is an earlier evaluation of this region's image: the next one reads it */
    int seed = fw->eval++;
    int sides = st->opt.spec_upper ? 2 : 1;
    for (size_t g = 0; g < groups; g++) {
        uint64_t key = spec_group_key(st, C, ldc, d, rows, g);
        for (int side = 0; side < 2; side++) {
            W->gen[warm_index(g, side, 1)] = -1;
            W->gen[warm_index(g, side, 0)] = side < sides ? seed : -1;
            W->key[warm_index(g, side, 0)] = key;
            if (side < sides)
                memcpy(W->data + warm_index(g, side, 0) * W->S, in + (g * (size_t)sides + (size_t)side) * S,
                       S * sizeof *in);
        }
    }
    return NN_OK;
}

/* ---- white-box entry points ---- */

int bound_frown_vars(bound_state *st, int top, size_t *V, double *lo, double *hi, double *start, int *layer,
                     size_t *neuron, int *upper, nn_error *err)
{
    frown_space sp;
    int rc = space_build(st, top, &sp, err);
    if (rc) return rc;
    *V = sp.V;
    for (size_t v = 0; v < sp.V; v++) {
        if (lo) lo[v] = sp.vlo[v];
        if (hi) hi[v] = sp.vhi[v];
        if (start) start[v] = sp.vstart[v];
        if (layer) layer[v] = sp.vlayer[v];
        if (neuron) neuron[v] = sp.vneuron[v];
        if (upper) upper[v] = v >= sp.V_lines ? 2 : sp.vupper[v];
    }
    space_free(&sp);
    return NN_OK;
}

int bound_frown_probe(bound_state *st, int top, size_t row, const double *C_row, double d, double sign,
                      const double *theta, double *bound, double *grad, nn_error *err)
{
    bound_work *w = st->work;
    if (!w->frown) return nn_fail(err, NN_EARG, "bound_frown_probe: the state's method is not frown");
    if (top < 0 || top > st->model->n_layers || top > st->layers_done)
        return nn_fail(err, NN_EARG, "bound_frown_probe: layer %d not ready", top);
    frown_space sp;
    int rc = space_build(st, top, &sp, err);
    if (rc) return rc;
    size_t V = sp.V, mw = w->maxw;
    double *mem = nn_malloc((2 * mw + sp.g_len + 4 + sp.line_len + 4 * (V ? V : 1)) * sizeof *mem, "FROWN probe", err);
    if (!mem) {
        space_free(&sp);
        return NN_ENOMEM;
    }
    frown_eval_buf e;
    size_t r = C_row ? 0 : row, g0 = 0, one = 1, gs[2] = {0, 1};
    e.na = 1;
    e.row = &r;
    e.grp = &g0;
    e.A0 = mem;
    e.A1 = mem + mw;
    e.G = mem + 2 * mw;
    e.c = e.G + sp.g_len;
    e.s = e.c + 1;
    e.e = e.s + 1;
    e.lb = e.e + 1;
    double *lines = e.lb + 1, *th = lines + sp.line_len, *ds = th + V, *dt = ds + V, *gr = dt + V;
    memcpy(th, theta, V * sizeof *th);
    lines_base(st, &sp, lines);
    lines_set(st, &sp, th, lines, ds, dt);
    frown_batch b = {top, C_row, 0, C_row ? &d : NULL, sign, 0, 1, &r, 1, gs, &g0, NULL};
    rc = eval_block(st, &sp, &b, &e, lines, ds, dt, grad ? gr : NULL, &one, err);
    if (!rc) {
        *bound = e.lb[0];
        if (grad) memcpy(grad, gr, V * sizeof *grad);
    }
    free(mem);
    space_free(&sp);
    return rc;
}
