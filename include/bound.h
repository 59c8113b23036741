/* bound: linear bound propagation over a model for one input region — IBP, LBP,
 * Fast-Lin, CROWN and the CROWN-IBP/CROWN-LBP hybrids (spec bounds.md, tilin.md).
 * Produces pre-activation bounds of every nonlinear layer and bounds on rows of a
 * linear specification of the output; row ranges are independent work units. */
#ifndef BOUND_H
#define BOUND_H

#include <stddef.h>
#include "model.h"
#include "nn_error.h"
#include "relax.h"

typedef enum { NORM_INF = 0, NORM_1 = 1, NORM_2 = 2 } norm_type;

typedef enum {
    METHOD_IBP,        /* interval propagation only */
    METHOD_CROWN_IBP,  /* IBP intermediate bounds, backward pass for the spec */
    METHOD_LBP,        /* forward linear bounds everywhere */
    METHOD_CROWN_LBP,  /* LBP intermediate bounds, backward pass for the spec */
    METHOD_FASTLIN,    /* CROWN with ReLU lower slope u/(u-l) */
    METHOD_CROWN,      /* backward pass for every layer */
    METHOD_COUNT
} bound_method;

typedef struct {
    const double *center; /* x0, model input size; not owned */
    double eps;           /* radius of the ball */
    norm_type norm;
    int clip;             /* also intersect with the box [clip_lo, clip_hi]^n */
    double clip_lo, clip_hi;
} bound_region;

typedef struct {
    bound_method method;
    line_strategy strategy; /* CROWN lines: adaptive (default), tight, fastlin */
    pool_method pool;       /* MaxPool planes: tilin (default) */
    int single;             /* 1: float32 GEMMs with a sound rounding allowance */
    int skip_stable;        /* 1 (default): no backward rows for neurons a cheaper
                               bound proves stable (ReLU-like) */
    int intersect_ibp;      /* 1 (default): keep the tighter of IBP and CROWN per neuron */
    size_t row_block;       /* rows per backward block (0: choose from memory) */
} bound_options;

typedef struct bound_state bound_state;

/* Row executor: fills lower/upper[0 .. n_rows) with the bounds of every row of the
 * input of nonlinear layer `layer`, by calling bound_layer_rows on row ranges of
 * its choice (here, or in other processes holding an identical state), and
 * returns an nn_code. bound_compute then commits the layer as usual. Because a
 * row range gives the same bits as the full layer, any split gives the same
 * state; a scheduler (src/dist) uses it to spread one image's neurons over ranks.
 * It must leave st as bound_layer_rows leaves it and must not commit. */
typedef int (*bound_rows_fn)(void *ctx, bound_state *st, int layer, size_t n_rows, double *lower, double *upper,
                             nn_error *err);

/* Bounds of one region. Index i follows the model's layers: pre_lower[i] and
 * pre_upper[i] bound the input of layer i when layer i is nonlinear (activation
 * or maxpool), else they are NULL; out_lower/out_upper bound the model output. */
struct bound_state {
    const nn_model *model;  /* not owned */
    bound_options opt;
    bound_region region;
    double **pre_lower, **pre_upper;
    relax_lines *lines;     /* [i] lines of activation layer i (n = 0 if none) */
    relax_pool *pools;      /* [i] planes of maxpool layer i */
    double *out_lower, *out_upper;
    int layers_done;        /* layers [0, layers_done) have bounds and relaxations */
    /* counters for benchmarks and reports */
    double flops;           /* floating-point operations in GEMMs */
    double gemm_seconds;    /* thread CPU time inside the GEMMs counted in flops */
    size_t backward_rows;   /* specification rows propagated backward */
    /* set after bound_state_init; kept by bound_set_region */
    bound_rows_fn rows_exec; /* NULL: bound_compute computes all rows itself */
    void *rows_ctx;         /* first argument of rows_exec; not owned */
    void *work;             /* private workspace (src/bound/bound_internal.h) */
};

/* Prototypes */
void bound_options_default(bound_options *opt);
int bound_state_init(bound_state *st, const nn_model *m, const bound_options *opt, nn_error *err);
void bound_state_free(bound_state *st);

/* Set the region and forget bounds of a previous region (keeps allocations and
 * any caches that do not depend on eps). */
int bound_set_region(bound_state *st, const bound_region *region, nn_error *err);

/* All intermediate bounds for the current region by st->opt.method, layer by
 * layer: for each nonlinear layer i in order, bound_layer_rows over all rows (or
 * st->rows_exec when set) then bound_layer_commit. Also fills out_lower/out_upper. */
int bound_compute(bound_state *st, nn_error *err);

/* Layer-parallel unit: bounds of rows [row_lo, row_hi) of layer i's input, given
 * layers before i are committed. The same numbers come out whether the rows are
 * computed alone or with all others. Writes lower/upper[0 .. row_hi-row_lo).
 * LBP and CROWN-LBP propagate the linear bounds of the whole layer on the first
 * call per layer (kept until the region or an earlier commit changes), so for
 * them only the concretization is split by rows. */
int bound_layer_rows(bound_state *st, int layer, size_t row_lo, size_t row_hi, double *lower, double *upper,
                     nn_error *err);
/* Install the full bounds of layer i's input (gathered from row ranges) and build
 * its relaxation; layers_done becomes i+1 ... up to the next nonlinear layer. */
int bound_layer_commit(bound_state *st, int layer, const double *lower, const double *upper, nn_error *err);

/* Bounds on rows of C * f(x) + d over the region, C [rows x output size] with
 * leading dimension ldc, d optional (NULL = 0). IBP: the linear tail after the
 * last nonlinear layer on its output box; LBP: the output's linear bounds split
 * by the sign of C; every other method the backward pass (with intersect_ibp also
 * the interval tail, the tighter side kept). Needs all layers committed. */
int bound_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
               double *upper, nn_error *err);

const char *bound_method_name(bound_method m);
int bound_method_parse(const char *name);  /* -1 if unknown */
const char *norm_name(norm_type p);
int norm_parse(const char *name);          /* "inf", "1", "2"; -1 if unknown */

#endif
