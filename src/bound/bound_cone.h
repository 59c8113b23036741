/* bound_cone (private to src/bound): which rows of a branch-and-bound child would
 * only reproduce its parent's bits — rows whose receptive cone meets no neuron the
 * child changed — so that they keep the parent's bounds without a backward pass. */
#ifndef BOUND_CONE_H
#define BOUND_CONE_H

#include "bound_work.h"

/* Layer i's bounds are final in st (under st->sub): notes which of its neurons
 * the child changed, for the rows above it (a no-op unless the rule can apply:
 * a sub-domain whose prior bounds are this region's, keep_below > 0). */
int bound_cone_note(bound_state *st, int i, nn_error *err);
/* Row r of nonlinear layer i keeps the parent's bounds: its cone below it, down to
 * the input, meets only neurons that the child took from the parent unchanged,
 * so its pass would give the parent's bits. */
int bound_cone_kept(const bound_state *st, int i, size_t r);
/* Forget the notes (a new bound_compute starts). */
void bound_cone_reset(bound_work *w, int n_layers);
void bound_cone_free(bound_work *w, int n_layers);

#endif
