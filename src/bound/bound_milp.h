/* bound_milp (private to src/bound): exact margins of ReLU / leaky ReLU / MaxPool
 * networks by a big-M MILP solved with COIN-OR Cbc under a time limit, with the
 * counterexamples it finds checked by the exact forward pass (doc/lp.md "MILP"). */
#ifndef BOUND_MILP_H
#define BOUND_MILP_H

#include "bound_work.h"

/* Lower bounds of rows of C f(x) + d by one MILP each (lower[] already holds a
 * sound bound, which is only ever raised); records each row's outcome for
 * bound_milp_result. */
int bound_milp_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                    nn_error *err);
void bound_milp_free(bound_work *w);

#endif
