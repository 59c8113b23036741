/* Unit tests for the ReLU-like relaxations (relax_relu.c, relax_leaky_relu.c,
 * relax_param_ramp.c) and the relax.c dispatch: lines valid on a dense grid in
 * double with no tolerance, strategy choices, parameter ranges, exact stable lines,
 * errors for bad boxes and layers, names. */
#include "relax_check.h"

#define N 3000

typedef struct {
    double *l, *u, *r;
    relax_lines lines;
    nn_layer layer;
} fixture;

static void fixture_make(fixture *f, layer_type type, double alpha, test_rng *rng)
{
    nn_error err;
    f->l = malloc(N * sizeof *f->l);
    f->u = malloc(N * sizeof *f->u);
    f->r = malloc(N * sizeof *f->r);
    assert_non_null(f->l);
    assert_non_null(f->u);
    assert_non_null(f->r);
    for (size_t i = 0; i < N; i++) f->r[i] = i % 7 == 0 ? 0.0 : pow(10.0, test_rng_range(rng, -2, 2));
    f->layer = layer_make(type);
    f->layer.alpha = alpha;
    f->layer.in = f->layer.out = (nn_shape){N, 1, 1};
    if (type == LAYER_PARAM_RAMP) f->layer.r = f->r;
    relax_boxes(rng, f->l, f->u, N, type == LAYER_PARAM_RAMP ? f->r : NULL);
    assert_int_equal(relax_lines_init(&f->lines, N, &err), NN_OK);
}

static void fixture_free(fixture *f)
{
    relax_lines_free(&f->lines);
    free(f->l);
    free(f->u);
    free(f->r);
}

/* All strategies of one activation: valid lines and valid parameter samples. */
static void check_activation(layer_type type, double alpha, uint64_t seed)
{
    test_rng rng = {seed};
    fixture f;
    nn_error err;
    fixture_make(&f, type, alpha, &rng);
    for (int s = LINES_ADAPTIVE; s <= LINES_FASTLIN; s++) {
        assert_int_equal(relax_activation(&f.layer, 0, f.l, f.u, N, (line_strategy)s, &f.lines, &err), NN_OK);
        assert_int_equal(relax_lines_violations(&f.layer, f.l, f.u, &f.lines, N), 0);
        assert_int_equal(relax_param_violations(&f.layer, f.l, f.u, &f.lines, N, &rng), 0);
    }
    fixture_free(&f);
}

static void relu_lines_valid_on_grid(void **state)
{
    (void)state;
    check_activation(LAYER_RELU, 0.0, 1);
}

static void leaky_relu_lines_valid_on_grid(void **state)
{
    (void)state;
    check_activation(LAYER_LEAKY_RELU, 0.01, 2);
    check_activation(LAYER_LEAKY_RELU, 0.3, 3);
    check_activation(LAYER_LEAKY_RELU, 1.0, 4);
    check_activation(LAYER_LEAKY_RELU, 0.0, 5);
}

static void param_ramp_lines_valid_on_grid(void **state)
{
    (void)state;
    check_activation(LAYER_PARAM_RAMP, 0.01, 6);
    check_activation(LAYER_PARAM_RAMP, 0.5, 7);
    check_activation(LAYER_PARAM_RAMP, 0.0, 8);
    check_activation(LAYER_PARAM_RAMP, 1.0, 9);
}

static void relu_strategies_pick_documented_lower_slopes(void **state)
{
    (void)state;
    test_rng rng = {11};
    fixture f;
    nn_error err;
    fixture_make(&f, LAYER_RELU, 0.0, &rng);
    relax_lines *L = &f.lines;
    int unstable = 0;
    for (int s = LINES_ADAPTIVE; s <= LINES_FASTLIN; s++) {
        assert_int_equal(relax_activation(&f.layer, 0, f.l, f.u, N, (line_strategy)s, L, &err), NN_OK);
        for (size_t i = 0; i < N; i++) {
            double l = f.l[i], u = f.u[i];
            if (l < 0 && u > 0) {
                unstable += s == LINES_TIGHT;
                assert_true(L->lower_icpt[i] == 0.0);
                assert_true(L->lower_lo[i] == 0.0 && L->lower_hi[i] == 1.0);
                assert_true(L->upper_slope[i] == u / (u - l));
                if (s == LINES_FASTLIN) assert_true(L->lower_slope[i] == L->upper_slope[i]);
                if (s == LINES_TIGHT) assert_true(L->lower_slope[i] == 0.0);
                if (s == LINES_ADAPTIVE) assert_true(L->lower_slope[i] == (u >= -l ? 1.0 : 0.0));
                /* The chord passes through (l, 0) and (u, u) up to rounding. */
                assert_true(fabs(L->upper_slope[i] * l + L->upper_icpt[i]) <= 1e-12 * (u - l));
            } else {
                /* Stable neurons are exact: lines 0 or z, no rounding allowance. */
                double a = u <= 0 ? 0.0 : 1.0;
                assert_true(L->lower_slope[i] == a && L->upper_slope[i] == a);
                assert_true(L->lower_icpt[i] == 0.0 && L->upper_icpt[i] == 0.0);
                assert_true(L->lower_lo[i] == L->lower_hi[i]);
            }
        }
    }
    assert_true(unstable > N / 10);
    fixture_free(&f);
}

static void leaky_relu_tight_lower_is_alpha_z(void **state)
{
    (void)state;
    test_rng rng = {12};
    fixture f;
    nn_error err;
    double alpha = 0.2;
    fixture_make(&f, LAYER_LEAKY_RELU, alpha, &rng);
    relax_lines *L = &f.lines;
    for (int s = LINES_ADAPTIVE; s <= LINES_FASTLIN; s++) {
        assert_int_equal(relax_activation(&f.layer, 0, f.l, f.u, N, (line_strategy)s, L, &err), NN_OK);
        for (size_t i = 0; i < N; i++) {
            double l = f.l[i], u = f.u[i];
            if (!(l < 0 && u > 0)) continue;
            double a = L->lower_slope[i];
            assert_true(L->lower_icpt[i] == 0.0);
            assert_true(L->lower_lo[i] == alpha && L->lower_hi[i] == 1.0);
            if (s == LINES_TIGHT) assert_true(a == alpha);
            if (s == LINES_ADAPTIVE) assert_true(a == (u >= -l ? 1.0 : alpha));
            if (s == LINES_FASTLIN) assert_true(fabs(a - L->upper_slope[i]) <= 1e-15);
        }
    }
    fixture_free(&f);
}

/* One box per ParamRamp state with known lines (eta = 0.25, r = 2). */
static void param_ramp_six_states(void **state)
{
    (void)state;
    nn_error err;
    double eta = 0.25, r[6] = {2, 2, 2, 2, 2, 2};
    double l[6] = {-3, -1, -1, 0.5, 1, 3}, u[6] = {-1, 1.5, 4, 1.5, 5, 4};
    nn_layer layer = layer_make(LAYER_PARAM_RAMP);
    layer.alpha = eta;
    layer.r = r;
    layer.in = layer.out = (nn_shape){6, 1, 1};
    relax_lines L;
    assert_int_equal(relax_lines_init(&L, 6, &err), NN_OK);
    assert_int_equal(relax_activation(&layer, 0, l, u, 6, LINES_TIGHT, &L, &err), NN_OK);
    assert_int_equal(relax_lines_violations(&layer, l, u, &L, 6), 0);
    double c = (1 - eta) * 2;
    /* S1: eta*z both, exact. */
    assert_true(L.lower_slope[0] == eta && L.lower_icpt[0] == 0 && L.upper_slope[0] == eta && L.upper_icpt[0] == 0);
    /* S2: chord above, eta*z below with freedom [eta, 1]. */
    assert_true(fabs(L.upper_slope[1] - (1.5 + 0.25) / 2.5) < 1e-15);
    assert_true(L.lower_slope[1] == eta && L.lower_lo[1] == eta && L.lower_hi[1] == 1.0);
    /* S3: eta*z + (1-eta)r above, eta*z below, freedom up to eta + (1-eta)r/u. */
    assert_true(L.upper_slope[2] == eta && fabs(L.upper_icpt[2] - c) < 1e-14);
    assert_true(L.lower_slope[2] == eta && fabs(L.lower_hi[2] - (eta + (1 - eta) * 2 / 4)) < 1e-15);
    /* S4: z both, exact. */
    assert_true(L.lower_slope[3] == 1 && L.lower_icpt[3] == 0 && L.upper_slope[3] == 1 && L.upper_icpt[3] == 0);
    /* S5: eta*z + (1-eta)r above, chord below from (1, 1) to (5, phi(5) = 2.75). */
    assert_true(L.upper_slope[4] == eta && fabs(L.upper_icpt[4] - c) < 1e-14);
    assert_true(fabs(L.lower_slope[4] - 1.75 / 4) < 1e-15 && fabs(L.lower_icpt[4] - (1 - 1.75 / 4)) < 1e-14);
    /* S6: eta*z + (1-eta)r both, exact. */
    assert_true(L.lower_slope[5] == eta && L.lower_icpt[5] == c && L.upper_slope[5] == eta && L.upper_icpt[5] == c);
    relax_lines_free(&L);
}

static void relax_activation_offset_reads_ramp_r_of_that_neuron(void **state)
{
    (void)state;
    nn_error err;
    double r[4] = {0.1, 0.2, 5.0, 5.0};
    nn_layer layer = layer_make(LAYER_PARAM_RAMP);
    layer.alpha = 0.1;
    layer.r = r;
    layer.in = layer.out = (nn_shape){4, 1, 1};
    double l[2] = {1, 1}, u[2] = {2, 2}; /* neurons 2, 3: r = 5, so phi(z) = z on [1, 2] */
    relax_lines L;
    assert_int_equal(relax_lines_init(&L, 2, &err), NN_OK);
    assert_int_equal(relax_activation(&layer, 2, l, u, 2, LINES_TIGHT, &L, &err), NN_OK);
    assert_true(L.lower_slope[0] == 1.0 && L.upper_slope[1] == 1.0);
    assert_int_not_equal(relax_activation(&layer, 3, l, u, 2, LINES_TIGHT, &L, &err), NN_OK);
    assert_non_null(strstr(err.msg, "r of 4"));
    relax_lines_free(&L);
}

static void relax_activation_rejects_bad_boxes_and_layers(void **state)
{
    (void)state;
    nn_error err;
    relax_lines L;
    assert_int_equal(relax_lines_init(&L, 2, &err), NN_OK);
    nn_layer relu = layer_make(LAYER_RELU), dense = layer_make(LAYER_DENSE);
    double l[2] = {0, 1}, u[2] = {1, 0.5};
    assert_int_equal(relax_activation(&relu, 7, l, u, 2, LINES_TIGHT, &L, &err), NN_EVALUE);
    assert_non_null(strstr(err.msg, "neuron 8"));
    u[1] = NAN;
    assert_int_equal(relax_activation(&relu, 0, l, u, 2, LINES_TIGHT, &L, &err), NN_ENUMERIC);
    u[1] = INFINITY;
    assert_int_equal(relax_activation(&relu, 0, l, u, 2, LINES_TIGHT, &L, &err), NN_ENUMERIC);
    u[1] = 2;
    assert_int_equal(relax_activation(&dense, 0, l, u, 2, LINES_TIGHT, &L, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "dense"));
    assert_int_equal(relax_activation(&relu, 0, l, u, 3, LINES_TIGHT, &L, &err), NN_EARG);
    assert_int_equal(relax_activation(&relu, 0, l, u, 2, (line_strategy)9, &L, &err), NN_EARG);
    assert_int_equal(relax_activation(&relu, 0, l, u, 2, LINES_TIGHT, &L, &err), NN_OK);
    relax_lines_free(&L);
    relax_lines_free(&L); /* freeing twice is harmless */
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = LINES_ADAPTIVE; s <= LINES_FASTLIN; s++)
        assert_int_equal(line_strategy_parse(line_strategy_name((line_strategy)s)), s);
    for (int m = POOL_TILIN; m <= POOL_INTERVAL; m++)
        assert_int_equal(pool_method_parse(pool_method_name((pool_method)m)), m);
    assert_string_equal(line_strategy_name(LINES_FASTLIN), "fastlin");
    assert_string_equal(pool_method_name(POOL_TILIN), "tilin");
    assert_int_equal(line_strategy_parse("crown"), -1);
    assert_int_equal(pool_method_parse("Tilin"), -1);
    assert_int_equal(pool_method_parse(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relu_lines_valid_on_grid),
        cmocka_unit_test(leaky_relu_lines_valid_on_grid),
        cmocka_unit_test(param_ramp_lines_valid_on_grid),
        cmocka_unit_test(relu_strategies_pick_documented_lower_slopes),
        cmocka_unit_test(leaky_relu_tight_lower_is_alpha_z),
        cmocka_unit_test(param_ramp_six_states),
        cmocka_unit_test(relax_activation_offset_reads_ramp_r_of_that_neuron),
        cmocka_unit_test(relax_activation_rejects_bad_boxes_and_layers),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
