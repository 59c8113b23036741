/* The bound engine against an independent LP solver (COIN-OR Clp), doc/lp.md
 * "LP check" (doc/bounds.md "Checks that need no other tool" has the others).
 *
 * The LP is built here from the model's weights and the engine's committed
 * relaxation only (st->lines, st->pools, st->pre_lower/pre_upper), never from the
 * backward kernel: a variable per value of every layer output and per input,
 *   affine layers      v_i = M_i v_{i-1} + b_i      (dense, conv, normalize,
 *                                                    avgpool, flatten; M_i written
 *                                                    out here from the weights)
 *   activations        sL z + tL <= a <= sU z + tU
 *   MaxPool            sum c_k z_k + bL <= y <= sum a_k z_k + bU
 *   nonlinear inputs   l <= z <= u   (the committed bounds)
 *   input              the l_inf box (clipped), or the l1 ball through
 *                      x = x0 + p - q, p, q >= 0, sum(p + q) <= eps (and the clip box).
 * The LP of a nonlinear layer's input uses the layers before it and not its own box.
 *
 * Theorem 1 of frown-fastened-crown (doc/lp.md "Why CROWN equals the LP optimum"):
 * CROWN's bound is the optimum of this LP when (1) each neuron has exactly one
 * upper and one lower line (one plane each side for MaxPool), (2) the LP uses the
 * same lines as CROWN, and (3) both are self-consistent: the lines of a layer are
 * built once from its bounds and used for every neuron after it. The engine's
 * CROWN and Fast-Lin satisfy all three.
 * The boxes l <= z <= u are then redundant (the bounds are the minimum and maximum
 * of z over the relaxed set itself), which is why equality also needs the bounds
 * to be CROWN's own: no IBP intersection and no IBP-only stable neurons
 * (intersect_ibp = skip_stable = 0). With those on, or with LBP's bounds, the
 * boxes can cut and only "engine bound <= LP optimum" holds (the backward pass
 * minimizes over a superset), which is asserted instead. */
#include "test_bound_models.h"

#include <coin/Clp_C_Interface.h>
#include <float.h>

#define LP_EQ_TOL 1e-7 /* relative agreement asked of CROWN and Clp (Clp tolerances 1e-9) */
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

/* Column of value k of layer i's input (i = 0: the model input). */
/* Column of value k of the output that layer i reads (input q of an add); on a
 * residual graph that follows the layer's edge. */
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

/* Engine bound e against LP optimum v, side -1 for a lower bound (sound: e <= v)
 * and +1 for an upper bound (e >= v): -1 tighter than the LP (unsound), 0 equal
 * within LP_EQ_TOL relative, 1 looser. */
static int lp_verdict(double e, double v, int side)
{
    double tol = LP_EQ_TOL * (1 + fabs(v));
    double gap = side < 0 ? v - e : e - v;
    return gap < -tol ? -1 : gap > tol ? 1 : 0;
}

/* What is being checked, for failure messages. */
static char lp_ctx[256];

static void set_ctx(const nn_model *m, const bound_state *st)
{
    snprintf(lp_ctx, sizeof lp_ctx, "%s %s lines %s pool %s norm %s eps %g clip %d", m->name ? m->name : "model",
             bound_method_name(st->opt.method), line_strategy_name(st->opt.strategy), pool_method_name(st->opt.pool),
             norm_name(st->region.norm), st->region.eps, st->region.clip);
}

/* Fails on an unsound bound, and with eq on any difference; returns 1 if looser. */
static int compare(double e, double v, int side, int eq, const char *what, int layer, size_t k)
{
    int vd = lp_verdict(e, v, side);
    if (vd < 0)
        fail_msg("%s: %s layer %d row %zu: engine %.17g is tighter than the LP optimum %.17g", lp_ctx, what, layer, k,
                 e, v);
    if (eq && vd > 0)
        fail_msg("%s: %s layer %d row %zu: engine %.17g differs from the LP optimum %.17g", lp_ctx, what, layer, k, e,
                 v);
    return vd > 0;
}

/* Margin rows e_c - e_j (c = class at x0) on the output. */
static size_t margin_rows(const nn_model *m, const double *x0, double *C)
{
    nn_error err;
    size_t no = model_output_size(m);
    double *z = malloc(no * sizeof *z);
    assert_non_null(z);
    assert_int_equal(forward_run(m, x0, 1, z, &err), NN_OK);
    int c = forward_argmax(z, no);
    free(z);
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

/* Bounds of nonlinear layer i's input against the LPs of its neurons (min and
 * max) built from the layers before it. Returns the number of strictly looser. */
static int check_layer_lp(const bound_state *st, int i, int eq)
{
    lp_build P;
    lp_make(&P, st, i, 0);
    lp_solver S;
    lp_solver_init(&S, &P);
    size_t n = shape_size(st->model->layers[i].in);
    int first = in_col(&P, i, 0), looser = 0;
    for (size_t k = 0; k < n; k++) {
        double one = 1.0, minus = -1.0;
        double lo = lp_min(&S, first + (int)k, &one, 1), hi = -lp_min(&S, first + (int)k, &minus, 1);
        looser += compare(st->pre_lower[i][k], lo, -1, eq, "lower", i, k);
        looser += compare(st->pre_upper[i][k], hi, +1, eq, "upper", i, k);
    }
    lp_solver_free(&S);
    lp_build_free(&P);
    return looser;
}

/* Every nonlinear layer's bounds and the margins of st against the LP of st's own
 * relaxation. eq: assert equality (Theorem 1), else only soundness. The margins
 * are st's method's without the interval tail (for CROWN the backward pass, as
 * the theorem is about it). Returns the number of LP optima strictly tighter. */
static int check_against_lp(bound_state *st, int eq, int check_layers)
{
    const nn_model *m = st->model;
    nn_error err;
    int looser = 0;
    set_ctx(m, st);
    for (int i = 0; check_layers && i < m->n_layers; i++)
        if (st->pre_lower[i]) looser += check_layer_lp(st, i, eq);
    size_t no = model_output_size(m);
    double *C = malloc(no * no * sizeof *C), *lb = malloc(no * sizeof *lb);
    assert_true(C && lb);
    size_t rows = margin_rows(m, st->region.center, C);
    int keep = st->opt.intersect_ibp;
    st->opt.intersect_ibp = 0; /* the backward pass alone */
    assert_int_equal(bound_spec(st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
    st->opt.intersect_ibp = keep;
    lp_build P;
    lp_make(&P, st, m->n_layers, 0);
    lp_solver S;
    lp_solver_init(&S, &P);
    for (size_t r = 0; r < rows; r++)
        looser += compare(lb[r], lp_min(&S, P.off[m->n_layers - 1], C + r * no, no), -1, eq, "margin",
                          m->n_layers, r);
    lp_solver_free(&S);
    lp_build_free(&P);
    free(C);
    free(lb);
    return looser;
}

static bound_options exact_crown(bound_method method, line_strategy s)
{
    bound_options o;
    bound_options_default(&o);
    o.method = method;
    o.strategy = s;
    o.skip_stable = o.intersect_ibp = 0;
    return o;
}

static void crown_equals_lp_optimum_every_neuron_mlp(void **state)
{
    (void)state;
    test_rng rng = {41};
    for (size_t a = 0; a < TB_N_ACTS; a++) {
        nn_model m;
        tb_build_mlp(&m, &rng, tb_acts[a]);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        for (int s = 0; s < 4; s++) {
            bound_options o = s < 3 ? exact_crown(METHOD_CROWN, (line_strategy)s) : exact_crown(METHOD_FASTLIN, 0);
            for (int v = 0; v < 4; v++) { /* l_inf, l_inf clipped, l1, l1 clipped */
                bound_state st;
                tb_compute(&m, &o, x0, v < 2 ? NORM_INF : NORM_1, v < 2 ? 0.1 : 0.4, v & 1, &st);
                /* l1 within the clip box: the engine's knapsack is exact over the
                 * intersection (bound_concretize.c), as is the LP's */
                check_against_lp(&st, 1, 1);
                bound_state_free(&st);
            }
        }
        free(x0);
        model_free(&m);
    }
}

static void crown_equals_lp_optimum_cnn_with_maxpool_planes(void **state)
{
    (void)state;
    test_rng rng = {42};
    layer_type acts[] = {LAYER_RELU, LAYER_TANH};
    pool_method pools[] = {POOL_TILIN, POOL_DEEPPOLY, POOL_CNNCERT, POOL_INTERVAL};
    for (int a = 0; a < 2; a++) {
        nn_model m;
        tb_build_cnn(&m, &rng, acts[a]);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        for (int k = 0; k < 4; k++) {
            bound_options o = exact_crown(METHOD_CROWN, LINES_ADAPTIVE);
            o.pool = pools[k];
            bound_state st;
            tb_compute(&m, &o, x0, k == 3 ? NORM_1 : NORM_INF, k == 3 ? 0.3 : 0.03, k == 1, &st);
            check_against_lp(&st, 1, 1);
            bound_state_free(&st);
        }
        free(x0);
        model_free(&m);
    }
}

/* A trained zoo MLP on all 784 inputs, when present. */
static void crown_equals_lp_optimum_zoo_mlp(void **state)
{
    (void)state;
    const char *names[] = {"models/mnist_mlp_2x20_relu.h5", "models/mnist_mlp_2x20_tanh.h5"};
    int found = 0;
    for (size_t f = 0; f < 2; f++) {
        nn_model m;
        if (!tb_load_zoo(names[f], &m)) continue;
        found++;
        test_rng rng = {43};
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        bound_options o = exact_crown(METHOD_CROWN, LINES_ADAPTIVE);
        bound_state st;
        tb_compute(&m, &o, x0, NORM_INF, 0.01, 1, &st);
        check_against_lp(&st, 1, 1);
        bound_state_free(&st);
        free(x0);
        model_free(&m);
    }
    if (!found) skip();
}

/* Default options (IBP-proved stable neurons, IBP intersection): the boxes of the
 * LP may cut the relaxed set, so the backward margin can only be <= the LP. */
static void crown_never_above_lp_optimum_with_ibp_intersection(void **state)
{
    (void)state;
    test_rng rng = {44};
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = 0; a < TB_N_ACTS; a += fam ? 3 : 1) {
            nn_model m;
            tb_build(&m, &rng, fam, tb_acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o;
            bound_options_default(&o);
            bound_state st;
            tb_compute(&m, &o, x0, NORM_INF, fam ? 0.04 : 0.15, 1, &st);
            check_against_lp(&st, 0, 0);
            bound_state_free(&st);
            free(x0);
            model_free(&m);
        }
}

/* LBP's intermediate bounds are not the relaxed set's own, so the LP of LBP's
 * relaxation is only an upper limit: LBP <= CROWN-LBP (same lines, see
 * test_bound_props) <= the LP optimum, per margin row; every LBP intermediate
 * bound <= its LP optimum likewise. */
static void lbp_and_crown_lbp_never_above_lp_optimum(void **state)
{
    (void)state;
    test_rng rng = {45};
    nn_error err;
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = fam; a < TB_N_ACTS; a += fam ? 2 : 1) { /* CNNs: half the activations */
            nn_model m;
            tb_build(&m, &rng, fam, tb_acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o = exact_crown(METHOD_LBP, LINES_ADAPTIVE);
            bound_state sl, sc;
            norm_type p = (a / 2 + (size_t)fam) % 2 ? NORM_1 : NORM_INF;
            double eps = p == NORM_1 ? 0.3 : (fam ? 0.03 : 0.1);
            tb_compute(&m, &o, x0, p, eps, p == NORM_INF, &sl);
            o.method = METHOD_CROWN_LBP;
            tb_compute(&m, &o, x0, p, eps, p == NORM_INF, &sc);
            /* every LBP bound <= the LP optimum (LBP <= back-substitution with the same
             * lines <= LP), equal at the first nonlinear layer (exact there) */
            check_against_lp(&sl, 0, 1);
            int f = 0;
            while (!sl.pre_lower[f]) f++;
            check_layer_lp(&sl, f, 1);
            size_t no = model_output_size(&m);
            double *C = malloc(no * no * sizeof *C), *ll = malloc(no * sizeof *ll), *cl = malloc(no * sizeof *cl);
            assert_true(C && ll && cl);
            size_t rows = margin_rows(&m, x0, C);
            assert_int_equal(bound_spec(&sl, C, rows, no, NULL, ll, NULL, &err), NN_OK);
            assert_int_equal(bound_spec(&sc, C, rows, no, NULL, cl, NULL, &err), NN_OK);
            lp_build P;
            lp_make(&P, &sl, m.n_layers, 0);
            lp_solver S;
            lp_solver_init(&S, &P);
            for (size_t r = 0; r < rows; r++) {
                double v = lp_min(&S, P.off[m.n_layers - 1], C + r * no, no);
                compare(ll[r], cl[r], -1, 0, "LBP vs CROWN-LBP margin", m.n_layers, r);
                compare(cl[r], v, -1, 0, "CROWN-LBP margin", m.n_layers, r);
            }
            lp_solver_free(&S);
            lp_build_free(&P);
            free(C), free(ll), free(cl);
            bound_state_free(&sl);
            bound_state_free(&sc);
            free(x0);
            model_free(&m);
        }
}

/* ReLU's triangle (the convex hull: a >= 0, a >= z, a <= chord) is contained in
 * every CROWN relaxation (lower line a*z with a in [0, 1]) with the same bounds, so
 * its LP optimum is at least CROWN's bound; on these nets it is strictly better
 * for some rows (the comparison has teeth). */
static void triangle_lp_at_least_crown_relu(void **state)
{
    (void)state;
    test_rng rng = {46};
    nn_error err;
    int better = 0;
    for (int fam = 0; fam < 2; fam++)
        for (int s = 0; s < 3; s++) {
            nn_model m;
            tb_build(&m, &rng, fam, LAYER_RELU);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o = exact_crown(METHOD_CROWN, (line_strategy)s);
            bound_state st;
            tb_compute(&m, &o, x0, NORM_INF, fam ? 0.04 : 0.12, 0, &st);
            size_t no = model_output_size(&m);
            double *C = malloc(no * no * sizeof *C), *lb = malloc(no * sizeof *lb);
            assert_true(C && lb);
            size_t rows = margin_rows(&m, x0, C);
            assert_int_equal(bound_spec(&st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
            lp_build Pl, Pt;
            lp_make(&Pl, &st, m.n_layers, 0);
            lp_make(&Pt, &st, m.n_layers, 1);
            lp_solver Sl, St;
            lp_solver_init(&Sl, &Pl);
            lp_solver_init(&St, &Pt);
            for (size_t r = 0; r < rows; r++) {
                double vl = lp_min(&Sl, Pl.off[m.n_layers - 1], C + r * no, no);
                double vt = lp_min(&St, Pt.off[m.n_layers - 1], C + r * no, no);
                compare(lb[r], vl, -1, 1, "CROWN margin", m.n_layers, r);
                better += compare(lb[r], vt, -1, 0, "CROWN vs triangle margin", m.n_layers, r);
                compare(vl, vt, -1, 0, "line LP vs triangle LP", m.n_layers, r);
            }
            lp_solver_free(&Sl);
            lp_solver_free(&St);
            lp_build_free(&Pl);
            lp_build_free(&Pt);
            free(C), free(lb);
            bound_state_free(&st);
            free(x0);
            model_free(&m);
        }
    assert_true(better > 0);
}

/* The comparison sees a bound moved by 1e-6 relative either way. */
/* Residual graphs: the backward pass sums the rows of every reader of an output
 * before they meet its relaxation, which is the LP's dual there too (an output's
 * multiplier is the sum of its readers'), so Theorem 1 holds on graphs. */
static void crown_equals_lp_optimum_residual_graphs(void **state)
{
    (void)state;
    test_rng rng = {43};
    layer_type acts[] = {LAYER_RELU, LAYER_TANH};
    /* the conv graphs (hundreds of neurons, two LPs each) in one configuration */
    for (int fam = 0; fam < TB_N_RES; fam++)
        for (int a = 0; a < (fam ? 1 : 2); a++) {
            nn_model m;
            tb_build_res(&m, &rng, fam, acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.1, 0.9);
            for (int v = fam ? fam : 0; v < (fam ? fam + 1 : 3); v++) { /* l_inf, l_inf clipped, l1 */
                bound_options o = exact_crown(v == 2 ? METHOD_FASTLIN : METHOD_CROWN, LINES_ADAPTIVE);
                o.dense_rows = v == 1;
                bound_state st;
                tb_compute(&m, &o, x0, v < 2 ? NORM_INF : NORM_1, v < 2 ? 0.02 : 0.2, v == 1, &st);
                check_against_lp(&st, 1, 1);
                bound_state_free(&st);
            }
            free(x0);
            model_free(&m);
        }
}

static void lp_check_sees_a_bound_moved_past_the_optimum(void **state)
{
    (void)state;
    test_rng rng = {47};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    bound_options o = exact_crown(METHOD_CROWN, LINES_ADAPTIVE);
    bound_state st;
    tb_compute(&m, &o, x0, NORM_INF, 0.1, 0, &st);
    lp_build P;
    lp_make(&P, &st, 3, 0); /* layer 3: the second activation */
    lp_solver S;
    lp_solver_init(&S, &P);
    for (size_t k = 0; k < 10; k++) {
        double one = 1.0, minus = -1.0;
        double lo = lp_min(&S, in_col(&P, 3, k), &one, 1), hi = -lp_min(&S, in_col(&P, 3, k), &minus, 1);
        double dl = 1e-6 * (1 + fabs(lo)), du = 1e-6 * (1 + fabs(hi));
        assert_int_equal(lp_verdict(st.pre_lower[3][k], lo, -1), 0);
        assert_int_equal(lp_verdict(st.pre_lower[3][k] + dl, lo, -1), -1);
        assert_int_equal(lp_verdict(st.pre_lower[3][k] - dl, lo, -1), 1);
        assert_int_equal(lp_verdict(st.pre_upper[3][k], hi, +1), 0);
        assert_int_equal(lp_verdict(st.pre_upper[3][k] - du, hi, +1), -1);
        assert_int_equal(lp_verdict(st.pre_upper[3][k] + du, hi, +1), 1);
    }
    lp_solver_free(&S);
    lp_build_free(&P);
    bound_state_free(&st);
    free(x0);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crown_equals_lp_optimum_every_neuron_mlp),
        cmocka_unit_test(crown_equals_lp_optimum_cnn_with_maxpool_planes),
        cmocka_unit_test(crown_equals_lp_optimum_zoo_mlp),
        cmocka_unit_test(crown_never_above_lp_optimum_with_ibp_intersection),
        cmocka_unit_test(lbp_and_crown_lbp_never_above_lp_optimum),
        cmocka_unit_test(triangle_lp_at_least_crown_relu),
        cmocka_unit_test(crown_equals_lp_optimum_residual_graphs),
        cmocka_unit_test(lp_check_sees_a_bound_moved_past_the_optimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
