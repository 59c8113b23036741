/* bound_internal (private to src/bound): the workspace behind bound_state.work,
 * shared by the driver (bound.c), IBP (bound_ibp.c), the backward kernel
 * (bound_backward.c), concretization (bound_concretize.c) and LBP (bound_lbp.c).
 * Nothing outside src/bound may include it. */
#ifndef BOUND_INTERNAL_H
#define BOUND_INTERNAL_H

#include <float.h>
#include <stdint.h>
#include <string.h>

#include "bound.h"
#include "layer_ops.h"
#include "nn_clock.h"

/* Relative allowance added outward to every concretized bound, times the sum of
 * the absolute values of the terms that were added up (see bound_backward.c). */
#define BOUND_REL_ALLOW 1e-10
/* The allowance for terms of magnitude sum mag: BOUND_REL_ALLOW of it, plus DBL_MIN
 * for results that underflow (their error is absolute, a relative one is 0). */
#define BOUND_ALLOWANCE(mag) (BOUND_REL_ALLOW * (mag) + DBL_MIN)
/* Relative widening of activation values of interval endpoints (libm accuracy). */
#define BOUND_ACT_ALLOW 4e-15

/* Zeroed allocation of count elements into ptr, or `goto fail` (err filled). */
#define BOUND_ALLOC(ptr, count, what)                                                     \
    do {                                                                                  \
        if (!((ptr) = nn_calloc((count) > 0 ? (size_t)(count) : 1, sizeof *(ptr), what, err))) \
            goto fail;                                                                    \
    } while (0)

typedef struct {
    int first_nl;          /* index of the first nonlinear layer, or n_layers */
    int *prev_nl;          /* [i], i <= n_layers: last nonlinear layer < i, or -1 */
    size_t maxw;           /* widest layer input/output of the model */
    size_t n_in;           /* model input size */
    nn_layer *abs_layers;  /* [i] |linear part| of affine layer i, offset 0 (IBP radius) */
    double **bfull;        /* [i] offset b_full of affine layer i, NULL if all zero */
    double **babs;         /* [i] |b_full| where bfull[i] is set */

    /* exact bounds of the first affine block: rows of its composite matrix */
    int fb_state;          /* 0 not built, 1 cached, -1 too large to cache */
    size_t fb_rows;        /* = input size of layer first_nl (or output size) */
    double *fb_A, *fb_c, *fb_cabs;   /* fb_rows x n_in matrix, offset, |offset| terms */
    double *fb_norm;       /* 3 per row: ||A_r||_q for p = inf, 1, 2 (index = norm_type) */
    int fb_gemm;           /* backward passes cross the block as one GEMM with fb_A */
    double *fb_pk;         /* fb_A on first_nl's live rows */
    float *fb_Af, *fb_pkf; /* the same in float (single) */
    unsigned long fb_pk_gen[2][2]; /* [precision] stamps of the live set packed */
    double *fb_v;          /* rounding budget magnitudes of the composite, per row */
    double *fb_absx0, *fb_x0; /* |F||x0| and the x0 it was computed for */
    int fb_x0_valid;
    /* the block's exact rows when it sums in more than one layer (dense -> dense,
     * conv -> avgpool, ...): their cancellation error, per row and region */
    int fb_summing;        /* layers below the block's top whose adjoint sums K_j > 1 terms */
    double fb_gamma;       /* gamma(sum of K_j + 2) over the block, 0 when fb_summing is 0 */
    double *fb_e;          /* fb_rows: fb_gamma |M_k|..|M_1| chain magnitudes of the box */
    int fb_e_valid;        /* fb_e is for the current region */

    /* region */
    int region_set;
    double *x0;            /* copy of the centre */
    double *box_lo, *box_hi; /* bounding box of the region (ball within clip box) */

    size_t *l1_sel;        /* 2 n_in: scratch of the clipped l1 concretization */
    double *l1_buf;        /* 3 n_in: its gains and rooms */
    int *l1_bucket;        /* n_in: its buckets */

    /* IBP bounds per nonlinear layer input (index n_layers = model output) */
    double **ibp_l, **ibp_u;
    int *ibp_valid;

    /* backward kernel scratch (bound_backward.c) */
    size_t rb;             /* specification rows per block */
    double *buf[2];        /* 2*rb x maxw each: a block's lower and upper rows, other buffer */
    double *c, *s, *e;     /* 2*rb each: constants, sums of |constant terms|, rounding budgets */
    double *blk_l, *blk_u;     /* one block of results */
    size_t *idx;           /* selected rows of a block */
    double *scratch;       /* 8 x maxw: IBP and box temporaries */
    layer_workspace ws;    /* conv/pool scratch of the adjoints, kept across calls */

    /* dead-neuron packing (bound_backward.c) */
    unsigned long gen;     /* activation commits so far: stamps of live sets */
    unsigned long *live_gen; /* [i] stamp of activation i's live set, 0 = none yet */
    size_t **live;         /* [i] activation i: neurons whose lines are not both 0 */
    size_t *n_live, *n_act; /* [i] their count; neurons of activation i */
    double **pk;           /* [i] 8 x n_act, packed: lower slope, icpt, upper slope, icpt, offset
                              below, its magnitudes, budget weights double, float */
    double **wc;           /* [j] dense j: W on the live rows above and columns below */
    float **wcf;           /* [j] the same in float */
    unsigned long (*wc_gen[2])[2]; /* [precision][j] stamps of the live sets packed */
    float **wf;            /* [j] dense/conv j: weights in float (single only) */

    /* rounding budget of the coefficient matrices (bound_backward.c, part 2) */
    double **vmag;         /* [j] affine j: |M_j| G_j, G_j >= |input of j| (IBP), n_out */
    double *gam[2];        /* [precision][j] gamma(K_j + 2) of affine j's adjoint */
    double *tau;           /* [i] float rows: absolute (underflow) budget for crossing layer i */
    double fb_tau;         /* the same for the first block's composite GEMM */
    double **ew[2];        /* [precision][i] activation i: budget weight per neuron */
    double **mph[2];       /* [precision][i] maxpool i: budget weight per output, lower then upper */

    struct bound_lbp *lbp; /* forward linear bounds (bound_lbp.c), NULL until used */
    struct frown_work *frown; /* FROWN state and scratch (bound_frown.c), or NULL */
} bound_work;

/* bound.c */
/* Is row r of nonlinear layer L's input stable on [l, u] (ReLU-like on one linear piece)? */
int bound_row_stable(const nn_layer *L, size_t r, double l, double u);
/* CROWN rows [lo, hi) of layer i's input (backward pass, skip_stable, intersect_ibp);
 * lower or upper may be NULL (that side is not computed). */
int bound_crown_rows(bound_state *st, int i, size_t lo, size_t hi, double *lower, double *upper, nn_error *err);

/* bound_ibp.c */
/* Box of layer i's output given the box [l, u] of its input, nonlinear layer i. */
int bound_nl_output_box(const bound_state *st, int i, const double *l, const double *u, double *lo, double *hi,
                        nn_error *err);
/* IBP bounds of the input of nonlinear layer i (i = n_layers: model output) from the
 * committed bounds before it; cached in work until the region or a commit changes. */
int bound_ibp_at(bound_state *st, int i, nn_error *err);
/* Pass a box through affine layers [from, to) by centre/radius; lo/hi in place, size
 * maxw. Also records vmag[j] = |M_j| max(|lo|, |hi|) for the rounding budget. */
int bound_ibp_affine(bound_state *st, int from, int to, double *lo, double *hi, nn_error *err);

/* bound_concretize.c */
/* Bounds of a.x + c over the region (a has the model's input size), widened by
 * BOUND_REL_ALLOW * (|a||x| terms + s). nrm: cached dual norm of a, or < 0 to
 * compute it. lo/hi may be NULL (side skipped). */
void bound_concretize_region(const bound_state *st, const double *a, double c, double s, double nrm, double *lo,
                             double *hi);
/* The same over the box [bl, bh] (n entries). */
/* Clipped l1 or l2 (the ball within the box [box_lo, box_hi]): the lower bound of
 * a.x + c that bound_concretize_region gives, and the point x of the region where
 * it is attained (l1: the knapsack's; l2: the dual multiplier's; bound_concretize.c). */
double bound_clipped_argmin(const bound_state *st, const double *a, double c, double s, double *x);
void bound_concretize_box(const double *a, size_t n, const double *bl, const double *bh, double c, double s,
                          double *lo, double *hi);
/* The dual norm q of a (n entries) for the region norm p: ||a||_1 for p = inf,
 * ||a||_inf for p = 1, ||a||_2 for p = 2; sequential sums. */
double bound_dual_norm(const double *a, size_t n, norm_type p);

/* max(v, 0) without a branch: coefficient signs are close to random, and a
 * branch on them mispredicts half the time (3x slower in the backward pass).
 * v - bound_pos_part(v) is min(v, 0) exactly. */
static inline double bound_pos_part(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    b &= (b >> 63) - 1;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* bound_backward.c */
/* Multiply-adds x 2 of affine layer L's map (or adjoint) on R rows (dense, conv; 0 else). */
double bound_affine_flops(const nn_layer *L, size_t R);
/* Packing tables of the kernel (allocated once) and their release. */
int bound_backward_init(bound_state *st, nn_error *err);
void bound_backward_free(bound_work *w, const nn_model *m);
/* After nonlinear layer `layer` got its relaxation: live neurons, packed lines and
 * rounding-budget weights. */
int bound_backward_commit(bound_state *st, int layer, nn_error *err);
/* Exact bounds of rows [lo, hi) of the first nonlinear layer's input (or of the
 * output when the model is affine): the first affine block concretized on the region. */
/* Terms per entry of affine layer L's adjoint (K_j of the rounding budget). */
double bound_adjoint_terms(const nn_layer *L);
int bound_first_block_rows(bound_state *st, size_t lo, size_t hi, double *lower, double *upper, nn_error *err);
/* Backward bounds for rows idx[0..R) of the input of layer top (identity rows),
 * or, with C != NULL, rows of C on the model output (top = n_layers) plus d.
 * Walks layers top-1 .. stop and concretizes on the region (stop = 0) or on the
 * output box of layer stop-1 (box_lo/box_hi). lower/upper may be NULL (side skipped). */
int bound_backward_block(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                         size_t ldc, const double *d, const double *box_lo, const double *box_hi, double *lower,
                         double *upper, nn_error *err);

/* bound_rows.c: plain-row passes with the kernel's rounding accounting, for
 * passes whose rows carry lines of their own (FROWN, CROWN-Quad). Rows are double,
 * full width, leading dimension = width; c, s, e per row as in the kernel. */
/* Is the next layer above affine layer j (flatten skipped) an activation, whose
 * budget weights ew then cover j's adjoint? */
int bound_rows_under_activation(const nn_model *m, int j);
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

#endif
