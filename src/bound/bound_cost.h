/* bound_cost (private to src/bound): what an affine layer's map costs — the
 * floating-point operations counted in bound_state.flops, and the number of terms
 * an entry of its adjoint sums, which sizes the rounding budget (K_j). */
#ifndef BOUND_COST_H
#define BOUND_COST_H

#include <stddef.h>
#include "model.h"

/* Multiply-adds x 2 of affine layer L's map (or adjoint) on R rows (dense, conv; 0 else). */
double bound_affine_flops(const nn_layer *L, size_t R);
/* Terms per entry of affine layer L's adjoint: K_j of the rounding budget
 * (bound_backward.c, part 2); 0 for layers that sum nothing. */
double bound_adjoint_terms(const nn_layer *L);
/* The first affine block's composite F (rows x n_in) costs no more flops than
 * the adjoints of the block's own layers [0, first_nl): only then may backward
 * passes cross the block as one GEMM with F (bound_first_block.c, fb_gemm). */
int bound_composite_pays(const nn_model *m, int first_nl, size_t rows, size_t n_in);

#endif
