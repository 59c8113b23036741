/* Element-wise activation functions: values, derivatives and the batched forward. */
#include "layer_ops.h"

#include <math.h>

/* Sigmoid without overflow for large |z|. */
static double sigmoid(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

double sshape_value(layer_type type, double z)
{
    switch (type) {
    case LAYER_TANH: return tanh(z);
    case LAYER_SIGMOID: return sigmoid(z);
    case LAYER_ARCTAN: return atan(z);
    default: return NAN;
    }
}

double sshape_deriv(layer_type type, double z)
{
    switch (type) {
    case LAYER_TANH: {
        double t = tanh(z);
        return 1.0 - t * t;
    }
    case LAYER_SIGMOID: {
        double s = sigmoid(z);
        return s * (1.0 - s);
    }
    case LAYER_ARCTAN: return 1.0 / (1.0 + z * z);
    default: return NAN;
    }
}

double sshape_deriv2(layer_type type, double z)
{
    switch (type) {
    case LAYER_TANH: {
        double t = tanh(z);
        return -2.0 * t * (1.0 - t * t);
    }
    case LAYER_SIGMOID: {
        double s = sigmoid(z);
        return s * (1.0 - s) * (1.0 - 2.0 * s);
    }
    case LAYER_ARCTAN: {
        double q = 1.0 + z * z;
        return -2.0 * z / (q * q);
    }
    default: return NAN;
    }
}

static double param_ramp(double eta, double r, double z)
{
    if (z < 0) return eta * z;
    if (z <= r) return z;
    return eta * z + (1.0 - eta) * r;
}

double act_value(const nn_layer *layer, size_t neuron, double z)
{
    switch (layer->type) {
    case LAYER_RELU: return z > 0 ? z : 0.0;
    case LAYER_LEAKY_RELU: return z >= 0 ? z : layer->alpha * z;
    case LAYER_PARAM_RAMP: return param_ramp(layer->alpha, layer->r[neuron], z);
    default: return sshape_value(layer->type, z);
    }
}

void activation_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy)
{
    size_t m = shape_size(layer->in);
    for (size_t row = 0; row < n; row++) {
        const double *xr = x + row * ldx;
        double *yr = y + row * ldy;
        switch (layer->type) {
        case LAYER_RELU:
            for (size_t i = 0; i < m; i++) yr[i] = xr[i] > 0 ? xr[i] : 0.0;
            break;
        case LAYER_LEAKY_RELU:
            for (size_t i = 0; i < m; i++) yr[i] = xr[i] >= 0 ? xr[i] : layer->alpha * xr[i];
            break;
        case LAYER_PARAM_RAMP:
            for (size_t i = 0; i < m; i++) yr[i] = param_ramp(layer->alpha, layer->r[i], xr[i]);
            break;
        case LAYER_TANH:
            for (size_t i = 0; i < m; i++) yr[i] = tanh(xr[i]);
            break;
        case LAYER_SIGMOID:
            for (size_t i = 0; i < m; i++) yr[i] = sigmoid(xr[i]);
            break;
        case LAYER_ARCTAN:
            for (size_t i = 0; i < m; i++) yr[i] = atan(xr[i]);
            break;
        default:
            for (size_t i = 0; i < m; i++) yr[i] = xr[i];
            break;
        }
    }
}
