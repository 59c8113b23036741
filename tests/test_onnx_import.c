/* Tests for src/io/onnx_import.c: fixtures written by tools/models/make_onnx_fixtures.py
 * (PyTorch exports and hand-built graphs) must import to the expected native layers
 * and reproduce PyTorch's float64 logits; broken and unsupported files must fail
 * with a message naming the file and the node, attribute or tensor at fault. */
#include "testutil.h"

#include <math.h>
#include <regex.h>

#include "forward.h"
#include "onnx_import.h"

static char fixdir[256];

static int make_fixtures(void **state)
{
    (void)state;
    snprintf(fixdir, sizeof fixdir, "/tmp/nncert-onnx-fx-%d", (int)getpid());
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s >/dev/null 2>&1", test_path("tools/models/make_onnx_fixtures.py"), fixdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fixture generation failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

static int remove_fixtures(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fixdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *fixture(const char *file)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", fixdir, file);
    return buf;
}

/* ------------------------------------------------------------ .expect files */

typedef struct {
    nn_shape input;
    char layers[32][16];
    int n_layers;
    long params;
    int cases, nx, ny;
    double *x, *y;          /* cases rows of nx / ny values */
} expect;

static int read_numbers(char *line, double **out, int *n)
{
    int cap = 64, k = 0;
    double *v = malloc((size_t)cap * sizeof *v);
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (k == cap) v = realloc(v, (size_t)(cap *= 2) * sizeof *v);
        v[k++] = strtod(tok, NULL);
    }
    *out = v;
    *n = k;
    return k;
}

static void load_expect(const char *name, expect *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.expect", fixdir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    memset(e, 0, sizeof *e);
    char *line = NULL;
    size_t cap = 0;
    int xi = 0, yi = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strncmp(line, "input ", 6)) {
            assert_int_equal(sscanf(line + 6, "%d %d %d", &e->input.c, &e->input.h, &e->input.w), 3);
        } else if (!strncmp(line, "layers ", 7)) {
            for (char *tok = strtok(line + 7, " \n"); tok && e->n_layers < 32; tok = strtok(NULL, " \n"))
                snprintf(e->layers[e->n_layers++], 16, "%s", tok);
        } else if (!strncmp(line, "params ", 7)) {
            e->params = strtol(line + 7, NULL, 10);
        } else if (!strncmp(line, "case ", 5)) {
            e->cases = atoi(line + 5);
        } else if (line[0] == 'x' || line[0] == 'y') {
            double *v;
            int n;
            read_numbers(line + 2, &v, &n);
            int is_x = line[0] == 'x';
            int *cols = is_x ? &e->nx : &e->ny, *row = is_x ? &xi : &yi;
            double **dst = is_x ? &e->x : &e->y;
            if (*row == 0) {
                *cols = n;
                *dst = malloc((size_t)e->cases * (size_t)n * sizeof **dst);
            }
            assert_int_equal(n, *cols);
            assert_true(*row < e->cases);
            memcpy(*dst + (size_t)(*row)++ * (size_t)n, v, (size_t)n * sizeof *v);
            free(v);
        }
    }
    free(line);
    fclose(f);
    assert_int_equal(xi, e->cases);
    assert_int_equal(yi, e->cases);
    assert_true(e->cases > 0);
}

static void free_expect(expect *e)
{
    free(e->x);
    free(e->y);
}

/* Import NAME.onnx and compare structure and logits with PyTorch's. */
static void check_fixture(const char *name)
{
    expect e;
    load_expect(name, &e);
    char file[128];
    snprintf(file, sizeof file, "%s.onnx", name);
    nn_model m;
    nn_error err;
    nn_error_clear(&err);
    int rc = onnx_import_file(fixture(file), &m, &err);
    if (rc) fprintf(stderr, "import failed: %s\n", err.msg);
    assert_int_equal(rc, NN_OK);

    assert_int_equal(m.input.c, e.input.c);
    assert_int_equal(m.input.h, e.input.h);
    assert_int_equal(m.input.w, e.input.w);
    if (m.n_layers != e.n_layers)
        for (int i = 0; i < m.n_layers; i++) fprintf(stderr, "layer %d: %s\n", i, layer_type_name(m.layers[i].type));
    assert_int_equal(m.n_layers, e.n_layers);
    for (int i = 0; i < m.n_layers; i++) assert_string_equal(layer_type_name(m.layers[i].type), e.layers[i]);
    assert_int_equal((long)model_param_count(&m), e.params);
    assert_int_equal(model_input_size(&m), (size_t)e.nx);
    assert_int_equal(model_output_size(&m), (size_t)e.ny);
    const nn_meta *from = model_get_meta(&m, "imported_from");
    assert_non_null(from);
    assert_string_equal(from->str, file);

    double *logits = calloc((size_t)e.cases * (size_t)e.ny, sizeof *logits);
    rc = forward_run(&m, e.x, (size_t)e.cases, logits, &err);
    if (rc) fprintf(stderr, "forward failed: %s\n", err.msg);
    assert_int_equal(rc, NN_OK);
    for (int k = 0; k < e.cases * e.ny; k++) {
        double want = e.y[k], got = logits[k];
        if (!(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want))))
            fail_msg("%s: logit %d is %.17g, PyTorch float64 gives %.17g", name, k, got, want);
    }
    free(logits);
    model_free(&m);
    free_expect(&e);
}

static void gemm_mlp_matches_pytorch_logits(void **state) { (void)state; check_fixture("mlp_gemm"); }
static void matmul_add_and_feature_normalization_match_pytorch(void **state) { (void)state; check_fixture("mlp_matmul"); }
static void conv_batchnorm_folding_matches_pytorch(void **state) { (void)state; check_fixture("cnn_bn"); }
static void global_pool_and_view_reshape_match_pytorch(void **state) { (void)state; check_fixture("cnn_gap"); }
static void double_tensors_constants_and_padded_avgpool_match(void **state) { (void)state; check_fixture("handmade"); }

/* Folding must leave exactly the formula's numbers: cnn_bn's first conv bias is
 * (b - mean) * gamma / sqrt(var + eps) + beta, checked here via the logits above;
 * this test checks the layer's geometry survives folding (pads, stride, dilation). */
static void conv_attributes_are_carried_over(void **state)
{
    (void)state;
    nn_model m;
    nn_error err;
    assert_int_equal(onnx_import_file(fixture("cnn_bn.onnx"), &m, &err), NN_OK);
    const nn_layer *c1 = &m.layers[1], *c2 = &m.layers[4], *pool = &m.layers[6];
    assert_int_equal(c1->type, LAYER_CONV2D);
    assert_int_equal(c1->pad[0], 1);
    assert_int_equal(c1->pad[3], 1);
    assert_int_equal(c2->stride[0], 2);
    assert_int_equal(c2->dilation[1], 2);
    assert_int_equal(c2->pad[2], 2);
    assert_int_equal(pool->kernel[0], 2);
    assert_int_equal(pool->stride[0], 1);
    /* normalize layer holds PyTorch's mean/std exactly as float32 values */
    assert_true(m.layers[0].mean[1] == (double)0.5f);
    assert_true(m.layers[0].std[2] == (double)0.3f);
    model_free(&m);
}

/* ------------------------------------------------------------ bad inputs */

static void expect_failure(const char *path, int rc, const nn_error *err, const char *pattern)
{
    if (rc == NN_OK) fail_msg("%s imported, but must be refused", path);
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int match = regexec(&re, err->msg, 0, NULL, 0) == 0;
    regfree(&re);
    if (!match) fail_msg("message \"%s\" lacks /%s/", err->msg, pattern);
    if (!strstr(err->msg, path)) fail_msg("message \"%s\" does not name the file %s", err->msg, path);
}

static void bad_fixture(const char *name)
{
    char file[128], errfile[128], pattern[512];
    snprintf(file, sizeof file, "%s.onnx", name);
    snprintf(errfile, sizeof errfile, "%s.err", name);
    FILE *f = fopen(fixture(errfile), "r");
    assert_non_null(f);
    assert_non_null(fgets(pattern, sizeof pattern, f));
    fclose(f);
    pattern[strcspn(pattern, "\n")] = '\0';
    char path[512];
    snprintf(path, sizeof path, "%s", fixture(file));
    nn_model m;
    nn_error err;
    nn_error_clear(&err);
    int rc = onnx_import_file(path, &m, &err);
    expect_failure(path, rc, &err, pattern);
    assert_int_equal(m.n_layers, 0); /* left empty */
}

static void softmax_before_the_end_is_refused(void **state) { (void)state; bad_fixture("bad_softmax"); }
static void reading_the_graph_input_twice_is_refused(void **state) { (void)state; bad_fixture("bad_residual"); }
static void product_of_two_values_is_refused(void **state) { (void)state; bad_fixture("bad_fork"); }
static void residual_add_of_unequal_shapes_is_refused(void **state) { (void)state; bad_fixture("bad_add_shapes"); }
static void residual_blocks_with_batchnorm_match_pytorch(void **state) { (void)state; check_fixture("res_blocks"); }
static void concat_of_input_is_not_sequential(void **state) { (void)state; bad_fixture("bad_concat"); }
static void group_not_dividing_the_channels_is_refused(void **state) { (void)state; bad_fixture("bad_group_conv"); }
static void grouped_and_depthwise_convs_match_pytorch(void **state) { (void)state; check_fixture("group_conv"); }
static void ceil_mode_other_than_0_or_1_is_refused(void **state) { (void)state; bad_fixture("bad_ceil_pool"); }
static void count_include_pad_other_than_0_or_1_is_refused(void **state) { (void)state; bad_fixture("bad_avg_pad"); }
static void ceil_mode_and_count_include_pad_match_pytorch(void **state) { (void)state; check_fixture("pool_ceil"); }
static void ceil_mode_drops_a_window_past_the_padding(void **state) { (void)state; check_fixture("pool_ceil_drop"); }
static void ceil_mode_with_asymmetric_and_auto_pads_matches(void **state) { (void)state; check_fixture("pool_ceil_asym"); }
static void zero_pad_nodes_before_conv_and_avgpool_match(void **state) { (void)state; check_fixture("pad_nodes"); }
static void zero_pad_before_maxpool_is_refused(void **state) { (void)state; bad_fixture("bad_pad_maxpool"); }
static void reflect_pad_is_refused(void **state) { (void)state; bad_fixture("bad_pad_reflect"); }

/* ceil_mode's cells are padding (the engine's floor formula then gives ONNX's
 * size) that the average never counts; count_include_pad's cells it counts. */
static void ceil_cells_pad_the_end_and_are_not_counted(void **state)
{
    (void)state;
    nn_model m;
    nn_error err;
    assert_int_equal(onnx_import_file(fixture("pool_ceil.onnx"), &m, &err), NN_OK);
    const nn_layer *mp = &m.layers[1], *ap1 = &m.layers[3], *ap2 = &m.layers[4];
    int mp_pad[4] = {0, 0, 1, 1}, ap1_pad[4] = {1, 1, 2, 2}, ap1_cnt[4] = {1, 1, 1, 1}, ap2_pad[4] = {0, 0, 1, 1};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(mp->pad[k], mp_pad[k]);
        assert_int_equal(ap1->pad[k], ap1_pad[k]);
        assert_int_equal(ap1->count_pad[k], ap1_cnt[k]);
        assert_int_equal(ap2->pad[k], ap2_pad[k]);
        assert_int_equal(ap2->count_pad[k], 0);
    }
    assert_int_equal(ap1->out.h, 3);
    assert_int_equal(ap2->out.w, 2);
    model_free(&m);
}
static void negative_normalization_scale_is_refused(void **state) { (void)state; bad_fixture("bad_negative_std"); }
static void zero_normalization_scale_is_refused(void **state) { (void)state; bad_fixture("bad_zero_std"); }
static void lying_dims_are_refused(void **state) { (void)state; bad_fixture("bad_lying_dims"); }
static void short_raw_data_is_refused(void **state) { (void)state; bad_fixture("bad_lying_raw"); }
static void external_data_is_refused(void **state) { (void)state; bad_fixture("bad_external"); }
static void gemm_transA_is_refused(void **state) { (void)state; bad_fixture("bad_transA"); }
static void unknown_attribute_is_refused(void **state) { (void)state; bad_fixture("bad_unknown_attr"); }
static void bias_that_is_not_per_channel_is_refused(void **state) { (void)state; bad_fixture("bad_bias_shape"); }

static void rank1_input_mlp_matches_pytorch(void **state) { (void)state; check_fixture("in_rank1"); }
static void rank3_flat_input_mlp_matches_pytorch(void **state) { (void)state; check_fixture("in_rank3_flat"); }
static void rank3_image_input_matches_pytorch(void **state) { (void)state; check_fixture("in_rank3_image"); }
static void nhwc_input_with_transpose_matches_pytorch(void **state) { (void)state; check_fixture("in_nhwc"); }
static void other_transpose_of_a_value_is_refused(void **state) { (void)state; bad_fixture("bad_transpose"); }
static void rank5_input_is_refused(void **state) { (void)state; bad_fixture("bad_input_rank5"); }

static void view_chain_opset11_matches_pytorch(void **state) { (void)state; check_fixture("flatten_chain_op11"); }
static void view_chain_opset13_matches_pytorch(void **state) { (void)state; check_fixture("flatten_chain_op13"); }
static void gather_from_a_matrix_is_refused(void **state) { (void)state; bad_fixture("bad_gather_2d"); }

static void final_softmax_is_dropped(void **state)
{
    (void)state;
    check_fixture("softmax_last");
    nn_model m;
    nn_error err;
    assert_int_equal(onnx_import_file(fixture("softmax_last.onnx"), &m, &err), NN_OK);
    const nn_meta *note = model_get_meta(&m, "import_note");
    assert_non_null(note);
    assert_non_null(strstr(note->str, "Softmax was dropped"));
    model_free(&m);
}
static void final_logsoftmax_opset11_is_dropped(void **state) { (void)state; check_fixture("logsoftmax_last"); }
static void softmax_axis_not_over_all_outputs_is_refused(void **state) { (void)state; bad_fixture("bad_softmax_axis"); }
static void unknown_op_is_refused(void **state) { (void)state; bad_fixture("bad_unknown_op"); }

static void same_auto_pad_and_float16_weights_match(void **state) { (void)state; check_fixture("same_pad_half"); }
static void truncating_cast_is_refused(void **state) { (void)state; bad_fixture("bad_cast_truncates"); }

static void gemm_with_constant_a_and_transA_matches(void **state) { (void)state; check_fixture("gemm_const_a"); }
static void gemm_outer_product_is_refused(void **state) { (void)state; bad_fixture("bad_gemm_outer"); }

/* The same network exported at every opset from 7 to 17. */
static void every_opset_from_7_to_17_matches_pytorch(void **state)
{
    (void)state;
    for (int opset = 7; opset <= 17; opset++) {
        char name[32];
        snprintf(name, sizeof name, "opset%d", opset);
        check_fixture(name);
    }
}

static void dropout_with_ratio_and_training_inputs_is_identity(void **state) { (void)state; check_fixture("dropout_inputs"); }
static void dropout_in_training_mode_is_refused(void **state) { (void)state; bad_fixture("bad_dropout_training"); }
static void same_auto_pad_with_pads_is_refused(void **state) { (void)state; bad_fixture("bad_same_and_pads"); }

static void matmul_weight_first_on_a_vector_matches(void **state) { (void)state; check_fixture("matmul_weight_first"); }
static void column_input_matches(void **state) { (void)state; check_fixture("column_input"); }
static void matmul_weight_first_on_a_row_is_refused(void **state) { (void)state; bad_fixture("bad_matmul_row_second"); }

static void unsqueeze_of_the_input_opset11_matches(void **state) { (void)state; check_fixture("unsqueeze_op11"); }
static void unsqueeze_of_the_input_opset13_matches(void **state) { (void)state; check_fixture("unsqueeze_op13"); }
static void unsqueeze_moving_an_axis_is_refused(void **state) { (void)state; bad_fixture("bad_unsqueeze_last"); }

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void truncated_file_is_format_error(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = slurp(fixture("cnn_bn.onnx"), &len);
    const char *path = test_tmpname(".onnx");
    size_t cuts[] = {len / 2, len / 3, 64, 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(b, 1, cuts[i], f);
        fclose(f);
        nn_model m;
        nn_error err;
        int rc = onnx_import_file(path, &m, &err);
        expect_failure(path, rc, &err, "truncated or (corrupt|not a model)");
    }
    unlink(path);
    free(b);
}

static void garbage_bytes_are_format_error(void **state)
{
    (void)state;
    const char *text = "this is not an ONNX file\n";
    nn_model m;
    nn_error err;
    int rc = onnx_import_buffer((const unsigned char *)text, strlen(text), "notes.onnx", &m, &err);
    expect_failure("notes.onnx", rc, &err, "not a valid ONNX protobuf");
}

/* Corrupting bytes anywhere must give either a valid model or an error, never
 * an out-of-bounds read (the sanitizer build checks that part). */
static void corrupted_bytes_never_crash(void **state)
{
    (void)state;
    static const char *const files[] = {"handmade.onnx", "cnn_gap.onnx", "cnn_bn.onnx"};
    test_rng rng = {42};
    for (int fi = 0; fi < 3; fi++) {
    size_t len;
    unsigned char *b = slurp(fixture(files[fi]), &len);
    int refused = 0;
    for (int trial = 0; trial < 200; trial++) {
        unsigned char *c = malloc(len);
        memcpy(c, b, len);
        for (int k = 0; k < 3; k++) c[test_rng_next(&rng) % len] = (unsigned char)test_rng_next(&rng);
        nn_model m;
        nn_error err;
        nn_error_clear(&err);
        if (onnx_import_buffer(c, len, "fuzz.onnx", &m, &err) == NN_OK) {
            assert_true(m.n_layers > 0);
            assert_int_equal(model_finalize(&m, &err), NN_OK);
            model_free(&m);
        } else {
            assert_true(strncmp(err.msg, "fuzz.onnx: ", 11) == 0);
            assert_int_equal(m.n_layers, 0);
            refused++;
        }
        free(c);
    }
    assert_true(refused > 0);
    free(b);
    }
}

static void empty_and_missing_files_name_the_file(void **state)
{
    (void)state;
    const char *path = test_tmpname(".onnx");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    nn_model m;
    nn_error err;
    int rc = onnx_import_file(path, &m, &err);
    expect_failure(path, rc, &err, "empty");
    unlink(path);
    rc = onnx_import_file("/nonexistent/model.onnx", &m, &err);
    expect_failure("/nonexistent/model.onnx", rc, &err, "cannot open");
    assert_int_equal(err.code, NN_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_mlp_matches_pytorch_logits),
        cmocka_unit_test(matmul_add_and_feature_normalization_match_pytorch),
        cmocka_unit_test(conv_batchnorm_folding_matches_pytorch),
        cmocka_unit_test(global_pool_and_view_reshape_match_pytorch),
        cmocka_unit_test(double_tensors_constants_and_padded_avgpool_match),
        cmocka_unit_test(conv_attributes_are_carried_over),
        cmocka_unit_test(softmax_before_the_end_is_refused),
        cmocka_unit_test(reading_the_graph_input_twice_is_refused),
        cmocka_unit_test(product_of_two_values_is_refused),
        cmocka_unit_test(residual_add_of_unequal_shapes_is_refused),
        cmocka_unit_test(residual_blocks_with_batchnorm_match_pytorch),
        cmocka_unit_test(concat_of_input_is_not_sequential),
        cmocka_unit_test(group_not_dividing_the_channels_is_refused),
        cmocka_unit_test(grouped_and_depthwise_convs_match_pytorch),
        cmocka_unit_test(ceil_mode_other_than_0_or_1_is_refused),
        cmocka_unit_test(count_include_pad_other_than_0_or_1_is_refused),
        cmocka_unit_test(ceil_mode_and_count_include_pad_match_pytorch),
        cmocka_unit_test(ceil_mode_drops_a_window_past_the_padding),
        cmocka_unit_test(ceil_mode_with_asymmetric_and_auto_pads_matches),
        cmocka_unit_test(zero_pad_nodes_before_conv_and_avgpool_match),
        cmocka_unit_test(zero_pad_before_maxpool_is_refused),
        cmocka_unit_test(reflect_pad_is_refused),
        cmocka_unit_test(ceil_cells_pad_the_end_and_are_not_counted),
        cmocka_unit_test(negative_normalization_scale_is_refused),
        cmocka_unit_test(zero_normalization_scale_is_refused),
        cmocka_unit_test(lying_dims_are_refused),
        cmocka_unit_test(short_raw_data_is_refused),
        cmocka_unit_test(external_data_is_refused),
        cmocka_unit_test(gemm_transA_is_refused),
        cmocka_unit_test(unknown_attribute_is_refused),
        cmocka_unit_test(bias_that_is_not_per_channel_is_refused),
        cmocka_unit_test(rank1_input_mlp_matches_pytorch),
        cmocka_unit_test(rank3_flat_input_mlp_matches_pytorch),
        cmocka_unit_test(rank3_image_input_matches_pytorch),
        cmocka_unit_test(nhwc_input_with_transpose_matches_pytorch),
        cmocka_unit_test(other_transpose_of_a_value_is_refused),
        cmocka_unit_test(rank5_input_is_refused),
        cmocka_unit_test(view_chain_opset11_matches_pytorch),
        cmocka_unit_test(view_chain_opset13_matches_pytorch),
        cmocka_unit_test(gather_from_a_matrix_is_refused),
        cmocka_unit_test(final_softmax_is_dropped),
        cmocka_unit_test(final_logsoftmax_opset11_is_dropped),
        cmocka_unit_test(softmax_axis_not_over_all_outputs_is_refused),
        cmocka_unit_test(unknown_op_is_refused),
        cmocka_unit_test(same_auto_pad_and_float16_weights_match),
        cmocka_unit_test(truncating_cast_is_refused),
        cmocka_unit_test(gemm_with_constant_a_and_transA_matches),
        cmocka_unit_test(gemm_outer_product_is_refused),
        cmocka_unit_test(every_opset_from_7_to_17_matches_pytorch),
        cmocka_unit_test(dropout_with_ratio_and_training_inputs_is_identity),
        cmocka_unit_test(dropout_in_training_mode_is_refused),
        cmocka_unit_test(same_auto_pad_with_pads_is_refused),
        cmocka_unit_test(matmul_weight_first_on_a_vector_matches),
        cmocka_unit_test(column_input_matches),
        cmocka_unit_test(matmul_weight_first_on_a_row_is_refused),
        cmocka_unit_test(unsqueeze_of_the_input_opset11_matches),
        cmocka_unit_test(unsqueeze_of_the_input_opset13_matches),
        cmocka_unit_test(unsqueeze_moving_an_axis_is_refused),
        cmocka_unit_test(truncated_file_is_format_error),
        cmocka_unit_test(garbage_bytes_are_format_error),
        cmocka_unit_test(corrupted_bytes_never_crash),
        cmocka_unit_test(empty_and_missing_files_name_the_file),
    };
    return cmocka_run_group_tests(tests, make_fixtures, remove_fixtures);
}
