/* test_bound_models: small random networks and region sampling for the bound
 * engine's tests (header-only, included by tests/test_bound_*.c). Every layer
 * type and activation appears; samples cover ball corners, spheres and interiors. */
#ifndef TEST_BOUND_MODELS_H
#define TEST_BOUND_MODELS_H

#include "testutil.h"

#include <math.h>
#include <string.h>

#include "bound.h"
#include "forward.h"
#include "model.h"
#include "model_io.h"
#include "relax.h"

static inline void tb_dense(nn_model *m, test_rng *rng, int in, int out)
{
    nn_layer l = layer_make(LAYER_DENSE);
    double s = 1.5 / sqrt((double)in);
    l.out_channels = out;
    l.in_features = in;
    l.weight = test_rand_vec(rng, (size_t)in * out, -s, s);
    l.bias = test_rand_vec(rng, (size_t)out, -0.3, 0.3);
    test_add_layer(m, l);
}

/* A dense layer with the given weights (out x in, row-major) and biases, copied. */
static inline void tb_dense_from(nn_model *m, int in, int out, const double *weight, const double *bias)
{
    nn_layer l = layer_make(LAYER_DENSE);
    l.in_features = in;
    l.out_channels = out;
    l.weight = malloc((size_t)in * out * sizeof(double));
    l.bias = malloc((size_t)out * sizeof(double));
    assert_non_null(l.weight);
    assert_non_null(l.bias);
    memcpy(l.weight, weight, (size_t)in * out * sizeof(double));
    memcpy(l.bias, bias, (size_t)out * sizeof(double));
    test_add_layer(m, l);
}

static inline void tb_act(nn_model *m, test_rng *rng, layer_type t, size_t n)
{
    nn_layer l = layer_make(t);
    if (t == LAYER_LEAKY_RELU) l.alpha = 0.1;
    if (t == LAYER_PARAM_RAMP) {
        l.alpha = 0.15;
        l.in_features = (int)n;
        l.r = test_rand_vec(rng, n, 0.05, 0.6);
    }
    test_add_layer(m, l);
}

/* A conv ci -> co, square kernel k, stride, padding top, left, bottom, right;
 * weights uniform in [-wr, wr], biases in [-0.2, 0.2]. */
static inline void tb_conv(nn_model *m, test_rng *rng, int ci, int co, int k, int stride, const int pad[4], double wr)
{
    nn_layer l = layer_make(LAYER_CONV2D);
    l.out_channels = co;
    l.in_features = ci;
    l.kernel[0] = l.kernel[1] = k;
    l.stride[0] = l.stride[1] = stride;
    for (int q = 0; q < 4; q++) l.pad[q] = pad[q];
    l.weight = test_rand_vec(rng, (size_t)co * ci * k * k, -wr, wr);
    l.bias = test_rand_vec(rng, (size_t)co, -0.2, 0.2);
    test_add_layer(m, l);
}

/* input 6 -> dense 12 -> act -> dense 10 -> act -> dense 8 -> act -> dense 4 */
/* A max or average pool: square kernel k, stride, the same padding on every side. */
static inline void tb_pool(nn_model *m, layer_type t, int k, int stride, int pad)
{
    nn_layer l = layer_make(t);
    l.kernel[0] = l.kernel[1] = k;
    l.stride[0] = l.stride[1] = stride;
    for (int q = 0; q < 4; q++) l.pad[q] = pad;
    test_add_layer(m, l);
}

/* A normalize layer of c channels with random means and deviations. */
static inline void tb_normalize(nn_model *m, test_rng *rng, int c)
{
    nn_layer norm = layer_make(LAYER_NORMALIZE);
    norm.in_features = c;
    norm.mean = test_rand_vec(rng, (size_t)c, 0.3, 0.6);
    norm.std = test_rand_vec(rng, (size_t)c, 0.6, 1.2);
    test_add_layer(m, norm);
}

/* in -> dense h1 -> ReLU -> dense h2 -> ReLU -> dense out */
static inline void tb_build_relu2(nn_model *m, test_rng *rng, int in, int h1, int h2, int out)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){in, 1, 1};
    tb_dense(m, rng, in, h1);
    tb_act(m, rng, LAYER_RELU, (size_t)h1);
    tb_dense(m, rng, h1, h2);
    tb_act(m, rng, LAYER_RELU, (size_t)h2);
    tb_dense(m, rng, h2, out);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static inline void tb_build_mlp(nn_model *m, test_rng *rng, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){6, 1, 1};
    int sizes[] = {6, 12, 10, 8, 4};
    for (int k = 0; k < 4; k++) {
        tb_dense(m, rng, sizes[k], sizes[k + 1]);
        if (k < 3) tb_act(m, rng, act, (size_t)sizes[k + 1]);
    }
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* normalize -> conv 3x3 pad 1 -> act -> maxpool 2x2 stride 1 (overlapping) ->
 * conv 2x2 stride 2 -> act -> avgpool 2x2 stride 1 -> flatten -> dense 6 -> act
 * -> dense 3. */
static inline void tb_build_cnn(nn_model *m, test_rng *rng, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){2, 6, 6};
    tb_normalize(m, rng, 2);
    tb_conv(m, rng, 2, 3, 3, 1, (const int[4]){1, 1, 1, 1}, 0.5);
    tb_act(m, rng, act, 3 * 6 * 6);
    tb_pool(m, LAYER_MAXPOOL2D, 2, 1, 0); /* 3x5x5 */
    tb_conv(m, rng, 3, 2, 2, 2, (const int[4]){0, 0, 1, 1}, 0.6); /* 2x3x3 */
    tb_act(m, rng, act, 2 * 3 * 3);
    tb_pool(m, LAYER_AVGPOOL2D, 2, 1, 0); /* 2x2x2 */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 8, 6);
    tb_act(m, rng, act, 6);
    tb_dense(m, rng, 6, 3);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* input `in` -> dense `hidden` -> ReLU -> dense `out`: one hidden layer. */
static inline void tb_build_one_hidden(nn_model *m, test_rng *rng, int in, int hidden, int out)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){in, 1, 1};
    tb_dense(m, rng, in, hidden);
    tb_act(m, rng, LAYER_RELU, (size_t)hidden);
    tb_dense(m, rng, hidden, out);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static const layer_type tb_acts[] = {LAYER_RELU,    LAYER_TANH,       LAYER_SIGMOID,
                                     LAYER_ARCTAN,  LAYER_LEAKY_RELU, LAYER_PARAM_RAMP};
#define TB_N_ACTS (sizeof tb_acts / sizeof tb_acts[0])


/* The small MLP (fam 0) or CNN (fam 1) with activation act. */
static inline void tb_build(nn_model *m, test_rng *rng, int fam, layer_type act)
{
    if (fam) tb_build_cnn(m, rng, act);
    else tb_build_mlp(m, rng, act);
}

/* ---- residual graphs (test_bound_residual.c, test_bound_lp.c) ---- */

/* An add of the outputs of layers a and b (-1: the model input). */
static inline void tb_add(nn_model *m, int a, int b)
{
    nn_layer l = layer_make(LAYER_ADD);
    l.n_inputs = 2;
    l.input[0] = a;
    l.input[1] = b;
    test_add_layer(m, l);
}

/* Stride-1 conv with the same padding on all four sides. */
static inline void tb_conv_pad(nn_model *m, test_rng *rng, int ci, int co, int k, int pad, double s)
{
    tb_conv(m, rng, ci, co, k, 1, (const int[4]){pad, pad, pad, pad}, s);
}

static inline void tb_finalize_graph(nn_model *m)
{
    nn_error err;
    if (model_finalize(m, &err)) fail_msg("model_finalize: %s", err.msg);
    assert_false(model_is_sequential(m));
}

/* Dense residual MLP: a skip from the model input, an output read by three
 * layers, an add of a layer with itself and a nested skip. */
static inline void tb_build_dense_res(nn_model *m, test_rng *rng, layer_type act)
{
    model_init(m);
    m->input = (nn_shape){6, 1, 1};
    tb_dense(m, rng, 6, 6);                  /* 0 */
    tb_add(m, 0, -1);                        /* 1: x + Dense(x), before any nonlinear layer */
    tb_act(m, rng, act, 6);                  /* 2 */
    tb_dense(m, rng, 6, 6);                  /* 3 */
    tb_act(m, rng, act, 6);                  /* 4 */
    tb_dense(m, rng, 6, 6);                  /* 5 */
    tb_add(m, 5, 2);                         /* 6: 2 is read by 3, 6 and 9 */
    tb_act(m, rng, act, 6);                  /* 7 */
    tb_dense(m, rng, 6, 6);                  /* 8 */
    tb_add(m, 8, 2);                         /* 9: nested skip over the block */
    tb_add(m, 9, 9);                         /* 10: twice the same output */
    tb_act(m, rng, act, 6);                  /* 11 */
    tb_dense(m, rng, 6, 3);                  /* 12 */
    tb_finalize_graph(m);
}

/* Conv residual blocks: normalize, a skip from the normalize output, blocks of
 * padding-preserving 3x3 convs, a MaxPool (k3 s1 p1) and an avgpool in branches. */
static inline void tb_build_conv_res(nn_model *m, test_rng *rng, layer_type act)
{
    model_init(m);
    m->input = (nn_shape){2, 6, 6};
    tb_normalize(m, rng, 2);                 /* 0 */
    tb_conv_pad(m, rng, 2, 2, 3, 1, 0.5);     /* 1 */
    tb_add(m, 1, 0);                         /* 2 */
    tb_act(m, rng, act, 2 * 36);             /* 3 */
    tb_conv_pad(m, rng, 2, 2, 3, 1, 0.5);     /* 4 */
    tb_act(m, rng, act, 2 * 36);             /* 5 */
    tb_conv_pad(m, rng, 2, 2, 3, 1, 0.5);     /* 6 */
    tb_add(m, 6, 3);                         /* 7 */
    tb_act(m, rng, act, 2 * 36);             /* 8 */
    tb_pool(m, LAYER_MAXPOOL2D, 3, 1, 1);    /* 9: MaxPool in the branch */
    tb_conv_pad(m, rng, 2, 2, 1, 0, 0.7);     /* 10 */
    tb_add(m, 10, 8);                        /* 11 */
    tb_act(m, rng, act, 2 * 36);             /* 12 */
    tb_pool(m, LAYER_AVGPOOL2D, 3, 1, 1);    /* 13: avgpool in the branch */
    tb_add(m, 13, 12);                       /* 14 */
    tb_pool(m, LAYER_MAXPOOL2D, 2, 2, 0);    /* 15: 2x3x3 */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 18, 3);
    tb_finalize_graph(m);
}

/* A ResNet-like stem: conv -> act, two blocks whose branch reads the block input
 * twice (a conv and the skip), a block ending in the last nonlinear layer. */
static inline void tb_build_conv_fork(nn_model *m, test_rng *rng, layer_type act)
{
    model_init(m);
    m->input = (nn_shape){1, 5, 5};
    tb_conv_pad(m, rng, 1, 3, 3, 1, 0.6);     /* 0 */
    tb_act(m, rng, act, 75);                 /* 1: read by 2, 5 and 6 */
    tb_conv_pad(m, rng, 3, 3, 3, 1, 0.4);     /* 2 */
    tb_act(m, rng, act, 75);                 /* 3 */
    tb_conv_pad(m, rng, 3, 3, 3, 1, 0.4);     /* 4 */
    tb_add(m, 4, 1);                         /* 5 */
    tb_add(m, 5, 1);                         /* 6 */
    tb_act(m, rng, act, 75);                 /* 7 */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 75, 4);                 /* 9 */
    tb_act(m, rng, act, 4);                  /* 10 */
    tb_dense(m, rng, 4, 4);                  /* 11 */
    tb_add(m, 11, 10);                       /* 12: a skip after the last nonlinear layer */
    tb_finalize_graph(m);
}

/* Residual graph family fam (0 dense, 1 conv with pools in branches, 2 conv forks). */
#define TB_N_RES 3
static inline void tb_build_res(nn_model *m, test_rng *rng, int fam, layer_type act)
{
    if (fam == 0) tb_build_dense_res(m, rng, act);
    else if (fam == 1) tb_build_conv_res(m, rng, act);
    else tb_build_conv_fork(m, rng, act);
}

/* A state with o's options and all bounds for the region B_p(x0, eps) (clip: the
 * box [0, 1]); fails the test on any error. */
static inline void tb_compute(const nn_model *m, const bound_options *o, const double *x0, norm_type p, double eps,
                              int clip, bound_state *st)
{
    nn_error err;
    bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0, .clip_hi = 1};
    assert_int_equal(bound_state_init(st, m, o, &err), NN_OK);
    assert_int_equal(bound_set_region(st, &R, &err), NN_OK);
    if (bound_compute(st, &err)) fail_msg("bound_compute: %s", err.msg);
}

/* Every layer's pre-activation bounds of two states are the same bits. */
static inline void tb_assert_same_bounds(const nn_model *m, const bound_state *a, const bound_state *b)
{
    for (int i = 0; i < m->n_layers; i++)
        if (a->pre_lower[i]) {
            size_t n = shape_size(m->layers[i].in);
            assert_memory_equal(a->pre_lower[i], b->pre_lower[i], n * sizeof(double));
            assert_memory_equal(a->pre_upper[i], b->pre_upper[i], n * sizeof(double));
        }
}

/* The spec rows C [rows x ny] (rows <= 8) of two states are the same bits, both sides. */
static inline void tb_assert_same_spec(bound_state *a, bound_state *b, const double *C, size_t rows, size_t ny)
{
    nn_error err;
    double la[8], ua[8], lb[8], ub[8];
    assert_true(rows <= 8);
    assert_int_equal(bound_spec(a, C, rows, ny, NULL, la, ua, &err), NN_OK);
    assert_int_equal(bound_spec(b, C, rows, ny, NULL, lb, ub, &err), NN_OK);
    assert_memory_equal(la, lb, rows * sizeof *la);
    assert_memory_equal(ua, ub, rows * sizeof *ua);
}

/* Whether st's bounds make the net affine on its region: every activation neuron
 * stable (relax_row_stable) and every MaxPool window decided by the engine's own
 * window table (one input's lower bound at least every other input's upper).
 * There a backward bound of a row is exact up to its rounding allowance. */
static inline int tb_affine_on_region(const nn_model *m, const bound_state *st)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *L = &m->layers[i];
        const double *l = st->pre_lower[i], *u = st->pre_upper[i];
        if (layer_is_activation(L->type)) {
            for (size_t j = 0; j < shape_size(L->in); j++)
                if (!relax_row_stable(L, j, l[j], u[j])) return 0;
        } else if (L->type == LAYER_MAXPOOL2D) {
            const relax_pool *pl = &st->pools[i];
            for (size_t o = 0; o < pl->n_out; o++) {
                const int *in = pl->inputs + o * (size_t)pl->window;
                int lead = -1;
                for (int q = 0; q < pl->window; q++)
                    if (in[q] >= 0 && (lead < 0 || l[in[q]] > l[lead])) lead = in[q];
                for (int q = 0; q < pl->window; q++)
                    if (in[q] >= 0 && in[q] != lead && u[in[q]] > l[lead]) return 0;
            }
        }
    }
    return 1;
}

/* A committed zoo model (path relative to the repository root) into m: 0 if the
 * file is absent, 1 if loaded; a file that does not load fails the test. */
static inline int tb_load_zoo(const char *name, nn_model *m)
{
    const char *path = test_path(name);
    if (access(path, R_OK) != 0) return 0;
    nn_error err;
    model_init(m);
    if (model_load(path, m, &err) != NN_OK) fail_msg("%s: %s", path, err.msg);
    return 1;
}

/* One point of the region: kind 0 = l_inf corner / l1 vertex / l2 sphere point,
 * 1 = random point of the sphere (l1, l2) or box interior (l_inf), 2 = interior. */
static inline void tb_sample(test_rng *rng, const bound_region *R, size_t n, int kind, double *x)
{
    const double *x0 = R->center;
    double eps = R->eps;
    if (R->norm == NORM_INF) {
        for (size_t j = 0; j < n; j++) {
            double s = kind == 0 ? (test_rng_uniform(rng) < 0.5 ? -1.0 : 1.0) : test_rng_range(rng, -1, 1);
            x[j] = x0[j] + eps * s;
        }
    } else if (R->norm == NORM_1 && kind == 0) {
        for (size_t j = 0; j < n; j++) x[j] = x0[j];
        size_t k = (size_t)(test_rng_uniform(rng) * (double)n);
        x[k] += test_rng_uniform(rng) < 0.5 ? -eps : eps;
    } else {
        double nrm = 0;
        for (size_t j = 0; j < n; j++) {
            /* Box-Muller normal for l2; Laplace-like for l1 directions. */
            double u1 = test_rng_uniform(rng) + 1e-12, u2 = test_rng_uniform(rng);
            double g = R->norm == NORM_2 ? sqrt(-2 * log(u1)) * cos(2 * M_PI * u2)
                                         : (u2 < 0.5 ? -1 : 1) * -log(u1);
            x[j] = g;
            nrm += R->norm == NORM_2 ? g * g : fabs(g);
        }
        if (R->norm == NORM_2) nrm = sqrt(nrm);
        double scale = eps / nrm * (kind == 2 ? test_rng_uniform(rng) : 1.0);
        /* stay inside: a hair below the sphere keeps rounding from leaving the ball */
        scale *= 1 - 1e-15;
        for (size_t j = 0; j < n; j++) x[j] = x0[j] + scale * x[j];
    }
    if (R->clip) /* moves each coordinate towards x0 (inside the box): stays in the ball */
        for (size_t j = 0; j < n; j++) x[j] = x[j] < R->clip_lo ? R->clip_lo : x[j] > R->clip_hi ? R->clip_hi : x[j];
}

#endif
