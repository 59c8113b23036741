/* bound_lp_build (private to src/bound): the LP of the layer-wise convex relaxation
 * of layers [0, upto) under a state's committed bounds (doc/lp.md "The LP of
 * LP-ALL, LP-LAST and MILP"): a column per input (and l1 slack) and per value of
 * every layer output, each with a finite box, so that the safe bound applies. */
#ifndef BOUND_LP_BUILD_H
#define BOUND_LP_BUILD_H

#include "bound_work.h"

typedef struct {
    int nc, nr;            /* columns, rows */
    double *clb, *cub;     /* column bounds, all finite */
    double *rlb, *rub;     /* row bounds (+-BOUND_LP_INF: that side is free) */
    int cap_c, cap_r;
    int *ti, *tj;          /* triplets (row, column, value) */
    double *tv;
    size_t nz, cap_z;
    int *start, *index;    /* compressed columns, after bound_lp_finish */
    double *value;
    int off_x;             /* first input column */
    int *off;              /* [i] first column of layer i's output, i < upto */
    const nn_model *m;     /* whose edges say which output each layer reads */
    int upto;
    int failed;            /* an allocation failed (err was filled) */
} bound_lp;

/* The relaxation of layers [0, upto) of st (layers before upto committed):
 * affine layers as rows with their rounding allowance, activations by their
 * committed lines plus the convex hull's pieces (ReLU, leaky ReLU) or tangent
 * cuts (S-shaped, opt.lp_cuts per free side), MaxPool by its planes plus
 * y >= x_k and the sum cut, residual adds as exact sums. top_lo/top_hi (optional) intersect the box of layer
 * upto - 1's output (known sound bounds of the rows being bounded). */
int bound_lp_build(const bound_state *st, int upto, const double *top_lo, const double *top_hi, bound_lp *P,
                   nn_error *err);
/* Column of value k of layer i's input, the output its edge names (the model
 * input for the first layer; i == n_layers: the model output). */
int bound_lp_in_col(const bound_lp *P, int i, size_t k);
/* Append a column or row (returns its index, -1 after a failed allocation), add
 * a coefficient. Rows and columns may be added until bound_lp_finish. */
int bound_lp_add_col(bound_lp *P, double lb, double ub, nn_error *err);
int bound_lp_add_row(bound_lp *P, double lb, double ub, nn_error *err);
void bound_lp_coef(bound_lp *P, int row, int col, double v, nn_error *err);
/* Triplets to compressed columns. */
int bound_lp_finish(bound_lp *P, nn_error *err);
void bound_lp_free(bound_lp *P);
/* Rigorous lower bound of min c.x over P from row multipliers y (bound_lp_safe). */
double bound_lp_lower(const bound_lp *P, const int *cidx, const double *cval, size_t cn, const double *y, double *r);

#endif
