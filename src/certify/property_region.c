/* An input box as a region of the bound engine (doc/verify.md "Boxes as regions").
 *
 * The engine's regions are balls B(c, eps) of one radius, optionally clipped to a
 * scalar range [clip_lo, clip_hi]. A box [lo, hi] is one when every coordinate has
 * the common half-width eps, or touches the clip range with a smaller width (an
 * image +- eps clipped to [0, 1] is exactly this). Otherwise, when the model reads
 * its input as a flat vector (its first layer after element-wise activations is
 * dense or flatten, or the input is C x 1 x 1), a dense layer x = mid + h o z in
 * front maps the ball |z|_inf <= 1 onto the box (zero widths give zero rows).
 * Leading normalize layers (per-channel y = (x - mean) / std, std > 0) map a box
 * onto a box: when the box is not a clipped ball before them, it is mapped
 * through them (rounded outward) and both tries above are made on the model
 * without them. Otherwise the enclosing clipped ball is used: sound, but looser.
 *
 * Containment is checked in real arithmetic (TwoSum gives the exact error of each
 * difference), and also in the engine's own double arithmetic; eps grows by an
 * ulp until both hold. */
#include "property_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The dense box layer is n x n: beyond this many inputs the enclosing ball is used. */
#define PROP_PREFIX_MAX_INPUTS 4096

/* a - b <= t exactly (a - b = s + e by TwoSum) */
static int sub_le(double a, double b, double t)
{
    double s = a - b;
    return s < t || (s == t && prop_sum_err(a, -b, s) <= 0);
}

/* a + b >= t exactly */
static int add_ge(double a, double b, double t)
{
    double s = a + b;
    return s > t || (s == t && prop_sum_err(a, b, s) >= 0);
}

/* The clipped ball around the box; *exact when it equals the box (to 1e-9 eps). */
static int fit_ball(const double *lo, const double *hi, size_t n, double *c, bound_region *reg, int *exact)
{
    double clo = INFINITY, chi = -INFINITY, eps = 0.0;
    for (size_t i = 0; i < n; i++) {
        clo = fmin(clo, lo[i]), chi = fmax(chi, hi[i]);
        double w = prop_add_dir(hi[i], -lo[i], 1);
        eps = fmax(eps, prop_div_dir(w, 2.0, 1));
    }
    if (!isfinite(eps)) return 0;
    for (int attempt = 0; attempt < 64; attempt++, eps = nextafter(eps, INFINITY)) {
        int ok = 1;
        *exact = 1;
        for (size_t i = 0; ok && i < n; i++) {
            double ci;
            if (lo[i] == clo && hi[i] != chi) ci = prop_add_dir(hi[i], -eps, 1);
            else if (hi[i] == chi && lo[i] != clo) ci = prop_add_dir(lo[i], eps, -1);
            else ci = lo[i] + (hi[i] - lo[i]) / 2;
            ci = fmin(fmax(ci, clo), chi);
            /* real containment, and the engine's rounded box */
            double rl = fmax(ci - eps, clo), rh = fmin(ci + eps, chi);
            ok = sub_le(ci, eps, lo[i]) && add_ge(ci, eps, hi[i]) && rl <= lo[i] && rh >= hi[i];
            if (lo[i] - rl > 1e-9 * eps || rh - hi[i] > 1e-9 * eps) *exact = 0;
            c[i] = ci;
        }
        if (ok) {
            *reg = (bound_region){.center = c, .eps = eps, .norm = NORM_INF, .clip = 1, .clip_lo = clo, .clip_hi = chi};
            return 1;
        }
    }
    return 0;
}

/* The model reads its input as a flat vector, so a dense layer in front changes
 * nothing else: element-wise activations, then dense or flatten. */
static int flat_input(const nn_model *m)
{
    if (m->input.h == 1 && m->input.w == 1) return model_is_sequential(m);
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->n_inputs != 0) return 0;
        if (layer_is_activation(l->type)) continue;
        return (l->type == LAYER_DENSE || l->type == LAYER_FLATTEN) && model_is_sequential(m);
    }
    return 0;
}

/* m's layers behind the box layer x = mid + h o z; 0 when it does not apply. */
static int make_prefix(const nn_model *m, const double *lo, const double *hi, prop_region *r, nn_error *err)
{
    size_t n = model_input_size(m);
    if (n > PROP_PREFIX_MAX_INPUTS || !flat_input(m)) return 0;
    nn_layer *layers = nn_calloc((size_t)m->n_layers + 1, sizeof *layers, "box layer", err);
    if (!layers) return -1;
    nn_layer *box = &layers[0];
    *box = layer_make(LAYER_DENSE);
    box->weight = nn_calloc(n * n, sizeof *box->weight, "box layer weights", err);
    box->bias = nn_malloc(n * sizeof *box->bias, "box layer bias", err);
    if (!box->weight || !box->bias) {
        free(box->weight), free(box->bias), free(layers);
        return -1;
    }
    box->out_channels = (int)n;
    box->in_features = (int)n;
    for (size_t i = 0; i < n; i++) {
        double mid = lo[i] + (hi[i] - lo[i]) / 2;
        mid = fmin(fmax(mid, lo[i]), hi[i]);
        double h = fmax(prop_add_dir(hi[i], -mid, 1), prop_add_dir(mid, -lo[i], 1));
        for (int k = 0; k < 64 && !(sub_le(mid, h, lo[i]) && add_ge(mid, h, hi[i])); k++) h = nextafter(h, INFINITY);
        box->weight[i * n + i] = h;
        box->bias[i] = mid;
    }
    for (int i = 0; i < m->n_layers; i++) layers[i + 1] = m->layers[i];  /* arrays shared */
    nn_model *pm = &r->prefixed;
    model_init(pm);
        pm->input = (nn_shape){(int)n, 1, 1};
    pm->n_layers = m->n_layers + 1;
    pm->layers = layers;
    nn_error local;
    nn_error_clear(&local);
    if (model_finalize(pm, &local)) {
        free(box->weight), free(box->bias), free(layers);
        model_init(pm);
        return 0;
    }
    r->has_prefix = 1;
    r->model = pm;
    for (size_t i = 0; i < n; i++) r->center[i] = 0.0;
    r->region = (bound_region){.center = r->center, .eps = 1.0, .norm = NORM_INF};
    return 1;
}

/* The box through m's leading normalize layers into [lo2, hi2] (outward), and
 * the model without them in r->stripped; the number of layers dropped. */
static int strip_normalize(const nn_model *m, const double *lo, const double *hi, double *lo2, double *hi2,
                           prop_region *r)
{
    size_t n = model_input_size(m);
    int skip = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].n_inputs != 0) return 0;
    memcpy(lo2, lo, n * sizeof *lo2), memcpy(hi2, hi, n * sizeof *hi2);
    for (; skip < m->n_layers && m->layers[skip].type == LAYER_NORMALIZE; skip++) {
        const nn_layer *l = &m->layers[skip];
        size_t plane = (size_t)l->in.h * (size_t)l->in.w;
        for (size_t i = 0; i < n; i++) {
            size_t c = i / plane;
            lo2[i] = prop_div_dir(prop_add_dir(lo2[i], -l->mean[c], -1), l->std[c], -1);
            hi2[i] = prop_div_dir(prop_add_dir(hi2[i], -l->mean[c], 1), l->std[c], 1);
        }
    }
    r->stripped = *m;
    r->stripped.layers = m->layers + skip;
    r->stripped.n_layers = m->n_layers - skip;
    return skip;
}

int prop_region_make(const nn_model *m, const double *lo, const double *hi, prop_region *r, nn_error *err)
{
    memset(r, 0, sizeof *r);
    size_t n = model_input_size(m);
    r->model = m;
    if (!(r->center = nn_malloc(n * sizeof *r->center, "region centre", err))) return NN_ENOMEM;
    int exact = 0;
    if (fit_ball(lo, hi, n, r->center, &r->region, &exact) && exact) return NN_OK;
    double *lo2 = nn_malloc(2 * n * sizeof *lo2, "normalized box", err), *hi2 = lo2 ? lo2 + n : NULL;
    if (!lo2) {
        prop_region_free(r);
        return NN_ENOMEM;
    }
    const nn_model *base = m;
    const double *blo = lo, *bhi = hi;
    int skip = strip_normalize(m, lo, hi, lo2, hi2, r);
    if (skip > 0) {
        base = &r->stripped, blo = lo2, bhi = hi2;
        if (fit_ball(blo, bhi, n, r->center, &r->region, &exact) && exact) {
            r->model = base;
            r->n_stripped = skip;
            free(lo2);
            return NN_OK;
        }
    }
    int p = make_prefix(base, blo, bhi, r, err);
    free(lo2);
    if (p < 0) {
        prop_region_free(r);
        return NN_ENOMEM;
    }
    if (p > 0) {
        r->n_stripped = skip;
        return NN_OK;
    }
    r->model = m;
    if (!fit_ball(lo, hi, n, r->center, &r->region, &exact)) {
        prop_region_free(r);
        return nn_fail(err, NN_EVALUE, "input box: no finite ball contains it");
    }
    r->enlarged = !exact;
    return NN_OK;
}

void prop_region_free(prop_region *r)
{
    if (r->has_prefix) {
        free(r->prefixed.layers[0].weight);
        free(r->prefixed.layers[0].bias);
        free(r->prefixed.layers);
    }
    free(r->center);
    memset(r, 0, sizeof *r);
}

void prop_region_to_input(const prop_region *r, const nn_model *m, const double *z, double *x)
{
    size_t n = model_input_size(m);
    memmove(x, z, n * sizeof *x);
    if (r->has_prefix) {
        const nn_layer *box = &r->prefixed.layers[0];
        for (size_t i = 0; i < n; i++) x[i] = box->bias[i] + box->weight[i * n + i] * z[i];
    }
    for (int k = r->n_stripped - 1; k >= 0; k--) {
        const nn_layer *l = &m->layers[k];
        size_t plane = (size_t)l->in.h * (size_t)l->in.w;
        for (size_t i = 0; i < n; i++) x[i] = x[i] * l->std[i / plane] + l->mean[i / plane];
    }
}
