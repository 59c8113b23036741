/* bound_concretize (private to src/bound): bounds of a linear function a.x + c over
 * the input region (l_inf, l1, l2 balls, clipped or not, exact) or over a box,
 * moved outward by the rounding allowance. */
#ifndef BOUND_CONCRETIZE_H
#define BOUND_CONCRETIZE_H

#include "bound_work.h"

/* Bounds of a.x + c over the region (a has the model's input size), widened by
 * BOUND_ALLOWANCE(|a||x| terms + s). nrm: cached dual norm of a, or < 0 to
 * compute it. lo/hi may be NULL (side skipped). */
void bound_concretize_region(const bound_state *st, const double *a, double c, double s, double nrm, double *lo,
                             double *hi);
/* bound_concretize_region (nrm < 0) for a row that is 0 outside the k input
 * coordinates idx[0..k) (ascending), a[q] the coefficient of idx[q]: the same
 * terms in the same order, so the same bits (the zeros add nothing). Returns 0,
 * computing nothing, where the region needs the whole row (clipped l1, l2, or
 * sums in lanes). scratch: k doubles (the ball's centre entries). */
int bound_concretize_region_sparse(const bound_state *st, const double *a, const size_t *idx, size_t k, double c,
                                   double s, double *lo, double *hi, double *scratch);
/* Clipped l1 or l2 (the ball within the box [box_lo, box_hi]): the lower bound of
 * a.x + c that bound_concretize_region gives, and the point x of the region where
 * it is attained (l1: the knapsack's; l2: the dual multiplier's). */
double bound_clipped_argmin(const bound_state *st, const double *a, double c, double s, double *x);
/* bound_concretize_region's lower bound of a.x + c, and (x != NULL) the point of
 * the region where it is attained: a corner of the box or l_inf ball, the l2
 * ball's point along -a, the l1 ball's vertex of largest |a|, the clipped l1 and
 * l2 balls' exact points (bound_clipped_argmin). */
double bound_region_argmin(const bound_state *st, const double *a, double c, double s, double *x);
/* The point alone (for a caller that concretizes the row itself). */
void bound_region_point(const bound_state *st, const double *a, double *x);
/* The same as bound_concretize_region over the box [bl, bh] (n entries); mode:
 * how its sums run (bound_work.box_mode, bound_concretize.c). */
void bound_concretize_box(const double *a, size_t n, const double *bl, const double *bh, double c, double s,
                          int mode, double *lo, double *hi);
/* The dual norm q of a (n entries) for the region norm p: ||a||_1 for p = inf,
 * ||a||_inf for p = 1, ||a||_2 for p = 2; sums by mode (bound_work.box_mode: the
 * bits of the norm bound_concretize_region computes with the row), safe from
 * under- and overflow of squares. */
double bound_dual_norm(const double *a, size_t n, norm_type p, int mode);

#endif
