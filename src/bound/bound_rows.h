/* bound_rows (private to src/bound): plain-row backward steps with the kernel's
 * rounding accounting, for passes whose rows carry lines of their own (FROWN,
 * CROWN-Quad). Rows are double, full width, leading dimension = width. */
#ifndef BOUND_ROWS_H
#define BOUND_ROWS_H

#include "bound_work.h"

/* c, s, e per row as in the backward kernel (bound_backward.c): constant, sum of
 * |terms| folded into it, budget of the errors in the coefficients. */
/* Is the next layer above affine layer j (flatten skipped) an activation, whose
 * budget weights ew then cover j's adjoint? (On a residual graph: one that alone
 * reads j's output.) */
int bound_rows_under_activation(const bound_state *st, int j);
/* Before affine layer j's adjoint: c += A.b_full, s += |A||b_full|, and unless an
 * activation above covers it, e += gamma_j |A| . vmag_j. A is R x n. */
void bound_rows_offset(const bound_state *st, int j, const double *A, size_t R, size_t n, double *c, double *s,
                       double *e);
/* One row through activation j on the lower side (coefficient >= 0: the line
 * (ls, lt), else (us, ut)), in place; e += |y| . ew_j. */
void bound_rows_activation(const bound_state *st, int j, const double *ls, const double *lt, const double *us,
                           const double *ut, double *a, size_t n, double *c, double *s, double *e);
/* Through maxpool j's planes on the lower side: A (R x n_out) -> An (R x n_in). */
void bound_rows_maxpool(const bound_state *st, int j, size_t R, const double *A, double *An, double *c, double *s,
                        double *e);
/* Does the kernel cross the first affine block with its cached composite? Then so
 * must these passes (the first activation's ew holds that composite's budget). */
int bound_rows_composite(const bound_state *st);
/* Rows A (R x fb_rows) on the first nonlinear layer's input through the composite
 * to the model input: An (R x n_in), c and s take its offset. */
void bound_rows_first_block(bound_state *st, size_t R, const double *A, double *An, double *c, double *s);
/* Its offset part alone: c and s of rows A (R x fb_rows). */
void bound_rows_first_block_offset(const bound_state *st, size_t R, const double *A, double *c, double *s);
/* Rows A (R x width) on positions of the block's output whose composite rows are
 * fbp (width x n_in) through the composite alone: their offset is the caller's
 * (folded into the activation step before, as the kernel folds it). A position
 * left out is an exact zero in every row, whose terms the full product adds as
 * zeros. */
void bound_rows_first_block_on(bound_state *st, size_t R, const double *A, size_t width, const double *fbp,
                               double *An);

#endif
