/* The bound engine on residual graphs (doc/bounds.md "Residual graphs"): random
 * models with skip connections — dense residual blocks, conv residual blocks with
 * padding-preserving convs, a MaxPool and an avgpool inside a branch, an output
 * read by three layers, an add of a layer with itself, nested skips, skips from
 * the model input and from a normalize layer before the first nonlinear layer —
 * for every method, norm (inf, 1 and 2 clipped), both precisions, windowed and
 * full rows and several row blocks.
 *
 * Soundness: region samples (corners, spheres, interiors) and the centre go
 * through the independent long double forward pass of ld_reference.h (which
 * follows the graph's edges); every nonlinear layer's input, the output and
 * random spec rows must lie in the bounds, with no tolerance; a long double local
 * search never goes below a certified spec lower bound. Algebra: x + Dense(x) has
 * the CROWN (and Fast-Lin) bounds of the folded chain (I + W) x + b up to rounding. Order: CROWN
 * with intersect_ibp is inside IBP. Work units: row ranges and row blocks give the
 * full layer's bits; windowed rows agree with full rows up to rounding. */
#include "test_bound_models.h"

#include <float.h>

#include "ld_reference.h"

#define N_SAMP 24
#define SPEC_ROWS 3

/* tb_compute with the error message on failure. */
static void compute(const nn_model *m, const bound_options *o, const double *x0, norm_type p, double eps, int clip,
                    bound_state *st)
{
    nn_error err;
    bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0, .clip_hi = 1};
    if (bound_state_init(st, m, o, &err)) fail_msg("bound_state_init (%s): %s", bound_method_name(o->method), err.msg);
    if (bound_set_region(st, &R, &err)) fail_msg("bound_set_region: %s", err.msg);
    if (bound_compute(st, &err)) fail_msg("bound_compute (%s): %s", bound_method_name(o->method), err.msg);
}

/* ---- soundness ------------------------------------------------------------ */

static void random_spec(test_rng *rng, size_t no, double *C, double *d)
{
    for (size_t q = 0; q < SPEC_ROWS * no; q++) C[q] = test_rng_range(rng, -1, 1);
    for (size_t q = 0; q < SPEC_ROWS; q++) d[q] = test_rng_range(rng, -0.5, 0.5);
}

/* Bounds of one configuration checked on samples and the centre; returns spec
 * lower bounds in sl for the caller's further checks. */
static void check_config(const nn_model *m, test_rng *rng, const bound_options *o, const double *x0, norm_type p,
                         double eps, int clip, const char *what)
{
    nn_error err;
    bound_state st;
    compute(m, o, x0, p, eps, clip, &st);
    size_t n = model_input_size(m), no = model_output_size(m);
    double C[SPEC_ROWS * 16], d[SPEC_ROWS], sl[SPEC_ROWS], su[SPEC_ROWS];
    assert_true(no <= 16);
    random_spec(rng, no, C, d);
    if (bound_spec(&st, C, SPEC_ROWS, no, d, sl, su, &err)) fail_msg("%s: bound_spec: %s", what, err.msg);
    bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0, .clip_hi = 1};
    ld_check_samples(m, &st, rng, &R, N_SAMP, C, d, sl, su, SPEC_ROWS, what);
    /* a long double local search never beats a certified lower bound */
    if (n <= 128 && o->method != METHOD_IBP) {
        double xb[128];
        ld v = ld_pgd_min(m, &R, C, d[0], 2, 6, rng, xb);
        if (!(v >= (ld)sl[0])) fail_msg("%s: local search %.21Lg below the lower bound %.17g", what, v, sl[0]);
    }
    bound_state_free(&st);
}

static void every_method_norm_and_precision_is_sound(void **state)
{
    (void)state;
    test_rng rng = {0x5e51d0a1u};
    static const layer_type acts[] = {LAYER_RELU, LAYER_TANH, LAYER_LEAKY_RELU, LAYER_SIGMOID};
    for (int fam = 0; fam < TB_N_RES; fam++)
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            nn_model m;
            tb_build_res(&m, &rng, fam, acts[a]);
            size_t n = model_input_size(&m);
            double *x0 = test_rand_vec(&rng, n, 0.1, 0.9);
            for (int method = 0; method < METHOD_COUNT; method++) {
                /* crown-quad needs a ReLU as the last nonlinear layer (family 1 ends in a MaxPool) */
                if (method == METHOD_CROWN_QUAD && (acts[a] != LAYER_RELU || fam == 1)) continue;
                /* the LP methods (an LP per neuron) on the ReLU graphs only: their
                 * own orderings test covers the graphs in depth */
                int lp = method == METHOD_LP_LAST || method == METHOD_LP_ALL || method == METHOD_MILP;
                if (lp && (acts[a] != LAYER_RELU || TEST_UNDER_SANITIZER)) continue;
                for (int cfg = 0; cfg < 4; cfg++) {
                    norm_type p = cfg == 0 ? NORM_INF : cfg == 1 ? NORM_1 : NORM_2;
                    nn_error err;
                    if (bound_method_check_norm((bound_method)method, p, &err)) continue; /* LP methods: no l2 */
                    int clip = cfg >= 2 || (cfg == 1 && fam == 1);
                    bound_options o;
                    bound_options_default(&o);
                    o.method = (bound_method)method;
                    o.frown_iters = 4;
                    o.milp_time_limit = 0.3; /* a row past it keeps Cbc's proven bound */
                    o.single = cfg == 3 && fam != 0;
                    o.dense_rows = fam == 1 && cfg == 1;
                    o.row_block = cfg == 2 ? 5 : 0;
                    o.skip_stable = cfg != 3;
                    o.intersect_ibp = cfg != 1;
                    double eps = p == NORM_INF ? 0.03 : p == NORM_2 ? 0.1 : 0.3;
                    char what[160];
                    snprintf(what, sizeof what, "family %d, %s, %s, norm %s%s%s", fam, layer_type_name(acts[a]),
                             bound_method_name((bound_method)method), norm_name(p), clip ? " clipped" : "",
                             o.single ? ", single" : "");
                    check_config(&m, &rng, &o, x0, p, eps, clip, what);
                }
            }
            free(x0);
            model_free(&m);
        }
}

/* Large eps (everything unstable) and tiny eps (nearly exact) on the conv graphs. */
static void extreme_radii_are_sound(void **state)
{
    (void)state;
    test_rng rng = {0xe0e0e0u};
    for (int fam = 1; fam < TB_N_RES; fam++) {
        nn_model m;
        tb_build_res(&m, &rng, fam, LAYER_RELU);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.0, 1.0);
        static const double eps[] = {0.0, 1e-9, 2.0};
        for (int k = 0; k < 3; k++)
            for (int single = 0; single < 2; single++) {
                bound_options o;
                bound_options_default(&o);
                o.single = single;
                char what[96];
                snprintf(what, sizeof what, "family %d, eps %g, %s", fam, eps[k], single ? "single" : "double");
                check_config(&m, &rng, &o, x0, NORM_INF, eps[k], 0, what);
            }
        free(x0);
        model_free(&m);
    }
}

/* ---- algebra and order ---------------------------------------------------- */

/* in 5 -> dense 7 -> relu -> [dense 7 W] + skip -> relu -> dense 3, and the same
 * with the skip folded into the weights: (I + W) a + b. */
static void build_pair(test_rng *rng, nn_model *res, nn_model *fold)
{
    double *W1 = test_rand_vec(rng, 35, -0.6, 0.6), *b1 = test_rand_vec(rng, 7, -0.3, 0.3);
    double *W = test_rand_vec(rng, 49, -0.4, 0.4), *b = test_rand_vec(rng, 7, -0.3, 0.3);
    double *W3 = test_rand_vec(rng, 21, -0.6, 0.6), *b3 = test_rand_vec(rng, 3, -0.3, 0.3);
    double IW[49];
    for (int r = 0; r < 7; r++)
        for (int c = 0; c < 7; c++) IW[r * 7 + c] = W[r * 7 + c] + (r == c);
    for (int k = 0; k < 2; k++) {
        nn_model *m = k ? fold : res;
        model_init(m);
        m->input = (nn_shape){5, 1, 1};
        tb_dense_from(m, 5, 7, W1, b1);
        tb_act(m, rng, LAYER_RELU, 7);
        tb_dense_from(m, 7, 7, k ? IW : W, b);
        if (!k) tb_add(m, 2, 1);
        tb_act(m, rng, LAYER_RELU, 7);
        tb_dense_from(m, 7, 3, W3, b3);
        nn_error err;
        assert_int_equal(model_finalize(m, &err), NN_OK);
    }
    free(W1), free(b1), free(W), free(b), free(W3), free(b3);
}

static void close_to(double a, double b, const char *what)
{
    if (!(fabs(a - b) <= 1e-9 * (1 + fabs(a) + fabs(b)))) fail_msg("%s: %.17g vs %.17g", what, a, b);
}

static void skip_equals_folded_identity(void **state)
{
    (void)state;
    test_rng rng = {0xf01d};
    for (int trial = 0; trial < 12; trial++) {
        nn_model res, fold;
        build_pair(&rng, &res, &fold);
        double *x0 = test_rand_vec(&rng, 5, -1, 1);
        for (int p = 0; p < 3; p++)
            for (int method = 0; method < 2; method++) {
                bound_options o;
                bound_options_default(&o);
                /* (not LBP: its forward bounds split W a + a by the signs of W and
                 * of I, so the sum is looser than (I + W) a's) */
                o.method = method ? METHOD_FASTLIN : METHOD_CROWN;
                o.intersect_ibp = 0;
                o.skip_stable = 0;
                bound_state a, b;
                compute(&res, &o, x0, (norm_type)p, 0.2, 0, &a);
                compute(&fold, &o, x0, (norm_type)p, 0.2, 0, &b);
                for (int k = 0; k < 7; k++) {
                    close_to(a.pre_lower[4][k], b.pre_lower[3][k], "second relu lower");
                    close_to(a.pre_upper[4][k], b.pre_upper[3][k], "second relu upper");
                }
                for (int k = 0; k < 3; k++) {
                    close_to(a.out_lower[k], b.out_lower[k], "output lower");
                    close_to(a.out_upper[k], b.out_upper[k], "output upper");
                }
                bound_state_free(&a);
                bound_state_free(&b);
            }
        free(x0);
        model_free(&res);
        model_free(&fold);
    }
}

static void crown_is_inside_ibp(void **state)
{
    (void)state;
    test_rng rng = {0x1b9};
    for (int fam = 0; fam < TB_N_RES; fam++) {
        nn_model m;
        tb_build_res(&m, &rng, fam, LAYER_RELU);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.1, 0.9);
        bound_options oi, oc;
        bound_options_default(&oi);
        bound_options_default(&oc);
        oi.method = METHOD_IBP;
        bound_state a, b;
        compute(&m, &oi, x0, NORM_INF, 0.05, 0, &a);
        compute(&m, &oc, x0, NORM_INF, 0.05, 0, &b);
        for (int i = 0; i < m.n_layers; i++) {
            if (!a.pre_lower[i]) continue;
            for (size_t k = 0; k < shape_size(m.layers[i].in); k++) {
                double tol = 1e-9 * (1 + fabs(a.pre_lower[i][k]) + fabs(a.pre_upper[i][k]));
                if (b.pre_lower[i][k] < a.pre_lower[i][k] - tol || b.pre_upper[i][k] > a.pre_upper[i][k] + tol)
                    fail_msg("family %d layer %d neuron %zu: CROWN [%.17g, %.17g] not inside IBP [%.17g, %.17g]", fam,
                             i, k, b.pre_lower[i][k], b.pre_upper[i][k], a.pre_lower[i][k], a.pre_upper[i][k]);
            }
        }
        for (size_t k = 0; k < model_output_size(&m); k++) {
            double tol = 1e-9 * (1 + fabs(a.out_lower[k]) + fabs(a.out_upper[k]));
            assert_true(b.out_lower[k] >= a.out_lower[k] - tol && b.out_upper[k] <= a.out_upper[k] + tol);
        }
        bound_state_free(&a);
        bound_state_free(&b);
        free(x0);
        model_free(&m);
    }
}

/* ---- work units ------------------------------------------------------------ */

static void row_ranges_and_layouts_agree(void **state)
{
    (void)state;
    test_rng rng = {0x7a9e};
    for (int fam = 0; fam < TB_N_RES; fam++)
        for (int single = 0; single < 2; single++) {
            nn_model m;
            tb_build_res(&m, &rng, fam, LAYER_RELU);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.1, 0.9);
            bound_options o;
            bound_options_default(&o);
            o.single = single;
            o.row_block = 4;
            o.skip_stable = 0;
            bound_state full, split, dense;
            compute(&m, &o, x0, NORM_2, 0.2, 0, &full);
            o.dense_rows = 1;
            compute(&m, &o, x0, NORM_2, 0.2, 0, &dense);
            o.dense_rows = 0;
            /* the same layers computed by ranges of odd sizes, committed in turn */
            nn_error err;
            bound_region R = {.center = x0, .eps = 0.2, .norm = NORM_2};
            assert_int_equal(bound_state_init(&split, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&split, &R, &err), NN_OK);
            for (int i = 0; i < m.n_layers; i++) {
                if (!layer_is_nonlinear(m.layers[i].type)) continue;
                size_t n = shape_size(m.layers[i].in);
                double *l = malloc(n * sizeof *l), *u = malloc(n * sizeof *u);
                for (size_t lo = 0; lo < n; lo += 3) {
                    size_t hi = lo + 3 < n ? lo + 3 : n;
                    if (bound_layer_rows(&split, i, lo, hi, l + lo, u + lo, &err)) fail_msg("rows: %s", err.msg);
                }
                assert_int_equal(bound_layer_commit(&split, i, l, u, &err), NN_OK);
                free(l);
                free(u);
            }
            tb_assert_same_bounds(&m, &full, &split);
            for (int i = 0; i < m.n_layers; i++) {
                if (!full.pre_lower[i]) continue;
                for (size_t k = 0; k < shape_size(m.layers[i].in); k++) {
                    double t = single ? 1e-4 : 1e-9;
                    double sl = t * (1 + fabs(full.pre_lower[i][k])), su = t * (1 + fabs(full.pre_upper[i][k]));
                    if (fabs(full.pre_lower[i][k] - dense.pre_lower[i][k]) > sl ||
                        fabs(full.pre_upper[i][k] - dense.pre_upper[i][k]) > su)
                        fail_msg("family %d layer %d neuron %zu: windowed [%.17g, %.17g] vs full rows [%.17g, %.17g]",
                                 fam, i, k, full.pre_lower[i][k], full.pre_upper[i][k], dense.pre_lower[i][k],
                                 dense.pre_upper[i][k]);
                }
            }
            bound_state_free(&full);
            bound_state_free(&split);
            bound_state_free(&dense);
            free(x0);
            model_free(&m);
        }
}

/* Graph rows are cut anywhere over a rank group only where the two branches of
 * every add have the same stride (bound_rows_block_free): then a row's two
 * windows at the fork are offset alike in every row. Branches of strides 1 and
 * 2 reaching one 5x5 map are not; and where they agree, unaligned ranges give
 * the whole layer's bits. */
static void graph_rows_block_free_only_with_equal_branch_strides(void **state)
{
    (void)state;
    for (int mixed = 0; mixed < 2; mixed++) {
        test_rng rng = {0x51de + (uint64_t)mixed};
        nn_model m;
        model_init(&m);
        m.input = (nn_shape){1, 9, 9};
        tb_conv_pad(&m, &rng, 1, 2, 3, 1, 0.6);                                 /* 0: 2x9x9 */
        tb_act(&m, &rng, LAYER_RELU, 2 * 81);                                   /* 1 */
        if (mixed) {
            tb_conv(&m, &rng, 2, 2, 5, 1, (const int[4]){0, 0, 0, 0}, 0.4);   /* 2: stride 1 -> 5x5 */
            nn_layer l = layer_make(LAYER_CONV2D);                              /* 3: stride 2 -> 5x5, from 1 */
            l.out_channels = 2, l.in_features = 2, l.kernel[0] = l.kernel[1] = 3;
            l.stride[0] = l.stride[1] = 2;
            for (int q = 0; q < 4; q++) l.pad[q] = 1;
            l.n_inputs = 1, l.input[0] = 1;
            l.weight = test_rand_vec(&rng, 2 * 2 * 9, -0.4, 0.4);
            l.bias = test_rand_vec(&rng, 2, -0.2, 0.2);
            test_add_layer(&m, l);
        } else {
            tb_conv_pad(&m, &rng, 2, 2, 3, 1, 0.4);                             /* 2: 2x9x9 */
            tb_conv_pad(&m, &rng, 2, 2, 1, 0, 0.4);                             /* 3: 2x9x9 */
        }
        tb_add(&m, 2, 3);                                                       /* 4 */
        tb_act(&m, &rng, LAYER_RELU, 2 * (mixed ? 25 : 81));                    /* 5 */
        test_add_layer(&m, layer_make(LAYER_FLATTEN));
        tb_dense(&m, &rng, 2 * (mixed ? 25 : 81), 3);
        tb_finalize_graph(&m);
        double *x0 = test_rand_vec(&rng, 81, 0.1, 0.9);
        bound_options o;
        bound_options_default(&o);
        o.row_block = 4;
        bound_state st;
        compute(&m, &o, x0, NORM_INF, 0.05, 1, &st);
        assert_int_equal(bound_rows_block_free(&st, 5), !mixed);
        assert_int_equal(bound_row_split_unit(&st, 5), mixed ? 4 : 1);
        size_t n = shape_size(m.layers[5].in);
        for (size_t lo = 1; lo < n; lo += 7) {
            size_t hi = lo + 5 < n ? lo + 5 : n;
            double l[8], u[8];
            nn_error err;
            assert_int_equal(bound_layer_rows(&st, 5, lo, hi, l, u, &err), NN_OK);
            assert_memory_equal(l, st.pre_lower[5] + lo, (hi - lo) * sizeof *l);
            assert_memory_equal(u, st.pre_upper[5] + lo, (hi - lo) * sizeof *u);
        }
        bound_state_free(&st);
        free(x0);
        model_free(&m);
    }
}

int main(void)
{
    if (test_blas_one_thread()) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_method_norm_and_precision_is_sound),
        cmocka_unit_test(extreme_radii_are_sound),
        cmocka_unit_test(skip_equals_folded_identity),
        cmocka_unit_test(crown_is_inside_ibp),
        cmocka_unit_test(row_ranges_and_layouts_agree),
        cmocka_unit_test(graph_rows_block_free_only_with_equal_branch_strides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
