/* relax_check: helpers shared by the relaxation tests (header-only).
 * Random and extreme pre-activation boxes, and a check that lines hold on a dense
 * grid of [l, u] when evaluated in double, with no tolerance. */
#ifndef RELAX_CHECK_H
#define RELAX_CHECK_H

#include "testutil.h"

#include <math.h>

#include "layer_ops.h"
#include "relax.h"

#define GRID 2001 /* interior grid points; the endpoints are added exactly */

/* Fills l[0..n), u[0..n) with boxes that try to break a relaxation: random widths
 * on many scales, l == u, widths around 1e-12, l = 0, u = 0, |l|, |u| up to 1e3,
 * huge one-sided boxes, and boxes ending on `kink` (param_ramp's r; 0 if none). */
static inline void relax_boxes(test_rng *rng, double *l, double *u, size_t n, const double *kink)
{
    for (size_t i = 0; i < n; i++) {
        double k = kink ? kink[i] : 0.0;
        double a, b;
        double scale = pow(10.0, test_rng_range(rng, -3, 3));
        switch (i % 12) {
        case 0: a = test_rng_range(rng, -5, 5); b = test_rng_range(rng, -5, 5); break;
        case 1: a = scale * test_rng_range(rng, -1, 1); b = scale * test_rng_range(rng, -1, 1); break;
        case 2: a = b = test_rng_range(rng, -50, 50); break;
        case 3: a = test_rng_range(rng, -30, 30); b = a + 1e-12 * test_rng_range(rng, 0.5, 3); break;
        case 4: a = 0.0; b = scale * test_rng_uniform(rng); break;
        case 5: a = -scale * test_rng_uniform(rng); b = 0.0; break;
        case 6: a = test_rng_range(rng, 0, 5); b = 1e3; break;
        case 7: a = -1e3; b = test_rng_range(rng, -5, 0); break;
        case 8: a = -1e3; b = 1e3 * test_rng_uniform(rng); break;
        case 9: a = k; b = k + scale * test_rng_uniform(rng); break;
        case 10: a = k - scale * test_rng_uniform(rng); b = k; break;
        default: a = test_rng_range(rng, -1e3, 1e3); b = test_rng_range(rng, -1e3, 1e3); break;
        }
        l[i] = fmin(a, b);
        u[i] = fmax(a, b);
    }
}

/* Number of grid points of [l, u] where a line (side: 0 lower, 1 upper) fails. */
static inline int relax_line_violations(const nn_layer *layer, size_t neuron, double l, double u, int upper,
                                        double s, double t, int grid)
{
    int bad = 0;
    for (int k = -1; k <= grid + 2; k++) {
        double z;
        if (k == -1) z = l;
        else if (k == grid + 2) z = u;
        else if (k == grid + 1) z = (l < 0 && u > 0) ? 0.0 : l;
        else if (k == grid) z = (layer->r && l <= layer->r[neuron] && layer->r[neuron] <= u) ? layer->r[neuron] : u;
        else z = l + (u - l) * ((double)k / (grid - 1));
        if (z < l) z = l;
        if (z > u) z = u;
        double f = act_value(layer, neuron, z), v = s * z + t;
        if (upper ? !(v >= f) : !(v <= f)) {
            if (bad < 3)
                print_message("  %s line %.17g*z%+.17g fails at z=%.17g on [%.17g, %.17g]: line %.17g, f %.17g\n",
                              upper ? "upper" : "lower", s, t, z, l, u, v, f);
            bad++;
        }
    }
    return bad;
}

/* Checks both lines of every neuron; returns the number of failing neurons. */
static inline int relax_lines_violations(const nn_layer *layer, const double *l, const double *u,
                                         const relax_lines *lines, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int b = relax_line_violations(layer, i, l[i], u[i], 0, lines->lower_slope[i], lines->lower_icpt[i], GRID) +
                relax_line_violations(layer, i, l[i], u[i], 1, lines->upper_slope[i], lines->upper_icpt[i], GRID);
        bad += b > 0;
    }
    return bad;
}

/* Every parameter lies in its range; sampled values of every free parameter give
 * valid lines (relax_line_at); the chosen parameter gives back the stored line. */
static inline int relax_param_violations(const nn_layer *layer, const double *l, const double *u,
                                         const relax_lines *lines, size_t n, test_rng *rng)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        for (int side = 0; side < 2; side++) {
            double p = side ? lines->upper_param[i] : lines->lower_param[i];
            double lo = side ? lines->upper_lo[i] : lines->lower_lo[i];
            double hi = side ? lines->upper_hi[i] : lines->lower_hi[i];
            double s0 = side ? lines->upper_slope[i] : lines->lower_slope[i];
            double t0 = side ? lines->upper_icpt[i] : lines->lower_icpt[i];
            if (!(lo <= p && p <= hi)) {
                print_message("  neuron %zu side %d: param %.17g outside [%.17g, %.17g]\n", i, side, p, lo, hi);
                bad++;
                continue;
            }
            double s, t;
            relax_line_at(layer, i, l[i], u[i], side, p, &s, &t);
            if (s != s0 || t != t0) {
                print_message("  neuron %zu side %d: relax_line_at(%.17g) = (%.17g, %.17g), stored (%.17g, %.17g)\n",
                              i, side, p, s, t, s0, t0);
                bad++;
            }
            if (!(lo < hi)) continue;
            for (int q = 0; q < 5; q++) {
                double pq = q == 0 ? lo : q == 1 ? hi : test_rng_range(rng, lo, hi);
                relax_line_at(layer, i, l[i], u[i], side, pq, &s, &t);
                if (relax_line_violations(layer, i, l[i], u[i], side, s, t, 301)) {
                    print_message("  neuron %zu side %d: parameter %.17g in [%.17g, %.17g] gives an invalid line\n", i,
                                  side, pq, lo, hi);
                    bad++;
                }
            }
        }
    }
    return bad;
}

#endif
