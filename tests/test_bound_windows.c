/* Windowed backward rows (doc/bounds.md "Windowed rows"): rows of conv-shaped
 * layers carried on their receptive field instead of the full map.
 *
 * Random CNNs built to break the window arithmetic: conv stride 1..3, padding
 * 0..k-1, dilation 1..3, kernels 1..5, channels 1..16, maxpool and avgpool with
 * stride below, at and above the kernel and padded windows, normalize layers,
 * maps where the receptive field stays inside, reaches the border, or covers the
 * whole map (the rows then switch to full maps), every activation. Every method,
 * double and single precision, clipped or not, every norm:
 *   - the bounds of every layer and of specification rows are the same bits as
 *     the dense rows' (bound_options.dense_rows = 1, the reference path);
 *   - samples of the region pushed through an independent long double forward
 *     pass (ld_reference.h) lie inside every bound, with no tolerance;
 *   - a row range gives the bits of the whole layer. */
#include "test_bound_models.h"

#include <float.h>

#include "ld_reference.h"

#define N_SAMP 24
#define SPEC_ROWS 2

static nn_shape cur(nn_model *m);
static void add_conv(nn_model *m, test_rng *r, int co, int k, int stride, int pad, int dil)
{
    nn_shape in = cur(m);
    nn_layer l = layer_make(LAYER_CONV2D);
    l.out_channels = co;
    l.in_features = in.c;
    l.kernel[0] = l.kernel[1] = k;
    l.stride[0] = l.stride[1] = stride;
    for (int q = 0; q < 4; q++) l.pad[q] = pad;
    l.dilation[0] = l.dilation[1] = dil;
    double s = 1.6 / sqrt((double)(in.c * k * k));
    l.weight = test_rand_vec(r, (size_t)co * (size_t)in.c * (size_t)k * (size_t)k, -s, s);
    l.bias = test_rand_vec(r, (size_t)co, -0.2, 0.2);
    test_add_layer(m, l);
}

static nn_shape cur(nn_model *m)
{
    nn_error err;
    if (m->n_layers == 0) return m->input;
    if (model_finalize(m, &err) != NN_OK) fail_msg("model: %s", err.msg);
    return m->layers[m->n_layers - 1].out;
}

/* Output extent of a window layer, or 0 if it does not fit. */
static int extent(int in, int k, int s, int p, int d) { return (in + 2 * p - d * (k - 1) - 1) >= 0 ? (in + 2 * p - d * (k - 1) - 1) / s + 1 : 0; }

static const layer_type acts[] = {LAYER_RELU, LAYER_RELU, LAYER_LEAKY_RELU, LAYER_TANH, LAYER_SIGMOID, LAYER_PARAM_RAMP};

/* A random CNN of 2-3 conv blocks on an input of 1-3 channels, 5-16 cells wide. */
static void build(nn_model *m, test_rng *r, int idx, char *desc, size_t dl)
{
    nn_error err;
    model_init(m);
    int hw = 5 + (int)(test_rng_uniform(r) * 12);
    m->input = (nn_shape){1 + (int)(test_rng_uniform(r) * 3), hw, hw - (int)(test_rng_uniform(r) * 2)};
    layer_type act = acts[(size_t)(test_rng_uniform(r) * 6)];
    if (idx % 3 == 0) act = LAYER_RELU;
    int pos = snprintf(desc, dl, "cnn %d in %dx%dx%d act %s:", idx, m->input.c, m->input.h, m->input.w,
                       layer_type_name(act));
    if (test_rng_uniform(r) < 0.5) {
        nn_layer nm = layer_make(LAYER_NORMALIZE);
        nm.in_features = m->input.c;
        nm.mean = test_rand_vec(r, (size_t)m->input.c, 0.1, 0.7);
        nm.std = test_rand_vec(r, (size_t)m->input.c, 0.2, 3.0);
        test_add_layer(m, nm);
        pos += snprintf(desc + pos, dl - (size_t)pos, " norm");
    }
    int blocks = 2 + (test_rng_uniform(r) < 0.4);
    for (int b = 0; b < blocks; b++) {
        nn_shape s = cur(m);
        int k = 1 + (int)(test_rng_uniform(r) * 5), st = 1 + (int)(test_rng_uniform(r) * 3);
        int dil = test_rng_uniform(r) < 0.25 ? 2 + (int)(test_rng_uniform(r) * 2) : 1;
        int pad = (int)(test_rng_uniform(r) * k);
        if (st > 1 && test_rng_uniform(r) < 0.5) st = 1;
        while (k > 1 && (extent(s.h, k, st, pad, dil) < 2 || extent(s.w, k, st, pad, dil) < 2)) k--, dil = 1;
        if (extent(s.h, k, st, pad, dil) < 1 || extent(s.w, k, st, pad, dil) < 1) st = 1, pad = 0;
        int co = 1 + (int)(test_rng_uniform(r) * (b == 0 ? 16 : 8));
        add_conv(m, r, co, k, st, pad, dil);
        pos += snprintf(desc + pos, dl - (size_t)pos, " conv%d k%d s%d p%d d%d", co, k, st, pad, dil);
        if (test_rng_uniform(r) < 0.15) { /* conv -> conv without an activation */
            add_conv(m, r, 1 + (int)(test_rng_uniform(r) * 4), 1 + (cur(m).h >= 3 && cur(m).w >= 3), 1, 0, 1);
            pos += snprintf(desc + pos, dl - (size_t)pos, " conv");
        }
        nn_layer a = layer_make(act);
        if (act == LAYER_LEAKY_RELU) a.alpha = 0.1;
        if (act == LAYER_PARAM_RAMP) {
            a.alpha = 0.15;
            a.in_features = (int)shape_size(cur(m));
            a.r = test_rand_vec(r, shape_size(cur(m)), 0.05, 0.6);
        }
        test_add_layer(m, a);
        s = cur(m);
        double u = test_rng_uniform(r);
        if (u < 0.7 && s.h >= 2 && s.w >= 2) {
            layer_type pt = u < 0.45 ? LAYER_MAXPOOL2D : LAYER_AVGPOOL2D;
            int pk = 1 + (int)(test_rng_uniform(r) * 3), ps = 1 + (int)(test_rng_uniform(r) * 4);
            if (pk > s.h) pk = s.h;
            if (pk > s.w) pk = s.w;
            int pp = (int)(test_rng_uniform(r) * pk);
            if (extent(s.h, pk, ps, pp, 1) < 1 || extent(s.w, pk, ps, pp, 1) < 1) ps = 1, pp = 0;
            tb_pool(m, pt, pk, ps, pp);
            /* averages counting their padding cells (ONNX count_include_pad) */
            int counted = pt == LAYER_AVGPOOL2D && pp > 0 && test_rng_uniform(r) < 0.5;
            for (int q = 0; q < 4 && counted; q++) m->layers[m->n_layers - 1].count_pad[q] = pp;
            pos += snprintf(desc + pos, dl - (size_t)pos, " %s k%d s%d p%d%s", pt == LAYER_MAXPOOL2D ? "max" : "avg", pk,
                            ps, pp, counted ? " counted" : "");
        }
    }
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, r, (int)shape_size(cur(m)), 3);
    if (model_finalize(m, &err) != NN_OK) fail_msg("%s: %s", desc, err.msg);
}

static void compute(const nn_model *m, const bound_options *o, const bound_region *R, const double *C,
                    const double *d, double *sl, double *su, bound_state *st, const char *desc)
{
    nn_error err;
    if (bound_state_init(st, m, o, &err)) fail_msg("%s: init: %s", desc, err.msg);
    if (bound_set_region(st, R, &err)) fail_msg("%s: region: %s", desc, err.msg);
    if (bound_compute(st, &err)) fail_msg("%s method %s single %d: %s", desc, bound_method_name(o->method), o->single,
                                          err.msg);
    if (bound_spec(st, C, SPEC_ROWS, model_output_size(m), d, sl, su, &err))
        fail_msg("%s: spec: %s", desc, err.msg);
}

static long n_same, n_close, n_samples;

/* Double: the same bits. Float: sgemm rounds by matrix shape (layer_ops.c,
 * GEMM_N_PAD), so windowed and dense float rows differ by rounding: both carry
 * the budget of their own arithmetic, and they must agree to float precision. */
static int differ(int single, double a, double b)
{
    if (!single) return memcmp(&a, &b, sizeof a) != 0;
    return !(fabs(a - b) <= 1e-4 * (1 + fabs(a) + fabs(b)));
}

static void windowed_rows_are_the_dense_rows_bits_and_sound(void **state)
{
    (void)state;
    const bound_method ms[] = {METHOD_CROWN, METHOD_FASTLIN, METHOD_CROWN_IBP, METHOD_LBP,
                               METHOD_CROWN_LBP, METHOD_FROWN, METHOD_CROWN_QUAD, METHOD_IBP};
    test_rng rng = {777};
    int n_arch = TEST_UNDER_SANITIZER ? 20 : 60;
    for (int idx = 0; idx < n_arch; idx++) {
        nn_model m;
        char desc[512];
        test_rng ar = {9176u * (uint64_t)idx + 11};
        build(&m, &ar, idx, desc, sizeof desc);
        size_t n_in = model_input_size(&m), no = model_output_size(&m);
        double *x0 = test_rand_vec(&rng, n_in, 0, 1);
        double C[SPEC_ROWS * 3], dd[SPEC_ROWS];
        for (size_t k = 0; k < SPEC_ROWS * no; k++) C[k] = test_rng_range(&rng, -1, 1);
        for (size_t k = 0; k < SPEC_ROWS; k++) dd[k] = test_rng_range(&rng, -1, 1);
        int relu_only = 1;
        int last_nl = -1;
        for (int i = 0; i < m.n_layers; i++) {
            if (layer_is_activation(m.layers[i].type) && m.layers[i].type != LAYER_RELU) relu_only = 0;
            if (layer_is_activation(m.layers[i].type) || m.layers[i].type == LAYER_MAXPOOL2D) last_nl = i;
        }
        if (last_nl < 0 || m.layers[last_nl].type != LAYER_RELU) relu_only = 0; /* CROWN-Quad's condition */
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            if (ms[mi] == METHOD_CROWN_QUAD && !relu_only) continue;
            if ((ms[mi] == METHOD_FROWN || ms[mi] == METHOD_CROWN_QUAD) && idx % 2) continue;
            for (int single = 0; single < 2; single++) {
                bound_options o;
                bound_options_default(&o);
                o.method = ms[mi];
                o.single = single;
                o.frown_iters = 3;
                o.frown_patience = 2;
                o.quad_iters = 10;
                o.spec_upper = 1;
                if (idx % 4 == 1) o.skip_stable = o.intersect_ibp = 0;
                if (idx % 5 == 2) o.row_block = 1 + (size_t)(test_rng_uniform(&rng) * 40);
                norm_type p = (norm_type)((idx + (int)mi + single) % 3);
                double eps = (p == NORM_INF ? 0.02 : 0.2) * (0.1 + 2 * test_rng_uniform(&rng));
                int clip = (idx + (int)mi) % 2;
                bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = clip, .clip_lo = 0, .clip_hi = 1};
                bound_state sw, sd;
                double sl[SPEC_ROWS], su[SPEC_ROWS], dl[SPEC_ROWS], du[SPEC_ROWS];
                compute(&m, &o, &R, C, dd, sl, su, &sw, desc);
                bound_options od = o;
                od.dense_rows = 1;
                compute(&m, &od, &R, C, dd, dl, du, &sd, desc);
                for (int i = 0; i < m.n_layers; i++) {
                    if (!sw.pre_lower[i]) continue;
                    size_t n = shape_size(m.layers[i].in);
                    for (size_t k = 0; k < n; k++)
                        if (differ(single, sw.pre_lower[i][k], sd.pre_lower[i][k]) ||
                            differ(single, sw.pre_upper[i][k], sd.pre_upper[i][k]))
                            fail_msg("%s | %s single %d norm %s clip %d: layer %d neuron %zu: windowed [%.17g, %.17g] "
                                     "dense [%.17g, %.17g]", desc, bound_method_name(o.method), single, norm_name(p), clip, i,
                                     k, sw.pre_lower[i][k], sw.pre_upper[i][k], sd.pre_lower[i][k], sd.pre_upper[i][k]);
                }
                if (differ(single, sl[0], dl[0]) || differ(single, su[0], du[0]) || differ(single, sl[1], dl[1]) ||
                    differ(single, su[1], du[1]))
                    fail_msg("%s | %s single %d: spec rows differ: %.17g %.17g vs %.17g %.17g", desc,
                             bound_method_name(o.method), single, sl[0], su[0], dl[0], du[0]);
                if (single) n_close++;
                else n_same++;
                double x[16 * 16 * 3];
                ld **tr = calloc((size_t)m.n_layers + 1, sizeof *tr);
                assert_non_null(tr);
                for (int s = 0; s < N_SAMP; s++) {
                    tb_sample(&rng, &R, n_in, s % 3, x);
                    into_region(&R, x, n_in);
                    ld_forward(&m, x, tr);
                    char why[600];
                    ld_check_trace(&m, &sw, tr, C, dd, sl, su, SPEC_ROWS, why, sizeof why);
                    for (int i = 0; i <= m.n_layers; i++) free(tr[i]);
                    if (why[0])
                        fail_msg("%s | %s single %d norm %s eps %g clip %d sample %d: %s", desc, bound_method_name(o.method),
                                 single, norm_name(p), eps, clip, s, why);
                    n_samples++;
                }
                free(tr);
                bound_state_free(&sw);
                bound_state_free(&sd);
            }
        }
        free(x0);
        model_free(&m);
    }
    print_message("windowed rows: %d CNNs, %ld double configurations bit-identical to dense rows, %ld single within "
                  "1e-4, %ld samples inside\n", n_arch, n_same, n_close, n_samples);
}

/* A row range of a layer gives the bits of the whole layer (the scheduler's
 * split), with windowed rows of several geometries in one block. */
/* Also where rows are computed in blocks from the range's start instead of
 * aligned blocks (bound_rows_block_free, split unit 1: double, one BLAS thread,
 * no GEMM over the block's rows), which a rank group relies on to split such a
 * layer row by row: several unaligned ranges per layer. */
static void windowed_row_ranges_are_bit_identical(void **state)
{
    (void)state;
    test_rng rng = {4242};
    int free_layers = 0, aligned_layers = 0;
    for (int idx = 0; idx < 12; idx++) {
        nn_model m;
        char desc[512];
        test_rng ar = {55u * (uint64_t)idx + 3};
        build(&m, &ar, idx, desc, sizeof desc);
        size_t n_in = model_input_size(&m);
        double *x0 = test_rand_vec(&rng, n_in, 0, 1);
        bound_region R = {.center = x0, .eps = 0.03, .norm = NORM_INF, .clip = 1, .clip_lo = 0, .clip_hi = 1};
        for (int single = 0; single < 2; single++) {
            bound_options o;
            bound_options_default(&o);
            o.single = single;
            o.row_block = 7;
            nn_error err;
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
            if (bound_compute(&st, &err)) fail_msg("%s: %s", desc, err.msg);
            for (int i = 0; i < m.n_layers; i++) {
                if (!st.pre_lower[i] || i == 0) continue;
                size_t n = shape_size(m.layers[i].in), unit = bound_row_split_unit(&st, i);
                if (single) assert_int_equal(unit, 7);
                if (unit == 1) free_layers++;
                else aligned_layers++;
                for (int t = 0; t < 3; t++) {
                    size_t lo = (size_t)(test_rng_uniform(&rng) * (double)n);
                    size_t hi = lo + 1 + (size_t)(test_rng_uniform(&rng) * (double)(n - lo));
                    if (hi > n) hi = n;
                    double *l = malloc((hi - lo) * sizeof *l), *u = malloc((hi - lo) * sizeof *u);
                    assert_non_null(l);
                    assert_non_null(u);
                    if (bound_layer_rows(&st, i, lo, hi, l, u, &err)) fail_msg("%s: rows: %s", desc, err.msg);
                    if (memcmp(l, st.pre_lower[i] + lo, (hi - lo) * sizeof *l) ||
                        memcmp(u, st.pre_upper[i] + lo, (hi - lo) * sizeof *u))
                        fail_msg("%s: %s, layer %d (split unit %zu): rows [%zu, %zu) differ from the whole layer", desc,
                                 single ? "single" : "double", i, unit, lo, hi);
                    free(l);
                    free(u);
                }
            }
            bound_state_free(&st);
        }
        free(x0);
        model_free(&m);
    }
    /* both kinds of layer were there */
    assert_true(free_layers >= 5);
    assert_true(aligned_layers >= 5);
}

/* The committed CNNs (LeNet-like, 3x3 stacks, k3 s2 pooling, avgpool): every
 * backward method, windowed rows the same bits as dense rows. */
static void committed_cnns_windowed_equal_dense(void **state)
{
    (void)state;
    const char *names[] = {"models/fmnist_cnn_lenet_maxpool.h5", "models/fmnist_cnn_3x3stack_maxpool.h5",
                           "models/fmnist_cnn_maxpool_k3s2.h5", "models/fmnist_cnn_avgpool.h5"};
    const bound_method ms[] = {METHOD_CROWN, METHOD_FASTLIN, METHOD_CROWN_LBP};
    test_rng rng = {99};
    for (size_t ni = 0; ni < sizeof names / sizeof names[0]; ni++) {
        nn_model m;
        if (!tb_load_zoo(names[ni], &m)) continue;
        size_t n_in = model_input_size(&m), no = model_output_size(&m);
        double *x0 = test_rand_vec(&rng, n_in, 0, 1);
        double C[SPEC_ROWS * 10], dd[SPEC_ROWS] = {0.1, -0.2};
        for (size_t k = 0; k < SPEC_ROWS * no; k++) C[k] = test_rng_range(&rng, -1, 1);
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
            for (int single = 0; single < 2; single++) {
                bound_options o;
                bound_options_default(&o);
                o.method = ms[mi];
                o.single = single;
                bound_region R = {.center = x0, .eps = 0.02, .norm = NORM_INF, .clip = 1, .clip_lo = 0, .clip_hi = 1};
                bound_state sw, sd;
                double sl[SPEC_ROWS], su[SPEC_ROWS], dl[SPEC_ROWS], du[SPEC_ROWS];
                compute(&m, &o, &R, C, dd, sl, su, &sw, names[ni]);
                o.dense_rows = 1;
                compute(&m, &o, &R, C, dd, dl, du, &sd, names[ni]);
                for (int i = 0; i < m.n_layers; i++) {
                    if (!sw.pre_lower[i]) continue;
                    for (size_t k = 0; k < shape_size(m.layers[i].in); k++)
                        if (differ(single, sw.pre_lower[i][k], sd.pre_lower[i][k]) ||
                            differ(single, sw.pre_upper[i][k], sd.pre_upper[i][k]))
                            fail_msg("%s %s single %d: layer %d neuron %zu: windowed [%.17g, %.17g] dense [%.17g, %.17g]",
                                     names[ni], bound_method_name(o.method), single, i, k, sw.pre_lower[i][k],
                                     sw.pre_upper[i][k], sd.pre_lower[i][k], sd.pre_upper[i][k]);
                }
                for (int q = 0; q < SPEC_ROWS; q++)
                    if (differ(single, sl[q], dl[q]) || differ(single, su[q], du[q]))
                        fail_msg("%s %s single %d: spec row %d differs", names[ni], bound_method_name(o.method), single, q);
                bound_state_free(&sw);
                bound_state_free(&sd);
            }
        free(x0);
        model_free(&m);
    }
}

int main(void)
{
    if (test_blas_one_thread()) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(committed_cnns_windowed_equal_dense),
        cmocka_unit_test(windowed_rows_are_the_dense_rows_bits_and_sound),
        cmocka_unit_test(windowed_row_ranges_are_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
