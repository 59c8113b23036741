/* Radius searches against synthetic oracles: the reported radius was certified by
 * an evaluation at exactly that eps, the bracket holds, bisection reaches rtol with
 * few evaluations, and crown15 follows the reference rules step by step. */
#include "testutil.h"

#include <math.h>

#include "certify.h"

#define MAX_LOG 256

typedef struct {
    int kind;           /* 0 linear, 1 concave, 2 noisy non-monotone, 3 constant, 4 cubic,
                           5 convex up to the root (a parabola that turns back up) */
    double root, scale, noise;
    int n;
    double eps[MAX_LOG], margin[MAX_LOG];
} oracle;

/* Deterministic pseudo-noise in [-1, 1] from the bits of eps. */
static double hash_noise(double e)
{
    uint64_t b;
    memcpy(&b, &e, sizeof b);
    test_rng r = {b};
    return 2.0 * test_rng_uniform(&r) - 1.0;
}

static int oracle_fn(void *ctx, double eps, double *margin, nn_error *err)
{
    (void)err;
    oracle *o = ctx;
    double m;
    switch (o->kind) {
    case 0: m = o->scale * (o->root - eps); break;
    case 1: m = o->scale * (o->root * o->root - eps * eps); break;           /* concave, root at o->root */
    case 2: m = o->scale * (o->root - eps) + o->noise * hash_noise(eps); break;
    case 4: { /* bound-margin-like: concave, curvature growing with eps */
        double t = eps / o->root;
        m = o->scale * (1.0 - 0.3 * t - 0.7 * t * t * t);
        break;
    }
    case 5: { /* (root - eps) + K (root - eps)^2: a parabola whose second root is 5 % above */
        double d = o->root - eps;
        m = o->scale * (d > 0 ? d + d * d * 20.0 / o->root : d);
        break;
    }
    default: m = o->scale; break;
    }
    assert_true(o->n < MAX_LOG);
    o->eps[o->n] = eps;
    o->margin[o->n] = m;
    o->n++;
    *margin = m;
    return NN_OK;
}

/* The radius is an evaluated, certified eps and hi an evaluated, uncertified one. */
static void check_evaluated(const oracle *o, const cert_search_result *r)
{
    assert_int_equal(r->evals, o->n);
    int found_lo = r->radius == 0.0, found_hi = isinf(r->hi);
    for (int i = 0; i < o->n; i++) {
        if (o->eps[i] == r->radius && o->margin[i] > 0) {
            found_lo = 1;
            assert_true(o->margin[i] == r->margin);
        }
        if (o->eps[i] == r->hi && !(o->margin[i] > 0)) found_hi = 1;
    }
    assert_true(found_lo);
    assert_true(found_hi);
    assert_true(r->lo == r->radius);
    assert_true(r->lo < r->hi);
}

static cert_search_options opts(double guess, int use_margin, double margin0)
{
    cert_search_options so;
    cert_search_options_default(&so, NORM_INF, 784);
    so.guess = guess;
    so.use_margin = use_margin;
    so.margin0 = margin0;
    return so;
}

static void bisect_reaches_rtol_on_monotone_oracle(void **state)
{
    (void)state;
    const double guesses[] = {1e-4, 0.003, 0.0371, 0.2, 0.9};
    for (int use = 0; use <= 1; use++)
        for (size_t g = 0; g < sizeof guesses / sizeof guesses[0]; g++) {
            oracle o = {.kind = 0, .root = 0.0371, .scale = 7.0};
            cert_search_options so = opts(guesses[g], use, o.scale * o.root);
            cert_search_result r;
            assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
            check_evaluated(&o, &r);
            assert_true(r.hi <= r.lo * (1 + so.rtol));
            assert_true(r.radius < o.root && r.hi >= o.root);
        }
}

static void plain_bisection_uses_logarithmic_evaluation_count(void **state)
{
    (void)state;
    oracle o = {.kind = 0, .root = 0.0371, .scale = 7.0};
    cert_search_options so = opts(0.01, 0, NAN);
    cert_search_result r;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
    check_evaluated(&o, &r);
    /* 0.01 -> 0.02 -> 0.08: bracket of ratio 4 after 3 evaluations, then
     * ceil(log2(log 4 / log 1.001)) = 11 bisections. */
    assert_true(r.evals <= 3 + 11);
    assert_true(r.hi <= r.lo * 1.001);
}

static int count_evals(int kind, double guess, int use_margin)
{
    oracle o = {.kind = kind, .root = 0.0371, .scale = 7.0};
    double m0 = kind == 0 ? o.scale * o.root : o.scale * o.root * o.root;
    cert_search_options so = opts(guess, use_margin, m0);
    cert_search_result r;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
    check_evaluated(&o, &r);
    assert_true(r.hi <= r.lo * (1 + so.rtol));
    return r.evals;
}

static void margin_guided_search_needs_few_evaluations(void **state)
{
    (void)state;
    /* Guesses 12x below to 8x above the root, and within 10%. */
    const double guesses[] = {0.003, 0.02, 0.05, 0.3, 0.0371 * 0.9, 0.0371 * 1.1};
    for (int kind = 0; kind <= 1; kind++)
        for (size_t g = 0; g < sizeof guesses / sizeof guesses[0]; g++) {
            int guided = count_evals(kind, guesses[g], 1), plain = count_evals(kind, guesses[g], 0);
            int near = g >= 4;
            /* linear margin: the secant is exact; concave (quadratic): still well under bisection */
            int limit = near ? 5 : kind == 0 ? 5 : 11;
            if (guided > limit || guided >= plain)
                fail_msg("kind %d guess %g: %d evaluations guided, %d plain", kind, guesses[g], guided, plain);
        }
}

/* Margins of real bounds are concave with growing curvature (a chord lands short
 * of the root, a chord from margin0 overshoots): from warm starts within a factor
 * 2 of the radius the quadratic model needs at most half the evaluations of
 * plain bisection (which needs 11 after bracketing at this tolerance). */
static void margin_guided_search_on_curved_margins_halves_bisection(void **state)
{
    (void)state;
    const double factors[] = {0.5, 0.7, 0.9, 0.98, 1.02, 1.1, 1.4, 2.0};
    for (size_t g = 0; g < sizeof factors / sizeof factors[0]; g++) {
        oracle o = {.kind = 4, .root = 0.0137, .scale = 15.0};
        cert_search_options so = opts(o.root * factors[g], 1, o.scale);
        cert_search_result r;
        assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
        check_evaluated(&o, &r);
        assert_true(r.hi <= r.lo * (1 + so.rtol) && r.radius < o.root && r.hi >= o.root);
        oracle p = {.kind = 4, .root = 0.0137, .scale = 15.0};
        cert_search_options sp = opts(o.root * factors[g], 0, NAN);
        cert_search_result rp;
        assert_int_equal(cert_search(&sp, oracle_fn, &p, &rp, NULL), NN_OK);
        if (2 * r.evals > rp.evals)
            fail_msg("guess %g x root: %d evaluations guided, %d plain", factors[g], r.evals, rp.evals);
    }
}

/* Margins that flatten toward the root fit a parabola that turns back up and is
 * positive again far out. Its first root must steer the step: no evaluation far
 * above the radius (an LP method's costliest eps, doc/lp.md "Least work"). */
static void margins_flattening_at_the_root_keep_the_steps_near(void **state)
{
    (void)state;
    const double factors[] = {0.2, 0.5, 0.8, 0.95};
    for (size_t g = 0; g < sizeof factors / sizeof factors[0]; g++) {
        oracle o = {.kind = 5, .root = 0.0137, .scale = 15.0};
        cert_search_options so = opts(o.root * factors[g], 1, o.scale * (o.root + 20 * o.root));
        cert_search_result r;
        assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
        check_evaluated(&o, &r);
        assert_true(r.hi <= r.lo * (1 + so.rtol) && r.radius < o.root && r.hi >= o.root);
        for (int i = 0; i < o.n; i++)
            if (o.eps[i] > 2 * o.root) fail_msg("guess %g x root: evaluation at %g x root", factors[g], o.eps[i] / o.root);
        /* and the margins still pay: at most half of plain bisection's
         * evaluations from the same guess (4 against 12-14, measured) */
        oracle p = {.kind = 5, .root = 0.0137, .scale = 15.0};
        cert_search_options sp = opts(o.root * factors[g], 0, NAN);
        cert_search_result rp;
        assert_int_equal(cert_search(&sp, oracle_fn, &p, &rp, NULL), NN_OK);
        printf("# guess %g x root: %d evaluations guided, %d plain\n", factors[g], r.evals, rp.evals);
        if (2 * r.evals > rp.evals)
            fail_msg("guess %g x root: %d evaluations guided, %d plain", factors[g], r.evals, rp.evals);
    }
}

static void warm_start_at_the_radius_finishes_in_two_evaluations(void **state)
{
    (void)state;
    oracle o = {.kind = 0, .root = 0.0371, .scale = 7.0};
    cert_search_options so = opts(0.0371 * (1 - 2e-4), 1, o.scale * o.root);
    cert_search_result r;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
    check_evaluated(&o, &r);
    assert_int_equal(r.evals, 2);
}

static void noisy_nonmonotone_oracle_still_reports_an_evaluated_certified_eps(void **state)
{
    (void)state;
    for (int seed = 0; seed < 20; seed++) {
        oracle o = {.kind = 2, .root = 0.02 + 0.003 * seed, .scale = 5.0, .noise = 0.004};
        for (int use = 0; use <= 1; use++) {
            o.n = 0;
            cert_search_options so = opts(0.01, use, o.scale * o.root);
            cert_search_result r;
            assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
            check_evaluated(&o, &r);
            assert_true(r.hi <= r.lo * (1 + so.rtol) || r.evals >= so.max_evals);
        }
    }
}

static void always_certified_stops_at_eps_max(void **state)
{
    (void)state;
    oracle o = {.kind = 3, .scale = 1.0};
    cert_search_options so = opts(0.01, 1, 1.0);
    cert_search_result r;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
    check_evaluated(&o, &r);
    assert_true(r.radius == so.eps_max);
    assert_true(isinf(r.hi));
    assert_true(r.evals <= 6);
}

static void never_certified_reports_zero(void **state)
{
    (void)state;
    oracle o = {.kind = 3, .scale = -1.0};
    cert_search_options so = opts(0.01, 1, 0.5);
    cert_search_result r;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
    check_evaluated(&o, &r);
    assert_true(r.radius == 0.0);
    assert_true(r.hi == so.eps_min);
    for (int i = 0; i < o.n; i++) assert_true(o.eps[i] >= so.eps_min);
    assert_true(r.evals <= 8);
}

static void nan_margin_never_certifies(void **state)
{
    (void)state;
    oracle o = {.kind = 3, .scale = NAN};
    cert_search_options so = opts(0.01, 1, 0.5);
    cert_search_result r;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, NULL), NN_OK);
    assert_true(r.radius == 0.0);
}

static void invalid_search_options_are_rejected(void **state)
{
    (void)state;
    oracle o = {.kind = 0, .root = 0.1, .scale = 1.0};
    cert_search_result r;
    nn_error err;
    cert_search_options so = opts(0.0, 1, NAN);
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, &err), NN_EARG);
    so = opts(0.01, 1, NAN);
    so.rtol = 0.0;
    assert_int_equal(cert_search(&so, oracle_fn, &o, &r, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "rtol"));
    assert_int_equal(o.n, 0);
}

static void run_crown15(oracle *o, double eps0, cert_search_result *r)
{
    cert_search_options so = opts(eps0, 0, NAN);
    so.kind = SEARCH_CROWN15;
    assert_int_equal(cert_search(&so, oracle_fn, o, r, NULL), NN_OK);
    check_evaluated(o, r);
}

static void crown15_follows_reference_rules(void **state)
{
    (void)state;
    /* Sequences worked out by hand from the reference rules. */
    oracle a = {.kind = 0, .root = 0.0372, .scale = 10.0};
    cert_search_result r;
    run_crown15(&a, 0.01, &r);
    const double seq_a[] = {0.01, 0.1, 0.055, 0.0325, 0.04375, 0.038125, 0.0353125, 0.03671875};
    assert_int_equal(a.n, 8);   /* stops on 0 < margin < 0.01 */
    for (int i = 0; i < a.n; i++) assert_true(fabs(a.eps[i] - seq_a[i]) < 1e-15);
    assert_true(fabs(r.radius - 0.03671875) < 1e-15);
    assert_true(fabs(r.hi - 0.038125) < 1e-15);

    oracle b = {.kind = 0, .root = 0.37, .scale = 1e6};
    run_crown15(&b, 0.01, &r);
    assert_int_equal(b.n, 15);  /* evaluation cap */
    assert_true(b.eps[2] == 1.0 && b.eps[3] == 0.55);
    assert_true(fabs(r.radius - 0.36982421875) < 1e-12);

    oracle c = {.kind = 0, .root = 0.0003, .scale = 10.0};
    run_crown15(&c, 0.01, &r);
    assert_int_equal(c.n, 3);   /* /10 twice, then margin 0.002 < 0.01 */
    assert_true(fabs(c.eps[1] - 0.001) < 1e-15 && fabs(c.eps[2] - 1e-4) < 1e-15);
    assert_true(fabs(r.radius - 1e-4) < 1e-15 && fabs(r.hi - 0.001) < 1e-15);

    oracle d = {.kind = 0, .root = 0.00099, .scale = 1e9};
    run_crown15(&d, 0.01, &r);  /* stops when UB - LB <= 1e-5, after 10 evaluations */
    assert_true(r.hi - r.radius <= 1e-5);
    assert_true(r.hi - r.radius > 0.5e-5);
    assert_int_equal(d.n, 10);
    assert_true(fabs(r.radius - 0.0009859375) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bisect_reaches_rtol_on_monotone_oracle),
        cmocka_unit_test(plain_bisection_uses_logarithmic_evaluation_count),
        cmocka_unit_test(margin_guided_search_needs_few_evaluations),
        cmocka_unit_test(margin_guided_search_on_curved_margins_halves_bisection),
        cmocka_unit_test(margins_flattening_at_the_root_keep_the_steps_near),
        cmocka_unit_test(warm_start_at_the_radius_finishes_in_two_evaluations),
        cmocka_unit_test(noisy_nonmonotone_oracle_still_reports_an_evaluated_certified_eps),
        cmocka_unit_test(always_certified_stops_at_eps_max),
        cmocka_unit_test(never_certified_reports_zero),
        cmocka_unit_test(nan_margin_never_certifies),
        cmocka_unit_test(invalid_search_options_are_rejected),
        cmocka_unit_test(crown15_follows_reference_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
