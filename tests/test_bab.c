/* Branch and bound (src/certify/bab*.c, the engine's bound_subdomain): split
 * constraints hold on every sampled point of a sub-domain (CROWN, Fast-Lin, and
 * FROWN with its split multipliers, whose gradient is checked against central
 * differences and which reach the LP's bound where CROWN cannot), also where rows the
 * parent proved stable get no pass, reused layers are the bits a recomputation gives, an LP proves an empty sub-domain empty (and only
 * then), the frontier pops in its order, and verify --bab agrees with an exact
 * MILP on small nets, chains and residual graphs: never unsat where a point
 * violates, never sat without one, and never unknown on nets this small. */
#include "test_bound_models.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/bound/bound_frown.h"
#include "../src/certify/bab_frontier.h"
#include "../src/certify/bab_snapshot.h"
#include "byteorder.h"
#include "../src/certify/property_internal.h"
#include "certify.h"
#include "property.h"

/* Pre-activation z of layer L's input for the traced point: the output of the
 * layer it reads (on a residual graph not always L - 1), or x. */
static double pre_value(const nn_model *m, double **acts, const double *x, int L, size_t r)
{
    int k = model_layer_input(m, L, 0);
    return k < 0 ? x[r] : acts[k][r];
}

/* Random ReLU splits on neurons the unconstrained bounds leave unstable; n_split in all. */
static size_t random_splits(const nn_model *m, const bound_state *free_st, test_rng *rng, signed char **phase,
                            size_t want)
{
    size_t made = 0;
    for (size_t tries = 0; made < want && tries < 200; tries++) {
        int L = (int)(test_rng_uniform(rng) * m->n_layers);
        if (!free_st->pre_lower[L] || m->layers[L].type != LAYER_RELU) continue;
        size_t n = shape_size(m->layers[L].in), r = (size_t)(test_rng_uniform(rng) * (double)n);
        if (phase[L][r] || !(free_st->pre_lower[L][r] < 0 && free_st->pre_upper[L][r] > 0)) continue;
        phase[L][r] = test_rng_uniform(rng) < 0.5 ? -1 : 1;
        made++;
    }
    return made;
}

/* A random 4-10-8-3 ReLU net (m), a random centre (x0[4]), and st bounded by
 * `method` on the l_inf ball of radius 0.6 under 1 to max_splits random splits of
 * neurons unstable on the whole ball (phase[i] allocated per nonlinear layer, sub
 * pointing at them and left in st->sub). Returns the number of splits. */
static size_t split_sub_domain(test_rng *rng, bound_method method, size_t max_splits, nn_model *m, double *x0,
                               signed char **phase, bound_subdomain *sub, bound_state *st)
{
    tb_build_relu2(m, rng, 4, 10, 8, 3);
    for (int j = 0; j < 4; j++) x0[j] = test_rng_range(rng, -0.5, 0.5);
    bound_options o;
    bound_options_default(&o);
    o.method = method;
    bound_state free_st;
    tb_compute(m, &o, x0, NORM_INF, 0.6, 0, &free_st);
    for (int i = 0; i < m->n_layers; i++)
        if (free_st.pre_lower[i]) phase[i] = test_calloc(shape_size(m->layers[i].in), 1);
    size_t made = random_splits(m, &free_st, rng, phase, max_splits);
    assert_true(made > 0);
    bound_state_free(&free_st);
    *sub = (bound_subdomain){.phase = phase};
    nn_error err;
    bound_region R = {.center = x0, .eps = 0.6, .norm = NORM_INF};
    assert_int_equal(bound_state_init(st, m, &o, &err), NN_OK);
    assert_int_equal(bound_set_region(st, &R, &err), NN_OK);
    st->sub = sub;
    assert_int_equal(bound_compute(st, &err), NN_OK);
    return made;
}

/* `samples` points of R (n inputs) that satisfy the splits lie inside st's bounds
 * of every layer and, unless st is empty, the bounds lo/hi of its spec rows C
 * (rows x ny), widened by tol; an empty st fails at the first such point.
 * Returns how many satisfied the splits. */
static long points_inside_subdomain(test_rng *rng, const nn_model *m, const bound_region *R, size_t n,
                                    signed char *const *phase, const bound_state *st, const double *C, size_t rows,
                                    size_t ny, const double *lo, const double *hi, double tol, int samples, int net)
{
    double x[72], y[8];
    long checked = 0;
    nn_error err;
    assert_true(n <= 72 && ny <= 8);
    for (int s = 0; s < samples; s++) {
        tb_sample(rng, R, n, s % 3, x);
        double **acts;
        assert_int_equal(forward_trace(m, x, 1, &acts, &err), NN_OK);
        int inside = 1;
        for (int i = 0; i < m->n_layers && inside; i++)
            for (size_t r = 0; phase[i] && r < shape_size(m->layers[i].in); r++) {
                double z = pre_value(m, acts, x, i, r);
                if ((phase[i][r] > 0 && z < 0) || (phase[i][r] < 0 && z > 0)) inside = 0;
            }
        if (inside) {
            if (st->infeasible) fail_msg("net %d: sub-domain called empty, but sample %d satisfies its splits", net, s);
            for (int i = 0; i < m->n_layers; i++)
                for (size_t r = 0; st->pre_lower[i] && r < shape_size(m->layers[i].in); r++) {
                    double z = pre_value(m, acts, x, i, r);
                    if (!(z >= st->pre_lower[i][r] && z <= st->pre_upper[i][r]))
                        fail_msg("net %d layer %d neuron %zu: z = %.17g outside [%.17g, %.17g]", net, i, r, z,
                                 st->pre_lower[i][r], st->pre_upper[i][r]);
                }
            assert_int_equal(forward_run(m, x, 1, y, &err), NN_OK);
            for (size_t k = 0; k < rows; k++) {
                double v = 0;
                for (size_t j = 0; j < ny; j++) v += C[k * ny + j] * y[j];
                if (!(v >= lo[k] - tol && v <= hi[k] + tol))
                    fail_msg("net %d spec row %zu: %.17g outside [%.17g, %.17g]", net, k, v, lo[k], hi[k]);
            }
            checked++;
        }
        forward_trace_free(m, acts);
    }
    return checked;
}

/* Every sampled point of the region that satisfies the splits lies inside the
 * sub-domain's bounds (each layer, the split sides, the spec rows); an empty
 * verdict is only given where no sampled point satisfies them. */
static void split_constraints_hold_on_sampled_points(void **state)
{
    (void)state;
    test_rng rng = {2024};
    int nets = TEST_UNDER_SANITIZER ? 6 : 24, samples = TEST_UNDER_SANITIZER ? 400 : 3000;
    long checked = 0, empties = 0;
    for (int net = 0; net < nets; net++) {
        nn_model m;
        double x0[4];
        bound_state st;
        signed char *phase[16] = {0};
        bound_subdomain sub;
        nn_error err;
        bound_method method = net % 3 == 0 ? METHOD_FASTLIN : net % 3 == 1 ? METHOD_CROWN : METHOD_FROWN; /* betas */
        split_sub_domain(&rng, method, 1 + (size_t)(net % 4), &m, x0, phase, &sub, &st);
        bound_region R = st.region;
        double C[9] = {1, -1, 0, 0, 1, -1, -1, 0, 1}, lo[3], hi[3];
        if (!st.infeasible) {
            assert_int_equal(bound_spec(&st, C, 3, 3, NULL, lo, hi, &err), NN_OK);
            /* the split sides are in the bounds themselves */
            for (int i = 0; i < m.n_layers; i++)
                for (size_t r = 0; phase[i] && r < shape_size(m.layers[i].in); r++) {
                    if (phase[i][r] > 0) assert_true(st.pre_lower[i][r] >= 0);
                    if (phase[i][r] < 0) assert_true(st.pre_upper[i][r] <= 0);
                }
        } else {
            empties++;
            assert_int_not_equal(bound_spec(&st, C, 3, 3, NULL, lo, hi, &err), NN_OK);
        }
        checked += points_inside_subdomain(&rng, &m, &R, 4, phase, &st, C, 3, 3, lo, hi, 1e-12, samples, net);
        for (int i = 0; i < m.n_layers; i++) test_free(phase[i]);
        bound_state_free(&st);
        model_free(&m);
    }
    print_message("  %ld sampled points inside sub-domains checked, %ld sub-domains empty\n", checked, empties);
    assert_true(checked > 100);
}

/* st bounded by o on region R under sub, its flops counted from 0. */
static void bound_under(bound_state *st, const nn_model *m, const bound_options *o, const bound_region *R,
                        const bound_subdomain *sub)
{
    nn_error err;
    assert_int_equal(bound_state_init(st, m, o, &err), NN_OK);
    assert_int_equal(bound_set_region(st, R, &err), NN_OK);
    st->sub = sub;
    st->flops = 0;
    if (bound_compute(st, &err)) fail_msg("bound_compute: %s", err.msg);
}

/* A child domain bounded with its parent's bounds as prior skips the rows the
 * parent proved stable (bound_crown.c, stable_by_parent): on random MLPs and CNNs
 * under random splits, every sampled point that satisfies the splits lies inside
 * the child's bounds and spec rows, and the child does fewer GEMM flops than the
 * same child bounded without the prior (CROWN, Fast-Lin, FROWN with betas). The
 * rule itself: a CROWN or Fast-Lin child bounded again with its own bounds as the
 * prior, where every repeated pass gives the same bits, does fewer flops only by
 * the rows it skips (without the rule, the same flops: the test fails). */
static void parent_stable_rows_get_no_pass(void **state)
{
    (void)state;
    test_rng rng = {4711};
    int nets = TEST_UNDER_SANITIZER ? 6 : 24, samples = TEST_UNDER_SANITIZER ? 300 : 2000;
    double flops_prior = 0, flops_none = 0, flops_own = 0, flops_redo = 0;
    long checked = 0;
    for (int net = 0; net < nets; net++) {
        nn_model m;
        int cnn = net % 2;
        if (cnn) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_mlp(&m, &rng, LAYER_RELU);
        size_t nx = shape_size(m.input), ny = model_output_size(&m);
        double x0[72];
        for (size_t j = 0; j < nx; j++) x0[j] = test_rng_range(&rng, cnn ? 0.2 : -0.5, cnn ? 0.8 : 0.5);
        double eps = cnn ? 0.08 : 0.3;
        bound_options o;
        bound_options_default(&o);
        o.method = net % 3 == 0 ? METHOD_FASTLIN : net % 3 == 1 ? METHOD_CROWN : METHOD_FROWN;
        o.frown_iters = 10;
        bound_state root, with_prior, without;
        tb_compute(&m, &o, x0, NORM_INF, eps, 0, &root);
        signed char *phase[16] = {0};
        for (int i = 0; i < m.n_layers; i++)
            if (root.pre_lower[i]) phase[i] = test_calloc(shape_size(m.layers[i].in), 1);
        if (!random_splits(&m, &root, &rng, phase, 1 + (size_t)(net % 3))) {
            for (int i = 0; i < m.n_layers; i++) test_free(phase[i]);
            bound_state_free(&root);
            model_free(&m);
            continue;
        }
        bound_subdomain sub_prior = {.phase = phase, .prior_lower = root.pre_lower, .prior_upper = root.pre_upper};
        bound_subdomain sub_none = {.phase = phase};
        bound_region R = {.center = x0, .eps = eps, .norm = NORM_INF};
        nn_error err;
        bound_under(&with_prior, &m, &o, &R, &sub_prior);
        bound_under(&without, &m, &o, &R, &sub_none);
        flops_prior += with_prior.flops;
        flops_none += without.flops;
        if (o.method != METHOD_FROWN && !without.infeasible) {
            /* the child again with its own bounds as the prior: every pass it
             * repeats gives the same bits, so only the rule that skips the rows
             * those bounds prove stable can make its flops fewer (FROWN, whose
             * choice of rows to optimize reads the prior too, is left out) */
            bound_state again;
            bound_subdomain sub_own = {.phase = phase, .prior_lower = without.pre_lower,
                                       .prior_upper = without.pre_upper};
            bound_under(&again, &m, &o, &R, &sub_own);
            flops_own += again.flops;
            flops_redo += without.flops;
            bound_state_free(&again);
        }
        double C[12] = {0}, lo[4], hi[4];
        for (size_t k = 0; k + 1 < ny; k++) C[k * ny] = 1, C[k * ny + k + 1] = -1;
        if (!with_prior.infeasible) assert_int_equal(bound_spec(&with_prior, C, ny - 1, ny, NULL, lo, hi, &err), NN_OK);
        checked += points_inside_subdomain(&rng, &m, &R, nx, phase, &with_prior, C, ny - 1, ny, lo, hi, 0.0, samples,
                                           net);
        for (int i = 0; i < m.n_layers; i++) test_free(phase[i]);
        bound_state_free(&with_prior), bound_state_free(&without), bound_state_free(&root);
        model_free(&m);
    }
    print_message("  %ld sampled points inside sub-domains checked; GEMM flops with the parent's bounds %.0f, "
                  "without %.0f; CROWN and Fast-Lin children again with their own bounds %.0f, first %.0f\n",
                  checked, flops_prior, flops_none, flops_own, flops_redo);
    assert_true(checked > 100);
    assert_true(flops_prior < flops_none);
    assert_true(flops_own < flops_redo);
}

/* FROWN's split multipliers (beta): the hand-derived gradient d bound / d beta
 * (and d bound / d line) against central differences of the bound itself, on
 * random nets and random splits, at random lines and multipliers. */
static void beta_gradient_matches_differences(void **state)
{
    (void)state;
    test_rng rng = {77};
    int nets = TEST_UNDER_SANITIZER ? 4 : 16;
    size_t betas = 0;
    for (int net = 0; net < nets; net++) {
        nn_model m;
        double x0[4];
        bound_state st;
        signed char *phase[16] = {0};
        bound_subdomain sub;
        nn_error err;
        split_sub_domain(&rng, METHOD_FROWN, 2 + (size_t)(net % 3), &m, x0, phase, &sub, &st);
        if (!st.infeasible) {
            int top = m.n_layers;
            size_t V;
            assert_int_equal(bound_frown_vars(&st, top, &V, NULL, NULL, NULL, NULL, NULL, NULL, &err), NN_OK);
            double *lo = test_malloc(V * sizeof *lo), *hi = test_malloc(V * sizeof *hi);
            double *th = test_malloc(V * sizeof *th), *g = test_malloc(V * sizeof *g), *t2 = test_malloc(V * sizeof *t2);
            int *kind = test_malloc(V * sizeof *kind), *layer = test_malloc(V * sizeof *layer);
            size_t *neuron = test_malloc(V * sizeof *neuron);
            assert_int_equal(bound_frown_vars(&st, top, &V, lo, hi, NULL, layer, neuron, kind, &err), NN_OK);
            for (size_t v = 0; v < V; v++) {
                if (kind[v] == 2) {  /* a split neuron: its phase, a multiplier >= 0 */
                    assert_true(phase[layer[v]] && phase[layer[v]][neuron[v]] != 0);
                    assert_true(lo[v] == 0 && hi[v] == INFINITY);
                    th[v] = test_rng_range(&rng, 0.05, 2.0);
                    betas++;
                } else {
                    th[v] = lo[v] + test_rng_range(&rng, 0.2, 0.8) * (hi[v] - lo[v]);
                }
            }
            double C[3] = {1, -0.5, -0.5}, b0, gmax = 0;
            for (int sign = -1; sign <= 1; sign += 2) {
                assert_int_equal(bound_frown_probe(&st, top, 0, C, 0.25, sign, th, &b0, g, &err), NN_OK);
                for (size_t v = 0; v < V; v++) gmax = fmax(gmax, fabs(g[v]));
                for (size_t v = 0; v < V; v++) {
                    double h = 1e-6 * (kind[v] == 2 ? 1.0 : hi[v] - lo[v]), bp, bm;
                    memcpy(t2, th, V * sizeof *t2);
                    t2[v] += h;
                    assert_int_equal(bound_frown_probe(&st, top, 0, C, 0.25, sign, t2, &bp, NULL, &err), NN_OK);
                    t2[v] -= 2 * h;
                    assert_int_equal(bound_frown_probe(&st, top, 0, C, 0.25, sign, t2, &bm, NULL, &err), NN_OK);
                    double fd = (bp - bm) / (2 * h), tol = 1e-5 * (fabs(g[v]) + 1e-3 * gmax) + 1e-9 * (1 + fabs(b0));
                    if (fabs(fd - g[v]) > tol)
                        fail_msg("net %d: d bound / d var %zu (%s, layer %d neuron %zu) analytic %.10g, central "
                                 "difference %.10g", net, v, kind[v] == 2 ? "beta" : "line", layer[v], neuron[v],
                                 g[v], fd);
                }
            }
            test_free(lo), test_free(hi), test_free(th), test_free(g), test_free(t2);
            test_free(kind), test_free(layer), test_free(neuron);
        }
        for (int i = 0; i < m.n_layers; i++) test_free(phase[i]);
        bound_state_free(&st);
        model_free(&m);
    }
    print_message("  %zu split multipliers' derivatives checked\n", betas);
    assert_true(betas > (TEST_UNDER_SANITIZER ? 5u : 20u));
}

/* What the multipliers are for: y = relu(x1 + 2) on [-1, 1]^2 with the split
 * z_A = x1 + x2 - 0.5 >= 0 (unstable on the box). On the sub-domain x1 >= 0.5 - x2
 * >= -0.5, so min y = 1.5 (at x = (-0.5, 1)); a backward bound over the box gives
 * 1 (x1 = -1), and so does IBP. With beta = 1 the bound is min of
 * x1 + 2 - (x1 + x2 - 0.5) = 2.5 - x2, which is 1.5: FROWN's betas reach it (up to
 * Adam's last steps) and never pass it; without them FROWN stays at 1. */
static void betas_see_split_constraints(void **state)
{
    (void)state;
    nn_model m;
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){2, 1, 1};
    double w1[4] = {1, 1, 1, 0}, b1[2] = {-0.5, 2}, w2[2] = {0, 1}, b2[1] = {0};
    tb_dense_from(&m, 2, 2, w1, b1);
    tb_act(&m, NULL, LAYER_RELU, 2);
    tb_dense_from(&m, 2, 1, w2, b2);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    signed char p1[2] = {1, 0}, *phase[3] = {NULL, p1, NULL};
    bound_subdomain sub = {.phase = phase};
    double x0[2] = {0, 0}, C[1] = {1}, lo[2], hi;
    bound_region R = {.center = x0, .eps = 1, .norm = NORM_INF};
    for (int beta = 0; beta < 2; beta++) {
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_FROWN;
        o.frown_beta = beta;
        bound_state st;
        assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
        assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
        st.sub = &sub;
        assert_int_equal(bound_compute(&st, &err), NN_OK);
        assert_false(st.infeasible);
        assert_int_equal(bound_spec(&st, C, 1, 1, NULL, &lo[beta], &hi, &err), NN_OK);
        bound_state_free(&st);
    }
    print_message("  min y = 1.5 on the sub-domain: FROWN %.6f, with betas %.6f\n", lo[0], lo[1]);
    assert_true(fabs(lo[0] - 1.0) < 1e-9);
    assert_true(lo[1] > 1.45 && lo[1] <= 1.5);
    model_free(&m);
}

/* LeNet's shape in small: normalize, conv 1->2 3x3 pad 1, ReLU, conv 2->3 3x3
 * pad 1, ReLU (layer 4), MaxPool 2x2 stride 2 (layer 5, fed by that ReLU),
 * flatten, dense 12 -> 3, on 1x4x4 inputs. */
static void build_lenet_like(nn_model *m, test_rng *rng)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){1, 4, 4};
    tb_normalize(m, rng, 1);
    tb_conv(m, rng, 1, 2, 3, 1, (const int[4]){1, 1, 1, 1}, 0.8);
    tb_act(m, rng, LAYER_RELU, 2 * 4 * 4);
    tb_conv(m, rng, 2, 3, 3, 1, (const int[4]){1, 1, 1, 1}, 0.6);
    tb_act(m, rng, LAYER_RELU, 3 * 4 * 4);
    tb_pool(m, LAYER_MAXPOOL2D, 2, 2, 0);
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 12, 3);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* A child's layers up to its newest split, taken from the parent as they are, are
 * the bits that recomputing them gives (they depend only on constraints the
 * parent had); so are all later layers: on MLPs, and on a LeNet-like CNN split
 * in the ReLU under its MaxPool, whose rows the kept child takes from the parent
 * where the ReLU's neuron kept its bounds (bound_cone.c). */
static void kept_layers_are_the_recomputed_bits(void **state)
{
    (void)state;
    test_rng rng = {77};
    int cnn_rows_kept = 0;
    for (int net = 0; net < (TEST_UNDER_SANITIZER ? 8 : 32); net++) {
        nn_model m;
        int cnn = net >= (TEST_UNDER_SANITIZER ? 4 : 16);
        if (cnn) build_lenet_like(&m, &rng);
        else tb_build_relu2(&m, &rng, 5, 12, 10, 3);
        size_t nx = shape_size(m.input);
        double x0[16];
        for (size_t j = 0; j < nx; j++) x0[j] = test_rng_range(&rng, cnn ? 0.2 : -0.5, cnn ? 0.8 : 0.5);
        double eps = cnn ? 0.15 : 0.5;
        bound_options o;
        bound_options_default(&o);
        o.method = net % 2 ? METHOD_CROWN : METHOD_FROWN;
        o.frown_iters = 5;
        bound_state parent, a, b;
        tb_compute(&m, &o, x0, NORM_INF, eps, 0, &parent);
        /* split a neuron of the second ReLU's input (layer 3; the CNN's 4) */
        int L = cnn ? 4 : 3;
        size_t r = 0, n = shape_size(m.layers[L].in);
        while (r < n && !(parent.pre_lower[L][r] < 0 && parent.pre_upper[L][r] > 0)) r++;
        if (r == n) {
            bound_state_free(&parent);
            model_free(&m);
            continue;
        }
        signed char *phase[8] = {0};
        phase[L] = test_calloc(n, 1);
        phase[L][r] = net % 4 < 2 ? 1 : -1;
        bound_subdomain kept = {.phase = phase, .prior_lower = parent.pre_lower, .prior_upper = parent.pre_upper,
                                .keep_below = L + 1};
        bound_subdomain redo = kept;
        redo.keep_below = 0;
        bound_region R = {.center = x0, .eps = eps, .norm = NORM_INF};
        bound_under(&a, &m, &o, &R, &kept);
        bound_under(&b, &m, &o, &R, &redo);
        assert_false(a.infeasible);
        assert_false(b.infeasible);
        tb_assert_same_bounds(&m, &a, &b);
        assert_memory_equal(a.out_lower, b.out_lower, 3 * sizeof(double));
        if (cnn) {
            cnn_rows_kept += a.flops < b.flops;
            /* every layer the parent's but the first: only the first block's
             * flops; the child that recomputes the MaxPool above its split does
             * no more, since no row of it needs a pass of its own */
            bound_state c;
            bound_subdomain all = kept;
            all.keep_below = m.n_layers;
            bound_under(&c, &m, &o, &R, &all);
            assert_true(a.flops == c.flops);
            bound_state_free(&c);
        }
        test_free(phase[L]);
        bound_state_free(&a), bound_state_free(&b), bound_state_free(&parent);
        model_free(&m);
    }
    /* the kept child skipped the MaxPool rows the recomputation did */
    print_message("  the CNN's kept child did fewer GEMM flops than its recomputation in %d cases\n", cnn_rows_kept);
    assert_true(cnn_rows_kept > 0);
}

/* Convolutions without a MaxPool above the split: normalize, conv 1->2 3x3 pad 1,
 * ReLU (layer 2), conv 2->3 3x3 pad 1, ReLU (4), AvgPool 2x2 stride 2, conv 3->2
 * 3x3 stride 2 pad 1, ReLU (7), flatten, dense 8 -> 3, on 1x8x8 inputs. */
static void build_conv_stack(nn_model *m, test_rng *rng)
{
    nn_error err;
    const int pad1[4] = {1, 1, 1, 1};
    model_init(m);
    m->input = (nn_shape){1, 8, 8};
    tb_normalize(m, rng, 1);
    tb_conv(m, rng, 1, 2, 3, 1, pad1, 0.8);
    tb_act(m, rng, LAYER_RELU, 2 * 8 * 8);
    tb_conv(m, rng, 2, 3, 3, 1, pad1, 0.6);
    tb_act(m, rng, LAYER_RELU, 3 * 8 * 8);
    tb_pool(m, LAYER_AVGPOOL2D, 2, 2, 0);
    tb_conv(m, rng, 3, 2, 3, 2, pad1, 0.6);
    tb_act(m, rng, LAYER_RELU, 2 * 2 * 2);
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 8, 3);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* The stack of build_conv_stack as a residual graph: the second ReLU reads the
 * first plus a conv of it, the third an average pool of the second plus the
 * second, so a row's cone goes down both inputs of each add. The first add
 * reads the skip first and the second the branch first: a walk that followed
 * one input of an add only would miss a wider cone either way. */
static void build_conv_res_stack(nn_model *m, test_rng *rng)
{
    const int pad1[4] = {1, 1, 1, 1};
    model_init(m);
    m->input = (nn_shape){1, 8, 8};
    tb_normalize(m, rng, 1);                   /* 0 */
    tb_conv(m, rng, 1, 2, 3, 1, pad1, 0.8);    /* 1 */
    tb_act(m, rng, LAYER_RELU, 2 * 8 * 8);     /* 2: the split layer */
    tb_conv(m, rng, 2, 2, 3, 1, pad1, 0.6);    /* 3 */
    tb_add(m, 2, 3);                           /* 4: the skip first */
    tb_act(m, rng, LAYER_RELU, 2 * 8 * 8);     /* 5 */
    tb_pool(m, LAYER_AVGPOOL2D, 3, 1, 1);      /* 6 */
    tb_add(m, 6, 5);                           /* 7: the branch first */
    tb_act(m, rng, LAYER_RELU, 2 * 8 * 8);     /* 8 */
    tb_pool(m, LAYER_AVGPOOL2D, 2, 2, 0);      /* 9: 2x4x4 */
    tb_conv(m, rng, 2, 2, 3, 2, pad1, 0.6);    /* 10: 2x2x2 */
    tb_act(m, rng, LAYER_RELU, 2 * 2 * 2);     /* 11 */
    test_add_layer(m, layer_make(LAYER_FLATTEN));
    tb_dense(m, rng, 8, 3);
    tb_finalize_graph(m);
}

/* A CROWN or Fast-Lin child split in the first ReLU of a conv stack keeps the
 * parent's bounds for the rows whose receptive cone misses the split neuron
 * (bound_cone.c), through convolutions, strides and an average pool: its bounds
 * are the bits of the same child with every layer recomputed (keep_below 0, where
 * the rule does not apply), with fewer flops. A cone cut short (a window without
 * its kernel's extent) keeps rows the split tightens, and fails the bits. The
 * same on the residual stack, whose cones go down both inputs of its adds: a
 * walk that follows only one input keeps rows the split tightens through the
 * other, and fails the bits. */
static void rows_whose_cone_misses_the_split_keep_the_parent(void **state)
{
    (void)state;
    test_rng rng = {0xc0e};
    int fewer = 0, runs = 0, graph_runs = 0, chains = TEST_UNDER_SANITIZER ? 6 : 24;
    for (int net = 0; net < 2 * chains; net++) {
        nn_model m;
        if (net < chains) build_conv_stack(&m, &rng);
        else build_conv_res_stack(&m, &rng);
        double x0[64];
        for (size_t j = 0; j < 64; j++) x0[j] = test_rng_range(&rng, 0.2, 0.8);
        double eps = test_rng_range(&rng, 0.03, 0.12);
        bound_options o;
        bound_options_default(&o);
        o.method = net % 2 ? METHOD_CROWN : METHOD_FASTLIN;
        bound_state parent;
        tb_compute(&m, &o, x0, NORM_INF, eps, 0, &parent);
        const int L = 2;
        size_t n = shape_size(m.layers[L].in), unstable[128], nu = 0;
        for (size_t r = 0; r < n; r++)
            if (parent.pre_lower[L][r] < 0 && parent.pre_upper[L][r] > 0) unstable[nu++] = r;
        if (!nu) {
            bound_state_free(&parent);
            model_free(&m);
            continue;
        }
        signed char *phase[16] = {0};
        assert_true(m.n_layers <= 16);
        phase[L] = test_calloc(n, 1);
        phase[L][unstable[test_rng_next(&rng) % nu]] = net % 4 < 2 ? 1 : -1;
        bound_subdomain kept = {.phase = phase, .prior_lower = parent.pre_lower, .prior_upper = parent.pre_upper,
                                .keep_below = L + 1};
        bound_subdomain redo = kept;
        redo.keep_below = 0;
        bound_region R = {.center = x0, .eps = eps, .norm = NORM_INF};
        bound_state a, b;
        bound_under(&a, &m, &o, &R, &kept);
        bound_under(&b, &m, &o, &R, &redo);
        assert_int_equal(a.infeasible, b.infeasible);
        if (!a.infeasible) {
            tb_assert_same_bounds(&m, &a, &b);
            assert_memory_equal(a.out_lower, b.out_lower, 3 * sizeof(double));
            assert_memory_equal(a.out_upper, b.out_upper, 3 * sizeof(double));
            assert_true(a.flops <= b.flops);
            fewer += a.flops < b.flops;
            runs++;
            graph_runs += net >= chains;
        }
        test_free(phase[L]);
        bound_state_free(&a), bound_state_free(&b), bound_state_free(&parent);
        model_free(&m);
    }
    print_message("  %d children (%d on residual graphs), %d of them with fewer GEMM flops than their "
                  "recomputation\n", runs, graph_runs, fewer);
    assert_true(runs > 0 && graph_runs > 0 && fewer == runs);
}

/* Input halves share one state (bab.c, bound_domain): bounded one after another
 * on it, boxes (a point, one inside the last, the same box twice) get the bits a fresh state
 * gives each, for CROWN, FROWN (no warm start carried from box to box), CROWN-IBP
 * and LP-LAST, on an MLP and a CNN. */
static void reused_state_gives_each_box_its_own_bits(void **state)
{
    (void)state;
    test_rng rng = {0x4a1f};
    const bound_method ms[] = {METHOD_CROWN, METHOD_FROWN, METHOD_CROWN_IBP, METHOD_LP_LAST};
    for (int net = 0; net < 2; net++) {
        nn_model m;
        if (net) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_relu2(&m, &rng, 4, 10, 8, 3);
        size_t n = model_input_size(&m), ny = model_output_size(&m);
        double C[2 * 16];
        for (size_t q = 0; q < 2 * ny; q++) C[q] = q % (ny + 1) ? 0.5 : -1.0;
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            if (net && ms[mi] == METHOD_LP_LAST) continue; /* LP-LAST's CNN runs are slow; the MLP has it */
            bound_options o;
            bound_options_default(&o);
            o.method = ms[mi];
            o.frown_iters = 4;
            nn_error err;
            bound_state shared;
            assert_int_equal(bound_state_init(&shared, &m, &o, &err), NN_OK);
            shared.outputs_unused = 1;
            double *lo = test_malloc(2 * n * sizeof *lo), *hi = lo + n;
            for (int b = 0; b < 6; b++) {
                for (size_t j = 0; j < n; j++) {
                    double c = test_rng_range(&rng, 0.2, 0.8), w = b == 1 ? 0.0 : test_rng_range(&rng, 0.01, 0.15);
                    if (b == 4) c = (lo[j] + hi[j]) / 2, w = (hi[j] - lo[j]) / 4; /* inside the last box */
                    lo[j] = c - w, hi[j] = c + w;
                }
                for (int again = 0; again < (b == 5 ? 2 : 1); again++) {
                    prop_region reg;
                    assert_int_equal(prop_region_make(&m, lo, hi, &reg, &err), NN_OK);
                    bound_state fresh;
                    assert_int_equal(bound_state_init(&fresh, &m, &o, &err), NN_OK);
                    assert_int_equal(bound_set_region(&fresh, &reg.region, &err), NN_OK);
                    assert_int_equal(bound_compute(&fresh, &err), NN_OK);
                    bound_forget_warm(&shared);
                    assert_int_equal(bound_set_region(&shared, &reg.region, &err), NN_OK);
                    assert_int_equal(bound_compute(&shared, &err), NN_OK);
                    tb_assert_same_bounds(&m, &fresh, &shared);
                    tb_assert_same_spec(&fresh, &shared, C, 2, ny);
                    bound_state_free(&fresh);
                    prop_region_free(&reg);
                }
            }
            test_free(lo);
            bound_state_free(&shared);
        }
        model_free(&m);
    }
}

/* z_A = x1 + x2 / 2 and z_B = z_A + shift on [-1, 1]^2: A active and B inactive is
 * empty for shift = 1 (z_B >= 1) and not for shift = -1. Intervals do not see it;
 * the LP of LP-LAST must, with a certificate, and only when it is true. */
static void lp_proves_empty_sub_domains_empty(void **state)
{
    (void)state;
    for (int shift = -1; shift <= 1; shift += 2) {
        nn_model m;
        nn_error err;
        model_init(&m);
        m.input = (nn_shape){2, 1, 1};
        double w1[4] = {1, 0.5, 1, 0.5}, b1[2] = {0, shift}, w2[2] = {1, -2}, b2[1] = {0.1};
        tb_dense_from(&m, 2, 2, w1, b1);
        tb_act(&m, NULL, LAYER_RELU, 2);
        tb_dense_from(&m, 2, 1, w2, b2);
        assert_int_equal(model_finalize(&m, &err), NN_OK);
        signed char p1[2] = {1, -1}, *phase[3] = {NULL, p1, NULL};
        bound_subdomain sub = {.phase = phase};
        double x0[2] = {0, 0}, C[1] = {1}, lo, hi;
        bound_region R = {.center = x0, .eps = 1, .norm = NORM_INF};
        for (int method = 0; method < 2; method++) {
            bound_options o;
            bound_options_default(&o);
            o.method = method ? METHOD_LP_LAST : METHOD_CROWN;
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
            st.sub = &sub;
            assert_int_equal(bound_compute(&st, &err), NN_OK);
            assert_false(st.infeasible);  /* the intervals [0, 1.5] and [., 0] are not empty */
            assert_int_equal(bound_spec(&st, C, 1, 1, NULL, &lo, &hi, &err), NN_OK);
            if (method == 1 && shift == 1) {
                assert_true(st.infeasible);
                assert_true(lo == INFINITY && hi == -INFINITY);
            } else {
                assert_false(st.infeasible);
                assert_true(isfinite(lo) && isfinite(hi) && lo <= hi);
            }
            bound_state_free(&st);
        }
        model_free(&m);
    }
}

/* The interval check of bound_compute: with z_B = x1 + x2 / 2 + 3 >= 1.5 on
 * [-1, 1]^2, the split z_B <= 0 empties the sub-domain before any LP; z_B <= 0
 * with a shift of 1 (z_B >= -0.5) does not. (The sampled sub-domains of
 * split_constraints_hold_on_sampled_points are never empty, so this is where
 * the verdict is tested.) */
static void intervals_prove_contradictions_empty(void **state)
{
    (void)state;
    for (int shift = 1; shift <= 3; shift += 2) {
        nn_model m;
        nn_error err;
        model_init(&m);
        m.input = (nn_shape){2, 1, 1};
        double w1[4] = {1, 0.5, 1, 0.5}, b1[2] = {0, shift}, w2[2] = {1, -2}, b2[1] = {0.1};
        tb_dense_from(&m, 2, 2, w1, b1);
        tb_act(&m, NULL, LAYER_RELU, 2);
        tb_dense_from(&m, 2, 1, w2, b2);
        assert_int_equal(model_finalize(&m, &err), NN_OK);
        signed char p1[2] = {0, -1}, *phase[3] = {NULL, p1, NULL};
        bound_subdomain sub = {.phase = phase};
        double x0[2] = {0, 0}, C[1] = {1}, lo, hi;
        bound_region R = {.center = x0, .eps = 1, .norm = NORM_INF};
        bound_options o;
        bound_options_default(&o);
        bound_state st;
        assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
        assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
        st.sub = &sub;
        assert_int_equal(bound_compute(&st, &err), NN_OK);
        assert_int_equal(st.infeasible, shift == 3);
        assert_int_equal(bound_spec(&st, C, 1, 1, NULL, &lo, &hi, &err) == NN_OK, shift != 3);
        bound_state_free(&st);
        model_free(&m);
    }
}

/* Pops come out best-first (key, then id), or deepest-first once switched. */
/* A snapshot whose frontier is the root alone (depth 0, no splits): what a
 * search keeps when its timeout passes right after the root was bounded. It was
 * refused on resume ("depth 0 out of range"), so such a run could not be
 * continued. Both kinds of domain come back with their fields; a domain whose
 * split count disagrees with its depth is still refused. */
static void snapshots_keep_the_root(void **state)
{
    (void)state;
    nn_error err;
    for (int relu = 0; relu <= 1; relu++) {
        double lo[2] = {-1, 0.5}, hi[2] = {1, 0.75}, pre[6] = {-1, -2, 0.25, 1, 2, 0.5};
        unsigned char open[2] = {1, 0}, proven[2] = {0, 0};
        bab_domain root = {.id = 0, .depth = 0, .key = -0.125, .worst_row = 1, .volume = 1.0, .open = open};
        if (relu) root.pre = pre;
        else root.lo = lo, root.hi = hi;
        bab_domain *dom[1] = {&root};
        bab_snapshot s = {.n_cases = 2, .proven = proven, .relu = relu, .nc = 2, .n_x = 2, .pre_n = 3,
                          .next_id = 1, .n_domains = 1, .dom = dom};
        unsigned char *bytes;
        size_t len;
        assert_int_equal(bab_snapshot_encode(&s, &bytes, &len, &err), NN_OK);
        bab_snapshot back;
        int rc = bab_snapshot_decode(bytes, len, &back, &err);
        if (rc) fail_msg("%s", err.msg);
        assert_int_equal(back.n_domains, 1);
        const bab_domain *d = back.dom[0];
        assert_int_equal(d->depth, 0);
        assert_int_equal(d->n_splits, 0);
        assert_true(d->key == -0.125 && d->worst_row == 1 && d->volume == 1.0);
        assert_memory_equal(d->open, open, 2);
        if (relu) assert_memory_equal(d->pre, pre, sizeof pre);
        else assert_memory_equal(d->lo, lo, sizeof lo), assert_memory_equal(d->hi, hi, sizeof hi);
        bab_snapshot_free(&back);
        free(bytes);
        if (!relu) continue;
        /* depth 1 with no split recorded: inconsistent, refused */
        root.depth = 1;
        assert_int_equal(bab_snapshot_encode(&s, &bytes, &len, &err), NN_OK);
        assert_int_equal(bab_snapshot_decode(bytes, len, &back, &err), NN_EFORMAT);
        assert_non_null(strstr(err.msg, "depth 1 has 0 splits"));
        free(bytes);
    }
}

/* Warm starts in a snapshot (format 2): a domain with one and a domain without
 * come back as they were; a value that was no float is refused; a format-1
 * snapshot (written before warm starts: no warm_n) still reads, with none. */
/* Two input halves of [-1, 1] x [0.5, 0.75] with two open disjuncts (ids 1 and
 * 2, nothing carried yet) and the snapshot s of them; the caller gives a what it
 * carries. */
typedef struct {
    double lo[2], hi[2];
    unsigned char open[2], proven[2];
    bab_domain a, b, *dom[2];
} half_pair;

static void half_pair_init(half_pair *h, bab_snapshot *s)
{
    *h = (half_pair){.lo = {-1, 0.5}, .hi = {1, 0.75}, .open = {1, 1}};
    h->a = (bab_domain){.id = 1, .depth = 1, .key = -0.5, .worst_row = 0, .volume = 0.5, .lo = h->lo, .hi = h->hi,
                        .open = h->open};
    h->b = h->a;
    h->b.id = 2;
    h->dom[0] = &h->a, h->dom[1] = &h->b;
    *s = (bab_snapshot){.n_cases = 2, .proven = h->proven, .relu = 0, .nc = 2, .n_x = 2, .next_id = 3,
                        .n_domains = 2, .dom = h->dom};
}

static void snapshots_carry_warm_starts(void **state)
{
    (void)state;
    nn_error err;
    float warm[3] = {0.25f, NAN, 1e-3f};
    half_pair h;
    bab_snapshot s;
    half_pair_init(&h, &s);
    h.a.warm = warm;
    s.warm_n = 3;
    const double *lo = h.lo;
    unsigned char *bytes;
    size_t len;
    assert_int_equal(bab_snapshot_encode(&s, &bytes, &len, &err), NN_OK);
    bab_snapshot back;
    if (bab_snapshot_decode(bytes, len, &back, &err)) fail_msg("%s", err.msg);
    assert_int_equal(back.warm_n, 3);
    assert_non_null(back.dom[0]->warm);
    assert_null(back.dom[1]->warm);
    assert_true(back.dom[0]->warm[0] == 0.25f && isnan(back.dom[0]->warm[1]) && back.dom[0]->warm[2] == 1e-3f);
    bab_snapshot_free(&back);
    /* the last domain's last value, 1e-3 as a double: not a float */
    size_t b_bytes = 5 * 8 + 2 + 2 * 2 * 8 + 1;  /* domain b: the header, open, its box, its flag */
    le_put_f64(bytes + len - b_bytes - 8, 1e-3);
    assert_int_equal(bab_snapshot_decode(bytes, len, &back, &err), NN_EFORMAT);
    assert_non_null(strstr(err.msg, "not a float"));
    free(bytes);
    /* format 1: the same without warm_n and the flags */
    s.warm_n = 0;
    assert_int_equal(bab_snapshot_encode(&s, &bytes, &len, &err), NN_OK);
    size_t warm_at = len - 2 * (5 * 8 + 2 + 2 * 2 * 8) - 8 - 8;  /* warm_n, then n_domains */
    assert_true(le_get_u64(bytes + warm_at) == 0 && le_get_u64(bytes + warm_at + 8) == 2);
    memmove(bytes + warm_at, bytes + warm_at + 8, len - warm_at - 8);
    memcpy(bytes, "NNBABSN1", 8);
    if (bab_snapshot_decode(bytes, len - 8, &back, &err)) fail_msg("%s", err.msg);
    assert_int_equal(back.warm_n, 0);
    assert_int_equal(back.n_domains, 2);
    assert_null(back.dom[0]->warm);
    assert_memory_equal(back.dom[1]->lo, lo, 2 * sizeof *lo);
    bab_snapshot_free(&back);
    free(bytes);
}

/* Input halves carry their layers' bounds for their children (format 3): a
 * domain's pre round-trips as its bits, one without them stays without, a
 * format-2 file reads (its halves never have bounds), and a format-2 file that
 * claims bounds for halves is refused. */
static void snapshots_carry_half_bounds(void **state)
{
    (void)state;
    nn_error err;
    double pre[6] = {-0.5, 0.0, -1e-300, 0.25, 1.5, 2.0};
    half_pair h;
    bab_snapshot s;
    half_pair_init(&h, &s);
    h.a.pre = pre;
    s.pre_n = 3;
    const double *lo = h.lo, *hi = h.hi;
    unsigned char *bytes;
    size_t len;
    assert_int_equal(bab_snapshot_encode(&s, &bytes, &len, &err), NN_OK);
    assert_memory_equal(bytes, "NNBABSN3", 8);
    bab_snapshot back;
    if (bab_snapshot_decode(bytes, len, &back, &err)) fail_msg("%s", err.msg);
    assert_int_equal(back.pre_n, 3);
    assert_non_null(back.dom[0]->pre);
    assert_memory_equal(back.dom[0]->pre, pre, sizeof pre);
    assert_null(back.dom[1]->pre);
    assert_memory_equal(back.dom[1]->hi, hi, 2 * sizeof *hi);
    bab_snapshot_free(&back);
    /* one byte short: the last domain's flag is missing */
    assert_int_equal(bab_snapshot_decode(bytes, len - 1, &back, &err), NN_EFORMAT);
    memcpy(bytes, "NNBABSN2", 8);
    assert_int_equal(bab_snapshot_decode(bytes, len, &back, &err), NN_EFORMAT);
    assert_non_null(strstr(err.msg, "input halves with 3 bounds"));
    free(bytes);
    /* format 2 wrote pre_n 0 for halves: the same bytes with the version changed read */
    s.pre_n = 0;
    assert_int_equal(bab_snapshot_encode(&s, &bytes, &len, &err), NN_OK);
    memcpy(bytes, "NNBABSN2", 8);
    if (bab_snapshot_decode(bytes, len, &back, &err)) fail_msg("%s", err.msg);
    assert_null(back.dom[0]->pre);
    assert_memory_equal(back.dom[0]->lo, lo, 2 * sizeof *lo);
    bab_snapshot_free(&back);
    free(bytes);
}

static void frontier_pops_in_order(void **state)
{
    (void)state;
    test_rng rng = {5};
    bab_frontier f;
    bab_frontier_init(&f);
    nn_error err;
    uint64_t id = 0;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 20; k++) {
            bab_domain *d = calloc(1, sizeof *d);
            d->id = id++;
            d->depth = (int)(test_rng_uniform(&rng) * 8);
            d->key = floor(test_rng_range(&rng, -5, 5)); /* ties on key: id decides */
            assert_int_equal(bab_frontier_push(&f, d, &err), NN_OK);
        }
        if (round == 25) bab_frontier_set_depth_first(&f, 1);
        for (int k = 0; k < 15; k++) {
            bab_domain *d = bab_frontier_pop(&f);
            assert_non_null(d);
            /* nothing left in the frontier goes before the popped one */
            for (size_t i = 0; i < f.n; i++) {
                const bab_domain *e = f.item[i];
                if (f.depth_first) assert_true(e->depth < d->depth || (e->depth == d->depth && (e->key > d->key ||
                                                                       (e->key == d->key && e->id > d->id))));
                else assert_true(e->key > d->key || (e->key == d->key && e->id > d->id));
            }
            bab_domain_free(d);
        }
    }
    bab_frontier_free(&f);
    assert_null(bab_frontier_pop(&f));
}

/* A property of one box and one row: row . Y <= rhs. */
static void one_row_property(prop_spec *p, size_t nx, const double *lo, const double *hi, const double *row,
                             size_t ny, double rhs)
{
    prop_spec_init(p);
    p->n_x = nx, p->n_y = ny, p->n_boxes = 1, p->n_conj = 1, p->n_rows = 1, p->n_cases = 1;
    p->lo = malloc(nx * sizeof(double)), p->hi = malloc(nx * sizeof(double));
    p->lo_in = malloc(nx * sizeof(double)), p->hi_in = malloc(nx * sizeof(double));
    memcpy(p->lo, lo, nx * sizeof(double)), memcpy(p->lo_in, lo, nx * sizeof(double));
    memcpy(p->hi, hi, nx * sizeof(double)), memcpy(p->hi_in, hi, nx * sizeof(double));
    p->conj_start = malloc(2 * sizeof(size_t));
    p->conj_start[0] = 0, p->conj_start[1] = 1;
    p->row = malloc(ny * sizeof(double));
    memcpy(p->row, row, ny * sizeof(double));
    p->rhs = malloc(sizeof(double)), p->rhs_in = malloc(sizeof(double));
    p->rhs[0] = p->rhs_in[0] = rhs;
    p->case_box = calloc(1, sizeof(size_t)), p->case_conj = calloc(1, sizeof(size_t));
}

/* The exact minimum of row . f(x) over the box by MILP: [lower, incumbent]. */
static int milp_minimum(const nn_model *m, const double *lo, const double *hi, const double *row, double *lower,
                        double *incumbent)
{
    nn_error err;
    prop_region reg;
    assert_int_equal(prop_region_make(m, lo, hi, &reg, &err), NN_OK);
    bound_options o;
    bound_options_default(&o);
    o.method = METHOD_MILP;
    bound_state st;
    assert_int_equal(bound_state_init(&st, m, &o, &err), NN_OK);
    assert_int_equal(bound_set_region(&st, &reg.region, &err), NN_OK);
    assert_int_equal(bound_compute(&st, &err), NN_OK);
    double up;
    assert_int_equal(bound_spec(&st, row, 1, model_output_size(m), NULL, lower, &up, &err), NN_OK);
    bound_milp_row mr;
    const double *pt;
    assert_int_equal(bound_milp_result(&st, 0, &mr, &pt), 0);
    *incumbent = mr.incumbent;
    bound_state_free(&st);
    prop_region_free(&reg);
    return mr.proven;
}

/* A random search problem: a 2-hidden-layer ReLU net with nx inputs and 3
 * outputs, a box (wide for input splits, narrow for ReLU splits), one output
 * row, and the row's exact minimum over the box by MILP ([lower, incumbent]).
 * 0, with nothing to free, when the MILP does not finish. */
static int random_search(test_rng *rng, int mode, int nx, nn_model *m, double *lo, double *hi, double *row,
                         double *milp_lo, double *milp_inc)
{
    tb_build_relu2(m, rng, nx, 10, 8, 3);
    for (int j = 0; j < nx; j++) {
        double c = test_rng_range(rng, -0.5, 0.5);
        double h = mode == BAB_SPLIT_INPUT ? test_rng_range(rng, 0.3, 1.0) : test_rng_range(rng, 0.05, 0.25);
        lo[j] = c - h, hi[j] = c + h;
    }
    for (int k = 0; k < 3; k++) row[k] = test_rng_range(rng, -1, 1);
    if (milp_minimum(m, lo, hi, row, milp_lo, milp_inc)) return 1;
    model_free(m);
    return 0;
}

/* verify --bab with o (a weak PGD, so that the search itself must decide) on
 * row . y <= rhs over the box [lo, hi], against the row's MILP minimum
 * [milp_lo, milp_inc]: with rhs below it (side 0) unsat, with a proven margin
 * no larger than the MILP point allows; above the incumbent (side 1) sat, with
 * a point of the box whose exact forward pass violates. Counts the answer and
 * the domains; returns 1 if it used batches. */
static int search_against_milp(const nn_model *m, prop_options *o, int side, const double *row, size_t ny,
                               const double *lo, const double *hi, size_t nx, double rhs, double milp_lo,
                               double milp_inc, const char *what, int *answers, long *domains, long *tree)
{
    prop_spec p;
    one_row_property(&p, nx, lo, hi, row, ny, rhs);
    o->bab.enabled = 1;
    o->timeout = 60;
    o->steps = 2, o->restarts = 1;
    prop_result r;
    nn_error err;
    if (prop_verify(m, &p, o, &r, &err)) fail_msg("%s: %s", what, err.msg);
    answers[r.answer]++;
    *domains += r.bab.domains;
    if (r.answer == PROP_UNSAT && !(r.bab.proven_margin > 0 && r.bab.proven_margin <= milp_inc - rhs + 1e-9))
        fail_msg("%s: proven margin %.17g, but the MILP point gives %.17g", what, r.bab.proven_margin, milp_inc - rhs);
    if ((side == 0 && r.answer != PROP_UNSAT) || (side == 1 && r.answer != PROP_SAT))
        fail_msg("%s side %d: %s, MILP minimum in [%.17g, %.17g], rhs %.17g (%ld domains, %ld proven, %ld open, %ld "
                 "not splittable, depth %d)", what, side, prop_answer_name(r.answer), milp_lo, milp_inc, rhs,
                 r.bab.domains, r.bab.leaves_proven, r.bab.open, r.bab.stuck, r.bab.depth);
    if (r.answer == PROP_SAT) {
        double y[8], v = 0;
        assert_true(ny <= 8);
        assert_int_equal(forward_run(m, r.x, 1, y, &err), NN_OK);
        for (size_t k = 0; k < ny; k++) v += row[k] * y[k];
        assert_true(v <= rhs);
        for (size_t j = 0; j < nx; j++) assert_true(r.x[j] >= lo[j] && r.x[j] <= hi[j]);
    }
    int batches = r.bab.used_batches != 0;
    if (tree) tree[0] = r.bab.domains, tree[1] = r.bab.leaves_proven, tree[2] = r.bab.leaves_empty, tree[3] = r.answer;
    prop_result_free(&r);
    prop_spec_free(&p);
    return batches;
}

/* A counterexample that gradients do not reach: y0 - y1 <= 0 with y1 = sum_i
 * relu(x_i - 0.9) and y0 = 1.9 on [0, 1]^20 holds only near the corner of ones.
 * PGD from the centre sees no gradient, and from a random point it lifts the
 * few coordinates above 0.9; the root's linear bound is smallest at that
 * corner, so the search's first domain must try it (its spec row's point,
 * bound_state.spec_points) and answer sat, by ReLU phases and by input halves,
 * with CROWN and with FROWN, and in batches (FROWN's and CROWN's of input
 * halves, CROWN's of ReLU phases). Without the points, by ReLU phases, the search
 * bounded 1,103 domains to find it at an LP leaf (and before the LP leaves got
 * their points, answered unknown after 1,491). */
static void bound_minimizers_are_tried(void **state)
{
    (void)state;
    enum { N = 20 };
    double w1[N * N] = {0}, b1[N], w2[2 * N] = {0}, b2[2] = {1.9, 0}, lo[N], hi[N], row[2] = {1, -1};
    for (int i = 0; i < N; i++) w1[i * N + i] = 1, b1[i] = -0.9, w2[N + i] = 1, lo[i] = 0, hi[i] = 1;
    nn_model m;
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){N, 1, 1};
    tb_dense_from(&m, N, N, w1, b1);
    tb_act(&m, NULL, LAYER_RELU, N);
    tb_dense_from(&m, N, 2, w2, b2);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    for (int k = 0; k < 7; k++) {
        prop_spec p;
        one_row_property(&p, N, lo, hi, row, 2, 0.0);
        prop_options o;
        prop_options_default(&o);
        o.bab.enabled = 1;
        o.bab.split = k % 2 ? BAB_SPLIT_INPUT : BAB_SPLIT_RELU;
        o.bopt.method = k / 2 == 1 ? METHOD_FROWN : METHOD_CROWN;
        if (k == 4) o.bab.split = BAB_SPLIT_INPUT, o.bopt.method = METHOD_FROWN, o.bab.unit = 8; /* verify's default */
        /* CROWN's batches (verify's default): of ReLU phases (5), of input halves (6) */
        if (k >= 5) o.bab.unit = 8, o.bab.split = k == 5 ? BAB_SPLIT_RELU : BAB_SPLIT_INPUT;
        o.steps = 2, o.restarts = 1, o.timeout = 60;
        prop_result r;
        assert_int_equal(prop_verify(&m, &p, &o, &r, &err), NN_OK);
        int batched = k == 4 || k == 5 || k == 6;
        if (r.answer != PROP_SAT || r.bab.domains != 1 || (r.bab.used_batches != 0) != batched)
            fail_msg("split %d %s unit %zu: %s after %ld domains", (int)o.bab.split, bound_method_name(o.bopt.method),
                     o.bab.unit, prop_answer_name(r.answer), r.bab.domains);
        double y[2];
        assert_int_equal(forward_run(&m, r.x, 1, y, &err), NN_OK);
        assert_true(y[0] - y[1] <= 0);
        prop_result_free(&r);
        prop_spec_free(&p);
    }
    model_free(&m);
}

static void bab_agrees_with_milp(void **state)
{
    (void)state;
    test_rng rng = {31337};
    int nets = TEST_UNDER_SANITIZER ? 4 : 20, answers[4] = {0}, batched = 0, frown = 0, frown_relu = 0;
    long domains = 0;
    for (int net = 0; net < nets; net++) {
        /* input splits on few wide inputs (ACAS Xu-like), ReLU splits on more,
         * narrower ones (local robustness-like): each where auto picks it */
        int mode = net % 2 ? BAB_SPLIT_RELU : BAB_SPLIT_INPUT;
        nn_model m;
        int nx = mode == BAB_SPLIT_INPUT ? 2 + net % 3 : 8;
        double lo[8], hi[8], row[3], milp_lo, milp_inc;
        if (!random_search(&rng, mode, nx, &m, lo, hi, row, &milp_lo, &milp_inc)) continue;
        /* the right-hand side on either side of the exact minimum, at a known gap */
        double gap = 0.02 * (fabs(milp_inc) + 1);
        for (int side = 0; side < 2; side++) {
            double rhs = side ? milp_inc + gap : milp_lo - gap;
            for (int auto_mode = 0; auto_mode < 2; auto_mode++) {
                prop_options o;
                prop_options_default(&o);
                o.bab.split = auto_mode ? BAB_SPLIT_AUTO : (bab_split)mode;
                o.bab.batch = 1 + (size_t)(net % 4);
                o.bab.candidates = 1 + (size_t)(net / 2 % 4);
                /* alone (auto) and in batches of 3 to 8, input halves and ReLU
                 * phases, so units end part-filled (bound_batch_run) */
                o.bab.unit = auto_mode ? 1 : 3 + (size_t)(net % 6);
                /* every other net of each mode with FROWN (batched too): input
                 * halves with its spec rows' lines, ReLU phases with every
                 * layer's and split multipliers */
                if (net % 4 < 2) {
                    o.bopt.method = METHOD_FROWN, frown++;
                    frown_relu += mode == BAB_SPLIT_RELU && !auto_mode;
                }
                char what[64];
                snprintf(what, sizeof what, "net %d mode %d", net, mode);
                long tree[4], alone[4];
                batched += search_against_milp(&m, &o, side, row, 3, lo, hi, (size_t)nx, rhs, milp_lo, milp_inc, what,
                                               answers, &domains, tree);
                if (o.bopt.method == METHOD_FROWN && mode == BAB_SPLIT_RELU && o.bab.unit > 1) {
                    /* FROWN's batched children get the bounds they get alone
                     * (segments of one optimization), so one at a time must grow
                     * the same tree */
                    int again[4] = {0};
                    long again_domains = 0;
                    o.bab.unit = 1;
                    search_against_milp(&m, &o, side, row, 3, lo, hi, (size_t)nx, rhs, milp_lo, milp_inc, what,
                                        again, &again_domains, alone);
                    if (memcmp(tree, alone, sizeof tree))
                        fail_msg("%s side %d: in units %ld domains, %ld proven, %ld empty; alone %ld, %ld, %ld", what,
                                 side, tree[0], tree[1], tree[2], alone[0], alone[1], alone[2]);
                }
            }
        }
        model_free(&m);
    }
    print_message("  unsat %d, sat %d, %ld domains bounded, %d searches in batches, %d with FROWN (%d ReLU phases "
                  "in batches)\n", answers[PROP_UNSAT], answers[PROP_SAT], domains, batched, frown, frown_relu);
    assert_true(answers[PROP_UNSAT] > 0 && answers[PROP_SAT] > 0 && batched > 0 && frown > 0 && frown_relu > 0);
}

/* On a net with MaxPool no ReLU split removes a pool's relaxation, so a leaf
 * whose ReLUs are all decided can stay open by its bounds and its LP; its MILP
 * (binaries for the pools' undecided candidate inputs, none left for ReLUs) is
 * exact on the leaf and decides it (bab.c lp_leaf). Small CNNs (conv 3x3 to 2
 * channels, ReLU, a 2x2 MaxPool, dense) on random boxes, the row's MILP
 * minimum over the box: the search by ReLU phases (CROWN, Fast-Lin) answers
 * unsat below it and sat above it. Without the leaves' MILP bounds the first
 * net's unsat side ends unknown with 40 leaves not splittable (3,754 domains). */
static void maxpool_leaves_close_by_their_milp(void **state)
{
    (void)state;
    test_rng rng = {1337};
    int nets = TEST_UNDER_SANITIZER ? 3 : 10, answers[4] = {0};
    long domains = 0;
    for (int net = 0; net < nets; net++) {
        nn_model m;
        nn_error err;
        model_init(&m);
        m.input = (nn_shape){1, 4, 4};
        tb_conv(&m, &rng, 1, 2, 3, 1, (const int[4]){1, 1, 1, 1}, 0.8);
        tb_act(&m, &rng, LAYER_RELU, 2 * 4 * 4);
        tb_pool(&m, LAYER_MAXPOOL2D, 2, 2, 0);
        test_add_layer(&m, layer_make(LAYER_FLATTEN));
        tb_dense(&m, &rng, 8, 3);
        assert_int_equal(model_finalize(&m, &err), NN_OK);
        size_t nx = shape_size(m.input), ny = model_output_size(&m);
        double lo[16], hi[16], row[3], milp_lo, milp_inc;
        assert_true(nx <= 16 && ny == 3);
        for (size_t j = 0; j < nx; j++) {
            double c = test_rng_range(&rng, 0.2, 0.8);
            lo[j] = c - 0.07, hi[j] = c + 0.07;
        }
        for (size_t k = 0; k < ny; k++) row[k] = test_rng_range(&rng, -1, 1);
        if (!milp_minimum(&m, lo, hi, row, &milp_lo, &milp_inc)) {
            model_free(&m);
            continue;
        }
        double gap = 0.02 * (fabs(milp_inc) + 1);
        for (int side = 0; side < 2; side++) {
            prop_options po;
            prop_options_default(&po);
            po.bopt.method = net % 2 ? METHOD_FASTLIN : METHOD_CROWN;
            po.bab.split = BAB_SPLIT_RELU;
            char what[64];
            snprintf(what, sizeof what, "MaxPool net %d", net);
            search_against_milp(&m, &po, side, row, ny, lo, hi, nx, side ? milp_inc + gap : milp_lo - gap, milp_lo,
                                milp_inc, what, answers, &domains, NULL);
        }
        model_free(&m);
    }
    print_message("  MaxPool nets: unsat %d, sat %d, %ld domains bounded\n", answers[PROP_UNSAT], answers[PROP_SAT],
                  domains);
    assert_true(answers[PROP_UNSAT] > 0 && answers[PROP_SAT] > 0);
}

static int count_save(void *ctx, const unsigned char *bytes, size_t len, nn_error *err)
{
    (void)bytes, (void)len, (void)err;
    ++*(int *)ctx;
    return NN_OK;
}

/* A search cut by its timeout leaves a snapshot to continue from (verify
 * --checkpoint), unless the caller keeps the timeout as its answer
 * (bab_options.timeout_final: vnncomp, which then drops the checkpoint; a
 * LeNet frontier's snapshot took 28 s past a 60 s timeout there). */
static void a_final_timeout_writes_no_snapshot(void **state)
{
    (void)state;
    test_rng rng = {99};
    nn_model m;
    build_lenet_like(&m, &rng);
    size_t nx = shape_size(m.input), ny = model_output_size(&m);
    double lo[16], hi[16], row[3];
    for (size_t j = 0; j < nx; j++) {
        double c = test_rng_range(&rng, 0.2, 0.8);
        lo[j] = c - 0.15, hi[j] = c + 0.15;
    }
    for (size_t k = 0; k < ny; k++) row[k] = test_rng_range(&rng, -1, 1);
    double milp_lo, milp_inc;
    milp_minimum(&m, lo, hi, row, &milp_lo, &milp_inc);
    for (int final = 0; final < 2; final++) {
        prop_spec p;
        one_row_property(&p, nx, lo, hi, row, ny, milp_lo - 0.02 * (fabs(milp_lo) + 1));
        prop_options o;
        prop_options_default(&o);
        o.bab.enabled = 1, o.bab.split = BAB_SPLIT_RELU, o.timeout = 0.3;
        int saves = 0;
        o.bab.save = count_save, o.bab.save_ctx = &saves, o.bab.save_every = 1000, o.bab.timeout_final = final;
        prop_result r;
        nn_error err;
        assert_int_equal(prop_verify(&m, &p, &o, &r, &err), NN_OK);
        if (r.answer != PROP_TIMEOUT) fail_msg("%s after %ld domains, not a timeout", prop_answer_name(r.answer), r.bab.domains);
        assert_int_equal(saves, final ? 0 : 1);
        prop_result_free(&r);
        prop_spec_free(&p);
    }
    model_free(&m);
}

/* Residual graphs (tb_build_res: a dense one, conv blocks with pools in their
 * branches, conv forks): random ReLU splits hold on sampled points, as on chains
 * (CROWN, and FROWN with its split multipliers, through the graph's passes), and
 * verify --bab by ReLU phases agrees with an exact MILP on either side of the
 * row's minimum over the box, with CROWN and with FROWN, on the graphs without
 * MaxPool. On the family with an overlapping MaxPool (k3 s1) in a branch the
 * search cannot close the pool's relaxation, which no ReLU split removes: there
 * it must only never answer wrong (measured on its nets: LP-ALL's root bound
 * -0.11 against the MILP minimum -0.0088, and 15 s of search left it open). */
static void residual_bab_agrees_with_milp(void **state)
{
    (void)state;
    test_rng rng = {8086};
    int nets = TEST_UNDER_SANITIZER ? 3 : 12, answers[4] = {0};
    long checked = 0, domains = 0, splits = 0;
    for (int net = 0; net < nets; net++) {
        int fam = net % TB_N_RES;
        nn_model m;
        tb_build_res(&m, &rng, fam, LAYER_RELU);
        size_t nx = shape_size(m.input), ny = model_output_size(&m);
        /* box sizes measured, not tuned to pass: on the first nine nets CROWN leaves
         * 13-33 ReLUs unstable on the graphs checked against MILP, whose MILPs took
         * 0.02-0.51 s (26-48 on the MaxPool family, which is not) */
        double x0[72], lo[72], hi[72], row[4], milp_lo = 0, milp_inc = 0, eps = fam == 0 ? 0.15 : 0.015;
        assert_true(nx <= 72 && ny <= 4);
        for (size_t j = 0; j < nx; j++) {
            x0[j] = test_rng_range(&rng, -0.5, 0.5);
            lo[j] = x0[j] - eps, hi[j] = x0[j] + eps;
        }
        for (size_t k = 0; k < ny; k++) row[k] = test_rng_range(&rng, -1, 1);
        bound_region R = {.center = x0, .eps = eps, .norm = NORM_INF};
        int exact = fam != 1 && milp_minimum(&m, lo, hi, row, &milp_lo, &milp_inc);
        for (int frown = 0; frown < 2; frown++) {
            /* split constraints on sampled points */
            bound_options o;
            bound_options_default(&o);
            o.method = frown ? METHOD_FROWN : METHOD_CROWN;
            bound_state free_st, st;
            signed char *phase[32] = {0};
            assert_true(m.n_layers <= 32);
            tb_compute(&m, &o, x0, NORM_INF, eps, 0, &free_st);
            for (int i = 0; i < m.n_layers; i++)
                if (free_st.pre_lower[i]) phase[i] = test_calloc(shape_size(m.layers[i].in), 1);
            size_t made = random_splits(&m, &free_st, &rng, phase, 1 + (size_t)(net % 4));
            bound_state_free(&free_st);
            if (made) {
                bound_subdomain sub = {.phase = phase};
                double blo[4], bhi[4];
                nn_error err;
                assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
                assert_int_equal(bound_set_region(&st, &R, &err), NN_OK);
                st.sub = &sub;
                assert_int_equal(bound_compute(&st, &err), NN_OK);
                if (!st.infeasible) assert_int_equal(bound_spec(&st, row, 1, ny, NULL, blo, bhi, &err), NN_OK);
                checked += points_inside_subdomain(&rng, &m, &R, nx, phase, &st, row, 1, ny, blo, bhi, 1e-12,
                                                   TEST_UNDER_SANITIZER ? 200 : 1000, net);
                splits += (long)made;
                bound_state_free(&st);
            }
            for (int i = 0; i < m.n_layers; i++) test_free(phase[i]);
            if (!exact) continue;
            /* the search on either side of the exact minimum */
            double gap = 0.02 * (fabs(milp_inc) + 1);
            for (int side = 0; side < 2; side++) {
                prop_options po;
                prop_options_default(&po);
                po.bopt.method = o.method;
                po.bab.split = BAB_SPLIT_RELU;
                po.bab.batch = 1 + (size_t)(net % 3);
                char what[64];
                snprintf(what, sizeof what, "net %d (family %d, %s)", net, fam, frown ? "frown" : "crown");
                search_against_milp(&m, &po, side, row, ny, lo, hi, nx, side ? milp_inc + gap : milp_lo - gap, milp_lo,
                                    milp_inc, what, answers, &domains, NULL);
            }
        }
        model_free(&m);
    }
    print_message("  residual graphs: unsat %d, sat %d, %ld domains bounded; %ld splits, %ld sampled points inside "
                  "them\n", answers[PROP_UNSAT], answers[PROP_SAT], domains, splits, checked);
    assert_true(answers[PROP_UNSAT] > 0 && answers[PROP_SAT] > 0 && checked > 100);
}

/* Two processes of a group, as two threads: bab_options.share through a
 * barrier, the holder's bytes copied by the other. */
typedef struct {
    pthread_barrier_t bar;
    const unsigned char *bytes;
    size_t len;
    int rc;
    nn_error err;
} share_pipe;

typedef struct {
    share_pipe *pipe;
    const nn_model *m;
    const prop_spec *p;
    prop_options o;
    prop_result r;
    int rc;
    nn_error err;
} share_side;

static int pipe_share(void *ctx, int rc, unsigned char **bytes, size_t *len, nn_error *err)
{
    share_side *me = ctx;
    share_pipe *q = me->pipe;
    if (me->o.bab.holder) q->bytes = *bytes, q->len = *len, q->rc = rc, q->err = *err;
    pthread_barrier_wait(&q->bar);
    int out = q->rc ? q->rc : rc;
    if (q->rc && !me->o.bab.holder) *err = q->err;
    if (!out && !me->o.bab.holder) {
        *bytes = malloc(q->len ? q->len : 1);
        memcpy(*bytes, q->bytes, q->len);
        *len = q->len;
    }
    pthread_barrier_wait(&q->bar);  /* the holder frees its bytes only after the copy */
    return out;
}

static void *side_run(void *arg)
{
    share_side *me = arg;
    me->rc = prop_verify(me->m, me->p, &me->o, &me->r, &me->err);
    return NULL;
}

/* A group's frontier lives on its holder (bab_options.share): a member keeps
 * only each round's domains, and both end with the answer, counterexample and
 * tree of one process. Random ReLU nets by input halves and by ReLU phases, on
 * both sides of the MILP minimum, every search run alone and as a pair. */
static void a_holder_keeps_the_frontier(void **state)
{
    (void)state;
    test_rng rng = {4242};
    int nets = TEST_UNDER_SANITIZER ? 2 : 8, searched = 0;
    for (int net = 0; net < nets; net++) {
        int mode = net % 2 ? BAB_SPLIT_RELU : BAB_SPLIT_INPUT;
        nn_model m;
        int nx = mode == BAB_SPLIT_INPUT ? 3 : 8;
        double lo[8], hi[8], row[3], milp_lo, milp_inc;
        if (!random_search(&rng, mode, nx, &m, lo, hi, row, &milp_lo, &milp_inc)) continue;
        double gap = 0.02 * (fabs(milp_inc) + 1);
        for (int side = 0; side < 2; side++) {
            prop_spec p;
            one_row_property(&p, (size_t)nx, lo, hi, row, 3, side ? milp_inc + gap : milp_lo - gap);
            prop_options o;
            prop_options_default(&o);
            o.bab.enabled = 1, o.bab.split = (bab_split)mode, o.bab.batch = 2, o.bab.candidates = 2;
            o.steps = 2, o.restarts = 1;
            prop_result alone;
            nn_error err;
            if (prop_verify(&m, &p, &o, &alone, &err)) fail_msg("net %d: %s", net, err.msg);
            share_pipe pipe;
            memset(&pipe, 0, sizeof pipe);
            pthread_barrier_init(&pipe.bar, NULL, 2);
            share_side two[2];
            pthread_t t[2];
            for (int k = 0; k < 2; k++) {
                memset(&two[k], 0, sizeof two[k]);
                two[k].pipe = &pipe, two[k].m = &m, two[k].p = &p, two[k].o = o;
                two[k].o.bab.share = pipe_share, two[k].o.bab.share_ctx = &two[k], two[k].o.bab.holder = k == 0;
                assert_int_equal(pthread_create(&t[k], NULL, side_run, &two[k]), 0);
            }
            for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
            pthread_barrier_destroy(&pipe.bar);
            for (int k = 0; k < 2; k++) {
                if (two[k].rc) fail_msg("net %d, side %d, %s: %s", net, side, k ? "member" : "holder", two[k].err.msg);
                const prop_result *r = &two[k].r;
                assert_int_equal(r->answer, alone.answer);
                assert_int_equal(r->bab.domains, alone.bab.domains);
                assert_int_equal(r->bab.rounds, alone.bab.rounds);
                assert_int_equal(r->bab.leaves_proven, alone.bab.leaves_proven);
                assert_int_equal(r->bab.open, alone.bab.open);
                assert_int_equal(r->bab.depth, alone.bab.depth);
                if (alone.answer == PROP_SAT) assert_memory_equal(r->x, alone.x, (size_t)nx * sizeof *r->x);
            }
            /* the holder held what one process holds; the member a round's batch */
            assert_int_equal(two[0].r.bab.frontier_peak, alone.bab.frontier_peak);
            assert_true(two[1].r.bab.frontier_peak <= (long)o.bab.batch);
            if (alone.bab.frontier_peak > (long)o.bab.batch) searched++;
            for (int k = 0; k < 2; k++) prop_result_free(&two[k].r);
            prop_result_free(&alone);
            prop_spec_free(&p);
        }
        model_free(&m);
    }
    print_message("  %d searches whose frontier outgrew a round's batch\n", searched);
    assert_true(searched > 0);
}

/* An executor that runs a round's items one at a time, last first, as members
 * that finish out of order would; it counts the calls whose items are one job
 * wide (LP jobs, in batches) right after a call of units of `unit` jobs: rounds
 * whose LP jobs went apart from the others (bab.c run_jobs). */
typedef struct {
    size_t unit, last_width;
    int mixed;
} scatter_exec;

static int scatter_run(void *ctx, size_t n, size_t width, bab_jobs_fn jobs, void *jobs_ctx, double *out,
                       nn_error *err)
{
    scatter_exec *x = ctx;
    if (x->last_width == width * x->unit && x->unit > 1) x->mixed++;
    x->last_width = width;
    for (size_t i = n; i-- > 0;) {
        int rc = jobs(jobs_ctx, i, i + 1, out + i * width, err);
        if (rc) return rc;
    }
    return NN_OK;
}

/* In batches, a round's LP jobs go out apart from the units of the others and
 * their rows are put back in job order (doc/bab.md "Over MPI"). A row read
 * into another domain is an error, so a wrong permutation fails the search;
 * with every item run apart and last first, the search must grow the tree and
 * give the answer of the same units run in order here. CROWN, ReLU phases,
 * units of 4, on random nets on both sides of the MILP minimum, where leaves
 * that cannot be split go to their LP. */
static void lp_jobs_apart_keep_the_tree(void **state)
{
    (void)state;
    test_rng rng = {777};
    int nets = TEST_UNDER_SANITIZER ? 4 : 8, mixed = 0;
    for (int net = 0; net < nets; net++) {
        nn_model m;
        double lo[8], hi[8], row[3], milp_lo, milp_inc;
        if (!random_search(&rng, BAB_SPLIT_RELU, 8, &m, lo, hi, row, &milp_lo, &milp_inc)) continue;
        double gap = 0.002 * (fabs(milp_inc) + 1);
        for (int side = 0; side < 2; side++) {
            prop_spec p;
            one_row_property(&p, 8, lo, hi, row, 3, side ? milp_inc + gap : milp_lo - gap);
            prop_options o;
            prop_options_default(&o);
            o.bab.enabled = 1, o.bab.split = BAB_SPLIT_RELU, o.bab.unit = 4, o.bab.batch = 4;
            o.steps = 2, o.restarts = 1, o.timeout = 60;
            prop_result here, apart;
            nn_error err;
            if (prop_verify(&m, &p, &o, &here, &err)) fail_msg("net %d: %s", net, err.msg);
            scatter_exec x = {o.bab.unit, 0, 0};
            o.bab.exec = scatter_run, o.bab.exec_ctx = &x;
            if (prop_verify(&m, &p, &o, &apart, &err)) fail_msg("net %d, items apart: %s", net, err.msg);
            assert_int_equal(apart.answer, here.answer);
            assert_int_equal(apart.bab.domains, here.bab.domains);
            assert_int_equal(apart.bab.leaves_proven, here.bab.leaves_proven);
            assert_int_equal(apart.bab.leaves_empty, here.bab.leaves_empty);
            assert_int_equal(apart.bab.open, here.bab.open);
            assert_true(apart.bab.proven_margin == here.bab.proven_margin);
            if (here.answer == PROP_SAT) assert_memory_equal(apart.x, here.x, 8 * sizeof *here.x);
            mixed += x.mixed;
            prop_result_free(&here);
            prop_result_free(&apart);
            prop_spec_free(&p);
        }
        model_free(&m);
    }
    print_message("  %d rounds whose LP jobs went apart from units of other jobs\n", mixed);
    assert_true(mixed > 0);
}

/* The clipped l_inf ball B(x0, eps), rounded outward. */
static void ball_box(const double *x0, int n, double eps, double *lo, double *hi)
{
    for (int i = 0; i < n; i++) {
        lo[i] = fmax(prop_add_dir(x0[i], -eps, -1), 0.0);
        hi[i] = fmin(prop_add_dir(x0[i], eps, 1), 1.0);
    }
}

/* The exact smallest margin min_j z_c - z_j over the ball by MILP: [lower, incumbent]. */
static void milp_margin(const nn_model *m, const double *x0, int n, double eps, int c, double *lower,
                        double *incumbent)
{
    double lo[8], hi[8], row[3];
    ball_box(x0, n, eps, lo, hi);
    *lower = *incumbent = INFINITY;
    for (int j = 0; j < 3; j++) {
        if (j == c) continue;
        for (int k = 0; k < 3; k++) row[k] = (k == c) - (k == j);
        double l, inc;
        assert_true(milp_minimum(m, lo, hi, row, &l, &inc));
        *lower = fmin(*lower, l), *incumbent = fmin(*incumbent, inc);
    }
}

/* certify --bab: the radius search asks branch and bound at every eps the bounds
 * leave uncertified. Its radius is safe (no MILP point at the radius goes below
 * the margin it reports), it is complete (at the smallest uncertified eps an
 * actual point reaches a non-positive margin), and it is larger than CROWN's. */
/* A radius branch and bound certified has a certificate (doc/radius.md
 * "Certificates"): through its bytes and on a fresh verifier, the search at the
 * radius with the recorded domain count gives the row's margin bit for bit; with
 * half the domains it does not certify (the count is what the replay needs, not
 * decoration). */
static void bab_certificate_replays(const nn_model *m, const bound_options *bo, const cert_task_options *to,
                                    const double *x0, const cert_verifier *v, const cert_result *row)
{
    nn_error err;
    cert_certificate c, back;
    assert_int_equal(cert_certificate_of(v, x0, &c, &err), 1);
    assert_true(c.bab_domains > 0);
    assert_memory_equal(&c.path[c.n_path - 1], &row->radius, sizeof row->radius);
    assert_memory_equal(&c.margin, &row->margin, sizeof row->margin);
    size_t n = cert_certificate_bytes(&c);
    unsigned char *b = malloc(n);
    cert_certificate_pack(&c, b);
    assert_int_equal(b[0], CERT_CERTIFICATE_VERSION_BAB);
    assert_int_equal(cert_certificate_unpack(b, n, &back, &err), NN_OK);
    free(b);
    assert_int_equal(back.bab_domains, c.bab_domains);
    cert_verifier fresh;
    assert_int_equal(cert_verifier_init(&fresh, m, bo, &err), NN_OK);
    double margin;
    assert_int_equal(cert_replay(&fresh, &back, x0, to, row->index, row->pred, row->target, &margin, &err), NN_OK);
    assert_memory_equal(&margin, &row->margin, sizeof margin);
    assert_true(cert_certificate_matches(&fresh, &back, margin));
    back.bab_domains = c.bab_domains / 2;
    if (back.bab_domains > 0) {
        assert_int_equal(cert_replay(&fresh, &back, x0, to, row->index, row->pred, row->target, &margin, &err), NN_OK);
        assert_false(margin > 0);
    }
    cert_task_options plain = *to;
    plain.bab.enabled = 0;
    assert_int_equal(cert_replay(&fresh, &back, x0, &plain, row->index, row->pred, row->target, &margin, &err), NN_EARG);
    cert_verifier_free(&fresh);
    cert_certificate_free(&back);
    cert_certificate_free(&c);
}

static void certify_bab_radius_is_exact(void **state)
{
    (void)state;
    test_rng rng = {4242};
    int nets = TEST_UNDER_SANITIZER ? 2 : 8, n = 8, larger = 0, replayed = 0;
    double sum_crown = 0, sum_bab = 0;
    for (int net = 0; net < nets; net++) {
        nn_model m;
        tb_build_relu2(&m, &rng, n, 6, 5, 3);  /* 11 ReLUs: at most 2^12 domains per eps */
        double x0[8], logits[3];
        for (int i = 0; i < n; i++) x0[i] = test_rng_range(&rng, 0.2, 0.8);
        nn_error err;
        assert_int_equal(forward_run(&m, x0, 1, logits, &err), NN_OK);
        bound_options bo;
        bound_options_default(&bo);
        cert_verifier v;
        assert_int_equal(cert_verifier_init(&v, &m, &bo, &err), NN_OK);
        cert_task_options to;
        memset(&to, 0, sizeof to);
        to.norm = NORM_INF, to.clip = 1;
        cert_search_options_default(&to.search, NORM_INF, (size_t)n);
        to.search.rtol = 1e-2;
        cert_result crown, bab;
        assert_int_equal(cert_run_task(&v, &to, x0, logits, 0, 0, CERT_UNTARGETED, &crown, &err), NN_OK);
        bab_options_default(&to.bab);
        to.bab.enabled = 1;
        /* ReLU phases: 11 neurons end every search; input halves of 8 free
         * inputs may need millions of boxes near the radius (as may ReLU phases
         * of bigger nets without beta-CROWN's multipliers) */
        to.bab.split = BAB_SPLIT_RELU;
        to.bab.candidates = 1 + (size_t)(net % 3);
        /* every other net in units of 8, certify's default with CROWN (the
         * radius is then checked against MILP for batched searches too) */
        to.bab.unit = net % 2 ? 8 : 1;
        to.bab_timeout = 60;
        if (cert_run_task(&v, &to, x0, logits, 0, 0, CERT_UNTARGETED, &bab, &err)) fail_msg("net %d: %s", net, err.msg);
        assert_int_equal(bab.status, crown.status == CERT_CERTIFIED ? CERT_CERTIFIED : bab.status);
        int c = bab.pred;
        double lower, inc;
        if (bab.radius > 0) {
            milp_margin(&m, x0, n, bab.radius, c, &lower, &inc);
            if (!(bab.margin > 0 && bab.margin <= inc + 1e-9))
                fail_msg("net %d: radius %.17g with margin %.17g, but a MILP point gives %.17g", net, bab.radius,
                         bab.margin, inc);
        }
        if (isfinite(bab.hi) && bab.hi < 1.0) {
            milp_margin(&m, x0, n, bab.hi, c, &lower, &inc);
            if (!(inc <= 1e-9))
                fail_msg("net %d: eps %.17g left uncertified, but the MILP minimum is %.17g (incumbent %.17g); "
                         "%ld domains, %.1f s", net, bab.hi, lower, inc, v.bab_domains, bab.seconds);
        }
        sum_crown += crown.radius, sum_bab += bab.radius;
        larger += bab.radius > crown.radius;
        if (bab.radius > crown.radius) {
            bab_certificate_replays(&m, &bo, &to, x0, &v, &bab);
            replayed++;
        }
        cert_verifier_free(&v);
        model_free(&m);
    }
    print_message("  mean radius: CROWN %.5f, with branch and bound %.5f (larger on %d of %d nets)\n",
                  sum_crown / nets, sum_bab / nets, larger, nets);
    assert_true(sum_bab > sum_crown && larger > 0);
    assert_int_equal(replayed, larger);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frontier_pops_in_order),
        cmocka_unit_test(snapshots_keep_the_root),
        cmocka_unit_test(snapshots_carry_warm_starts),
        cmocka_unit_test(snapshots_carry_half_bounds),
        cmocka_unit_test(lp_proves_empty_sub_domains_empty),
        cmocka_unit_test(intervals_prove_contradictions_empty),
        cmocka_unit_test(kept_layers_are_the_recomputed_bits),
        cmocka_unit_test(rows_whose_cone_misses_the_split_keep_the_parent),
        cmocka_unit_test(reused_state_gives_each_box_its_own_bits),
        cmocka_unit_test(split_constraints_hold_on_sampled_points),
        cmocka_unit_test(parent_stable_rows_get_no_pass),
        cmocka_unit_test(beta_gradient_matches_differences),
        cmocka_unit_test(betas_see_split_constraints),
        cmocka_unit_test(bound_minimizers_are_tried),
        cmocka_unit_test(bab_agrees_with_milp),
        cmocka_unit_test(residual_bab_agrees_with_milp),
        cmocka_unit_test(maxpool_leaves_close_by_their_milp),
        cmocka_unit_test(a_final_timeout_writes_no_snapshot),
        cmocka_unit_test(a_holder_keeps_the_frontier),
        cmocka_unit_test(lp_jobs_apart_keep_the_tree),
        cmocka_unit_test(certify_bab_radius_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
