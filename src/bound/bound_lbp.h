/* bound_lbp (private to src/bound): forward linear bound propagation (LBP).
 * Fills the intermediate bounds of every nonlinear layer of st's model, and the
 * output bounds, by propagating linear bounds in x forward (spec bounds.md). */
#ifndef BOUND_LBP_H
#define BOUND_LBP_H

#include "bound.h"

/* Prototypes */
/* Requires bound_set_region; commits every nonlinear layer in order. */
int bound_lbp_run(bound_state *st, nn_error *err);

#endif
