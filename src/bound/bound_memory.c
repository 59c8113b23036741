/* What a bound state will allocate, before it exists (doc/bounds.md "Memory"):
 * the row block bound_state_init resolves, and an upper-ish estimate of the bytes
 * of the model, the state, the row-block workspace and the method's own stores,
 * term by term from the same sizes the allocating files use. It allocates
 * nothing, so a job can be refused before any work. Checked against peak RSS in
 * doc/bounds.md; LP methods are rough (Clp's and Cbc's own memory is a guess). */
#include "bound_memory.h"
#include "bound_cost.h"
#include "bound_frown.h"

#include <math.h>

/* Memory for the four R x maxw coefficient buffers when row_block is 0. */
#define ROW_BLOCK_BYTES ((size_t)256 << 20)
#define ROW_BLOCK_MAX 512
/* layer_ops.c: a conv/pool workspace holds a few buffers of at most 2 MiB */
#define CONV_WORKSPACE_BYTES ((size_t)6 << 20)

size_t bound_model_maxw(const nn_model *m)
{
    size_t maxw = model_input_size(m);
    for (int i = 0; i < m->n_layers; i++) {
        size_t a = shape_size(m->layers[i].in), b = shape_size(m->layers[i].out);
        if (a > maxw) maxw = a;
        if (b > maxw) maxw = b;
    }
    return maxw;
}

int bound_graph_max_live(const nn_model *m)
{
    int n = m->n_layers;
    if (model_is_sequential(m)) return 0;
    int max_live = 1;
    for (int j = 0; j < n; j++) {
        int live = 0;
        for (int k = -1; k < j; k++) {
            int read = k == n - 1;
            for (int i = j; i < n && !read; i++)
                for (int q = 0; q < (m->layers[i].type == LAYER_ADD ? 2 : 1); q++) read |= bound_in(m, i, q) == k;
            live += read;
        }
        if (live > max_live) max_live = live;
    }
    return max_live;
}

size_t bound_resolve_row_block(const nn_model *m, const bound_options *o)
{
    size_t maxw = bound_model_maxw(m), rb = o->row_block;
    if (rb == 0) {
        /* a residual graph holds up to max_live pending blocks besides the two */
        int live = bound_graph_max_live(m);
        rb = ROW_BLOCK_BYTES / ((size_t)(4 + 2 * (live ? live + 1 : 0)) * sizeof(double) * maxw);
        if (rb > ROW_BLOCK_MAX) rb = ROW_BLOCK_MAX;
        if (rb < 1) rb = 1;
        rb = bound_frown_row_block(m, o, maxw, rb);
    }
    return bound_frown_align_block(o, rb);
}

/* Nonzeros of affine layer L's matrix (a conv's per output, not its kernel). */
static double affine_nonzeros(const nn_layer *L)
{
    double no = (double)shape_size(L->out);
    if (L->type == LAYER_DENSE) return (double)shape_size(L->in) * no;
    if (L->type == LAYER_CONV2D) return no * (double)L->in.c * L->kernel[0] * L->kernel[1];
    if (L->type == LAYER_AVGPOOL2D) return no * L->kernel[0] * L->kernel[1];
    return no;
}

int bound_estimate_memory(const nn_model *m, const bound_options *opt, bound_memory *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || m->n_layers < 1) return nn_fail(err, NN_EARG, "memory estimate: the model has no layers");
    /* options are the caller's: the defaults live in the driver, above this file */
    if (!opt) return nn_fail(err, NN_EARG, "memory estimate: no bound options");
    bound_options o = *opt;
    const double D = sizeof(double), F = sizeof(float);
    int n = m->n_layers, live = bound_graph_max_live(m), first_nl = n, conv = 0;
    size_t n_in = model_input_size(m), no = model_output_size(m), maxw = bound_model_maxw(m);
    size_t rb = bound_resolve_row_block(m, &o);
    for (int i = 0; i < n; i++)
        if (layer_is_nonlinear(m->layers[i].type)) {
            first_nl = i;
            break;
        }
    double model = 0, state = 0, block = 0, method = 0, nz = 0, cols = (double)n_in, acts = 0;
    int first_conv = 0;
    for (int i = 0; i < n; i++) {
        const nn_layer *L = &m->layers[i];
        double ni = (double)shape_size(L->in), nout = (double)shape_size(L->out);
        double p = (double)layer_param_count(L);
        model += D * p;
        cols += nout;
        if (layer_is_spatial(L->type)) {
            conv = 1;
            if (i < first_nl) first_conv = 1;
        }
        if (layer_is_activation(L->type)) {
            /* pre-activation and IBP bounds 4, lines 10, packed lines 8, live set 1, budgets 2 */
            state += D * 25 * ni;
            acts += ni;
            nz += 3 * ni * (2 + o.lp_cuts);
        } else if (L->type == LAYER_MAXPOOL2D) {
            double slots = nout * L->kernel[0] * L->kernel[1];
            state += D * 4 * ni + (D + 2 * D) * slots + 2 * D * nout + 4 * D * nout;
            nz += 2 * slots;
        } else if (layer_is_affine(L->type)) {
            double w = L->type == LAYER_DENSE || L->type == LAYER_CONV2D ? p - (double)L->out_channels : 0;
            /* |W| copy, offsets and their magnitudes, rounding budget magnitudes */
            state += D * p + 3 * D * nout;
            if (L->type == LAYER_DENSE) state += D * w;       /* W packed on live rows and columns */
            if (o.single) state += F * w + (L->type == LAYER_DENSE ? F * w : 0); /* float W, packed */
            nz += affine_nonzeros(L);
        }
        if (live) state += 3 * D * nout; /* boxes of every output */
    }
    /* the first block's composite rows (fb_build): dense, packed on live rows and
     * in float where passes cross it; a conv block's rows sparse while at most a
     * quarter of F is nonzero, the dense F only past that, and the build's block
     * buffer. A lone conv's rows have at most Ci kh kw nonzeros each: when that
     * keeps F under a quarter and the composite does not pay, F is never dense. */
    size_t fb_rows = first_nl < n ? shape_size(m->layers[first_nl].in) : no;
    double fb = (double)fb_rows * (double)n_in;
    if (fb * D <= (double)BOUND_FB_CACHE_BYTES) {
        double row_nnz = (double)n_in;
        int convs = 0, others = 0;
        for (int j = 0; j < first_nl; j++) {
            const nn_layer *L = &m->layers[j];
            if (L->type == LAYER_CONV2D) convs++, row_nnz = (double)L->in.c * L->kernel[0] * L->kernel[1];
            else if (L->type != LAYER_NORMALIZE && L->type != LAYER_FLATTEN) others++;
        }
        int never_dense = first_conv && convs == 1 && !others && row_nnz * (double)fb_rows <= fb / 4 &&
                          !bound_composite_pays(m, first_nl, fb_rows, n_in);
        double sparse = first_conv ? fmin(row_nnz * (double)fb_rows, fb / 4) * (D + sizeof(size_t)) : 0;
        double build = first_conv ? (double)(fb_rows < rb ? fb_rows : rb) * (double)n_in * D + D * n_in : 0;
        state += (never_dense ? 0 : fb * (2 * D + (o.single ? 2 * F : 0))) + sparse + build + 8 * D * fb_rows;
    }
    state += D * (8 * maxw + 9 * n_in + 6 * no);
    /* the backward blocks: two buffers of 2 rb maxw doubles (a graph: max_live + 1
     * more) and per-row constants, budgets and window origins */
    double R = (double)rb;
    block = 4 * D * R * maxw + 9 * D * R + 4 * sizeof(int) * R;
    if (live) block += (live + 1) * 2 * D * R * maxw + (live + 3) * (6 * D + 4 * sizeof(int)) * R;
    if (conv) block += CONV_WORKSPACE_BYTES;
    if (o.method == METHOD_FROWN) {
        /* a block's problems, and the warm start: 2 sides x 2 generations of float
         * variables per group, per nonlinear layer above earlier activations */
        block += (double)bound_frown_problem_bytes(m, &o, maxw) * R + (conv ? CONV_WORKSPACE_BYTES : 0);
        if (live) {
            /* a graph's passes: the forward keeps every output of the relaxed
             * network, the backward up to max_live + 1 pending row blocks */
            double outs = 0;
            for (int i = 0; i < n; i++) outs += (double)shape_size(m->layers[i].out);
            block += D * R * (outs + (double)(live + 1) * (double)maxw);
        }
        double S = 0, G = (double)(o.frown_group ? o.frown_group : 1);
        for (int i = 0; i <= n; i++) {
            int top = i == n || layer_is_nonlinear(m->layers[i].type);
            if (top && S > 0 && o.frown_warm) {
                double rows = i == n ? (double)no : (double)shape_size(m->layers[i].in);
                method += 4 * F * S * ((double)(size_t)((rows + G - 1) / G) + 1);
            }
            if (i < n && layer_is_activation(m->layers[i].type))
                S += (double)shape_size(m->layers[i].in) * (relax_upper_can_be_free(m->layers[i].type) ? 2 : 1);
        }
        /* variables and their lines, per top layer (one at a time) */
        method += 16 * D * S;
    }
    if (o.method == METHOD_LBP || o.method == METHOD_CROWN_LBP) {
        /* linear bounds in the input of two layers (and of every saved output of a
         * graph), the block's spec rows, copies of the affine layers */
        method += D * (2 * (2 * (double)n_in + 3) * maxw + 2 * R * (n_in + 2) + R * no + 32 * (double)n_in) + model;
        if (live) method += live * D * (2 * (double)n_in + 3) * maxw;
        if (conv) method += CONV_WORKSPACE_BYTES;
    }
    if (o.method == METHOD_CROWN_QUAD) method += D * (5 * maxw + 5 * acts) * 4;
    if (bound_method_is_lp(o.method)) {
        /* rough: our compressed copy of the relaxation (12 bytes per nonzero) and
         * Clp's row and column copies and factorization, taken as 8x that, plus
         * per-column arrays; MILP's Cbc about doubles it */
        double lp = 12 * nz * 9 + 256 * (cols + 3 * acts);
        method += o.method == METHOD_MILP ? 2 * lp : lp;
    }
    out->model = (size_t)model;
    out->state = (size_t)state;
    out->block = (size_t)block;
    out->method = (size_t)method;
    out->row_block = rb;
    out->total = out->model + out->state + out->block + out->method;
    return NN_OK;
}
