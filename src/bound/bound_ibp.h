/* bound_ibp (private to src/bound): the IBP bounds of each nonlinear layer's input
 * from the committed bounds before it, cached in the workspace until the region or
 * a commit changes; the exact first block at the first nonlinear layer. */
#ifndef BOUND_IBP_H
#define BOUND_IBP_H

#include "bound_work.h"

/* IBP bounds of the input of nonlinear layer i (i = n_layers: model output) into
 * ibp_l[i], ibp_u[i]. Filling them also fills the rounding magnitudes (vmag) of the
 * affine layers before i, which a backward pass from i needs. Uses scratch[0, 7 maxw). */
int bound_ibp_at(bound_state *st, int i, nn_error *err);

#endif
