/* Job descriptions (include/job.h): INI files read through inih with errors that
 * name file, line and key; flags override file values; canonical text loads back
 * to the same job; lists expand; nothing of a bad file is kept. */
#include "testutil.h"

#include "job.h"

static const job_key schema[] = {
    {"job", "model", JOB_STR, NULL, 0},   {"job", "count", JOB_INT, "0", 0},
    {"bound", "method", JOB_STR, "crown", 1}, {"bound", "clip", JOB_BOOL, "false", 1},
    {"certify", "rtol", JOB_REAL, "1e-3", 1}, {"output", "save", JOB_LIST, NULL, 0},
};
#define N_KEYS ((int)(sizeof schema / sizeof schema[0]))

static const char *write_tmp(const char *text)
{
    const char *path = test_tmpname(".ini");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load text from a file; returns the code and leaves the message in err. */
static int load(job *j, const char *text, nn_error *err)
{
    assert_int_equal(job_init(j, schema, N_KEYS, err), NN_OK);
    char path[256];
    snprintf(path, sizeof path, "%s", write_tmp(text));
    int rc = job_load_ini(j, path, err);
    unlink(path);
    return rc;
}

static void expect_error(const char *text, const char *line_tag, const char *what)
{
    job j;
    nn_error err;
    assert_int_not_equal(load(&j, text, &err), NN_OK);
    if (!strstr(err.msg, line_tag) || !strstr(err.msg, what)) fail_msg("message '%s' lacks '%s' / '%s'", err.msg, line_tag, what);
    for (int i = 0; i < N_KEYS; i++) assert_null(j.value[i]);  /* nothing kept */
    job_free(&j);
}

static void values_carry_file_and_line(void **state)
{
    (void)state;
    job j;
    nn_error err;
    assert_int_equal(load(&j, "# comment\n[job]\nmodel = m.h5\n\n[bound]\nmethod = ibp ; inline comment\nclip = yes\n",
                          &err),
                     NN_OK);
    assert_string_equal(job_value(&j, "model"), "m.h5");
    assert_string_equal(job_value(&j, "method"), "ibp");
    int clip = 0;
    assert_int_equal(job_get_bool(&j, "clip", &clip, &err), NN_OK);
    assert_int_equal(clip, 1);
    assert_string_equal(job_value(&j, "rtol"), "1e-3");  /* default */
    assert_false(job_is_set(&j, "rtol"));
    assert_int_equal(job_fail(&j, "method", &err, NN_EARG, "bad %s", "x"), NN_EARG);
    assert_non_null(strstr(err.msg, ".ini:6: key 'method': bad x"));
    job_free(&j);
}

static void errors_name_file_line_and_key(void **state)
{
    (void)state;
    expect_error("[job]\nmodel = a\n[bound]\nmethd = crown\n", ":4:", "unknown key 'methd' in section [bound]");
    expect_error("[job]\ncount = many\n", ":2:", "key 'count': expected an integer, got 'many'");
    expect_error("[jobs]\nmodel = a\n", ":2:", "unknown section [jobs]");
    expect_error("model = a\n", ":1:", "outside any section");
    expect_error("[job]\nmodel = a\nmodel = b\n", ":3:", "given twice (first at line 2)");
    expect_error("[bound]\nclip = maybe\n", ":2:", "expected true or false");
    expect_error("[job]\nmodel a\n", ":2:", "syntax error");
    expect_error("[certify]\nrtol = 1e-3x\n", ":2:", "key 'rtol'");
    expect_error("[output]\nsave = 3-1\n", ":2:", "key 'save'");
    expect_error("[job]\nmethod = crown\n", ":2:", "belongs in section [bound], not [job]");
    char longline[400] = "[job]\nmodel = ";
    memset(longline + strlen(longline), 'x', 300);
    expect_error(longline, ":2:", "longer than");
    job j;
    nn_error err;
    assert_int_equal(job_init(&j, schema, N_KEYS, &err), NN_OK);
    assert_int_equal(job_load_ini(&j, "/nonexistent/x.ini", &err), NN_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.ini: cannot open"));
    job_free(&j);
}

static void flags_override_the_file(void **state)
{
    (void)state;
    job j;
    nn_error err;
    assert_int_equal(load(&j, "[job]\ncount = 5\n", &err), NN_OK);
    assert_int_equal(job_set(&j, "count", "7", "command line (--count)", &err), NN_OK);
    long n;
    assert_int_equal(job_get_long(&j, "count", 0, 100, &n, &err), NN_OK);
    assert_int_equal(n, 7);
    assert_int_equal(job_get_long(&j, "count", 0, 3, &n, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "command line (--count): key 'count': 7 is outside [0, 3]"));
    assert_int_equal(job_set(&j, "count", "x", "command line", &err), NN_EARG);
    assert_int_equal(job_set(&j, "nope", "1", "command line", &err), NN_EARG);
    assert_non_null(strstr(err.msg, "unknown key 'nope'"));
    /* a file loaded after a flag does not override it */
    assert_int_equal(job_set(&j, "method", "lbp", "command line", &err), NN_OK);
    char path[256];
    snprintf(path, sizeof path, "%s", write_tmp("[bound]\nmethod = ibp\n"));
    assert_int_equal(job_load_ini(&j, path, &err), NN_OK);
    unlink(path);
    assert_string_equal(job_value(&j, "method"), "lbp");
    job_free(&j);
}

static void canonical_text_loads_back_to_the_same_job(void **state)
{
    (void)state;
    job a, b;
    nn_error err;
    assert_int_equal(load(&a, "[output]\nsave = 9, 1-3\n[job]\nmodel = m.h5\n[bound]\nclip = on\n", &err), NN_OK);
    char *t = job_text(&a, 0);
    assert_non_null(t);
    assert_int_equal(job_init(&b, schema, N_KEYS, &err), NN_OK);
    assert_int_equal(job_load_text(&b, t, "text", &err), NN_OK);
    char *t2 = job_text(&b, 0);
    assert_string_equal(t, t2);
    assert_non_null(strstr(t, "[bound]\nmethod = crown\nclip = on\n"));
    char *id = job_text(&a, 1);
    assert_null(strstr(id, "model"));
    assert_non_null(strstr(id, "rtol = 1e-3"));
    char diff[200];
    job_text_diff("[a]\nx = 1\ny = 2\n", "[a]\nx = 1\ny = 3\n", diff, sizeof diff);
    assert_string_equal(diff, "'y = 2' vs 'y = 3'");
    job_text_diff("[a]\nx = 1\n", "[a]\nx = 1\nz = 4\n", diff, sizeof diff);
    assert_string_equal(diff, "'(not set)' vs 'z = 4'");
    free(t);
    free(t2);
    free(id);
    job_free(&a);
    job_free(&b);
}

static void indented_lines_continue_a_value_and_survive_the_text(void **state)
{
    (void)state;
    job a, b;
    nn_error err;
    assert_int_equal(load(&a, "[job]\nmodel = a.h5,\n    b.h5\n[output]\nsave = 1,\n  2-3\n", &err), NN_OK);
    assert_string_equal(job_value(&a, "model"), "a.h5,\nb.h5");
    long *v;
    size_t n;
    assert_int_equal(job_get_list(&a, "save", &v, &n, &err), NN_OK);
    assert_int_equal(n, 3);
    free(v);
    char *t = job_text(&a, 0);
    assert_non_null(strstr(t, "model = a.h5,\n    b.h5\n"));
    assert_int_equal(job_init(&b, schema, N_KEYS, &err), NN_OK);
    assert_int_equal(job_load_text(&b, t, "text", &err), NN_OK);
    assert_string_equal(job_value(&b, "model"), "a.h5,\nb.h5");
    free(t);
    job_free(&a);
    job_free(&b);
    /* an unindented repeat is still a duplicate */
    expect_error("[job]\nmodel = a\nmodel = b\n", ":3:", "given twice");
}

static void lists_expand_sorted_without_duplicates(void **state)
{
    (void)state;
    job j;
    nn_error err;
    assert_int_equal(load(&j, "[output]\nsave = 7, 2-4, 3, 0\n", &err), NN_OK);
    long *v;
    size_t n;
    assert_int_equal(job_get_list(&j, "save", &v, &n, &err), NN_OK);
    long want[] = {0, 2, 3, 4, 7};
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) assert_int_equal(v[i], want[i]);
    free(v);
    job_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_carry_file_and_line),
        cmocka_unit_test(errors_name_file_line_and_key),
        cmocka_unit_test(flags_override_the_file),
        cmocka_unit_test(canonical_text_loads_back_to_the_same_job),
        cmocka_unit_test(indented_lines_continue_a_value_and_survive_the_text),
        cmocka_unit_test(lists_expand_sorted_without_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
