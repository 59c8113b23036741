/* Unit tests for forward: hand-computed logits, batch = one-by-one, trace, and
 * forward_vjp against central finite differences through every layer type, for
 * chains and for graphs with residual connections. */
#include "testutil.h"

#include <math.h>

#include "forward.h"
#include "layer_ops.h"
#include "model.h"
#include "test_bound_models.h"

static void add_dense(nn_model *m, test_rng *rng, int in, int out)
{
    nn_layer l = layer_make(LAYER_DENSE);
    l.out_channels = out;
    l.in_features = in;
    l.weight = test_rand_vec(rng, (size_t)in * out, -1, 1);
    l.bias = test_rand_vec(rng, (size_t)out, -0.5, 0.5);
    test_add_layer(m, l);
}

/* An activation layer; param_ramp gets its r sized for `n` neurons. */
static void add_act(nn_model *m, test_rng *rng, layer_type t, size_t n)
{
    nn_layer l = layer_make(t);
    if (t == LAYER_LEAKY_RELU) l.alpha = 0.1;
    if (t == LAYER_PARAM_RAMP) {
        l.alpha = 0.2;
        l.in_features = (int)n;
        l.r = test_rand_vec(rng, n, 0.2, 1.0);
    }
    test_add_layer(m, l);
}

/* normalize -> conv2d (asymmetric padding, dilation) -> act -> maxpool ->
 * avgpool (padded) -> flatten -> dense -> act -> dense: every layer type. */
static void build_cnn(nn_model *m, test_rng *rng, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){2, 7, 7};
    nn_layer norm = layer_make(LAYER_NORMALIZE);
    norm.in_features = 2;
    norm.mean = test_rand_vec(rng, 2, 0.2, 0.6);
    norm.std = test_rand_vec(rng, 2, 0.5, 1.5);
    test_add_layer(m, norm);
    nn_layer conv = layer_make(LAYER_CONV2D);
    conv.out_channels = 3;
    conv.in_features = 2;
    conv.kernel[0] = conv.kernel[1] = 3;
    conv.pad[0] = 1, conv.pad[1] = 0, conv.pad[2] = 2, conv.pad[3] = 1;
    conv.dilation[1] = 2;
    conv.weight = test_rand_vec(rng, 3 * 2 * 9, -0.6, 0.6);
    conv.bias = test_rand_vec(rng, 3, -0.3, 0.3);
    test_add_layer(m, conv); /* out 3 x 8 x 4 */
    add_act(m, rng, act, 3 * 8 * 4);
    nn_layer mp = layer_make(LAYER_MAXPOOL2D);
    mp.kernel[0] = mp.kernel[1] = 2;
    mp.stride[0] = 2, mp.stride[1] = 1;
    test_add_layer(m, mp); /* out 3 x 4 x 3 */
    nn_layer ap = layer_make(LAYER_AVGPOOL2D);
    ap.kernel[0] = ap.kernel[1] = 2;
    ap.stride[0] = ap.stride[1] = 2;
    ap.pad[0] = ap.pad[1] = 1;
    test_add_layer(m, ap); /* out 3 x 2 x 2 (windows at the padded edge average fewer cells) */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    add_dense(m, rng, 12, 6);
    add_act(m, rng, act, 6);
    add_dense(m, rng, 6, 4);
    assert_int_equal(model_finalize(m, &err), NN_OK);
    assert_int_equal(model_output_size(m), 4);
}

static void mlp_logits_match_hand_computation(void **state)
{
    (void)state;
    nn_model m;
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){1, 1, 2};
    nn_layer d1 = layer_make(LAYER_DENSE);
    d1.out_channels = 2, d1.in_features = 2;
    d1.weight = malloc(4 * sizeof(double)), d1.bias = malloc(2 * sizeof(double));
    d1.weight[0] = 1, d1.weight[1] = 2, d1.weight[2] = -1, d1.weight[3] = 1; /* [[1,2],[-1,1]] */
    d1.bias[0] = 0.5, d1.bias[1] = -0.5;
    test_add_layer(&m, d1);
    test_add_layer(&m, layer_make(LAYER_RELU));
    nn_layer d2 = layer_make(LAYER_DENSE);
    d2.out_channels = 2, d2.in_features = 2;
    d2.weight = malloc(4 * sizeof(double)), d2.bias = malloc(2 * sizeof(double));
    d2.weight[0] = 3, d2.weight[1] = -1, d2.weight[2] = 0.5, d2.weight[3] = 4;
    d2.bias[0] = 0, d2.bias[1] = 1;
    test_add_layer(&m, d2);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    /* x = (1, 1): h = relu(3.5, -0.5) = (3.5, 0); logits = (10.5, 2.75). */
    double x[2] = {1, 1}, y[2], w[2] = {1, -1}, g[2], lg[2];
    assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
    assert_true(y[0] == 10.5 && y[1] == 2.75);
    assert_int_equal(forward_argmax(y, 2), 0);
    /* d(l0 - l1)/dx = (3 - 0.5) * row 0 of W1 = (2.5, 5); the dead unit adds nothing. */
    assert_int_equal(forward_vjp(&m, x, w, lg, g, &err), NN_OK);
    assert_true(g[0] == 2.5 && g[1] == 5);
    assert_true(lg[0] == 10.5 && lg[1] == 2.75);
    model_free(&m);
}

static void batch_equals_one_by_one_and_trace(void **state)
{
    (void)state;
    test_rng rng = {11};
    nn_model m;
    nn_error err;
    build_cnn(&m, &rng, LAYER_TANH);
    size_t n = 37, n_in = model_input_size(&m), n_out = model_output_size(&m);
    double *x = test_rand_vec(&rng, n * n_in, 0, 1);
    double *y = malloc(n * n_out * sizeof *y), y1[4];
    assert_int_equal(forward_run(&m, x, n, y, &err), NN_OK);
    double **acts;
    assert_int_equal(forward_trace(&m, x, n, &acts, &err), NN_OK);
    for (size_t r = 0; r < n; r++) {
        assert_int_equal(forward_run(&m, x + r * n_in, 1, y1, &err), NN_OK);
        for (size_t o = 0; o < n_out; o++) {
            assert_true(fabs(y[r * n_out + o] - y1[o]) <= 1e-13 * (1 + fabs(y1[o])));
            assert_true(fabs(acts[m.n_layers - 1][r * n_out + o] - y1[o]) <= 1e-13 * (1 + fabs(y1[o])));
        }
    }
    /* Each traced layer output is that layer applied to the previous one. */
    for (int i = 1; i < m.n_layers; i++) {
        const nn_layer *l = &m.layers[i];
        size_t lo = shape_size(l->out);
        double *t = malloc(n * lo * sizeof *t);
        if (layer_is_affine(l->type)) assert_int_equal(layer_affine_forward(l, acts[i - 1], n, shape_size(l->in), t, lo, &err), NN_OK);
        else if (l->type == LAYER_MAXPOOL2D) assert_int_equal(maxpool2d_forward(l, acts[i - 1], n, shape_size(l->in), t, lo, NULL, &err), NN_OK);
        else activation_forward(l, acts[i - 1], n, shape_size(l->in), t, lo);
        for (size_t j = 0; j < n * lo; j++) assert_true(t[j] == acts[i][j]);
        free(t);
    }
    forward_trace_free(&m, acts);
    free(x), free(y);
    model_free(&m);
}

/* One forward_workspace kept across calls of other models and row counts (it
 * grows, and is reused where it is large enough) gives forward_run's bits. */
static void kept_workspace_gives_forward_run_bits(void **state)
{
    (void)state;
    test_rng rng = {29};
    nn_model cnn, mlp;
    nn_error err;
    build_cnn(&cnn, &rng, LAYER_RELU);
    tb_build_mlp(&mlp, &rng, LAYER_TANH);
    forward_workspace fw;
    forward_workspace_init(&fw);
    for (int k = 0; k < 12; k++) {
        const nn_model *m = k % 3 ? &cnn : &mlp;
        size_t n = 1 + (size_t)(k * 7 % 11), n_in = model_input_size(m), n_out = model_output_size(m);
        double *x = test_rand_vec(&rng, n * n_in, 0, 1);
        double *y = malloc(n * n_out * sizeof *y), *y1 = malloc(n * n_out * sizeof *y1);
        assert_int_equal(forward_run(m, x, n, y, &err), NN_OK);
        assert_int_equal(forward_run_ws(m, x, n, y1, &fw, &err), NN_OK);
        assert_memory_equal(y, y1, n * n_out * sizeof *y);
        free(x), free(y), free(y1);
    }
    assert_true(fw.cap > 0 && fw.ws.nd > 0);
    forward_workspace_free(&fw);
    assert_null(fw.a);
    model_free(&cnn), model_free(&mlp);
}

/* 300 rows of 4096 inputs (1.2M doubles) span several of forward_run's
 * internal chunks: every row must equal the one-by-one result. */
static void rows_across_forward_chunks_equal_one_by_one(void **state)
{
    (void)state;
    test_rng rng = {21};
    nn_model m;
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){1, 64, 64};
    test_add_layer(&m, layer_make(LAYER_FLATTEN));
    add_dense(&m, &rng, 4096, 3);
    add_act(&m, &rng, LAYER_SIGMOID, 3);
    add_dense(&m, &rng, 3, 2);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    size_t n = 300, n_in = 4096;
    double *x = test_rand_vec(&rng, n * n_in, 0, 1), *y = malloc(n * 2 * sizeof *y), y1[2];
    assert_int_equal(forward_run(&m, x, n, y, &err), NN_OK);
    for (size_t r = 0; r < n; r++) {
        assert_int_equal(forward_run(&m, x + r * n_in, 1, y1, &err), NN_OK);
        for (int o = 0; o < 2; o++) assert_true(fabs(y[r * 2 + o] - y1[o]) <= 1e-13 * (1 + fabs(y1[o])));
    }
    free(x), free(y);
    model_free(&m);
}

/* Distance from z to the nearest kink of an activation (inf for smooth ones). */
static double kink_distance(const nn_layer *l, size_t j, double z)
{
    switch (l->type) {
    case LAYER_RELU:
    case LAYER_LEAKY_RELU: return fabs(z);
    case LAYER_PARAM_RAMP: return fmin(fabs(z), fabs(z - l->r[j]));
    default: return INFINITY;
    }
}

/* Smallest margin of the trace of x to a kink or to a max-pool tie. */
static double kink_margin(const nn_model *m, const double *x)
{
    nn_error err;
    double **acts;
    assert_int_equal(forward_trace(m, x, 1, &acts, &err), NN_OK);
    double margin = INFINITY;
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        const double *in = i ? acts[i - 1] : x;
        if (layer_is_activation(l->type))
            for (size_t j = 0; j < shape_size(l->in); j++) margin = fmin(margin, kink_distance(l, j, in[j]));
        if (l->type == LAYER_MAXPOOL2D)
            for (size_t o = 0; o < shape_size(l->out); o++) {
                double best = -INFINITY, second = -INFINITY;
                for (int k = 0; k < l->kernel[0] * l->kernel[1]; k++) {
                    int s = window_input_index(l, o, k);
                    if (s < 0) continue;
                    if (in[s] > best) second = best, best = in[s];
                    else if (in[s] > second) second = in[s];
                }
                /* Exact zeros come only from dead relus, which stay dead (their margin is
                 * checked), so a 0-0 tie keeps the max locally constant. */
                if (second > -INFINITY && !(best == 0 && second == 0)) margin = fmin(margin, best - second);
            }
    }
    forward_trace_free(m, acts);
    return margin;
}

static double functional(const nn_model *m, const double *x, const double *w)
{
    nn_error err;
    double y[4];
    assert_int_equal(forward_run(m, x, 1, y, &err), NN_OK);
    double s = 0;
    for (int i = 0; i < 4; i++) s += w[i] * y[i];
    return s;
}

/* (f(x + h e_i) - f(x - h e_i)) / 2h for the functional w . logits; x restored. */
static double central_difference(const nn_model *m, double *x, const double *w, size_t i, double h)
{
    double keep = x[i];
    x[i] = keep + h;
    double fp = functional(m, x, w);
    x[i] = keep - h;
    double fm = functional(m, x, w);
    x[i] = keep;
    return (fp - fm) / (2 * h);
}

static void vjp_matches_central_differences_for_every_activation(void **state)
{
    (void)state;
    layer_type acts[] = {LAYER_RELU, LAYER_TANH, LAYER_SIGMOID, LAYER_ARCTAN, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP};
    for (int a = 0; a < 6; a++) {
        test_rng rng = {100 + (uint64_t)a};
        int checked = 0;
        for (int trial = 0; trial < 12; trial++) {
            nn_model m;
            nn_error err;
            build_cnn(&m, &rng, acts[a]);
            size_t n_in = model_input_size(&m);
            double *x = test_rand_vec(&rng, n_in, 0, 1), w[4], lg[4], y[4];
            for (int i = 0; i < 4; i++) w[i] = test_rng_range(&rng, -1, 1);
            const double h = 1e-6;
            /* Skip points whose +-h perturbation could cross a kink or a tie. */
            if (kink_margin(&m, x) < 1e-3) {
                free(x);
                model_free(&m);
                continue;
            }
            double *g = malloc(n_in * sizeof *g);
            assert_int_equal(forward_vjp(&m, x, w, lg, g, &err), NN_OK);
            assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
            for (int i = 0; i < 4; i++) assert_true(lg[i] == y[i]);
            double gnorm = 0;
            for (size_t i = 0; i < n_in; i++) gnorm = fmax(gnorm, fabs(g[i]));
            for (size_t i = 0; i < n_in; i++) {
                double fd = central_difference(&m, x, w, i, h);
                if (!(fabs(fd - g[i]) <= 1e-6 * (1 + gnorm)))
                    fail_msg("%s: d/dx[%zu] vjp %.12g vs finite difference %.12g", layer_type_name(acts[a]), i,
                             g[i], fd);
            }
            assert_true(gnorm > 0);
            checked++;
            free(g), free(x);
            model_free(&m);
        }
        if (checked < 3) fail_msg("%s: only %d kink-free samples", layer_type_name(acts[a]), checked);
    }
}

/* A layer that reads other outputs than the one just before. */
static void add_inputs(nn_model *m, layer_type t, int n_inputs, int a, int b)
{
    nn_layer l = layer_make(t);
    l.n_inputs = n_inputs;
    l.input[0] = a;
    l.input[1] = b;
    test_add_layer(m, l);
}

/* input 5 -> dense0 -> add(0, input) -> tanh2 -> dense3 -> add(3, 2) -> sigmoid5,
 * dense6 reading tanh2 -> add(5, 6) -> dense8: skips over one and several layers,
 * one of them from the model input. */
static void build_residual(nn_model *m, test_rng *rng)
{
    model_init(m);
    m->input = (nn_shape){5, 1, 1};
    add_dense(m, rng, 5, 5);
    add_inputs(m, LAYER_ADD, 2, 0, -1);
    add_act(m, rng, LAYER_TANH, 5);
    add_dense(m, rng, 5, 5);
    add_inputs(m, LAYER_ADD, 2, 3, 2);
    add_act(m, rng, LAYER_SIGMOID, 5);
    add_dense(m, rng, 5, 5);
    m->layers[6].n_inputs = 1;
    m->layers[6].input[0] = 2;
    add_inputs(m, LAYER_ADD, 2, 5, 6);
    add_dense(m, rng, 5, 4);
    nn_error err;
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static void dense_by_hand(const nn_layer *l, const double *x, double *y)
{
    for (int o = 0; o < l->out_channels; o++) {
        double s = l->bias[o];
        for (int i = 0; i < l->in_features; i++) s += l->weight[o * l->in_features + i] * x[i];
        y[o] = s;
    }
}

static void residual_logits_match_hand_computation(void **state)
{
    (void)state;
    test_rng rng = {77};
    nn_model m;
    nn_error err;
    build_residual(&m, &rng);
    assert_false(model_is_sequential(&m));
    assert_int_equal(model_layer_input(&m, 6, 0), 2);
    assert_int_equal(model_layer_input(&m, 1, 1), -1);
    const size_t n = 40;
    double *x = test_rand_vec(&rng, n * 5, -1, 1), *y = malloc(n * 4 * sizeof *y);
    assert_int_equal(forward_run(&m, x, n, y, &err), NN_OK);
    double **acts = NULL;
    assert_int_equal(forward_trace(&m, x, n, &acts, &err), NN_OK);
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + 5 * r;
        double d0[5], a1[5], t2[5], d3[5], a4[5], s5[5], d6[5], a7[5], out[4];
        dense_by_hand(&m.layers[0], xr, d0);
        for (int i = 0; i < 5; i++) a1[i] = d0[i] + xr[i], t2[i] = tanh(a1[i]);
        dense_by_hand(&m.layers[3], t2, d3);
        for (int i = 0; i < 5; i++) a4[i] = d3[i] + t2[i], s5[i] = 1 / (1 + exp(-a4[i]));
        dense_by_hand(&m.layers[6], t2, d6);
        for (int i = 0; i < 5; i++) a7[i] = s5[i] + d6[i];
        dense_by_hand(&m.layers[8], a7, out);
        for (int k = 0; k < 4; k++) {
            assert_true(fabs(y[4 * r + k] - out[k]) <= 1e-12 * (1 + fabs(out[k])));
            assert_true(y[4 * r + k] == acts[8][4 * r + k]); /* batch and trace: the same bits */
        }
        for (int i = 0; i < 5; i++) assert_true(fabs(acts[1][5 * r + i] - a1[i]) <= 1e-12 * (1 + fabs(a1[i])));
    }
    double one[4];
    assert_int_equal(forward_run(&m, x + 5 * 17, 1, one, &err), NN_OK);
    for (int k = 0; k < 4; k++) assert_true(one[k] == y[4 * 17 + k]);
    forward_trace_free(&m, acts);
    free(x), free(y);
    model_free(&m);
}

static void residual_vjp_matches_central_differences(void **state)
{
    (void)state;
    test_rng rng = {78};
    for (int trial = 0; trial < 10; trial++) {
        nn_model m;
        nn_error err;
        build_residual(&m, &rng);
        double *x = test_rand_vec(&rng, 5, -1, 1), w[4], lg[4], y[4], g[5];
        for (int i = 0; i < 4; i++) w[i] = test_rng_range(&rng, -1, 1);
        assert_int_equal(forward_vjp(&m, x, w, lg, g, &err), NN_OK);
        assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
        for (int i = 0; i < 4; i++) assert_true(lg[i] == y[i]);
        const double h = 1e-6;
        for (int i = 0; i < 5; i++) {
            double fd = central_difference(&m, x, w, (size_t)i, h);
            if (!(fabs(fd - g[i]) <= 1e-7 * (1 + fabs(fd))))
                fail_msg("residual: d/dx[%d] vjp %.12g vs finite difference %.12g", i, g[i], fd);
        }
        free(x);
        model_free(&m);
    }
}

static void residual_graph_errors_name_the_layer(void **state)
{
    (void)state;
    test_rng rng = {79};
    nn_error err;
    struct { int n_inputs, a, b; const char *msg; } bad[] = {
        {2, 1, 0, "input 0 is layer 1"},                 /* not an earlier layer */
        {2, 0, -2, "input 1 is layer -2"},
        {1, 0, 0, "1 inputs given, it reads 2"},
        {0, 0, 0, "0 inputs given, it reads 2"},
        {2, 0, 2, "input 1 is layer 2"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        nn_model m;
        model_init(&m);
        m.input = (nn_shape){3, 1, 1};
        add_dense(&m, &rng, 3, 3);
        add_inputs(&m, LAYER_ADD, bad[k].n_inputs, bad[k].a, bad[k].b);
        assert_int_not_equal(model_finalize(&m, &err), NN_OK);
        if (!strstr(err.msg, bad[k].msg) || !strstr(err.msg, "layer 001 (add)"))
            fail_msg("case %zu: '%s' lacks '%s'", k, err.msg, bad[k].msg);
        model_free(&m);
    }
    nn_model m; /* an add of a 3-vector and a 2-vector */
    model_init(&m);
    m.input = (nn_shape){3, 1, 1};
    add_dense(&m, &rng, 3, 2);
    add_inputs(&m, LAYER_ADD, 2, 0, -1);
    assert_int_equal(model_finalize(&m, &err), NN_ESHAPE);
    assert_non_null(strstr(err.msg, "2x1x1 (layer 0) and 3x1x1 (layer -1)"));
    model_free(&m);
}

static void argmax_takes_first_of_ties(void **state)
{
    (void)state;
    double v[5] = {1, 3, 2, 3, -1};
    assert_int_equal(forward_argmax(v, 5), 1);
    double u[3] = {NAN, -5, -6};
    assert_int_equal(forward_argmax(u, 3), 1);
    assert_int_equal(forward_argmax(v, 0), -1);
}

static void nonfinite_logits_are_an_error(void **state)
{
    (void)state;
    test_rng rng = {3};
    nn_model m;
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){1, 1, 3};
    add_dense(&m, &rng, 3, 2);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    double x[6] = {0, 0, 0, 1, NAN, 0}, y[4];
    assert_int_equal(forward_run(&m, x, 2, y, &err), NN_ENUMERIC);
    assert_non_null(strstr(err.msg, "input 1"));
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mlp_logits_match_hand_computation),
        cmocka_unit_test(batch_equals_one_by_one_and_trace),
        cmocka_unit_test(kept_workspace_gives_forward_run_bits),
        cmocka_unit_test(rows_across_forward_chunks_equal_one_by_one),
        cmocka_unit_test(vjp_matches_central_differences_for_every_activation),
        cmocka_unit_test(residual_logits_match_hand_computation),
        cmocka_unit_test(residual_vjp_matches_central_differences),
        cmocka_unit_test(residual_graph_errors_name_the_layer),
        cmocka_unit_test(argmax_takes_first_of_ties),
        cmocka_unit_test(nonfinite_logits_are_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
