/* Certified-radius searches over eps (doc/radius.md, "Certified radius").
 *
 * Both searches only ever report an eps at which the oracle itself certified
 * (margin > 0); the reported radius is never interpolated, and the bracket
 * [lo, hi] always holds a certified lo and an uncertified hi (hi = inf when no
 * uncertified eps was evaluated). Margins need not be monotone in eps (adaptive
 * lines), so the bracket is a bracket of evaluations, not a proof about eps in
 * between.
 *
 * crown15 reproduces the reference search of the CROWN/Fast-Lin code: start at
 * eps0, x10 while certified and no failure seen, /10 while uncertified and no
 * success seen, then bisect (arithmetic mean); stop after 15 evaluations, when a
 * certified margin is below 0.01, or when UB - LB <= 1e-5; report LB.
 *
 * bisect is the default: a warm start (the caller's guess), geometric
 * bracketing whose ratio squares at each step, then bisection in log space until
 * hi <= lo (1 + rtol). With use_margin the margins steer the steps. Bound
 * margins are concave in eps with growing curvature (margin0 - a eps - b eps^2
 * fits them locally; a chord through two evaluations lands short of the root on
 * the certified side, and a chord from (0, margin0) overshoots), so the root is
 * estimated from a quadratic through the three evaluations nearest to it
 * (margin0 at eps = 0 counts as one), or, with only margin0 and one evaluation,
 * from margin0 - b eps^2. The probe sits a third of the tolerance beyond the
 * estimate, away from the nearer end of the bracket: if the estimate is good,
 * that end and the probe then straddle the root within tolerance; a probe that
 * stays on the near side anyway is pushed twice as far next time. Three model
 * steps in a row that fail to halve the bracket's log-width force a bisection
 * step, so the worst case stays within four times plain bisection (and
 * max_evals caps it). */
#include "certify.h"

#include <math.h>
#include <string.h>

double cert_default_eps0(norm_type norm, size_t input_size)
{
    switch (norm) {
    case NORM_INF: return input_size == 3 * 32 * 32 ? 0.002 : 0.01;
    case NORM_2: return 0.2;
    case NORM_1: return 0.3;
    }
    return 0.01;
}

double cert_default_eps_max(norm_type norm, size_t input_size)
{
    /* Any two points of [0,1]^n are this far apart: a larger ball adds nothing
     * that lies inside the valid input range. */
    double n = input_size > 0 ? (double)input_size : 1.0;
    switch (norm) {
    case NORM_INF: return 1.0;
    case NORM_2: return sqrt(n);
    case NORM_1: return n;
    }
    return 1.0;
}

void cert_search_options_default(cert_search_options *o, norm_type norm, size_t input_size)
{
    memset(o, 0, sizeof *o);
    o->kind = SEARCH_BISECT;
    o->rtol = 1e-3;
    o->guess = 0.0;
    o->eps_max = cert_default_eps_max(norm, input_size);
    o->eps_min = 1e-9 * o->eps_max;
    o->max_evals = 60;
    o->use_margin = 1;
    o->margin0 = NAN;
    o->guess = cert_default_eps0(norm, input_size);
}

const char *cert_search_kind_name(cert_search_kind k) { return k == SEARCH_CROWN15 ? "crown15" : "bisect"; }

int cert_search_kind_parse(const char *name)
{
    if (!strcmp(name, "bisect")) return SEARCH_BISECT;
    if (!strcmp(name, "crown15")) return SEARCH_CROWN15;
    return -1;
}

#define HISTORY 64

typedef struct {
    cert_oracle_fn f;
    void *ctx;
    int evals;
    nn_error *err;
    int n;                       /* points in the history */
    double lo, m_lo, hi;         /* largest certified eps (and its margin), smallest not certified */
    double e[HISTORY], m[HISTORY]; /* evaluations with a finite margin, oldest first */
} oracle_call;

static int ask(oracle_call *oc, double eps, double *margin)
{
    *margin = NAN;
    oc->evals++;
    int rc = oc->f(oc->ctx, eps, margin, oc->err);
    if (!rc && *margin > 0 && eps > oc->lo) oc->lo = eps, oc->m_lo = *margin;
    if (!rc && !(*margin > 0) && eps < oc->hi) oc->hi = eps;
    if (isfinite(*margin)) {
        if (oc->n == HISTORY) {
            memmove(oc->e, oc->e + 1, (HISTORY - 1) * sizeof *oc->e);
            memmove(oc->m, oc->m + 1, (HISTORY - 1) * sizeof *oc->m);
            oc->n--;
        }
        oc->e[oc->n] = eps;
        oc->m[oc->n] = *margin;
        oc->n++;
    }
    return rc;
}

static int crown15(const cert_search_options *o, oracle_call *oc, cert_search_result *res)
{
    double eps = o->guess, lb = 0.0, ub = INFINITY, m_lb = NAN;
    int is_pos = 1, is_neg = 1;
    while (oc->evals < 15) {
        double m;
        int rc = ask(oc, eps, &m);
        if (rc) return rc;
        if (m > 0) {
            lb = eps;
            m_lb = m;
            if (m < 0.01) break;
            eps = is_pos ? eps * 10.0 : 0.5 * (lb + ub);
            is_neg = 0;
        } else {
            ub = eps;
            eps = is_neg ? eps / 10.0 : 0.5 * (lb + ub);
            is_pos = 0;
        }
        if (ub - lb <= 1e-5) break;
    }
    res->radius = res->lo = lb;
    res->hi = ub;
    res->margin = m_lb;
    return NN_OK;
}

/* Root of the line through (a, fa), (b, fb), or NAN when it is not defined. */
static double secant_root(double a, double fa, double b, double fb)
{
    if (!isfinite(fa) || !isfinite(fb) || fa == fb) return NAN;
    double r = a + fa * (b - a) / (fa - fb);
    return isfinite(r) ? r : NAN;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* The quadratic through three points (Newton form). */
typedef struct {
    double x0, x1, y0, d1, d2;
} quad;

static int quad_fit(const double x[3], const double y[3], quad *q)
{
    if (x[0] == x[1] || x[1] == x[2] || x[0] == x[2]) return 0;
    double d01 = (y[1] - y[0]) / (x[1] - x[0]), d12 = (y[2] - y[1]) / (x[2] - x[1]);
    *q = (quad){x[0], x[1], y[0], d01, (d12 - d01) / (x[2] - x[0])};
    return isfinite(q->d1) && isfinite(q->d2);
}

static double quad_at(const quad *q, double x) { return q->y0 + (x - q->x0) * (q->d1 + (x - q->x1) * q->d2); }

/* The first root of q in [a, b] from a, by bisection; NAN when q keeps its sign
 * there. A parabola can cross zero and come back before b (margins fitted with
 * positive curvature): its vertex then ends the interval, or a step to b would
 * jump over the root. */
static double quad_root(const quad *q, double a, double b)
{
    double fa = quad_at(q, a), fb = quad_at(q, b);
    if (!isfinite(fa) || !isfinite(fb)) return NAN;
    if (!(fa > 0) == !(fb > 0) && q->d2 != 0) {
        double v = 0.5 * (q->x0 + q->x1) - q->d1 / (2.0 * q->d2), fv = quad_at(q, v);
        if (v > a && v < b && isfinite(fv)) b = v, fb = fv;
    }
    if (!(fa > 0) == !(fb > 0)) return NAN;
    for (int k = 0; k < 80 && b - a > 1e-15 * b; k++) {
        double c = 0.5 * (a + b), fc = quad_at(q, c);
        if ((fc > 0) == (fa > 0)) a = c, fa = fc;
        else b = c;
    }
    return 0.5 * (a + b);
}

/* The model's root in [a, b] from the three known points nearest to target:
 * the history plus (0, margin0) when that is known. Returns 1 with *root, 0 when
 * the quadratic keeps its sign on [a, b], -1 with fewer than three points. */
static int model_root(const oracle_call *oc, double margin0, double target, double a, double b, double *root)
{
    double x[3], y[3], dist[3];
    int k = 0;
    for (int i = -1; i < oc->n; i++) {
        double e = i < 0 ? 0.0 : oc->e[i], m = i < 0 ? margin0 : oc->m[i];
        if (i < 0 && !(margin0 > 0)) continue;
        double dd = fabs(e - target);
        int dup = 0;
        for (int j = 0; j < k; j++) dup |= x[j] == e;
        if (dup) continue;
        /* keep the three nearest, by insertion */
        int pos = k < 3 ? k++ : 3;
        while (pos > 0 && dist[pos - 1] > dd) {
            if (pos < 3) x[pos] = x[pos - 1], y[pos] = y[pos - 1], dist[pos] = dist[pos - 1];
            pos--;
        }
        if (pos < 3) x[pos] = e, y[pos] = m, dist[pos] = dd;
    }
    quad q;
    if (k < 3 || !quad_fit(x, y, &q)) return -1;
    *root = quad_root(&q, a, b);
    return isfinite(*root) ? 1 : 0;
}

/* With margin0 and one evaluation (e, m): root of margin0 - b eps^2 through it. */
static double origin_quad_root(double margin0, double e, double m)
{
    if (!(margin0 > 0) || !(margin0 > m) || !isfinite(m)) return NAN;
    double r = e * sqrt(margin0 / (margin0 - m));
    return isfinite(r) ? r : NAN;
}

static int bisect(const cert_search_options *o, oracle_call *oc, cert_search_result *res)
{
    const double rtol = o->rtol;
    const double eps_min = o->eps_min > 0 ? o->eps_min : 1e-12;
    const double eps_max = o->eps_max > eps_min ? o->eps_max : eps_min;
    const int budget = o->max_evals > 0 ? o->max_evals : 60;
    const double m0 = o->margin0;
    const double shift = 1.0 + rtol / 3.0;
    double lo = 0.0, hi = INFINITY, mlo = NAN, mhi = NAN, m;
    int rc;

    double e = clampd(o->guess > 0 ? o->guess : eps_min, eps_min, eps_max);
    if ((rc = ask(oc, e, &m))) return rc;
    if (m > 0) lo = e, mlo = m;
    else hi = e, mhi = m;

    /* Expand: certified so far, look for an uncertified eps above; the model's
     * root probed slightly above, within a step that at most squares each time. */
    double ratio = 2.0;
    while (!isfinite(hi) && lo < eps_max && oc->evals < budget) {
        double cap = fmin(lo * ratio * ratio, eps_max), next = fmin(lo * ratio, eps_max);
        if (o->use_margin) {
            double r = NAN;
            int got = model_root(oc, m0, lo, lo, cap, &r);
            /* no root of the three nearest points' parabola: near the radius the
             * margins are too close together (or mixed from two bounds, doc/lp.md
             * "Least work") to fit one, so margin0 - b eps^2 through lo decides;
             * only without margin0 does the step go to the cap */
            if (got <= 0) r = origin_quad_root(m0, lo, mlo);
            if (got == 0 && !isfinite(r)) next = cap;
            else if (isfinite(r) && r > lo) next = clampd(r * shift, lo * (1.0 + rtol), cap);
        }
        if ((rc = ask(oc, next, &m))) return rc;
        if (m > 0) lo = next, mlo = m;
        else hi = next, mhi = m;
        ratio *= ratio;
    }
    /* Shrink: nothing certified yet, look for a certified eps below; the model's
     * root probed slightly below, within a step that at most squares each time. */
    /* The model is trusted once; after it misses, the step is at least geometric
     * with a ratio that squares each time. */
    ratio = 2.0;
    for (int step = 0; lo == 0.0 && hi > eps_min && oc->evals < budget; step++) {
        double floor_ = fmax(hi / (ratio * ratio), eps_min), next = fmax(hi / ratio, eps_min);
        if (o->use_margin && m0 > 0) {
            double r = NAN;
            int got = model_root(oc, m0, hi, floor_, hi, &r);
            if (got < 0) r = origin_quad_root(m0, hi, mhi);
            if (got == 0) next = floor_;  /* the model stays uncertified down to the floor */
            else if (isfinite(r) && r < hi) next = clampd(r / shift, floor_, hi / (1.0 + rtol));
            if (step > 0) next = fmin(next, hi / ratio);
        }
        next = fmax(next, eps_min);
        if ((rc = ask(oc, next, &m))) return rc;
        if (m > 0) lo = next, mlo = m;
        else hi = next, mhi = m;
        ratio *= ratio;
    }

    /* Narrow the bracket [lo, hi] in log space: the model's root (else the chord
     * of the bracket ends), probed rtol/3 beyond the estimate, away from the
     * nearer end. */
    int force_bisect = 0, slow = 0;   /* slow: model steps in a row that did not halve */
    int push = 0;                     /* model probes in a row that stayed on the nearer end's side */
    while (lo > 0 && isfinite(hi) && hi > lo * (1.0 + rtol) && oc->evals < budget) {
        double width = log(hi / lo);
        double next = sqrt(lo) * sqrt(hi);
        int used_model = 0, toward_hi = 0;
        if (o->use_margin && !force_bisect) {
            double r = secant_root(lo, mlo, hi, mhi), q;
            if (model_root(oc, m0, isfinite(r) ? r : next, lo, hi, &q) > 0) r = q;
            if (isfinite(r)) {
                /* a probe that keeps landing on the near side (the model converging
                 * from one side) is pushed twice as far each time */
                double sh = pow(shift, (double)(1 << (push < 6 ? push : 6)));
                r = clampd(r, lo, hi);
                toward_hi = log(r / lo) <= log(hi / r);
                double p = toward_hi ? r * sh : r / sh;
                double in_lo = lo * shift, in_hi = hi / shift;
                if (in_lo < in_hi) {
                    next = clampd(p, in_lo, in_hi);
                    used_model = 1;
                }
            }
        }
        if ((rc = ask(oc, next, &m))) return rc;
        if (m > 0) lo = next, mlo = m;
        else hi = next, mhi = m;
        push = used_model && (m > 0) == toward_hi ? push + 1 : 0;
        slow = used_model && log(hi / lo) > 0.5 * width ? slow + 1 : 0;
        force_bisect = slow >= 3;
    }
    res->radius = res->lo = lo;
    res->hi = hi;
    res->margin = lo > 0 ? mlo : NAN;
    return NN_OK;
}

int cert_search(const cert_search_options *o, cert_oracle_fn oracle, void *ctx, cert_search_result *res,
                nn_error *err)
{
    memset(res, 0, sizeof *res);
    res->margin = NAN;
    res->hi = INFINITY;
    if (!(o->guess > 0) || !isfinite(o->guess))
        return nn_fail(err, NN_EARG, "search: initial eps must be finite and > 0, got %g", o->guess);
    if (o->kind == SEARCH_BISECT && !(o->rtol > 0 && o->rtol < 1))
        return nn_fail(err, NN_EARG, "search: rtol must be in (0, 1), got %g", o->rtol);
    oracle_call oc;
    memset(&oc, 0, sizeof oc);
    oc.f = oracle;
    oc.ctx = ctx;
    oc.err = err;
    oc.m_lo = NAN;
    oc.hi = INFINITY;
    int rc = o->kind == SEARCH_CROWN15 ? crown15(o, &oc, res) : bisect(o, &oc, res);
    res->evals = oc.evals;
    if (rc == NN_ETIMEOUT) {
        res->evals--;   /* the interrupted one gave no answer */
        /* the bracket of every answer so far: its lower end was certified */
        res->radius = res->lo = oc.lo;
        res->hi = oc.hi;
        res->margin = oc.lo > 0 ? oc.m_lo : NAN;
    }
    return rc;
}
