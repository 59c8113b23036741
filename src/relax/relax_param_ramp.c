/* ParamRamp lines (doc/bounds.md "Relaxations"):
 *   phi(z) = eta*z (z < 0), z (0 <= z <= r), eta*z + (1-eta)*r (z > r), eta in [0, 1], r >= 0.
 *
 * Six states by where [l, u] sits relative to the kinks 0 and r:
 *   S1 u <= 0           eta*z / eta*z            exact
 *   S2 l < 0 < u <= r   chord / a*z, a in [eta, 1] (strategy picks a, like leaky ReLU)
 *   S3 l < 0, u > r     eta*z + (1-eta)*r / a*z, a in [eta, eta + (1-eta)*r/u]
 *   S4 0 <= l, u <= r   z / z                    exact
 *   S5 0 <= l <= r < u  eta*z + (1-eta)*r / chord (phi is concave on [0, inf))
 *   S6 l > r            eta*z + (1-eta)*r both   exact when (1-eta)*r is, else rounded outward
 * Exact states (S1, S4, S6 with an exact (1-eta)*r) are exact in real arithmetic. Rounded lines get the allowance of
 * relax_internal.h: the line eta*z + (1-eta)*r touches phi at z = r, where the two
 * ways of computing it may differ by an ulp; chords take the outer endpoint
 * intercept. In S3 a lower slope a > eta touches phi at z = u, so such a line gets
 * the allowance subtracted from its intercept (a = eta stays exact). */
#include "relax_internal.h"

void relax_param_ramp_lower_at(double eta, double r, double l, double u, double p, double *slope, double *icpt)
{
    *slope = p;
    *icpt = 0.0;
    if (l < 0 && u > r && p > eta) {
        double fu = eta * u + (1.0 - eta) * r;
        *icpt = -relax_margin(0.0, p, fmax(-l, u), fmax(-eta * l, fu));
    }
}

void relax_param_ramp(double eta, const double *r, const double *l, const double *u, size_t n,
                      line_strategy strategy, relax_lines *out)
{
    for (size_t i = 0; i < n; i++) {
        double li = l[i], ui = u[i], ri = r[i];
        double c = (1.0 - eta) * ri; /* intercept of the last piece */
        double zmax = fmax(-li, ui);
        if (ui <= 0) {
            relax_set_lower(out, i, eta, 0.0, eta, eta, eta);
            relax_set_upper(out, i, eta, 0.0, eta, eta, eta);
        } else if (li > ri) {
            /* S6: the line is phi's own last piece, but its intercept c = fl(fl(1-eta)*r)
             * is rounded, and phi is the REAL eta*z + (1-eta)*r: used as both lines, an
             * inexact c puts one of them on the wrong side (e.g. eta = 0.15, r = 0.3
             * on [0.5, 0.5], lower line above phi by 1.2e-17). So the lines stay exact
             * only when c is: 1-eta exact (Sterbenz: 1 - (1-eta) == eta for eta in
             * [0, 1]) and the product exact (fma residual 0, trusted only far from the
             * subnormal range, where a nonzero residual cannot round to 0); otherwise
             * c moves outward by the usual allowance. */
            double e1 = 1.0 - eta, tl = c, tu = c;
            int exact = eta == 1.0 || ri == 0.0 || (1.0 - e1 == eta && fabs(c) >= 0x1p-900 && fma(e1, ri, -c) == 0.0);
            if (!exact) {
                double m = relax_margin(c, eta, zmax, eta * ui + c);
                tl = c - m;
                tu = c + m;
            }
            relax_set_lower(out, i, eta, tl, eta, eta, eta);
            relax_set_upper(out, i, eta, tu, eta, eta, eta);
        } else if (li >= 0 && ui <= ri) {
            relax_set_lower(out, i, 1.0, 0.0, 1.0, 1.0, 1.0);
            relax_set_upper(out, i, 1.0, 0.0, 1.0, 1.0, 1.0);
        } else if (li < 0 && ui <= ri) { /* S2: ReLU-like kink at 0 only */
            double fl_ = eta * li;
            double s = (ui - fl_) / (ui - li);
            double t = fmax(fl_ - s * li, ui - s * ui);
            t += relax_margin(t, s, zmax, fmax(-fl_, ui));
            relax_set_upper(out, i, s, t, s, s, s);
            double a;
            switch (strategy) {
            case LINES_FASTLIN: a = fmin(fmax(s, eta), 1.0); break;
            case LINES_ADAPTIVE: a = ui >= -li ? 1.0 : eta; break;
            default: a = eta; break;
            }
            relax_set_lower(out, i, a, 0.0, a, eta, 1.0);
        } else {
            double fu = eta * ui + c;
            double fmx = li < 0 ? fmax(-eta * li, fu) : fu; /* max |phi| on [l, u] */
            double tu = c + relax_margin(c, eta, zmax, fmx);
            relax_set_upper(out, i, eta, tu, eta, eta, eta);
            if (li < 0) { /* S3 */
                double hi = fmin(eta + (1.0 - eta) * (ri / ui), 1.0);
                if (hi < eta) hi = eta;
                relax_set_lower(out, i, eta, 0.0, eta, eta, hi);
            } else { /* S5: chord of a concave function lies below it */
                double s = (fu - li) / (ui - li);
                double t = fmin(li - s * li, fu - s * ui);
                t -= relax_margin(t, s, zmax, fmx);
                relax_set_lower(out, i, s, t, s, s, s);
            }
        }
    }
}

int relax_param_ramp_stable(const nn_layer *layer, size_t neuron, double l, double u)
{
    double r = layer->r[neuron];
    return u <= 0 || (l >= 0 && u <= r) || l >= r;
}

/* The free lower line (S2, S3) is p*z: slope p, intercept 0. */
void relax_param_ramp_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                                   double *dicpt)
{
    relax_line_at(f->layer, f->neuron, f->l, f->u, f->upper, p, slope, icpt);
    *dslope = 1.0;
    *dicpt = 0.0;
}
