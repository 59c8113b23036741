/* The LP of the layer-wise convex relaxation (doc/lp.md "The LP of LP-ALL,
 * LP-LAST and MILP"). Every constraint holds for the real network on the region
 * given the committed bounds, so any LP bound is sound once computed safely:
 *   input         l_inf: the region's box (clipped); l1: x = x0 + p - q with
 *                 p, q in [0, eps], sum(p + q) <= eps, x in the clipped box
 *   affine        v_o - sum_k M_ok x_k in [b_o - d_o, b_o + d_o], M written out by
 *                 the layer's adjoint on unit rows (exact: one product each), d_o =
 *                 BOUND_ALLOWANCE(sum |M_ok| |x_k|max + |b_o|) for entries like
 *                 1/std that are rounded images of the real map
 *   activation    the committed lines sL z + tL <= a <= sU z + tU (sound in floating
 *                 point, src/relax), and the convex hull's other pieces:
 *                 ReLU, leaky ReLU (alpha in [0, 1], convex): a >= z, a >= alpha z,
 *                 exact statements; S-shaped: lp_cuts tangent lines per free side,
 *                 at evenly spaced tangent points of the side's valid range (each a
 *                 line src/relax certifies, with its rounding)
 *   MaxPool       the committed planes; y >= x_k for every input of the window;
 *                 y - sum_k x_k <= max_k l_k - sum_k l_k (max x_m - l_m <= sum of
 *                 the nonnegative x_k - l_k), its right side rounded up
 *   residual add  v - a - b = 0 exactly, on the columns the edges name
 *   boxes         nonlinear inputs: the committed bounds; activation and pool
 *                 outputs: their interval image (bound_box); affine outputs: the
 *                 interval image of the input box through the rows above, widened
 *                 like IBP, intersected with the committed bounds of the layer
 *                 they feed. */
#include "bound_lp_build.h"
#include "bound_box.h"
#include "bound_lp_safe.h"

#include <math.h>
#include <stdlib.h>

#define GROW(ptr, n, what)                                                     \
    do {                                                                       \
        void *q_ = realloc((ptr), (size_t)(n) * sizeof *(ptr));                \
        if (!q_) {                                                             \
            P->failed = 1;                                                     \
            nn_fail(err, NN_ENOMEM, "LP: out of memory (%s)", what);           \
            return -1;                                                         \
        }                                                                      \
        (ptr) = q_;                                                            \
    } while (0)

int bound_lp_add_col(bound_lp *P, double lb, double ub, nn_error *err)
{
    if (P->failed) return -1;
    if (P->nc == P->cap_c) {
        P->cap_c = P->cap_c ? 2 * P->cap_c : 1024;
        GROW(P->clb, P->cap_c, "columns");
        GROW(P->cub, P->cap_c, "columns");
    }
    P->clb[P->nc] = lb;
    P->cub[P->nc] = ub;
    return P->nc++;
}

int bound_lp_add_row(bound_lp *P, double lb, double ub, nn_error *err)
{
    if (P->failed) return -1;
    if (P->nr == P->cap_r) {
        P->cap_r = P->cap_r ? 2 * P->cap_r : 1024;
        GROW(P->rlb, P->cap_r, "rows");
        GROW(P->rub, P->cap_r, "rows");
    }
    P->rlb[P->nr] = lb;
    P->rub[P->nr] = ub;
    return P->nr++;
}

static int add_coef(bound_lp *P, int row, int col, double v, nn_error *err)
{
    if (P->nz == P->cap_z) {
        P->cap_z = P->cap_z ? 2 * P->cap_z : 8192;
        GROW(P->ti, P->cap_z, "coefficients");
        GROW(P->tj, P->cap_z, "coefficients");
        GROW(P->tv, P->cap_z, "coefficients");
    }
    P->ti[P->nz] = row;
    P->tj[P->nz] = col;
    P->tv[P->nz++] = v;
    return 0;
}

void bound_lp_coef(bound_lp *P, int row, int col, double v, nn_error *err)
{
    if (P->failed || v == 0 || row < 0 || col < 0) return;
    add_coef(P, row, col, v, err);
}

void bound_lp_free(bound_lp *P)
{
    free(P->clb), free(P->cub), free(P->rlb), free(P->rub);
    free(P->ti), free(P->tj), free(P->tv);
    free(P->start), free(P->index), free(P->value), free(P->off);
    memset(P, 0, sizeof *P);
}

int bound_lp_in_col(const bound_lp *P, int i, size_t k)
{
    /* i == n_layers: the model output, the last layer's; otherwise the edge */
    int a = i < P->m->n_layers ? model_layer_input(P->m, i, 0) : i - 1;
    return (a < 0 ? P->off_x : P->off[a]) + (int)k;
}

/* Sound bounds already known for output i (so its box can be cut): the committed
 * bounds of a nonlinear layer that reads it, or top_lo/top_hi for the last one. */
static void known_box(const bound_state *st, const bound_lp *P, int i, const double *top_lo, const double *top_hi,
                      const double **cl, const double **cu)
{
    const nn_model *m = st->model;
    *cl = *cu = NULL;
    if (i + 1 == P->upto) {
        *cl = top_lo;
        *cu = top_hi;
        return;
    }
    for (int j = i + 1; j < P->upto; j++)
        if (layer_is_nonlinear(m->layers[j].type) && model_layer_input(m, j, 0) == i) {
            *cl = st->pre_lower[j];
            *cu = st->pre_upper[j];
            return;
        }
}

int bound_lp_finish(bound_lp *P, nn_error *err)
{
    if (P->failed) return err && err->code ? err->code : NN_ENOMEM;
    int nc = P->nc;
    free(P->start), free(P->index), free(P->value);
    P->start = calloc((size_t)nc + 1, sizeof *P->start);
    P->index = malloc((P->nz ? P->nz : 1) * sizeof *P->index);
    P->value = malloc((P->nz ? P->nz : 1) * sizeof *P->value);
    int *fill = calloc((size_t)nc + 1, sizeof *fill);
    if (!P->start || !P->index || !P->value || !fill) {
        free(fill);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (compressed columns)");
    }
    for (size_t e = 0; e < P->nz; e++) P->start[P->tj[e] + 1]++;
    for (int j = 0; j < nc; j++) P->start[j + 1] += P->start[j];
    for (size_t e = 0; e < P->nz; e++) {
        int j = P->tj[e], at = P->start[j] + fill[j]++;
        P->index[at] = P->ti[e];
        P->value[at] = P->tv[e];
    }
    free(fill);
    return NN_OK;
}

double bound_lp_lower(const bound_lp *P, const int *cidx, const double *cval, size_t cn, const double *y, double *r)
{
    return bound_lp_safe_lower(P->nc, P->nr, P->start, P->index, P->value, P->clb, P->cub, P->rlb, P->rub, cidx,
                               cval, cn, y, r);
}

static int add_input(const bound_state *st, bound_lp *P, nn_error *err)
{
    const bound_work *w = st->work;
    const bound_region *R = &st->region;
    size_t n = w->n_in;
    P->off_x = P->nc;
    for (size_t j = 0; j < n; j++) bound_lp_add_col(P, w->box_lo[j], w->box_hi[j], err);
    if (R->norm != NORM_1) return P->failed ? NN_ENOMEM : NN_OK;
    int p0 = P->nc;
    for (size_t j = 0; j < 2 * n; j++) bound_lp_add_col(P, 0.0, R->eps, err);
    for (size_t j = 0; j < n; j++) { /* x - p + q = x0 */
        int row = bound_lp_add_row(P, w->x0[j], w->x0[j], err);
        bound_lp_coef(P, row, P->off_x + (int)j, 1.0, err);
        bound_lp_coef(P, row, p0 + (int)j, -1.0, err);
        bound_lp_coef(P, row, p0 + (int)(n + j), 1.0, err);
    }
    int row = bound_lp_add_row(P, -BOUND_LP_INF, R->eps, err);
    for (size_t j = 0; j < 2 * n; j++) bound_lp_coef(P, row, p0 + (int)j, 1.0, err);
    return P->failed ? NN_ENOMEM : NN_OK;
}

/* Affine layer i: its rows, and the box of its output columns. */
static int add_affine(const bound_state *st, bound_lp *P, int i, const double *top_lo, const double *top_hi,
                      nn_error *err)
{
    const nn_model *m = st->model;
    const nn_layer *L = &m->layers[i];
    size_t ni = shape_size(L->in), no = shape_size(L->out), B = 64;
    double *b = malloc(no * sizeof *b), *dy = calloc(B * no, sizeof *dy), *dx = malloc(B * ni * sizeof *dx);
    if (!b || !dy || !dx) {
        free(b), free(dy), free(dx);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (layer %d rows)", i);
    }
    layer_affine_offset(L, b);
    int in0 = bound_lp_in_col(P, i, 0), rc = NN_OK;
    P->off[i] = P->nc;
    for (size_t o = 0; o < no; o++) bound_lp_add_col(P, 0, 0, err);
    const double *cl, *cu;
    known_box(st, P, i, top_lo, top_hi, &cl, &cu);
    for (size_t o0 = 0; o0 < no && !P->failed; o0 += B) {
        size_t R = no - o0 < B ? no - o0 : B;
        for (size_t r = 0; r < R; r++) dy[r * no + o0 + r] = 1.0;
        if ((rc = layer_affine_adjoint(L, dy, R, no, dx, ni, err))) break;
        for (size_t r = 0; r < R; r++) {
            dy[r * no + o0 + r] = 0.0;
            size_t o = o0 + r;
            double lo = b[o], hi = b[o], mag = fabs(b[o]), xmag = fabs(b[o]);
            const double *row = dx + r * ni;
            for (size_t k = 0; k < ni; k++) {
                double a = row[k];
                if (a == 0) continue;
                double xl = P->clb[in0 + k], xu = P->cub[in0 + k];
                double p = a * xl, q = a * xu;
                lo += fmin(p, q);
                hi += fmax(p, q);
                mag += fmax(fabs(p), fabs(q));
                xmag += fabs(a) * fmax(fabs(xl), fabs(xu));
            }
            double d = BOUND_ALLOWANCE(xmag);
            double allow = BOUND_ALLOWANCE(mag) + d;
            int rw = bound_lp_add_row(P, b[o] - d, b[o] + d, err);
            int col = P->off[i] + (int)o;
            bound_lp_coef(P, rw, col, 1.0, err);
            for (size_t k = 0; k < ni; k++) bound_lp_coef(P, rw, in0 + (int)k, -row[k], err);
            lo -= allow;
            hi += allow;
            if (cl && cl[o] > lo) lo = cl[o];
            if (cu && cu[o] < hi) hi = cu[o];
            if (!(lo <= hi)) {
                rc = nn_fail(err, NN_ENUMERIC, "LP: layer %d output %zu has an empty box [%.17g, %.17g]", i, o, lo, hi);
                break;
            }
            P->clb[col] = lo;
            P->cub[col] = hi;
        }
        if (rc) break;
    }
    free(b), free(dy), free(dx);
    if (!rc && P->failed) rc = NN_ENOMEM;
    return rc ? nn_error_prefix(err, "LP of layer %d: ", i) : NN_OK;
}

/* A residual add, out = a + b: exact rows (coefficients 1, nothing rounded in
 * the relation), the box the interval sum widened like IBP and cut by known
 * bounds. a == b (x + x) is out - 2a = 0. */
static int add_sum(const bound_state *st, bound_lp *P, int i, const double *top_lo, const double *top_hi,
                   nn_error *err)
{
    const nn_model *m = st->model;
    size_t no = shape_size(m->layers[i].out);
    int ca = bound_lp_in_col(P, i, 0), a = model_layer_input(m, i, 1);
    int cb = (a < 0 ? P->off_x : P->off[a]);
    const double *cl, *cu;
    known_box(st, P, i, top_lo, top_hi, &cl, &cu);
    P->off[i] = P->nc;
    for (size_t k = 0; k < no && !P->failed; k++) {
        double al = P->clb[ca + k], ah = P->cub[ca + k], bl = P->clb[cb + k], bh = P->cub[cb + k];
        double lo = al + bl - BOUND_ALLOWANCE(fabs(al) + fabs(bl));
        double hi = ah + bh + BOUND_ALLOWANCE(fabs(ah) + fabs(bh));
        if (cl && cl[k] > lo) lo = cl[k];
        if (cu && cu[k] < hi) hi = cu[k];
        if (!(lo <= hi))
            return nn_fail(err, NN_ENUMERIC, "LP of layer %d: output %zu has an empty box [%.17g, %.17g]", i, k, lo,
                           hi);
        int col = bound_lp_add_col(P, lo, hi, err), row = bound_lp_add_row(P, 0, 0, err);
        bound_lp_coef(P, row, col, 1.0, err);
        bound_lp_coef(P, row, ca + (int)k, ca == cb ? -2.0 : -1.0, err);
        if (ca != cb) bound_lp_coef(P, row, cb + (int)k, -1.0, err);
    }
    return P->failed ? NN_ENOMEM : NN_OK;
}

/* Row sL z + tL <= a (upper = 0) or a <= sU z + tU (upper = 1). */
static void add_line(bound_lp *P, int a, int z, double s, double t, int upper, nn_error *err)
{
    int row = upper ? bound_lp_add_row(P, -BOUND_LP_INF, t, err) : bound_lp_add_row(P, t, BOUND_LP_INF, err);
    bound_lp_coef(P, row, a, 1.0, err);
    bound_lp_coef(P, row, z, -s, err);
}

static int add_activation(const bound_state *st, bound_lp *P, int i, nn_error *err)
{
    const nn_layer *L = &st->model->layers[i];
    const relax_lines *ln = &st->lines[i];
    const double *l = st->pre_lower[i], *u = st->pre_upper[i];
    size_t n = shape_size(L->in);
    double *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
    if (!lo || !hi) {
        free(lo), free(hi);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (layer %d)", i);
    }
    int rc = bound_box_nonlinear(st, i, l, u, lo, hi, err);
    P->off[i] = P->nc;
    for (size_t k = 0; k < n && !rc; k++) {
        int z = bound_lp_in_col(P, i, k), a = bound_lp_add_col(P, lo[k], hi[k], err);
        /* the input's box: the committed bounds */
        if (l[k] > P->clb[z]) P->clb[z] = l[k];
        if (u[k] < P->cub[z]) P->cub[z] = u[k];
        add_line(P, a, z, ln->lower_slope[k], ln->lower_icpt[k], 0, err);
        add_line(P, a, z, ln->upper_slope[k], ln->upper_icpt[k], 1, err);
        if (relax_row_stable(L, k, l[k], u[k])) continue;
        if (L->type == LAYER_RELU || L->type == LAYER_LEAKY_RELU) {
            add_line(P, a, z, 1.0, 0.0, 0, err);
            if (L->type == LAYER_LEAKY_RELU) add_line(P, a, z, L->alpha, 0.0, 0, err);
        } else if (L->type == LAYER_TANH || L->type == LAYER_SIGMOID || L->type == LAYER_ARCTAN) {
            for (int side = 0; side < 2; side++) {
                double plo = side ? ln->upper_lo[k] : ln->lower_lo[k], phi = side ? ln->upper_hi[k] : ln->lower_hi[k];
                if (!(plo < phi)) continue;
                int K = st->opt.lp_cuts;
                for (int t = 0; t < K; t++) {
                    double p = K == 1 ? 0.5 * plo + 0.5 * phi : plo + (phi - plo) * t / (K - 1);
                    double s, c;
                    relax_line_at(L, k, l[k], u[k], side, p, &s, &c);
                    if (isfinite(s) && isfinite(c)) add_line(P, a, z, s, c, side, err);
                }
            }
        }
    }
    free(lo), free(hi);
    if (!rc && P->failed) rc = NN_ENOMEM;
    return rc;
}

static int add_maxpool(const bound_state *st, bound_lp *P, int i, nn_error *err)
{
    const nn_layer *L = &st->model->layers[i];
    const relax_pool *pl = &st->pools[i];
    const double *l = st->pre_lower[i], *u = st->pre_upper[i];
    size_t n = shape_size(L->in), no = pl->n_out, W = (size_t)pl->window;
    double *lo = malloc(no * sizeof *lo), *hi = malloc(no * sizeof *hi);
    if (!lo || !hi) {
        free(lo), free(hi);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (layer %d)", i);
    }
    int rc = bound_box_nonlinear(st, i, l, u, lo, hi, err);
    for (size_t k = 0; k < n && !rc; k++) {
        int z = bound_lp_in_col(P, i, k);
        if (l[k] > P->clb[z]) P->clb[z] = l[k];
        if (u[k] < P->cub[z]) P->cub[z] = u[k];
    }
    P->off[i] = P->nc;
    for (size_t o = 0; o < no && !rc; o++) {
        int y = bound_lp_add_col(P, lo[o], hi[o], err);
        int ru = bound_lp_add_row(P, -BOUND_LP_INF, pl->upper_icpt[o], err);
        int rl = bound_lp_add_row(P, pl->lower_icpt[o], BOUND_LP_INF, err);
        bound_lp_coef(P, ru, y, 1.0, err);
        bound_lp_coef(P, rl, y, 1.0, err);
        double lmax = -INFINITY, lsum = 0, lmag = 0;
        for (size_t s = 0; s < W; s++) {
            int in = pl->inputs[o * W + s];
            if (in < 0) continue;
            int x = bound_lp_in_col(P, i, (size_t)in);
            bound_lp_coef(P, ru, x, -pl->upper_coef[o * W + s], err);
            bound_lp_coef(P, rl, x, -pl->lower_coef[o * W + s], err);
            int r = bound_lp_add_row(P, 0.0, BOUND_LP_INF, err); /* y >= x */
            bound_lp_coef(P, r, y, 1.0, err);
            bound_lp_coef(P, r, x, -1.0, err);
            lmax = fmax(lmax, l[in]);
            lsum += l[in];
            lmag += fabs(l[in]);
        }
        if (lmax == -INFINITY) continue;
        /* y - sum x <= max l - sum l, rounded up */
        double rhs = lmax - lsum;
        rhs = nextafter(rhs + BOUND_ALLOWANCE(lmag + fabs(lmax)), INFINITY);
        int r = bound_lp_add_row(P, -BOUND_LP_INF, rhs, err);
        bound_lp_coef(P, r, y, 1.0, err);
        for (size_t s = 0; s < W; s++)
            if (pl->inputs[o * W + s] >= 0) bound_lp_coef(P, r, bound_lp_in_col(P, i, (size_t)pl->inputs[o * W + s]), -1.0, err);
    }
    free(lo), free(hi);
    if (!rc && P->failed) rc = NN_ENOMEM;
    return rc;
}

int bound_lp_build(const bound_state *st, int upto, const double *top_lo, const double *top_hi, bound_lp *P,
                   nn_error *err)
{
    memset(P, 0, sizeof *P);
    const nn_model *m = st->model;
    P->m = m;
    P->upto = upto;
    P->off = calloc((size_t)m->n_layers + 1, sizeof *P->off);
    if (!P->off) return nn_fail(err, NN_ENOMEM, "LP: out of memory");
    int rc = add_input(st, P, err);
    for (int i = 0; i < upto && !rc; i++) {
        layer_type t = m->layers[i].type;
        if (layer_is_affine(t)) rc = add_affine(st, P, i, top_lo, top_hi, err);
        else if (t == LAYER_MAXPOOL2D) rc = add_maxpool(st, P, i, err);
        else if (t == LAYER_ADD) rc = add_sum(st, P, i, top_lo, top_hi, err);
        else rc = add_activation(st, P, i, err);
    }
    if (!rc) rc = bound_lp_finish(P, err);
    if (rc) bound_lp_free(P);
    return rc;
}
