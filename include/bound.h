/* bound: linear bound propagation over a model for one input region — IBP, LBP,
 * Fast-Lin, CROWN, the CROWN-IBP/CROWN-LBP hybrids, FROWN, CROWN-Quad, LP-LAST,
 * LP-ALL and MILP (doc/bounds.md, doc/tilin.md, doc/frown.md, doc/lp.md).
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
    METHOD_FROWN,      /* CROWN with lines optimized per bounded row and side (doc/frown.md) */
    METHOD_CROWN_QUAD, /* CROWN; spec rows also by quadratic ReLU lower bounds (doc/frown.md "CROWN-Quad") */
    METHOD_LP_LAST,    /* CROWN intermediate bounds, one LP per spec row (doc/lp.md) */
    METHOD_LP_ALL,     /* an LP per unstable neuron and side, then per spec row (doc/lp.md) */
    METHOD_MILP,       /* LP-ALL's bounds, then a big-M MILP per spec row with Cbc (doc/lp.md) */
    METHOD_COUNT
} bound_method;

/* Which bounds FROWN optimizes lines for (doc/frown.md "Which layers"). */
typedef enum {
    FROWN_LAYERS_AUTO, /* every layer's, except in branch and bound's input-split
                          search, which resolves it to SPEC (doc/bab.md "Branching") */
    FROWN_LAYERS_ALL,  /* every layer's pre-activation bounds and the spec rows */
    FROWN_LAYERS_SPEC  /* the spec rows only; the layers keep CROWN's bounds */
} frown_scope;

typedef struct {
    const double *center; /* x0, model input size; not owned */
    double eps;           /* radius of the ball */
    norm_type norm;
    int clip;             /* also intersect with the box [clip_lo, clip_hi]^n */
    double clip_lo, clip_hi;
    /* with clip: per-coordinate bounds of the box instead of the two scalars (both
     * or neither; not owned). A box [lo, hi] is then exactly the l_inf ball around
     * its midpoint whose eps reaches every face, clipped (doc/verify.md). */
    const double *clip_lo_v, *clip_hi_v;
} bound_region;

typedef struct {
    bound_method method;
    line_strategy strategy; /* CROWN lines: adaptive (default), tight, fastlin */
    pool_method pool;       /* MaxPool planes: tilin (default) */
    int single;             /* 1: float32 GEMMs with a sound rounding allowance */
    int skip_stable;        /* 1 (default): no backward rows for neurons a cheaper
                               bound proves stable (ReLU-like) */
    int intersect_ibp;      /* 1 (default): keep the tighter of IBP and CROWN per neuron */
    size_t row_block;       /* rows per backward block (0: choose from memory); FROWN
                               rounds it up to a multiple of frown_group */
    int dense_rows;         /* 1: backward rows of conv-shaped layers on full maps (the
                               reference the default windowed rows are tested against;
                               doc/bounds.md "Windowed rows") */
    int one_row_steps;      /* 1: activation steps one row at a time even where the CPU
                               has AVX2 (a reference for tests and benchmarks: the same
                               bits; doc/bounds.md "Four rows per activation step") */
    /* FROWN (doc/frown.md): Adam on the free line parameters of earlier layers */
    size_t frown_group;     /* G: aligned rows sharing one set of variables (1 = exact) */
    int frown_iters;        /* Adam steps per problem, default 100 (0: CROWN's lines) */
    double frown_lr;        /* Adam learning rate, default 0.1 */
    int frown_patience;     /* early stop after this many steps in a row ... (5) */
    double frown_threshold; /* ... each improving the best bound by less than this, relative (0.01) */
    int frown_warm;         /* 1 (default): each eps starts from the previous eps's variables */
    int frown_beta;         /* 1 (default): in a sub-domain, multipliers for its split constraints
                               (beta-CROWN) are variables too */
    frown_scope frown_layers; /* auto (default): see frown_scope */
    int spec_upper;         /* FROWN, CROWN-Quad: tighten the upper bounds of spec rows too
                               (0, default: CROWN's upper bounds; margins need the lower) */
    int quad_iters;         /* CROWN-Quad: projected-gradient steps per spec row (200) */
    int lp_cuts;            /* LP methods: tangent cuts per free side of an S-shaped neuron (3) */
    double milp_time_limit; /* milp: seconds per spec row (60) */
} bound_options;

/* One side of a bound problem, or both (bound_layer_rows_side). */
typedef enum { BOUND_LOWER = 1, BOUND_UPPER = 2, BOUND_BOTH = 3 } bound_side;

typedef struct bound_state bound_state;

/* A sub-domain of branch and bound (doc/bab.md): the region intersected with split
 * constraints on pre-activations, and bounds already known on it. Arrays follow
 * the model's layers; entries of layers that are not nonlinear are NULL. Not owned.
 *   phase[i][r] = +1: the sub-domain has z >= 0 for neuron r of layer i's input,
 *                 -1: z <= 0, 0: free (phase or phase[i] NULL: none)
 *   prior_lower/prior_upper[i]: bounds valid on the sub-domain (a parent domain's),
 *                 intersected with what is computed (NULL: none)
 *   keep_below:   layers i < keep_below take their prior bounds as they are, no rows
 *                 computed (the bits a recomputation gives, when the parent had the
 *                 same constraints there), except the first nonlinear layer: exact
 *                 and cheap, it is computed always
 * The split neuron's bounds are clamped to its side, so its relaxation is the exact
 * piece (z or 0 for ReLU), and every later layer is bounded under the constraint. */
typedef struct {
    signed char **phase;
    double **prior_lower, **prior_upper;
    int keep_below;
} bound_subdomain;

/* Row executor: fills lower/upper[0 .. n_rows) with the bounds of every row of the
 * input of nonlinear layer `layer`, by calling bound_layer_rows on row ranges of
 * its choice (here, or in other processes holding an identical state), and
 * returns an nn_code. bound_compute then commits the layer as usual. Because a
 * row range gives the same bits as the full layer, any split gives the same
 * state; certify's row splitter uses it to spread one image's neurons over ranks.
 * It must leave st as bound_layer_rows leaves it and must not commit. */
typedef int (*bound_rows_fn)(void *ctx, bound_state *st, int layer, size_t n_rows, double *lower, double *upper,
                             nn_error *err);

/* Rows [lo, hi) of a set of independent rows into lower/upper[0 .. hi - lo). */
typedef int (*bound_range_fn)(void *ctx, size_t lo, size_t hi, double *lower, double *upper, nn_error *err);

/* Row spreader: leaves rows [0, n) in lower/upper[0 .. n), having called fn (with
 * fn_ctx) on ranges of whole blocks of `unit` rows of its choice, here or in other
 * processes holding an identical state (each range gives the bits it gives as
 * part of the whole); returns an nn_code. bound_spec hands it the LP methods'
 * specification rows, each an LP of its own. */
typedef int (*bound_split_fn)(void *ctx, size_t n, size_t unit, bound_range_fn fn, void *fn_ctx, double *lower,
                              double *upper, nn_error *err);

/* Items [lo, hi) of a set of independent items of `width` doubles each into
 * out[(hi - lo) x width]. */
typedef int (*bound_items_fn)(void *ctx, size_t lo, size_t hi, double *out, nn_error *err);
/* Item spreader: leaves items [0, n) in out[n x width], having called fn on
 * ranges of its choice, here or in other processes holding an identical state;
 * returns an nn_code. bound_spec hands it MILP's specification rows (a Cbc
 * solve each, with what it found: bound, incumbent, point). */
typedef int (*bound_items_split_fn)(void *ctx, size_t n, size_t width, bound_items_fn fn, void *fn_ctx, double *out,
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
    double gemm_seconds;    /* thread CPU time inside the GEMMs counted in flops, when
                               time_gemms is set (two clock reads per GEMM: a
                               system call each, a tenth of a small net's time) */
    int time_gemms;         /* set after bound_state_init: count gemm_seconds */
    size_t backward_rows;   /* specification rows propagated backward */
    /* set after bound_state_init; kept by bound_set_region */
    bound_rows_fn rows_exec; /* NULL: bound_compute computes all rows itself */
    void *rows_ctx;         /* first argument of rows_exec; not owned */
    bound_split_fn spec_split; /* NULL: bound_spec solves every LP row here */
    bound_items_split_fn spec_items; /* NULL: bound_spec solves every MILP row here */
    void *spec_ctx;         /* first argument of spec_split and spec_items; not owned */
    const bound_subdomain *sub; /* NULL: the whole region; else read by bound_compute */
    int outputs_unused;     /* 1: bound_compute leaves out_lower/out_upper at -inf/+inf
                               (callers that bound only bound_spec's rows: a backward
                               pass per output saved) */
    int spec_sign_only;     /* 1: the caller reads only whether each spec row's lower
                               bound is > 0 (certification): the LP and MILP methods
                               solve no row the backward bound already proves > 0,
                               which keeps that bound (doc/lp.md "Least work") */
    double *spec_points;    /* set after bound_state_init: NULL, or rows x input size
                               that bound_spec fills, where bound_spec_has_points,
                               with each row's minimizer over the region of the
                               linear lower bound of its backward pass: a point of
                               the region for a search to try as a counterexample
                               (doc/bab.md "Counterexamples"), not a bound */
    int infeasible;         /* set by bound_compute: sub's constraints contradict the
                               bounds, the sub-domain is empty (bound_spec then refuses);
                               or by bound_spec of an LP method: Clp's Farkas ray, checked
                               by the safe bound, proves it (rows get +inf, -inf) */
    void *work;             /* private workspace (src/bound/bound_work.h) */
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
 * st->rows_exec when set; st->sub's prior bounds below keep_below), st->sub's
 * constraints applied, then bound_layer_commit. Also fills out_lower/out_upper
 * (unless st->outputs_unused).
 * An empty sub-domain stops early with st->infeasible = 1 and NN_OK. */
int bound_compute(bound_state *st, nn_error *err);

/* Layer-parallel unit: bounds of rows [row_lo, row_hi) of layer i's input, given
 * layers before i are committed. The same numbers come out whether the rows are
 * computed alone or with all others. Writes lower/upper[0 .. row_hi-row_lo).
 * LBP and CROWN-LBP propagate the linear bounds of the whole layer on the first
 * call per layer (kept until the region or an earlier commit changes), so for
 * them only the concretization is split by rows. */
int bound_layer_rows(bound_state *st, int layer, size_t row_lo, size_t row_hi, double *lower, double *upper,
                     nn_error *err);
/* The same for one side: (layer, rows, side) is the unit of work; the lower and the
 * upper bound of a row are independent problems (FROWN optimizes each on its own),
 * and a side computed alone gives the bits it gives when computed with the other.
 * lower (upper) is written only when side includes BOUND_LOWER (BOUND_UPPER) and
 * may be NULL otherwise. bound_layer_rows = BOUND_BOTH. */
int bound_layer_rows_side(bound_state *st, int layer, size_t row_lo, size_t row_hi, bound_side side,
                          double *lower, double *upper, nn_error *err);
/* The finest split of layer i's rows that keeps their bits: ranges aligned to it
 * give what the whole layer gives. row_block, or for LP-ALL and MILP past the first
 * nonlinear layer their solver block (a divisor of row_block up to 16): those bound
 * the layer's CROWN rows whole and start every block from one basis, so a
 * scheduler can spread a layer's LPs in blocks that small. */
size_t bound_row_split_unit(const bound_state *st, int layer);
/* Whether each row of layer i gets the same bits in any block (then its split
 * unit is 1 and a range is computed as it is, not in aligned blocks): backward
 * passes in double with one BLAS thread that cross conv, pooling, normalize,
 * add and activation layers only (a dense layer may feed layer i: its rows are
 * copied), whose per-row steps and column-wise conv GEMMs (padded N,
 * doc/bounds.md "Windowed rows") do not mix rows, past the first nonlinear
 * layer. */
int bound_rows_block_free(const bound_state *st, int layer);
/* Relative cost of each row of layer i (n = its input size) in a backward pass:
 * 1 for a row that gets one, 0.01 for a row that keeps its IBP bound (stable,
 * or fed by an activation whose box is tightest); what a scheduler balances
 * when it cuts a block-free layer's rows. */
int bound_row_costs(bound_state *st, int layer, double *cost, nn_error *err);
/* Whether layer i's rows differ widely in cost (LP-ALL's and MILP's layers past
 * the first nonlinear one: an LP per undecided neuron, none for the others), so
 * that a scheduler should hand out its blocks as they are asked for rather
 * than in fixed shares. Such rows leave nothing behind in the state. */
int bound_rows_vary(const bound_state *st, int layer);
/* Install the full bounds of layer i's input (gathered from row ranges) and build
 * its relaxation; layers_done becomes i+1 ... up to the next nonlinear layer. */
int bound_layer_commit(bound_state *st, int layer, const double *lower, const double *upper, nn_error *err);

/* Bounds on rows of C * f(x) + d over the region, C [rows x output size] with
 * leading dimension ldc, d optional (NULL = 0). IBP: the linear tail after the
 * last nonlinear layer on its output box; LBP: the output's linear bounds split
 * by the sign of C; every other method the backward pass (with intersect_ibp also
 * the interval tail, the tighter side kept). Needs all layers committed. FROWN
 * then optimizes the lower bound of every row (and the upper bound with
 * spec_upper); CROWN-Quad keeps the better of its linear and quadratic bound. */
int bound_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
               double *upper, nn_error *err);
/* Whether bound_spec with this method fills st->spec_points: the methods whose
 * specification rows get a linear backward pass to the input (all but IBP and
 * LBP; the LP methods and MILP: the pass their rows start from). */
int bound_spec_has_points(bound_method method);

/* Batches of regions (doc/bounds.md "Batches of regions"; branch and bound's input
 * halves). bound_batch_run does bound_compute, then the lower bounds of bound_spec's
 * rows C (lower[k * rows + r]), on n states at once: every layer's backward pass
 * stacks the rows of all n states, so each affine layer is one GEMM over the batch.
 * The states share model and method (bound_batch_supported: CROWN or Fast-Lin, a
 * chain of dense, normalize, flatten and activation layers), none has a row
 * executor or outputs_unused unset, and each has its own region set. A state may
 * have a sub-domain (branch and bound's ReLU phases and parent bounds; FROWN's
 * states one without splits only), applied as bound_compute applies it: a state
 * it proves empty gets infeasible set and its lower bounds +inf. The bounds are as
 * sound as one state's; their bits are not one state's (other GEMM shapes), and a
 * row's may depend on the other states of its batch. The struct is scratch kept
 * across calls; its fields are bound_batch.c's, except max_bytes. */
typedef struct {
    size_t max_bytes;       /* memory of the two stacked row matrices at most (0:
                               64 MiB): more rows go in further chunks */
    double *A, *B, *c, *s, *e, *lb;
    size_t *state, *row, *idx, *n_idx;
    signed char *sign;
    size_t cap_rows, cap_chunk, cap_mat, cap_idx, cap_n;
    const nn_model *model;  /* per-layer tables, for this model ... */
    int n_layers;           /* ... of this many layers */
    size_t **map, *n_map;   /* [i] an activation's live neurons over the batch */
    double **tab;           /* [i] each state's lines on them, for tab_n states */
    size_t tab_n;
    double **wp;            /* [d] a dense layer's weights on them */
    double *fbp;            /* the first block's composite on them */
    unsigned long gen, *wp_gen, fbp_gen;
    unsigned char *mark, *kept;
    layer_workspace ws;
} bound_batch;

void bound_batch_init(bound_batch *b);
void bound_batch_free(bound_batch *b);
int bound_batch_supported(const nn_model *m, const bound_options *opt);
/* The methods a batch bounds (CROWN, Fast-Lin): what callers check before any
 * model is loaded. */
int bound_batch_method(bound_method method);
int bound_batch_run(bound_batch *b, bound_state *const *st, size_t n, const double *C, size_t rows, size_t ldc,
                    double *lower, nn_error *err);

/* FROWN in detail (doc/frown.md; bound_frown.c has the math).
 * Every bounded quantity — the lower and the upper bound of each intermediate
 * neuron, each spec row's lower bound — is its own problem: maximize the backward
 * bound over the free parameters of the earlier layers' lines (ReLU/leaky/ParamRamp
 * lower slopes, tangent points of S-shaped lines; chords and MaxPool planes fixed),
 * by Adam from CROWN's lines, keeping the best iterate and never anything looser
 * than CROWN on the same committed bounds. Only rows CROWN leaves unstable are
 * optimized (all rows of S-shaped and MaxPool inputs with u > l), only free lines
 * are variables. Rows are grouped by aligned multiples of frown_group (G); a group
 * shares one set of variables and maximizes the mean of its rows' bounds.
 * out_lower/out_upper use CROWN's lines on FROWN's intermediate bounds (margins
 * go through bound_spec).
 *
 * Warm start. The state keeps, per (layer, group, side), the variables of the last
 * evaluations (two generations, stored as float). bound_set_region with the same
 * centre, norm and clipping starts a new evaluation of the same image (the radius
 * search changing eps): each problem then starts from the newest variables written
 * by an earlier evaluation, clamped to the new ranges (lines that were not free then
 * start from CROWN's). A different centre, norm or clip setting resets the state.
 * A problem computed twice in one evaluation starts from the same point and gives
 * the same bits, so the result of a row is a function of the sequence of regions
 * evaluated and of that row's own history only: a row must be computed by the same
 * state at every evaluation of an image (a scheduler keeps a fixed split of rows to
 * processes for the whole search of one image). Memory: 2 x 2 x 4 bytes x (sum over
 * earlier activation neurons, twice for S-shaped) per group, for every nonlinear
 * layer: exact FROWN (G = 1) on a 4x[1024] ReLU MLP about 100 MB, G = 8 about 13 MB;
 * plus a block's scratch (at most 256 MB; peak RSS measured on that MLP: CROWN
 * 113 MB, FROWN G = 1 209 MB, G = 1024 164 MB).
 * bound_forget_warm makes the next region start afresh like a new image (each
 * certification task calls it, so a task's numbers depend on that task alone). */
void bound_forget_warm(bound_state *st);
/* FROWN's variables of specification rows, carried from one region to another
 * (branch and bound: a child starts where its parent's optimization ended,
 * doc/frown.md "Warm starts"). bound_spec_warm_len: floats for `rows` spec rows
 * under m and opt, 0 when there is nothing to carry (not FROWN, frown_warm 0, no
 * Adam steps). bound_spec_warm_get: the variables the last bound_spec of C's rows
 * on the current region ended with (NaN: no value). bound_spec_warm_seed, after
 * bound_set_region: the next bound_spec of the same rows on this region starts
 * from in instead of CROWN's lines (NaN entries start from CROWN's). */
size_t bound_spec_warm_len(const nn_model *m, const bound_options *opt, size_t rows);
int bound_spec_warm_get(const bound_state *st, const double *C, size_t rows, size_t ldc, const double *d,
                        float *out, nn_error *err);
int bound_spec_warm_seed(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d,
                         const float *in, nn_error *err);
/* 1 when a region's bounds may depend on the regions evaluated before it on the
 * same state: FROWN with warm starts and Adam steps. Every other method gives
 * the bits of a fresh state for each region (doc/radius.md "Certificates"). */
int bound_keeps_state(const bound_options *opt);

/* Memory of one bound state, before it exists (doc/bounds.md "Memory"): an
 * upper-ish estimate, term by term from the sizes the engine allocates, of what a
 * process running opt on m holds at its peak. Checked against peak RSS within the
 * factor doc/bounds.md gives; the LP methods' figure is rough (Clp's and Cbc's own
 * memory). Row-block workspace grows with row_block; precision single adds float
 * copies of the weights and never shrinks a block (its buffers also hold the
 * double rows); ranks_per_image splits rows, not the state, so it lowers none. */
typedef struct {
    size_t model;     /* the model's parameters as loaded (double) */
    size_t state;     /* bounds, relaxations, |W| and packed (float) weight copies, caches */
    size_t block;     /* row-block workspace: coefficient blocks, FROWN's problems */
    size_t method;    /* the method's own: FROWN's warm start, LBP's linear bounds, LP models */
    size_t row_block; /* the rows per block it assumed: opt->row_block, or as resolved from memory */
    size_t total;     /* the sum */
} bound_memory;
int bound_estimate_memory(const nn_model *m, const bound_options *opt, bound_memory *out, nn_error *err);

/* MILP (doc/lp.md "MILP"): after bound_spec with METHOD_MILP, each row's outcome.
 * proven: Cbc proved the optimum; else the row is unknown between lower and
 * incumbent. lower is what bound_spec returned; best_bound Cbc's best bound plus
 * d (trusted, doc/lp.md "What is trusted"); incumbent the row's value by the exact
 * forward pass at the point found (in the region), +inf if none. */
typedef struct {
    int proven;
    double lower, best_bound, incumbent;
    int has_point;
} bound_milp_row;
/* 0 and the row's outcome (point: n_in values or NULL), -1 if there is none. */
int bound_milp_result(const bound_state *st, size_t row, bound_milp_row *out, const double **point);

/* Whose bounds a nonlinear layer's neuron carries after bound_compute, per side
 * (doc/formats.md "nncert bounds"): skip_stable and intersect_ibp leave IBP's
 * bound on some neurons of a "CROWN" state. */
typedef enum {
    BOUND_SRC_EXACT,      /* first nonlinear layer: the exact first affine block */
    BOUND_SRC_IBP_STABLE, /* IBP's on both sides: stable by IBP, skipped (skip_stable) */
    BOUND_SRC_METHOD,     /* the method's own on both sides */
    BOUND_SRC_IBP_LOWER,  /* IBP's lower (at least as tight), the method's upper */
    BOUND_SRC_IBP_UPPER,  /* the method's lower, IBP's upper (at least as tight) */
    BOUND_SRC_IBP,        /* IBP's on both sides (intersect_ibp, a MaxPool input
                           * after an activation, methods ibp and crown-ibp) */
    BOUND_SRC_COUNT
} bound_source;
extern const char bound_source_legend[]; /* "0=exact,1=ibp_stable,..." */
const char *bound_source_name(int code);
/* The source of every neuron of a state whose bounds are computed (one region):
 * src has n_layers entries; for each nonlinear layer i the call sets src[i] to a
 * malloc'd array of its input size (the caller frees them, also on an error). A
 * side counts as IBP's when it has the bits of IBP from the state's own bounds of
 * the earlier layers and the engine may have put IBP there (ties are IBP's). */
int bound_label_sources(const bound_state *st, unsigned char **src, nn_error *err);
const char *bound_method_name(bound_method m);
/* lp-all, milp: the intermediate bounds come from LPs too (lp-last's are
 * CROWN's). Inline: every file of the engine's stack may ask (cli_architecture). */
static inline int bound_method_lp_layers(bound_method m) { return m == METHOD_LP_ALL || m == METHOD_MILP; }
/* lp-last, lp-all, milp: some bound comes from an LP or MILP. */
static inline int bound_method_is_lp(bound_method m) { return m == METHOD_LP_LAST || bound_method_lp_layers(m); }
int bound_method_parse(const char *name);  /* -1 if unknown */
/* The LP methods take only polyhedral balls (l_inf, l1): an error naming the
 * methods that take l2 otherwise (doc/lp.md). */
int bound_method_check_norm(bound_method m, norm_type p, nn_error *err);
const char *norm_name(norm_type p);
int norm_parse(const char *name);          /* "inf", "1", "2"; -1 if unknown */
const char *frown_scope_name(frown_scope s);
int frown_scope_parse(const char *name);   /* "auto", "all", "spec"; -1 if unknown */

#endif
