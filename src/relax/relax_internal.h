/* relax_internal: rounding control and one-neuron line helpers shared by the
 * relaxation files (private to src/relax; the bound engine uses include/relax.h).
 * See the top of relax.c for why every rounded intercept is moved outward. */
#ifndef RELAX_INTERNAL_H
#define RELAX_INTERNAL_H

#include <float.h>
#include <math.h>
#include "relax.h"

/* Outward rounding allowance of a line s*z + t on a box with |z| <= zmax whose
 * function values satisfy |f| <= fmax: a few units in the last place of every
 * magnitude that enters the computation of t and the later evaluation of s*z + t.
 * DBL_MIN covers absolute rounding errors of results in the subnormal range. */
static inline double relax_margin(double t, double s, double zmax, double fmax)
{
    return 4.0 * DBL_EPSILON * (fabs(t) + fabs(s) * zmax + fmax) + DBL_MIN;
}

/* Store one side of neuron i: line and its free parameter with range. */
static inline void relax_set_lower(relax_lines *o, size_t i, double s, double t, double p, double lo, double hi)
{
    o->lower_slope[i] = s;
    o->lower_icpt[i] = t;
    o->lower_param[i] = p;
    o->lower_lo[i] = lo;
    o->lower_hi[i] = hi;
}

static inline void relax_set_upper(relax_lines *o, size_t i, double s, double t, double p, double lo, double hi)
{
    o->upper_slope[i] = s;
    o->upper_icpt[i] = t;
    o->upper_param[i] = p;
    o->upper_lo[i] = lo;
    o->upper_hi[i] = hi;
}

/* Each family's hooks for the activation table in relax.c (include/relax.h says
 * what each does): lines at a free parameter value p (p already clamped), free
 * lines with their derivatives, and stability. */
void relax_sshape_line_at(layer_type type, int upper, double l, double u, double p, double *slope, double *icpt);
void relax_sshape_prepare(relax_free_line *f);
void relax_sshape_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                               double *dicpt);
void relax_param_ramp_lower_at(double eta, double r, double l, double u, double p, double *slope, double *icpt);
void relax_param_ramp_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                                   double *dicpt);
int relax_param_ramp_stable(const nn_layer *layer, size_t neuron, double l, double u);
/* ReLU and leaky ReLU: the free lower line is p*z, exact for p in [alpha, 1] */
void relax_slope_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                              double *dicpt);
int relax_relu_stable(const nn_layer *layer, size_t neuron, double l, double u);

#endif
