/* Soundness of the bound engine by sampling: for every method x activation x norm
 * (with and without clipping), points of the region (corners, sphere points,
 * interiors) run through forward_trace must lie inside every nonlinear layer's
 * [pre_lower, pre_upper], the output bounds and the bounds of a random spec.
 * No tolerance: the engine's bounds carry their own rounding allowance. */
#include "test_bound_models.h"

#define N_SAMPLES (TEST_UNDER_SANITIZER ? 50 : 150)
#define SPEC_ROWS 3

/* Violations of st's bounds (and of spec bounds sl/su for C, d) by the samples
 * X[ns x n_in]; the first one is described in why. */
static int count_violations(const nn_model *m, const bound_state *st, const double *X, size_t ns, const double *C,
                            const double *d, const double *sl, const double *su, char *why, size_t whylen)
{
    nn_error err;
    double **acts = NULL;
    assert_int_equal(forward_trace(m, X, ns, &acts, &err), NN_OK);
    int bad = 0;
    size_t n_in = model_input_size(m), no = model_output_size(m);
    for (int i = 0; i < m->n_layers; i++) {
        if (!layer_is_nonlinear(m->layers[i].type)) continue;
        size_t n = shape_size(m->layers[i].in);
        const double *in = i == 0 ? X : acts[i - 1];
        for (size_t s = 0; s < ns; s++)
            for (size_t k = 0; k < n; k++) {
                double v = in[s * n + k];
                if (v < st->pre_lower[i][k] || v > st->pre_upper[i][k]) {
                    if (!bad++)
                        snprintf(why, whylen, "layer %d neuron %zu sample %zu: %.17g not in [%.17g, %.17g]", i, k, s,
                                 v, st->pre_lower[i][k], st->pre_upper[i][k]);
                }
            }
    }
    const double *out = acts[m->n_layers - 1];
    for (size_t s = 0; s < ns; s++) {
        for (size_t k = 0; k < no; k++) {
            double v = out[s * no + k];
            if (v < st->out_lower[k] || v > st->out_upper[k])
                if (!bad++)
                    snprintf(why, whylen, "output %zu sample %zu: %.17g not in [%.17g, %.17g]", k, s, v,
                             st->out_lower[k], st->out_upper[k]);
        }
        for (size_t r = 0; C && r < SPEC_ROWS; r++) {
            double v = d[r];
            for (size_t k = 0; k < no; k++) v += C[r * no + k] * out[s * no + k];
            if (v < sl[r] || v > su[r])
                if (!bad++)
                    snprintf(why, whylen, "spec row %zu sample %zu: %.17g not in [%.17g, %.17g]", r, s, v, sl[r],
                             su[r]);
        }
    }
    (void)n_in;
    forward_trace_free(m, acts);
    return bad;
}

/* Bounds for one configuration, then N_SAMPLES samples; fails the test on any
 * violation. Returns the number of unstable-looking (l < 0 < u) neurons seen, so
 * callers can check the configuration exercised the relaxations. */
static size_t check_config(const nn_model *m, const bound_options *opt, norm_type norm, double eps, int clip,
                           test_rng *rng)
{
    nn_error err;
    size_t n_in = model_input_size(m), no = model_output_size(m);
    double *x0 = test_rand_vec(rng, n_in, 0.0, 1.0);
    x0[0] = 0.0; /* centres on the clip box's faces too */
    if (n_in > 1) x0[n_in - 1] = 1.0;
    bound_region R = {.center = x0, .eps = eps, .norm = norm, .clip = clip, .clip_lo = 0.0, .clip_hi = 1.0};
    bound_state st;
    assert_int_equal(bound_state_init(&st, m, opt, &err), NN_OK);
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    if (bound_compute(&st, &err) != NN_OK) fail_msg("bound_compute: %s", err.msg);
    double *C = test_rand_vec(rng, SPEC_ROWS * no, -1, 1), *d = test_rand_vec(rng, SPEC_ROWS, -1, 1);
    double sl[SPEC_ROWS], su[SPEC_ROWS];
    assert_int_equal(bound_spec(&st, C, SPEC_ROWS, no, d, sl, su, &err), NN_OK);

    double *X = malloc(N_SAMPLES * n_in * sizeof *X);
    assert_non_null(X);
    memcpy(X, x0, n_in * sizeof *X);
    for (size_t s = 1; s < N_SAMPLES; s++) tb_sample(rng, &R, n_in, (int)(3 * s / N_SAMPLES), X + s * n_in);
    char why[512] = "";
    int bad = count_violations(m, &st, X, N_SAMPLES, C, d, sl, su, why, sizeof why);
    if (bad)
        fail_msg("%s/%s lines %s norm %s eps %g clip %d: %d violations, first: %s", m->name ? m->name : "model",
                 bound_method_name(opt->method), line_strategy_name(opt->strategy), norm_name(norm), eps, clip, bad,
                 why);
    size_t unstable = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (st.pre_lower[i])
            for (size_t k = 0; k < shape_size(m->layers[i].in); k++)
                unstable += st.pre_lower[i][k] < 0 && st.pre_upper[i][k] > 0;
    bound_state_free(&st);
    free(X);
    free(C);
    free(d);
    free(x0);
    return unstable;
}

/* Methods and option variants every configuration is run with. */
static void variants(bound_options *v, int *count)
{
    int k = 0;
    bound_method ms[] = {METHOD_IBP, METHOD_CROWN_IBP, METHOD_LBP, METHOD_CROWN_LBP, METHOD_FASTLIN, METHOD_CROWN};
    for (int i = 0; i < 6; i++) {
        bound_options_default(&v[k]);
        v[k++].method = ms[i];
    }
    for (int s = 0; s < 3; s++) /* raw CROWN and raw LBP (no IBP to hide behind), every line strategy */
        for (int lbp = 0; lbp < 2; lbp++) {
            bound_options_default(&v[k]);
            v[k].method = lbp ? METHOD_LBP : METHOD_CROWN;
            v[k].strategy = (line_strategy)s;
            v[k].skip_stable = 0;
            v[k++].intersect_ibp = 0;
        }
    bound_options_default(&v[k]); /* raw CROWN-LBP: LBP layers, backward spec, nothing intersected */
    v[k].method = METHOD_CROWN_LBP;
    v[k].skip_stable = 0;
    v[k++].intersect_ibp = 0;
    bound_options_default(&v[k]);
    v[k++].row_block = 3; /* blocks smaller than a layer */
    /* float32 backward passes: default CROWN, raw CROWN, Fast-Lin, small blocks */
    bound_options_default(&v[k]);
    v[k++].single = 1;
    bound_options_default(&v[k]);
    v[k].single = 1;
    v[k].skip_stable = 0;
    v[k++].intersect_ibp = 0;
    bound_options_default(&v[k]);
    v[k].single = 1;
    v[k++].method = METHOD_FASTLIN;
    bound_options_default(&v[k]);
    v[k].single = 1;
    v[k++].row_block = 3;
    /* FROWN: exact, groups (G = 3 in blocks of 6 rows), few and many steps, no
     * early stop, upper spec bounds optimized too, raw CROWN start, float32 CROWN
     * start (FROWN's own passes stay in double) */
    size_t groups[] = {1, 3, 1, 2, 1};
    int iters[] = {100, 10, 30, 4, 10};
    for (int f = 0; f < 5; f++) {
        bound_options_default(&v[k]);
        v[k].method = METHOD_FROWN;
        v[k].frown_group = groups[f];
        v[k].frown_iters = iters[f];
        v[k].row_block = f == 1 ? 5 : 0;
        v[k].frown_threshold = f == 2 ? 0.0 : v[k].frown_threshold;
        v[k].spec_upper = f != 3;
        v[k].skip_stable = v[k].intersect_ibp = f != 3;
        v[k].single = f == 4;
        k++;
    }
    bound_options_default(&v[k]); /* ReLU models only (see run_family) */
    v[k].method = METHOD_CROWN_QUAD;
    v[k++].spec_upper = 1;
    *count = k;
}

static void run_family(void (*build)(nn_model *, test_rng *, layer_type), const double eps[3], uint64_t seed)
{
    test_rng rng = {seed};
    bound_options v[32];
    int nv;
    variants(v, &nv);
    for (size_t a = 0; a < TB_N_ACTS; a++) {
        nn_model m;
        build(&m, &rng, tb_acts[a]);
        size_t unstable = 0;
        for (int k = 0; k < nv; k++) {
            if (v[k].method == METHOD_CROWN_QUAD && tb_acts[a] != LAYER_RELU) {
                bound_state st;
                nn_error err;
                assert_int_equal(bound_state_init(&st, &m, &v[k], &err), NN_EUNSUPPORTED);
                assert_non_null(strstr(err.msg, layer_type_name(tb_acts[a])));
                continue;
            }
            for (int p = 0; p < 3; p++)
                for (int clip = 0; clip < 2; clip++)
                    unstable += check_config(&m, &v[k], (norm_type)p, eps[p], clip, &rng);
        }
        /* The radii must be large enough to leave neurons undecided. */
        assert_true(unstable > 0);
        model_free(&m);
    }
}

static void sampled_points_within_bounds_mlp_every_method_activation_norm(void **state)
{
    (void)state;
    const double eps[3] = {[NORM_INF] = 0.08, [NORM_1] = 0.5, [NORM_2] = 0.25};
    run_family(tb_build_mlp, eps, 11);
}

static void sampled_points_within_bounds_cnn_every_method_activation_norm(void **state)
{
    (void)state;
    const double eps[3] = {[NORM_INF] = 0.03, [NORM_1] = 0.5, [NORM_2] = 0.15};
    run_family(tb_build_cnn, eps, 12);
}

/* The pools ONNX's ceil_mode and count_include_pad give (onnx_import.c): 2x8x8 ->
 * conv 3x3 pad 1 -> act -> maxpool 3x3 stride 2 with a ceil cell at the end (pad
 * 0,0,1,1; 4x4, floor would give 3x3) -> conv 2x2 -> act -> avgpool 3x3 stride 2,
 * pad 1,1,2,2 of which 1,1,1,1 count (2x2: the last windows hold a counted and
 * an uncounted padding cell) -> flatten -> dense 6 -> act -> dense 3. */
static void build_cnn_ceil_pools(nn_model *m, test_rng *rng, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){2, 8, 8};
    tb_conv(m, rng, 2, 2, 3, 1, (const int[4]){1, 1, 1, 1}, 0.5);
    tb_act(m, rng, act, 2 * 8 * 8);
    nn_layer mp = layer_make(LAYER_MAXPOOL2D);
    mp.kernel[0] = mp.kernel[1] = 3;
    mp.stride[0] = mp.stride[1] = 2;
    mp.pad[2] = mp.pad[3] = 1;
    test_add_layer(m, mp); /* 2x4x4 */
    tb_conv(m, rng, 2, 3, 2, 1, (const int[4]){0, 0, 0, 0}, 0.6); /* 3x3x3 */
    tb_act(m, rng, act, 3 * 3 * 3);
    nn_layer ap = layer_make(LAYER_AVGPOOL2D);
    ap.kernel[0] = ap.kernel[1] = 3;
    ap.stride[0] = ap.stride[1] = 2;
    ap.pad[0] = ap.pad[1] = 1;
    ap.pad[2] = ap.pad[3] = 2;
    for (int q = 0; q < 4; q++) ap.count_pad[q] = 1;
    test_add_layer(m, ap); /* 3x2x2 */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 12, 6);
    tb_act(m, rng, act, 6);
    tb_dense(m, rng, 6, 3);
    assert_int_equal(model_finalize(m, &err), NN_OK);
    assert_int_equal(m->layers[2].out.h, 4);
    assert_int_equal(m->layers[5].out.w, 2);
}

static void sampled_points_within_bounds_ceil_and_counted_padding_pools(void **state)
{
    (void)state;
    const double eps[3] = {[NORM_INF] = 0.03, [NORM_1] = 0.5, [NORM_2] = 0.15};
    run_family(build_cnn_ceil_pools, eps, 13);
}

static void sampled_points_within_bounds_cnn_every_maxpool_relaxation(void **state)
{
    (void)state;
    test_rng rng = {13};
    nn_model m;
    tb_build_cnn(&m, &rng, LAYER_RELU);
    pool_method pools[] = {POOL_TILIN, POOL_DEEPPOLY, POOL_CNNCERT, POOL_INTERVAL};
    for (int k = 0; k < 4; k++) {
        bound_options o;
        bound_options_default(&o);
        o.pool = pools[k];
        for (int p = 0; p < 3; p++) check_config(&m, &o, (norm_type)p, p == NORM_INF ? 0.05 : 0.3, 0, &rng);
        o.method = METHOD_LBP; /* the planes in the forward direction */
        o.intersect_ibp = o.skip_stable = 0;
        for (int p = 0; p < 3; p++) check_config(&m, &o, (norm_type)p, p == NORM_INF ? 0.05 : 0.3, 0, &rng);
    }
    model_free(&m);
}

/* One hidden ReLU layer: CROWN-Quad's domain is the input ball itself, where its
 * quadratic bounds do win over the linear ones (the check counts such rows). */
static void sampled_points_within_bounds_one_hidden_layer_crown_quad(void **state)
{
    (void)state;
    test_rng rng = {16};
    for (int trial = 0; trial < 3; trial++) {
        nn_model m;
        tb_build_one_hidden(&m, &rng, 8, 40, 4);
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_CROWN_QUAD;
        o.spec_upper = 1;
        const double eps[3] = {[NORM_INF] = 0.15, [NORM_1] = 0.8, [NORM_2] = 0.4};
        for (int p = 0; p < 3; p++)
            for (int clip = 0; clip < 2; clip++) check_config(&m, &o, (norm_type)p, eps[p], clip, &rng);
        model_free(&m);
    }
}

/* The checker itself must see a bound that excludes a sample. */
static void checker_rejects_bound_tightened_past_a_sample(void **state)
{
    (void)state;
    test_rng rng = {14};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double x0[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    bound_region R = {.center = x0, .eps = 0.1, .norm = NORM_INF};
    bound_state st;
    assert_int_equal(bound_state_init(&st, &m, NULL, &err), NN_OK);
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    assert_int_equal(bound_compute(&st, &err), NN_OK);
    char why[512];
    assert_int_equal(count_violations(&m, &st, x0, 1, NULL, NULL, NULL, NULL, why, sizeof why), 0);
    double **acts;
    assert_int_equal(forward_trace(&m, x0, 1, &acts, &err), NN_OK);
    st.pre_upper[3][2] = acts[2][2] - 1e-12; /* input of layer 3 = output of layer 2 */
    forward_trace_free(&m, acts);
    assert_int_equal(count_violations(&m, &st, x0, 1, NULL, NULL, NULL, NULL, why, sizeof why), 1);
    bound_state_free(&st);
    model_free(&m);
}

/* Valid lines and planes of negative slope, which src/relax never makes but LBP
 * and the backward pass accept (any sound relaxation): ReLU lines of slope -1/2
 * (relu(z) + z/2 is increasing, so its end values give the intercepts) on both
 * sides or only above, MaxPool planes with -0.3 (x_0 - bound) folded in. For a
 * monotone function the slack of such a line covers even the wrong choice of
 * side, so this checks that the general path stays sound, not which side it
 * picks (that is the algebra in bound_lbp.c). */
static void tweak_negative(bound_state *st, int i)
{
    const nn_layer *L = &st->model->layers[i];
    const double *l = st->pre_lower[i], *u = st->pre_upper[i];
    if (L->type == LAYER_RELU) {
        relax_lines *ln = &st->lines[i];
        for (size_t k = 0; k < ln->n; k++) {
            if (k % 3 == 2) continue;
            double hi = fmax(u[k], 0) + 0.5 * u[k], lo = fmax(l[k], 0) + 0.5 * l[k];
            ln->upper_slope[k] = -0.5;
            ln->upper_icpt[k] = hi + 1e-12 * (1 + fabs(hi));
            if (k % 3 == 1) continue; /* mixed signs */
            ln->lower_slope[k] = -0.5;
            ln->lower_icpt[k] = lo - 1e-12 * (1 + fabs(lo));
        }
    } else if (L->type == LAYER_MAXPOOL2D) {
        relax_pool *p = &st->pools[i];
        for (size_t o = 0; o < p->n_out; o++) {
            int in = p->inputs[o * (size_t)p->window];
            if (in < 0) continue;
            p->upper_coef[o * (size_t)p->window] -= 0.3; /* + 0.3 (u - x) >= 0 */
            p->upper_icpt[o] += 0.3 * u[in] + 1e-12 * (1 + fabs(u[in]));
            p->lower_coef[o * (size_t)p->window] -= 0.3; /* - 0.3 (x - l) <= 0 */
            p->lower_icpt[o] += 0.3 * l[in] - 1e-12 * (1 + fabs(l[in]));
        }
    }
}

static void sampled_points_within_bounds_negative_slope_relaxations(void **state)
{
    (void)state;
    test_rng rng = {16};
    nn_error err;
    for (int fam = 0; fam < 2; fam++)
        for (int meth = 0; meth < 2; meth++) {
            nn_model m;
            tb_build(&m, &rng, fam, LAYER_RELU);
            size_t n_in = model_input_size(&m), no = model_output_size(&m);
            double *x0 = test_rand_vec(&rng, n_in, 0.0, 1.0);
            bound_region R = {.center = x0, .eps = fam ? 0.03 : 0.08, .norm = NORM_INF};
            bound_options o;
            bound_options_default(&o);
            o.method = meth ? METHOD_CROWN_LBP : METHOD_LBP;
            o.skip_stable = o.intersect_ibp = 0;
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
            int tweaked = 0;
            for (int i = 0; i < m.n_layers; i++) {
                if (!layer_is_nonlinear(m.layers[i].type)) continue;
                size_t n = shape_size(m.layers[i].in);
                assert_int_equal(bound_layer_rows(&st, i, 0, n, st.pre_lower[i], st.pre_upper[i], &err), NN_OK);
                assert_int_equal(bound_layer_commit(&st, i, st.pre_lower[i], st.pre_upper[i], &err), NN_OK);
                tweak_negative(&st, i);
                tweaked++;
            }
            assert_true(tweaked >= 3);
            /* output bounds through the spec (identity rows), plus random rows */
            double *I = calloc(no * no, sizeof *I);
            assert_non_null(I);
            for (size_t k = 0; k < no; k++) I[k * no + k] = 1;
            assert_int_equal(bound_spec(&st, I, no, no, NULL, st.out_lower, st.out_upper, &err), NN_OK);
            double *C = test_rand_vec(&rng, SPEC_ROWS * no, -1, 1), *d = test_rand_vec(&rng, SPEC_ROWS, -1, 1);
            double sl[SPEC_ROWS], su[SPEC_ROWS];
            assert_int_equal(bound_spec(&st, C, SPEC_ROWS, no, d, sl, su, &err), NN_OK);
            double *X = malloc(N_SAMPLES * n_in * sizeof *X);
            assert_non_null(X);
            for (size_t k = 0; k < N_SAMPLES; k++) tb_sample(&rng, &R, n_in, (int)(2 * k / N_SAMPLES), X + k * n_in);
            char why[512] = "";
            int bad = count_violations(&m, &st, X, N_SAMPLES, C, d, sl, su, why, sizeof why);
            if (bad) fail_msg("%s with negative slopes: %d violations, first: %s", bound_method_name(o.method), bad, why);
            free(X), free(C), free(d), free(I), free(x0);
            bound_state_free(&st);
            model_free(&m);
        }
}

/* Append a dense layer with weights w (out x in) and bias 0. */
static void dense_no_bias(nn_model *m, int in, int out, const double *w)
{
    nn_layer d = layer_make(LAYER_DENSE);
    d.out_channels = out;
    d.in_features = in;
    d.weight = malloc((size_t)in * out * sizeof(double));
    d.bias = calloc((size_t)out, sizeof(double));
    assert_non_null(d.weight);
    assert_non_null(d.bias);
    memcpy(d.weight, w, (size_t)in * out * sizeof(double));
    test_add_layer(m, d);
}

/* A net whose output is a tiny difference of large terms: 1e6 (0.1 x) - 1e6 (w x)
 * with w the double just above 0.1 (double) or a number that rounds to the same
 * float as 0.1 (single), x in [0.5, 1.5]. The rounded weights make the backward
 * coefficient exactly 0 while the true output is about -1.4e-11 x (double) or
 * -1e-3 x (single): only the rounding budget keeps the output bounds sound. */
static void rounding_budget_covers_cancelling_weights(void **state)
{
    (void)state;
    for (int single = 0; single < 2; single++) {
        nn_error err;
        nn_model m;
        model_init(&m);
        m.input = (nn_shape){1, 1, 1};
        double w1[2] = {0.1, single ? 0.1 + 1e-9 : nextafter(0.1, 1.0)}, w2[2] = {1e6, -1e6};
        assert_true(single ? (float)w1[1] == (float)w1[0] : w1[1] != w1[0]);
        dense_no_bias(&m, 1, 2, w1);
        test_add_layer(&m, layer_make(LAYER_RELU));
        dense_no_bias(&m, 2, 1, w2);
        assert_int_equal(model_finalize(&m, &err), NN_OK);
        bound_options o;
        bound_options_default(&o);
        o.single = single;
        o.intersect_ibp = 0;
        double x0 = 1.0;
        bound_region R = {.center = &x0, .eps = 0.5, .norm = NORM_INF};
        bound_state st;
        assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
        assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
        assert_int_equal(bound_compute(&st, &err), NN_OK);
        double X[5] = {0.5, 0.75, 1.0, 1.25, 1.5};
        char why[512];
        int bad = count_violations(&m, &st, X, 5, NULL, NULL, NULL, NULL, why, sizeof why);
        if (bad) fail_msg("%s: %s", single ? "single" : "double", why);
        /* and the bound is not the interval one: the budget is small */
        assert_true(st.out_upper[0] - st.out_lower[0] < (single ? 1.0 : 1e-6));
        bound_state_free(&st);
        model_free(&m);
    }
}

/* The trained zoo models (models/ *.h5 files, MNIST/Fashion-MNIST shapes), when present. */
static void sampled_points_within_bounds_zoo_models(void **state)
{
    (void)state;
    const char *names[] = {"models/mnist_mlp_2x20_relu.h5",        "models/mnist_mlp_2x20_tanh.h5",
                           "models/mnist_mlp_2x20_sigmoid.h5",     "models/mnist_mlp_2x20_arctan.h5",
                           "models/mnist_mlp_2x20_leakyrelu.h5",   "models/fmnist_mlp_2x20_paramramp.h5",
                           "models/fmnist_cnn_lenet_maxpool.h5",   "models/fmnist_cnn_avgpool.h5",
                           "models/fmnist_cnn_maxpool_k3s2.h5"};
    test_rng rng = {15};
    int found = 0;
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        nn_model m;
        if (!tb_load_zoo(names[f], &m)) continue;
        found++;
        bound_method ms[] = {METHOD_IBP, METHOD_CROWN, METHOD_LBP, METHOD_CROWN_LBP, METHOD_CROWN, METHOD_FROWN};
        for (int k = 0; k < 6; k++) {
            bound_options o;
            bound_options_default(&o);
            o.method = ms[k];
            o.intersect_ibp = o.skip_stable = k < 2 || k >= 4; /* LBP's own bounds, not IBP's */
            o.single = k == 4;
            o.frown_iters = strstr(names[f], "cnn") ? 2 : 20; /* the CNNs' conv rows are many */
            check_config(&m, &o, NORM_INF, 0.01, 1, &rng);
            check_config(&m, &o, NORM_2, 0.3, 0, &rng);
        }
        model_free(&m);
    }
    if (!found) skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sampled_points_within_bounds_mlp_every_method_activation_norm),
        cmocka_unit_test(sampled_points_within_bounds_cnn_every_method_activation_norm),
        cmocka_unit_test(sampled_points_within_bounds_ceil_and_counted_padding_pools),
        cmocka_unit_test(sampled_points_within_bounds_cnn_every_maxpool_relaxation),
        cmocka_unit_test(sampled_points_within_bounds_negative_slope_relaxations),
        cmocka_unit_test(sampled_points_within_bounds_one_hidden_layer_crown_quad),
        cmocka_unit_test(checker_rejects_bound_tightened_past_a_sample),
        cmocka_unit_test(sampled_points_within_bounds_zoo_models),
        cmocka_unit_test(rounding_budget_covers_cancelling_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
