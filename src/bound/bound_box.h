/* bound_box (private to src/bound): boxes through layers with outward rounding —
 * the arithmetic of IBP, also used for the interval tail of specification bounds
 * and, as a side effect, the source of the backward kernel's rounding magnitudes. */
#ifndef BOUND_BOX_H
#define BOUND_BOX_H

#include "bound_work.h"

/* Box of nonlinear layer i's output given the box [l, u] of its input. */
int bound_box_nonlinear(const bound_state *st, int i, const double *l, const double *u, double *lo, double *hi,
                        nn_error *err);
/* Pass a box through affine layers [from, to) by centre/radius; lo/hi in place, size
 * maxw (uses scratch rows 2..6). Also records vmag[j] = |M_j| max(|lo|, |hi|) (and
 * tau[j] in single precision) for the rounding budget. */
int bound_box_affine(bound_state *st, int from, int to, double *lo, double *hi, nn_error *err);

/* Residual graphs: the boxes of the outputs of layers [0, upto) (dag_lo, dag_hi,
 * dag_g), from the region's box and the committed bounds of the nonlinear layers
 * among them, following the edges (an add sums its inputs' boxes). Records vmag
 * (and tau) of the affine layers like bound_box_affine. Cached until the region
 * or a commit changes. Uses scratch rows 0..6. */
int bound_box_dag(bound_state *st, int upto, nn_error *err);

#endif
