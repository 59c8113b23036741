/* The exact concretization of clipped l1 and l2 balls (bound_concretize.c:
 * l1_prepare / l1_side knapsack, l2_side dual water-filling) attacked directly
 * through bound_concretize_region and bound_clipped_argmin with adversarial
 * rows (ties, all-equal, 1e-300 .. 1e300, subnormals, 64+ binades, one
 * nonzero) and centres (on the box faces, inside), eps tiny / huge / exactly
 * the total room. Each bound is checked against an independent long double
 * solver (a sort for l1, KKT water-filling by bisection for l2): sound (no
 * feasible point below it) and exact (up to a small relative slack); samples
 * of the region never go below; the returned argmin point is in the region.
 * Unclipped l1 / l2 rows get the same treatment (closed form).
 * CLIPPED_CONC_DUMP=1 prints the entries of failing rows with n < 10.
 *
 * Also the engine's own first-block rows on wide inputs against the exact long
 * double extremes. Truth is the REAL function of the stored doubles, evaluated
 * in long double (ld_reference.h), and every soundness comparison is made with
 * no tolerance. Certified radii of CNNs attacked at the radius are in
 * test_radius_attack.c. */
#include "ld_reference.h"

#include <float.h>

#include "certify.h"
#include "relax.h"

/* White-box: the concretization entry points. */
#include "../src/bound/bound_concretize.h"

static long n_checks;
static int n_printed;

/* ---- independent exact solvers --- ---------------------------------------- */

typedef struct {
    ld g, r;
} gr_pair;

static int gr_desc(const void *x, const void *y)
{
    const gr_pair *a = x, *b = y;
    return a->g > b->g ? -1 : a->g < b->g ? 1 : 0;
}

/* Max of sum g_j t_j over 0 <= t_j <= r_j, sum t_j <= eps (exact up to long double). */
static ld l1_gain(gr_pair *p, size_t k, ld eps)
{
    qsort(p, k, sizeof *p, gr_desc);
    ld left = eps, gain = 0;
    for (size_t i = 0; i < k && left > 0; i++) {
        ld d = p[i].r < left ? p[i].r : left;
        gain += p[i].g * d;
        left -= d;
    }
    return gain;
}

static ld l2_sum(const gr_pair *p, size_t k, ld mu, ld *gain)
{
    ld s = 0, gsum = 0;
    for (size_t i = 0; i < k; i++) {
        ld t = mu * p[i].g < p[i].r ? mu * p[i].g : p[i].r;
        s += t * t;
        gsum += p[i].g * t;
    }
    if (gain) *gain = gsum;
    return s;
}

/* Max of sum g_j t_j over 0 <= t_j <= r_j, sum t_j^2 <= eps^2: primal (a feasible
 * value, <= the max) and dual (>= the max) by bisection on the KKT multiplier. */
static void l2_gain(const gr_pair *p, size_t k, ld eps, ld *primal, ld *dual)
{
    ld e2 = eps * eps, sall = 0, gall = 0, hi = 0;
    for (size_t i = 0; i < k; i++) {
        sall += p[i].r * p[i].r;
        gall += p[i].g * p[i].g;
        if (p[i].g > 0 && p[i].r / p[i].g > hi) hi = p[i].r / p[i].g;
    }
    if (sall <= e2 || gall == 0) {
        ld g = 0;
        for (size_t i = 0; i < k; i++) g += p[i].g * p[i].r;
        *primal = *dual = g;
        return;
    }
    ld lo = eps / sqrtl(gall); /* sum <= mu^2 gall = e2: feasible */
    if (hi < lo) hi = lo;
    for (int it = 0; it < 400; it++) {
        ld mid = it < 200 ? sqrtl(lo) * sqrtl(hi) : (lo + hi) / 2;
        if (!(mid > lo && mid < hi)) break;
        if (l2_sum(p, k, mid, NULL) <= e2) lo = mid;
        else hi = mid;
    }
    ld g;
    l2_sum(p, k, lo, &g);
    *primal = g;
    /* dual at lambda = 1/(2 hi): lambda e2 + sum max_t (g t - lambda t^2) */
    ld lam = 0.5L / hi, d = lam * e2;
    for (size_t i = 0; i < k; i++) {
        ld t = hi * p[i].g < p[i].r ? hi * p[i].g : p[i].r;
        d += p[i].g * t - lam * t * t;
    }
    *dual = d;
}

/* ---- harness -------------------------------------------------------------- */

typedef struct {
    nn_model m;
    bound_state st;
    size_t n;
    gr_pair *pr;
    double *x, *y;
} conc_ctx;

static void ctx_init(conc_ctx *c, test_rng *rng, size_t n)
{
    nn_error err;
    tb_build_one_hidden(&c->m, rng, (int)n, 6, 2);
    bound_options o;
    bound_options_default(&o);
    assert_int_equal(bound_state_init(&c->st, &c->m, &o, &err), NN_OK);
    c->n = n;
    c->pr = malloc(n * sizeof *c->pr);
    c->x = malloc(n * sizeof *c->x);
    c->y = malloc(n * sizeof *c->y);
    assert_non_null(c->pr);
    assert_non_null(c->x);
    assert_non_null(c->y);
}

static void ctx_free(conc_ctx *c)
{
    bound_state_free(&c->st);
    model_free(&c->m);
    free(c->pr);
    free(c->x);
    free(c->y);
}

/* The exact min of a.x over the REAL region (side 0), or the max (side 1):
 * *sure is a value attained by a feasible point, *best a bound the other way
 * (min: sure >= true min >= best). */
static void exact_side(const conc_ctx *c, const double *a, const bound_region *R, int side, ld *sure, ld *best)
{
    size_t n = c->n, k = 0;
    ld ax0 = 0, eps = R->eps;
    for (size_t j = 0; j < n; j++) ax0 += (ld)a[j] * R->center[j];
    ld gain_sure, gain_best;
    if (!R->clip) {
        if (R->norm == NORM_1) {
            ld mx = 0;
            for (size_t j = 0; j < n; j++) mx = fabsl((ld)a[j]) > mx ? fabsl((ld)a[j]) : mx;
            gain_sure = gain_best = eps * mx;
        } else {
            ld s = 0;
            for (size_t j = 0; j < n; j++) s += (ld)a[j] * a[j];
            gain_sure = gain_best = eps * sqrtl(s);
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            if (a[j] == 0) continue;
            int down = (a[j] > 0) != side; /* moving down lowers a.x on side 0 */
            ld room = down ? (ld)R->center[j] - (ld)R->clip_lo : (ld)R->clip_hi - (ld)R->center[j];
            if (room > eps) room = eps;
            c->pr[k].g = fabsl((ld)a[j]);
            c->pr[k].r = room;
            k++;
        }
        if (R->norm == NORM_1) gain_sure = gain_best = l1_gain(c->pr, k, eps);
        else l2_gain(c->pr, k, eps, &gain_sure, &gain_best);
    }
    *sure = side ? ax0 + gain_sure : ax0 - gain_sure;
    *best = side ? ax0 + gain_best : ax0 - gain_best;
}

/* exact_side for every norm: l_inf's extreme is a corner of the (clipped) box. */
static void exact_side_any(const conc_ctx *c, const double *a, const bound_region *R, int side, ld *sure, ld *best)
{
    if (R->norm != NORM_INF) {
        exact_side(c, a, R, side, sure, best);
        return;
    }
    ld v = 0;
    for (size_t j = 0; j < c->n; j++) {
        ld lo = (ld)R->center[j] - R->eps, hi = (ld)R->center[j] + R->eps;
        if (R->clip) lo = lo < R->clip_lo ? R->clip_lo : lo, hi = hi > R->clip_hi ? R->clip_hi : hi;
        v += (ld)a[j] * (((a[j] > 0) == side) ? hi : lo);
    }
    *sure = *best = v;
}

/* One row a on the region: soundness (no tolerance), exactness (slack rel),
 * samples, and the argmin point. Returns the number of failures. */
static int check_row(conc_ctx *c, test_rng *rng, const double *a, const double *x0, double eps, norm_type p,
                     int clip, double clo, double chi, const char *what, int nsamples)
{
    nn_error err;
    size_t n = c->n;
    bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = clo, .clip_hi = chi};
    assert_int_equal(bound_set_region(&c->st, &R, &err), NN_OK);
    double lo, hi;
    bound_concretize_region(&c->st, a, 0.0, 0.0, -1.0, &lo, &hi);
    int bad = 0;
    ld mag = 0;
    for (size_t j = 0; j < n; j++) mag += fabsl((ld)a[j] * x0[j]);
    for (int side = 0; side < 2; side++) {
        ld sure, best;
        exact_side(c, a, &R, side, &sure, &best);
        ld b = side ? hi : lo;
        n_checks++;
        int unsound = side ? !(b >= sure) : !(b <= sure);
        ld gap = side ? (ld)b - best : best - (ld)b;
        ld slack = 1e-8L * (mag + fabsl(sure - best) + fabsl(best) + fabsl((ld)b)) + 1e-300L;
        int loose = !(gap <= slack);
        if (unsound || loose) {
            if (n_printed++ < 40)
                {
                print_message("  %s n=%zu %s%s eps=%.17g side %s: bound %.21Lg, exact %.21Lg (attained %.21Lg)%s\n",
                              what, n, norm_name(p), clip ? " clip" : "", eps, side ? "upper" : "lower", b, best,
                              sure, unsound ? " UNSOUND" : " loose");
                if (getenv("CLIPPED_CONC_DUMP") && n < 10)
                    for (size_t j = 0; j < n; j++) print_message("    a=%a x0=%a box [%a,%a]\n", a[j], x0[j], clo, chi);
            }
            bad++;
        }
    }
    if (clip && p != NORM_INF) {
        double lo_x = bound_clipped_argmin(&c->st, a, 0.0, 0.0, c->x);
        ld ax = 0, dist = 0, umax = 0;
        int out = 0;
        for (size_t j = 0; j < n; j++) {
            if (!(c->x[j] >= clo && c->x[j] <= chi)) out = 1;
            ld d = (ld)c->x[j] - x0[j];
            dist += p == NORM_1 ? fabsl(d) : d * d;
            ax += (ld)a[j] * c->x[j];
            umax = fabsl((ld)x0[j]) > umax ? fabsl((ld)x0[j]) : umax;
        }
        if (p == NORM_2) dist = sqrtl(dist);
        n_checks++;
        /* in the box exactly; in the ball up to the rounding of the box faces x0 -+ eps */
        if (out || !(dist <= (ld)eps * (1 + 1e-12L) + 4e-16L * (ld)n * (umax + (ld)eps)) ||
            !((ld)lo <= ax) || !isfinite(lo_x)) {
            if (n_printed++ < 40)
                print_message("  %s n=%zu %s eps=%.17g: argmin out of box %d, dist %.21Lg, a.x %.21Lg, lo %.17g, "
                              "bound %g\n",
                              what, n, norm_name(p), eps, out, dist, ax, lo, lo_x);
            bad++;
        }
    }
    for (int s = 0; s < nsamples; s++) {
        tb_sample(rng, &R, n, s % 3, c->y);
        if (clip)
            for (size_t j = 0; j < n; j++) c->y[j] = c->y[j] < clo ? clo : c->y[j] > chi ? chi : c->y[j];
        if (ld_dist(&R, c->y, n) > (ld)eps) continue;
        ld v = 0;
        for (size_t j = 0; j < n; j++) v += (ld)a[j] * c->y[j];
        n_checks++;
        if (!((ld)lo <= v && v <= (ld)hi)) {
            if (n_printed++ < 40)
                print_message("  %s n=%zu %s eps=%.17g: sample %.21Lg outside [%.17g, %.17g]\n", what, n,
                              norm_name(p), eps, v, lo, hi);
            bad++;
        }
    }
    return bad;
}

/* Signed log-uniform magnitude in [10^lo, 10^hi]. */
static double logu(test_rng *rng, double lo, double hi)
{
    double v = pow(10.0, test_rng_range(rng, lo, hi));
    return test_rng_uniform(rng) < 0.5 ? -v : v;
}

enum { ROW_UNIFORM, ROW_EQUAL, ROW_TIES, ROW_WIDE, ROW_SUBNORMAL, ROW_BINADES, ROW_ONE, ROW_MANTISSA, ROW_HUGE,
       ROW_TINY, ROW_KINDS };
static const char *row_names[ROW_KINDS] = {"uniform", "all-equal", "ties",   "1e-300..1e300", "subnormals",
                                           "binades", "one-nonzero", "same-place", "huge", "tiny"};

static void make_row(test_rng *rng, int kind, size_t n, double *a)
{
    for (size_t j = 0; j < n; j++) {
        double v;
        switch (kind) {
        case ROW_UNIFORM: v = test_rng_range(rng, -2, 2); break;
        case ROW_EQUAL: v = (j & 1) ? 0.75 : -0.75; break;
        case ROW_TIES: {
            static const double vals[] = {1, 0.5, 0.25, 1.5, 0, 1};
            v = vals[test_rng_next(rng) % 6] * (test_rng_uniform(rng) < 0.5 ? -1 : 1);
            break;
        }
        case ROW_WIDE: v = logu(rng, -300, 300); break;
        case ROW_SUBNORMAL: {
            int t = (int)(test_rng_next(rng) % 4);
            v = t == 0 ? 0x1p-1074 * (double)(1 + test_rng_next(rng) % 1000)
              : t == 1 ? DBL_MIN * test_rng_uniform(rng) : t == 2 ? logu(rng, -310, -290) : logu(rng, -3, 0);
            if (test_rng_uniform(rng) < 0.5) v = -v;
            break;
        }
        case ROW_BINADES: v = ldexp(test_rng_uniform(rng) < 0.5 ? 1.0 : 1.5, -(int)(j % 80)); break;
        case ROW_ONE: v = j == n / 2 ? -1.25 : 0; break;
        case ROW_MANTISSA: v = ldexp(1.0 + (double)(test_rng_next(rng) % 4) * 0x1p-50, -(int)(test_rng_next(rng) % 3));
            break;
        case ROW_HUGE: v = logu(rng, 150, 300); break;
        default: v = logu(rng, -200, -150); break;
        }
        a[j] = v;
    }
}

/* x0 in [clo, chi]: 0 random, 1 all on faces, 2 mixed, 3 all at the lower face. */
static void make_centre(test_rng *rng, int kind, size_t n, double clo, double chi, double *x0)
{
    for (size_t j = 0; j < n; j++) {
        int f = kind == 0 ? 2 : kind == 1 ? (int)(test_rng_next(rng) % 2) : kind == 3 ? 0 : (int)(test_rng_next(rng) % 3);
        x0[j] = f == 0 ? clo : f == 1 ? chi : test_rng_range(rng, clo, chi);
    }
}

/* The total room of the region's box on a's lower side (l1: sum, l2: its norm). */
static double total_room(const conc_ctx *c, const double *a, norm_type p)
{
    const bound_work *w = c->st.work;
    double s = 0;
    for (size_t j = 0; j < c->n; j++) {
        if (a[j] == 0) continue;
        double r = a[j] > 0 ? w->x0[j] - w->box_lo[j] : w->box_hi[j] - w->x0[j];
        s += p == NORM_1 ? r : r * r;
    }
    return p == NORM_1 ? s : sqrt(s);
}

static void clipped_balls_exact_and_sound(void **state)
{
    (void)state;
    test_rng rng = {0xa3d17};
    static const size_t sizes[] = {1, 2, 7, 65, 300, 2500};
    int bad = 0;
    long rows = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        conc_ctx c;
        ctx_init(&c, &rng, n);
        double *a = malloc(n * sizeof *a), *x0 = malloc(n * sizeof *x0);
        assert_non_null(a);
        assert_non_null(x0);
        int trials = n > 1000 ? 60 : n > 100 ? 200 : 600;
        for (int t = 0; t < trials; t++) {
            norm_type p = (t & 1) ? NORM_2 : NORM_1;
            int rk = t / 2 % ROW_KINDS, ck = (int)(test_rng_next(&rng) % 4), box = (int)(test_rng_next(&rng) % 3);
            double clo = box == 0 ? 0.0 : box == 1 ? -1.0 : -3.0, chi = box == 2 ? 1e3 : 1.0;
            make_row(&rng, rk, n, a);
            make_centre(&rng, ck, n, clo, chi, x0);
            int ek = (int)(test_rng_next(&rng) % 9);
            double eps;
            switch (ek) {
            case 0: eps = 1e-300; break;
            case 1: eps = 1e-160; break;
            case 2: eps = 1e-6; break;
            case 3: eps = 1e300; break;
            case 4: eps = 1e5; break;
            default: eps = test_rng_range(&rng, 0, p == NORM_1 ? 0.3 * (double)n : sqrt((double)n)); break;
            }
            char what[64];
            snprintf(what, sizeof what, "%s/c%d/e%d", row_names[rk], ck, ek);
            bad += check_row(&c, &rng, a, x0, eps, p, 1, clo, chi, what, n > 1000 ? 4 : 30);
            rows++;
            if (ek >= 7) { /* eps exactly the total room of the region's box, and one ulp either side */
                bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = 1, .clip_lo = clo, .clip_hi = chi};
                nn_error err;
                assert_int_equal(bound_set_region(&c.st, &R, &err), NN_OK);
                double e = total_room(&c, a, p);
                if (e > 0 && isfinite(e)) {
                    bad += check_row(&c, &rng, a, x0, e, p, 1, clo, chi, what, 4);
                    bad += check_row(&c, &rng, a, x0, nextafter(e, 0), p, 1, clo, chi, what, 4);
                    bad += check_row(&c, &rng, a, x0, nextafter(e, INFINITY), p, 1, clo, chi, what, 4);
                    rows += 3;
                }
            }
            if (t % 3 == 0) { /* the same row unclipped */
                bad += check_row(&c, &rng, a, x0, eps < 1e100 ? eps : 1.0, p, 0, clo, chi, what, 4);
                rows++;
            }
        }
        free(a);
        free(x0);
        ctx_free(&c);
    }
    print_message("  clipped/unclipped l1, l2 concretization: %ld rows, %ld checks, %d failures\n", rows, n_checks,
                  bad);
    assert_int_equal(bad, 0);
}

/* Minimized l2 cases where the scale alone breaks naive arithmetic: eps^2
 * underflowing (clipped), squares of the row underflowing (unclipped: norm 0) or
 * overflowing (clipped: NaN bounds). */
static void l2_scale_regressions(void **state)
{
    (void)state;
    test_rng rng = {5};
    conc_ctx c;
    ctx_init(&c, &rng, 2);
    nn_error err;
    double lo, hi;
    /* clipped, eps = 1e-160: the true minimum is -sqrt(2) eps */
    double a1[2] = {1, 1}, x1[2] = {0, 0};
    bound_region R = {.center = x1, .eps = 1e-160, .norm = NORM_2, .clip = 1, .clip_lo = -1, .clip_hi = 1};
    assert_int_equal(bound_set_region(&c.st, &R, &err), NN_OK);
    bound_concretize_region(&c.st, a1, 0.0, 0.0, -1.0, &lo, &hi);
    assert_true((ld)lo <= -sqrtl(2) * 1e-160L && (ld)hi >= sqrtl(2) * 1e-160L);
    /* unclipped, a row of 1e-170s: ||a|| = sqrt(2) 1e-170, not 0 */
    double a2[2] = {1e-170, -1e-170};
    R.clip = 0;
    R.eps = 1;
    assert_int_equal(bound_set_region(&c.st, &R, &err), NN_OK);
    bound_concretize_region(&c.st, a2, 0.0, 0.0, -1.0, &lo, &hi);
    assert_true((ld)lo <= -sqrtl(2) * 1e-170L && (ld)hi >= sqrtl(2) * 1e-170L);
    /* clipped, a row of 1e200s: finite, sound bounds */
    double a3[2] = {1e200, 1e200}, x3[2] = {0.5, 0.5};
    R.center = x3;
    R.clip = 1;
    R.clip_lo = 0;
    R.eps = 0.1;
    assert_int_equal(bound_set_region(&c.st, &R, &err), NN_OK);
    bound_concretize_region(&c.st, a3, 0.0, 0.0, -1.0, &lo, &hi);
    assert_true(isfinite(lo) && isfinite(hi));
    assert_true((ld)lo <= 1e200L * (1 - sqrtl(2) * 0.1L) && (ld)hi >= 1e200L * (1 + sqrtl(2) * 0.1L));
    ctx_free(&c);
}

/* The engine's own first-block rows on wide inputs: the ReLU layer's input bounds
 * of dense -> ReLU -> dense (n up to 2000; double and single; every method; clipped
 * and unclipped l1, l2, l_inf) against the exact long double extremes of each row
 * over the REAL region (the independent solvers above; l_inf: the box). Rows carry
 * adversarial entries (ties, tiny, huge, one nonzero) through the weights. */
static void wide_first_block_rows_exact(void **state)
{
    (void)state;
    test_rng rng = {0x3b10c};
    n_printed = 0;
    const bound_method ms[] = {METHOD_CROWN, METHOD_IBP, METHOD_LBP, METHOD_FROWN, METHOD_CROWN_IBP};
    static const size_t sizes[] = {300, 2000};
    int bad = 0, rowsn = 0;
    for (size_t si = 0; si < 2; si++) {
        size_t n = sizes[si];
        conc_ctx c;
        ctx_init(&c, &rng, n);
        nn_layer *L = &c.m.layers[0];
        int H = L->out_channels;
        /* n = 300: every kind, double only; n = 2000: the kinds float holds, both */
        static const int fkinds[] = {ROW_UNIFORM, ROW_EQUAL, ROW_TIES, ROW_BINADES, ROW_ONE, ROW_MANTISSA};
        for (int h = 0; h < H; h++)
            make_row(&rng, si == 0 ? (int)(test_rng_next(&rng) % ROW_KINDS) : fkinds[test_rng_next(&rng) % 6], n,
                     L->weight + (size_t)h * n);
        for (int h = 0; h < H; h += 2) L->bias[h] = 0; /* no bias term to hide an error in the allowance */
        double *x0 = malloc(n * sizeof *x0);
        assert_non_null(x0);
        for (int t = 0; t < 24; t++) {
            norm_type p = (norm_type)(t % 3);
            int clip = t % 4 != 1;
            make_centre(&rng, t / 3 % 4, n, 0, 1, x0);
            double eps = t % 6 == 5 ? 1e-160 : test_rng_range(&rng, 0, p == NORM_INF ? 0.5 : p == NORM_2 ? 3 : 20);
            bound_options o;
            bound_options_default(&o);
            o.method = ms[(size_t)t % 5];
            o.single = si == 1 && t / 2 % 2;
            o.frown_iters = 2;
            bound_state st;
            tb_compute(&c.m, &o, x0, p, eps, clip, &st);
            bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0, .clip_hi = 1};
            for (int h = 0; h < H; h++) {
                const double *a = L->weight + (size_t)h * n;
                for (int side = 0; side < 2; side++) {
                    ld sure, best;
                    exact_side_any(&c, a, &R, side, &sure, &best);
                    sure += L->bias[h];
                    ld b = side ? st.pre_upper[1][h] : st.pre_lower[1][h];
                    n_checks++;
                    if (side ? !(b >= sure) : !(b <= sure)) {
                        if (n_printed++ < 40)
                            print_message("  wide n=%zu %s %s single %d %s%s eps %.17g row %d side %d: bound %.21Lg, "
                                          "attained %.21Lg\n",
                                          n, bound_method_name(o.method), norm_name(p), o.single, clip ? "clip" : "",
                                          "", eps, h, side, b, sure);
                        bad++;
                    }
                    rowsn++;
                }
            }
            bound_state_free(&st);
        }
        free(x0);
        ctx_free(&c);
    }
    print_message("  wide first-block rows: %d row sides, %d unsound\n", rowsn, bad);
    assert_int_equal(bad, 0);
}

/* A conv block's rows kept sparse only (fb_A never made; clipped l1 and l2
 * concretize them spread out into a zero row), or, when the nonzeros pass a
 * quarter part way through (a 9x9 kernel padded 4), the rows so far spread
 * out into fb_A: the ReLU layer's input bounds of conv -> ReLU -> dense on a
 * 1x12x12 input, every norm clipped and not, against the exact long double
 * extremes of each neuron's dense row, made here from the kernel: sound with
 * no tolerance and tight to 1e-8. */
static void conv_rows_exact(int k, int pad, int co_n, int want_sparse)
{
    test_rng rng = {0x5ba75e + (uint64_t)k};
    n_printed = 0;
    enum { HW = 12 };
    const size_t n = HW * HW;
    const int ow = HW + 2 * pad - k + 1;
    const size_t rows = (size_t)co_n * ow * ow;
    conc_ctx c;
    nn_error err;
    model_init(&c.m);
    c.m.input = (nn_shape){1, HW, HW};
    tb_conv(&c.m, &rng, 1, co_n, k, 1, (const int[4]){pad, pad, pad, pad}, 2.4 / k);
    tb_act(&c.m, &rng, LAYER_RELU, rows);
    test_add_layer(&c.m, layer_make(LAYER_FLATTEN));
    tb_dense(&c.m, &rng, (int)rows, 2);
    assert_int_equal(model_finalize(&c.m, &err), NN_OK);
    c.n = n;
    c.pr = malloc(n * sizeof *c.pr);
    double *x0 = malloc(n * sizeof *x0), *a = malloc(n * sizeof *a);
    assert_non_null(c.pr);
    assert_non_null(x0);
    assert_non_null(a);
    const nn_layer *L = &c.m.layers[0];
    int bad = 0, loose = 0, rowsn = 0;
    for (int t = 0; t < 12; t++) {
        norm_type p = (norm_type)(t % 3);
        int clip = t % 4 != 1;
        make_centre(&rng, t / 3 % 4, n, 0, 1, x0);
        double eps = test_rng_range(&rng, 0, p == NORM_INF ? 0.3 : p == NORM_2 ? 1 : 3);
        bound_options o;
        bound_options_default(&o);
        bound_state st;
        tb_compute(&c.m, &o, x0, p, eps, clip, &st);
        const bound_work *w = st.work;
        assert_int_equal(w->fb_state, 1);
        assert_true(want_sparse ? !w->fb_A && w->fb_sp_ptr : w->fb_A && !w->fb_sp_ptr);
        bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0, .clip_hi = 1};
        for (size_t h = 0; h < rows; h++) {
            size_t co = h / ((size_t)ow * ow), oy = h % ((size_t)ow * ow) / ow, ox = h % ow;
            memset(a, 0, n * sizeof *a);
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    long iy = (long)oy - pad + ky, ix = (long)ox - pad + kx;
                    if (iy >= 0 && iy < HW && ix >= 0 && ix < HW)
                        a[iy * HW + ix] = L->weight[(co * k + ky) * k + kx];
                }
            ld mag = fabsl((ld)L->bias[co]);
            for (size_t j = 0; j < n; j++) mag += fabsl((ld)a[j] * x0[j]) + eps * fabsl((ld)a[j]);
            for (int side = 0; side < 2; side++) {
                ld sure, best;
                exact_side_any(&c, a, &R, side, &sure, &best);
                sure += L->bias[co];
                best += L->bias[co];
                ld b = side ? st.pre_upper[1][h] : st.pre_lower[1][h];
                n_checks++;
                rowsn++;
                int unsound = side ? !(b >= sure) : !(b <= sure);
                int far = !((side ? b - best : best - b) <= 1e-8L * mag + 1e-300L);
                bad += unsound;
                loose += far;
                if ((unsound || far) && n_printed++ < 20)
                    print_message("  conv %dx%d %s%s eps %.17g row %zu side %d: bound %.21Lg, exact %.21Lg .. %.21Lg\n",
                                  k, k, norm_name(p), clip ? " clip" : "", eps, h, side, b, best, sure);
            }
        }
        bound_state_free(&st);
    }
    print_message("  conv %dx%d first-block rows (%s): %d row sides, %d unsound, %d loose\n", k, k,
                  want_sparse ? "kept sparse" : "dense part way", rowsn, bad, loose);
    assert_int_equal(bad, 0);
    assert_int_equal(loose, 0);
    free(x0);
    free(a);
    free(c.pr);
    model_free(&c.m);
}

static void conv_first_block_rows_exact(void **state)
{
    (void)state;
    conv_rows_exact(3, 1, 3, 1);
    conv_rows_exact(9, 4, 2, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(l2_scale_regressions),
        cmocka_unit_test(clipped_balls_exact_and_sound),
        cmocka_unit_test(wide_first_block_rows_exact),
        cmocka_unit_test(conv_first_block_rows_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
