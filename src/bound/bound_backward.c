/* The backward (CROWN) kernel: bounds on rows of a linear specification, by
 * walking coefficient rows from a layer back to the input (spec bounds.md,
 * "Backward pass"; MaxPool planes as in tilin.md "Use in the backward pass").
 *
 * A block of R rows lives in two R x width matrices, A_L for the lower bound and
 * A_U for the upper bound, plus constants c_L, c_U. Affine layers: c += A.b_full
 * (one pass over A) and A <- A.M through layer_affine_adjoint (dense: one GEMM
 * over the whole block; conv: transposed convolution). Activation layers: per
 * coefficient sign the upper or the lower line. MaxPool: per sign the upper or
 * the lower plane, scattered onto the window inputs (overlapping windows add).
 * Until the first nonlinear layer both sides are the same matrix, so only one is
 * carried; a side nobody asked for is never computed.
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

#include <math.h>
#include <string.h>
#include <time.h>

/* The first block's matrix is cached when it takes at most this many bytes. */
#define FB_CACHE_BYTES ((size_t)64 << 20)

static double adjoint_flops(const nn_layer *L, size_t R)
{
    if (L->type == LAYER_DENSE) return 2.0 * (double)R * (double)shape_size(L->out) * (double)shape_size(L->in);
    if (L->type == LAYER_CONV2D)
        return 2.0 * (double)R * (double)shape_size(L->out) * (double)L->in.c * L->kernel[0] * L->kernel[1];
    return 0.0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* B = A.M for affine layer L (R rows), counted in st->flops and timed. */
static int adjoint(bound_state *st, const nn_layer *L, const double *A, size_t R, size_t lda, double *B, size_t ldb,
                   nn_error *err)
{
    double t0 = now_seconds();
    int rc = layer_affine_adjoint_ws(L, A, R, lda, B, ldb, &((bound_work *)st->work)->ws, err);
    st->gemm_seconds += now_seconds() - t0;
    st->flops += adjoint_flops(L, R);
    return rc;
}

/* c += A.b, s += |A||b| termwise; A is R x n with leading dimension n. */
static void add_offset(const double *A, size_t R, size_t n, const double *b, double *c, double *s)
{
    for (size_t r = 0; r < R; r++) {
        const double *a = A + r * n;
        double acc = 0, mag = 0;
        for (size_t k = 0; k < n; k++) {
            double t = a[k] * b[k];
            acc += t;
            mag += fabs(t);
        }
        c[r] += acc;
        s[r] += mag;
    }
}

/* Through activation lines in place: upper side takes the upper line where the
 * coefficient is >= 0, the lower side the lower line (and the reverse below 0). */
static void step_activation(const relax_lines *ln, int upper, size_t R, size_t n, double *A, double *c, double *s)
{
    const double *ps = upper ? ln->upper_slope : ln->lower_slope;
    const double *pt = upper ? ln->upper_icpt : ln->lower_icpt;
    const double *ns = upper ? ln->lower_slope : ln->upper_slope;
    const double *nt = upper ? ln->lower_icpt : ln->upper_icpt;
    for (size_t r = 0; r < R; r++) {
        double *a = A + r * n;
        double acc = 0, mag = 0;
        for (size_t i = 0; i < n; i++) {
            double v = a[i], t;
            if (v >= 0) {
                t = v * pt[i];
                a[i] = v * ps[i];
            } else {
                t = v * nt[i];
                a[i] = v * ns[i];
            }
            acc += t;
            mag += fabs(t);
        }
        c[r] += acc;
        s[r] += mag;
    }
}

/* Through MaxPool planes: A (R x n_out) -> An (R x n_in). */
static void step_maxpool(const relax_pool *p, int upper, size_t R, size_t n_out, size_t n_in, const double *A,
                         double *An, double *c, double *s)
{
    int W = p->window;
    for (size_t r = 0; r < R; r++) {
        const double *a = A + r * n_out;
        double *x = An + r * n_in;
        memset(x, 0, n_in * sizeof *x);
        double acc = 0, mag = 0;
        for (size_t o = 0; o < n_out; o++) {
            double v = a[o];
            if (v == 0) continue;
            int use_upper = (v >= 0) == (upper != 0);
            const double *coef = (use_upper ? p->upper_coef : p->lower_coef) + o * (size_t)W;
            double icpt = use_upper ? p->upper_icpt[o] : p->lower_icpt[o];
            const int *in = p->inputs + o * (size_t)W;
            for (int k = 0; k < W; k++)
                if (in[k] >= 0) x[in[k]] += v * coef[k];
            double t = v * icpt;
            acc += t;
            mag += fabs(t);
        }
        c[r] += acc;
        s[r] += mag;
    }
}

/* Propagate a block backward. On return *outL / *outU (NULL for a side not wanted)
 * point at R x *width matrices (leading dimension *width) on the input of layer
 * stop; constants and magnitudes are in w->cL/sL and w->cU/sU (both sides alias
 * the lower side's arrays when they never split: *outU == *outL). */
static int propagate(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C, size_t ldc,
                     const double *d, int want_l, int want_u, double **outL, double **outU, double **cU_out,
                     double **sU_out, size_t *width_out, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int curL = 0, curU = 0;
    double *cL = w->cL, *sL = w->sL, *cU = w->cU, *sU = w->sU;
    size_t width;
    int j;
    /* The first side carried while both are equal is the lower one. */
    double *A = w->AL[0];
    if (C) {
        width = model_output_size(m);
        for (size_t r = 0; r < R; r++) {
            memcpy(A + r * width, C + r * ldc, width * sizeof *A);
            cL[r] = d ? d[r] : 0.0;
            sL[r] = d ? fabs(d[r]) : 0.0;
        }
        j = top - 1;
    } else if (top >= 1 && m->layers[top - 1].type == LAYER_DENSE) {
        /* Rows of W directly: no identity GEMM. */
        const nn_layer *L = &m->layers[top - 1];
        width = shape_size(L->in);
        for (size_t r = 0; r < R; r++) {
            memcpy(A + r * width, L->weight + idx[r] * width, width * sizeof *A);
            cL[r] = L->bias[idx[r]];
            sL[r] = fabs(L->bias[idx[r]]);
        }
        j = top - 2;
    } else {
        width = top >= 1 ? shape_size(m->layers[top - 1].out) : w->n_in;
        memset(A, 0, R * width * sizeof *A);
        for (size_t r = 0; r < R; r++) {
            A[r * width + idx[r]] = 1.0;
            cL[r] = sL[r] = 0.0;
        }
        j = top - 1;
    }
    int same = 1;
    for (; j >= stop; j--) {
        const nn_layer *L = &m->layers[j];
        size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
        if (layer_is_affine(L->type)) {
            for (int side = 0; side < 2; side++) {
                if (side == 1 && (same || !want_u)) continue;
                if (side == 0 && !same && !want_l) continue;
                double **buf = side ? w->AU : w->AL;
                int *cur = side ? &curU : &curL;
                double *c = side ? cU : cL, *s = side ? sU : sL;
                if (w->bfull[j]) add_offset(buf[*cur], R, n_out, w->bfull[j], c, s);
                int rc = adjoint(st, L, buf[*cur], R, n_out, buf[1 - *cur], n_in, err);
                if (rc) return nn_error_prefix(err, "backward pass, layer %d: ", j);
                *cur = 1 - *cur;
            }
        } else {
            if (same) {
                if (want_u) {
                    memcpy(w->AU[curU], w->AL[curL], R * n_out * sizeof(double));
                    memcpy(cU, cL, R * sizeof *cU);
                    memcpy(sU, sL, R * sizeof *sU);
                }
                same = 0;
            }
            for (int side = 0; side < 2; side++) {
                if (side == 0 ? !want_l : !want_u) continue;
                double **buf = side ? w->AU : w->AL;
                int *cur = side ? &curU : &curL;
                double *c = side ? cU : cL, *s = side ? sU : sL;
                if (layer_is_activation(L->type)) {
                    step_activation(&st->lines[j], side, R, n_out, buf[*cur], c, s);
                } else if (L->type == LAYER_MAXPOOL2D) {
                    step_maxpool(&st->pools[j], side, R, n_out, n_in, buf[*cur], buf[1 - *cur], c, s);
                    *cur = 1 - *cur;
                } else {
                    return nn_fail(err, NN_EUNSUPPORTED, "backward pass: layer %d (%s) is not supported", j,
                                   layer_type_name(L->type));
                }
            }
        }
        width = n_in;
    }
    *width_out = width;
    if (same) {
        *outL = w->AL[curL];
        *outU = want_u ? w->AL[curL] : NULL;
        *cU_out = cL;
        *sU_out = sL;
        if (!want_l) *outL = NULL;
    } else {
        *outL = want_l ? w->AL[curL] : NULL;
        *outU = want_u ? w->AU[curU] : NULL;
        *cU_out = cU;
        *sU_out = sU;
    }
    return NN_OK;
}

/* One row on the region's ball: a.x0 -/+ eps||a||_q + c, widened. nrm may be a
 * cached norm (< 0: compute it here). */
static void ball_bound(const bound_state *st, const double *a, size_t n, double c, double s, double nrm,
                       double *lo, double *hi)
{
    const double *x0 = ((const bound_work *)st->work)->x0;
    double dot = 0, mag = 0, n1 = 0, n2 = 0, ninf = 0;
    int need = nrm < 0;
    for (size_t j = 0; j < n; j++) {
        double t = a[j] * x0[j];
        dot += t;
        mag += fabs(t);
        if (need) {
            double v = fabs(a[j]);
            n1 += v;
            n2 += v * v;
            if (v > ninf) ninf = v;
        }
    }
    if (need) {
        switch (st->region.norm) {
        case NORM_INF: nrm = n1; break;
        case NORM_1: nrm = ninf; break;
        default: nrm = sqrt(n2); break;
        }
    }
    double e = st->region.eps * nrm;
    double allow = BOUND_REL_ALLOW * (mag + e + s);
    if (lo) *lo = dot - e + c - allow;
    if (hi) *hi = dot + e + c + allow;
}

/* One row on a box [bl, bh]. */
static void box_bound(const double *a, size_t n, const double *bl, const double *bh, double c, double s,
                      double *lo, double *hi)
{
    double vl = 0, vh = 0, mag = 0;
    for (size_t j = 0; j < n; j++) {
        double x = a[j];
        double tl = x >= 0 ? x * bl[j] : x * bh[j];
        double th = x >= 0 ? x * bh[j] : x * bl[j];
        vl += tl;
        vh += th;
        mag += fabs(tl) > fabs(th) ? fabs(tl) : fabs(th);
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
        box_bound(a, n, w->box_lo, w->box_hi, c, s, lo, hi);
    } else {
        double bl, bh, xl, xh;
        ball_bound(st, a, n, c, s, nrm, &bl, &bh);
        box_bound(a, n, w->box_lo, w->box_hi, c, s, &xl, &xh);
        if (lo) *lo = bl > xl ? bl : xl;
        if (hi) *hi = bh < xh ? bh : xh;
    }
}

int bound_backward_block(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                         size_t ldc, const double *d, const double *box_lo, const double *box_hi, double *lower,
                         double *upper, nn_error *err)
{
    bound_work *w = st->work;
    double *AL, *AU, *cU, *sU;
    size_t width;
    int rc = propagate(st, top, stop, R, idx, C, ldc, d, lower != NULL, upper != NULL, &AL, &AU, &cU, &sU, &width,
                       err);
    if (rc) return rc;
    st->backward_rows += R;
    for (size_t r = 0; r < R; r++) {
        if (stop > 0) {
            if (AL) box_bound(AL + r * width, width, box_lo, box_hi, w->cL[r], w->sL[r], &lower[r], NULL);
            if (AU) box_bound(AU + r * width, width, box_lo, box_hi, cU[r], sU[r], NULL, &upper[r]);
        } else {
            if (AL) region_bound(st, AL + r * width, w->cL[r], w->sL[r], -1.0, &lower[r], NULL);
            if (AU) region_bound(st, AU + r * width, cU[r], sU[r], -1.0, NULL, &upper[r]);
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
    for (int q = 0; q < 3; q++) w->fb_norm[q] = nn_malloc(rows * sizeof(double), "first-layer bound cache", err);
    if (!w->fb_A || !w->fb_c || !w->fb_cabs || !w->fb_norm[0] || !w->fb_norm[1] || !w->fb_norm[2])
        return NN_ENOMEM;
    for (size_t blo = 0; blo < rows; blo += w->rb) {
        size_t R = rows - blo < w->rb ? rows - blo : w->rb;
        for (size_t r = 0; r < R; r++) w->idx[r] = blo + r;
        double *AL, *AU, *cU, *sU;
        size_t width;
        int rc = propagate(st, w->first_nl, 0, R, w->idx, NULL, 0, NULL, 1, 0, &AL, &AU, &cU, &sU, &width, err);
        if (rc) return rc;
        memcpy(w->fb_A + blo * n, AL, R * n * sizeof(double));
        memcpy(w->fb_c + blo, w->cL, R * sizeof(double));
        memcpy(w->fb_cabs + blo, w->sL, R * sizeof(double));
    }
    for (size_t r = 0; r < rows; r++) {
        const double *a = w->fb_A + r * n;
        double n1 = 0, n2 = 0, ninf = 0;
        for (size_t j = 0; j < n; j++) {
            double v = fabs(a[j]);
            n1 += v;
            n2 += v * v;
            if (v > ninf) ninf = v;
        }
        /* Indexed by the region's norm p, holding the dual norm q. */
        w->fb_norm[NORM_INF][r] = n1;
        w->fb_norm[NORM_1][r] = ninf;
        w->fb_norm[NORM_2][r] = sqrt(n2);
    }
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
            region_bound(st, w->fb_A + r * w->n_in, w->fb_c[r], w->fb_cabs[r], w->fb_norm[st->region.norm][r],
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
