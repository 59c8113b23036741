/* The bound engine against an independent LP solver (COIN-OR Clp), doc/lp.md
 * "LP check" (doc/bounds.md "Checks that need no other tool" has the others).
 *
 * The LP is built here from the model's weights and the engine's committed
 * relaxation only (st->lines, st->pools, st->pre_lower/pre_upper), never from the
 * backward kernel: a variable per value of every layer output and per input,
 *   affine layers      v_i = M_i v_{i-1} + b_i      (dense, conv, normalize,
 *                                                    avgpool, flatten; M_i written
 *                                                    out here from the weights)
 *   activations        sL z + tL <= a <= sU z + tU
 *   MaxPool            sum c_k z_k + bL <= y <= sum a_k z_k + bU
 *   nonlinear inputs   l <= z <= u   (the committed bounds)
 *   input              the l_inf box (clipped), or the l1 ball through
 *                      x = x0 + p - q, p, q >= 0, sum(p + q) <= eps (and the clip box).
 * The LP of a nonlinear layer's input uses the layers before it and not its own box.
 *
 * Theorem 1 of frown-fastened-crown (doc/lp.md "Why CROWN equals the LP optimum"):
 * CROWN's bound is the optimum of this LP when (1) each neuron has exactly one
 * upper and one lower line (one plane each side for MaxPool), (2) the LP uses the
 * same lines as CROWN, and (3) both are self-consistent: the lines of a layer are
 * built once from its bounds and used for every neuron after it. The engine's
 * CROWN and Fast-Lin satisfy all three.
 * The boxes l <= z <= u are then redundant (the bounds are the minimum and maximum
 * of z over the relaxed set itself), which is why equality also needs the bounds
 * to be CROWN's own: no IBP intersection and no IBP-only stable neurons
 * (intersect_ibp = skip_stable = 0). With those on, or with LBP's bounds, the
 * boxes can cut and only "engine bound <= LP optimum" holds (the backward pass
 * minimizes over a superset), which is asserted instead. */
#include "lp_reference.h"

#define LP_EQ_TOL 1e-7 /* relative agreement asked of CROWN and Clp (Clp tolerances 1e-9) */

/* Engine bound e against LP optimum v, side -1 for a lower bound (sound: e <= v)
 * and +1 for an upper bound (e >= v): -1 tighter than the LP (unsound), 0 equal
 * within LP_EQ_TOL relative, 1 looser. */
static int lp_verdict(double e, double v, int side)
{
    double tol = LP_EQ_TOL * (1 + fabs(v));
    double gap = side < 0 ? v - e : e - v;
    return gap < -tol ? -1 : gap > tol ? 1 : 0;
}

/* What is being checked, for failure messages. */
static char lp_ctx[256];

static void set_ctx(const nn_model *m, const bound_state *st)
{
    snprintf(lp_ctx, sizeof lp_ctx, "%s %s lines %s pool %s norm %s eps %g clip %d", m->name ? m->name : "model",
             bound_method_name(st->opt.method), line_strategy_name(st->opt.strategy), pool_method_name(st->opt.pool),
             norm_name(st->region.norm), st->region.eps, st->region.clip);
}

/* Fails on an unsound bound, and with eq on any difference; returns 1 if looser. */
static int compare(double e, double v, int side, int eq, const char *what, int layer, size_t k)
{
    int vd = lp_verdict(e, v, side);
    if (vd < 0)
        fail_msg("%s: %s layer %d row %zu: engine %.17g is tighter than the LP optimum %.17g", lp_ctx, what, layer, k,
                 e, v);
    if (eq && vd > 0)
        fail_msg("%s: %s layer %d row %zu: engine %.17g differs from the LP optimum %.17g", lp_ctx, what, layer, k, e,
                 v);
    return vd > 0;
}

/* Bounds of nonlinear layer i's input against the LPs of its neurons (min and
 * max) built from the layers before it. Returns the number of strictly looser. */
static int check_layer_lp(const bound_state *st, int i, int eq)
{
    lp_build P;
    lp_make(&P, st, i, 0);
    lp_solver S;
    lp_solver_init(&S, &P);
    size_t n = shape_size(st->model->layers[i].in);
    int first = in_col(&P, i, 0), looser = 0;
    /* the sanitizer build: every third neuron (the LPs are the cost; the code
     * paths are the same) */
    for (size_t k = 0; k < n; k += TEST_UNDER_SANITIZER ? 3 : 1) {
        double one = 1.0, minus = -1.0;
        double lo = lp_min(&S, first + (int)k, &one, 1), hi = -lp_min(&S, first + (int)k, &minus, 1);
        looser += compare(st->pre_lower[i][k], lo, -1, eq, "lower", i, k);
        looser += compare(st->pre_upper[i][k], hi, +1, eq, "upper", i, k);
    }
    lp_solver_free(&S);
    lp_build_free(&P);
    return looser;
}

/* Every nonlinear layer's bounds and the margins of st against the LP of st's own
 * relaxation. eq: assert equality (Theorem 1), else only soundness. The margins
 * are st's method's without the interval tail (for CROWN the backward pass, as
 * the theorem is about it). Returns the number of LP optima strictly tighter. */
static int check_against_lp(bound_state *st, int eq, int check_layers)
{
    const nn_model *m = st->model;
    nn_error err;
    int looser = 0;
    set_ctx(m, st);
    for (int i = 0; check_layers && i < m->n_layers; i++)
        if (st->pre_lower[i]) looser += check_layer_lp(st, i, eq);
    size_t no = model_output_size(m);
    double *C = malloc(no * no * sizeof *C), *lb = malloc(no * sizeof *lb);
    assert_true(C && lb);
    size_t rows = lp_margin_rows(m, st->region.center, C, NULL);
    int keep = st->opt.intersect_ibp;
    st->opt.intersect_ibp = 0; /* the backward pass alone */
    assert_int_equal(bound_spec(st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
    st->opt.intersect_ibp = keep;
    lp_build P;
    lp_make(&P, st, m->n_layers, 0);
    lp_solver S;
    lp_solver_init(&S, &P);
    for (size_t r = 0; r < rows; r++)
        looser += compare(lb[r], lp_min(&S, P.off[m->n_layers - 1], C + r * no, no), -1, eq, "margin",
                          m->n_layers, r);
    lp_solver_free(&S);
    lp_build_free(&P);
    free(C);
    free(lb);
    return looser;
}

static bound_options exact_crown(bound_method method, line_strategy s)
{
    bound_options o;
    bound_options_default(&o);
    o.method = method;
    o.strategy = s;
    o.skip_stable = o.intersect_ibp = 0;
    return o;
}

static void crown_equals_lp_optimum_every_neuron_mlp(void **state)
{
    (void)state;
    test_rng rng = {41};
    for (size_t a = 0; a < TB_N_ACTS; a++) {
        nn_model m;
        tb_build_mlp(&m, &rng, tb_acts[a]);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        for (int s = 0; s < 4; s++) {
            bound_options o = s < 3 ? exact_crown(METHOD_CROWN, (line_strategy)s) : exact_crown(METHOD_FASTLIN, 0);
            for (int v = 0; v < 4; v++) { /* l_inf, l_inf clipped, l1, l1 clipped */
                bound_state st;
                tb_compute(&m, &o, x0, v < 2 ? NORM_INF : NORM_1, v < 2 ? 0.1 : 0.4, v & 1, &st);
                /* l1 within the clip box: the engine's knapsack is exact over the
                 * intersection (bound_concretize.c), as is the LP's */
                check_against_lp(&st, 1, 1);
                bound_state_free(&st);
            }
        }
        free(x0);
        model_free(&m);
    }
}

static void crown_equals_lp_optimum_cnn_with_maxpool_planes(void **state)
{
    (void)state;
    test_rng rng = {42};
    layer_type acts[] = {LAYER_RELU, LAYER_TANH};
    pool_method pools[] = {POOL_TILIN, POOL_DEEPPOLY, POOL_CNNCERT, POOL_INTERVAL};
    for (int a = 0; a < 2; a++) {
        nn_model m;
        tb_build_cnn(&m, &rng, acts[a]);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        for (int k = 0; k < 4; k++) {
            bound_options o = exact_crown(METHOD_CROWN, LINES_ADAPTIVE);
            o.pool = pools[k];
            bound_state st;
            tb_compute(&m, &o, x0, k == 3 ? NORM_1 : NORM_INF, k == 3 ? 0.3 : 0.03, k == 1, &st);
            check_against_lp(&st, 1, 1);
            bound_state_free(&st);
        }
        free(x0);
        model_free(&m);
    }
}

/* A trained zoo MLP on all 784 inputs, when present. */
static void crown_equals_lp_optimum_zoo_mlp(void **state)
{
    (void)state;
    const char *names[] = {"models/mnist_mlp_2x20_relu.h5", "models/mnist_mlp_2x20_tanh.h5"};
    int found = 0;
    for (size_t f = 0; f < 2; f++) {
        nn_model m;
        if (!tb_load_zoo(names[f], &m)) continue;
        found++;
        test_rng rng = {43};
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        bound_options o = exact_crown(METHOD_CROWN, LINES_ADAPTIVE);
        bound_state st;
        tb_compute(&m, &o, x0, NORM_INF, 0.01, 1, &st);
        check_against_lp(&st, 1, 1);
        bound_state_free(&st);
        free(x0);
        model_free(&m);
    }
    if (!found) skip();
}

/* Default options (IBP-proved stable neurons, IBP intersection): the boxes of the
 * LP may cut the relaxed set, so the backward margin can only be <= the LP. */
static void crown_never_above_lp_optimum_with_ibp_intersection(void **state)
{
    (void)state;
    test_rng rng = {44};
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = 0; a < TB_N_ACTS; a += fam ? 3 : 1) {
            nn_model m;
            tb_build(&m, &rng, fam, tb_acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o;
            bound_options_default(&o);
            bound_state st;
            tb_compute(&m, &o, x0, NORM_INF, fam ? 0.04 : 0.15, 1, &st);
            check_against_lp(&st, 0, 0);
            bound_state_free(&st);
            free(x0);
            model_free(&m);
        }
}

/* LBP's intermediate bounds are not the relaxed set's own, so the LP of LBP's
 * relaxation is only an upper limit: LBP <= CROWN-LBP (same lines, see
 * test_bound_props) <= the LP optimum, per margin row; every LBP intermediate
 * bound <= its LP optimum likewise. */
static void lbp_and_crown_lbp_never_above_lp_optimum(void **state)
{
    (void)state;
    test_rng rng = {45};
    nn_error err;
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = fam; a < TB_N_ACTS; a += fam ? 2 : 1) { /* CNNs: half the activations */
            nn_model m;
            tb_build(&m, &rng, fam, tb_acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o = exact_crown(METHOD_LBP, LINES_ADAPTIVE);
            bound_state sl, sc;
            norm_type p = (a / 2 + (size_t)fam) % 2 ? NORM_1 : NORM_INF;
            double eps = p == NORM_1 ? 0.3 : (fam ? 0.03 : 0.1);
            tb_compute(&m, &o, x0, p, eps, p == NORM_INF, &sl);
            o.method = METHOD_CROWN_LBP;
            tb_compute(&m, &o, x0, p, eps, p == NORM_INF, &sc);
            /* every LBP bound <= the LP optimum (LBP <= back-substitution with the same
             * lines <= LP), equal at the first nonlinear layer (exact there) */
            check_against_lp(&sl, 0, 1);
            int f = 0;
            while (!sl.pre_lower[f]) f++;
            check_layer_lp(&sl, f, 1);
            size_t no = model_output_size(&m);
            double *C = malloc(no * no * sizeof *C), *ll = malloc(no * sizeof *ll), *cl = malloc(no * sizeof *cl);
            assert_true(C && ll && cl);
            size_t rows = lp_margin_rows(&m, x0, C, NULL);
            assert_int_equal(bound_spec(&sl, C, rows, no, NULL, ll, NULL, &err), NN_OK);
            assert_int_equal(bound_spec(&sc, C, rows, no, NULL, cl, NULL, &err), NN_OK);
            lp_build P;
            lp_make(&P, &sl, m.n_layers, 0);
            lp_solver S;
            lp_solver_init(&S, &P);
            for (size_t r = 0; r < rows; r++) {
                double v = lp_min(&S, P.off[m.n_layers - 1], C + r * no, no);
                compare(ll[r], cl[r], -1, 0, "LBP vs CROWN-LBP margin", m.n_layers, r);
                compare(cl[r], v, -1, 0, "CROWN-LBP margin", m.n_layers, r);
            }
            lp_solver_free(&S);
            lp_build_free(&P);
            free(C), free(ll), free(cl);
            bound_state_free(&sl);
            bound_state_free(&sc);
            free(x0);
            model_free(&m);
        }
}

/* ReLU's triangle (the convex hull: a >= 0, a >= z, a <= chord) is contained in
 * every CROWN relaxation (lower line a*z with a in [0, 1]) with the same bounds, so
 * its LP optimum is at least CROWN's bound; on these nets it is strictly better
 * for some rows (the comparison has teeth). */
static void triangle_lp_at_least_crown_relu(void **state)
{
    (void)state;
    test_rng rng = {46};
    nn_error err;
    int better = 0;
    for (int fam = 0; fam < 2; fam++)
        for (int s = 0; s < 3; s++) {
            nn_model m;
            tb_build(&m, &rng, fam, LAYER_RELU);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            bound_options o = exact_crown(METHOD_CROWN, (line_strategy)s);
            bound_state st;
            tb_compute(&m, &o, x0, NORM_INF, fam ? 0.04 : 0.12, 0, &st);
            size_t no = model_output_size(&m);
            double *C = malloc(no * no * sizeof *C), *lb = malloc(no * sizeof *lb);
            assert_true(C && lb);
            size_t rows = lp_margin_rows(&m, x0, C, NULL);
            assert_int_equal(bound_spec(&st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
            lp_build Pl, Pt;
            lp_make(&Pl, &st, m.n_layers, 0);
            lp_make(&Pt, &st, m.n_layers, 1);
            lp_solver Sl, St;
            lp_solver_init(&Sl, &Pl);
            lp_solver_init(&St, &Pt);
            for (size_t r = 0; r < rows; r++) {
                double vl = lp_min(&Sl, Pl.off[m.n_layers - 1], C + r * no, no);
                double vt = lp_min(&St, Pt.off[m.n_layers - 1], C + r * no, no);
                compare(lb[r], vl, -1, 1, "CROWN margin", m.n_layers, r);
                better += compare(lb[r], vt, -1, 0, "CROWN vs triangle margin", m.n_layers, r);
                compare(vl, vt, -1, 0, "line LP vs triangle LP", m.n_layers, r);
            }
            lp_solver_free(&Sl);
            lp_solver_free(&St);
            lp_build_free(&Pl);
            lp_build_free(&Pt);
            free(C), free(lb);
            bound_state_free(&st);
            free(x0);
            model_free(&m);
        }
    assert_true(better > 0);
}

/* Residual graphs: the backward pass sums the rows of every reader of an output
 * before they meet its relaxation, which is the LP's dual there too (an output's
 * multiplier is the sum of its readers'), so Theorem 1 holds on graphs. */
static void crown_equals_lp_optimum_residual_graphs(void **state)
{
    (void)state;
    test_rng rng = {43};
    layer_type acts[] = {LAYER_RELU, LAYER_TANH};
    /* the conv graphs (hundreds of neurons, two LPs each) in one configuration */
    for (int fam = 0; fam < TB_N_RES; fam++)
        for (int a = 0; a < (fam ? 1 : 2); a++) {
            nn_model m;
            tb_build_res(&m, &rng, fam, acts[a]);
            double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.1, 0.9);
            for (int v = fam ? fam : 0; v < (fam ? fam + 1 : 3); v++) { /* l_inf, l_inf clipped, l1 */
                bound_options o = exact_crown(v == 2 ? METHOD_FASTLIN : METHOD_CROWN, LINES_ADAPTIVE);
                o.dense_rows = v == 1;
                bound_state st;
                tb_compute(&m, &o, x0, v < 2 ? NORM_INF : NORM_1, v < 2 ? 0.02 : 0.2, v == 1, &st);
                check_against_lp(&st, 1, 1);
                bound_state_free(&st);
            }
            free(x0);
            model_free(&m);
        }
}

/* The comparison sees a bound moved by 1e-6 relative either way. */
static void lp_check_sees_a_bound_moved_past_the_optimum(void **state)
{
    (void)state;
    test_rng rng = {47};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    bound_options o = exact_crown(METHOD_CROWN, LINES_ADAPTIVE);
    bound_state st;
    tb_compute(&m, &o, x0, NORM_INF, 0.1, 0, &st);
    lp_build P;
    lp_make(&P, &st, 3, 0); /* layer 3: the second activation */
    lp_solver S;
    lp_solver_init(&S, &P);
    for (size_t k = 0; k < 10; k++) {
        double one = 1.0, minus = -1.0;
        double lo = lp_min(&S, in_col(&P, 3, k), &one, 1), hi = -lp_min(&S, in_col(&P, 3, k), &minus, 1);
        double dl = 1e-6 * (1 + fabs(lo)), du = 1e-6 * (1 + fabs(hi));
        assert_int_equal(lp_verdict(st.pre_lower[3][k], lo, -1), 0);
        assert_int_equal(lp_verdict(st.pre_lower[3][k] + dl, lo, -1), -1);
        assert_int_equal(lp_verdict(st.pre_lower[3][k] - dl, lo, -1), 1);
        assert_int_equal(lp_verdict(st.pre_upper[3][k], hi, +1), 0);
        assert_int_equal(lp_verdict(st.pre_upper[3][k] - du, hi, +1), -1);
        assert_int_equal(lp_verdict(st.pre_upper[3][k] + du, hi, +1), 1);
    }
    lp_solver_free(&S);
    lp_build_free(&P);
    bound_state_free(&st);
    free(x0);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crown_equals_lp_optimum_every_neuron_mlp),
        cmocka_unit_test(crown_equals_lp_optimum_cnn_with_maxpool_planes),
        cmocka_unit_test(crown_equals_lp_optimum_zoo_mlp),
        cmocka_unit_test(crown_never_above_lp_optimum_with_ibp_intersection),
        cmocka_unit_test(lbp_and_crown_lbp_never_above_lp_optimum),
        cmocka_unit_test(triangle_lp_at_least_crown_relu),
        cmocka_unit_test(crown_equals_lp_optimum_residual_graphs),
        cmocka_unit_test(lp_check_sees_a_bound_moved_past_the_optimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
