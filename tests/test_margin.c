/* Margin rows and target choice: row shapes for every target mode, top2/least
 * picks, random targets reproducible with the seed and never c, top2 or least. */
#include "testutil.h"

#include <math.h>

#include "certify.h"

static void untargeted_rows_are_ec_minus_ej_for_every_other_class(void **state)
{
    (void)state;
    double C[10 * 12];
    int tgt[10];
    size_t rows = cert_margin_rows(3, CERT_UNTARGETED, 10, C, 12, tgt);
    assert_int_equal(rows, 9);
    for (size_t r = 0; r < rows; r++) {
        assert_int_not_equal(tgt[r], 3);
        if (r > 0) assert_true(tgt[r] > tgt[r - 1]);
        for (int j = 0; j < 10; j++) {
            double want = j == 3 ? 1.0 : j == tgt[r] ? -1.0 : 0.0;
            assert_true(C[r * 12 + j] == want);
        }
    }
}

static void targeted_row_is_single_ec_minus_et(void **state)
{
    (void)state;
    double C[10];
    int tgt;
    assert_int_equal(cert_margin_rows(0, 7, 10, C, 10, &tgt), 1);
    assert_int_equal(tgt, 7);
    for (int j = 0; j < 10; j++) assert_true(C[j] == (j == 0 ? 1.0 : j == 7 ? -1.0 : 0.0));
}

static void margin_of_logits_is_min_over_rows(void **state)
{
    (void)state;
    const double z[5] = {0.5, 3.0, 2.5, -1.0, 2.9};
    assert_true(fabs(cert_margin_of_logits(z, 5, 1, CERT_UNTARGETED) - 0.1) < 1e-15);
    assert_true(fabs(cert_margin_of_logits(z, 5, 1, 3) - 4.0) < 1e-15);
}

static void top2_and_least_pick_extreme_other_logits(void **state)
{
    (void)state;
    const double z[6] = {0.1, 5.0, -3.0, 4.0, 2.0, -2.0};
    cert_target_spec s = {.mode = TARGET_TOP2};
    int t[6], n;
    assert_int_equal(cert_choose_targets(&s, z, 6, 1, 0, t, &n, NULL), NN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], 3);
    s.mode = TARGET_LEAST;
    assert_int_equal(cert_choose_targets(&s, z, 6, 1, 0, t, &n, NULL), NN_OK);
    assert_int_equal(t[0], 2);
    s.mode = TARGET_UNTARGETED;
    assert_int_equal(cert_choose_targets(&s, z, 6, 1, 0, t, &n, NULL), NN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], CERT_UNTARGETED);
    s.mode = TARGET_ALL;
    assert_int_equal(cert_choose_targets(&s, z, 6, 1, 0, t, &n, NULL), NN_OK);
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++) assert_int_not_equal(t[i], 1);
}

static void random_target_is_reproducible_and_excludes_c_top2_least(void **state)
{
    (void)state;
    test_rng rng = {42};
    int hits[10] = {0};
    for (long img = 0; img < 400; img++) {
        double z[10];
        for (int j = 0; j < 10; j++) z[j] = test_rng_range(&rng, -5, 5);
        int c = (int)(img % 10);
        z[c] = 10.0;
        int top2 = -1, least = -1;
        for (int j = 0; j < 10; j++) {
            if (j == c) continue;
            if (top2 < 0 || z[j] > z[top2]) top2 = j;
            if (least < 0 || z[j] < z[least]) least = j;
        }
        cert_target_spec s = {.mode = TARGET_RANDOM, .seed = 1234};
        int t1[10], t2[10], n1, n2;
        assert_int_equal(cert_choose_targets(&s, z, 10, c, img, t1, &n1, NULL), NN_OK);
        assert_int_equal(cert_choose_targets(&s, z, 10, c, img, t2, &n2, NULL), NN_OK);
        assert_int_equal(n1, 1);
        assert_int_equal(t1[0], t2[0]);
        assert_true(t1[0] != c && t1[0] != top2 && t1[0] != least);
        assert_true(t1[0] >= 0 && t1[0] < 10);
        hits[t1[0]]++;
    }
    /* Every class appears as a random target somewhere: the choice is not degenerate. */
    for (int j = 0; j < 10; j++) assert_true(hits[j] > 10);
}

static void random_target_depends_on_seed(void **state)
{
    (void)state;
    double z[10] = {9, 1, 2, 3, 4, 5, 6, 7, 8, 0};
    int differ = 0;
    for (long img = 0; img < 50; img++) {
        cert_target_spec a = {.mode = TARGET_RANDOM, .seed = 1}, b = {.mode = TARGET_RANDOM, .seed = 2};
        int ta[10], tb[10], n;
        assert_int_equal(cert_choose_targets(&a, z, 10, 0, img, ta, &n, NULL), NN_OK);
        assert_int_equal(cert_choose_targets(&b, z, 10, 0, img, tb, &n, NULL), NN_OK);
        differ += ta[0] != tb[0];
    }
    assert_true(differ > 10);
}

static void random_target_without_candidates_is_an_error(void **state)
{
    (void)state;
    double z[3] = {3, 1, 2};
    cert_target_spec s = {.mode = TARGET_RANDOM};
    int t[3], n;
    nn_error err;
    assert_int_equal(cert_choose_targets(&s, z, 3, 0, 0, t, &n, &err), NN_EVALUE);
    assert_non_null(strstr(err.msg, "random"));
}

static void target_parse_accepts_names_and_classes_and_rejects_garbage(void **state)
{
    (void)state;
    cert_target_spec s;
    nn_error err;
    assert_int_equal(cert_target_parse("top2", 10, &s, &err), NN_OK);
    assert_int_equal(s.mode, TARGET_TOP2);
    assert_int_equal(cert_target_parse("all", 10, &s, &err), NN_OK);
    assert_int_equal(s.mode, TARGET_ALL);
    assert_int_equal(cert_target_parse("7", 10, &s, &err), NN_OK);
    assert_int_equal(s.mode, TARGET_CLASS);
    assert_int_equal(s.cls, 7);
    assert_int_equal(cert_target_parse("10", 10, &s, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(cert_target_parse("-1", 10, &s, &err), NN_EARG);
    assert_int_equal(cert_target_parse("top3", 10, &s, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "top3"));
}

static void targeting_the_predicted_class_is_an_error(void **state)
{
    (void)state;
    double z[4] = {0, 5, 1, 2};
    cert_target_spec s = {.mode = TARGET_CLASS, .cls = 1};
    int t[4], n;
    nn_error err;
    assert_int_equal(cert_choose_targets(&s, z, 4, 1, 9, t, &n, &err), NN_EARG);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untargeted_rows_are_ec_minus_ej_for_every_other_class),
        cmocka_unit_test(targeted_row_is_single_ec_minus_et),
        cmocka_unit_test(margin_of_logits_is_min_over_rows),
        cmocka_unit_test(top2_and_least_pick_extreme_other_logits),
        cmocka_unit_test(random_target_is_reproducible_and_excludes_c_top2_least),
        cmocka_unit_test(random_target_depends_on_seed),
        cmocka_unit_test(random_target_without_candidates_is_an_error),
        cmocka_unit_test(target_parse_accepts_names_and_classes_and_rejects_garbage),
        cmocka_unit_test(targeting_the_predicted_class_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
