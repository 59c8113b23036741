/* CROWN-Quad: quadratic lower bounds of the last ReLU layer for specification rows
 * (doc/frown.md "CROWN-Quad", paper crown-general-activations.txt §3.3).
 *
 * Let L1 be the last nonlinear layer (a ReLU), z its input, and y the domain
 * variable: the input x (ball of the region) when L1 is the first nonlinear layer,
 * else the output a of the previous nonlinear layer P, in its post-activation box.
 * The affine layers between give z = M y + b (the "head"), those after L1 give the
 * row's coefficients w on relu(z) and a constant c0 (the "tail"). For the lower
 * bound of w . relu(z) + c0, neuron i contributes
 *   w_i >= 0: w_i q_i(z_i), q the quadratic lower bound of an unstable ReLU on [l, u]:
 *             0 if |l| >= |u|, z if u >= 2|l|, else z (z - l) / (u - l) (convex,
 *             q <= relu on [l, u] since z - l <= u - l for z <= u and z - l >= 0);
 *   w_i < 0:  w_i times the upper chord;    stable neurons: their exact lines.
 * F(y) = c0 + sum_i phi_i(z_i(y)) is convex, F <= the row on every reachable point,
 * so min over the domain of F is a lower bound. Upper bounds are lower bounds of
 * the negated row (the quadratic then sits on the other neurons).
 *
 * Solving and certifying. Projected gradient with Armijo backtracking (at most
 * quad_iters steps) approaches the minimizer y_k; its value F(y_k) alone is not a
 * bound. The bound reported is the first-order one, valid for any y_k because F is
 * convex on all of R^n: min_D F >= F(y_k) + min_{y in D} grad F(y_k) . (y - y_k).
 * Written out it is CROWN's bound with the lower line of every quadratic neuron
 * replaced by the tangent of q at z_k (slope q'(z_k), intercept -z_k^2/(u - l)),
 * which lies below q <= relu: a linear relaxation, computed and concretized like the
 * backward kernel (bound_rows.c: offsets with magnitudes, the rounding budget of the
 * coefficient rows, the first block's composite where the kernel uses it; the
 * engine's allowance at concretization). A tangent's own slope and intercept are
 * rounded too; |w_i| max(|l_i|, |u_i|) joins the magnitudes s, so the 1e-10
 * allowance covers that (a few ulps of it). The best certificate over the iterates
 * is kept and compared with the linear CROWN bound the caller computed; the better
 * one is reported. On a residual graph this needs the layers after P to be a
 * chain; where a skip connection enters them the rows keep CROWN's bounds. */
#include "bound_quad.h"
#include "bound_box.h"
#include "bound_concretize.h"
#include "bound_rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ARMIJO_SIGMA 1e-4
#define ARMIJO_MAX 40
#define QUAD_GAP_RTOL 1e-9

enum { Q_ZERO, Q_LIN, Q_QUAD };

typedef struct {
    const bound_state *st;
    int P, L1;             /* previous nonlinear layer (-1: the input), last one */
    size_t ny, nz;         /* sizes of y and z */
    const double *blo, *bhi; /* box of y (P >= 0) */
    /* row being solved */
    unsigned char *kind;   /* [nz] */
    double *ks, *kt;       /* Q_LIN: phi = ks z + kt; Q_QUAD: phi = ks z (z - kt), kt = l */
    double *mag;           /* |w_i| max(|l_i|, |u_i|): rounding of the lines (header) */
    double c0, s0, e0;     /* tail constant, its magnitude and rounding budget */
    /* scratch */
    double *y, *yn, *z, *gz, *gy, *t1, *t2, *sort;
    layer_workspace ws;
} quad_ctx;

int bound_quad_check_model(const nn_model *m, nn_error *err)
{
    int last = -1;
    for (int i = 0; i < m->n_layers; i++)
        if (layer_is_nonlinear(m->layers[i].type)) last = i;
    if (last < 0)
        return nn_fail(err, NN_EUNSUPPORTED, "crown-quad: %s has no ReLU layer (quadratic bounds are for ReLU networks)",
                       m->source ? m->source : "the model");
    if (m->layers[last].type != LAYER_RELU)
        return nn_fail(err, NN_EUNSUPPORTED,
                       "crown-quad: the last nonlinear layer of %s (layer %d) is %s; quadratic bounds need a ReLU there",
                       m->source ? m->source : "the model", last, layer_type_name(m->layers[last].type));
    return NN_OK;
}

/* z = head(y): the affine layers P+1 .. L1-1. */
static int head_forward(quad_ctx *q, const double *y, double *z, nn_error *err)
{
    const nn_model *m = q->st->model;
    const double *in = y;
    double *bufs[2] = {q->t1, q->t2};
    int k = 0;
    for (int j = q->P + 1; j < q->L1; j++) {
        const nn_layer *L = &m->layers[j];
        double *out = j == q->L1 - 1 ? z : bufs[k];
        int rc = layer_affine_forward_ws(L, in, 1, shape_size(L->in), out, shape_size(L->out), &q->ws, err);
        if (rc) return nn_error_prefix(err, "crown-quad, layer %d: ", j);
        in = out;
        k = 1 - k;
    }
    if (q->L1 == q->P + 1) memcpy(z, y, q->nz * sizeof *z);
    return NN_OK;
}

/* gy = M^T gz through the head; *c += gz . b with magnitudes in *s and the
 * rounding budget in *e (bound_rows.c). */
static int head_adjoint(quad_ctx *q, const double *gz, double *gy, double *c, double *s, double *e, nn_error *err)
{
    const nn_model *m = q->st->model;
    if (q->L1 == q->P + 1) {
        memcpy(gy, gz, q->nz * sizeof *gy);
        return NN_OK;
    }
    if (q->P < 0 && bound_rows_composite(q->st)) {
        bound_rows_first_block((bound_state *)q->st, 1, gz, gy, c, s);
        return NN_OK;
    }
    const double *a = gz;
    double *bufs[2] = {q->t1, q->t2};
    int k = 0;
    for (int j = q->L1 - 1; j > q->P; j--) {
        const nn_layer *L = &m->layers[j];
        size_t no = shape_size(L->out), ni = shape_size(L->in);
        bound_rows_offset(q->st, j, a, 1, no, c, s, e);
        double *out = j == q->P + 1 ? gy : bufs[k];
        int rc = layer_affine_adjoint_ws(L, a, 1, no, out, ni, &q->ws, err);
        if (rc) return nn_error_prefix(err, "crown-quad, layer %d: ", j);
        a = out;
        k = 1 - k;
    }
    return NN_OK;
}

/* F at z; gz (may be NULL) gets dF/dz. */
static double quad_value(const quad_ctx *q, const double *z, double *gz)
{
    double f = q->c0;
    for (size_t i = 0; i < q->nz; i++) {
        double v = 0, g = 0, zi = z[i];
        if (q->kind[i] == Q_LIN) {
            v = q->ks[i] * zi + q->kt[i];
            g = q->ks[i];
        } else if (q->kind[i] == Q_QUAD) {
            v = q->ks[i] * zi * (zi - q->kt[i]);
            g = q->ks[i] * (2.0 * zi - q->kt[i]);
        }
        f += v;
        if (gz) gz[i] = g;
    }
    return f;
}

/* Lower bound of a . y + c over the domain, widened by the engine's allowance. */
static double domain_lower(const quad_ctx *q, const double *a, double c, double s)
{
    double lb;
    if (q->P >= 0) bound_concretize_box(a, q->ny, q->blo, q->bhi, c, s, ((const bound_work *)q->st->work)->box_mode, &lb,
                                     NULL);
    else bound_concretize_region(q->st, a, c, s, -1.0, &lb, NULL);
    return lb;
}

/* The certified bound at the iterate whose dF/dz is gz and z-value z (see header):
 * tangent lines at z, then the head's offsets and the domain. gy gets M^T gz. */
static int certificate(quad_ctx *q, const double *z, const double *gz, double *gy, double *out, nn_error *err)
{
    const double *ew = ((const bound_work *)q->st->work)->ew[0][q->L1];
    double c = q->c0, s = q->s0, e = q->e0;
    for (size_t i = 0; i < q->nz; i++) {
        double t = 0;
        if (q->kind[i] == Q_LIN) t = q->kt[i];
        else if (q->kind[i] == Q_QUAD) t = -q->ks[i] * z[i] * z[i];
        c += t;
        s += fabs(t) + q->mag[i];
        e += fabs(gz[i]) * ew[i]; /* the coefficients on z, as the kernel's activation step */
    }
    int rc = head_adjoint(q, gz, gy, &c, &s, &e, err);
    if (rc) return rc;
    *out = domain_lower(q, gy, c, s) - e;
    return NN_OK;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Projection of y onto the l1 ball of radius eps around x0 (sort-based). */
static void project_l1(const double *x0, double eps, size_t n, double *y, double *sort)
{
    double tot = 0;
    for (size_t k = 0; k < n; k++) tot += fabs(y[k] - x0[k]);
    if (tot <= eps) return;
    for (size_t k = 0; k < n; k++) sort[k] = fabs(y[k] - x0[k]);
    qsort(sort, n, sizeof *sort, cmp_desc);
    double cum = 0, theta = 0;
    for (size_t k = 0; k < n; k++) {
        cum += sort[k];
        double t = (cum - eps) / (double)(k + 1);
        if (k + 1 == n || sort[k + 1] <= t) {
            theta = t;
            break;
        }
    }
    for (size_t k = 0; k < n; k++) {
        double v = y[k] - x0[k], a = fabs(v) - theta;
        y[k] = x0[k] + (a > 0 ? (v > 0 ? a : -a) : 0.0);
    }
}

/* Onto the domain; for a clipped l1/l2 ball alternately (approximate: the
 * certificate does not need the iterates to be feasible). */
static void project(quad_ctx *q, double *y)
{
    const bound_state *st = q->st;
    const bound_work *w = st->work;
    size_t n = q->ny;
    if (q->P >= 0 || st->region.norm == NORM_INF) {
        const double *lo = q->P >= 0 ? q->blo : w->box_lo, *hi = q->P >= 0 ? q->bhi : w->box_hi;
        for (size_t k = 0; k < n; k++) y[k] = y[k] < lo[k] ? lo[k] : (y[k] > hi[k] ? hi[k] : y[k]);
        return;
    }
    const double *x0 = w->x0;
    double eps = st->region.eps;
    for (int round = 0; round < (st->region.clip ? 5 : 1); round++) {
        if (st->region.norm == NORM_2) {
            double n2 = 0;
            for (size_t k = 0; k < n; k++) n2 += (y[k] - x0[k]) * (y[k] - x0[k]);
            if (n2 > eps * eps) {
                double f = eps / sqrt(n2);
                for (size_t k = 0; k < n; k++) y[k] = x0[k] + f * (y[k] - x0[k]);
            }
        } else {
            project_l1(x0, eps, n, y, q->sort);
        }
        if (st->region.clip) {
            const bound_region *R = &st->region;
            for (size_t k = 0; k < n; k++) {
                double lo = R->clip_lo_v ? R->clip_lo_v[k] : R->clip_lo, hi = R->clip_hi_v ? R->clip_hi_v[k] : R->clip_hi;
                y[k] = y[k] < lo ? lo : (y[k] > hi ? hi : y[k]);
            }
        }
    }
}

/* Projected gradient with Armijo steps; *best = the best certificate seen. Stops
 * once F at an iterate is at most `floor` (the linear bound): every certificate is
 * <= min F <= F(y_k), so the quadratic bound can no longer win. */
static int solve_row(quad_ctx *q, int iters, double floor, double *best, nn_error *err)
{
    const bound_state *st = q->st;
    const bound_work *w = st->work;
    size_t n = q->ny;
    if (q->P >= 0)
        for (size_t k = 0; k < n; k++) q->y[k] = 0.5 * q->blo[k] + 0.5 * q->bhi[k];
    else
        memcpy(q->y, w->x0, n * sizeof *q->y);
    int rc = head_forward(q, q->y, q->z, err);
    if (rc) return rc;
    double f = quad_value(q, q->z, q->gz), cert;
    if ((rc = certificate(q, q->z, q->gz, q->gy, &cert, err))) return rc;
    *best = cert;
    if (f <= floor) return NN_OK;
    double g2 = 0, rad2 = 0;
    for (size_t k = 0; k < n; k++) {
        g2 += q->gy[k] * q->gy[k];
        rad2 += q->P >= 0 ? 0.25 * (q->bhi[k] - q->blo[k]) * (q->bhi[k] - q->blo[k]) : 0.0;
    }
    if (q->P < 0) rad2 = st->region.norm == NORM_INF ? st->region.eps * st->region.eps * (double)n
                                                     : st->region.eps * st->region.eps;
    if (!(g2 > 0) || !(rad2 > 0)) return NN_OK;
    double alpha = sqrt(rad2 / g2);
    for (int it = 0; it < iters; it++) {
        int accepted = 0;
        double fn = f;
        for (int bt = 0; bt < ARMIJO_MAX; bt++) {
            for (size_t k = 0; k < n; k++) q->yn[k] = q->y[k] - alpha * q->gy[k];
            project(q, q->yn);
            double dec = 0;
            for (size_t k = 0; k < n; k++) dec += q->gy[k] * (q->yn[k] - q->y[k]);
            if ((rc = head_forward(q, q->yn, q->z, err))) return rc;
            fn = quad_value(q, q->z, NULL);
            if (fn <= f + ARMIJO_SIGMA * dec) {
                accepted = dec < 0;
                break;
            }
            alpha *= 0.5;
        }
        if (!accepted) break;
        memcpy(q->y, q->yn, n * sizeof *q->y);
        f = quad_value(q, q->z, q->gz);
        if ((rc = certificate(q, q->z, q->gz, q->gy, &cert, err))) return rc;
        if (cert > *best) *best = cert;
        if (f <= floor || f - *best <= QUAD_GAP_RTOL * (1.0 + fabs(f))) break;
        alpha *= 2.0;
    }
    return NN_OK;
}

/* The quadratic form of one signed row given its coefficients a on relu(z). */
static void setup_row(quad_ctx *q, const double *a)
{
    const bound_state *st = q->st;
    const double *l = st->pre_lower[q->L1], *u = st->pre_upper[q->L1];
    const relax_lines *ln = &st->lines[q->L1];
    for (size_t i = 0; i < q->nz; i++) {
        double wi = a[i];
        q->kind[i] = Q_ZERO;
        q->mag[i] = fabs(wi) * bound_abs_max(l[i], u[i]);
        if (wi == 0 || u[i] <= 0) continue;
        if (l[i] >= 0) {
            q->kind[i] = Q_LIN;
            q->ks[i] = wi;
            q->kt[i] = 0.0;
        } else if (wi < 0) {
            q->kind[i] = Q_LIN;
            q->ks[i] = wi * ln->upper_slope[i];
            q->kt[i] = wi * ln->upper_icpt[i];
        } else if (u[i] >= -2.0 * l[i]) {
            q->kind[i] = Q_LIN;
            q->ks[i] = wi;
            q->kt[i] = 0.0;
        } else if (u[i] > -l[i]) {
            q->kind[i] = Q_QUAD;
            q->ks[i] = wi / (u[i] - l[i]);
            q->kt[i] = l[i];
        }
    }
}

static void ctx_free(quad_ctx *q)
{
    free(q->kind);
    free(q->ks);
    free(q->y);
    layer_workspace_free(&q->ws);
}

int bound_quad_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                    double *upper, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int n = m->n_layers;
    quad_ctx q;
    /* On a residual graph the quadratic bound needs the layers after the previous
     * nonlinear layer P to be a chain (z a function of P's output, the row one of
     * relu(z)); otherwise the rows keep CROWN's linear bounds. */
    if (w->dag)
        for (int j = w->prev_nl[w->prev_nl[n]] + 1; j < n; j++)
            if (m->layers[j].type == LAYER_ADD || bound_in(m, j, 0) != j - 1) return NN_OK;
    memset(&q, 0, sizeof q);
    layer_workspace_init(&q.ws);
    q.st = st;
    q.L1 = w->prev_nl[n];
    q.P = w->prev_nl[q.L1];
    q.nz = shape_size(m->layers[q.L1].in);
    q.ny = q.P >= 0 ? shape_size(m->layers[q.P].out) : w->n_in;
    size_t mw = w->maxw, no = model_output_size(m);
    q.kind = nn_malloc(q.nz, "crown-quad rows", err);
    q.ks = nn_malloc(3 * q.nz * sizeof *q.ks, "crown-quad rows", err);
    q.y = nn_malloc((3 * q.ny + 2 * q.nz + 5 * mw) * sizeof *q.y, "crown-quad rows", err);
    if (!q.kind || !q.ks || !q.y) {
        ctx_free(&q);
        return NN_ENOMEM;
    }
    q.kt = q.ks + q.nz;
    q.mag = q.kt + q.nz;
    q.yn = q.y + q.ny;
    q.z = q.yn + q.ny;
    q.gz = q.z + q.nz;
    q.gy = q.gz + q.nz;
    q.t1 = q.gy + q.ny;
    q.t2 = q.t1 + mw;
    q.sort = q.t2 + mw;
    double *A = q.sort + mw, *B = A + mw;
    int rc = NN_OK;
    if (q.P >= 0) {
        /* post-activation box of layer P (scratch beyond the row buffers) */
        double *bl = malloc(2 * mw * sizeof *bl);
        if (!bl) rc = nn_fail(err, NN_ENOMEM, "crown-quad: out of memory for the domain box");
        else rc = bound_box_nonlinear(st, q.P, st->pre_lower[q.P], st->pre_upper[q.P], bl, bl + mw, err);
        q.blo = bl;
        q.bhi = bl ? bl + mw : NULL;
    }
    for (size_t r = 0; r < rows && !rc; r++) {
        for (int side = 0; side < 2 && !rc; side++) {
            if (side ? !(upper && st->opt.spec_upper) : !lower) continue;
            double sign = side ? -1.0 : 1.0, dv = d ? d[r] : 0.0;
            for (size_t k = 0; k < no; k++) A[k] = sign * C[r * ldc + k];
            q.c0 = sign * dv;
            q.s0 = fabs(dv);
            q.e0 = 0.0;
            double *a = A, *bb = B;
            for (int j = n - 1; j > q.L1 && !rc; j--) {
                const nn_layer *L = &m->layers[j];
                size_t o = shape_size(L->out), i = shape_size(L->in);
                bound_rows_offset(st, j, a, 1, o, &q.c0, &q.s0, &q.e0);
                rc = layer_affine_adjoint_ws(L, a, 1, o, bb, i, &q.ws, err);
                double *t = a;
                a = bb;
                bb = t;
            }
            if (rc) break;
            setup_row(&q, a);
            double best;
            rc = solve_row(&q, st->opt.quad_iters, side ? -upper[r] : lower[r], &best, err);
            if (rc) break;
            st->backward_rows++;
            if (!side && best > lower[r]) lower[r] = best;
            if (side && -best < upper[r]) upper[r] = -best;
        }
    }
    if (q.P >= 0) free((void *)q.blo);
    ctx_free(&q);
    return rc;
}
