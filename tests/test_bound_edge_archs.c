/* Soundness of the bound engine on random edge-case
 * architectures: dense -> dense chains without activations, conv -> avgpool ->
 * conv stacks, purely linear models, 1-neuron layers, weight scales 1e-8 .. 1e6,
 * biases that put the centre's pre-activations at 0 or at a kink, saturating
 * S-shaped inputs (|z| up to ~800), eps 0 and eps 1e3, clipping on/off, every
 * norm, MaxPool with overlapping/padded windows and stride != kernel, every
 * activation, every method, double and single precision.
 *
 * Samples of the region are pushed through an INDEPENDENT long double forward
 * pass written here (not forward_trace), so the library's own rounding cannot
 * mask an error; every sample point is moved (if needed) so that it lies in the
 * REAL region (|x - x0| <= eps exactly, in long double). Every nonlinear layer's
 * input, the output and a random spec must lie inside the reported bounds, with
 * no tolerance. */
#include "test_bound_models.h"

#include <float.h>

#ifndef N_ARCH
#define N_ARCH (TEST_UNDER_SANITIZER ? 80 : 240) /* the sanitizer build: the first 80 */
#endif
#define N_SAMP 48
#define SPEC_ROWS 2

#include "ld_reference.h"


/* ---- random edge-case architectures ------------------------------------ */

typedef struct {
    nn_model m;
    char desc[256];
} arch;

static const double scales[] = {1e-8, 1e-4, 0.3, 1.0, 3.0, 1e3, 1e6};

static double pick_scale(test_rng *r)
{
    double u = test_rng_uniform(r);
    if (u < 0.5) return test_rng_range(r, 0.3, 2.0); /* ordinary */
    return scales[(size_t)(test_rng_uniform(r) * (sizeof scales / sizeof scales[0]))];
}

static double *rand_weights(test_rng *r, size_t n, double s)
{
    double *w = test_rand_vec(r, n, -s, s);
    for (size_t k = 0; k < n; k++) {
        double u = test_rng_uniform(r);
        if (u < 0.08) w[k] = 0.0;                    /* exact zeros */
        else if (u < 0.14 && k) w[k] = -w[k - 1];    /* cancelling pairs */
        else if (u < 0.18) w[k] = s;                 /* repeated magnitudes */
    }
    return w;
}

/* Current output size of the model's last layer (or the input). */
static size_t cur_size(const nn_model *m)
{
    nn_error err;
    nn_model t = *m;
    (void)t;
    if (m->n_layers == 0) return shape_size(m->input);
    assert_int_equal(model_finalize((nn_model *)m, &err), NN_OK);
    return shape_size(m->layers[m->n_layers - 1].out);
}

static nn_shape cur_shape(nn_model *m)
{
    nn_error err;
    if (m->n_layers == 0) return m->input;
    assert_int_equal(model_finalize(m, &err), NN_OK);
    return m->layers[m->n_layers - 1].out;
}

static void add_dense(nn_model *m, test_rng *r, int out, double s, int bias_mode)
{
    int in = (int)cur_size(m);
    nn_layer l = layer_make(LAYER_DENSE);
    l.out_channels = out;
    l.in_features = in;
    l.weight = rand_weights(r, (size_t)in * out, s / sqrt((double)in));
    l.bias = test_rand_vec(r, (size_t)out, -0.3 * s, 0.3 * s);
    if (bias_mode == 1)
        for (int o = 0; o < out; o++) l.bias[o] = 0.0;
    test_add_layer(m, l);
}

static void add_conv(nn_model *m, test_rng *r, int co, int k, int stride, int pad, int dil, double s)
{
    nn_shape in = cur_shape(m);
    nn_layer l = layer_make(LAYER_CONV2D);
    l.out_channels = co;
    l.in_features = in.c;
    l.kernel[0] = l.kernel[1] = k;
    l.stride[0] = l.stride[1] = stride;
    for (int q = 0; q < 4; q++) l.pad[q] = pad;
    l.dilation[0] = l.dilation[1] = dil;
    size_t nw = (size_t)co * in.c * k * k;
    l.weight = rand_weights(r, nw, s / sqrt((double)(in.c * k * k)));
    l.bias = test_rand_vec(r, (size_t)co, -0.3 * s, 0.3 * s);
    test_add_layer(m, l);
}

static const layer_type acts_all[] = {LAYER_RELU,   LAYER_TANH,       LAYER_SIGMOID,
                                      LAYER_ARCTAN, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP};

static void add_act(nn_model *m, test_rng *r, layer_type t)
{
    size_t n = cur_size(m);
    nn_layer l = layer_make(t);
    if (t == LAYER_LEAKY_RELU) {
        double al[] = {0.0, 0.01, 0.1, 0.5, 1.0, 1e-9};
        l.alpha = al[(size_t)(test_rng_uniform(r) * 6)];
    }
    if (t == LAYER_PARAM_RAMP) {
        double et[] = {0.0, 0.15, 1e-9, 0.5, 1.0};
        l.alpha = et[(size_t)(test_rng_uniform(r) * 5)];
        l.in_features = (int)n;
        l.r = test_rand_vec(r, n, 0.0, 0.6);
        for (size_t k = 0; k < n; k++)
            if (test_rng_uniform(r) < 0.2) l.r[k] = 0.0;
    }
    test_add_layer(m, l);
}

/* Shift the bias of the last affine layer (dense/conv) so that the centre's
 * pre-activation (as computed in double, one rounding away from exact) is at 0,
 * at the ramp end r, or +-40 / +-800 for saturation. */
static void place_bias(nn_model *m, const double *x0, int mode, const double *r_next)
{
    if (mode == 0) return;
    nn_layer *L = &m->layers[m->n_layers - 1];
    if (L->type != LAYER_DENSE && L->type != LAYER_CONV2D) return;
    nn_error err;
    assert_int_equal(model_finalize(m, &err), NN_OK);
    ld **acts = calloc((size_t)m->n_layers + 1, sizeof *acts);
    assert_non_null(acts);
    ld_forward(m, x0, acts);
    size_t n = shape_size(L->out), plane = (size_t)L->out.h * L->out.w;
    ld *z = acts[m->n_layers];
    if (L->type == LAYER_DENSE) {
        for (size_t o = 0; o < n; o++) {
            double target = mode == 1 ? 0.0 : mode == 2 ? (r_next ? r_next[o] : 0.0)
                                          : (mode == 3 ? 40.0 : 800.0) * (o % 2 ? -1 : 1);
            L->bias[o] = (double)((ld)L->bias[o] - z[o] + target);
        }
    } else { /* conv: one bias per channel, put the channel's first position there */
        for (int c = 0; c < L->out.c; c++) {
            double target = mode == 3 ? 40.0 : mode == 4 ? -800.0 : 0.0;
            L->bias[c] = (double)((ld)L->bias[c] - z[(size_t)c * plane] + target);
        }
    }
    for (int i = 0; i <= m->n_layers; i++) free(acts[i]);
    free(acts);
}

static layer_type rand_act(test_rng *r) { return acts_all[(size_t)(test_rng_uniform(r) * 6)]; }

static void build_arch(arch *a, test_rng *r, int idx, double *x0_out, size_t *n_in_out)
{
    nn_model *m = &a->m;
    nn_error err;
    model_init(m);
    int kind = idx % 6;
    layer_type act = rand_act(r);
    if (idx % 12 == 0) act = LAYER_RELU;
    double s = pick_scale(r);
    int bmode = (int)(test_rng_uniform(r) * 5); /* 0 random, 1 zero/kink, 2 ramp end, 3 +-40, 4 +-800 */
    double x0[64];
    size_t n_in;
    if (kind <= 2) {
        n_in = 1 + (size_t)(test_rng_uniform(r) * 4);
        m->input = (nn_shape){(int)n_in, 1, 1};
    } else {
        m->input = (nn_shape){1 + (int)(test_rng_uniform(r) * 2), 5, 5};
        n_in = shape_size(m->input);
    }
    for (size_t j = 0; j < n_in; j++) x0[j] = test_rng_uniform(r);
    if (test_rng_uniform(r) < 0.3) x0[0] = 0.0;
    if (n_in > 1 && test_rng_uniform(r) < 0.3) x0[n_in - 1] = 1.0;
    snprintf(a->desc, sizeof a->desc, "arch %d kind %d act %s scale %g bias %d", idx, kind, layer_type_name(act), s,
             bmode);
    switch (kind) {
    case 0: /* MLP with dense -> dense blocks (no activation between) and 1-neuron layers */
        for (int blk = 0; blk < 3; blk++) {
            int nd = 1 + (int)(test_rng_uniform(r) * 3);
            for (int d = 0; d < nd; d++) {
                int w = test_rng_uniform(r) < 0.3 ? 1 : 2 + (int)(test_rng_uniform(r) * 5);
                add_dense(m, r, w, d == 0 ? s : pick_scale(r), bmode == 1 && d == nd - 1);
            }
            if (blk < 2) {
                place_bias(m, x0, bmode, NULL);
                add_act(m, r, act);
            }
        }
        break;
    case 1: /* purely linear model */
        for (int d = 0; d < 3; d++) add_dense(m, r, 1 + (int)(test_rng_uniform(r) * 4), pick_scale(r), 0);
        break;
    case 2: { /* 1-neuron chain, model ends in an activation */
        for (int d = 0; d < 3; d++) {
            add_dense(m, r, 1, d == 0 ? s : pick_scale(r), 0);
            if (act == LAYER_PARAM_RAMP) {
                /* bias to the ramp end r of the layer about to be added: add it first */
            }
            place_bias(m, x0, bmode == 2 ? 1 : bmode, NULL);
            add_act(m, r, act);
        }
        break;
    }
    case 3: /* conv -> avgpool -> conv (no activation between) -> act -> maxpool -> dense */
        if (test_rng_uniform(r) < 0.5) {
            nn_layer nm = layer_make(LAYER_NORMALIZE);
            nm.in_features = m->input.c;
            nm.mean = test_rand_vec(r, (size_t)m->input.c, 0.1, 0.7);
            nm.std = test_rand_vec(r, (size_t)m->input.c, 0.01, 3.0);
            test_add_layer(m, nm);
        }
        add_conv(m, r, 2, 3, 1, 1, 1, s);
        tb_pool(m, LAYER_AVGPOOL2D, 2, 1, test_rng_uniform(r) < 0.5);
        add_conv(m, r, 2, 2, 1, 0, 1, pick_scale(r));
        place_bias(m, x0, bmode, NULL);
        add_act(m, r, act);
        tb_pool(m, LAYER_MAXPOOL2D, 2, 1, 0); /* overlapping */
        test_add_layer(m, layer_make(LAYER_FLATTEN));
        add_dense(m, r, 3, 1.0, 0);
        break;
    case 4: /* conv (dilated/strided) -> act -> maxpool k3 s2 pad 1 -> conv -> act -> avgpool -> dense */
        add_conv(m, r, 2, 2, 1 + (test_rng_uniform(r) < 0.5), 1, 1 + (test_rng_uniform(r) < 0.3), s);
        place_bias(m, x0, bmode, NULL);
        add_act(m, r, act);
        if (cur_shape(m).h >= 3) tb_pool(m, LAYER_MAXPOOL2D, 3, 2, 1);
        else tb_pool(m, LAYER_MAXPOOL2D, 2, 1, 1);
        add_conv(m, r, 2, 1, 1, 0, 1, pick_scale(r));
        add_act(m, r, act);
        tb_pool(m, LAYER_AVGPOOL2D, 2, 1, 1);
        test_add_layer(m, layer_make(LAYER_FLATTEN));
        add_dense(m, r, 2, 1.0, 0);
        break;
    default: /* maxpool stride > kernel, maxpool directly on the input, act -> maxpool -> act */
        tb_pool(m, LAYER_MAXPOOL2D, 2, 3, 0);
        add_conv(m, r, 3, 1, 1, 0, 1, s);
        place_bias(m, x0, bmode, NULL);
        add_act(m, r, act);
        tb_pool(m, LAYER_MAXPOOL2D, 2, 1, 1);
        test_add_layer(m, layer_make(LAYER_FLATTEN));
        add_dense(m, r, 1 + (int)(test_rng_uniform(r) * 3), pick_scale(r), 0);
        if (test_rng_uniform(r) < 0.5) add_act(m, r, act);
        break;
    }
    assert_int_equal(model_finalize(m, &err), NN_OK);
    memcpy(x0_out, x0, n_in * sizeof *x0);
    *n_in_out = n_in;
}


static void sample(test_rng *rng, const bound_region *R, size_t n, size_t s, double *x)
{
    if (s == 0) {
        memcpy(x, R->center, n * sizeof *x);
        return;
    }
    if (R->norm == NORM_INF && n <= 4 && s <= (1u << n)) { /* every corner */
        for (size_t j = 0; j < n; j++) x[j] = R->center[j] + ((s - 1) >> j & 1 ? R->eps : -R->eps);
    } else {
        tb_sample(rng, R, n, (int)(s % 3), x);
    }
    into_region(R, x, n);
    if (R->clip)
        for (size_t j = 0; j < n; j++) x[j] = x[j] < R->clip_lo ? R->clip_lo : x[j] > R->clip_hi ? R->clip_hi : x[j];
}

/* ---- one configuration --------------------------------------------------- */

static long n_checked;

static void check(const arch *a, const double *x0, const bound_options *opt, norm_type p, double eps, int clip,
                  test_rng *rng)
{
    const nn_model *m = &a->m;
    nn_error err;
    size_t n_in = model_input_size(m), no = model_output_size(m);
    bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0.0, .clip_hi = 1.0};
    bound_state st;
    if (bound_state_init(&st, m, opt, &err) != NN_OK)
        fail_msg("%s method %s: bound_state_init: %s", a->desc, bound_method_name(opt->method), err.msg);
    if (bound_set_region(&st, &R, &err) != NN_OK)
        fail_msg("%s: bound_set_region: %s", a->desc, err.msg);
    if (bound_compute(&st, &err) != NN_OK)
        fail_msg("%s method %s single %d: bound_compute: %s", a->desc, bound_method_name(opt->method), opt->single,
                 err.msg);
    double C[SPEC_ROWS * 8], d[SPEC_ROWS], sl[SPEC_ROWS], su[SPEC_ROWS];
    assert_true(no <= 8);
    for (size_t k = 0; k < SPEC_ROWS * no; k++) C[k] = test_rng_range(rng, -1, 1);
    for (size_t k = 0; k < SPEC_ROWS; k++) d[k] = test_rng_range(rng, -1, 1);
    if (bound_spec(&st, C, SPEC_ROWS, no, d, sl, su, &err) != NN_OK)
        fail_msg("%s method %s: bound_spec: %s", a->desc, bound_method_name(opt->method), err.msg);

    double x[64];
    ld **acts = calloc((size_t)m->n_layers + 1, sizeof *acts);
    assert_non_null(acts);
    for (size_t s = 0; s < N_SAMP; s++) {
        sample(rng, &R, n_in, s, x);
        ld_forward(m, x, acts);
        char why[600];
        ld_check_trace(m, &st, acts, C, d, sl, su, SPEC_ROWS, why, sizeof why);
        for (int i = 0; i <= m->n_layers; i++) free(acts[i]);
        if (why[0])
            fail_msg("%s | method %s single %d skip %d isect %d | norm %s eps %g clip %d | sample %zu: %s", a->desc,
                     bound_method_name(opt->method), opt->single, opt->skip_stable, opt->intersect_ibp, norm_name(p),
                     eps, clip, s, why);
        n_checked++;
    }
    free(acts);
    bound_state_free(&st);
}

static int has_only_relu(const nn_model *m)
{
    int relu = 0;
    for (int i = 0; i < m->n_layers; i++) {
        layer_type t = m->layers[i].type;
        if (layer_is_activation(t) && t != LAYER_RELU) return 0;
        if (t == LAYER_MAXPOOL2D) return 0;
        relu |= t == LAYER_RELU;
    }
    return relu;
}

static void random_edge_case_architectures_are_sound(void **state)
{
    (void)state;
    test_rng rng = {20240611};
    const bound_method ms[] = {METHOD_IBP,     METHOD_CROWN_IBP, METHOD_LBP,   METHOD_CROWN_LBP,
                               METHOD_FASTLIN, METHOD_CROWN,     METHOD_FROWN, METHOD_CROWN_QUAD};
    const double eps_pool[] = {0.0, 1e-12, 0.01, 0.1, 0.5, 1e3};
    int n_configs = 0;
    for (int idx = 0; idx < N_ARCH; idx++) {
        arch a;
        double x0[64];
        size_t n_in;
        test_rng arng = {1000003u * (uint64_t)idx + 7};
        build_arch(&a, &arng, idx, x0, &n_in);
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            if (ms[mi] == METHOD_CROWN_QUAD && !has_only_relu(&a.m)) continue;
            for (int single = 0; single < 2; single++)
                for (int raw = 0; raw < 2; raw++) {
                    if (raw && (ms[mi] == METHOD_IBP)) continue;
                    bound_options o;
                    bound_options_default(&o);
                    o.method = ms[mi];
                    o.single = single;
                    o.skip_stable = o.intersect_ibp = !raw;
                    o.frown_iters = 4;
                    o.frown_patience = 2;
                    o.spec_upper = 1;
                    o.quad_iters = 20;
                    if (raw && test_rng_uniform(&rng) < 0.5) o.strategy = (line_strategy)(test_rng_uniform(&rng) * 3);
                    for (int p = 0; p < 3; p++) {
                        int clip = (int)(test_rng_uniform(&rng) * 2);
                        double eps = eps_pool[(size_t)(test_rng_uniform(&rng) * 6)];
                        if (p != NORM_INF && eps > 0 && eps < 1) eps *= 3;
                        check(&a, x0, &o, (norm_type)p, eps, clip, &rng);
                        n_configs++;
                    }
                }
        }
        model_free(&a.m);
    }
    print_message("edge-case architectures: %d architectures, %d configurations, %ld sample points\n", N_ARCH, n_configs, n_checked);
}

/* A model whose last layer is nonlinear (here dense -> sigmoid, relu or
 * maxpool): bound_spec's interval tail then starts and stops at the output
 * (stop = n_layers), an edge case where reading the width of layers[n_layers]
 * would run past the array and make every spec bound the constant d, for IBP
 * and (intersected) for every method with intersect_ibp. The spec row must
 * enclose d + f(z) over the real interval of z. */
static void spec_bounds_of_model_ending_in_nonlinear_layer(void **state)
{
    (void)state;
    const layer_type last[] = {LAYER_SIGMOID, LAYER_RELU, LAYER_MAXPOOL2D};
    for (size_t t = 0; t < 3; t++)
        for (int meth = 0; meth < 3; meth++) {
            nn_error err;
            nn_model m;
            model_init(&m);
            m.input = (nn_shape){1, 2, 2};
            nn_layer dl = layer_make(LAYER_DENSE);
            dl.out_channels = 4;
            dl.in_features = 4;
            dl.weight = calloc(16, sizeof(double));
            dl.bias = calloc(4, sizeof(double));
            assert_non_null(dl.weight);
            assert_non_null(dl.bias);
            for (int k = 0; k < 4; k++) dl.weight[k * 5] = 1.0, dl.bias[k] = 2.0;
            test_add_layer(&m, dl);
            if (last[t] == LAYER_MAXPOOL2D) {
                nn_layer r = layer_make(LAYER_FLATTEN);
                test_add_layer(&m, r);
            }
            nn_layer nl = layer_make(last[t]);
            if (last[t] == LAYER_MAXPOOL2D) {
                /* dense output is (4,1,1): pool over a 1x1 window per channel */
                nl.kernel[0] = nl.kernel[1] = 1;
                nl.stride[0] = nl.stride[1] = 1;
            }
            test_add_layer(&m, nl);
            assert_int_equal(model_finalize(&m, &err), NN_OK);
            bound_options o;
            bound_options_default(&o);
            o.method = meth == 0 ? METHOD_IBP : meth == 1 ? METHOD_CROWN : METHOD_CROWN_IBP;
            double x0[4] = {0.5, 0.5, 0.5, 0.5};
            bound_region R = {.center = x0, .eps = 0.1, .norm = NORM_INF};
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
            assert_int_equal(bound_compute(&st, &err), NN_OK);
            double C[4] = {1, 0, 0, 0}, d = 0.25, lo, hi;
            assert_int_equal(bound_spec(&st, C, 1, 4, &d, &lo, &hi, &err), NN_OK);
            /* output 0 is f(2 + x_0), x_0 in [0.4, 0.6]: the row is d + that */
            long double zl = 2.4L, zh = 2.6L;
            long double fl = last[t] == LAYER_SIGMOID ? 1 / (1 + expl(-zl)) : zl;
            long double fh = last[t] == LAYER_SIGMOID ? 1 / (1 + expl(-zh)) : zh;
            if (!((long double)lo <= 0.25L + fl && 0.25L + fh <= (long double)hi))
                fail_msg("%s after dense, %s: spec [%.17g, %.17g] misses [%.17Lg, %.17Lg]", layer_type_name(last[t]),
                         bound_method_name(o.method), lo, hi, 0.25L + fl, 0.25L + fh);
            bound_state_free(&st);
            model_free(&m);
        }
}

/* Float backward rows need absolute rounding budgets besides the relative ones
 * (gamma(K) |A| vmag): a product or sum below FLT_MIN is subnormal or 0 in
 * float and errs absolutely. 1 -> relu -> dense w2 -> relu -> 1 -> relu -> 1 on
 * x in [0.5, 1.5] (layer 3 is the third relu's input): weights below FLT_MIN are
 * refused in single precision (their conversion is not relative), and w1 = 1e-20,
 * w2 = 1e-25 (both normal floats, product 1e-45) must be covered by the absolute
 * budget, with raw options and with the defaults, also with a bias that makes
 * layer 3 unstable. Double precision takes every case. */
static void single_precision_underflow_is_covered(void **state)
{
    (void)state;
    const double cases[4][3] = {{1.0, 1e-45, 0}, {1.0, 6e-46, 0}, {1e-20, 1e-25, 0}, {1e-20, 1e-25, -1e-45}};
    for (int c = 0; c < 4; c++)
        for (int single = 0; single < 2; single++)
            for (int raw = 0; raw < 2; raw++) {
                nn_error err;
                nn_model m;
                model_init(&m);
                m.input = (nn_shape){1, 1, 1};
                double w[4] = {cases[c][0], cases[c][1], 1.0, 1.0}, bias[4] = {0, 0, 0, 0};
                bias[1] = cases[c][2];
                for (int k = 0; k < 4; k++) {
                    tb_dense_from(&m, 1, 1, &w[k], &bias[k]);
                    if (k < 3) test_add_layer(&m, layer_make(LAYER_RELU));
                }
                assert_int_equal(model_finalize(&m, &err), NN_OK);
                bound_options o;
                bound_options_default(&o);
                o.single = single;
                if (raw) o.skip_stable = o.intersect_ibp = 0;
                double x0 = 1.0;
                bound_region R = {.center = &x0, .eps = 0.5, .norm = NORM_INF};
                bound_state st;
                int rc = bound_state_init(&st, &m, &o, &err);
                if (single && fabs(w[1]) < FLT_MIN) {
                    assert_int_equal(rc, NN_EVALUE);
                    assert_non_null(strstr(err.msg, "single precision: layer 2 (dense) weight 0"));
                    model_free(&m);
                    continue;
                }
                assert_int_equal(rc, NN_OK);
                assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
                assert_int_equal(bound_compute(&st, &err), NN_OK);
                for (int corner = 0; corner < 2; corner++) {
                    /* the inputs of relus 3 and 5 (z, then relu(z)) */
                    ld x = corner ? 1.5L : 0.5L, z = (ld)w[1] * ((ld)w[0] * x) + (ld)bias[1];
                    ld v[2] = {z, z > 0 ? z : 0};
                    for (int k = 0; k < 2; k++) {
                        int i = 3 + 2 * k;
                        if (!((ld)st.pre_lower[i][0] <= v[k] && v[k] <= (ld)st.pre_upper[i][0]))
                            fail_msg("case %d single %d raw %d: layer %d bounds [%.6g, %.6g], exact %.6Lg", c,
                                     single, raw, i, st.pre_lower[i][0], st.pre_upper[i][0], v[k]);
                    }
                }
                bound_state_free(&st);
                model_free(&m);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_edge_case_architectures_are_sound),
        cmocka_unit_test(spec_bounds_of_model_ending_in_nonlinear_layer),
        cmocka_unit_test(single_precision_underflow_is_covered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
