/* Element-wise activation functions: the table of include/activation.h, and the
 * batched forward and scalar helpers of layer_ops.h built on it. Adding an
 * activation adds its functions and one row of act_table here, and its relaxation
 * (src/relax/relax.c has the other table). */
#include "activation.h"
#include "layer_ops.h"

#include <math.h>

/* Sigmoid without overflow for large |z|. */
static double sigmoid(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

static double param_ramp(double eta, double r, double z)
{
    if (z < 0) return eta * z;
    if (z <= r) return z;
    return eta * z + (1.0 - eta) * r;
}

/* ReLU */
static void relu_row(const nn_layer *L, const double *x, double *y, size_t n)
{
    (void)L;
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0;
}
static double relu_value(const nn_layer *L, size_t i, double z) { return (void)L, (void)i, z > 0 ? z : 0.0; }
static double relu_deriv(const nn_layer *L, size_t i, double z) { return (void)L, (void)i, z > 0 ? 1.0 : 0.0; }

/* leaky ReLU, slope alpha below 0 */
static void leaky_row(const nn_layer *L, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : L->alpha * x[i];
}
static double leaky_value(const nn_layer *L, size_t i, double z) { return (void)i, z >= 0 ? z : L->alpha * z; }
static double leaky_deriv(const nn_layer *L, size_t i, double z) { return (void)i, z > 0 ? 1.0 : L->alpha; }

/* ParamRamp: slope eta (alpha) below 0 and above r[i], 1 between */
static void ramp_row(const nn_layer *L, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = param_ramp(L->alpha, L->r[i], x[i]);
}
static double ramp_value(const nn_layer *L, size_t i, double z) { return param_ramp(L->alpha, L->r[i], z); }
static double ramp_deriv(const nn_layer *L, size_t i, double z)
{
    return (z >= 0 && z <= L->r[i]) ? 1.0 : L->alpha;
}

/* S-shaped: the row, value and derivative from sigma, sigma' of the entry */
#define SSHAPE_ROW(name, fn)                                                         \
    static void name##_row(const nn_layer *L, const double *x, double *y, size_t n) \
    {                                                                                \
        (void)L;                                                                     \
        for (size_t i = 0; i < n; i++) y[i] = fn(x[i]);                              \
    }
SSHAPE_ROW(tanh, tanh)
SSHAPE_ROW(sigmoid, sigmoid)
SSHAPE_ROW(arctan, atan)
#undef SSHAPE_ROW

static double tanh_d(double z, double f) { return (void)z, 1.0 - f * f; }
static double tanh_d2(double z, double f, double df) { return (void)z, -2.0 * f * df; }
static double sigmoid_d(double z, double f) { return (void)z, f * (1.0 - f); }
static double sigmoid_d2(double z, double f, double df) { return (void)z, df * (1.0 - 2.0 * f); }
static double arctan_d(double z, double f) { return (void)f, 1.0 / (1.0 + z * z); }
static double arctan_d2(double z, double f, double df)
{
    (void)f, (void)df;
    double q = 1.0 + z * z;
    return -2.0 * z / (q * q);
}

static double sshape_entry_value(const nn_layer *L, size_t i, double z)
{
    (void)i;
    return act_def_of(L->type)->sshape(z);
}

static double sshape_entry_deriv(const nn_layer *L, size_t i, double z)
{
    (void)i;
    const act_def *a = act_def_of(L->type);
    return a->sshape_deriv(z, a->sshape(z));
}

static const act_def act_table[LAYER_TYPE_COUNT] = {
    [LAYER_RELU] = {relu_row, relu_value, relu_deriv, NULL, NULL, NULL, 1},
    [LAYER_LEAKY_RELU] = {leaky_row, leaky_value, leaky_deriv, NULL, NULL, NULL, 0},
    [LAYER_PARAM_RAMP] = {ramp_row, ramp_value, ramp_deriv, NULL, NULL, NULL, 0},
    [LAYER_TANH] = {tanh_row, sshape_entry_value, sshape_entry_deriv, tanh, tanh_d, tanh_d2, 0},
    [LAYER_SIGMOID] = {sigmoid_row, sshape_entry_value, sshape_entry_deriv, sigmoid, sigmoid_d, sigmoid_d2, 0},
    [LAYER_ARCTAN] = {arctan_row, sshape_entry_value, sshape_entry_deriv, atan, arctan_d, arctan_d2, 0},
};

const act_def *act_def_of(layer_type type)
{
    if ((int)type < 0 || type >= LAYER_TYPE_COUNT || !act_table[type].forward_row) return NULL;
    return &act_table[type];
}

double sshape_value(layer_type type, double z)
{
    const act_def *a = act_def_of(type);
    return a && a->sshape ? a->sshape(z) : NAN;
}

double sshape_deriv(layer_type type, double z)
{
    const act_def *a = act_def_of(type);
    return a && a->sshape ? a->sshape_deriv(z, a->sshape(z)) : NAN;
}

double sshape_deriv2(layer_type type, double z)
{
    const act_def *a = act_def_of(type);
    if (!a || !a->sshape) return NAN;
    double f = a->sshape(z);
    return a->sshape_deriv2(z, f, a->sshape_deriv(z, f));
}

double act_value(const nn_layer *layer, size_t neuron, double z)
{
    const act_def *a = act_def_of(layer->type);
    return a ? a->value(layer, neuron, z) : z;
}

void activation_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy)
{
    size_t m = shape_size(layer->in);
    const act_def *a = act_def_of(layer->type);
    for (size_t row = 0; row < n; row++) {
        const double *xr = x + row * ldx;
        double *yr = y + row * ldy;
        if (a) a->forward_row(layer, xr, yr, m);
        else
            for (size_t i = 0; i < m; i++) yr[i] = xr[i];
    }
}
