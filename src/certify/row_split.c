/* A verifier's layer rows through a row splitter, and past a layer store.
 *
 * The bound engine offers a row executor hook (bound.h, bound_rows_fn): at each
 * nonlinear layer it hands the hook the layer's rows, which may compute them as
 * row ranges with bound_layer_rows in any split, since a row range gives the
 * bits of the full layer. Here that hook is the verifier's row splitter: it gets
 * the layer's rows as a generic row problem, in blocks of the layer's split unit
 * (bound_row_split_unit: row_block, the job's or resolved from memory by
 * bound_state_init the same way on every rank, or the LP methods' solver block
 * that divides it; so every split cuts the same blocks), and a
 * rows function that bounds a range of them. A scheduler can so split a
 * layer over ranks without knowing the bound engine. */
#include "certify.h"
#include "nn_clock.h"

#include <stdlib.h>

/* One layer's rows as a row problem. */
typedef struct {
    bound_state *st;
    int layer;
    double deadline;   /* the verifier's (0: none) */
} layer_rows;

/* With a deadline, a range goes block by block and stops before a block that
 * would start past it (task_timeout): whole aligned blocks give the bits of the
 * range. A group of ranks agrees on the first member's timeout like on any
 * other failure (the splitter's contract), so its members stop together. */
static int bound_range(void *ctx, size_t row_lo, size_t row_hi, double *lower, double *upper, nn_error *err)
{
    layer_rows *l = ctx;
    if (!(l->deadline > 0)) return bound_layer_rows(l->st, l->layer, row_lo, row_hi, lower, upper, err);
    size_t rb = l->st->opt.row_block ? l->st->opt.row_block : row_hi - row_lo;
    for (size_t lo = row_lo; lo < row_hi; lo += rb) {
        size_t hi = lo + rb < row_hi ? lo + rb : row_hi;
        if (nn_wall_seconds() > l->deadline)
            return nn_fail(err, NN_ETIMEOUT, "task_timeout reached at layer %d", l->layer);
        int rc = bound_layer_rows(l->st, l->layer, lo, hi, lower + (lo - row_lo), upper + (lo - row_lo), err);
        if (rc) return rc;
    }
    return NN_OK;
}

/* The first nonlinear layer, whose rows are always computed: they also build
 * the first affine block's cached composite (bound_first_block.c), and whether
 * it exists when that layer is committed decides the rounding budgets of every
 * later pass of the state, i.e. their bits. Those rows are exact and cheap. */
static int first_nonlinear(const nn_model *m)
{
    int i = 0;
    while (i < m->n_layers && !layer_is_nonlinear(m->layers[i].type)) i++;
    return i;
}

/* bound_rows_fn, ctx = the verifier. A layer the layer store supplies is not
 * computed: bound_compute commits it as if it had been (every member of a rank
 * group holds the same store, so they all skip it together). */
static int split_layer(void *ctx, bound_state *st, int layer, size_t n_rows, double *lower, double *upper,
                       nn_error *err)
{
    const cert_verifier *v = ctx;
    int stored = v->layers.find && layer != first_nonlinear(st->model);
    if (stored && v->layers.find(v->layers.ctx, st, layer, n_rows, lower, upper)) return NN_OK;
    layer_rows l = {st, layer, v->deadline};
    cert_split_fn split = v->splitter.split;
    if (v->splitter.split_varied && bound_rows_vary(st, layer)) split = v->splitter.split_varied;
    int rc;
    if (v->splitter.split_weighted && bound_rows_block_free(st, layer)) {
        /* cut where the passes balance: skipped rows cost next to nothing */
        double *cost = nn_malloc(n_rows * sizeof *cost, "row costs", err);
        if (!cost) return NN_ENOMEM;
        rc = bound_row_costs(st, layer, cost, err);
        if (!rc) rc = v->splitter.split_weighted(v->splitter.ctx, n_rows, cost, bound_range, &l, lower, upper, err);
        free(cost);
    } else {
        rc = split ? split(v->splitter.ctx, n_rows, bound_row_split_unit(st, layer), bound_range, &l, lower, upper, err)
                   : bound_range(&l, 0, n_rows, lower, upper, err);
    }
    if (!rc && stored && v->layers.keep) v->layers.keep(v->layers.ctx, st, layer, n_rows, lower, upper);
    return rc;
}

void cert_verifier_keep_layers(cert_verifier *v, cert_layer_store s)
{
    v->layers = s;
    v->st.rows_exec = split_layer;
    v->st.rows_ctx = v;
}

void cert_verifier_split_rows(cert_verifier *v, cert_row_splitter s)
{
    v->splitter = s;
    v->st.rows_exec = split_layer;
    v->st.rows_ctx = v;
    /* the LP methods' margin rows, one LP each, go through the same splitter */
    v->st.spec_split = s.split_varied ? s.split_varied : s.split;
    v->st.spec_items = s.split_items;
    v->st.spec_ctx = s.ctx;
}
