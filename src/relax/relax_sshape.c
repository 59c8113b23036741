/* Lines of S-shaped activations: tanh, sigmoid, arctan (doc/bounds.md "Relaxations",
 * doc/frown.md "Search space"). sigma is convex on z <= 0 and concave on z >= 0.
 *
 *   l >= 0:    upper tangent at d in [l, u] (CROWN: midpoint), lower chord.
 *   u <= 0:    upper chord, lower tangent at d in [l, u] (midpoint).
 *   l < 0 < u: upper: chord if the tangent at u passes below (l, sigma(l)); else the
 *              tangent at d_U* in [0, u] through (l, sigma(l)), found by bisection and
 *              taken at the bracket end whose tangent passes above that point.
 *              Lower: the mirror image on [l, 0] (d_L* at the lower bracket end).
 *   u - l tiny (incl. l == u): constant lines sigma(l), sigma(u).
 *
 * How each intercept is made valid in floating point. For a line of slope s, the
 * tightest valid upper intercept is max over [l, u] of sigma(z) - s*z. Where the
 * line is used, that maximum is attained at known points: at l or u for chords
 * (sigma - s*z is convex on a convex piece, and on the unstable chord the slope is
 * min(chord, sigma'(u)) so sigma - s*z increases on [0, u]); at l, d or u for a
 * tangent at d >= 0 (concave on [0, u], convex on [l, 0] with sigma(0) below the
 * tangent). So the intercept is the maximum of sigma(z) - s*z over those points,
 * which equals sigma(d) - s*d in exact arithmetic and stays valid whatever rounding
 * did to s or to the bisection. Mirror for lower lines (minimum).
 * Rounding control on top: relax_margin (a few ulps of |t|, |s|*max|z|, max|sigma|)
 * plus SLOPE_ERR*eps*(u - l): sigma' is computed as 1 - tanh^2 or s(1 - s), whose
 * error is absolute (a few eps, |sigma'| <= 1), not relative, and a slope error ds
 * moves a tangent by at most |ds|*(u - l) on the interval. */
#include "relax_internal.h"
#include "activation.h"

#define SSHAPE_TINY 1e-12   /* relative width below which lines are constants */
#define SLOPE_ERR 8.0       /* bound on |computed sigma' - sigma'| in units of eps */
#define BISECT_MAX 200
#define BISECT_RTOL 1e-13  /* bracket width relative to d: looseness ~ |sigma''|*(d-l)*width */

typedef relax_sbox sbox;

static void sbox_make(layer_type type, double l, double u, sbox *b)
{
    b->type = type;
    b->l = l;
    b->u = u;
    b->fl = sshape_value(type, l);
    b->fu = sshape_value(type, u);
    b->zmax = fmax(fabs(l), fabs(u));
    b->fmax = fmax(fabs(b->fl), fabs(b->fu));
    b->w = u - l;
}

static int sbox_tiny(const sbox *b) { return b->w <= SSHAPE_TINY * (1.0 + b->zmax); }

static double allowance(double t, double s, const sbox *b)
{
    return relax_margin(t, s, b->zmax, b->fmax) + SLOPE_ERR * DBL_EPSILON * b->w;
}

/* Upper line of slope s whose intercept covers the endpoints and t0 (a tangent
 * point's sigma(d) - s*d, or -INFINITY). */
static void upper_line(double s, double t0, const sbox *b, double *slope, double *icpt)
{
    double t = fmax(t0, fmax(b->fl - s * b->l, b->fu - s * b->u));
    *slope = s;
    *icpt = t + allowance(t, s, b);
}

static void lower_line(double s, double t0, const sbox *b, double *slope, double *icpt)
{
    double t = fmin(t0, fmin(b->fl - s * b->l, b->fu - s * b->u));
    *slope = s;
    *icpt = t - allowance(t, s, b);
}

/* sigma and sigma' at z with one transcendental call (the bisection's inner loop);
 * the activation table's formulas, as sshape_deriv uses them: bit-identical. */
static inline void value_and_deriv(layer_type type, double z, double *f, double *df)
{
    const act_def *a = act_def_of(type);
    *f = a->sshape(z);
    *df = a->sshape_deriv(z, *f);
}

static void tangent(int upper, double d, const sbox *b, double *slope, double *icpt)
{
    double f, s;
    value_and_deriv(b->type, d, &f, &s);
    double t0 = f - s * d;
    if (upper) upper_line(s, t0, b, slope, icpt);
    else lower_line(s, t0, b, slope, icpt);
}

static double chord_slope(const sbox *b) { return (b->fu - b->fl) / b->w; }

static void constant_lines(const sbox *b, double *ls, double *lt, double *us, double *ut)
{
    *ls = *us = 0.0;
    *lt = b->fl - relax_margin(b->fl, 0.0, 0.0, b->fmax);
    *ut = b->fu + relax_margin(b->fu, 0.0, 0.0, b->fmax);
}

/* l < 0 < u: is the upper chord valid (the tangent at u passes below (l, sigma(l)))? */
static int upper_chord_ok(const sbox *b, double *du)
{
    *du = sshape_deriv(b->type, b->u);
    return b->fu + *du * (b->l - b->u) < b->fl;
}

static int lower_chord_ok(const sbox *b, double *dl)
{
    *dl = sshape_deriv(b->type, b->l);
    return b->fl + *dl * (b->u - b->l) > b->fu;
}

/* Smallest bracket end d in [0, u] whose tangent passes on or above (l, sigma(l)).
 * f(d) = tangent_d(l) - sigma(l) increases on [0, u] (f' = sigma''(d)(l - d) > 0). */
static double bisect_upper(const sbox *b)
{
    double lo = 0.0, hi = b->u;
    for (int it = 0; it < BISECT_MAX; it++) {
        double mid = lo + 0.5 * (hi - lo);
        if (!(mid > lo && mid < hi) || hi - lo <= BISECT_RTOL * hi) break;
        double sv, dv;
        value_and_deriv(b->type, mid, &sv, &dv);
        double f = sv + dv * (b->l - mid) - b->fl;
        if (f >= 0) hi = mid;
        else lo = mid;
    }
    return hi;
}

/* Largest bracket end d in [l, 0] whose tangent passes on or below (u, sigma(u)). */
static double bisect_lower(const sbox *b)
{
    double lo = b->l, hi = 0.0;
    for (int it = 0; it < BISECT_MAX; it++) {
        double mid = lo + 0.5 * (hi - lo);
        if (!(mid > lo && mid < hi) || hi - lo <= BISECT_RTOL * -lo) break;
        double sv, dv;
        value_and_deriv(b->type, mid, &sv, &dv);
        double g = sv + dv * (b->u - mid) - b->fu;
        if (g <= 0) lo = mid;
        else hi = mid;
    }
    return lo;
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

void relax_sshape_line_at(layer_type type, int upper, double l, double u, double p, double *slope, double *icpt)
{
    sbox b;
    sbox_make(type, l, u, &b);
    if (sbox_tiny(&b)) {
        double ls, lt, us, ut;
        constant_lines(&b, &ls, &lt, &us, &ut);
        *slope = upper ? us : ls;
        *icpt = upper ? ut : lt;
        return;
    }
    if (l >= 0) {
        if (upper) tangent(1, clamp(p, l, u), &b, slope, icpt);
        else lower_line(chord_slope(&b), INFINITY, &b, slope, icpt);
    } else if (u <= 0) {
        if (upper) upper_line(chord_slope(&b), -INFINITY, &b, slope, icpt);
        else tangent(0, clamp(p, l, u), &b, slope, icpt);
    } else if (upper) {
        double du;
        if (upper_chord_ok(&b, &du)) upper_line(fmin(chord_slope(&b), du), -INFINITY, &b, slope, icpt);
        else tangent(1, clamp(p, 0.0, u), &b, slope, icpt);
    } else {
        double dl;
        if (lower_chord_ok(&b, &dl)) lower_line(fmin(chord_slope(&b), dl), INFINITY, &b, slope, icpt);
        else tangent(0, clamp(p, l, 0.0), &b, slope, icpt);
    }
}

void relax_sshape_box(layer_type type, double l, double u, relax_sbox *b) { sbox_make(type, l, u, b); }

void relax_sshape_prepare(relax_free_line *f) { sbox_make(f->layer->type, f->l, f->u, &f->sbox); }

/* A free S-shaped line is a tangent at d = p: icpt = sigma(d) - d sigma'(d), so
 * d icpt / dp = -p sigma''(p). */
void relax_sshape_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                               double *dicpt)
{
    relax_sshape_tangent_at(&f->sbox, f->upper, p, slope, icpt, dslope);
    *dicpt = -p * *dslope;
}

void relax_sshape_tangent_at(const relax_sbox *b, int upper, double d, double *slope, double *icpt, double *dslope)
{
    if (b->l >= 0 || b->u <= 0) d = clamp(d, b->l, b->u);
    else d = upper ? clamp(d, 0.0, b->u) : clamp(d, b->l, 0.0);
    double f, s;
    value_and_deriv(b->type, d, &f, &s); /* as tangent() does */
    if (upper) upper_line(s, f - s * d, b, slope, icpt);
    else lower_line(s, f - s * d, b, slope, icpt);
    *dslope = act_def_of(b->type)->sshape_deriv2(d, f, s); /* sigma'' from sigma, sigma' */
}

void relax_sshape(layer_type type, const double *l, const double *u, size_t n, relax_lines *out)
{
    for (size_t i = 0; i < n; i++) {
        sbox b;
        double s, t;
        sbox_make(type, l[i], u[i], &b);
        if (sbox_tiny(&b)) {
            double ls, lt, us, ut;
            constant_lines(&b, &ls, &lt, &us, &ut);
            relax_set_lower(out, i, ls, lt, 0.0, 0.0, 0.0);
            relax_set_upper(out, i, us, ut, 0.0, 0.0, 0.0);
            continue;
        }
        double mid = b.l + 0.5 * b.w;
        if (b.l >= 0) {
            tangent(1, mid, &b, &s, &t);
            relax_set_upper(out, i, s, t, mid, b.l, b.u);
            lower_line(chord_slope(&b), INFINITY, &b, &s, &t);
            relax_set_lower(out, i, s, t, 0.0, 0.0, 0.0);
            continue;
        }
        if (b.u <= 0) {
            upper_line(chord_slope(&b), -INFINITY, &b, &s, &t);
            relax_set_upper(out, i, s, t, 0.0, 0.0, 0.0);
            tangent(0, mid, &b, &s, &t);
            relax_set_lower(out, i, s, t, mid, b.l, b.u);
            continue;
        }
        double du, dl;
        if (upper_chord_ok(&b, &du)) {
            upper_line(fmin(chord_slope(&b), du), -INFINITY, &b, &s, &t);
            relax_set_upper(out, i, s, t, 0.0, 0.0, 0.0);
        } else {
            double d = bisect_upper(&b);
            tangent(1, d, &b, &s, &t);
            relax_set_upper(out, i, s, t, d, d, b.u);
        }
        if (lower_chord_ok(&b, &dl)) {
            lower_line(fmin(chord_slope(&b), dl), INFINITY, &b, &s, &t);
            relax_set_lower(out, i, s, t, 0.0, 0.0, 0.0);
        } else {
            double d = bisect_lower(&b);
            tangent(0, d, &b, &s, &t);
            relax_set_lower(out, i, s, t, d, b.l, d);
        }
    }
}
