/* LP-ALL and LP-LAST (doc/lp.md "Methods"): the LP of bound_lp_build.c solved by
 * COIN-OR Clp, one objective per bounded row and side, warm-started inside a block
 * of rows (the constraints are shared, only the objective changes). The solver's
 * objective value is never used: every bound is bound_lp_lower of the duals Clp
 * returns, which is valid for any duals, so a wrong or inaccurate LP solution only
 * costs tightness. Each bound is then intersected with the cheaper sound bound
 * already known (CROWN's, IBP's), so LP-ALL >= CROWN and LP-LAST >= CROWN hold
 * exactly, not only up to rounding. */
#include "bound_lp.h"
#include "bound_crown.h"
#include "bound_ibp.h"
#include "bound_lp_build.h"
#include "bound_lp_safe.h"

#include <coin/Clp_C_Interface.h>
#include <math.h>
#include <stdlib.h>

/* Neurons per solver block: the largest divisor of row_block up to this, so that
 * ranges aligned to row_block (what schedulers hand out) are whole blocks. */
#define LP_BLOCK_MAX 16

int bound_lp_check_model(const nn_model *m, bound_method method, nn_error *err)
{
    if (method != METHOD_MILP) return NN_OK;
    for (int i = 0; i < m->n_layers; i++) {
        layer_type t = m->layers[i].type;
        if (layer_is_nonlinear(t) && t != LAYER_RELU && t != LAYER_LEAKY_RELU && t != LAYER_MAXPOOL2D)
            return nn_fail(err, NN_EUNSUPPORTED, "milp: layer %d is %s; the MILP encodes only relu, leaky_relu and "
                           "maxpool exactly (use lp-all or lp-last for this model)", i, layer_type_name(t));
    }
    return NN_OK;
}

int bound_lp_check_region(bound_method method, const bound_region *r, nn_error *err)
{
    return bound_method_check_norm(method, r->norm, err);
}

int bound_method_check_norm(bound_method method, norm_type p, nn_error *err)
{
    if (!bound_method_is_lp(method)) return NN_OK;
    if (p == NORM_2)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the l2 ball is not a polyhedron, so the LP and MILP methods take "
                       "only l_inf and l1 balls (for l2 use crown, fastlin, frown, crown-quad, lbp, crown-lbp, "
                       "crown-ibp or ibp)", method == METHOD_MILP ? "milp" : method == METHOD_LP_ALL ? "lp-all" : "lp-last");
    return NN_OK;
}

typedef struct {
    bound_lp P;
    Clp_Simplex *clp;
    double *obj, *r;
    int solved;
    unsigned char *root; /* the basis every block starts from (nc + nr), or NULL */
} lp_solver;

static void solver_close(lp_solver *S)
{
    if (S->clp) Clp_deleteModel(S->clp);
    free(S->obj), free(S->r);
    S->clp = NULL;
    S->obj = S->r = NULL;
}

/* A Clp model of P with objective obj, quiet, not solved; NULL out of memory. */
static Clp_Simplex *new_clp(const bound_lp *P, const double *obj)
{
    Clp_Simplex *clp = Clp_newModel();
    if (!clp) return NULL;
    Clp_setLogLevel(clp, 0);
    /* tight tolerances: the safe bound pays for dual infeasibility over the box */
    Clp_setPrimalTolerance(clp, 1e-9);
    Clp_setDualTolerance(clp, 1e-9);
    Clp_loadProblem(clp, P->nc, P->nr, P->start, P->index, P->value, P->clb, P->cub, obj, P->rlb, P->rub);
    return clp;
}

/* A fresh solver on S->P: the fixed state every block starts from. */
static int solver_open(lp_solver *S, nn_error *err)
{
    const bound_lp *P = &S->P;
    S->obj = calloc((size_t)P->nc, sizeof *S->obj);
    S->r = malloc((size_t)P->nc * sizeof *S->r);
    S->clp = S->obj ? new_clp(P, S->obj) : NULL;
    if (!S->obj || !S->r || !S->clp) {
        solver_close(S);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (solver)");
    }
    S->solved = 0;
    if (S->root) {
        Clp_copyinStatus(S->clp, S->root);
        S->solved = 1;
    }
    return NN_OK;
}

/* The root basis: the optimum of a canonical objective that depends only on the
 * LP (the sum of the columns cols[0 .. n)), solved once per call; every block
 * then starts from it, warm, and a row's bits do not depend on the rows asked.
 * Every member of a rank group solves it, so its time is the split's serial
 * part. Clp's presolve, then the primal simplex: on the 2x[100] MLP at eps
 * 0.02 this took the layer's root from 0.31 s (Clp_initialSolve, which picks
 * the dual simplex) to 0.12 s and the margin rows' from 0.34 s to 0.17 s; the
 * primal simplex without presolve was about as fast there but made
 * branch-and-bound leaves, whose fixed ReLUs presolve folds away, 1.3 times
 * slower (10x[20] MLP search: 35 s against 27 s; 29 s with presolve). Clp's
 * automatic perturbation would halve the roots again, but this Clp (1.17)
 * then fails an internal assertion on some of the random nets of
 * test_bound_lp_methods (ClpNonLinearCost::checkInfeasibilities, a known
 * tolerance bug: coin-or/Clp issue 173). */
static int solver_root(lp_solver *S, int first, size_t n, nn_error *err)
{
    int rc = solver_open(S, err);
    if (rc) return rc;
    for (size_t k = 0; k < n; k++) S->obj[first + (int)k] = 1.0;
    Clp_chgObjCoefficients(S->clp, S->obj);
    Clp_Solve *how = ClpSolve_new();
    if (!how) {
        solver_close(S);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (root options)");
    }
    ClpSolve_setPresolveType(how, 0, -1); /* presolve on */
    ClpSolve_setSolveType(how, 1, -1);    /* the primal simplex */
    Clp_initialSolveWithOptions(S->clp, how);
    ClpSolve_delete(how);
    size_t ns = (size_t)S->P.nc + (size_t)S->P.nr;
    S->root = malloc(ns);
    if (S->root) memcpy(S->root, Clp_statusArray(S->clp), ns);
    solver_close(S);
    return S->root ? NN_OK : nn_fail(err, NN_ENOMEM, "LP: out of memory (root basis)");
}

/* Clp stopped without an answer (status 4, numerical trouble, seen on nearly
 * degenerate LPs of branch-and-bound leaves): the same LP again from scratch by
 * the dual simplex, which then replaces the warm model. Deterministic: it happens
 * for the same LPs whatever the schedule. */
static void solve_again(lp_solver *S)
{
    Clp_Simplex *f = new_clp(&S->P, S->obj);
    if (!f) return;  /* the stopped model's duals still give a safe, looser bound */
    Clp_dual(f, 0);
    Clp_deleteModel(S->clp);
    S->clp = f;
}

/* Safe lower bound of min sum cval[k] x[cidx[k]] (sign = 1) or safe upper bound of
 * the max (sign = -1: min of the negated objective, negated back). */
static double solve(lp_solver *S, const int *cidx, const double *cval, double *neg, size_t cn, int sign)
{
    const double *c = cval;
    if (sign < 0) {
        for (size_t k = 0; k < cn; k++) neg[k] = -cval[k];
        c = neg;
    }
    for (size_t k = 0; k < cn; k++) S->obj[cidx[k]] = c[k];
    Clp_chgObjCoefficients(S->clp, S->obj);
    if (S->solved) Clp_primal(S->clp, 0);
    else Clp_initialSolve(S->clp);
    S->solved = 1;
    int status = Clp_status(S->clp);
    if (status != 0 && status != 1) solve_again(S);
    for (size_t k = 0; k < cn; k++) S->obj[cidx[k]] = 0;
    const double *y = Clp_dualRowSolution(S->clp);
    double b = y ? bound_lp_lower(&S->P, cidx, c, cn, y, S->r) : -INFINITY;
    return sign < 0 ? -b : b;
}

/* Does Clp's Farkas ray prove that P has no point? The safe bound of min 0 with
 * the ray as multipliers (either sign: Clp's convention aside) is above 0. */
static int ray_certifies(const bound_lp *P, Clp_Simplex *clp, double *r)
{
    double *ray = Clp_infeasibilityRay(clp);
    if (!ray) return 0;
    int empty = bound_lp_lower(P, NULL, NULL, 0, ray, r) > 0;
    for (int i = 0; !empty && i < P->nr; i++) ray[i] = -ray[i];
    if (!empty) empty = bound_lp_lower(P, NULL, NULL, 0, ray, r) > 0;
    Clp_freeRay(clp, ray);
    return empty;
}

/* The LP has no feasible point, proven rather than taken from Clp's status. Only
 * a sub-domain of branch and bound can be empty (its split constraints contradict
 * each other); a region never is. The ray of the primal simplex that found the
 * infeasibility is often no certificate; the dual simplex on the feasibility
 * problem (objective 0), from scratch, gives one (measured on 10x20 MLP leaves:
 * every such leaf certified this way, none by the primal ray). */
static int proven_empty(lp_solver *S)
{
    if (!Clp_isProvenPrimalInfeasible(S->clp)) return 0;
    if (ray_certifies(&S->P, S->clp, S->r)) return 1;
    /* S->obj is all zeros again once solve returns: the feasibility problem */
    Clp_Simplex *f = new_clp(&S->P, S->obj);
    if (!f) return 0;
    Clp_dual(f, 0);
    int empty = Clp_isProvenPrimalInfeasible(f) && ray_certifies(&S->P, f, S->r);
    Clp_deleteModel(f);
    return empty;
}

size_t bound_lp_block(size_t rb)
{
    size_t b = rb < LP_BLOCK_MAX ? rb : LP_BLOCK_MAX;
    while (rb % b) b--;
    return b;
}

/* Does neuron r of nonlinear layer L with bounds [l, u] need its LP? Not when it
 * is stable (its lines are exact) or settled, nor when L is fed directly by an
 * activation (MaxPool after ReLU): then the row is a_r = sigma(z_r), the LP
 * attains z_r = l_r and u_r (its own LP-ALL bounds, or exact ones), where the
 * relaxation pins a_r to the ends of its box [sigma(l_r), sigma(u_r)] up to the
 * lines' rounding, so the LP cannot beat that box, which CROWN's rows already
 * hold (bound_crown.c). */
static int needs_lp(const nn_model *m, int i, size_t r, double l, double u)
{
    const nn_layer *L = &m->layers[i];
    if (!(u > l)) return 0;
    if (i > 0 && layer_is_activation(m->layers[i - 1].type)) return 0;
    if (L->type == LAYER_MAXPOOL2D) return 1;
    return !relax_row_stable(L, r, l, u);
}

/* One layer's LP, kept from the first range of its rows asked for to the next
 * change of the state (bound_lp_rows_drop), so that a scheduler handing out the
 * layer's blocks one at a time (a dynamic split over ranks) does not rebuild it
 * and solve its root for each: CROWN's rows of the whole layer, and once a range
 * needs an LP, the LP and its root basis. A block's bits do not depend on it:
 * it starts from the root basis either way. */
struct bound_lp_rows {
    int layer;
    double *cl, *cu;   /* CROWN's rows of the whole layer */
    lp_solver S;       /* S.P built and S.root solved when built is set */
    int built;
};

void bound_lp_rows_drop(bound_work *w)
{
    struct bound_lp_rows *c = w->lp_rows;
    if (!c) return;
    solver_close(&c->S);
    bound_lp_free(&c->S.P);
    free(c->S.root);
    free(c->cl), free(c->cu);
    free(c);
    w->lp_rows = NULL;
}

/* Layer i's kept LP, CROWN's rows computed when new. */
static int layer_lp(bound_state *st, int i, size_t n, struct bound_lp_rows **out, nn_error *err)
{
    bound_work *w = st->work;
    struct bound_lp_rows *c = w->lp_rows;
    if (c && c->layer == i) {
        *out = c;
        return NN_OK;
    }
    bound_lp_rows_drop(w);
    c = calloc(1, sizeof *c);
    if (c) c->cl = malloc(n * sizeof *c->cl), c->cu = malloc(n * sizeof *c->cu);
    if (!c || !c->cl || !c->cu) {
        if (c) free(c->cl), free(c->cu);
        free(c);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (layer %d rows)", i);
    }
    c->layer = i;
    int rc = bound_crown_rows(st, i, 0, n, c->cl, c->cu, err);
    if (rc) {
        free(c->cl), free(c->cu), free(c);
        return rc;
    }
    w->lp_rows = c;
    *out = c;
    return NN_OK;
}

int bound_lp_layer_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    size_t n = shape_size(st->model->layers[i].in), B = bound_lp_block(w->rb);
    size_t blo = lo - lo % B, bhi = hi + (hi % B ? B - hi % B : 0);
    if (bhi > n) bhi = n;
    /* CROWN's rows for the whole layer: the box of the objective columns (and
     * the bound kept where the LP is not better) */
    struct bound_lp_rows *c = NULL;
    int rc = layer_lp(st, i, n, &c, err);
    if (rc) return rc;
    /* the LP's bounds of these blocks: kept in lower/upper, or scratch when NULL */
    size_t nb = bhi - blo;
    double *bl = malloc((nb ? nb : 1) * sizeof *bl), *bu = malloc((nb ? nb : 1) * sizeof *bu);
    if (!bl || !bu) {
        free(bl), free(bu);
        return nn_fail(err, NN_ENOMEM, "LP: out of memory (layer %d rows)", i);
    }
    memcpy(bl, c->cl + blo, nb * sizeof *bl);
    memcpy(bu, c->cu + blo, nb * sizeof *bu);
    lp_solver *S = &c->S;
    int any = 0; /* no LP to solve in these blocks: no LP built */
    for (size_t r = blo; r < bhi; r++) any |= needs_lp(st->model, i, r, c->cl[r], c->cu[r]);
    if (any && !c->built) {
        rc = bound_lp_build(st, i, c->cl, c->cu, &S->P, err);
        if (!rc) c->built = 1;
        if (!rc) rc = solver_root(S, bound_lp_in_col(&S->P, i, 0), n, err);
        if (rc) bound_lp_rows_drop(w);
    }
    if (!any) bhi = blo;
    /* A block's lower bounds first, then its upper bounds, each side a chain of
     * warm starts: min z_r's optimum lies near min z_r+1's, while max z_r's lies
     * across the polytope (alternating sides took 1.9 times the simplex
     * iterations on the 2x[100] MLP). */
    for (size_t b0 = blo; b0 < bhi && !rc; b0 += B) {
        size_t b1 = b0 + B < n ? b0 + B : n;
        if ((rc = solver_open(S, err))) break;
        for (int side = 1; side >= -1; side -= 2)
            for (size_t r = b0; r < b1; r++) {
                if (!needs_lp(st->model, i, r, c->cl[r], c->cu[r])) continue;
                int col = bound_lp_in_col(&S->P, i, r);
                double one = 1.0, neg, v = solve(S, &col, &one, &neg, 1, side);
                if (side > 0 && v > bl[r - blo]) bl[r - blo] = v;
                if (side < 0 && v < bu[r - blo]) bu[r - blo] = v;
            }
        solver_close(S);
    }
    if (!rc) {
        if (lower) memcpy(lower, bl + (lo - blo), (hi - lo) * sizeof *lower);
        if (upper) memcpy(upper, bu + (lo - blo), (hi - lo) * sizeof *upper);
    }
    free(bl), free(bu);
    return rc;
}

int bound_spec_row_settled(const bound_state *st, double l, int want_upper)
{
    return st->spec_sign_only && !want_upper && l > 0;
}

/* The specification rows' LPs, shared by every range of them. */
typedef struct {
    bound_state *st;
    lp_solver S;
    const double *C, *d;
    size_t ldc, no;
    int *cidx;
    double *cval;
    int want_lower, want_upper;
} spec_rows;

/* bound_range_fn: rows [lo, hi), each from the root basis (a row's bits do not
 * depend on the rows asked with it). lower/upper hold CROWN's bounds on entry and
 * are tightened; a row whose LP proves the sub-domain empty gets +inf and -inf,
 * which every process then sees. */
static int spec_range(void *ctx, size_t lo, size_t hi, double *lower, double *upper, nn_error *err)
{
    spec_rows *q = ctx;
    lp_solver *S = &q->S;
    int n = q->st->model->n_layers, rc = NN_OK;
    for (size_t r = lo; r < hi && !rc; r++) {
        size_t cn = 0;
        for (size_t o = 0; o < q->no; o++) {
            double c = q->C[r * q->ldc + o];
            if (c == 0) continue;
            q->cidx[cn] = bound_lp_in_col(&S->P, n, o);
            q->cval[cn++] = c;
        }
        double dr = q->d ? q->d[r] : 0, *l = lower + (r - lo), *u = upper + (r - lo);
        if (cn == 0) continue; /* a constant row: bound_spec has it exactly */
        if (bound_spec_row_settled(q->st, *l, q->want_upper)) continue;
        if ((rc = solver_open(S, err))) break;
        if (q->want_lower) {
            double v = solve(S, q->cidx, q->cval, q->cval + q->no, cn, 1);
            v = nextafter(v + dr, -INFINITY);
            if (v > *l) *l = v;
            if (proven_empty(S)) {  /* a sub-domain with no point: every row's bound is moot */
                *l = INFINITY, *u = -INFINITY;
                solver_close(S);
                break;
            }
        }
        if (q->want_upper) {
            double v = solve(S, q->cidx, q->cval, q->cval + q->no, cn, -1);
            v = nextafter(v + dr, INFINITY);
            if (v < *u) *u = v;
        }
        solver_close(S);
    }
    return rc;
}

int bound_lp_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                  double *upper, nn_error *err)
{
    const nn_model *m = st->model;
    int n = m->n_layers;
    size_t no = model_output_size(m);
    if (!st->opt.spec_upper) upper = NULL;
    if (!lower && !upper) return NN_OK;
    size_t open = 0; /* rows left to an LP: with none, no LP is built */
    for (size_t r = 0; r < rows; r++) open += !lower || !bound_spec_row_settled(st, lower[r], upper != NULL);
    if (!open) return NN_OK;
    spec_rows q = {.st = st, .C = C, .d = d, .ldc = ldc, .no = no, .want_lower = lower != NULL,
                   .want_upper = upper != NULL};
    int rc = bound_lp_build(st, n, NULL, NULL, &q.S.P, err);
    q.cidx = malloc(no * sizeof *q.cidx);
    q.cval = malloc(2 * no * sizeof *q.cval);
    /* the side not asked for rides along in scratch (the spreader moves both) */
    double *lo = lower ? lower : malloc(rows * sizeof *lo), *up = upper ? upper : malloc(rows * sizeof *up);
    if (!rc && (!q.cidx || !q.cval || !lo || !up)) rc = nn_fail(err, NN_ENOMEM, "LP: out of memory (specification rows)");
    for (size_t r = 0; !rc && r < rows; r++) {
        if (!lower) lo[r] = -INFINITY;
        if (!upper) up[r] = INFINITY;
    }
    if (!rc) rc = solver_root(&q.S, bound_lp_in_col(&q.S.P, n, 0), no, err);
    if (!rc) rc = st->spec_split ? st->spec_split(st->spec_ctx, rows, 1, spec_range, &q, lo, up, err)
                                 : spec_range(&q, 0, rows, lo, up, err);
    for (size_t r = 0; !rc && r < rows; r++)
        if (lo[r] == INFINITY && up[r] == -INFINITY) st->infeasible = 1;  /* bound_spec fills the rows */
    solver_close(&q.S);
    bound_lp_free(&q.S.P);
    free(q.S.root);
    free(q.cidx), free(q.cval);
    if (!lower) free(lo);
    if (!upper) free(up);
    return rc;
}
