/* Batches of regions (doc/bounds.md "Batches of regions"): CROWN on n states of
 * one model at once, for branch and bound's input halves, where each region is
 * small and its own backward passes are GEMMs of a few dozen rows through layers a
 * few dozen wide. Every layer's pass (and the specification's) stacks the rows of
 * all n states into one matrix, so each affine layer is crossed by one GEMM over
 * the batch; what differs per state is applied per row or per state's run of
 * rows: its lines at an activation, its offset terms and rounding magnitudes
 * before an affine layer, its region at the end.
 *
 * The passes are double rows with the backward kernel's rounding accounting
 * (constant c, magnitudes s, coefficient budget e; bound_backward.c) and its
 * steps (bound_rows.c, bound_backward_act_rows), so a batch is as sound as one
 * state's bound_compute, from the same tables (IBP, lines, budget weights, built
 * by each state's own commits). As the kernel packs one state's live neurons, a
 * batch carries rows below an activation on the union of its states' live
 * neurons there (a dead neuron's terms are exact zeros from there down), and a
 * dense layer is one GEMM with its weights restricted to the unions above and
 * below; those unions, each state's lines on them, and the restricted weights are
 * made once per batch, when a layer is committed (layer_tables), and serve every
 * later pass. The upper side of a row is the lower side
 * of its negation. Which rows get a pass, and how they meet IBP, is the single
 * state's rule (bound_crown_select, bound_crown_merge); the first nonlinear layer
 * is each state's exact first block, and the specification rows keep the
 * interval tail where it is tighter (bound_spec_tail), as bound_spec does.
 *
 * FROWN takes another route: each state's layers by itself (with CROWN's
 * layers) or every layer's optimization for all states at once (with its
 * lines for every layer: branch and bound's ReLU phases), then the spec rows'
 * optimization for all states at once (bound_frown_spec_batch), each state
 * with its own lines and split multipliers.
 *
 * The bits are not those of one state's passes (other GEMM shapes, other
 * packings), and a row's bits may depend on which states share its batch;
 * callers that need the same answers on any number of processes fix the batches
 * themselves (bab.c: a round's jobs in units of bab_options.unit). */
#include "bound_backward.h"
#include "bound_concretize.h"
#include "bound_cost.h"
#include "bound_crown.h"
#include "bound_frown.h"
#include "bound_ibp.h"
#include "bound_rows.h"

#include <stdlib.h>

/* The default bound on the two stacked row matrices (bound_batch.max_bytes): a
 * memory bound, not tuned; a batch's rows beyond it go in further chunks, cut at
 * fixed places. */
#define BATCH_BYTES ((size_t)64 << 20)

void bound_batch_init(bound_batch *b)
{
    memset(b, 0, sizeof *b);
    layer_workspace_init(&b->ws);
}

void bound_batch_free(bound_batch *b)
{
    free(b->A), free(b->B), free(b->c), free(b->s), free(b->e), free(b->lb);
    free(b->state), free(b->row), free(b->sign), free(b->idx), free(b->n_idx);
    free(b->mark), free(b->kept), free(b->fbp);
    for (int i = 0; i < b->n_layers; i++) free(b->map[i]), free(b->tab[i]), free(b->wp[i]);
    free(b->map), free(b->n_map), free(b->tab), free(b->wp), free(b->wp_gen);
    layer_workspace_free(&b->ws);
    memset(b, 0, sizeof *b);
}

int bound_batch_method(bound_method method)
{
    return method == METHOD_CROWN || method == METHOD_FASTLIN || method == METHOD_FROWN;
}

int bound_batch_supported(const nn_model *m, const bound_options *opt)
{
    if (!model_is_sequential(m) || !bound_batch_method(opt->method)) return 0;
    /* conv-shaped layers: the single state's windowed rows cost their receptive
     * field, these full-map rows the whole map */
    for (int i = 0; i < m->n_layers; i++) {
        layer_type t = m->layers[i].type;
        if (!(t == LAYER_DENSE || t == LAYER_NORMALIZE || t == LAYER_FLATTEN || layer_is_activation(t))) return 0;
    }
    return 1;
}

/* Room for need entries of size bytes in *pp (capacity *cap, updated by the caller). */
static int grow(void *pp, size_t cap, size_t need, size_t size, nn_error *err)
{
    void **p = pp;
    if (need <= cap) return NN_OK;
    void *q = realloc(*p, need * size);
    if (!q) return nn_fail(err, NN_ENOMEM, "out of memory for %zu entries of a batch of regions", need);
    *p = q;
    return NN_OK;
}

/* Room for M rows and for matrices of chunk rows of width maxw. */
static int reserve(bound_batch *b, size_t M, size_t chunk, size_t maxw, nn_error *err)
{
    int rc;
    if (M > b->cap_rows) {
        if ((rc = grow(&b->state, b->cap_rows, M, sizeof *b->state, err)) ||
            (rc = grow(&b->row, b->cap_rows, M, sizeof *b->row, err)) ||
            (rc = grow(&b->sign, b->cap_rows, M, sizeof *b->sign, err)) ||
            (rc = grow(&b->lb, b->cap_rows, M, sizeof *b->lb, err)))
            return rc;
        b->cap_rows = M;
    }
    if (chunk > b->cap_chunk) {
        if ((rc = grow(&b->c, b->cap_chunk, chunk, sizeof *b->c, err)) ||
            (rc = grow(&b->s, b->cap_chunk, chunk, sizeof *b->s, err)) ||
            (rc = grow(&b->e, b->cap_chunk, chunk, sizeof *b->e, err)))
            return rc;
        b->cap_chunk = chunk;
    }
    if (chunk * maxw > b->cap_mat) {
        if ((rc = grow(&b->A, b->cap_mat, chunk * maxw, sizeof *b->A, err)) ||
            (rc = grow(&b->B, b->cap_mat, chunk * maxw, sizeof *b->B, err)))
            return rc;
        b->cap_mat = chunk * maxw;
    }
    return NN_OK;
}

/* The end of the run of rows from p (< p1) that belong to one state. */
static size_t run_end(const bound_batch *b, size_t p, size_t p1)
{
    size_t q = p + 1;
    while (q < p1 && b->state[q] == b->state[p]) q++;
    return q;
}

/* The layer whose output layer j reads, through flattens (-1: the model input). */
static int below_flattens(const nn_model *m, int j)
{
    int k = bound_in(m, j, 0);
    while (k >= 0 && m->layers[k].type == LAYER_FLATTEN) k = bound_in(m, k, 0);
    return k;
}

/* The layer reading layer j's output, through flattens (n_layers: the model output). */
static int above_flattens(const nn_model *m, int j)
{
    for (int k = j + 1; k < m->n_layers; k++)
        if (bound_in(m, k, 0) == j) return m->layers[k].type == LAYER_FLATTEN ? above_flattens(m, k) : k;
    return m->n_layers;
}

/* Per-layer tables for model m and batches of up to n states, allocated once at
 * their largest (a union of all of a layer's neurons, a dense layer's whole
 * weights), so a batch allocates nothing. */
static int tables_for(bound_batch *b, const nn_model *m, size_t n, nn_error *err)
{
    if (b->model != m || b->n_layers != m->n_layers) {
        for (int i = 0; i < b->n_layers; i++) free(b->map[i]), free(b->tab[i]), free(b->wp[i]);
        free(b->map), free(b->n_map), free(b->tab), free(b->wp), free(b->wp_gen), free(b->mark), free(b->fbp);
        b->mark = NULL, b->fbp = NULL, b->n_layers = 0, b->tab_n = 0;
        size_t nl = (size_t)m->n_layers, maxw = 1;
        b->map = calloc(nl, sizeof *b->map), b->n_map = calloc(nl, sizeof *b->n_map);
        b->tab = calloc(nl, sizeof *b->tab), b->wp = calloc(nl, sizeof *b->wp), b->wp_gen = calloc(nl, sizeof *b->wp_gen);
        if (!b->map || !b->n_map || !b->tab || !b->wp || !b->wp_gen) goto fail;
        b->n_layers = m->n_layers, b->model = m;
        for (int i = 0; i < m->n_layers; i++) {
            const nn_layer *L = &m->layers[i];
            size_t ni = shape_size(L->in);
            maxw = ni > maxw ? ni : maxw;
            if (layer_is_activation(L->type) && !(b->map[i] = malloc(ni * sizeof *b->map[i]))) goto fail;
            if (L->type == LAYER_DENSE && !(b->wp[i] = malloc(ni * shape_size(L->out) * sizeof *b->wp[i]))) goto fail;
        }
        if (!(b->mark = malloc(maxw))) goto fail;
        /* the first block's composite on the first activation's live neurons */
        int first = 0;
        while (first < m->n_layers && !layer_is_nonlinear(m->layers[first].type)) first++;
        if (first < m->n_layers &&
            !(b->fbp = malloc(shape_size(m->layers[first].in) * model_input_size(m) * sizeof *b->fbp)))
            goto fail;
    }
    if (n > b->tab_n) {
        for (int i = 0; i < m->n_layers; i++) {
            if (!b->map[i]) continue;
            double *t = realloc(b->tab[i], 7 * n * shape_size(m->layers[i].in) * sizeof *t);
            if (!t) goto fail;
            b->tab[i] = t;
        }
        b->tab_n = n;
    }
    return NN_OK;
fail:
    return nn_fail(err, NN_ENOMEM, "out of memory for the tables of a batch of regions");
}

/* After activation i is committed in every state of the batch: the union of
 * their live neurons there (map[i], ascending: a line that is not 0), and per
 * state its lines, budget weights and the folded offset of the affine layer
 * below on them (tab[i]: 7 rows of n_map[i] per state), as the kernel's step
 * takes them (bound_backward_commit; where the first block's composite
 * follows, its offset, the model's and the same in every state, as the kernel
 * folds it there). */
static void layer_tables(bound_batch *b, bound_state *const *st, size_t n, int i)
{
    const nn_model *m = st[0]->model;
    const bound_work *w0 = st[0]->work;
    size_t ni = shape_size(m->layers[i].in), nl = 0;
    unsigned char *mark = b->mark;
    memset(mark, 0, ni);
    for (size_t k = 0; k < n; k++) {
        if (st[k]->infeasible) continue; /* no rows, and lines[i] not committed */
        const relax_lines *ln = &st[k]->lines[i];
        for (size_t r = 0; r < ni; r++)
            mark[r] |= !(ln->lower_slope[r] == 0 && ln->upper_slope[r] == 0 && ln->lower_icpt[r] == 0 &&
                         ln->upper_icpt[r] == 0);
    }
    for (size_t r = 0; r < ni; r++)
        if (mark[r]) b->map[i][nl++] = r;
    b->n_map[i] = nl;
    int composite = i == w0->first_nl && bound_rows_composite(st[0]), ab = below_flattens(m, i);
    if (composite || ab < 0 || !layer_is_affine(m->layers[ab].type)) ab = -1;
    for (size_t k = 0; k < n; k++) {
        if (st[k]->infeasible) continue;
        const bound_work *wk = st[k]->work;
        const relax_lines *ln = &st[k]->lines[i];
        const double *off = composite ? wk->fb_c : ab >= 0 ? wk->bfull[ab] : NULL;
        const double *offabs = composite ? wk->fb_cabs : ab >= 0 ? wk->babs[ab] : NULL;
        double *g = b->tab[i] + k * 7 * nl;
        for (size_t q = 0; q < nl; q++) {
            size_t r = b->map[i][q];
            g[q] = ln->lower_slope[r], g[nl + q] = ln->lower_icpt[r];
            g[2 * nl + q] = ln->upper_slope[r], g[3 * nl + q] = ln->upper_icpt[r];
            g[4 * nl + q] = wk->ew[0][i][r];
            g[5 * nl + q] = off ? off[r] : 0.0, g[6 * nl + q] = off ? offabs[r] : 0.0;
        }
    }
}

/* Dense layer d's weights restricted to the positions its rows have (the union
 * of the activation reading its output, else all) and the live inputs (the union
 * of the activation below, else all): written once per batch (wp_gen). */
static void dense_packed(bound_batch *b, const nn_model *m, int d, const size_t **rows_map, size_t *n_rows,
                         const size_t **cols_map, size_t *n_cols)
{
    const nn_layer *L = &m->layers[d];
    size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
    int up = above_flattens(m, d), a = below_flattens(m, d);
    int up_act = up < m->n_layers && layer_is_activation(m->layers[up].type);
    int a_act = a >= 0 && layer_is_activation(m->layers[a].type);
    *rows_map = up_act ? b->map[up] : NULL, *n_rows = up_act ? b->n_map[up] : n_out;
    *cols_map = a_act ? b->map[a] : NULL, *n_cols = a_act ? b->n_map[a] : n_in;
    if (b->wp_gen[d] == b->gen) return;
    for (size_t r = 0; r < *n_rows; r++) {
        const double *wr = L->weight + (*rows_map ? (*rows_map)[r] : r) * n_in;
        for (size_t q = 0; q < *n_cols; q++) b->wp[d][r * *n_cols + q] = wr[*cols_map ? (*cols_map)[q] : q];
    }
    b->wp_gen[d] = b->gen;
}

/* The first block's composite (bound_first_block.c) on the rows map[0 .. width)
 * of its output, the first activation's live neurons over the batch: written
 * once per batch (fbp_gen). */
static const double *first_block_packed(bound_batch *b, const bound_work *w, const size_t *map, size_t width)
{
    if (b->fbp_gen != b->gen) {
        for (size_t q = 0; q < width; q++)
            memcpy(b->fbp + q * w->n_in, w->fb_A + map[q] * w->n_in, w->n_in * sizeof *b->fbp);
        b->fbp_gen = b->gen;
    }
    return b->fbp;
}

/* Rows of width entries on positions map[0 .. width) (NULL: all) spread onto n. */
static void unpack(double *A, double *B, size_t na, const size_t *map, size_t width, size_t n)
{
    memset(B, 0, na * n * sizeof *B);
    for (size_t p = 0; p < na; p++)
        for (size_t q = 0; q < width; q++) B[p * n + map[q]] = A[p * width + q];
}

/* Rows [p0, p1) of the batch (state[], row[], and sign[]: 1 for a lower side,
 * -1 for an upper side) from layer `top` to the input: top = n_layers starts
 * from rows of C, else from neuron row[p] of top's input. Lower bounds of the
 * signed rows into lb[p0 .. p1).
 *
 * Below an activation the rows are carried on the union of the batch's live
 * neurons there (map, width of them), and a dense layer between two activations
 * is one GEMM with its weights restricted to both unions, as the single state's
 * kernel packs one state's live neurons; the activation step also takes the
 * offset and budget of the affine layer below it (folded), as the kernel's does. */
static int pass_chunk(bound_batch *b, bound_state *const *st, int top, const double *C, size_t ldc, size_t p0,
                      size_t p1, nn_error *err)
{
    const nn_model *m = st[0]->model;
    const bound_work *w0 = st[0]->work;
    size_t na = p1 - p0, width;
    double *A = b->A, *B = b->B, *c = b->c, *s = b->s, *e = b->e;
    const size_t *map = NULL; /* the rows' positions (NULL: all of the layer's) */
    int j, folded = -1;       /* the affine layer whose offset an activation step took */
    if (C) {
        width = model_output_size(m);
        for (size_t p = 0; p < na; p++) {
            const double *cr = C + b->row[p0 + p] * ldc;
            for (size_t k = 0; k < width; k++) A[p * width + k] = b->sign[p0 + p] * cr[k];
            c[p] = s[p] = e[p] = 0.0; /* C and W are exact in double */
        }
        j = m->n_layers - 1;
    } else if (below_flattens(m, top) >= 0 && m->layers[below_flattens(m, top)].type == LAYER_DENSE) {
        /* the dense layer feeding top (a flatten between is the identity), its
         * weight rows taken on the live neurons of the activation below it, the
         * step that comes next, where there is one */
        int d = below_flattens(m, top), a = below_flattens(m, d);
        const nn_layer *L = &m->layers[d];
        size_t n_in = shape_size(L->in);
        int packed = a >= 0 && layer_is_activation(m->layers[a].type);
        width = packed ? b->n_map[a] : n_in;
        for (size_t p = 0; p < na; p++) {
            size_t r = b->row[p0 + p];
            const double *wr = L->weight + r * n_in;
            double sg = b->sign[p0 + p];
            if (packed)
                for (size_t k = 0; k < width; k++) A[p * width + k] = sg * wr[b->map[a][k]];
            else
                for (size_t k = 0; k < width; k++) A[p * width + k] = sg * wr[k];
            c[p] = sg * L->bias[r];
            s[p] = fabs(L->bias[r]);
            e[p] = 0.0;
        }
        j = packed ? a : bound_in(m, d, 0);
        map = packed ? b->map[a] : NULL;
    } else {
        j = bound_in(m, top, 0);
        width = shape_size(m->layers[j].out);
        memset(A, 0, na * width * sizeof *A);
        for (size_t p = 0; p < na; p++) {
            A[p * width + b->row[p0 + p]] = b->sign[p0 + p];
            c[p] = s[p] = e[p] = 0.0;
        }
    }
    for (; j >= 0; j--) {
        const nn_layer *L = &m->layers[j];
        size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
        if (L->type == LAYER_FLATTEN) continue; /* the identity on memory */
        if (layer_is_affine(L->type)) {
            const size_t *rows_map = NULL, *cols_map = NULL;
            size_t n_rows = n_out, n_cols = n_in;
            int rc;
            if (L->type == LAYER_DENSE) dense_packed(b, m, j, &rows_map, &n_rows, &cols_map, &n_cols);
            /* the offset pass and other affine layers read full rows */
            if (map && (j != folded || rows_map != map)) {
                unpack(A, B, na, map, width, n_out);
                double *t = A;
                A = B, B = t, map = NULL, width = n_out;
            }
            /* rows reach a dense layer below an activation only through it (a
             * pass starts above the dense layer feeding its layer), so packed */
            if (!map && rows_map)
                return nn_fail(err, NN_EARG, "batched backward pass, layer %d: rows not on the live neurons above", j);
            if (j != folded)
                for (size_t p = p0, q; p < p1; p = q) {
                    q = run_end(b, p, p1);
                    bound_rows_offset(st[b->state[p]], j, A + (p - p0) * width, q - p, width, c + (p - p0),
                                      s + (p - p0), e + (p - p0));
                }
            double t0 = bound_gemm_clock(st[0]);
            if (L->type == LAYER_DENSE) {
                rows_dgemm(0, na, n_cols, n_rows, A, width, b->wp[j], n_cols, 0.0, B, n_cols);
                st[0]->flops += 2.0 * (double)na * (double)n_rows * (double)n_cols;
                map = cols_map;
                width = n_cols;
            } else {
                rc = layer_affine_adjoint_ws(L, A, na, n_out, B, n_in, &b->ws, err);
                if (rc) return nn_error_prefix(err, "batched backward pass, layer %d: ", j);
                st[0]->flops += bound_affine_flops(L, na);
                width = n_in;
            }
            bound_gemm_clock_add(st[0], t0);
            double *t = A;
            A = B, B = t;
            continue;
        }
        /* an activation: each state's run of rows through its own lines on the
         * batch's live neurons (full rows are moved onto them first: in place,
         * a row's entries only move left) */
        if (map && map != b->map[j])
            return nn_fail(err, NN_EARG, "batched backward pass, layer %d: rows not on its live neurons", j);
        if (!map) {
            for (size_t p = 0; p < na; p++)
                for (size_t q = 0; q < b->n_map[j]; q++) A[p * b->n_map[j] + q] = A[p * width + b->map[j][q]];
            map = b->map[j], width = b->n_map[j];
        }
        int composite = j == w0->first_nl && bound_rows_composite(st[0]);
        int ab = below_flattens(m, j);
        if (composite || ab < 0 || !layer_is_affine(m->layers[ab].type)) ab = -1;
        int has_off = composite || (ab >= 0 && w0->bfull[ab]);
        for (size_t p = p0, q; p < p1; p = q) {
            q = run_end(b, p, p1);
            const double *g = b->tab[j] + b->state[p] * 7 * width;
            bound_backward_act_rows(st[b->state[p]], q - p, A + (p - p0) * width, width, width, g, g + width,
                                    g + 2 * width, g + 3 * width, has_off ? g + 5 * width : NULL,
                                    has_off ? g + 6 * width : NULL, g + 4 * width, c + (p - p0), s + (p - p0),
                                    e + (p - p0));
        }
        folded = ab;
        if (composite) {
            /* the first affine block as the kernel crosses it (its offset taken
             * by the step above), one GEMM for the batch on the composite's rows
             * at the batch's live neurons: the composite is the model's, the
             * same in every state (bound_first_block.c) */
            bound_rows_first_block_on(st[0], na, A, width, first_block_packed(b, w0, map, width), B);
            double *t = A;
            A = B, B = t, map = NULL;
            break;
        }
    }
    if (map) /* rows still on an activation's live neurons: the model input is not one */
        return nn_fail(err, NN_EARG, "batched backward pass: rows left on an activation's neurons");
    for (size_t p = 0; p < na; p++) {
        bound_state *sk = st[b->state[p0 + p]];
        /* a spec row's minimizer with its bound, as the kernel writes it
         * (bound_state.spec_points) */
        double *pt = C && sk->spec_points ? sk->spec_points + b->row[p0 + p] * w0->n_in : NULL;
        b->lb[p0 + p] = bound_region_argmin(sk, A + p * w0->n_in, c[p], s[p], pt) - e[p];
        sk->backward_rows += b->sign[p0 + p] > 0; /* a row and its negation: one row, as the kernel counts */
    }
    return NN_OK;
}

/* Every row of the batch (M of them, state[], row[], sign[] set) in chunks. */
static int pass_rows(bound_batch *b, bound_state *const *st, int top, const double *C, size_t ldc, size_t M,
                     nn_error *err)
{
    const bound_work *w0 = st[0]->work;
    size_t chunk = (b->max_bytes ? b->max_bytes : BATCH_BYTES) / (2 * sizeof(double) * w0->maxw);
    if (chunk > w0->rb) chunk = w0->rb; /* the kernel's row block: a chunk's rows stay in cache */
    if (chunk < 2) chunk = 2;
    if (chunk > M) chunk = M;
    int rc = reserve(b, M, chunk, w0->maxw, err);
    for (size_t p0 = 0; !rc && p0 < M; p0 += chunk)
        rc = pass_chunk(b, st, top, C, ldc, p0, p0 + chunk < M ? p0 + chunk : M, err);
    return rc;
}

/* Layer i's rows (not the first layer's) of every state open there (not found
 * empty, not kept: b->kept), one pass: the rows bound_crown_select picks, both
 * sides, stacked, merged with IBP per state. */
static int crown_rows(bound_batch *b, bound_state *const *st, size_t n, int i, nn_error *err)
{
    size_t ni = shape_size(st[0]->model->layers[i].in), M = 0;
    int rc = grow(&b->idx, b->cap_idx, n * ni, sizeof *b->idx, err);
    if (!rc && n * ni > b->cap_idx) b->cap_idx = n * ni;
    for (size_t k = 0; !rc && k < n; k++) {
        b->n_idx[k] = 0;
        if (!st[k]->infeasible && !b->kept[k]) rc = bound_crown_select(st[k], i, b->idx + k * ni, &b->n_idx[k], err);
        M += 2 * b->n_idx[k];
    }
    if (rc || (rc = reserve(b, M, 1, 1, err))) return rc;
    /* per state: its rows' lower sides, then their upper sides */
    size_t p = 0;
    for (size_t k = 0; k < n; k++)
        for (int side = 0; side < 2; side++)
            for (size_t q = 0; q < b->n_idx[k]; q++, p++) {
                b->state[p] = k, b->row[p] = b->idx[k * ni + q];
                b->sign[p] = side ? -1 : 1;
            }
    if (M && (rc = pass_rows(b, st, i, NULL, 0, M, err))) return rc;
    p = 0;
    for (size_t k = 0; k < n; k++) {
        size_t R = b->n_idx[k];
        if (st[k]->infeasible || b->kept[k]) continue;
        for (size_t q = 0; q < R; q++) b->lb[p + R + q] = -b->lb[p + R + q]; /* upper = -lower(-row) */
        bound_crown_merge(st[k], i, b->idx + k * ni, R, b->lb + p, b->lb + p + R, st[k]->pre_lower[i],
                          st[k]->pre_upper[i]);
        p += 2 * R;
    }
    return NN_OK;
}

/* Layer i's rows of the states open there, FROWN's lines optimized for every
 * layer: each block's problems of all of them in one optimization
 * (bound_frown_layer_rows_batch), checked finite as bound_layer_rows checks one
 * state's. */
static int frown_rows(bound_batch *b, bound_state *const *st, size_t n, int i, nn_error *err)
{
    size_t ni = shape_size(st[0]->model->layers[i].in), no = 0;
    bound_state **open = malloc(n * sizeof *open);
    double **lo = malloc(2 * n * sizeof *lo);
    int rc = open && lo ? NN_OK : nn_fail(err, NN_ENOMEM, "out of memory for a batch of regions");
    for (size_t k = 0; k < n && !rc; k++) {
        bound_state *sk = st[k];
        if (sk->infeasible || b->kept[k] || (rc = bound_ibp_at(sk, i, err))) continue;
        lo[no] = sk->pre_lower[i], lo[n + no] = sk->pre_upper[i];
        open[no++] = sk;
    }
    if (!rc && no) rc = bound_frown_layer_rows_batch(open, no, i, 0, ni, lo, lo + n, err);
    for (size_t k = 0; k < no && !rc; k++)
        for (size_t r = 0; r < ni && !rc; r++)
            if (!isfinite(lo[k][r]) || !isfinite(lo[n + k][r]))
                rc = nn_fail(err, NN_ENUMERIC, "bound_batch_run: layer %d neuron %zu has a bound that is not finite",
                             i, r);
    free(open), free(lo);
    return rc;
}

typedef int (*open_rows_fn)(bound_batch *b, bound_state *const *st, size_t n, int i, nn_error *err);

/* Every nonlinear layer of the batch's states as bound_compute takes one
 * state's: each state's exact first block, the layers its sub-domain keeps and
 * the settling (parent's bounds, split sides, emptiness, commit) by itself; the
 * other layers' rows of the states open there by `rows`, for all of them at
 * once. With tables, the unions and tables of each committed layer
 * (layer_tables) for the next passes. */
static int walk_layers(bound_batch *b, bound_state *const *st, size_t n, open_rows_fn rows, int tables,
                       nn_error *err)
{
    const nn_model *m = st[0]->model;
    int first = ((const bound_work *)st[0]->work)->first_nl;
    int rc = grow(&b->n_idx, b->cap_n, n, sizeof *b->n_idx, err);
    if (!rc) rc = grow(&b->kept, b->cap_n, n, sizeof *b->kept, err);
    if (rc) return rc;
    if (n > b->cap_n) b->cap_n = n;
    for (size_t k = 0; k < n; k++) bound_compute_start(st[k]);
    for (int i = first; i < m->n_layers && !rc; i++) {
        if (!layer_is_nonlinear(m->layers[i].type)) continue;
        size_t ni = shape_size(m->layers[i].in);
        for (size_t k = 0; k < n && !rc; k++) {
            bound_state *sk = st[k];
            int kept = 0;
            if (sk->infeasible) {
                b->kept[k] = 0;
                continue;
            }
            if (i == first) rc = bound_layer_rows(sk, i, 0, ni, sk->pre_lower[i], sk->pre_upper[i], err);
            else rc = bound_sub_keeps(sk, i, sk->pre_lower[i], sk->pre_upper[i], &kept, err);
            b->kept[k] = (unsigned char)kept;
        }
        if (!rc && i != first) rc = rows(b, st, n, i, err);
        for (size_t k = 0; k < n && !rc; k++)
            if (!st[k]->infeasible)
                rc = bound_layer_settle(st[k], i, st[k]->pre_lower[i], st[k]->pre_upper[i], b->kept[k], err);
        if (!rc && tables) layer_tables(b, st, n, i);
    }
    return rc;
}

static int check_finite(bound_state *const *st, const double *lower, size_t n, size_t rows, nn_error *err)
{
    for (size_t k = 0; k < n; k++)
        for (size_t r = 0; r < rows && !st[k]->infeasible; r++)
            if (!isfinite(lower[k * rows + r]))
                return nn_fail(err, NN_ENUMERIC, "bound_batch_run: bound of row %zu of state %zu is not finite", r, k);
    return NN_OK;
}

/* FROWN: each state's layers (by itself with CROWN's layers, where its rows on
 * live neurons beat a batch's unions: CROWN's batches measured slower; else
 * walk_layers with frown_rows) and linear spec bounds, then the optimization of
 * the spec rows, the expensive part, for the states not found empty in one
 * batch (bound_frown_spec_batch). */
static int frown_batch(bound_batch *b, bound_state *const *st, size_t n, const double *C, size_t rows, size_t ldc,
                       double *lower, nn_error *err)
{
    int rc = NN_OK;
    if (st[0]->opt.frown_layers != FROWN_LAYERS_SPEC) rc = walk_layers(b, st, n, frown_rows, 0, err);
    else
        for (size_t k = 0; k < n && !rc; k++) rc = bound_compute(st[k], err);
    bound_state **open = rc ? NULL : malloc(n * sizeof *open);
    double *olow = rc ? NULL : malloc((n * rows > 0 ? n * rows : 1) * sizeof *olow);
    if (!rc && (!open || !olow)) rc = nn_fail(err, NN_ENOMEM, "out of memory for a batch of regions");
    size_t no = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t no_out = model_output_size(st[k]->model);
        for (size_t r = 0; r < no_out; r++) st[k]->out_lower[r] = -INFINITY, st[k]->out_upper[r] = INFINITY;
        if (st[k]->infeasible) { /* the bound over an empty set */
            for (size_t r = 0; r < rows; r++) lower[k * rows + r] = INFINITY;
            continue;
        }
        if (rows) rc = bound_spec_linear(st[k], C, rows, ldc, NULL, olow + no * rows, NULL, err);
        open[no++] = st[k];
    }
    if (!rc) rc = bound_frown_spec_batch(open, no, C, rows, ldc, olow, err);
    for (size_t k = 0, q = 0; k < n && !rc; k++)
        if (!st[k]->infeasible) memcpy(lower + k * rows, olow + q++ * rows, rows * sizeof *lower);
    free(open), free(olow);
    return rc ? rc : check_finite(st, lower, n, rows, err);
}

int bound_batch_run(bound_batch *b, bound_state *const *st, size_t n, const double *C, size_t rows, size_t ldc,
                    double *lower, nn_error *err)
{
    if (n == 0) return NN_OK;
    const nn_model *m = st[0]->model;
    for (size_t k = 0; k < n; k++) {
        if (!st[k] || !st[k]->work || !((bound_work *)st[k]->work)->region_set)
            return nn_fail(err, NN_EARG, "bound_batch_run: state %zu has no region set", k);
        const bound_state *sk = st[k];
        if (sk->model != m || sk->opt.method != st[0]->opt.method ||
            sk->opt.frown_layers != st[0]->opt.frown_layers || !bound_batch_supported(m, &sk->opt) ||
            !sk->outputs_unused || sk->rows_exec)
            return nn_fail(err, NN_EARG, "bound_batch_run: state %zu is not one a batch can bound (one model, "
                                         "CROWN, Fast-Lin or FROWN, one FROWN layer scope, a chain of dense "
                                         "layers, outputs unused, no row executor)", k);
    }
    if (rows && (!C || ldc < model_output_size(m)))
        return nn_fail(err, NN_EARG, "bound_batch_run: C is NULL or its leading dimension is too small");
    if (st[0]->opt.method == METHOD_FROWN) return frown_batch(b, st, n, C, rows, ldc, lower, err);
    int rc = tables_for(b, m, n, err);
    if (rc) return rc;
    b->gen++; /* the packed weights of an earlier batch are stale */
    if ((rc = walk_layers(b, st, n, crown_rows, 1, err))) return rc;
    size_t no = model_output_size(m);
    for (size_t k = 0; k < n; k++)
        for (size_t r = 0; r < no; r++) st[k]->out_lower[r] = -INFINITY, st[k]->out_upper[r] = INFINITY;
    if (rows == 0) return NN_OK;
    /* the specification rows, lower sides: IBP at the output first (its magnitudes
     * are the last affine layer's budget) */
    size_t M = 0;
    rc = reserve(b, n * rows, 1, 1, err);
    for (size_t k = 0; k < n && !rc; k++) {
        if (st[k]->infeasible) continue; /* no point: any bound holds */
        rc = bound_ibp_at(st[k], m->n_layers, err);
        for (size_t r = 0; r < rows; r++, M++) b->state[M] = k, b->row[M] = r, b->sign[M] = 1;
    }
    if (rc || (M && (rc = pass_rows(b, st, m->n_layers, C, ldc, M, err)))) return rc;
    for (size_t k = 0, p = 0; k < n && !rc; k++) {
        double *lo = lower + k * rows;
        if (st[k]->infeasible) {
            for (size_t r = 0; r < rows; r++) lo[r] = INFINITY;
            continue;
        }
        memcpy(lo, b->lb + p, rows * sizeof *lo);
        p += rows;
        rc = bound_spec_tail(st[k], C, rows, ldc, NULL, lo, NULL, err);
    }
    return rc ? rc : check_finite(st, lower, n, rows, err);
}
