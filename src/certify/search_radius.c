/* Certified-radius searches over eps (spec bounds.md, "Certified radius").
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
 * hi <= lo (1 + rtol). With use_margin the margins steer the steps: margin(eps)
 * is close to linear near the root, so a secant estimate of the root, probed a
 * third of the tolerance beyond it, closes the bracket from both sides in about
 * two evaluations once the estimate is good. Two secant steps in a row that fail
 * to halve the bracket's log-width force a bisection step, so the worst case
 * stays within three times plain bisection (and max_evals caps it). */
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

typedef struct {
    cert_oracle_fn f;
    void *ctx;
    int evals;
    nn_error *err;
    double e[2], m[2];  /* the two latest evaluations, [1] the newest */
} oracle_call;

static int ask(oracle_call *oc, double eps, double *margin)
{
    *margin = NAN;
    oc->evals++;
    int rc = oc->f(oc->ctx, eps, margin, oc->err);
    oc->e[0] = oc->e[1], oc->m[0] = oc->m[1];
    oc->e[1] = eps, oc->m[1] = *margin;
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

static int bisect(const cert_search_options *o, oracle_call *oc, cert_search_result *res)
{
    const double rtol = o->rtol;
    const double eps_min = o->eps_min > 0 ? o->eps_min : 1e-12;
    const double eps_max = o->eps_max > eps_min ? o->eps_max : eps_min;
    const int budget = o->max_evals > 0 ? o->max_evals : 60;
    double lo = 0.0, hi = INFINITY, mlo = NAN, mhi = NAN, m;
    /* Point below lo used for margin extrapolation while expanding: (0, margin0) first. */
    double prev_e = 0.0, prev_m = o->margin0;
    int rc;

    double e = clampd(o->guess > 0 ? o->guess : eps_min, eps_min, eps_max);
    if ((rc = ask(oc, e, &m))) return rc;
    if (m > 0) lo = e, mlo = m;
    else hi = e, mhi = m;

    /* Expand: certified so far, look for an uncertified eps above. */
    double ratio = 2.0;
    while (!isfinite(hi) && lo < eps_max && oc->evals < budget) {
        double next = lo * ratio;
        if (o->use_margin) {
            double r = secant_root(prev_e, prev_m, lo, mlo);
            if (isfinite(r) && r > lo) next = clampd(r, lo * (1.0 + rtol), lo * ratio * ratio);
        }
        next = fmin(next, eps_max);
        if ((rc = ask(oc, next, &m))) return rc;
        if (m > 0) prev_e = lo, prev_m = mlo, lo = next, mlo = m;
        else hi = next, mhi = m;
        ratio *= ratio;
    }
    /* Shrink: nothing certified yet, look for a certified eps below. */
    /* The chord from (0, margin0) is trusted once; after it misses, the step is
     * at least geometric with a ratio that squares each time. */
    ratio = 2.0;
    for (int step = 0; lo == 0.0 && hi > eps_min && oc->evals < budget; step++) {
        double next = hi / ratio;
        if (o->use_margin && o->margin0 > 0) {
            double r = secant_root(0.0, o->margin0, hi, mhi);
            if (isfinite(r) && r > 0 && r < hi)
                next = step == 0 ? clampd(r, hi / 4.0, hi / (1.0 + rtol)) : fmin(r, hi / (2.0 * ratio));
        }
        next = fmax(next, eps_min);
        if ((rc = ask(oc, next, &m))) return rc;
        if (m > 0) lo = next, mlo = m;
        else hi = next, mhi = m;
        ratio *= ratio;
    }

    /* Narrow the bracket [lo, hi] in log space. The root estimate is the secant
     * through the two latest evaluations (superlinear near a smooth root), else
     * the chord of the bracket ends. The probe sits rtol/3 beyond the estimate,
     * away from the nearer end: if the estimate is good, that end and the probe
     * then straddle the root within tolerance. */
    int force_bisect = 0, slow = 0;   /* slow: secant steps in a row that did not halve */
    const double shift = 1.0 + rtol / 3.0;
    while (lo > 0 && isfinite(hi) && hi > lo * (1.0 + rtol) && oc->evals < budget) {
        double width = log(hi / lo);
        double next = sqrt(lo) * sqrt(hi);
        int used_secant = 0;
        if (o->use_margin && !force_bisect) {
            double r = oc->evals >= 2 ? secant_root(oc->e[0], oc->m[0], oc->e[1], oc->m[1]) : NAN;
            if (!isfinite(r)) r = secant_root(lo, mlo, hi, mhi);
            if (isfinite(r)) {
                r = clampd(r, lo, hi);
                double p = log(r / lo) > log(hi / r) ? r / shift : r * shift;
                double in_lo = lo * shift, in_hi = hi / shift;
                if (in_lo < in_hi) {
                    next = clampd(p, in_lo, in_hi);
                    used_secant = 1;
                }
            }
        }
        if ((rc = ask(oc, next, &m))) return rc;
        if (m > 0) lo = next, mlo = m;
        else hi = next, mhi = m;
        slow = used_secant && log(hi / lo) > 0.5 * width ? slow + 1 : 0;
        force_bisect = slow >= 2;
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
    oracle_call oc = {oracle, ctx, 0, err, {NAN, NAN}, {NAN, NAN}};
    int rc = o->kind == SEARCH_CROWN15 ? crown15(o, &oc, res) : bisect(o, &oc, res);
    res->evals = oc.evals;
    return rc;
}
