/* bound_estimate_memory (doc/bounds.md "Memory"): it resolves the row block as
 * bound_state_init does, grows with row_block, counts single's float copies, and
 * (outside the sanitizers, whose allocator mallinfo2 does not see) bounds the heap
 * a state actually takes through bound_compute and bound_spec. */
#include "test_bound_models.h"

#include <malloc.h>

static const bound_method methods[] = {METHOD_CROWN, METHOD_FASTLIN, METHOD_LBP, METHOD_FROWN, METHOD_CROWN_QUAD,
                                       METHOD_IBP};

static void row_block_matches_init_and_estimate_grows(void **unused)
{
    (void)unused;
    test_rng rng = {99};
    for (int fam = 0; fam < 2; fam++) {
        nn_model m;
        if (fam) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_mlp(&m, &rng, LAYER_RELU);
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            if (methods[k] == METHOD_CROWN_QUAD && fam) continue;
            nn_error err;
            bound_options o;
            bound_options_default(&o);
            o.method = methods[k];
            size_t rbs[] = {0, 1, 3, 8, 64};
            double prev = 0;
            for (int r = 0; r < 5; r++) {
                o.row_block = rbs[r];
                bound_memory bm;
                assert_int_equal(bound_estimate_memory(&m, &o, &bm, &err), NN_OK);
                bound_state st;
                assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
                assert_int_equal(bm.row_block, st.opt.row_block);
                bound_state_free(&st);
                assert_int_equal(bm.total, bm.model + bm.state + bm.block + bm.method);
                if (r > 1) assert_true((double)bm.block > prev);  /* strictly: more rows, more blocks */
                if (r > 0) prev = (double)bm.block;
            }
            bound_memory d, s;
            o.row_block = 8;
            assert_int_equal(bound_estimate_memory(&m, &o, &d, &err), NN_OK);
            o.single = 1;
            assert_int_equal(bound_estimate_memory(&m, &o, &s, &err), NN_OK);
            /* single never shrinks a block (it also holds double rows) and adds
             * float copies of the dense and conv weights */
            assert_true(s.block == d.block);
            assert_true(s.total > d.total);
        }
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_FROWN;
        bound_memory g1, g4;
        nn_error err;
        assert_int_equal(bound_estimate_memory(&m, &o, &g1, &err), NN_OK);
        o.frown_group = 4;
        assert_int_equal(bound_estimate_memory(&m, &o, &g4, &err), NN_OK);
        assert_true(g4.method < g1.method);
        model_free(&m);
    }
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Heap in use (mallinfo2: arena and mmapped blocks) after a whole evaluation,
 * minus before, never above the estimate less the model (loaded before). */
static void estimate_bounds_the_heap_a_state_takes(void **unused)
{
    (void)unused;
#ifdef UNDER_ASAN
    skip();
#else
    test_rng rng = {5};
    for (int fam = 0; fam < 3; fam++) {
        nn_model m;
        if (fam == 2) tb_build_conv_res(&m, &rng, LAYER_RELU);  /* a graph: FROWN's pending blocks */
        else if (fam) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_one_hidden(&m, &rng, 200, 400, 10);
        size_t n_in = model_input_size(&m), no = model_output_size(&m);
        double x[200], C[100], lo[10], up[10];
        for (size_t j = 0; j < n_in; j++) x[j] = test_rng_uniform(&rng);
        for (size_t r = 0; r < no * no; r++) C[r] = r % (no + 1) == 0 ? 1.0 : (r % no == 0 ? -1.0 : 0.0);
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            if (methods[k] == METHOD_CROWN_QUAD && fam) continue;
            nn_error err;
            bound_options o;
            bound_options_default(&o);
            o.method = methods[k];
            o.frown_iters = 3;
            bound_memory bm;
            assert_int_equal(bound_estimate_memory(&m, &o, &bm, &err), NN_OK);
            struct mallinfo2 a = mallinfo2();
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            bound_region reg = {.center = x, .eps = 0.01, .norm = NORM_INF};
            assert_int_equal(bound_set_region(&st, &reg, &err), NN_OK);
            assert_int_equal(bound_compute(&st, &err), NN_OK);
            assert_int_equal(bound_spec(&st, C, no, no, NULL, lo, up, &err), NN_OK);
            struct mallinfo2 b = mallinfo2();
            double used = ((double)b.uordblks + (double)b.hblkhd) - ((double)a.uordblks + (double)a.hblkhd);
            bound_state_free(&st);
            if (used > (double)(bm.total - bm.model))
                fail_msg("family %d method %s: heap grew %.0f bytes, estimate %zu", fam,
                         bound_method_name(methods[k]), used, bm.total - bm.model);
        }
        model_free(&m);
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(row_block_matches_init_and_estimate_grows),
        cmocka_unit_test(estimate_bounds_the_heap_a_state_takes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
