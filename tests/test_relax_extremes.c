/* Relaxations at extreme intervals, checked against the REAL function of the
 * stored doubles, evaluated in long double (tanhl, expl, atanl; ld_reference.h),
 * with no tolerance:
 *
 *  1. Relaxation lines of every activation x every line strategy directly at
 *     extreme intervals (l == u, widths 1e-300 .. 1e-12, |l|, |u| up to 1e300,
 *     boxes straddling 0 or a ramp kink by one ulp, subnormal endpoints), and
 *     FROWN's re-parameterized lines (relax_line_at, relax_sshape_tangent_at) at
 *     parameters inside, at and beyond their range ends, raw and projected as the
 *     engine projects them; each on a dense long double grid of [l, u] plus the
 *     kinks, the tangent points and their neighbours.
 *  2. MaxPool planes (tilin, deeppoly, cnncert, interval) of degenerate windows
 *     (equal bounds, one dominant input, identical intervals, points, huge and
 *     tiny magnitudes, padding cells through relax_maxpool) at every box corner
 *     and random points.
 *
 * FROWN and CROWN-Quad over eps sequences are in test_bound_eps_sequences.c,
 * certified radii attacked at the radius in test_radius_attack.c. */
#include "ld_reference.h"

#include <float.h>

#include "relax.h"

static long n_points; /* point checks made, for the summary lines */
static int n_printed; /* failure messages printed (capped) */

/* ---- 1. lines at extreme intervals --------------------------------------- */

#define LGRID 513  /* grid of the lines relax_activation builds */
#define PGRID 65   /* grid of each re-parameterized line */

static ld ld_line(double s, double t, ld z) { return (ld)s * z + (ld)t; }

/* Grid points of [l, u] plus the special points pts[0..np) (clamped). Returns
 * the number of violations of side `upper` of the line s*z + t. */
static int line_bad(const nn_layer *L, size_t k, double l, double u, int upper, double s, double t,
                    const double *pts, int np, const char *what, int grid)
{
    int bad = 0;
    ld lo = l, w = (ld)u - (ld)l;
    for (int g = -np; g < grid; g++) {
        ld z;
        if (g < 0) z = pts[-g - 1];
        else z = lo + w * ((ld)g / (grid - 1));
        if (z < lo) z = lo;
        if (z > (ld)u) z = u;
        ld f = ld_act(L, k, z), v = ld_line(s, t, z);
        n_points++;
        if (upper ? !(v >= f) : !(v <= f)) {
            if (bad < 1 && n_printed++ < 60)
                print_message("  %s %s: %s line %.17g*z%+.17g fails at z=%.21Lg on [%.17g, %.17g]: line %.21Lg, "
                              "f %.21Lg\n",
                              layer_type_name(L->type), what, upper ? "upper" : "lower", s, t, z, l, u, v, f);
            bad++;
        }
    }
    return bad;
}

/* Special points of [l, u]: ends, their neighbours inside, 0 and the kink r with
 * neighbours, and extra (tangent points). */
static int special_points(double l, double u, double r, const double *extra, int ne, double *pts)
{
    int n = 0;
    double base[4] = {l, u, 0.0, r};
    for (int b = 0; b < 4 + ne; b++) {
        double c = b < 4 ? base[b] : extra[b - 4];
        if (!isfinite(c)) continue;
        pts[n++] = c;
        pts[n++] = nextafter(c, INFINITY);
        pts[n++] = nextafter(c, -INFINITY);
    }
    return n;
}

/* Boxes that try to break a line: see the file comment. r is the ramp kink. */
static int extreme_boxes(double r, double *L, double *U)
{
    static const double centres[] = {0.0,   5e-324, -5e-324, 1e-310, -1e-310, 2.2250738585072014e-308,
                                     1e-300, -1e-300, 1e-12,  -1e-12,  0.5,     -0.5,
                                     1.0,   -1.0,    3.0,    -3.0,    20.0,    -20.0,
                                     40.0,  -40.0,   745.0,  -745.0,  800.0,   -800.0,
                                     1e15,  -1e15,   1e300,  -1e300};
    static const double widths[] = {1e-300, 1e-200, 1e-100, 1e-30, 1e-16, 1e-13, 1e-12, 3e-12};
    static const double big[] = {5e-324, 1e-310, 1e-300, 1e-12, 1e-3, 1.0, 30.0, 1e300};
    int n = 0;
    size_t nc = sizeof centres / sizeof centres[0];
    for (size_t c = 0; c < nc + 1; c++) {
        double x = c < nc ? centres[c] : r;
        L[n] = U[n] = x, n++;                                           /* point */
        L[n] = x, U[n] = nextafter(x, INFINITY), n++;                   /* one ulp */
        L[n] = nextafter(x, -INFINITY), U[n] = x, n++;
        for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
            double d = widths[w] * fmax(1.0, fabs(x));
            L[n] = x, U[n] = x + d, n++;
            L[n] = x - d, U[n] = x, n++;
            L[n] = x - 0.5 * d, U[n] = x + 0.5 * d, n++;
            L[n] = x, U[n] = x + widths[w], n++; /* absolute width (may round to a point) */
        }
    }
    /* straddling 0 by one ulp (or a subnormal) on one side */
    for (size_t b = 0; b < sizeof big / sizeof big[0]; b++) {
        L[n] = -5e-324, U[n] = big[b], n++;
        L[n] = -big[b], U[n] = 5e-324, n++;
        L[n] = -big[b], U[n] = big[b], n++;
        L[n] = -big[b], U[n] = 0.0, n++;
        L[n] = 0.0, U[n] = big[b], n++;
        L[n] = -1e300, U[n] = big[b], n++;
        L[n] = -big[b], U[n] = 1e300, n++;
        L[n] = r - big[b], U[n] = r + big[b], n++;  /* straddling the kink */
        L[n] = r, U[n] = r + big[b], n++;
        L[n] = r - big[b], U[n] = r, n++;
        L[n] = nextafter(r, -INFINITY), U[n] = r + big[b], n++;
        L[n] = r - big[b], U[n] = nextafter(r, INFINITY), n++;
    }
    /* huge one-sided and subnormal boxes */
    double hb[][2] = {{1e299, 1e300},   {-1e300, -1e299}, {1.0, 1e300},  {-1e300, -1.0},  {1e-315, 1e-310},
                      {-1e-310, -1e-315}, {-1e-310, 1e-315}, {0.0, 1e-320}, {-1e-320, 0.0}, {-3.0, 1e300},
                      {-1e300, 3.0},    {-1e300, 1e300},  {-745.5, -745.0}, {-800, -700}, {700, 800},
                      {-19.1, -19.0},   {-0.9, 40.0},     {-40.0, 0.9},  {-1e-12, 1e300}, {-1e300, 1e-12}};
    for (size_t b = 0; b < sizeof hb / sizeof hb[0]; b++) L[n] = hb[b][0], U[n] = hb[b][1], n++;
    for (int i = 0; i < n; i++)
        if (!(L[i] <= U[i])) {
            double t = L[i];
            L[i] = U[i], U[i] = t;
        }
    return n;
}

#define MAXBOX 2048

/* All checks of one neuron's lines for layer L (1 neuron, r = L->r[0]). */
static int check_one_neuron(const nn_layer *L, double l, double u, line_strategy strat)
{
    double ls, lt, us, ut, lp, llo, lhi, up, ulo, uhi;
    relax_lines one = {1, &ls, &lt, &us, &ut, &lp, &llo, &lhi, &up, &ulo, &uhi};
    nn_error err;
    assert_int_equal(relax_activation(L, 0, &l, &u, 1, strat, &one, &err), NN_OK);
    double r = L->r ? L->r[0] : 0.0;
    double extra[4] = {lp, up, 0.5 * l + 0.5 * u, l + (u - l) * 0.25};
    double pts[24];
    int np = special_points(l, u, r, extra, 4, pts);
    char what[192];
    snprintf(what, sizeof what, "strategy %s", line_strategy_name(strat));
    int bad = line_bad(L, 0, l, u, 0, ls, lt, pts, np, what, LGRID) + line_bad(L, 0, l, u, 1, us, ut, pts, np, what, LGRID);
    /* FROWN's lines at and beyond the parameter range, raw and projected */
    int sshape = L->type == LAYER_TANH || L->type == LAYER_SIGMOID || L->type == LAYER_ARCTAN;
    relax_sbox box;
    if (sshape) relax_sshape_box(L->type, l, u, &box);
    for (int side = 0; side < 2; side++) {
        double lo = side ? ulo : llo, hi = side ? uhi : lhi;
        double ps[] = {lo,
                       hi,
                       0.5 * lo + 0.5 * hi,
                       nextafter(lo, -INFINITY),
                       nextafter(hi, INFINITY),
                       lo - 1.0,
                       hi + 1.0,
                       lo - fabs(lo) - 1e300,
                       hi + fabs(hi) + 1e300,
                       0.0,
                       l,
                       u};
        for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++)
            for (int proj = 0; proj < 2; proj++) {
                if (!(lo < hi) && (proj || (q != 0 && q != 7))) continue; /* no freedom: one line */
                double p = ps[q];
                if (proj) p = p < lo ? lo : (p > hi ? hi : p);
                double s, t;
                relax_line_at(L, 0, l, u, side, p, &s, &t);
                double ex[1] = {p};
                int np2 = special_points(l, u, r, ex, 1, pts);
                snprintf(what, sizeof what, "relax_line_at(p=%.17g%s) range [%.17g, %.17g]", ps[q],
                         proj ? " projected" : "", lo, hi);
                bad += line_bad(L, 0, l, u, side, s, t, pts, np2, what, PGRID);
                if (sshape && lo < hi) { /* FROWN's inner loop must give the same line */
                    double s2, t2, ds;
                    relax_sshape_tangent_at(&box, side, p, &s2, &t2, &ds);
                    if (proj && (s2 != s || t2 != t)) {
                        print_message("  %s on [%.17g, %.17g] side %d p %.17g: tangent_at (%.17g, %.17g) vs "
                                      "line_at (%.17g, %.17g)\n",
                                      layer_type_name(L->type), l, u, side, p, s2, t2, s, t);
                        bad++;
                    }
                    snprintf(what, sizeof what, "relax_sshape_tangent_at(p=%.17g%s)", ps[q], proj ? " projected" : "");
                    bad += line_bad(L, 0, l, u, side, s2, t2, pts, np2, what, PGRID);
                }
            }
    }
    return bad;
}

static void lines_at_extreme_intervals(void **state)
{
    (void)state;
    static const double alphas[] = {0.0, 0.01, 0.1, 0.5, 1.0, 1e-9, 0.3};
    static const double etas[] = {0.0, 0.15, 0.5, 1.0, 1e-9, 0.7};
    static const double rs[] = {0.0, 0.3, 1e-300, 5e-324, 1.0, 0.123456789, 1e300};
    double *Lb = malloc(MAXBOX * sizeof *Lb), *Ub = malloc(MAXBOX * sizeof *Ub);
    assert_non_null(Lb);
    assert_non_null(Ub);
    int layers = 0, bad = 0, nboxes = 0;
    long p0 = n_points;
    const layer_type types[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP,
                                LAYER_TANH, LAYER_SIGMOID,    LAYER_ARCTAN};
    for (size_t ti = 0; ti < 6; ti++) {
        int nvar = types[ti] == LAYER_LEAKY_RELU ? 7 : types[ti] == LAYER_PARAM_RAMP ? 6 * 7 : 1;
        for (int var = 0; var < nvar; var++) {
            nn_layer L = layer_make(types[ti]);
            double r = 0.0;
            if (types[ti] == LAYER_LEAKY_RELU) L.alpha = alphas[var];
            if (types[ti] == LAYER_PARAM_RAMP) {
                L.alpha = etas[var % 6];
                r = rs[var / 6];
                L.r = &r;
                L.in = (nn_shape){1, 1, 1};
                L.in_features = 1;
            }
            int n = extreme_boxes(r, Lb, Ub);
            assert_true(n <= MAXBOX);
            for (int b = 0; b < n; b++)
                for (int s = 0; s < 3; s++) {
                    int v = check_one_neuron(&L, Lb[b], Ub[b], (line_strategy)s);
                    if (v)
                        print_message("  -> %s alpha %.17g r %.17g box %d [%.17g, %.17g] strategy %s: %d bad\n",
                                      layer_type_name(L.type), L.alpha, r, b, Lb[b], Ub[b],
                                      line_strategy_name((line_strategy)s), v);
                    bad += v > 0;
                }
            nboxes += n;
            layers++;
        }
    }
    free(Lb);
    free(Ub);
    print_message("lines: %d activation variants, %d boxes x 3 strategies, %ld point checks, %d failing\n", layers,
                  nboxes, n_points - p0, bad);
    assert_int_equal(bad, 0);
}

/* ---- 2. MaxPool planes at degenerate windows ----------------------------- */

#define MAXWIN 9

/* Planes of one window against max_k x_k at every corner (n <= 9) and random
 * points of the box (long double, some between doubles). Returns violations. */
static int window_bad(pool_method meth, const double *l, const double *u, int n, const double *lc, double lb,
                      const double *uc, double ub, test_rng *rng, const char *what)
{
    int bad = 0, corners = 1 << n;
    for (int q = 0; q < corners + 64; q++) {
        ld x[MAXWIN], mx = -INFINITY, lo = lb, hi = ub;
        for (int k = 0; k < n; k++) {
            if (q < corners) x[k] = (q >> k & 1) ? u[k] : l[k];
            else {
                ld t = (ld)test_rng_uniform(rng);
                if (q % 4 == 0) t = t < 0.5 ? 0 : 1; /* mixed corners and faces */
                x[k] = (ld)l[k] + ((ld)u[k] - (ld)l[k]) * t;
                if (x[k] > (ld)u[k]) x[k] = u[k];
                if (x[k] < (ld)l[k]) x[k] = l[k];
            }
            mx = x[k] > mx ? x[k] : mx;
            lo += (ld)lc[k] * x[k];
            hi += (ld)uc[k] * x[k];
        }
        n_points++;
        if (!(lo <= mx && mx <= hi)) {
            if (bad == 0 && n_printed++ < 60) {
                print_message("  maxpool %s %s n %d point %d: lower %.21Lg, max %.21Lg, upper %.21Lg\n",
                              pool_method_name(meth), what, n, q, lo, mx, hi);
                for (int k = 0; k < n; k++)
                    print_message("    x%d in [%.17g, %.17g] = %.21Lg, lower coef %.17g, upper coef %.17g\n", k,
                                  l[k], u[k], x[k], lc[k], uc[k]);
                print_message("    lower icpt %.17g, upper icpt %.17g\n", lb, ub);
            }
            bad++;
        }
    }
    return bad;
}

/* Degenerate windows of n inputs, case c (see the file comment); returns 0 when
 * the case does not exist. */
static int make_window(int c, int n, test_rng *rng, double *l, double *u)
{
    static const double mags[] = {1.0, 1e-300, 5e-324, 1e-310, 1e300, 1e-12, 1e12};
    double m = mags[(size_t)(test_rng_uniform(rng) * 7)];
    double a = m * test_rng_range(rng, -1, 1), b = a + m * test_rng_uniform(rng);
    for (int k = 0; k < n; k++) {
        double x = m * test_rng_range(rng, -1, 1), y = m * test_rng_range(rng, -1, 1);
        switch (c) {
        case 0: l[k] = u[k] = a; break;                           /* all the same point */
        case 1: l[k] = a, u[k] = b; break;                        /* identical intervals */
        case 2: l[k] = u[k] = x; break;                           /* all points, distinct */
        case 3: l[k] = fmin(x, y), u[k] = fmax(x, y); break;      /* random */
        case 4: /* one dominant input (k = 0), touching the others' max upper bound */
            if (k == 0) l[k] = b, u[k] = b + m * test_rng_uniform(rng);
            else l[k] = a - m * test_rng_uniform(rng), u[k] = k == 1 ? b : a;
            break;
        case 5: /* ties in u, distinct l */
            l[k] = a - m * test_rng_uniform(rng), u[k] = b;
            break;
        case 6: /* one ulp wide boxes around a common value */
            l[k] = a, u[k] = nextafter(a, INFINITY);
            if (k % 2) l[k] = nextafter(a, -INFINITY), u[k] = a;
            break;
        case 7: /* huge and tiny mixed */
            l[k] = k % 2 ? -1e300 : -5e-324, u[k] = k % 2 ? 1e300 * test_rng_uniform(rng) : 5e-324;
            break;
        case 8: /* a point among wide boxes */
            if (k == 0) l[k] = u[k] = a;
            else l[k] = a - m, u[k] = a + m * test_rng_uniform(rng);
            break;
        case 9: /* second-largest upper bound equal to the dominant's lower bound, u3 ties */
            if (k == 0) l[k] = a, u[k] = b;
            else if (k == 1) l[k] = a - m, u[k] = a;
            else l[k] = a - 2 * m, u[k] = a - m;
            break;
        default: /* width 1e-300 .. 1e-12 relative */
            l[k] = x, u[k] = x + fabs(x) * pow(10.0, -12 - 288 * test_rng_uniform(rng));
            break;
        }
        if (!(l[k] <= u[k]) || !isfinite(l[k]) || !isfinite(u[k])) return 0;
    }
    return 1;
}

static void maxpool_planes_at_degenerate_windows(void **state)
{
    (void)state;
    test_rng rng = {424242};
    const int sizes[] = {2, 3, 4, 9};
    int windows = 0, bad = 0;
    long p0 = n_points;
    for (int rep = 0; rep < 40; rep++)
        for (int c = 0; c < 11; c++)
            for (size_t si = 0; si < 4; si++) {
                int n = sizes[si];
                double l[MAXWIN], u[MAXWIN];
                if (!make_window(c, n, &rng, l, u)) continue;
                /* a random permutation, so that ties meet every index order */
                for (int k = n - 1; k > 0; k--) {
                    int j = (int)(test_rng_uniform(&rng) * (k + 1));
                    double t = l[k];
                    l[k] = l[j], l[j] = t;
                    t = u[k], u[k] = u[j], u[j] = t;
                }
                for (int meth = 0; meth <= POOL_INTERVAL; meth++) {
                    double lc[MAXWIN], uc[MAXWIN], lb, ub;
                    relax_maxpool_window((pool_method)meth, l, u, n, lc, &lb, uc, &ub);
                    char what[32];
                    snprintf(what, sizeof what, "case %d", c);
                    int v = window_bad((pool_method)meth, l, u, n, lc, lb, uc, ub, &rng, what);
                    bad += v > 0;
                    windows++;
                }
            }
    /* padding cells through relax_maxpool: 1x3x3 input, 2x2 windows, stride 2, pad 1 */
    nn_layer L = layer_make(LAYER_MAXPOOL2D);
    L.kernel[0] = L.kernel[1] = 2;
    L.stride[0] = L.stride[1] = 2;
    for (int q = 0; q < 4; q++) L.pad[q] = 1;
    nn_model mm;
    nn_error err;
    model_init(&mm);
    mm.input = (nn_shape){1, 3, 3};
    test_add_layer(&mm, L);
    assert_int_equal(model_finalize(&mm, &err), NN_OK);
    const nn_layer *PL = &mm.layers[0];
    for (int rep = 0; rep < 60; rep++) {
        double l[9], u[9];
        if (!make_window(rep % 11, 9, &rng, l, u)) continue;
        for (int meth = 0; meth <= POOL_INTERVAL; meth++) {
            relax_pool P;
            assert_int_equal(relax_pool_init(&P, PL, &err), NN_OK);
            assert_int_equal(relax_maxpool(PL, l, u, (pool_method)meth, &P, &err), NN_OK);
            for (size_t o = 0; o < P.n_out; o++) {
                double wl[MAXWIN], wu[MAXWIN], wlc[MAXWIN], wuc[MAXWIN];
                int m = 0;
                for (int k = 0; k < P.window; k++) {
                    size_t s = o * (size_t)P.window + (size_t)k;
                    if (P.inputs[s] < 0) {
                        assert_true(P.lower_coef[s] == 0.0 && P.upper_coef[s] == 0.0);
                        continue;
                    }
                    wl[m] = l[P.inputs[s]], wu[m] = u[P.inputs[s]];
                    wlc[m] = P.lower_coef[s], wuc[m] = P.upper_coef[s];
                    m++;
                }
                bad += window_bad((pool_method)meth, wl, wu, m, wlc, P.lower_icpt[o], wuc, P.upper_icpt[o], &rng,
                                  "padded layer") > 0;
                windows++;
            }
            relax_pool_free(&P);
        }
    }
    model_free(&mm);
    print_message("maxpool: %d windows x planes, %ld point checks, %d failing\n", windows, n_points - p0, bad);
    assert_int_equal(bad, 0);
}

/* ParamRamp's S6 lines (l > r) are phi's last piece eta*z + c, and phi is the
 * real eta*z + (1-eta)*r: one rounded c = fl(fl(1-eta)*r) for BOTH lines would
 * put one of them on the wrong side whenever c is inexact (eta 0.15, r 0.3: the
 * lower line by 1.2e-17 on [0.5, 0.5]), so each line must be a real bound.
 * Exactly representable c stay exact. */
static void param_ramp_last_piece_lines_are_real_bounds(void **state)
{
    (void)state;
    const double cases[][4] = {/* eta, r, l, u */
                               {0.15, 0.3, 0.5, 0.5},   {0.15, 0.3, 0.5, 7.0},     {1e-9, 0.7, 1.0, 2.0},
                               {0.7, 0.123456789, 1.0, 1e300}, {1 - 0x1p-52, 5e-324, 1.0, 1.0},
                               {0.25, 2.0, 3.0, 4.0} /* c = 1.5 exact: lines stay exact */};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_layer L = layer_make(LAYER_PARAM_RAMP);
        double r = cases[c][1], l = cases[c][2], u = cases[c][3];
        L.alpha = cases[c][0];
        L.r = &r;
        L.in = (nn_shape){1, 1, 1};
        L.in_features = 1;
        for (int s = 0; s < 3; s++) assert_int_equal(check_one_neuron(&L, l, u, (line_strategy)s), 0);
        if (c == 5) {
            double ls, lt, us, ut, lp, llo, lhi, up, ulo, uhi;
            relax_lines one = {1, &ls, &lt, &us, &ut, &lp, &llo, &lhi, &up, &ulo, &uhi};
            nn_error err;
            assert_int_equal(relax_activation(&L, 0, &l, &u, 1, LINES_TIGHT, &one, &err), NN_OK);
            assert_true(ls == 0.25 && lt == 1.5 && us == 0.25 && ut == 1.5);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_at_extreme_intervals),
        cmocka_unit_test(param_ramp_last_piece_lines_are_real_bounds),
        cmocka_unit_test(maxpool_planes_at_degenerate_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
