/* The backward (CROWN) kernel: bounds on rows of a linear specification, by
 * walking coefficient rows from a layer back to the input (doc/bounds.md,
 * "Backward pass"; MaxPool planes as in doc/tilin.md "Use in the backward pass").
 * The kernel itself is bound_backward_kernel.h, compiled here once in double and
 * once in float (bound_options.single); this file holds what both share.
 *
 * A block of R specification rows lives in one matrix of M rows: until the first
 * nonlinear layer both sides are the same matrix (M = R); from there rows
 * [0, R) carry A_L for the lower bound and rows [R, 2R) A_U for the upper bound
 * (M = 2R; a side nobody asked for is never computed, M = R). Each row has a
 * constant c, the sum s of the absolute values of the terms folded into c, and a
 * rounding budget e (below). Affine layers: c += A.b_full and A <- A.M (dense:
 * one GEMM over all M rows; conv: transposed convolution through
 * layer_affine_adjoint). Activation layers: per coefficient sign the upper or the
 * lower line, in one pass that also folds the next affine layer's offset and
 * budget in. MaxPool: per sign the upper or the lower plane, scattered onto the
 * window inputs (overlapping windows add). Flatten is the identity on memory.
 *
 * Dead neurons cost nothing. A neuron whose two lines are both 0 (a ReLU with
 * u <= 0) contributes exactly 0 from there down, so when an activation layer sits
 * next to a dense layer, A is carried on its live neurons only ("packed" columns,
 * in ascending neuron order) and the dense layer's GEMM runs on W restricted to
 * the live rows above and the live columns below: with 75% dead neurons on both
 * sides it is a 16x smaller GEMM. The packed W copies are rebuilt when a commit
 * changes the live sets (bound_backward_commit). Dropping a zero term changes no
 * sum in exact arithmetic, and the selection depends only on committed layers, so
 * row ranges still give the same bits. An MLP's first affine block (normalize,
 * flatten, one dense layer) is crossed by one GEMM with its cached composite.
 *
 * Windowed rows (doc/bounds.md "Windowed rows"). A row of a conv-shaped layer's
 * neuron is 0 outside its receptive field, so identity rows of such layers start
 * as 1 x 1 windows [C x 1 x 1] at the neuron's cell and cross conv, avgpool,
 * normalize (layer_affine_adjoint_window), MaxPool and activation layers as
 * [C x h x w] windows: the block shares the size, each row has its origin (cells
 * outside the map are 0). Rows switch to the full map where the next window would
 * cover it, or before a dense layer, a packed activation or the first block's
 * composite. Each windowed step visits the window's cells of the map in (channel,
 * y, x) order, the neuron order of the full-map step, and leaves out only exact
 * zeros, which the full step skips or adds as +0: the same terms in the same order.
 * The conv adjoint's GEMM pads N to a multiple of 8 (layer_ops.c) so that dgemm
 * computes every column by its main kernel: double windowed rows are the bits of
 * full-map rows (bound_options.dense_rows; single-threaded OpenBLAS), and the
 * rounding budget below holds unchanged, since every windowed entry sums a subset
 * of the full entry's terms (at most K_j) in the same order.
 *
 * Concretization on the region B_p(x0, eps) (q dual of p), bound_concretize.c:
 *   L = A x0 - eps ||A||_q + c - e,   U = A x0 + eps ||A||_q + c + e
 * (float rows are converted to double first; the box variant likewise).
 *
 * Rounding, in two parts.
 * (1) Sums computed in double (constants c, concretization): each concretized
 * bound is moved outward by BOUND_REL_ALLOW (1e-10) times the sum of the absolute
 * values of its terms (bound_concretize.c), s being every |coefficient *
 * constant| folded into c on the way. A sum of n terms errs by at most
 * n*u_d*sum|terms| (u_d = 2^-53), so this covers n*depth up to ~1e6.
 * (2) Errors in the coefficient matrices A themselves, in the precision of the
 * kernel (unit roundoff u = 2^-53 double, 2^-24 float), go into the per-row
 * budget e. With G_j >= |input of layer j| over the region (the IBP box of that
 * input: vmag_j = |M_j| G_j comes free with IBP) the rounding of A_out = A M_j
 * (weights rounded to the kernel's precision, products and at most K_j terms per
 * entry) moves A_out . x_in by at most gamma(K_j + 2) |A| . vmag_j, with
 * gamma(n) = n u / (1 - n u), K_j = outputs (dense), Co kH kW (conv), kH kW
 * (avgpool); an activation's rounded coefficient y = fl(v s) moves y z by at most
 * u' |y| max(|l|, |u|), u' = (u + u_d)/(1 - u); a MaxPool input entry sums at
 * most T window terms, each bounded by |v coef| max(|l_in|,|u_in|), within
 * gamma(T + 2). Rows of W taken directly as a start are rounded once (u |W| G).
 * All of these are folded into e in the passes that already read A (ew and mph
 * weights built at each commit), so the budget costs one multiply-add per entry.
 * Float rows also need an absolute part, since a product or sum below FLT_MIN is
 * subnormal or flushed to 0 (OpenBLAS kernels may flush) and relative bounds fail
 * there: each such result errs by at most FLT_MIN, and an entry of A_out has at
 * most 2 K_j + 2 of them (products, sums, subnormal inputs read as 0: these last
 * cost at most FLT_MIN |M_j| G_j summed, ||vmag_j||_1), so crossing affine j costs
 * every row at most tau_j = FLT_MIN ((2 K_j + 3) ||G_j||_1 + ||vmag_j||_1),
 * an activation FLT_MIN (2 + |slopes|) max(|l|, |u|) summed, a MaxPool
 * (2 T + 2) FLT_MIN max(|l_in|, |u_in|) summed over its inputs. Every row of a block crosses the
 * same layers, so the block adds one scalar. Weights must be normal floats
 * (checked when the state is made): their conversion then stays relative.
 * The first block's own rows (the first nonlinear layer's exact bounds) carry no
 * per-step budget: when nothing below the block's top affine layer sums more than
 * one term (normalize and flatten below one dense, conv or avgpool layer: every zoo
 * model) each entry of the composite is exact up to two roundings, inside part 1.
 * A block that sums below its top (dense -> dense, conv -> avgpool) can cancel, so
 * its rows are widened by
 * gamma(sum_j K_j + 2) (|M_k| .. |M_1| G + |b| terms)_r, one pass of the |W|
 * copies per region (bound_first_block.c): every step's error gamma_j |A_j| |M_j| G_j
 * is below that, since |A_j| <= |M_k| .. |M_j+1| and G_j <= the chain at j.
 * Not covered: specification rows C in float, which never happen: margin rows (bound_spec),
 * the first block and exact first-layer bounds always run in double; only rows of
 * deeper layers (the bulk of the work) run in float when single is set.
 *
 * Residual graphs (doc/bounds.md "Residual graphs"; propagate_dag in the
 * kernel). Layers are walked in reverse order with one pending block per output
 * that rows reached, each with its own per-row arrays (a pool of max_live + 3
 * slots; the scratch buffer of out-of-place steps rotates among them). An add
 * copies its block to both inputs (exact; c, s, e stay with the first), blocks
 * meeting at an output are summed (merge: onto common windows, else full rows,
 * unpacked where their packing differs), and each sum adds u (|y| + |x|) . G_k
 * to e, G_k the box of output k (bound_box_dag), plus FLT_MIN ||G_k||_1 in
 * float. The offset of an affine layer is folded into the activation step above
 * it only when that activation alone reads it (affine_below), so no block meets
 * another with an offset folded in. The interval tail (stop > 0) bounds each
 * block left below stop on its output's box and adds the parts of a row.
 *
 * Row independence: every row's arithmetic depends only on the row (loops here
 * are per row), and the GEMMs of the adjoints see whole aligned blocks chosen by
 * the caller (bound.c), so a row's result does not depend on the request. */
#include "bound_backward.h"
#include "bound_concretize.h"
#include "bound_cost.h"
#include "nn_clock.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double unit_roundoff[2] = {UNIT_ROUNDOFF_D, UNIT_ROUNDOFF_F};

/* The activation layer whose output is dense layer j's input (through flattens), or -1. */
static int act_below(const nn_model *m, int j)
{
    int k = bound_in(m, j, 0);
    while (k >= 0 && m->layers[k].type == LAYER_FLATTEN) k = bound_in(m, k, 0);
    return k >= 0 && layer_is_activation(m->layers[k].type) ? k : -1;
}

/* The affine layer (not a flatten) right below layer j, through flattens, or -1;
 * on a residual graph only when j alone reads its output (and the flattens'):
 * then a pass folds its offset and budget into j's step, since no other rows
 * join them there (bound_backward.c, "Residual graphs"). */
static int affine_below(const bound_work *w, const nn_model *m, int j)
{
    int k = bound_in(m, j, 0);
    while (k >= 0 && m->layers[k].type == LAYER_FLATTEN) {
        if (w->n_cons[k + 1] != 1) return -1;
        k = bound_in(m, k, 0);
    }
    return k >= 0 && layer_is_affine(m->layers[k].type) && w->n_cons[k + 1] == 1 ? k : -1;
}

/* Activation i is committed with dead neurons: A next to a dense layer is packed. */
static int packed(const bound_work *w, int i) { return i >= 0 && w->live_gen[i] && w->n_live[i] < w->n_act[i]; }

/* A pass from layer top > first_nl needs the rounding magnitudes (vmag) of the
 * affine layers it crosses above prev_nl(top), which the IBP bounds at top fill
 * (bound_ibp.c); the callers compute them first (the layers below were filled when
 * they were committed). */
static int check_budget(const bound_state *st, int top, nn_error *err)
{
    const bound_work *w = st->work;
    if (top > w->first_nl && !w->ibp_valid[top])
        return nn_fail(err, NN_EARG, "backward pass from layer %d: its interval bounds (the rounding budget's "
                       "magnitudes) are not computed", top);
    return NN_OK;
}

/* One term x of a row against an offset (c += x b, s += |x| |b|) and the budget's
 * magnitudes (e += |x| v): the offset passes of full and windowed rows share it,
 * so both add the same terms in the same order. */
static inline void offset_term(double x, size_t k, const double *off, const double *offabs, const double *v,
                               double *acc, double *mag, double *err)
{
    if (off) {
        *acc += x * off[k];
        *mag += fabs(x) * offabs[k];
    }
    if (v) *err += fabs(x) * v[k];
}

/* Coefficient v of MaxPool output o on the side `upper` of the block: the plane
 * its sign selects (returned), its intercept into c with magnitude into s, and
 * the plane's budget weight into e. Full and windowed rows share it. */
static inline const double *plane_term(const relax_pool *p, size_t o, double v, int upper, const double *hl,
                                       const double *hu, double *acc, double *mag, double *err)
{
    int use_upper = (v >= 0) == upper;
    double t = v * (use_upper ? p->upper_icpt[o] : p->lower_icpt[o]);
    *acc += t;
    *mag += fabs(t);
    if (hl) *err += fabs(v) * (use_upper ? hu[o] : hl[o]);
    return (use_upper ? p->upper_coef : p->lower_coef) + o * (size_t)p->window;
}

/* The window origins of windowed rows (4 rb), made once. */
static int win_scratch(bound_work *w, nn_error *err)
{
    if (!w->win_org && !(w->win_org = nn_malloc(4 * w->rb * sizeof *w->win_org, "backward windows", err)))
        return NN_ENOMEM;
    return NN_OK;
}

int bound_backward_slots(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    if (w->n_slots) return NN_OK;
    int n = w->max_live + 3;
    if (n > BOUND_MAX_SLOTS)
        return nn_fail(err, NN_EUNSUPPORTED, "backward pass over the graph: up to %d outputs hold rows at once, more "
                       "than the %d supported", w->max_live, BOUND_MAX_SLOTS - 3);
    w->slot_buf = nn_calloc((size_t)n, sizeof *w->slot_buf, "backward row blocks", err);
    w->slot_row = nn_calloc((size_t)n, sizeof *w->slot_row, "backward row blocks", err);
    w->slot_org = nn_calloc((size_t)n, sizeof *w->slot_org, "backward row blocks", err);
    if (!w->slot_buf || !w->slot_row || !w->slot_org) return NN_ENOMEM;
    for (int q = 0; q < n; q++) {
        w->slot_buf[q] = q < 2 ? w->buf[q] : nn_malloc(2 * w->rb * w->maxw * sizeof(double), "backward row blocks", err);
        w->slot_row[q] = nn_malloc(6 * w->rb * sizeof(double), "backward row blocks", err);
        w->slot_org[q] = nn_malloc(4 * w->rb * sizeof(int), "backward row blocks", err);
        w->n_slots = q + 1;
        if (!w->slot_buf[q] || !w->slot_row[q] || !w->slot_org[q]) return NN_ENOMEM;
    }
    return NN_OK;
}

#define REAL double
#define SFX(name) name##_d
#define GEMM rows_dgemm
#define PREC 0
#include "bound_backward_kernel.h"
#undef REAL
#undef SFX
#undef GEMM
#undef PREC
void bound_backward_act_rows(const bound_state *st, size_t R, double *A, size_t lda, size_t nq, const double *ps,
                             const double *pt, const double *ns, const double *nt, const double *off,
                             const double *offabs, const double *ew, double *c, double *s, double *e)
{
    const bound_work *w = st->work;
    size_t r = 0;
    for (; w->rows4 && r + 4 <= R; r += 4)
        act_rows4_d(A + r * lda, lda, A + r * lda, lda, nq, NULL, NULL, ps, pt, ns, nt, off, offabs, ew, c + r, s + r,
                    e + r);
    for (; r < R; r++)
        act_row_d(A + r * lda, A + r * lda, nq, NULL, NULL, ps, pt, ns, nt, off, offabs, ew, c + r, s + r, e + r);
}

#define REAL float
#define SFX(name) name##_f
#define GEMM rows_sgemm
#define PREC 1
#include "bound_backward_kernel.h"
#undef REAL
#undef SFX
#undef GEMM
#undef PREC

int bound_backward_block(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                         size_t ldc, const double *d, const double *box_lo, const double *box_hi, double *lower,
                         double *upper, nn_error *err)
{
    /* float for rows of layers beyond the first block; specification rows,
     * the first block and its exact bounds stay in double */
    if (st->opt.single && !C && top > ((bound_work *)st->work)->first_nl)
        return backward_block_f(st, top, stop, R, idx, C, ldc, d, box_lo, box_hi, lower, upper, err);
    return backward_block_d(st, top, stop, R, idx, C, ldc, d, box_lo, box_hi, lower, upper, err);
}

int bound_backward_to_input(bound_state *st, int top, size_t R, const size_t *idx, double *A, size_t lda,
                            double *c, double *s, nn_error *err)
{
    bound_work *w = st->work;
    if (top > w->first_nl)
        return nn_fail(err, NN_EARG, "backward rows to the input: layer %d is above the first affine block", top);
    blk_d b, *pend = NULL;
    int rc = propagate_any_d(st, top, 0, R, idx, NULL, 0, NULL, 1, 0, &b, &pend, err);
    double *tmp = w->scratch + 2 * w->maxw;
    for (size_t r = 0; r < R && !rc; r++) {
        memcpy(A + r * lda, row_double_d(&b, r, w->n_in, tmp), w->n_in * sizeof *A);
        c[r] = b.c[r];
        s[r] = b.s[r];
    }
    free(pend);
    return rc;
}

int bound_backward_init(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int n = m->n_layers;
#define TABLE(ptr) (((ptr) = nn_calloc((size_t)n, sizeof *(ptr), "backward tables", err)) != NULL)
    if (!(TABLE(w->live_gen) && TABLE(w->live) && TABLE(w->n_live) && TABLE(w->n_act) && TABLE(w->pk) && TABLE(w->tau) &&
          TABLE(w->wc) && TABLE(w->wcf) && TABLE(w->wf) && TABLE(w->vmag) && TABLE(w->wc_gen[0]) &&
          TABLE(w->wc_gen[1]) && TABLE(w->gam[0]) && TABLE(w->gam[1]) && TABLE(w->ew[0]) && TABLE(w->ew[1]) &&
          TABLE(w->mph[0]) && TABLE(w->mph[1])))
        return NN_ENOMEM;
#undef TABLE
    for (int i = 0; i < n; i++) {
        const nn_layer *L = &m->layers[i];
        size_t ni = shape_size(L->in), no = shape_size(L->out);
        if (layer_is_activation(L->type)) {
            w->n_act[i] = ni;
            w->live[i] = nn_malloc(ni * sizeof *w->live[i], "backward packing", err);
            w->pk[i] = nn_malloc(8 * ni * sizeof *w->pk[i], "backward packing", err);
            for (int p = 0; p < 2; p++) w->ew[p][i] = nn_malloc(ni * sizeof *w->ew[p][i], "rounding budget", err);
            if (!w->live[i] || !w->pk[i] || !w->ew[0][i] || !w->ew[1][i]) return NN_ENOMEM;
        } else if (L->type == LAYER_MAXPOOL2D) {
            for (int p = 0; p < 2; p++)
                if (!(w->mph[p][i] = nn_malloc(2 * no * sizeof *w->mph[p][i], "rounding budget", err)))
                    return NN_ENOMEM;
        } else if (layer_is_affine(L->type)) {
            if (!(w->vmag[i] = nn_calloc(no, sizeof *w->vmag[i], "rounding budget", err))) return NN_ENOMEM;
            for (int p = 0; p < 2; p++)
                w->gam[p][i] = L->type == LAYER_FLATTEN ? 0.0 : bound_gamma(bound_adjoint_terms(L) + 2, unit_roundoff[p]);
            if (st->opt.single && (L->type == LAYER_DENSE || L->type == LAYER_CONV2D)) {
                size_t nw = layer_param_count(L) - (size_t)L->out_channels;
                if (!(w->wf[i] = nn_malloc(nw * sizeof *w->wf[i], "float weights", err))) return NN_ENOMEM;
                for (size_t k = 0; k < nw; k++) {
                    double x = fabs(L->weight[k]);
                    if (x != 0 && (x < FLT_MIN || x > FLT_MAX / 4))
                        return nn_fail(err, NN_EVALUE, "single precision: layer %d (%s) weight %zu = %g is outside "
                                       "float's normal range; use double precision", i, layer_type_name(L->type), k,
                                       L->weight[k]);
                    w->wf[i][k] = (float)L->weight[k];
                }
            }
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
        if (w->wcf) free(w->wcf[i]);
        if (w->wf) free(w->wf[i]);
        if (w->vmag) free(w->vmag[i]);
        for (int p = 0; p < 2; p++) {
            if (w->ew[p]) free(w->ew[p][i]);
            if (w->mph[p]) free(w->mph[p][i]);
        }
    }
    free(w->live_gen);
    free(w->live);
    free(w->n_live);
    free(w->n_act);
    free(w->pk);
    free(w->wc);
    free(w->wcf);
    free(w->wf);
    free(w->vmag);
    free(w->tau);
    for (int p = 0; p < 2; p++) {
        free(w->wc_gen[p]);
        free(w->gam[p]);
        free(w->ew[p]);
        free(w->mph[p]);
    }
    free(w->fb_pk);
    free(w->fb_pkf);
    free(w->win_org);
    for (int q = 0; q < w->n_slots; q++) {
        if (q >= 2) free(w->slot_buf[q]);
        free(w->slot_row[q]);
        free(w->slot_org[q]);
    }
    free(w->slot_buf);
    free(w->slot_row);
    free(w->slot_org);
}

void bound_backward_commit(bound_state *st, int layer)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    const nn_layer *L = &m->layers[layer];
    const double *pl = st->pre_lower[layer], *pu = st->pre_upper[layer];
    if (L->type == LAYER_MAXPOOL2D) {
        /* budget weight per output and plane: sum_k |coef_k| max|input_k| */
        const relax_pool *pp = &st->pools[layer];
        int W = pp->window, T = 1;
        if (L->stride[0] > 0 && L->stride[1] > 0)
            T = ((L->kernel[0] + L->stride[0] - 1) / L->stride[0]) * ((L->kernel[1] + L->stride[1] - 1) / L->stride[1]);
        for (size_t o = 0; o < pp->n_out; o++)
            for (int side = 0; side < 2; side++) {
                const double *coef = (side ? pp->upper_coef : pp->lower_coef) + o * (size_t)W;
                double h = 0;
                for (int k = 0; k < W; k++) {
                    int in = pp->inputs[o * (size_t)W + (size_t)k];
                    if (in >= 0) h += fabs(coef[k]) * bound_abs_max(pl[in], pu[in]);
                }
                for (int p = 0; p < 2; p++)
                    w->mph[p][layer][side * pp->n_out + o] = bound_gamma(T + 2, unit_roundoff[p]) * h * (1 + 1e-9);
            }
        /* float: each of an input entry's at most T products and sums may underflow,
         * whatever the plane's coefficients, so the absolute part is per input */
        if (st->opt.single) {
            double zs = 0;
            for (size_t i = 0; i < shape_size(L->in); i++) zs += bound_abs_max(pl[i], pu[i]);
            w->tau[layer] = (2.0 * T + 2) * FLT_MIN * zs * (1 + 1e-6);
        }
        return;
    }
    if (!layer_is_activation(L->type)) return;
    const relax_lines *ln = &st->lines[layer];
    size_t n = ln->n, k = 0;
    size_t *live = w->live[layer];
    for (size_t i = 0; i < n; i++)
        if (!(ln->lower_slope[i] == 0 && ln->upper_slope[i] == 0 && ln->lower_icpt[i] == 0 && ln->upper_icpt[i] == 0))
            live[k++] = i;
    w->n_live[layer] = k;
    w->live_gen[layer] = ++w->gen;
    /* budget weights: the line's own rounding plus the affine layer below */
    int fb = layer == w->first_nl && w->fb_gemm, ab = affine_below(w, m, layer);
    const double *v = fb ? w->fb_v : ab >= 0 ? w->vmag[ab] : NULL;
    if (st->opt.single) { /* float rows' absolute budget (header comment) */
        double ts = 0;
        for (size_t i = 0; i < n; i++)
            ts += (2 + fabs(ln->lower_slope[i]) + fabs(ln->upper_slope[i])) * bound_abs_max(pl[i], pu[i]);
        w->tau[layer] = FLT_MIN * ts * (1 + 1e-6);
    }
    for (int p = 0; p < 2; p++) {
        double u1 = (unit_roundoff[p] + UNIT_ROUNDOFF_D) / (1 - unit_roundoff[p]) * (1 + 1e-9);
        double g = fb ? bound_gamma((double)w->fb_rows + 4, unit_roundoff[p]) : ab >= 0 ? w->gam[p][ab] : 0.0;
        for (size_t i = 0; i < n; i++)
            w->ew[p][layer][i] = u1 * bound_abs_max(pl[i], pu[i]) + (v ? g * v[i] : 0.0);
    }
    /* packed lines, and the offset below folded into the step with its magnitudes:
     * the first block's composite c when its GEMM is used, else the affine layer's */
    const double *b = fb ? w->fb_c : ab >= 0 ? w->bfull[ab] : NULL;
    const double *babs = fb ? w->fb_cabs : ab >= 0 ? w->babs[ab] : NULL;
    double *pk = w->pk[layer];
    for (size_t q = 0; q < k; q++) {
        size_t i = live[q];
        pk[q] = ln->lower_slope[i];
        pk[n + q] = ln->lower_icpt[i];
        pk[2 * n + q] = ln->upper_slope[i];
        pk[3 * n + q] = ln->upper_icpt[i];
        pk[4 * n + q] = b ? b[i] : 0.0;
        pk[5 * n + q] = b ? babs[i] : 0.0;
        pk[6 * n + q] = w->ew[0][layer][i];
        pk[7 * n + q] = w->ew[1][layer][i];
    }
}
