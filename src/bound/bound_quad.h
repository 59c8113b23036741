/* bound_quad (private to src/bound): CROWN-Quad, quadratic lower bounds of the last
 * ReLU layer for specification rows (doc/frown.md "CROWN-Quad"; math at the top of
 * bound_quad.c). */
#ifndef BOUND_QUAD_H
#define BOUND_QUAD_H

#include "bound_work.h"

/* Prototypes */
/* NN_EUNSUPPORTED with a message naming the layer unless the model's last nonlinear
 * layer is a ReLU. */
int bound_quad_check_model(const nn_model *m, nn_error *err);
/* Spec rows: lower/upper hold CROWN's bounds on entry; each row keeps the better of
 * that and its quadratic bound (upper rows as lower bounds of the negated row). */
int bound_quad_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                    double *upper, nn_error *err);

#endif
