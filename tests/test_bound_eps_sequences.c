/* FROWN with G > 1, row_block 1 / 3, few and many iterations, warm starts over
 * decreasing, increasing and zigzag eps sequences on one image and bound state,
 * and CROWN-Quad on ReLU nets: every nonlinear layer's input, the output and
 * random spec rows (a margin row among them) must hold at sampled points of the
 * real region and at the points a long double local search finds. Truth is the
 * REAL function of the stored doubles, evaluated in long double
 * (ld_reference.h), with no tolerance. */
#include "ld_reference.h"

static long n_points; /* sample and search points checked, for the summary line */

#define N_SAMP 20
#define ROWS 3

/* Bounds of the state's current region (bound_compute done) and spec rows C, d
 * with bounds sl, su, against the long double forward at sampled points of the
 * real region. Fails the test with a description on the first violation. */
static void check_samples(const bound_state *st, const double *C, const double *d, const double *sl,
                          const double *su, size_t rows, test_rng *rng, const char *desc)
{
    const nn_model *m = st->model;
    const bound_region *R = &st->region;
    size_t n_in = model_input_size(m);
    double x[128];
    assert_true(n_in <= 128);
    ld **acts = calloc((size_t)m->n_layers + 1, sizeof *acts);
    assert_non_null(acts);
    for (size_t s = 0; s < N_SAMP; s++) {
        if (s == 0) memcpy(x, R->center, n_in * sizeof *x);
        else tb_sample(rng, R, n_in, (int)(s % 3), x);
        into_region(R, x, n_in);
        if (R->clip)
            for (size_t j = 0; j < n_in; j++) x[j] = x[j] < R->clip_lo ? R->clip_lo : x[j] > R->clip_hi ? R->clip_hi : x[j];
        ld_forward(m, x, acts);
        char why[400];
        ld_check_trace(m, st, acts, C, d, sl, su, rows, why, sizeof why);
        for (int i = 0; i <= m->n_layers; i++) free(acts[i]);
        if (why[0])
            fail_msg("%s | norm %s eps %.17g clip %d | sample %zu: %s", desc, norm_name(R->norm), R->eps, R->clip, s,
                     why);
        n_points++;
    }
    free(acts);
}

/* One state over a sequence of eps on one image: warm starts carry over. */
static void run_sequence(const nn_model *m, const bound_options *o, const double *x0, norm_type p, int clip,
                         const double *eps, int n_eps, test_rng *rng, const char *desc)
{
    nn_error err;
    size_t no = model_output_size(m);
    bound_state st;
    if (bound_state_init(&st, m, o, &err) != NN_OK) fail_msg("%s: bound_state_init: %s", desc, err.msg);
    double C[ROWS * 8], d[ROWS], sl[ROWS], su[ROWS];
    assert_true(no <= 8);
    for (size_t k = 0; k < ROWS * no; k++) C[k] = test_rng_range(rng, -1, 1);
    for (size_t k = 0; k < no; k++) C[k] = k == 0 ? 1.0 : k == 1 ? -1.0 : 0.0; /* a margin row */
    for (size_t k = 0; k < ROWS; k++) d[k] = test_rng_range(rng, -1, 1);
    for (int e = 0; e < n_eps; e++) {
        bound_region R = {.center = x0, .eps = eps[e], .norm = p, .clip = clip, .clip_lo = 0.0, .clip_hi = 1.0};
        if (bound_set_region(&st, &R, &err) != NN_OK) fail_msg("%s: bound_set_region: %s", desc, err.msg);
        if (bound_compute(&st, &err) != NN_OK) fail_msg("%s eps %g: bound_compute: %s", desc, eps[e], err.msg);
        if (bound_spec(&st, C, ROWS, no, d, sl, su, &err) != NN_OK)
            fail_msg("%s eps %g: bound_spec: %s", desc, eps[e], err.msg);
        check_samples(&st, C, d, sl, su, ROWS, rng, desc);
        /* adversarial points for every spec row, both sides */
        for (size_t q = 0; q < ROWS; q++)
            for (int side = 0; side < 2; side++) {
                double w[8], xb[128];
                for (size_t k = 0; k < no; k++) w[k] = side ? -C[q * no + k] : C[q * no + k];
                int big = model_input_size(m) > 16; /* the CNN: finite differences cost n forwards */
                ld v = ld_pgd_min(m, &st.region, w, side ? -d[q] : d[q], big ? 1 : 2, big ? 2 : 6, rng, xb);
                n_points++;
                if (side ? !(-v <= (ld)su[q]) : !(v >= (ld)sl[q]))
                    fail_msg("%s | norm %s eps %.17g: search finds spec row %zu = %.21Lg outside [%.17g, %.17g]",
                             desc, norm_name(p), eps[e], q, side ? -v : v, sl[q], su[q]);
            }
    }
    bound_state_free(&st);
}

static void frown_and_quad_over_eps_sequences(void **state)
{
    (void)state;
    static const double down[] = {0.4, 0.12, 0.05, 0.02, 0.0, 0.03};
    static const double up[] = {0.0, 0.01, 0.04, 0.15, 0.6, 0.15};
    static const double zig[] = {0.05, 0.3, 0.01, 1e-12, 0.2, 0.05};
    const double *seqs[3] = {down, up, zig};
    struct { size_t G, rb; int iters; double lr; int warm, single; } fo[] = {
        {1, 1, 5, 0.1, 1, 0},   {2, 1, 3, 0.5, 1, 0},  {3, 3, 8, 0.1, 1, 0},   {8, 0, 2, 2.0, 1, 0},
        {1, 3, 0, 0.1, 1, 0},   {4, 3, 30, 0.3, 1, 0}, {2, 0, 6, 0.1, 0, 0},   {3, 1, 4, 1.0, 1, 1},
        {1, 0, 1, 10.0, 1, 0},  {5, 3, 3, 0.1, 1, 1},
    };
    test_rng rng = {777};
    int runs = 0;
    long p0 = n_points;
    for (int fam = 0; fam < 2; fam++)
        for (size_t a = 0; a < TB_N_ACTS; a++) {
            nn_model m;
            test_rng mr = {9000u + 31u * (uint64_t)fam + (uint64_t)a};
            tb_build(&m, &mr, fam, tb_acts[a]);
            size_t n_in = model_input_size(&m);
            double *x0 = test_rand_vec(&mr, n_in, 0.0, 1.0);
            for (size_t c = 0; c < sizeof fo / sizeof fo[0]; c++) {
                if (fam == 1 && c % 2) continue; /* the CNN is slower: half the option sets */
                bound_options o;
                bound_options_default(&o);
                o.method = METHOD_FROWN;
                o.frown_group = fo[c].G;
                o.row_block = fo[c].rb;
                o.frown_iters = fo[c].iters;
                o.frown_lr = fo[c].lr;
                o.frown_warm = fo[c].warm;
                o.single = fo[c].single;
                o.frown_patience = 3;
                o.spec_upper = 1;
                if (c % 3 == 2) o.skip_stable = o.intersect_ibp = 0;
                if (c % 4 == 1) o.strategy = (line_strategy)(c % 3);
                norm_type p = (norm_type)((c + a) % 3);
                int clip = (int)((c + fam) % 2);
                double eps[6];
                for (int e = 0; e < 6; e++) eps[e] = seqs[(c + a) % 3][e] * (p == NORM_INF ? 1.0 : 3.0);
                char desc[200];
                snprintf(desc, sizeof desc, "frown fam %d act %s G %zu rb %zu iters %d lr %g warm %d single %d raw %d",
                         fam, layer_type_name(tb_acts[a]), fo[c].G, fo[c].rb, fo[c].iters, fo[c].lr, fo[c].warm,
                         fo[c].single, !o.skip_stable);
                run_sequence(&m, &o, x0, p, clip, eps, 6, &rng, desc);
                runs++;
            }
            if (tb_acts[a] == LAYER_RELU)
                for (int qi = 0; qi < 6; qi++) {
                    bound_options o;
                    bound_options_default(&o);
                    o.method = METHOD_CROWN_QUAD;
                    o.quad_iters = qi % 3 == 0 ? 1 : qi % 3 == 1 ? 20 : 200;
                    o.spec_upper = qi % 2;
                    o.single = qi == 4;
                    o.row_block = qi == 5 ? 1 : 0;
                    if (qi >= 3) o.skip_stable = o.intersect_ibp = 0;
                    norm_type p = (norm_type)(qi % 3);
                    double eps[6];
                    for (int e = 0; e < 6; e++) eps[e] = seqs[qi % 3][e] * (p == NORM_INF ? 1.0 : 3.0);
                    char desc[160];
                    snprintf(desc, sizeof desc, "crown-quad fam %d iters %d spec_upper %d single %d", fam,
                             o.quad_iters, o.spec_upper, o.single);
                    run_sequence(&m, &o, x0, p, qi % 2, eps, 6, &rng, desc);
                    runs++;
                }
            free(x0);
            model_free(&m);
        }
    print_message("frown/quad: %d eps sequences of 6, %ld sample points\n", runs, n_points - p0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frown_and_quad_over_eps_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
