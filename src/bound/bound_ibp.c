/* Interval bound propagation (doc/bounds.md, "Variants"): the IBP bounds of every
 * nonlinear layer's input, cached per region and per commit. The box arithmetic is
 * bound_box.c's.
 *
 * The first nonlinear layer's bounds are not propagated but taken exactly from the
 * first affine block (bound_first_block_rows): IBP of a single affine layer on a
 * ball is exact only for l_inf without clipping, the block rule is exact always.
 * Residual graphs take the boxes of bound_box_dag, which follow the edges. */
#include "bound_ibp.h"
#include "bound_box.h"
#include "bound_first_block.h"

#include <string.h>

int bound_ibp_at(bound_state *st, int i, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    if (w->ibp_valid[i]) return NN_OK;
    size_t n = i < m->n_layers ? shape_size(m->layers[i].in) : model_output_size(m);
    int rc;
    if (i == w->first_nl) {
        rc = bound_first_block_rows(st, 0, n, w->ibp_l[i], w->ibp_u[i], err);
        if (rc) return rc;
    } else if (w->dag) {
        /* a residual graph: the boxes of every output below i, along the edges */
        if ((rc = bound_box_dag(st, i, err))) return rc;
        int a = i < m->n_layers ? bound_in(m, i, 0) : m->n_layers - 1;
        memcpy(w->ibp_l[i], w->dag_lo[a + 1], n * sizeof(double));
        memcpy(w->ibp_u[i], w->dag_hi[a + 1], n * sizeof(double));
    } else {
        int p = w->prev_nl[i];
        if (p < 0 || p >= st->layers_done)
            return nn_fail(err, NN_EARG, "interval bounds of layer %d need layer %d committed first", i, p);
        double *lo = w->scratch, *hi = w->scratch + w->maxw;
        rc = bound_box_nonlinear(st, p, st->pre_lower[p], st->pre_upper[p], lo, hi, err);
        if (!rc) rc = bound_box_affine(st, p + 1, i, lo, hi, err);
        if (rc) return rc;
        memcpy(w->ibp_l[i], lo, n * sizeof(double));
        memcpy(w->ibp_u[i], hi, n * sizeof(double));
    }
    w->ibp_valid[i] = 1;
    return NN_OK;
}
