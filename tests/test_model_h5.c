/* Tests for the native HDF5 model reader/writer, model_load and file checksums.
 * Bad files are made by writing a good model and then damaging it with the HDF5
 * C API (or by cutting/overwriting bytes), so each test changes exactly one thing. */
#include "testutil.h"

#include <hdf5.h>
#include <math.h>
#include <sys/stat.h>

#include "model.h"
#include "model_io.h"

/* ---- building models ---------------------------------------------------- */

/* One layer of every type, with non-default strides, paddings and dilations:
 * 2x8x8 -> normalize -> conv2d 3x8x3 -> maxpool 3x4x3 -> leaky_relu -> avgpool
 * 3x3x2 -> tanh -> sigmoid -> arctan -> flatten 18 -> param_ramp -> dense 5 ->
 * relu -> dense 3. */
static void build_every_type(nn_model *m)
{
    test_rng r = {42};
    nn_error err;
    model_init(m);
    m->name = strdup("every-type");
    m->input = (nn_shape){2, 8, 8};

    nn_layer l = layer_make(LAYER_NORMALIZE);
    l.in_features = 2;
    l.mean = test_rand_vec(&r, 2, -0.5, 0.5);
    l.std = test_rand_vec(&r, 2, 0.1, 2.0);
    test_add_layer(m, l);

    l = layer_make(LAYER_CONV2D);
    l.out_channels = 3;
    l.in_features = 2;
    l.kernel[0] = l.kernel[1] = 3;
    l.stride[0] = 1, l.stride[1] = 2;
    l.pad[0] = 1, l.pad[1] = 0, l.pad[2] = 1, l.pad[3] = 2;
    l.dilation[0] = 1, l.dilation[1] = 2;
    l.weight = test_rand_vec(&r, 3 * 2 * 3 * 3, -1, 1);
    l.bias = test_rand_vec(&r, 3, -1, 1);
    test_add_layer(m, l);

    l = layer_make(LAYER_MAXPOOL2D);
    l.kernel[0] = l.kernel[1] = 2;
    l.stride[0] = 2, l.stride[1] = 1;
    l.pad[0] = 1, l.pad[3] = 1;
    test_add_layer(m, l);

    l = layer_make(LAYER_LEAKY_RELU);
    l.alpha = 0.1;
    test_add_layer(m, l);

    l = layer_make(LAYER_AVGPOOL2D);
    l.kernel[0] = l.kernel[1] = 2;
    test_add_layer(m, l);

    test_add_layer(m, layer_make(LAYER_TANH));
    test_add_layer(m, layer_make(LAYER_SIGMOID));
    test_add_layer(m, layer_make(LAYER_ARCTAN));
    test_add_layer(m, layer_make(LAYER_FLATTEN));

    l = layer_make(LAYER_PARAM_RAMP);
    l.alpha = 0.25;
    l.in_features = 18;
    l.r = test_rand_vec(&r, 18, 0.0, 3.0);
    test_add_layer(m, l);

    l = layer_make(LAYER_DENSE);
    l.out_channels = 5;
    l.in_features = 18;
    l.weight = test_rand_vec(&r, 5 * 18, -1, 1);
    l.bias = test_rand_vec(&r, 5, -1, 1);
    test_add_layer(m, l);

    test_add_layer(m, layer_make(LAYER_RELU));

    l = layer_make(LAYER_DENSE);
    l.out_channels = 3;
    l.in_features = 5;
    l.weight = test_rand_vec(&r, 3 * 5, -1, 1);
    l.bias = test_rand_vec(&r, 3, -1, 1);
    test_add_layer(m, l);

    assert_int_equal(model_set_meta_string(m, "dataset", "mnist", &err), NN_OK);
    assert_int_equal(model_set_meta_double(m, "accuracy", 0.9812345678901234, META_DOUBLE, &err), NN_OK);
    assert_int_equal(model_set_meta_double(m, "seed", 1234567, META_INT, &err), NN_OK);
    assert_int_equal(model_set_meta_string(m, "trained_with", "ibp eps=0.1", &err), NN_OK);
    assert_int_equal(model_finalize(m, &err), NN_OK);
}

/* dense 4->3, relu, dense 3->2 on a 1x2x2 input: the base that bad files damage. */
static void write_small(const char *path)
{
    test_rng r = {7};
    nn_model m;
    nn_error err;
    model_init(&m);
    m.name = strdup("small");
    m.input = (nn_shape){1, 2, 2};
    nn_layer l = layer_make(LAYER_DENSE);
    l.out_channels = 3;
    l.in_features = 4;
    l.weight = test_rand_vec(&r, 12, -1, 1);
    l.bias = test_rand_vec(&r, 3, -1, 1);
    test_add_layer(&m, l);
    test_add_layer(&m, layer_make(LAYER_RELU));
    l = layer_make(LAYER_DENSE);
    l.out_channels = 2;
    l.in_features = 3;
    l.weight = test_rand_vec(&r, 6, -1, 1);
    l.bias = test_rand_vec(&r, 2, -1, 1);
    test_add_layer(&m, l);
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    assert_int_equal(model_write_h5(path, &m, &err), NN_OK);
    model_free(&m);
}

/* ---- damaging files with HDF5 ------------------------------------------- */

static hid_t open_rw(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

static void put_tensor(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims, const double *v)
{
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) assert_true(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(s);
}

static void put_string_attr(hid_t f, const char *obj, const char *name, const char *value, int fixed)
{
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0)
        assert_true(H5Adelete_by_name(f, obj, name, H5P_DEFAULT) >= 0);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, fixed ? strlen(value) : H5T_VARIABLE);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(f, obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    if (fixed)
        assert_true(H5Awrite(a, t, value) >= 0);
    else
        assert_true(H5Awrite(a, t, &value) >= 0);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

static void put_int_attr(hid_t f, const char *obj, const char *name, int n, const long long *v)
{
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0)
        assert_true(H5Adelete_by_name(f, obj, name, H5P_DEFAULT) >= 0);
    hsize_t dim = (hsize_t)n;
    hid_t s = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    hid_t a = H5Acreate_by_name(f, obj, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_LLONG, v) >= 0);
    H5Aclose(a);
    H5Sclose(s);
}

/* Loads path, expects failure with `code` and every substring in the message. */
static void expect_load_error(const char *path, nn_code code, const char *sub1, const char *sub2)
{
    nn_model m;
    nn_error err;
    int rc = model_load(path, &m, &err);
    if (rc != (int)code || !strstr(err.msg, path) || (sub1 && !strstr(err.msg, sub1)) ||
        (sub2 && !strstr(err.msg, sub2)))
        fail_msg("expected %s with '%s' / '%s', got %s: %s", nn_code_name(code), sub1 ? sub1 : "",
                 sub2 ? sub2 : "", nn_code_name((nn_code)rc), err.msg);
    assert_int_equal(m.n_layers, 0);
    assert_null(m.layers);
    model_free(&m);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* The small model written to a fresh temporary path (path[256]) with suffix. */
static void write_small_tmp(char *path, const char *suffix)
{
    snprintf(path, 256, "%s", test_tmpname(suffix));
    write_small(path);
}

/* The small model's bytes (*n of them, caller frees), written at path[256]. */
static unsigned char *small_model_bytes(char *path, size_t *n)
{
    write_small_tmp(path, ".h5");
    return read_bytes(path, n);
}

/* ---- round trip ------------------------------------------------------------ */

static void assert_same_array(const double *a, const double *b, size_t n)
{
    if (!a || !b) {
        assert_ptr_equal(a, b);
        return;
    }
    assert_memory_equal(a, b, n * sizeof *a);
}

static void assert_same_model(const nn_model *a, const nn_model *b)
{
    assert_string_equal(a->name, b->name);
    assert_memory_equal(&a->input, &b->input, sizeof a->input);
    assert_int_equal(a->n_layers, b->n_layers);
    for (int i = 0; i < a->n_layers; i++) {
        const nn_layer *x = &a->layers[i], *y = &b->layers[i];
        assert_int_equal(x->type, y->type);
        assert_memory_equal(&x->in, &y->in, sizeof x->in);
        assert_memory_equal(&x->out, &y->out, sizeof x->out);
        assert_int_equal(x->out_channels, y->out_channels);
        assert_int_equal(x->in_features, y->in_features);
        assert_memory_equal(x->kernel, y->kernel, sizeof x->kernel);
        assert_memory_equal(x->stride, y->stride, sizeof x->stride);
        assert_memory_equal(x->pad, y->pad, sizeof x->pad);
        assert_memory_equal(x->count_pad, y->count_pad, sizeof x->count_pad);
        assert_memory_equal(x->dilation, y->dilation, sizeof x->dilation);
        assert_memory_equal(&x->alpha, &y->alpha, sizeof x->alpha);
        size_t nw = x->type == LAYER_DENSE ? (size_t)x->out_channels * x->in_features
                    : x->type == LAYER_CONV2D
                        ? (size_t)x->out_channels * x->in_features * x->kernel[0] * x->kernel[1]
                        : 0;
        assert_same_array(x->weight, y->weight, nw);
        assert_same_array(x->bias, y->bias, (size_t)x->out_channels);
        assert_same_array(x->mean, y->mean, (size_t)x->in_features);
        assert_same_array(x->std, y->std, (size_t)x->in_features);
        assert_same_array(x->r, y->r, (size_t)x->in_features);
        for (int k = 0; k < 2; k++) assert_int_equal(model_layer_input(a, i, k), model_layer_input(b, i, k));
    }
    assert_int_equal(a->n_meta, b->n_meta);
    for (int i = 0; i < a->n_meta; i++) {
        assert_string_equal(a->meta[i].key, b->meta[i].key);
        assert_int_equal(a->meta[i].kind, b->meta[i].kind);
        if (a->meta[i].kind == META_STRING)
            assert_string_equal(a->meta[i].str, b->meta[i].str);
        else
            assert_memory_equal(&a->meta[i].num, &b->meta[i].num, sizeof(double));
    }
}

static void roundtrip_every_layer_type_is_bit_exact(void **state)
{
    (void)state;
    nn_model m, back;
    nn_error err;
    build_every_type(&m);
    assert_int_equal(m.layers[m.n_layers - 1].out.c, 3);
    const char *path = strdup(test_tmpname(".h5"));
    assert_int_equal(model_write_h5(path, &m, &err), NN_OK);
    assert_int_equal(model_read_h5(path, &back, &err), NN_OK);
    assert_same_model(&m, &back);
    assert_string_equal(back.source, path);
    model_free(&back);
    /* model_load takes the HDF5 path for any suffix but .onnx. */
    assert_int_equal(model_load(path, &back, &err), NN_OK);
    assert_same_model(&m, &back);
    /* Writing what was read gives the same model again. */
    assert_int_equal(model_write_h5(path, &back, &err), NN_OK);
    model_free(&back);
    assert_int_equal(model_read_h5(path, &back, &err), NN_OK);
    assert_same_model(&m, &back);
    model_free(&back);
    model_free(&m);
    remove(path);
    free((void *)path);
}

/* The root attribute 'version' of a written file. */
static int file_version(const char *path)
{
    hid_t f = open_rw(path);
    hid_t a = H5Aopen(f, "version", H5P_DEFAULT);
    int v = -1;
    assert_true(a >= 0 && H5Aread(a, H5T_NATIVE_INT, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

static void residual_graph_roundtrips_as_version_2(void **state)
{
    (void)state;
    nn_model m, back;
    nn_error err;
    char path[256];
    write_small_tmp(path, ".h5");
    assert_int_equal(file_version(path), 1); /* a chain keeps the version 1 layout */
    assert_int_equal(model_read_h5(path, &m, &err), NN_OK);
    /* dense0 -> relu1 -> add(relu1, dense0) -> dense reading layer 1 */
    nn_layer add = layer_make(LAYER_ADD);
    add.n_inputs = 2, add.input[0] = 1, add.input[1] = 0;
    nn_layer last = m.layers[2];
    m.layers[2] = add;
    test_add_layer(&m, last);
    m.layers[3].n_inputs = 1, m.layers[3].input[0] = 2;
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    assert_int_equal(model_write_h5(path, &m, &err), NN_OK);
    assert_int_equal(file_version(path), 2);
    assert_int_equal(model_read_h5(path, &back, &err), NN_OK);
    assert_same_model(&m, &back);
    assert_false(model_is_sequential(&back));
    model_free(&back);
    model_free(&m);
    remove(path);
}

/* An average counting padding cells (ONNX count_include_pad) is written as version
 * 3 with 'count_padding'; older versions may not carry it (their readers would
 * ignore it and average differently), and it may not exceed the padding. */
static void counted_padding_roundtrips_as_version_3(void **state)
{
    (void)state;
    nn_model m, back;
    nn_error err;
    model_init(&m);
    m.name = strdup("counted");
    m.input = (nn_shape){2, 5, 4};
    nn_layer l = layer_make(LAYER_AVGPOOL2D);
    l.kernel[0] = 3, l.kernel[1] = 2;
    l.stride[0] = 2, l.stride[1] = 2;
    l.pad[0] = 1, l.pad[1] = 1, l.pad[2] = 2, l.pad[3] = 1;
    l.count_pad[0] = 1, l.count_pad[2] = 1, l.count_pad[3] = 1;
    test_add_layer(&m, l);
    test_add_layer(&m, layer_make(LAYER_FLATTEN));
    assert_int_equal(model_finalize(&m, &err), NN_OK);
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmpname(".h5"));
    assert_int_equal(model_write_h5(path, &m, &err), NN_OK);
    assert_int_equal(file_version(path), 3);
    assert_int_equal(model_read_h5(path, &back, &err), NN_OK);
    assert_same_model(&m, &back);
    model_free(&back);

    hid_t f = open_rw(path);
    long long two = 2;
    put_int_attr(f, ".", "version", 1, &two);
    H5Fclose(f);
    expect_load_error(path, NN_EFORMAT, "layers/000 (avgpool2d)", "'count_padding' needs format version 3 (the file says version 2)");
    f = open_rw(path);
    long long three = 3, over[4] = {1, 2, 1, 1};
    put_int_attr(f, ".", "version", 1, &three);
    put_int_attr(f, "layers/000", "count_padding", 4, over);
    H5Fclose(f);
    expect_load_error(path, NN_EFORMAT, "layer 000 (avgpool2d)", "count_padding[1] = 2 must lie between 0 and the padding");
    f = open_rw(path);
    put_string_attr(f, "layers/000", "type", "maxpool2d", 0);
    H5Fclose(f);
    assert_int_equal(model_read_h5(path, &back, &err), NN_OK); /* a maxpool has no divisor: the attribute is not read */
    model_free(&back);
    model_free(&m);
    remove(path);
}

static void writer_leaves_no_temporary_file(void **state)
{
    (void)state;
    char path[256], tmp[300];
    snprintf(path, sizeof path, "%s", test_tmpname(".h5"));
    write_small(path);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(path, F_OK), 0);
    remove(path);
}

static void writer_refuses_nan_parameters(void **state)
{
    (void)state;
    nn_model m;
    nn_error err;
    build_every_type(&m);
    m.layers[1].weight[4] = NAN;
    const char *path = "/tmp/nncert-never-written.h5";
    assert_int_equal(model_write_h5(path, &m, &err), NN_EVALUE);
    assert_non_null(strstr(err.msg, "layer 001 (conv2d): NaN/Inf"));
    assert_int_equal(access(path, F_OK), -1);
    model_free(&m);
}

static void writer_reports_unwritable_path(void **state)
{
    (void)state;
    nn_model m;
    nn_error err;
    build_every_type(&m);
    assert_int_equal(model_write_h5("/nonexistent-dir/x.h5", &m, &err), NN_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.h5"));
    model_free(&m);
}

static void float32_weights_are_converted_exactly(void **state)
{
    (void)state;
    char path[256];
    write_small_tmp(path, ".h5");
    double w[12];
    for (int i = 0; i < 12; i++) w[i] = (double)(float)(0.1 * i - 0.55);
    hid_t f = open_rw(path);
    hsize_t dims[2] = {3, 4};
    put_tensor(f, "layers/000/weight", H5T_IEEE_F32LE, 2, dims, w);
    H5Fclose(f);
    nn_model m;
    nn_error err;
    assert_int_equal(model_read_h5(path, &m, &err), NN_OK);
    assert_memory_equal(m.layers[0].weight, w, sizeof w);
    model_free(&m);
    remove(path);
}

static void fixed_length_strings_and_int64_attrs_are_accepted(void **state)
{
    (void)state;
    char path[256];
    write_small_tmp(path, ".h5");
    hid_t f = open_rw(path);
    put_string_attr(f, ".", "format", "nncert-model", 1);
    put_string_attr(f, ".", "name", "fixed-name", 1);
    put_string_attr(f, "layers/001", "type", "relu", 1);
    long long one = 1, shape[3] = {1, 2, 2};
    put_int_attr(f, ".", "version", 1, &one);
    put_int_attr(f, ".", "input_shape", 3, shape);
    H5Fclose(f);
    nn_model m;
    nn_error err;
    assert_int_equal(model_read_h5(path, &m, &err), NN_OK);
    assert_string_equal(m.name, "fixed-name");
    assert_int_equal(m.n_layers, 3);
    assert_int_equal(m.layers[1].type, LAYER_RELU);
    model_free(&m);
    remove(path);
}

/* doc/formats.md "Native model file": an MLP's input may be stored as 1,H,W or as 1,1,N. */
static void flat_and_image_input_shapes_both_load(void **state)
{
    (void)state;
    char path[256];
    write_small_tmp(path, ".h5");
    long long shapes[3][3] = {{1, 2, 2}, {1, 1, 4}, {4, 1, 1}};
    for (int i = 0; i < 3; i++) {
        hid_t f = open_rw(path);
        put_int_attr(f, ".", "input_shape", 3, shapes[i]);
        H5Fclose(f);
        nn_model m;
        nn_error err;
        assert_int_equal(model_read_h5(path, &m, &err), NN_OK);
        assert_int_equal(m.input.w, (int)shapes[i][2]);
        assert_int_equal(model_input_size(&m), 4);
        assert_int_equal(model_output_size(&m), 2);
        model_free(&m);
    }
    remove(path);
}

static void pool_without_stride_steps_by_kernel(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmpname(".h5"));
    nn_model m;
    nn_error err;
    model_init(&m);
    m.input = (nn_shape){1, 6, 6};
    nn_layer l = layer_make(LAYER_MAXPOOL2D);
    l.kernel[0] = l.kernel[1] = 3;
    l.stride[0] = l.stride[1] = 1;
    test_add_layer(&m, l);
    assert_int_equal(model_write_h5(path, &m, &err), NN_OK);
    model_free(&m);
    hid_t f = open_rw(path);
    assert_true(H5Adelete_by_name(f, "layers/000", "stride", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    assert_int_equal(model_read_h5(path, &m, &err), NN_OK);
    assert_int_equal(m.layers[0].stride[0], 3);
    assert_int_equal(m.layers[0].stride[1], 3);
    assert_int_equal(m.layers[0].out.h, 2);
    assert_int_equal(m.layers[0].out.w, 2);
    assert_string_equal(m.name, "");  /* no name written: reads back as "" */
    model_free(&m);
    remove(path);
}

/* ---- bad files ------------------------------------------------------------- */

typedef void (*damage_fn)(hid_t f);

/* Writes the small model, applies `damage`, and checks the load error. */
static void check_damage(damage_fn damage, nn_code code, const char *sub1, const char *sub2)
{
    char path[256];
    write_small_tmp(path, ".h5");
    hid_t f = open_rw(path);
    damage(f);
    assert_true(H5Fclose(f) >= 0);
    expect_load_error(path, code, sub1, sub2);
    remove(path);
}

static void dmg_delete_bias(hid_t f) { assert_true(H5Ldelete(f, "layers/002/bias", H5P_DEFAULT) >= 0); }
static void dmg_bias_shape(hid_t f)
{
    double v[5] = {0};
    hsize_t d[1] = {5};
    put_tensor(f, "layers/002/bias", H5T_IEEE_F64LE, 1, d, v);
}
static void dmg_weight_rank(hid_t f)
{
    double v[12] = {0};
    hsize_t d[3] = {3, 2, 2};
    put_tensor(f, "layers/000/weight", H5T_IEEE_F64LE, 3, d, v);
}
static void dmg_weight_in_features(hid_t f)
{
    double v[15] = {0};
    hsize_t d[2] = {3, 5};
    put_tensor(f, "layers/000/weight", H5T_IEEE_F64LE, 2, d, v);
}
static void dmg_weight_nan(hid_t f)
{
    double v[12] = {0};
    v[7] = NAN;
    hsize_t d[2] = {3, 4};
    put_tensor(f, "layers/000/weight", H5T_IEEE_F32LE, 2, d, v);
}
static void dmg_bias_inf(hid_t f)
{
    double v[2] = {0, -INFINITY};
    hsize_t d[1] = {2};
    put_tensor(f, "layers/002/bias", H5T_IEEE_F64LE, 1, d, v);
}
static void dmg_weight_int(hid_t f)
{
    double v[12] = {0};
    hsize_t d[2] = {3, 4};
    put_tensor(f, "layers/000/weight", H5T_STD_I32LE, 2, d, v);
}
static void dmg_unknown_type(hid_t f) { put_string_attr(f, "layers/001", "type", "softmax", 0); }
static void dmg_missing_type(hid_t f) { assert_true(H5Adelete_by_name(f, "layers/001", "type", H5P_DEFAULT) >= 0); }
static void dmg_format(hid_t f) { put_string_attr(f, ".", "format", "keras-model", 0); }
static void dmg_no_format(hid_t f) { assert_true(H5Adelete(f, "format") >= 0); }
static void dmg_version(hid_t f)
{
    long long v = 4;
    put_int_attr(f, ".", "version", 1, &v);
}
static void set_version2(hid_t f)
{
    long long v = 2;
    put_int_attr(f, ".", "version", 1, &v);
}
static void dmg_inputs_in_version1(hid_t f)
{
    long long v = 0;
    put_int_attr(f, "layers/002", "inputs", 1, &v);
}
static void dmg_add_without_inputs(hid_t f)
{
    set_version2(f);
    put_string_attr(f, "layers/001", "type", "add", 0);
}
static void dmg_input_from_later_layer(hid_t f)
{
    set_version2(f);
    long long v = 2;
    put_int_attr(f, "layers/001", "inputs", 1, &v);
}
static void dmg_dense_with_two_inputs(hid_t f)
{
    set_version2(f);
    long long v[2] = {0, 1};
    put_int_attr(f, "layers/002", "inputs", 2, v);
}
static void dmg_version_string(hid_t f) { put_string_attr(f, ".", "version", "1", 0); }
static void dmg_input_shape_len(hid_t f)
{
    long long v[2] = {2, 2};
    put_int_attr(f, ".", "input_shape", 2, v);
}
static void dmg_input_shape_mismatch(hid_t f)
{
    long long v[3] = {1, 3, 3};
    put_int_attr(f, ".", "input_shape", 3, v);
}
static void dmg_gap(hid_t f)
{
    assert_true(H5Lmove(f, "layers/002", f, "layers/003", H5P_DEFAULT, H5P_DEFAULT) >= 0);
}
static void dmg_bad_name(hid_t f)
{
    assert_true(H5Lmove(f, "layers/002", f, "layers/02", H5P_DEFAULT, H5P_DEFAULT) >= 0);
}
static void dmg_no_layers(hid_t f) { assert_true(H5Ldelete(f, "layers", H5P_DEFAULT) >= 0); }
static void dmg_normalize_lengths(hid_t f)
{
    hid_t g = H5Gcreate2(f, "layers/003", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    put_string_attr(f, "layers/003", "type", "normalize", 0);
    double v[3] = {1, 1, 1};
    hsize_t d2[1] = {2}, d3[1] = {3};
    put_tensor(f, "layers/003/mean", H5T_IEEE_F64LE, 1, d2, v);
    put_tensor(f, "layers/003/std", H5T_IEEE_F64LE, 1, d3, v);
}
static void dmg_leaky_no_alpha(hid_t f) { put_string_attr(f, "layers/001", "type", "leaky_relu", 0); }

static void dmg_layer_is_dataset(hid_t f)
{
    assert_true(H5Ldelete(f, "layers/001", H5P_DEFAULT) >= 0);
    double v[1] = {0};
    hsize_t d[1] = {1};
    put_tensor(f, "layers/001", H5T_IEEE_F64LE, 1, d, v);
}
static void dmg_weight_is_group(hid_t f)
{
    assert_true(H5Ldelete(f, "layers/002/weight", H5P_DEFAULT) >= 0);
    hid_t g = H5Gcreate2(f, "layers/002/weight", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(g >= 0);
    H5Gclose(g);
}

static void layer_stored_as_dataset_is_named(void **s) { (void)s; check_damage(dmg_layer_is_dataset, NN_EFORMAT, "'layers/001' is a dataset, expected a group", NULL); }
static void weight_stored_as_group_is_named(void **s) { (void)s; check_damage(dmg_weight_is_group, NN_EFORMAT, "layers/002 (dense): 'weight' is a group, expected a dataset", NULL); }
static void missing_dataset_is_named(void **s) { (void)s; check_damage(dmg_delete_bias, NN_EFORMAT, "layers/002 (dense)", "'bias' [out] is missing"); }
static void bias_length_mismatch_is_a_shape_error(void **s) { (void)s; check_damage(dmg_bias_shape, NN_ESHAPE, "layers/002 (dense)", "'bias' has 5 entries, expected 2"); }
static void weight_wrong_rank_reports_expected_and_found(void **s) { (void)s; check_damage(dmg_weight_rank, NN_ESHAPE, "rank 3 [3,2,2]", "expected rank 2 [out,in]"); }
static void weight_not_fitting_input_is_a_shape_error(void **s) { (void)s; check_damage(dmg_weight_in_features, NN_ESHAPE, "layer 000 (dense)", "input has 4 values"); }
static void nan_weight_is_rejected_with_position(void **s) { (void)s; check_damage(dmg_weight_nan, NN_EVALUE, "layers/000 (dense)", "'weight'[1,3] is NaN"); }
static void inf_bias_is_rejected(void **s) { (void)s; check_damage(dmg_bias_inf, NN_EVALUE, "layers/002 (dense)", "'bias'[1] is -Inf"); }
static void integer_weights_are_a_type_error(void **s) { (void)s; check_damage(dmg_weight_int, NN_EFORMAT, "'weight' has type integer", "float32 or float64"); }
static void unknown_layer_type_lists_known_types(void **s) { (void)s; check_damage(dmg_unknown_type, NN_EFORMAT, "layers/001: unknown layer type 'softmax'", "known: normalize, dense, conv2d"); }
static void missing_layer_type_is_named(void **s) { (void)s; check_damage(dmg_missing_type, NN_EFORMAT, "layers/001: ", "attribute 'type' is missing"); }
static void wrong_format_attribute_is_rejected(void **s) { (void)s; check_damage(dmg_format, NN_EFORMAT, "'format' is 'keras-model'", "expected 'nncert-model'"); }
static void missing_format_attribute_is_not_a_model(void **s) { (void)s; check_damage(dmg_no_format, NN_EFORMAT, "not an nncert model file", NULL); }
static void future_version_is_unsupported(void **s) { (void)s; check_damage(dmg_version, NN_EUNSUPPORTED, "'version' is 4", "reads versions 1 to 3"); }
static void inputs_need_version_2(void **s) { (void)s; check_damage(dmg_inputs_in_version1, NN_EFORMAT, "layers/002 (dense)", "'inputs' needs format version 2 (the file says version 1)"); }
static void add_needs_its_inputs(void **s) { (void)s; check_damage(dmg_add_without_inputs, NN_EFORMAT, "layers/001 (add)", "attribute 'inputs' is missing"); }
static void inputs_must_be_earlier_layers(void **s) { (void)s; check_damage(dmg_input_from_later_layer, NN_EFORMAT, "layer 001 (relu)", "input 0 is layer 2"); }
static void dense_reads_one_input(void **s) { (void)s; check_damage(dmg_dense_with_two_inputs, NN_ESHAPE, "layers/002 (dense)", "'inputs' has 2 values, a dense layer reads 1"); }
static void string_version_is_a_type_error(void **s) { (void)s; check_damage(dmg_version_string, NN_EFORMAT, "'version' has type string", "expected integer"); }
static void input_shape_needs_three_values(void **s) { (void)s; check_damage(dmg_input_shape_len, NN_ESHAPE, "'input_shape' has 2 values", "expected 3"); }
static void input_shape_must_fit_first_layer(void **s) { (void)s; check_damage(dmg_input_shape_mismatch, NN_ESHAPE, "layer 000 (dense)", "input has 9 values"); }
static void layer_numbering_gap_is_rejected(void **s) { (void)s; check_damage(dmg_gap, NN_EFORMAT, "layers/003", "without gaps"); }
static void non_canonical_layer_name_is_rejected(void **s) { (void)s; check_damage(dmg_bad_name, NN_EFORMAT, "unexpected entry 'layers/02'", NULL); }
static void missing_layers_group_is_named(void **s) { (void)s; check_damage(dmg_no_layers, NN_EFORMAT, "group 'layers' is missing", NULL); }
static void normalize_mean_std_lengths_must_agree(void **s) { (void)s; check_damage(dmg_normalize_lengths, NN_ESHAPE, "layers/003 (normalize)", "'mean' has 2 entries but 'std' has 3"); }
static void leaky_relu_without_alpha_is_rejected(void **s) { (void)s; check_damage(dmg_leaky_no_alpha, NN_EFORMAT, "layers/001 (leaky_relu)", "attribute 'alpha' is missing"); }

static void missing_file_is_an_io_error(void **state)
{
    (void)state;
    expect_load_error("/tmp/nncert-no-such-model.h5", NN_EIO, "No such file", NULL);
}

static void directory_is_an_io_error(void **state)
{
    (void)state;
    expect_load_error("/tmp", NN_EIO, "is a directory", NULL);
}

static void text_file_is_not_hdf5(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmpname(".h5"));
    const char text[] = "this is not a model\n";
    write_bytes(path, text, sizeof text - 1);
    expect_load_error(path, NN_EFORMAT, "not an HDF5 file", NULL);
    write_bytes(path, text, 0);
    expect_load_error(path, NN_EFORMAT, "not an HDF5 file", NULL);
    remove(path);
}

static void truncated_file_is_a_format_error(void **state)
{
    (void)state;
    char path[256];
    size_t n;
    unsigned char *b = small_model_bytes(path, &n);
    /* Cut at several points: inside the superblock, the metadata and the data. */
    size_t cuts[] = {20, 100, n / 3, n / 2, n - 8};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(path, b, cuts[i]);
        expect_load_error(path, NN_EFORMAT, "truncated or corrupt", "(HDF5: ");
    }
    free(b);
    remove(path);
}

static void corrupt_superblock_is_a_format_error(void **state)
{
    (void)state;
    char path[256];
    size_t n;
    unsigned char *b = small_model_bytes(path, &n);
    /* Keep the 8-byte signature, garble the versions and addresses after it. */
    for (size_t i = 8; i < 40 && i < n; i++) b[i] ^= 0xA5;
    write_bytes(path, b, n);
    expect_load_error(path, NN_EFORMAT, "truncated or corrupt", NULL);
    free(b);
    remove(path);
}

/* Every single-byte corruption must give either a valid model or a clean error,
 * never a crash; under ASan this also checks there are no leaks on error paths. */
static void corrupt_bytes_never_crash(void **state)
{
    (void)state;
    char path[256];
    size_t n;
    unsigned char *b = small_model_bytes(path, &n);
    int failed = 0, loaded = 0;
    for (size_t i = 0; i < n; i += 13) {
        unsigned char keep = b[i];
        b[i] ^= 0xFF;
        write_bytes(path, b, n);
        b[i] = keep;
        nn_model m;
        nn_error err;
        if (model_read_h5(path, &m, &err) == NN_OK) {
            assert_true(m.n_layers >= 1);
            loaded++;
        } else {
            assert_non_null(strstr(err.msg, path));
            assert_null(m.layers);
            failed++;
        }
        model_free(&m);
    }
    assert_true(failed > 0);
    free(b);
    remove(path);
}

/* ---- model_load and checksums ---------------------------------------------- */

static void onnx_suffix_goes_to_onnx_importer(void **state)
{
    (void)state;
    char path[256];
    write_small_tmp(path, ".ONNX");
    nn_model m;
    nn_error err;
    /* A valid HDF5 model named .onnx is parsed as protobuf and must be rejected. */
    assert_int_not_equal(model_load(path, &m, &err), NN_OK);
    assert_non_null(strstr(err.msg, path));
    assert_null(m.layers);
    model_free(&m);
    remove(path);
}

static void sha256_matches_known_digests(void **state)
{
    (void)state;
    char path[256], hex[65];
    nn_error err;
    snprintf(path, sizeof path, "%s", test_tmpname(".bin"));
    write_bytes(path, "abc", 3);
    assert_int_equal(model_file_sha256(path, hex, &err), NN_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    write_bytes(path, "", 0);
    assert_int_equal(model_file_sha256(path, hex, &err), NN_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* 200,000 bytes of 'a' spans several read chunks; digest from coreutils sha256sum. */
    size_t big = 200000;
    char *a = malloc(big);
    assert_non_null(a);
    memset(a, 'a', big);
    write_bytes(path, a, big);
    free(a);
    assert_int_equal(model_file_sha256(path, hex, &err), NN_OK);
    assert_string_equal(hex, "2287d207f24a941ff3b56c04c8a25ad56b63e3023207b3bb5b4ac0c9869d74be");
    remove(path);
}

static void sha256_of_missing_file_is_an_io_error(void **state)
{
    (void)state;
    char hex[65];
    nn_error err;
    assert_int_equal(model_file_sha256("/tmp/nncert-no-such-file", hex, &err), NN_EIO);
    assert_non_null(strstr(err.msg, "/tmp/nncert-no-such-file"));
    assert_int_equal(model_file_sha256("/tmp", hex, &err), NN_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_every_layer_type_is_bit_exact),
        cmocka_unit_test(counted_padding_roundtrips_as_version_3),
        cmocka_unit_test(writer_leaves_no_temporary_file),
        cmocka_unit_test(writer_reports_unwritable_path),
        cmocka_unit_test(writer_refuses_nan_parameters),
        cmocka_unit_test(layer_stored_as_dataset_is_named),
        cmocka_unit_test(weight_stored_as_group_is_named),
        cmocka_unit_test(float32_weights_are_converted_exactly),
        cmocka_unit_test(fixed_length_strings_and_int64_attrs_are_accepted),
        cmocka_unit_test(flat_and_image_input_shapes_both_load),
        cmocka_unit_test(pool_without_stride_steps_by_kernel),
        cmocka_unit_test(missing_dataset_is_named),
        cmocka_unit_test(bias_length_mismatch_is_a_shape_error),
        cmocka_unit_test(weight_wrong_rank_reports_expected_and_found),
        cmocka_unit_test(weight_not_fitting_input_is_a_shape_error),
        cmocka_unit_test(nan_weight_is_rejected_with_position),
        cmocka_unit_test(inf_bias_is_rejected),
        cmocka_unit_test(integer_weights_are_a_type_error),
        cmocka_unit_test(unknown_layer_type_lists_known_types),
        cmocka_unit_test(missing_layer_type_is_named),
        cmocka_unit_test(wrong_format_attribute_is_rejected),
        cmocka_unit_test(missing_format_attribute_is_not_a_model),
        cmocka_unit_test(future_version_is_unsupported),
        cmocka_unit_test(string_version_is_a_type_error),
        cmocka_unit_test(inputs_need_version_2),
        cmocka_unit_test(add_needs_its_inputs),
        cmocka_unit_test(inputs_must_be_earlier_layers),
        cmocka_unit_test(dense_reads_one_input),
        cmocka_unit_test(residual_graph_roundtrips_as_version_2),
        cmocka_unit_test(input_shape_needs_three_values),
        cmocka_unit_test(input_shape_must_fit_first_layer),
        cmocka_unit_test(layer_numbering_gap_is_rejected),
        cmocka_unit_test(non_canonical_layer_name_is_rejected),
        cmocka_unit_test(missing_layers_group_is_named),
        cmocka_unit_test(normalize_mean_std_lengths_must_agree),
        cmocka_unit_test(leaky_relu_without_alpha_is_rejected),
        cmocka_unit_test(missing_file_is_an_io_error),
        cmocka_unit_test(directory_is_an_io_error),
        cmocka_unit_test(text_file_is_not_hdf5),
        cmocka_unit_test(truncated_file_is_a_format_error),
        cmocka_unit_test(corrupt_superblock_is_a_format_error),
        cmocka_unit_test(corrupt_bytes_never_crash),
        cmocka_unit_test(onnx_suffix_goes_to_onnx_importer),
        cmocka_unit_test(sha256_matches_known_digests),
        cmocka_unit_test(sha256_of_missing_file_is_an_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
