/* Batches of regions (bound_batch_run): on chains of every activation, a batch of
 * boxes of very different widths gets the bounds each state gets alone, up to
 * rounding (1e-12 relative), and no sampled point of any box leaves its box's layer bounds or
 * falls below a spec row's lower bound (no tolerance there: the bounds carry
 * their own allowance); chunks of two rows change nothing beyond rounding; what
 * a batch cannot bound is refused with a message. */
#include "test_bound_models.h"

#define N_BOX 7
#define N_ROWS 3
#define N_SAMPLES (TEST_UNDER_SANITIZER ? 20 : 60)

typedef struct {
    double lo[128], hi[128], mid[128];
    bound_region R;
} box;

/* Box k of n inputs: widths from 1e-6 to 1, so some boxes have every neuron
 * stable and others many unstable. */
static void make_box(test_rng *rng, size_t n, int k, box *b)
{
    double w = pow(10.0, -6.0 + 6.0 * k / (N_BOX - 1));
    double half = 0;
    for (size_t j = 0; j < n; j++) {
        double c = test_rng_range(rng, -1, 1), h = w * test_rng_range(rng, 0.2, 1.0);
        b->lo[j] = c - h, b->hi[j] = c + h, b->mid[j] = c;
        half = fmax(half, h);
    }
    b->R = (bound_region){.center = b->mid, .eps = half, .norm = NORM_INF, .clip = 1, .clip_lo_v = b->lo,
                          .clip_hi_v = b->hi};
}

/* Batch and single state do the same arithmetic in other GEMM shapes: the worst
 * difference measured here is 3.8e-14 of (1 + |a| + |b|) (2026-12-07); 1e-12
 * leaves room for other BLAS kernels and still catches a wrong term. */
static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * (1 + fabs(a) + fabs(b)); }

/* Batch and single states on N_BOX boxes of m under o; returns the number of
 * unstable neurons the batch saw (the test must exercise relaxations). */
static size_t check_model(const nn_model *m, const bound_options *o, test_rng *rng, size_t max_bytes,
                          size_t *tighter)
{
    nn_error err;
    size_t n = model_input_size(m), ny = model_output_size(m), unstable = 0;
    assert_true(n <= 128);
    box bx[N_BOX];
    bound_state bs[N_BOX], ss[N_BOX];
    bound_state *ptr[N_BOX];
    double C[N_ROWS * 16], lower[N_BOX * N_ROWS], ref_l[N_ROWS], ref_u[N_ROWS];
    assert_true(ny <= 16);
    for (size_t k = 0; k < N_ROWS * ny; k++) C[k] = test_rng_range(rng, -1, 1);
    for (int k = 0; k < N_BOX; k++) {
        make_box(rng, n, k, &bx[k]);
        assert_int_equal(bound_state_init(&bs[k], m, o, &err), NN_OK);
        bs[k].outputs_unused = 1;
        assert_int_equal(bound_set_region(&bs[k], &bx[k].R, &err), NN_OK);
        assert_true(bound_batch_supported(m, o));
        ptr[k] = &bs[k];
    }
    bound_batch b;
    bound_batch_init(&b);
    b.max_bytes = max_bytes;
    if (bound_batch_run(&b, ptr, N_BOX, C, N_ROWS, ny, lower, &err)) fail_msg("bound_batch_run: %s", err.msg);
    /* twice: scratch kept from the first call changes nothing */
    double again[N_BOX * N_ROWS];
    if (bound_batch_run(&b, ptr, N_BOX, C, N_ROWS, ny, again, &err)) fail_msg("bound_batch_run: %s", err.msg);
    assert_memory_equal(lower, again, sizeof lower);
    bound_batch_free(&b);
    double *X = malloc(N_SAMPLES * n * sizeof *X);
    assert_non_null(X);
    for (int k = 0; k < N_BOX; k++) {
        /* the single state's bounds, up to rounding (in double: a batch runs in
         * double, and float passes are looser by their rounding budget) */
        bound_options od = *o;
        od.single = 0;
        assert_int_equal(bound_state_init(&ss[k], m, &od, &err), NN_OK);
        ss[k].outputs_unused = 1;
        assert_int_equal(bound_set_region(&ss[k], &bx[k].R, &err), NN_OK);
        assert_int_equal(bound_compute(&ss[k], &err), NN_OK);
        assert_int_equal(bound_spec(&ss[k], C, N_ROWS, ny, NULL, ref_l, ref_u, &err), NN_OK);
        for (int i = 0; i < m->n_layers; i++) {
            if (!bs[k].pre_lower[i]) continue;
            for (size_t r = 0; r < shape_size(m->layers[i].in); r++) {
                double l = bs[k].pre_lower[i][r], u = bs[k].pre_upper[i][r];
                if (!close_to(l, ss[k].pre_lower[i][r]) || !close_to(u, ss[k].pre_upper[i][r]))
                    fail_msg("box %d layer %d neuron %zu: batch [%.17g, %.17g], alone [%.17g, %.17g]", k, i, r, l, u,
                             ss[k].pre_lower[i][r], ss[k].pre_upper[i][r]);
                unstable += l < 0 && u > 0;
            }
        }
        for (int r = 0; r < N_ROWS; r++)
            if (!close_to(lower[k * N_ROWS + r], ref_l[r]))
                fail_msg("box %d spec row %d: batch %.17g, alone %.17g", k, r, lower[k * N_ROWS + r], ref_l[r]);
        if (tighter) { /* FROWN: rows its lines tightened beyond CROWN's */
            bound_state cs;
            bound_options oc = od;
            oc.method = METHOD_CROWN;
            double crown_l[N_ROWS];
            assert_int_equal(bound_state_init(&cs, m, &oc, &err), NN_OK);
            cs.outputs_unused = 1;
            assert_int_equal(bound_set_region(&cs, &bx[k].R, &err), NN_OK);
            assert_int_equal(bound_compute(&cs, &err), NN_OK);
            assert_int_equal(bound_spec(&cs, C, N_ROWS, ny, NULL, crown_l, NULL, &err), NN_OK);
            for (int r = 0; r < N_ROWS; r++) {
                if (lower[k * N_ROWS + r] < crown_l[r] - 1e-12 * (1 + fabs(crown_l[r])))
                    fail_msg("box %d spec row %d: FROWN batch %.17g below CROWN %.17g", k, r, lower[k * N_ROWS + r],
                             crown_l[r]);
                *tighter += lower[k * N_ROWS + r] > crown_l[r] + 1e-9 * (1 + fabs(crown_l[r]));
            }
            bound_state_free(&cs);
        }
        /* sampled points: corners, then interiors */
        for (int s = 0; s < N_SAMPLES; s++)
            for (size_t j = 0; j < n; j++) {
                double t = s < N_SAMPLES / 2 ? (test_rng_uniform(rng) < 0.5 ? 0.0 : 1.0) : test_rng_uniform(rng);
                X[s * n + j] = bx[k].lo[j] + t * (bx[k].hi[j] - bx[k].lo[j]);
                if (X[s * n + j] > bx[k].hi[j]) X[s * n + j] = bx[k].hi[j];
            }
        double **acts = NULL;
        assert_int_equal(forward_trace(m, X, N_SAMPLES, &acts, &err), NN_OK);
        for (int i = 0; i < m->n_layers; i++) {
            if (!bs[k].pre_lower[i]) continue;
            size_t ni = shape_size(m->layers[i].in);
            const double *in = i == 0 ? X : acts[i - 1];
            for (int s = 0; s < N_SAMPLES; s++)
                for (size_t r = 0; r < ni; r++) {
                    double v = in[s * ni + r];
                    if (v < bs[k].pre_lower[i][r] || v > bs[k].pre_upper[i][r])
                        fail_msg("box %d layer %d neuron %zu sample %d: %.17g not in [%.17g, %.17g]", k, i, r, s, v,
                                 bs[k].pre_lower[i][r], bs[k].pre_upper[i][r]);
                }
        }
        const double *out = acts[m->n_layers - 1];
        for (int s = 0; s < N_SAMPLES; s++)
            for (int r = 0; r < N_ROWS; r++) {
                double v = 0;
                for (size_t q = 0; q < ny; q++) v += C[r * ny + q] * out[s * ny + q];
                if (v < lower[k * N_ROWS + r])
                    fail_msg("box %d spec row %d sample %d: %.17g below %.17g", k, r, s, v, lower[k * N_ROWS + r]);
            }
        forward_trace_free(m, acts);
        bound_state_free(&ss[k]);
    }
    free(X);
    for (int k = 0; k < N_BOX; k++) bound_state_free(&bs[k]);
    return unstable;
}

/* normalize -> flatten -> dense 5 -> 40 -> act -> 40 -> act -> 30 -> act -> 4;
 * flattens: also a flatten between each dense layer and its activation */
static void build_wide(nn_model *m, test_rng *rng, layer_type act, int flattens)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){5, 1, 1};
    tb_normalize(m, rng, 5);
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    int sizes[] = {5, 40, 40, 30, 4};
    for (int k = 0; k < 4; k++) {
        tb_dense(m, rng, sizes[k], sizes[k + 1]);
        if (flattens) test_add_layer(m, layer_make(LAYER_FLATTEN));
        if (k < 3) tb_act(m, rng, act, (size_t)sizes[k + 1]);
    }
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static void batch_matches_single_states_and_holds_samples(void **state)
{
    (void)state;
    layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP, LAYER_TANH, LAYER_SIGMOID, LAYER_ARCTAN};
    test_rng rng = {41};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int fam = 0; fam < 3; fam++)
            for (int v = 0; v < 4; v++) {
                nn_model m;
                if (fam == 0) tb_build_mlp(&m, &rng, acts[a]);
                else build_wide(&m, &rng, acts[a], fam == 2);
                bound_options o;
                bound_options_default(&o);
                o.method = v == 1 ? METHOD_FASTLIN : METHOD_CROWN;
                o.intersect_ibp = o.skip_stable = v != 2;
                o.single = v == 3; /* a batch runs in double whatever the option says */
                size_t unstable = check_model(&m, &o, &rng, 0, NULL);
                if (getenv("TB_VERBOSE")) print_message("activation %zu family %d variant %d ok\n", a, fam, v);
                if (unstable == 0) fail_msg("activation %zu family %d variant %d: no unstable neuron", a, fam, v);
                model_free(&m);
            }
}

/* FROWN on the spec rows (bound_frown_spec_batch), and on every layer's rows
 * too (bound_frown_layer_rows_batch) on every other net: each box's problems are
 * one segment of every iteration's GEMMs, with its own lines, region, Adam steps
 * and early stop. Its bounds are a single state's up to rounding, never below
 * CROWN's, above CROWN's on some rows (the optimization ran), and no sample
 * falls below. */
static void frown_batch_matches_single_states(void **state)
{
    (void)state;
    layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP, LAYER_TANH, LAYER_SIGMOID};
    test_rng rng = {53};
    size_t tighter = 0;
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int fam = 0; fam < 3; fam++) {
            nn_model m;
            if (fam == 0) tb_build_mlp(&m, &rng, acts[a]);
            else build_wide(&m, &rng, acts[a], fam == 2);
            bound_options o;
            bound_options_default(&o);
            o.method = METHOD_FROWN;
            o.frown_layers = (a + (size_t)fam) % 2 ? FROWN_LAYERS_ALL : FROWN_LAYERS_SPEC;
            o.frown_iters = 20;
            assert_true(check_model(&m, &o, &rng, 0, &tighter) > 0);
            model_free(&m);
        }
    if (getenv("TB_VERBOSE")) print_message("FROWN tightened %zu spec rows\n", tighter);
    assert_true(tighter > 0);
}


/* Branch and bound's ReLU phases in a batch: states on one box, each a sub-domain
 * of it (split constraints on unstable neurons, the root's bounds as its prior,
 * the layers below its first split kept), one state proven empty by its splits
 * and one without a sub-domain. Each gets the bounds and the spec rows' points a
 * single state gets (bounds up to close_to's rounding; points the same bits: a
 * point's coordinate moves only where a coefficient is within rounding of zero,
 * which these random nets never give), the empty one is found empty with +inf
 * rows and leaves the others unchanged, and no sampled point that satisfies a
 * state's splits leaves its bounds. CROWN, Fast-Lin, and FROWN with its lines
 * for every layer and its split multipliers (every layer's optimization and the
 * spec rows' batched over the states). */
#define N_SUB 7
#define N_SUB_SAMPLES (TEST_UNDER_SANITIZER ? 200 : 1000)

static int satisfies_splits(const nn_model *m, signed char *const *phase, const double *x, double *const *acts,
                            size_t s)
{
    for (int i = 0; i < m->n_layers; i++) {
        if (!phase[i]) continue;
        size_t ni = shape_size(m->layers[i].in);
        const double *in = i == 0 ? x : acts[i - 1] + s * ni;
        for (size_t r = 0; r < ni; r++)
            if ((phase[i][r] > 0 && in[r] < 0) || (phase[i][r] < 0 && in[r] > 0)) return 0;
    }
    return 1;
}

/* A single CROWN state's bounds of sub-domain sub (spec rows into crown_l): the
 * count of layer and spec bounds the FROWN state fs has strictly tighter. */
static size_t frown_gain(const nn_model *m, const box *bx, const bound_subdomain *sub, const bound_state *fs,
                         const double *C, const double *fl)
{
    nn_error err;
    bound_options o;
    bound_options_default(&o);
    bound_state cs;
    size_t ny = model_output_size(m), gain = 0;
    double crown_l[N_ROWS];
    assert_int_equal(bound_state_init(&cs, m, &o, &err), NN_OK);
    cs.outputs_unused = 1;
    assert_int_equal(bound_set_region(&cs, &bx->R, &err), NN_OK);
    cs.sub = (bound_subdomain *)sub;
    assert_int_equal(bound_compute(&cs, &err), NN_OK);
    assert_false(cs.infeasible);
    assert_int_equal(bound_spec(&cs, C, N_ROWS, ny, NULL, crown_l, NULL, &err), NN_OK);
    for (int i = 0; i < m->n_layers; i++)
        for (size_t r = 0; fs->pre_lower[i] && r < shape_size(m->layers[i].in); r++)
            gain += (fs->pre_lower[i][r] > cs.pre_lower[i][r] + 1e-9) + (fs->pre_upper[i][r] < cs.pre_upper[i][r] - 1e-9);
    for (int r = 0; r < N_ROWS; r++) gain += fl[r] > crown_l[r] + 1e-9;
    bound_state_free(&cs);
    return gain;
}

static void check_sub_batch(const nn_model *m, bound_method method, test_rng *rng, size_t *checked, size_t *gain)
{
    nn_error err;
    int nl = m->n_layers;
    size_t n = model_input_size(m), ny = model_output_size(m);
    box bx;
    make_box(rng, n, 5, &bx);
    bound_options o;
    bound_options_default(&o);
    o.method = method;
    o.frown_iters = 20; /* FROWN's layers auto: all of them, as in ReLU-phase searches */
    double C[N_ROWS * 16];
    for (size_t k = 0; k < N_ROWS * ny; k++) C[k] = test_rng_range(rng, -1, 1);
    /* the root: its bounds are every sub-domain's prior */
    bound_state root;
    assert_int_equal(bound_state_init(&root, m, &o, &err), NN_OK);
    root.outputs_unused = 1;
    assert_int_equal(bound_set_region(&root, &bx.R, &err), NN_OK);
    assert_int_equal(bound_compute(&root, &err), NN_OK);
    bound_state bs[N_SUB], ss[N_SUB], *ptr[N_SUB];
    bound_subdomain sub[N_SUB];
    signed char *phase[N_SUB][16];
    double points[N_SUB][N_ROWS * 128], ref_points[N_ROWS * 128];
    assert_true(nl <= 16 && n <= 128 && ny <= 16);
    int empty = N_SUB - 2, plain = N_SUB - 1, kept_some = 0, first_nl = 0;
    while (!layer_is_nonlinear(m->layers[first_nl].type)) first_nl++;
    for (int k = 0; k < N_SUB; k++) {
        sub[k] = (bound_subdomain){.phase = phase[k], .prior_lower = root.pre_lower, .prior_upper = root.pre_upper,
                                   .keep_below = nl};
        for (int i = 0; i < nl; i++) {
            phase[k][i] = root.pre_lower[i] ? calloc(shape_size(m->layers[i].in), 1) : NULL;
            if (!root.pre_lower[i]) continue;
            size_t ni = shape_size(m->layers[i].in);
            for (size_t r = 0; r < ni; r++) {
                double l = root.pre_lower[i][r], u = root.pre_upper[i][r];
                if (k == empty && u < 0 && sub[k].keep_below == nl) /* active where z < 0 everywhere */
                    phase[k][i][r] = 1, sub[k].keep_below = i;
                else if (k < empty && l < 0 && u > 0 && test_rng_uniform(rng) < 0.08) {
                    phase[k][i][r] = test_rng_uniform(rng) < 0.5 ? 1 : -1;
                    if (i < sub[k].keep_below) sub[k].keep_below = i;
                }
            }
        }
        kept_some |= k < empty && sub[k].keep_below > first_nl;
        assert_int_equal(bound_state_init(&bs[k], m, &o, &err), NN_OK);
        bs[k].outputs_unused = 1;
        bs[k].spec_points = points[k];
        assert_int_equal(bound_set_region(&bs[k], &bx.R, &err), NN_OK);
        bs[k].sub = k == plain ? NULL : &sub[k];
        ptr[k] = &bs[k];
    }
    assert_true(sub[empty].keep_below < nl); /* a neuron IBP proves inactive was found */
    bound_batch b;
    bound_batch_init(&b);
    double lower[N_SUB * N_ROWS], ref_l[N_ROWS];
    if (bound_batch_run(&b, ptr, N_SUB, C, N_ROWS, ny, lower, &err)) fail_msg("bound_batch_run: %s", err.msg);
    bound_batch_free(&b);
    assert_true(bs[empty].infeasible);
    for (int r = 0; r < N_ROWS; r++) assert_true(lower[empty * N_ROWS + r] == INFINITY);
    double *X = malloc(N_SUB_SAMPLES * n * sizeof *X);
    assert_non_null(X);
    for (int k = 0; k < N_SUB; k++) {
        assert_int_equal(bound_state_init(&ss[k], m, &o, &err), NN_OK);
        ss[k].outputs_unused = 1;
        ss[k].spec_points = ref_points;
        assert_int_equal(bound_set_region(&ss[k], &bx.R, &err), NN_OK);
        ss[k].sub = bs[k].sub;
        assert_int_equal(bound_compute(&ss[k], &err), NN_OK);
        assert_int_equal(ss[k].infeasible, bs[k].infeasible);
        if (ss[k].infeasible) {
            bound_state_free(&ss[k]);
            continue;
        }
        assert_int_equal(bound_spec(&ss[k], C, N_ROWS, ny, NULL, ref_l, NULL, &err), NN_OK);
        for (int i = 0; i < nl; i++) {
            if (!bs[k].pre_lower[i]) continue;
            for (size_t r = 0; r < shape_size(m->layers[i].in); r++)
                if (!close_to(bs[k].pre_lower[i][r], ss[k].pre_lower[i][r]) ||
                    !close_to(bs[k].pre_upper[i][r], ss[k].pre_upper[i][r]))
                    fail_msg("state %d layer %d neuron %zu: batch [%.17g, %.17g], alone [%.17g, %.17g]", k, i, r,
                             bs[k].pre_lower[i][r], bs[k].pre_upper[i][r], ss[k].pre_lower[i][r],
                             ss[k].pre_upper[i][r]);
        }
        for (int r = 0; r < N_ROWS; r++)
            if (!close_to(lower[k * N_ROWS + r], ref_l[r]))
                fail_msg("state %d spec row %d: batch %.17g, alone %.17g", k, r, lower[k * N_ROWS + r], ref_l[r]);
        assert_memory_equal(points[k], ref_points, N_ROWS * n * sizeof *ref_points);
        /* the same rows passed: none for kept layers or rows the parent settles */
        assert_int_equal(bs[k].backward_rows, ss[k].backward_rows);
        if (method == METHOD_FROWN) *gain += frown_gain(m, &bx, bs[k].sub, &bs[k], C, lower + k * N_ROWS);
        /* samples of the box that satisfy the state's splits */
        for (int s = 0; s < N_SUB_SAMPLES; s++)
            for (size_t j = 0; j < n; j++)
                X[s * n + j] = fmin(bx.hi[j], bx.lo[j] + test_rng_uniform(rng) * (bx.hi[j] - bx.lo[j]));
        double **acts = NULL;
        assert_int_equal(forward_trace(m, X, N_SUB_SAMPLES, &acts, &err), NN_OK);
        for (int s = 0; s < N_SUB_SAMPLES; s++) {
            if (bs[k].sub && !satisfies_splits(m, phase[k], X + s * n, acts, s)) continue;
            (*checked)++;
            for (int i = 0; i < nl; i++) {
                if (!bs[k].pre_lower[i]) continue;
                size_t ni = shape_size(m->layers[i].in);
                const double *in = i == 0 ? X + s * n : acts[i - 1] + s * ni;
                for (size_t r = 0; r < ni; r++)
                    if (in[r] < bs[k].pre_lower[i][r] || in[r] > bs[k].pre_upper[i][r])
                        fail_msg("state %d layer %d neuron %zu sample %d: %.17g not in [%.17g, %.17g]", k, i, r, s,
                                 in[r], bs[k].pre_lower[i][r], bs[k].pre_upper[i][r]);
            }
            const double *out = acts[nl - 1] + s * ny;
            for (int r = 0; r < N_ROWS; r++) {
                double v = 0;
                for (size_t q = 0; q < ny; q++) v += C[r * ny + q] * out[q];
                if (v < lower[k * N_ROWS + r])
                    fail_msg("state %d spec row %d sample %d: %.17g below %.17g", k, r, s, v, lower[k * N_ROWS + r]);
            }
        }
        forward_trace_free(m, acts);
        bound_state_free(&ss[k]);
    }
    assert_true(kept_some);
    free(X);
    for (int k = 0; k < N_SUB; k++) {
        bound_state_free(&bs[k]);
        for (int i = 0; i < nl; i++) free(phase[k][i]);
    }
    bound_state_free(&root);
}

static void sub_domains_match_single_states(void **state)
{
    (void)state;
    test_rng rng = {59};
    size_t checked = 0, gain = 0;
    for (int v = 0; v < 12; v++) {
        nn_model m;
        if (v % 2 == 0) build_wide(&m, &rng, v % 4 == 0 ? LAYER_RELU : LAYER_LEAKY_RELU, v % 8 >= 4);
        else tb_build_mlp(&m, &rng, v % 4 == 1 ? LAYER_RELU : LAYER_LEAKY_RELU);
        check_sub_batch(&m, v >= 8 ? METHOD_FROWN : v >= 4 ? METHOD_FASTLIN : METHOD_CROWN, &rng, &checked,
                        &gain);
        model_free(&m);
    }
    if (getenv("TB_VERBOSE"))
        print_message("%zu samples satisfied their splits; FROWN tightened %zu bounds\n", checked, gain);
    assert_true(gain > 0); /* FROWN's optimization ran in the batch: 261 bounds measured */
    /* a floor, not a fit: 57,061 measured on the twelve nets with 1,000
     * samples per state (the sanitizer's 200 give about a fifth); 50 for each
     * of eight nets only fails a sampler whose points never satisfy the splits */
    assert_true(checked >= 8 * 50);
}

/* One hidden layer (the specification's pass is the only batched one), and a net
 * ending in an activation (the specification's rows start on it). */
static void batch_edge_chains(void **state)
{
    (void)state;
    test_rng rng = {49};
    nn_model m;
    tb_build_one_hidden(&m, &rng, 4, 30, 3);
    bound_options o;
    bound_options_default(&o);
    assert_true(check_model(&m, &o, &rng, 0, NULL) > 0);
    model_free(&m);
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){4, 1, 1};
    tb_dense(&m, &rng, 4, 30);
    tb_act(&m, &rng, LAYER_RELU, 30);
    tb_dense(&m, &rng, 30, 20);
    tb_act(&m, &rng, LAYER_TANH, 20);
    tb_dense(&m, &rng, 20, 5);
    tb_act(&m, &rng, LAYER_SIGMOID, 5);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    assert_true(check_model(&m, &o, &rng, 0, NULL) > 0);
    model_free(&m);
}

/* Two rows per chunk: every run of a state's rows is cut somewhere. */
static void chunks_of_two_rows_agree(void **state)
{
    (void)state;
    test_rng rng = {43};
    nn_model m;
    build_wide(&m, &rng, LAYER_RELU, 0);
    bound_options o;
    bound_options_default(&o);
    assert_true(check_model(&m, &o, &rng, 2 * sizeof(double) * 40 * 2, NULL) > 0);
    model_free(&m);
}

/* The zoo's ACAS Xu-like nets, when present. */
static void batch_on_zoo_chains(void **state)
{
    (void)state;
    const char *names[] = {"models/acas/acasxu_like_2x12.h5", "models/acas/acasxu_like_3x25.h5",
                           "models/acas/acasxu_like_6x50.h5"};
    test_rng rng = {47};
    int found = 0;
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        nn_model m;
        if (!tb_load_zoo(names[f], &m)) continue;
        found++;
        bound_options o;
        bound_options_default(&o);
        assert_true(check_model(&m, &o, &rng, 0, NULL) > 0);
        model_free(&m);
    }
    if (!found) skip();
}

static void refuses_what_it_cannot_bound(void **state)
{
    (void)state;
    nn_error err;
    test_rng rng = {45};
    nn_model cnn, mlp;
    tb_build_cnn(&cnn, &rng, LAYER_RELU);
    tb_build_mlp(&mlp, &rng, LAYER_RELU);
    bound_options o;
    bound_options_default(&o);
    box bx;
    make_box(&rng, model_input_size(&cnn), 3, &bx);
    bound_state st[2];
    bound_state *ptr[2] = {&st[0], &st[1]};
    assert_int_equal(bound_state_init(&st[0], &cnn, &o, &err), NN_OK);
    st[0].outputs_unused = 1;
    assert_int_equal(bound_set_region(&st[0], &bx.R, &err), NN_OK);
    assert_false(bound_batch_supported(&cnn, &o)); /* conv layers: windowed rows are cheaper */
    bound_batch b;
    bound_batch_init(&b);
    double C[3] = {1, -1, 0}, lower[2];
    assert_int_equal(bound_batch_run(&b, ptr, 1, C, 1, 3, lower, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "state 0"));
    bound_state_free(&st[0]);
    /* FROWN whatever its layers, but not a residual graph; a state without a region */
    o.method = METHOD_FROWN;
    for (frown_scope f = FROWN_LAYERS_AUTO; f <= FROWN_LAYERS_SPEC; f++) {
        o.frown_layers = f;
        assert_true(bound_batch_supported(&mlp, &o));
    }
    o.method = METHOD_CROWN;
    nn_model res;
    tb_build_dense_res(&res, &rng, LAYER_RELU);
    assert_false(bound_batch_supported(&res, &o));
    model_free(&res);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(bound_state_init(&st[k], &mlp, &o, &err), NN_OK);
        st[k].outputs_unused = 1;
    }
    make_box(&rng, model_input_size(&mlp), 3, &bx);
    assert_int_equal(bound_set_region(&st[0], &bx.R, &err), NN_OK);
    assert_int_equal(bound_batch_run(&b, ptr, 2, C, 1, 4, lower, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "state 1 has no region"));
    /* a state whose output bounds are wanted (a batch leaves them open) */
    assert_int_equal(bound_set_region(&st[1], &bx.R, &err), NN_OK);
    st[1].outputs_unused = 0;
    assert_int_equal(bound_batch_run(&b, ptr, 2, C, 1, 4, lower, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "state 1 is not one a batch can bound"));
    for (int k = 0; k < 2; k++) bound_state_free(&st[k]);
    bound_batch_free(&b);
    model_free(&cnn);
    model_free(&mlp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_matches_single_states_and_holds_samples),
        cmocka_unit_test(frown_batch_matches_single_states),
        cmocka_unit_test(sub_domains_match_single_states),
        cmocka_unit_test(batch_edge_chains),
        cmocka_unit_test(chunks_of_two_rows_agree),
        cmocka_unit_test(batch_on_zoo_chains),
        cmocka_unit_test(refuses_what_it_cannot_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
