/* PGD towards one disjunct of a property (doc/verify.md "Counterexamples").
 *
 * The disjunct asks for x in a box with rows a_r . f(x) <= rhs_r for every r.
 * The loss is the largest violation max_r (a_r . f(x) - rhs_r); each step
 * follows the sign of the gradient of the most violated row (one forward_vjp),
 * with a step of 2.5 / steps of each coordinate's half-width, and clamps back
 * into the box, so zero-width inputs never move. A point counts only when a
 * separate forward pass confirms it: inside the inner box, every inner row
 * holding with the rounding of its dot product counted against it. */
#include "property_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "forward.h"

/* Most violated row of conjunction j at y (SIZE_MAX when it has no rows). */
static size_t worst_row(const prop_spec *p, size_t j, const double *y)
{
    size_t best = (size_t)-1;
    double worst = -INFINITY;
    for (size_t r = p->conj_start[j]; r < p->conj_start[j + 1]; r++) {
        double s = -p->rhs_in[r];
        for (size_t k = 0; k < p->n_y; k++) s += p->row[r * p->n_y + k] * y[k];
        if (best == (size_t)-1 || s > worst || isnan(s)) best = r, worst = s;
    }
    return best;
}

/* x, y a counterexample of disjunct k, checked by a fresh forward pass into y. */
static int confirm(const nn_model *m, const prop_spec *p, size_t k, const double *x, double *y, int *found,
                   nn_error *err)
{
    int rc = forward_run(m, x, 1, y, err);
    if (!rc) *found = prop_box_holds(p, p->case_box[k], x) && prop_conj_holds(p, p->case_conj[k], y);
    return rc;
}

int prop_attack_run(const nn_model *m, const prop_spec *p, size_t k, const prop_options *o, int run, uint64_t *rng,
                    double *x, double *y, int *found, long *steps, nn_error *err)
{
    *found = 0;
    size_t n = p->n_x, b = p->case_box[k], j = p->case_conj[k];
    const double *lo = p->lo_in + b * n, *hi = p->hi_in + b * n;
    for (size_t i = 0; i < n; i++)
        if (!(lo[i] <= hi[i])) return NN_OK;  /* empty inner box: nothing can be a counterexample */
    for (size_t i = 0; i < n; i++) {
        double t = run == 0 ? 0.5 : attack_uniform(rng);
        x[i] = fmin(fmax(lo[i] + t * (hi[i] - lo[i]), lo[i]), hi[i]);
    }
    double *g = nn_malloc(n * sizeof *g, "attack gradient", err);
    if (!g) return NN_ENOMEM;
    double frac = 2.5 / o->steps;
    int rc = forward_run(m, x, 1, y, err);
    for (int step = 0; !rc; step++) {
        if (prop_conj_holds(p, j, y)) {
            rc = confirm(m, p, k, x, y, found, err);
            if (rc || *found) break;
        }
        size_t r = worst_row(p, j, y);
        if (step == o->steps || r == (size_t)-1) break;
        if ((rc = forward_vjp(m, x, p->row + r * p->n_y, NULL, g, err))) break;
        (*steps)++;
        for (size_t i = 0; i < n; i++) {
            double a = frac * 0.5 * (hi[i] - lo[i]);
            double v = x[i] - (g[i] > 0 ? a : g[i] < 0 ? -a : 0.0);
            x[i] = fmin(fmax(v, lo[i]), hi[i]);
        }
        rc = forward_run(m, x, 1, y, err);
    }
    free(g);
    return rc;
}
