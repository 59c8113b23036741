/* An input box as a region of the bound engine (doc/verify.md "Boxes as regions").
 *
 * The engine's regions are balls B(c, eps), optionally clipped to a box given per
 * coordinate. A box [lo, hi] is the l_inf ball around its midpoint clipped to the
 * box itself, once eps reaches every face: the engine's box
 * [max(c - eps, lo), min(c + eps, hi)] is then [lo, hi] exactly, for any model
 * (a CNN's input as much as an MLP's). eps is the largest width rounded up, so
 * c - eps <= lo holds in real arithmetic and, rounding being monotone, in the
 * engine's double arithmetic too; both are checked anyway. */
#include "property_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int prop_region_make(const nn_model *m, const double *lo, const double *hi, prop_region *r, nn_error *err)
{
    memset(r, 0, sizeof *r);
    size_t n = model_input_size(m);
    r->center = nn_malloc(3 * n * sizeof *r->center, "region centre and box", err);
    if (!r->center) return NN_ENOMEM;
    r->lo = r->center + n, r->hi = r->lo + n;
    double eps = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(lo[i] <= hi[i]) || !isfinite(lo[i]) || !isfinite(hi[i])) {
            prop_region_free(r);
            return nn_fail(err, NN_EVALUE, "input box: [%g, %g] of input %zu is not a finite interval", lo[i], hi[i], i);
        }
        r->lo[i] = lo[i], r->hi[i] = hi[i];
        double c = lo[i] + (hi[i] - lo[i]) / 2;
        r->center[i] = fmin(fmax(c, lo[i]), hi[i]);
        eps = fmax(eps, prop_add_dir(hi[i], -lo[i], 1));
    }
    for (size_t i = 0; i < n && isfinite(eps); i++)
        if (!(r->center[i] - eps <= lo[i] && r->center[i] + eps >= hi[i])) eps = INFINITY;
    if (!isfinite(eps)) {
        prop_region_free(r);
        return nn_fail(err, NN_EVALUE, "input box: no finite ball contains it (widths overflow)");
    }
    r->region = (bound_region){.center = r->center, .eps = eps, .norm = NORM_INF, .clip = 1,
                               .clip_lo_v = r->lo, .clip_hi_v = r->hi};
    return NN_OK;
}

void prop_region_free(prop_region *r)
{
    free(r->center);
    memset(r, 0, sizeof *r);
}
