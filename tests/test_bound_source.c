/* bound_label_sources (doc/formats.md "nncert bounds"): the source code of every
 * neuron's bounds says the truth. For MLPs, a MaxPool CNN and the residual graphs,
 * every method that has its own intermediate rows, and the default options
 * (skip_stable, intersect_ibp) as well as both off, each nonlinear layer's rows
 * are recomputed on the state's own bounds of the earlier layers by two
 * independent states: IBP, and the method with skip_stable and intersect_ibp
 * off (the method's own row). Then, per neuron and side:
 *   exact (0): only and everywhere on the first nonlinear layer, the method's bits;
 *   a side labelled IBP's (1, 3, 4, 5): IBP's bits; ibp_stable (1): IBP proves
 *     the neuron stable and skip_stable is on;
 *   a side labelled the method's (2, 3, 4): the method's own value (in double, up
 *     to the GEMM kernel's rounding of a row in another block: same_gemm_row; a
 *     float32 row rounds with the other rows of its block, which skip_stable
 *     changes), and where the label says IBP is at least as tight, it is.
 *   FROWN and LP-ALL seed their second pass with the intersected rows, so their
 *     method sides are checked to be at least as tight as the CROWN pass alone
 *     (and bit for bit with both options off).
 * With both options off every side is the method's (5 for ibp and crown-ibp), so
 * "--no-skip-stable --no-intersect-ibp" gives the method's own bounds. Every
 * state's bounds contain the long double forward pass of region samples. Every
 * code occurs somewhere, so the checks are not vacuous. */
#include "test_bound_models.h"

#include "ld_reference.h"

#define N_SAMP 12

static int seen[BOUND_SRC_COUNT];

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The method's row computed in another block of rows (skip_stable leaves out the
 * stable ones, so the blocks differ): OpenBLAS's dgemm kernels may sum a row in
 * another order depending on the rows beside it (on this project's AVX-512 Xeon,
 * 304 of 2,016 rows of random 3-row blocks differed from the same rows in a
 * larger GEMM, with every kernel OPENBLAS_CORETYPE offers), so the bits agree
 * only up to that rounding. 1e-12 relative is far below any gap to IBP's bound
 * (ties are labelled IBP's). */
static double gemm_slack(double b) { return 1e-12 * fmax(1.0, fabs(b)); }
static int same_gemm_row(double a, double b) { return same_bits(a, b) || fabs(a - b) <= gemm_slack(b); }

static void init_state(const nn_model *m, const bound_options *o, const bound_region *R, bound_state *q)
{
    nn_error err;
    if (bound_state_init(q, m, o, &err)) fail_msg("bound_state_init: %s", err.msg);
    if (bound_set_region(q, R, &err)) fail_msg("bound_set_region: %s", err.msg);
}

static void rows(bound_state *q, int i, size_t n, double *l, double *u)
{
    nn_error err;
    if (bound_layer_rows(q, i, 0, n, l, u, &err)) fail_msg("bound_layer_rows %d: %s", i, err.msg);
}

static void commit(bound_state *q, const bound_state *st, int i)
{
    nn_error err;
    if (bound_layer_commit(q, i, st->pre_lower[i], st->pre_upper[i], &err))
        fail_msg("bound_layer_commit %d: %s", i, err.msg);
}

/* One side of neuron r: v labelled IBP's (ibp) or the method's; I, M, C its
 * IBP, own-method and CROWN-alone values; lower says which side. exact: the
 * method's rows are bit-reproducible (double); two_pass: FROWN or LP-ALL seeded
 * by the intersected rows (C is then the reference for "at least as tight");
 * order: the label claims IBP at least as tight (not so for a skipped row, nor
 * the IBP box of a MaxPool input after an activation, tightest up to rounding). */
static void check_side(const char *what, int i, size_t r, const char *side, int lower, double v, int ibp, double I,
                       double M, double C, int exact, int two_pass, int order)
{
    double ref = two_pass ? C : M;
    if (ibp) {
        if (!same_bits(v, I))
            fail_msg("%s: layer %d neuron %zu %s labelled IBP's: %.17g, IBP %.17g", what, i, r, side, v, I);
        if (exact && order && (lower ? I < ref : I > ref))
            fail_msg("%s: layer %d neuron %zu %s labelled IBP's %.17g, the method alone is tighter (%.17g)", what, i, r,
                     side, I, ref);
        return;
    }
    if (!exact) return;
    if (!two_pass && !same_gemm_row(v, M))
        fail_msg("%s: layer %d neuron %zu %s labelled the method's: %.17g, the method alone %.17g", what, i, r, side,
                 v, M);
    if (two_pass && (lower ? v < C - gemm_slack(C) : v > C + gemm_slack(C)))
        fail_msg("%s: layer %d neuron %zu %s labelled the method's: %.17g looser than its CROWN pass %.17g", what, i,
                 r, side, v, C);
}

/* The labels of a state with options o on B_p(x0, eps) checked as the header says. */
static void check_labels(const nn_model *m, test_rng *rng, const bound_options *o, const double *x0, norm_type p,
                         double eps, const char *what)
{
    nn_error err;
    bound_region R = {.center = x0, .eps = eps, .norm = p};
    bound_state st, raw, ib, cr;
    tb_compute(m, o, x0, p, eps, 0, &st);
    unsigned char **src = calloc((size_t)m->n_layers, sizeof *src);
    assert_non_null(src);
    if (bound_label_sources(&st, src, &err)) fail_msg("%s: bound_label_sources: %s", what, err.msg);

    bound_options ro = *o, io = *o, co = *o;
    ro.skip_stable = ro.intersect_ibp = 0;
    io.method = METHOD_IBP;
    co.skip_stable = co.intersect_ibp = 0;
    co.method = METHOD_CROWN;
    init_state(m, &ro, &R, &raw);
    init_state(m, &io, &R, &ib);
    init_state(m, &co, &R, &cr);
    bound_method me = o->method;
    int ibp_method = me == METHOD_IBP || me == METHOD_CROWN_IBP;
    int two_pass = (me == METHOD_FROWN || me == METHOD_LP_ALL) && (o->skip_stable || o->intersect_ibp);
    int plain = !o->skip_stable && !o->intersect_ibp, first = -1;
    size_t maxn = model_input_size(m);
    for (int i = 0; i < m->n_layers; i++)
        if (shape_size(m->layers[i].in) > maxn) maxn = shape_size(m->layers[i].in);
    double *ml = malloc(maxn * sizeof *ml), *mu = malloc(maxn * sizeof *mu), *il = malloc(maxn * sizeof *il),
           *iu = malloc(maxn * sizeof *iu), *cl = malloc(maxn * sizeof *cl), *cu = malloc(maxn * sizeof *cu);
    assert_true(ml && mu && il && iu && cl && cu);
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *L = &m->layers[i];
        if (!layer_is_nonlinear(L->type)) {
            assert_null(src[i]);
            continue;
        }
        assert_non_null(src[i]);
        size_t n = shape_size(L->in);
        if (first < 0) first = i;
        rows(&raw, i, n, ml, mu);
        rows(&cr, i, n, cl, cu);
        if (i != first) rows(&ib, i, n, il, iu);
        const double *l = st.pre_lower[i], *u = st.pre_upper[i];
        int a = model_layer_input(m, i, 0), fed = a >= 0 && layer_is_activation(m->layers[a].type);
        for (size_t r = 0; r < n; r++) {
            int c = src[i][r];
            assert_in_range(c, 0, BOUND_SRC_COUNT - 1);
            seen[c]++;
            if ((c == BOUND_SRC_EXACT) != (i == first))
                fail_msg("%s: layer %d neuron %zu: code %s on %s nonlinear layer", what, i, r, bound_source_name(c),
                         i == first ? "the first" : "a later");
            if (c == BOUND_SRC_EXACT) {
                if (!same_bits(l[r], ml[r]) || !same_bits(u[r], mu[r]))
                    fail_msg("%s: first layer neuron %zu is not the exact first block", what, r);
                continue;
            }
            if (plain && c != (ibp_method ? BOUND_SRC_IBP : BOUND_SRC_METHOD))
                fail_msg("%s: both options off, layer %d neuron %zu is %s", what, i, r, bound_source_name(c));
            if (ibp_method && c != BOUND_SRC_IBP)
                fail_msg("%s: method %s, layer %d neuron %zu is %s", what, bound_method_name(me), i, r,
                         bound_source_name(c));
            if (c == BOUND_SRC_IBP_STABLE && !(o->skip_stable && relax_row_stable(L, r, il[r], iu[r])))
                fail_msg("%s: layer %d neuron %zu labelled ibp_stable, not stable by IBP [%.17g, %.17g]", what, i, r,
                         il[r], iu[r]);
            int ibl = c == BOUND_SRC_IBP_STABLE || c == BOUND_SRC_IBP_LOWER || c == BOUND_SRC_IBP;
            int ibu = c == BOUND_SRC_IBP_STABLE || c == BOUND_SRC_IBP_UPPER || c == BOUND_SRC_IBP;
            int order = c != BOUND_SRC_IBP_STABLE && !ibp_method && !fed;
            check_side(what, i, r, "lower", 1, l[r], ibl, il[r], ml[r], cl[r], !o->single, two_pass, order);
            check_side(what, i, r, "upper", 0, u[r], ibu, iu[r], mu[r], cu[r], !o->single, two_pass, order);
        }
        commit(&raw, &st, i);
        commit(&ib, &st, i);
        commit(&cr, &st, i);
    }
    /* the bounds contain the forward pass of region samples */
    ld_check_samples(m, &st, rng, &R, N_SAMP, NULL, NULL, NULL, NULL, 0, what);
    free(ml), free(mu), free(il), free(iu), free(cl), free(cu);
    for (int i = 0; i < m->n_layers; i++) free(src[i]);
    free(src);
    bound_state_free(&raw);
    bound_state_free(&ib);
    bound_state_free(&cr);
    bound_state_free(&st);
}

/* Every method with intermediate rows of its own (crown-quad and lp-last take
 * CROWN's, milp LP-ALL's), with and without the options, two radii (LP-ALL, on
 * the small ReLU models: one), and each option alone. */
static void run_model(const nn_model *m, test_rng *rng, const char *name, int lp, norm_type p)
{
    static const bound_method methods[] = {METHOD_CROWN, METHOD_FASTLIN, METHOD_LBP, METHOD_CROWN_LBP,
                                           METHOD_IBP,   METHOD_CROWN_IBP, METHOD_FROWN, METHOD_LP_ALL};
    double *x0 = test_rand_vec(rng, model_input_size(m), 0.1, 0.9);
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        nn_error err;
        int is_lp = methods[k] == METHOD_LP_ALL;
        if (is_lp && (!lp || bound_method_check_norm(methods[k], p, &err))) continue;
        /* cfg 0-3 both options on, 4-5 both off, 6 skip_stable only, 7 intersect_ibp only */
        for (int cfg = 0; cfg < 8; cfg++) {
            if (is_lp && cfg % 2) continue; /* an LP per neuron: the small radius only */
            bound_options o;
            bound_options_default(&o);
            o.method = methods[k];
            o.frown_iters = 4;
            o.skip_stable = cfg < 4 || cfg == 6;
            o.intersect_ibp = cfg < 4 || cfg == 7;
            o.single = cfg == 3;
            o.row_block = cfg == 2 || cfg == 5 ? 3 : 0;
            double eps = p == NORM_INF ? (cfg % 2 ? 0.1 : 0.02) : (cfg % 2 ? 0.6 : 0.15);
            char what[200];
            snprintf(what, sizeof what, "%s, %s, norm %s, eps %g, skip_stable %d, intersect_ibp %d%s%s", name,
                     bound_method_name(o.method), norm_name(p), eps, o.skip_stable, o.intersect_ibp,
                     o.single ? ", single" : "",
                     o.row_block ? ", row block 3" : "");
            check_labels(m, rng, &o, x0, p, eps, what);
        }
    }
    free(x0);
}

static void sequential_models(void **state)
{
    (void)state;
    test_rng rng = {0x50c0de5u};
    static const layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU, LAYER_TANH};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int fam = 0; fam < 2; fam++) {
            nn_model m;
            tb_build(&m, &rng, fam, acts[a]);
            char name[80];
            snprintf(name, sizeof name, "%s %s", fam ? "cnn" : "mlp", layer_type_name(acts[a]));
            run_model(&m, &rng, name, acts[a] == LAYER_RELU, NORM_INF);
            if (fam == 0 && a == 0) run_model(&m, &rng, name, 1, NORM_2);
            model_free(&m);
        }
}

static void residual_models(void **state)
{
    (void)state;
    test_rng rng = {0x7e5cafeu};
    static const layer_type acts[] = {LAYER_RELU, LAYER_LEAKY_RELU};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int fam = 0; fam < TB_N_RES; fam++) {
            nn_model m;
            tb_build_res(&m, &rng, fam, acts[a]);
            char name[80];
            snprintf(name, sizeof name, "residual family %d %s", fam, layer_type_name(acts[a]));
            run_model(&m, &rng, name, acts[a] == LAYER_RELU && fam != 1, NORM_INF);
            model_free(&m);
        }
}

/* Run last: the checks above met every code. */
static void every_code_occurs(void **state)
{
    (void)state;
    for (int c = 0; c < BOUND_SRC_COUNT; c++)
        if (!seen[c])
            fail_msg("code %d (%s) never occurred: the label checks are vacuous for it", c, bound_source_name(c));
    print_message("codes checked: exact %d, ibp_stable %d, method %d, ibp_lower %d, ibp_upper %d, ibp %d\n", seen[0],
                  seen[1], seen[2], seen[3], seen[4], seen[5]);
    assert_string_equal(bound_source_name(BOUND_SRC_IBP), "ibp");
    assert_string_equal(bound_source_name(BOUND_SRC_COUNT), "?");
    assert_string_equal(bound_source_legend, "0=exact,1=ibp_stable,2=method,3=ibp_lower,4=ibp_upper,5=ibp");
}

/* Misuse: a state without computed bounds is refused with a message. */
static void refuses_uncomputed_state(void **state)
{
    (void)state;
    test_rng rng = {0x1234u};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    bound_state st;
    nn_error err;
    assert_int_equal(bound_state_init(&st, &m, NULL, &err), NN_OK);
    unsigned char *src[16] = {0};
    assert_int_not_equal(bound_label_sources(&st, src, &err), NN_OK);
    assert_non_null(strstr(err.msg, "not computed"));
    assert_int_not_equal(bound_label_sources(NULL, src, &err), NN_OK);
    bound_state_free(&st);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_models),
        cmocka_unit_test(residual_models),
        cmocka_unit_test(every_code_occurs),
        cmocka_unit_test(refuses_uncomputed_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
