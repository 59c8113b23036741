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

/* The rows of layer i (not the first nonlinear layer) that bound_linear_rows
 * passes, ascending, into idx (*R of them): the others keep their IBP bound. */
int bound_crown_select(bound_state *st, int i, size_t *idx, size_t *R, nn_error *err);
/* Layer i's bounds, lower/upper[0 .. n), from the passes of rows idx[0 .. R)
 * (bl, bu) and IBP, as bound_linear_rows merges them (after bound_crown_select). */
void bound_crown_merge(const bound_state *st, int i, const size_t *idx, size_t R, const double *bl,
                       const double *bu, double *lower, double *upper);

#endif
