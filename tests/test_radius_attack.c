/* Certified radii attacked at exactly the radius. cert_run_task's radius is
 * attacked by a long double PGD-like local search and random sampling of the
 * region (ld_reference.h: the REAL function of the stored doubles, no
 * tolerance); any point with a non-positive margin fails the test:
 *
 *  - small random dense nets, every method and search kind, targeted and
 *    untargeted, re-verified at exactly the radius from a fresh state;
 *  - radii pushed to the edge (rtol 1e-15) on nets that are linear over the
 *    region, against the closed-form worst case where there is one;
 *  - small random CNNs with MaxPool, double and single precision. */
#include "ld_reference.h"

#include "certify.h"

/* Small random nets: in -> dense h -> act -> [dense h2 -> act] -> dense classes. */
static void build_small_net(nn_model *m, test_rng *r, int in, int h, int h2, int classes, layer_type act)
{
    nn_error err;
    model_init(m);
    m->input = (nn_shape){in, 1, 1};
    tb_dense(m, r, in, h);
    tb_act(m, r, act, (size_t)h);
    int last = h;
    if (h2) {
        tb_dense(m, r, h, h2);
        tb_act(m, r, act, (size_t)h2);
        last = h2;
    }
    tb_dense(m, r, last, classes);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

static void certified_radius_survives_attack(void **state)
{
    (void)state;
    test_rng rng = {31337};
    const bound_method ms[] = {METHOD_CROWN, METHOD_FROWN, METHOD_CROWN_IBP, METHOD_IBP,
                               METHOD_CROWN_LBP, METHOD_FASTLIN, METHOD_CROWN_QUAD, METHOD_LBP};
    int tasks = 0, certified = 0, attacked = 0, broken = 0, tried = 0;
    ld min_rel = INFINITY, rel_sum = 0;
    for (int net = 0; net < 24; net++) {
        layer_type act = net % 8 == 0 || net % 8 == 3 ? LAYER_RELU : tb_acts[(size_t)net % TB_N_ACTS];
        nn_model m;
        test_rng mr = {5000u + (uint64_t)net};
        int in = 2 + net % 4, classes = 2 + net % 3;
        build_small_net(&m, &mr, in, 3 + net % 5, net % 3 == 0 ? 4 : 0, classes, act);
        bound_method meth = ms[(size_t)net % 8];
        if (meth == METHOD_CROWN_QUAD && act != LAYER_RELU) meth = METHOD_CROWN;
        for (int img = 0; img < 2; img++) {
            double x[8], logits[8];
            for (int j = 0; j < in; j++) x[j] = test_rng_uniform(&rng);
            nn_error err;
            assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
            for (int variant = 0; variant < 3; variant++) {
                bound_options o;
                bound_options_default(&o);
                o.method = meth;
                o.frown_iters = 8;
                o.quad_iters = 30;
                o.frown_group = 1 + (size_t)(variant == 2);
                o.frown_warm = variant != 1;
                if (variant == 2) o.skip_stable = o.intersect_ibp = 0;
                cert_task_options to;
                memset(&to, 0, sizeof to);
                to.norm = (norm_type)((net + variant) % 3);
                to.clip = (img + variant) % 2;
                cert_search_options_default(&to.search, to.norm, (size_t)in);
                to.search.kind = variant == 1 ? SEARCH_CROWN15 : SEARCH_BISECT;
                to.search.use_margin = variant != 2;
                to.search.rtol = 1e-6;
                int target = variant == 0 ? CERT_UNTARGETED : (int)((size_t)(img + 1) % (size_t)classes);
                cert_verifier v;
                assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
                int c = forward_argmax(logits, (size_t)classes);
                if (target == c) target = CERT_UNTARGETED;
                cert_result r;
                char desc[200];
                snprintf(desc, sizeof desc, "net %d act %s method %s img %d variant %d norm %s clip %d target %d", net,
                         layer_type_name(act), bound_method_name(meth), img, variant, norm_name(to.norm), to.clip,
                         target);
                if (cert_run_task(&v, &to, x, logits, img, c, target, &r, &err) != NN_OK)
                    fail_msg("%s: cert_run_task: %s", desc, err.msg);
                tasks++;
                if (r.status == CERT_CERTIFIED) {
                    certified++;
                    assert_true(r.radius > 0 && r.margin > 0);
                    /* Attack at exactly the reported radius: every margin row, PGD + samples. */
                    bound_region R = {.center = x, .eps = r.radius, .norm = to.norm, .clip = to.clip,
                                      .clip_lo = 0.0, .clip_hi = 1.0};
                    for (int j = 0; j < classes; j++) {
                        if (j == c || (target != CERT_UNTARGETED && j != target)) continue;
                        double w[8] = {0}, xb[8];
                        w[c] = 1.0, w[j] = -1.0;
                        ld best = ld_pgd_min(&m, &R, w, 0.0, 4, 25, &rng, xb);
                        for (int s = 0; s < 200; s++) {
                            double y[8];
                            tb_sample(&rng, &R, (size_t)in, s % 3, y);
                            project(&R, y, (size_t)in);
                            ld vv = ld_row(&m, y, w, 0.0);
                            if (vv < best) best = vv, memcpy(xb, y, sizeof y);
                        }
                        attacked++;
                        /* the attacker's strength: relative margin left at the radius, and
                         * whether it breaks the net at twice the bracket's upper end */
                        ld m0 = ld_row(&m, x, w, 0.0);
                        if (best / m0 < min_rel) min_rel = best / m0;
                        rel_sum += best / m0;
                        if (isfinite(r.hi)) {
                            bound_region R2 = R;
                            R2.eps = 2 * r.hi;
                            double xb2[8];
                            broken += ld_pgd_min(&m, &R2, w, 0.0, 4, 25, &rng, xb2) <= 0;
                            tried++;
                        }
                        if (!(best > 0))
                            fail_msg("%s: certified radius %.17g (margin bound %.17g) but the point x0 + (%.17g, "
                                     "%.17g, ...) has margin z_%d - z_%d = %.21Lg",
                                     desc, r.radius, r.margin, xb[0] - x[0], in > 1 ? xb[1] - x[1] : 0.0, c, j, best);
                    }
                    /* Re-verification at exactly the radius from a fresh state (FROWN
                     * with warm starts depends on the search's history: not required). */
                    if (!(meth == METHOD_FROWN && o.frown_warm)) {
                        cert_verifier v2;
                        double mg;
                        int ok;
                        assert_int_equal(cert_verifier_init(&v2, &m, &o, &err), NN_OK);
                        assert_int_equal(cert_verify(&v2, x, to.norm, r.radius, to.clip, c, target, &mg, &ok, &err),
                                         NN_OK);
                        if (!ok || mg != r.margin)
                            fail_msg("%s: re-verification at radius %.17g gives margin %.17g (search: %.17g)", desc,
                                     r.radius, mg, r.margin);
                        cert_verifier_free(&v2);
                    }
                    /* just beyond the reported bracket's upper end must not be certified
                     * by an evaluation if the search saw it fail */
                }
                cert_verifier_free(&v);
            }
        }
        model_free(&m);
    }
    print_message("certify: %d tasks, %d certified, %d (task, class) pairs attacked at the radius (margin left: "
                  "min %.3Lg, mean %.3Lg of the clean margin); at 2 x hi the attack breaks %d of %d\n",
                  tasks, certified, attacked, min_rel, rel_sum / (attacked ? attacked : 1), broken, tried);
    assert_true(certified > tasks / 4);
}

/* Radii pushed to the edge (rtol 1e-15) on nets that are linear over the region:
 * purely linear models (closed-form worst case: margin(x0) - eps * dual norm of
 * the effective row, in long double) and dense -> ReLU/leaky with every neuron on
 * one side (local search). Here only the rounding budgets keep the radius sound. */
static void sharp_radii_on_linear_nets(void **state)
{
    (void)state;
    test_rng rng = {2718};
    const bound_method ms[] = {METHOD_CROWN, METHOD_IBP, METHOD_CROWN_IBP, METHOD_LBP, METHOD_FROWN, METHOD_CROWN_LBP};
    int tasks = 0;
    ld min_rel = INFINITY;
    for (int net = 0; net < 36; net++) {
        nn_model m;
        nn_error err;
        model_init(&m);
        int in = 1 + net % 5, classes = 2 + net % 2, kind = net % 3; /* 0 linear, 1 relu alive, 2 leaky dead */
        m.input = (nn_shape){in, 1, 1};
        double sc = net % 4 == 0 ? 1e-3 : net % 4 == 1 ? 1e3 : 1.0;
        int width = in, depth = 1 + net % 3;
        for (int dl = 0; dl < depth; dl++) {
            int out = dl == depth - 1 ? classes : 2 + (net + dl) % 4;
            double *W = test_rand_vec(&rng, (size_t)width * out, -sc, sc), *b = test_rand_vec(&rng, (size_t)out, -sc, sc);
            if (kind && dl == 0)
                for (int o = 0; o < out; o++) b[o] = (kind == 1 ? 1 : -1) * 100.0 * sc * width;
            tb_dense_from(&m, width, out, W, b);
            free(W);
            free(b);
            if (kind && dl == 0) {
                nn_layer a = layer_make(kind == 1 ? LAYER_RELU : LAYER_LEAKY_RELU);
                a.alpha = 0.3;
                test_add_layer(&m, a);
            }
            width = out;
        }
        assert_int_equal(model_finalize(&m, &err), NN_OK);
        double x[8], logits[8];
        for (int j = 0; j < in; j++) x[j] = test_rng_uniform(&rng);
        assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
        int c = forward_argmax(logits, (size_t)classes);
        for (int variant = 0; variant < 4; variant++) {
            bound_options o;
            bound_options_default(&o);
            o.method = ms[(size_t)(net + variant) % 6];
            o.single = variant == 3;
            o.frown_iters = 4;
            if (variant == 2) o.skip_stable = o.intersect_ibp = 0;
            cert_task_options to;
            memset(&to, 0, sizeof to);
            to.norm = (norm_type)((net + variant) % 3);
            cert_search_options_default(&to.search, to.norm, (size_t)in);
            to.search.rtol = 1e-15;
            to.search.max_evals = 200;
            to.search.eps_max = 1e6;
            cert_verifier v;
            assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
            cert_result r;
            char desc[200];
            snprintf(desc, sizeof desc, "sharp net %d kind %d method %s single %d raw %d norm %s", net, kind,
                     bound_method_name(o.method), o.single, variant == 2, norm_name(to.norm));
            if (cert_run_task(&v, &to, x, logits, 0, c, CERT_UNTARGETED, &r, &err) != NN_OK)
                fail_msg("%s: cert_run_task: %s", desc, err.msg);
            tasks++;
            if (r.status == CERT_CERTIFIED) {
                bound_region R = {.center = x, .eps = r.radius, .norm = to.norm};
                for (int j = 0; j < classes; j++) {
                    if (j == c) continue;
                    double w[8] = {0}, xb[8];
                    w[c] = 1.0, w[j] = -1.0;
                    ld best = ld_pgd_min(&m, &R, w, 0.0, 3, 12, &rng, xb);
                    if (kind == 0) { /* closed form: the effective row through the dense layers */
                        ld row[8] = {0}, nxt[8];
                        size_t nw = (size_t)classes;
                        for (size_t k = 0; k < nw; k++) row[k] = w[k];
                        ld cst = 0;
                        for (int li = m.n_layers - 1; li >= 0; li--) {
                            const nn_layer *L = &m.layers[li];
                            size_t ni = shape_size(L->in);
                            for (size_t k = 0; k < nw; k++) cst += row[k] * (ld)L->bias[k];
                            for (size_t i2 = 0; i2 < ni; i2++) {
                                nxt[i2] = 0;
                                for (size_t k = 0; k < nw; k++) nxt[i2] += row[k] * (ld)L->weight[k * ni + i2];
                            }
                            memcpy(row, nxt, ni * sizeof *row);
                            nw = ni;
                        }
                        ld at = cst, dual = 0;
                        for (int i2 = 0; i2 < in; i2++) {
                            at += row[i2] * (ld)x[i2];
                            ld a = fabsl(row[i2]);
                            if (to.norm == NORM_INF) dual += a;
                            else if (to.norm == NORM_2) dual += a * a;
                            else dual = a > dual ? a : dual;
                        }
                        if (to.norm == NORM_2) dual = sqrtl(dual);
                        ld exact = at - (ld)r.radius * dual;
                        if (exact < best) best = exact;
                    }
                    ld m0 = ld_row(&m, x, w, 0.0);
                    if (best / m0 < min_rel) min_rel = best / m0;
                    if (!(best > 0))
                        fail_msg("%s: certified radius %.17g (margin bound %.17g), worst margin z_%d - z_%d = %.21Lg",
                                 desc, r.radius, r.margin, c, j, best);
                }
            }
            cert_verifier_free(&v);
        }
        model_free(&m);
    }
    print_message("sharp radii: %d tasks, smallest margin left at the radius %.3Lg of the clean margin\n", tasks,
                  min_rel);
}

/* Radius searches on small random CNNs with MaxPool (every pool method), in
 * double and single precision, l_inf / clipped l1 / clipped l2. */
static void cnn_radius_survives_attack(void **state)
{
    (void)state;
    test_rng rng = {0xc22};
    const bound_method ms[] = {METHOD_CROWN, METHOD_FROWN, METHOD_CROWN_IBP, METHOD_LBP, METHOD_CROWN_LBP,
                               METHOD_FASTLIN};
    const pool_method pools[] = {POOL_TILIN, POOL_DEEPPOLY, POOL_CNNCERT, POOL_INTERVAL};
    int tasks = 0, certified = 0, attacked = 0;
    ld min_rel = INFINITY;
    for (int net = 0; net < 12; net++) {
        layer_type act = net % 3 == 0 ? LAYER_RELU : tb_acts[(size_t)net % TB_N_ACTS];
        nn_model m;
        test_rng mr = {7100u + (uint64_t)net};
        tb_build_cnn(&m, &mr, act);
        size_t in = model_input_size(&m);
        int classes = (int)model_output_size(&m);
        double *x = malloc(in * sizeof *x), *xb = malloc(in * sizeof *xb), *y = malloc(in * sizeof *y);
        assert_non_null(x);
        assert_non_null(xb);
        assert_non_null(y);
        for (int variant = 0; variant < 4; variant++) {
            for (size_t j = 0; j < in; j++) /* MNIST-like: many pixels on the faces 0 and 1 */
                x[j] = variant & 1 ? (double)(test_rng_next(&rng) % 3) / 2 : test_rng_uniform(&rng);
            double logits[8];
            nn_error err;
            assert_int_equal(forward_run(&m, x, 1, logits, &err), NN_OK);
            bound_options o;
            bound_options_default(&o);
            o.method = ms[(size_t)(net + variant) % 6];
            o.pool = pools[(size_t)(net / 2 + variant) % 4];
            o.single = (net + variant) % 2;
            o.frown_iters = 6;
            cert_task_options to;
            memset(&to, 0, sizeof to);
            to.norm = (norm_type)((net + variant / 2) % 3);
            to.clip = variant != 3 || to.norm == NORM_INF ? 1 : (net & 1);
            cert_search_options_default(&to.search, to.norm, in);
            to.search.kind = variant == 2 ? SEARCH_CROWN15 : SEARCH_BISECT;
            to.search.rtol = 1e-6;
            cert_verifier v;
            assert_int_equal(cert_verifier_init(&v, &m, &o, &err), NN_OK);
            int c = forward_argmax(logits, (size_t)classes);
            cert_result r;
            char desc[200];
            snprintf(desc, sizeof desc, "cnn %d act %s method %s pool %s single %d norm %s clip %d", net,
                     layer_type_name(act), bound_method_name(o.method), pool_method_name(o.pool), o.single,
                     norm_name(to.norm), to.clip);
            if (cert_run_task(&v, &to, x, logits, variant, c, CERT_UNTARGETED, &r, &err) != NN_OK)
                fail_msg("%s: cert_run_task: %s", desc, err.msg);
            tasks++;
            if (r.status == CERT_CERTIFIED) {
                certified++;
                bound_region R = {.center = x, .eps = r.radius, .norm = to.norm, .clip = to.clip, .clip_lo = 0.0,
                                  .clip_hi = 1.0};
                for (int j = 0; j < classes; j++) {
                    if (j == c) continue;
                    double w[8] = {0};
                    w[c] = 1.0, w[j] = -1.0;
                    ld best = ld_pgd_min(&m, &R, w, 0.0, 3, 12, &rng, xb);
                    for (int s = 0; s < 150; s++) {
                        tb_sample(&rng, &R, in, s % 3, y);
                        project(&R, y, in);
                        ld vv = ld_row(&m, y, w, 0.0);
                        if (vv < best) best = vv, memcpy(xb, y, in * sizeof *y);
                    }
                    attacked++;
                    ld m0 = ld_row(&m, x, w, 0.0);
                    if (best / m0 < min_rel) min_rel = best / m0;
                    if (!(best > 0))
                        fail_msg("%s: certified radius %.17g (margin bound %.17g) but a point of the region has "
                                 "margin z_%d - z_%d = %.21Lg",
                                 desc, r.radius, r.margin, c, j, best);
                }
            }
            cert_verifier_free(&v);
        }
        free(x);
        free(xb);
        free(y);
        model_free(&m);
    }
    print_message("  cnn certify: %d tasks, %d certified, %d (task, class) pairs attacked at the radius (least "
                  "margin left %.3Lg of the clean one)\n",
                  tasks, certified, attacked, min_rel);
    assert_true(certified > tasks / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(certified_radius_survives_attack),
        cmocka_unit_test(sharp_radii_on_linear_nets),
        cmocka_unit_test(cnn_radius_survives_attack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
