/* bound_crown (private to src/bound): the rows of a nonlinear layer's input by a
 * linear pass — CROWN's backward pass or LBP's forward bounds — skipping rows a
 * cheaper bound already settles, intersected with IBP. */
#ifndef BOUND_CROWN_H
#define BOUND_CROWN_H

#include "bound_work.h"

/* Rows [lo, hi) of layer i (not the first nonlinear layer) by the backward pass, or
 * by LBP when lbp is set, layers before i committed; lower or upper may be NULL
 * (that side is not computed). */
int bound_linear_rows(bound_state *st, int i, int lbp, size_t lo, size_t hi, double *lower, double *upper,
                      nn_error *err);
/* bound_linear_rows by the backward pass (CROWN's rows, also FROWN's start). */
int bound_crown_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper, nn_error *err);

#endif
