/* MILP counterexamples (src/certify/milp_check.c, doc/lp.md "Counterexamples"):
 * the check refuses a point one ulp outside the ball or the clip box, a tie, a
 * class that does not change, a NaN; every counterexample that
 * cert_milp_counterexample and cert_run_task record on random ReLU nets lies in
 * the region and changes the class by a fresh forward pass, none is recorded
 * where the bounds certify, and where Cbc proves a row's minimum clearly
 * negative one is recorded. */
#include "test_bound_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "certify.h"

/* out_k = sum_j w[k][j] x_j: out0 = x0, out1 = x1, out2 = (x0 + x1) / 2 + 0.01 */
static void build_linear(nn_model *m)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){2, 1, 1};
    double w[6] = {1, 0, 0, 1, 0.5, 0.5}, b[3] = {0, 0, 0.01};
    tb_dense_from(m, 2, 3, w, b);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static int check(const nn_model *m, const double *x0, double a, double b, norm_type p, double eps, int clip, int c,
                 int target)
{
    double x[2] = {a, b}, z[3];
    int cls;
    nn_error err;
    assert_int_equal(cert_counterexample_holds(m, x0, x, p, eps, clip, c, target, z, &cls, &err), NN_OK);
    return cls;
}

static void check_refuses_what_is_not_a_counterexample(void **state)
{
    (void)state;
    nn_model m;
    build_linear(&m);
    double x0[2] = {0.5, 0.375}, up = nextafter(0.5, 1);
    /* l_inf eps 0.125 (exact in binary): (0.4375, 0.5) moves class 0 to 1 */
    assert_int_equal(check(&m, x0, 0.4375, 0.5, NORM_INF, 0.125, 1, 0, CERT_UNTARGETED), 1);
    assert_int_equal(check(&m, x0, 0.4375, up, NORM_INF, 0.125, 1, 0, CERT_UNTARGETED), -1);  /* one ulp out */
    assert_int_equal(check(&m, x0, 0.5, 0.4375, NORM_INF, 0.125, 1, 0, CERT_UNTARGETED), -1); /* still class 0 */
    assert_int_equal(check(&m, x0, 0.5, 0.5, NORM_INF, 0.125, 1, 0, 1), -1);                  /* a tie z1 = z0 */
    assert_int_equal(check(&m, x0, NAN, 0.5, NORM_INF, 0.125, 0, 0, CERT_UNTARGETED), -1);
    /* targeted: the target must beat c, whatever the argmax does */
    assert_int_equal(check(&m, x0, 0.4375, 0.5, NORM_INF, 0.125, 1, 0, 1), 1);
    assert_int_equal(check(&m, x0, 0.4375, 0.5, NORM_INF, 0.125, 1, 0, 2), 2);               /* z2 0.47875 */
    assert_int_equal(check(&m, x0, 0.5, 0.4375, NORM_INF, 0.125, 1, 0, 2), -1);              /* 0.47875 < 0.5 */
    /* l1 eps 0.25: (0.375, 0.5) is on the sphere, one ulp further is out */
    assert_int_equal(check(&m, x0, 0.375, 0.5, NORM_1, 0.25, 1, 0, CERT_UNTARGETED), 1);
    assert_int_equal(check(&m, x0, 0.375, up, NORM_1, 0.25, 1, 0, CERT_UNTARGETED), -1);
    /* the clip box: x1 = 1 + ulp is in the ball of (1, 0.875) but not in [0, 1] */
    double x1[2] = {0.875, 1}, over = nextafter(1, 2);
    assert_int_equal(check(&m, x1, 0.875, over, NORM_INF, 0.25, 1, 0, CERT_UNTARGETED), -1);
    assert_int_equal(check(&m, x1, 0.875, over, NORM_INF, 0.25, 0, 0, CERT_UNTARGETED), 1);
    model_free(&m);
}

static void assert_in_region(const double *x, const double *x0, size_t n, norm_type p, double eps, int clip)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) {
        assert_true(isfinite(x[j]));
        if (clip) assert_true(x[j] >= 0 && x[j] <= 1);
        if (p == NORM_INF) assert_true(fabs(x[j] - x0[j]) <= eps);
        s += fabs(x[j] - x0[j]);
    }
    if (p == NORM_1) assert_true(s <= eps);
}

/* The class at x by a fresh forward pass changes from c (to cls, targeted: target beats c). */
static void assert_changes(const nn_model *m, const double *x, int c, int target, int cls, const double *logits)
{
    size_t k = model_output_size(m);
    double z[8];
    nn_error err;
    assert_int_equal(forward_run(m, x, 1, z, &err), NN_OK);
    for (size_t o = 0; o < k; o++) assert_true(z[o] == logits[o]);
    if (target == CERT_UNTARGETED) assert_int_equal(forward_argmax(z, k), cls);
    else assert_int_equal(cls, target);
    assert_true(cls != c && z[cls] > z[c]);
}

static void recorded_counterexamples_hold(void **state)
{
    (void)state;
    test_rng rng = {0x5eed1234u};
    int found = 0, certified_seen = 0, proven_negative = 0;
    for (int trial = 0; trial < 16; trial++) {
        int n = 4, k = 3, clip = trial % 2, targeted = trial % 3 == 2;
        norm_type p = trial % 4 < 2 ? NORM_INF : NORM_1;
        nn_model m;
        tb_build_relu2(&m, &rng, n, 8, 8, k);
        double x0[4], z0[3];
        nn_error err;
        for (int j = 0; j < n; j++) x0[j] = test_rng_range(&rng, 0.1, 0.9);
        assert_int_equal(forward_run(&m, x0, 1, z0, &err), NN_OK);
        int c = forward_argmax(z0, (size_t)k), target = targeted ? (c + 1) % k : CERT_UNTARGETED;
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_MILP;
        o.milp_time_limit = 10;
        cert_verifier v;
        assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
        for (double eps = 0.02; eps < 2; eps *= 2) {
            double margin, x[4], z[3];
            int cert, cls;
            assert_int_equal(cert_verify(&v, x0, p, eps, clip, c, target, &margin, &cert, &err), NN_OK);
            assert_int_equal(cert_milp_counterexample(&v, x0, p, eps, clip, c, target, x, z, &cls, &err), NN_OK);
            int all_proven = 1;
            bound_milp_row mr;
            if (v.decided != &v.st) {
                /* CROWN certified first: no MILP was solved, none is reported */
                assert_true(cert);
                assert_int_equal(bound_milp_result(v.decided, 0, &mr, NULL), -1);
                all_proven = 0;
            }
            for (size_t r = 0; r < v.rows && v.decided == &v.st; r++) {
                assert_int_equal(bound_milp_result(&v.st, r, &mr, NULL), 0);
                all_proven &= mr.proven;
            }
            if (cert) {
                assert_int_equal(cls, -1);  /* nothing where the bounds certify */
                certified_seen++;
            }
            if (cls >= 0) {
                assert_false(cert);
                assert_in_region(x, x0, (size_t)n, p, eps, clip);
                assert_changes(&m, x, c, target, cls, z);
                found++;
            } else if (all_proven && margin < -1e-3) {
                fail_msg("trial %d eps %g: Cbc proved margin %g and no counterexample was kept", trial, eps, margin);
            }
            proven_negative += all_proven && margin < -1e-3;
            /* the task driver keeps the smallest such eps with its point */
            cert_task_options to;
            memset(&to, 0, sizeof to);
            to.norm = p, to.clip = clip, to.fixed = 1, to.eps = eps;
            cert_result r;
            assert_int_equal(cert_run_task(&v, &to, x0, z0, trial, c, target, &r, &err), NN_OK);
            if (cls >= 0) {
                assert_int_equal(r.status, CERT_UNCERTIFIED);
                assert_true(r.milp_eps == eps && r.hi == eps && r.milp_class >= 0);
                assert_in_region(v.milp_x, x0, (size_t)n, p, eps, clip);
                assert_changes(&m, v.milp_x, c, target, r.milp_class, v.milp_z);
            } else {
                assert_true(isnan(r.milp_eps) && r.milp_class == -1);
            }
        }
        cert_verifier_free(&v);
        model_free(&m);
    }
    printf("# found %d certified %d proven_negative %d\n", found, certified_seen, proven_negative);
    /* the test is not empty: both sides occurred */
    assert_true(found >= 8);
    assert_true(certified_seen >= 8);
    assert_true(proven_negative >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_refuses_what_is_not_a_counterexample),
        cmocka_unit_test(recorded_counterexamples_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
