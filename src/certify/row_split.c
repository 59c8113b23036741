/* A verifier's layer rows through a row splitter.
 *
 * The bound engine offers a row executor hook (bound.h, bound_rows_fn): at each
 * nonlinear layer it hands the hook the layer's rows, which may compute them as
 * row ranges with bound_layer_rows in any split, since a row range gives the
 * bits of the full layer. Here that hook is the verifier's row splitter: it gets
 * the layer's rows as a generic row problem, in blocks of the bound state's
 * row_block rows (the job's, or resolved from memory by bound_state_init the
 * same way on every rank, so that every split cuts the same blocks), and a
 * rows function that bounds a range of them. A scheduler can so split a
 * layer over ranks without knowing the bound engine. */
#include "certify.h"

/* One layer's rows as a row problem. */
typedef struct {
    bound_state *st;
    int layer;
} layer_rows;

static int bound_range(void *ctx, size_t row_lo, size_t row_hi, double *lower, double *upper, nn_error *err)
{
    layer_rows *l = ctx;
    return bound_layer_rows(l->st, l->layer, row_lo, row_hi, lower, upper, err);
}

/* bound_rows_fn, ctx = the verifier's splitter. */
static int split_layer(void *ctx, bound_state *st, int layer, size_t n_rows, double *lower, double *upper,
                       nn_error *err)
{
    const cert_row_splitter *s = ctx;
    layer_rows l = {st, layer};
    return s->split(s->ctx, n_rows, st->opt.row_block, bound_range, &l, lower, upper, err);
}

void cert_verifier_split_rows(cert_verifier *v, cert_row_splitter s)
{
    v->splitter = s;
    v->st.rows_exec = s.split ? split_layer : NULL;
    v->st.rows_ctx = s.split ? &v->splitter : NULL;
}
