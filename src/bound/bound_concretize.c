/* Concretization: bounds of a linear function a.x + c over the input region or
 * over a box, moved outward by the rounding allowance (doc/bounds.md,
 * "Concretization"). Shared by the backward kernel (bound_backward.c) and forward
 * linear bound propagation (bound_lbp.c).
 *
 * On the region B_p(x0, eps) (q dual of p):
 *   L = a x0 - eps ||a||_q + c,   U = a x0 + eps ||a||_q + c.
 * With clipping to [clip_lo, clip_hi]: for l_inf the region is the box
 * [max(x0-eps, lo), min(x0+eps, hi)] and is bounded exactly as a box. For l1 the
 * region is the ball within that box, and the bound is exact: a.x falls fastest
 * by moving the coordinates of largest |a_j| against the sign of a_j, each as far
 * as its box allows (room_j), until the eps budget is spent -- a fractional
 * knapsack, solved with binade buckets and a sort of only the few coordinates
 * where the budget runs out (l1_side). For l2 likewise over the ball within the
 * box, through its Lagrange dual (l2_side): every multiplier gives a sound bound,
 * and the one found is exact.
 *
 * Rounding. Every number here is a sum of products computed in double. Each
 * concretized bound is moved outward by BOUND_REL_ALLOW (1e-10) times the sum of
 * the absolute values of its terms: |a||x0| + eps||a||_q (or sum |a_j b_j| for a
 * box, b_j the endpoint the side selects) plus s, which the caller makes cover every term that went
 * into c on the way (the backward kernel: every |coefficient * constant| folded
 * into c; LBP: a bound on |A||x| + |c| over the region, propagated with |W|). A
 * dot product of n terms errs by at most n*u*sum|terms| (u = 1.1e-16), so the
 * allowance covers n*depth up to ~1e6 (and the rounding of the forward pass the
 * samples are checked with); DBL_MIN more covers products that underflow, whose
 * error is absolute. Errors inside a itself are the caller's: the
 * backward kernel carries a budget for them (bound_backward.c, part 2).
 *
 * Sums are plain sequential sums (the box's and the unclipped ball's in lanes
 * where rows are never windowed, below): translated copies of a row (conv rows over a blank
 * background) get the same bits, so ties between them (Ti-Lin's choices) stay
 * ties. */
#include "bound_concretize.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ||a||_2 from acc = the plain sum of a_j^2. Squares that underflow (|a_j| below
 * ~1e-154: subnormal or 0) or overflow make sqrt(acc) wrong by far more than the
 * allowance (a row of 1e-170s has norm 0, an unsound bound); outside [2^-900,
 * 2^900] the sum is redone on a / max|a_j| (each lost square is then below
 * 2^-1022 of the largest, 1). */
static double l2_norm_of(const double *a, size_t n, double acc)
{
    if (acc >= 0x1p-900 && acc <= 0x1p900) return sqrt(acc);
    double mx = 0, s = 0;
    for (size_t j = 0; j < n; j++) mx = fabs(a[j]) > mx ? fabs(a[j]) : mx;
    if (!(mx > 0) || !isfinite(mx)) return mx;
    for (size_t j = 0; j < n; j++) {
        double v = a[j] / mx;
        s += v * v;
    }
    return mx * sqrt(s);
}

/* The box sums (bound_work.box_mode). Where rows can be windowed (a model with
 * convolutions or pools), sequential, so that a windowed row, given as its
 * window's entries with their indices, gets the whole row's bits and translated
 * copies of a row get the same bits. Elsewhere (rows are whole vectors) in
 * eight lanes: lane L takes the entries j = L mod 8, in ascending order, and the
 * lanes are added pairwise (lanes_total), in two AVX2 vectors where the CPU has it and as
 * scalars elsewhere, with the same bits. The one sequential chain had been the
 * largest cost of a ReLU-phase search on a 784-input MLP (a third of the
 * samples). Any order is sound: the allowance is far above the rounding of a
 * sum of n terms. Per side, the magnitude is that side's own terms' (each term
 * is one rounded product). */
#define BOX_LANES 8

/* One term of the lower (bp = bl, bn = bh) or upper (bp = bh, bn = bl) side: one
 * of xp, x - xp is 0, so it is the selected product, rounded once. */
static inline double box_term(double x, double bp, double bn)
{
    double xp = bound_pos_part(x);
    return xp * bp + (x - xp) * bn;
}

/* The lanes' sums over the first n8 entries (a multiple of 8), into v[0..8) and
 * g[0..8) (the magnitudes), lane L from entry L on every 8th. */
static void box_lanes(const double *a, size_t n8, const double *bp, const double *bn, double *v, double *g)
{
    for (int L = 0; L < BOX_LANES; L++) {
        double vs = 0, gs = 0; /* a local: a lane of the array would stay in memory */
        for (size_t j = (size_t)L; j < n8; j += BOX_LANES) {
            double t = box_term(a[j], bp[j], bn[j]);
            vs += t;
            gs += fabs(t);
        }
        v[L] = vs, g[L] = gs;
    }
}

/* box_lanes with the eight lanes in two AVX2 vectors: lane by lane the same
 * operations (no FMA: AVX2 alone does not have it, and ISO C mode keeps
 * -ffp-contract=off), so the same bits; two vectors keep two additions in
 * flight, where one waited on the latency of the last. */
BOUND_V4_TARGET static void box_lanes_v4(const double *a, size_t n8, const double *bp, const double *bn, double *v,
                                         double *g)
{
    bound_v4d v0 = {0, 0, 0, 0}, v1 = v0, g0 = v0, g1 = v0;
    for (size_t j = 0; j < n8; j += BOX_LANES) {
        bound_v4d x0, x1, p0, p1, q0, q1;
        memcpy(&x0, a + j, sizeof x0);
        memcpy(&x1, a + j + 4, sizeof x1);
        memcpy(&p0, bp + j, sizeof p0);
        memcpy(&p1, bp + j + 4, sizeof p1);
        memcpy(&q0, bn + j, sizeof q0);
        memcpy(&q1, bn + j + 4, sizeof q1);
        bound_v4d y0 = BOUND_V4_POS_PART(x0), y1 = BOUND_V4_POS_PART(x1);
        bound_v4d t0 = y0 * p0 + (x0 - y0) * q0, t1 = y1 * p1 + (x1 - y1) * q1;
        v0 += t0, v1 += t1;
        g0 += BOUND_V4_ABS(t0), g1 += BOUND_V4_ABS(t1);
    }
    memcpy(v, &v0, sizeof v0);
    memcpy(v + 4, &v1, sizeof v1);
    memcpy(g, &g0, sizeof g0);
    memcpy(g + 4, &g1, sizeof g1);
}

/* ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)) */
static double lanes_total(const double *l)
{
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* The sequential sum of one side's terms over entries q < k, the coefficient
 * a[q] at input idx[q] (idx NULL: at q), and its magnitude: a row given as its
 * nonzero entries gets the whole row's bits. */
static inline double box_sequential(const double *a, const size_t *idx, size_t k, const double *bp, const double *bn,
                                    double *mag)
{
    double v = 0, g = 0;
    for (size_t q = 0; q < k; q++) {
        size_t j = idx ? idx[q] : q;
        double t = box_term(a[q], bp[j], bn[j]);
        v += t;
        g += fabs(t);
    }
    *mag = g;
    return v;
}

/* v + c moved outward by the allowance of its terms' magnitude and s. */
static inline double box_bound(double v, double mag, double c, double s, int hi_side)
{
    double allow = BOUND_ALLOWANCE(mag + s);
    return hi_side ? v + c + allow : v + c - allow;
}

/* The unclipped ball's sums: a.x0, |a||x0| and, where the norm is not given,
 * the dual norm's sum (sum |a_j| for l_inf, sum a_j^2 for l2). In lanes as the
 * box's where box_mode says so, else sequential. Every path that needs a row's
 * dual norm (ball_bound, the first block's cache: bound_dual_norm) sums it in the
 * same lanes, so a cached norm and one computed with the row are the same bits
 * (a child's kept layers equal their recomputation, test_bab). */
enum { BALL_NO_NORM, BALL_ABS_SUM, BALL_SQUARE_SUM };

/* The ball's sums over entries j, j + step, ... below end, added to *dp (a.x0),
 * *gp (|a||x0|) and *qp (the norm's sum) in that order; x0 NULL: *qp alone.
 * Locals inside: an accumulator in an array would stay in memory. */
static inline void ball_run(const double *a, const double *x0, size_t j, size_t end, size_t step, int kind,
                            double *dp, double *gp, double *qp)
{
    double ds = *dp, gs = *gp, qs = *qp;
    for (; j < end; j += step) {
        if (x0) {
            double t = a[j] * x0[j];
            ds += t;
            gs += fabs(t);
        }
        if (kind == BALL_ABS_SUM) qs += fabs(a[j]);
        else if (kind == BALL_SQUARE_SUM) qs += a[j] * a[j];
    }
    *dp = ds, *gp = gs, *qp = qs;
}

/* The ball's lane sums over the first n8 entries (a multiple of 8) into d, g and
 * q, 8 each (lane L from entry L on every 8th). */
static void ball_lanes(const double *a, const double *x0, size_t n8, int kind, double *d, double *g, double *q)
{
    for (int L = 0; L < BOX_LANES; L++) {
        d[L] = g[L] = q[L] = 0;
        ball_run(a, x0, (size_t)L, n8, BOX_LANES, kind, &d[L], &g[L], &q[L]);
    }
}

/* ball_lanes in two AVX2 vectors (lane by lane the same operations, the same bits). */
BOUND_V4_TARGET static void ball_lanes_v4(const double *a, const double *x0, size_t n8, int kind, double *d,
                                          double *g, double *q)
{
    bound_v4d d0 = {0, 0, 0, 0}, d1 = d0, g0 = d0, g1 = d0, q0 = d0, q1 = d0;
    for (size_t j = 0; j < n8; j += BOX_LANES) {
        bound_v4d a0, a1;
        memcpy(&a0, a + j, sizeof a0);
        memcpy(&a1, a + j + 4, sizeof a1);
        if (x0) {
            bound_v4d x0v, x1v;
            memcpy(&x0v, x0 + j, sizeof x0v);
            memcpy(&x1v, x0 + j + 4, sizeof x1v);
            bound_v4d t0 = a0 * x0v, t1 = a1 * x1v;
            d0 += t0, d1 += t1;
            g0 += BOUND_V4_ABS(t0), g1 += BOUND_V4_ABS(t1);
        }
        if (kind == BALL_ABS_SUM) q0 += BOUND_V4_ABS(a0), q1 += BOUND_V4_ABS(a1);
        else if (kind == BALL_SQUARE_SUM) q0 += a0 * a0, q1 += a1 * a1;
    }
    memcpy(d, &d0, sizeof d0);
    memcpy(d + 4, &d1, sizeof d1);
    memcpy(g, &g0, sizeof g0);
    memcpy(g + 4, &g1, sizeof g1);
    memcpy(q, &q0, sizeof q0);
    memcpy(q + 4, &q1, sizeof q1);
}

/* The ball's sums over n entries by mode (x0 NULL: the norm's alone). */
static void ball_sums(const double *a, const double *x0, size_t n, int kind, int mode, double *dot, double *mag,
                      double *acc)
{
    *dot = *mag = *acc = 0;
    if (mode == BOUND_BOX_SEQUENTIAL) {
        ball_run(a, x0, 0, n, 1, kind, dot, mag, acc);
        return;
    }
    double d[BOX_LANES], g[BOX_LANES], q[BOX_LANES];
    size_t n8 = n - n % BOX_LANES;
    if (mode == BOUND_BOX_LANES_V4) ball_lanes_v4(a, x0, n8, kind, d, g, q);
    else ball_lanes(a, x0, n8, kind, d, g, q);
    for (size_t j = n8; j < n; j++) /* the last n mod 8 entries, lanes 0 to 6 */
        ball_run(a, x0, j, j + 1, 1, kind, &d[j - n8], &g[j - n8], &q[j - n8]);
    *dot = lanes_total(d), *mag = lanes_total(g), *acc = lanes_total(q);
}

double bound_dual_norm(const double *a, size_t n, norm_type p, int mode)
{
    double dot, mag, acc = 0;
    if (p == NORM_1) {
        for (size_t j = 0; j < n; j++) acc = fabs(a[j]) > acc ? fabs(a[j]) : acc;
        return acc;
    }
    ball_sums(a, NULL, n, p == NORM_INF ? BALL_ABS_SUM : BALL_SQUARE_SUM, mode, &dot, &mag, &acc);
    return p == NORM_INF ? acc : l2_norm_of(a, n, acc);
}

/* One row on the region's ball: a.x0 -/+ eps||a||_q + c, widened. nrm may be a
 * cached norm (< 0: computed here, in the same pass for l_inf and l2). */
static void ball_bound(const bound_state *st, const double *a, const double *x0, size_t n, double c, double s,
                       double nrm, double *lo, double *hi)
{
    double dot, mag, acc;
    norm_type p = st->region.norm;
    int mode = ((const bound_work *)st->work)->box_mode;
    int kind = nrm >= 0 || p == NORM_1 ? BALL_NO_NORM : p == NORM_INF ? BALL_ABS_SUM : BALL_SQUARE_SUM;
    ball_sums(a, x0, n, kind, mode, &dot, &mag, &acc);
    if (kind == BALL_ABS_SUM) nrm = acc;
    else if (kind == BALL_SQUARE_SUM) nrm = l2_norm_of(a, n, acc);
    else if (nrm < 0) nrm = bound_dual_norm(a, n, p, mode);
    double e = st->region.eps * nrm;
    double allow = BOUND_ALLOWANCE(mag + e + s);
    if (lo) *lo = dot - e + c - allow;
    if (hi) *hi = dot + e + c + allow;
}

/* One side of the box bound: hi_side 0 the lower (bl where a > 0), 1 the upper. */
static double box_side(const double *a, size_t n, const double *bl, const double *bh, int hi_side, int mode,
                       double *mag)
{
    double v[BOX_LANES], g[BOX_LANES];
    const double *bp = hi_side ? bh : bl, *bn = hi_side ? bl : bh;
    if (mode == BOUND_BOX_SEQUENTIAL) return box_sequential(a, NULL, n, bp, bn, mag);
    size_t n8 = n - n % BOX_LANES;
    if (mode == BOUND_BOX_LANES_V4) box_lanes_v4(a, n8, bp, bn, v, g);
    else box_lanes(a, n8, bp, bn, v, g);
    for (size_t j = n8; j < n; j++) { /* the last n mod 8 entries, lanes 0 to 6 */
        double t = box_term(a[j], bp[j], bn[j]);
        v[j - n8] += t;
        g[j - n8] += fabs(t);
    }
    *mag = lanes_total(g);
    return lanes_total(v);
}

void bound_concretize_box(const double *a, size_t n, const double *bl, const double *bh, double c, double s,
                          int mode, double *lo, double *hi)
{
    for (int side = 0; side < 2; side++) {
        double *out = side ? hi : lo, mag;
        if (!out) continue;
        double v = box_side(a, n, bl, bh, side, mode, &mag);
        *out = box_bound(v, mag, c, s, side);
    }
}

/* Unbiased exponent field of g > 0 (subnormals: 0). */
static int exponent_of(double g)
{
    uint64_t b;
    memcpy(&b, &g, sizeof b);
    return (int)((b >> 52) & 0x7ff);
}

/* 63 minus bits [46, 52) of the mantissa: g's place within its binade, larger g first. */
static int mantissa_step(double g)
{
    uint64_t b;
    memcpy(&b, &g, sizeof b);
    return 63 - (int)((b >> 46) & 63);
}

#define L1_BUCKETS 64
/* Steps of the clipped l2 multiplier search (each is one pass; any step is sound). */
#define L2_STEPS 64

/* Candidates i, j (positions in the compact arrays) in taking order: larger gain
 * first, then lower index -- a total order, so no tie depends on the sort. */
static int l1_before(const double *g, const size_t *idx, size_t i, size_t j)
{
    return g[i] > g[j] || (g[i] == g[j] && idx[i] < idx[j]);
}

/* Restore the heap below root in sel[0, end): the last to be taken on top, so the
 * array ends up in taking order. */
static void l1_sift(const double *g, const size_t *idx, size_t *sel, size_t root, size_t end)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= end) return;
        if (child + 1 < end && l1_before(g, idx, sel[child], sel[child + 1])) child++;
        if (!l1_before(g, idx, sel[root], sel[child])) return;
        size_t t = sel[root];
        sel[root] = sel[child];
        sel[child] = t;
        root = child;
    }
}

/* Compact arrays of a row's nonzero coefficients: index, gain |a_j|, binade bucket
 * below the largest gain (the last lumps all smaller ones), and the room to move
 * down (side 0) and up (side 1). Returns their count. */
static size_t l1_prepare(const bound_state *st, const double *a, double *dot_out, double *mag_out)
{
    bound_work *w = st->work;
    size_t n = w->n_in, k = 0;
    double *g = w->l1_buf, *room = g + n, dot = 0, mag = 0;
    size_t *idx = w->l1_sel + n;
    int *bucket = w->l1_bucket, emax = 0;
    for (size_t j = 0; j < n; j++) {
        if (a[j] == 0) continue;
        /* a.x0 in the same pass (the zero terms add nothing, in order as elsewhere) */
        double t = a[j] * w->x0[j];
        dot += t;
        mag += fabs(t);
        double up = w->box_hi[j] - w->x0[j], down = w->x0[j] - w->box_lo[j];
        idx[k] = j;
        g[k] = fabs(a[j]);
        room[2 * k] = a[j] > 0 ? down : up;
        room[2 * k + 1] = a[j] > 0 ? up : down;
        bucket[k] = exponent_of(g[k]);
        emax = bucket[k] > emax ? bucket[k] : emax;
        k++;
    }
    for (size_t q = 0; q < k; q++) {
        int b = emax - bucket[q];
        bucket[q] = b < L1_BUCKETS - 1 ? b : L1_BUCKETS - 1;
    }
    *dot_out = dot;
    *mag_out = mag;
    return k;
}

/* The greedy of one side on the prepared arrays: the total gain of the moves, and
 * the moves themselves into x (x0 already there) when x is not NULL. */
static double l1_side(const bound_state *st, const double *a, size_t k, int side, double *x)
{
    bound_work *w = st->work;
    size_t n = w->n_in;
    const double *g = w->l1_buf, *room = g + n;
    const size_t *idx = w->l1_sel + n;
    const int *bucket = w->l1_bucket;
    size_t *sel = w->l1_sel;
    double left = st->region.eps, room_b[L1_BUCKETS] = {0}, step_room[L1_BUCKETS] = {0};
    for (size_t q = 0; q < k; q++) room_b[bucket[q]] += room[2 * q + side];
    int cut = 0, scut = 0;
    while (cut < L1_BUCKETS && room_b[cut] <= left) left -= room_b[cut++];
    /* the bucket the budget runs out in, by place within its binade (the lumped last
     * bucket is not ordered by place: all of it is sorted) */
    int split = cut < L1_BUCKETS - 1;
    if (split) {
        for (size_t q = 0; q < k; q++)
            if (bucket[q] == cut) step_room[mantissa_step(g[q])] += room[2 * q + side];
        while (scut < L1_BUCKETS && step_room[scut] <= left) left -= step_room[scut++];
    }
    double move = 0;
    size_t ns = 0;
    for (size_t q = 0; q < k; q++) {
        double r = room[2 * q + side];
        if (r <= 0 || bucket[q] > cut) continue;
        if (bucket[q] == cut) {
            int sb = split ? mantissa_step(g[q]) : scut;
            if (sb > scut) continue;
            if (sb == scut) {
                sel[ns++] = q;
                continue;
            }
        }
        move += g[q] * r;
        if (x) x[idx[q]] += ((a[idx[q]] > 0) == side) ? r : -r;
    }
    for (size_t root = ns / 2; root-- > 0;) l1_sift(g, idx, sel, root, ns);
    for (size_t end = ns; end > 1; end--) {
        size_t t = sel[0];
        sel[0] = sel[end - 1];
        sel[end - 1] = t;
        l1_sift(g, idx, sel, 0, end - 1);
    }
    for (size_t i = 0; i < ns && left > 0; i++) {
        size_t q = sel[i];
        double d = room[2 * q + side] < left ? room[2 * q + side] : left;
        left -= d;
        move += g[q] * d;
        if (x) x[idx[q]] += ((a[idx[q]] > 0) == side) ? d : -d;
    }
    return move;
}

/* One step's sums of the clipped l2 iteration (l2_side) at nu: sat = sum over the
 * saturated (nu g_q >= rho_q) of rho_q^2, and the free set's largest gain fmax and
 * fs = sum over it of (g_q / fmax)^2. Fast (gsc = 1 / max g > 0): rho by a product
 * with 1 / eps and the free gains relative to the row's largest (any nu the steps
 * reach is sound; these only steer them); exact scaling by the free set's own
 * largest when they are all far below it (fs would lose its bits). */
static void l2_pass(const double *g, const double *room, size_t k, int side, double eps, double nu, double gsc,
                    double *sat_out, double *fmax_out, double *fs_out)
{
    double sat = 0, fs = 0, fmax = 0;
    if (gsc > 0) {
        double inv = 1 / eps;
        size_t nfree = 0;
        for (size_t q = 0; q < k; q++) {
            double rho = room[2 * q + side] * inv;
            if (nu * g[q] >= rho) {
                sat += rho * rho;
            } else {
                double f = g[q] * gsc;
                fs += f * f;
                nfree++;
            }
        }
        *sat_out = sat;
        *fmax_out = nfree ? 1 / gsc : 0;
        *fs_out = fs;
        if (!nfree || fs >= 0x1p-900) return;
        sat = fs = 0;
    }
    for (size_t q = 0; q < k; q++) {
        double rho = room[2 * q + side] / eps;
        if (nu * g[q] >= rho) {
            sat += rho * rho;
        } else if (g[q] > fmax) {
            double f = fmax / g[q];
            fs = fs * f * f + 1;
            fmax = g[q];
        } else {
            double f = g[q] / fmax;
            fs += f * f;
        }
    }
    *sat_out = sat;
    *fmax_out = fmax;
    *fs_out = fs;
}

/* Clipped l2, one side on the prepared arrays: moving coordinate j by t_j in
 * [0, room_j] the favourable way gains g_j t_j, with sum t_j^2 <= eps^2. For any
 * lambda > 0, weak duality bounds the gain by
 *   lambda eps^2 + sum_j max_{0 <= t <= room_j} (g_j t - lambda t^2),
 * attained at t_j = min(room_j, mu g_j), mu = 1/(2 lambda); so every lambda gives
 * a sound bound, and the best is where sum_j t_j^2 = eps^2 (then it is exact).
 * That mu is reached from below by mu <- sqrt((eps^2 - S) / G), S the saturated
 * coordinates' sum of room^2 and G the others' sum of g^2 at the current mu: each
 * step's S + mu^2 G bounds the true sum from above, so mu never passes the root,
 * and the saturated set only grows (exact once it stops changing). mag gets the
 * magnitudes of the terms. */
static double l2_side(const bound_state *st, const double *a, size_t k, int side, double *x, double *mag)
{
    bound_work *w = st->work;
    size_t n = w->n_in;
    const double *g = w->l1_buf, *room = g + n;
    const size_t *idx = w->l1_sel + n;
    /* Scaled: tau = t / eps, rho = room / eps, nu = mu / eps, and the sums of
     * squares of g relative to their largest entry. In plain double eps^2 and g^2
     * under- or overflowed (eps below 1e-154: eps^2 subnormal or 0; g above 1e154:
     * NaN bounds; g below 1e-154: the free set's sum 0, a point outside the ball),
     * and the dual value lambda eps^2 + sum (g t - lambda t^2) cancelled. Now the
     * dual is evaluated at nu as eps * (1/(2 nu) + sum_free g (nu g) / 2 + sum_sat
     * (g rho - rho (rho / nu) / 2)): every term >= 0, and a coordinate misfiled by
     * rounding between free and saturated still gives a sound value (a free term
     * is the unconstrained max, a saturated one the value at t = room). */
    double eps = st->region.eps, s_all = 0, gmax = 0;
    for (size_t q = 0; q < k; q++) {
        double rho = room[2 * q + side] / eps;
        s_all += rho * rho;
        gmax = g[q] > gmax ? g[q] : gmax;
    }
    double gsc = gmax >= DBL_MIN && eps >= DBL_MIN ? 1 / gmax : 0;
    double gain = 0, m = 0;
    if (!(s_all > 1) || !(eps > 0)) { /* every coordinate moves to its box face */
        for (size_t q = 0; q < k; q++) {
            double r = room[2 * q + side];
            gain += g[q] * r;
            if (x) x[idx[q]] += ((a[idx[q]] > 0) == side) ? r : -r;
        }
        *mag = gain;
        return gain;
    }
    double nu = 0;
    for (int it = 0; it < L2_STEPS + 1; it++) {
        double sat, fmax, fs;
        l2_pass(g, room, k, side, eps, nu, gsc, &sat, &fmax, &fs);
        if (fmax == 0 || sat >= 1) break;
        double next = sqrt(1 - sat) / (fmax * sqrt(fs));
        if (!(next > nu)) break;
        nu = next;
    }
    if (!(nu > 0) || !isfinite(nu)) {
        /* the free set's gains are all subnormal (1/fmax overflows): the box bound,
         * loose only by those; the point is the box corner pulled into the ball */
        double shrink = 1 / sqrt(s_all);
        for (size_t q = 0; q < k; q++) {
            double r = room[2 * q + side];
            gain += g[q] * r;
            if (x) x[idx[q]] += ((a[idx[q]] > 0) == side) ? r * shrink : -(r * shrink);
        }
        *mag = gain;
        return gain;
    }
    gain = m = 0.5 / nu;
    for (size_t q = 0; q < k; q++) {
        double rho = room[2 * q + side] / eps, tau;
        if (nu * g[q] < rho) {
            tau = nu * g[q];
            gain += 0.5 * g[q] * tau;
            m += 0.5 * g[q] * tau;
        } else {
            tau = rho;
            double h = 0.5 * rho * (rho / nu);
            gain += g[q] * rho - h;
            m += g[q] * rho + h;
        }
        if (x) {
            double t = tau < rho ? eps * tau : room[2 * q + side];
            x[idx[q]] += ((a[idx[q]] > 0) == side) ? t : -t;
        }
    }
    *mag = eps * m;
    return eps * gain;
}

/* One side of a clipped l1 or l2 ball on the prepared arrays; mag gets the
 * magnitudes of its terms (an l1 move's terms are positive: its own). */
static double clipped_side(const bound_state *st, const double *a, size_t k, int side, double *x, double *mag)
{
    if (st->region.norm == NORM_2) return l2_side(st, a, k, side, x, mag);
    return *mag = l1_side(st, a, k, side, x);
}

/* Exact bounds on a clipped l1 or l2 ball (header comment); x (may be NULL) gets
 * the point of the lower bound (x0 moved). */
static void clipped_ball_bound(const bound_state *st, const double *a, double c, double s, double *lo,
                               double *hi, double *x)
{
    const bound_work *w = st->work;
    double dot, mag, m;
    size_t k = l1_prepare(st, a, &dot, &mag);
    if (x) memcpy(x, w->x0, w->n_in * sizeof *x);
    if (lo) {
        double down = clipped_side(st, a, k, 0, x, &m);
        *lo = dot - down + c - BOUND_ALLOWANCE(mag + m + s);
    }
    if (hi) {
        double up = clipped_side(st, a, k, 1, NULL, &m);
        *hi = dot + up + c + BOUND_ALLOWANCE(mag + m + s);
    }
}

double bound_clipped_argmin(const bound_state *st, const double *a, double c, double s, double *x)
{
    double lo;
    clipped_ball_bound(st, a, c, s, &lo, NULL, x);
    return lo;
}

void bound_concretize_region(const bound_state *st, const double *a, double c, double s, double nrm, double *lo,
                             double *hi)
{
    const bound_work *w = st->work;
    size_t n = w->n_in;
    if (!st->region.clip) {
        ball_bound(st, a, w->x0, n, c, s, nrm, lo, hi);
    } else if (st->region.norm == NORM_INF) {
        bound_concretize_box(a, n, w->box_lo, w->box_hi, c, s, w->box_mode, lo, hi);
    } else {
        (void)nrm;
        clipped_ball_bound(st, a, c, s, lo, hi, NULL);
    }
}

int bound_concretize_region_sparse(const bound_state *st, const double *a, const size_t *idx, size_t k, double c,
                                   double s, double *lo, double *hi, double *scratch)
{
    const bound_work *w = st->work;
    if (w->box_mode != BOUND_BOX_SEQUENTIAL) return 0; /* lanes are of the whole row's entries */
    if (!st->region.clip) {
        for (size_t q = 0; q < k; q++) scratch[q] = w->x0[idx[q]];
        ball_bound(st, a, scratch, k, c, s, -1.0, lo, hi);
        return 1;
    }
    if (st->region.norm == NORM_INF) {
        for (int side = 0; side < 2; side++) {
            double *out = side ? hi : lo, mag;
            if (!out) continue;
            const double *bp = side ? w->box_hi : w->box_lo, *bn = side ? w->box_lo : w->box_hi;
            double v = box_sequential(a, idx, k, bp, bn, &mag);
            *out = box_bound(v, mag, c, s, side);
        }
        return 1;
    }
    return 0;
}

/* The corner of the box [lo, hi] that minimizes a.x, and of the l_inf ball of
 * radius eps around x0 (x0 itself where a is 0). Both candidates are loaded and
 * one selected, with no branch: the signs of a are as good as random, and these
 * loops over the input ran as mispredicted branches (17 % of a ReLU-phase FROWN
 * search on MNIST, perf, 2026-12-07). The point steers FROWN's gradient and is a
 * branch-and-bound search's candidate counterexample (bound_state.spec_points). */
static void box_corner(const double *restrict a, const double *restrict lo, const double *restrict hi,
                       double *restrict x, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        double l = lo[k], h = hi[k];
        x[k] = a[k] >= 0 ? l : h;
    }
}

static void ball_corner(const double *restrict a, const double *restrict x0, double eps, double *restrict x,
                        size_t n)
{
    for (size_t k = 0; k < n; k++) {
        double c = x0[k], down = c - eps, up = c + eps;
        x[k] = a[k] > 0 ? down : (a[k] < 0 ? up : c);
    }
}

void bound_region_point(const bound_state *st, const double *a, double *x)
{
    const bound_work *w = st->work;
    const bound_region *R = &st->region;
    size_t n = w->n_in;
    const double *x0 = w->x0;
    double eps = R->eps;
    if (R->clip && R->norm != NORM_INF) bound_clipped_argmin(st, a, 0.0, 0.0, x);
    else if (R->clip) box_corner(a, w->box_lo, w->box_hi, x, n);
    else if (R->norm == NORM_INF) ball_corner(a, x0, eps, x, n);
    else if (R->norm == NORM_2) {
        double nrm = bound_dual_norm(a, n, NORM_2, w->box_mode); /* safe from squares that underflow */
        double f = nrm > 0 ? eps / nrm : 0.0;
        for (size_t k = 0; k < n; k++) x[k] = x0[k] - f * a[k];
    } else {
        size_t kmax = 0;
        for (size_t k = 1; k < n; k++)
            if (fabs(a[k]) > fabs(a[kmax])) kmax = k;
        memcpy(x, x0, n * sizeof *x);
        if (a[kmax] != 0) x[kmax] += a[kmax] > 0 ? -eps : eps;
    }
}

double bound_region_argmin(const bound_state *st, const double *a, double c, double s, double *x)
{
    /* clipped l1 and l2 are exact, at the knapsack's or the multiplier's point:
     * bound and point from one pass */
    if (x && st->region.clip && st->region.norm != NORM_INF) return bound_clipped_argmin(st, a, c, s, x);
    double lb;
    bound_concretize_region(st, a, c, s, -1.0, &lb, NULL);
    if (x) bound_region_point(st, a, x);
    return lb;
}
