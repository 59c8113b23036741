/* PGD on linear models, where the minimal adversarial l_inf / l2 eps is known in
 * closed form (margin / dual norm of the weight difference): the search finds an
 * eps a few % above it and never below; counterexamples are real, inside the ball
 * and inside the pixel range; runs are reproducible; a targeted attack reaches
 * its own class's minimum, never below it. */
#include "testutil.h"

#include <math.h>

#include "attack.h"
#include "forward.h"
#include "model.h"

#define NIN 16
#define NOUT 5

static void linear_model(nn_model *m, test_rng *rng, double *W, double *b)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){NIN, 1, 1};
    nn_layer l = layer_make(LAYER_DENSE);
    l.out_channels = NOUT;
    l.in_features = NIN;
    l.weight = malloc(NIN * NOUT * sizeof(double));
    l.bias = malloc(NOUT * sizeof(double));
    for (int i = 0; i < NIN * NOUT; i++) W[i] = l.weight[i] = test_rng_range(rng, -1, 1);
    for (int i = 0; i < NOUT; i++) b[i] = l.bias[i] = test_rng_range(rng, -0.3, 0.3);
    assert_int_equal(model_append(m, &l, &err), NN_OK);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* Exact minimal eps over all rivals j (box inactive, checked by the caller). */
static double exact_eps(const double *W, const double *b, const double *x0, int c, norm_type p, double *max_coord)
{
    double best = INFINITY;
    *max_coord = 0;
    for (int j = 0; j < NOUT; j++) {
        if (j == c) continue;
        double m = b[c] - b[j], n1 = 0, n2 = 0, ninf = 0;
        for (int i = 0; i < NIN; i++) {
            double d = W[c * NIN + i] - W[j * NIN + i];
            m += d * x0[i];
            n1 += fabs(d), n2 += d * d, ninf = fmax(ninf, fabs(d));
        }
        double e = p == NORM_INF ? m / n1 : m / sqrt(n2);
        if (e < best) {
            best = e;
            *max_coord = p == NORM_INF ? e : e * ninf / sqrt(n2);
        }
    }
    return best;
}

static int setup_case(int seed, nn_model *m, double *W, double *b, double *x0)
{
    test_rng rng = {(uint64_t)seed + 100};
    linear_model(m, &rng, W, b);
    for (int i = 0; i < NIN; i++) x0[i] = test_rng_range(&rng, 0.45, 0.55);
    double z[NOUT];
    assert_int_equal(forward_run(m, x0, 1, z, NULL), NN_OK);
    return forward_argmax(z, NOUT);
}

static void check_counterexample(const nn_model *m, norm_type p, const double *x0, int c, double eps,
                                 const double *x_adv, const attack_result *r)
{
    double z[NOUT];
    assert_int_equal(forward_run(m, x_adv, 1, z, NULL), NN_OK);
    assert_int_not_equal(forward_argmax(z, NOUT), c);
    assert_int_equal(forward_argmax(z, NOUT), r->adv_class);
    for (int i = 0; i < NIN; i++) assert_true(x_adv[i] >= 0.0 && x_adv[i] <= 1.0);
    double d = attack_distance(p, x_adv, x0, NIN);
    assert_true(fabs(d - r->dist) <= 1e-12);
    assert_true(d <= eps * (1 + 1e-12));
}

static void search_finds_eps_just_above_exact_minimum(norm_type p)
{
    for (int seed = 0; seed < 6; seed++) {
        nn_model m;
        double W[NIN * NOUT], b[NOUT], x0[NIN], x_adv[NIN], z[NOUT], maxc;
        int c = setup_case(seed, &m, W, b, x0);
        double exact = exact_eps(W, b, x0, c, p, &maxc);
        assert_true(maxc < 0.44);   /* the pixel box is not active at the optimum */
        attack_options o;
        attack_options_default(&o, p);
        o.seed = (uint64_t)seed;
        cert_search_options so;
        cert_search_options_default(&so, p, NIN);
        so.rtol = 0.01;
        attack_result r;
        assert_int_equal(attack_pgd_search(&m, &o, &so, x0, c, x_adv, z, &r, NULL), NN_OK);
        assert_true(r.success);
        check_counterexample(&m, p, x0, c, r.eps, x_adv, &r);
        /* never below the true minimum (up to rounding), at most a few % above */
        if (!(r.dist >= exact * (1 - 1e-9) && r.eps <= exact * 1.03))
            fail_msg("seed %d norm %d: exact %.9g, found eps %.9g dist %.9g", seed, (int)p, exact, r.eps,
                     r.dist);
        assert_true(r.lo < exact * (1 + 1e-9));
        assert_true(r.runs < 30);
        model_free(&m);
    }
}

static void linf_search_finds_eps_just_above_exact_minimum(void **state)
{
    (void)state;
    search_finds_eps_just_above_exact_minimum(NORM_INF);
}

static void l2_search_finds_eps_just_above_exact_minimum(void **state)
{
    (void)state;
    search_finds_eps_just_above_exact_minimum(NORM_2);
}

static void fixed_eps_fails_below_and_succeeds_above_the_minimum(void **state)
{
    (void)state;
    for (int pi = 0; pi < 2; pi++) {
        norm_type p = pi ? NORM_2 : NORM_INF;
        for (int seed = 0; seed < 4; seed++) {
            nn_model m;
            double W[NIN * NOUT], b[NOUT], x0[NIN], x_adv[NIN], z[NOUT], maxc;
            int c = setup_case(seed, &m, W, b, x0);
            double exact = exact_eps(W, b, x0, c, p, &maxc);
            attack_options o;
            attack_options_default(&o, p);
            attack_result r;
            assert_int_equal(attack_pgd(&m, &o, x0, c, exact * 0.98, x_adv, z, &r, NULL), NN_OK);
            assert_false(r.success);
            assert_true(r.margin > 0);
            assert_true(attack_distance(p, x_adv, x0, NIN) <= exact * 0.98 * (1 + 1e-12));
            assert_int_equal(attack_pgd(&m, &o, x0, c, exact * 1.02, x_adv, z, &r, NULL), NN_OK);
            assert_true(r.success);
            check_counterexample(&m, p, x0, c, exact * 1.02, x_adv, &r);
            model_free(&m);
        }
    }
}

static void counterexamples_stay_in_pixel_range_near_the_border(void **state)
{
    (void)state;
    for (int pi = 0; pi < 2; pi++) {
        norm_type p = pi ? NORM_2 : NORM_INF;
        nn_model m;
        double W[NIN * NOUT], b[NOUT], x0[NIN], x_adv[NIN], z[NOUT];
        setup_case(3, &m, W, b, x0);
        for (int i = 0; i < NIN; i++) x0[i] = (i % 2) ? 0.999 : 0.001;
        assert_int_equal(forward_run(&m, x0, 1, z, NULL), NN_OK);
        int c = forward_argmax(z, NOUT);
        attack_options o;
        attack_options_default(&o, p);
        o.restarts = 3;
        attack_result r;
        assert_int_equal(attack_pgd(&m, &o, x0, c, p == NORM_INF ? 0.8 : 3.0, x_adv, z, &r, NULL), NN_OK);
        for (int i = 0; i < NIN; i++) assert_true(x_adv[i] >= 0.0 && x_adv[i] <= 1.0);
        if (r.success) check_counterexample(&m, p, x0, c, p == NORM_INF ? 0.8 : 3.0, x_adv, &r);
        model_free(&m);
    }
}

static void attack_is_reproducible_with_seed(void **state)
{
    (void)state;
    nn_model m;
    double W[NIN * NOUT], b[NOUT], x0[NIN], a1[NIN], a2[NIN], z[NOUT], maxc;
    int c = setup_case(1, &m, W, b, x0);
    double e = exact_eps(W, b, x0, c, NORM_2, &maxc) * 0.9;
    attack_options o;
    attack_options_default(&o, NORM_2);
    o.seed = 77;
    o.restarts = NOUT + 3;   /* the last three runs start at random points */
    attack_result r1, r2;
    assert_int_equal(attack_pgd(&m, &o, x0, c, e, a1, z, &r1, NULL), NN_OK);
    assert_int_equal(attack_pgd(&m, &o, x0, c, e, a2, z, &r2, NULL), NN_OK);
    assert_memory_equal(a1, a2, sizeof a1);
    assert_true(r1.margin == r2.margin);
    assert_int_equal(r1.steps, o.restarts * o.steps);   /* failed: every restart ran every step */
    model_free(&m);
}

/* With a target t the minimum is margin_t / dual norm of (w_c - w_t), usually
 * above the untargeted one: the search lands just above it, and the
 * counterexample has z_t >= z_c. */
static void targeted_search_finds_its_own_class_minimum(void **state)
{
    (void)state;
    for (int seed = 0; seed < 4; seed++) {
        nn_model m;
        double W[NIN * NOUT], b[NOUT], x0[NIN], xa[NIN], z[NOUT];
        int c = setup_case(seed, &m, W, b, x0);
        for (int t = 0; t < NOUT; t++) {
            if (t == c) continue;
            double mt = b[c] - b[t], n1 = 0;
            for (int i = 0; i < NIN; i++) {
                double d = W[c * NIN + i] - W[t * NIN + i];
                mt += d * x0[i], n1 += fabs(d);
            }
            double exact = mt / n1;
            if (exact > 0.4) continue;  /* the pixel box would cut the ball: no closed form */
            attack_options o;
            attack_options_default(&o, NORM_INF);
            o.target = t;
            cert_search_options so;
            cert_search_options_default(&so, NORM_INF, NIN);
            so.rtol = 1e-3;
            attack_result r;
            assert_int_equal(attack_pgd_search(&m, &o, &so, x0, c, xa, z, &r, NULL), NN_OK);
            assert_true(r.success);
            assert_int_equal(r.adv_class, t);
            assert_true(r.eps >= exact * (1 - 1e-9));
            assert_true(r.eps <= exact * 1.05);
            assert_int_equal(forward_run(&m, xa, 1, z, NULL), NN_OK);
            assert_true(z[t] >= z[c]);
        }
        model_free(&m);
    }
}

static void invalid_attack_options_are_rejected(void **state)
{
    (void)state;
    nn_model m;
    double W[NIN * NOUT], b[NOUT], x0[NIN], xa[NIN], z[NOUT];
    int c = setup_case(0, &m, W, b, x0);
    attack_options o;
    attack_result r;
    nn_error err;
    attack_options_default(&o, NORM_1);
    assert_int_equal(attack_pgd(&m, &o, x0, c, 0.1, xa, z, &r, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "norm"));
    attack_options_default(&o, NORM_INF);
    o.steps = 0;
    assert_int_equal(attack_pgd(&m, &o, x0, c, 0.1, xa, z, &r, &err), NN_EARG);
    attack_options_default(&o, NORM_INF);
    assert_int_equal(attack_pgd(&m, &o, x0, c, -0.1, xa, z, &r, &err), NN_EARG);
    assert_int_equal(attack_pgd(&m, &o, x0, NOUT, 0.1, xa, z, &r, &err), NN_EVALUE);
    o.target = c;   /* the class itself is no target */
    assert_int_equal(attack_pgd(&m, &o, x0, c, 0.1, xa, z, &r, &err), NN_EVALUE);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linf_search_finds_eps_just_above_exact_minimum),
        cmocka_unit_test(l2_search_finds_eps_just_above_exact_minimum),
        cmocka_unit_test(fixed_eps_fails_below_and_succeeds_above_the_minimum),
        cmocka_unit_test(counterexamples_stay_in_pixel_range_near_the_border),
        cmocka_unit_test(attack_is_reproducible_with_seed),
        cmocka_unit_test(targeted_search_finds_its_own_class_minimum),
        cmocka_unit_test(invalid_attack_options_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
