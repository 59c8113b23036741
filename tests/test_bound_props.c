/* Properties of the bound engine that need no sampling: orderings between methods
 * (IBP vs tight CROWN and tight LBP, LBP vs CROWN-LBP, Fast-Lin == CROWN with
 * Fast-Lin lines), monotonicity in eps, bit-identical row ranges, exact
 * first-layer bounds, the spec rows' minimizers, and clear errors. */
#include "test_bound_models.h"

/* White-box: to force the uncached first-block path. */
#include "../src/bound/bound_concretize.h"

static void ibp_bounds_monotone_in_eps(void **state)
{
    (void)state;
    test_rng rng = {21};
    for (size_t a = 0; a < TB_N_ACTS; a++) {
        nn_model m;
        tb_build_cnn(&m, &rng, tb_acts[a]);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_IBP;
        for (int p = 0; p < 3; p++) {
            bound_state s1, s2;
            tb_compute(&m, &o, x0, (norm_type)p, 0.01, 0, &s1);
            tb_compute(&m, &o, x0, (norm_type)p, 0.03, 0, &s2);
            for (int i = 0; i < m.n_layers; i++)
                if (s1.pre_lower[i])
                    for (size_t k = 0; k < shape_size(m.layers[i].in); k++) {
                        assert_true(s2.pre_lower[i][k] <= s1.pre_lower[i][k]);
                        assert_true(s2.pre_upper[i][k] >= s1.pre_upper[i][k]);
                    }
            for (size_t k = 0; k < model_output_size(&m); k++) {
                assert_true(s2.out_lower[k] <= s1.out_lower[k]);
                assert_true(s2.out_upper[k] >= s1.out_upper[k]);
            }
            bound_state_free(&s1);
            bound_state_free(&s2);
        }
        free(x0);
        model_free(&m);
    }
}

/* The paper's ordering holds for piecewise-linear activations with tight lines;
 * the two methods' rounding allowances differ, hence the relative slack. */
static void tight_crown_never_looser_than_ibp(void **state)
{
    (void)state;
    test_rng rng = {22};
    layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU};
    for (int a = 0; a < 2; a++) {
        nn_model m;
        tb_build_mlp(&m, &rng, acts[a]);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        bound_options oi, oc;
        bound_options_default(&oi);
        oi.method = METHOD_IBP;
        bound_options_default(&oc);
        oc.strategy = LINES_TIGHT;
        oc.skip_stable = oc.intersect_ibp = 0;
        for (int p = 0; p < 3; p++) {
            bound_state si, sc;
            tb_compute(&m, &oi, x0, (norm_type)p, p == NORM_INF ? 0.1 : 0.4, 0, &si);
            tb_compute(&m, &oc, x0, (norm_type)p, p == NORM_INF ? 0.1 : 0.4, 0, &sc);
            int strictly = 0;
            for (int i = 0; i < m.n_layers; i++)
                if (si.pre_lower[i])
                    for (size_t k = 0; k < shape_size(m.layers[i].in); k++) {
                        double tol = 1e-9 * (1 + fabs(si.pre_lower[i][k]) + fabs(si.pre_upper[i][k]));
                        assert_true(sc.pre_lower[i][k] >= si.pre_lower[i][k] - tol);
                        assert_true(sc.pre_upper[i][k] <= si.pre_upper[i][k] + tol);
                        strictly += sc.pre_upper[i][k] - sc.pre_lower[i][k] <
                                    si.pre_upper[i][k] - si.pre_lower[i][k] - tol;
                    }
            assert_true(strictly > 0); /* the comparison is not between equal things */
            bound_state_free(&si);
            bound_state_free(&sc);
        }
        free(x0);
        model_free(&m);
    }
}

/* Every pre-activation bound and output bound of b within a's, up to tol relative. */
static int assert_within(const nn_model *m, const bound_state *a, const bound_state *b, double rel)
{
    int strictly = 0;
    for (int i = 0; i <= m->n_layers; i++) {
        const double *al = i < m->n_layers ? a->pre_lower[i] : a->out_lower;
        const double *au = i < m->n_layers ? a->pre_upper[i] : a->out_upper;
        const double *bl = i < m->n_layers ? b->pre_lower[i] : b->out_lower;
        const double *bu = i < m->n_layers ? b->pre_upper[i] : b->out_upper;
        if (!al) continue;
        size_t n = i < m->n_layers ? shape_size(m->layers[i].in) : model_output_size(m);
        for (size_t k = 0; k < n; k++) {
            double tol = rel * (1 + fabs(al[k]) + fabs(au[k]));
            if (!(bl[k] >= al[k] - tol && bu[k] <= au[k] + tol))
                fail_msg("layer %d neuron %zu: [%.17g, %.17g] not within [%.17g, %.17g]", i, k, bl[k], bu[k], al[k],
                         au[k]);
            strictly += bu[k] - bl[k] < au[k] - al[k] - tol;
        }
    }
    return strictly;
}

/* The paper's theorem for LBP (ibp-crown-lbp-paramramp: "CROWN and LBP are
 * always tighter than IBP if they adopt the tight strategy"), with LBP's own
 * bounds (no IBP intersection). By induction over layers it needs lines that
 * touch the activation at the interval's ends (upper line through (u, s(u)),
 * lower through (l, s(l))): true of the tight lines of ReLU, leaky ReLU and
 * ParamRamp, not of S-shaped tangents; and MaxPool planes whose maximum over the
 * box is the max of the upper ends: the interval relaxation, not Ti-Lin's
 * two-input planes. Hence the activations and the pool method here. */
static void tight_lbp_never_looser_than_ibp(void **state)
{
    (void)state;
    test_rng rng = {29};
    layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP};
    for (int fam = 0; fam < 2; fam++)
        for (int a = 0; a < 3; a++) {
            nn_model m;
            tb_build(&m, &rng, fam, acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options oi, ol;
            bound_options_default(&oi);
            oi.method = METHOD_IBP;
            oi.pool = POOL_INTERVAL;
            bound_options_default(&ol);
            ol.method = METHOD_LBP;
            ol.strategy = LINES_TIGHT;
            ol.pool = POOL_INTERVAL;
            ol.intersect_ibp = ol.skip_stable = 0;
            for (int p = 0; p < 3; p++)
                for (int clip = 0; clip < 2; clip++) {
                    double eps = fam ? (p == NORM_INF ? 0.03 : 0.3) : (p == NORM_INF ? 0.1 : 0.4);
                    bound_state si, sl;
                    tb_compute(&m, &oi, x0, (norm_type)p, eps, clip, &si);
                    tb_compute(&m, &ol, x0, (norm_type)p, eps, clip, &sl);
                    assert_true(assert_within(&m, &si, &sl, 1e-9) > 0); /* and not only equal */
                    bound_state_free(&si);
                    bound_state_free(&sl);
                }
            free(x0);
            model_free(&m);
        }
}

/* LBP with fixed lines is monotone in eps: if [l, u] grows, every tight line of
 * ReLU, leaky ReLU and ParamRamp dominates the old one on the old interval (upper
 * above, lower below: the old line is exact there, or a chord of a convex or
 * concave piece that the new line clears at both ends), interval MaxPool planes
 * likewise, and the linear bounds evaluated on the smaller ball then stay inside
 * the new ones; concretizing over a larger ball only widens. Adaptive lines break
 * the first step (a lower slope 1 can turn into 0), so they are not tested. */
static void tight_lbp_bounds_monotone_in_eps(void **state)
{
    (void)state;
    test_rng rng = {30};
    layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_PARAM_RAMP};
    for (int fam = 0; fam < 2; fam++)
        for (int a = 0; a < 3; a++) {
            nn_model m;
            tb_build(&m, &rng, fam, acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o;
            bound_options_default(&o);
            o.method = METHOD_LBP;
            o.strategy = LINES_TIGHT;
            o.pool = POOL_INTERVAL;
            o.intersect_ibp = o.skip_stable = 0;
            for (int p = 0; p < 3; p++) {
                double e0 = p == NORM_INF ? 0.01 : 0.1;
                bound_state s[3];
                for (int k = 0; k < 3; k++) tb_compute(&m, &o, x0, (norm_type)p, e0 * (1 << k), 1, &s[k]);
                /* the rounding allowance (1e-10 of the magnitudes) is not monotone itself */
                int strictly = assert_within(&m, &s[1], &s[0], 1e-9) + assert_within(&m, &s[2], &s[1], 1e-9);
                assert_true(strictly > 0);
                for (int k = 0; k < 3; k++) bound_state_free(&s[k]);
            }
            free(x0);
            model_free(&m);
        }
}

/* CROWN-LBP vs LBP: the same intermediate bounds and the same lines, then the
 * backward pass for the spec. A theorem for any lines and planes (of either
 * slope sign): by induction from the input, the back-substituted lower bound
 * function is >= LBP's c+ L(x) + c- U(x) at every x of the region, because LBP
 * splits each layer by the sign of c_r W_ri per path where the backward pass
 * uses the sign of the sum, and L(x) <= U(x); concretizing keeps the order. */
static void crown_lbp_margin_never_looser_than_lbp(void **state)
{
    (void)state;
    test_rng rng = {31};
    nn_error err;
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = 0; a < TB_N_ACTS; a++) {
            nn_model m;
            tb_build(&m, &rng, fam, tb_acts[a]);
            size_t no = model_output_size(&m);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            double *C = test_rand_vec(&rng, 4 * no, -1, 1), *d = test_rand_vec(&rng, 4, -1, 1);
            double ll[4], lu[4], cl[4], cu[4];
            for (int v = 0; v < 4; v++) {
                bound_options ol, oc;
                bound_options_default(&ol);
                ol.method = METHOD_LBP;
                ol.strategy = (line_strategy)(v % 3);
                ol.intersect_ibp = v == 3;
                oc = ol;
                oc.method = METHOD_CROWN_LBP;
                for (int p = 0; p < 3; p++) {
                    double eps = fam ? (p == NORM_INF ? 0.03 : 0.3) : (p == NORM_INF ? 0.08 : 0.4);
                    bound_state sl, sc;
                    tb_compute(&m, &ol, x0, (norm_type)p, eps, p == NORM_2, &sl);
                    tb_compute(&m, &oc, x0, (norm_type)p, eps, p == NORM_2, &sc);
                    for (int i = 0; i < m.n_layers; i++) /* same intermediate bounds */
                        if (sl.pre_lower[i]) {
                            size_t n = shape_size(m.layers[i].in);
                            assert_memory_equal(sl.pre_lower[i], sc.pre_lower[i], n * sizeof(double));
                            assert_memory_equal(sl.pre_upper[i], sc.pre_upper[i], n * sizeof(double));
                        }
                    assert_int_equal(bound_spec(&sl, C, 4, no, d, ll, lu, &err), NN_OK);
                    assert_int_equal(bound_spec(&sc, C, 4, no, d, cl, cu, &err), NN_OK);
                    for (int r = 0; r < 4; r++) {
                        double tol = 1e-9 * (1 + fabs(ll[r]) + fabs(lu[r]));
                        assert_true(cl[r] >= ll[r] - tol);
                        assert_true(cu[r] <= lu[r] + tol);
                    }
                    bound_state_free(&sl);
                    bound_state_free(&sc);
                }
            }
            free(C);
            free(d);
            free(x0);
            model_free(&m);
        }
}

static void check_fastlin_identity(int single)
{
    test_rng rng = {23};
    nn_model m;
    tb_build_cnn(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    bound_options of, oc;
    bound_options_default(&of);
    of.method = METHOD_FASTLIN;
    of.single = single;
    bound_options_default(&oc);
    oc.strategy = LINES_FASTLIN;
    oc.single = single;
    bound_state sf, sc;
    tb_compute(&m, &of, x0, NORM_INF, 0.03, 1, &sf);
    tb_compute(&m, &oc, x0, NORM_INF, 0.03, 1, &sc);
    for (int i = 0; i < m.n_layers; i++)
        if (sf.pre_lower[i]) {
            size_t n = shape_size(m.layers[i].in);
            assert_memory_equal(sf.pre_lower[i], sc.pre_lower[i], n * sizeof(double));
            assert_memory_equal(sf.pre_upper[i], sc.pre_upper[i], n * sizeof(double));
        }
    assert_memory_equal(sf.out_lower, sc.out_lower, model_output_size(&m) * sizeof(double));
    /* and the adaptive lines give different numbers, so the check can fail */
    bound_state sa;
    bound_options_default(&oc);
    oc.single = single;
    tb_compute(&m, &oc, x0, NORM_INF, 0.03, 1, &sa);
    assert_memory_not_equal(sf.out_lower, sa.out_lower, model_output_size(&m) * sizeof(double));
    bound_state_free(&sf);
    bound_state_free(&sc);
    bound_state_free(&sa);
    free(x0);
    model_free(&m);
}

/* Fast-Lin is CROWN with lower slope u/(u-l), in either precision. */
static void fastlin_method_equals_crown_with_fastlin_lines(void **state)
{
    (void)state;
    for (int single = 0; single < 2; single++) check_fastlin_identity(single);
}

/* A second state that computes every layer one row at a time (then in odd,
 * unaligned ranges) and commits: the numbers are the full computation's, bit for bit. */
static void check_row_ranges(const nn_model *m, const bound_options *o, const double *x0, norm_type p, double eps)
{
    nn_error err;
    bound_state full, part;
    tb_compute(m, o, x0, p, eps, 1, &full);
    bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = 1, .clip_lo = 0, .clip_hi = 1};
    assert_int_equal(bound_state_init(&part, m, o, &err), NN_OK);
    assert_int_equal(bound_set_region(&part, &R, &err), NN_OK);
    for (int i = 0; i < m->n_layers; i++) {
        if (!layer_is_nonlinear(m->layers[i].type)) continue;
        size_t n = shape_size(m->layers[i].in);
        double *l = malloc(n * sizeof *l), *u = malloc(n * sizeof *u);
        assert_non_null(l);
        assert_non_null(u);
        for (size_t r = 0; r < n; r++) assert_int_equal(bound_layer_rows(&part, i, r, r + 1, l + r, u + r, &err), NN_OK);
        assert_memory_equal(l, full.pre_lower[i], n * sizeof *l);
        assert_memory_equal(u, full.pre_upper[i], n * sizeof *u);
        for (size_t lo = 0; lo < n; lo += 7) {
            size_t hi = lo + 7 < n ? lo + 7 : n;
            assert_int_equal(bound_layer_rows(&part, i, lo, hi, l + lo, u + lo, &err), NN_OK);
        }
        assert_memory_equal(l, full.pre_lower[i], n * sizeof *l);
        assert_memory_equal(u, full.pre_upper[i], n * sizeof *u);
        assert_int_equal(bound_layer_commit(&part, i, l, u, &err), NN_OK);
        free(l);
        free(u);
    }
    assert_int_equal(part.layers_done, m->n_layers);
    bound_state_free(&full);
    bound_state_free(&part);
}

static void layer_rows_bit_identical_to_full_range(void **state)
{
    (void)state;
    test_rng rng = {24};
    for (int fam = 0; fam < 2; fam++) {
        nn_model m;
        if (fam) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_mlp(&m, &rng, LAYER_TANH);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        size_t blocks[] = {0, 4, 5};
        for (int b = 0; b < 3; b++)
            for (int skip = 0; skip < 2; skip++) {
                bound_options o;
                bound_options_default(&o);
                o.row_block = blocks[b];
                o.skip_stable = o.intersect_ibp = skip;
                check_row_ranges(&m, &o, x0, NORM_2, 0.2);
                check_row_ranges(&m, &o, x0, NORM_INF, 0.04);
                o.single = 1; /* float32 backward passes */
                check_row_ranges(&m, &o, x0, NORM_2, 0.2);
                check_row_ranges(&m, &o, x0, NORM_INF, 0.04);
                o.single = 0;
                o.method = b == 1 ? METHOD_CROWN_LBP : METHOD_LBP;
                check_row_ranges(&m, &o, x0, NORM_2, 0.2);
                check_row_ranges(&m, &o, x0, NORM_INF, 0.04);
            }
        free(x0);
        model_free(&m);
    }
}

/* Dense GEMMs give a row bits that depend on how many rows share the GEMM
 * (OpenBLAS's kernels, K and N of 100: measured), so layers whose rows cross a
 * dense layer keep aligned blocks (split unit = row_block) and unaligned
 * ranges still give the whole layer's bits; a layer fed directly by a dense
 * layer over conv-free, dense-free layers below (none here) could be split row
 * by row (bound_rows_block_free). */
static void wide_dense_rows_keep_aligned_blocks(void **state)
{
    (void)state;
    test_rng rng = {77};
    nn_model m;
    model_init(&m);
    m.input = (nn_shape){40, 1, 1};
    tb_dense(&m, &rng, 40, 300);
    tb_act(&m, &rng, LAYER_RELU, 300);
    tb_dense(&m, &rng, 300, 300);
    tb_act(&m, &rng, LAYER_RELU, 300);
    tb_dense(&m, &rng, 300, 300);
    tb_act(&m, &rng, LAYER_RELU, 300);
    tb_dense(&m, &rng, 300, 10);
    nn_error err;
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    double *x0 = test_rand_vec(&rng, 40, 0, 1);
    bound_options o;
    bound_options_default(&o);
    o.row_block = 256;
    bound_state st;
    tb_compute(&m, &o, x0, NORM_INF, 0.1, 0, &st);
    for (int i = 3; i <= 5; i += 2) {
        assert_int_equal(bound_row_split_unit(&st, i), 256);
        assert_false(bound_rows_block_free(&st, i));
        for (size_t lo = 3; lo < 300; lo += 41) {
            double l[40], u[40];
            size_t k = lo + 37 < 300 ? 37 : 300 - lo;
            assert_int_equal(bound_layer_rows(&st, i, lo, lo + k, l, u, &err), NN_OK);
            assert_memory_equal(l, st.pre_lower[i] + lo, k * sizeof *l);
            assert_memory_equal(u, st.pre_upper[i] + lo, k * sizeof *u);
        }
    }
    bound_state_free(&st);
    free(x0);
    model_free(&m);
}

/* l_inf: neuron j of the first layer reaches its upper bound at the corner
 * x0 + eps*sign(W_j) (and its lower at the opposite corner), with clipping at
 * the corner of the clipped box. */
static void first_layer_bounds_exact_at_a_corner(void **state)
{
    (void)state;
    test_rng rng = {25};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    const nn_layer *W = &m.layers[0];
    size_t n = 6, h = (size_t)W->out_channels;
    double *x0 = test_rand_vec(&rng, n, 0, 1), x[6];
    for (int clip = 0; clip < 2; clip++) {
        double eps = 0.3;
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_IBP; /* exact for every method */
        bound_state st;
        tb_compute(&m, &o, x0, NORM_INF, eps, clip, &st);
        for (size_t j = 0; j < h; j++)
            for (int side = 0; side < 2; side++) {
                for (size_t k = 0; k < n; k++) {
                    int up = (W->weight[j * n + k] >= 0) == (side == 1);
                    x[k] = x0[k] + (up ? eps : -eps);
                    if (clip) x[k] = x[k] < 0 ? 0 : x[k] > 1 ? 1 : x[k];
                }
                double z = W->bias[j];
                for (size_t k = 0; k < n; k++) z += W->weight[j * n + k] * x[k];
                double bnd = side ? st.pre_upper[1][j] : st.pre_lower[1][j];
                double gap = side ? bnd - z : z - bnd;
                assert_true(gap >= 0);
                assert_true(gap <= 1e-8 * (1 + fabs(z)));
            }
        bound_state_free(&st);
    }
    /* l2 without clipping: u_j = W_j x0 + b_j + eps ||W_j||_2, attained at x0 + eps W_j/||W_j||. */
    bound_options o;
    bound_options_default(&o);
    bound_state st;
    tb_compute(&m, &o, x0, NORM_2, 0.2, 0, &st);
    for (size_t j = 0; j < h; j++) {
        double nrm = 0, z = W->bias[j];
        for (size_t k = 0; k < n; k++) nrm += W->weight[j * n + k] * W->weight[j * n + k];
        nrm = sqrt(nrm);
        for (size_t k = 0; k < n; k++) z += W->weight[j * n + k] * (x0[k] + 0.2 * W->weight[j * n + k] / nrm);
        assert_true(st.pre_upper[1][j] >= z);
        assert_true(st.pre_upper[1][j] - z <= 1e-8 * (1 + fabs(z)));
    }
    bound_state_free(&st);
    (void)err;
    free(x0);
    model_free(&m);
}

/* A first block that sums in two layers (dense -> dense, no activation between)
 * cancels: 0.1*10 - 1 is 0 in double, 5.55e-17 in exact arithmetic. The first
 * layer's bounds must hold for the exact value (long double: every product of
 * these weights is exact in 64 bits), for every method, also at eps = 0. */
static void first_block_cancellation_is_covered(void **state)
{
    (void)state;
    nn_error err;
    nn_model m;
    model_init(&m);
    m.input = (nn_shape){2, 1, 1};
    double w1[4] = {10, 3, 1, 0.3}, w2[2] = {0.1, -1}, w3[2] = {1, -1}, zero[2] = {0, 0};
    tb_dense_from(&m, 2, 2, w1, zero);
    tb_dense_from(&m, 2, 1, w2, zero);
    tb_act(&m, NULL, LAYER_RELU, 1);
    tb_dense_from(&m, 1, 2, w3, zero);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    double x0[2] = {1, 1};
    bound_method methods[] = {METHOD_IBP, METHOD_CROWN_IBP, METHOD_LBP, METHOD_CROWN_LBP, METHOD_CROWN, METHOD_FROWN};
    for (size_t q = 0; q < sizeof methods / sizeof *methods; q++)
        for (int e = 0; e < 2; e++) {
            double eps = e ? 1e-3 : 0.0;
            bound_options o;
            bound_options_default(&o);
            o.method = methods[q];
            bound_state st;
            tb_compute(&m, &o, x0, NORM_INF, eps, 0, &st);
            for (int corner = 0; corner < 4; corner++) {
                long double x[2] = {(long double)x0[0] + (corner & 1 ? eps : -eps),
                                    (long double)x0[1] + (corner & 2 ? eps : -eps)};
                long double h0 = (long double)w1[0] * x[0] + (long double)w1[1] * x[1];
                long double h1 = (long double)w1[2] * x[0] + (long double)w1[3] * x[1];
                long double z = (long double)w2[0] * h0 + (long double)w2[1] * h1;
                if (!((long double)st.pre_lower[2][0] <= z && z <= (long double)st.pre_upper[2][0]))
                    fail_msg("%s, eps %g: exact %.6Lg outside [%.6g, %.6g]", bound_method_name(methods[q]), eps, z,
                             st.pre_lower[2][0], st.pre_upper[2][0]);
                long double a = z > 0 ? z : 0;
                if (!((long double)st.out_lower[0] <= a && a <= (long double)st.out_upper[0]))
                    fail_msg("%s, eps %g: output %.6Lg outside [%.6g, %.6g]", bound_method_name(methods[q]), eps, a,
                             st.out_lower[0], st.out_upper[0]);
            }
            bound_state_free(&st);
        }
    model_free(&m);
}

/* sigmoid(-745) is 5e-324 in exact arithmetic and 0 or subnormal in double: an
 * allowance relative to the result is 0 there, but the error is not. A weight of
 * 1e300 above makes it 5e-24 at the output, which every method must contain. */
static void underflowing_activation_is_covered(void **state)
{
    (void)state;
    nn_error err;
    nn_model m;
    model_init(&m);
    m.input = (nn_shape){1, 1, 1};
    double w1[1] = {1}, b1[1] = {-745}, w2[2] = {1e300, -1e300}, zero[2] = {0, 0};
    tb_dense_from(&m, 1, 1, w1, b1);
    tb_act(&m, NULL, LAYER_SIGMOID, 1);
    tb_dense_from(&m, 1, 2, w2, zero);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    double x0[1] = {0};
    long double a = expl(-745.0L) / (1 + expl(-745.0L)), y[2] = {1e300L * a, -1e300L * a};
    bound_method methods[] = {METHOD_IBP, METHOD_CROWN_IBP, METHOD_LBP, METHOD_CROWN_LBP, METHOD_CROWN, METHOD_FROWN};
    for (size_t q = 0; q < sizeof methods / sizeof *methods; q++) {
        bound_options o;
        bound_options_default(&o);
        o.method = methods[q];
        bound_state st;
        tb_compute(&m, &o, x0, NORM_INF, 0.0, 0, &st);
        for (int k = 0; k < 2; k++)
            if (!((long double)st.out_lower[k] <= y[k] && y[k] <= (long double)st.out_upper[k]))
                fail_msg("%s: output %d = %.6Lg outside [%.6g, %.6g]", bound_method_name(methods[q]), k, y[k],
                         st.out_lower[k], st.out_upper[k]);
        bound_state_free(&st);
    }
    model_free(&m);
}

/* Clipped l1 and l2 are concretized exactly: the point each returns is in the
 * region (ball and box), attains the bound up to rounding, and no sampled point
 * of the region goes below it. Rows mix sparse, dense, tied and tiny entries;
 * centres sit on the box faces (MNIST-like zeros) and inside. */
static void clipped_l1_l2_bounds_are_exact(void **state)
{
    (void)state;
    test_rng rng = {29};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    size_t n = model_input_size(&m);
    double a[6], x0[6], x[6], y[6];
    for (int trial = 0; trial < 4000; trial++) {
        norm_type p = trial & 1 ? NORM_2 : NORM_1;
        for (size_t j = 0; j < n; j++) {
            int kind = (int)(test_rng_next(&rng) % 5);
            a[j] = kind == 0 ? 0.0 : kind == 1 ? 0.5 : kind == 2 ? -1e-9 : test_rng_range(&rng, -2, 2);
            int face = (int)(test_rng_next(&rng) % 3);
            x0[j] = face == 0 ? 0.0 : face == 1 ? 1.0 : test_rng_range(&rng, 0, 1);
        }
        double eps = test_rng_range(&rng, 0, p == NORM_1 ? 4.0 : 2.0) * (trial % 7 == 0 ? 1e-6 : 1.0);
        bound_options o;
        bound_options_default(&o);
        bound_state st;
        assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
        bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = 1, .clip_lo = 0, .clip_hi = 1};
        assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
        double lo, hi;
        bound_concretize_region(&st, a, 0.0, 0.0, -1.0, &lo, &hi);
        double lo_x = bound_clipped_argmin(&st, a, 0.0, 0.0, x);
        assert_true(lo_x == lo); /* the same bound as bound_concretize_region */
        long double dist = 0, ax = 0, ax0 = 0;
        for (size_t j = 0; j < n; j++) {
            long double d = (long double)x[j] - x0[j];
            dist += p == NORM_1 ? fabsl(d) : d * d;
            ax += (long double)a[j] * x[j];
            ax0 += (long double)a[j] * x0[j];
            assert_true(x[j] >= 0 && x[j] <= 1);
        }
        if (p == NORM_2) dist = sqrtl(dist);
        /* within rounding of the box faces x0 -+ eps (ulps of x0, not of eps) */
        if (!(dist <= (long double)eps * (1 + 1e-12) + 1e-15L * (long double)n))
            fail_msg("trial %d norm %s eps %.17g: the point is at distance %.17Lg", trial, norm_name(p), eps, dist);
        /* attained: the feasible point's value is at most a hair above the bound */
        assert_true((long double)lo <= ax);
        assert_true(ax - (long double)lo <= 1e-9L * (1 + fabsl(ax0) + fabsl(ax0 - (long double)lo)));
        for (int k = 0; k < 200; k++) {
            tb_sample(&rng, &R, n, k % 3, y);
            long double v = 0, dd = 0;
            for (size_t j = 0; j < n; j++) {
                y[j] = y[j] < 0 ? 0 : y[j] > 1 ? 1 : y[j];
                long double d = (long double)y[j] - x0[j];
                dd += p == NORM_1 ? fabsl(d) : d * d;
                v += (long double)a[j] * y[j];
            }
            if (p == NORM_2) dd = sqrtl(dd);
            if (dd > eps) continue; /* the sampler's rounding may leave the ball */
            if (!((long double)lo <= v && v <= (long double)hi))
                fail_msg("trial %d norm %s eps %g: %.17Lg outside [%.17g, %.17g]", trial, norm_name(p), eps, v, lo, hi);
        }
        bound_state_free(&st);
    }
    model_free(&m);
}

/* Margins need only the lower side: bound_spec with upper = NULL gives the same lower. */
static void spec_lower_only_equals_both_sides(void **state)
{
    (void)state;
    test_rng rng = {26};
    nn_error err;
    nn_model m;
    tb_build_cnn(&m, &rng, LAYER_SIGMOID);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    bound_options o;
    bound_options_default(&o);
    bound_state st;
    tb_compute(&m, &o, x0, NORM_INF, 0.03, 0, &st);
    double C[2 * 3] = {1, -1, 0, 0, -1, 1}, l1[2], l2[2], u2[2];
    assert_int_equal(bound_spec(&st, C, 2, 3, NULL, l1, NULL, &err), NN_OK);
    assert_int_equal(bound_spec(&st, C, 2, 3, NULL, l2, u2, &err), NN_OK);
    assert_memory_equal(l1, l2, sizeof l1);
    assert_true(l2[0] <= u2[0] && l2[1] <= u2[1]);
    assert_true(st.backward_rows > 0 && st.flops > 0);
    bound_state_free(&st);
    free(x0);
    model_free(&m);
}

/* outputs_unused skips the outputs' own backward pass: every layer and every
 * spec row keeps its bits (for each method and a residual graph), the outputs
 * are left at -inf/+inf, and fewer rows go backward. */
static void unused_outputs_change_no_bits(void **state)
{
    (void)state;
    test_rng rng = {29};
    nn_error err;
    const bound_method ms[] = {METHOD_CROWN, METHOD_FROWN, METHOD_CROWN_QUAD, METHOD_LBP, METHOD_IBP, METHOD_FASTLIN};
    for (int k = 0; k < 8; k++) {
        nn_model m;
        if (k % 2) tb_build_res(&m, &rng, k / 2 % 2, LAYER_RELU);
        else tb_build_cnn(&m, &rng, k / 2 % 2 ? LAYER_TANH : LAYER_RELU);
        size_t no = model_output_size(&m);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1), C[3 * 16];
        for (size_t q = 0; q < 3 * no; q++) C[q] = (double)(q % (no + 1)) - 1.0;
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            if (ms[mi] == METHOD_CROWN_QUAD && k % 4 != 0) continue; /* needs a ReLU last: the ReLU CNN */
            bound_options o;
            bound_options_default(&o);
            o.method = ms[mi];
            o.frown_iters = 3;
            bound_state a, b;
            tb_compute(&m, &o, x0, (norm_type)(k % 3), 0.04, k % 3 == 1, &a);
            bound_region R = {.center = x0, .eps = 0.04, .norm = (norm_type)(k % 3), .clip = k % 3 == 1,
                              .clip_lo = 0, .clip_hi = 1};
            assert_int_equal(bound_state_init(&b, &m, &o, &err), NN_OK);
            b.outputs_unused = 1;
            assert_int_equal(bound_set_region(&b, &R, &err), NN_OK);
            assert_int_equal(bound_compute(&b, &err), NN_OK);
            tb_assert_same_bounds(&m, &a, &b);
            for (size_t r = 0; r < no; r++) assert_true(b.out_lower[r] == -INFINITY && b.out_upper[r] == INFINITY);
            if (ms[mi] != METHOD_IBP && ms[mi] != METHOD_LBP) assert_true(b.backward_rows < a.backward_rows);
            tb_assert_same_spec(&a, &b, C, 3, no);
            bound_state_free(&a);
            bound_state_free(&b);
        }
        free(x0);
        model_free(&m);
    }
}

/* bound_state.spec_points: each spec row's point lies in the region; where the
 * net is affine on the region (small eps) the row's value there is its lower
 * bound up to rounding (the minimizer, not just some point: the opposite corner
 * is ~eps ||grad||_1 above it); on wider regions it is at least the bound; the
 * bounds keep their bits; methods without a backward spec pass leave the
 * buffer as it was. Chains and graphs, every norm, clipped or not. */
static void spec_points_minimize_the_bound(void **state)
{
    (void)state;
    test_rng rng = {31};
    nn_error err;
    const bound_method ms[] = {METHOD_CROWN, METHOD_FROWN, METHOD_FASTLIN, METHOD_CROWN_IBP, METHOD_CROWN_LBP,
                               METHOD_IBP, METHOD_LBP};
    size_t exact[3][2] = {{0}}; /* rows whose minimizer was checked, per norm and clip */
    for (int k = 0; k < 30; k++) {
        nn_model m;
        int fam = k / 6;
        if (fam == 0) tb_build_mlp(&m, &rng, LAYER_RELU);
        else if (fam == 1) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_res(&m, &rng, fam - 2, LAYER_RELU);
        size_t n = model_input_size(&m), no = model_output_size(&m), rows = 3;
        double *x0 = test_rand_vec(&rng, n, 0.2, 0.8), C[3 * 16], lo[3], lo_ref[3], y[16], y0[16];
        norm_type p = (norm_type)(k % 3);
        int clip = k % 6 >= 3;
        for (size_t j = 0; clip && j < n; j += 3) x0[j] = j % 2 ? 1.0 : 0.0; /* on the clip box's faces */
        double *pts = malloc(rows * n * sizeof *pts);
        assert_non_null(pts);
        for (size_t q = 0; q < rows * no; q++) C[q] = test_rng_range(&rng, -1, 1);
        assert_int_equal(forward_run(&m, x0, 1, y0, &err), NN_OK);
        for (int wide = 0; wide < 2; wide++)
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                bound_options o;
                bound_options_default(&o);
                o.method = ms[mi];
                o.frown_iters = 3;
                double eps = wide ? 0.05 : 1e-4;
                bound_state st;
                tb_compute(&m, &o, x0, p, eps, clip, &st);
                assert_int_equal(bound_spec(&st, C, rows, no, NULL, lo_ref, NULL, &err), NN_OK);
                for (size_t q = 0; q < rows * n; q++) pts[q] = NAN;
                st.spec_points = pts;
                assert_int_equal(bound_spec(&st, C, rows, no, NULL, lo, NULL, &err), NN_OK);
                assert_memory_equal(lo, lo_ref, sizeof lo);
                if (!bound_spec_has_points(o.method)) {
                    for (size_t q = 0; q < rows * n; q++) assert_true(isnan(pts[q]));
                    bound_state_free(&st);
                    continue;
                }
                int affine = !wide && tb_affine_on_region(&m, &st);
                for (size_t r = 0; r < rows; r++) {
                    const double *x = pts + r * n;
                    long double dist = 0;
                    for (size_t j = 0; j < n; j++) {
                        long double d = fabsl((long double)x[j] - x0[j]);
                        dist = p == NORM_INF ? fmaxl(dist, d) : p == NORM_1 ? dist + d : dist + d * d;
                        if (clip) assert_true(x[j] >= 0 && x[j] <= 1);
                    }
                    if (p == NORM_2) dist = sqrtl(dist);
                    if (!(dist <= (long double)eps * (1 + 1e-12) + 1e-15L * (long double)n))
                        fail_msg("net %d %s eps %g: row %zu's point at distance %.17Lg", k, bound_method_name(o.method),
                                 eps, r, dist);
                    assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
                    long double v = 0, v0 = 0, mag = 0;
                    for (size_t q = 0; q < no; q++) {
                        v += (long double)C[r * no + q] * y[q], v0 += (long double)C[r * no + q] * y0[q];
                        mag += fabsl(C[r * no + q] * y[q]);
                    }
                    if (!((long double)lo[r] <= v + 1e-12L * (1 + mag)))
                        fail_msg("net %d %s: row %zu is %.17Lg at its point, below its bound %.17g", k,
                                 bound_method_name(o.method), r, v, lo[r]);
                    /* a row constant on the region (a dead last layer) cannot tell its minimizer.
                     * Measured (2026-12-07): the kept rows' gaps reach 6.3e-10 of 1 + mag (the
                     * allowance and budget), their distance from the centre's value at least
                     * 2.8e-6, about half what a wrong corner adds; 1e-7 lies between */
                    if (affine && fabsl(v0 - v) > 1e-6L * (1 + mag)) {
                        if (!(v - (long double)lo[r] <= 1e-7L * (1 + mag)))
                            fail_msg("net %d %s eps %g: row %zu is %.17Lg at its point, bound %.17g: not the minimizer",
                                     k, bound_method_name(o.method), eps, r, v, lo[r]);
                        exact[p][clip]++;
                    }
                }
                bound_state_free(&st);
            }
        free(pts);
        free(x0);
        model_free(&m);
    }
    /* 45-75 rows per norm and clipping on these nets: 20 is a floor, not a fit */
    for (int q = 0; q < 3; q++)
        for (int c = 0; c < 2; c++)
            if (exact[q][c] < 20)
                fail_msg("norm %s clip %d: only %zu rows were checked for their minimizer", norm_name((norm_type)q), c,
                         exact[q][c]);
}

static void bad_regions_and_calls_give_clear_errors(void **state)
{
    (void)state;
    test_rng rng = {27};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double x0[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    bound_state st;
    bound_options o;
    bound_options_default(&o);
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    bound_region R = {.center = x0, .eps = NAN, .norm = NORM_INF};
    assert_int_equal(bound_set_region(&st, &R, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "eps"));
    assert_int_equal(bound_compute(&st, &err), NN_EARG); /* no region */
    R.eps = 0.1;
    R.norm = (norm_type)7;
    assert_int_equal(bound_set_region(&st, &R, &err), NN_EARG);
    R.norm = NORM_2;
    R.clip = 1;
    R.clip_lo = 0.6;
    R.clip_hi = 1.0;
    assert_int_equal(bound_set_region(&st, &R, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "centre[0]"));
    R.clip = 0;
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    double l[16], u[16];
    assert_int_equal(bound_layer_rows(&st, 3, 0, 10, l, u, &err), NN_EARG); /* layer 1 not committed */
    assert_int_equal(bound_layer_rows(&st, 2, 0, 1, l, u, &err), NN_EARG);  /* not nonlinear */
    assert_int_equal(bound_layer_rows(&st, 1, 5, 13, l, u, &err), NN_EARG); /* past the layer */
    double C[4] = {1, 0, 0, 0};
    assert_int_equal(bound_spec(&st, C, 1, 4, NULL, l, u, &err), NN_EARG);  /* not computed */
    assert_int_equal(bound_layer_rows(&st, 1, 0, 12, l, u, &err), NN_OK);
    l[0] = u[0] + 1;
    assert_int_equal(bound_layer_commit(&st, 1, l, u, &err), NN_EVALUE);
    bound_state_free(&st);
    o.method = METHOD_LBP; /* the same order rules hold for the forward method */
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    assert_int_equal(bound_layer_rows(&st, 3, 0, 10, l, u, &err), NN_EARG);
    assert_int_equal(bound_spec(&st, C, 1, 4, NULL, l, u, &err), NN_EARG);
    assert_int_equal(bound_compute(&st, &err), NN_OK);
    assert_int_equal(bound_spec(&st, C, 1, 4, NULL, l, u, &err), NN_OK);
    bound_state_free(&st);
    assert_int_equal(bound_method_parse("crown_ibp"), METHOD_CROWN_IBP);
    assert_int_equal(bound_method_parse("crown-lbp"), METHOD_CROWN_LBP);
    assert_int_equal(bound_method_parse("crow"), -1);
    assert_int_equal(norm_parse("2"), NORM_2);
    assert_int_equal(norm_parse("3"), -1);
    model_free(&m);
}

/* The first affine block is cached when small; the path used for large first
 * layers (aligned blocks through the kernel each time) gives the same bits. */
static void first_block_uncached_path_matches_cache(void **state)
{
    (void)state;
    test_rng rng = {28};
    nn_error err;
    nn_model m;
    tb_build_cnn(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    for (int p = 0; p < 3; p++) {
        bound_options o;
        bound_options_default(&o);
        o.row_block = 5;
        bound_state a, b;
        tb_compute(&m, &o, x0, (norm_type)p, 0.05, p == NORM_1, &a);
        bound_region R = {.center = x0, .eps = 0.05, .norm = (norm_type)p, .clip = p == NORM_1, .clip_lo = 0,
                          .clip_hi = 1};
        assert_int_equal(bound_state_init(&b, &m, &o, &err), NN_OK);
        ((bound_work *)b.work)->fb_state = -1;
        assert_int_equal(bound_set_region(&b, &R, &err), NN_OK);
        assert_int_equal(bound_compute(&b, &err), NN_OK);
        assert_null(((bound_work *)b.work)->fb_A);
        int f = ((bound_work *)a.work)->first_nl;
        size_t n = shape_size(m.layers[f].in);
        assert_memory_equal(a.pre_lower[f], b.pre_lower[f], n * sizeof(double));
        assert_memory_equal(a.pre_upper[f], b.pre_upper[f], n * sizeof(double));
        double l[7], u[7];
        assert_int_equal(bound_layer_rows(&b, f, 3, 10, l, u, &err), NN_OK);
        assert_memory_equal(l, a.pre_lower[f] + 3, sizeof l);
        assert_memory_equal(u, a.pre_upper[f] + 3, sizeof u);
        assert_memory_equal(a.out_lower, b.out_lower, model_output_size(&m) * sizeof(double));
        bound_state_free(&a);
        bound_state_free(&b);
    }
    free(x0);
    model_free(&m);
}

/* Activation steps four rows at a time (act_rows4, where the CPU has AVX2) give
 * every row the bits one row at a time gives: MLPs, CNNs and residual graphs,
 * ReLU and smooth lines, both precisions, with stable neurons skipped (zero
 * columns) and not, bounds of every layer and of the margin rows. The same
 * switch (bound_work.rows4) runs the concretization's eight lanes in two AVX2
 * vectors or as scalars on models without spatial layers (bound_concretize.c):
 * the 37-input MLP compares both on boxes (clipped) and balls (unclipped). */
/* normalize -> conv 5@3x3 -> act -> maxpool 2x2 stride 1 -> conv 6@3x3 -> act ->
 * flatten -> dense 3: the second activation's rows are windowed through the
 * first, six channels to a cell, so four of one cell share a vector. */
static void build_wide_cells(nn_model *m, test_rng *rng, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){2, 8, 8};
    tb_normalize(m, rng, 2);
    tb_conv_pad(m, rng, 2, 5, 3, 1, 0.5);
    tb_act(m, rng, act, 5 * 64);
    tb_pool(m, LAYER_MAXPOOL2D, 2, 1, 0); /* 5x7x7 */
    tb_conv_pad(m, rng, 5, 6, 3, 1, 0.3);
    tb_act(m, rng, act, 6 * 49);
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 6 * 49, 3);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* The same on a graph: a residual block of five channels (a skip around a
 * padded conv), then a MaxPool; the block's rows meet at the add on common
 * windows (bound_backward_kernel.h, common_windows). */
static void build_wide_cells_res(nn_model *m, test_rng *rng, layer_type act)
{
    model_init(m);
    m->input = (nn_shape){2, 7, 7};
    tb_normalize(m, rng, 2);              /* 0 */
    tb_conv_pad(m, rng, 2, 5, 3, 1, 0.5);  /* 1 */
    tb_act(m, rng, act, 5 * 49);          /* 2 */
    tb_conv_pad(m, rng, 5, 5, 3, 1, 0.3);  /* 3 */
    tb_add(m, 3, 2);                      /* 4 */
    tb_act(m, rng, act, 5 * 49);          /* 5 */
    tb_pool(m, LAYER_MAXPOOL2D, 2, 1, 0); /* 6: 5x6x6 */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 5 * 36, 3);
    tb_finalize_graph(m);
}

static void four_row_lanes_equal_one_row_steps(void **state)
{
    (void)state;
    test_rng rng = {29};
    if (!BOUND_CPU_HAS_V4()) print_message("no AVX2 here: both states step one row at a time\n");
    const layer_type acts[] = {LAYER_RELU, LAYER_TANH, LAYER_LEAKY_RELU};
    for (int fam = 0; fam < 8; fam++)
        for (int a = 0; a < 3; a++) {
            nn_model m;
            if (fam == 5 && a) continue;
            if (fam < 2) tb_build(&m, &rng, fam, acts[a]);
            else if (fam < 5) tb_build_res(&m, &rng, fam - 2, acts[a]);
            else if (fam == 5) tb_build_relu2(&m, &rng, 37, 24, 16, 5); /* 37 inputs: 4 rounds of the box's 8 lanes, 5 left */
            else if (fam == 6) build_wide_cells(&m, &rng, acts[a]);
            else build_wide_cells_res(&m, &rng, acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            size_t ny = model_output_size(&m);
            double C[4 * 16];
            assert_true(ny <= 16);
            for (size_t k = 0; k < 4 * ny; k++) C[k] = test_rng_range(&rng, -1, 1);
            for (int v = 0; v < 8; v++) {
                bound_options o;
                bound_options_default(&o);
                o.single = v & 1;
                o.skip_stable = (v >> 1) & 1;
                o.method = v & 4 ? METHOD_FROWN : METHOD_CROWN;
                if (o.method == METHOD_FROWN) o.frown_iters = 3;
                norm_type p = v & 2 ? NORM_2 : NORM_INF;
                double eps = p == NORM_2 ? 0.3 : 0.05;
                bound_state lanes, rows;
                int clip = fam != 5 || !(v & 1); /* the wide MLP's balls unclipped too */
                tb_compute(&m, &o, x0, p, eps, clip, &lanes);
                o.one_row_steps = 1;
                tb_compute(&m, &o, x0, p, eps, clip, &rows);
                assert_int_equal(((bound_work *)rows.work)->rows4, 0);
                assert_int_equal(((bound_work *)lanes.work)->rows4, BOUND_CPU_HAS_V4());
                tb_assert_same_bounds(&m, &lanes, &rows);
                tb_assert_same_spec(&lanes, &rows, C, 4, ny);
                bound_state_free(&lanes);
                bound_state_free(&rows);
            }
            free(x0);
            model_free(&m);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ibp_bounds_monotone_in_eps),
        cmocka_unit_test(tight_crown_never_looser_than_ibp),
        cmocka_unit_test(tight_lbp_never_looser_than_ibp),
        cmocka_unit_test(tight_lbp_bounds_monotone_in_eps),
        cmocka_unit_test(crown_lbp_margin_never_looser_than_lbp),
        cmocka_unit_test(fastlin_method_equals_crown_with_fastlin_lines),
        cmocka_unit_test(layer_rows_bit_identical_to_full_range),
        cmocka_unit_test(wide_dense_rows_keep_aligned_blocks),
        cmocka_unit_test(first_layer_bounds_exact_at_a_corner),
        cmocka_unit_test(first_block_uncached_path_matches_cache),
        cmocka_unit_test(four_row_lanes_equal_one_row_steps),
        cmocka_unit_test(first_block_cancellation_is_covered),
        cmocka_unit_test(underflowing_activation_is_covered),
        cmocka_unit_test(clipped_l1_l2_bounds_are_exact),
        cmocka_unit_test(spec_lower_only_equals_both_sides),
        cmocka_unit_test(unused_outputs_change_no_bits),
        cmocka_unit_test(spec_points_minimize_the_bound),
        cmocka_unit_test(bad_regions_and_calls_give_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
