/* LP-LAST, LP-ALL and MILP (doc/lp.md): the safe bound against perturbed duals,
 * the orderings IBP <= CROWN <= LP-LAST <= LP-ALL <= MILP <= sampled and attacked
 * values on random and trained nets, LP-ALL against the independent LP of
 * tests/lp_reference.h, MILP's counterexamples against PGD's, bit-identical row
 * ranges, and the errors. */
#include "lp_reference.h"

#include "attack.h"
#include "certify.h"
#include "../src/bound/bound_lp_build.h"
#include "../src/bound/bound_lp_safe.h"

/* "Within rounding": the safe bound gives up a few 1e-16 relative plus whatever
 * Clp's 1e-9 tolerances leave of dual infeasibility. */
#define ORDER_TOL 1e-8
#define EQ_TOL 1e-6

static int below(double a, double b) { return a <= b + ORDER_TOL * (1 + fabs(a) + fabs(b)); }

/* MILP's time limit per row in these tests (s): the CNN's MaxPool MILPs are hard
 * for Cbc and stop there, which the orderings must survive too. */
static double milp_limit = 20;

static void state_for(const nn_model *m, bound_method method, const double *x0, norm_type p, double eps, int clip,
                      bound_state *st)
{
    bound_options o;
    bound_options_default(&o);
    o.method = method;
    o.milp_time_limit = milp_limit;
    tb_compute(m, &o, x0, p, eps, clip, st);
}

/* ---- the safe bound ---------------------------------------------------------- */

/* min x1 + 2 x2  s.t.  x1 + x2 >= 1,  -2 <= x1 - x2 <= 2,  x in [0, 10]^2: the
 * minimum is 1 (x = (1, 0)), its duals (1, 0). Any y must give <= 1, the exact
 * duals within rounding of 1, and the bound must also stay below c.x at every
 * feasible point sampled. */
static void safe_bound_of_a_small_lp_under_any_duals(void **state)
{
    (void)state;
    int start[] = {0, 2, 4}, index[] = {0, 1, 0, 1};
    double value[] = {1, 1, 1, -1}, clb[] = {0, 0}, cub[] = {10, 10};
    double rlb[] = {1, -2}, rub[] = {BOUND_LP_INF, 2};
    int cidx[] = {0, 1};
    double cval[] = {1, 2}, r[2];
    double y[2] = {1, 0};
    double b = bound_lp_safe_lower(2, 2, start, index, value, clb, cub, rlb, rub, cidx, cval, 2, y, r);
    assert_true(b <= 1 && b > 1 - 1e-13);
    test_rng rng = {11};
    double worst = -INFINITY;
    for (int t = 0; t < 20000; t++) {
        double scale = pow(10, test_rng_range(&rng, -12, 3));
        for (int i = 0; i < 2; i++) {
            y[i] = (t % 3 == 0 ? (i == 0) : 0) + scale * test_rng_range(&rng, -1, 1);
            if (t % 7 == 0) y[i] = -y[i]; /* wrong signs */
        }
        b = bound_lp_safe_lower(2, 2, start, index, value, clb, cub, rlb, rub, cidx, cval, 2, y, r);
        if (!(b <= 1)) fail_msg("duals (%.17g, %.17g) give %.17g > the minimum 1", y[0], y[1], b);
        if (b > worst) worst = b;
        for (int s = 0; s < 4; s++) { /* feasible points */
            double x1 = test_rng_range(&rng, 0, 10), x2 = test_rng_range(&rng, 0, 10);
            if (x1 + x2 < 1 || fabs(x1 - x2) > 2) continue;
            assert_true(b <= x1 + 2 * x2);
        }
    }
    assert_true(worst > 1 - 1e-6); /* small perturbations stay close: the bound has teeth */
    y[0] = NAN;
    assert_true(bound_lp_safe_lower(2, 2, start, index, value, clb, cub, rlb, rub, cidx, cval, 2, y, r) == -INFINITY);
}

/* Minimum of each margin row over sampled points of the region (exact forward pass). */
static void sampled_min(const nn_model *m, const bound_region *R, const double *C, size_t rows, int samples,
                        test_rng *rng, double *mn)
{
    nn_error err;
    size_t n = model_input_size(m), no = model_output_size(m);
    double *x = malloc(n * sizeof *x), *z = malloc(no * sizeof *z);
    assert_true(x && z);
    for (size_t r = 0; r < rows; r++) mn[r] = INFINITY;
    for (int s = 0; s < samples; s++) {
        tb_sample(rng, R, n, s % 3, x);
        assert_int_equal(forward_run(m, x, 1, z, &err), NN_OK);
        for (size_t r = 0; r < rows; r++) {
            double v = 0;
            for (size_t o = 0; o < no; o++) v += C[r * no + o] * z[o];
            if (v < mn[r]) mn[r] = v;
        }
    }
    free(x), free(z);
}

/* The LP of an LP-ALL state's margin row solved by Clp; duals perturbed every way
 * must give safe bounds below both Clp's optimum and the sampled minimum. */
static void safe_bound_of_a_network_lp_under_perturbed_duals(void **state)
{
    (void)state;
    test_rng rng = {5};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, 6, 0.2, 0.8);
    bound_state st;
    state_for(&m, METHOD_LP_ALL, x0, NORM_INF, 0.15, 0, &st);
    nn_error err;
    bound_lp P;
    assert_int_equal(bound_lp_build(&st, m.n_layers, NULL, NULL, &P, &err), NN_OK);
    size_t no = model_output_size(&m);
    double C[16];
    size_t rows = lp_margin_rows(&m, x0, C, NULL);
    double mn[4];
    sampled_min(&m, &st.region, C, rows, 3000, &rng, mn);
    double *obj = calloc((size_t)P.nc, sizeof *obj), *r = malloc((size_t)P.nc * sizeof *r);
    double *y = malloc((size_t)P.nr * sizeof *y);
    assert_true(obj && r && y);
    int cidx[4];
    for (size_t o = 0; o < no; o++) cidx[o] = bound_lp_in_col(&P, m.n_layers, o);
    for (size_t row = 0; row < rows; row++) {
        Clp_Simplex *clp = Clp_newModel();
        Clp_setLogLevel(clp, 0);
        for (size_t o = 0; o < no; o++) obj[cidx[o]] = C[row * no + o];
        Clp_loadProblem(clp, P.nc, P.nr, P.start, P.index, P.value, P.clb, P.cub, obj, P.rlb, P.rub);
        Clp_setPrimalTolerance(clp, 1e-9);
        Clp_setDualTolerance(clp, 1e-9);
        Clp_initialSolve(clp);
        assert_int_equal(Clp_status(clp), 0);
        double opt = Clp_objectiveValue(clp);
        memcpy(y, Clp_dualRowSolution(clp), (size_t)P.nr * sizeof *y);
        double b = bound_lp_lower(&P, cidx, C + row * no, no, y, r);
        assert_true(b <= mn[row]);
        if (!(fabs(b - opt) <= 1e-7 * (1 + fabs(opt)))) fail_msg("row %zu: safe %.17g vs Clp %.17g", row, b, opt);
        double *y0 = malloc((size_t)P.nr * sizeof *y0);
        assert_non_null(y0);
        memcpy(y0, y, (size_t)P.nr * sizeof *y0);
        for (int t = 0; t < 300; t++) {
            double scale = pow(10, test_rng_range(&rng, -10, 1));
            for (int i = 0; i < P.nr; i++) {
                y[i] = y0[i] * (1 + scale * test_rng_range(&rng, -1, 1)) + scale * test_rng_range(&rng, -1, 1);
                if (t % 5 == 0 && test_rng_uniform(&rng) < 0.2) y[i] = -y[i]; /* wrong signs */
                if (t % 7 == 0 && test_rng_uniform(&rng) < 0.2) y[i] = 0;
            }
            double bp = bound_lp_lower(&P, cidx, C + row * no, no, y, r);
            if (!(bp <= opt + 1e-9 * (1 + fabs(opt)) && bp <= mn[row]))
                fail_msg("row %zu, perturbation %g: safe %.17g above optimum %.17g or sampled %.17g", row, scale, bp,
                         opt, mn[row]);
        }
        free(y0);
        for (size_t o = 0; o < no; o++) obj[cidx[o]] = 0;
        Clp_deleteModel(clp);
    }
    free(obj), free(r), free(y);
    bound_lp_free(&P);
    bound_state_free(&st);
    model_free(&m);
    free(x0);
}

/* ---- orderings ------------------------------------------------------------------ */

enum { M_IBP, M_CROWN, M_LAST, M_ALL, M_MILP, N_M };
static const bound_method chain[N_M] = {METHOD_IBP, METHOD_CROWN, METHOD_LP_LAST, METHOD_LP_ALL, METHOD_MILP};

/* Every neuron and margin row of m at (x0, p, eps, clip) through the chain of
 * methods (MILP when milp), against samples and PGD; returns how many bounds
 * LP-ALL has strictly tighter than CROWN. */
static int check_chain(const nn_model *m, const double *x0, norm_type p, double eps, int clip, int milp, int samples,
                       test_rng *rng)
{
    nn_error err;
    bound_state st[N_M];
    int nm = milp ? N_M : M_MILP;
    for (int k = 0; k < nm; k++) state_for(m, chain[k], x0, p, eps, clip, &st[k]);
    size_t n = model_input_size(m), no = model_output_size(m);
    int tighter = 0;
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s norm %s eps %g clip %d", m->name ? m->name : "model", norm_name(p), eps, clip);
    /* intermediate bounds: IBP <= CROWN = LP-LAST <= LP-ALL = MILP's, samples inside */
    double **acts = NULL, *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < m->n_layers; i++) {
        if (!st[0].pre_lower[i]) continue;
        size_t ni = shape_size(m->layers[i].in);
        for (size_t k = 0; k < ni; k++) {
            double l[N_M], u[N_M];
            for (int s = 0; s < nm; s++) l[s] = st[s].pre_lower[i][k], u[s] = st[s].pre_upper[i][k];
            if (!(below(l[M_IBP], l[M_CROWN]) && below(u[M_CROWN], u[M_IBP])))
                fail_msg("%s layer %d neuron %zu: IBP [%g, %g] tighter than CROWN [%g, %g]", ctx, i, k, l[0], u[0],
                         l[1], u[1]);
            assert_true(l[M_LAST] == l[M_CROWN] && u[M_LAST] == u[M_CROWN]);
            if (!(below(l[M_CROWN], l[M_ALL]) && below(u[M_ALL], u[M_CROWN])))
                fail_msg("%s layer %d neuron %zu: CROWN [%.17g, %.17g] tighter than LP-ALL [%.17g, %.17g]", ctx, i, k,
                         l[1], u[1], l[3], u[3]);
            tighter += (l[M_ALL] > l[M_CROWN] + 1e-9) + (u[M_ALL] < u[M_CROWN] - 1e-9);
            if (milp) assert_true(l[M_MILP] == l[M_ALL] && u[M_MILP] == u[M_ALL]);
        }
    }
    for (int s = 0; s < samples; s++) {
        tb_sample(rng, &st[0].region, n, s % 3, x);
        assert_int_equal(forward_trace(m, x, 1, &acts, &err), NN_OK);
        for (int i = 0; i < m->n_layers; i++) {
            if (!st[0].pre_lower[i]) continue;
            int a = model_layer_input(m, i, 0);
            const double *z = a < 0 ? x : acts[a];
            for (size_t k = 0; k < shape_size(m->layers[i].in); k++)
                if (!(st[M_ALL].pre_lower[i][k] <= z[k] && z[k] <= st[M_ALL].pre_upper[i][k]))
                    fail_msg("%s layer %d neuron %zu: sample %.17g outside LP-ALL [%.17g, %.17g]", ctx, i, k, z[k],
                             st[M_ALL].pre_lower[i][k], st[M_ALL].pre_upper[i][k]);
        }
        forward_trace_free(m, acts);
    }
    /* margins: IBP <= CROWN <= LP-LAST <= LP-ALL <= MILP <= sampled and PGD values */
    double *C = malloc(no * no * sizeof *C), lb[N_M][16], mn[16];
    assert_non_null(C);
    int c;
    size_t rows = lp_margin_rows(m, x0, C, &c);
    for (int s = 0; s < nm; s++) assert_int_equal(bound_spec(&st[s], C, rows, no, NULL, lb[s], NULL, &err), NN_OK);
    sampled_min(m, &st[0].region, C, rows, samples, rng, mn);
    double *xa = malloc(n * sizeof *xa), *za = malloc(no * sizeof *za);
    assert_true(xa && za);
    if (p == NORM_INF) { /* PGD's best point: its margins bound the minimum from above too */
        attack_options ao;
        attack_options_default(&ao, NORM_INF);
        ao.lo = clip ? 0 : -1e30;
        ao.hi = clip ? 1 : 1e30;
        attack_result ar;
        assert_int_equal(attack_pgd(m, &ao, x0, c, eps, xa, za, &ar, &err), NN_OK);
        for (size_t r = 0; r < rows; r++) {
            double v = 0;
            for (size_t o = 0; o < no; o++) v += C[r * no + o] * za[o];
            if (v < mn[r]) mn[r] = v;
        }
    }
    for (size_t r = 0; r < rows; r++) {
        for (int s = 0; s + 1 < nm; s++)
            if (!below(lb[s][r], lb[s + 1][r]))
                fail_msg("%s margin %zu: %s %.17g above %s %.17g", ctx, r, bound_method_name(chain[s]), lb[s][r],
                         bound_method_name(chain[s + 1]), lb[s + 1][r]);
        if (!(lb[nm - 1][r] <= mn[r]))
            fail_msg("%s margin %zu: %s %.17g above a value the network takes, %.17g", ctx, r,
                     bound_method_name(chain[nm - 1]), lb[nm - 1][r], mn[r]);
        tighter += lb[M_ALL][r] > lb[M_CROWN][r] + 1e-9;
        if (milp) {
            bound_milp_row mr;
            const double *pt;
            assert_int_equal(bound_milp_result(&st[M_MILP], r, &mr, &pt), 0);
            assert_true(mr.lower == lb[M_MILP][r]);
            if (mr.has_point) { /* a real point of the region, its value by the forward pass */
                double d = attack_distance(p, pt, x0, n), v = 0;
                assert_true(d <= eps * (1 + 1e-12));
                assert_int_equal(forward_run(m, pt, 1, za, &err), NN_OK);
                for (size_t o = 0; o < no; o++) v += C[r * no + o] * za[o];
                assert_true(v == mr.incumbent && lb[M_MILP][r] <= v);
            }
        }
    }
    free(C), free(x), free(xa), free(za);
    for (int k = 0; k < nm; k++) bound_state_free(&st[k]);
    return tighter;
}

static void orderings_on_random_nets(void **state)
{
    (void)state;
    const layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_TANH, LAYER_SIGMOID, LAYER_ARCTAN};
    int tighter = 0;
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            if (fam && acts[a] != LAYER_RELU) continue; /* one CNN: MaxPool with ReLU */
            test_rng rng = {100 + 10 * (uint64_t)fam + a};
            nn_model m;
            tb_build(&m, &rng, fam, acts[a]);
            size_t n = model_input_size(&m);
            double *x0 = test_rand_vec(&rng, n, 0.2, 0.8);
            int pwl = acts[a] == LAYER_RELU || acts[a] == LAYER_LEAKY_RELU;
            milp_limit = fam ? 0.3 : 20;
            /* MILP under the sanitizers: milp_finds_what_pgd_finds (Cbc's mallocs
             * make each solve several times slower there) */
            int milp = pwl && !TEST_UNDER_SANITIZER;
            tighter += check_chain(&m, x0, NORM_INF, fam ? 0.05 : 0.12, 0, milp, 300, &rng);
            tighter += check_chain(&m, x0, NORM_1, fam ? 0.3 : 0.4, 1, milp && !fam, 300, &rng);
            milp_limit = 20;
            free(x0);
            model_free(&m);
        }
    assert_true(tighter > 0); /* LP-ALL does tighten somewhere: the checks have teeth */
}

/* Residual graphs (skips around dense and conv blocks, pools in branches, an
 * output read twice): the LP follows the edges, adds are exact sums. */
static void orderings_on_residual_nets(void **state)
{
    (void)state;
    int tighter = 0;
    for (int fam = 0; fam < TB_N_RES; fam++) {
        test_rng rng = {700 + (uint64_t)fam};
        nn_model m;
        tb_build_res(&m, &rng, fam, LAYER_RELU);
        size_t n = model_input_size(&m);
        double *x0 = test_rand_vec(&rng, n, 0.2, 0.8);
        milp_limit = fam ? 0.3 : 20;
        int samples = TEST_UNDER_SANITIZER ? 40 : 200;
        tighter += check_chain(&m, x0, NORM_INF, fam ? 0.03 : 0.1, 1, !TEST_UNDER_SANITIZER, samples, &rng);
        if (!fam) tighter += check_chain(&m, x0, NORM_1, 0.3, 0, !TEST_UNDER_SANITIZER, samples, &rng);
        milp_limit = 20;
        free(x0);
        model_free(&m);
    }
    assert_true(tighter > 0);
}

/* A trained MLP on the 784 inputs of a Fashion-MNIST-like image, when present. */
static void orderings_on_zoo_mlp(void **state)
{
    (void)state;
    nn_model m;
    if (!tb_load_zoo("models/fmnist_mlp_2x20_relu.h5", &m)) skip();
    test_rng rng = {3};
    size_t n = model_input_size(&m);
    double *x0 = test_rand_vec(&rng, n, 0.0, 1.0);
    assert_true(check_chain(&m, x0, NORM_INF, 0.004, 1, !TEST_UNDER_SANITIZER, 100, &rng) > 0);
    free(x0);
    model_free(&m);
}

/* ---- least work in certification ------------------------------------------------ */

/* A verifier that reads only each margin row's sign (the default) lets CROWN
 * decide every eps CROWN certifies (LP-ALL, MILP), and keeps CROWN's bound on
 * every row CROWN proves. Against a verifier with full_bounds, on the same eps: the rows it
 * solves have the LP's or MILP's bits, the rows it leaves are > 0 and no better
 * than the LP's, its verdict is never weaker, and every row stays below the
 * sampled values. Both ways of saving work must occur, or the test has no teeth. */
static void cheaper_bounds_decide_first(void **state)
{
    (void)state;
    const bound_method methods[] = {METHOD_LP_LAST, METHOD_LP_ALL, METHOD_MILP};
    const double eps_inf[] = {0.02, 0.06, 0.12, 0.25, 0.5};
    int gated = 0, settled = 0, solved = 0, uncertified = 0;
    nn_error err;
    for (int net = 0; net < 3; net++) {
        test_rng rng = {900 + (uint64_t)net};
        nn_model m;
        tb_build(&m, &rng, 0, net == 2 ? LAYER_LEAKY_RELU : LAYER_RELU);
        size_t n = model_input_size(&m), no = model_output_size(&m);
        double *x0 = test_rand_vec(&rng, n, 0.2, 0.8), z0[8], mn[8];
        assert_int_equal(forward_run(&m, x0, 1, z0, &err), NN_OK);
        int c = forward_argmax(z0, no);
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            if (methods[k] == METHOD_MILP && TEST_UNDER_SANITIZER) continue;
            bound_options o;
            bound_options_default(&o);
            o.method = methods[k];
            o.milp_time_limit = milp_limit;
            cert_verifier full, lean, crown;
            assert_int_equal(cert_verifier_init(&full, &m, &o, &err), NN_OK);
            assert_int_equal(cert_verifier_init(&lean, &m, &o, &err), NN_OK);
            o.method = METHOD_CROWN;
            assert_int_equal(cert_verifier_init(&crown, &m, &o, &err), NN_OK);
            full.full_bounds = 1;
            for (size_t e = 0; e < 2 * sizeof eps_inf / sizeof eps_inf[0]; e++) {
                norm_type p = e % 2 ? NORM_1 : NORM_INF;
                double eps = eps_inf[e / 2] * (p == NORM_1 ? 3 : 1), mf, ml, mc;
                int cf, cl, cc;
                assert_int_equal(cert_verify(&full, x0, p, eps, 0, c, CERT_UNTARGETED, &mf, &cf, &err), NN_OK);
                assert_int_equal(cert_verify(&lean, x0, p, eps, 0, c, CERT_UNTARGETED, &ml, &cl, &err), NN_OK);
                assert_int_equal(cert_verify(&crown, x0, p, eps, 0, c, CERT_UNTARGETED, &mc, &cc, &err), NN_OK);
                assert_true(full.decided == &full.st);
                assert_true(!cf || cl);
                assert_int_equal(cl, cc || cf);
                uncertified += !cl;
                if (lean.decided == &lean.gate) {
                    assert_true(cc && cl);
                    assert_memory_equal(lean.lower, crown.lower, lean.rows * sizeof *lean.lower);
                    gated++;
                } else {
                    assert_true(lean.decided == &lean.st);
                    for (size_t r = 0; r < lean.rows; r++) {
                        if (memcmp(&lean.lower[r], &full.lower[r], sizeof lean.lower[r]) == 0) {
                            solved++;
                            continue;
                        }
                        assert_true(lean.lower[r] > 0 && lean.lower[r] <= full.lower[r]);
                        /* LP-LAST's layers are CROWN's: a row it leaves has CROWN's bits */
                        if (methods[k] == METHOD_LP_LAST) assert_true(lean.lower[r] == crown.lower[r]);
                        settled++;
                    }
                }
                bound_region R = {.center = x0, .eps = eps, .norm = p, .clip = 0, .clip_lo = 0, .clip_hi = 1};
                sampled_min(&m, &R, lean.C, lean.rows, 200, &rng, mn);
                for (size_t r = 0; r < lean.rows; r++) assert_true(below(lean.lower[r], mn[r]));
            }
            cert_verifier_free(&full), cert_verifier_free(&lean), cert_verifier_free(&crown);
        }
        free(x0);
        model_free(&m);
    }
    printf("# gated %d settled %d solved %d uncertified %d\n", gated, settled, solved, uncertified);
    assert_true(gated > 0 && settled > 0 && solved > 0 && uncertified > 0);
}

/* ---- LP-ALL against the independent LP ----------------------------------------------- */

static int verdict(double e, double v, int side)
{
    double tol = EQ_TOL * (1 + fabs(v));
    double gap = side < 0 ? v - e : e - v;
    return gap < -tol ? -1 : gap > tol ? 1 : 0;
}

/* LP-ALL's own bounds against lp_reference's LP (triangle) on the same committed
 * state: equal for every unstable ReLU neuron and margin of an MLP; never tighter
 * anywhere (a CNN's reference LP has only the MaxPool planes, so LP-ALL may be
 * tighter there, not looser). */
static void lp_all_equals_the_reference_lp(void **state)
{
    (void)state;
    nn_error err;
    for (int fam = 0; fam < 2; fam++) {
        test_rng rng = {40 + (uint64_t)fam};
        nn_model m;
        tb_build(&m, &rng, fam, LAYER_RELU);
        size_t n = model_input_size(&m), no = model_output_size(&m);
        double *x0 = test_rand_vec(&rng, n, 0.2, 0.8);
        for (int p = 0; p < 2; p++) {
            bound_state st;
            state_for(&m, METHOD_LP_ALL, x0, p ? NORM_1 : NORM_INF, fam ? (p ? 0.3 : 0.05) : (p ? 0.4 : 0.12), p,
                      &st);
            int equal = 0;
            for (int i = 0; i < m.n_layers; i++) {
                if (!st.pre_lower[i]) continue;
                lp_build P;
                lp_make(&P, &st, i, 1);
                lp_solver S;
                lp_solver_init(&S, &P);
                for (size_t k = 0; k < shape_size(m.layers[i].in); k++) {
                    double one = 1, minus = -1, l = st.pre_lower[i][k], u = st.pre_upper[i][k];
                    double lo = lp_min(&S, in_col(&P, i, k), &one, 1), hi = -lp_min(&S, in_col(&P, i, k), &minus, 1);
                    int vl = verdict(l, lo, -1), vu = verdict(u, hi, 1);
                    if (vl < 0 && !fam) fail_msg("layer %d neuron %zu: LP-ALL lower %.17g above the LP's %.17g", i, k, l, lo);
                    if (vu < 0 && !fam) fail_msg("layer %d neuron %zu: LP-ALL upper %.17g below the LP's %.17g", i, k, u, hi);
                    /* looser than the reference: only where CROWN settles the
                     * neuron's phase (stable neurons keep CROWN's bounds) */
                    if ((vl > 0 || vu > 0) && l < 0 && u > 0)
                        fail_msg("layer %d neuron %zu: LP-ALL [%.17g, %.17g] looser than the LP [%.17g, %.17g]", i, k,
                                 l, u, lo, hi);
                    if (l < 0 && u > 0) equal++;
                }
                lp_solver_free(&S);
                lp_build_free(&P);
            }
            double C[16], lb[16];
            size_t rows = lp_margin_rows(&m, x0, C, NULL);
            assert_int_equal(bound_spec(&st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
            lp_build P;
            lp_make(&P, &st, m.n_layers, 1);
            lp_solver S;
            lp_solver_init(&S, &P);
            for (size_t r = 0; r < rows; r++) {
                double v = lp_min(&S, P.off[m.n_layers - 1], C + r * no, no);
                int vd = verdict(lb[r], v, -1);
                if (vd > 0 || (vd < 0 && !fam)) fail_msg("margin %zu: LP-ALL %.17g vs the LP's %.17g", r, lb[r], v);
            }
            lp_solver_free(&S);
            lp_build_free(&P);
            if (!fam) assert_true(equal > 0);
            bound_state_free(&st);
        }
        free(x0);
        model_free(&m);
    }
}

/* ---- MILP against PGD ----------------------------------------------------------------- */

/* On random ReLU nets, eps doubling: wherever PGD finds a counterexample, MILP
 * finds one too (a point of the region with a negative margin by the forward
 * pass, checked in check_chain's way by bound_milp.c); wherever MILP proves every
 * margin positive, PGD finds nothing. MILP, exact, finds them at smaller eps than
 * PGD on these nets. */
static void milp_finds_what_pgd_finds(void **state)
{
    (void)state;
    nn_error err;
    int pgd_found = 0, milp_found = 0;
    const uint64_t seeds[] = {201, 204};
    const int n_seeds = TEST_UNDER_SANITIZER ? 1 : 2;
    for (int k = 0; k < n_seeds; k++) {
        test_rng rng = {seeds[k]};
        nn_model m;
        tb_build_mlp(&m, &rng, LAYER_RELU);
        size_t n = model_input_size(&m), no = model_output_size(&m);
        double *x0 = test_rand_vec(&rng, n, 0.2, 0.8), xa[6], za[4], C[16], lb[16];
        int c;
        size_t rows = lp_margin_rows(&m, x0, C, &c);
        attack_options ao;
        attack_options_default(&ao, NORM_INF);
        ao.lo = -1e30;
        ao.hi = 1e30;
        for (double eps = 0.1; eps < 1.0; eps *= 2) {
            attack_result ar;
            assert_int_equal(attack_pgd(&m, &ao, x0, c, eps, xa, za, &ar, &err), NN_OK);
            bound_state st;
            state_for(&m, METHOD_MILP, x0, NORM_INF, eps, 0, &st);
            assert_int_equal(bound_spec(&st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
            int milp_cex = 0, all_positive = 1;
            for (size_t r = 0; r < rows; r++) {
                bound_milp_row mr;
                const double *pt;
                assert_int_equal(bound_milp_result(&st, r, &mr, &pt), 0);
                assert_true(mr.proven); /* tiny nets: solved to optimality */
                if (mr.has_point && mr.incumbent < 0) {
                    milp_cex = 1;
                    assert_true(attack_distance(NORM_INF, pt, x0, n) <= eps * (1 + 1e-12));
                    assert_int_equal(forward_run(&m, pt, 1, za, &err), NN_OK);
                    assert_int_not_equal(forward_argmax(za, no), c);
                }
                if (!(lb[r] > 0)) all_positive = 0;
            }
            bound_state_free(&st);
            if (all_positive) assert_false(ar.success);
            if (ar.success && !milp_cex) fail_msg("eps %g: PGD found a counterexample, MILP did not", eps);
            pgd_found += ar.success;
            milp_found += milp_cex;
            if (ar.success) break;
        }
        free(x0);
        model_free(&m);
    }
    assert_true((pgd_found >= 1 || n_seeds < 2) && milp_found >= n_seeds);
}

/* A region where every ReLU is stable leaves the MILP no binaries, and Cbc then
 * solves the LP alone and keeps no integer solution. Its point must still come
 * back (branch and bound's leaves with every ReLU fixed look for their
 * counterexample there): in the region, its forward value the incumbent, at
 * the row's bound up to rounding since the net is affine on the region. */
static void milp_without_binaries_gives_the_lp_point(void **state)
{
    (void)state;
    nn_error err;
    test_rng rng = {207};
    int checked = 0;
    for (int k = 0; k < 4; k++) {
        nn_model m;
        tb_build_mlp(&m, &rng, LAYER_RELU);
        size_t n = model_input_size(&m), no = model_output_size(&m), rows = 3;
        double *x0 = test_rand_vec(&rng, n, 0.2, 0.8), C[3 * 4], lb[3], y[4];
        for (size_t q = 0; q < rows * no; q++) C[q] = test_rng_range(&rng, -1, 1);
        bound_state st;
        double eps = 1e-3;
        state_for(&m, METHOD_MILP, x0, NORM_INF, eps, 0, &st);
        if (tb_affine_on_region(&m, &st)) {
            assert_int_equal(bound_spec(&st, C, rows, no, NULL, lb, NULL, &err), NN_OK);
            for (size_t r = 0; r < rows; r++) {
                bound_milp_row mr;
                const double *pt;
                assert_int_equal(bound_milp_result(&st, r, &mr, &pt), 0);
                if (!mr.has_point || !pt) fail_msg("net %d row %zu: no point from an LP without binaries", k, r);
                assert_true(attack_distance(NORM_INF, pt, x0, n) <= eps * (1 + 1e-12));
                assert_int_equal(forward_run(&m, pt, 1, y, &err), NN_OK);
                double v = 0;
                for (size_t o = 0; o < no; o++) v += C[r * no + o] * y[o];
                /* the gap is the safe LP bound's slack: at most 1.1e-10 of 1 + |v| here */
                assert_true(v == mr.incumbent && lb[r] <= v && v - lb[r] <= 1e-6 * (1 + fabs(v)));
                checked++;
            }
        }
        bound_state_free(&st);
        free(x0);
        model_free(&m);
    }
    assert_true(checked >= 6); /* 12 rows on these 4 nets (3 rows each) */
}

/* ---- row ranges and errors -------------------------------------------------------------- */

/* A row executor that computes each layer in uneven ranges, as ranks would. */
static int rows_in_ranges(void *ctx, bound_state *st, int layer, size_t n, double *lower, double *upper, nn_error *err)
{
    (void)ctx;
    size_t cuts[] = {0, 3, 4, 9, n};
    for (int c = 0; c + 1 < 5; c++) {
        size_t lo = cuts[c] < n ? cuts[c] : n, hi = cuts[c + 1] < n ? cuts[c + 1] : n;
        if (lo >= hi) continue;
        int rc = bound_layer_rows(st, layer, lo, hi, lower + lo, upper + lo, err);
        if (rc) return rc;
    }
    return NN_OK;
}

/* LP-ALL and MILP rows computed in ranges are the bits of whole layers (a
 * scheduler may split a layer's neurons over ranks), margins too. */
static void lp_all_rows_in_ranges_are_the_same_bits(void **state)
{
    (void)state;
    nn_error err;
    for (int k = 0; k < 2; k++) {
        test_rng rng = {77 + (uint64_t)k};
        nn_model m;
        tb_build_mlp(&m, &rng, k ? LAYER_TANH : LAYER_RELU);
        double *x0 = test_rand_vec(&rng, 6, 0.2, 0.8);
        bound_options o;
        bound_options_default(&o);
        o.method = METHOD_LP_ALL;
        o.row_block = 4;
        bound_state a, b;
        tb_compute(&m, &o, x0, NORM_INF, 0.12, 0, &a);
        bound_region R = a.region;
        assert_int_equal(bound_state_init(&b, &m, &o, &err), NN_OK);
        b.rows_exec = rows_in_ranges;
        assert_int_equal(bound_set_region(&b, &R, &err), NN_OK);
        assert_int_equal(bound_compute(&b, &err), NN_OK);
        tb_assert_same_bounds(&m, &a, &b);
        double C[16], la[16], lb[16];
        size_t rows = lp_margin_rows(&m, x0, C, NULL);
        assert_int_equal(bound_spec(&a, C, rows, 4, NULL, la, NULL, &err), NN_OK);
        assert_int_equal(bound_spec(&b, C + 4, rows - 1, 4, NULL, lb + 1, NULL, &err), NN_OK);
        assert_int_equal(bound_spec(&b, C, 1, 4, NULL, lb, NULL, &err), NN_OK);
        assert_memory_equal(la, lb, rows * sizeof *la);
        bound_state_free(&a);
        bound_state_free(&b);
        free(x0);
        model_free(&m);
    }
}

/* The unit a scheduler splits a layer's rows by: LP-ALL's and MILP's solver
 * block (the largest divisor of row_block up to 16) past the first nonlinear
 * layer, row_block there and for every other method; only those LP layers'
 * rows vary in cost (bound_rows_vary). */
static void rows_split_by_solver_blocks(void **state)
{
    (void)state;
    nn_error err;
    test_rng rng = {31};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    const bound_method methods[] = {METHOD_LP_ALL, METHOD_MILP, METHOD_LP_LAST, METHOD_CROWN};
    const size_t blocks[] = {64, 44, 7};
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 3; b++) {
            bound_options o;
            bound_options_default(&o);
            o.method = methods[k];
            o.row_block = blocks[b];
            bound_state st;
            assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
            int first = 1;
            for (int i = 0; i < m.n_layers; i++) {
                if (!layer_is_nonlinear(m.layers[i].type)) continue;
                size_t want = !first && k < 2 ? (blocks[b] == 7 ? 7 : blocks[b] == 44 ? 11 : 16) : blocks[b];
                assert_int_equal(bound_row_split_unit(&st, i), want);
                assert_int_equal(bound_rows_vary(&st, i), !first && k < 2);
                first = 0;
            }
            bound_state_free(&st);
        }
    model_free(&m);
}

static void lp_methods_refuse_what_they_cannot_do(void **state)
{
    (void)state;
    nn_error err;
    test_rng rng = {9};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_SIGMOID);
    bound_options o;
    bound_options_default(&o);
    bound_state st;
    o.method = METHOD_MILP;
    assert_int_not_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    assert_non_null(strstr(err.msg, "milp"));
    assert_non_null(strstr(err.msg, "sigmoid"));
    o.method = METHOD_LP_ALL;
    assert_int_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
    double x0[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    bound_region R = {.center = x0, .eps = 0.1, .norm = NORM_2};
    assert_int_not_equal(bound_set_region(&st, &R, &err), NN_OK);
    assert_non_null(strstr(err.msg, "l2"));
    assert_non_null(strstr(err.msg, "crown"));
    bound_state_free(&st);
    o.method = METHOD_MILP;
    for (int k = 0; k < 3; k++) {
        o.milp_time_limit = k == 0 ? 0 : k == 1 ? -1 : NAN;
        assert_int_not_equal(bound_state_init(&st, &m, &o, &err), NN_OK);
        assert_non_null(strstr(err.msg, "time limit"));
    }
    assert_int_equal(bound_method_parse("lp-greedy"), METHOD_FASTLIN);
    assert_int_equal(bound_method_parse("lp-all"), METHOD_LP_ALL);
    assert_int_equal(bound_method_parse("lp_last"), METHOD_LP_LAST);
    assert_string_equal(bound_method_name(METHOD_MILP), "milp");
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(safe_bound_of_a_small_lp_under_any_duals),
        cmocka_unit_test(safe_bound_of_a_network_lp_under_perturbed_duals),
        cmocka_unit_test(orderings_on_random_nets),
        cmocka_unit_test(orderings_on_residual_nets),
        cmocka_unit_test(orderings_on_zoo_mlp),
        cmocka_unit_test(cheaper_bounds_decide_first),
        cmocka_unit_test(lp_all_equals_the_reference_lp),
        cmocka_unit_test(milp_finds_what_pgd_finds),
        cmocka_unit_test(milp_without_binaries_gives_the_lp_point),
        cmocka_unit_test(lp_all_rows_in_ranges_are_the_same_bits),
        cmocka_unit_test(rows_split_by_solver_blocks),
        cmocka_unit_test(lp_methods_refuse_what_they_cannot_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
