/* Rows of a nonlinear layer's input by a linear pass: the backward pass (CROWN,
 * Fast-Lin) or the forward linear bounds (LBP), in aligned blocks of row_block rows,
 * with the rules that spare work (doc/bounds.md, "Backward pass"):
 *   skip_stable: rows whose neuron the IBP bound already proves stable (ReLU, leaky
 *     ReLU and ParamRamp on a single linear piece) keep the IBP bound and get no
 *     pass (a stable neuron's lines do not depend on its exact bounds);
 *   intersect_ibp: every computed row keeps the tighter side of its pass and IBP;
 *   on a branch-and-bound sub-domain (st->sub), skip_stable: rows its parent's
 *     bounds prove stable get no pass either (split neurons excepted), and every
 *     row's interval is narrowed by the parent's (stable_by_parent); and a row
 *     whose receptive cone meets no neuron the sub-domain changed keeps the
 *     parent's bound without a pass, which would give its bits again
 *     (bound_cone.c: CROWN and Fast-Lin rows through convolutions and pools;
 *     with any method a row fed directly by an activation the sub-domain takes
 *     from its parent, such as a MaxPool's above its split ReLU);
 *   a layer fed directly by an activation (MaxPool after ReLU), intersect_ibp on:
 *     the linear bound of a_r = sigma(z_r) through lines with slopes s >= 0 is
 *     s * (the linear bound of z_r, by the same lines below) + t, no better than
 *     s*u_r + t >= sigma(u_r) (lower side alike) when u_r itself came from that
 *     linear bound (or is exact), so such rows take the IBP box of the
 *     activation's output and no pass (up to rounding-level differences). Rows
 *     whose z_r was skipped as stable (IBP bound only) still get one, unless a_r
 *     is exactly 0 (both lines 0).
 * On a residual graph "directly" means the layer reads the activation's output
 * (its edge). A row's numbers do not depend on the range asked for: its block is
 * the aligned one, or, where every row gets its bits in any block
 * (bound_rows_block_free), the range is cut into blocks from its start. */
#include "bound_crown.h"
#include "blas_threads.h"
#include "bound_backward.h"
#include "bound_cone.h"
#include "bound_ibp.h"
#include "bound_lbp.h"

int bound_rows_block_free(const bound_state *st, int layer)
{
    const bound_work *w = st->work;
    const nn_model *m = st->model;
    bound_method meth = st->opt.method;
    if (!(meth == METHOD_CROWN || meth == METHOD_FASTLIN || meth == METHOD_CROWN_QUAD || meth == METHOD_LP_LAST))
        return 0;
    /* float GEMMs, and OpenBLAS threads (which split a GEMM by its shape), give
     * an entry bits that depend on the matrix; the composite first block and
     * dense layers are GEMMs over the block's rows (a dense layer feeding the
     * layer is not: its rows are copied, bound_backward_kernel.h start_rows) */
    if (st->opt.single || blas_threads_get() != 1 || w->fb_gemm || layer <= w->first_nl) return 0;
    int feed = bound_in(m, layer, 0);
    for (int j = 0; j < layer; j++)
        if (m->layers[j].type == LAYER_DENSE && j != feed) return 0;
    /* on a graph, a block of windowed rows meeting another at a fork is re-laid on
     * the smallest rectangle holding both windows, the largest over the block
     * (bound_backward_kernel.h, common_windows): the same for every row only when
     * the two branches to each add have the same stride (strides_agree) */
    return !w->dag || w->strides_agree;
}

/* Layer i is fed directly by an activation whose lines all have slopes >= 0 (see
 * the header comment); 1 if so. */
static int fed_by_activation(const bound_state *st, int i)
{
    int a = bound_in(st->model, i, 0);
    if (!st->opt.intersect_ibp || a < 0 || !layer_is_activation(st->model->layers[a].type)) return 0;
    const relax_lines *ln = &st->lines[a];
    for (size_t k = 0; k < ln->n; k++)
        if (!(ln->lower_slope[k] >= 0 && ln->upper_slope[k] >= 0)) return 0;
    return 1;
}

/* On a branch-and-bound sub-domain (st->sub), row r of layer i's interval [l, u]
 * narrowed by its parent's bounds, which hold on the sub-domain as the row's own
 * do (bound_compute intersects them in after the rows, with the split sides). 0
 * if the narrowed interval is empty, which leaves l and u as they were: the
 * domain is then empty, and bound_compute proves it from the same intersection. */
static int narrow_to_parent(const bound_state *st, int i, size_t r, double *l, double *u)
{
    const bound_subdomain *sub = st->sub;
    double nl = *l, nu = *u;
    bound_prior_clamp(sub->prior_lower ? sub->prior_lower[i] : NULL, sub->prior_upper ? sub->prior_upper[i] : NULL, r,
                      &nl, &nu);
    if (nl > nu) return 0;
    *l = nl, *u = nu;
    return 1;
}

/* A row its parent's bounds prove stable needs no pass: its lines, the exact
 * piece, do not depend on its bounds, and it keeps IBP's box narrowed by the
 * parent's bounds (merge_row). Nor does one whose narrowed interval is empty.
 * Split neurons keep theirs: under the later splits their pass may find the
 * other side (upper bound < 0 where the split says >= 0), a proof that the
 * domain is empty that no box finds. */
static int stable_by_parent(const bound_state *st, int i, size_t r)
{
    const bound_subdomain *sub = st->sub;
    const bound_work *w = st->work;
    if (sub->phase && sub->phase[i] && sub->phase[i][r]) return 0;
    double l = w->ibp_l[i][r], u = w->ibp_u[i][r];
    return !narrow_to_parent(st, i, r, &l, &u) || relax_row_stable(&st->model->layers[i], r, l, u);
}

/* Row r of layer i needs a linear pass (else its IBP bound is the answer). */
static int needs_pass(const bound_state *st, int i, int fed, size_t r)
{
    const bound_work *w = st->work;
    if (st->opt.skip_stable && relax_row_stable(&st->model->layers[i], r, w->ibp_l[i][r], w->ibp_u[i][r])) return 0;
    if (st->opt.skip_stable && st->sub && stable_by_parent(st, i, r)) return 0;
    if (st->sub && bound_cone_kept(st, i, r)) return 0;
    if (!fed) return 1;
    /* a_r's box is tightest unless z_r kept its IBP bound as a stable neuron */
    int a = bound_in(st->model, i, 0);
    const relax_lines *ln = &st->lines[a];
    if (a == w->first_nl || !st->opt.skip_stable ||
        !relax_row_stable(&st->model->layers[a], r, w->ibp_l[a][r], w->ibp_u[a][r]))
        return 0;
    return !(ln->lower_slope[r] == 0 && ln->upper_slope[r] == 0 && ln->lower_icpt[r] == 0 && ln->upper_icpt[r] == 0);
}

/* Prepares layer i's rows for a linear pass: its IBP bounds (and the feeding
 * activation's, where its box decides); 1 if the layer is fed by an activation. */
static int rows_prepare(bound_state *st, int i, int *fed, nn_error *err)
{
    int rc = bound_ibp_at(st, i, err);
    if (rc) return rc;
    *fed = fed_by_activation(st, i);
    int a = bound_in(st->model, i, 0);
    if (*fed && a != ((const bound_work *)st->work)->first_nl && (rc = bound_ibp_at(st, a, err))) return rc;
    return NN_OK;
}

int bound_row_costs(bound_state *st, int i, double *cost, nn_error *err)
{
    size_t n = shape_size(st->model->layers[i].in);
    int fed, rc = rows_prepare(st, i, &fed, err);
    if (rc) return rc;
    /* a pass costs microseconds to milliseconds, a row without one a copy of its
     * IBP bound (nanoseconds); 0.01 is chosen, not measured: any weight far below
     * 1 moves the cut by a few rows at most */
    for (size_t r = 0; r < n; r++) cost[r] = needs_pass(st, i, fed, r) ? 1.0 : 0.01;
    return NN_OK;
}

/* Row r's bounds from its pass (computed: bl, bu) and IBP, by intersect_ibp's rule. */
static void merge_row(const bound_state *st, int i, size_t r, int computed, double bl, double bu, double *l,
                      double *u)
{
    const bound_work *w = st->work;
    *l = w->ibp_l[i][r], *u = w->ibp_u[i][r];
    if (computed && !st->opt.intersect_ibp) {
        *l = bl, *u = bu;
    } else if (computed) {
        if (bl > *l) *l = bl;
        if (bu < *u) *u = bu;
    }
    /* so that what reads the rows (FROWN's choice of rows to optimize) sees the
     * neurons the parent proved stable as stable */
    if (st->sub) narrow_to_parent(st, i, r, l, u);
}

int bound_crown_select(bound_state *st, int i, size_t *idx, size_t *R, nn_error *err)
{
    int fed, rc = rows_prepare(st, i, &fed, err);
    if (rc) return rc;
    size_t n = shape_size(st->model->layers[i].in), k = 0;
    for (size_t r = 0; r < n; r++)
        if (needs_pass(st, i, fed, r)) idx[k++] = r;
    *R = k;
    return NN_OK;
}

void bound_crown_merge(const bound_state *st, int i, const size_t *idx, size_t R, const double *bl,
                       const double *bu, double *lower, double *upper)
{
    size_t n = shape_size(st->model->layers[i].in), k = 0;
    for (size_t r = 0; r < n; r++) {
        int computed = k < R && idx[k] == r;
        merge_row(st, i, r, computed, computed ? bl[k] : 0, computed ? bu[k] : 0, &lower[r], &upper[r]);
        k += computed;
    }
}

/* The backward pass of the R rows w->idx of layer i (block-free rows), their
 * bounds merged with IBP into lower/upper[r - lo]. */
static int free_block(bound_state *st, int i, size_t R, size_t lo, double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    if (R == 0) return NN_OK;
    int rc = bound_backward_block(st, i, 0, R, w->idx, NULL, 0, NULL, NULL, NULL, lower ? w->blk_l : NULL,
                                  upper ? w->blk_u : NULL, err);
    for (size_t k = 0; !rc && k < R; k++) {
        size_t r = w->idx[k];
        double l, u;
        merge_row(st, i, r, 1, lower ? w->blk_l[k] : w->ibp_l[i][r], upper ? w->blk_u[k] : w->ibp_u[i][r], &l, &u);
        if (lower) lower[r - lo] = l;
        if (upper) upper[r - lo] = u;
    }
    return rc;
}

/* Rows [lo, hi) of layer i whose bits do not depend on their block: blocks of
 * row_block rows that need a pass. On a map of several channels the rows go
 * cell by cell, a cell's channels side by side: their windows coincide, so the
 * kernel's activation steps take them four to a vector (act_rows4_crop). */
static int free_rows_pass(bound_state *st, int i, int fed, size_t lo, size_t hi, double *lower, double *upper,
                          nn_error *err)
{
    bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[i];
    size_t hw = (size_t)L->in.h * (size_t)L->in.w, C = (size_t)L->in.c, R = 0;
    int by_cell = hw > 1 && C > 1 && !st->opt.dense_rows;
    size_t n_order = by_cell ? hw * C : hi - lo;
    for (size_t k = 0; k < n_order; k++) {
        size_t r = by_cell ? (k % C) * hw + k / C : lo + k;
        if (r < lo || r >= hi) continue;
        if (needs_pass(st, i, fed, r)) {
            w->idx[R++] = r;
            if (R == w->rb) {
                int rc = free_block(st, i, R, lo, lower, upper, err);
                if (rc) return rc;
                R = 0;
            }
            continue;
        }
        double l, u;
        merge_row(st, i, r, 0, 0, 0, &l, &u);
        if (lower) lower[r - lo] = l;
        if (upper) upper[r - lo] = u;
    }
    return free_block(st, i, R, lo, lower, upper, err);
}

/* Rows [lo, hi) of layer i by the backward pass or by LBP (lbp), in aligned
 * blocks, skipping rows IBP proves stable (skip_stable) or whose box is tightest,
 * intersected with IBP. lower or upper may be NULL (the backward pass then skips
 * that side). */
int bound_linear_rows(bound_state *st, int i, int lbp, size_t lo, size_t hi, double *lower, double *upper,
                       nn_error *err)
{
    bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[i];
    size_t n = shape_size(L->in), rb = w->rb;
    int fed, rc = rows_prepare(st, i, &fed, err);
    if (rc) return rc;
    /* rows whose bits depend on their block go in aligned blocks; the others as asked */
    if (!lbp && bound_rows_block_free(st, i)) return free_rows_pass(st, i, fed, lo, hi, lower, upper, err);
    for (size_t blo = lo - lo % rb; blo < hi; blo += rb) {
        size_t bhi = blo + rb < n ? blo + rb : n, R = 0;
        for (size_t r = blo; r < bhi; r++) {
            if (lbp && (r < lo || r >= hi)) continue; /* LBP rows are concretized one by one */
            if (needs_pass(st, i, fed, r)) w->idx[R++] = r;
        }
        if (R) {
            rc = lbp ? bound_lbp_rows(st, i, w->idx, 0, R, w->blk_l, w->blk_u, err)
                         : bound_backward_block(st, i, 0, R, w->idx, NULL, 0, NULL, NULL, NULL, lower ? w->blk_l : NULL,
                                                upper ? w->blk_u : NULL, err);
            if (rc) return rc;
        }
        size_t k = 0;
        for (size_t r = blo; r < bhi; r++) {
            int computed = k < R && w->idx[k] == r;
            double l, u;
            merge_row(st, i, r, computed, computed && lower ? w->blk_l[k] : w->ibp_l[i][r],
                      computed && upper ? w->blk_u[k] : w->ibp_u[i][r], &l, &u);
            k += computed;
            if (r >= lo && r < hi) {
                if (lower) lower[r - lo] = l;
                if (upper) upper[r - lo] = u;
            }
        }
    }
    return NN_OK;
}

int bound_crown_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper, nn_error *err)
{
    return bound_linear_rows(st, i, 0, lo, hi, lower, upper, err);
}
