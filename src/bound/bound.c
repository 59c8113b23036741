/* The bound engine's driver: state, regions, methods, layer-row work units and
 * specification bounds (doc/bounds.md "Variants").
 *
 * src/bound is a stack; each file calls only the files below it:
 *   bound_work.h       workspace and rounding allowances
 *   bound_cost.c       flops and adjoint terms of affine layers
 *   bound_box.c        boxes through layers (the arithmetic of IBP)
 *   bound_concretize.c linear functions bounded on the region or a box
 *   bound_rows.c       plain-row backward steps (for FROWN, CROWN-Quad)
 *   bound_backward.c   the backward kernel (+ bound_backward_kernel.h)
 *   bound_first_block.c the first affine block as one cached composite
 *   bound_ibp.c        IBP bounds per nonlinear layer, cached
 *   bound_lbp.c        forward linear bounds
 *   bound_crown.c      layer rows by a linear pass (CROWN, Fast-Lin, LBP)
 *   bound_lp_safe.c    the safe bound of an LP from any duals
 *   bound_lp_build.c   the LP of the relaxation below a layer
 *   bound_lp.c, bound_milp.c   LP-ALL / LP-LAST rows (Clp) and MILP rows (Cbc)
 *   bound_quad.c, bound_frown.c   CROWN-Quad and FROWN
 *   bound_memory.c     the row block and the memory of a state, before it exists
 *   bound.c            this driver
 *   bound_source.c     the source of each neuron's bounds in a computed state
 * Caches that lower files read are filled from above: the driver computes the IBP
 * bounds at a layer (or the first block's budget) when it commits the layer, and
 * at the output before the specification pass; the kernel checks they are there.
 *
 * Layer by layer: for each nonlinear layer i (activation or MaxPool) in order,
 * the bounds of its input are computed (bound_layer_rows, any row range) and then
 * installed with its relaxation (bound_layer_commit). Rows [lo, hi) are always
 * computed as part of the aligned blocks [k*rb, (k+1)*rb) that cover them, so the
 * GEMMs a row goes through are the same whatever range was asked for: a range
 * gives bit-identical numbers to the full layer. Schedulers should hand out ranges
 * aligned to st->opt.row_block (resolved by bound_state_init) to avoid recomputing
 * the partial blocks at the edges. bound_compute hands each layer's rows to
 * st->rows_exec when one is set (bound_rows_fn): that is how a group of ranks
 * splits one image's neurons without the engine knowing about it.
 *
 * Per method, the input bounds of nonlinear layer i are:
 *   first nonlinear layer: exact bounds of the first affine block (LBP methods:
 *     from their own linear bounds there, which are that block, exact);
 *   IBP, CROWN-IBP: IBP from the committed bounds of the previous nonlinear layer;
 *   CROWN, Fast-Lin: the backward pass with identity rows, except rows whose neuron
 *     the IBP bound already proves stable (skip_stable: ReLU, leaky ReLU and
 *     ParamRamp on a single linear piece), intersected with IBP (intersect_ibp);
 *   LBP, CROWN-LBP: the forward linear bounds concretized (bound_lbp.c, which
 *     propagates the whole layer once, whatever range is asked for), with the
 *     same skip_stable and intersect_ibp rules (a stable neuron's lines do not
 *     depend on its exact bounds, so skipping its concretization changes no line).
 *   A layer fed directly by an activation (MaxPool after ReLU), intersect_ibp on,
 *     backward or LBP: the IBP box of the activation's output (bound_crown.c says
 *     why no pass is tighter).
 *   FROWN (bound_frown.c): CROWN on the aligned blocks first, then the rows CROWN
 *     leaves unstable optimized, one side at a time (its own passes in double);
 *     CROWN-Quad: CROWN's. LP-ALL and MILP (bound_lp.c): CROWN's rows, then an LP
 *     per side for each neuron CROWN leaves unstable; LP-LAST: CROWN's.
 * Specification rows (bound_spec): IBP the exact linear tail after the last
 * nonlinear layer on that layer's output box; LBP the output's linear bounds
 * split by the sign of C; every other method the backward pass. With
 * intersect_ibp, LBP and the backward methods also take the interval tail and
 * keep the tighter side. FROWN then optimizes the rows, CROWN-Quad adds its
 * quadratic bounds (bound_quad.c), the LP methods an LP per row (bound_lp.c) and
 * MILP a MILP per row (bound_milp.c), each keeping the tighter bound (doc/lp.md).
 *
 * Residual graphs (doc/bounds.md "Residual graphs"): the same per method; the
 * backward pass and the boxes follow the edges (bound_backward.c, bound_box.c),
 * LBP saves outputs read out of order, FROWN's passes follow the edges, and
 * CROWN-Quad keeps its linear bounds where a skip enters its tail. */
#include "bound_work.h"
#include "bound_backward.h"
#include "bound_box.h"
#include "bound_cone.h"
#include "bound_crown.h"
#include "bound_first_block.h"
#include "bound_frown.h"
#include "bound_ibp.h"
#include "bound_lbp.h"
#include "bound_lp.h"
#include "bound_memory.h"
#include "bound_milp.h"
#include "bound_quad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[METHOD_COUNT] = {
    [METHOD_IBP] = "ibp",   [METHOD_CROWN_IBP] = "crown-ibp", [METHOD_LBP] = "lbp",
    [METHOD_CROWN_LBP] = "crown-lbp", [METHOD_FASTLIN] = "fastlin", [METHOD_CROWN] = "crown",
    [METHOD_FROWN] = "frown", [METHOD_CROWN_QUAD] = "crown-quad",
    [METHOD_LP_LAST] = "lp-last", [METHOD_LP_ALL] = "lp-all", [METHOD_MILP] = "milp",
};

const char *bound_method_name(bound_method m) { return (m >= 0 && m < METHOD_COUNT) ? method_names[m] : "?"; }

int bound_method_parse(const char *name)
{
    if (!name) return -1;
    /* the paper's LP-GREEDY is Wong and Kolter's dual, which is Fast-Lin (doc/lp.md) */
    if (!strcmp(name, "lp-greedy") || !strcmp(name, "lp_greedy")) return METHOD_FASTLIN;
    for (int i = 0; i < METHOD_COUNT; i++) {
        const char *a = method_names[i], *b = name;
        while (*a && (*a == *b || (*a == '-' && *b == '_'))) a++, b++;
        if (!*a && !*b) return i;
    }
    return -1;
}

const char *norm_name(norm_type p)
{
    switch (p) {
    case NORM_INF: return "inf";
    case NORM_1: return "1";
    case NORM_2: return "2";
    default: return "?";
    }
}

static const char *const scope_names[] = {[FROWN_LAYERS_AUTO] = "auto", [FROWN_LAYERS_ALL] = "all",
                                          [FROWN_LAYERS_SPEC] = "spec"};

const char *frown_scope_name(frown_scope s) { return (unsigned)s < 3 ? scope_names[s] : "?"; }

int frown_scope_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, scope_names[i])) return i;
    return -1;
}

int norm_parse(const char *name)
{
    if (!name) return -1;
    if (!strcmp(name, "inf") || !strcmp(name, "linf") || !strcmp(name, "Linf")) return NORM_INF;
    if (!strcmp(name, "1") || !strcmp(name, "l1")) return NORM_1;
    if (!strcmp(name, "2") || !strcmp(name, "l2")) return NORM_2;
    return -1;
}

void bound_options_default(bound_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->method = METHOD_CROWN;
    opt->strategy = LINES_ADAPTIVE;
    opt->pool = POOL_TILIN;
    opt->single = 0;
    opt->skip_stable = 1;
    opt->intersect_ibp = 1;
    opt->row_block = 0;
    opt->frown_group = 1;
    opt->frown_iters = 100;
    opt->frown_lr = 0.1;
    opt->frown_patience = 5;
    opt->frown_threshold = 0.01;
    opt->frown_warm = 1;
    opt->frown_beta = 1;
    opt->spec_upper = 0;
    opt->quad_iters = 200;
    opt->lp_cuts = 3;
    opt->milp_time_limit = 60;
}



/* Does every add read two outputs of the same cumulative stride from the input?
 * Then a row's two windows at the fork its branches start from are offset alike
 * in every row (bound_rows_block_free). */
static int strides_agree(const nn_model *m, nn_error *err)
{
    int n = m->n_layers, agree = 1;
    long *sy = nn_malloc(2 * (size_t)(n > 0 ? n : 1) * sizeof *sy, "graph strides", err);
    if (!sy) return -1;
    long *sx = sy + n;
    for (int j = 0; j < n && agree; j++) {
        const nn_layer *L = &m->layers[j];
        int a = bound_in(m, j, 0);
        long y = a >= 0 ? sy[a] : 1, x = a >= 0 ? sx[a] : 1;
        if (L->type == LAYER_ADD) {
            int b = bound_in(m, j, 1);
            agree = (b >= 0 ? sy[b] : 1) == y && (b >= 0 ? sx[b] : 1) == x;
        } else if (layer_is_spatial(L->type)) {
            if (y > (1L << 30) / L->stride[0] || x > (1L << 30) / L->stride[1]) agree = 0;
            y *= L->stride[0], x *= L->stride[1];
        }
        sy[j] = y, sx[j] = x;
    }
    free(sy);
    return agree;
}

/* The graph's structure (doc/bounds.md "Residual graphs"): consumers of every
 * output, and for a graph the most outputs holding pending rows at once (at the
 * step of layer j: the outputs k < j read by a layer >= j, or the model output)
 * and its box cache. */
static int graph_init(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int n = m->n_layers;
    w->dag = !model_is_sequential(m);
    BOUND_ALLOC(w->n_cons, (size_t)n + 1, "graph structure");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < (m->layers[i].type == LAYER_ADD ? 2 : 1); k++) w->n_cons[bound_in(m, i, k) + 1]++;
    w->n_cons[n]++; /* the model output */
    if (!w->dag) return NN_OK;
    if ((w->strides_agree = strides_agree(m, err)) < 0) return NN_ENOMEM;
    w->max_live = bound_graph_max_live(m);
    BOUND_ALLOC(w->dag_lo, (size_t)n + 1, "interval boxes");
    BOUND_ALLOC(w->dag_hi, (size_t)n + 1, "interval boxes");
    BOUND_ALLOC(w->dag_g, (size_t)n + 1, "interval boxes");
    BOUND_ALLOC(w->dag_valid, (size_t)n + 1, "interval boxes");
    for (int k = -1; k < n; k++) {
        size_t sz = k < 0 ? w->n_in : shape_size(m->layers[k].out);
        BOUND_ALLOC(w->dag_lo[k + 1], sz, "interval boxes");
        BOUND_ALLOC(w->dag_hi[k + 1], sz, "interval boxes");
        BOUND_ALLOC(w->dag_g[k + 1], sz, "interval boxes");
    }
    return NN_OK;
fail:
    return err ? err->code : NN_ENOMEM;
}

static int next_nl(const nn_model *m, int i)
{
    for (int k = i + 1; k < m->n_layers; k++)
        if (layer_is_nonlinear(m->layers[k].type)) return k;
    return m->n_layers;
}

/* Copy of affine layer L whose forward map is |M| x (no offset): IBP radius. */
static int make_abs_layer(const nn_layer *L, nn_layer *A, nn_error *err)
{
    *A = *L;
    A->weight = A->bias = A->mean = A->std = A->r = NULL;
    if (L->type == LAYER_DENSE || L->type == LAYER_CONV2D) {
        size_t nw = layer_param_count(L) - (size_t)L->out_channels;
        A->weight = nn_malloc(nw * sizeof(double), "|W| copy", err);
        A->bias = nn_calloc((size_t)L->out_channels, sizeof(double), "|W| copy", err);
        if (!A->weight || !A->bias) return NN_ENOMEM;
        for (size_t k = 0; k < nw; k++) A->weight[k] = fabs(L->weight[k]);
    } else if (L->type == LAYER_NORMALIZE) {
        A->mean = nn_calloc((size_t)L->in.c, sizeof(double), "|W| copy", err);
        A->std = nn_malloc((size_t)L->in.c * sizeof(double), "|W| copy", err);
        if (!A->mean || !A->std) return NN_ENOMEM;
        memcpy(A->std, L->std, (size_t)L->in.c * sizeof(double));
    }
    return NN_OK;
}

static void work_free(bound_work *w, const nn_model *m)
{
    if (!w) return;
    int n = m->n_layers;
    free(w->prev_nl);
    if (w->abs_layers)
        for (int i = 0; i < n; i++) layer_free(&w->abs_layers[i]);
    free(w->abs_layers);
    if (w->bfull)
        for (int i = 0; i < n; i++) free(w->bfull[i]);
    free(w->bfull);
    if (w->babs)
        for (int i = 0; i < n; i++) free(w->babs[i]);
    free(w->babs);
    free(w->x0);
    free(w->box_lo);
    free(w->box_hi);
    if (w->ibp_l)
        for (int i = 0; i <= n; i++) free(w->ibp_l[i]);
    if (w->ibp_u)
        for (int i = 0; i <= n; i++) free(w->ibp_u[i]);
    free(w->ibp_l);
    free(w->ibp_u);
    free(w->ibp_valid);
    if (w->last_commit)
        for (int i = 0; i < n; i++) free(w->last_commit[i]);
    free(w->last_commit);
    free(w->last_commit_set);
    free(w->buf[0]);
    free(w->buf[1]);
    free(w->c);
    free(w->s);
    free(w->e);
    bound_backward_free(w, m);
    bound_first_block_free(w);
    free(w->blk_l);
    free(w->blk_u);
    free(w->idx);
    free(w->scratch);
    free(w->l1_sel);
    free(w->l1_buf);
    free(w->l1_bucket);
    if (w->dag_lo)
        for (int i = 0; i <= n; i++) free(w->dag_lo[i]);
    if (w->dag_hi)
        for (int i = 0; i <= n; i++) free(w->dag_hi[i]);
    if (w->dag_g)
        for (int i = 0; i <= n; i++) free(w->dag_g[i]);
    free(w->dag_lo);
    free(w->dag_hi);
    free(w->dag_g);
    free(w->dag_valid);
    free(w->n_cons);
    layer_workspace_free(&w->ws);
    bound_frown_free(w, m);
    bound_milp_free(w);
    bound_lp_rows_drop(w);
    bound_cone_free(w, n);
    free(w);
}

void bound_state_free(bound_state *st)
{
    if (!st || !st->model) return;
    const nn_model *m = st->model;
    for (int i = 0; i < m->n_layers; i++) {
        if (st->pre_lower) free(st->pre_lower[i]);
        if (st->pre_upper) free(st->pre_upper[i]);
        if (st->lines && layer_is_activation(m->layers[i].type)) relax_lines_free(&st->lines[i]);
        if (st->pools && m->layers[i].type == LAYER_MAXPOOL2D) relax_pool_free(&st->pools[i]);
    }
    free(st->pre_lower);
    free(st->pre_upper);
    free(st->lines);
    free(st->pools);
    free(st->out_lower);
    free(st->out_upper);
    bound_lbp_free(st);
    work_free(st->work, m);
    memset(st, 0, sizeof *st);
}

static int check_options(const bound_options *o, nn_error *err)
{
    if (o->method < 0 || o->method >= METHOD_COUNT)
        return nn_fail(err, NN_EARG,
                       "bound method %d is not one of ibp, crown-ibp, lbp, crown-lbp, fastlin, crown, frown, crown-quad, "
                       "lp-last, lp-all, milp", (int)o->method);
    if (!(o->milp_time_limit > 0) || !isfinite(o->milp_time_limit))
        return nn_fail(err, NN_EARG, "milp time limit %g s must be a finite number > 0", o->milp_time_limit);
    if (o->lp_cuts < 0 || o->lp_cuts > 64)
        return nn_fail(err, NN_EARG, "lp cuts %d must lie in [0, 64]", o->lp_cuts);
    if (o->strategy != LINES_ADAPTIVE && o->strategy != LINES_TIGHT && o->strategy != LINES_FASTLIN)
        return nn_fail(err, NN_EARG, "line strategy %d is not one of adaptive, tight, fastlin", (int)o->strategy);
    if (o->pool != POOL_TILIN && o->pool != POOL_DEEPPOLY && o->pool != POOL_CNNCERT && o->pool != POOL_INTERVAL)
        return nn_fail(err, NN_EARG, "maxpool method %d is not one of tilin, deeppoly, cnncert, interval",
                       (int)o->pool);
    if ((unsigned)o->frown_layers > FROWN_LAYERS_SPEC)
        return nn_fail(err, NN_EARG, "frown layers %d is not one of auto, all, spec", (int)o->frown_layers);
    return bound_frown_check_options(o, err);
}

int bound_state_init(bound_state *st, const nn_model *m, const bound_options *opt, nn_error *err)
{
    memset(st, 0, sizeof *st);
    if (!m || m->n_layers < 1) return nn_fail(err, NN_EARG, "bound engine: the model has no layers");
    if (opt) st->opt = *opt;
    else bound_options_default(&st->opt);
    int rc = check_options(&st->opt, err);
    if (rc) return rc;
    int n = m->n_layers;
    for (int i = 0; i < n; i++) {
        layer_type t = m->layers[i].type;
        if (!layer_is_affine(t) && !layer_is_nonlinear(t) && t != LAYER_ADD)
            return nn_fail(err, NN_EUNSUPPORTED, "bound engine: layer %d (%s) is not supported", i, layer_type_name(t));
        if (shape_size(m->layers[i].in) == 0 || shape_size(m->layers[i].out) == 0)
            return nn_fail(err, NN_ESHAPE, "bound engine: layer %d has an empty shape (model not finalized?)", i);
    }
    if (st->opt.method == METHOD_CROWN_QUAD && (rc = bound_quad_check_model(m, err))) return rc;
    if ((rc = bound_lp_check_model(m, st->opt.method, err))) return rc;
    st->model = m;
    bound_work *w;
    BOUND_ALLOC(w, 1, "bound workspace");
    st->work = w;
    w->n_in = model_input_size(m);
    w->maxw = w->n_in;
    for (int i = 0; i < n; i++) {
        size_t a = shape_size(m->layers[i].in), b = shape_size(m->layers[i].out);
        if (a > w->maxw) w->maxw = a;
        if (b > w->maxw) w->maxw = b;
    }
    w->first_nl = next_nl(m, -1);
    w->rows4 = !st->opt.one_row_steps && BOUND_CPU_HAS_V4();
    /* rows of a model with spatial layers may be windowed, whose concretization
     * must give the whole row's bits: sequential sums there (bound_concretize.c) */
    int spatial = 0;
    for (int i = 0; i < n; i++) spatial |= layer_is_spatial(m->layers[i].type);
    w->box_mode = spatial ? BOUND_BOX_SEQUENTIAL : w->rows4 ? BOUND_BOX_LANES_V4 : BOUND_BOX_LANES;
    BOUND_ALLOC(w->prev_nl, (size_t)n + 1, "bound workspace");
    for (int i = 0, last = -1; i <= n; i++) {
        w->prev_nl[i] = last;
        if (i < n && layer_is_nonlinear(m->layers[i].type)) last = i;
    }
    w->fb_rows = w->first_nl < n ? shape_size(m->layers[w->first_nl].in) : model_output_size(m);
    if ((rc = graph_init(st, err))) goto fail_rc;

    BOUND_ALLOC(st->pre_lower, (size_t)n, "pre-activation bounds");
    BOUND_ALLOC(st->pre_upper, (size_t)n, "pre-activation bounds");
    BOUND_ALLOC(st->lines, (size_t)n, "relaxation lines");
    BOUND_ALLOC(st->pools, (size_t)n, "maxpool planes");
    BOUND_ALLOC(w->abs_layers, (size_t)n, "|W| copies");
    BOUND_ALLOC(w->bfull, (size_t)n, "affine offsets");
    BOUND_ALLOC(w->babs, (size_t)n, "affine offsets");
    BOUND_ALLOC(w->ibp_l, (size_t)n + 1, "interval bounds");
    BOUND_ALLOC(w->ibp_u, (size_t)n + 1, "interval bounds");
    BOUND_ALLOC(w->ibp_valid, (size_t)n + 1, "interval bounds");
    BOUND_ALLOC(w->last_commit, (size_t)n, "interval bounds");
    BOUND_ALLOC(w->last_commit_set, (size_t)n, "interval bounds");
    for (int i = 0; i < n; i++) {
        const nn_layer *L = &m->layers[i];
        size_t ni = shape_size(L->in);
        if (layer_is_nonlinear(L->type)) {
            BOUND_ALLOC(st->pre_lower[i], ni, "pre-activation bounds");
            BOUND_ALLOC(st->pre_upper[i], ni, "pre-activation bounds");
            BOUND_ALLOC(w->ibp_l[i], ni, "interval bounds");
            BOUND_ALLOC(w->ibp_u[i], ni, "interval bounds");
            BOUND_ALLOC(w->last_commit[i], 2 * ni, "interval bounds");
            if (L->type == LAYER_MAXPOOL2D) {
                if ((rc = relax_pool_init(&st->pools[i], L, err))) goto fail_rc;
            } else if ((rc = relax_lines_init(&st->lines[i], ni, err))) {
                goto fail_rc;
            }
        } else {
            if ((rc = make_abs_layer(L, &w->abs_layers[i], err))) goto fail_rc;
            double *b;
            BOUND_ALLOC(b, shape_size(L->out), "affine offsets");
            layer_affine_offset(L, b);
            int nonzero = 0;
            for (size_t k = 0; k < shape_size(L->out); k++) nonzero |= b[k] != 0;
            if (nonzero) {
                w->bfull[i] = b;
                BOUND_ALLOC(w->babs[i], shape_size(L->out), "affine offsets");
                for (size_t k = 0; k < shape_size(L->out); k++) w->babs[i][k] = fabs(b[k]);
            } else {
                free(b);
            }
        }
    }
    size_t no = model_output_size(m);
    BOUND_ALLOC(w->ibp_l[n], no, "interval bounds");
    BOUND_ALLOC(w->ibp_u[n], no, "interval bounds");
    BOUND_ALLOC(st->out_lower, no, "output bounds");
    BOUND_ALLOC(st->out_upper, no, "output bounds");
    BOUND_ALLOC(w->x0, w->n_in, "region");
    BOUND_ALLOC(w->box_lo, w->n_in, "region");
    BOUND_ALLOC(w->box_hi, w->n_in, "region");

    size_t rb = bound_resolve_row_block(m, &st->opt);
    st->opt.row_block = w->rb = rb;
    BOUND_ALLOC(w->buf[0], 2 * rb * w->maxw, "backward coefficient block");
    BOUND_ALLOC(w->buf[1], 2 * rb * w->maxw, "backward coefficient block");
    BOUND_ALLOC(w->c, 2 * rb, "backward block");
    BOUND_ALLOC(w->s, 2 * rb, "backward block");
    BOUND_ALLOC(w->e, 2 * rb, "backward block");
    if ((rc = bound_backward_init(st, err))) goto fail_rc;
    bound_first_block_init(st);
    BOUND_ALLOC(w->blk_l, rb, "backward block");
    BOUND_ALLOC(w->blk_u, rb, "backward block");
    BOUND_ALLOC(w->idx, rb, "backward block");
    BOUND_ALLOC(w->scratch, 8 * w->maxw, "interval scratch");
    BOUND_ALLOC(w->l1_sel, 2 * w->n_in, "l1 concretization scratch");
    BOUND_ALLOC(w->l1_buf, 3 * w->n_in, "l1 concretization scratch");
    BOUND_ALLOC(w->l1_bucket, w->n_in, "l1 concretization scratch");
    if ((rc = bound_frown_init(st, err))) goto fail_rc;
    st->layers_done = 0;
    return NN_OK;
fail:
    rc = err ? err->code : NN_ENOMEM;
fail_rc:
    bound_state_free(st);
    return rc ? rc : NN_ENOMEM;
}

int bound_set_region(bound_state *st, const bound_region *region, nn_error *err)
{
    if (!st || !st->work) return nn_fail(err, NN_EARG, "bound_set_region: state not initialized");
    bound_work *w = st->work;
    int had_region = w->region_set;
    w->region_set = 0;
    bound_lp_rows_drop(w);
    if (!region || !region->center) return nn_fail(err, NN_EARG, "region: no centre given");
    if (!(region->eps >= 0) || !isfinite(region->eps))
        return nn_fail(err, NN_EARG, "region: eps = %g must be a finite number >= 0", region->eps);
    if (region->norm != NORM_INF && region->norm != NORM_1 && region->norm != NORM_2)
        return nn_fail(err, NN_EARG, "region: norm %d is not one of inf, 1, 2", (int)region->norm);
    int rc = bound_lp_check_region(st->opt.method, region, err);
    if (rc) return rc;
    int per_coord = region->clip && (region->clip_lo_v || region->clip_hi_v);
    if (per_coord && !(region->clip_lo_v && region->clip_hi_v))
        return nn_fail(err, NN_EARG, "region: per-coordinate clip box needs both its lower and upper bounds");
    if (region->clip && !per_coord &&
        !(isfinite(region->clip_lo) && isfinite(region->clip_hi) && region->clip_lo <= region->clip_hi))
        return nn_fail(err, NN_EARG, "region: clip box [%g, %g] is not a finite interval", region->clip_lo,
                       region->clip_hi);
    /* Same image (only eps changed): FROWN keeps its warm start. A per-coordinate
     * box is a new image every time (its bounds are not kept to compare). */
    int same = had_region && !per_coord && !st->region.clip_lo_v && region->norm == st->region.norm &&
               region->clip == st->region.clip &&
               (!region->clip || (region->clip_lo == st->region.clip_lo && region->clip_hi == st->region.clip_hi)) &&
               memcmp(w->x0, region->center, w->n_in * sizeof(double)) == 0;
    for (size_t j = 0; j < w->n_in; j++) {
        double x = region->center[j];
        double clo = per_coord ? region->clip_lo_v[j] : region->clip_lo;
        double chi = per_coord ? region->clip_hi_v[j] : region->clip_hi;
        if (!isfinite(x)) return nn_fail(err, NN_EVALUE, "region: centre[%zu] = %g is not finite", j, x);
        if (per_coord && !(isfinite(clo) && isfinite(chi) && clo <= chi))
            return nn_fail(err, NN_EARG, "region: clip box [%g, %g] of input %zu is not a finite interval", clo, chi, j);
        if (region->clip && (x < clo || x > chi))
            return nn_fail(err, NN_EARG, "region: centre[%zu] = %g lies outside the clip box [%g, %g]", j, x, clo, chi);
        w->x0[j] = x;
        double lo = x - region->eps, hi = x + region->eps;
        if (region->clip) {
            if (lo < clo) lo = clo;
            if (hi > chi) hi = chi;
        }
        w->box_lo[j] = lo;
        w->box_hi[j] = hi;
    }
    st->region = *region;
    st->region.center = region->center;
    for (int i = 0; i <= st->model->n_layers; i++) w->ibp_valid[i] = 0;
    for (int i = 0; i < st->model->n_layers; i++) w->last_commit_set[i] = 0;
    if (w->dag)
        for (int i = 0; i <= st->model->n_layers; i++) w->dag_valid[i] = 0;
    w->fb_e_valid = 0;
    bound_lbp_invalidate(st, -1);
    st->layers_done = w->first_nl;
    w->region_set = 1;
    bound_frown_new_region(st, same);
    return NN_OK;
}

/* l or u may be NULL (that side was not computed). */
static int check_finite_rows(int layer, size_t lo, size_t n, const double *l, const double *u, nn_error *err)
{
    for (size_t r = 0; r < n; r++)
        if ((l && !isfinite(l[r])) || (u && !isfinite(u[r])))
            return nn_fail(err, NN_ENUMERIC, "bounds of layer %d neuron %zu are [%g, %g] (not finite)", layer,
                           lo + r, l ? l[r] : NAN, u ? u[r] : NAN);
    return NN_OK;
}

static int check_layer(const bound_state *st, int i, const char *what, nn_error *err)
{
    if (!st || !st->work) return nn_fail(err, NN_EARG, "%s: state not initialized", what);
    if (!((bound_work *)st->work)->region_set) return nn_fail(err, NN_EARG, "%s: no region set", what);
    if (i < 0 || i >= st->model->n_layers || !layer_is_nonlinear(st->model->layers[i].type))
        return nn_fail(err, NN_EARG, "%s: layer %d is not a nonlinear layer of the model", what, i);
    if (i > st->layers_done)
        return nn_fail(err, NN_EARG, "%s: layer %d needs the layers before it committed (done up to %d)", what, i,
                       st->layers_done);
    return NN_OK;
}

int bound_layer_rows(bound_state *st, int layer, size_t row_lo, size_t row_hi, double *lower, double *upper,
                     nn_error *err)
{
    return bound_layer_rows_side(st, layer, row_lo, row_hi, BOUND_BOTH, lower, upper, err);
}

/* The exact first block (or LBP there) computes both sides at once; a single side
 * goes through scratch. The block's rows depend on the region alone (a
 * sub-domain's splits and parent's bounds are applied after them), and they are
 * the layer's interval bounds, which bound_ibp_at keeps for the region: the
 * whole layer, or rows of a layer it holds, are copied from there, so a
 * ReLU-phase search's domains, which share one region, do not concretize every
 * row again (LeNet: 2,304 sparse conv rows, a tenth of the samples). */
static int first_block_side(bound_state *st, int lbp, int layer, size_t lo, size_t hi, double *lower, double *upper,
                            nn_error *err)
{
    bound_work *w = st->work;
    if (!lbp && (w->ibp_valid[layer] || (lo == 0 && hi == w->fb_rows))) {
        int rc = bound_ibp_at(st, layer, err);
        if (rc) return rc;
        if (lower) memcpy(lower, w->ibp_l[layer] + lo, (hi - lo) * sizeof *lower);
        if (upper) memcpy(upper, w->ibp_u[layer] + lo, (hi - lo) * sizeof *upper);
        return NN_OK;
    }
    double *tmp = NULL;
    if (!lower || !upper) {
        if (!(tmp = nn_malloc((hi - lo) * sizeof *tmp, "first-layer bounds", err))) return NN_ENOMEM;
        if (!lower) lower = tmp;
        else upper = tmp;
    }
    int rc = lbp ? bound_lbp_rows(st, layer, NULL, lo, hi - lo, lower, upper, err)
                 : bound_first_block_rows(st, lo, hi, lower, upper, err);
    free(tmp);
    return rc;
}

int bound_layer_rows_side(bound_state *st, int layer, size_t row_lo, size_t row_hi, bound_side side,
                          double *lower, double *upper, nn_error *err)
{
    int rc = check_layer(st, layer, "bound_layer_rows", err);
    if (rc) return rc;
    if (side != BOUND_LOWER && side != BOUND_UPPER && side != BOUND_BOTH)
        return nn_fail(err, NN_EARG, "bound_layer_rows: side %d is not lower (1), upper (2) or both (3)", (int)side);
    if (!(side & BOUND_LOWER)) lower = NULL;
    if (!(side & BOUND_UPPER)) upper = NULL;
    if ((side & BOUND_LOWER && !lower) || (side & BOUND_UPPER && !upper))
        return nn_fail(err, NN_EARG, "bound_layer_rows: no output array for a requested side");
    bound_work *w = st->work;
    size_t n = shape_size(st->model->layers[layer].in);
    if (row_lo > row_hi || row_hi > n)
        return nn_fail(err, NN_EARG, "bound_layer_rows: rows [%zu, %zu) outside layer %d's %zu neurons", row_lo,
                       row_hi, layer, n);
    if (row_lo == row_hi) return NN_OK;
    bound_method m = st->opt.method;
    int lbp = m == METHOD_LBP || m == METHOD_CROWN_LBP;
    if (layer == w->first_nl) {
        /* LBP's linear bounds are exact there too and come at no extra cost */
        rc = first_block_side(st, lbp, layer, row_lo, row_hi, lower, upper, err);
    } else {
        if ((rc = bound_ibp_at(st, layer, err))) return rc;
        if (m == METHOD_IBP || m == METHOD_CROWN_IBP) {
            if (lower) memcpy(lower, w->ibp_l[layer] + row_lo, (row_hi - row_lo) * sizeof(double));
            if (upper) memcpy(upper, w->ibp_u[layer] + row_lo, (row_hi - row_lo) * sizeof(double));
        } else if (m == METHOD_FROWN && st->opt.frown_layers != FROWN_LAYERS_SPEC) {
            /* spec: the layers keep CROWN's bounds (doc/frown.md "Which layers") */
            rc = bound_frown_layer_rows(st, layer, row_lo, row_hi, lower, upper, err);
        } else if (bound_method_lp_layers(m)) {
            rc = bound_lp_layer_rows(st, layer, row_lo, row_hi, lower, upper, err);
        } else {
            rc = bound_linear_rows(st, layer, lbp, row_lo, row_hi, lower, upper, err);
        }
    }
    if (rc) return rc;
    return check_finite_rows(layer, row_lo, row_hi - row_lo, lower, upper, err);
}

int bound_rows_vary(const bound_state *st, int layer)
{
    const bound_work *w = st->work;
    bound_method m = st->opt.method;
    return bound_method_lp_layers(m) && layer != w->first_nl;
}

size_t bound_row_split_unit(const bound_state *st, int layer)
{
    const bound_work *w = st->work;
    if (bound_rows_vary(st, layer)) return bound_lp_block(w->rb);
    return bound_rows_block_free(st, layer) ? 1 : w->rb;
}

int bound_layer_commit(bound_state *st, int layer, const double *lower, const double *upper, nn_error *err)
{
    int rc = check_layer(st, layer, "bound_layer_commit", err);
    if (rc) return rc;
    bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[layer];
    size_t n = shape_size(L->in);
    bound_lp_rows_drop(w);
    if ((rc = check_finite_rows(layer, 0, n, lower, upper, err))) return rc;
    for (size_t r = 0; r < n; r++)
        if (lower[r] > upper[r])
            return nn_fail(err, NN_EVALUE, "bound_layer_commit: layer %d neuron %zu has lower %.17g > upper %.17g",
                           layer, r, lower[r], upper[r]);
    if (lower != st->pre_lower[layer]) memcpy(st->pre_lower[layer], lower, n * sizeof(double));
    if (upper != st->pre_upper[layer]) memcpy(st->pre_upper[layer], upper, n * sizeof(double));
    /* On a chain the interval box of every layer above depends on the committed
     * bounds below it alone (bound_ibp_at: from the nonlinear layer below), and a
     * commit whose bounds differ invalidates those above it. So a commit of the
     * bits this layer had at its last commit leaves them valid: a ReLU-phase
     * search's domains commit their parent's layers below the split, which are
     * mostly the previous domain's (LeNet: the conv layers' boxes each domain
     * recomputed had been a tenth of the samples). The relaxation, a function
     * of the bounds and the state's options alone, is still the one they made. */
    double *last = w->last_commit[layer];
    int same = w->last_commit_set[layer] && !memcmp(last, st->pre_lower[layer], n * sizeof *last) &&
               !memcmp(last + n, st->pre_upper[layer], n * sizeof *last);
    /* first, so that no failure below leaves boxes of other bounds valid */
    for (int k = layer + 1; !(same && !w->dag) && k <= st->model->n_layers; k++) w->ibp_valid[k] = 0;
    if (same) {
        rc = NN_OK;
    } else if (L->type == LAYER_MAXPOOL2D) {
        rc = relax_maxpool(L, st->pre_lower[layer], st->pre_upper[layer], st->opt.pool, &st->pools[layer], err);
    } else {
        line_strategy s = st->opt.method == METHOD_FASTLIN ? LINES_FASTLIN : st->opt.strategy;
        rc = relax_activation(L, 0, st->pre_lower[layer], st->pre_upper[layer], n, s, &st->lines[layer], err);
    }
    if (rc) {
        w->last_commit_set[layer] = 0; /* the relaxation is not the last bounds' */
        return nn_error_prefix(err, "relaxation of layer %d: ", layer);
    }
    if (!same) {
        memcpy(last, st->pre_lower[layer], n * sizeof *last);
        memcpy(last + n, st->pre_upper[layer], n * sizeof *last);
        w->last_commit_set[layer] = 1;
    }
    /* the caches the kernel's budget weights read: IBP at this layer, or the first
     * block's budget (the kernel never computes them itself) */
    rc = layer == w->first_nl ? bound_first_block_budget(st, err) : bound_ibp_at(st, layer, err);
    if (rc) return rc;
    bound_backward_commit(st, layer);
    st->layers_done = next_nl(st->model, layer);
    if (w->dag) /* outputs of layer >= layer */
        for (int k = layer + 1; k <= st->model->n_layers; k++) w->dag_valid[k] = 0;
    bound_lbp_invalidate(st, layer);
    return NN_OK;
}

/* Output bounds after all layers are committed. */
static int output_bounds(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int n = m->n_layers;
    size_t no = model_output_size(m);
    int rc;
    int exact_or_ibp = st->opt.method == METHOD_IBP || w->first_nl == n;
    if (exact_or_ibp || st->opt.intersect_ibp) {
        if ((rc = bound_ibp_at(st, n, err))) return rc;
        memcpy(st->out_lower, w->ibp_l[n], no * sizeof(double));
        memcpy(st->out_upper, w->ibp_u[n], no * sizeof(double));
        if (exact_or_ibp) return NN_OK;
    }
    if (st->opt.method == METHOD_LBP) {
        double *l = w->scratch, *u = w->scratch + w->maxw;
        if ((rc = bound_lbp_rows(st, n, NULL, 0, no, l, u, err))) return rc;
        for (size_t r = 0; r < no; r++) {
            if (!st->opt.intersect_ibp || l[r] > st->out_lower[r]) st->out_lower[r] = l[r];
            if (!st->opt.intersect_ibp || u[r] < st->out_upper[r]) st->out_upper[r] = u[r];
        }
        return NN_OK;
    }
    if ((rc = bound_ibp_at(st, n, err))) return rc; /* the backward pass's budget */
    for (size_t blo = 0; blo < no; blo += w->rb) {
        size_t R = no - blo < w->rb ? no - blo : w->rb;
        for (size_t r = 0; r < R; r++) w->idx[r] = blo + r;
        rc = bound_backward_block(st, n, 0, R, w->idx, NULL, 0, NULL, NULL, NULL, w->blk_l, w->blk_u, err);
        if (rc) return rc;
        for (size_t r = 0; r < R; r++) {
            double l = w->blk_l[r], u = w->blk_u[r];
            if (st->opt.intersect_ibp) {
                if (st->out_lower[blo + r] > l) l = st->out_lower[blo + r];
                if (st->out_upper[blo + r] < u) u = st->out_upper[blo + r];
            }
            st->out_lower[blo + r] = l;
            st->out_upper[blo + r] = u;
        }
    }
    return NN_OK;
}

/* A sub-domain's knowledge on layer i's bounds: the parent's bounds (when not
 * already taken as they are) and the split sides. 1 when a neuron's interval is
 * empty: no point of the region satisfies the constraints. Every bound involved is
 * sound on the sub-domain, so an empty intersection is a proof, not a rounding. */
static int apply_subdomain(const bound_subdomain *sub, int i, size_t n, int use_prior, double *lo, double *hi)
{
    const double *pl = use_prior && sub->prior_lower ? sub->prior_lower[i] : NULL;
    const double *pu = use_prior && sub->prior_upper ? sub->prior_upper[i] : NULL;
    const signed char *ph = sub->phase ? sub->phase[i] : NULL;
    int empty = 0;
    for (size_t r = 0; r < n; r++) {
        bound_prior_clamp(pl, pu, r, &lo[r], &hi[r]);
        if (ph && ph[r] > 0 && lo[r] < 0) lo[r] = 0.0;
        if (ph && ph[r] < 0 && hi[r] > 0) hi[r] = 0.0;
        empty |= lo[r] > hi[r];
    }
    return empty;
}

int bound_sub_keeps(const bound_state *st, int i, double *lo, double *hi, int *kept, nn_error *err)
{
    const bound_subdomain *sub = st->sub;
    const bound_work *w = st->work;
    *kept = 0;
    if (!sub || i >= sub->keep_below || i == w->first_nl) return NN_OK;
    if (!sub->prior_lower || !sub->prior_lower[i] || !sub->prior_upper || !sub->prior_upper[i])
        return nn_fail(err, NN_EARG, "bound_compute: sub-domain keeps layer %d but has no prior bounds for it", i);
    size_t n = shape_size(st->model->layers[i].in);
    memcpy(lo, sub->prior_lower[i], n * sizeof *lo);
    memcpy(hi, sub->prior_upper[i], n * sizeof *hi);
    *kept = 1;
    return NN_OK;
}

int bound_layer_settle(bound_state *st, int i, double *lo, double *hi, int kept, nn_error *err)
{
    const bound_subdomain *sub = st->sub;
    if (sub && apply_subdomain(sub, i, shape_size(st->model->layers[i].in), !kept, lo, hi)) {
        st->infeasible = 1;
        return NN_OK;
    }
    int rc = bound_layer_commit(st, i, lo, hi, err);
    if (!rc && sub) rc = bound_cone_note(st, i, err);
    return rc;
}

void bound_compute_start(bound_state *st)
{
    bound_work *w = st->work;
    st->layers_done = w->first_nl;
    st->infeasible = 0;
    bound_lp_rows_drop(w);  /* st->sub may have changed since the last rows */
    bound_cone_reset(w, st->model->n_layers);
}

int bound_compute(bound_state *st, nn_error *err)
{
    if (!st || !st->work) return nn_fail(err, NN_EARG, "bound_compute: state not initialized");
    bound_work *w = st->work;
    if (!w->region_set) return nn_fail(err, NN_EARG, "bound_compute: no region set");
    const nn_model *m = st->model;
    bound_compute_start(st);
    for (int i = w->first_nl; i < m->n_layers && !st->infeasible; i = next_nl(m, i)) {
        size_t n = shape_size(m->layers[i].in);
        double *lo = st->pre_lower[i], *hi = st->pre_upper[i];
        /* the first nonlinear layer is always computed: it is exact and cheap, and
         * computing it builds the first block's matrix, whose presence fixes the
         * rounding budgets of every later pass (kept layers stay the same bits) */
        int keep, rc = bound_sub_keeps(st, i, lo, hi, &keep, err);
        if (!rc && !keep)
            rc = st->rows_exec ? st->rows_exec(st->rows_ctx, st, i, n, lo, hi, err)
                               : bound_layer_rows(st, i, 0, n, lo, hi, err);
        if (!rc) rc = bound_layer_settle(st, i, lo, hi, keep, err);
        if (rc) return rc;
    }
    if (st->infeasible) return NN_OK;
    size_t no = model_output_size(m);
    if (st->outputs_unused) {
        for (size_t r = 0; r < no; r++) {
            st->out_lower[r] = -INFINITY;
            st->out_upper[r] = INFINITY;
        }
        return NN_OK;
    }
    int rc = output_bounds(st, err);
    if (rc) return rc;
    return check_finite_rows(m->n_layers, 0, no, st->out_lower, st->out_upper, err);
}

/* The interval tail of specification rows (bound_spec): with IBP or
 * intersect_ibp, the exact linear tail after the last nonlinear layer L is
 * concretized on L's output box, into scratch rows 0 and 1 (*blo, *bhi; *stop =
 * L + 1); else *stop = 0. Every backward pass from the output needs IBP there for
 * its rounding budget (LBP only for the tail), and IBP works in the scratch the
 * box goes to, so it is settled first. */
static int spec_tail_box(bound_state *st, int *stop, const double **blo, const double **bhi, nn_error *err)
{
    bound_work *w = st->work;
    int n = st->model->n_layers;
    bound_method method = st->opt.method;
    *stop = 0, *blo = *bhi = NULL;
    if (method != METHOD_LBP || st->opt.intersect_ibp) {
        int rc = bound_ibp_at(st, n, err);
        if (rc) return rc;
    }
    if (method != METHOD_IBP && !st->opt.intersect_ibp) return NN_OK;
    int L = w->prev_nl[n];
    if (L < 0) return NN_OK;
    int rc = bound_box_nonlinear(st, L, st->pre_lower[L], st->pre_upper[L], w->scratch, w->scratch + w->maxw, err);
    if (rc) return rc;
    *blo = w->scratch, *bhi = w->scratch + w->maxw, *stop = L + 1;
    return NN_OK;
}

/* Rows C's bounds (lower, upper; either may be NULL) kept where the interval tail
 * from stop (spec_tail_box) is tighter: a second sound bound. */
static int spec_tail(bound_state *st, int stop, const double *blo, const double *bhi, const double *C, size_t rows,
                     size_t ldc, const double *d, double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    for (size_t r0 = 0; r0 < rows; r0 += w->rb) {
        size_t R = rows - r0 < w->rb ? rows - r0 : w->rb;
        double *lo = lower ? lower + r0 : NULL, *hi = upper ? upper + r0 : NULL;
        int rc = bound_backward_block(st, st->model->n_layers, stop, R, NULL, C + r0 * ldc, ldc, d ? d + r0 : NULL,
                                      blo, bhi, lo ? w->blk_l : NULL, hi ? w->blk_u : NULL, err);
        if (rc) return rc;
        for (size_t r = 0; r < R; r++) {
            if (lo && w->blk_l[r] > lo[r]) lo[r] = w->blk_l[r];
            if (hi && w->blk_u[r] < hi[r]) hi[r] = w->blk_u[r];
        }
    }
    return NN_OK;
}

int bound_spec_tail(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                    double *upper, nn_error *err)
{
    int stop;
    const double *blo, *bhi;
    int rc = spec_tail_box(st, &stop, &blo, &bhi, err);
    if (rc || stop == 0) return rc;
    return spec_tail(st, stop, blo, bhi, C, rows, ldc, d, lower, upper, err);
}

/* bound_spec's checks and its linear pass with the interval tail: the bounds every
 * method starts from. *done: nothing more to compute (no rows, no side wanted). */
static int spec_linear(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                       double *upper, int *done, nn_error *err)
{
    if (!st || !st->work) return nn_fail(err, NN_EARG, "bound_spec: state not initialized");
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int n = m->n_layers;
    size_t no = model_output_size(m);
    if (!w->region_set) return nn_fail(err, NN_EARG, "bound_spec: no region set");
    if (st->infeasible)
        return nn_fail(err, NN_EARG, "bound_spec: the sub-domain is empty (its split constraints cannot hold)");
    if (st->layers_done < n) return nn_fail(err, NN_EARG, "bound_spec: bounds not computed (layers done up to %d of %d)",
                                            st->layers_done, n);
    *done = 1;
    if (rows == 0) return NN_OK;
    if (!C || ldc < no) return nn_fail(err, NN_EARG, "bound_spec: C is NULL or its leading dimension %zu < %zu", ldc, no);
    if (!lower && !upper) return NN_OK;
    *done = 0;
    int stop = 0;
    const double *blo = NULL, *bhi = NULL;
    bound_method method = st->opt.method;
    int rc = spec_tail_box(st, &stop, &blo, &bhi, err);
    if (rc) return rc;
    for (size_t r0 = 0; r0 < rows; r0 += w->rb) {
        size_t R = rows - r0 < w->rb ? rows - r0 : w->rb;
        double *lo = lower ? lower + r0 : NULL, *hi = upper ? upper + r0 : NULL;
        const double *dr = d ? d + r0 : NULL, *Cr = C + r0 * ldc;
        if (method == METHOD_LBP) rc = bound_lbp_spec(st, Cr, R, ldc, dr, lo, hi, err);
        else {
            w->spec_points = st->spec_points && lower ? st->spec_points + r0 * w->n_in : NULL;
            rc = bound_backward_block(st, n, method == METHOD_IBP ? stop : 0, R, NULL, Cr, ldc, dr, blo, bhi, lo, hi,
                                      err);
            w->spec_points = NULL;
        }
        if (rc) return rc;
    }
    if (method != METHOD_IBP && stop > 0 && (rc = spec_tail(st, stop, blo, bhi, C, rows, ldc, d, lower, upper, err)))
        return rc;
    return NN_OK;
}

int bound_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
               double *upper, nn_error *err)
{
    int done = 0;
    int rc = spec_linear(st, C, rows, ldc, d, lower, upper, &done, err);
    if (rc || done) return rc;
    if (st->opt.method == METHOD_FROWN) rc = bound_frown_spec(st, C, rows, ldc, d, lower, upper, err);
    else if (st->opt.method == METHOD_CROWN_QUAD) rc = bound_quad_spec(st, C, rows, ldc, d, lower, upper, err);
    else if (bound_method_is_lp(st->opt.method)) rc = bound_lp_spec(st, C, rows, ldc, d, lower, upper, err);
    if (!rc && st->infeasible) {
        /* an LP proved the sub-domain empty: the min and max over the empty set */
        for (size_t r = 0; r < rows; r++) {
            if (lower) lower[r] = INFINITY;
            if (upper) upper[r] = -INFINITY;
        }
        return NN_OK;
    }
    if (st->opt.method == METHOD_MILP && lower) rc = bound_milp_spec(st, C, rows, ldc, d, lower, err);
    if (rc) return rc;
    for (size_t r = 0; r < rows; r++)
        if ((lower && !isfinite(lower[r])) || (upper && !isfinite(upper[r])))
            return nn_fail(err, NN_ENUMERIC, "bound_spec: bound of row %zu is not finite", r);
    return NN_OK;
}

int bound_spec_has_points(bound_method method) { return method != METHOD_IBP && method != METHOD_LBP; }

int bound_spec_linear(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                      double *upper, nn_error *err)
{
    int done = 0;
    return spec_linear(st, C, rows, ldc, d, lower, upper, &done, err);
}

