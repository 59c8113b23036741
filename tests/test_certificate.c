/* Certificates (certificate.c, doc/radius.md "Certificates"): the certificate
 * of a task's radius, packed and unpacked, replayed on a fresh verifier (and
 * on the task's own, after other work), gives the search's margin and row
 * bounds bit for bit, for FROWN with warm starts on every activation family,
 * MLP, CNN and residual graphs, and for a stateless method with a one-eps
 * path; replaying only the radius of a warm FROWN task does not; malformed
 * bytes and fields are refused, naming the field. */
#include "test_bound_models.h"
#include "certify.h"

#include <math.h>

static bound_options frown(int warm)
{
    bound_options o;
    bound_options_default(&o);
    o.method = METHOD_FROWN;
    o.frown_iters = 20;
    o.frown_warm = warm;
    return o;
}

static cert_task_options task_options(const nn_model *m, int clip)
{
    cert_task_options to;
    memset(&to, 0, sizeof to);
    to.norm = NORM_INF;
    to.clip = clip;
    cert_search_options_default(&to.search, NORM_INF, model_input_size(m));
    return to;
}

/* One task of image x on v; the row and its certificate (0: none). */
static int run(cert_verifier *v, const cert_task_options *to, const double *x, cert_result *r, cert_certificate *c)
{
    double z[64];
    nn_error err;
    assert_int_equal(forward_run(v->model, x, 1, z, &err), NN_OK);
    assert_int_equal(cert_run_task(v, to, x, z, 3, forward_argmax(z, (size_t)v->n_classes), CERT_UNTARGETED, r, &err),
                     NN_OK);
    int got = cert_certificate_of(v, x, c, &err);
    assert_true(got == 0 || got == 1);
    assert_int_equal(got, r->status == CERT_CERTIFIED);
    return got;
}

/* The certificate through its bytes, replayed on v: the row's bits. */
static void replays_identically(cert_verifier *v, const cert_task_options *to, const double *x, const cert_result *r,
                                const cert_certificate *c)
{
    nn_error err;
    size_t n = cert_certificate_bytes(c);
    unsigned char *b = malloc(n);
    cert_certificate back;
    cert_certificate_pack(c, b);
    assert_int_equal(cert_certificate_unpack(b, n, &back, &err), NN_OK);
    free(b);
    assert_int_equal(back.n_path, c->n_path);
    assert_memory_equal(back.path, c->path, c->n_path * sizeof *c->path);
    assert_memory_equal(&back.path[back.n_path - 1], &r->radius, sizeof r->radius);
    assert_memory_equal(&back.margin, &r->margin, sizeof r->margin);
    double margin;
    assert_int_equal(cert_replay(v, &back, x, to, r->index, r->pred, r->target, &margin, &err), NN_OK);
    assert_memory_equal(&margin, &r->margin, sizeof margin);
    assert_true(cert_certificate_matches(v, &back, margin));
    cert_certificate_free(&back);
}

static void warm_frown_radii_replay_bit_for_bit(void **state)
{
    (void)state;
    int certified = 0, cold_differs = 0;
    for (int fam = 0; fam < 3; fam++)
        for (size_t a = 0; a < TB_N_ACTS; a++) {
            nn_model m;
            test_rng rng = {700 + 10 * (uint64_t)fam + a};
            if (fam < 2) tb_build(&m, &rng, fam, tb_acts[a]);
            else tb_build_dense_res(&m, &rng, tb_acts[a]);
            bound_options o = frown(1);
            cert_verifier v, fresh;
            nn_error err;
            assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
            double *x = test_rand_vec(&rng, model_input_size(&m), 0, 1), *y = test_rand_vec(&rng, model_input_size(&m), 0, 1);
            cert_task_options to = task_options(&m, (int)(a % 2));
            cert_result r, other;
            cert_certificate c, oc;
            if (run(&v, &to, x, &r, &c)) {
                certified++;
                assert_true(c.n_path >= 1 && c.n_path <= (size_t)r.evals);
                /* on a fresh verifier, and on v after another image's task */
                assert_int_equal(cert_verifier_init(&fresh, &m, &o, &err), NN_OK);
                replays_identically(&fresh, &to, x, &r, &c);
                if (run(&v, &to, y, &other, &oc)) cert_certificate_free(&oc);
                replays_identically(&v, &to, x, &r, &c);
                /* the radius alone, from CROWN's lines: another bound */
                cert_certificate last = c;
                last.path = &c.path[c.n_path - 1];
                last.n_path = 1;
                double margin;
                assert_int_equal(cert_replay(&fresh, &last, x, &to, r.index, r.pred, r.target, &margin, &err),
                                 NN_OK);
                cold_differs += memcmp(&margin, &r.margin, sizeof margin) != 0;
                cert_verifier_free(&fresh);
                cert_certificate_free(&c);
            }
            free(x);
            free(y);
            cert_verifier_free(&v);
            model_free(&m);
        }
    assert_true(certified >= 10);
    assert_true(cold_differs >= certified / 2);
}

static void stateless_methods_keep_only_the_radius(void **state)
{
    (void)state;
    bound_method methods[] = {METHOD_IBP, METHOD_CROWN, METHOD_LBP, METHOD_CROWN_QUAD, METHOD_FROWN};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        nn_model m;
        test_rng rng = {800 + k};
        tb_build_mlp(&m, &rng, LAYER_RELU);
        bound_options o = frown(0);  /* FROWN without warm starts has no state either */
        o.method = methods[k];
        assert_int_equal(bound_keeps_state(&o), 0);
        cert_verifier v, fresh;
        nn_error err;
        assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
        assert_int_equal(cert_verifier_init(&fresh, &m, &o, &err), NN_OK);
        double *x = test_rand_vec(&rng, model_input_size(&m), 0.2, 0.8);
        cert_task_options to = task_options(&m, 1);
        cert_result r;
        cert_certificate c;
        assert_int_equal(run(&v, &to, x, &r, &c), 1);
        assert_int_equal(c.n_path, 1);
        replays_identically(&fresh, &to, x, &r, &c);
        cert_certificate_free(&c);
        free(x);
        cert_verifier_free(&v);
        cert_verifier_free(&fresh);
        model_free(&m);
    }
    bound_options o = frown(1);
    assert_int_equal(bound_keeps_state(&o), 1);
    o.frown_iters = 0;
    assert_int_equal(bound_keeps_state(&o), 0);
}

/* Packs c, lets edit change the bytes, and expects unpack to refuse them with
 * a message holding what. */
static void refused(const cert_certificate *c, void (*edit)(unsigned char *, size_t *), const char *what)
{
    size_t n = cert_certificate_bytes(c);
    unsigned char *b = calloc(n + 16, 1);
    cert_certificate_pack(c, b);
    edit(b, &n);
    cert_certificate back;
    nn_error err;
    nn_error_clear(&err);
    assert_int_equal(cert_certificate_unpack(b, n, &back, &err), NN_EFORMAT);
    if (!strstr(err.msg, what)) fail_msg("'%s' lacks '%s'", err.msg, what);
    assert_null(back.path);
    free(b);
}

static void put_f64(unsigned char *p, double v) { memcpy(p, &v, 8); }  /* little-endian hosts */
static void bad_version(unsigned char *b, size_t *n) { (void)n, b[0] = 3; }
static void cut_short(unsigned char *b, size_t *n) { (void)b, *n -= 8; }
static void too_long(unsigned char *b, size_t *n) { (void)b, *n += 8; }
static void nan_eps(unsigned char *b, size_t *n) { (void)n, put_f64(b + 32, NAN); }
static void negative_eps(unsigned char *b, size_t *n) { (void)n, put_f64(b + 40, -1e-3); }
static void no_path(unsigned char *b, size_t *n) { memset(b + 24, 0, 8), *n -= 16; }
static void margin_off(unsigned char *b, size_t *n) { (void)n, put_f64(b + 16, 0.25); }
static void margin_zero(unsigned char *b, size_t *n)
{
    (void)n;
    put_f64(b + 16, 0.0);
    put_f64(b + 32 + 16 + 8, 0.0);  /* lower[1], the least */
}

static void malformed_certificates_are_refused(void **state)
{
    (void)state;
    double path[2] = {0.01, 0.02}, lower[3] = {NAN, 0.5, 0.75};
    cert_certificate c = {2, path, 3, lower, 0.5, 42, 0};
    nn_error err;
    assert_int_equal(cert_certificate_check(&c, &err), NN_OK);
    refused(&c, bad_version, "version 3");
    refused(&c, cut_short, "do not hold");
    refused(&c, too_long, "do not hold");
    refused(&c, nan_eps, "path[0] = nan is not an eps");
    refused(&c, negative_eps, "path[1] = -0.001 is not an eps");
    refused(&c, no_path, "0 evaluations");
    refused(&c, margin_off, "is not the least row bound");
    refused(&c, margin_zero, "does not certify");
    /* a replay checks the fields first, and the classes against the model */
    nn_model m;
    test_rng rng = {900};
    tb_build_mlp(&m, &rng, LAYER_RELU);
    bound_options o;
    bound_options_default(&o);
    cert_verifier v;
    assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
    double x[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, margin;
    cert_task_options to = task_options(&m, 0);
    assert_int_equal(cert_replay(&v, &c, x, &to, 0, 0, CERT_UNTARGETED, &margin, &err), NN_EFORMAT);
    assert_non_null(strstr(err.msg, "3 classes, the model has 4"));
    path[1] = INFINITY;
    assert_int_equal(cert_certificate_check(&c, &err), NN_EFORMAT);
    assert_int_equal(cert_replay(&v, &c, x, &to, 0, 0, CERT_UNTARGETED, &margin, &err), NN_EFORMAT);
    assert_true(isnan(margin));
    cert_verifier_free(&v);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(warm_frown_radii_replay_bit_for_bit),
        cmocka_unit_test(stateless_methods_keep_only_the_radius),
        cmocka_unit_test(malformed_certificates_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
