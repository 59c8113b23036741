/* ReLU lines (doc/bounds.md "Relaxations").
 *
 * Dead (u <= 0) and alive (l >= 0) neurons are exact: lines 0 or z, no rounding.
 * Unstable neurons: the upper line is the chord u/(u-l)*(z-l); its intercept is
 * the larger of the two endpoint values (0 - s*l, u - s*u), equal in exact
 * arithmetic, plus the rounding allowance of relax_internal.h. The lower line
 * a*z with a in [0, 1] needs no allowance: fl(a*z) <= relu(z) for such a. */
#include "relax_internal.h"

void relax_relu(const double *l, const double *u, size_t n, line_strategy strategy, relax_lines *out)
{
    for (size_t i = 0; i < n; i++) {
        double li = l[i], ui = u[i];
        if (ui <= 0) {
            relax_set_lower(out, i, 0.0, 0.0, 0.0, 0.0, 0.0);
            relax_set_upper(out, i, 0.0, 0.0, 0.0, 0.0, 0.0);
        } else if (li >= 0) {
            relax_set_lower(out, i, 1.0, 0.0, 1.0, 1.0, 1.0);
            relax_set_upper(out, i, 1.0, 0.0, 1.0, 1.0, 1.0);
        } else {
            /* fl(u - l) >= u, so s <= 1 after rounding too. */
            double s = ui / (ui - li);
            double t = fmax(-s * li, ui - s * ui);
            t += relax_margin(t, s, fmax(-li, ui), ui);
            relax_set_upper(out, i, s, t, s, s, s);
            double a;
            switch (strategy) {
            case LINES_FASTLIN: a = s; break;
            case LINES_ADAPTIVE: a = ui >= -li ? 1.0 : 0.0; break;
            default: a = 0.0; break;
            }
            relax_set_lower(out, i, a, 0.0, a, 0.0, 1.0);
        }
    }
}

int relax_relu_stable(const nn_layer *layer, size_t neuron, double l, double u)
{
    (void)layer, (void)neuron;
    return l >= 0 || u <= 0;
}

void relax_slope_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                              double *dicpt)
{
    (void)f;
    *slope = p;
    *icpt = 0.0;
    *dslope = 1.0;
    *dicpt = 0.0;
}
