/* activation: what each element-wise activation function is — its value, its
 * derivative and its batched forward row — one table entry per activation, so the
 * forward pass, gradients and the relaxations (relax.h) never switch on kinds. */
#ifndef ACTIVATION_H
#define ACTIVATION_H

#include <stddef.h>
#include "model.h"

typedef struct {
    /* y[i] = sigma(x[i]) for i < n, one row of the layer (param_ramp reads r[i]) */
    void (*forward_row)(const nn_layer *layer, const double *x, double *y, size_t n);
    /* one neuron (param_ramp reads r[neuron]): value and derivative (at a kink the
     * one-sided choice PyTorch makes: relu'(0) = 0, leaky'(0) = alpha) */
    double (*value)(const nn_layer *layer, size_t neuron, double z);
    double (*deriv)(const nn_layer *layer, size_t neuron, double z);
    /* S-shaped functions (increasing, convex below 0, concave above, as tanh):
     * sigma, and sigma' and sigma'' from the values already computed, so a tangent
     * costs one transcendental; NULL for the piecewise-linear ones */
    double (*sshape)(double z);
    double (*sshape_deriv)(double z, double f);              /* f = sigma(z) */
    double (*sshape_deriv2)(double z, double f, double df);  /* df = sigma'(z) */
    int exact;  /* the forward value is exact in floating point (no rounding) */
} act_def;

/* The entry of an activation type, or NULL for other layer types. */
const act_def *act_def_of(layer_type type);

#endif
