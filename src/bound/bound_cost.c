/* Cost accounting of affine layers (bound_cost.h). */
#include "bound_cost.h"

double bound_affine_flops(const nn_layer *L, size_t R)
{
    if (L->type == LAYER_DENSE) return 2.0 * (double)R * (double)shape_size(L->out) * (double)shape_size(L->in);
    if (L->type == LAYER_CONV2D)
        return 2.0 * (double)R * (double)shape_size(L->out) * (double)L->in.c * L->kernel[0] * L->kernel[1];
    return 0.0;
}

int bound_composite_pays(const nn_model *m, int first_nl, size_t rows, size_t n_in)
{
    double own = 0;
    for (int j = 0; j < first_nl; j++) own += bound_affine_flops(&m->layers[j], 1);
    return own > 0 && 2.0 * (double)rows * (double)n_in <= own;
}

double bound_adjoint_terms(const nn_layer *L)
{
    switch (L->type) {
    case LAYER_DENSE: return (double)shape_size(L->out);
    case LAYER_CONV2D: return (double)L->out_channels * L->kernel[0] * L->kernel[1];
    case LAYER_AVGPOOL2D: return (double)L->kernel[0] * L->kernel[1];
    default: return 0.0;
    }
}
