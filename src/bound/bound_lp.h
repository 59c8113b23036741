/* bound_lp (private to src/bound): LP-ALL's intermediate bounds and the LP bounds
 * of specification rows (LP-ALL, LP-LAST, and MILP's floor), each solved by Clp
 * and then recomputed from its duals by the safe bound (doc/lp.md). */
#ifndef BOUND_LP_H
#define BOUND_LP_H

#include "bound_work.h"

/* Refuse what the LP methods cannot bound (before any work): residual graphs are
 * refused by the engine already; milp needs piecewise-linear activations. */
int bound_lp_check_model(const nn_model *m, bound_method method, nn_error *err);
/* l2 balls are not polyhedral. */
int bound_lp_check_region(bound_method method, const bound_region *r, nn_error *err);
/* Rows [lo, hi) of nonlinear layer i (not the first): CROWN's rows, then for each
 * neuron they leave unstable (ReLU-like) or undecided (S-shaped, MaxPool, u > l)
 * an LP per side over the relaxation of layers [0, i), the tighter bound kept.
 * Neurons go in aligned blocks, each from a fresh solver, so a row's bits do not
 * depend on the range asked for. lower or upper may be NULL. */
int bound_lp_layer_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper, nn_error *err);
/* Forget the LP bound_lp_layer_rows keeps for the ranges of one layer's rows:
 * at every change of the state (region, sub-domain, commit). */
void bound_lp_rows_drop(bound_work *w);
/* Neurons per solver block for row_block rb: its largest divisor up to 16. */
size_t bound_lp_block(size_t rb);
/* Tighten bound_spec's rows by one LP per row over the whole relaxation: the
 * lower bounds, and the upper bounds too when opt.spec_upper is set; with
 * st->spec_sign_only, not the rows bound_spec_row_settled names. */
int bound_lp_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                  double *upper, nn_error *err);

/* A spec row whose lower bound l needs no LP or MILP: the caller reads only its
 * sign (st->spec_sign_only), no upper bound is asked for, and l > 0 already. */
int bound_spec_row_settled(const bound_state *st, double l, int want_upper);

#endif
