/* bound_lbp (private to src/bound): forward linear bound propagation (LBP).
 * Linear bounds in x of every layer's input, propagated forward through the
 * committed relaxations and concretized on the region (doc/bounds.md "Variants"). */
#ifndef BOUND_LBP_H
#define BOUND_LBP_H

#include "bound_work.h"

/* Prototypes */
/* Bounds of neurons idx[0..n) (idx NULL: neurons lo..lo+n) of the input of layer
 * `layer` (n_layers: the model output), layers before it committed. The linear
 * bounds of the whole layer are propagated once per region (and per commit before
 * it) whatever neurons are asked for, and each neuron is concretized on its own,
 * so any subset gives the full layer's numbers bit for bit. No IBP intersection. */
int bound_lbp_rows(bound_state *st, int layer, const size_t *idx, size_t lo, size_t n, double *lower,
                   double *upper, nn_error *err);
/* Bounds of rows of C f(x) + d (C rows x output size, leading dimension ldc, d
 * optional) from the output's linear bounds split by the sign of C. All layers
 * committed. lower/upper may be NULL. */
int bound_lbp_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                   double *upper, nn_error *err);
/* Forget linear bounds that depend on layer `layer`'s relaxation (its commit
 * changed); layer < 0 forgets everything (new region). */
void bound_lbp_invalidate(bound_state *st, int layer);
void bound_lbp_free(bound_state *st);

#endif
