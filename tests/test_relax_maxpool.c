/* Unit tests for the MaxPool relaxations (relax_maxpool.c and the layer-level
 * relax_maxpool in relax.c): lower <= max <= upper on box corners and random
 * points of 20,000 random windows (ties, degenerate boxes) for all four methods
 * with no tolerance, Ti-Lin's planes at least as tight in volume as DeepPoly's and
 * CNN-Cert's, exact planes where the max is one input, the Ti-Lin cases, and a
 * pooling layer with padding and overlapping windows against maxpool2d_forward. */
#include "testutil.h"

#include <float.h>
#include <math.h>

#include "layer_ops.h"
#include "model.h"
#include "relax.h"

#define KMAX 25
#define WINDOWS 20000

static int rand_int(test_rng *rng, int lo, int hi) { return lo + (int)(test_rng_next(rng) % (uint64_t)(hi - lo + 1)); }

/* A window of n boxes with ties, touching and degenerate boxes, on several scales. */
static void rand_window(test_rng *rng, int n, double *l, double *u)
{
    double scale = rand_int(rng, 0, 4) == 0 ? pow(10.0, test_rng_range(rng, -6, 3)) : 1.0;
    for (int k = 0; k < n; k++) {
        double c = test_rng_range(rng, -3, 3) * scale, w = test_rng_range(rng, 0, 2) * scale;
        if (rand_int(rng, 0, 6) == 0) w = 0; /* degenerate */
        l[k] = c - 0.5 * w;
        u[k] = c + 0.5 * w;
        if (k > 0) {
            int o = rand_int(rng, 0, k - 1);
            switch (rand_int(rng, 0, 9)) {
            case 0: u[k] = fmax(u[o], l[k]); break;                   /* tied upper */
            case 1: l[k] = fmin(l[o], u[k]); break;                   /* tied lower */
            case 2: l[k] = fmin(u[o], u[k]); break;                   /* touching */
            case 3: l[k] = l[o]; u[k] = u[o]; break;                  /* identical */
            case 4: l[k] = u[k] = u[o]; break;                        /* point at a max */
            default: break;
            }
        }
    }
}

static double plane_at(const double *a, double b, const double *x, int n)
{
    double v = 0.0;
    for (int k = 0; k < n; k++) v += a[k] * x[k];
    return v + b;
}

static double plane_mean(const double *a, double b, const double *l, const double *u, int n)
{
    double v = 0.0;
    for (int k = 0; k < n; k++) v += a[k] * (0.5 * l[k] + 0.5 * u[k]);
    return v + b;
}

/* Points of the box: all corners for n <= 7, else 128 random corners; plus random
 * points and points mixing corners with interior coordinates. Returns violations. */
static int window_violations(test_rng *rng, const double *l, const double *u, int n, const double *lc, double lb,
                             const double *uc, double ub)
{
    int bad = 0, corners = n <= 7 ? 1 << n : 128;
    double x[KMAX];
    for (int p = 0; p < corners + 48; p++) {
        unsigned bits = p < corners ? (n <= 7 ? (unsigned)p : (unsigned)test_rng_next(rng)) : 0;
        for (int k = 0; k < n; k++) {
            if (p < corners) x[k] = (bits >> k) & 1 ? u[k] : l[k];
            else if (p < corners + 24) x[k] = test_rng_range(rng, l[k], u[k]);
            else x[k] = rand_int(rng, 0, 2) == 0 ? test_rng_range(rng, l[k], u[k]) : (rand_int(rng, 0, 1) ? u[k] : l[k]);
            if (x[k] > u[k]) x[k] = u[k];
        }
        double y = x[0];
        for (int k = 1; k < n; k++) y = fmax(y, x[k]);
        double lo = plane_at(lc, lb, x, n), hi = plane_at(uc, ub, x, n);
        if (!(lo <= y && y <= hi)) {
            if (bad < 2) {
                print_message("  window n=%d: lower %.17g max %.17g upper %.17g\n", n, lo, y, hi);
                for (int k = 0; k < n; k++)
                    print_message("    [%.17g, %.17g] x=%.17g lc=%.17g uc=%.17g\n", l[k], u[k], x[k], lc[k], uc[k]);
            }
            bad++;
        }
    }
    return bad;
}

static void maxpool_planes_sound_on_random_windows(void **state)
{
    (void)state;
    test_rng rng = {7};
    double l[KMAX], u[KMAX], lc[KMAX], uc[KMAX], lb, ub;
    int bad[4] = {0, 0, 0, 0};
    for (int w = 0; w < WINDOWS; w++) {
        int n = w % 20 == 0 ? rand_int(&rng, 10, KMAX) : rand_int(&rng, 2, 9); /* some 4x4, 5x5 windows */
        rand_window(&rng, n, l, u);
        for (int m = POOL_TILIN; m <= POOL_INTERVAL; m++) {
            relax_maxpool_window((pool_method)m, l, u, n, lc, &lb, uc, &ub);
            for (int k = 0; k < n; k++) assert_true(isfinite(lc[k]) && isfinite(uc[k]));
            assert_true(isfinite(lb) && isfinite(ub));
            bad[m] += window_violations(&rng, l, u, n, lc, lb, uc, ub) > 0;
        }
    }
    for (int m = POOL_TILIN; m <= POOL_INTERVAL; m++) {
        if (bad[m]) print_message("%s: %d unsound windows\n", pool_method_name((pool_method)m), bad[m]);
        assert_int_equal(bad[m], 0);
    }
}

/* Ti-Lin is the neuron-wise tightest: its upper plane's mean over the box (its
 * volume) is never above DeepPoly's or CNN-Cert's, its lower plane's never below. */
static void tilin_volume_tighter_than_deeppoly_and_cnncert(void **state)
{
    (void)state;
    test_rng rng = {8};
    double l[KMAX], u[KMAX], lc[KMAX], uc[KMAX], lb, ub;
    int strictly_tighter = 0;
    for (int w = 0; w < WINDOWS; w++) {
        int n = w % 20 == 0 ? rand_int(&rng, 10, KMAX) : rand_int(&rng, 2, 9);
        rand_window(&rng, n, l, u);
        double mag = 0.0;
        for (int k = 0; k < n; k++) mag = fmax(mag, fmax(fabs(l[k]), fabs(u[k])));
        double tol = 64 * n * DBL_EPSILON * (1 + mag); /* the planes' rounding allowances */
        relax_maxpool_window(POOL_TILIN, l, u, n, lc, &lb, uc, &ub);
        double tl = plane_mean(lc, lb, l, u, n), tu = plane_mean(uc, ub, l, u, n);
        for (int m = POOL_DEEPPOLY; m <= POOL_CNNCERT; m++) {
            relax_maxpool_window((pool_method)m, l, u, n, lc, &lb, uc, &ub);
            double ol = plane_mean(lc, lb, l, u, n), ou = plane_mean(uc, ub, l, u, n);
            if (!(tu <= ou + tol && tl >= ol - tol)) {
                print_message("  %s window %d: Ti-Lin means [%.17g, %.17g], other [%.17g, %.17g]\n",
                              pool_method_name((pool_method)m), w, tl, tu, ol, ou);
                for (int k = 0; k < n; k++) print_message("    [%.17g, %.17g]\n", l[k], u[k]);
            }
            assert_true(tu <= ou + tol);
            assert_true(tl >= ol - tol);
            strictly_tighter += tu < ou - tol;
        }
    }
    assert_true(strictly_tighter > WINDOWS / 4);
}

static void one_input_window_is_exact(void **state)
{
    (void)state;
    double l = -0.3, u = 2.5, lc, uc, lb, ub;
    for (int m = POOL_TILIN; m <= POOL_INTERVAL; m++) {
        relax_maxpool_window((pool_method)m, &l, &u, 1, &lc, &lb, &uc, &ub);
        assert_true(lc == 1.0 && uc == 1.0 && lb == 0.0 && ub == 0.0);
    }
}

/* When one input always wins, Ti-Lin, DeepPoly and interval return y = x_k exactly. */
static void dominant_input_gives_exact_planes(void **state)
{
    (void)state;
    double l[4] = {-1, 3, 0, 2}, u[4] = {1, 5, 3, 3}; /* x_1 >= 3 >= every other x */
    double l2[2] = {0, 5}, u2[2] = {5, 5};            /* x_1 = 5 >= x_0, x_0's box ends there */
    double lc[4], uc[4], lb, ub;
    pool_method exact[3] = {POOL_TILIN, POOL_DEEPPOLY, POOL_INTERVAL};
    for (int e = 0; e < 3; e++) {
        relax_maxpool_window(exact[e], l, u, 4, lc, &lb, uc, &ub);
        for (int k = 0; k < 4; k++) {
            assert_true(lc[k] == (k == 1) && uc[k] == (k == 1));
        }
        assert_true(lb == 0.0 && ub == 0.0);
        relax_maxpool_window(exact[e], l2, u2, 2, lc, &lb, uc, &ub);
        assert_true(lc[0] == 0.0 && lc[1] == 1.0 && uc[0] == 0.0 && uc[1] == 1.0 && lb == 0.0 && ub == 0.0);
    }
}

/* The four Ti-Lin cases on hand-computed windows; case 3 includes u_j == l_j, which
 * the reference code left with an unsound zero plane. */
static void tilin_cases_match_formulas(void **state)
{
    (void)state;
    test_rng rng = {9};
    double lc[3], uc[3], lb, ub;
    /* Case 2: l_i = L = 2 >= u3 = 1.5: a_i = 1, a_j = (3 - 2)/(3 - 0) = 1/3, b = 0. */
    double l2[3] = {2, 0, -1}, u2[3] = {4, 3, 1.5};
    relax_maxpool_window(POOL_TILIN, l2, u2, 3, lc, &lb, uc, &ub);
    assert_true(uc[0] == 1.0 && fabs(uc[1] - 1.0 / 3) < 1e-15 && uc[2] == 0.0 && fabs(ub) < 1e-13 && ub >= 0);
    assert_int_equal(window_violations(&rng, l2, u2, 3, lc, lb, uc, ub), 0);
    /* Case 3 with the degenerate j: i = [0, 10], j = [3, 3], u3 = 2:
     * a_j = 1, a_i = (10 - 3)/10 = 0.7, b = -0.7*0 = 0. */
    double l3[3] = {0, 3, -1}, u3[3] = {10, 3, 2};
    relax_maxpool_window(POOL_TILIN, l3, u3, 3, lc, &lb, uc, &ub);
    assert_true(fabs(uc[0] - 0.7) < 1e-15 && uc[1] == 1.0 && uc[2] == 0.0 && fabs(ub) < 1e-13);
    assert_int_equal(window_violations(&rng, l3, u3, 3, lc, lb, uc, ub), 0);
    /* Case 4: i = [0, 4], j = [1, 3], u3 = 2.5: a_i = 1.5/4, a_j = 0.5/2, b = 2.5 - 0.25. */
    double l4[3] = {0, 1, 0.5}, u4[3] = {4, 3, 2.5};
    relax_maxpool_window(POOL_TILIN, l4, u4, 3, lc, &lb, uc, &ub);
    assert_true(fabs(uc[0] - 0.375) < 1e-15 && fabs(uc[1] - 0.25) < 1e-15 && uc[2] == 0.0);
    assert_true(ub >= 2.25 && ub - 2.25 < 1e-13);
    /* Lower plane: the input with the largest midpoint (x_0: 2 vs 2 vs 1.5, first wins). */
    assert_true(lc[0] == 1.0 && lc[1] == 0.0 && lc[2] == 0.0 && lb == 0.0);
    assert_int_equal(window_violations(&rng, l4, u4, 3, lc, lb, uc, ub), 0);
    /* Equal upper bounds: the lower index is i. */
    double le[2] = {0, 1}, ue[2] = {4, 4};
    relax_maxpool_window(POOL_TILIN, le, ue, 2, lc, &lb, uc, &ub);
    assert_true(uc[1] == 1.0 && fabs(uc[0] - 0.75) < 1e-15); /* case 3: l_j = L */
    assert_int_equal(window_violations(&rng, le, ue, 2, lc, lb, uc, ub), 0);
}

/* A window of all-equal points and of identical boxes stays finite and sound. */
static void fully_tied_windows_are_sound(void **state)
{
    (void)state;
    test_rng rng = {10};
    double l[5] = {2, 2, 2, 2, 2}, u[5] = {2, 2, 2, 2, 2}, lc[5], uc[5], lb, ub;
    double l2[5] = {-1, -1, -1, -1, -1}, u2[5] = {1, 1, 1, 1, 1};
    for (int m = POOL_TILIN; m <= POOL_INTERVAL; m++) {
        relax_maxpool_window((pool_method)m, l, u, 5, lc, &lb, uc, &ub);
        assert_int_equal(window_violations(&rng, l, u, 5, lc, lb, uc, ub), 0);
        relax_maxpool_window((pool_method)m, l2, u2, 5, lc, &lb, uc, &ub);
        assert_int_equal(window_violations(&rng, l2, u2, 5, lc, lb, uc, ub), 0);
    }
}

static int pool_model(nn_model *m, nn_shape in, int kh, int kw, int stride, int pad)
{
    nn_error err;
    model_init(m);
    m->input = in;
    nn_layer l = layer_make(LAYER_MAXPOOL2D);
    l.kernel[0] = kh;
    l.kernel[1] = kw;
    l.stride[0] = l.stride[1] = stride;
    for (int k = 0; k < 4; k++) l.pad[k] = pad;
    if (model_append(m, &l, &err) != NN_OK) return 0;
    return model_finalize(m, &err) == NN_OK;
}

/* Layer level: 3x3 windows, stride 2, padding 1 (overlapping, border windows with
 * padding slots): indices follow window_input_index, padding slots are -1 with zero
 * coefficients, and planes bound maxpool2d_forward at random points of the box. */
static void maxpool_layer_planes_bound_forward(void **state)
{
    (void)state;
    nn_error err;
    nn_model m;
    assert_true(pool_model(&m, (nn_shape){2, 7, 6}, 3, 3, 2, 1));
    const nn_layer *layer = &m.layers[0];
    size_t n_in = shape_size(layer->in), n_out = shape_size(layer->out);
    assert_int_equal(n_out, 2 * 4 * 3);
    test_rng rng = {11};
    double *l = malloc(n_in * sizeof *l), *u = malloc(n_in * sizeof *u), *x = malloc(n_in * sizeof *x);
    double *y = malloc(n_out * sizeof *y);
    assert_non_null(l);
    assert_non_null(u);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n_in; i++) {
        double c = test_rng_range(&rng, -2, 2), w = rand_int(&rng, 0, 5) == 0 ? 0 : test_rng_range(&rng, 0, 3);
        l[i] = c - w / 2;
        u[i] = c + w / 2;
    }
    relax_pool pool;
    assert_int_equal(relax_pool_init(&pool, layer, &err), NN_OK);
    assert_int_equal(pool.window, 9);
    assert_int_equal(pool.n_out, n_out);
    int padding = 0;
    for (size_t o = 0; o < n_out; o++)
        for (int k = 0; k < 9; k++) {
            assert_int_equal(pool.inputs[o * 9 + k], window_input_index(layer, o, k));
            padding += pool.inputs[o * 9 + k] < 0;
        }
    assert_true(padding > 0);
    for (int method = POOL_TILIN; method <= POOL_INTERVAL; method++) {
        assert_int_equal(relax_maxpool(layer, l, u, (pool_method)method, &pool, &err), NN_OK);
        for (size_t o = 0; o < n_out; o++)
            for (int k = 0; k < 9; k++)
                if (pool.inputs[o * 9 + k] < 0)
                    assert_true(pool.lower_coef[o * 9 + k] == 0.0 && pool.upper_coef[o * 9 + k] == 0.0);
        for (int s = 0; s < 300; s++) {
            for (size_t i = 0; i < n_in; i++)
                x[i] = s % 2 ? (rand_int(&rng, 0, 1) ? u[i] : l[i]) : test_rng_range(&rng, l[i], u[i]);
            assert_int_equal(maxpool2d_forward(layer, x, 1, n_in, y, n_out, NULL, &err), NN_OK);
            for (size_t o = 0; o < n_out; o++) {
                double lo = pool.lower_icpt[o], hi = pool.upper_icpt[o];
                for (int k = 0; k < 9; k++) {
                    int idx = pool.inputs[o * 9 + k];
                    if (idx < 0) continue;
                    lo += pool.lower_coef[o * 9 + k] * x[idx];
                    hi += pool.upper_coef[o * 9 + k] * x[idx];
                }
                assert_true(lo <= y[o] && y[o] <= hi);
            }
        }
    }
    /* Plane of one output equals the window-level function on its present inputs. */
    size_t o = 0; /* top-left: slots (0,0), (0,1), (0,2), (1,0), (2,0) are padding */
    double wl[9], wu[9], lc[9], uc[9], lb, ub;
    int q = 0;
    for (int k = 0; k < 9; k++)
        if (pool.inputs[k] >= 0) {
            wl[q] = l[pool.inputs[k]];
            wu[q++] = u[pool.inputs[k]];
        }
    assert_int_equal(q, 4);
    relax_maxpool_window(POOL_INTERVAL, wl, wu, q, lc, &lb, uc, &ub);
    assert_true(pool.lower_icpt[o] == lb && pool.upper_icpt[o] == ub);
    relax_pool_free(&pool);
    relax_pool_free(&pool);
    free(l);
    free(u);
    free(x);
    free(y);
    model_free(&m);
}

static void maxpool_layer_rejects_bad_input(void **state)
{
    (void)state;
    nn_error err;
    nn_model m, m2;
    assert_true(pool_model(&m, (nn_shape){1, 4, 4}, 2, 2, 2, 0));
    assert_true(pool_model(&m2, (nn_shape){1, 6, 6}, 2, 2, 2, 0));
    double l[16], u[16];
    for (int i = 0; i < 16; i++) {
        l[i] = i;
        u[i] = i + 1;
    }
    relax_pool pool;
    assert_int_equal(relax_pool_init(&pool, &m.layers[0], &err), NN_OK);
    assert_int_equal(relax_maxpool(&m2.layers[0], l, u, POOL_TILIN, &pool, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "set up for 4"));
    assert_int_equal(relax_maxpool(&m.layers[0], l, u, (pool_method)7, &pool, &err), NN_EARG);
    l[5] = 3;
    u[5] = 2;
    assert_int_equal(relax_maxpool(&m.layers[0], l, u, POOL_TILIN, &pool, &err), NN_EVALUE);
    assert_non_null(strstr(err.msg, "neuron 5"));
    u[5] = NAN;
    assert_int_equal(relax_maxpool(&m.layers[0], l, u, POOL_TILIN, &pool, &err), NN_ENUMERIC);
    relax_pool_free(&pool);
    nn_layer relu = layer_make(LAYER_RELU);
    assert_int_equal(relax_pool_init(&pool, &relu, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "relu"));
    relax_pool_free(&pool);
    model_free(&m);
    model_free(&m2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maxpool_planes_sound_on_random_windows),
        cmocka_unit_test(tilin_volume_tighter_than_deeppoly_and_cnncert),
        cmocka_unit_test(one_input_window_is_exact),
        cmocka_unit_test(dominant_input_gives_exact_planes),
        cmocka_unit_test(tilin_cases_match_formulas),
        cmocka_unit_test(fully_tied_windows_are_sound),
        cmocka_unit_test(maxpool_layer_planes_bound_forward),
        cmocka_unit_test(maxpool_layer_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
