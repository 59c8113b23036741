/* PGD attack on the logit margin (doc/radius.md "Attacks"; Madry et al.).
 *
 * Loss: max_{j != c} z_j - z_c, ascended by sign steps (l_inf) or normalized
 * gradient steps (l2) and projected back onto the ball and the valid range. For
 * l2 the ball projection comes first; clipping to [lo, hi] afterwards moves every
 * coordinate towards x0's own (valid) value, so the point stays in the ball and
 * the result is feasible for both sets. The gradient of the margin comes from one
 * forward_vjp with w = e_j - e_c for the currently strongest rival j. A point
 * counts only after a plain forward_run agrees that its prediction is not c, so
 * a reported counterexample is a real one. Run 0 chases the strongest rival;
 * run r > 0 targets one rival (multi-targeted PGD), strongest first, cyclically.
 * The first cycle (runs 0 .. k-1 for k classes) starts at x0, since a random
 * start costs accuracy near the minimal eps; later runs start at random points
 * of the ball to escape flat or masked gradients.
 * With a target class t (the upper side of a targeted certified radius, whose
 * margin is z_c - z_t alone) every run chases t, and a point counts when the
 * forward pass gives z_t >= z_c: a third class winning is no counterexample there. */
#include "attack.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

void attack_options_default(attack_options *o, norm_type norm)
{
    memset(o, 0, sizeof *o);
    o->norm = norm;
    o->steps = 100;
    o->restarts = 5;
    o->step_size = 0.0;
    o->seed = 0;
    o->lo = 0.0;
    o->hi = 1.0;
    o->target = -1;
}

double attack_distance(norm_type norm, const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (norm == NORM_INF) s = d > s ? d : s;
        else if (norm == NORM_1) s += d;
        else s += d * d;
    }
    return norm == NORM_2 ? sqrt(s) : s;
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double attack_uniform(uint64_t *state) { return (double)(rng_next(state) >> 11) * 0x1.0p-53; }

static double rng_normal(uint64_t *state)
{
    double u = attack_uniform(state), v = attack_uniform(state);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* Project x onto B(x0, eps) and then the box [lo, hi]; stays inside both. */
static void project(const attack_options *o, const double *x0, double eps, double *x, size_t n)
{
    if (o->norm == NORM_INF) {
        for (size_t i = 0; i < n; i++) {
            double a = fmax(x0[i] - eps, o->lo), b = fmin(x0[i] + eps, o->hi);
            x[i] = x[i] < a ? a : x[i] > b ? b : x[i];
        }
        return;
    }
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (x[i] - x0[i]) * (x[i] - x0[i]);
    s = sqrt(s);
    if (s > eps) {
        /* A hair inside the sphere so rounding cannot leave the ball. */
        double f = eps / s * (1.0 - 1e-12);
        for (size_t i = 0; i < n; i++) x[i] = x0[i] + f * (x[i] - x0[i]);
    }
    for (size_t i = 0; i < n; i++) x[i] = x[i] < o->lo ? o->lo : x[i] > o->hi ? o->hi : x[i];
}

static void random_start(const attack_options *o, const double *x0, double eps, uint64_t *rng, double *x,
                         size_t n)
{
    if (o->norm == NORM_INF) {
        for (size_t i = 0; i < n; i++) x[i] = x0[i] + eps * (2.0 * attack_uniform(rng) - 1.0);
    } else {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) {
            x[i] = rng_normal(rng);
            s += x[i] * x[i];
        }
        /* Uniform in the ball: radius eps * U^(1/n). */
        double r = eps * pow(attack_uniform(rng), 1.0 / (double)n) / (s > 0 ? sqrt(s) : 1.0);
        for (size_t i = 0; i < n; i++) x[i] = x0[i] + r * x[i];
    }
    project(o, x0, eps, x, n);
}

/* Strongest rival of c and the margin z_c - z_rival; with a target t >= 0, t
 * and z_c - z_t. */
static int rival(const double *z, int n, int c, int t, double *margin)
{
    if (t >= 0) {
        *margin = z[c] - z[t];
        return t;
    }
    int j = -1;
    for (int k = 0; k < n; k++)
        if (k != c && (j < 0 || z[k] > z[j])) j = k;
    *margin = z[c] - z[j];
    return j;
}

int attack_pgd(const nn_model *m, const attack_options *o, const double *x0, int c, double eps, double *x_adv,
               double *logits, attack_result *res, nn_error *err)
{
    memset(res, 0, sizeof *res);
    res->eps = eps;
    res->margin = INFINITY;
    res->adv_class = -1;
    size_t n = model_input_size(m);
    int k = (int)model_output_size(m);
    if (o->norm != NORM_INF && o->norm != NORM_2)
        return nn_fail(err, NN_EARG, "attack: norm l%d is not supported (inf or 2)", (int)o->norm);
    if (!(eps >= 0) || !isfinite(eps)) return nn_fail(err, NN_EARG, "attack: eps must be finite and >= 0, got %g", eps);
    if (o->steps < 1 || o->restarts < 1)
        return nn_fail(err, NN_EARG, "attack: steps and restarts must be >= 1 (got %d, %d)", o->steps, o->restarts);
    if (c < 0 || c >= k) return nn_fail(err, NN_EVALUE, "attack: class %d out of range [0, %d)", c, k);
    const int t = o->target;
    if (t >= k || t == c || t < -1)
        return nn_fail(err, NN_EVALUE, "attack: target %d is not a class other than %d in [0, %d)", t, c, k);
    double alpha = (o->step_size > 0 ? o->step_size : 2.5 / o->steps) * eps;
    double *x = nn_malloc(n * sizeof *x, "attack point", err);
    double *g = nn_malloc(n * sizeof *g, "attack gradient", err);
    double *w = nn_calloc((size_t)k, sizeof *w, "attack weights", err);
    double *z = nn_malloc((size_t)k * sizeof *z, "attack logits", err);
    double *zc = nn_malloc((size_t)k * sizeof *zc, "attack check logits", err);
    int rc = (!x || !g || !w || !z || !zc) ? NN_ENOMEM : NN_OK;
    int *order = nn_malloc((size_t)k * sizeof *order, "attack targets", err);
    if (!order) rc = NN_ENOMEM;
    uint64_t rng = o->seed ^ 0x6A09E667F3BCC909ull;
    memcpy(x_adv, x0, n * sizeof *x_adv);
    if (!rc && !(rc = forward_run(m, x0, 1, z, err))) {
        /* rivals of c by decreasing logit at x0 (insertion sort: k is small) */
        int cnt = 0;
        for (int j = 0; j < k; j++) {
            if (j == c) continue;
            int i = cnt++;
            while (i > 0 && z[order[i - 1]] < z[j]) order[i] = order[i - 1], i--;
            order[i] = j;
        }
    }
    for (int run = 0; !rc && run < o->restarts && !res->success; run++) {
        if (run < k) {
            memcpy(x, x0, n * sizeof *x);
            project(o, x0, eps, x, n);
        } else {
            random_start(o, x0, eps, &rng, x, n);
        }
        if ((rc = forward_run(m, x, 1, z, err))) break;
        /* Run 0 chases the strongest rival; run r > 0 targets the r-th strongest
         * rival at x0 (cyclically): the class that is easiest to reach need not
         * be the one with the largest logit. */
        int fixed_target = t >= 0 ? t : run == 0 ? -1 : order[(run - 1) % (k - 1)];
        for (int step = 0; step <= o->steps; step++) {
            double margin;
            int j = rival(z, k, c, t, &margin);
            if (fixed_target >= 0) j = fixed_target;
            if (margin < res->margin) {
                res->margin = margin;
                memcpy(x_adv, x, n * sizeof *x);
                memcpy(logits, z, (size_t)k * sizeof *z);
            }
            if (t >= 0 ? z[t] >= z[c] : forward_argmax(z, (size_t)k) != c) {
                /* Independent check of the candidate by a plain forward pass. */
                if ((rc = forward_run(m, x, 1, zc, err))) break;
                if (t >= 0 ? zc[t] >= zc[c] : forward_argmax(zc, (size_t)k) != c) {
                    res->success = 1;
                    memcpy(x_adv, x, n * sizeof *x);
                    memcpy(logits, zc, (size_t)k * sizeof *zc);
                    rival(zc, k, c, t, &res->margin);
                    break;
                }
            }
            if (step == o->steps || eps == 0.0) break;
            w[j] = 1.0, w[c] = -1.0;
            rc = forward_vjp(m, x, w, z, g, err);
            w[j] = 0.0, w[c] = 0.0;
            if (rc) break;
            res->steps++;
            if (o->norm == NORM_INF) {
                for (size_t i = 0; i < n; i++) x[i] += g[i] > 0 ? alpha : g[i] < 0 ? -alpha : 0.0;
            } else {
                double s = 0.0;
                for (size_t i = 0; i < n; i++) s += g[i] * g[i];
                if (!(s > 0) || !isfinite(s)) break;   /* flat or broken gradient: nothing to follow */
                s = alpha / sqrt(s);
                for (size_t i = 0; i < n; i++) x[i] += s * g[i];
            }
            project(o, x0, eps, x, n);
            if ((rc = forward_run(m, x, 1, z, err))) break;
        }
    }
    if (!rc) {
        res->runs = 1;
        res->dist = attack_distance(o->norm, x_adv, x0, n);
        res->adv_class = t >= 0 && res->success ? t : forward_argmax(logits, (size_t)k);
        if (!res->success && isinf(res->margin)) rc = nn_fail(err, NN_ENUMERIC, "attack: no finite logits");
    }
    free(x), free(g), free(w), free(z), free(zc), free(order);
    return rc;
}

typedef struct {
    const nn_model *m;
    const attack_options *o;
    const double *x0;
    int c;
    size_t n, k;
    double *x, *z;           /* scratch for one run */
    double *best_x, *best_z; /* counterexample at the smallest successful eps */
    attack_result best;
    long steps;
    int runs;
} search_ctx;

static int attack_oracle(void *ctx, double eps, double *margin, nn_error *err)
{
    search_ctx *s = ctx;
    attack_result r;
    int rc = attack_pgd(s->m, s->o, s->x0, s->c, eps, s->x, s->z, &r, err);
    if (rc) return rc;
    s->steps += r.steps;
    s->runs++;
    if (r.success) {
        if (!s->best.success || eps < s->best.eps) {
            s->best = r;
            memcpy(s->best_x, s->x, s->n * sizeof *s->x);
            memcpy(s->best_z, s->z, s->k * sizeof *s->z);
        }
        *margin = fmin(r.margin, 0.0);
    } else {
        /* "Certified" for the search means the attack failed: keep it positive. */
        *margin = r.margin > 0 ? r.margin : DBL_MIN;
    }
    return NN_OK;
}

int attack_pgd_search(const nn_model *m, const attack_options *o, const cert_search_options *so, const double *x0,
                      int c, double *x_adv, double *logits, attack_result *res, nn_error *err)
{
    memset(res, 0, sizeof *res);
    if (so->kind != SEARCH_BISECT) return nn_fail(err, NN_EARG, "attack search: only the bisect search applies");
    search_ctx s = {.m = m, .o = o, .x0 = x0, .c = c, .n = model_input_size(m), .k = model_output_size(m)};
    s.x = nn_malloc(s.n * sizeof *s.x, "attack point", err);
    s.z = nn_malloc(s.k * sizeof *s.z, "attack logits", err);
    s.best_x = x_adv, s.best_z = logits;
    int rc = (!s.x || !s.z) ? NN_ENOMEM : NN_OK;
    cert_search_result sr;
    if (!rc) rc = cert_search(so, attack_oracle, &s, &sr, err);
    if (!rc) {
        if (s.best.success) {
            *res = s.best;      /* its eps is the smallest successful eps evaluated (= sr.hi) */
        } else {
            res->eps = INFINITY;
            res->margin = NAN;
            res->adv_class = -1;
            res->dist = NAN;
        }
        res->lo = sr.lo;
        res->runs = s.runs;
        res->steps = s.steps;
    }
    free(s.x);
    free(s.z);
    return rc;
}
