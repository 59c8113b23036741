/* Concretization: bounds of a linear function a.x + c over the input region or
 * over a box, moved outward by the rounding allowance (spec bounds.md, "Backward
 * pass" step 3). Shared by the backward kernel (bound_backward.c) and forward
 * linear bound propagation (bound_lbp.c).
 *
 * On the region B_p(x0, eps) (q dual of p):
 *   L = a x0 - eps ||a||_q + c,   U = a x0 + eps ||a||_q + c.
 * With clipping to [clip_lo, clip_hi]: for l_inf the region is the box
 * [max(x0-eps, lo), min(x0+eps, hi)] and is bounded exactly as a box; for l1/l2
 * both the ball bound and the bounding-box bound are valid, the better is kept.
 *
 * Rounding. Every number here is a sum of products computed in double. Each
 * concretized bound is moved outward by BOUND_REL_ALLOW (1e-10) times the sum of
 * the absolute values of its terms: |a||x0| + eps||a||_q (or sum |a_j|max(|lo_j|,
 * |hi_j|) for a box) plus s, which the caller makes cover every term that went
 * into c on the way (the backward kernel: every |coefficient * constant| folded
 * into c; LBP: a bound on |A||x| + |c| over the region, propagated with |W|). A
 * dot product of n terms errs by at most n*u*sum|terms| (u = 1.1e-16), so the
 * allowance covers n*depth up to ~1e6 (and the rounding of the forward pass the
 * samples are checked with); DBL_MIN more covers products that underflow, whose
 * error is absolute. Errors inside a itself are the caller's: the
 * backward kernel carries a budget for them (bound_backward.c, part 2).
 *
 * Sums are plain sequential sums: translated copies of a row (conv rows over a
 * blank background) get the same bits, so ties between them (Ti-Lin's choices)
 * stay ties. */
#include "bound_internal.h"

#include <float.h>
#include <math.h>

/* One row on the region's ball: a.x0 -/+ eps||a||_q + c, widened. nrm may be a
 * cached norm (< 0: computed here, in the same pass for l_inf and l2). */
static void ball_bound(const bound_state *st, const double *a, size_t n, double c, double s, double nrm,
                       double *lo, double *hi)
{
    const double *x0 = ((const bound_work *)st->work)->x0;
    double dot = 0, mag = 0, acc = 0;
    norm_type p = st->region.norm;
    if (nrm >= 0 || p == NORM_1) {
        for (size_t j = 0; j < n; j++) {
            double t = a[j] * x0[j];
            dot += t;
            mag += fabs(t);
        }
        if (nrm < 0) nrm = bound_dual_norm(a, n, p);
    } else if (p == NORM_INF) {
        for (size_t j = 0; j < n; j++) {
            double t = a[j] * x0[j];
            dot += t;
            mag += fabs(t);
            acc += fabs(a[j]);
        }
        nrm = acc;
    } else {
        for (size_t j = 0; j < n; j++) {
            double t = a[j] * x0[j];
            dot += t;
            mag += fabs(t);
            acc += a[j] * a[j];
        }
        nrm = sqrt(acc);
    }
    double e = st->region.eps * nrm;
    double allow = BOUND_REL_ALLOW * (mag + e + s) + DBL_MIN;
    if (lo) *lo = dot - e + c - allow;
    if (hi) *hi = dot + e + c + allow;
}

double bound_dual_norm(const double *a, size_t n, norm_type p)
{
    double acc = 0;
    switch (p) {
    case NORM_INF:
        for (size_t j = 0; j < n; j++) acc += fabs(a[j]);
        return acc;
    case NORM_1:
        for (size_t j = 0; j < n; j++) acc = fabs(a[j]) > acc ? fabs(a[j]) : acc;
        return acc;
    default:
        for (size_t j = 0; j < n; j++) acc += a[j] * a[j];
        return sqrt(acc);
    }
}

/* One of xp, xn is 0, so xp*b + xn*c is the selected product exactly. */
void bound_concretize_box(const double *a, size_t n, const double *bl, const double *bh, double c, double s,
                          double *lo, double *hi)
{
    double vl = 0, vh = 0, mag = 0;
    for (size_t j = 0; j < n; j++) {
        double x = a[j], xp = bound_pos_part(x), xn = x - xp;
        double tl = xp * bl[j] + xn * bh[j];
        double th = xp * bh[j] + xn * bl[j];
        vl += tl;
        vh += th;
        mag += fmax(fabs(tl), fabs(th));
    }
    double allow = BOUND_REL_ALLOW * (mag + s) + DBL_MIN;
    if (lo) *lo = vl + c - allow;
    if (hi) *hi = vh + c + allow;
}

void bound_concretize_region(const bound_state *st, const double *a, double c, double s, double nrm, double *lo,
                             double *hi)
{
    const bound_work *w = st->work;
    size_t n = w->n_in;
    if (!st->region.clip) {
        ball_bound(st, a, n, c, s, nrm, lo, hi);
    } else if (st->region.norm == NORM_INF) {
        bound_concretize_box(a, n, w->box_lo, w->box_hi, c, s, lo, hi);
    } else {
        double bl, bh, xl, xh;
        ball_bound(st, a, n, c, s, nrm, &bl, &bh);
        bound_concretize_box(a, n, w->box_lo, w->box_hi, c, s, &xl, &xh);
        if (lo) *lo = bl > xl ? bl : xl;
        if (hi) *hi = bh < xh ? bh : xh;
    }
}
