/* Leaky ReLU lines, alpha in [0, 1] (doc/bounds.md "Relaxations").
 *
 * Dead neurons: alpha*z both sides, alive: z, both exact (they reproduce
 * act_value bit for bit). Unstable: upper chord through (l, alpha*l) and (u, u)
 * with the larger endpoint intercept plus the rounding allowance; lower line a*z
 * with a in [alpha, 1], exact in floating point for every such a:
 * tight a = alpha, adaptive 1 if u >= |l| else alpha, fastlin the chord slope. */
#include "relax_internal.h"

void relax_leaky_relu(double alpha, const double *l, const double *u, size_t n, line_strategy strategy,
                      relax_lines *out)
{
    for (size_t i = 0; i < n; i++) {
        double li = l[i], ui = u[i];
        if (ui <= 0) {
            relax_set_lower(out, i, alpha, 0.0, alpha, alpha, alpha);
            relax_set_upper(out, i, alpha, 0.0, alpha, alpha, alpha);
        } else if (li >= 0) {
            relax_set_lower(out, i, 1.0, 0.0, 1.0, 1.0, 1.0);
            relax_set_upper(out, i, 1.0, 0.0, 1.0, 1.0, 1.0);
        } else {
            double fl_ = alpha * li;
            double s = (ui - fl_) / (ui - li);
            double t = fmax(fl_ - s * li, ui - s * ui);
            t += relax_margin(t, s, fmax(-li, ui), fmax(-fl_, ui));
            relax_set_upper(out, i, s, t, s, s, s);
            double a;
            switch (strategy) {
            case LINES_FASTLIN: a = fmin(fmax(s, alpha), 1.0); break;
            case LINES_ADAPTIVE: a = ui >= -li ? 1.0 : alpha; break;
            default: a = alpha; break;
            }
            relax_set_lower(out, i, a, 0.0, a, alpha, 1.0);
        }
    }
}
