/* bound_lp_safe (private to src/bound): a rigorous lower bound on an LP's minimum
 * from any row multipliers (the Neumaier-Shcherbina bound, doc/lp.md "The safe
 * bound"), so that no LP solver's objective value is ever trusted. */
#ifndef BOUND_LP_SAFE_H
#define BOUND_LP_SAFE_H

#include <stddef.h>

/* The LP  min c.x  s.t.  rlb <= A x <= rub,  clb <= x <= cub  with every column
 * bound finite, A in compressed columns (start[nc + 1], index, value). A row
 * bound with |b| >= BOUND_LP_INF is infinite. c is sparse: cn entries cval[k] at
 * columns cidx[k] (distinct). y[nr] is any vector (a solver's duals): the result
 * is <= the LP's minimum over the reals whatever y is (-inf when y or the data
 * is not finite). r is scratch of nc doubles. */
#define BOUND_LP_INF 1e30
double bound_lp_safe_lower(int nc, int nr, const int *start, const int *index, const double *value, const double *clb,
                           const double *cub, const double *rlb, const double *rub, const int *cidx,
                           const double *cval, size_t cn, const double *y, double *r);

#endif
