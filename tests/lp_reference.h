/* lp_reference: an LP of a bound state's committed relaxation, built from the
 * model's weights and st->lines / st->pools / st->pre_lower/pre_upper only, solved
 * by Clp (doc/lp.md "LP check"); the independent reference of the LP tests. */
#ifndef LP_REFERENCE_H
#define LP_REFERENCE_H

#include "test_bound_models.h"

#include <coin/Clp_C_Interface.h>
#include <float.h>

#define LP_INF DBL_MAX /* Clp reads bounds beyond 1e30 as infinite */

typedef struct {
    int nc, nr;           /* columns, rows */
    double *clb, *cub;    /* column bounds */
    double *rlb, *rub;    /* row bounds, nr of cap_r */
    int cap_r;
    int *ti, *tj;         /* triplets (row, column, value) */
    double *tv;
    size_t nz, cap_z;
    int off_x, off_p;     /* first column of the input and of p (l1: q follows p) */
    int *off;             /* [i] first column of layer i's output */
    const nn_model *m;
} lp_build;

static double *dgrow(double *p, size_t n)
{
    p = realloc(p, n * sizeof *p);
    assert_non_null(p);
    return p;
}

static int *igrow(int *p, size_t n)
{
    p = realloc(p, n * sizeof *p);
    assert_non_null(p);
    return p;
}

static int lp_row(lp_build *P, double lb, double ub)
{
    if (P->nr == P->cap_r) {
        P->cap_r = P->cap_r ? 2 * P->cap_r : 256;
        P->rlb = dgrow(P->rlb, (size_t)P->cap_r);
        P->rub = dgrow(P->rub, (size_t)P->cap_r);
    }
    P->rlb[P->nr] = lb;
    P->rub[P->nr] = ub;
    return P->nr++;
}

static void lp_coef(lp_build *P, int row, int col, double v)
{
    if (v == 0) return;
    if (P->nz == P->cap_z) {
        P->cap_z = P->cap_z ? 2 * P->cap_z : 4096;
        P->ti = igrow(P->ti, P->cap_z);
        P->tj = igrow(P->tj, P->cap_z);
        P->tv = dgrow(P->tv, P->cap_z);
    }
    P->ti[P->nz] = row;
    P->tj[P->nz] = col;
    P->tv[P->nz++] = v;
}

static void lp_build_free(lp_build *P)
{
    free(P->clb), free(P->cub), free(P->rlb), free(P->rub);
    free(P->ti), free(P->tj), free(P->tv), free(P->off);
    memset(P, 0, sizeof *P);
}

/* Column of value k of the output that layer i reads (input q of an add); on a
 * residual graph that follows the layer's edge (the model input: off_x). */
static int in_col_q(const lp_build *P, int i, int q, size_t k)
{
    int a = model_layer_input(P->m, i, q);
    return (a < 0 ? P->off_x : P->off[a]) + (int)k;
}

static int in_col(const lp_build *P, int i, size_t k) { return in_col_q(P, i, 0, k); }

/* Row-wise entries of the affine map of layer L: out o = sum M[o,k] in[k] + b[o]. */
static void add_affine(lp_build *P, const nn_layer *L, int i)
{
    size_t no = shape_size(L->out);
    int H = L->in.h, Wd = L->in.w;
    for (size_t o = 0; o < no; o++) {
        int out = P->off[i] + (int)o;
        int c = (int)(o / ((size_t)L->out.h * L->out.w)), p = (int)(o % ((size_t)L->out.h * L->out.w));
        int oy = p / L->out.w, ox = p % L->out.w;
        double b = 0;
        int row;
        switch (L->type) {
        case LAYER_DENSE: {
            b = L->bias[o];
            row = lp_row(P, b, b);
            size_t n = shape_size(L->in);
            for (size_t k = 0; k < n; k++) lp_coef(P, row, in_col(P, i, k), -L->weight[o * n + k]);
            break;
        }
        case LAYER_CONV2D: {
            b = L->bias[c];
            row = lp_row(P, b, b);
            for (int ci = 0; ci < L->in.c; ci++)
                for (int ky = 0; ky < L->kernel[0]; ky++)
                    for (int kx = 0; kx < L->kernel[1]; kx++) {
                        int iy = oy * L->stride[0] - L->pad[0] + ky * L->dilation[0];
                        int ix = ox * L->stride[1] - L->pad[1] + kx * L->dilation[1];
                        if (iy < 0 || iy >= H || ix < 0 || ix >= Wd) continue;
                        double wv = L->weight[((c * L->in.c + ci) * L->kernel[0] + ky) * L->kernel[1] + kx];
                        lp_coef(P, row, in_col(P, i, (size_t)((ci * H + iy) * Wd + ix)), -wv);
                    }
            break;
        }
        case LAYER_AVGPOOL2D: {
            row = lp_row(P, 0, 0);
            int cells[64], nc = 0;
            for (int ky = 0; ky < L->kernel[0]; ky++)
                for (int kx = 0; kx < L->kernel[1]; kx++) {
                    int iy = oy * L->stride[0] - L->pad[0] + ky, ix = ox * L->stride[1] - L->pad[1] + kx;
                    if (iy >= 0 && iy < H && ix >= 0 && ix < Wd) cells[nc++] = (c * H + iy) * Wd + ix;
                }
            for (int k = 0; k < nc; k++) lp_coef(P, row, in_col(P, i, (size_t)cells[k]), -1.0 / nc);
            break;
        }
        case LAYER_NORMALIZE: {
            int ch = (int)(o / ((size_t)H * Wd));
            b = -L->mean[ch] / L->std[ch];
            row = lp_row(P, b, b);
            lp_coef(P, row, in_col(P, i, o), -1.0 / L->std[ch]);
            break;
        }
        default: /* flatten */
            row = lp_row(P, 0, 0);
            lp_coef(P, row, in_col(P, i, o), -1.0);
            break;
        }
        lp_coef(P, row, out, 1.0);
    }
}

/* The LP of layers [0, upto) under st's relaxation; triangle: ReLU's convex hull
 * (a >= 0, a >= z, a <= chord) in place of the lower line of unstable neurons. */
static void lp_make(lp_build *P, const bound_state *st, int upto, int triangle)
{
    const nn_model *m = st->model;
    const bound_region *R = &st->region;
    size_t n_in = model_input_size(m);
    memset(P, 0, sizeof *P);
    P->m = m;
    P->off = malloc((size_t)(m->n_layers + 1) * sizeof *P->off);
    assert_non_null(P->off);
    int nc = 0;
    P->off_x = nc;
    nc += (int)n_in;
    if (R->norm == NORM_1) {
        P->off_p = nc;
        nc += 2 * (int)n_in;
    }
    for (int i = 0; i < upto; i++) {
        P->off[i] = nc;
        nc += (int)shape_size(m->layers[i].out);
    }
    P->nc = nc;
    P->clb = malloc((size_t)nc * sizeof *P->clb);
    P->cub = malloc((size_t)nc * sizeof *P->cub);
    assert_non_null(P->clb);
    assert_non_null(P->cub);
    for (int j = 0; j < nc; j++) {
        P->clb[j] = -LP_INF;
        P->cub[j] = LP_INF;
    }
    for (size_t j = 0; j < n_in; j++) {
        double x0 = R->center[j], lo = R->clip ? R->clip_lo : -LP_INF, hi = R->clip ? R->clip_hi : LP_INF;
        if (R->norm == NORM_INF) {
            lo = fmax(lo, x0 - R->eps);
            hi = fmin(hi, x0 + R->eps);
        } else {
            int row = lp_row(P, x0, x0); /* x - p + q = x0 */
            lp_coef(P, row, P->off_x + (int)j, 1.0);
            lp_coef(P, row, P->off_p + (int)j, -1.0);
            lp_coef(P, row, P->off_p + (int)(n_in + j), 1.0);
            P->clb[P->off_p + j] = P->clb[P->off_p + n_in + j] = 0.0;
            P->cub[P->off_p + j] = P->cub[P->off_p + n_in + j] = R->eps;
        }
        P->clb[P->off_x + j] = lo;
        P->cub[P->off_x + j] = hi;
    }
    if (R->norm == NORM_1) {
        int row = lp_row(P, -LP_INF, R->eps);
        for (size_t j = 0; j < 2 * n_in; j++) lp_coef(P, row, P->off_p + (int)j, 1.0);
    } else {
        assert_int_equal(R->norm, NORM_INF); /* l2 is not a polyhedron */
    }
    for (int i = 0; i < upto; i++) {
        const nn_layer *L = &m->layers[i];
        size_t n = shape_size(L->in);
        if (layer_is_affine(L->type)) {
            add_affine(P, L, i);
            continue;
        }
        if (L->type == LAYER_ADD) { /* out - a - b = 0 (a == b: out - 2a = 0) */
            int same = model_layer_input(m, i, 0) == model_layer_input(m, i, 1);
            for (size_t k = 0; k < shape_size(L->out); k++) {
                int row = lp_row(P, 0, 0);
                lp_coef(P, row, P->off[i] + (int)k, 1.0);
                lp_coef(P, row, in_col_q(P, i, 0, k), same ? -2.0 : -1.0);
                if (!same) lp_coef(P, row, in_col_q(P, i, 1, k), -1.0);
            }
            continue;
        }
        for (size_t k = 0; k < n; k++) { /* the committed box of this nonlinear layer's input */
            int c = in_col(P, i, k);
            P->clb[c] = fmax(P->clb[c], st->pre_lower[i][k]);
            P->cub[c] = fmin(P->cub[c], st->pre_upper[i][k]);
        }
        if (L->type == LAYER_MAXPOOL2D) {
            const relax_pool *pl = &st->pools[i];
            for (size_t o = 0; o < pl->n_out; o++) {
                int y = P->off[i] + (int)o;
                int ru = lp_row(P, -LP_INF, pl->upper_icpt[o]), rl = lp_row(P, pl->lower_icpt[o], LP_INF);
                lp_coef(P, ru, y, 1.0);
                lp_coef(P, rl, y, 1.0);
                for (int s = 0; s < pl->window; s++) {
                    int in = pl->inputs[o * (size_t)pl->window + (size_t)s];
                    if (in < 0) continue;
                    lp_coef(P, ru, in_col(P, i, (size_t)in), -pl->upper_coef[o * (size_t)pl->window + (size_t)s]);
                    lp_coef(P, rl, in_col(P, i, (size_t)in), -pl->lower_coef[o * (size_t)pl->window + (size_t)s]);
                }
            }
            continue;
        }
        const relax_lines *ln = &st->lines[i];
        for (size_t k = 0; k < n; k++) {
            int z = in_col(P, i, k), a = P->off[i] + (int)k;
            int ru = lp_row(P, -LP_INF, ln->upper_icpt[k]);
            lp_coef(P, ru, a, 1.0);
            lp_coef(P, ru, z, -ln->upper_slope[k]);
            if (triangle && L->type == LAYER_RELU && st->pre_lower[i][k] < 0 && st->pre_upper[i][k] > 0) {
                int r0 = lp_row(P, 0.0, LP_INF), r1 = lp_row(P, 0.0, LP_INF);
                lp_coef(P, r0, a, 1.0);
                lp_coef(P, r1, a, 1.0);
                lp_coef(P, r1, z, -1.0);
            } else {
                int rl = lp_row(P, ln->lower_icpt[k], LP_INF);
                lp_coef(P, rl, a, 1.0);
                lp_coef(P, rl, z, -ln->lower_slope[k]);
            }
        }
    }
}

typedef struct {
    Clp_Simplex *clp;
    int nc, solved;
    double *obj;
} lp_solver;

static void lp_solver_init(lp_solver *S, const lp_build *P)
{
    int nc = P->nc;
    int *start = calloc((size_t)nc + 1, sizeof *start), *fill = calloc((size_t)nc, sizeof *fill);
    int *index = malloc((P->nz ? P->nz : 1) * sizeof *index);
    double *value = malloc((P->nz ? P->nz : 1) * sizeof *value);
    assert_true(start && fill && index && value);
    for (size_t e = 0; e < P->nz; e++) start[P->tj[e] + 1]++;
    for (int j = 0; j < nc; j++) start[j + 1] += start[j];
    for (size_t e = 0; e < P->nz; e++) {
        int j = P->tj[e], at = start[j] + fill[j]++;
        index[at] = P->ti[e];
        value[at] = P->tv[e];
    }
    S->nc = nc;
    S->solved = 0;
    S->obj = calloc((size_t)nc, sizeof *S->obj);
    assert_non_null(S->obj);
    S->clp = Clp_newModel();
    Clp_setLogLevel(S->clp, 0);
    Clp_loadProblem(S->clp, nc, P->nr, start, index, value, P->clb, P->cub, S->obj, P->rlb, P->rub);
    Clp_setPrimalTolerance(S->clp, 1e-9);
    Clp_setDualTolerance(S->clp, 1e-9);
    free(start), free(fill), free(index), free(value);
}

static void lp_solver_free(lp_solver *S)
{
    Clp_deleteModel(S->clp);
    free(S->obj);
}

/* min over the LP of sum coef[k] * column (first + k), k < n. */
static double lp_min(lp_solver *S, int first, const double *coef, size_t n)
{
    memset(S->obj, 0, (size_t)S->nc * sizeof *S->obj);
    for (size_t k = 0; k < n; k++) S->obj[first + (int)k] = coef[k];
    Clp_chgObjCoefficients(S->clp, S->obj);
    if (S->solved) Clp_primal(S->clp, 0);
    else Clp_initialSolve(S->clp);
    S->solved = 1;
    if (Clp_status(S->clp) != 0) fail_msg("Clp status %d (0 = optimal)", Clp_status(S->clp));
    return Clp_objectiveValue(S->clp);
}

/* Margin rows e_c - e_j (c = the prediction at x0, into *cls when not NULL) of
 * the output, row-major with leading dimension the output size; returns the count. */
static size_t lp_margin_rows(const nn_model *m, const double *x0, double *C, int *cls)
{
    nn_error err;
    size_t no = model_output_size(m);
    double *z = malloc(no * sizeof *z);
    assert_non_null(z);
    assert_int_equal(forward_run(m, x0, 1, z, &err), NN_OK);
    int c = forward_argmax(z, no);
    free(z);
    if (cls) *cls = c;
    size_t r = 0;
    for (size_t j = 0; j < no; j++) {
        if ((int)j == c) continue;
        memset(C + r * no, 0, no * sizeof *C);
        C[r * no + (size_t)c] = 1;
        C[r * no + j] = -1;
        r++;
    }
    return r;
}

#endif
