/* bound_backward (private to src/bound): the backward (CROWN) kernel — blocks of
 * coefficient rows walked from a layer down through the committed relaxations to
 * the input (or to a box), with dead-neuron packing and a rounding budget. */
#ifndef BOUND_BACKWARD_H
#define BOUND_BACKWARD_H

#include "bound_work.h"

/* Packing and budget tables (allocated once) and their release. */
int bound_backward_init(bound_state *st, nn_error *err);
void bound_backward_free(bound_work *w, const nn_model *m);
/* After nonlinear layer `layer` got its relaxation: live neurons, packed lines and
 * rounding-budget weights. Needs the budget's magnitudes of the affine layers
 * below it: the IBP bounds at `layer` (bound_ibp_at), or at the first nonlinear
 * layer the first block's budget (bound_first_block_budget), computed first. */
void bound_backward_commit(bound_state *st, int layer);
/* Backward bounds for rows idx[0..R) of the input of layer top (identity rows),
 * or, with C != NULL, rows of C on the model output (top = n_layers) plus d.
 * Walks layers top-1 .. stop and concretizes on the region (stop = 0) or on the
 * output box of layer stop-1 (box_lo/box_hi). lower/upper may be NULL (side
 * skipped). For top above the first nonlinear layer, the IBP bounds at top must
 * be computed (they fill the budget's magnitudes). */
int bound_backward_block(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                         size_t ldc, const double *d, const double *box_lo, const double *box_hi, double *lower,
                         double *upper, nn_error *err);
/* The pool of row blocks of passes over a residual graph, allocated on first use. */
int bound_backward_slots(bound_state *st, nn_error *err);
/* Rows idx[0..R) of the input of layer top <= first nonlinear layer, as linear
 * functions of the model input in double: A (R x n_in, leading dimension lda),
 * constants c and their magnitudes s. No concretization, no budget: the first
 * affine block's composite (bound_first_block.c). */
int bound_backward_to_input(bound_state *st, int top, size_t R, const size_t *idx, double *A, size_t lda,
                            double *c, double *s, nn_error *err);

/* R rows of one side in place through activation lines, the kernel's activation
 * step (bound_backward_kernel.h act_row, four rows at once where the CPU has
 * AVX2): position q takes (ps, pt) where its coefficient is >= 0, (ns, nt)
 * below; off/offabs (may be NULL) fold the offset of the affine layer below,
 * ew its budget weights; c, s, e per row. Row r is A + r lda, nq entries. */
void bound_backward_act_rows(const bound_state *st, size_t R, double *A, size_t lda, size_t nq, const double *ps,
                             const double *pt, const double *ns, const double *nt, const double *off,
                             const double *offabs, const double *ew, double *c, double *s, double *e);

#endif
