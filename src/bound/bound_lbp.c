/* Forward linear bound propagation, LBP (doc/bounds.md "Variants"; paper
 * ibp-crown-lbp-paramramp, "relaxed CROWN").
 *
 * Every layer input z (width n) gets linear bounds in the model input x,
 *   L^T x + l <= z <= U^T x + u   for every x in the region,
 * starting from the identity at the input. They are stored as centre and radius
 * MID = (U + L)/2, RAD = (U - L)/2 (no sign is assumed of either), input-major:
 * row j < n_in of MID holds the coefficients of x_j for all n neurons (a vector of
 * the layer's shape, leading dimension n), row n_in the constants. Memory is
 * O(n * n_in) per layer.
 *
 * Affine layer z' = W z + b: U' = W+ U + W- L + b = W MID + |W| RAD + b, so
 *   MID' = W MID (+ b on the constant row),   RAD' = |W| RAD.
 * Each row passes through the layer's own forward map without its offset (the
 * "lin" copies made here) or the |W| copy IBP uses: dense is one GEMM over the
 * n_in + 1 rows, conv a batched im2col GEMM, avgpool/normalize/flatten their
 * forward maps; never a dense conv matrix. Before the first nonlinear layer RAD is
 * zero and its GEMM is skipped; the first block's MID does not depend on the
 * region and is cached (at most LBP_CACHE_BYTES).
 *
 * Activation with lines sL z + tL <= a <= sU z + tU on [l, u]. For either sign of
 * a slope, U_a = sU MID + |sU| RAD + tU and L_a = sL MID - |sL| RAD + tL (for
 * sU >= 0 that is sU U, for sU < 0 it is sU L, and likewise below), so with
 * p = (sU + sL)/2, q = (|sU| - |sL|)/2, p' = (sU - sL)/2, q' = (|sU| + |sL|)/2:
 *   MID_a = p MID + q RAD,   RAD_a = p' MID + q' RAD   (+ (tU +- tL)/2 constants).
 * Every line in src/relax has slope >= 0 (ReLU-like lines in [alpha, 1], S-shaped
 * derivatives and chords of increasing functions), but nothing here relies on it.
 * MaxPool planes sum_k a_k z_k + b_U >= y >= sum_k c_k z_k + b_L: the same map
 * per window slot (a, c in place of sU, sL), summed over the window's inputs, so
 * the coefficients of Ti-Lin and the others may have any sign too.
 * The relaxations are valid because z lies in [l, u] (its committed bounds).
 *
 * Concretization: neuron k's columns U_k = MID_k + RAD_k and L_k = MID_k - RAD_k
 * are gathered in blocks and bounded by bound_concretize_region, so the ball,
 * box and clipping rules and the rounding allowance are those of the backward
 * kernel. A specification C f(x) + d: its upper linear bound is C MID + |C| RAD,
 * the lower C MID - |C| RAD (C split by sign), two GEMMs per block of rows.
 *
 * Rounding. Each neuron also carries m >= |U||x| + |u| and >= |L||x| + |l| for
 * every x of the region's bounding box, propagated with absolute values:
 * m' = |W| m + |b| (the last row of RAD, riding along its |W| product),
 * max(|sU|, |sL|) m + max(|tU|, |tL|) through lines, planes alike. Each rounding
 * error made in forming U, L, u, l is a few units in the last place of a sum of
 * terms bounded by m (|MID| + |RAD| = max(|U|, |L|)), and errors compound over
 * layers only through |W| m. Passed as the `s` of bound_concretize_region, m
 * gets them covered by BOUND_REL_ALLOW up to n * depth ~ 1e6.
 *
 * Residual graphs: the bounds follow the edges. An output that a later layer reads
 * out of order (a skip connection's source) is copied when it is made and read back
 * there; an add sums its inputs' MID, RAD and m (U_a + U_b bounds a + b above). */
#include "bound_lbp.h"
#include "bound_concretize.h"
#include "bound_cost.h"
#include "nn_clock.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The first block's MID is cached when it takes at most this many bytes. */
#define LBP_CACHE_BYTES ((size_t)64 << 20)
/* Columns gathered per concretization block. */
#define GATHER 16

struct bound_lbp {
    int at;             /* MID/RAD bound the input of layer `at` (n_layers: output); -1 none */
    int cur;            /* which of the two buffers holds them */
    int rad_zero;       /* RAD rows 0..n_in are all zero (not stored) */
    size_t width;       /* neurons of layer `at`'s input: the leading dimension */
    double *mid[2];     /* (n_in + 1) x width, room for maxw */
    double *rad[2];     /* (n_in + 2) x width, last row m */
    nn_layer *lin;      /* [i] affine layer i without its offset (weights shared) */
    int first_state;    /* cache of MID at the first nonlinear layer: 0 none yet, 1 cached, -1 too large */
    double *first;      /* (n_in + 1) x first_w */
    size_t first_w;
    double *coef;       /* 4 x coef_n: the per-neuron (or per-slot) 2x2 maps */
    size_t coef_n;
    double *gU, *gL;    /* GATHER x n_in gathered columns */
    double *sP, *sQ;    /* spec: rb x (n_in + 2) */
    double *sC;         /* spec: rb x output size, |C| */
    /* residual graphs: copies of the outputs a later layer reads out of order */
    int *keep;          /* [k + 1]: layer k's output is read by a layer other than k + 1 */
    double **smid, **srad; /* [k + 1] its MID and RAD (leading dimension its width), or NULL */
    int *szero;         /* [k + 1] its rad_zero */
    layer_workspace ws;
};

static void lin_free(nn_layer *A)
{
    if (A->type == LAYER_DENSE || A->type == LAYER_CONV2D) free(A->bias);
    else if (A->type == LAYER_NORMALIZE) free(A->mean);
}

/* Copy of affine layer L without its offset; shares L's weights and std. */
static int lin_make(const nn_layer *L, nn_layer *A, nn_error *err)
{
    *A = *L;
    A->r = NULL;
    if (L->type == LAYER_DENSE || L->type == LAYER_CONV2D) {
        A->bias = nn_calloc((size_t)L->out_channels, sizeof(double), "LBP linear layer", err);
        if (!A->bias) return NN_ENOMEM;
    } else if (L->type == LAYER_NORMALIZE) {
        A->mean = nn_calloc((size_t)L->in.c, sizeof(double), "LBP linear layer", err);
        if (!A->mean) return NN_ENOMEM;
    }
    return NN_OK;
}

void bound_lbp_free(bound_state *st)
{
    if (!st || !st->work) return;
    bound_work *w = st->work;
    struct bound_lbp *p = w->lbp;
    if (!p) return;
    for (int k = 0; k < 2; k++) {
        free(p->mid[k]);
        free(p->rad[k]);
    }
    if (p->lin)
        for (int i = 0; i < st->model->n_layers; i++) lin_free(&p->lin[i]);
    free(p->lin);
    free(p->first);
    free(p->coef);
    free(p->gU);
    free(p->gL);
    free(p->sP);
    free(p->sQ);
    free(p->sC);
    if (p->smid)
        for (int k = 0; k <= st->model->n_layers; k++) free(p->smid[k]);
    if (p->srad)
        for (int k = 0; k <= st->model->n_layers; k++) free(p->srad[k]);
    free(p->smid);
    free(p->srad);
    free(p->szero);
    free(p->keep);
    layer_workspace_free(&p->ws);
    free(p);
    w->lbp = NULL;
}

void bound_lbp_invalidate(bound_state *st, int layer)
{
    struct bound_lbp *p = st && st->work ? ((bound_work *)st->work)->lbp : NULL;
    if (p && (layer < 0 || p->at > layer)) p->at = -1;
}

/* What every large LBP buffer is, for an allocation failure's message. */
#define LBP_WHAT "LBP linear bounds (O(width x input size) per layer)"

static struct bound_lbp *lbp_get(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    if (w->lbp) return w->lbp;
    const nn_model *m = st->model;
    size_t n_in = w->n_in, ld = w->maxw, no = model_output_size(m);
    struct bound_lbp *p = nn_calloc(1, sizeof *p, "LBP workspace", err);
    if (!p) return NULL;
    w->lbp = p;
    p->at = -1;
    layer_workspace_init(&p->ws);
    p->coef_n = ld;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].type == LAYER_MAXPOOL2D) {
            const nn_layer *L = &m->layers[i];
            size_t slots = shape_size(L->out) * (size_t)L->kernel[0] * (size_t)L->kernel[1];
            if (slots > p->coef_n) p->coef_n = slots;
        }
    for (int k = 0; k < 2; k++) {
        BOUND_ALLOC(p->mid[k], (n_in + 1) * ld, LBP_WHAT);
        BOUND_ALLOC(p->rad[k], (n_in + 2) * ld, LBP_WHAT);
    }
    BOUND_ALLOC(p->lin, m->n_layers, LBP_WHAT);
    for (int i = 0; i < m->n_layers; i++)
        if (layer_is_affine(m->layers[i].type) && lin_make(&m->layers[i], &p->lin[i], err)) goto fail;
    BOUND_ALLOC(p->coef, 4 * p->coef_n, LBP_WHAT);
    BOUND_ALLOC(p->gU, GATHER * n_in, LBP_WHAT);
    BOUND_ALLOC(p->gL, GATHER * n_in, LBP_WHAT);
    BOUND_ALLOC(p->sP, w->rb * (n_in + 2), LBP_WHAT);
    BOUND_ALLOC(p->sQ, w->rb * (n_in + 2), LBP_WHAT);
    BOUND_ALLOC(p->sC, w->rb * no, LBP_WHAT);
    if (w->dag) {
        int n = m->n_layers;
        p->first_state = -1; /* the first block may hold adds: no shortcut there */
        BOUND_ALLOC(p->keep, n + 1, LBP_WHAT);
        BOUND_ALLOC(p->smid, n + 1, LBP_WHAT);
        BOUND_ALLOC(p->srad, n + 1, LBP_WHAT);
        BOUND_ALLOC(p->szero, n + 1, LBP_WHAT);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < (m->layers[i].type == LAYER_ADD ? 2 : 1); k++) {
                int a = bound_in(m, i, k);
                if (a != i - 1 || k == 1) p->keep[a + 1] = 1;
            }
    }
    return p;
fail:
    bound_lbp_free(st);
    return NULL;
}

static size_t layer_in_width(const bound_state *st, int i)
{
    const nn_model *m = st->model;
    return i < m->n_layers ? shape_size(m->layers[i].in) : model_output_size(m);
}

/* Through affine layer j; MID only when with_mid (else it is filled from the cache). */
static int lbp_affine(bound_state *st, struct bound_lbp *p, int j, int with_mid, nn_error *err)
{
    bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[j];
    size_t n_in = w->n_in, ld = p->width, no = shape_size(L->out);
    double *M = p->mid[p->cur], *Mn = p->mid[1 - p->cur];
    double *R = p->rad[p->cur], *Rn = p->rad[1 - p->cur];
    const double *b = w->bfull[j];
    int rc = NN_OK;
    double t0 = bound_gemm_clock(st);
    if (with_mid) {
        rc = layer_affine_forward_ws(&p->lin[j], M, n_in + 1, ld, Mn, no, &p->ws, err);
        if (rc) return nn_error_prefix(err, "LBP, layer %d: ", j);
        if (b)
            for (size_t k = 0; k < no; k++) Mn[n_in * no + k] += b[k];
        st->flops += bound_affine_flops(L, n_in + 1);
    }
    /* RAD rows, or only the magnitude row while RAD is zero. */
    size_t r0 = p->rad_zero ? n_in + 1 : 0, nr = n_in + 2 - r0;
    rc = layer_affine_forward_ws(&w->abs_layers[j], R + r0 * ld, nr, ld, Rn + r0 * no, no, &p->ws, err);
    if (rc) return nn_error_prefix(err, "LBP, layer %d: ", j);
    st->flops += bound_affine_flops(L, nr);
    bound_gemm_clock_add(st, t0);
    if (b)
        for (size_t k = 0; k < no; k++) Rn[(n_in + 1) * no + k] += fabs(b[k]);
    p->cur = 1 - p->cur;
    p->width = no;
    return NN_OK;
}

/* Through activation layer j's lines, in place. */
static void lbp_activation(bound_state *st, struct bound_lbp *p, int j)
{
    bound_work *w = st->work;
    const relax_lines *ln = &st->lines[j];
    size_t n = ln->n, n_in = w->n_in, ld = p->width;
    double *pm = p->coef, *qm = pm + p->coef_n, *pr = qm + p->coef_n, *qr = pr + p->coef_n;
    int exact = p->rad_zero; /* RAD stays zero when both lines agree everywhere */
    for (size_t k = 0; k < n; k++) {
        double sU = ln->upper_slope[k], sL = ln->lower_slope[k], aU = fabs(sU), aL = fabs(sL);
        pm[k] = 0.5 * sU + 0.5 * sL;
        qm[k] = 0.5 * aU - 0.5 * aL;
        pr[k] = 0.5 * sU - 0.5 * sL;
        qr[k] = 0.5 * aU + 0.5 * aL;
        if (sU != sL || ln->upper_icpt[k] != ln->lower_icpt[k]) exact = 0;
    }
    double *M = p->mid[p->cur], *R = p->rad[p->cur];
    for (size_t r = 0; r < n_in; r++) {
        double *mr = M + r * ld, *rr = R + r * ld;
        if (exact) {
            for (size_t k = 0; k < n; k++) mr[k] *= pm[k];
        } else if (p->rad_zero) {
            for (size_t k = 0; k < n; k++) {
                double a = mr[k];
                mr[k] = pm[k] * a;
                rr[k] = pr[k] * a;
            }
        } else {
            for (size_t k = 0; k < n; k++) {
                double a = mr[k], b = rr[k];
                mr[k] = pm[k] * a + qm[k] * b;
                rr[k] = pr[k] * a + qr[k] * b;
            }
        }
    }
    double *mc = M + n_in * ld, *rc = R + n_in * ld, *mag = R + (n_in + 1) * ld;
    for (size_t k = 0; k < n; k++) {
        double sU = ln->upper_slope[k], sL = ln->lower_slope[k], tU = ln->upper_icpt[k], tL = ln->lower_icpt[k];
        double a = mc[k], b = p->rad_zero ? 0.0 : rc[k];
        double uc = sU * a + fabs(sU) * b + tU, lc = sL * a - fabs(sL) * b + tL;
        mc[k] = 0.5 * uc + 0.5 * lc;
        rc[k] = 0.5 * uc - 0.5 * lc;
        mag[k] = bound_abs_max(sU, sL) * mag[k] + bound_abs_max(tU, tL);
    }
    p->rad_zero = exact;
}

/* Through maxpool layer j's planes: width n_in_layer -> n_out. */
static void lbp_maxpool(bound_state *st, struct bound_lbp *p, int j)
{
    bound_work *w = st->work;
    const relax_pool *P = &st->pools[j];
    size_t no = P->n_out, W = (size_t)P->window, n_in = w->n_in, ld = p->width;
    double *cmm = p->coef, *cmr = cmm + p->coef_n, *crm = cmr + p->coef_n, *crr = crm + p->coef_n;
    int exact = p->rad_zero;
    for (size_t s = 0; s < no * W; s++) {
        double a = P->upper_coef[s], c = P->lower_coef[s];
        cmm[s] = 0.5 * a + 0.5 * c;
        cmr[s] = 0.5 * fabs(a) - 0.5 * fabs(c);
        crm[s] = 0.5 * a - 0.5 * c;
        crr[s] = 0.5 * fabs(a) + 0.5 * fabs(c);
        if (a != c) exact = 0;
    }
    for (size_t o = 0; o < no; o++)
        if (P->upper_icpt[o] != P->lower_icpt[o]) exact = 0;
    const double *M = p->mid[p->cur], *R = p->rad[p->cur];
    double *Mn = p->mid[1 - p->cur], *Rn = p->rad[1 - p->cur];
    for (size_t r = 0; r <= n_in; r++) { /* coefficient rows and the constant row */
        const double *mr = M + r * ld, *rr = R + r * ld;
        double *mo = Mn + r * no, *ro = Rn + r * no;
        for (size_t o = 0; o < no; o++) {
            const int *in = P->inputs + o * W;
            double sm = 0, sr = 0;
            for (size_t k = 0; k < W; k++) {
                if (in[k] < 0) continue;
                size_t s = o * W + k;
                double a = mr[in[k]], b = p->rad_zero ? 0.0 : rr[in[k]];
                sm += cmm[s] * a + cmr[s] * b;
                sr += crm[s] * a + crr[s] * b;
            }
            if (r == n_in) {
                sm += 0.5 * P->upper_icpt[o] + 0.5 * P->lower_icpt[o];
                sr += 0.5 * P->upper_icpt[o] - 0.5 * P->lower_icpt[o];
            }
            mo[o] = sm;
            if (!exact || r == n_in) ro[o] = sr;
        }
    }
    const double *mag = R + (n_in + 1) * ld;
    double *mago = Rn + (n_in + 1) * no;
    for (size_t o = 0; o < no; o++) {
        const int *in = P->inputs + o * W;
        double s = bound_abs_max(P->upper_icpt[o], P->lower_icpt[o]);
        for (size_t k = 0; k < W; k++)
            if (in[k] >= 0) s += bound_abs_max(P->upper_coef[o * W + k], P->lower_coef[o * W + k]) * mag[in[k]];
        mago[o] = s;
    }
    p->cur = 1 - p->cur;
    p->width = no;
    p->rad_zero = exact;
}

/* Identity at the input (or the cached first block), magnitudes of the region's box. */
static int lbp_start(bound_state *st, struct bound_lbp *p, nn_error *err)
{
    bound_work *w = st->work;
    size_t n_in = w->n_in;
    p->cur = 0;
    p->rad_zero = 1;
    p->width = n_in;
    double *mag = p->rad[0] + (n_in + 1) * n_in;
    for (size_t j = 0; j < n_in; j++) mag[j] = bound_abs_max(w->box_lo[j], w->box_hi[j]);
    if (p->first_state == 1) {
        for (int j = 0; j < w->first_nl; j++) {
            int rc = lbp_affine(st, p, j, 0, err);
            if (rc) return rc;
        }
        memcpy(p->mid[p->cur], p->first, (n_in + 1) * p->first_w * sizeof(double));
        p->at = w->first_nl;
        return NN_OK;
    }
    double *M = p->mid[0];
    memset(M, 0, (n_in + 1) * n_in * sizeof *M);
    for (size_t r = 0; r < n_in; r++) M[r * n_in + r] = 1.0;
    p->at = 0;
    return NN_OK;
}

/* Residual graphs: the linear bounds of layer k's output, saved (save) or put
 * back into the current buffer (load). */
static int lbp_save(bound_state *st, struct bound_lbp *p, int k, nn_error *err)
{
    size_t n_in = ((bound_work *)st->work)->n_in, wd = p->width;
    if (!p->smid[k + 1]) {
        p->smid[k + 1] = nn_malloc((n_in + 1) * wd * sizeof(double), LBP_WHAT, err);
        p->srad[k + 1] = nn_malloc((n_in + 2) * wd * sizeof(double), LBP_WHAT, err);
        if (!p->smid[k + 1] || !p->srad[k + 1]) return NN_ENOMEM;
    }
    memcpy(p->smid[k + 1], p->mid[p->cur], (n_in + 1) * wd * sizeof(double));
    memcpy(p->srad[k + 1], p->rad[p->cur], (n_in + 2) * wd * sizeof(double));
    p->szero[k + 1] = p->rad_zero;
    return NN_OK;
}

static size_t lbp_out_width(const bound_state *st, int k)
{
    return k < 0 ? ((bound_work *)st->work)->n_in : shape_size(st->model->layers[k].out);
}

/* The MID, RAD and rad_zero of layer k's output when layer j reads it (the current
 * buffer when k = j - 1, else the saved copy). */
static void lbp_source(bound_state *st, struct bound_lbp *p, int j, int k, const double **mid, const double **rad,
                       int *zero)
{
    if (k == j - 1) {
        *mid = p->mid[p->cur];
        *rad = p->rad[p->cur];
        *zero = p->rad_zero;
    } else {
        *mid = p->smid[k + 1];
        *rad = p->srad[k + 1];
        *zero = p->szero[k + 1];
    }
    (void)st;
}

/* Add layer j: U = U_a + U_b, L = L_a + L_b, so MID and RAD add, and so do the
 * magnitudes m (each sum's rounding is within the allowance they carry). */
static void lbp_add(bound_state *st, struct bound_lbp *p, int j)
{
    const nn_model *m = st->model;
    size_t n_in = ((bound_work *)st->work)->n_in, wd = shape_size(m->layers[j].out);
    const double *ma, *ra, *mb, *rb;
    int za, zb;
    lbp_source(st, p, j, bound_in(m, j, 0), &ma, &ra, &za);
    lbp_source(st, p, j, bound_in(m, j, 1), &mb, &rb, &zb);
    double *M = p->mid[1 - p->cur], *R = p->rad[1 - p->cur];
    for (size_t q = 0; q < (n_in + 1) * wd; q++) M[q] = ma[q] + mb[q];
    int zero = za && zb;
    for (size_t q = 0; !zero && q < (n_in + 1) * wd; q++) R[q] = (za ? 0.0 : ra[q]) + (zb ? 0.0 : rb[q]);
    for (size_t q = (n_in + 1) * wd; q < (n_in + 2) * wd; q++) R[q] = ra[q] + rb[q];
    p->cur = 1 - p->cur;
    p->width = wd;
    p->rad_zero = zero;
}

static int lbp_advance(bound_state *st, struct bound_lbp *p, int target, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int rc;
    if (p->at > target) p->at = -1;
    if (p->at < 0) {
        if ((rc = lbp_start(st, p, err))) return rc;
        if (w->dag && p->keep[0] && (rc = lbp_save(st, p, -1, err))) return rc;
    }
    while (p->at < target) {
        int j = p->at;
        const nn_layer *L = &m->layers[j];
        if (w->dag && L->type != LAYER_ADD && bound_in(m, j, 0) != j - 1) {
            /* a residual graph: this layer reads an earlier output */
            int a = bound_in(m, j, 0);
            size_t n_in = w->n_in, wd = lbp_out_width(st, a);
            memcpy(p->mid[p->cur], p->smid[a + 1], (n_in + 1) * wd * sizeof(double));
            memcpy(p->rad[p->cur], p->srad[a + 1], (n_in + 2) * wd * sizeof(double));
            p->rad_zero = p->szero[a + 1];
            p->width = wd;
        }
        if (L->type == LAYER_ADD) {
            lbp_add(st, p, j);
        } else if (layer_is_affine(L->type)) {
            if ((rc = lbp_affine(st, p, j, 1, err))) return rc;
        } else if (j >= st->layers_done) {
            return nn_fail(err, NN_EARG, "LBP: layer %d is not committed", j);
        } else if (L->type == LAYER_MAXPOOL2D) {
            lbp_maxpool(st, p, j);
        } else {
            lbp_activation(st, p, j);
        }
        p->at = j + 1;
        if (w->dag && p->keep[j + 1] && (rc = lbp_save(st, p, j, err))) return rc;
        if (p->at == w->first_nl && p->first_state == 0) {
            size_t fw = layer_in_width(st, p->at), n_in = w->n_in;
            if (p->at == 0 || fw > LBP_CACHE_BYTES / sizeof(double) / (n_in + 1)) {
                p->first_state = -1;
            } else {
                p->first = nn_malloc((n_in + 1) * fw * sizeof(double), "LBP first-block cache", err);
                if (!p->first) return NN_ENOMEM;
                memcpy(p->first, p->mid[p->cur], (n_in + 1) * fw * sizeof(double));
                p->first_w = fw;
                p->first_state = 1;
            }
        }
    }
    return NN_OK;
}

int bound_lbp_rows(bound_state *st, int layer, const size_t *idx, size_t lo, size_t n, double *lower,
                   double *upper, nn_error *err)
{
    struct bound_lbp *p = lbp_get(st, err);
    if (!p) return err ? err->code : NN_ENOMEM;
    int rc = lbp_advance(st, p, layer, err);
    if (rc) return rc;
    bound_work *w = st->work;
    size_t n_in = w->n_in, ld = p->width;
    const double *M = p->mid[p->cur], *R = p->rad[p->cur];
    int rad_zero = p->rad_zero;
    int a = layer < st->model->n_layers ? bound_in(st->model, layer, 0) : layer - 1;
    if (w->dag && a != layer - 1) { /* the layer reads an earlier output */
        lbp_source(st, p, layer, a, &M, &R, &rad_zero);
        ld = lbp_out_width(st, a);
    }
    const double *mc = M + n_in * ld, *rc_ = R + n_in * ld, *mag = R + (n_in + 1) * ld;
    size_t col[GATHER];
    for (size_t k0 = 0; k0 < n; k0 += GATHER) {
        size_t nb = n - k0 < GATHER ? n - k0 : GATHER;
        for (size_t k = 0; k < nb; k++) col[k] = idx ? idx[k0 + k] : lo + k0 + k;
        for (size_t j = 0; j < n_in; j++) {
            const double *mr = M + j * ld, *rr = R + j * ld;
            if (rad_zero) {
                for (size_t k = 0; k < nb; k++) p->gU[k * n_in + j] = mr[col[k]];
            } else {
                for (size_t k = 0; k < nb; k++) {
                    p->gU[k * n_in + j] = mr[col[k]] + rr[col[k]];
                    p->gL[k * n_in + j] = mr[col[k]] - rr[col[k]];
                }
            }
        }
        for (size_t k = 0; k < nb; k++) {
            size_t c = col[k], o = k0 + k;
            if (rad_zero) {
                bound_concretize_region(st, p->gU + k * n_in, mc[c], mag[c], -1.0, &lower[o], &upper[o]);
            } else {
                bound_concretize_region(st, p->gU + k * n_in, mc[c] + rc_[c], mag[c], -1.0, NULL, &upper[o]);
                bound_concretize_region(st, p->gL + k * n_in, mc[c] - rc_[c], mag[c], -1.0, &lower[o], NULL);
            }
        }
    }
    return NN_OK;
}

int bound_lbp_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                   double *upper, nn_error *err)
{
    struct bound_lbp *p = lbp_get(st, err);
    if (!p) return err ? err->code : NN_ENOMEM;
    const nn_model *m = st->model;
    int rc = lbp_advance(st, p, m->n_layers, err);
    if (rc) return rc;
    bound_work *w = st->work;
    size_t n_in = w->n_in, ld = p->width, no = model_output_size(m), K = n_in + 1, ls = n_in + 2;
    const double *M = p->mid[p->cur], *R = p->rad[p->cur], *mag = R + (n_in + 1) * ld;
    for (size_t r0 = 0; r0 < rows; r0 += w->rb) {
        size_t nr = rows - r0 < w->rb ? rows - r0 : w->rb;
        const double *Cb = C + r0 * ldc;
        /* P = C MID^T (coefficients and constant), Q = |C| RAD^T (and |C| m). */
        double t0 = bound_gemm_clock(st);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)K, (int)no, 1.0, Cb, (int)ldc, M,
                    (int)ld, 0.0, p->sP, (int)ls);
        st->flops += 2.0 * (double)nr * (double)K * (double)no;
        for (size_t r = 0; r < nr; r++)
            for (size_t o = 0; o < no; o++) p->sC[r * no + o] = fabs(Cb[r * ldc + o]);
        if (p->rad_zero) {
            for (size_t r = 0; r < nr; r++) {
                double s = 0;
                for (size_t o = 0; o < no; o++) s += p->sC[r * no + o] * mag[o];
                p->sQ[r * ls + K] = s;
            }
        } else {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)ls, (int)no, 1.0, p->sC, (int)no, R,
                        (int)ld, 0.0, p->sQ, (int)ls);
            st->flops += 2.0 * (double)nr * (double)ls * (double)no;
        }
        bound_gemm_clock_add(st, t0);
        for (size_t r = 0; r < nr; r++) {
            double *P = p->sP + r * ls, *Q = p->sQ + r * ls;
            double dr = d ? d[r0 + r] : 0.0, s = Q[K] + fabs(dr);
            double *lo = lower ? &lower[r0 + r] : NULL, *hi = upper ? &upper[r0 + r] : NULL;
            if (p->rad_zero) {
                bound_concretize_region(st, P, P[n_in] + dr, s, -1.0, lo, hi);
                continue;
            }
            for (size_t j = 0; j < K; j++) {
                double a = P[j], b = Q[j];
                P[j] = a - b;
                Q[j] = a + b;
            }
            if (hi) bound_concretize_region(st, Q, Q[n_in] + dr, s, -1.0, NULL, hi);
            if (lo) bound_concretize_region(st, P, P[n_in] + dr, s, -1.0, lo, NULL);
        }
    }
    return NN_OK;
}
