/* One task of one image (cert_run_image_task) and the packed result layout:
 * slot k of target `all` is the k-th class other than the prediction and gives
 * cert_run_task's row for that target; the result does not depend on what the
 * verifier ran before (a scheduler runs tasks in any order); misclassified
 * images give a row per slot; bad slots and non-finite logits are failed rows
 * with a reason; packing round-trips every field bit for bit. */
#include "test_bound_models.h"
#include "certify.h"

#include <math.h>

static void build(nn_model *m, cert_verifier *v)
{
    test_rng rng = {61};
    tb_build_mlp(m, &rng, LAYER_RELU);
    nn_error err;
    bound_options o;
    bound_options_default(&o);
    assert_int_equal(cert_verifier_init(v, m, &o, &err), NN_OK);
}

static cert_task_options task_options(const nn_model *m)
{
    cert_task_options to;
    memset(&to, 0, sizeof to);
    to.norm = NORM_INF;
    cert_search_options_default(&to.search, NORM_INF, model_input_size(m));
    return to;
}

static int predict(const nn_model *m, const double *x)
{
    double z[64];
    nn_error err;
    assert_int_equal(forward_run(m, x, 1, z, &err), NN_OK);
    return forward_argmax(z, model_output_size(m));
}

static void slots_of_all_targets_match_cert_run_task_in_any_order(void **state)
{
    (void)state;
    nn_model m;
    cert_verifier v, fresh;
    build(&m, &v);
    test_rng rng = {62};
    double *x = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    int n = (int)model_output_size(&m), c = predict(&m, x);
    cert_target_spec all = {.mode = TARGET_ALL};
    assert_int_equal(cert_tasks_per_image(&all, n), n - 1);
    cert_task_options to = task_options(&m);
    nn_error err;
    double z[64];
    assert_int_equal(forward_run(&m, x, 1, z, &err), NN_OK);
    /* slots in reverse order on one verifier; each against a fresh verifier */
    for (int slot = n - 2; slot >= 0; slot--) {
        cert_result r, want;
        assert_int_equal(cert_run_image_task(&v, &to, &all, x, 5, c, slot, &r, &err), NN_OK);
        bound_options o;
        bound_options_default(&o);
        assert_int_equal(cert_verifier_init(&fresh, &m, &o, &err), NN_OK);
        int target = slot < c ? slot : slot + 1;
        assert_int_equal(cert_run_task(&fresh, &to, x, z, 5, c, target, &want, &err), NN_OK);
        cert_verifier_free(&fresh);
        assert_int_equal(r.target, target);
        assert_int_equal(r.pred, c);
        assert_int_equal(r.status, want.status);
        assert_memory_equal(&r.radius, &want.radius, sizeof r.radius);
        assert_memory_equal(&r.hi, &want.hi, sizeof r.hi);
        assert_memory_equal(&r.margin, &want.margin, sizeof r.margin);
        assert_int_equal(r.evals, want.evals);
    }
    free(x);
    cert_verifier_free(&v);
    model_free(&m);
}

static void misclassified_and_bad_tasks_are_rows_with_reasons(void **state)
{
    (void)state;
    nn_model m;
    cert_verifier v;
    build(&m, &v);
    test_rng rng = {63};
    double *x = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    int n = (int)model_output_size(&m), c = predict(&m, x), wrong = (c + 1) % n;
    cert_task_options to = task_options(&m);
    cert_target_spec all = {.mode = TARGET_ALL}, untargeted = {.mode = TARGET_UNTARGETED};
    cert_result r;
    nn_error err;
    for (int slot = 0; slot < n - 1; slot++) {
        assert_int_equal(cert_run_image_task(&v, &to, &all, x, 1, wrong, slot, &r, &err), NN_OK);
        assert_int_equal(r.status, CERT_MISCLASSIFIED);
        assert_int_equal(r.target, slot < c ? slot : slot + 1);
        assert_int_equal(r.evals, 0);
    }
    assert_int_not_equal(cert_run_image_task(&v, &to, &untargeted, x, 1, c, 1, &r, &err), NN_OK);
    assert_int_equal(r.status, CERT_FAILED);
    assert_non_null(strstr(r.message, "slot 1"));
    cert_target_spec self = {.mode = TARGET_CLASS, .cls = c};
    assert_int_not_equal(cert_run_image_task(&v, &to, &self, x, 1, c, 0, &r, &err), NN_OK);
    assert_int_equal(r.status, CERT_FAILED);
    assert_non_null(strstr(r.message, "predicted class"));
    x[0] = NAN;
    assert_int_not_equal(cert_run_image_task(&v, &to, &untargeted, x, 1, c, 0, &r, &err), NN_OK);
    assert_int_equal(r.status, CERT_FAILED);
    assert_true(r.message[0] != '\0');
    free(x);
    cert_verifier_free(&v);
    model_free(&m);
}

static void packed_result_round_trips_bit_for_bit(void **state)
{
    (void)state;
    cert_result r, back;
    memset(&r, 0, sizeof r);
    r.index = 123456789012L;
    r.label = 7, r.pred = -1, r.target = CERT_UNTARGETED, r.status = CERT_FAILED;
    r.radius = 0x1.23456789abcdep-7, r.lo = -0.0, r.hi = INFINITY, r.margin = NAN;
    r.evals = 61, r.seconds = 1.5;
    r.pgd_eps = 0.25, r.pgd_lo = NAN, r.pgd_class = 3, r.saved = CERT_SAVED_ATTACK;
    memset(r.message, 'm', sizeof r.message - 1);
    unsigned char buf[CERT_RESULT_BYTES];
    cert_result_pack(&r, buf);
    nn_error err;
    assert_int_equal(cert_result_unpack(buf, &back, &err), NN_OK);
    assert_int_equal(back.index, r.index);
    assert_int_equal(back.pred, -1);
    assert_int_equal(back.target, CERT_UNTARGETED);
    assert_int_equal(back.status, CERT_FAILED);
    assert_memory_equal(&back.radius, &r.radius, 8);
    assert_memory_equal(&back.lo, &r.lo, 8);
    assert_true(isinf(back.hi) && isnan(back.margin));
    assert_int_equal(back.evals, 61);
    assert_int_equal(strlen(back.message), sizeof r.message - 1);
    assert_true(back.pgd_eps == 0.25 && isnan(back.pgd_lo) && back.pgd_class == 3);
    assert_int_equal(back.saved, CERT_SAVED_ATTACK);
    /* a row of the older 328-byte layout: no PGD fields */
    assert_int_equal(cert_result_unpack_n(buf, CERT_RESULT_BYTES_V0, &back, &err), NN_OK);
    assert_true(isnan(back.pgd_eps) && back.pgd_class == -1 && back.saved == 0 && back.evals == 61);
    assert_int_equal(cert_result_unpack_n(buf, 100, &back, &err), NN_EFORMAT);
    /* little-endian at fixed offsets */
    assert_int_equal(buf[56], 61);
    assert_int_equal(buf[20], CERT_FAILED);
    buf[20] = 9;
    assert_int_equal(cert_result_unpack(buf, &back, &err), NN_EFORMAT);
    buf[20] = 0;
    memset(buf + 72, 'x', 256);
    assert_int_equal(cert_result_unpack(buf, &back, &err), NN_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_of_all_targets_match_cert_run_task_in_any_order),
        cmocka_unit_test(misclassified_and_bad_tasks_are_rows_with_reasons),
        cmocka_unit_test(packed_result_round_trips_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
