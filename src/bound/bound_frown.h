/* bound_frown (private to src/bound): FROWN, bounding lines optimized per bounded
 * row and side by Adam from CROWN's lines, with its warm-start state across the
 * evaluations of one image (doc/frown.md; the math is at the top of bound_frown.c). */
#ifndef BOUND_FROWN_H
#define BOUND_FROWN_H

#include "bound_work.h"

/* Prototypes */
/* Option checks for the method that uses them (FROWN, CROWN-Quad). */
int bound_frown_check_options(const bound_options *o, nn_error *err);
/* Bytes of one problem of a FROWN block (model widest layer maxw). */
size_t bound_frown_problem_bytes(const nn_model *m, const bound_options *o, size_t maxw);
/* Default rows per block for FROWN from its per-row memory (rb for other methods). */
size_t bound_frown_row_block(const nn_model *m, const bound_options *o, size_t maxw, size_t rb);
/* FROWN blocks hold whole groups: rb rounded up to a multiple of frown_group. */
size_t bound_frown_align_block(const bound_options *o, size_t rb);
int bound_frown_init(bound_state *st, nn_error *err);
void bound_frown_free(bound_work *w, const nn_model *m);
/* A region was set: a new evaluation, of the same image (warm start kept) or not. */
void bound_frown_new_region(bound_state *st, int same_image);
/* Rows [lo, hi) of nonlinear layer i (not the first), one or both sides (NULL = not
 * wanted): CROWN on the aligned blocks covering them, then the optimization. */
int bound_frown_layer_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper,
                           nn_error *err);
/* The same for ns states of one model at once (bound_batch_run's sub-domains):
 * every block's problems of all states in one optimization, each state its own
 * segment; lower[k], upper[k] state k's (lower, upper NULL: side not wanted). */
int bound_frown_layer_rows_batch(bound_state *const *st, size_t ns, int i, size_t lo, size_t hi,
                                 double *const *lower, double *const *upper, nn_error *err);
/* Spec rows: lower/upper hold CROWN's bounds on entry and are tightened in place. */
int bound_frown_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                     double *upper, nn_error *err);

/* bound_frown_spec's lower sides for n states of one model (bound_batch_run):
 * lower[k * rows + r] holds state k's CROWN bound and gets the better one. */
int bound_frown_spec_batch(bound_state *const *st, size_t n, const double *C, size_t rows, size_t ldc,
                           double *lower, nn_error *err);

/* White-box entry points for the gradient tests. The variables of the problems of
 * layer top (top = n_layers: spec rows), in the order bound_frown_probe takes them:
 * *V of them; lo, hi, start get their ranges and CROWN's values, layer, neuron and
 * upper say whose line each is (0 lower, 1 upper; 2: the multiplier of the split
 * constraint on that neuron of st->sub) (every array V entries, or NULL). */
int bound_frown_vars(bound_state *st, int top, size_t *V, double *lo, double *hi, double *start, int *layer,
                     size_t *neuron, int *upper, nn_error *err);
/* The bound of one problem at variables theta (projected onto their ranges first):
 * the lower bound of sign * row, row = identity row `row` of layer top's input or,
 * with C_row != NULL, C_row . f(x) + d. *bound gets it, grad (V entries, or NULL) the
 * hand-derived gradient d bound / d theta. */
int bound_frown_probe(bound_state *st, int top, size_t row, const double *C_row, double d, double sign,
                      const double *theta, double *bound, double *grad, nn_error *err);

#endif
