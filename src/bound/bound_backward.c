/* The backward (CROWN) kernel: bounds on rows of a linear specification, by
 * walking coefficient rows from a layer back to the input (spec bounds.md,
 * "Backward pass"; MaxPool planes as in tilin.md "Use in the backward pass").
 *
 * A block of R specification rows lives in one matrix of M rows: until the first
 * nonlinear layer both sides are the same matrix (M = R); from there rows
 * [0, R) carry A_L for the lower bound and rows [R, 2R) A_U for the upper bound
 * (M = 2R; a side nobody asked for is never computed, M = R). Each row has a
 * constant c and the sum s of the absolute values of the terms folded into c.
 * Affine layers: c += A.b_full and A <- A.M (dense: one GEMM over all M rows;
 * conv: transposed convolution through layer_affine_adjoint). Activation layers:
 * per coefficient sign the upper or the lower line, in one pass that also folds
 * the next affine layer's offset into c. MaxPool: per sign the upper or the
 * lower plane, scattered onto the window inputs (overlapping windows add).
 * Flatten is the identity on memory and costs nothing.
 *
 * Dead neurons cost nothing either. A neuron whose two lines are both 0 (a ReLU
 * with u <= 0) contributes exactly 0 from there down, so when an activation
 * layer sits next to a dense layer, A is carried on its live neurons only
 * ("packed" columns, in ascending neuron order) and the dense layer's GEMM runs
 * on W restricted to the live rows above and the live columns below: with
 * 75% dead neurons on both sides it is a 16x smaller GEMM. The packed W copies
 * are rebuilt when a commit changes the live sets (bound_backward_commit).
 * Dropping a zero term changes no sum in exact arithmetic; the blocked GEMM may
 * round the remaining terms in a different grouping, which the allowance below
 * covers, and the selection depends only on committed layers, so row ranges
 * still give the same bits.
 *
 * Concretization on the region B_p(x0, eps) (q dual of p):
 *   L = A x0 - eps ||A||_q + c,   U = A x0 + eps ||A||_q + c.
 * With clipping to [clip_lo, clip_hi]: for l_inf the region is the box
 * [max(x0-eps, lo), min(x0+eps, hi)] and is bounded exactly as a box; for l1/l2
 * both the ball bound and the bounding-box bound are valid, the better is kept.
 *
 * Rounding. Every number here is a sum of products computed in double. Each
 * concretized bound is moved outward by BOUND_REL_ALLOW (1e-10) times the sum of
 * the absolute values of its terms: |A||x0| + eps||A||_q (or sum |A_j|max(|lo_j|,
 * |hi_j|) for a box) plus every |coefficient * constant| folded into c on the way
 * (offsets of affine layers, line and plane intercepts, d). A dot product of n
 * terms errs by at most n*u*sum|terms| (u = 1.1e-16), so the allowance covers
 * n*depth up to ~1e6 (and the rounding of the forward pass the samples are checked
 * with). Cancellation inside A = C W_m ... W_1 is not covered by this bound in the
 * worst case; on the networks nncert targets the margin is orders of magnitude.
 *
 * Row independence: every row's arithmetic depends only on the row (loops here
 * are per row), and the GEMMs of the adjoints see whole aligned blocks chosen by
 * the caller (bound.c), so a row's result does not depend on the request. */
#include "bound_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The first block's matrix is cached when it takes at most this many bytes. */
#define FB_CACHE_BYTES ((size_t)256 << 20)

/* One block in flight (see the header comment for the row layout). */
typedef struct {
    size_t R;            /* specification rows */
    size_t M;            /* rows carried: R or 2R */
    size_t lo_rows;      /* once split: rows [0, lo_rows) are lower-side rows */
    int split;           /* the sides have been separated */
    int want_l, want_u;
    double *A, *B;       /* current matrix (M x width, leading dimension width), other buffer */
    size_t width;        /* columns of A */
    const size_t *map;   /* NULL: column k is neuron k; else packed, neuron map[k] */
    int fused;           /* the next affine layer's offset is already in c */
    double *c, *s;       /* per row: constant, sum of |terms| folded into it */
} blk;

/* CPU time of the calling thread: GEMM figures that other processes on the
 * machine do not distort. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double adjoint_flops(const nn_layer *L, size_t R)
{
    if (L->type == LAYER_DENSE) return 2.0 * (double)R * (double)shape_size(L->out) * (double)shape_size(L->in);
    if (L->type == LAYER_CONV2D)
        return 2.0 * (double)R * (double)shape_size(L->out) * (double)L->in.c * L->kernel[0] * L->kernel[1];
    return 0.0;
}

/* The activation layer whose output is dense layer j's input (through flattens), or -1. */
static int act_below(const nn_model *m, int j)
{
    int k = j - 1;
    while (k >= 0 && m->layers[k].type == LAYER_FLATTEN) k--;
    return k >= 0 && layer_is_activation(m->layers[k].type) ? k : -1;
}

/* The first affine layer with an offset below layer j (through flattens), or -1. */
static int offset_below(const bound_work *w, const nn_model *m, int j, int stop)
{
    int k = j - 1;
    while (k >= stop && m->layers[k].type == LAYER_FLATTEN) k--;
    return k >= stop && layer_is_affine(m->layers[k].type) && w->bfull[k] ? k : -1;
}

/* Activation i is committed with dead neurons: A next to a dense layer is packed. */
static int packed(const bound_work *w, int i) { return i >= 0 && w->live_gen[i] && w->n_live[i] < w->n_act[i]; }

int bound_backward_init(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int n = m->n_layers;
    w->live_gen = nn_calloc((size_t)n, sizeof *w->live_gen, "backward packing", err);
    w->live = nn_calloc((size_t)n, sizeof *w->live, "backward packing", err);
    w->n_live = nn_calloc((size_t)n, sizeof *w->n_live, "backward packing", err);
    w->n_act = nn_calloc((size_t)n, sizeof *w->n_act, "backward packing", err);
    w->pk = nn_calloc((size_t)n, sizeof *w->pk, "backward packing", err);
    w->wc = nn_calloc((size_t)n, sizeof *w->wc, "backward packing", err);
    w->wc_gen = nn_calloc((size_t)n, sizeof *w->wc_gen, "backward packing", err);
    if (!w->live_gen || !w->live || !w->n_live || !w->n_act || !w->pk || !w->wc || !w->wc_gen) return NN_ENOMEM;
    for (int i = 0; i < n; i++) {
        const nn_layer *L = &m->layers[i];
        if (layer_is_activation(L->type)) {
            size_t k = shape_size(L->in);
            w->n_act[i] = k;
            w->live[i] = nn_malloc(k * sizeof *w->live[i], "backward packing", err);
            w->pk[i] = nn_malloc(6 * k * sizeof *w->pk[i], "backward packing", err);
            if (!w->live[i] || !w->pk[i]) return NN_ENOMEM;
        }
    }
    return NN_OK;
}

void bound_backward_free(bound_work *w, const nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        if (w->live) free(w->live[i]);
        if (w->pk) free(w->pk[i]);
        if (w->wc) free(w->wc[i]);
    }
    free(w->live_gen);
    free(w->live);
    free(w->n_live);
    free(w->n_act);
    free(w->pk);
    free(w->wc);
    free(w->wc_gen);
    free(w->fb_pk);
}

void bound_backward_commit(bound_state *st, int layer)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    if (!layer_is_activation(m->layers[layer].type)) return;
    const relax_lines *ln = &st->lines[layer];
    size_t n = ln->n, k = 0;
    size_t *live = w->live[layer];
    for (size_t i = 0; i < n; i++)
        if (!(ln->lower_slope[i] == 0 && ln->upper_slope[i] == 0 && ln->lower_icpt[i] == 0 && ln->upper_icpt[i] == 0))
            live[k++] = i;
    w->n_live[layer] = k;
    w->live_gen[layer] = ++w->gen;
    /* packed lines, and the offset below folded into the step with its magnitudes:
     * the first block's composite c when its GEMM is used, else the affine layer's */
    int fb = layer == w->first_nl && w->fb_gemm, ob = offset_below(w, m, layer, 0);
    const double *b = fb ? w->fb_c : ob >= 0 ? w->bfull[ob] : NULL;
    const double *babs = fb ? w->fb_cabs : ob >= 0 ? w->babs[ob] : NULL;
    double *pk = w->pk[layer];
    for (size_t q = 0; q < k; q++) {
        size_t i = live[q];
        pk[q] = ln->lower_slope[i];
        pk[n + q] = ln->lower_icpt[i];
        pk[2 * n + q] = ln->upper_slope[i];
        pk[3 * n + q] = ln->upper_icpt[i];
        pk[4 * n + q] = b ? b[i] : 0.0;
        pk[5 * n + q] = b ? babs[i] : 0.0;
    }
}

/* dst = src[rows, cols] (src n_rows x n_cols; a NULL list takes every index),
 * allocated on first use; kept while the stamps match. */
static int pack_matrix(double **dst, unsigned long stamp[2], const double *src, size_t n_rows, size_t n_cols,
                       const size_t *rows, size_t nr, unsigned long gr, const size_t *cols, size_t nc,
                       unsigned long gc, nn_error *err)
{
    if (*dst && stamp[0] == gr && stamp[1] == gc) return NN_OK;
    if (!*dst && !(*dst = nn_malloc(n_rows * n_cols * sizeof **dst, "packed weights", err))) return NN_ENOMEM;
    for (size_t r = 0; r < nr; r++) {
        const double *a = src + (rows ? rows[r] : r) * n_cols;
        double *d = *dst + r * nc;
        if (!cols) memcpy(d, a, n_cols * sizeof *d);
        else
            for (size_t k = 0; k < nc; k++) d[k] = a[cols[k]];
    }
    stamp[0] = gr;
    stamp[1] = gc;
    return NN_OK;
}

/* W of dense layer j restricted to the live rows above / columns below (*W stays
 * NULL when nothing is packed); *rows x *cols is the GEMM's shape. */
static int packed_weight(bound_work *w, const nn_model *m, int j, const double **W, size_t *rows, size_t *cols,
                         nn_error *err)
{
    const nn_layer *L = &m->layers[j];
    size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
    int up = j + 1 < m->n_layers && layer_is_activation(m->layers[j + 1].type) && packed(w, j + 1) ? j + 1 : -1;
    int dn = act_below(m, j);
    if (!packed(w, dn)) dn = -1;
    *rows = up >= 0 ? w->n_live[up] : n_out;
    *cols = dn >= 0 ? w->n_live[dn] : n_in;
    *W = NULL;
    if (up < 0 && dn < 0) return NN_OK;
    int rc = pack_matrix(&w->wc[j], w->wc_gen[j], L->weight, n_out, n_in, up >= 0 ? w->live[up] : NULL, *rows,
                         up >= 0 ? w->live_gen[up] : 0, dn >= 0 ? w->live[dn] : NULL, *cols,
                         dn >= 0 ? w->live_gen[dn] : 0, err);
    *W = w->wc[j];
    return rc;
}

/* B = A.M for affine layer j over all M rows of the block; the block's layout
 * moves to j's input (packed on the activation below when there is one). */
static int step_affine(bound_state *st, int j, blk *b, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    const nn_layer *L = &m->layers[j];
    size_t n_in = shape_size(L->in);
    double t0 = cpu_seconds();
    if (L->type == LAYER_DENSE) {
        size_t rows, cols;
        const double *W;
        int rc = packed_weight(w, m, j, &W, &rows, &cols, err);
        if (rc) return rc;
        if (!W) W = L->weight;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b->M, (int)cols, (int)rows, 1.0, b->A,
                    (int)b->width, W, (int)cols, 0.0, b->B, (int)cols);
        st->flops += 2.0 * (double)b->M * (double)rows * (double)cols;
        int dn = act_below(m, j);
        b->map = cols < n_in ? w->live[dn] : NULL;
        b->width = cols;
    } else {
        int rc = layer_affine_adjoint_ws(L, b->A, b->M, b->width, b->B, n_in, &w->ws, err);
        if (rc) return rc;
        st->flops += adjoint_flops(L, b->M);
        b->width = n_in;
    }
    st->gemm_seconds += cpu_seconds() - t0;
    double *t = b->A;
    b->A = b->B;
    b->B = t;
    return NN_OK;
}

/* The whole first affine block as one GEMM with its cached composite matrix
 * (rows on first_nl's live neurons when packed): the block reaches the input. */
static int step_first_block(bound_state *st, blk *b, nn_error *err)
{
    bound_work *w = st->work;
    int f = w->first_nl;
    size_t n = w->n_in, rows = b->width;
    double t0 = cpu_seconds();
    const double *F = w->fb_A;
    if (b->map) {
        int rc = pack_matrix(&w->fb_pk, w->fb_pk_gen, w->fb_A, w->fb_rows, n, w->live[f], rows, w->live_gen[f],
                             NULL, n, 0, err);
        if (rc) return rc;
        F = w->fb_pk;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b->M, (int)n, (int)rows, 1.0, b->A, (int)b->width,
                F, (int)n, 0.0, b->B, (int)n);
    st->flops += 2.0 * (double)b->M * (double)rows * (double)n;
    st->gemm_seconds += cpu_seconds() - t0;
    double *t = b->A;
    b->A = b->B;
    b->B = t;
    b->width = n;
    b->map = NULL;
    return NN_OK;
}

/* Full layout again (a layer that needs every column). */
static void unpack(blk *b, size_t n)
{
    for (size_t r = 0; r < b->M; r++) {
        const double *a = b->A + r * b->width;
        double *x = b->B + r * n;
        memset(x, 0, n * sizeof *x);
        for (size_t k = 0; k < b->width; k++) x[b->map[k]] = a[k];
    }
    double *t = b->A;
    b->A = b->B;
    b->B = t;
    b->width = n;
    b->map = NULL;
}

/* c += A.b, s += |A||b| termwise over the block's columns. */
static void add_offset(blk *b, const double *off)
{
    for (size_t r = 0; r < b->M; r++) {
        const double *a = b->A + r * b->width;
        double acc = 0, mag = 0;
        for (size_t k = 0; k < b->width; k++) {
            double t = a[k] * (b->map ? off[b->map[k]] : off[k]);
            acc += t;
            mag += fabs(t);
        }
        b->c[r] += acc;
        b->s[r] += mag;
    }
}

/* The separate sides start here: copy the rows for the upper side if both are wanted. */
static void split_sides(blk *b)
{
    if (b->split) return;
    if (b->want_l && b->want_u) {
        memcpy(b->A + b->R * b->width, b->A, b->R * b->width * sizeof *b->A);
        memcpy(b->c + b->R, b->c, b->R * sizeof *b->c);
        memcpy(b->s + b->R, b->s, b->R * sizeof *b->s);
        b->M = 2 * b->R;
    }
    b->lo_rows = b->want_l ? b->R : 0;
    b->split = 1;
}

/* max(v, 0) without a branch: coefficient signs are close to random, and a
 * branch on them mispredicts half the time (3x slower here). v - pos_part(v) is
 * min(v, 0) exactly. */
static inline double pos_part(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    b &= (b >> 63) - 1;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* One row through activation lines: the upper side takes the upper line where the
 * coefficient is >= 0 and the lower line below 0 (the lower side the reverse).
 * in/out index the row's input and output positions (NULL: position q); the line
 * arrays and off/offabs (the next offset and its magnitudes, may be NULL) are
 * indexed by q. One of vp, vn is 0, so vp*p + vn*n is the selected product exactly. */
static void act_row(const double *a, double *x, size_t nq, const size_t *in, const size_t *out, const double *ps,
                    const double *pt, const double *ns, const double *nt, const double *off, const double *offabs,
                    double *c, double *s)
{
    double acc = 0, mag = 0;
    for (size_t q = 0; q < nq; q++) {
        double v = a[in ? in[q] : q];
        double vp = pos_part(v), vn = v - vp;
        double t = vp * pt[q] + vn * nt[q];
        double y = vp * ps[q] + vn * ns[q];
        x[out ? out[q] : q] = y;
        acc += t;
        mag += fabs(t);
        if (off) {
            acc += y * off[q];
            mag += fabs(y) * offabs[q];
        }
    }
    *c += acc;
    *s += mag;
}

/* Through the lines of activation layer j. The output is packed on j's live
 * neurons when a GEMM reads it next (a dense layer below, or the composite first
 * block: fb = 1), else full. The offset below (off_layer's b_full, or the first
 * block's c with fb) is folded into c in the same pass. */
static void step_activation(const bound_state *st, int j, blk *b, int off_layer, int fb)
{
    const bound_work *w = st->work;
    const nn_model *m = st->model;
    const relax_lines *ln = &st->lines[j];
    size_t n = ln->n, nq = n, out_w = n;
    int out_packed = packed(w, j) && (fb || (j >= 1 && m->layers[j - 1].type == LAYER_DENSE));
    int in_packed = b->map != NULL;
    const double *ls = ln->lower_slope, *lt = ln->lower_icpt, *us = ln->upper_slope, *ut = ln->upper_icpt;
    const double *off = fb ? w->fb_c : off_layer >= 0 ? w->bfull[off_layer] : NULL;
    const double *offabs = fb ? w->fb_cabs : off_layer >= 0 ? w->babs[off_layer] : NULL;
    const size_t *in = NULL, *out = NULL;
    double *dst = b->A; /* in place unless the layout changes */
    if (in_packed || out_packed) {
        const double *pk = w->pk[j];
        ls = pk, lt = pk + n, us = pk + 2 * n, ut = pk + 3 * n;
        if (off) off = pk + 4 * n, offabs = pk + 5 * n;
        nq = w->n_live[j];
        out_w = out_packed ? nq : n;
        if (!in_packed) in = w->live[j];
        if (!out_packed) out = w->live[j];
        if (in_packed != out_packed) dst = b->B;
    }
    for (size_t r = 0; r < b->M; r++) {
        const double *a = b->A + r * b->width;
        double *x = dst + r * out_w;
        if (out) memset(x, 0, out_w * sizeof *x);
        if (r >= b->lo_rows) act_row(a, x, nq, in, out, us, ut, ls, lt, off, offabs, &b->c[r], &b->s[r]);
        else act_row(a, x, nq, in, out, ls, lt, us, ut, off, offabs, &b->c[r], &b->s[r]);
    }
    if (dst != b->A) {
        b->B = b->A;
        b->A = dst;
    }
    b->width = out_w;
    b->map = out_packed ? w->live[j] : NULL;
    b->fused = off != NULL;
}

/* Through MaxPool planes: A (M x n_out, full) -> (M x n_in). */
static void step_maxpool(const relax_pool *p, blk *b, size_t n_in)
{
    int W = p->window;
    size_t n_out = b->width;
    for (size_t r = 0; r < b->M; r++) {
        int upper = r >= b->lo_rows;
        const double *a = b->A + r * n_out;
        double *x = b->B + r * n_in;
        memset(x, 0, n_in * sizeof *x);
        double acc = 0, mag = 0;
        for (size_t o = 0; o < n_out; o++) {
            double v = a[o];
            if (v == 0) continue;
            int use_upper = (v >= 0) == upper;
            const double *coef = (use_upper ? p->upper_coef : p->lower_coef) + o * (size_t)W;
            double icpt = use_upper ? p->upper_icpt[o] : p->lower_icpt[o];
            const int *in = p->inputs + o * (size_t)W;
            for (int k = 0; k < W; k++)
                if (in[k] >= 0) x[in[k]] += v * coef[k];
            double t = v * icpt;
            acc += t;
            mag += fabs(t);
        }
        b->c[r] += acc;
        b->s[r] += mag;
    }
    double *t = b->A;
    b->A = b->B;
    b->B = t;
    b->width = n_in;
}

/* Propagate a block from the input of layer top down to the input of layer stop.
 * Starting rows: C (rows on the model output, top = n_layers) plus d; else rows
 * idx of W when layer top-1 is dense; else identity rows idx. */
static int propagate(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C, size_t ldc,
                     const double *d, int want_l, int want_u, blk *b, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    memset(b, 0, sizeof *b);
    b->R = b->M = R;
    b->want_l = want_l;
    b->want_u = want_u;
    b->A = w->buf[0];
    b->B = w->buf[1];
    b->c = w->c;
    b->s = w->s;
    int j;
    if (C) {
        b->width = model_output_size(m);
        for (size_t r = 0; r < R; r++) {
            memcpy(b->A + r * b->width, C + r * ldc, b->width * sizeof *b->A);
            b->c[r] = d ? d[r] : 0.0;
            b->s[r] = d ? fabs(d[r]) : 0.0;
        }
        j = top - 1;
    } else if (top >= 1 && m->layers[top - 1].type == LAYER_DENSE) {
        /* Rows of W directly (on the live columns below): no identity GEMM. */
        const nn_layer *L = &m->layers[top - 1];
        size_t n_in = shape_size(L->in);
        int dn = act_below(m, top - 1);
        b->map = packed(w, dn) ? w->live[dn] : NULL;
        b->width = b->map ? w->n_live[dn] : n_in;
        for (size_t r = 0; r < R; r++) {
            const double *src = L->weight + idx[r] * n_in;
            double *a = b->A + r * b->width;
            if (b->map)
                for (size_t k = 0; k < b->width; k++) a[k] = src[b->map[k]];
            else memcpy(a, src, n_in * sizeof *a);
            b->c[r] = L->bias[idx[r]];
            b->s[r] = fabs(L->bias[idx[r]]);
        }
        j = top - 2;
    } else {
        b->width = top >= 1 ? shape_size(m->layers[top - 1].out) : w->n_in;
        memset(b->A, 0, R * b->width * sizeof *b->A);
        for (size_t r = 0; r < R; r++) {
            b->A[r * b->width + idx[r]] = 1.0;
            b->c[r] = b->s[r] = 0.0;
        }
        j = top - 1;
    }
    for (; j >= stop; j--) {
        const nn_layer *L = &m->layers[j];
        if (L->type == LAYER_FLATTEN) continue; /* identity on memory */
        if (layer_is_affine(L->type)) {
            if (b->map && L->type != LAYER_DENSE) unpack(b, shape_size(L->out));
            if (w->bfull[j] && !b->fused) add_offset(b, w->bfull[j]);
            b->fused = 0;
            int rc = step_affine(st, j, b, err);
            if (rc) return nn_error_prefix(err, "backward pass, layer %d: ", j);
            continue;
        }
        split_sides(b);
        if (layer_is_activation(L->type)) {
            int fb = j == w->first_nl && stop == 0 && w->fb_gemm;
            step_activation(st, j, b, fb ? -1 : offset_below(w, m, j, stop), fb);
            if (fb) return step_first_block(st, b, err);
        } else if (L->type == LAYER_MAXPOOL2D) {
            if (b->map) unpack(b, shape_size(L->out));
            step_maxpool(&st->pools[j], b, shape_size(L->in));
            b->fused = 0;
        } else {
            return nn_fail(err, NN_EUNSUPPORTED, "backward pass: layer %d (%s) is not supported", j,
                           layer_type_name(L->type));
        }
    }
    return NN_OK;
}

/* Row of the block holding side `upper` of specification row r. */
static size_t side_row(const blk *b, int upper, size_t r) { return b->split && upper ? b->lo_rows + r : r; }

/* The dual norm q of a row for the region's norm p (index p = norm_type). Plain
 * sequential sums here and in ball_bound: translated copies of a row (conv rows
 * over a blank background) get the same bits, so ties between them stay ties. */
static double row_norm(const double *a, size_t n, norm_type p)
{
    double acc = 0;
    switch (p) {
    case NORM_INF:
        for (size_t j = 0; j < n; j++) acc += fabs(a[j]);
        return acc;
    case NORM_1:
        for (size_t j = 0; j < n; j++) acc = fabs(a[j]) > acc ? fabs(a[j]) : acc;
        return acc;
    default:
        for (size_t j = 0; j < n; j++) acc += a[j] * a[j];
        return sqrt(acc);
    }
}

/* One row on the region's ball: a.x0 -/+ eps||a||_q + c, widened. nrm may be a
 * cached norm (< 0: computed here, in the same pass for l_inf and l2). */
static void ball_bound(const bound_state *st, const double *a, size_t n, double c, double s, double nrm,
                       double *lo, double *hi)
{
    const double *x0 = ((const bound_work *)st->work)->x0;
    double dot = 0, mag = 0, acc = 0;
    norm_type p = st->region.norm;
    if (nrm >= 0 || p == NORM_1) {
        for (size_t j = 0; j < n; j++) {
            double t = a[j] * x0[j];
            dot += t;
            mag += fabs(t);
        }
        if (nrm < 0) nrm = row_norm(a, n, p);
    } else if (p == NORM_INF) {
        for (size_t j = 0; j < n; j++) {
            double t = a[j] * x0[j];
            dot += t;
            mag += fabs(t);
            acc += fabs(a[j]);
        }
        nrm = acc;
    } else {
        for (size_t j = 0; j < n; j++) {
            double t = a[j] * x0[j];
            dot += t;
            mag += fabs(t);
            acc += a[j] * a[j];
        }
        nrm = sqrt(acc);
    }
    double e = st->region.eps * nrm;
    double allow = BOUND_REL_ALLOW * (mag + e + s);
    if (lo) *lo = dot - e + c - allow;
    if (hi) *hi = dot + e + c + allow;
}

/* One row on a box [bl, bh]; map (may be NULL) names the box entry of column j. */
static void box_bound(const double *a, size_t n, const size_t *map, const double *bl, const double *bh, double c,
                      double s, double *lo, double *hi)
{
    double vl = 0, vh = 0, mag = 0;
    for (size_t j = 0; j < n; j++) {
        double x = a[j], xp = pos_part(x), xn = x - xp;
        size_t i = map ? map[j] : j;
        double tl = xp * bl[i] + xn * bh[i];
        double th = xp * bh[i] + xn * bl[i];
        vl += tl;
        vh += th;
        mag += fmax(fabs(tl), fabs(th));
    }
    double allow = BOUND_REL_ALLOW * (mag + s);
    if (lo) *lo = vl + c - allow;
    if (hi) *hi = vh + c + allow;
}

/* Concretize one row on the region (see the header comment); lo/hi may be NULL. */
static void region_bound(const bound_state *st, const double *a, double c, double s, double nrm, double *lo,
                         double *hi)
{
    const bound_work *w = st->work;
    size_t n = w->n_in;
    if (!st->region.clip) {
        ball_bound(st, a, n, c, s, nrm, lo, hi);
    } else if (st->region.norm == NORM_INF) {
        box_bound(a, n, NULL, w->box_lo, w->box_hi, c, s, lo, hi);
    } else {
        double bl, bh, xl, xh;
        ball_bound(st, a, n, c, s, nrm, &bl, &bh);
        box_bound(a, n, NULL, w->box_lo, w->box_hi, c, s, &xl, &xh);
        if (lo) *lo = bl > xl ? bl : xl;
        if (hi) *hi = bh < xh ? bh : xh;
    }
}

int bound_backward_block(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                         size_t ldc, const double *d, const double *box_lo, const double *box_hi, double *lower,
                         double *upper, nn_error *err)
{
    blk b;
    int rc = propagate(st, top, stop, R, idx, C, ldc, d, lower != NULL, upper != NULL, &b, err);
    if (rc) return rc;
    st->backward_rows += R;
    for (size_t r = 0; r < R; r++) {
        size_t rl = side_row(&b, 0, r), ru = side_row(&b, 1, r);
        const double *al = b.A + rl * b.width, *au = b.A + ru * b.width;
        if (stop > 0) {
            if (lower) box_bound(al, b.width, b.map, box_lo, box_hi, b.c[rl], b.s[rl], &lower[r], NULL);
            if (upper) box_bound(au, b.width, b.map, box_lo, box_hi, b.c[ru], b.s[ru], NULL, &upper[r]);
        } else {
            if (lower) region_bound(st, al, b.c[rl], b.s[rl], -1.0, &lower[r], NULL);
            if (upper) region_bound(st, au, b.c[ru], b.s[ru], -1.0, NULL, &upper[r]);
        }
    }
    return NN_OK;
}

static int fb_build(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    size_t rows = w->fb_rows, n = w->n_in;
    if (rows == 0 || n > FB_CACHE_BYTES / sizeof(double) / rows) {
        w->fb_state = -1;
        return NN_OK;
    }
    w->fb_A = nn_malloc(rows * n * sizeof(double), "first-layer bound cache", err);
    w->fb_c = nn_malloc(rows * sizeof(double), "first-layer bound cache", err);
    w->fb_cabs = nn_malloc(rows * sizeof(double), "first-layer bound cache", err);
    w->fb_norm = nn_malloc(3 * rows * sizeof(double), "first-layer bound cache", err);
    if (!w->fb_A || !w->fb_c || !w->fb_cabs || !w->fb_norm) return NN_ENOMEM;
    for (size_t blo = 0; blo < rows; blo += w->rb) {
        size_t R = rows - blo < w->rb ? rows - blo : w->rb;
        for (size_t r = 0; r < R; r++) w->idx[r] = blo + r;
        blk b;
        int rc = propagate(st, w->first_nl, 0, R, w->idx, NULL, 0, NULL, 1, 0, &b, err);
        if (rc) return rc;
        memcpy(w->fb_A + blo * n, b.A, R * n * sizeof(double));
        memcpy(w->fb_c + blo, b.c, R * sizeof(double));
        memcpy(w->fb_cabs + blo, b.s, R * sizeof(double));
    }
    for (size_t r = 0; r < rows; r++)
        for (int p = 0; p < 3; p++) w->fb_norm[3 * r + p] = row_norm(w->fb_A + r * n, n, (norm_type)p);
    /* The composite replaces the block's own adjoints in backward passes when it
     * costs no more flops (an MLP's normalize + dense: it saves the normalize pass). */
    double own = 0;
    for (int j = 0; j < w->first_nl; j++) own += adjoint_flops(&st->model->layers[j], 1);
    w->fb_gemm = w->first_nl < st->model->n_layers && 2.0 * (double)rows * (double)n <= own;
    w->fb_state = 1;
    return NN_OK;
}

int bound_first_block_rows(bound_state *st, size_t lo, size_t hi, double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    if (w->fb_state == 0) {
        int rc = fb_build(st, err);
        if (rc) return rc;
    }
    if (w->fb_state == 1) {
        for (size_t r = lo; r < hi; r++)
            region_bound(st, w->fb_A + r * w->n_in, w->fb_c[r], w->fb_cabs[r], w->fb_norm[3 * r + st->region.norm],
                         &lower[r - lo], &upper[r - lo]);
        return NN_OK;
    }
    /* Not cached: aligned blocks so that a row's numbers never depend on the range. */
    for (size_t blo = lo - lo % w->rb; blo < hi; blo += w->rb) {
        size_t bhi = blo + w->rb < w->fb_rows ? blo + w->rb : w->fb_rows;
        for (size_t r = blo; r < bhi; r++) w->idx[r - blo] = r;
        int rc = bound_backward_block(st, w->first_nl, 0, bhi - blo, w->idx, NULL, 0, NULL, NULL, NULL, w->blk_l,
                                      w->blk_u, err);
        if (rc) return rc;
        for (size_t r = blo > lo ? blo : lo; r < bhi && r < hi; r++) {
            lower[r - lo] = w->blk_l[r - blo];
            upper[r - lo] = w->blk_u[r - blo];
        }
    }
    return NN_OK;
}
