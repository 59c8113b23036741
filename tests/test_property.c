/* Property verification (src/certify/property*.c): boxes become regions that
 * are exactly them, and prop_verify never answers unsat where sampling finds a point
 * of the unsafe set, and every sat comes with a real counterexample. */
#include "test_bound_models.h"

#include <math.h>
#include <stdio.h>

#include "../src/certify/property_internal.h"
#include "property.h"
#include "vnnlib.h"

/* normalize (2 channels) -> flatten -> dense 10 -> act -> dense 3 on 2x3x3
 * images: the layout of the zoo's MLPs. */
static void build_normalized_mlp(nn_model *m, test_rng *rng, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){2, 3, 3};
    nn_layer norm = layer_make(LAYER_NORMALIZE);
    norm.in_features = 2;
    norm.mean = test_rand_vec(rng, 2, 0.1, 0.5);
    norm.std = test_rand_vec(rng, 2, 0.2, 0.9);
    test_add_layer(m, norm);
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 18, 10);
    tb_act(m, rng, act, 10);
    tb_dense(m, rng, 10, 3);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* The region of any box, on a CNN, an MLP and an MLP behind normalize layers, is
 * the box itself as the engine computes it (max(c - eps, lo), min(c + eps, hi)),
 * bit for bit: clipped images, odd widths, zero widths, one wide input; and CROWN
 * on it bounds the outputs at the box's corners. Bad boxes are named. */
static void region_is_exactly_the_box(void **state)
{
    (void)state;
    test_rng rng = {11};
    for (int kind = 0; kind < 3; kind++) {
        nn_model m;
        if (kind == 0) tb_build_cnn(&m, &rng, LAYER_RELU);
        else if (kind == 1) tb_build_mlp(&m, &rng, LAYER_TANH);
        else build_normalized_mlp(&m, &rng, LAYER_RELU);
        size_t n = model_input_size(&m), k = model_output_size(&m);
        double lo[72], hi[72], x[72], y[8], eps = 0.03;
        assert_true(n <= 72 && k <= 8);
        for (int trial = 0; trial < 4; trial++) {
            for (size_t i = 0; i < n; i++) {
                double c = i % 5 == 0 ? 0.0 : i % 7 == 0 ? 1.0 : test_rng_uniform(&rng);
                lo[i] = fmax(c - eps, 0.0), hi[i] = fmin(c + eps, 1.0);  /* an image +- eps, clipped */
                if (trial >= 1 && i % 3 == 1) hi[i] = lo[i] + test_rng_range(&rng, 0, 0.2);
                if (trial >= 2 && i % 4 == 2) lo[i] = hi[i];
                if (trial == 3 && i == 1) lo[i] = -3.7, hi[i] = 0.70000000000000007;
            }
            nn_error err;
            prop_region r;
            assert_int_equal(prop_region_make(&m, lo, hi, &r, &err), NN_OK);
            assert_true(r.region.norm == NORM_INF && r.region.clip);
            const bound_region *g = &r.region;
            for (size_t i = 0; i < n; i++) {
                double rl = fmax(g->center[i] - g->eps, g->clip_lo_v[i]), rh = fmin(g->center[i] + g->eps, g->clip_hi_v[i]);
                if (rl != lo[i] || rh != hi[i])
                    fail_msg("model %d trial %d input %zu: region [%.17g, %.17g], box [%.17g, %.17g]", kind, trial, i,
                             rl, rh, lo[i], hi[i]);
            }
            bound_options o;
            bound_options_default(&o);
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&st, g, &err), NN_OK);
            assert_int_equal(bound_compute(&st, &err), NN_OK);
            for (int t = 0; t < 32; t++) {
                for (size_t i = 0; i < n; i++) x[i] = test_rng_uniform(&rng) < 0.5 ? lo[i] : hi[i];
                assert_int_equal(forward_run(&m, x, 1, y, &err), NN_OK);
                for (size_t j = 0; j < k; j++) assert_true(y[j] >= st.out_lower[j] && y[j] <= st.out_upper[j]);
            }
            bound_state_free(&st);
            prop_region_free(&r);
        }
        lo[2] = NAN;
        nn_error err;
        prop_region r;
        assert_int_equal(prop_region_make(&m, lo, hi, &r, &err), NN_EVALUE);
        assert_non_null(strstr(err.msg, "input 2"));
        lo[2] = 0.5, hi[2] = 0.25;
        assert_int_equal(prop_region_make(&m, lo, hi, &r, &err), NN_EVALUE);
        assert_non_null(strstr(err.msg, "not a finite interval"));
        model_free(&m);
    }
}

/* A random property on a random model, as VNN-LIB text: nb boxes x nc
 * conjunctions of nr rows each; right-hand sides near the sampled range of the
 * rows so that some properties hold and some do not. */
static size_t random_property(test_rng *rng, const nn_model *m, char *buf, size_t cap, int nb, int nc, int nr)
{
    size_t n = model_input_size(m), k = model_output_size(m), w = 0;
    double *x = malloc(n * sizeof *x), *y = malloc(k * sizeof *y), *a = malloc(k * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < n; i++) w += (size_t)snprintf(buf + w, cap - w, "(declare-const X_%zu Real)\n", i);
    for (size_t j = 0; j < k; j++) w += (size_t)snprintf(buf + w, cap - w, "(declare-const Y_%zu Real)\n", j);
    double *lo = malloc((size_t)nb * n * sizeof *lo), *hi = malloc((size_t)nb * n * sizeof *hi);
    assert_non_null(hi);
    w += (size_t)snprintf(buf + w, cap - w, "(assert (or\n");
    for (int b = 0; b < nb; b++) {
        w += (size_t)snprintf(buf + w, cap - w, " (and");
        for (size_t i = 0; i < n; i++) {
            double c = test_rng_range(rng, 0, 1), h = test_rng_uniform(rng) < 0.15 ? 0 : test_rng_range(rng, 0, 0.08);
            lo[b * n + i] = c - h, hi[b * n + i] = c + h;
            w += (size_t)snprintf(buf + w, cap - w, " (>= X_%zu %.17g) (<= X_%zu %.17g)", i, c - h, i, c + h);
        }
        w += (size_t)snprintf(buf + w, cap - w, ")\n");
    }
    w += (size_t)snprintf(buf + w, cap - w, "))\n(assert (or\n");
    nn_error err;
    for (int c = 0; c < nc; c++) {
        w += (size_t)snprintf(buf + w, cap - w, " (and");
        for (int r = 0; r < nr; r++) {
            for (size_t j = 0; j < k; j++) a[j] = test_rng_uniform(rng) < 0.3 ? 0 : test_rng_range(rng, -1, 1);
            double vmin = INFINITY, vmax = -INFINITY;
            for (int s = 0; s < 64; s++) {
                int b = (int)(test_rng_next(rng) % (uint64_t)nb);
                for (size_t i = 0; i < n; i++) x[i] = test_rng_range(rng, lo[b * n + i], hi[b * n + i]);
                assert_int_equal(forward_run(m, x, 1, y, &err), NN_OK);
                double v = 0;
                for (size_t j = 0; j < k; j++) v += a[j] * y[j];
                vmin = fmin(vmin, v), vmax = fmax(vmax, v);
            }
            double rhs = vmin - test_rng_range(rng, -0.3, 0.6) * (vmax - vmin + 1e-3);
            w += (size_t)snprintf(buf + w, cap - w, " (<= (+");
            for (size_t j = 0; j < k; j++) w += (size_t)snprintf(buf + w, cap - w, " (* %.17g Y_%zu)", a[j], j);
            w += (size_t)snprintf(buf + w, cap - w, ") %.17g)", rhs);
        }
        w += (size_t)snprintf(buf + w, cap - w, ")\n");
    }
    w += (size_t)snprintf(buf + w, cap - w, "))\n");
    assert_true(w < cap);
    free(x), free(y), free(a), free(lo), free(hi);
    return w;
}

/* A point of the outer unsafe set among samples of every box (corners included). */
static int sample_finds_point(const nn_model *m, const prop_spec *p, test_rng *rng, int samples)
{
    size_t n = p->n_x;
    double *x = malloc(n * sizeof *x), *y = malloc(p->n_y * sizeof *y);
    nn_error err;
    int hit = 0;
    for (size_t k = 0; k < p->n_cases && !hit; k++) {
        const double *lo = p->lo + p->case_box[k] * n, *hi = p->hi + p->case_box[k] * n;
        for (int s = 0; s < samples && !hit; s++) {
            for (size_t i = 0; i < n; i++)
                x[i] = s < 16 ? ((test_rng_next(rng) & 1) ? hi[i] : lo[i]) : test_rng_range(rng, lo[i], hi[i]);
            assert_int_equal(forward_run(m, x, 1, y, &err), NN_OK);
            size_t j = p->case_conj[k];
            int all = 1;
            for (size_t r = p->conj_start[j]; r < p->conj_start[j + 1] && all; r++) {
                double v = 0;
                for (size_t t = 0; t < p->n_y; t++) v += p->row[r * p->n_y + t] * y[t];
                all = v <= p->rhs[r];
            }
            hit = all;
        }
    }
    free(x), free(y);
    return hit;
}

static void verify_never_unsat_where_sampling_finds_a_point(void **state)
{
    (void)state;
    int counts[4] = {0};
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int t = 0; t < 60; t++) {
        test_rng rng = {1000 + (uint64_t)t};
        nn_model m;
        /* MLPs, CNNs and normalized MLPs: every box is a region exactly */
        if (t % 3 == 2) build_normalized_mlp(&m, &rng, tb_acts[t % TB_N_ACTS]);
        else tb_build(&m, &rng, t % 3, tb_acts[t % TB_N_ACTS]);
        int nb = 1 + t % 2, nc = 1 + (t / 2) % 2, nr = 1 + (t / 4) % 2;
        size_t len = random_property(&rng, &m, buf, cap, nb, nc, nr);
        prop_spec p;
        nn_error err;
        if (vnnlib_parse(buf, len, "random", NULL, &p, &err)) fail_msg("%s", err.msg);
        prop_options o;
        prop_options_default(&o);
        o.bopt.method = t % 4 == 3 ? METHOD_IBP : METHOD_CROWN;
        o.restarts = 3, o.steps = 40, o.seed = (uint64_t)t;
        prop_result r;
        if (prop_verify(&m, &p, &o, &r, &err)) fail_msg("%s", err.msg);
        counts[r.answer]++;
        int hit = sample_finds_point(&m, &p, &rng, 400);
        if (r.answer == PROP_UNSAT && hit) fail_msg("case %d: unsat but sampling found a point of the unsafe set", t);
        if (r.answer == PROP_SAT) {
            double *y = malloc(p.n_y * sizeof *y);
            assert_int_equal(forward_run(&m, r.x, 1, y, &err), NN_OK);
            size_t k = r.sat_case;
            assert_true(prop_box_holds(&p, p.case_box[k], r.x));
            assert_true(prop_conj_holds(&p, p.case_conj[k], y));
            free(y);
        }
        prop_result_free(&r);
        prop_spec_free(&p);
        model_free(&m);
    }
    free(buf);
    print_message("unsat %d, sat %d, unknown %d\n", counts[PROP_UNSAT], counts[PROP_SAT], counts[PROP_UNKNOWN]);
    /* the test is not vacuous: both answers occur */
    assert_true(counts[PROP_UNSAT] >= 5);
    assert_true(counts[PROP_SAT] >= 5);
}

static void directed_rounding_brackets_exact_results(void **state)
{
    (void)state;
    test_rng rng = {5};
    for (int t = 0; t < 2000; t++) {
        double a = test_rng_range(&rng, -1e3, 1e3), b = test_rng_range(&rng, -1, 1) * pow(10, test_rng_range(&rng, -8, 3));
        double su = prop_add_dir(a, b, 1), sd = prop_add_dir(a, b, -1);
        assert_true(sd <= su);
        /* su - a >= b exactly: TwoSum of su and -a */
        double d = su - a;
        assert_true(d > b || (d == b && prop_sum_err(su, -a, d) >= 0));
        d = sd - a;
        assert_true(d < b || (d == b && prop_sum_err(sd, -a, d) <= 0));
        double qu = prop_div_dir(a, b, 1), qd = prop_div_dir(a, b, -1);
        assert_true(qd <= qu);
        /* qu * b vs a, exactly by fma: qu >= a / b */
        double e = fma(qu, b, -a);
        assert_true(b > 0 ? e >= 0 : e <= 0);
        e = fma(qd, b, -a);
        assert_true(b > 0 ? e <= 0 : e >= 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(region_is_exactly_the_box),
        cmocka_unit_test(directed_rounding_brackets_exact_results),
        cmocka_unit_test(verify_never_unsat_where_sampling_finds_a_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
