/* Keras 2 HDF5 model files (include/keras_import.h; doc/formats.md "Keras").
 *
 * The architecture is the root attribute 'model_config' (JSON, parsed with
 * cJSON): a Sequential model (its config a list of layers, Keras 2.0-2.1, or
 * {"layers": [...]}) or a functional Model whose layers form one chain. The
 * weights of layer NAME are the datasets listed in the 'weight_names' attribute
 * of group model_weights/NAME (the root for save_weights files), found by their
 * last component: "kernel:0", "bias:0", "gamma:0", ...
 *
 * Keras computes on H,W,C tensors; nncert on C,H,W. The reader tracks the Keras
 * shape layer by layer and converts: Conv2D kernels [kH,kW,Ci,Co] become
 * [Co,Ci,kH,kW]; 'same' padding becomes the explicit TensorFlow split (the odd
 * cell at the bottom/right); a Flatten of an H x W x C tensor (C > 1, H*W > 1)
 * lists values in H,W,C order, so the columns of the Dense that reads it are
 * permuted to C,H,W order. Everything between that Flatten and the Dense must be
 * element-wise. Anything not understood is refused naming the layer and class. */
#include "keras_import.h"
#include "h5_read.h"
#include "h5_sandbox.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUPPORTED_LAYERS \
    "InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Activation, ReLU, LeakyReLU, " \
    "BatchNormalization, Dropout (and the other inference identities), Reshape to a vector, " \
    "Lambda named arctan*, Softmax as the last layer"
#define SUPPORTED_ACTS "relu, tanh, sigmoid, arctan (atan), linear, softmax (last layer only)"

typedef struct {
    const char *path;
    nn_error *err;
    h5r_ctx h;          /* for the weight reads; where = the layer */
    hid_t wgroup;       /* model_weights, or the root of a save_weights file */
    nn_model *m;
    const char *name;   /* the layer being read, and its class */
    const char *cls;
    int last;           /* it is the model's last layer */
    /* The Keras tensor after the layers read so far: H x W x C, or a vector of F. */
    int spatial, H, W, C, F;
    /* A Flatten of an H x W x C tensor left its values in H,W,C order. */
    int perm, pH, pW, pC;
    int affine_open;    /* the last emitted layer is a Dense/Conv2D a BatchNormalization may fold into */
    const char *note;
} kctx;

static int kfail(kctx *k, nn_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int kfail(kctx *k, nn_code code, const char *fmt, ...)
{
    char what[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (k->name)
        return nn_fail(k->err, code, "%s: layer '%s' (%s): %s", k->path, k->name, k->cls, what);
    return nn_fail(k->err, code, "%s: %s", k->path, what);
}

/* ---- JSON fields ----------------------------------------------------------- */

static const cJSON *field(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = field(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An integer-valued JSON number in [lo, hi]. */
static int int_value(kctx *k, const cJSON *v, const char *key, int lo, int hi, int *out)
{
    if (!cJSON_IsNumber(v))
        return kfail(k, NN_EFORMAT, "config field '%s' is %s, expected an integer", key,
                     v ? (cJSON_IsNull(v) ? "null" : "not a number") : "missing");
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi) || d != floor(d))
        return kfail(k, NN_EVALUE, "config field '%s' = %g must be an integer in %d..%d", key, d, lo, hi);
    *out = (int)d;
    return NN_OK;
}

/* A pair like kernel_size: [a, b] or a single integer; `def` when absent (NULL: required). */
static int pair_field(kctx *k, const cJSON *cfg, const char *key, const int *def, int out[2])
{
    const cJSON *v = field(cfg, key);
    if ((!v || cJSON_IsNull(v)) && def) {
        out[0] = def[0], out[1] = def[1];
        return NN_OK;
    }
    if (cJSON_IsNumber(v)) {
        int rc = int_value(k, v, key, 1, 1 << 20, &out[0]);
        out[1] = out[0];
        return rc;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return kfail(k, NN_EFORMAT, "config field '%s' is %s, expected two integers", key, v ? "malformed" : "missing");
    int rc = int_value(k, cJSON_GetArrayItem(v, 0), key, 1, 1 << 20, &out[0]);
    return rc ? rc : int_value(k, cJSON_GetArrayItem(v, 1), key, 1, 1 << 20, &out[1]);
}

static int bool_field(kctx *k, const cJSON *cfg, const char *key, int def, int *out)
{
    const cJSON *v = field(cfg, key);
    if (!v) {
        *out = def;
        return NN_OK;
    }
    if (!cJSON_IsBool(v)) return kfail(k, NN_EFORMAT, "config field '%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return NN_OK;
}

static int double_field(kctx *k, const cJSON *cfg, const char *key, double def, double *out)
{
    const cJSON *v = field(cfg, key);
    if (!v) {
        *out = def;
        return NN_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return kfail(k, NN_EFORMAT, "config field '%s' must be a finite number", key);
    *out = v->valuedouble;
    return NN_OK;
}

/* Only channels_last is read: the weights' layout follows it. */
static int check_data_format(kctx *k, const cJSON *cfg)
{
    const char *f = str_field(cfg, "data_format");
    if (f && strcmp(f, "channels_last") != 0)
        return kfail(k, NN_EUNSUPPORTED, "data_format '%s' is not supported (only channels_last)", f);
    return NN_OK;
}

/* ---- weights --------------------------------------------------------------- */

typedef struct {
    hid_t g;
    char **names;
    int n;
} layer_weights;

static void weights_close(layer_weights *w)
{
    h5r_string_list_free(w->names, w->n);
    if (w->g > 0) H5Gclose(w->g);
    memset(w, 0, sizeof *w);
}

/* Opens the layer's weight group and checks it lists `expect` weights. */
static int weights_open(kctx *k, int expect, layer_weights *w)
{
    memset(w, 0, sizeof *w);
    snprintf(k->h.where, sizeof k->h.where, "layer '%s' (%s): ", k->name, k->cls);
    htri_t has = H5Lexists(k->wgroup, k->name, H5P_DEFAULT);
    if (has <= 0)
        return kfail(k, NN_EFORMAT, "its weight group '%s' is missing from the file", k->name);
    int rc;
    if ((w->g = h5r_open_kind(&k->h, k->wgroup, k->name, k->name, H5I_GROUP, &rc)) < 0) return rc;
    if ((rc = h5r_string_list_attr(&k->h, w->g, "weight_names", 1, &w->names, &w->n))) return rc;
    if (w->n != expect)
        return kfail(k, NN_EFORMAT, "its group lists %d weights in 'weight_names', the config implies %d", w->n,
                     expect);
    return NN_OK;
}

/* Reads weight `key` ("kernel", "bias", ...) of rank `rank`; dims receives its extents. */
static int weight_read(kctx *k, layer_weights *w, const char *key, int rank, const char *layout, int dims[4],
                       double **out)
{
    const char *found = NULL;
    size_t nk = strlen(key);
    for (int i = 0; i < w->n && !found; i++) {
        const char *base = strrchr(w->names[i], '/');
        base = base ? base + 1 : w->names[i];
        if (!strncmp(base, key, nk) && base[nk] == ':') found = w->names[i];
    }
    if (!found) {
        char list[256] = "";
        size_t len = 0;
        for (int i = 0; i < w->n && len < sizeof list - 8; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", w->names[i]);
        return kfail(k, NN_EFORMAT, "no weight '%s:N' among its weight_names [%s] (Keras 1 files are not read)",
                     key, list);
    }
    /* Every group on the way must exist before HDF5 is asked about the next. */
    char prefix[512];
    for (const char *s = strchr(found, '/'); s; s = strchr(s + 1, '/')) {
        size_t n = (size_t)(s - found);
        if (n >= sizeof prefix) break;
        memcpy(prefix, found, n);
        prefix[n] = '\0';
        if (H5Lexists(w->g, prefix, H5P_DEFAULT) <= 0)
            return kfail(k, NN_EFORMAT, "weight dataset '%s/%s' is missing (group '%s' is absent)", k->name, found,
                         prefix);
    }
    int rc = h5r_tensor(&k->h, w->g, found, rank, layout, dims, out);
    return rc;
}

/* ---- emitting nncert layers ------------------------------------------------ */

static int emit(kctx *k, nn_layer *l)
{
    int rc = model_append(k->m, l, k->err);
    if (rc) return nn_error_prefix(k->err, "%s: layer '%s' (%s): ", k->path, k->name, k->cls);
    k->affine_open = l->type == LAYER_DENSE || l->type == LAYER_CONV2D;
    return NN_OK;
}

/* Activation by Keras name; *t = -1 for linear. Returns 1 for softmax. */
static int activation_type(const char *a, int *t)
{
    static const struct { const char *name; int type; } acts[] = {
        {"relu", LAYER_RELU},     {"tanh", LAYER_TANH},     {"sigmoid", LAYER_SIGMOID},
        {"arctan", LAYER_ARCTAN}, {"atan", LAYER_ARCTAN},   {"linear", -1},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (!strcmp(a, acts[i].name)) {
            *t = acts[i].type;
            return 0;
        }
    if (!strcmp(a, "softmax")) return 1;
    return -1;
}

static int emit_activation(kctx *k, const char *a)
{
    int t;
    int kind = activation_type(a, &t);
    if (kind < 0)
        return kfail(k, NN_EUNSUPPORTED, "activation '%s' is not supported (supported: %s)", a, SUPPORTED_ACTS);
    if (kind == 1) {
        if (!k->last)
            return kfail(k, NN_EUNSUPPORTED, "a softmax is only supported in the last layer (it is not monotone "
                         "per neuron)");
        k->note = "the final softmax was dropped (the argmax is unchanged; outputs are logits)";
        return NN_OK;
    }
    if (t < 0) return NN_OK;
    nn_layer l = layer_make((layer_type)t);
    return emit(k, &l);
}

/* The 'activation' field of Dense and Conv2D (absent: linear). */
static int layer_activation(kctx *k, const cJSON *cfg)
{
    const cJSON *v = field(cfg, "activation");
    if (!v || cJSON_IsNull(v)) return NN_OK;
    if (!cJSON_IsString(v))
        return kfail(k, NN_EUNSUPPORTED, "config field 'activation' is not a name (a custom activation object)");
    return emit_activation(k, v->valuestring);
}

static int bias_or_zeros(kctx *k, layer_weights *w, int use_bias, int n, double **out)
{
    if (!use_bias) return (*out = nn_calloc((size_t)n, sizeof **out, "bias", k->err)) ? NN_OK : NN_ENOMEM;
    int d[4], rc = weight_read(k, w, "bias", 1, "[units]", d, out);
    if (!rc && d[0] != n) rc = kfail(k, NN_ESHAPE, "bias has %d entries, expected %d", d[0], n);
    return rc;
}

/* ---- layers ---------------------------------------------------------------- */

/* The end of a Dense or Conv2D reader: the filled layer (when rc is 0) and its
 * activation are emitted; what the reader held is freed either way. */
static int emit_affine(kctx *k, nn_layer *l, const cJSON *cfg, int rc, double *kern, layer_weights *w)
{
    if (!rc) {
        rc = emit(k, l);
        memset(l, 0, sizeof *l);   /* the model owns its arrays now, or freed them */
        if (!rc) rc = layer_activation(k, cfg);
    }
    layer_free(l);
    free(kern);
    weights_close(w);
    return rc;
}

static int read_dense(kctx *k, const cJSON *cfg)
{
    int units, use_bias = 1, rc;
    if ((rc = int_value(k, field(cfg, "units"), "units", 1, 1 << 28, &units)) ||
        (rc = bool_field(k, cfg, "use_bias", 1, &use_bias)))
        return rc;
    if (k->spatial && k->H * k->W != 1)
        return kfail(k, NN_EUNSUPPORTED, "a Dense on a %dx%dx%d tensor acts on the last axis only; flatten first",
                     k->H, k->W, k->C);
    int in = k->spatial ? k->C : k->F;
    layer_weights w;
    double *kern = NULL;
    nn_layer l = layer_make(LAYER_DENSE);
    int d[4];
    if ((rc = weights_open(k, use_bias ? 2 : 1, &w)) ||
        (rc = weight_read(k, &w, "kernel", 2, "[inputs, units]", d, &kern)))
        goto done;
    if (d[0] != in || d[1] != units) {
        rc = kfail(k, NN_ESHAPE, "kernel is [%d,%d], expected [%d,%d] (inputs, units)", d[0], d[1], in, units);
        goto done;
    }
    if ((rc = bias_or_zeros(k, &w, use_bias, units, &l.bias))) goto done;
    if (!(l.weight = nn_malloc((size_t)units * in * sizeof *l.weight, "dense weight", k->err))) {
        rc = NN_ENOMEM;
        goto done;
    }
    /* Keras kernel[i][o] -> nncert weight[o][j], j the C,H,W index of Keras's input i. */
    for (int i = 0; i < in; i++) {
        int j = i;
        if (k->perm) {
            int c = i % k->pC, hw = i / k->pC;
            j = c * k->pH * k->pW + hw;
        }
        for (int o = 0; o < units; o++) l.weight[(size_t)o * in + j] = kern[(size_t)i * units + o];
    }
    l.out_channels = units;
    l.in_features = in;
    k->perm = 0;
    k->spatial = 0;
    k->F = units;
done:
    return emit_affine(k, &l, cfg, rc, kern, &w);
}

/* Output extent and padding (before, after) of a window along one axis, as TensorFlow computes them. */
static int window_axis(kctx *k, const char *padding, int in, int kern, int stride, int dil, int *out, int *p0,
                       int *p1)
{
    long span = (long)(kern - 1) * dil + 1;
    if (!strcmp(padding, "valid")) {
        if (span > in) return kfail(k, NN_ESHAPE, "a window of %ld cells does not fit an input of %d", span, in);
        *out = (int)((in - span) / stride + 1);
        *p0 = *p1 = 0;
    } else if (!strcmp(padding, "same")) {
        *out = (in + stride - 1) / stride;
        long total = ((long)*out - 1) * stride + span - in;
        if (total < 0) total = 0;
        if (total > 1 << 24) return kfail(k, NN_EVALUE, "'same' padding of %ld cells is implausible", total);
        *p0 = (int)(total / 2);
        *p1 = (int)(total - total / 2);
    } else {
        return kfail(k, NN_EUNSUPPORTED, "padding '%s' is not supported (valid or same)", padding);
    }
    return NN_OK;
}

/* kernel, strides, padding and dilation of a Conv2D or a pooling layer into l; updates H, W. */
static int read_window(kctx *k, const cJSON *cfg, const char *kernel_key, const int *stride_default, nn_layer *l)
{
    int rc;
    static const int one[2] = {1, 1};
    if (!k->spatial) return kfail(k, NN_EUNSUPPORTED, "needs an H x W x C input, got a vector of %d", k->F);
    if ((rc = check_data_format(k, cfg)) || (rc = pair_field(k, cfg, kernel_key, NULL, l->kernel)) ||
        (rc = pair_field(k, cfg, "strides", stride_default ? stride_default : l->kernel, l->stride)) ||
        (rc = pair_field(k, cfg, "dilation_rate", one, l->dilation)))
        return rc;
    const char *padding = str_field(cfg, "padding");
    if (!padding) padding = "valid";
    int oh, ow;
    if ((rc = window_axis(k, padding, k->H, l->kernel[0], l->stride[0], l->dilation[0], &oh, &l->pad[0],
                          &l->pad[2])) ||
        (rc = window_axis(k, padding, k->W, l->kernel[1], l->stride[1], l->dilation[1], &ow, &l->pad[1],
                          &l->pad[3])))
        return rc;
    k->H = oh, k->W = ow;
    return NN_OK;
}

static int read_conv(kctx *k, const cJSON *cfg)
{
    int filters, use_bias = 1, groups = 1, rc;
    static const int one[2] = {1, 1};
    const cJSON *g = field(cfg, "groups");
    if ((rc = int_value(k, field(cfg, "filters"), "filters", 1, 1 << 20, &filters)) ||
        (rc = bool_field(k, cfg, "use_bias", 1, &use_bias)) ||
        (g && (rc = int_value(k, g, "groups", 1, 1 << 20, &groups))))
        return rc;
    if (groups != 1) return kfail(k, NN_EUNSUPPORTED, "groups = %d is not supported (only 1)", groups);
    nn_layer l = layer_make(LAYER_CONV2D);
    const int ci = k->C;
    if ((rc = read_window(k, cfg, "kernel_size", one, &l))) return rc;
    if (l.dilation[0] > 1 && (l.stride[0] > 1 || l.stride[1] > 1))
        return kfail(k, NN_EUNSUPPORTED, "dilation with strides > 1 is not defined in Keras");
    layer_weights w;
    double *kern = NULL;
    int d[4];
    const int kh = l.kernel[0], kw = l.kernel[1];
    if ((rc = weights_open(k, use_bias ? 2 : 1, &w)) ||
        (rc = weight_read(k, &w, "kernel", 4, "[kH, kW, in channels, filters]", d, &kern)))
        goto done;
    if (d[0] != kh || d[1] != kw || d[2] != ci || d[3] != filters) {
        rc = kfail(k, NN_ESHAPE, "kernel is [%d,%d,%d,%d], expected [%d,%d,%d,%d] (kH, kW, in channels, filters)",
                   d[0], d[1], d[2], d[3], kh, kw, ci, filters);
        goto done;
    }
    if ((rc = bias_or_zeros(k, &w, use_bias, filters, &l.bias))) goto done;
    size_t n = (size_t)filters * ci * kh * kw;
    if (!(l.weight = nn_malloc(n * sizeof *l.weight, "conv2d weight", k->err))) {
        rc = NN_ENOMEM;
        goto done;
    }
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
            for (int c = 0; c < ci; c++)
                for (int o = 0; o < filters; o++)
                    l.weight[(((size_t)o * ci + c) * kh + y) * kw + x] = kern[(((size_t)y * kw + x) * ci + c) * filters + o];
    l.out_channels = filters;
    l.in_features = ci;
    k->C = filters;
done:
    return emit_affine(k, &l, cfg, rc, kern, &w);
}

static int read_pool(kctx *k, const cJSON *cfg, layer_type t)
{
    nn_layer l = layer_make(t);
    int rc = read_window(k, cfg, "pool_size", NULL, &l);
    l.dilation[0] = l.dilation[1] = 1;
    return rc ? rc : emit(k, &l);
}

static int flatten(kctx *k)
{
    if (!k->spatial) return NN_OK;
    /* only with several channels and several positions do the two orders differ */
    if (k->C > 1 && k->H * k->W > 1) k->perm = 1, k->pH = k->H, k->pW = k->W, k->pC = k->C;
    k->spatial = 0;
    k->F = k->H * k->W * k->C;
    nn_layer l = layer_make(LAYER_FLATTEN);
    return emit(k, &l);
}

static int read_reshape(kctx *k, const cJSON *cfg)
{
    const cJSON *t = field(cfg, "target_shape");
    int n = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : -1;
    long size = k->spatial ? (long)k->H * k->W * k->C : k->F;
    int v[3] = {1, 1, 1};
    for (int i = 0; i < n && n <= 3; i++) {
        int rc = int_value(k, cJSON_GetArrayItem(t, i), "target_shape", 1, 1 << 30, &v[i]);
        if (rc) return rc;
    }
    if (n == 1 && v[0] == size) return flatten(k);
    /* A vector input reshaped to one-channel images: the same values in the same order. */
    if (n >= 2 && n <= 3 && !k->spatial && k->m->n_layers == 0 && v[2] == 1 && (long)v[0] * v[1] == size) {
        k->m->input = (nn_shape){1, v[0], v[1]};
        k->spatial = 1, k->H = v[0], k->W = v[1], k->C = 1;
        return NN_OK;
    }
    return kfail(k, NN_EUNSUPPORTED, "only a reshape to a vector, or of the input vector to one-channel images, is "
                 "supported");
}

static int read_leaky(kctx *k, const cJSON *cfg)
{
    double alpha = 0;
    const char *key = field(cfg, "negative_slope") ? "negative_slope" : "alpha";
    int rc = double_field(k, cfg, key, 0.3, &alpha);
    if (rc) return rc;
    nn_layer l = layer_make(LAYER_LEAKY_RELU);
    l.alpha = alpha;
    return emit(k, &l);
}

/* keras.layers.ReLU: a plain relu only. */
static int read_relu(kctx *k, const cJSON *cfg)
{
    const cJSON *mx = field(cfg, "max_value");
    double slope = 0, thr = 0;
    int rc;
    if ((rc = double_field(k, cfg, "negative_slope", 0, &slope)) || (rc = double_field(k, cfg, "threshold", 0, &thr)))
        return rc;
    if ((mx && !cJSON_IsNull(mx)) || slope != 0 || thr != 0)
        return kfail(k, NN_EUNSUPPORTED, "only max_value null, negative_slope 0 and threshold 0 are supported");
    return emit_activation(k, "relu");
}

/* CROWN saves arctan networks with Lambda(lambda x: tf.atan(x), name="arctan_N"):
 * accepted when the name says arctan and the marshalled code names atan. */
static int read_lambda(kctx *k, const cJSON *cfg)
{
    const char *why = NULL;
    if (strncmp(k->name, "arctan", 6) != 0 && strncmp(k->name, "atan", 4) != 0)
        why = "a Lambda holds Python code; only the arctan Lambdas of CROWN (named arctan*) are recognised";
    const cJSON *f = field(cfg, "function");
    if (cJSON_IsArray(f)) f = cJSON_GetArrayItem(f, 0);
    if (!why && !cJSON_IsString(f)) why = "its 'function' is not a serialized Python function";
    if (!why) {
        const char *s = f->valuestring;
        size_t n = strlen(s), m = 0;
        char *b64 = malloc(n + 1);
        unsigned char *raw = malloc(n + 4);
        if (!b64 || !raw) {
            free(b64), free(raw);
            return kfail(k, NN_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            if (!isspace((unsigned char)s[i])) b64[m++] = s[i];
        b64[m] = '\0';
        int got = m % 4 == 0 ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)m) : -1;
        int has_atan = 0;
        for (int i = 0; i + 4 <= got && !has_atan; i++) has_atan = !memcmp(raw + i, "atan", 4);
        free(b64), free(raw);
        if (got < 0) why = "its 'function' is not base64-encoded Python code";
        else if (!has_atan) why = "it is named arctan but its code does not call atan";
    }
    if (why) return kfail(k, NN_EUNSUPPORTED, "%s", why);
    nn_layer l = layer_make(LAYER_ARCTAN);
    return emit(k, &l);
}

/* Inference-mode BatchNormalization: y = gamma (x - mean) / sqrt(var + eps) + beta
 * per channel, folded into the Dense/Conv2D just before, or a normalize layer. */
static int read_batchnorm(kctx *k, const cJSON *cfg)
{
    int center = 1, scale = 1, rc, n = k->spatial ? k->C : k->F;
    double eps = 0;
    const cJSON *axis = field(cfg, "axis");
    if (cJSON_IsArray(axis) && cJSON_GetArraySize(axis) == 1) axis = cJSON_GetArrayItem(axis, 0);
    int last_axis = k->spatial ? 3 : 1;
    if (axis && !(cJSON_IsNumber(axis) && (axis->valuedouble == -1 || axis->valuedouble == last_axis)))
        return kfail(k, NN_EUNSUPPORTED, "only normalization over the last (channel) axis is supported");
    if ((rc = bool_field(k, cfg, "center", 1, &center)) || (rc = bool_field(k, cfg, "scale", 1, &scale)) ||
        (rc = double_field(k, cfg, "epsilon", 1e-3, &eps)))
        return rc;
    if (k->perm)
        return kfail(k, NN_EUNSUPPORTED, "a BatchNormalization between a Flatten of several channels and a Dense "
                     "is not supported");
    layer_weights w;
    double *v[4] = {NULL, NULL, NULL, NULL};  /* gamma, beta, moving_mean, moving_variance */
    static const char *const keys[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    if ((rc = weights_open(k, 2 + center + scale, &w))) goto done;
    for (int i = 0; i < 4 && !rc; i++) {
        if ((i == 0 && !scale) || (i == 1 && !center)) continue;
        int d[4];
        rc = weight_read(k, &w, keys[i], 1, "[channels]", d, &v[i]);
        if (!rc && d[0] != n) rc = kfail(k, NN_ESHAPE, "%s has %d entries, expected %d", keys[i], d[0], n);
    }
    if (rc) goto done;
    double *s = NULL, *t = NULL;   /* y = s x + t */
    if (!(s = nn_malloc((size_t)n * sizeof *s, "batchnorm", k->err)) ||
        !(t = nn_malloc((size_t)n * sizeof *t, "batchnorm", k->err))) {
        free(s);
        rc = NN_ENOMEM;
        goto done;
    }
    for (int c = 0; c < n && !rc; c++) {
        if (!(v[3][c] + eps > 0)) rc = kfail(k, NN_EVALUE, "moving_variance[%d] + epsilon = %g is not positive", c, v[3][c] + eps);
        s[c] = (scale ? v[0][c] : 1.0) / sqrt(v[3][c] + eps);
        t[c] = (center ? v[1][c] : 0.0) - s[c] * v[2][c];
    }
    nn_layer *prev = k->affine_open ? &k->m->layers[k->m->n_layers - 1] : NULL;
    if (!rc && prev) {
        size_t per = prev->type == LAYER_DENSE ? (size_t)prev->in_features
                                               : (size_t)prev->in_features * prev->kernel[0] * prev->kernel[1];
        for (int c = 0; c < n; c++) {
            for (size_t j = 0; j < per; j++) prev->weight[(size_t)c * per + j] *= s[c];
            prev->bias[c] = s[c] * prev->bias[c] + t[c];
        }
        free(s), free(t);
    } else if (!rc) {
        /* normalize: (x - mean) / std = s x + t with std = 1/s, mean = -t/s; needs s > 0 */
        for (int c = 0; c < n && !rc; c++) {
            if (!(s[c] > 0))
                rc = kfail(k, NN_EUNSUPPORTED, "gamma[%d] = %g is not positive: not foldable into a normalize layer "
                           "(it follows no Dense or Conv2D)", c, scale ? v[0][c] : 1.0);
            double mean = -t[c] / s[c];
            t[c] = mean;
            s[c] = 1.0 / s[c];
        }
        if (rc) {
            free(s), free(t);
        } else {
            nn_layer l = layer_make(LAYER_NORMALIZE);
            l.mean = t, l.std = s, l.in_features = n;
            rc = emit(k, &l);
        }
    } else {
        free(s), free(t);
    }
done:
    for (int i = 0; i < 4; i++) free(v[i]);
    weights_close(&w);
    return rc;
}

static int is_identity(const char *cls)
{
    static const char *const ids[] = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise",
                                      "GaussianDropout", "AlphaDropout", "ActivityRegularization"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (!strcmp(cls, ids[i])) return 1;
    return 0;
}

static int read_layer(kctx *k, const char *cls, const cJSON *cfg)
{
    int rc;
    if (!strcmp(cls, "Dense")) return read_dense(k, cfg);
    if (!strcmp(cls, "Conv2D") || !strcmp(cls, "Convolution2D")) return read_conv(k, cfg);
    if (!strcmp(cls, "MaxPooling2D") || !strcmp(cls, "MaxPool2D")) return read_pool(k, cfg, LAYER_MAXPOOL2D);
    if (!strcmp(cls, "AveragePooling2D") || !strcmp(cls, "AvgPool2D")) return read_pool(k, cfg, LAYER_AVGPOOL2D);
    if (!strcmp(cls, "Flatten")) return (rc = check_data_format(k, cfg)) ? rc : flatten(k);
    if (!strcmp(cls, "Reshape")) return read_reshape(k, cfg);
    if (!strcmp(cls, "LeakyReLU")) return read_leaky(k, cfg);
    if (!strcmp(cls, "ReLU")) return read_relu(k, cfg);
    if (!strcmp(cls, "Softmax")) return emit_activation(k, "softmax");
    if (!strcmp(cls, "Lambda")) return read_lambda(k, cfg);
    if (!strcmp(cls, "BatchNormalization")) return read_batchnorm(k, cfg);
    if (!strcmp(cls, "Activation")) {
        const char *a = str_field(cfg, "activation");
        if (!a) return kfail(k, NN_EFORMAT, "config field 'activation' is missing or not a name");
        return emit_activation(k, a);
    }
    if (is_identity(cls)) return NN_OK;
    if (!strcmp(cls, "InputLayer")) return kfail(k, NN_EUNSUPPORTED, "an InputLayer is only allowed first");
    if (!strcmp(cls, "Sequential") || !strcmp(cls, "Model") || !strcmp(cls, "Functional"))
        return kfail(k, NN_EUNSUPPORTED, "nested models are not supported");
    return kfail(k, NN_EUNSUPPORTED, "this layer class is not supported (supported: %s)", SUPPORTED_LAYERS);
}

/* ---- the architecture ------------------------------------------------------ */

/* batch_input_shape [null, ...] of the first layer: sets the input shape. */
static int read_input_shape(kctx *k, const cJSON *cfg)
{
    const cJSON *s = field(cfg, "batch_input_shape");
    if (!s) s = field(cfg, "batch_shape");
    if (!cJSON_IsArray(s))
        return kfail(k, NN_EFORMAT, "the first layer has no 'batch_input_shape': the input shape is unknown");
    int n = cJSON_GetArraySize(s), d[3] = {1, 1, 1};
    if (n < 2 || n > 4)
        return kfail(k, NN_EUNSUPPORTED, "an input of rank %d is not supported (a vector, H x W or H x W x C)", n - 1);
    for (int i = 1; i < n; i++) {
        int rc = int_value(k, cJSON_GetArrayItem(s, i), "batch_input_shape", 1, 1 << 24, &d[i - 1]);
        if (rc) return rc;
    }
    if ((double)d[0] * d[1] * d[2] > 1 << 28) return kfail(k, NN_ESHAPE, "the input is too large");
    if (n == 2) {
        k->spatial = 0, k->F = d[0];
        k->m->input = (nn_shape){d[0], 1, 1};
    } else {
        k->spatial = 1, k->H = d[0], k->W = d[1], k->C = d[2];
        k->m->input = (nn_shape){d[2], d[0], d[1]};
    }
    return NN_OK;
}

/* The inbound layer of a functional layer, or NULL when it does not read exactly one. */
static const char *inbound_name(const cJSON *layer)
{
    const cJSON *nodes = field(layer, "inbound_nodes");
    if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) != 1) return NULL;
    const cJSON *node = cJSON_GetArrayItem(nodes, 0);
    if (cJSON_IsArray(node)) {   /* Keras 2: [[["name", 0, 0, {}]]] */
        if (cJSON_GetArraySize(node) != 1) return NULL;
        const cJSON *t = cJSON_GetArrayItem(node, 0);
        return cJSON_IsArray(t) && cJSON_IsString(cJSON_GetArrayItem(t, 0)) ? cJSON_GetArrayItem(t, 0)->valuestring
                                                                             : NULL;
    }
    const cJSON *args = field(node, "args");   /* Keras 3: {"args": [{"config": {"keras_history": [...]}}]} */
    if (!cJSON_IsArray(args) || cJSON_GetArraySize(args) != 1) return NULL;
    const cJSON *h = field(field(cJSON_GetArrayItem(args, 0), "config"), "keras_history");
    return cJSON_IsArray(h) && cJSON_IsString(cJSON_GetArrayItem(h, 0)) ? cJSON_GetArrayItem(h, 0)->valuestring
                                                                        : NULL;
}

static int read_architecture(kctx *k, const cJSON *root)
{
    const char *cls = str_field(root, "class_name");
    const cJSON *cfg = field(root, "config");
    if (!cls || !cfg) return kfail(k, NN_EFORMAT, "model_config lacks 'class_name' or 'config'");
    int functional = !strcmp(cls, "Model") || !strcmp(cls, "Functional");
    if (strcmp(cls, "Sequential") != 0 && !functional)
        return kfail(k, NN_EUNSUPPORTED, "model class '%s' is not supported (Sequential, Model, Functional)", cls);
    const cJSON *layers = cJSON_IsArray(cfg) ? cfg : field(cfg, "layers");
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) == 0)
        return kfail(k, NN_EFORMAT, "model_config holds no list of layers");
    const char *mname = cJSON_IsObject(cfg) ? str_field(cfg, "name") : NULL;
    if (mname && !(k->m->name = h5r_strdup(mname))) return kfail(k, NN_ENOMEM, "out of memory");
    int n = cJSON_GetArraySize(layers), rc = NN_OK;
    const char *prev = NULL;
    for (int i = 0; i < n && !rc; i++) {
        const cJSON *layer = cJSON_GetArrayItem(layers, i);
        const char *lcls = str_field(layer, "class_name");
        const cJSON *lcfg = field(layer, "config");
        k->name = NULL;
        if (!lcls || !cJSON_IsObject(lcfg))
            return kfail(k, NN_EFORMAT, "layer %d of model_config lacks 'class_name' or 'config'", i);
        k->cls = lcls;
        k->name = str_field(lcfg, "name");
        if (!k->name) {
            k->name = NULL;
            return kfail(k, NN_EFORMAT, "layer %d (%s) of model_config has no name", i, lcls);
        }
        k->last = i == n - 1;
        if (i == 0 && (rc = read_input_shape(k, lcfg))) return rc;
        if (functional && i > 0) {
            const char *in = inbound_name(layer);
            if (!in || !prev || strcmp(in, prev) != 0)
                return kfail(k, NN_EUNSUPPORTED, "the functional model is not a chain: this layer reads %s%s%s, not "
                             "only the layer before", in ? "'" : "several or no inputs", in ? in : "", in ? "'" : "");
        }
        prev = k->name;
        if (!strcmp(lcls, "InputLayer") && i == 0) continue;
        rc = read_layer(k, lcls, lcfg);
    }
    if (rc) return rc;
    k->name = NULL;
    if (k->perm)
        return kfail(k, NN_EUNSUPPORTED, "the model ends with a Flatten of %dx%dx%d values in channels-last order, "
                     "which nncert's outputs cannot follow", k->pH, k->pW, k->pC);
    if (k->m->n_layers == 0) return kfail(k, NN_EFORMAT, "the model has no layer nncert computes");
    return NN_OK;
}

/* ---- files ----------------------------------------------------------------- */

static int file_detect(const char *path)
{
    nn_error err;
    hid_t f = h5r_open_file(path, "", &err);
    if (f < 0) return 0;
    int is = H5Aexists(f, "format") == 0 && (H5Aexists(f, "model_config") > 0 || H5Aexists(f, "layer_names") > 0);
    H5Fclose(f);
    return is;
}

static void try_detect(const char *path, void *ctx)
{
    (void)ctx;
    file_detect(path);
}

int keras_file_detect(const char *path)
{
    nn_error err;
    /* a damaged file is no Keras file here; the native reader then says why */
    if (h5_sandbox_check(path, try_detect, NULL, &err)) return 0;
    return file_detect(path);
}

static char *read_text_file(const char *path, nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return nn_fail(err, NN_EIO, "%s: cannot open: %s", path, strerror(errno)), NULL;
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    size_t got;
    while (s && (got = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *t = cap < (1u << 28) ? realloc(s, cap * 2) : NULL;
            if (!t) free(s);
            s = t, cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!s) return nn_fail(err, NN_ENOMEM, "%s: out of memory (or larger than 256 MiB)", path), NULL;
    if (bad) return free(s), nn_fail(err, NN_EIO, "%s: read error", path), NULL;
    s[n] = '\0';
    return s;
}

static int import_open(kctx *k, hid_t file, const char *arch_path)
{
    int rc;
    char *json = NULL;
    if (arch_path) {
        if (!(json = read_text_file(arch_path, k->err))) return k->err->code;
    } else {
        if (H5Aexists(file, "format") > 0)
            return kfail(k, NN_EARG, "is a native nncert model file (root attribute 'format'), not a Keras file");
        if ((rc = h5r_string_attr(&k->h, file, "model_config", 0, &json))) return rc;
        if (!json && H5Aexists(file, "layer_names") > 0)
            return kfail(k, NN_EFORMAT, "root attribute 'model_config' is missing: a save_weights file; give the "
                         "architecture (model.to_json()) with --keras-config FILE");
        if (!json)
            return kfail(k, NN_EFORMAT, "not a Keras model file: root attribute 'model_config' (model.save) and "
                         "'layer_names' (model.save_weights) are both missing");
    }
    const char *where = arch_path ? arch_path : "root attribute 'model_config'";
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + strlen(json) ? (long)(at - json) : -1;
        free(json);
        return kfail(k, NN_EFORMAT, "%s is not valid JSON (error near byte %ld)", where, off);
    }
    free(json);
    /* model.save puts the weights under model_weights; save_weights at the root. */
    htri_t has = H5Lexists(file, "model_weights", H5P_DEFAULT);
    if (has > 0) {
        if ((k->wgroup = h5r_open_kind(&k->h, file, "model_weights", "model_weights", H5I_GROUP, &rc)) < 0) {
            cJSON_Delete(root);
            return rc;
        }
    } else {
        k->wgroup = file;
    }
    char *ver = NULL;
    hid_t vg = k->wgroup;
    if (!h5r_string_attr(&k->h, file, "keras_version", 0, &ver) && !ver) h5r_string_attr(&k->h, vg, "keras_version", 0, &ver);
    nn_error_clear(k->err);
    if (ver && ver[0] == '1') {
        rc = kfail(k, NN_EUNSUPPORTED, "written by Keras %s: only Keras 2 files are read", ver);
    } else {
        rc = read_architecture(k, root);
        if (!rc && ver) rc = model_set_meta_string(k->m, "keras_version", ver, k->err);
    }
    free(ver);
    cJSON_Delete(root);
    if (k->wgroup != file) H5Gclose(k->wgroup);
    return rc;
}

static int import_file(const char *path, const char *arch_path, nn_model *m, nn_error *err)
{
    kctx k;
    memset(&k, 0, sizeof k);
    k.path = path, k.err = err, k.m = m;
    k.h = (h5r_ctx){path, "", err, 0};
    hid_t file = h5r_open_file(path, "Keras models are HDF5 files", err);
    if (file < 0) return err->code;
    int rc = import_open(&k, file, arch_path);
    H5Fclose(file);
    if (!rc && !m->name) {
        const char *base = strrchr(path, '/');
        rc = (m->name = h5r_strdup(base ? base + 1 : path)) ? NN_OK : nn_fail(err, NN_ENOMEM, "out of memory");
    }
    if (!rc && k.note) rc = model_set_meta_string(m, "import_note", k.note, err);
    if (!rc && (rc = model_finalize(m, err))) nn_error_prefix(err, "%s: ", path);
    /* the shapes tracked here and the ones model_finalize computed must agree */
    if (!rc) {
        size_t want = k.spatial ? (size_t)k.H * k.W * k.C : (size_t)k.F;
        if (model_output_size(m) != want)
            rc = nn_fail(err, NN_ESHAPE, "%s: internal shape mismatch: Keras output of %zu values, nncert %zu", path,
                         want, model_output_size(m));
    }
    if (!rc && !(m->source = h5r_strdup(path))) rc = nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    if (rc) model_free(m);
    return rc;
}

typedef struct {
    const char *arch_path;
} trial_args;

static void try_import(const char *path, void *ctx)
{
    nn_model m;
    nn_error err;
    model_init(&m);
    import_file(path, ((trial_args *)ctx)->arch_path, &m, &err);
    model_free(&m);
}

int keras_import_file(const char *path, const char *arch_path, nn_model *m, nn_error *err)
{
    nn_error local;
    if (!err) err = &local;
    nn_error_clear(err);
    model_init(m);
    /* the HDF5 library loops or crashes on some damaged files: a trial read in a child first */
    trial_args args = {arch_path};
    int rc = h5_sandbox_check(path, try_import, &args, err);
    return rc ? rc : import_file(path, arch_path, m, err);
}
