/* Unit tests for the S-shaped relaxations (relax_sshape.c): tanh, sigmoid, arctan
 * lines valid on a dense grid in double with no tolerance (random and extreme
 * boxes, saturation), tangent-point ranges as in doc/frown.md, every tangent point in
 * a range giving a valid line, tightness of the chosen tangents, constant lines on
 * degenerate boxes. */
#include "relax_check.h"

#define N 3000

static const layer_type sshapes[3] = {LAYER_TANH, LAYER_SIGMOID, LAYER_ARCTAN};

typedef struct {
    double l[N], u[N];
    relax_lines lines;
    nn_layer layer;
} fixture;

static fixture *fixture_make(layer_type type, uint64_t seed)
{
    nn_error err;
    test_rng rng = {seed};
    fixture *f = malloc(sizeof *f);
    assert_non_null(f);
    f->layer = layer_make(type);
    f->layer.in = f->layer.out = (nn_shape){N, 1, 1};
    relax_boxes(&rng, f->l, f->u, N, NULL);
    assert_int_equal(relax_lines_init(&f->lines, N, &err), NN_OK);
    assert_int_equal(relax_activation(&f->layer, 0, f->l, f->u, N, LINES_ADAPTIVE, &f->lines, &err), NN_OK);
    return f;
}

static void fixture_free(fixture *f)
{
    relax_lines_free(&f->lines);
    free(f);
}

static void sshape_lines_valid_on_grid(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {
        fixture *f = fixture_make(sshapes[a], 100 + a);
        assert_int_equal(relax_lines_violations(&f->layer, f->l, f->u, &f->lines, N), 0);
        fixture_free(f);
    }
}

/* Saturated and far-out boxes: sigmoid(-1000) underflows to 0, tanh(20) == 1. */
static void sshape_lines_valid_in_saturation(void **state)
{
    (void)state;
    nn_error err;
    double l[] = {-1000, -1000, 500, 17, -40, -1e3, 18.0, -745, 30, -20, -1e-300, 0, -37, 700};
    double u[] = {1000, -999, 1000, 40, -17, 1e-3, 18.5, -700, 1000, 20, 1e-300, 1e-310, 36, 710};
    size_t n = sizeof l / sizeof l[0];
    relax_lines L;
    assert_int_equal(relax_lines_init(&L, n, &err), NN_OK);
    for (int a = 0; a < 3; a++) {
        nn_layer layer = layer_make(sshapes[a]);
        layer.in = layer.out = (nn_shape){(int)n, 1, 1};
        assert_int_equal(relax_activation(&layer, 0, l, u, n, LINES_TIGHT, &L, &err), NN_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(isfinite(L.lower_slope[i]) && isfinite(L.lower_icpt[i]));
            assert_true(isfinite(L.upper_slope[i]) && isfinite(L.upper_icpt[i]));
        }
        assert_int_equal(relax_lines_violations(&layer, l, u, &L, n), 0);
    }
    relax_lines_free(&L);
}

/* doc/frown.md "Search space": l >= 0: upper d in [l, u]; u <= 0: lower d in [l, u]; l < 0 < u: upper
 * d in [d_U*, u], lower d in [l, d_L*], starting at d_U*, d_L*; chords are fixed. */
static void sshape_parameter_ranges_follow_frown(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {
        fixture *f = fixture_make(sshapes[a], 200 + a);
        relax_lines *L = &f->lines;
        int tangents = 0;
        for (size_t i = 0; i < N; i++) {
            double l = f->l[i], u = f->u[i];
            if (u - l <= 1e-9) continue;
            if (l >= 0) {
                assert_true(L->upper_lo[i] == l && L->upper_hi[i] == u);
                assert_true(L->upper_param[i] == l + 0.5 * (u - l));
                assert_true(L->lower_lo[i] == L->lower_hi[i]);
            } else if (u <= 0) {
                assert_true(L->lower_lo[i] == l && L->lower_hi[i] == u);
                assert_true(L->lower_param[i] == l + 0.5 * (u - l));
                assert_true(L->upper_lo[i] == L->upper_hi[i]);
            } else {
                if (L->upper_lo[i] < L->upper_hi[i]) {
                    assert_true(L->upper_hi[i] == u && L->upper_lo[i] >= 0 && L->upper_param[i] == L->upper_lo[i]);
                    tangents++;
                }
                if (L->lower_lo[i] < L->lower_hi[i]) {
                    assert_true(L->lower_lo[i] == l && L->lower_hi[i] <= 0 && L->lower_param[i] == L->lower_hi[i]);
                    tangents++;
                }
            }
            /* A tangent's slope is sigma'(d). */
            if (L->upper_lo[i] < L->upper_hi[i])
                assert_true(L->upper_slope[i] == sshape_deriv(sshapes[a], L->upper_param[i]));
            if (L->lower_lo[i] < L->lower_hi[i])
                assert_true(L->lower_slope[i] == sshape_deriv(sshapes[a], L->lower_param[i]));
        }
        assert_true(tangents > N / 20);
        fixture_free(f);
    }
}

static void sshape_every_tangent_point_in_range_is_valid(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {
        test_rng rng = {300 + a};
        fixture *f = fixture_make(sshapes[a], 300 + a);
        assert_int_equal(relax_param_violations(&f->layer, f->l, f->u, &f->lines, N, &rng), 0);
        fixture_free(f);
    }
}

/* The chosen lines are tight, not just valid: a one-sided tangent touches sigma at
 * its point d; an unstable tangent passes through the far end point (l, sigma(l))
 * (upper) or (u, sigma(u)) (lower); a chord touches both ends. */
/* The prepared-box path FROWN uses gives relax_line_at's lines bit for bit, and
 * sigma'' at the point, for every free tangent parameter across its range. */
static void sshape_prepared_tangent_equals_line_at(void **state)
{
    (void)state;
    test_rng rng = {77};
    for (int k = 0; k < 3; k++) {
        fixture *f = fixture_make(sshapes[k], 60 + (uint64_t)k);
        size_t seen = 0;
        for (size_t i = 0; i < N; i++)
            for (int up = 0; up < 2; up++) {
                double lo = up ? f->lines.upper_lo[i] : f->lines.lower_lo[i];
                double hi = up ? f->lines.upper_hi[i] : f->lines.lower_hi[i];
                if (!(lo < hi)) continue;
                relax_sbox b;
                relax_sshape_box(sshapes[k], f->l[i], f->u[i], &b);
                for (int t = 0; t < 4; t++) {
                    double d = t == 0 ? lo : t == 1 ? hi : test_rng_range(&rng, lo, hi), s1, t1, s2, t2, dd;
                    relax_line_at(&f->layer, i, f->l[i], f->u[i], up, d, &s1, &t1);
                    relax_sshape_tangent_at(&b, up, d, &s2, &t2, &dd);
                    assert_memory_equal(&s1, &s2, sizeof s1);
                    assert_memory_equal(&t1, &t2, sizeof t1);
                    double ref = sshape_deriv2(sshapes[k], d);
                    assert_true(fabs(dd - ref) <= 1e-15 * (1 + fabs(ref)));
                    seen++;
                }
            }
        assert_true(seen > 100);
        fixture_free(f);
    }
}

static void sshape_lines_touch_where_they_should(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {
        layer_type t = sshapes[a];
        fixture *f = fixture_make(t, 400 + a);
        relax_lines *L = &f->lines;
        for (size_t i = 0; i < N; i++) {
            double l = f->l[i], u = f->u[i];
            double tol = 1e-9 * (1 + fmax(fabs(l), fabs(u)));
            if (u - l <= 1e-9) continue;
            if (L->upper_lo[i] < L->upper_hi[i]) {
                double d = L->upper_param[i];
                double gap = L->upper_slope[i] * d + L->upper_icpt[i] - sshape_value(t, d);
                assert_true(gap >= 0 && gap <= tol);
                if (l < 0) {
                    double gl = L->upper_slope[i] * l + L->upper_icpt[i] - sshape_value(t, l);
                    assert_true(gl >= 0 && gl <= tol);
                }
            } else {
                double gl = L->upper_slope[i] * l + L->upper_icpt[i] - sshape_value(t, l);
                double gu = L->upper_slope[i] * u + L->upper_icpt[i] - sshape_value(t, u);
                assert_true(fmin(gl, gu) <= tol);
            }
            if (L->lower_lo[i] < L->lower_hi[i]) {
                double d = L->lower_param[i];
                double gap = sshape_value(t, d) - (L->lower_slope[i] * d + L->lower_icpt[i]);
                assert_true(gap >= 0 && gap <= tol);
                if (u > 0) {
                    double gu = sshape_value(t, u) - (L->lower_slope[i] * u + L->lower_icpt[i]);
                    assert_true(gu >= 0 && gu <= tol);
                }
            }
        }
        fixture_free(f);
    }
}

/* For l < 0 < u the upper chord is used exactly when the tangent at u passes below
 * (l, sigma(l)); then it is the chord. Example: tanh on [-2, 0.3] (chord) and on
 * [-2, 3] (tangent). */
static void sshape_unstable_chord_or_tangent(void **state)
{
    (void)state;
    nn_error err;
    double l[2] = {-2, -2}, u[2] = {0.3, 3};
    nn_layer layer = layer_make(LAYER_TANH);
    layer.in = layer.out = (nn_shape){2, 1, 1};
    relax_lines L;
    assert_int_equal(relax_lines_init(&L, 2, &err), NN_OK);
    assert_int_equal(relax_activation(&layer, 0, l, u, 2, LINES_TIGHT, &L, &err), NN_OK);
    double chord = (tanh(0.3) - tanh(-2)) / 2.3;
    assert_true(L.upper_lo[0] == L.upper_hi[0]);
    assert_true(fabs(L.upper_slope[0] - chord) < 1e-15);
    assert_true(L.upper_lo[1] < L.upper_hi[1]);
    double d = L.upper_param[1];
    /* The tangent at d passes through (-2, tanh(-2)). */
    assert_true(fabs(tanh(d) + (1 - tanh(d) * tanh(d)) * (-2 - d) - tanh(-2)) < 1e-12);
    /* tanh is odd: the lower line of [-3, 2] mirrors the upper line of [-2, 3]. */
    double l2 = -3, u2 = 2;
    relax_lines M;
    assert_int_equal(relax_lines_init(&M, 1, &err), NN_OK);
    assert_int_equal(relax_activation(&layer, 0, &l2, &u2, 1, LINES_TIGHT, &M, &err), NN_OK);
    assert_true(fabs(M.lower_param[0] + d) < 1e-12);
    assert_true(fabs(M.lower_slope[0] - L.upper_slope[1]) < 1e-12);
    assert_true(fabs(M.lower_icpt[0] + L.upper_icpt[1]) < 1e-12);
    assert_int_equal(relax_lines_violations(&layer, &l2, &u2, &M, 1), 0);
    relax_lines_free(&L);
    relax_lines_free(&M);
}

static void sshape_degenerate_box_gives_constant_lines(void **state)
{
    (void)state;
    nn_error err;
    double l[3] = {0.7, -3, 0}, u[3] = {0.7, -3 + 1e-13, 0};
    relax_lines L;
    assert_int_equal(relax_lines_init(&L, 3, &err), NN_OK);
    for (int a = 0; a < 3; a++) {
        nn_layer layer = layer_make(sshapes[a]);
        layer.in = layer.out = (nn_shape){3, 1, 1};
        assert_int_equal(relax_activation(&layer, 0, l, u, 3, LINES_TIGHT, &L, &err), NN_OK);
        for (int i = 0; i < 3; i++) {
            assert_true(L.lower_slope[i] == 0.0 && L.upper_slope[i] == 0.0);
            assert_true(L.lower_lo[i] == L.lower_hi[i] && L.upper_lo[i] == L.upper_hi[i]);
            double f = sshape_value(sshapes[a], l[i]);
            assert_true(L.lower_icpt[i] <= f && f - L.lower_icpt[i] < 1e-14);
            assert_true(L.upper_icpt[i] >= f && L.upper_icpt[i] - f < 1e-12);
        }
        assert_int_equal(relax_lines_violations(&layer, l, u, &L, 3), 0);
    }
    relax_lines_free(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sshape_lines_valid_on_grid),
        cmocka_unit_test(sshape_lines_valid_in_saturation),
        cmocka_unit_test(sshape_parameter_ranges_follow_frown),
        cmocka_unit_test(sshape_every_tangent_point_in_range_is_valid),
        cmocka_unit_test(sshape_prepared_tangent_equals_line_at),
        cmocka_unit_test(sshape_lines_touch_where_they_should),
        cmocka_unit_test(sshape_unstable_chord_or_tangent),
        cmocka_unit_test(sshape_degenerate_box_gives_constant_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
