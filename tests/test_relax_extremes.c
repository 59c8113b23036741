/* Second adversarial soundness audit (the first is tests/test_bound_audit.c,
 * random architectures x methods). Truth is always the REAL function of the
 * stored doubles, evaluated in long double (tanhl, expl, atanl; audit_ld.h), and
 * every comparison is made with no tolerance.
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
 *  3. FROWN with G > 1, row_block 1 / 3, few and many iterations, warm starts over
 *     decreasing and increasing eps sequences on one image and state, and
 *     CROWN-Quad on ReLU nets: sampled soundness against the long double forward.
 *  4. The certify pipeline: cert_run_task's radius on small random nets is
 *     attacked at exactly that radius by a long double PGD-like local search and
 *     random sampling, and re-verified at exactly the radius. */
#include "ld_reference.h"

#include <float.h>

#include "certify.h"
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
    tb_add(&mm, L);
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

/* ---- 3. FROWN and CROWN-Quad over eps sequences ----------------------------- */

#define N_SAMP3 20
#define ROWS3 3

/* Bounds of the state's current region (bound_compute done) and spec rows C, d
 * with bounds sl, su, against the long double forward at sampled points of the
 * real region. Fails the test with a description on the first violation. */
static void check_samples(const bound_state *st, const double *C, const double *d, const double *sl,
                          const double *su, size_t rows, test_rng *rng, const char *desc)
{
    const nn_model *m = st->model;
    const bound_region *R = &st->region;
    size_t n_in = model_input_size(m);
    double x[128];
    assert_true(n_in <= 128);
    ld **acts = calloc((size_t)m->n_layers + 1, sizeof *acts);
    assert_non_null(acts);
    for (size_t s = 0; s < N_SAMP3; s++) {
        if (s == 0) memcpy(x, R->center, n_in * sizeof *x);
        else tb_sample(rng, R, n_in, (int)(s % 3), x);
        into_region(R, x, n_in);
        if (R->clip)
            for (size_t j = 0; j < n_in; j++) x[j] = x[j] < R->clip_lo ? R->clip_lo : x[j] > R->clip_hi ? R->clip_hi : x[j];
        ld_forward(m, x, acts);
        char why[400];
        ld_check_trace(m, st, acts, C, d, sl, su, rows, why, sizeof why);
        for (int i = 0; i <= m->n_layers; i++) free(acts[i]);
        if (why[0])
            fail_msg("%s | norm %s eps %.17g clip %d | sample %zu: %s", desc, norm_name(R->norm), R->eps, R->clip, s,
                     why);
        n_points++;
    }
    free(acts);
}

/* One state over a sequence of eps on one image: warm starts carry over. */
static void run_sequence(const nn_model *m, const bound_options *o, const double *x0, norm_type p, int clip,
                         const double *eps, int n_eps, test_rng *rng, const char *desc)
{
    nn_error err;
    size_t no = model_output_size(m);
    bound_state st;
    if (bound_state_init(&st, m, o, &err) != NN_OK) fail_msg("%s: bound_state_init: %s", desc, err.msg);
    double C[ROWS3 * 8], d[ROWS3], sl[ROWS3], su[ROWS3];
    assert_true(no <= 8);
    for (size_t k = 0; k < ROWS3 * no; k++) C[k] = test_rng_range(rng, -1, 1);
    for (size_t k = 0; k < no; k++) C[k] = k == 0 ? 1.0 : k == 1 ? -1.0 : 0.0; /* a margin row */
    for (size_t k = 0; k < ROWS3; k++) d[k] = test_rng_range(rng, -1, 1);
    for (int e = 0; e < n_eps; e++) {
        bound_region R = {.center = x0, .eps = eps[e], .norm = p, .clip = clip, .clip_lo = 0.0, .clip_hi = 1.0};
        if (bound_set_region(&st, &R, &err) != NN_OK) fail_msg("%s: bound_set_region: %s", desc, err.msg);
        if (bound_compute(&st, &err) != NN_OK) fail_msg("%s eps %g: bound_compute: %s", desc, eps[e], err.msg);
        if (bound_spec(&st, C, ROWS3, no, d, sl, su, &err) != NN_OK)
            fail_msg("%s eps %g: bound_spec: %s", desc, eps[e], err.msg);
        check_samples(&st, C, d, sl, su, ROWS3, rng, desc);
        /* adversarial points for every spec row, both sides */
        for (size_t q = 0; q < ROWS3; q++)
            for (int side = 0; side < 2; side++) {
                double w[8], xb[128];
                for (size_t k = 0; k < no; k++) w[k] = side ? -C[q * no + k] : C[q * no + k];
                int big = model_input_size(m) > 16; /* the CNN: finite differences cost n forwards */
                ld v = ld_pgd_min(m, &st.region, w, side ? -d[q] : d[q], big ? 1 : 2, big ? 2 : 6, rng, xb);
                n_points++;
                if (side ? !(-v <= (ld)su[q]) : !(v >= (ld)sl[q]))
                    fail_msg("%s | norm %s eps %.17g: search finds spec row %zu = %.21Lg outside [%.17g, %.17g]",
                             desc, norm_name(p), eps[e], q, side ? -v : v, sl[q], su[q]);
            }
    }
    bound_state_free(&st);
}

static void frown_and_quad_over_eps_sequences(void **state)
{
    (void)state;
    static const double down[] = {0.4, 0.12, 0.05, 0.02, 0.0, 0.03};
    static const double up[] = {0.0, 0.01, 0.04, 0.15, 0.6, 0.15};
    static const double zig[] = {0.05, 0.3, 0.01, 1e-12, 0.2, 0.05};
    const double *seqs[3] = {down, up, zig};
    struct { size_t G, rb; int iters; double lr; int warm, single; } fo[] = {
        {1, 1, 5, 0.1, 1, 0},   {2, 1, 3, 0.5, 1, 0},  {3, 3, 8, 0.1, 1, 0},   {8, 0, 2, 2.0, 1, 0},
        {1, 3, 0, 0.1, 1, 0},   {4, 3, 30, 0.3, 1, 0}, {2, 0, 6, 0.1, 0, 0},   {3, 1, 4, 1.0, 1, 1},
        {1, 0, 1, 10.0, 1, 0},  {5, 3, 3, 0.1, 1, 1},
    };
    test_rng rng = {777};
    int runs = 0;
    long p0 = n_points;
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = 0; a < TB_N_ACTS; a++) {
            nn_model m;
            test_rng mr = {9000u + 31u * (uint64_t)fam + (uint64_t)a};
            tb_build(&m, &mr, fam, tb_acts[a]);
            size_t n_in = model_input_size(&m);
            double *x0 = tb_rand_vec(&mr, n_in, 0.0, 1.0);
            for (size_t c = 0; c < sizeof fo / sizeof fo[0]; c++) {
                if (fam == 1 && c % 2) continue; /* the CNN is slower: half the option sets */
                bound_options o;
                bound_options_default(&o);
                o.method = METHOD_FROWN;
                o.frown_group = fo[c].G;
                o.row_block = fo[c].rb;
                o.frown_iters = fo[c].iters;
                o.frown_lr = fo[c].lr;
                o.frown_warm = fo[c].warm;
                o.single = fo[c].single;
                o.frown_patience = 3;
                o.spec_upper = 1;
                if (c % 3 == 2) o.skip_stable = o.intersect_ibp = 0;
                if (c % 4 == 1) o.strategy = (line_strategy)(c % 3);
                norm_type p = (norm_type)((c + a) % 3);
                int clip = (int)((c + fam) % 2);
                double eps[6];
                for (int e = 0; e < 6; e++) eps[e] = seqs[(c + a) % 3][e] * (p == NORM_INF ? 1.0 : 3.0);
                char desc[200];
                snprintf(desc, sizeof desc, "frown fam %d act %s G %zu rb %zu iters %d lr %g warm %d single %d raw %d",
                         fam, layer_type_name(tb_acts[a]), fo[c].G, fo[c].rb, fo[c].iters, fo[c].lr, fo[c].warm,
                         fo[c].single, !o.skip_stable);
                run_sequence(&m, &o, x0, p, clip, eps, 6, &rng, desc);
                runs++;
            }
            if (tb_acts[a] == LAYER_RELU)
                for (int qi = 0; qi < 6; qi++) {
                    bound_options o;
                    bound_options_default(&o);
                    o.method = METHOD_CROWN_QUAD;
                    o.quad_iters = qi % 3 == 0 ? 1 : qi % 3 == 1 ? 20 : 200;
                    o.spec_upper = qi % 2;
                    o.single = qi == 4;
                    o.row_block = qi == 5 ? 1 : 0;
                    if (qi >= 3) o.skip_stable = o.intersect_ibp = 0;
                    norm_type p = (norm_type)(qi % 3);
                    double eps[6];
                    for (int e = 0; e < 6; e++) eps[e] = seqs[qi % 3][e] * (p == NORM_INF ? 1.0 : 3.0);
                    char desc[160];
                    snprintf(desc, sizeof desc, "crown-quad fam %d iters %d spec_upper %d single %d", fam,
                             o.quad_iters, o.spec_upper, o.single);
                    run_sequence(&m, &o, x0, p, qi % 2, eps, 6, &rng, desc);
                    runs++;
                }
            free(x0);
            model_free(&m);
        }
    print_message("frown/quad: %d eps sequences of 6, %ld sample points\n", runs, n_points - p0);
}

/* ---- 4. the certify pipeline ------------------------------------------------ */

/* Small random nets: in -> dense h -> act -> [dense h2 -> act] -> dense classes. */
static void build_small_net(nn_model *m, test_rng *r, int in, int h, int h2, int classes, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){in, 1, 1};
    tb_dense(m, r, in, h);
    tb_act(m, r, act, (size_t)h);
    int last = h;
    if (h2) {
        tb_dense(m, r, h, h2);
        tb_act(m, r, act, (size_t)h2);
        last = h2;
    }
    tb_dense(m, r, last, classes);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static void certified_radius_survives_attack(void **state)
{
    (void)state;
    test_rng rng = {31337};
    const bound_method ms[] = {METHOD_CROWN, METHOD_FROWN, METHOD_CROWN_IBP, METHOD_IBP,
                               METHOD_CROWN_LBP, METHOD_FASTLIN, METHOD_CROWN_QUAD, METHOD_LBP};
    int tasks = 0, certified = 0, attacked = 0, broken = 0, tried = 0;
    ld min_rel = INFINITY, rel_sum = 0;
    for (int net = 0; net < 24; net++) {
        layer_type act = net % 8 == 0 || net % 8 == 3 ? LAYER_RELU : tb_acts[(size_t)net % TB_N_ACTS];
        nn_model m;
        test_rng mr = {5000u + (uint64_t)net};
        int in = 2 + net % 4, classes = 2 + net % 3;
        build_small_net(&m, &mr, in, 3 + net % 5, net % 3 == 0 ? 4 : 0, classes, act);
        bound_method meth = ms[(size_t)net % 8];
        if (meth == METHOD_CROWN_QUAD && act != LAYER_RELU) meth = METHOD_CROWN;
        for (int img = 0; img < 2; img++) {
            double x[8], logits[8];
            for (int j = 0; j < in; j++) x[j] = test_rng_uniform(&rng);
            nn_error err;
            assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
            for (int variant = 0; variant < 3; variant++) {
                bound_options o;
                bound_options_default(&o);
                o.method = meth;
                o.frown_iters = 8;
                o.quad_iters = 30;
                o.frown_group = 1 + (size_t)(variant == 2);
                o.frown_warm = variant != 1;
                if (variant == 2) o.skip_stable = o.intersect_ibp = 0;
                cert_task_options to;
                memset(&to, 0, sizeof to);
                to.norm = (norm_type)((net + variant) % 3);
                to.clip = (img + variant) % 2;
                cert_search_options_default(&to.search, to.norm, (size_t)in);
                to.search.kind = variant == 1 ? SEARCH_CROWN15 : SEARCH_BISECT;
                to.search.use_margin = variant != 2;
                to.search.rtol = 1e-6;
                int target = variant == 0 ? CERT_UNTARGETED : (int)((size_t)(img + 1) % (size_t)classes);
                cert_verifier v;
                assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
                int c = forward_argmax(logits, (size_t)classes);
                if (target == c) target = CERT_UNTARGETED;
                cert_result r;
                char desc[200];
                snprintf(desc, sizeof desc, "net %d act %s method %s img %d variant %d norm %s clip %d target %d", net,
                         layer_type_name(act), bound_method_name(meth), img, variant, norm_name(to.norm), to.clip,
                         target);
                if (cert_run_task(&v, &to, x, logits, img, c, target, &r, &err) != NN_OK)
                    fail_msg("%s: cert_run_task: %s", desc, err.msg);
                tasks++;
                if (r.status == CERT_CERTIFIED) {
                    certified++;
                    assert_true(r.radius > 0 && r.margin > 0);
                    /* Attack at exactly the reported radius: every margin row, PGD + samples. */
                    bound_region R = {.center = x, .eps = r.radius, .norm = to.norm, .clip = to.clip,
                                      .clip_lo = 0.0, .clip_hi = 1.0};
                    for (int j = 0; j < classes; j++) {
                        if (j == c || (target != CERT_UNTARGETED && j != target)) continue;
                        double w[8] = {0}, xb[8];
                        w[c] = 1.0, w[j] = -1.0;
                        ld best = ld_pgd_min(&m, &R, w, 0.0, 4, 25, &rng, xb);
                        for (int s = 0; s < 200; s++) {
                            double y[8];
                            tb_sample(&rng, &R, (size_t)in, s % 3, y);
                            project(&R, y, (size_t)in);
                            ld vv = ld_row(&m, y, w, 0.0);
                            if (vv < best) best = vv, memcpy(xb, y, sizeof y);
                        }
                        attacked++;
                        /* the attacker's strength: relative margin left at the radius, and
                         * whether it breaks the net at twice the bracket's upper end */
                        ld m0 = ld_row(&m, x, w, 0.0);
                        if (best / m0 < min_rel) min_rel = best / m0;
                        rel_sum += best / m0;
                        if (isfinite(r.hi)) {
                            bound_region R2 = R;
                            R2.eps = 2 * r.hi;
                            double xb2[8];
                            broken += ld_pgd_min(&m, &R2, w, 0.0, 4, 25, &rng, xb2) <= 0;
                            tried++;
                        }
                        if (!(best > 0))
                            fail_msg("%s: certified radius %.17g (margin bound %.17g) but the point x0 + (%.17g, "
                                     "%.17g, ...) has margin z_%d - z_%d = %.21Lg",
                                     desc, r.radius, r.margin, xb[0] - x[0], in > 1 ? xb[1] - x[1] : 0.0, c, j, best);
                    }
                    /* Re-verification at exactly the radius from a fresh state (FROWN
                     * with warm starts depends on the search's history: not required). */
                    if (!(meth == METHOD_FROWN && o.frown_warm)) {
                        cert_verifier v2;
                        double mg;
                        int ok;
                        assert_int_equal(cert_verifier_init(&v2, &m, &o, &err), NN_OK);
                        assert_int_equal(cert_verify(&v2, x, to.norm, r.radius, to.clip, c, target, &mg, &ok, &err),
                                         NN_OK);
                        if (!ok || mg != r.margin)
                            fail_msg("%s: re-verification at radius %.17g gives margin %.17g (search: %.17g)", desc,
                                     r.radius, mg, r.margin);
                        cert_verifier_free(&v2);
                    }
                    /* just beyond the reported bracket's upper end must not be certified
                     * by an evaluation if the search saw it fail */
                }
                cert_verifier_free(&v);
            }
        }
        model_free(&m);
    }
    print_message("certify: %d tasks, %d certified, %d (task, class) pairs attacked at the radius (margin left: "
                  "min %.3Lg, mean %.3Lg of the clean margin); at 2 x hi the attack breaks %d of %d\n",
                  tasks, certified, attacked, min_rel, rel_sum / (attacked ? attacked : 1), broken, tried);
    assert_true(certified > tasks / 4);
}

/* Radii pushed to the edge (rtol 1e-15) on nets that are linear over the region:
 * purely linear models (closed-form worst case: margin(x0) - eps * dual norm of
 * the effective row, in long double) and dense -> ReLU/leaky with every neuron on
 * one side (local search). Here only the rounding budgets keep the radius sound. */
static void sharp_radii_on_linear_nets(void **state)
{
    (void)state;
    test_rng rng = {2718};
    const bound_method ms[] = {METHOD_CROWN, METHOD_IBP, METHOD_CROWN_IBP, METHOD_LBP, METHOD_FROWN, METHOD_CROWN_LBP};
    int tasks = 0;
    ld min_rel = INFINITY;
    for (int net = 0; net < 36; net++) {
        nn_model m;
        nn_error err;
        model_init(&m);
        int in = 1 + net % 5, classes = 2 + net % 2, kind = net % 3; /* 0 linear, 1 relu alive, 2 leaky dead */
        m.input = (nn_shape){in, 1, 1};
        double sc = net % 4 == 0 ? 1e-3 : net % 4 == 1 ? 1e3 : 1.0;
        int width = in, depth = 1 + net % 3;
        for (int dl = 0; dl < depth; dl++) {
            int out = dl == depth - 1 ? classes : 2 + (net + dl) % 4;
            double *W = tb_rand_vec(&rng, (size_t)width * out, -sc, sc), *b = tb_rand_vec(&rng, (size_t)out, -sc, sc);
            if (kind && dl == 0)
                for (int o = 0; o < out; o++) b[o] = (kind == 1 ? 1 : -1) * 100.0 * sc * width;
            tb_dense_from(&m, width, out, W, b);
            free(W);
            free(b);
            if (kind && dl == 0) {
                nn_layer a = layer_make(kind == 1 ? LAYER_RELU : LAYER_LEAKY_RELU);
                a.alpha = 0.3;
                tb_add(&m, a);
            }
            width = out;
        }
        assert_int_equal(model_finalize(&m, &err), NN_OK);
        double x[8], logits[8];
        for (int j = 0; j < in; j++) x[j] = test_rng_uniform(&rng);
        assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
        int c = forward_argmax(logits, (size_t)classes);
        for (int variant = 0; variant < 4; variant++) {
            bound_options o;
            bound_options_default(&o);
            o.method = ms[(size_t)(net + variant) % 6];
            o.single = variant == 3;
            o.frown_iters = 4;
            if (variant == 2) o.skip_stable = o.intersect_ibp = 0;
            cert_task_options to;
            memset(&to, 0, sizeof to);
            to.norm = (norm_type)((net + variant) % 3);
            cert_search_options_default(&to.search, to.norm, (size_t)in);
            to.search.rtol = 1e-15;
            to.search.max_evals = 200;
            to.search.eps_max = 1e6;
            cert_verifier v;
            assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
            cert_result r;
            char desc[200];
            snprintf(desc, sizeof desc, "sharp net %d kind %d method %s single %d raw %d norm %s", net, kind,
                     bound_method_name(o.method), o.single, variant == 2, norm_name(to.norm));
            if (cert_run_task(&v, &to, x, logits, 0, c, CERT_UNTARGETED, &r, &err) != NN_OK)
                fail_msg("%s: cert_run_task: %s", desc, err.msg);
            tasks++;
            if (r.status == CERT_CERTIFIED) {
                bound_region R = {.center = x, .eps = r.radius, .norm = to.norm};
                for (int j = 0; j < classes; j++) {
                    if (j == c) continue;
                    double w[8] = {0}, xb[8];
                    w[c] = 1.0, w[j] = -1.0;
                    ld best = ld_pgd_min(&m, &R, w, 0.0, 3, 12, &rng, xb);
                    if (kind == 0) { /* closed form: the effective row through the dense layers */
                        ld row[8] = {0}, nxt[8];
                        size_t nw = (size_t)classes;
                        for (size_t k = 0; k < nw; k++) row[k] = w[k];
                        ld cst = 0;
                        for (int li = m.n_layers - 1; li >= 0; li--) {
                            const nn_layer *L = &m.layers[li];
                            size_t ni = shape_size(L->in);
                            for (size_t k = 0; k < nw; k++) cst += row[k] * (ld)L->bias[k];
                            for (size_t i2 = 0; i2 < ni; i2++) {
                                nxt[i2] = 0;
                                for (size_t k = 0; k < nw; k++) nxt[i2] += row[k] * (ld)L->weight[k * ni + i2];
                            }
                            memcpy(row, nxt, ni * sizeof *row);
                            nw = ni;
                        }
                        ld at = cst, dual = 0;
                        for (int i2 = 0; i2 < in; i2++) {
                            at += row[i2] * (ld)x[i2];
                            ld a = fabsl(row[i2]);
                            if (to.norm == NORM_INF) dual += a;
                            else if (to.norm == NORM_2) dual += a * a;
                            else dual = a > dual ? a : dual;
                        }
                        if (to.norm == NORM_2) dual = sqrtl(dual);
                        ld exact = at - (ld)r.radius * dual;
                        if (exact < best) best = exact;
                    }
                    ld m0 = ld_row(&m, x, w, 0.0);
                    if (best / m0 < min_rel) min_rel = best / m0;
                    if (!(best > 0))
                        fail_msg("%s: certified radius %.17g (margin bound %.17g), worst margin z_%d - z_%d = %.21Lg",
                                 desc, r.radius, r.margin, c, j, best);
                }
            }
            cert_verifier_free(&v);
        }
        model_free(&m);
    }
    print_message("sharp radii: %d tasks, smallest margin left at the radius %.3Lg of the clean margin\n", tasks,
                  min_rel);
}

/* Found by this audit: ParamRamp's S6 lines (l > r) were phi's last piece
 * eta*z + c with c = fl(fl(1-eta)*r) for BOTH lines; phi is the real
 * eta*z + (1-eta)*r, so an inexact c put one line on the wrong side (here the
 * lower line, by 1.2e-17 on [0.5, 0.5]). Exactly representable c stay exact. */
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
        cmocka_unit_test(frown_and_quad_over_eps_sequences),
        cmocka_unit_test(certified_radius_survives_attack),
        cmocka_unit_test(sharp_radii_on_linear_nets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
