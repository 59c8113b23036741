/* bound_first_block (private to src/bound): the affine layers before the first
 * nonlinear layer as one cached composite map, the exact bounds of the first
 * nonlinear layer's input, and the rounding budget of passes that cross it. */
#ifndef BOUND_FIRST_BLOCK_H
#define BOUND_FIRST_BLOCK_H

#include "bound_work.h"

/* Its cancellation constants (fb_summing, fb_gamma), once per state. */
void bound_first_block_init(bound_state *st);
void bound_first_block_free(bound_work *w);
/* Exact bounds of rows [lo, hi) of the first nonlinear layer's input (or of the
 * output when the model is affine): the block concretized on the region. */
int bound_first_block_rows(bound_state *st, size_t lo, size_t hi, double *lower, double *upper, nn_error *err);
/* The budget's magnitudes of backward passes crossing the block for the current
 * region: the vmag of its layers from the region's box, or for its composite
 * (fb_gemm) fb_v and fb_tau. Before the first nonlinear layer is committed. */
int bound_first_block_budget(bound_state *st, nn_error *err);

#endif
