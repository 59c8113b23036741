/* VNN-LIB reader (src/io/vnnlib.c): the subset VNN-COMP writes, its normal form,
 * the outer and inner values of strict and rounded bounds, gzip, and one named
 * error per class of damage (with line and column), never a crash. */
#include "testutil.h"

#include <math.h>
#include <regex.h>
#include <zlib.h>

#include "vnnlib.h"

static const char *const decl2x3 =
    "(declare-const X_0 Real)\n(declare-const X_1 Real)\n"
    "(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n(declare-const Y_2 Real)\n";

static void parse_ok(const char *text, prop_spec *p)
{
    nn_error err;
    nn_error_clear(&err);
    if (vnnlib_parse(text, strlen(text), "t.vnnlib", NULL, p, &err)) fail_msg("unexpected error: %s", err.msg);
}

/* Parsing fails with code and a message matching the regular expression re. */
static void parse_fails_lim(const char *text, size_t len, const vnnlib_limits *lim, nn_code code, const char *re)
{
    nn_error err;
    nn_error_clear(&err);
    prop_spec p;
    int rc = vnnlib_parse(text, len, "t.vnnlib", lim, &p, &err);
    if (rc == NN_OK) fail_msg("accepted, expected /%s/", re);
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    int match = regexec(&rx, err.msg, 0, NULL, 0) == 0;
    regfree(&rx);
    if (!match || (int)err.code != (int)code)
        fail_msg("got [%s] %s, expected [%s] /%s/", nn_code_name(err.code), err.msg, nn_code_name(code), re);
    assert_null(p.lo);
}

static void parse_fails(const char *text, nn_code code, const char *re)
{
    parse_fails_lim(text, strlen(text), NULL, code, re);
}

/* decl2x3 + body */
static char *with_decl(const char *body)
{
    static char buf[16384];
    snprintf(buf, sizeof buf, "%s%s", decl2x3, body);
    return buf;
}

static const char *const box01 = "(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 -0.5))(assert (<= X_1 0.5))\n";

static void simple_property_reads_box_and_row(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof body, "%s(assert (<= Y_0 Y_1))\n", box01);
    prop_spec p;
    parse_ok(with_decl(body), &p);
    assert_int_equal(p.n_x, 2);
    assert_int_equal(p.n_y, 3);
    assert_int_equal(p.n_boxes, 1);
    assert_int_equal(p.n_conj, 1);
    assert_int_equal(p.n_cases, 1);
    assert_true(p.lo[0] == 0 && p.hi[0] == 1 && p.lo[1] == -0.5 && p.hi[1] == 0.5);
    assert_true(p.lo_in[1] == -0.5 && p.hi_in[1] == 0.5);
    assert_int_equal(p.n_rows, 1);
    assert_true(p.row[0] == 1 && p.row[1] == -1 && p.row[2] == 0);
    assert_true(p.rhs[0] == 0 && p.rhs_in[0] == 0);
    double y_in[3] = {0.2, 0.3, 9}, y_out[3] = {0.4, 0.3, 0};
    assert_true(prop_conj_holds(&p, 0, y_in));
    assert_false(prop_conj_holds(&p, 0, y_out));
    nn_error err;
    assert_int_equal(prop_check_sizes(&p, 2, 3, "t", &err), NN_OK);
    prop_spec_free(&p);
}

static void comments_whitespace_numbers_and_linear_terms(void **state)
{
    (void)state;
    const char *text =
        "; a comment (with parentheses\r\n(set-logic QF_LRA) ; trailing comment\n"
        "(declare-const X_0 Real)\t(declare-fun X_1 () Real)\r\n"
        "(declare-const Y_0 Real)(declare-const Y_1 Real)(declare-const Y_2 Real)\n"
        "(assert (and (>= X_0 -1.5e-1) (<= X_0 2.5E+0) (<= (- 0.25) X_1) (>= 1 X_1)))\n"
        "(assert (<= (+ (* 2 Y_0) (- Y_1) (* Y_2 -0.5) 3) (- 1 0.5)))\n"
        "(assert (>= 7 Y_0 Y_1))\n"
        "(check-sat)\n(get-model)\n(exit)\n";
    prop_spec p;
    parse_ok(text, &p);
    assert_true(p.lo[0] == -0.15 && p.hi[0] == 2.5 && p.lo[1] == -0.25 && p.hi[1] == 1);
    assert_int_equal(p.n_rows, 3);
    /* 2 Y0 - Y1 - 0.5 Y2 + 3 <= 0.5 */
    assert_true(p.row[0] == 2 && p.row[1] == -1 && p.row[2] == -0.5 && p.rhs[0] == -2.5);
    /* chain 7 >= Y0 >= Y1: Y0 <= 7, Y1 - Y0 <= 0 */
    assert_true(p.row[3] == 1 && p.row[4] == 0 && p.rhs[1] == 7);
    assert_true(p.row[6] == -1 && p.row[7] == 1 && p.rhs[2] == 0);
    prop_spec_free(&p);
}

static void disjunctions_become_boxes_times_conjunctions(void **state)
{
    (void)state;
    const char *body =
        "(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1))\n"
        "            (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1))))\n"
        "(assert (or (and (>= Y_1 Y_0)) (and (>= Y_2 Y_0) (>= Y_2 Y_1)) (and (>= Y_1 Y_0))))\n";
    prop_spec p;
    parse_ok(with_decl(body), &p);
    assert_int_equal(p.n_boxes, 2);
    assert_int_equal(p.n_conj, 2);   /* the repeated conjunction is shared */
    assert_int_equal(p.n_cases, 6);
    assert_true(p.lo[2] == 2 && p.hi[2] == 3);
    assert_int_equal(p.conj_start[1] - p.conj_start[0], 1);
    assert_int_equal(p.conj_start[2] - p.conj_start[1], 2);
    for (size_t k = 0; k < 6; k++) assert_true(p.case_box[k] < 2 && p.case_conj[k] < 2);
    prop_spec_free(&p);
    /* an input disjunction mixed with output rows in one assert */
    const char *mixed =
        "(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) (<= Y_0 Y_1))\n"
        "            (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1) (= Y_2 1))))\n";
    parse_ok(with_decl(mixed), &p);
    assert_int_equal(p.n_boxes, 1);
    assert_int_equal(p.n_conj, 2);
    assert_int_equal(p.conj_start[2] - p.conj_start[1], 2);   /* = is two rows */
    prop_spec_free(&p);
}

static void strict_and_rounded_bounds_have_outer_and_inner_values(void **state)
{
    (void)state;
    const char *body = "(assert (> X_0 0))(assert (< X_0 1))(assert (>= X_1 (+ 0.1 0.2)))"
                       "(assert (<= (* 3 X_1) 1))(assert (< Y_0 Y_1))(assert (<= Y_2 (/ 1 3)))\n";
    prop_spec p;
    parse_ok(with_decl(body), &p);
    assert_true(p.lo[0] == 0 && p.hi[0] == 1);                       /* outer: non-strict */
    assert_true(p.lo_in[0] > 0 && p.lo_in[0] == nextafter(0, 1));    /* inner: strictly inside */
    assert_true(p.hi_in[0] < 1 && p.hi_in[0] == nextafter(1, 0));
    /* 0.1 + 0.2 is not exact in double: outer below, inner above the sum */
    assert_true(p.lo[1] < p.lo_in[1]);
    assert_true(p.lo[1] <= 0.30000000000000004 && p.lo_in[1] >= 0.3);
    /* 3 X1 <= 1: X1 <= 1/3 outward and inward */
    assert_true(p.hi[1] >= 1.0 / 3 && p.hi_in[1] <= 1.0 / 3 && p.hi[1] > p.hi_in[1]);
    assert_true(fma(3.0, p.hi[1], -1.0) >= 0 && fma(3.0, p.hi_in[1], -1.0) <= 0);
    assert_true(p.rhs[0] == 0 && p.rhs_in[0] < 0);                   /* strict row */
    assert_true(p.rhs[1] >= 1.0 / 3 && p.rhs_in[1] <= 1.0 / 3 && p.rhs[1] > p.rhs_in[1]);
    prop_spec_free(&p);
}

static void gzip_file_reads_like_plain(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof body, "%s(assert (or (and (<= Y_0 Y_1)) (and (<= Y_0 Y_2))))\n", box01);
    const char *text = with_decl(body);
    char path[256], gzpath[256];
    snprintf(path, sizeof path, "%s", test_tmpname(".vnnlib"));
    snprintf(gzpath, sizeof gzpath, "%s", test_tmpname(".vnnlib.gz"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    gzFile gz = gzopen(gzpath, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    gzclose(gz);
    prop_spec a, b;
    nn_error err;
    assert_int_equal(vnnlib_read(path, NULL, &a, &err), NN_OK);
    assert_int_equal(vnnlib_read(gzpath, NULL, &b, &err), NN_OK);
    assert_int_equal(a.n_cases, 2);
    assert_int_equal(b.n_cases, 2);
    assert_memory_equal(a.row, b.row, a.n_rows * a.n_y * sizeof *a.row);
    assert_memory_equal(a.lo, b.lo, a.n_x * sizeof *a.lo);
    prop_spec_free(&a), prop_spec_free(&b);
    /* the gzip file cut short */
    FILE *g = fopen(gzpath, "rb");
    unsigned char bytes[4096];
    size_t n = fread(bytes, 1, sizeof bytes, g);
    fclose(g);
    g = fopen(gzpath, "wb");
    fwrite(bytes, 1, n - 12, g);
    fclose(g);
    assert_int_not_equal(vnnlib_read(gzpath, NULL, &a, &err), NN_OK);
    assert_non_null(strstr(err.msg, gzpath));
    assert_int_not_equal(vnnlib_read("/nonexistent/p.vnnlib", NULL, &a, &err), NN_OK);
    assert_int_equal(err.code, NN_EIO);
    unlink(path), unlink(gzpath);
}

static void damaged_syntax_is_named_with_line_and_column(void **state)
{
    (void)state;
    parse_fails(with_decl("(assert (<= X_0 1)"), NN_EFORMAT, "t.vnnlib:6:1: '\\(' is never closed.*truncated");
    parse_fails(with_decl("(assert (<= X_0 1)))"), NN_EFORMAT, "t.vnnlib:6:20: unbalanced '\\)'");
    parse_fails("", NN_EFORMAT, "no assert");
    parse_fails(with_decl(""), NN_EFORMAT, "no assert");
    parse_fails(with_decl("(assert (<= X_0 1) (<= X_0 2))"), NN_EFORMAT, "6:1: assert takes exactly one formula");
    parse_fails(with_decl("(assert (<= X_0 |a b|))"), NN_EUNSUPPORTED, "6:17: quoted symbols");
    parse_fails(with_decl("(assert (not (<= X_0 1)))"), NN_EUNSUPPORTED, "6:9: unsupported operator 'not'");
    parse_fails(with_decl("(push 1)"), NN_EUNSUPPORTED, "6:1: unsupported command 'push'");
    parse_fails(with_decl("(assert (<= X_0 (exp Y_0)))"), NN_EUNSUPPORTED, "6:17: unsupported term operator 'exp'");
    parse_fails(with_decl("(assert (<= X_0 1.2.3))"), NN_EFORMAT, "6:17: malformed number '1.2.3'");
    parse_fails(with_decl("(assert (<= X_0 1e))"), NN_EFORMAT, "malformed number '1e'");
    parse_fails(with_decl("(assert (<= X_0))"), NN_EFORMAT, "6:9: a comparison needs at least two terms");
    parse_fails(with_decl("x"), NN_EFORMAT, "6:1: expected a command");
    const char nul[] = "(declare-const X_0 Real)\0(assert (<= X_0 1))";
    parse_fails_lim(nul, sizeof nul - 1, NULL, NN_EFORMAT, "1:25: NUL byte");
}

static void bad_variables_are_named(void **state)
{
    (void)state;
    parse_fails(with_decl("(assert (<= X_5 1))"), NN_EVALUE, "t.vnnlib:6:13: undeclared variable 'X_5'");
    parse_fails(with_decl("(assert (<= Z 1))"), NN_EVALUE, "6:13: undeclared variable 'Z'");
    parse_fails("(declare-const A Real)", NN_EUNSUPPORTED, "1:16: variable 'A' is not named X_i or Y_i");
    parse_fails("(declare-const X_0 Int)", NN_EUNSUPPORTED, "1:20: variable X_0 has sort 'Int'");
    parse_fails("(declare-const X_2000000000 Real)", NN_EUNSUPPORTED, "1:16: variable X_2000000000: index beyond the limit");
    parse_fails("(declare-const X_0 Real)(declare-const X_0 Real)", NN_EFORMAT, "1:40: X_0 is declared twice");
    parse_fails("(declare-const X_0 Real)(declare-const X_2 Real)(declare-const Y_0 Real)"
                "(assert (<= Y_0 1))", NN_EFORMAT, "X_1 is not declared but X_2 is");
    parse_fails("(declare-const X_0 Real)(assert (<= X_0 1))", NN_EFORMAT, "no output variable Y_0");
    /* indices beyond the model */
    prop_spec p;
    char body[1024];
    snprintf(body, sizeof body, "%s(assert (<= Y_2 Y_1))\n", box01);
    parse_ok(with_decl(body), &p);
    nn_error err;
    assert_int_equal(prop_check_sizes(&p, 1, 3, "t.vnnlib", &err), NN_ESHAPE);
    assert_non_null(strstr(err.msg, "input index is out of range"));
    assert_int_equal(prop_check_sizes(&p, 2, 2, "t.vnnlib", &err), NN_ESHAPE);
    assert_non_null(strstr(err.msg, "output index is out of range"));
    assert_int_equal(prop_check_sizes(&p, 3, 3, "t.vnnlib", &err), NN_ESHAPE);
    prop_spec_free(&p);
}

static void non_linear_and_non_box_constraints_are_refused(void **state)
{
    (void)state;
    parse_fails(with_decl("(assert (<= (* X_0 X_1) 1))"), NN_EUNSUPPORTED, "6:13: non-linear term");
    parse_fails(with_decl("(assert (<= (* Y_0 Y_0) 1))"), NN_EUNSUPPORTED, "non-linear term");
    parse_fails(with_decl("(assert (<= (/ 1 Y_0) 1))"), NN_EUNSUPPORTED, "a term and a constant divisor");
    parse_fails(with_decl("(assert (<= (/ Y_0 0) 1))"), NN_EVALUE, "division by zero");
    parse_fails(with_decl("(assert (<= (+ X_0 X_1) 1))"), NN_EUNSUPPORTED, "6:9: a constraint over several inputs");
    parse_fails(with_decl("(assert (<= X_0 Y_1))"), NN_EUNSUPPORTED, "6:9: a constraint mixing inputs X and outputs Y");
    parse_fails(with_decl("(assert (<= (* 0.1 0.3 Y_0) 1))"), NN_EUNSUPPORTED, "not exactly representable");
}

static void non_finite_numbers_are_refused(void **state)
{
    (void)state;
    parse_fails(with_decl("(assert (<= X_0 nan))"), NN_EVALUE, "6:17: 'nan' is not a finite number");
    parse_fails(with_decl("(assert (<= X_0 -inf))"), NN_EVALUE, "'-inf' is not a finite number");
    parse_fails(with_decl("(assert (<= Y_0 Infinity))"), NN_EVALUE, "'Infinity' is not a finite number");
    parse_fails(with_decl("(assert (<= X_0 1e400))"), NN_EVALUE, "6:17: number '1e400' is out of the range");
    parse_fails(with_decl("(assert (<= Y_0 (* 1e300 1e300)))"), NN_EVALUE, "overflows double precision");
}

static void missing_and_crossed_bounds_are_refused(void **state)
{
    (void)state;
    parse_fails(with_decl("(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= Y_0 Y_1))"),
                NN_EVALUE, "input X_1 has no upper bound");
    parse_fails(with_decl("(assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1)) (and (>= X_0 0) (<= X_0 1))))"
                          "(assert (<= Y_0 Y_1))"),
                NN_EVALUE, "input X_1 has no lower bound in one of the disjuncts");
    parse_fails(with_decl("(assert (>= X_0 2))\n(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= X_1 1))"
                          "(assert (<= Y_0 Y_1))"),
                NN_EVALUE, "t.vnnlib:6:9: input X_0 has lower bound 2 \\(here\\) above its upper bound 1 \\(line 7, column 9\\)");
    parse_fails(with_decl("(assert (<= 1 0))"), NN_EVALUE, "unsatisfiable as written");
}

static void huge_inputs_hit_named_limits(void **state)
{
    (void)state;
    vnnlib_limits lim;
    vnnlib_limits_default(&lim);
    /* deep nesting: an error, not a stack overflow */
    size_t depth = 200000;
    char *deep = malloc(2 * depth + 64);
    assert_non_null(deep);
    size_t w = (size_t)sprintf(deep, "(assert ");
    for (size_t i = 0; i < depth; i++) deep[w++] = '(';
    for (size_t i = 0; i < depth; i++) deep[w++] = ')';
    deep[w++] = ')';
    parse_fails_lim(deep, w, NULL, NN_EUNSUPPORTED, "1:[0-9]+: parentheses nested deeper than 256 levels");
    free(deep);
    /* more bytes than allowed */
    lim.max_bytes = 100;
    const char *text = with_decl(box01);
    parse_fails_lim(text, strlen(text), &lim, NN_EUNSUPPORTED, "exceed the limit of 100 bytes");
    /* a normal form that explodes: 2^20 disjuncts */
    char body[8192];
    w = (size_t)snprintf(body, sizeof body, "%s(assert (and", box01);
    for (int i = 0; i < 20; i++) w += (size_t)snprintf(body + w, sizeof body - w, " (or (<= Y_0 %d) (<= Y_1 %d))", i, i);
    snprintf(body + w, sizeof body - w, "))");
    parse_fails(with_decl(body), NN_EUNSUPPORTED, "7:9: the disjunctive normal form has more than 100000 disjuncts");
    /* a large honest file: 3072 inputs as separate asserts, 10 outputs */
    size_t cap = 1 << 20;
    char *big = malloc(cap);
    assert_non_null(big);
    w = 0;
    for (int i = 0; i < 3072; i++) w += (size_t)snprintf(big + w, cap - w, "(declare-const X_%d Real)\n", i);
    for (int j = 0; j < 10; j++) w += (size_t)snprintf(big + w, cap - w, "(declare-const Y_%d Real)\n", j);
    for (int i = 0; i < 3072; i++)
        w += (size_t)snprintf(big + w, cap - w, "(assert (<= X_%d %.6f))\n(assert (>= X_%d %.6f))\n", i, 0.5 + i * 1e-4, i,
                              0.4 + i * 1e-4);
    w += (size_t)snprintf(big + w, cap - w, "(assert (or");
    for (int j = 1; j < 10; j++) w += (size_t)snprintf(big + w, cap - w, " (and (>= Y_%d Y_0))", j);
    w += (size_t)snprintf(big + w, cap - w, "))\n");
    prop_spec p;
    nn_error err;
    assert_int_equal(vnnlib_parse(big, w, "big", NULL, &p, &err), NN_OK);
    assert_int_equal(p.n_x, 3072);
    assert_int_equal(p.n_boxes, 1);
    assert_int_equal(p.n_cases, 9);
    assert_true(p.hi[3071] == 0.5 + 3071 * 1e-4 || fabs(p.hi[3071] - 0.8071) < 1e-12);
    prop_spec_free(&p);
    free(big);
}

/* Every prefix and many byte flips of a valid file: parsed or refused with a
 * message, never a crash (the sanitizer build runs this too). */
static void every_truncation_and_byte_flip_is_handled(void **state)
{
    (void)state;
    char body[2048];
    snprintf(body, sizeof body,
             "; property\n(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 -1e-3) (< X_0 2.5))))\n"
             "(assert (<= -1 X_1 1))\n(assert (or (and (<= (+ Y_0 (* -2 Y_1)) 0.5) (> Y_2 Y_0)) (<= Y_1 (- 3))))\n");
    char *text = strdup(with_decl(body));
    size_t len = strlen(text);
    int ok = 0, refused = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        prop_spec p;
        nn_error err;
        nn_error_clear(&err);
        if (vnnlib_parse(text, cut, "cut", NULL, &p, &err) == NN_OK) ok++, prop_spec_free(&p);
        else refused++, assert_true(err.msg[0] != '\0');
    }
    assert_true(ok >= 1 && refused > (int)len / 2);
    test_rng rng = {77};
    const char alphabet[] = "()<=>-+*/; \n0123456789.eXY_abnorq\0|\"";
    for (int t = 0; t < 3000; t++) {
        char *m = strdup(text);
        int flips = 1 + (int)(test_rng_next(&rng) % 4);
        for (int k = 0; k < flips; k++) m[test_rng_next(&rng) % len] = alphabet[test_rng_next(&rng) % (sizeof alphabet - 1)];
        prop_spec p;
        nn_error err;
        nn_error_clear(&err);
        if (vnnlib_parse(m, len, "flip", NULL, &p, &err) == NN_OK) {
            /* whatever was accepted is a well-formed property */
            assert_true(p.n_cases >= 1 && p.n_boxes >= 1);
            for (size_t i = 0; i < p.n_boxes * p.n_x; i++) assert_true(p.lo[i] <= p.hi[i] && isfinite(p.lo[i]));
            prop_spec_free(&p);
        } else {
            assert_true(err.msg[0] != '\0');
        }
        free(m);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_property_reads_box_and_row),
        cmocka_unit_test(comments_whitespace_numbers_and_linear_terms),
        cmocka_unit_test(disjunctions_become_boxes_times_conjunctions),
        cmocka_unit_test(strict_and_rounded_bounds_have_outer_and_inner_values),
        cmocka_unit_test(gzip_file_reads_like_plain),
        cmocka_unit_test(damaged_syntax_is_named_with_line_and_column),
        cmocka_unit_test(bad_variables_are_named),
        cmocka_unit_test(non_linear_and_non_box_constraints_are_refused),
        cmocka_unit_test(non_finite_numbers_are_refused),
        cmocka_unit_test(missing_and_crossed_bounds_are_refused),
        cmocka_unit_test(huge_inputs_hit_named_limits),
        cmocka_unit_test(every_truncation_and_byte_flip_is_handled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
