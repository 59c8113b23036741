/* A verifier's row splitter (certify.h, cert_verifier_split_rows): a splitter
 * that computes each layer's rows in whole row blocks in a scrambled order, as a
 * group of ranks would, gets the bound state's row_block and gives the margin,
 * the verdict and every layer's bounds of the plain verifier bit for bit; a
 * failing splitter's error comes back from cert_verify; split NULL unsets it. */
#include "test_bound_models.h"
#include "certify.h"

typedef struct {
    int calls;          /* row problems handed to the splitter */
    int parts;          /* "ranks" the rows are split over */
    size_t row_block;   /* as the splitter received it */
    int fail;           /* 1: refuse the first problem */
    int varied_calls;   /* problems handed to fake_split_varied */
    int item_calls;     /* problems handed to fake_split_items */
    unsigned seed;      /* its deal of blocks */
    int unit_calls;     /* problems split row by row (bound_rows_block_free) */
    int weighted_calls; /* problems handed to fake_split_weighted */
    double weight_sum;  /* of the weights it was given */
} fake_group;

/* Rows that may be cut anywhere: cut at parts - 1 random points, the last range
 * first (as a scheduler with weights may cut them anywhere too). */
static int fake_split_weighted(void *ctx, size_t n, const double *weight, cert_rows_fn rows, void *rows_ctx,
                               double *lower, double *upper, nn_error *err)
{
    fake_group *g = ctx;
    g->weighted_calls++;
    for (size_t i = 0; i < n; i++) {
        if (!(weight[i] > 0 && weight[i] <= 1)) return nn_fail(err, NN_EVALUE, "test splitter: weight %g", weight[i]);
        g->weight_sum += weight[i];
    }
    size_t cut[8] = {0};
    cut[g->parts] = n;
    for (int r = 1; r < g->parts; r++) {
        g->seed = g->seed * 1103515245u + 12345u;
        cut[r] = cut[r - 1] + (n - cut[r - 1]) * ((g->seed >> 16) % 1000) / 1000;
    }
    for (int r = g->parts - 1; r >= 0; r--) {
        int rc = rows(rows_ctx, cut[r], cut[r + 1], lower + cut[r], upper + cut[r], err);
        if (rc) return rc;
    }
    return NN_OK;
}

/* Rows in parts "ranks" of whole row blocks, the last rank first. */
static int fake_split(void *ctx, size_t n, size_t row_block, cert_rows_fn rows, void *rows_ctx, double *lower,
                      double *upper, nn_error *err)
{
    fake_group *g = ctx;
    g->calls++;
    g->row_block = row_block;
    if (row_block == 1) g->unit_calls++;
    if (g->fail) return nn_fail(err, NN_ENUMERIC, "test splitter: refused");
    size_t rb = row_block ? row_block : n, nb = (n + rb - 1) / rb;
    for (int r = g->parts - 1; r >= 0; r--) {
        size_t lo = nb * (size_t)r / (size_t)g->parts * rb, hi = nb * (size_t)(r + 1) / (size_t)g->parts * rb;
        if (hi > n) hi = n;
        if (lo >= hi) continue;
        int rc = rows(rows_ctx, lo, hi, lower + lo, upper + lo, err);
        if (rc) return rc;
    }
    return NN_OK;
}

/* Every layer's bounds of two verifiers, bit for bit. */
static void assert_same_layers(const nn_model *m, const cert_verifier *a, const cert_verifier *b)
{
    for (int i = 0; i < m->n_layers; i++) {
        if (!a->st.pre_lower[i]) continue;
        size_t n = shape_size(m->layers[i].in);
        assert_memory_equal(a->st.pre_lower[i], b->st.pre_lower[i], n * sizeof(double));
        assert_memory_equal(a->st.pre_upper[i], b->st.pre_upper[i], n * sizeof(double));
    }
}

/* Rows of varied costs as a dynamic split computes them: each block dealt to
 * one of parts "ranks" at random, and every rank computing its own blocks in
 * increasing order, one call per block, the ranks one after the other. */
static int fake_split_varied(void *ctx, size_t n, size_t row_block, cert_rows_fn rows, void *rows_ctx,
                             double *lower, double *upper, nn_error *err)
{
    fake_group *g = ctx;
    g->varied_calls++;
    size_t rb = row_block ? row_block : n, nb = (n + rb - 1) / rb;
    int *deal = malloc((nb ? nb : 1) * sizeof *deal);
    for (size_t b = 0; b < nb; b++) deal[b] = (int)((g->seed = g->seed * 1103515245u + 12345u) >> 16) % g->parts;
    int rc = NN_OK;
    for (int r = g->parts - 1; r >= 0 && !rc; r--)
        for (size_t b = 0; b < nb && !rc; b++) {
            if (deal[b] != r) continue;
            size_t lo = b * rb, hi = lo + rb < n ? lo + rb : n;
            rc = rows(rows_ctx, lo, hi, lower + lo, upper + lo, err);
        }
    free(deal);
    return rc;
}

/* A plain verifier and one whose rows go through s, both of m with method
 * (row_block 4), evaluated at x0, eps: the same margin and verdict. */
static void verify_pair(const nn_model *m, bound_method method, const double *x0, double eps, cert_row_splitter s,
                        cert_verifier *plain, cert_verifier *split)
{
    bound_options o;
    bound_options_default(&o);
    o.method = method;
    o.row_block = 4;
    nn_error err;
    assert_int_equal(cert_verifier_init(plain, m, &o, &err), NN_OK);
    assert_int_equal(cert_verifier_init(split, m, &o, &err), NN_OK);
    cert_verifier_split_rows(split, s);
    double mp, ms;
    int cp, cs;
    assert_int_equal(cert_verify(plain, x0, NORM_INF, eps, 1, 0, CERT_UNTARGETED, &mp, &cp, &err), NN_OK);
    assert_int_equal(cert_verify(split, x0, NORM_INF, eps, 1, 0, CERT_UNTARGETED, &ms, &cs, &err), NN_OK);
    assert_memory_equal(&mp, &ms, sizeof mp);
    assert_int_equal(cp, cs);
}

/* LP-ALL's layers past the first, and its margin rows, go to the varied split
 * (block by block, in any deal, reusing the layer's LP between blocks) and give
 * the plain bits; the first layer goes to the fixed split. */
static void varied_rows_go_to_the_dynamic_split_and_give_plain_bits(void **state)
{
    (void)state;
    test_rng rng = {73};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.2, 0.8);
    int nl = 0;
    for (int i = 0; i < m.n_layers; i++) nl += layer_is_nonlinear(m.layers[i].type);
    for (int parts = 2; parts <= 3; parts++) {
        cert_verifier plain, split;
        fake_group g = {.parts = parts, .seed = 17u + (unsigned)parts};
        verify_pair(&m, METHOD_LP_ALL, x0, 0.1, (cert_row_splitter){fake_split, &g, fake_split_varied, NULL, NULL}, &plain,
                    &split);
        assert_int_equal(g.calls, 1);
        assert_int_equal(g.varied_calls, nl - 1 + 1);  /* later layers, and the margin rows */
        assert_same_layers(&m, &plain, &split);
        cert_verifier_free(&plain);
        cert_verifier_free(&split);
    }
    free(x0);
    model_free(&m);
}

/* Items one at a time, the last first, as members of a group would. */
static int fake_split_items(void *ctx, size_t n, size_t width, bound_items_fn items, void *items_ctx, double *out,
                            nn_error *err)
{
    fake_group *g = ctx;
    g->item_calls++;
    for (size_t i = n; i-- > 0;) {
        int rc = items(items_ctx, i, i + 1, out + i * width, err);
        if (rc) return rc;
    }
    return NN_OK;
}

/* MILP's margin rows go to the item split, and every row's outcome (bound,
 * proof, incumbent, point) is the one of the plain verifier. */
static void milp_rows_go_to_the_item_split_and_give_plain_outcomes(void **state)
{
    (void)state;
    test_rng rng = {74};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0.2, 0.8);
    cert_verifier plain, split;
    fake_group g = {.parts = 2, .seed = 5};
    verify_pair(&m, METHOD_MILP, x0, 0.15, (cert_row_splitter){fake_split, &g, fake_split_varied, fake_split_items, NULL},
                &plain, &split);
    assert_int_equal(g.item_calls, 1);
    size_t n_in = model_input_size(&m);
    int points = 0;
    for (size_t r = 0; r < plain.rows; r++) {
        bound_milp_row a, b;
        const double *pa, *pb;
        assert_int_equal(bound_milp_result(&plain.st, r, &a, &pa), 0);
        assert_int_equal(bound_milp_result(&split.st, r, &b, &pb), 0);
        assert_int_equal(a.proven, b.proven);
        assert_int_equal(a.has_point, b.has_point);
        assert_memory_equal(&a.lower, &b.lower, sizeof a.lower);
        assert_memory_equal(&a.best_bound, &b.best_bound, sizeof a.best_bound);
        assert_memory_equal(&a.incumbent, &b.incumbent, sizeof a.incumbent);
        if (a.has_point) assert_memory_equal(pa, pb, n_in * sizeof *pa), points++;
    }
    assert_true(points > 0);
    cert_verifier_free(&plain);
    cert_verifier_free(&split);
    free(x0);
    model_free(&m);
}

static void split_verifier_gives_plain_bits(void **state)
{
    (void)state;
    test_rng rng = {71};
    const bound_method methods[] = {METHOD_IBP, METHOD_CROWN_LBP, METHOD_CROWN};
    for (int fam = 0; fam < 2; fam++) {
        nn_model m;
        if (fam) tb_build_cnn(&m, &rng, LAYER_RELU);
        else tb_build_mlp(&m, &rng, LAYER_TANH);
        double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
        int nl = 0;
        for (int i = 0; i < m.n_layers; i++) nl += layer_is_nonlinear(m.layers[i].type);
        for (size_t a = 0; a < sizeof methods / sizeof methods[0]; a++)
            for (int parts = 2; parts <= 3; parts++) {
                bound_options o;
                bound_options_default(&o);
                o.method = methods[a];
                o.row_block = 3;
                cert_verifier plain, split;
                nn_error err;
                assert_int_equal(cert_verifier_init(&plain, &m, &o, &err), NN_OK);
                assert_int_equal(cert_verifier_init(&split, &m, &o, &err), NN_OK);
                fake_group g = {.parts = parts};
                cert_verifier_split_rows(&split, (cert_row_splitter){fake_split, &g, NULL, NULL, fake_split_weighted});
                double mp, ms;
                int cp, cs;
                assert_int_equal(cert_verify(&plain, x0, NORM_INF, 0.02, 1, 0, CERT_UNTARGETED, &mp, &cp, &err), NN_OK);
                assert_int_equal(cert_verify(&split, x0, NORM_INF, 0.02, 1, 0, CERT_UNTARGETED, &ms, &cs, &err), NN_OK);
                /* the CNN's CROWN layers past the first go to the weighted split,
                 * cut anywhere (the CNN's last nonlinear layer, fed by a dense
                 * layer over conv-shaped ones, is one of them), the rest in row
                 * blocks of 3 */
                int by_rows = fam == 1 && o.method == METHOD_CROWN;
                assert_int_equal(g.weighted_calls, by_rows ? nl - 1 : 0);
                assert_int_equal(g.calls, by_rows ? 1 : nl);
                assert_int_equal(g.row_block, 3);
                assert_int_equal(g.unit_calls, 0);
                if (by_rows) assert_true(g.weight_sum >= 1);
                assert_memory_equal(&mp, &ms, sizeof mp);
                assert_int_equal(cp, cs);
                assert_same_layers(&m, &plain, &split);
                cert_verifier_free(&plain);
                cert_verifier_free(&split);
            }
        free(x0);
        model_free(&m);
    }
}

static void splitter_error_is_returned_and_null_unsets_it(void **state)
{
    (void)state;
    test_rng rng = {72};
    nn_model m;
    tb_build_mlp(&m, &rng, LAYER_RELU);
    double *x0 = test_rand_vec(&rng, model_input_size(&m), 0, 1);
    bound_options o;
    bound_options_default(&o);
    cert_verifier v;
    nn_error err;
    assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
    fake_group g = {.parts = 2, .fail = 1};
    cert_verifier_split_rows(&v, (cert_row_splitter){fake_split, &g, NULL, NULL, NULL});
    double margin;
    int certified;
    assert_int_equal(cert_verify(&v, x0, NORM_INF, 0.01, 0, 0, CERT_UNTARGETED, &margin, &certified, &err),
                     NN_ENUMERIC);
    assert_non_null(strstr(err.msg, "test splitter: refused"));
    assert_int_equal(g.row_block, v.st.opt.row_block);   /* as bound_state_init resolved 0 */
    cert_verifier_split_rows(&v, (cert_row_splitter){NULL, NULL, NULL, NULL, NULL});
    g.calls = 0;
    assert_int_equal(cert_verify(&v, x0, NORM_INF, 0.01, 0, 0, CERT_UNTARGETED, &margin, &certified, &err), NN_OK);
    assert_int_equal(g.calls, 0);
    cert_verifier_free(&v);
    free(x0);
    model_free(&m);
}

int main(void)
{
    if (test_blas_one_thread()) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_verifier_gives_plain_bits),
        cmocka_unit_test(varied_rows_go_to_the_dynamic_split_and_give_plain_bits),
        cmocka_unit_test(milp_rows_go_to_the_item_split_and_give_plain_outcomes),
        cmocka_unit_test(splitter_error_is_returned_and_null_unsets_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
