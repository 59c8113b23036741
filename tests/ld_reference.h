/* ld_reference: an independent long double forward pass, the test of membership
 * in the REAL region and a long double local search (PGD-like), the reference
 * the soundness tests compare bounds and radii with (header-only;
 * test_bound_edge_archs.c, test_bound_eps_sequences.c, test_relax_extremes.c,
 * test_bound_clipped_conc.c, test_radius_attack.c, test_bound_residual.c,
 * test_bound_source.c). Not forward_trace: the library's own rounding must not
 * mask an error. */
#ifndef LD_REFERENCE_H
#define LD_REFERENCE_H

#include "test_bound_models.h"

typedef long double ld;

/* ---- independent long double forward ----------------------------------- */

static inline ld ld_act(const nn_layer *L, size_t k, ld z)
{
    switch (L->type) {
    case LAYER_RELU: return z > 0 ? z : 0;
    case LAYER_LEAKY_RELU: return z >= 0 ? z : (ld)L->alpha * z;
    case LAYER_PARAM_RAMP: {
        ld eta = L->alpha, r = L->r[k];
        if (z < 0) return eta * z;
        if (z <= r) return z;
        return eta * z + (1 - eta) * r;
    }
    case LAYER_TANH: return tanhl(z);
    case LAYER_ARCTAN: return atanl(z);
    case LAYER_SIGMOID: return z >= 0 ? 1 / (1 + expl(-z)) : expl(z) / (1 + expl(z));
    default: fail_msg("ld_act: layer type %d", (int)L->type);
    }
    return 0;
}

/* y = layer(x); x has shape L->in, y L->out. */
static inline void ld_layer(const nn_layer *L, const ld *x, ld *y)
{
    size_t n_in = shape_size(L->in), n_out = shape_size(L->out);
    int H = L->in.h, W = L->in.w, Ho = L->out.h, Wo = L->out.w;
    switch (L->type) {
    case LAYER_NORMALIZE:
        for (size_t k = 0; k < n_in; k++) {
            size_t c = k / ((size_t)H * W);
            y[k] = (x[k] - (ld)L->mean[c]) / (ld)L->std[c];
        }
        break;
    case LAYER_DENSE:
        for (size_t o = 0; o < n_out; o++) {
            ld s = L->bias[o];
            for (size_t i = 0; i < n_in; i++) s += (ld)L->weight[o * n_in + i] * x[i];
            y[o] = s;
        }
        break;
    case LAYER_CONV2D: {
        int Ci = L->in.c, kh = L->kernel[0], kw = L->kernel[1];
        for (int co = 0; co < L->out.c; co++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    ld s = L->bias[co];
                    for (int ci = 0; ci < Ci; ci++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) {
                                int iy = oy * L->stride[0] - L->pad[0] + ky * L->dilation[0];
                                int ix = ox * L->stride[1] - L->pad[1] + kx * L->dilation[1];
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                s += (ld)L->weight[((co * Ci + ci) * kh + ky) * kw + kx] *
                                     x[((size_t)ci * H + iy) * W + ix];
                            }
                    y[((size_t)co * Ho + oy) * Wo + ox] = s;
                }
        break;
    }
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D: {
        int kh = L->kernel[0], kw = L->kernel[1];
        for (int c = 0; c < L->in.c; c++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    ld s = 0, mx = -INFINITY;
                    int cnt = 0;
                    const int *cp = L->count_pad; /* padding cells the average counts */
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * L->stride[0] - L->pad[0] + ky;
                            int ix = ox * L->stride[1] - L->pad[1] + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                                cnt += iy >= -cp[0] && iy < H + cp[2] && ix >= -cp[1] && ix < W + cp[3];
                                continue;
                            }
                            ld v = x[((size_t)c * H + iy) * W + ix];
                            s += v;
                            mx = v > mx ? v : mx;
                            cnt++;
                        }
                    assert_true(cnt > 0 && (L->type == LAYER_AVGPOOL2D || mx > -INFINITY));
                    y[((size_t)c * Ho + oy) * Wo + ox] = L->type == LAYER_MAXPOOL2D ? mx : s / cnt;
                }
        break;
    }
    case LAYER_FLATTEN: memcpy(y, x, n_in * sizeof *y); break;
    default:
        for (size_t k = 0; k < n_in; k++) y[k] = ld_act(L, k, x[k]);
    }
}

/* acts[i + 1] = output of layer i (caller frees with free(acts[i])); acts[0] = x.
 * Residual graphs: each layer reads its edge, an add sums its two inputs. */
static inline void ld_forward(const nn_model *m, const double *x, ld **acts)
{
    size_t n_in = model_input_size(m);
    ld *in = malloc(n_in * sizeof *in);
    assert_non_null(in);
    for (size_t j = 0; j < n_in; j++) in[j] = x[j];
    acts[0] = in;
    for (int i = 0; i < m->n_layers; i++) {
        acts[i + 1] = malloc((shape_size(m->layers[i].out) + 1) * sizeof(ld));
        assert_non_null(acts[i + 1]);
        const nn_layer *L = &m->layers[i];
        const ld *a = acts[model_layer_input(m, i, 0) + 1];
        if (L->type == LAYER_ADD) {
            const ld *b = acts[model_layer_input(m, i, 1) + 1];
            for (size_t k = 0; k < shape_size(L->out); k++) acts[i + 1][k] = a[k] + b[k];
        } else {
            ld_layer(L, a, acts[i + 1]);
        }
    }
}

static inline ld ld_dist(const bound_region *R, const double *x, size_t n)
{
    ld acc = 0;
    for (size_t j = 0; j < n; j++) {
        ld d = fabsl((ld)x[j] - (ld)R->center[j]);
        if (R->norm == NORM_INF) acc = d > acc ? d : acc;
        else if (R->norm == NORM_1) acc += d;
        else acc += d * d;
    }
    return R->norm == NORM_2 ? sqrtl(acc) : acc;
}

/* Pull x towards the centre, one ulp at a time, until it is in the real region. */
static inline void into_region(const bound_region *R, double *x, size_t n)
{
    for (int it = 0; it < 200 && ld_dist(R, x, n) > (ld)R->eps; it++)
        for (size_t j = 0; j < n; j++)
            if (x[j] != R->center[j]) x[j] = nextafter(x[j], R->center[j]);
    if (ld_dist(R, x, n) > (ld)R->eps) memcpy(x, R->center, n * sizeof *x);
}

/* The first bound of st (a nonlinear layer's input, an output, or spec row q of
 * C f + d with bounds [sl, su]) that the long double trace acts misses, described
 * in why (empty when every value is inside). */
static inline void ld_check_trace(const nn_model *m, const bound_state *st, ld **acts, const double *C,
                                  const double *d, const double *sl, const double *su, size_t rows, char *why,
                                  size_t whylen)
{
    size_t no = model_output_size(m);
    why[0] = 0;
    for (int i = 0; i < m->n_layers && !why[0]; i++) {
        if (!st->pre_lower[i]) continue;
        for (size_t k = 0; k < shape_size(m->layers[i].in); k++) {
            ld v = acts[model_layer_input(m, i, 0) + 1][k];
            if (!((ld)st->pre_lower[i][k] <= v && v <= (ld)st->pre_upper[i][k])) {
                snprintf(why, whylen, "layer %d (%s input) neuron %zu: %.21Lg not in [%.17g, %.17g]", i,
                         layer_type_name(m->layers[i].type), k, v, st->pre_lower[i][k], st->pre_upper[i][k]);
                break;
            }
        }
    }
    const ld *out = acts[m->n_layers];
    for (size_t k = 0; k < no && !why[0]; k++)
        if (!((ld)st->out_lower[k] <= out[k] && out[k] <= (ld)st->out_upper[k]))
            snprintf(why, whylen, "output %zu: %.21Lg not in [%.17g, %.17g]", k, out[k], st->out_lower[k],
                     st->out_upper[k]);
    for (size_t q = 0; q < rows && !why[0]; q++) {
        ld v = d[q];
        for (size_t k = 0; k < no; k++) v += (ld)C[q * no + k] * out[k];
        if (!((ld)sl[q] <= v && v <= (ld)su[q]))
            snprintf(why, whylen, "spec row %zu: %.21Lg not in [%.17g, %.17g]", q, v, sl[q], su[q]);
    }
}

/* The centre and n_samp points of R (tb_sample kinds in turn, pulled into the
 * real region) through ld_forward: every bound of st and the rows spec rows of
 * C f + d in [sl, su] must contain them (ld_check_trace); fails the test with
 * what and the first miss. */
static inline void ld_check_samples(const nn_model *m, const bound_state *st, test_rng *rng, const bound_region *R,
                                    int n_samp, const double *C, const double *d, const double *sl,
                                    const double *su, size_t rows, const char *what)
{
    size_t n = model_input_size(m);
    double *x = malloc(n * sizeof *x);
    ld **acts = calloc((size_t)m->n_layers + 1, sizeof *acts);
    assert_non_null(x);
    assert_non_null(acts);
    char why[512];
    for (int s = 0; s <= n_samp; s++) {
        if (s == 0) memcpy(x, R->center, n * sizeof *x);
        else tb_sample(rng, R, n, s % 3, x);
        into_region(R, x, n);
        ld_forward(m, x, acts);
        ld_check_trace(m, st, acts, C, d, sl, su, rows, why, sizeof why);
        for (int i = 0; i <= m->n_layers; i++) free(acts[i]);
        if (why[0]) fail_msg("%s, sample %d: %s", what, s, why);
    }
    free(x);
    free(acts);
}

/* ---- a long double local search (PGD-like) -------------------------------- */

/* Value of row w . f(x) + d0 (w over the outputs) at x, in long double. */
static inline ld ld_row(const nn_model *m, const double *x, const double *w, double d0)
{
    ld **acts = calloc((size_t)m->n_layers + 1, sizeof *acts);
    assert_non_null(acts);
    ld_forward(m, x, acts);
    size_t no = model_output_size(m);
    ld v = d0;
    for (size_t k = 0; k < no; k++) v += (ld)w[k] * acts[m->n_layers][k];
    for (int i = 0; i <= m->n_layers; i++) free(acts[i]);
    free(acts);
    return v;
}

/* Project x onto the region (inf: clamp; 2: scale; 1: scale, feasible), then into
 * the REAL region and the clip box. */
static inline void project(const bound_region *R, double *x, size_t n)
{
    ld acc = 0;
    for (size_t j = 0; j < n; j++) {
        double dlt = x[j] - R->center[j];
        if (R->norm == NORM_INF) x[j] = R->center[j] + fmax(-R->eps, fmin(R->eps, dlt));
        else acc += R->norm == NORM_1 ? fabsl((ld)dlt) : (ld)dlt * dlt;
    }
    if (R->norm != NORM_INF) {
        ld nrm = R->norm == NORM_2 ? sqrtl(acc) : acc;
        if (nrm > (ld)R->eps)
            for (size_t j = 0; j < n; j++) x[j] = R->center[j] + (double)((ld)(x[j] - R->center[j]) * (R->eps / nrm));
    }
    into_region(R, x, n);
    if (R->clip)
        for (size_t j = 0; j < n; j++) x[j] = x[j] < R->clip_lo ? R->clip_lo : x[j] > R->clip_hi ? R->clip_hi : x[j];
}

/* Smallest value of the row found by a few random starts of signed-gradient /
 * normalized-gradient descent with central differences; *xbest gets the point. */
static inline ld ld_pgd_min(const nn_model *m, const bound_region *R, const double *w, double d0, int starts, int steps,
                     test_rng *rng, double *xbest)
{
    size_t n = model_input_size(m);
    double x[128], y[128], g[128];
    assert_true(n <= 128);
    ld best = INFINITY;
    for (int st = 0; st < starts; st++) {
        if (st == 0) memcpy(x, R->center, n * sizeof *x);
        else tb_sample(rng, R, n, st % 3, x);
        project(R, x, n);
        double step = R->eps * 0.5;
        for (int it = 0; it <= steps; it++) {
            ld v = ld_row(m, x, w, d0);
            if (v < best) {
                best = v;
                memcpy(xbest, x, n * sizeof *x);
            }
            if (it == steps || R->eps == 0) break;
            double h = 1e-6 * fmax(R->eps, 1e-6), gn = 0, gmax = 0;
            for (size_t j = 0; j < n; j++) {
                memcpy(y, x, n * sizeof *y);
                y[j] = x[j] + h;
                ld a = ld_row(m, y, w, d0);
                y[j] = x[j] - h;
                ld b = ld_row(m, y, w, d0);
                g[j] = (double)((a - b) / (2 * h));
                gn += g[j] * g[j];
                gmax = fmax(gmax, fabs(g[j]));
            }
            if (gmax == 0) break;
            for (size_t j = 0; j < n; j++) {
                if (R->norm == NORM_INF) x[j] -= step * (g[j] > 0 ? 1 : g[j] < 0 ? -1 : 0);
                else if (R->norm == NORM_2) x[j] -= step * g[j] / sqrt(gn);
                else if (fabs(g[j]) == gmax) x[j] -= step * (g[j] > 0 ? 1 : -1);
            }
            project(R, x, n);
            step *= 0.8;
        }
    }
    return best;
}

#endif
