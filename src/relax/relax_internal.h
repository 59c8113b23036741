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

/* Lines of a free parameter value p (see relax_line_at); p already clamped. */
void relax_sshape_line_at(layer_type type, int upper, double l, double u, double p, double *slope, double *icpt);
void relax_param_ramp_lower_at(double eta, double r, double l, double u, double p, double *slope, double *icpt);

#endif
