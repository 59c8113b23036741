/* relax: linear relaxations of nonlinear layers on pre-activation boxes [l, u].
 * Element-wise activations get a lower and an upper line per neuron; MaxPool gets
 * a lower and an upper plane per window. The bound engine only consumes these. */
#ifndef RELAX_H
#define RELAX_H

#include <stddef.h>
#include "layer_ops.h"
#include "model.h"
#include "nn_error.h"

/* How the free lower line of an unstable neuron is chosen (doc/bounds.md "Relaxations"). */
typedef enum {
    LINES_ADAPTIVE,   /* CROWN-Ada: ReLU lower slope 1 if u >= |l| else 0 */
    LINES_TIGHT,      /* zero-lb / alpha*z lower lines (never looser than IBP) */
    LINES_FASTLIN     /* ReLU lower slope u/(u-l), parallel to the upper chord */
} line_strategy;

/* Lines of n neurons: lower_slope*z + lower_icpt <= sigma(z) <= upper_slope*z + upper_icpt
 * for every z in [l, u]. Parameter arrays describe the one free parameter of each
 * line for optimizers (FROWN): ReLU/leaky/ramp lower slope, or the tangent point d
 * of an S-shaped tangent line; lo == hi marks a line with no freedom. */
typedef struct {
    size_t n;            /* neurons */
    double *lower_slope, *lower_icpt;
    double *upper_slope, *upper_icpt;
    double *lower_param; /* current value of the lower line's free parameter */
    double *lower_lo, *lower_hi;  /* its feasible interval */
    double *upper_param;
    double *upper_lo, *upper_hi;
} relax_lines;

/* MaxPool relaxation methods (doc/tilin.md). */
typedef enum { POOL_TILIN, POOL_DEEPPOLY, POOL_CNNCERT, POOL_INTERVAL } pool_method;

/* Planes of a maxpool layer, one per output window:
 *   sum_k lower_coef[o*window+k] * x[inputs[o*window+k]] + lower_icpt[o]
 *     <= y_o <= sum_k upper_coef[o*window+k] * x[inputs[...]] + upper_icpt[o].
 * inputs[] holds flat indices into the layer input (C,H,W order), -1 for padding
 * cells (whose coefficients are 0). */
typedef struct {
    size_t n_out;        /* pooled outputs */
    int window;          /* kH*kW slots per output */
    int *inputs;         /* n_out*window input indices, -1 = padding */
    double *lower_coef, *lower_icpt;
    double *upper_coef, *upper_icpt;
} relax_pool;

/* Prototypes */
/* The ten arrays of relax_lines (and the coefficient/intercept arrays of relax_pool)
 * share one allocation owned by the struct: fill them, never replace the pointers. */
int relax_lines_init(relax_lines *lines, size_t n, nn_error *err);
void relax_lines_free(relax_lines *lines);

/* Lines for neurons [offset, offset+n) of an activation layer's input, from their
 * boxes l[0..n), u[0..n) (already offset by the caller). Dispatches on layer->type;
 * `offset` indexes per-neuron parameters such as param_ramp's r. Writes out[0..n). */
int relax_activation(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                     line_strategy strategy, relax_lines *out, nn_error *err);

/* One function per activation family; each fills out[0..n) (see relax_activation). */
void relax_relu(const double *l, const double *u, size_t n, line_strategy strategy, relax_lines *out);
void relax_leaky_relu(double alpha, const double *l, const double *u, size_t n, line_strategy strategy,
                      relax_lines *out);
void relax_param_ramp(double eta, const double *r, const double *l, const double *u, size_t n,
                      line_strategy strategy, relax_lines *out);
/* S-shaped: layer type LAYER_TANH, LAYER_SIGMOID or LAYER_ARCTAN. */
void relax_sshape(layer_type type, const double *l, const double *u, size_t n, relax_lines *out);

/* The lower (upper = 0) or upper (upper = 1) line of neuron `neuron` (index into the
 * layer's input, for param_ramp's r) on [l, u] when its free parameter is p (FROWN).
 * ReLU/leaky/ramp: lower slope p through the origin, p clamped to [lower_lo, lower_hi]
 * of that neuron. S-shaped tangents: slope sigma'(d), intercept sigma(d) - d*sigma'(d)
 * rounded outward, at d = p clamped to where the tangent stays valid ([l, u] one-sided,
 * [0, u] upper / [l, 0] lower for l < 0 < u); callers project p onto [lo, hi] first.
 * A line without freedom (lo == hi) comes back as relax_activation builds it.
 * At p = the parameter relax_activation chose, the same line comes back bit for bit. */
void relax_line_at(const nn_layer *layer, size_t neuron, double l, double u, int upper, double p, double *slope,
                   double *icpt);

/* One S-shaped neuron's interval prepared once for many tangent lines (FROWN's
 * inner loop): endpoint values computed once, then one transcendental per line. */
typedef struct {
    layer_type type;
    double l, u;       /* the interval */
    double fl, fu;     /* sigma(l), sigma(u) */
    double zmax, fmax; /* max |z|, max |sigma| on [l, u] */
    double w;          /* u - l */
} relax_sbox;
void relax_sshape_box(layer_type type, double l, double u, relax_sbox *b);
/* The line of a neuron whose lower (upper = 0) or upper line is a tangent (its
 * parameter is free: lo < hi) at tangent point d: relax_line_at's line bit for bit;
 * *dslope = sigma''(d) at the (clamped) point. */
void relax_sshape_tangent_at(const relax_sbox *b, int upper, double d, double *slope, double *icpt, double *dslope);

/* Is neuron `neuron` of activation layer `layer` stable on [l, u]: on one linear
 * piece of the function (ReLU-like), so that its lines are exact and do not depend
 * on the bounds? S-shaped neurons never are. */
int relax_row_stable(const nn_layer *layer, size_t neuron, double l, double u);
/* Can an upper line of this activation be free (S-shaped tangents), not only the lower? */
int relax_upper_can_be_free(layer_type type);

/* One free line (lo < hi in relax_lines) of one neuron, prepared once for the many
 * parameter values an optimizer tries (FROWN's inner loop). */
typedef struct {
    const nn_layer *layer;
    size_t neuron;
    int upper;
    double l, u;       /* the neuron's box */
    relax_sbox sbox;   /* S-shaped: the prepared interval */
} relax_free_line;
void relax_free_line_init(relax_free_line *f, const nn_layer *layer, size_t neuron, double l, double u, int upper);
/* The line at parameter p (already projected onto [lo, hi]), as relax_line_at
 * gives it bit for bit, with d slope / dp and d icpt / dp. */
void relax_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                        double *dicpt);

/* MaxPool planes from the boxes of the layer's whole input. */
int relax_pool_init(relax_pool *pool, const nn_layer *layer, nn_error *err);
void relax_pool_free(relax_pool *pool);
int relax_maxpool(const nn_layer *layer, const double *l_in, const double *u_in, pool_method method,
                  relax_pool *out, nn_error *err);
/* Planes of one window of n inputs with boxes l[k], u[k]; coefficients into
 * lower_coef[0..n), upper_coef[0..n). Exposed for tests and for block-wise use. */
void relax_maxpool_window(pool_method method, const double *l, const double *u, int n, double *lower_coef,
                          double *lower_icpt, double *upper_coef, double *upper_icpt);

const char *pool_method_name(pool_method m);
int pool_method_parse(const char *name);   /* -1 if unknown */
const char *line_strategy_name(line_strategy s);
int line_strategy_parse(const char *name); /* -1 if unknown */

#endif
