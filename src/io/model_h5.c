/* Native HDF5 model files, versions 1 to 3 (doc/formats.md, "Native model file").
 * Version 2 adds the graph's edges: a layer's 'inputs' attribute names the
 * earlier layers it reads (residual connections); version 3 an avgpool2d's
 * 'count_padding' (padding cells its divisor counts). The writer uses the
 * lowest version a model needs, so older models keep their bytes.
 *
 * The reader trusts nothing in the file: every attribute and dataset is checked
 * for presence, HDF5 type class, rank and extent before it is read, every weight
 * is checked for NaN/Inf after it is read, and every message names the file, the
 * object ("layers/003 (dense)") and the field. Shapes that depend on the previous
 * layer are left to model_finalize(), so the HDF5 and ONNX readers agree on them.
 *
 * HDF5 prints its own error stack by default; that is switched off so only
 * nncert's messages appear, and the innermost HDF5 reason is appended instead
 * when a library call fails (it is the useful part: "truncated file: eof = ...").
 *
 * Files are opened with the "strong" close degree, so H5Fclose() also closes any
 * object an error path left open: no handle (and no file descriptor) leaks.
 * The writer stores float64 datasets, int32 attributes and fixed-length UTF-8
 * strings in the HDF5 1.8 object format, whose metadata is checksummed, so a
 * damaged nncert-written file is reported, never parsed (see write_string_attr).
 * It creates "<path>.tmp-<pid>" and renames it over the target, so a crash never
 * leaves a half-written model under the real name. */
#include "model_io.h"
#include "h5_read.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5_sandbox.h"

#define MODEL_H5_FORMAT "nncert-model"
#define MODEL_H5_VERSION 3      /* the newest version read and written */

/* ---- layers ---------------------------------------------------------------- */

static const int def_one2[2] = {1, 1};
static const int def_zero4[4] = {0, 0, 0, 0};

/* An avgpool2d's count_padding (version 3; default 0 0 0 0). A version 1 or 2
 * reader would ignore it and compute another average, hence the version. */
static int read_count_padding(h5r_ctx *c, hid_t g, nn_layer *l)
{
    int rc;
    hid_t a = h5r_attr_open(c, g, "count_padding", 0, &rc);
    if (a <= 0 || rc) return rc;
    H5Aclose(a);
    if (c->version < 3)
        return h5r_fail(c, NN_EFORMAT, "attribute 'count_padding' needs format version 3 (the file says version %d)",
                       c->version);
    return h5r_int_attr(c, g, "count_padding", 4, NULL, l->count_pad);
}

static int read_layer_params(h5r_ctx *c, hid_t g, nn_layer *l)
{
    int rc, d[4];
    switch (l->type) {
    case LAYER_NORMALIZE: {
        int dm[4];
        if ((rc = h5r_tensor(c, g, "mean", 1, "[C]", dm, &l->mean))) return rc;
        if ((rc = h5r_tensor(c, g, "std", 1, "[C]", d, &l->std))) return rc;
        if (dm[0] != d[0])
            return h5r_fail(c, NN_ESHAPE, "dataset 'mean' has %d entries but 'std' has %d", dm[0], d[0]);
        l->in_features = d[0];
        return NN_OK;
    }
    case LAYER_DENSE:
        if ((rc = h5r_tensor(c, g, "weight", 2, "[out,in]", d, &l->weight))) return rc;
        l->out_channels = d[0];
        l->in_features = d[1];
        if ((rc = h5r_tensor(c, g, "bias", 1, "[out]", d, &l->bias))) return rc;
        if (d[0] != l->out_channels)
            return h5r_fail(c, NN_ESHAPE, "dataset 'bias' has %d entries, expected %d (weight is [%d,%d])", d[0],
                           l->out_channels, l->out_channels, l->in_features);
        return NN_OK;
    case LAYER_CONV2D:
        if ((rc = h5r_tensor(c, g, "weight", 4, "[Co,Ci,kH,kW]", d, &l->weight))) return rc;
        l->out_channels = d[0];
        l->in_features = d[1];
        l->kernel[0] = d[2];
        l->kernel[1] = d[3];
        if ((rc = h5r_tensor(c, g, "bias", 1, "[Co]", d, &l->bias))) return rc;
        if (d[0] != l->out_channels)
            return h5r_fail(c, NN_ESHAPE, "dataset 'bias' has %d entries, expected %d (weight is [%d,%d,%d,%d])",
                           d[0], l->out_channels, l->out_channels, l->in_features, l->kernel[0], l->kernel[1]);
        if ((rc = h5r_int_attr(c, g, "stride", 2, def_one2, l->stride))) return rc;
        if ((rc = h5r_int_attr(c, g, "padding", 4, def_zero4, l->pad))) return rc;
        return h5r_int_attr(c, g, "dilation", 2, def_one2, l->dilation);
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D:
        if ((rc = h5r_int_attr(c, g, "kernel", 2, NULL, l->kernel))) return rc;
        /* A pool without a stride attribute steps by its kernel, as in PyTorch
         * (nn.MaxPool2d(k) means stride k), so such files keep their meaning. */
        if ((rc = h5r_int_attr(c, g, "stride", 2, l->kernel, l->stride))) return rc;
        if ((rc = h5r_int_attr(c, g, "padding", 4, def_zero4, l->pad))) return rc;
        return l->type == LAYER_AVGPOOL2D ? read_count_padding(c, g, l) : NN_OK;
    case LAYER_LEAKY_RELU:
        return h5r_double_attr(c, g, "alpha", &l->alpha);
    case LAYER_PARAM_RAMP:
        if ((rc = h5r_double_attr(c, g, "eta", &l->alpha))) return rc;
        if ((rc = h5r_tensor(c, g, "r", 1, "[n]", d, &l->r))) return rc;
        l->in_features = d[0];
        return NN_OK;
    default:
        return NN_OK;   /* flatten and the plain activations carry no data */
    }
}

/* Which earlier outputs the layer reads (version 2): absent means the layer just
 * before; an add names two. Indices are checked against the model by
 * model_finalize, which knows the shapes. */
static int read_inputs(h5r_ctx *c, hid_t g, nn_layer *l)
{
    int rc;
    hid_t a = h5r_attr_open(c, g, "inputs", 0, &rc);
    if (a < 0 || rc) return rc;
    if (a == 0)
        return l->type == LAYER_ADD ? h5r_fail(c, NN_EFORMAT, "attribute 'inputs' is missing (an add reads two "
                                               "earlier outputs)") : NN_OK;
    long long v[2];
    H5T_class_t cls = h5r_attr_class(a);
    hssize_t np = h5r_attr_npoints(a);
    if (c->version < 2)
        rc = h5r_fail(c, NN_EFORMAT, "attribute 'inputs' needs format version 2 (the file says version %d)",
                     c->version);
    else if (cls != H5T_INTEGER)
        rc = h5r_fail(c, NN_EFORMAT, "attribute 'inputs' has type %s, expected integers", h5r_class_name(cls));
    else if (np != (l->type == LAYER_ADD ? 2 : 1))
        rc = h5r_fail(c, NN_ESHAPE, "attribute 'inputs' has %lld values, a %s layer reads %d", (long long)np,
                     layer_type_name(l->type), l->type == LAYER_ADD ? 2 : 1);
    else if (H5Aread(a, H5T_NATIVE_LLONG, v) < 0)
        rc = h5r_fail_h5(c, "cannot read attribute 'inputs'");
    for (int k = 0; !rc && k < (int)np; k++) {
        if (v[k] < -1 || v[k] > INT_MAX)
            rc = h5r_fail(c, NN_EVALUE, "attribute 'inputs'[%d] = %lld is not a layer index or -1", k, v[k]);
        else
            l->input[k] = (int)v[k];
    }
    if (!rc) l->n_inputs = (int)np;
    H5Aclose(a);
    return rc;
}

static int read_layer(h5r_ctx *c, hid_t layers, int index, nn_model *m)
{
    char name[32];
    int rc;
    snprintf(name, sizeof name, "%03d", index);
    char label[48];
    snprintf(label, sizeof label, "layers/%s", name);
    c->where[0] = '\0';
    hid_t g = h5r_open_kind(c, layers, name, label, H5I_GROUP, &rc);
    snprintf(c->where, sizeof c->where, "%s: ", label);
    if (g < 0) return rc;
    char *type = NULL;
    if ((rc = h5r_string_attr(c, g, "type", 1, &type))) {
        H5Gclose(g);
        return rc;
    }
    int t = layer_type_parse(type);
    if (t < 0) {
        char known[256] = "";
        size_t len = 0;
        for (int k = 0; k < LAYER_TYPE_COUNT; k++)
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "",
                                    layer_type_name((layer_type)k));
        rc = h5r_fail(c, NN_EFORMAT, "unknown layer type '%s' (known: %s)", type, known);
        free(type);
        H5Gclose(g);
        return rc;
    }
    free(type);
    snprintf(c->where, sizeof c->where, "layers/%s (%s): ", name, layer_type_name((layer_type)t));
    nn_layer l = layer_make((layer_type)t);
    rc = read_layer_params(c, g, &l);
    if (!rc) rc = read_inputs(c, g, &l);
    H5Gclose(g);
    if (rc) {
        layer_free(&l);
        return rc;
    }
    return model_append(m, &l, c->err);
}

/* Names in /layers must be 000, 001, ... (at least three digits, no extra
 * leading zeros) with no gaps; returns the number of layers or -1. */
static int count_layers(h5r_ctx *c, hid_t layers)
{
    H5G_info_t info;
    if (H5Gget_info(layers, &info) < 0) {
        h5r_fail_h5(c, "cannot list group 'layers'");
        return -1;
    }
    if (info.nlinks > 100000) {
        h5r_fail(c, NN_EFORMAT, "group 'layers' has %llu entries (at most 100000 layers)",
                (unsigned long long)info.nlinks);
        return -1;
    }
    int n = (int)info.nlinks;
    if (n == 0) {
        h5r_fail(c, NN_EFORMAT, "group 'layers' is empty (a model needs at least one layer)");
        return -1;
    }
    char *seen = calloc((size_t)n, 1);
    if (!seen) {
        h5r_fail(c, NN_ENOMEM, "out of memory listing 'layers'");
        return -1;
    }
    int rc = NN_OK;
    for (int i = 0; i < n && !rc; i++) {
        char name[64];
        ssize_t len = H5Lget_name_by_idx(layers, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, name, sizeof name,
                                         H5P_DEFAULT);
        if (len < 0) {
            rc = h5r_fail_h5(c, "cannot list group 'layers'");
            break;
        }
        char *end;
        errno = 0;
        long idx = strtol(name, &end, 10);
        char canon[32];
        snprintf(canon, sizeof canon, "%03ld", idx);
        if ((size_t)len >= sizeof name || name[0] < '0' || name[0] > '9' || *end || errno ||
            strcmp(canon, name) != 0)
            rc = h5r_fail(c, NN_EFORMAT, "unexpected entry 'layers/%s' (layer groups are named 000, 001, ...)",
                         name);
        else if (idx >= n)
            rc = h5r_fail(c, NN_EFORMAT, "layers/%s is out of sequence: %d layer groups must be numbered 000 to %03d without gaps",
                         name, n, n - 1);
        else
            seen[idx] = 1;
    }
    /* n names, all distinct and below n: a gap would have pushed one name to >= n. */
    for (int i = 0; i < n && !rc; i++)
        if (!seen[i]) rc = h5r_fail(c, NN_EFORMAT, "layers/%03d is missing (layer numbering has a gap)", i);
    free(seen);
    return rc ? -1 : n;
}

/* ---- /meta ----------------------------------------------------------------- */

typedef struct {
    h5r_ctx *c;
    nn_model *m;
    int rc;
} meta_walk;

static herr_t meta_cb(hid_t obj, const char *name, const H5A_info_t *ainfo, void *data)
{
    (void)ainfo;
    meta_walk *w = data;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) {
        w->rc = h5r_fail_h5(w->c, "cannot open a /meta attribute");
        return -1;
    }
    H5T_class_t cls = h5r_attr_class(a);
    hssize_t np = h5r_attr_npoints(a);
    if (cls == H5T_STRING && np == 1) {
        char *s = NULL;
        w->rc = h5r_attr_string(w->c, a, name, &s);
        if (!w->rc) w->rc = model_set_meta_string(w->m, name, s, w->c->err);
        free(s);
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && np == 1) {
        double v;
        long long iv;
        if (cls == H5T_INTEGER ? H5Aread(a, H5T_NATIVE_LLONG, &iv) < 0 : H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
            w->rc = h5r_fail_h5(w->c, "cannot read a /meta attribute");
        else
            w->rc = model_set_meta_double(w->m, name, cls == H5T_INTEGER ? (double)iv : v,
                                          cls == H5T_INTEGER ? META_INT : META_DOUBLE, w->c->err);
    }
    /* Anything else (arrays, booleans, compound values) is descriptive metadata
     * that nncert never computes with; it is left in the file and not loaded. */
    H5Aclose(a);
    return w->rc ? -1 : 0;
}

static int read_meta(h5r_ctx *c, hid_t file, nn_model *m)
{
    htri_t has = H5Lexists(file, "meta", H5P_DEFAULT);
    if (has <= 0) return has < 0 ? h5r_fail_h5(c, "cannot look up group 'meta'") : NN_OK;
    c->where[0] = '\0';
    int rc;
    hid_t g = h5r_open_kind(c, file, "meta", "meta", H5I_GROUP, &rc);
    if (g < 0) return rc;
    snprintf(c->where, sizeof c->where, "meta: ");
    /* Keep the writer's order when the file tracks it (ours does), else by name. */
    H5_index_t order = H5_INDEX_NAME;
    hid_t gcpl = H5Gget_create_plist(g);
    unsigned flags = 0;
    if (gcpl >= 0 && H5Pget_attr_creation_order(gcpl, &flags) >= 0 && (flags & H5P_CRT_ORDER_INDEXED))
        order = H5_INDEX_CRT_ORDER;
    if (gcpl >= 0) H5Pclose(gcpl);
    meta_walk w = {c, m, NN_OK};
    hsize_t pos = 0;
    herr_t st = H5Aiterate2(g, order, H5_ITER_INC, &pos, meta_cb, &w);
    if (!w.rc && st < 0) w.rc = h5r_fail_h5(c, "cannot list the attributes");
    H5Gclose(g);
    return w.rc;
}

/* ---- reader ---------------------------------------------------------------- */

static int read_root(h5r_ctx *c, hid_t file, nn_model *m)
{
    int rc;
    char *fmt = NULL;
    htri_t has = H5Aexists(file, "format");
    if (has == 0)
        return h5r_fail(c, NN_EFORMAT, "not an nncert model file (root attribute 'format' is missing)");
    if ((rc = h5r_string_attr(c, file, "format", 1, &fmt))) return rc;
    if (strcmp(fmt, MODEL_H5_FORMAT) != 0) {
        rc = h5r_fail(c, NN_EFORMAT, "root attribute 'format' is '%s', expected '%s'", fmt, MODEL_H5_FORMAT);
        free(fmt);
        return rc;
    }
    free(fmt);
    int version;
    if ((rc = h5r_int_attr(c, file, "version", 1, NULL, &version))) return rc;
    if (version < 1 || version > MODEL_H5_VERSION)
        return h5r_fail(c, NN_EUNSUPPORTED, "root attribute 'version' is %d; this nncert reads versions 1 to %d",
                       version, MODEL_H5_VERSION);
    c->version = version;
    int shape[3];
    if ((rc = h5r_int_attr(c, file, "input_shape", 3, NULL, shape))) return rc;
    if (shape[0] < 1 || shape[1] < 1 || shape[2] < 1)
        return h5r_fail(c, NN_ESHAPE, "root attribute 'input_shape' is [%d,%d,%d], entries must be positive",
                       shape[0], shape[1], shape[2]);
    m->input = (nn_shape){shape[0], shape[1], shape[2]};
    /* The name only labels reports; a file without one is still a complete model. */
    if ((rc = h5r_string_attr(c, file, "name", 0, &m->name))) return rc;
    if (!m->name && !(m->name = h5r_strdup("")))
        return h5r_fail(c, NN_ENOMEM, "out of memory");
    return NN_OK;
}

static int read_file(h5r_ctx *c, hid_t file, nn_model *m)
{
    int rc;
    if ((rc = read_root(c, file, m))) return rc;
    htri_t has = H5Lexists(file, "layers", H5P_DEFAULT);
    if (has < 0) return h5r_fail_h5(c, "cannot look up group 'layers'");
    if (!has) return h5r_fail(c, NN_EFORMAT, "group 'layers' is missing");
    hid_t layers = h5r_open_kind(c, file, "layers", "layers", H5I_GROUP, &rc);
    if (layers < 0) return rc;
    int n = count_layers(c, layers);
    rc = n < 0 ? c->err->code : NN_OK;
    for (int i = 0; i < n && !rc; i++) rc = read_layer(c, layers, i, m);
    H5Gclose(layers);
    if (rc) return rc;
    c->where[0] = '\0';
    if ((rc = read_meta(c, file, m))) return rc;
    if ((rc = model_finalize(m, c->err))) return nn_error_prefix(c->err, "%s: ", c->path);
    return NN_OK;
}

/* The HDF5 part of model_read_h5, on a path known to be a readable regular file. */
static int read_h5(const char *path, nn_model *m, nn_error *err)
{
    h5r_ctx c = {path, "", err, 0};
    hid_t file = h5r_open_file(path, "native models are HDF5, ONNX files need the .onnx suffix", err);
    if (file < 0) return err->code;
    int rc = read_file(&c, file, m);
    H5Fclose(file);
    if (!rc && !(m->source = h5r_strdup(path))) rc = nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    if (rc) model_free(m);
    return rc;
}

static void try_read(const char *path, void *ctx)
{
    (void)ctx;
    nn_model m;
    model_init(&m);
    nn_error err;
    read_h5(path, &m, &err);
    model_free(&m);
}

int model_read_h5(const char *path, nn_model *m, nn_error *err)
{
    nn_error local;
    if (!err) err = &local;
    nn_error_clear(err);
    model_init(m);

    /* HDF5 loops or crashes on some damaged files: a trial read in a child first */
    int rc = h5_sandbox_check(path, try_read, NULL, err);
    return rc ? rc : read_h5(path, m, err);
}

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
    const char *path;
    nn_error *err;
    int rc;             /* first failure; later writes are skipped */
} wr_ctx;

static void wr_fail(wr_ctx *w, const char *what)
{
    if (w->rc) return;
    char reason[200];
    h5r_reason(reason);
    w->rc = nn_fail(w->err, NN_EIO, "%s: cannot write %s%s%s", w->path, what, reason[0] ? " (HDF5: " : "",
                    reason[0] ? reason : "");
    if (reason[0]) {
        size_t n = strlen(w->err->msg);
        if (n + 1 < sizeof w->err->msg) memcpy(w->err->msg + n, ")", 2);
    }
}

static void write_attr(wr_ctx *w, hid_t obj, const char *name, hid_t ftype, hid_t mtype, int n, const void *v)
{
    if (w->rc) return;
    hsize_t dim = (hsize_t)n;
    hid_t s = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    hid_t a = s < 0 ? -1 : H5Acreate2(obj, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, v) < 0) wr_fail(w, name);
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
}

/* Strings are fixed-length UTF-8: a variable-length string lives in the global
 * heap, and HDF5 1.10 reads a damaged global heap out of bounds (it crashes on
 * corrupt files); fixed-length values sit in the checksummed object header. */
static void write_string_attr(wr_ctx *w, hid_t obj, const char *name, const char *value)
{
    if (w->rc) return;
    const char *v = value ? value : "";
    size_t n = strlen(v);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n ? n : 1);   /* HDF5 has no zero-length string type */
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char one[1] = {0};
    write_attr(w, obj, name, t, t, 1, n ? v : one);
    H5Tclose(t);
}

static void write_ints(wr_ctx *w, hid_t obj, const char *name, int n, const int *v)
{
    write_attr(w, obj, name, H5T_STD_I32LE, H5T_NATIVE_INT, n, v);
}

static void write_double(wr_ctx *w, hid_t obj, const char *name, double v)
{
    write_attr(w, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &v);
}

static void write_tensor(wr_ctx *w, hid_t g, const char *name, const double *v, int rank, const int *dims)
{
    if (w->rc) return;
    hsize_t hd[4];
    for (int i = 0; i < rank; i++) hd[i] = (hsize_t)dims[i];
    hid_t s = H5Screate_simple(rank, hd, NULL);
    hid_t d = s < 0 ? -1 : H5Dcreate2(g, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) wr_fail(w, name);
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
}

static int all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* What the writer needs of a layer: its arrays, their stored sizes, and finite
 * values (the reader would refuse the file otherwise). */
static int check_layer(const char *path, int i, const nn_layer *l, nn_error *err)
{
    const char *name = layer_type_name(l->type);
    size_t co = l->out_channels > 0 ? (size_t)l->out_channels : 0, ci = l->in_features > 0 ? (size_t)l->in_features : 0;
    int bad = 0, finite = 1;
    switch (l->type) {
    case LAYER_NORMALIZE:
        bad = !l->mean || !l->std || !ci;
        finite = bad || (all_finite(l->mean, ci) && all_finite(l->std, ci));
        break;
    case LAYER_DENSE:
        bad = !l->weight || !l->bias || !co || !ci;
        finite = bad || (all_finite(l->weight, co * ci) && all_finite(l->bias, co));
        break;
    case LAYER_CONV2D:
        bad = !l->weight || !l->bias || !co || !ci || l->kernel[0] < 1 || l->kernel[1] < 1;
        finite = bad || (all_finite(l->weight, co * ci * (size_t)l->kernel[0] * (size_t)l->kernel[1]) &&
                         all_finite(l->bias, co));
        break;
    case LAYER_PARAM_RAMP:
        bad = !l->r || !ci;
        finite = bad || (all_finite(l->r, ci) && isfinite(l->alpha));
        break;
    case LAYER_LEAKY_RELU: finite = isfinite(l->alpha); break;
    default:
        if (l->type < 0 || l->type >= LAYER_TYPE_COUNT)
            return nn_fail(err, NN_EARG, "%s: cannot write layer %03d: unknown layer type %d", path, i, (int)l->type);
    }
    if (bad)
        return nn_fail(err, NN_EARG, "%s: cannot write layer %03d (%s): parameters missing or sizes not set", path,
                       i, name);
    if (!finite)
        return nn_fail(err, NN_EVALUE, "%s: cannot write layer %03d (%s): NaN/Inf parameters", path, i, name);
    return NN_OK;
}

static void write_layer(wr_ctx *w, hid_t g, const nn_layer *l)
{
    int d[4];
    write_string_attr(w, g, "type", layer_type_name(l->type));
    switch (l->type) {
    case LAYER_NORMALIZE:
        d[0] = l->in_features;
        write_tensor(w, g, "mean", l->mean, 1, d);
        write_tensor(w, g, "std", l->std, 1, d);
        break;
    case LAYER_DENSE:
        d[0] = l->out_channels;
        d[1] = l->in_features;
        write_tensor(w, g, "weight", l->weight, 2, d);
        write_tensor(w, g, "bias", l->bias, 1, d);
        break;
    case LAYER_CONV2D:
        d[0] = l->out_channels;
        d[1] = l->in_features;
        d[2] = l->kernel[0];
        d[3] = l->kernel[1];
        write_tensor(w, g, "weight", l->weight, 4, d);
        write_tensor(w, g, "bias", l->bias, 1, d);
        write_ints(w, g, "stride", 2, l->stride);
        write_ints(w, g, "padding", 4, l->pad);
        write_ints(w, g, "dilation", 2, l->dilation);
        break;
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D:
        write_ints(w, g, "kernel", 2, l->kernel);
        write_ints(w, g, "stride", 2, l->stride);
        write_ints(w, g, "padding", 4, l->pad);
        if (layer_counts_padding(l)) write_ints(w, g, "count_padding", 4, l->count_pad);
        break;
    case LAYER_LEAKY_RELU: write_double(w, g, "alpha", l->alpha); break;
    case LAYER_PARAM_RAMP:
        write_double(w, g, "eta", l->alpha);
        d[0] = l->in_features;
        write_tensor(w, g, "r", l->r, 1, d);
        break;
    default: break;
    }
}

static void write_model(wr_ctx *w, hid_t file, const nn_model *m)
{
    /* version 1 unless the graph has edges a chain does not, 3 when an average counts
     * padding cells (files stay as before) */
    int version = model_is_sequential(m) ? 1 : 2, shape[3] = {m->input.c, m->input.h, m->input.w};
    for (int i = 0; i < m->n_layers; i++)
        if (layer_counts_padding(&m->layers[i])) version = 3;
    write_string_attr(w, file, "format", MODEL_H5_FORMAT);
    write_ints(w, file, "version", 1, &version);
    write_ints(w, file, "input_shape", 3, shape);
    write_string_attr(w, file, "name", m->name);
    hid_t layers = w->rc ? -1 : H5Gcreate2(file, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (layers < 0) wr_fail(w, "group 'layers'");
    for (int i = 0; i < m->n_layers && !w->rc; i++) {
        char name[32];
        snprintf(name, sizeof name, "%03d", i);
        hid_t g = H5Gcreate2(layers, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            wr_fail(w, "a layer group");
            break;
        }
        write_layer(w, g, &m->layers[i]);
        if (version >= 2 && m->layers[i].n_inputs > 0) write_ints(w, g, "inputs", m->layers[i].n_inputs, m->layers[i].input);
        H5Gclose(g);
    }
    if (layers >= 0) H5Gclose(layers);
    if (w->rc || m->n_meta == 0) return;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t meta = H5Gcreate2(file, "meta", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (meta < 0) {
        wr_fail(w, "group 'meta'");
        return;
    }
    for (int i = 0; i < m->n_meta && !w->rc; i++) {
        const nn_meta *e = &m->meta[i];
        if (e->kind == META_STRING) {
            write_string_attr(w, meta, e->key, e->str);
        } else if (e->kind == META_INT) {
            long long v = (long long)e->num;
            write_attr(w, meta, e->key, H5T_STD_I64LE, H5T_NATIVE_LLONG, 1, &v);
        } else {
            write_double(w, meta, e->key, e->num);
        }
    }
    H5Gclose(meta);
}

int model_write_h5(const char *path, const nn_model *m, nn_error *err)
{
    nn_error local;
    if (!err) err = &local;
    nn_error_clear(err);
    h5r_quiet();
    int rc;
    for (int i = 0; i < m->n_layers; i++)
        if ((rc = check_layer(path, i, &m->layers[i], err))) return rc;

    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp)
        return nn_fail(err, NN_EARG, "%s: path too long", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    /* The 1.8 object format checksums the superblock and object headers, so a
     * damaged file is reported as such instead of being parsed (readable by any
     * HDF5 >= 1.8, i.e. every h5py and h5dump in use). */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
    errno = 0;
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    int create_errno = errno;
    H5Pclose(fapl);
    wr_ctx w = {path, err, NN_OK};
    if (file < 0)
        return nn_fail(err, NN_EIO, "%s: cannot create %s: %s", path, tmp,
                       create_errno ? strerror(create_errno) : "HDF5 error");
    write_model(&w, file, m);
    if (H5Fclose(file) < 0) wr_fail(&w, "the file (closing failed)");
    if (!w.rc && rename(tmp, path) != 0)
        w.rc = nn_fail(err, NN_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (w.rc) remove(tmp);
    return w.rc;
}
