/* FROWN and CROWN-Quad (doc/frown.md): the hand-derived gradient of every kind of
 * variable against central differences of the actual bound, never looser than
 * CROWN (per bound on the same committed bounds, and margins on every image of a
 * test set), bit-identical row ranges and sides, deterministic and sound warm
 * starts, group sizes, the quadratic bound's domain cases, and clear errors.
 * Sampling soundness of both methods is in test_bound_sampling.c. */
#include "test_bound_models.h"

#include "attack.h"
#include "certify.h"
#include "dataset.h"
#include "model_io.h"
/* White-box: the variables and single-problem bounds of bound_frown.c. */
#include "../src/bound/bound_crown.h"
#include "../src/bound/bound_frown.h"

static void frown_opts(bound_options *o, size_t G, int iters)
{
    bound_options_default(o);
    o->method = METHOD_FROWN;
    o->frown_group = G;
    o->frown_iters = iters;
}

/* Tally of which kinds of variables the gradient checks saw. */
typedef struct {
    size_t slope, leaky, ramp;                 /* ReLU-like lower slopes */
    size_t tan_pos, tan_neg, tan_up, tan_lo;   /* S-shaped tangents: l >= 0, u <= 0, l < 0 < u upper, lower */
} var_kinds;

/* Central differences of the bound of one problem against its gradient, at a random
 * interior point of the variables. Kinks (a coefficient or |g_0| changing sign) are
 * measure-zero; the step is far below the distance to them at a random point. */
static void check_gradient(bound_state *st, int top, size_t row, const double *C, double sign, test_rng *rng,
                           var_kinds *k, const char *what)
{
    nn_error err;
    size_t V;
    assert_int_equal(bound_frown_vars(st, top, &V, NULL, NULL, NULL, NULL, NULL, NULL, &err), NN_OK);
    if (!V) return;
    double *lo = malloc(V * sizeof *lo), *hi = malloc(V * sizeof *hi), *th = malloc(V * sizeof *th);
    double *g = malloc(V * sizeof *g), *t2 = malloc(V * sizeof *t2);
    int *layer = malloc(V * sizeof *layer), *up = malloc(V * sizeof *up);
    size_t *neuron = malloc(V * sizeof *neuron);
    assert_true(lo && hi && th && g && t2 && layer && up && neuron);
    assert_int_equal(bound_frown_vars(st, top, &V, lo, hi, NULL, layer, neuron, up, &err), NN_OK);
    for (size_t v = 0; v < V; v++) th[v] = lo[v] + test_rng_range(rng, 0.2, 0.8) * (hi[v] - lo[v]);
    double b0, gmax = 0;
    if (bound_frown_probe(st, top, row, C, 0.25, sign, th, &b0, g, &err)) fail_msg("probe: %s", err.msg);
    for (size_t v = 0; v < V; v++) gmax = fmax(gmax, fabs(g[v]));
    for (size_t v = 0; v < V; v++) {
        double h = 1e-6 * (hi[v] - lo[v]), bp, bm;
        memcpy(t2, th, V * sizeof *t2);
        t2[v] += h;
        assert_int_equal(bound_frown_probe(st, top, row, C, 0.25, sign, t2, &bp, NULL, &err), NN_OK);
        t2[v] -= 2 * h;
        assert_int_equal(bound_frown_probe(st, top, row, C, 0.25, sign, t2, &bm, NULL, &err), NN_OK);
        double fd = (bp - bm) / (2 * h);
        /* allowance: the bound's 1e-10 relative rounding widening and FD noise */
        double tol = 1e-5 * (fabs(g[v]) + 1e-3 * gmax) + 1e-9 * (1 + fabs(b0)) / h * 1e-6;
        if (fabs(fd - g[v]) > tol)
            fail_msg("%s: d bound / d var %zu (layer %d neuron %zu %s) analytic %.10g, central difference %.10g", what,
                     v, layer[v], neuron[v], up[v] ? "upper" : "lower", g[v], fd);
        const nn_layer *L = &st->model->layers[layer[v]];
        double l = st->pre_lower[layer[v]][neuron[v]], u = st->pre_upper[layer[v]][neuron[v]];
        switch (L->type) {
        case LAYER_RELU: k->slope++; break;
        case LAYER_LEAKY_RELU: k->leaky++; break;
        case LAYER_PARAM_RAMP: k->ramp++; break;
        default:
            if (l >= 0) k->tan_pos++;
            else if (u <= 0) k->tan_neg++;
            else if (up[v]) k->tan_up++;
            else k->tan_lo++;
        }
    }
    free(lo), free(hi), free(th), free(g), free(t2), free(layer), free(up), free(neuron);
}

static void gradient_family(void (*build)(nn_model *, test_rng *, layer_type), const double eps[3], uint64_t seed,
                            var_kinds *k)
{
    test_rng rng = {seed};
    for (size_t a = 0; a < TB_N_ACTS; a++) {
        nn_model m;
        build(&m, &rng, tb_acts[a]);
        size_t no = model_output_size(&m), n_in = model_input_size(&m);
        double *x0 = test_rand_vec(&rng, n_in, 0.05, 0.95), *C = test_rand_vec(&rng, no, -1, 1);
        bound_options o;
        frown_opts(&o, 1, 5);
        for (int p = 0; p < 3; p++)
            for (int clip = 0; clip < 2; clip++) {
                bound_state st;
                tb_compute(&m, &o, x0, (norm_type)p, eps[p], clip, &st);
                char what[160];
                snprintf(what, sizeof what, "%s %s norm %s clip %d", m.name ? m.name : "model",
                         layer_type_name(tb_acts[a]), norm_name((norm_type)p), clip);
                /* the spec on the output, and a row of the last nonlinear layer, both signs */
                int last = ((bound_work *)st.work)->prev_nl[m.n_layers];
                for (int s = 0; s < 2; s++) {
                    check_gradient(&st, m.n_layers, 0, C, s ? -1.0 : 1.0, &rng, k, what);
                    check_gradient(&st, last, 1, NULL, s ? -1.0 : 1.0, &rng, k, what);
                }
                bound_state_free(&st);
            }
        free(x0);
        free(C);
        model_free(&m);
    }
}

static void gradient_matches_central_differences_every_kind_norm_clip(void **state)
{
    (void)state;
    var_kinds k = {0};
    const double e_mlp[3] = {[NORM_INF] = 0.08, [NORM_1] = 0.5, [NORM_2] = 0.25};
    const double e_cnn[3] = {[NORM_INF] = 0.03, [NORM_1] = 0.5, [NORM_2] = 0.15};
    gradient_family(tb_build_mlp, e_mlp, 31, &k);
    gradient_family(tb_build_cnn, e_cnn, 32, &k); /* conv, maxpool, avgpool upstream */
    /* every kind of variable was checked */
    assert_true(k.slope > 0 && k.leaky > 0 && k.ramp > 0);
    assert_true(k.tan_pos > 0 && k.tan_neg > 0 && k.tan_up > 0 && k.tan_lo > 0);
}

/* Residual graphs: the passes along the edges (rows summed at forks, the relaxed
 * network forward through adds) give the gradient of the bound too, and the
 * optimization tightens bounds CROWN leaves. */
static void residual_graphs_gradient_and_tightening(void **state)
{
    (void)state;
    var_kinds k = {0};
    test_rng rng = {34};
    layer_type acts[] = {LAYER_RELU, LAYER_TANH, LAYER_LEAKY_RELU};
    size_t tighter = 0;
    for (int fam = 0; fam < TB_N_RES; fam += 2) /* dense, and conv with a three-reader fork */
        for (int a = 0; a < (fam ? 1 : 3); a++) {
            nn_model m;
            tb_build_res(&m, &rng, fam, acts[a]);
            size_t no = model_output_size(&m), n_in = model_input_size(&m);
            double *x0 = test_rand_vec(&rng, n_in, 0.05, 0.95), *C = test_rand_vec(&rng, no, -1, 1);
            for (int p = 0; p < 3; p += 2) {
                double eps = p == NORM_INF ? 0.05 : 0.2;
                bound_options o, oc;
                frown_opts(&o, 1, 30);
                bound_options_default(&oc);
                bound_state st, sc;
                tb_compute(&m, &o, x0, (norm_type)p, eps, 0, &st);
                tb_compute(&m, &oc, x0, (norm_type)p, eps, 0, &sc);
                char what[96];
                snprintf(what, sizeof what, "residual family %d %s norm %s", fam, layer_type_name(acts[a]),
                         norm_name((norm_type)p));
                int last = ((bound_work *)st.work)->prev_nl[m.n_layers];
                for (int sg = 0; sg < 2; sg++) {
                    check_gradient(&st, m.n_layers, 0, C, sg ? -1.0 : 1.0, &rng, &k, what);
                    if (!fam) check_gradient(&st, last, 1, NULL, sg ? -1.0 : 1.0, &rng, &k, what);
                }
                /* (each from its own committed bounds, so no inclusion per neuron is
                 * promised; the optimization must tighten some) */
                for (int i = 0; i < m.n_layers; i++)
                    for (size_t q = 0; st.pre_lower[i] && q < shape_size(m.layers[i].in); q++)
                        tighter += st.pre_upper[i][q] - st.pre_lower[i][q] <
                                   (1 - 1e-6) * (sc.pre_upper[i][q] - sc.pre_lower[i][q]);
                bound_state_free(&st);
                bound_state_free(&sc);
            }
            free(x0);
            free(C);
            model_free(&m);
        }
    assert_true(k.slope > 0 && k.leaky > 0 && k.tan_up + k.tan_lo + k.tan_pos + k.tan_neg > 0);
    assert_true(tighter > 0);
}

/* The probe at CROWN's own parameters is CROWN's backward bound (same lines). */
static void probe_at_crown_lines_is_crown_bound(void **state)
{
    (void)state;
    test_rng rng = {33};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_SIGMOID);
    double *x0 = test_rand_vec(&rng, 6, 0, 1);
    bound_options o;
    frown_opts(&o, 1, 0); /* no optimization: the committed bounds are CROWN's */
    o.intersect_ibp = 0;
    bound_state st;
    tb_compute(&m, &o, x0, NORM_2, 0.3, 0, &st);
    size_t V;
    assert_int_equal(bound_frown_vars(&st, 5, &V, NULL, NULL, NULL, NULL, NULL, NULL, &err), NN_OK);
    double *start = malloc(V * sizeof *start);
    assert_int_equal(bound_frown_vars(&st, 5, &V, NULL, NULL, start, NULL, NULL, NULL, &err), NN_OK);
    assert_true(V > 0);
    for (size_t r = 0; r < 8; r++) {
        double lb, ub, l, u;
        assert_int_equal(bound_frown_probe(&st, 5, r, NULL, 0, 1.0, start, &lb, NULL, &err), NN_OK);
        assert_int_equal(bound_frown_probe(&st, 5, r, NULL, 0, -1.0, start, &ub, NULL, &err), NN_OK);
        assert_int_equal(bound_crown_rows(&st, 5, r, r + 1, &l, &u, &err), NN_OK);
        assert_true(fabs(lb - l) <= 1e-12 * (1 + fabs(l)));
        assert_true(fabs(-ub - u) <= 1e-12 * (1 + fabs(u)));
    }
    free(start);
    free(x0);
    bound_state_free(&st);
    model_free(&m);
}

/* Zero iterations: exactly CROWN, bit for bit. */
static void zero_iterations_is_crown_bit_for_bit(void **state)
{
    (void)state;
    test_rng rng = {34};
    nn_model m;
    tb_build_cnn(&m, &rng, LAYER_TANH);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    bound_options of, oc;
    frown_opts(&of, 1, 0);
    bound_options_default(&oc);
    bound_state sf, sc;
    tb_compute(&m, &of, x0, NORM_INF, 0.03, 1, &sf);
    tb_compute(&m, &oc, x0, NORM_INF, 0.03, 1, &sc);
    tb_assert_same_bounds(&m, &sf, &sc);
    nn_error err;
    double C[6] = {1, -1, 0, 0, 1, -1}, lf[2], lc[2];
    assert_int_equal(bound_spec(&sf, C, 2, 3, NULL, lf, NULL, &err), NN_OK);
    assert_int_equal(bound_spec(&sc, C, 2, 3, NULL, lc, NULL, &err), NN_OK);
    assert_memory_equal(lf, lc, sizeof lf);
    bound_state_free(&sf);
    bound_state_free(&sc);
    free(x0);
    model_free(&m);
}

/* On the same committed bounds, every FROWN row is at least CROWN's, and some are
 * strictly tighter (the optimization does something). */
static void never_looser_than_crown_on_the_same_bounds(void **state)
{
    (void)state;
    test_rng rng = {35};
    nn_error err;
    layer_type acts[] = {LAYER_RELU, LAYER_SIGMOID, LAYER_LEAKY_RELU, LAYER_ARCTAN};
    size_t tighter = 0;
    for (int a = 0; a < 4; a++) {
        nn_model m;
        tb_build_mlp(&m, &rng, acts[a]);
        double *x0 = test_rand_vec(&rng, 6, 0, 1);
        for (size_t G = 1; G <= 4; G += 3) {
            bound_options o;
            frown_opts(&o, G, 30);
            bound_state st;
            tb_compute(&m, &o, x0, NORM_INF, 0.1, 0, &st);
            for (int i = 3; i < m.n_layers; i += 2) {
                size_t n = shape_size(m.layers[i].in);
                double l[16], u[16], cl[16], cu[16];
                assert_int_equal(bound_layer_rows(&st, i, 0, n, l, u, &err), NN_OK);
                assert_int_equal(bound_crown_rows(&st, i, 0, n, cl, cu, &err), NN_OK);
                /* recomputing in the same evaluation gives the committed numbers */
                assert_memory_equal(l, st.pre_lower[i], n * sizeof *l);
                assert_memory_equal(u, st.pre_upper[i], n * sizeof *u);
                for (size_t r = 0; r < n; r++) {
                    assert_true(l[r] >= cl[r] && u[r] <= cu[r]);
                    tighter += l[r] > cl[r] || u[r] < cu[r];
                }
            }
            bound_state_free(&st);
        }
        free(x0);
        model_free(&m);
    }
    assert_true(tighter > 10);
}

/* Margins on every image of a test set: FROWN's lower bound of every margin row is
 * at least CROWN's, each method on its own intermediate bounds from scratch. This
 * is not a theorem (adaptive line choices are not monotone in the intermediate
 * bounds, and FROWN's are different numbers), so the check allows last-bit
 * rounding, 1e-12 relative; on the same committed bounds the order is exact
 * (never_looser_than_crown_on_the_same_bounds). */
static void margins_never_looser_than_crown_on_every_test_image(void **state)
{
    (void)state;
    const char *models[] = {"models/mnist_mlp_2x20_relu.h5", "models/mnist_mlp_2x20_sigmoid.h5",
                            "models/fmnist_mlp_10x20_sigmoid.h5"};
    const char *data[] = {"mnist:test", "mnist:test", "fashion-mnist:test"};
    const double eps[] = {0.015, 0.015, 0.006};
    int found = 0;
    for (int f = 0; f < 3; f++) {
        nn_error err;
        nn_model m;
        nn_dataset ds;
        if (!tb_load_zoo(models[f], &m)) continue;
        if (dataset_load(data[f], 0, 30, &ds, &err)) {
            model_free(&m);
            continue; /* data set not installed */
        }
        found++;
        bound_options oc, of;
        bound_options_default(&oc);
        frown_opts(&of, 1, 100);
        of.frown_warm = 0;
        cert_verifier vc, vf;
        assert_int_equal(cert_verifier_init(&vc, &m, &oc, &err), NN_OK);
        assert_int_equal(cert_verifier_init(&vf, &m, &of, &err), NN_OK);
        size_t n_in = model_input_size(&m), better = 0;
        double logits[10];
        for (size_t i = 0; i < ds.n; i++) {
            const double *x = ds.images + i * n_in;
            assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
            int c = forward_argmax(logits, 10), cert;
            double mc, mf;
            assert_int_equal(cert_verify(&vc, x, NORM_INF, eps[f], 1, c, CERT_UNTARGETED, &mc, &cert, &err), NN_OK);
            assert_int_equal(cert_verify(&vf, x, NORM_INF, eps[f], 1, c, CERT_UNTARGETED, &mf, &cert, &err), NN_OK);
            for (size_t r = 0; r < vc.rows; r++) {
                if (vf.lower[r] < vc.lower[r] - 1e-12 * (1 + fabs(vc.lower[r])))
                    fail_msg("%s image %zu row %zu: frown %.17g < crown %.17g", models[f], i, r, vf.lower[r],
                             vc.lower[r]);
                better += vf.lower[r] > vc.lower[r];
            }
            assert_true(mf >= mc - 1e-12 * (1 + fabs(mc)));
        }
        assert_true(better > ds.n); /* tighter on most rows, not just equal */
        cert_verifier_free(&vc);
        cert_verifier_free(&vf);
        dataset_free(&ds);
        model_free(&m);
    }
    if (!found) skip();
}

/* Rows one at a time, odd ranges and one side at a time give the full layer's bits
 * (FROWN with groups, blocks smaller than a layer, warm starts within one
 * evaluation; CROWN's and CROWN-LBP's sides through the same API). */
static void row_ranges_and_sides_bit_identical_to_full_layer(void **state)
{
    (void)state;
    test_rng rng = {36};
    nn_error err;
    for (int fam = 0; fam < 2; fam++) {
        nn_model m;
        if (fam) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_mlp(&m, &rng, LAYER_TANH);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        /* FROWN with G = 1 and 3, then CROWN and CROWN-LBP through the same API */
        size_t groups[] = {1, 3, 0, 0}, blocks[] = {0, 4};
        for (int g = 0; g < 4; g++)
            for (int b = 0; b < 2; b++) {
                bound_options o;
                frown_opts(&o, groups[g] ? groups[g] : 1, 15);
                if (g >= 2) o.method = g == 2 ? METHOD_CROWN : METHOD_CROWN_LBP;
                o.row_block = blocks[b];
                bound_state full, part;
                tb_compute(&m, &o, x0, NORM_INF, fam ? 0.03 : 0.08, 1, &full);
                bound_region R = {.center = x0, .eps = fam ? 0.03 : 0.08, .norm = NORM_INF, .clip = 1, .clip_hi = 1};
                assert_int_equal(bound_state_init(&part, &m, &o, &err), NN_OK);
                assert_int_equal(bound_set_region(&part, &R, &err), NN_OK);
                for (int i = 0; i < m.n_layers; i++) {
                    if (!layer_is_nonlinear(m.layers[i].type)) continue;
                    size_t n = shape_size(m.layers[i].in);
                    double *l = malloc(n * sizeof *l), *u = malloc(n * sizeof *u);
                    for (size_t r = 0; r < n; r++)
                        assert_int_equal(bound_layer_rows_side(&part, i, r, r + 1, BOUND_LOWER, l + r, NULL, &err), NN_OK);
                    for (size_t lo = 0; lo < n; lo += 7) {
                        size_t hi = lo + 7 < n ? lo + 7 : n;
                        assert_int_equal(bound_layer_rows_side(&part, i, lo, hi, BOUND_UPPER, NULL, u + lo, &err), NN_OK);
                    }
                    assert_memory_equal(l, full.pre_lower[i], n * sizeof *l);
                    assert_memory_equal(u, full.pre_upper[i], n * sizeof *u);
                    assert_int_equal(bound_layer_rows(&part, i, n / 3, n, l + n / 3, u + n / 3, &err), NN_OK);
                    assert_memory_equal(l, full.pre_lower[i], n * sizeof *l);
                    assert_memory_equal(u, full.pre_upper[i], n * sizeof *u);
                    assert_int_equal(bound_layer_commit(&part, i, l, u, &err), NN_OK);
                    free(l);
                    free(u);
                }
                bound_state_free(&full);
                bound_state_free(&part);
            }
        free(x0);
        model_free(&m);
    }
}

/* Runs a sequence of eps on one state and returns copies of the last bounds. */
static void eps_sequence(const nn_model *m, const bound_options *o, const double *x0, const double *eps, int k,
                         double *out_last, double *spec_last, const double *C, bound_state *st)
{
    nn_error err;
    size_t no = model_output_size(m);
    assert_int_equal(bound_state_init(st, m, o, &err), NN_OK);
    for (int e = 0; e < k; e++) {
        bound_region R = {.center = x0, .eps = eps[e], .norm = NORM_2};
        assert_int_equal(bound_set_region(st, &R, &err), NN_OK);
        assert_int_equal(bound_compute(st, &err), NN_OK);
        assert_int_equal(bound_spec(st, C, 2, no, NULL, spec_last, NULL, &err), NN_OK);
    }
    size_t off = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (st->pre_lower[i]) {
            size_t n = shape_size(m->layers[i].in);
            memcpy(out_last + off, st->pre_lower[i], n * sizeof(double));
            memcpy(out_last + off + n, st->pre_upper[i], n * sizeof(double));
            off += 2 * n;
        }
}

/* Warm starts: the same sequence of evaluations gives the same bits; the
 * warm-started bounds are sound (sampled) and differ from a cold start (the state
 * is used); a new centre or bound_forget_warm resets the state (bit-identical to a
 * fresh state). */
static void warm_start_deterministic_sound_and_reset_by_new_centre(void **state)
{
    (void)state;
    test_rng rng = {37};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_SIGMOID);
    double *x0 = test_rand_vec(&rng, 6, 0.2, 0.8), *x1 = test_rand_vec(&rng, 6, 0.2, 0.8);
    double C[8] = {1, -1, 0, 0, 0, 1, 0, -1};
    bound_options o;
    frown_opts(&o, 1, 8);
    o.frown_threshold = 0; /* every problem runs all 8 steps */
    const double eps[] = {0.2, 0.4, 0.3, 0.35};
    double a[128] = {0}, b[128] = {0}, c[128] = {0}, sa[2], sb[2], sc[2];
    bound_state s1, s2, s3;
    eps_sequence(&m, &o, x0, eps, 4, a, sa, C, &s1);
    eps_sequence(&m, &o, x0, eps, 4, b, sb, C, &s2);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(sa, sb, sizeof sa);
    eps_sequence(&m, &o, x0, eps + 3, 1, c, sc, C, &s3); /* cold at 0.35 */
    assert_memory_not_equal(a, c, sizeof a);
    /* soundness of the warm-started evaluation */
    bound_region R = {.center = x0, .eps = 0.35, .norm = NORM_2};
    double X[200 * 6];
    for (int s = 0; s < 200; s++) tb_sample(&rng, &R, 6, s % 3, X + 6 * s);
    double **acts;
    assert_int_equal(forward_trace(&m, X, 200, &acts, &err), NN_OK);
    for (int i = 1; i < m.n_layers; i++)
        if (s1.pre_lower[i])
            for (int s = 0; s < 200; s++)
                for (size_t k = 0; k < shape_size(m.layers[i].in); k++) {
                    double v = acts[i - 1][s * shape_size(m.layers[i].in) + k];
                    assert_true(v >= s1.pre_lower[i][k] && v <= s1.pre_upper[i][k]);
                }
    for (int s = 0; s < 200; s++) {
        const double *y = acts[m.n_layers - 1] + 4 * s;
        assert_true(y[0] - y[1] >= sa[0] && y[1] - y[3] >= sa[1]);
    }
    forward_trace_free(&m, acts);
    /* a new centre: s1 and a fresh state agree bit for bit */
    bound_region R1 = {.center = x1, .eps = 0.3, .norm = NORM_2};
    bound_state fresh;
    assert_int_equal(bound_set_region(&s1, &R1, &err), NN_OK);
    assert_int_equal(bound_compute(&s1, &err), NN_OK);
    tb_compute(&m, &o, x1, NORM_2, 0.3, 0, &fresh);
    tb_assert_same_bounds(&m, &s1, &fresh);
    bound_state_free(&fresh);
    /* forgetting the warm start: the same eps again on s2 gives the cold bits */
    bound_forget_warm(&s2);
    bound_region R3 = {.center = x0, .eps = 0.35, .norm = NORM_2};
    assert_int_equal(bound_set_region(&s2, &R3, &err), NN_OK);
    assert_int_equal(bound_compute(&s2, &err), NN_OK);
    tb_assert_same_bounds(&m, &s2, &s3);
    bound_state_free(&s1);
    bound_state_free(&s2);
    bound_state_free(&s3);
    free(x0);
    free(x1);
    model_free(&m);
}

/* Two states standing for two ranks: each computes a fixed aligned half of every
 * layer's rows (so each keeps the warm state of its own rows only), both commit the
 * gathered layer; over a sequence of eps of one image the gathered bounds and the
 * margins are one state's bits. */
static void static_split_over_two_states_matches_one_state_across_eps(void **state)
{
    (void)state;
    test_rng rng = {41};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_SIGMOID);
    double *x0 = test_rand_vec(&rng, 6, 0.2, 0.8), C[8] = {1, -1, 0, 0, 0, 1, 0, -1};
    bound_options o;
    frown_opts(&o, 2, 12);
    o.row_block = 4;
    bound_state one, rank[2];
    assert_int_equal(bound_state_init(&one, &m, &o, &err), NN_OK);
    for (int k = 0; k < 2; k++) assert_int_equal(bound_state_init(&rank[k], &m, &o, &err), NN_OK);
    const double eps[] = {0.2, 0.5, 0.35, 0.4, 0.38};
    for (int e = 0; e < 5; e++) {
        bound_region R = {.center = x0, .eps = eps[e], .norm = NORM_INF};
        assert_int_equal(bound_set_region(&one, &R, &err), NN_OK);
        assert_int_equal(bound_compute(&one, &err), NN_OK);
        for (int k = 0; k < 2; k++) assert_int_equal(bound_set_region(&rank[k], &R, &err), NN_OK);
        for (int i = 1; i < m.n_layers; i += 2) {
            size_t n = shape_size(m.layers[i].in), half = n / 2 - (n / 2) % 4;
            double l[16], u[16];
            assert_int_equal(bound_layer_rows(&rank[0], i, 0, half, l, u, &err), NN_OK);
            assert_int_equal(bound_layer_rows(&rank[1], i, half, n, l + half, u + half, &err), NN_OK);
            assert_memory_equal(l, one.pre_lower[i], n * sizeof *l);
            assert_memory_equal(u, one.pre_upper[i], n * sizeof *u);
            for (int k = 0; k < 2; k++) assert_int_equal(bound_layer_commit(&rank[k], i, l, u, &err), NN_OK);
        }
        double s1[2], s2[2];
        assert_int_equal(bound_spec(&one, C, 2, 4, NULL, s1, NULL, &err), NN_OK);
        assert_int_equal(bound_spec(&rank[1], C, 2, 4, NULL, s2, NULL, &err), NN_OK);
        assert_memory_equal(s1, s2, sizeof s1);
    }
    bound_state_free(&one);
    bound_state_free(&rank[0]);
    bound_state_free(&rank[1]);
    free(x0);
    model_free(&m);
}

/* A radius search with FROWN (warm-started across its eps): the radius is sound
 * against PGD and at least CROWN's margin at CROWN's radius holds. */
static void radius_search_sound_against_pgd(void **state)
{
    (void)state;
    const char *path = test_path("models/mnist_mlp_2x20_sigmoid.h5");
    nn_error err;
    nn_model m;
    nn_dataset ds;
    model_init(&m);
    if (access(path, R_OK) != 0 || model_load(path, &m, &err) || dataset_load("mnist:test", 0, 8, &ds, &err)) {
        model_free(&m);
        skip();
    }
    bound_options o;
    frown_opts(&o, 1, 30);
    cert_verifier v;
    assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
    cert_task_options to;
    memset(&to, 0, sizeof to);
    to.norm = NORM_2;
    cert_search_options_default(&to.search, NORM_2, 784);
    attack_options ao;
    attack_options_default(&ao, NORM_2);
    ao.steps = 60;
    ao.restarts = 3;
    size_t certified = 0;
    double logits[10], adv[784], alog[10];
    for (size_t i = 0; i < ds.n; i++) {
        const double *x = ds.images + 784 * i;
        assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
        cert_result r;
        assert_int_equal(cert_run_task(&v, &to, x, logits, (long)i, ds.labels[i], CERT_UNTARGETED, &r, &err), NN_OK);
        if (r.status != CERT_CERTIFIED) continue;
        certified++;
        attack_result ar;
        assert_int_equal(attack_pgd(&m, &ao, x, r.pred, r.radius, adv, alog, &ar, &err), NN_OK);
        assert_false(ar.success);
        assert_true(r.evals > 3); /* the search evaluated several eps on the warm state */
    }
    assert_true(certified > 0);
    cert_verifier_free(&v);
    dataset_free(&ds);
    model_free(&m);
}

/* G = n (one group per layer) is sound, never looser than CROWN, and changes the
 * numbers against G = 1 (the groups do share variables). */
static void groups_share_variables(void **state)
{
    (void)state;
    test_rng rng = {38};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_TANH);
    double *x0 = test_rand_vec(&rng, 6, 0, 1);
    bound_options o1, on, oc;
    frown_opts(&o1, 1, 20);
    frown_opts(&on, 12, 20);
    bound_options_default(&oc);
    bound_state s1, sn, sc;
    tb_compute(&m, &o1, x0, NORM_INF, 0.1, 0, &s1);
    tb_compute(&m, &on, x0, NORM_INF, 0.1, 0, &sn);
    tb_compute(&m, &oc, x0, NORM_INF, 0.1, 0, &sc);
    assert_int_equal(sn.opt.row_block % 12, 0);
    int i = 3; /* second nonlinear layer: its committed inputs are CROWN's in all three */
    size_t n = shape_size(m.layers[i].in);
    assert_memory_not_equal(s1.pre_lower[i], sn.pre_lower[i], n * sizeof(double));
    for (size_t r = 0; r < n; r++) {
        assert_true(sn.pre_lower[i][r] >= sc.pre_lower[i][r] && sn.pre_upper[i][r] <= sc.pre_upper[i][r]);
        assert_true(s1.pre_lower[i][r] >= sc.pre_lower[i][r] && s1.pre_upper[i][r] <= sc.pre_upper[i][r]);
    }
    bound_state_free(&s1);
    bound_state_free(&sn);
    bound_state_free(&sc);
    free(x0);
    model_free(&m);
}

/* CROWN-Quad: never looser than CROWN, tighter on a one-hidden-layer net (the
 * quadratic over the input ball), refused with a clear message without a final ReLU. */
static void crown_quad_tighter_never_looser_and_relu_only(void **state)
{
    (void)state;
    test_rng rng = {39};
    nn_error err;
    size_t tighter = 0;
    for (int deep = 0; deep < 2; deep++) {
        nn_model m;
        if (deep) tb_build_mlp(&m, &rng, LAYER_RELU);
        else tb_build_one_hidden(&m, &rng, 6, 30, 4);
        double *x0 = test_rand_vec(&rng, 6, 0, 1), C[12] = {1, -1, 0, 0, 1, 0, -1, 0, 1, 0, 0, -1};
        for (int p = 0; p < 3; p++)
            for (int clip = 0; clip < 2; clip++) {
                bound_options oq, oc;
                bound_options_default(&oq);
                oq.method = METHOD_CROWN_QUAD;
                oq.spec_upper = 1;
                bound_options_default(&oc);
                bound_state sq, sc;
                double e = p == NORM_INF ? 0.15 : 0.6;
                tb_compute(&m, &oq, x0, (norm_type)p, e, clip, &sq);
                tb_compute(&m, &oc, x0, (norm_type)p, e, clip, &sc);
                double lq[3], uq[3], lc[3], uc[3];
                assert_int_equal(bound_spec(&sq, C, 3, 4, NULL, lq, uq, &err), NN_OK);
                assert_int_equal(bound_spec(&sc, C, 3, 4, NULL, lc, uc, &err), NN_OK);
                for (int r = 0; r < 3; r++) {
                    assert_true(lq[r] >= lc[r] && uq[r] <= uc[r]);
                    tighter += !deep && (lq[r] > lc[r] || uq[r] < uc[r]);
                }
                bound_state_free(&sq);
                bound_state_free(&sc);
            }
        free(x0);
        model_free(&m);
    }
    assert_true(tighter > 0);
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_SIGMOID);
    bound_options o;
    bound_options_default(&o);
    o.method = METHOD_CROWN_QUAD;
    bound_state st;
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "sigmoid"));
    assert_non_null(strstr(err.msg, "ReLU"));
    model_free(&m);
}

/* frown_layers = spec: every layer keeps CROWN's bounds (the same bits as a CROWN
 * state), the spec rows are FROWN's (never looser than CROWN's on those same
 * bounds, some tighter, none above a sampled value), and auto outside branch and
 * bound is all (the same bits). Graphs: MLPs, the CNN and residual ones. */
static void spec_scope_keeps_crown_layers_and_tightens_margins(void **state)
{
    (void)state;
    test_rng rng = {41};
    nn_error err;
    layer_type acts[] = {LAYER_RELU, LAYER_TANH, LAYER_LEAKY_RELU};
    size_t tighter = 0;
    for (int fam = 0; fam < 3; fam++)
        for (int a = 0; a < 3; a++) {
            nn_model m;
            if (fam == 2) tb_build_res(&m, &rng, a % 3, acts[a]);
            else tb_build(&m, &rng, fam, acts[a]);
            size_t nx = model_input_size(&m), ny = model_output_size(&m);
            double *x0 = test_rand_vec(&rng, nx, 0, 1), *x = test_rand_vec(&rng, nx, 0, 1);
            double eps = fam == 1 ? 0.03 : 0.1;
            bound_options os, oc, oa, ol;
            frown_opts(&os, 1, 20);
            os.frown_layers = FROWN_LAYERS_SPEC;
            bound_options_default(&oc);
            frown_opts(&oa, 1, 20);
            ol = oa;
            ol.frown_layers = FROWN_LAYERS_ALL;
            bound_state ss, sc, sa, sl;
            tb_compute(&m, &os, x0, NORM_INF, eps, 0, &ss);
            tb_compute(&m, &oc, x0, NORM_INF, eps, 0, &sc);
            tb_compute(&m, &oa, x0, NORM_INF, eps, 0, &sa);
            tb_compute(&m, &ol, x0, NORM_INF, eps, 0, &sl);
            tb_assert_same_bounds(&m, &ss, &sc);
            tb_assert_same_bounds(&m, &sa, &sl);
            /* every margin of output 0 against the others */
            double C[8 * 8] = {0}, ls[8], lc[8], y[8];
            size_t rows = ny - 1;
            assert_true(ny <= 8);
            for (size_t r = 0; r < rows; r++) C[r * ny] = 1, C[r * ny + r + 1] = -1;
            assert_int_equal(bound_spec(&ss, C, rows, ny, NULL, ls, NULL, &err), NN_OK);
            assert_int_equal(bound_spec(&sc, C, rows, ny, NULL, lc, NULL, &err), NN_OK);
            tb_assert_same_spec(&sa, &sl, C, rows, ny);
            for (size_t r = 0; r < rows; r++) {
                assert_true(ls[r] >= lc[r]);
                tighter += ls[r] > lc[r];
            }
            bound_region R = {.center = x0, .eps = eps, .norm = NORM_INF};
            for (int k = 0; k < 200; k++) {
                tb_sample(&rng, &R, nx, k % 3, x);
                assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
                for (size_t r = 0; r < rows; r++) assert_true(y[0] - y[r + 1] >= ls[r]);
            }
            bound_state_free(&ss);
            bound_state_free(&sc);
            bound_state_free(&sa);
            bound_state_free(&sl);
            free(x0);
            free(x);
            model_free(&m);
        }
    assert_true(tighter > 5);  /* 18 of the margins here (2026-12-07); 5 only guards that FROWN acts */
}

/* Spec-row variables carried from one region to another (bound_spec_warm_*, what
 * branch and bound's children start from): a seed changes the bits, keeps the
 * bound at least CROWN's and sound under sampling, gives the same bits whatever
 * the state bounded before, and an all-NaN seed is a cold start. */
static void spec_warm_start_carried_between_regions(void **state)
{
    (void)state;
    test_rng rng = {42};
    nn_error err;
    layer_type acts[] = {LAYER_RELU, LAYER_TANH};
    size_t changed = 0;
    for (int a = 0; a < 2; a++)
        for (int scope = FROWN_LAYERS_ALL; scope <= FROWN_LAYERS_SPEC; scope++) {
            nn_model m;
            tb_build_mlp(&m, &rng, acts[a]);
            size_t nx = model_input_size(&m), ny = model_output_size(&m), rows = ny - 1;
            double *x0 = test_rand_vec(&rng, nx, 0.3, 0.7), *x1 = test_rand_vec(&rng, nx, 0, 1);
            for (size_t j = 0; j < nx; j++) x1[j] = x0[j] + 0.03 * (x1[j] - 0.5); /* a sub-region's centre */
            double C[8 * 8] = {0};
            for (size_t r = 0; r < rows; r++) C[r * ny] = 1, C[r * ny + r + 1] = -1;
            bound_options o, oc;
            frown_opts(&o, 1, 20);
            o.frown_layers = (frown_scope)scope;
            bound_options_default(&oc);
            size_t n = bound_spec_warm_len(&m, &o, rows);
            assert_true(n > 0);
            float *w = nn_malloc(n * sizeof *w, "test", &err), *nan_seed = nn_malloc(n * sizeof *w, "test", &err);
            for (size_t k = 0; k < n; k++) nan_seed[k] = NAN;
            bound_state sa, sb, sc, sd, se;
            double lb[8], lc[8], ld[8], le[8], y[8], *x = test_rand_vec(&rng, nx, 0, 1);
            /* the parent: its variables after its own optimization */
            tb_compute(&m, &o, x0, NORM_INF, 0.1, 0, &sa);
            assert_int_equal(bound_spec(&sa, C, rows, ny, NULL, lb, NULL, &err), NN_OK);
            assert_int_equal(bound_spec_warm_get(&sa, C, rows, ny, NULL, w, &err), NN_OK);
            size_t finite = 0;
            for (size_t k = 0; k < n; k++) finite += isfinite(w[k]) != 0;
            assert_true(finite > 0);
            /* the child, seeded and cold; CROWN on it */
            bound_region R = {.center = x1, .eps = 0.05, .norm = NORM_INF};
            assert_int_equal(bound_state_init(&sb, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&sb, &R, &err), NN_OK);
            assert_int_equal(bound_spec_warm_seed(&sb, C, rows, ny, NULL, w, &err), NN_OK);
            assert_int_equal(bound_compute(&sb, &err), NN_OK);
            assert_int_equal(bound_spec(&sb, C, rows, ny, NULL, lb, NULL, &err), NN_OK);
            tb_compute(&m, &o, x1, NORM_INF, 0.05, 0, &sc);
            assert_int_equal(bound_spec(&sc, C, rows, ny, NULL, lc, NULL, &err), NN_OK);
            tb_compute(&m, &oc, x1, NORM_INF, 0.05, 0, &sd);
            assert_int_equal(bound_spec(&sd, C, rows, ny, NULL, ld, NULL, &err), NN_OK);
            for (size_t r = 0; r < rows; r++) {
                assert_true(lb[r] >= ld[r]);
                changed += memcmp(&lb[r], &lc[r], sizeof lb[r]) != 0;
            }
            for (int k = 0; k < 300; k++) {
                tb_sample(&rng, &R, nx, k % 3, x);
                assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
                for (size_t r = 0; r < rows; r++) assert_true(y[0] - y[r + 1] >= lb[r]);
            }
            /* the seeded child's own variables come back */
            float *wb = nn_malloc(n * sizeof *wb, "test", &err);
            assert_int_equal(bound_spec_warm_get(&sb, C, rows, ny, NULL, wb, &err), NN_OK);
            finite = 0;
            for (size_t k = 0; k < n; k++) finite += isfinite(wb[k]) != 0;
            assert_true(finite > 0);
            /* another state's history does not matter: forget, region, seed */
            assert_int_equal(bound_state_init(&se, &m, &o, &err), NN_OK);
            bound_region R0 = {.center = x0, .eps = 0.2, .norm = NORM_INF};
            assert_int_equal(bound_set_region(&se, &R0, &err), NN_OK);
            assert_int_equal(bound_compute(&se, &err), NN_OK);
            assert_int_equal(bound_spec(&se, C, rows, ny, NULL, le, NULL, &err), NN_OK);
            for (int seed = 0; seed < 2; seed++) {
                bound_forget_warm(&se);
                assert_int_equal(bound_set_region(&se, &R, &err), NN_OK);
                assert_int_equal(bound_spec_warm_seed(&se, C, rows, ny, NULL, seed ? w : nan_seed, &err), NN_OK);
                assert_int_equal(bound_compute(&se, &err), NN_OK);
                assert_int_equal(bound_spec(&se, C, rows, ny, NULL, le, NULL, &err), NN_OK);
                assert_memory_equal(le, seed ? lb : lc, rows * sizeof *le);
            }
            bound_state_free(&sa), bound_state_free(&sb), bound_state_free(&sc);
            bound_state_free(&sd), bound_state_free(&se);
            free(w), free(wb), free(nan_seed), free(x), free(x0), free(x1);
            model_free(&m);
        }
    assert_true(changed > 0);
    /* nothing to carry without FROWN's warm starts; a seed needs a region */
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    bound_options o;
    bound_options_default(&o);
    assert_int_equal(bound_spec_warm_len(&m, &o, 3), 0);
    frown_opts(&o, 1, 20);
    o.frown_warm = 0;
    assert_int_equal(bound_spec_warm_len(&m, &o, 3), 0);
    o.frown_warm = 1;
    assert_int_equal(bound_spec_warm_len(&m, &o, 3), 3 * (12 + 10 + 8));
    bound_state st;
    float w[90] = {0};
    double C[4] = {1, -1, 0, 0};
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    assert_int_equal(bound_spec_warm_seed(&st, C, 1, 4, NULL, w, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "no region"));
    bound_state_free(&st);
    model_free(&m);
}

static void bad_options_and_sides_give_clear_errors(void **state)
{
    (void)state;
    test_rng rng = {40};
    nn_error err;
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    bound_options o;
    bound_state st;
    struct {
        size_t G;
        int iters, patience;
        double lr, thr;
        const char *word;
    } bad[] = {{0, 10, 5, 0.1, 0.01, "group"},     {1, -1, 5, 0.1, 0.01, "iterations"},
               {1, 10, 0, 0.1, 0.01, "patience"},  {1, 10, 5, 0.0, 0.01, "learning rate"},
               {1, 10, 5, NAN, 0.01, "learning rate"}, {1, 10, 5, 0.1, -1, "threshold"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        frown_opts(&o, bad[k].G, bad[k].iters);
        o.frown_patience = bad[k].patience;
        o.frown_lr = bad[k].lr;
        o.frown_threshold = bad[k].thr;
        assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_EARG);
        assert_non_null(strstr(err.msg, bad[k].word));
    }
    frown_opts(&o, 1, 10);
    o.frown_layers = (frown_scope)3;
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "frown layers"));
    assert_int_equal(frown_scope_parse("spec"), FROWN_LAYERS_SPEC);
    assert_int_equal(frown_scope_parse("every"), -1);
    assert_string_equal(frown_scope_name(FROWN_LAYERS_AUTO), "auto");
    frown_opts(&o, 1, 10);
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    double x0[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, l[12], u[12];
    bound_region R = {.center = x0, .eps = 0.1, .norm = NORM_INF};
    assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
    assert_int_equal(bound_layer_rows_side(&st, 1, 0, 12, (bound_side)0, l, u, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "side"));
    assert_int_equal(bound_layer_rows_side(&st, 1, 0, 12, BOUND_UPPER, l, NULL, &err), NN_EARG);
    assert_int_equal(bound_layer_rows_side(&st, 1, 0, 12, BOUND_LOWER, l, NULL, &err), NN_OK);
    assert_int_equal(bound_method_parse("frown"), METHOD_FROWN);
    assert_int_equal(bound_method_parse("crown_quad"), METHOD_CROWN_QUAD);
    assert_string_equal(bound_method_name(METHOD_CROWN_QUAD), "crown-quad");
    bound_state_free(&st);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradient_matches_central_differences_every_kind_norm_clip),
        cmocka_unit_test(residual_graphs_gradient_and_tightening),
        cmocka_unit_test(probe_at_crown_lines_is_crown_bound),
        cmocka_unit_test(zero_iterations_is_crown_bit_for_bit),
        cmocka_unit_test(never_looser_than_crown_on_the_same_bounds),
        cmocka_unit_test(margins_never_looser_than_crown_on_every_test_image),
        cmocka_unit_test(row_ranges_and_sides_bit_identical_to_full_layer),
        cmocka_unit_test(warm_start_deterministic_sound_and_reset_by_new_centre),
        cmocka_unit_test(static_split_over_two_states_matches_one_state_across_eps),
        cmocka_unit_test(radius_search_sound_against_pgd),
        cmocka_unit_test(groups_share_variables),
        cmocka_unit_test(crown_quad_tighter_never_looser_and_relu_only),
        cmocka_unit_test(spec_scope_keeps_crown_layers_and_tightens_margins),
        cmocka_unit_test(spec_warm_start_carried_between_regions),
        cmocka_unit_test(bad_options_and_sides_give_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
