/* The row executor hook of bound_compute (bound.h, bound_rows_fn): a hook that
 * computes each layer in aligned row blocks in a scrambled order, as a group of
 * ranks would, gives the state of the plain computation bit for bit, and a
 * failing hook's error comes back from bound_compute unchanged. */
#include "test_bound_models.h"

typedef struct {
    int calls;          /* layers handed to the hook */
    int parts;          /* ranks the rows are split over */
    int fail_layer;     /* layer at which to fail (-1: never) */
} split_ctx;

/* Rows in parts "ranks" of whole row blocks, the last rank first. */
static int split_rows(void *ctx, bound_state *st, int layer, size_t n, double *lower, double *upper, nn_error *err)
{
    split_ctx *k = ctx;
    k->calls++;
    if (layer == k->fail_layer) return nn_fail(err, NN_ENUMERIC, "test hook: layer %d refused", layer);
    size_t rb = st->opt.row_block, nb = (n + rb - 1) / rb;
    for (int r = k->parts - 1; r >= 0; r--) {
        size_t lo = nb * (size_t)r / (size_t)k->parts * rb, hi = nb * (size_t)(r + 1) / (size_t)k->parts * rb;
        if (hi > n) hi = n;
        if (lo >= hi) continue;
        int rc = bound_layer_rows(st, layer, lo, hi, lower + lo, upper + lo, err);
        if (rc) return rc;
    }
    return NN_OK;
}

static void compute(const nn_model *m, const bound_options *o, const double *x0, double eps, split_ctx *hook,
                    bound_state *st)
{
    nn_error err;
    bound_region R = {.center = x0, .eps = eps, .norm = NORM_INF, .clip = 1, .clip_lo = 0, .clip_hi = 1};
    assert_int_equal(bound_state_init(st, m, o, &err), NN_OK);
    if (hook) {
        st->rows_exec = split_rows;
        st->rows_ctx = hook;
    }
    assert_int_equal(bound_set_region(st, &R, &err), NN_OK);
    if (bound_compute(st, &err)) fail_msg("bound_compute: %s", err.msg);
}

static void split_hook_gives_plain_bits(void **state)
{
    (void)state;
    test_rng rng = {51};
    const bound_method methods[] = {METHOD_IBP, METHOD_CROWN_IBP, METHOD_LBP,
                                    METHOD_CROWN_LBP, METHOD_FASTLIN, METHOD_CROWN};
    for (int fam = 0; fam < 2; fam++) {
        nn_model m;
        if (fam) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_mlp(&m, &rng, LAYER_SIGMOID);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        int nl = 0;
        for (int i = 0; i < m.n_layers; i++) nl += layer_is_nonlinear(m.layers[i].type);
        for (size_t a = 0; a < sizeof methods / sizeof methods[0]; a++)
            for (int parts = 1; parts <= 5; parts += 2) {
                bound_options o;
                bound_options_default(&o);
                o.method = methods[a];
                o.row_block = 3;
                bound_state plain, split;
                split_ctx k = {0, parts, -1};
                compute(&m, &o, x0, 0.03, NULL, &plain);
                compute(&m, &o, x0, 0.03, &k, &split);
                assert_int_equal(k.calls, nl);
                for (int i = 0; i < m.n_layers; i++) {
                    if (!plain.pre_lower[i]) continue;
                    size_t n = shape_size(m.layers[i].in);
                    assert_memory_equal(plain.pre_lower[i], split.pre_lower[i], n * sizeof(double));
                    assert_memory_equal(plain.pre_upper[i], split.pre_upper[i], n * sizeof(double));
                }
                size_t no = model_output_size(&m);
                assert_memory_equal(plain.out_lower, split.out_lower, no * sizeof(double));
                assert_memory_equal(plain.out_upper, split.out_upper, no * sizeof(double));
                bound_state_free(&plain);
                bound_state_free(&split);
            }
        free(x0);
        model_free(&m);
    }
}

static void hook_error_is_returned_and_hook_survives_new_region(void **state)
{
    (void)state;
    test_rng rng = {52};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    int second = -1;
    for (int i = 0, seen = 0; i < m.n_layers; i++)
        if (layer_is_nonlinear(m.layers[i].type) && ++seen == 2) second = i;
    assert_true(second > 0);
    bound_options o;
    bound_options_default(&o);
    bound_state st;
    nn_error err;
    split_ctx k = {0, 2, second};
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    st.rows_exec = split_rows;
    st.rows_ctx = &k;
    bound_region R = {.center = x0, .eps = 0.01, .norm = NORM_INF};
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    assert_int_equal(bound_compute(&st, &err), NN_ENUMERIC);
    assert_non_null(strstr(err.msg, "test hook: layer"));
    R.eps = 0.02;
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    assert_ptr_equal(st.rows_exec, split_rows);
    k.calls = 0;
    assert_int_equal(bound_compute(&st, &err), NN_ENUMERIC);
    assert_int_equal(k.calls, 2);
    bound_state_free(&st);
    free(x0);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_hook_gives_plain_bits),
        cmocka_unit_test(hook_error_is_returned_and_hook_survives_new_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
