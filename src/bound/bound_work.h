/* bound_work (private to src/bound): the workspace behind bound_state.work and the
 * rounding allowances every bound file applies. Each group of fields names the file
 * that owns it; files only read the fields of files below them in the stack. */
#ifndef BOUND_WORK_H
#define BOUND_WORK_H

#include <float.h>
#include <math.h>
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
    /* the model's structure (bound.c, at init) */
    int first_nl;          /* index of the first nonlinear layer, or n_layers */
    int *prev_nl;          /* [i], i <= n_layers: last nonlinear layer < i, or -1 */
    size_t maxw;           /* widest layer input/output of the model */
    int rows4;             /* the CPU has AVX2 (and one_row_steps is off): activation
                              steps take four rows at once (bound_backward_kernel.h
                              act_rows4); never changes a bit */
    int box_mode;          /* how box concretizations sum (bound_concretize.c):
                              BOUND_BOX_SEQUENTIAL where rows can be windowed, else
                              lanes, in AVX2 vectors with rows4 */
    size_t n_in;           /* model input size */
    nn_layer *abs_layers;  /* [i] |linear part| of affine layer i, offset 0 (IBP radius) */
    double **bfull;        /* [i] offset b_full of affine layer i, NULL if all zero */
    double **babs;         /* [i] |b_full| where bfull[i] is set */
    /* residual graphs (bound.c, at init; doc/bounds.md "Residual graphs"): the model
     * is not a chain; per layer output k (index k + 1, 0 = the model input) the
     * number of layers reading it, and the most outputs a backward pass holds rows
     * of at once (the pool of row blocks, bound_backward.c) */
    int dag;
    int strides_agree;     /* every add reads two outputs of the same cumulative stride
                              (a graph's rows may then be block-free, bound_crown.c) */
    int *n_cons;           /* [k + 1] consumers of layer k's output; the model output counts one more */
    int max_live;          /* most pending row blocks of a backward pass */
    /* boxes of every layer output, cached per region and commit (bound_box.c, dag only) */
    double **dag_lo, **dag_hi; /* [k + 1] box of layer k's output (0: the region's box) */
    double **dag_g;        /* [k + 1] max(|lo|, |hi|): the rounding budget's magnitudes */
    int *dag_valid;        /* [k + 1] */

    /* exact bounds of the first affine block: rows of its composite matrix
     * (bound_first_block.c; fb_pk, fb_pkf and fb_pk_gen: bound_backward.c) */
    int fb_state;          /* 0 not built, 1 cached, -1 too large to cache */
    size_t fb_rows;        /* = input size of layer first_nl (or output size) */
    double *fb_A, *fb_c, *fb_cabs;   /* fb_rows x n_in matrix, offset, |offset| terms */
    double *fb_norm;       /* 3 per row: ||A_r||_q for p = inf, 1, 2 (index = norm_type) */
    size_t *fb_sp_ptr;     /* fb_rows + 1, or NULL: row r's nonzeros are entries
                              [fb_sp_ptr[r], fb_sp_ptr[r+1]) of fb_sp_idx / fb_sp_val */
    size_t *fb_sp_idx;     /* their input indices, ascending */
    double *fb_sp_val;     /* their values */
    double *fb_row;        /* n_in: a sparse row spread out, where a concretization needs
                              it dense (fb_A NULL: the rows are kept sparse only) */
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

    /* region (bound.c) */
    int region_set;
    double *x0;            /* copy of the centre */
    double *box_lo, *box_hi; /* bounding box of the region (ball within clip box) */

    size_t *l1_sel;        /* 2 n_in: scratch of the clipped l1 concretization (bound_concretize.c) */
    double *l1_buf;        /* 3 n_in: its gains and rooms */
    int *l1_bucket;        /* n_in: its buckets */

    /* IBP bounds per nonlinear layer input (index n_layers = model output; bound_ibp.c) */
    double **ibp_l, **ibp_u;
    int *ibp_valid;
    /* per nonlinear layer, the bounds of its last commit (2 n: lower, upper), and
     * whether they are set: a commit of the same bits keeps the boxes above valid */
    double **last_commit;
    int *last_commit_set;

    /* backward kernel scratch (bound_backward.c) */
    size_t rb;             /* specification rows per block */
    double *buf[2];        /* 2*rb x maxw each: a block's lower and upper rows, other buffer */
    double *c, *s, *e;     /* 2*rb each: constants, sums of |constant terms|, rounding budgets */
    double *blk_l, *blk_u;     /* one block of results */
    size_t *idx;           /* selected rows of a block */
    double *spec_points;   /* bound_spec's block of st->spec_points for the backward
                              kernel (the rows' minimizers), NULL between blocks */
    double *scratch;       /* 8 x maxw: box temporaries (bound_box.c, bound_ibp.c, bound.c) */
    layer_workspace ws;    /* conv/pool scratch of the adjoints, kept across calls */
    int *win_org;          /* 4*rb: window origins (y, x) of windowed rows (bound_backward.c) */

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

    /* rounding budget of the coefficient matrices (bound_backward.c, part 2); vmag
     * and the affine layers' tau are written by the box pass (bound_box.c) */
    double **vmag;         /* [j] affine j: |M_j| G_j, G_j >= |input of j| (IBP), n_out */
    double *gam[2];        /* [precision][j] gamma(K_j + 2) of affine j's adjoint */
    double *tau;           /* [i] float rows: absolute (underflow) budget for crossing layer i */
    double fb_tau;         /* the same for the first block's composite GEMM */
    double **ew[2];        /* [precision][i] activation i: budget weight per neuron */
    double **mph[2];       /* [precision][i] maxpool i: budget weight per output, lower then upper */

    /* pending row blocks of a backward pass over a residual graph (bound_backward.c) */
    int n_slots;           /* max_live + 1 buffers of 2 rb maxw doubles, and their per-row arrays */
    double **slot_buf;     /* [n_slots] */
    double **slot_row;     /* [n_slots] 3 x 2 rb doubles: c, s, e */
    int **slot_org;        /* [n_slots] 4 rb ints: window origins */

    /* notes of the neurons a sub-domain changed, per nonlinear layer (bound_cone.c) */
    unsigned **cone_sat;   /* [i] (C + 1) planes of (H + 1) x (W + 1) rectangle sums of
                              layer i's input: one per channel, the last over all */
    int *cone_valid;       /* [i] noted in the current bound_compute */
    int *cone_wanted;      /* [i] some row above can read layer i's notes */

    struct bound_lbp *lbp; /* forward linear bounds (bound_lbp.c), NULL until used */
    struct frown_work *frown; /* FROWN state and scratch (bound_frown.c), or NULL */
    struct bound_milp *milp;  /* MILP outcomes of the last bound_spec (bound_milp.c), or NULL */
    struct bound_lp_rows *lp_rows; /* one layer's LP kept across ranges of its rows (bound_lp.c), or NULL */
} bound_work;

enum { BOUND_BOX_SEQUENTIAL, BOUND_BOX_LANES, BOUND_BOX_LANES_V4 };

/* Layer j's input k as a layer index (-1: the model input): j - 1 on a chain. */
static inline int bound_in(const nn_model *m, int j, int k) { return model_layer_input(m, j, k); }

/* [*l, *u] intersected with a sub-domain's prior bounds of one layer at neuron r
 * (pl, pu: its arrays, either NULL): the parent's bounds hold on the child. */
static inline void bound_prior_clamp(const double *pl, const double *pu, size_t r, double *l, double *u)
{
    if (pl && pl[r] > *l) *l = pl[r];
    if (pu && pu[r] < *u) *u = pu[r];
}

/* bound.c: bound_spec up to its method's own step: the linear pass and the
 * interval tail (batches of FROWN states start from it, bound_batch.c). */
int bound_spec_linear(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                      double *upper, nn_error *err);
/* bound.c: rows C's bounds (lower, upper; either may be NULL) kept where the
 * interval tail after the last nonlinear layer is tighter, as bound_spec does
 * with IBP or intersect_ibp (no-op otherwise); layers committed. */
int bound_spec_tail(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                    double *upper, nn_error *err);

/* bound.c: bound_compute's steps, which batches of states take one by one
 * (bound_batch.c). bound_compute_start: before the first layer. bound_sub_keeps:
 * whether layer i takes st's sub-domain's prior bounds as they are (*kept), copied
 * to lo, hi. bound_layer_settle: layer i's bounds lo, hi (kept: taken from the
 * prior) intersected with the sub-domain's knowledge, committed, noted for the
 * receptive-cone rule; an empty interval sets st->infeasible and commits nothing. */
void bound_compute_start(bound_state *st);
int bound_sub_keeps(const bound_state *st, int i, double *lo, double *hi, int *kept, nn_error *err);
int bound_layer_settle(bound_state *st, int i, double *lo, double *hi, int kept, nn_error *err);

/* Largest first-block cache (bound_first_block.c): fb_rows x n_in doubles. */
#define BOUND_FB_CACHE_BYTES ((size_t)256 << 20)

/* Most row blocks a backward pass over a residual graph may hold (bound_backward.c). */
#define BOUND_MAX_SLOTS 64

/* Unit roundoff of the kernel's two precisions (bound_backward.c, part 2). */
#define UNIT_ROUNDOFF_D 0x1p-53
#define UNIT_ROUNDOFF_F 0x1p-24

/* gamma(n) = n u / (1 - n u): the relative error bound of a sum of n - 2 products
 * in unit roundoff u (bound_backward.c, part 2). */
/* The GEMM clock (bound_state.time_gemms): a start, and the time since it added. */
static inline double bound_gemm_clock(const bound_state *st) { return st->time_gemms ? nn_thread_cpu_seconds() : 0.0; }
static inline void bound_gemm_clock_add(bound_state *st, double t0)
{
    if (st->time_gemms) st->gemm_seconds += nn_thread_cpu_seconds() - t0;
}

static inline double bound_gamma(double n, double u) { return n * u / (1.0 - n * u); }

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

/* Four rows side by side (bound_backward_kernel.h act_rows4): GCC/Clang vector
 * extensions in functions compiled for AVX2 (BOUND_V4_TARGET), one 256-bit
 * register per four doubles. */
typedef double bound_v4d __attribute__((vector_size(32)));
typedef float bound_v4f __attribute__((vector_size(16)));
typedef uint64_t bound_v4u __attribute__((vector_size(32)));
#if defined(__x86_64__) || defined(__i386__)
#define BOUND_V4_TARGET __attribute__((target("avx2")))
#define BOUND_CPU_HAS_V4() (__builtin_cpu_supports("avx2") != 0)
#else /* other CPUs step one row at a time; the four-row code is built, never called */
#define BOUND_V4_TARGET
#define BOUND_CPU_HAS_V4() 0
#endif

/* bound_pos_part, |v| and v with +0 in the lanes where mask is all ones, lane by
 * lane (macros: a function returning a 32-byte vector warns of the AVX ABI). */
#define BOUND_V4_POS_PART(v) ((bound_v4d)((bound_v4u)(v) & (((bound_v4u)(v) >> 63) - 1)))
#define BOUND_V4_ABS(v) ((bound_v4d)((bound_v4u)(v) & (UINT64_MAX >> 1)))
#define BOUND_V4_CLEAR(v, mask) ((bound_v4d)((bound_v4u)(v) & ~(mask)))

/* max(|a|, |b|) inline (one maxsd): fmax is a library call per element, and a
 * NaN here comes with a NaN sum beside it that the caller's bound carries. */
static inline double bound_abs_max(double a, double b)
{
    double x = fabs(a), y = fabs(b);
    return x > y ? x : y;
}

#endif
