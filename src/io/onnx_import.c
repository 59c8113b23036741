/* ONNX import: an ONNX graph becomes an nn_model (doc/formats.md, "Peer formats").
 *
 * The graph is walked in node order (ONNX requires a topological one), starting at
 * the single graph input that is not an initializer. Every node either
 *   - computes on constants only (Constant, Transpose/Identity of a constant) and is
 *     folded into the constant table, or
 *   - takes one computed value and maps to native layers or folds into the layer
 *     that produced it, or
 *   - is an Add of two computed values: a residual connection, the native add.
 * Every computed value remembers the native layer that produced it; a node reading
 * another value than the one just computed names that layer as its input (the
 * model's graph edges, native version 2). Folding into a layer happens only when
 * nothing else reads that layer's output. The graph input itself must be read once
 * (a skip from the raw input would bypass the folded input normalization).
 * A Softmax or LogSoftmax computing the graph output is dropped (the argmax is
 * unchanged) and recorded in /meta import_note; the library prints nothing.
 *
 * Folding is exact algebra, done in double precision on the stored parameters:
 *   BatchNormalization after Gemm/MatMul/Conv: w' = w*s, b' = (b-mean)*s + beta with
 *     s = gamma/sqrt(var+eps) per output channel;
 *   Add/Sub/Mul/Div by a per-channel constant right after Gemm/MatMul/Conv: the same
 *     per-channel affine map applied to the rows of W and to b (MatMul + Add = dense);
 *   Sub/Add/Mul/Div by constants on the network input: one running per-channel map
 *     y = a*x + b, stored as normalize with std = 1/a, mean = -b/a (needs a > 0).
 * Broadcasting follows ONNX (numpy) rules: a constant of shape [C] against an
 * activation [N,C,H,W] aligns with W, so only [C,1,1], [1,C,1,1] or a scalar mean
 * "per channel" there; the check refuses what would not be per-channel. */
#include "onnx_import.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define MAX_RANK 8
#define MAX_ELEMS ((size_t)1 << 31)

static const char SUPPORTED_OPS[] =
    "Gemm, MatMul, Add, Sub, Mul, Div (with constants), Conv (any group), MaxPool, AveragePool, GlobalAveragePool, "
    "Flatten, Reshape (flattening), Relu, LeakyRelu, Sigmoid, Tanh, Atan, BatchNormalization, Constant, "
    "Identity, Dropout, Pad (zeros, before Conv or AveragePool), Softmax and LogSoftmax (as the last node, dropped), Shape, Unsqueeze and Squeeze (size-1 axes), Gather, Concat and Cast (of constants), Transpose (of constants, or NHWC to NCHW on the input)";

typedef struct {
    const char *name;        /* value name (points into the protobuf) */
    int rank;
    int64_t dims[MAX_RANK];
    size_t numel;
    double *val;             /* FLOAT/DOUBLE data, NULL for INT64 */
    int64_t *ival;           /* INT64 data, NULL otherwise */
} konst;

typedef struct {
    const Onnx__GraphProto *g;
    nn_model *m;
    konst *k;                /* constant table, owned */
    int nk, capk;
    const char *cur;         /* current end of the chain */
    int rank;                /* logical rank of cur: 2 ([N,F]) or 4 ([N,C,H,W]) */
    int xrank;               /* its rank in the ONNX graph (1 to 4): the logical dims
                                right-aligned, with leading 1s added or dropped */
    int nhwc;                /* the graph input is [N,H,W,C], read by a Transpose to NCHW */
    int input_nhwc;          /* ... and C > 1, H W > 1: its flat order is not nncert's */
    int col;                 /* a flat value stored as the column [F,1], not [1,F] */
    int64_t opset;           /* of the default domain (attribute defaults differ) */
    const char *note;        /* what the import changed, for /meta import_note */
    nn_shape shape;          /* C,H,W of cur (a flat value of F features: its model shape) */
    const char *affine_out;  /* value produced by the last dense/conv layer, if nothing since */
    int norm_n;              /* pending input normalization: channels (0 = none) */
    double *norm_mean, *norm_std; /* y = (x - mean) / std per channel */
    /* computed values: the layer that produced each (-1: the graph input) */
    struct onnx_value {
        const char *name;
        int layer, rank, xrank, col;
        nn_shape shape;
    } *vals;
    int nvals, capvals;
    int next_input;          /* the input of the next appended layer when it is not
                                the layer before (a branch); -2 = the layer before */
    const char *pad_out;     /* output of a zero Pad the next node must take in (a Conv
                                or an AveragePool), NULL when none is pending */
    int pad_cells[4];        /* its top, left, bottom, right cells */
    char pad_label[160];     /* the Pad node, for messages */
} importer;

/* ---------------------------------------------------------------- helpers */

static const char *node_label(const Onnx__NodeProto *n, int idx, char *buf, size_t len)
{
    if (n->name && n->name[0]) snprintf(buf, len, "node '%s' (op %s)", n->name, n->op_type ? n->op_type : "?");
    else snprintf(buf, len, "node #%d (op %s)", idx, n->op_type ? n->op_type : "?");
    return buf;
}

static konst *find_const(importer *im, const char *name)
{
    for (int i = im->nk - 1; i >= 0; i--)
        if (strcmp(im->k[i].name, name) == 0) return &im->k[i];
    return NULL;
}

static void konst_free(konst *k)
{
    free(k->val);
    free(k->ival);
    k->val = NULL;
    k->ival = NULL;
}

static konst *const_slot(importer *im, nn_error *err)
{
    if (im->nk == im->capk) {
        int cap = im->capk ? 2 * im->capk : 16;
        konst *grown = realloc(im->k, (size_t)cap * sizeof *grown);
        if (!grown) {
            nn_fail(err, NN_ENOMEM, "out of memory growing the constant table");
            return NULL;
        }
        im->k = grown;
        im->capk = cap;
    }
    konst *k = &im->k[im->nk];
    memset(k, 0, sizeof *k);
    return k;
}

static int set_dims(konst *k, const int64_t *dims, size_t n_dims, const char *what, nn_error *err)
{
    if (n_dims > MAX_RANK) return nn_fail(err, NN_EUNSUPPORTED, "%s has rank %zu (at most %d)", what, n_dims, MAX_RANK);
    k->rank = (int)n_dims;
    k->numel = 1;
    for (size_t i = 0; i < n_dims; i++) {
        if (dims[i] < 0) return nn_fail(err, NN_EFORMAT, "%s: dims[%zu] = %lld is negative", what, i, (long long)dims[i]);
        k->dims[i] = dims[i];
        if (dims[i] != 0 && k->numel > MAX_ELEMS / (size_t)dims[i])
            return nn_fail(err, NN_EUNSUPPORTED, "%s: more than %zu elements", what, MAX_ELEMS);
        k->numel *= (size_t)dims[i];
    }
    return NN_OK;
}

static uint64_t le_bytes(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* IEEE binary16 to double, exactly: every half is a double. */
static double half_to_double(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 0x1f, frac = h & 0x3ff;
    double v;
    if (e == 0) v = ldexp(frac, -24);                    /* zero and subnormals */
    else if (e == 31) v = frac ? NAN : INFINITY;
    else v = ldexp(1024 + frac, e - 25);                 /* (1 + frac/1024) 2^(e-15) */
    return sign ? -v : v;
}

/* Decode a TensorProto into k (dims checked against the data actually present). */
static int tensor_to_const(const Onnx__TensorProto *t, konst *k, const char *what, nn_error *err)
{
    if (t->n_external_data > 0 ||
        (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return nn_fail(err, NN_EUNSUPPORTED, "%s: external tensor data is not supported (save the model with the data inside the .onnx file)", what);
    if (t->segment) return nn_fail(err, NN_EUNSUPPORTED, "%s: segmented tensors are not supported", what);
    int rc = set_dims(k, t->dims, t->n_dims, what, err);
    if (rc) return rc;
    size_t n = k->numel;
    int type = t->has_data_type ? t->data_type : 0;
    size_t width = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;
    size_t have;
    switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = t->has_raw_data ? t->raw_data.len : t->n_float_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = t->has_raw_data ? t->raw_data.len : t->n_double_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = t->has_raw_data ? t->raw_data.len : t->n_int64_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        width = 1; /* Dropout's training_mode (opset 12+); kept as INT64 0/1 */
        have = t->has_raw_data ? t->raw_data.len : t->n_int32_data;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        width = 2; /* without raw data, one half's bits per int32_data entry */
        have = t->has_raw_data ? t->raw_data.len : t->n_int32_data;
        break;
    default:
        return nn_fail(err, NN_EUNSUPPORTED, "%s: element type %d is not supported (FLOAT, FLOAT16, DOUBLE, INT64 and BOOL are)",
                       what, type);
    }
    size_t want = t->has_raw_data ? n * width : n;
    if (have != want)
        return nn_fail(err, NN_EFORMAT, "%s: dims promise %zu elements but the data holds %zu %s", what, n,
                       t->has_raw_data ? have / width : have, t->has_raw_data && have % width ? "(and stray bytes)" : "");
    size_t alloc = n ? n : 1;
    if (type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL) {
        if (!(k->ival = nn_malloc(alloc * sizeof *k->ival, what, err))) return err ? err->code : NN_ENOMEM;
        for (size_t i = 0; i < n; i++) k->ival[i] = (t->has_raw_data ? t->raw_data.data[i] : t->int32_data[i]) != 0;
        return NN_OK;
    }
    if (type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        if (!(k->ival = nn_malloc(alloc * sizeof *k->ival, what, err))) return err ? err->code : NN_ENOMEM;
        for (size_t i = 0; i < n; i++)
            k->ival[i] = t->has_raw_data ? (int64_t)le_bytes(t->raw_data.data + 8 * i, 8) : t->int64_data[i];
        return NN_OK;
    }
    if (!(k->val = nn_malloc(alloc * sizeof *k->val, what, err))) return err ? err->code : NN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16) {
            uint32_t b = t->has_raw_data ? (uint32_t)le_bytes(t->raw_data.data + 2 * i, 2) : (uint32_t)t->int32_data[i];
            k->val[i] = half_to_double((uint16_t)b);
        } else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
            float f;
            if (t->has_raw_data) {
                uint32_t b = (uint32_t)le_bytes(t->raw_data.data + 4 * i, 4);
                memcpy(&f, &b, 4);
            } else {
                f = t->float_data[i];
            }
            k->val[i] = f;
        } else {
            if (t->has_raw_data) {
                uint64_t b = le_bytes(t->raw_data.data + 8 * i, 8);
                memcpy(&k->val[i], &b, 8);
            } else {
                k->val[i] = t->double_data[i];
            }
        }
    }
    return NN_OK;
}

static int add_tensor_const(importer *im, const char *name, const Onnx__TensorProto *t, const char *what, nn_error *err)
{
    konst *k = const_slot(im, err);
    if (!k) return err ? err->code : NN_ENOMEM;
    int rc = tensor_to_const(t, k, what, err);
    if (rc) {
        konst_free(k);
        return rc;
    }
    k->name = name;
    im->nk++;
    return NN_OK;
}

/* How many times a value is read: by node inputs and as a graph output. */
static int use_count(const Onnx__GraphProto *g, const char *name)
{
    int uses = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        /* Shape reads only the dims, which the importer knows: not a data use */
        if (g->node[i]->op_type && !strcmp(g->node[i]->op_type, "Shape")) continue;
        for (size_t j = 0; j < g->node[i]->n_input; j++)
            if (g->node[i]->input[j] && strcmp(g->node[i]->input[j], name) == 0) uses++;
    }
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && strcmp(g->output[i]->name, name) == 0) uses++;
    return uses;
}

/* " (by 'a', 'b')": the nodes that read a value, for branch messages. */
static void consumers(const Onnx__GraphProto *g, const char *name, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, " (by");
    int k = 0;
    for (size_t i = 0; i < g->n_node && o < len; i++)
        for (size_t j = 0; j < g->node[i]->n_input && o < len; j++)
            if (g->node[i]->input[j] && strcmp(g->node[i]->input[j], name) == 0) {
                const char *nm = g->node[i]->name && g->node[i]->name[0] ? g->node[i]->name : g->node[i]->op_type;
                o += (size_t)snprintf(buf + o, len - o, "%s '%s'", k++ ? "," : "", nm ? nm : "?");
            }
    for (size_t i = 0; i < g->n_output && o < len; i++)
        if (g->output[i]->name && strcmp(g->output[i]->name, name) == 0)
            o += (size_t)snprintf(buf + o, len - o, "%s the graph output", k++ ? "," : "");
    if (o < len) snprintf(buf + o, len - o, ")");
    if (k == 0) buf[0] = '\0';
}

/* ------------------------------------------------------------- attributes */

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0) return n->attribute[i];
    return NULL;
}

/* Every attribute must be one the handler understands: an ignored attribute
 * could change the function, and a silently different function is unsound. */
static int check_attrs(const Onnx__NodeProto *n, const char *label, const char *const *allowed, nn_error *err)
{
    for (size_t i = 0; i < n->n_attribute; i++) {
        const char *a = n->attribute[i]->name ? n->attribute[i]->name : "";
        int ok = 0;
        for (int j = 0; allowed && allowed[j]; j++)
            if (strcmp(a, allowed[j]) == 0) ok = 1;
        if (!ok) return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute '%s' is not supported", label, a);
    }
    return NN_OK;
}

static int attr_int(const Onnx__NodeProto *n, const char *label, const char *name, int64_t dflt, int64_t *out,
                    nn_error *err)
{
    const Onnx__AttributeProto *a = find_attr(n, name);
    *out = dflt;
    if (!a) return NN_OK;
    if (!a->has_i || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
        return nn_fail(err, NN_EFORMAT, "%s: attribute '%s' must be an integer", label, name);
    *out = a->i;
    return NN_OK;
}

static int attr_float(const Onnx__NodeProto *n, const char *label, const char *name, double dflt, double *out,
                      nn_error *err)
{
    const Onnx__AttributeProto *a = find_attr(n, name);
    *out = dflt;
    if (!a) return NN_OK;
    if (!a->has_f || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
        return nn_fail(err, NN_EFORMAT, "%s: attribute '%s' must be a float", label, name);
    *out = a->f;
    return NN_OK;
}

/* Fill out[want] from an INTS attribute; absent leaves out untouched and sets *found = 0. */
static int attr_ints(const Onnx__NodeProto *n, const char *label, const char *name, int want, int *out, int *found,
                     nn_error *err)
{
    const Onnx__AttributeProto *a = find_attr(n, name);
    *found = 0;
    if (!a) return NN_OK;
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return nn_fail(err, NN_EFORMAT, "%s: attribute '%s' must be a list of integers", label, name);
    if ((int)a->n_ints != want)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute '%s' has %zu values, expected %d (2-D only)", label, name,
                       a->n_ints, want);
    for (int i = 0; i < want; i++) {
        if (a->ints[i] < -1000000 || a->ints[i] > 1000000)
            return nn_fail(err, NN_EVALUE, "%s: attribute '%s'[%d] = %lld is out of range", label, name, i,
                           (long long)a->ints[i]);
        out[i] = (int)a->ints[i];
    }
    *found = 1;
    return NN_OK;
}

static void attr_string_copy(const Onnx__NodeProto *n, const char *name, const char *dflt, char *buf, size_t len)
{
    const Onnx__AttributeProto *a = find_attr(n, name);
    if (!a || !a->has_s) {
        snprintf(buf, len, "%s", dflt);
        return;
    }
    size_t c = a->s.len < len - 1 ? a->s.len : len - 1;
    memcpy(buf, a->s.data, c);
    buf[c] = '\0';
}

/* ---------------------------------------------------------- model building */

/* Append a layer and recompute shapes, so the next node sees its input's shape. */
static int append_layer(importer *im, nn_layer *layer, const char *label, nn_error *err)
{
    if (im->next_input != -2 && layer->type != LAYER_ADD) {
        layer->n_inputs = 1;
        layer->input[0] = im->next_input;
    }
    im->next_input = -2;
    int rc = model_append(im->m, layer, err);
    if (!rc) rc = model_finalize(im->m, err);
    if (rc) return nn_error_prefix(err, "%s: ", label);
    im->shape = im->m->layers[im->m->n_layers - 1].out;
    return NN_OK;
}

static int refinalize(importer *im, const char *label, nn_error *err)
{
    int rc = model_finalize(im->m, err);
    if (rc) return nn_error_prefix(err, "%s: ", label);
    return NN_OK;
}

/* Channels of the current value along axis 1 and its logical dims [1, ...]. */
static int cur_dims(const importer *im, int64_t *dims)
{
    dims[0] = 1;
    if (im->rank == 4) {
        dims[1] = im->shape.c;
        dims[2] = im->shape.h;
        dims[3] = im->shape.w;
        return 4;
    }
    dims[1] = (int64_t)shape_size(im->shape);
    return 2;
}

/* The current value's dims as the ONNX graph has them: the logical dims
 * right-aligned to xrank. Every dim dropped or added is a 1 (batch 1, and a
 * rank-3 image [N,H,W] has one channel), so the data order is the same. */
static int real_dims(const importer *im, int64_t *dims)
{
    int64_t ld[4];
    int lr = cur_dims(im, ld);
    if (im->col) { /* [F,1]: same data order as [1,F] */
        dims[0] = ld[1];
        dims[1] = 1;
        return 2;
    }
    for (int i = 0; i < im->xrank; i++) {
        int j = lr - im->xrank + i;
        dims[i] = j >= 0 ? ld[j] : 1;
    }
    return im->xrank;
}

static void set_rank(importer *im, int rank)
{
    im->col = 0;
    im->rank = rank;
    im->xrank = rank;
}

static void dims_text(const int64_t *d, int rank, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int i = 0; i < rank && o < len; i++) o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)d[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

/* Expand a constant broadcast against the current value into one number per
 * channel (axis 1), or fail when it varies along any other axis or would grow
 * the value's shape. */
static int per_channel(const importer *im, const konst *k, const char *label, double **out, int *nch, nn_error *err)
{
    int64_t ad[MAX_RANK];
    int ar = cur_dims(im, ad), chan = 1;
    if (im->col) { /* a column [F,1]: one value per row; no wider constants (the value must stay 2-D) */
        ar = real_dims(im, ad);
        chan = 0;
        if (k->rank > 2)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: constant '%s' has rank %d against a column [F,1]", label, k->name, k->rank);
    }
    char kt[128], at[128];
    dims_text(k->dims, k->rank, kt, sizeof kt);
    dims_text(ad, ar, at, sizeof at);
    if (!k->val) return nn_fail(err, NN_EUNSUPPORTED, "%s: constant '%s' is not a floating-point tensor", label, k->name);
    int varies = 0;
    /* leading dims beyond the value's rank must be 1: they only add size-1 axes */
    for (int i = 0; i < k->rank; i++) {
        int axis = ar - k->rank + i;
        if (k->dims[i] == 1) continue;
        if (axis < 0)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: constant '%s' of shape %s does not broadcast per channel over %s", label,
                           k->name, kt, at);
        if (axis == chan && k->dims[i] == ad[chan]) {
            varies = 1;
            continue;
        }
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s: constant '%s' of shape %s against a value of shape %s is not per-channel (use [C,1,1] or [1,C,1,1] for images)",
                       label, k->name, kt, at);
    }
    int c = (int)ad[chan];
    double *v = nn_malloc((size_t)c * sizeof *v, "per-channel constant", err);
    if (!v) return err ? err->code : NN_ENOMEM;
    for (int i = 0; i < c; i++) v[i] = varies ? k->val[i] : k->val[0];
    *out = v;
    *nch = c;
    return NN_OK;
}

static int flush_normalize(importer *im, const char *label, nn_error *err)
{
    if (!im->norm_n) return NN_OK;
    int n = im->norm_n;
    nn_layer l = layer_make(LAYER_NORMALIZE);
    int channels = n;
    if (im->rank == 2) {
        /* A flat input keeps the 1x1xF shape unless the map differs per feature. */
        int uniform = 1;
        for (int i = 1; i < n; i++)
            if (im->norm_mean[i] != im->norm_mean[0] || im->norm_std[i] != im->norm_std[0]) uniform = 0;
        if (uniform) {
            channels = 1;
        } else {
            im->m->input = (nn_shape){n, 1, 1};
            im->shape = im->m->input;
        }
    }
    l.mean = nn_malloc((size_t)channels * sizeof *l.mean, "normalize mean", err);
    l.std = nn_malloc((size_t)channels * sizeof *l.std, "normalize std", err);
    if (!l.mean || !l.std) {
        layer_free(&l);
        return err ? err->code : NN_ENOMEM;
    }
    for (int c = 0; c < channels; c++) {
        l.mean[c] = im->norm_mean[c];
        l.std[c] = im->norm_std[c];
    }
    l.in_features = channels;
    free(im->norm_mean);
    free(im->norm_std);
    im->norm_mean = im->norm_std = NULL;
    im->norm_n = 0;
    return append_layer(im, &l, label, err);
}

/* ---------------------------------------------------------------- handlers */

typedef struct {
    const Onnx__NodeProto *n;
    const char *label;
    const char *act;      /* the computed input */
    int act_pos;          /* its position among the node's inputs */
} node_ctx;

static konst *const_input(importer *im, const node_ctx *c, size_t pos, int required, nn_error *err, int *rc)
{
    *rc = NN_OK;
    if (pos >= c->n->n_input || !c->n->input[pos] || !c->n->input[pos][0]) {
        if (required) *rc = nn_fail(err, NN_EFORMAT, "%s: input %zu is missing", c->label, pos);
        return NULL;
    }
    konst *k = find_const(im, c->n->input[pos]);
    if (!k) *rc = nn_fail(err, NN_EUNSUPPORTED, "%s: input %zu ('%s') must be a constant", c->label, pos, c->n->input[pos]);
    return k;
}

static int need_act_at(const node_ctx *c, int pos, nn_error *err)
{
    if (c->act_pos != pos)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the computed value must be input %d, found at input %d", c->label, pos,
                       c->act_pos);
    return NN_OK;
}

static int need_rank(const importer *im, const node_ctx *c, int rank, nn_error *err)
{
    /* a rank-3 image [N,H,W] is not a 2-D map to Conv or a pool (it would be 1-D) */
    if (im->rank != rank || (rank == 4 && im->xrank != 4))
        return nn_fail(err, NN_EUNSUPPORTED, "%s: needs a %d-D input, got a %d-D value%s", c->label, rank, im->rank,
                       rank == 2 ? " (flatten it first)" : "");
    return NN_OK;
}

static int op_gemm_matmul(importer *im, const node_ctx *c, int is_gemm, nn_error *err)
{
    static const char *const gemm_attrs[] = {"alpha", "beta", "transA", "transB", NULL};
    int rc;
    if ((rc = check_attrs(c->n, c->label, is_gemm ? gemm_attrs : NULL, err))) return rc;
    /* Gemm may take the computed value as B with a constant A: Y = op(A) op(x)
     * is then a dense layer whose output is a column [K,1] */
    int at_b = c->act_pos == 1;
    if ((!at_b && (rc = need_act_at(c, 0, err))) || (rc = need_rank(im, c, 2, err))) return rc;
    if (is_gemm && im->xrank != 2)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: Gemm needs a 2-D input, got a %d-D value", c->label, im->xrank);
    int64_t ta = 0, tb = 0;
    double alpha = 1, beta = 1;
    if (is_gemm) {
        if ((rc = attr_int(c->n, c->label, "transA", 0, &ta, err)) || (rc = attr_int(c->n, c->label, "transB", 0, &tb, err)) ||
            (rc = attr_float(c->n, c->label, "alpha", 1.0, &alpha, err)) ||
            (rc = attr_float(c->n, c->label, "beta", 1.0, &beta, err)))
            return rc;
        if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
            return nn_fail(err, NN_EUNSUPPORTED, "%s: attributes 'transA' = %lld, 'transB' = %lld are not 0 or 1", c->label,
                           (long long)ta, (long long)tb);
        if (!at_b && ta)
            return nn_fail(err, NN_EUNSUPPORTED,
                           "%s: attribute 'transA' = 1 is not supported on the computed input A (it would turn one sample's "
                           "row into a column); transA applies only to a constant A", c->label);
        /* op(x) must be a column [F,1]: a row x needs transB = 1, a column transB = 0 */
        if (at_b && tb == im->col)
            return nn_fail(err, NN_EUNSUPPORTED,
                           "%s: with the computed value as B, op(B) is a row, so op(A) op(B) is an outer product, not a dense "
                           "layer (transB = %lld on a %s value)", c->label, (long long)tb, im->col ? "column [F,1]" : "row [1,F]");
    }
    /* MatMul(W, x): numpy reads a vector x [F] as a column and drops the axis
     * again ([K]); a column [F,1] gives the column [K,1]; a row cannot follow W */
    if (!is_gemm && at_b && !(im->xrank == 1 || im->col))
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s: with a constant first operand the computed value must be a vector [F] or a column [F,1], "
                       "got a %d-D row", c->label, im->xrank);
    if (!at_b && im->col)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the computed input is a column [F,1] (from a Gemm with a constant A); "
                       "only Gemm's input B may be one", c->label);
    /* the weight stored as [out,in] (wt) or [in,out] */
    int wt = at_b ? !ta : (int)tb;
    konst *B = const_input(im, c, at_b ? 0 : 1, 1, err, &rc);
    if (!B) return rc;
    konst *C = is_gemm ? const_input(im, c, 2, 0, err, &rc) : NULL;
    if (rc) return rc;
    if (!B->val || B->rank != 2)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: weight '%s' must be a 2-D floating-point tensor", c->label, B->name);
    size_t in = shape_size(im->shape);
    int64_t rows = wt ? B->dims[1] : B->dims[0], cols = wt ? B->dims[0] : B->dims[1];
    if ((size_t)rows != in)
        return nn_fail(err, NN_ESHAPE, "%s: weight '%s' has %lld input rows but the value has %zu features", c->label,
                       B->name, (long long)rows, in);
    if (cols < 1 || cols > INT32_MAX) return nn_fail(err, NN_ESHAPE, "%s: weight '%s' has %lld outputs", c->label, B->name, (long long)cols);
    int out = (int)cols;
    nn_layer l = layer_make(LAYER_DENSE);
    l.out_channels = out;
    l.in_features = (int)in;
    l.weight = nn_malloc((size_t)out * in * sizeof *l.weight, "dense weight", err);
    l.bias = nn_calloc((size_t)out, sizeof *l.bias, "dense bias", err);
    if (!l.weight || !l.bias) {
        layer_free(&l);
        return err ? err->code : NN_ENOMEM;
    }
    for (int o = 0; o < out; o++)
        for (size_t i = 0; i < in; i++)
            l.weight[(size_t)o * in + i] = alpha * (wt ? B->val[(size_t)o * in + i] : B->val[i * (size_t)out + o]);
    if (C) {
        /* C broadcasts against [1,out] (or the column [out,1]): a scalar or one
         * value per output along the output's long axis, nothing wider. */
        int ok = C->val && C->rank <= 2;
        for (int d = 0; ok && d < C->rank; d++) {
            int long_axis = at_b ? C->rank == 2 && d == 0 : d == C->rank - 1;
            if (C->dims[d] != 1 && !(long_axis && C->dims[d] == out)) ok = 0;
        }
        if (!ok) {
            char kt[128];
            dims_text(C->dims, C->rank, kt, sizeof kt);
            layer_free(&l);
            return nn_fail(err, NN_EUNSUPPORTED, "%s: bias '%s' of shape %s does not broadcast to [%d,%d]", c->label, C->name,
                           kt, at_b ? out : 1, at_b ? 1 : out);
        }
        for (int o = 0; o < out; o++) l.bias[o] = beta * C->val[C->numel == 1 ? 0 : o];
    }
    if ((rc = append_layer(im, &l, c->label, err))) return rc;
    /* MatMul keeps the leading dims of a rank-1 or rank-3 flat value; Gemm is 2-D */
    im->rank = 2;
    if (is_gemm) im->xrank = 2;
    if (is_gemm) im->col = at_b; /* MatMul keeps the vector or column it was given */
    im->affine_out = c->n->output[0];
    return NN_OK;
}

static int window_attrs(const node_ctx *c, nn_shape in, nn_layer *l, int have_kernel, nn_error *err)
{
    int rc, found;
    char pad_mode[32];
    attr_string_copy(c->n, "auto_pad", "NOTSET", pad_mode, sizeof pad_mode);
    int same = !strcmp(pad_mode, "SAME_UPPER") ? 1 : !strcmp(pad_mode, "SAME_LOWER") ? 2 : 0;
    if (strcmp(pad_mode, "NOTSET") && strcmp(pad_mode, "VALID") && !same)
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s: attribute 'auto_pad' = %s is not supported (NOTSET, VALID, SAME_UPPER or SAME_LOWER)", c->label,
                       pad_mode);
    int k[2];
    if ((rc = attr_ints(c->n, c->label, "kernel_shape", 2, k, &found, err))) return rc;
    if (found) {
        if (have_kernel && (k[0] != l->kernel[0] || k[1] != l->kernel[1]))
            return nn_fail(err, NN_ESHAPE, "%s: kernel_shape %dx%d differs from the weight's %dx%d", c->label, k[0], k[1],
                           l->kernel[0], l->kernel[1]);
        l->kernel[0] = k[0];
        l->kernel[1] = k[1];
    } else if (!have_kernel) {
        return nn_fail(err, NN_EFORMAT, "%s: attribute 'kernel_shape' is missing", c->label);
    }
    if ((rc = attr_ints(c->n, c->label, "strides", 2, l->stride, &found, err))) return rc;
    if ((rc = attr_ints(c->n, c->label, "pads", 4, l->pad, &found, err))) return rc;
    /* ONNX pads are [x1_begin, x2_begin, x1_end, x2_end] = top, left, bottom, right. */
    if (found && strcmp(pad_mode, "NOTSET") && (l->pad[0] || l->pad[1] || l->pad[2] || l->pad[3]))
        return nn_fail(err, NN_EFORMAT, "%s: 'pads' together with auto_pad %s", c->label, pad_mode);
    int dil[2] = {1, 1};
    if ((rc = attr_ints(c->n, c->label, "dilations", 2, dil, &found, err))) return rc;
    l->dilation[0] = dil[0];
    l->dilation[1] = dil[1];
    for (int i = 0; i < 2; i++)
        if (l->kernel[i] < 1 || l->stride[i] < 1 || dil[i] < 1)
            return nn_fail(err, NN_EVALUE, "%s: kernel %dx%d, strides %dx%d and dilations %dx%d must be positive", c->label,
                           l->kernel[0], l->kernel[1], l->stride[0], l->stride[1], dil[0], dil[1]);
    /* SAME_*: ONNX makes the output ceil(in / stride) and pads by
     * max(0, (out - 1) stride + (k - 1) dilation + 1 - in), the odd cell at the
     * end (UPPER) or at the beginning (LOWER); the engine's floor formula then
     * gives exactly ceil(in / stride). */
    for (int i = 0; same && i < 2; i++) {
        long long len = i ? in.w : in.h, out = (len + l->stride[i] - 1) / l->stride[i];
        long long total = (out - 1) * l->stride[i] + (long long)(l->kernel[i] - 1) * dil[i] + 1 - len;
        if (total < 0) total = 0;
        if (total > 1000000) return nn_fail(err, NN_EVALUE, "%s: auto_pad needs %lld cells of padding", c->label, total);
        int small = (int)(total / 2), big = (int)(total - total / 2);
        l->pad[i] = same == 1 ? small : big;     /* begin: top, left */
        l->pad[i + 2] = same == 1 ? big : small; /* end: bottom, right */
    }
    return NN_OK;
}

/* A pending zero Pad (op_pad) taken in by the Conv or AveragePool that reads it:
 * the window geometry is computed on the padded map `in`, then the Pad's cells
 * join the layer's padding. */
static nn_shape take_pad(importer *im, int cells[4])
{
    nn_shape in = im->shape;
    memset(cells, 0, 4 * sizeof *cells);
    if (im->pad_out) {
        memcpy(cells, im->pad_cells, 4 * sizeof *cells);
        in.h += cells[0] + cells[2];
        in.w += cells[1] + cells[3];
        im->pad_out = NULL;
    }
    return in;
}

static int op_conv(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
    int rc;
    if ((rc = check_attrs(c->n, c->label, attrs, err))) return rc;
    if ((rc = need_act_at(c, 0, err)) || (rc = need_rank(im, c, 4, err))) return rc;
    int64_t group;
    if ((rc = attr_int(c->n, c->label, "group", 1, &group, err))) return rc;
    konst *W = const_input(im, c, 1, 1, err, &rc);
    if (!W) return rc;
    konst *B = const_input(im, c, 2, 0, err, &rc);
    if (rc) return rc;
    if (!W->val || W->rank != 4)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: weight '%s' must be a 4-D floating-point tensor (2-D convolution)", c->label,
                       W->name);
    for (int d = 0; d < 4; d++)
        if (W->dims[d] < 1 || W->dims[d] > 1000000)
            return nn_fail(err, NN_ESHAPE, "%s: weight '%s' dims[%d] = %lld", c->label, W->name, d, (long long)W->dims[d]);
    /* group g: output channel block j reads input channel block j; the weight is
     * [Co, Ci/g, kH, kW] and becomes the full [Co, Ci, kH, kW] with zeros elsewhere */
    if (group < 1 || group > im->shape.c || W->dims[0] % group || W->dims[1] * group != im->shape.c)
        return nn_fail(err, NN_ESHAPE, "%s: weight '%s' of %lld output and %lld input channels per group, group %lld, "
                       "does not fit a value of %d channels", c->label, W->name, (long long)W->dims[0],
                       (long long)W->dims[1], (long long)group, im->shape.c);
    int co = (int)W->dims[0];
    if (B && (!B->val || B->numel != (size_t)co || B->rank != 1))
        return nn_fail(err, NN_ESHAPE, "%s: bias '%s' must have %d values", c->label, B->name, co);
    nn_layer l = layer_make(LAYER_CONV2D);
    l.out_channels = co;
    l.in_features = im->shape.c;
    l.kernel[0] = (int)W->dims[2];
    l.kernel[1] = (int)W->dims[3];
    int cells[4];
    nn_shape in = take_pad(im, cells);
    if ((rc = window_attrs(c, in, &l, 1, err))) return rc;
    for (int k = 0; k < 4; k++) l.pad[k] += cells[k];
    if (W->numel * (size_t)group > MAX_ELEMS)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the full weight of %zu x %lld values is too large", c->label, W->numel,
                       (long long)group);
    size_t gin = (size_t)W->dims[1], kk = (size_t)W->dims[2] * (size_t)W->dims[3], gout = (size_t)co / (size_t)group;
    l.weight = nn_calloc(W->numel * (size_t)group, sizeof *l.weight, "conv weight", err);
    l.bias = nn_calloc((size_t)co, sizeof *l.bias, "conv bias", err);
    if (!l.weight || !l.bias) {
        layer_free(&l);
        return err ? err->code : NN_ENOMEM;
    }
    for (size_t o = 0; o < (size_t)co; o++)
        memcpy(l.weight + (o * (size_t)im->shape.c + o / gout * gin) * kk, W->val + o * gin * kk,
               gin * kk * sizeof *l.weight);
    if (B) memcpy(l.bias, B->val, (size_t)co * sizeof *l.bias);
    if ((rc = append_layer(im, &l, c->label, err))) return rc;
    im->affine_out = c->n->output[0];
    return NN_OK;
}

/* ceil_mode = 1: the output size is ceil((in + pads - k) / stride) + 1, less one
 * when that last window would start past the input and its leading padding
 * (onnxruntime's and PyTorch's rule). The engine's floor formula gives that size
 * when the end padding grows by the cells the last window reaches past it; those
 * cells are padding like the others (not inputs, not counted by the average). */
static void ceil_pad(nn_shape in, nn_layer *l)
{
    for (int i = 0; i < 2; i++) {
        long long len = i ? in.w : in.h, k = l->kernel[i], s = l->stride[i], head = l->pad[i], tail = l->pad[i + 2];
        long long span = len + head + tail - k;
        if (span < 0) continue; /* no window fits: model_finalize says so */
        long long out = (span + s - 1) / s + 1;
        if ((out - 1) * s >= len + head) out--;
        long long need = (out - 1) * s + k - len - head;
        if (need > tail) l->pad[i + 2] = (int)need;
    }
}

static int op_pool(importer *im, const node_ctx *c, layer_type type, int global, nn_error *err)
{
    static const char *const max_attrs[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides", NULL};
    static const char *const avg_attrs[] = {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides", NULL};
    int rc;
    if ((rc = check_attrs(c->n, c->label, global ? NULL : type == LAYER_MAXPOOL2D ? max_attrs : avg_attrs, err))) return rc;
    if ((rc = need_act_at(c, 0, err)) || (rc = need_rank(im, c, 4, err))) return rc;
    nn_layer l = layer_make(type);
    int cells[4];
    nn_shape in = take_pad(im, cells);
    if (global) {
        l.kernel[0] = im->shape.h;
        l.kernel[1] = im->shape.w;
    } else {
        int64_t ceil_mode, storage, cip;
        if ((rc = window_attrs(c, in, &l, 0, err))) return rc;
        if ((rc = attr_int(c->n, c->label, "ceil_mode", 0, &ceil_mode, err))) return rc;
        if (ceil_mode != 0 && ceil_mode != 1)
            return nn_fail(err, NN_EFORMAT, "%s: attribute 'ceil_mode' = %lld must be 0 or 1", c->label, (long long)ceil_mode);
        if (l.dilation[0] != 1 || l.dilation[1] != 1)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute 'dilations' = %d,%d is not supported (only 1,1)", c->label,
                           l.dilation[0], l.dilation[1]);
        if (type == LAYER_MAXPOOL2D) {
            if ((rc = attr_int(c->n, c->label, "storage_order", 0, &storage, err))) return rc;
            if (storage != 0)
                return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute 'storage_order' = %lld is not supported (only 0)",
                               c->label, (long long)storage);
        } else {
            if ((rc = attr_int(c->n, c->label, "count_include_pad", 0, &cip, err))) return rc;
            if (cip != 0 && cip != 1)
                return nn_fail(err, NN_EFORMAT, "%s: attribute 'count_include_pad' = %lld must be 0 or 1", c->label,
                               (long long)cip);
            /* the declared (or auto_pad) padding counts, ceil_mode's cells below do not */
            if (cip) memcpy(l.count_pad, l.pad, sizeof l.pad);
        }
        if (ceil_mode) ceil_pad(in, &l);
        /* a Pad's zeros are cells of the map to the pool: counted by the average */
        for (int k = 0; k < 4; k++) {
            l.pad[k] += cells[k];
            l.count_pad[k] += cells[k];
        }
    }
    return append_layer(im, &l, c->label, err);
}

/* Flatten the current value to xrank dims (all 1 but the last). */
static int op_flatten_layer(importer *im, const char *label, int xrank, nn_error *err)
{
    int rc = NN_OK;
    if (im->rank != 2) {
        nn_layer l = layer_make(LAYER_FLATTEN);
        rc = append_layer(im, &l, label, err);
    }
    im->rank = 2;
    im->xrank = xrank;
    im->col = 0;
    return rc;
}

static int op_flatten(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"axis", NULL};
    int rc;
    int64_t axis;
    if ((rc = check_attrs(c->n, c->label, attrs, err)) || (rc = attr_int(c->n, c->label, "axis", 1, &axis, err))) return rc;
    int64_t d[MAX_RANK];
    int r = real_dims(im, d);
    if (axis < 0) axis += r;
    /* Flatten gives [prod(d[:axis]), prod(d[axis:])]: a flattening of the
     * (batch 1) value only when everything before axis has size 1. */
    int64_t lead = 1;
    for (int i = 0; i < axis && i < r; i++) lead *= d[i];
    if (axis < 1 || axis > r || lead != 1)
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s: attribute 'axis' = %lld on a %d-D value is not supported (only a flattening that keeps the batch axis)",
                       c->label, (long long)axis, r);
    return op_flatten_layer(im, c->label, 2, err);
}

static int input_is_reshapable(const importer *im)
{
    for (int i = 0; i < im->m->n_layers; i++) {
        const nn_layer *l = &im->m->layers[i];
        if (l->type != LAYER_NORMALIZE) return 0;
        for (int ch = 1; ch < l->in_features; ch++)
            if (l->mean[ch] != l->mean[0] || l->std[ch] != l->std[0]) return 0;
    }
    return 1;
}

static int reshape_input(importer *im, const char *label, nn_shape to, nn_error *err)
{
    for (int i = 0; i < im->m->n_layers; i++) {
        nn_layer *l = &im->m->layers[i];
        double *mean = nn_malloc((size_t)to.c * sizeof *mean, "normalize mean", err);
        double *std = nn_malloc((size_t)to.c * sizeof *std, "normalize std", err);
        if (!mean || !std) {
            free(mean);
            free(std);
            return err ? err->code : NN_ENOMEM;
        }
        for (int ch = 0; ch < to.c; ch++) {
            mean[ch] = l->mean[0];
            std[ch] = l->std[0];
        }
        free(l->mean);
        free(l->std);
        l->mean = mean;
        l->std = std;
        l->in_features = to.c;
    }
    im->m->input = to;
    im->shape = to;
    set_rank(im, 4);
    return im->m->n_layers ? refinalize(im, label, err) : NN_OK;
}

static int op_reshape(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"allowzero", NULL};
    int rc;
    int64_t allowzero;
    if ((rc = check_attrs(c->n, c->label, attrs, err)) || (rc = attr_int(c->n, c->label, "allowzero", 0, &allowzero, err)))
        return rc;
    if ((rc = need_act_at(c, 0, err))) return rc;
    konst *S = const_input(im, c, 1, 1, err, &rc);
    if (!S) return rc;
    if (!S->ival || S->rank != 1 || S->numel < 1 || S->numel > 4)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: shape '%s' must be a 1-D INT64 tensor of 1 to 4 values", c->label, S->name);
    int64_t from[MAX_RANK], to[4] = {0, 0, 0, 0};
    int fr = real_dims(im, from), tr = (int)S->numel, infer = -1;
    int64_t total = (int64_t)shape_size(im->shape), known = 1;
    for (int i = 0; i < tr; i++) {
        to[i] = S->ival[i];
        if (to[i] == 0 && !allowzero) {
            if (i >= fr) return nn_fail(err, NN_EFORMAT, "%s: shape[%d] = 0 copies a dimension the input lacks", c->label, i);
            to[i] = from[i];
        }
        if (to[i] == -1) {
            if (infer >= 0) return nn_fail(err, NN_EFORMAT, "%s: shape has more than one -1", c->label);
            infer = i;
            continue;
        }
        if (to[i] < 1) return nn_fail(err, NN_EUNSUPPORTED, "%s: shape[%d] = %lld is not supported", c->label, i, (long long)to[i]);
        if (to[i] > total / known)
            return nn_fail(err, NN_ESHAPE, "%s: shape[%d] = %lld asks for more values than the input's %lld", c->label, i,
                           (long long)to[i], (long long)total);
        known *= to[i];
    }
    if (infer >= 0) {
        if (known < 1 || total % known) return nn_fail(err, NN_ESHAPE, "%s: cannot infer -1 for %lld values", c->label, (long long)total);
        to[infer] = total / known;
    } else if (known != total) {
        return nn_fail(err, NN_ESHAPE, "%s: shape holds %lld values, the input %lld", c->label, (long long)known, (long long)total);
    }
    char ft[128], tt[128];
    dims_text(from, fr, ft, sizeof ft);
    dims_text(to, tr, tt, sizeof tt);
    /* [F], [1,F], [1,1,F]: a flat value of rank tr */
    if (tr <= 3 && to[tr - 1] == total) return op_flatten_layer(im, c->label, tr, err);
    if (tr == 4 && to[0] == 1) {
        if (im->rank == 4 && to[1] == im->shape.c && to[2] == im->shape.h && to[3] == im->shape.w) {
            im->xrank = 4;
            return NN_OK;
        }
        /* Before any layer but a channel-uniform normalization, a reshape only
         * says what shape the input has. */
        if (to[1] <= INT32_MAX && to[2] <= INT32_MAX && to[3] <= INT32_MAX && input_is_reshapable(im))
            return reshape_input(im, c->label, (nn_shape){(int)to[1], (int)to[2], (int)to[3]}, err);
    }
    return nn_fail(err, NN_EUNSUPPORTED, "%s: reshape from %s to %s is not supported (only flattening to [1,-1])", c->label, ft, tt);
}

static int op_activation(importer *im, const node_ctx *c, layer_type type, nn_error *err)
{
    static const char *const leaky_attrs[] = {"alpha", NULL};
    int rc;
    if ((rc = check_attrs(c->n, c->label, type == LAYER_LEAKY_RELU ? leaky_attrs : NULL, err))) return rc;
    nn_layer l = layer_make(type);
    if (type == LAYER_LEAKY_RELU && (rc = attr_float(c->n, c->label, "alpha", 0.01, &l.alpha, err))) return rc;
    if (type == LAYER_LEAKY_RELU && !(l.alpha >= 0 && l.alpha <= 1))
        return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute 'alpha' = %g is not supported (must lie in [0, 1])", c->label, l.alpha);
    return append_layer(im, &l, c->label, err);
}

/* Per-channel map y = s*x + t applied to the output of the last dense/conv layer;
 * with div set, y = (x + t) / s instead, so a Div folds exactly as it divides. */
static int fold_into_affine(importer *im, const char *label, const double *s, const double *t, int div, nn_error *err)
{
    nn_layer *l = &im->m->layers[im->m->n_layers - 1];
    size_t row = l->type == LAYER_DENSE ? (size_t)l->in_features
                                        : (size_t)l->in_features * (size_t)l->kernel[0] * (size_t)l->kernel[1];
    for (int o = 0; o < l->out_channels; o++) {
        double *w = l->weight + (size_t)o * row;
        if (div) {
            for (size_t i = 0; i < row; i++) w[i] /= s[o];
            l->bias[o] = (l->bias[o] + t[o]) / s[o];
        } else {
            for (size_t i = 0; i < row; i++) w[i] *= s[o];
            l->bias[o] = s[o] * l->bias[o] + t[o];
        }
    }
    return refinalize(im, label, err);
}

/* A BatchNormalization that follows no dense or conv layer (or one whose output
 * is also read elsewhere) is its own per-channel layer: gamma (x - mu) /
 * sqrt(var + eps) + beta is (x - m) / s with s = sqrt(var + eps) / gamma and
 * m = mu - beta s, a normalize layer, which needs s > 0 (gamma > 0). */
static int batchnorm_layer(importer *im, const char *label, int C, const double *gamma, const double *beta,
                           const double *mu, const double *var, double eps, nn_error *err)
{
    nn_layer l = layer_make(LAYER_NORMALIZE);
    l.mean = nn_malloc((size_t)C * sizeof *l.mean, "batchnorm mean", err);
    l.std = nn_malloc((size_t)C * sizeof *l.std, "batchnorm std", err);
    if (!l.mean || !l.std) {
        layer_free(&l);
        return err ? err->code : NN_ENOMEM;
    }
    for (int ch = 0; ch < C; ch++) {
        if (!(gamma[ch] > 0)) {
            layer_free(&l);
            return nn_fail(err, NN_EUNSUPPORTED, "%s: scale[%d] = %g: a BatchNormalization that cannot be folded into "
                           "the Gemm, MatMul or Conv before it needs a positive scale", label, ch, gamma[ch]);
        }
        l.std[ch] = sqrt(var[ch] + eps) / gamma[ch];
        l.mean[ch] = mu[ch] - beta[ch] * l.std[ch];
    }
    l.in_features = C;
    return append_layer(im, &l, label, err);
}

static int op_batchnorm(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs", NULL};
    int rc;
    if ((rc = check_attrs(c->n, c->label, attrs, err)) || (rc = need_act_at(c, 0, err))) return rc;
    int64_t training, spatial;
    double eps;
    if ((rc = attr_int(c->n, c->label, "training_mode", 0, &training, err)) ||
        (rc = attr_int(c->n, c->label, "spatial", 1, &spatial, err)) ||
        (rc = attr_float(c->n, c->label, "epsilon", 1e-5, &eps, err)))
        return rc;
    if (training != 0)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute 'training_mode' = %lld is not supported (export in eval mode)",
                       c->label, (long long)training);
    if (spatial != 1)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute 'spatial' = %lld is not supported", c->label, (long long)spatial);
    if (im->xrank != im->rank || im->col)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the %d-D value has no channel axis 1 to normalize", c->label, im->xrank);
    int fold = im->affine_out && strcmp(im->affine_out, im->cur) == 0;
    int C = fold ? im->m->layers[im->m->n_layers - 1].out_channels : im->shape.c;
    konst *p[4];
    static const char *const pname[4] = {"scale", "B", "input_mean", "input_var"};
    for (int i = 0; i < 4; i++) {
        if (!(p[i] = const_input(im, c, (size_t)i + 1, 1, err, &rc))) return rc;
        if (!p[i]->val || p[i]->numel != (size_t)C || p[i]->rank != 1)
            return nn_fail(err, NN_ESHAPE, "%s: %s '%s' must have %d values", c->label, pname[i], p[i]->name, C);
    }
    double *s = nn_malloc((size_t)C * sizeof *s, "batchnorm scale", err);
    double *t = nn_malloc((size_t)C * sizeof *t, "batchnorm shift", err);
    if (!s || !t) {
        free(s);
        free(t);
        return err ? err->code : NN_ENOMEM;
    }
    for (int ch = 0; ch < C; ch++) {
        double var = p[3]->val[ch] + eps;
        if (!(var > 0)) {
            free(s);
            free(t);
            return nn_fail(err, NN_EVALUE, "%s: input_var[%d] + epsilon = %g is not positive", c->label, ch, var);
        }
        s[ch] = p[0]->val[ch] / sqrt(var);
        t[ch] = p[1]->val[ch] - p[2]->val[ch] * s[ch];
    }
    if (fold) {
        rc = fold_into_affine(im, c->label, s, t, 0, err);
        if (!rc) im->affine_out = c->n->output[0];
    } else {
        rc = batchnorm_layer(im, c->label, C, p[0]->val, p[1]->val, p[2]->val, p[3]->val, eps, err);
    }
    free(s);
    free(t);
    return rc;
}

/* Running input normalization kept as y = (x - mean) / std, so the usual
 * Sub(mean) then Div(std) lands exactly on the stored numbers. */
static int normalize_step(importer *im, const char *label, const char *op, int const_first, const double *v, int n,
                          nn_error *err)
{
    if (!im->norm_n) {
        im->norm_mean = nn_malloc((size_t)n * sizeof *im->norm_mean, "normalize mean", err);
        im->norm_std = nn_malloc((size_t)n * sizeof *im->norm_std, "normalize std", err);
        if (!im->norm_mean || !im->norm_std) return err ? err->code : NN_ENOMEM;
        for (int i = 0; i < n; i++) {
            im->norm_mean[i] = 0;
            im->norm_std[i] = 1;
        }
        im->norm_n = n;
    }
    double *mean = im->norm_mean, *std = im->norm_std;
    for (int i = 0; i < n; i++) {
        if (!strcmp(op, "Add")) {
            mean[i] -= v[i] * std[i];
        } else if (!strcmp(op, "Sub")) {
            if (const_first)
                return nn_fail(err, NN_EVALUE, "%s: constant minus input has scale -1; nncert's normalize layer needs std > 0",
                               label);
            mean[i] += v[i] * std[i];
        } else {
            if (!strcmp(op, "Div") && const_first)
                return nn_fail(err, NN_EUNSUPPORTED, "%s: dividing a constant by the input is not affine", label);
            if (!(v[i] > 0))
                return nn_fail(err, NN_EVALUE,
                               "%s: input normalization of channel %d by %s %g: nncert's normalize layer needs std > 0 (a positive scale)",
                               label, i, !strcmp(op, "Div") ? "dividing by" : "multiplying by", v[i]);
            if (!strcmp(op, "Div")) std[i] *= v[i];
            else std[i] /= v[i];
        }
        if (!(std[i] > 0) || !isfinite(std[i]) || !isfinite(mean[i]))
            return nn_fail(err, NN_EVALUE, "%s: input normalization of channel %d gives std %g, mean %g", label, i, std[i],
                           mean[i]);
    }
    return NN_OK;
}

/* Add/Sub/Mul/Div with one constant operand. */
static int op_elementwise(importer *im, const node_ctx *c, const char *op, nn_error *err)
{
    int rc;
    if ((rc = check_attrs(c->n, c->label, NULL, err))) return rc;
    if (c->n->n_input != 2) return nn_fail(err, NN_EFORMAT, "%s: expects 2 inputs, has %zu", c->label, c->n->n_input);
    int kpos = 1 - c->act_pos;
    konst *K = const_input(im, c, (size_t)kpos, 1, err, &rc);
    if (!K) return rc;
    int after_affine = im->affine_out && strcmp(im->affine_out, im->cur) == 0;
    int on_input = im->m->n_layers == 0;
    if (!after_affine && !on_input)
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s: %s with a constant is only supported on the network input (normalization) or right after Gemm/MatMul/Conv (bias)",
                       c->label, op);
    double *v = NULL;
    int n = 0;
    if ((rc = per_channel(im, K, c->label, &v, &n, err))) return rc;
    /* broadcasting gives the result the larger rank (leading 1s) */
    if (K->rank > im->xrank) im->xrank = K->rank;
    int const_first = kpos == 0;
    if (on_input) {
        rc = normalize_step(im, c->label, op, const_first, v, n, err);
        free(v);
        return rc;
    }
    /* After dense/conv: x -> s*x + t per output channel (or (x + t)/s for Div). */
    double *s = nn_malloc((size_t)n * sizeof *s, "scale", err), *t = nn_malloc((size_t)n * sizeof *t, "shift", err);
    int div = !strcmp(op, "Div");
    for (int i = 0; s && t && i < n && !rc; i++) {
        s[i] = 1;
        t[i] = 0;
        if (!strcmp(op, "Add")) t[i] = v[i];
        else if (!strcmp(op, "Sub")) {
            if (const_first) s[i] = -1;
            t[i] = const_first ? v[i] : -v[i];
        } else if (!strcmp(op, "Mul")) s[i] = v[i];
        else if (const_first) rc = nn_fail(err, NN_EUNSUPPORTED, "%s: dividing a constant by a computed value is not affine", c->label);
        else if (v[i] == 0) rc = nn_fail(err, NN_EVALUE, "%s: division by zero (channel %d of '%s')", c->label, i, K->name);
        else s[i] = v[i];
    }
    if (!s || !t) rc = err ? err->code : NN_ENOMEM;
    if (!rc) rc = fold_into_affine(im, c->label, s, t, div, err);
    if (!rc) im->affine_out = c->n->output[0];
    free(v);
    free(s);
    free(t);
    return rc;
}

/* A new constant named name, with dims and the element type of like (INT64 or floating). */
static konst *new_const(importer *im, const char *name, const konst *like, int rank, const int64_t *dims, const char *label,
                        nn_error *err)
{
    int is_int = like->ival != NULL;
    konst *k = const_slot(im, err);
    if (!k) return NULL;
    if (set_dims(k, dims, (size_t)rank, label, err)) return NULL;
    size_t alloc = k->numel ? k->numel : 1;
    if (is_int ? !(k->ival = nn_malloc(alloc * sizeof *k->ival, label, err))
               : !(k->val = nn_malloc(alloc * sizeof *k->val, label, err)))
        return NULL;
    k->name = name;
    return k;
}

/* Integer list from an INTS attribute (older opsets) or an INT64 constant input. */
static int int_list(importer *im, const Onnx__NodeProto *n, const char *label, const char *attr, size_t pos, int64_t *out,
                    int *count, int *found, nn_error *err)
{
    const Onnx__AttributeProto *a = find_attr(n, attr);
    *found = 0;
    *count = 0;
    if (a) {
        if (a->n_ints > MAX_RANK) return nn_fail(err, NN_EUNSUPPORTED, "%s: '%s' has %zu values", label, attr, a->n_ints);
        for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
        *count = (int)a->n_ints;
        *found = 1;
    } else if (pos < n->n_input && n->input[pos] && n->input[pos][0]) {
        konst *k = find_const(im, n->input[pos]);
        if (!k || !k->ival || k->rank > 1 || k->numel > MAX_RANK)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: '%s' (input %zu) must be a constant 1-D INT64 tensor", label, attr, pos);
        for (size_t i = 0; i < k->numel; i++) out[i] = k->ival[i];
        *count = (int)k->numel;
        *found = 1;
    }
    return NN_OK;
}

/* Gather, Unsqueeze, Squeeze and Concat of constants: the integer arithmetic
 * that exporters write to compute a Reshape's target shape from Shape (PyTorch's
 * x.view(x.size(0), -1) is Shape, Gather, Unsqueeze, Concat, Reshape). Exact:
 * the values are only moved. */
static int fold_shape_op(importer *im, const Onnx__NodeProto *n, const char *label, nn_error *err)
{
    const char *op = n->op_type;
    int rc;
    konst *src = find_const(im, n->input[0]);
    int64_t dims[MAX_RANK];
    if (!strcmp(op, "Gather")) {
        static const char *const attrs[] = {"axis", NULL};
        int64_t axis;
        if ((rc = check_attrs(n, label, attrs, err)) || (rc = attr_int(n, label, "axis", 0, &axis, err))) return rc;
        konst *idx = n->n_input > 1 && n->input[1] ? find_const(im, n->input[1]) : NULL;
        if (src->rank != 1 || (axis != 0 && axis != -1) || !idx || !idx->ival || idx->rank > 1)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: only gathering from a 1-D constant with 0-D or 1-D INT64 indices is supported",
                           label);
        size_t cnt = idx->numel, len = src->numel;
        for (size_t i = 0; i < cnt; i++)
            if (idx->ival[i] < -(int64_t)len || idx->ival[i] >= (int64_t)len)
                return nn_fail(err, NN_EFORMAT, "%s: index %lld is out of range for %zu values", label, (long long)idx->ival[i], len);
        const char *sname = src->name, *iname = idx->name;
        konst *k = new_const(im, n->output[0], src, idx->rank, idx->dims, label, err);
        if (!k) return err ? err->code : NN_ENOMEM;
        src = find_const(im, sname); /* the table may have moved */
        idx = find_const(im, iname);
        for (size_t i = 0; i < cnt; i++) {
            int64_t j = idx->ival[i] < 0 ? idx->ival[i] + (int64_t)len : idx->ival[i];
            if (k->ival) k->ival[i] = src->ival[j];
            else k->val[i] = src->val[j];
        }
        im->nk++;
        return NN_OK;
    }
    if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
        static const char *const attrs[] = {"axes", NULL};
        int64_t axes[MAX_RANK];
        int na, found, sq = !strcmp(op, "Squeeze");
        if ((rc = check_attrs(n, label, attrs, err)) || (rc = int_list(im, n, label, "axes", 1, axes, &na, &found, err)))
            return rc;
        if (!sq && !found) return nn_fail(err, NN_EFORMAT, "%s: 'axes' is missing", label);
        int out_rank = sq ? (found ? src->rank - na : 0) : src->rank + na;
        if (!sq && out_rank > MAX_RANK) return nn_fail(err, NN_EUNSUPPORTED, "%s: result has rank %d", label, out_rank);
        int mark[MAX_RANK] = {0};
        for (int i = 0; i < na; i++) {
            int64_t a = axes[i] < 0 ? axes[i] + (sq ? src->rank : out_rank) : axes[i];
            if (a < 0 || a >= (sq ? src->rank : out_rank) || mark[a] || (sq && src->dims[a] != 1))
                return nn_fail(err, NN_EFORMAT, "%s: axis %lld is invalid", label, (long long)axes[i]);
            mark[a] = 1;
        }
        int o = 0;
        if (sq) {
            for (int i = 0; i < src->rank; i++)
                if (found ? !mark[i] : src->dims[i] != 1) dims[o++] = src->dims[i];
        } else {
            for (int i = 0, j = 0; i < out_rank; i++) dims[o++] = mark[i] ? 1 : src->dims[j++];
        }
        const char *sname = src->name;
        konst *k = new_const(im, n->output[0], src, o, dims, label, err);
        if (!k) return err ? err->code : NN_ENOMEM;
        src = find_const(im, sname);
        if (k->ival) memcpy(k->ival, src->ival, src->numel * sizeof *k->ival);
        else memcpy(k->val, src->val, src->numel * sizeof *k->val);
        im->nk++;
        return NN_OK;
    }
    /* Concat of 1-D constants of one element type */
    static const char *const attrs[] = {"axis", NULL};
    int64_t axis;
    if ((rc = check_attrs(n, label, attrs, err)) || (rc = attr_int(n, label, "axis", 0, &axis, err))) return rc;
    size_t total = 0;
    for (size_t i = 0; i < n->n_input; i++) {
        konst *k = find_const(im, n->input[i]);
        if (!k || k->rank != 1 || (axis != 0 && axis != -1) || !k->ival != !src->ival)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: only concatenating 1-D constants of one element type is supported", label);
        total += k->numel;
    }
    dims[0] = (int64_t)total;
    konst *k = new_const(im, n->output[0], src, 1, dims, label, err);
    if (!k) return err ? err->code : NN_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n->n_input; i++) {
        konst *p = find_const(im, n->input[i]);
        for (size_t j = 0; j < p->numel; j++, o++) {
            if (k->ival) k->ival[o] = p->ival[j];
            else k->val[o] = p->val[j];
        }
    }
    im->nk++;
    return NN_OK;
}

/* Cast of a constant (a float16 weight cast to float before use): to DOUBLE
 * exact, to FLOAT rounded to float as the graph computes it, to INT64 only
 * from integers (nothing is truncated). */
static int fold_cast(importer *im, const Onnx__NodeProto *n, const char *label, nn_error *err)
{
    static const char *const attrs[] = {"to", NULL};
    int64_t to;
    int rc;
    if ((rc = check_attrs(n, label, attrs, err)) || (rc = attr_int(n, label, "to", 0, &to, err))) return rc;
    if (to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && to != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
        to != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: cast to element type %lld is not supported (FLOAT, DOUBLE, INT64)", label,
                       (long long)to);
    konst *src = find_const(im, n->input[0]);
    const char *sname = src->name;
    int64_t dims[MAX_RANK];
    memcpy(dims, src->dims, sizeof dims);
    konst like = {.ival = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? dims : NULL};
    konst *k = new_const(im, n->output[0], &like, src->rank, dims, label, err);
    if (!k) return err ? err->code : NN_ENOMEM;
    src = find_const(im, sname); /* the table may have moved */
    for (size_t i = 0; i < src->numel; i++) {
        double v = src->val ? src->val[i] : (double)src->ival[i];
        if (k->ival) {
            if (src->val && !(v == trunc(v) && fabs(v) < 9.2e18)) {
                konst_free(k);
                return nn_fail(err, NN_EUNSUPPORTED, "%s: casting %g to INT64 would truncate it", label, v);
            }
            k->ival[i] = src->val ? (int64_t)v : src->ival[i];
        } else {
            k->val[i] = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? (double)(float)v : v;
        }
    }
    im->nk++;
    return NN_OK;
}

/* Nodes whose inputs are all constants are evaluated here. */
static int fold_constant_node(importer *im, const Onnx__NodeProto *n, const char *label, nn_error *err)
{
    const char *op = n->op_type;
    if (n->n_output < 1 || !n->output[0] || !n->output[0][0]) return nn_fail(err, NN_EFORMAT, "%s: has no output", label);
    if (!strcmp(op, "Constant")) {
        static const char *const attrs[] = {"value", "value_float", "value_floats", "value_int", "value_ints", NULL};
        int rc;
        if ((rc = check_attrs(n, label, attrs, err))) return rc;
        if (n->n_attribute != 1) return nn_fail(err, NN_EFORMAT, "%s: needs exactly one value attribute", label);
        const Onnx__AttributeProto *a = n->attribute[0];
        if (!strcmp(a->name, "value")) {
            if (!a->t) return nn_fail(err, NN_EFORMAT, "%s: attribute 'value' holds no tensor", label);
            return add_tensor_const(im, n->output[0], a->t, label, err);
        }
        konst *k = const_slot(im, err);
        if (!k) return err ? err->code : NN_ENOMEM;
        int is_int = !strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints");
        int is_list = !strcmp(a->name, "value_floats") || !strcmp(a->name, "value_ints");
        size_t cnt = is_list ? (is_int ? a->n_ints : a->n_floats) : 1;
        k->rank = is_list ? 1 : 0;
        k->dims[0] = (int64_t)cnt;
        k->numel = cnt;
        if (is_int) k->ival = nn_malloc((cnt ? cnt : 1) * sizeof *k->ival, label, err);
        else k->val = nn_malloc((cnt ? cnt : 1) * sizeof *k->val, label, err);
        if (!k->ival && !k->val) return err ? err->code : NN_ENOMEM;
        for (size_t i = 0; i < cnt; i++) {
            if (is_int) k->ival[i] = is_list ? a->ints[i] : a->i;
            else k->val[i] = is_list ? a->floats[i] : a->f;
        }
        k->name = n->output[0];
        im->nk++;
        return NN_OK;
    }
    if (n->n_input < 1 || !n->input[0]) return nn_fail(err, NN_EFORMAT, "%s: has no input", label);
    konst *src = find_const(im, n->input[0]);
    if (!src) return nn_fail(err, NN_EFORMAT, "%s: input '%s' is not produced by an earlier node", label, n->input[0]);
    if (!strcmp(op, "Identity") || !strcmp(op, "Transpose")) {
        static const char *const tattrs[] = {"perm", NULL};
        int rc;
        if ((rc = check_attrs(n, label, !strcmp(op, "Transpose") ? tattrs : NULL, err))) return rc;
        int perm[MAX_RANK];
        for (int i = 0; i < src->rank; i++) perm[i] = src->rank - 1 - i;
        if (!strcmp(op, "Transpose")) {
            const Onnx__AttributeProto *a = find_attr(n, "perm");
            if (a) {
                if ((int)a->n_ints != src->rank)
                    return nn_fail(err, NN_EFORMAT, "%s: 'perm' has %zu entries for a rank-%d tensor", label, a->n_ints, src->rank);
                int seen[MAX_RANK] = {0};
                for (int i = 0; i < src->rank; i++) {
                    if (a->ints[i] < 0 || a->ints[i] >= src->rank || seen[a->ints[i]])
                        return nn_fail(err, NN_EFORMAT, "%s: 'perm' is not a permutation", label);
                    seen[a->ints[i]] = 1;
                    perm[i] = (int)a->ints[i];
                }
            }
        } else {
            for (int i = 0; i < src->rank; i++) perm[i] = i;
        }
        konst *k = const_slot(im, err);
        if (!k) return err ? err->code : NN_ENOMEM;
        src = find_const(im, n->input[0]); /* the table may have moved */
        size_t alloc = src->numel ? src->numel : 1;
        k->rank = src->rank;
        k->numel = src->numel;
        for (int i = 0; i < src->rank; i++) k->dims[i] = src->dims[perm[i]];
        if (src->val && !(k->val = nn_malloc(alloc * sizeof *k->val, label, err))) return err ? err->code : NN_ENOMEM;
        if (src->ival && !(k->ival = nn_malloc(alloc * sizeof *k->ival, label, err))) return err ? err->code : NN_ENOMEM;
        /* Strides of the source, then walk the output in row-major order. */
        size_t sstride[MAX_RANK], idx[MAX_RANK] = {0};
        size_t acc = 1;
        for (int i = src->rank - 1; i >= 0; i--) {
            sstride[i] = acc;
            acc *= (size_t)src->dims[i];
        }
        for (size_t o = 0; o < k->numel; o++) {
            size_t off = 0;
            for (int i = 0; i < k->rank; i++) off += idx[i] * sstride[perm[i]];
            if (k->val) k->val[o] = src->val[off];
            else k->ival[o] = src->ival[off];
            for (int i = k->rank - 1; i >= 0; i--) {
                if (++idx[i] < (size_t)k->dims[i]) break;
                idx[i] = 0;
            }
        }
        k->name = n->output[0];
        im->nk++;
        return NN_OK;
    }
    if (!strcmp(op, "Gather") || !strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze") || !strcmp(op, "Concat"))
        return fold_shape_op(im, n, label, err);
    if (!strcmp(op, "Cast")) return fold_cast(im, n, label, err);
    return nn_fail(err, NN_EUNSUPPORTED, "%s: computes on constants only; constant folding of %s is not supported", label, op);
}

/* Pad. All-zero pads (PyTorch writes them before AveragePool) are the identity.
 * Zeros around the map (constant mode, value 0, only the H and W axes of an
 * [N,C,H,W] value: what PyTorch writes for AvgPool2d(padding, count_include_pad)
 * and tf2onnx for explicit padding) are taken in by the one node that reads the
 * result, a Conv (zero padding) or an AveragePool (padding cells its divisor
 * counts: they are real zeros to it); the walk refuses any other reader. A
 * MaxPool would take the max with the zeros, which nncert's padding never is. */
static int op_pad(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"mode", "pads", "value", NULL};
    int rc;
    if ((rc = check_attrs(c->n, c->label, attrs, err)) || (rc = need_act_at(c, 0, err))) return rc;
    if (c->n->n_input > 3 && c->n->input[3] && c->n->input[3][0])
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the 'axes' input is not supported", c->label);
    const Onnx__AttributeProto *a = find_attr(c->n, "pads");
    konst *P = NULL;
    if (!a && !(P = const_input(im, c, 1, 1, err, &rc))) return rc;
    if (P && !P->ival) return nn_fail(err, NN_EFORMAT, "%s: pads '%s' must be an INT64 tensor", c->label, P->name);
    size_t n = a ? a->n_ints : P->numel;
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero |= (a ? a->ints[i] : P->ival[i]) != 0;
    if (nonzero) {
        char mode[32];
        attr_string_copy(c->n, "mode", "constant", mode, sizeof mode);
        const Onnx__AttributeProto *va = find_attr(c->n, "value");
        konst *V = NULL;
        if (c->n->n_input > 2 && c->n->input[2] && c->n->input[2][0] && !(V = const_input(im, c, 2, 1, err, &rc)))
            return rc;
        if (strcmp(mode, "constant") || (va && va->f != 0) || (V && (V->numel != 1 || !V->val || V->val[0] != 0)))
            return nn_fail(err, NN_EUNSUPPORTED, "%s: only padding with the constant 0 is supported (mode '%s')", c->label,
                           mode);
        if (use_count(im->g, c->n->output[0]) != 1)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: non-zero pads are supported only when one node reads the result",
                           c->label);
        if (im->rank != 4 || im->xrank != 4 || n != 8)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: non-zero pads are supported on [N,C,H,W] values only", c->label);
        for (size_t i = 0; i < 8; i++) {
            int64_t v = a ? a->ints[i] : P->ival[i];
            int spatial = i % 4 >= 2;
            if (v < 0 || v > 1000000 || (!spatial && v != 0))
                return nn_fail(err, NN_EUNSUPPORTED, "%s: pads[%zu] = %lld: only non-negative pads of the H and W axes are "
                               "supported", c->label, i, (long long)v);
        }
        /* ONNX pads: [N, C, H, W] begins, then ends */
        int cells[4] = {(int)(a ? a->ints[2] : P->ival[2]), (int)(a ? a->ints[3] : P->ival[3]),
                        (int)(a ? a->ints[6] : P->ival[6]), (int)(a ? a->ints[7] : P->ival[7])};
        memcpy(im->pad_cells, cells, sizeof cells);
        im->pad_out = c->n->output[0];
        snprintf(im->pad_label, sizeof im->pad_label, "%s", c->label);
        im->affine_out = NULL;
        return NN_OK;
    }
    if (im->affine_out && !strcmp(im->affine_out, im->cur)) im->affine_out = c->n->output[0];
    return NN_OK;
}


static int op_transpose(importer *im, const node_ctx *c, nn_error *err);
static int int_list(importer *im, const Onnx__NodeProto *n, const char *label, const char *attr, size_t pos, int64_t *out,
                    int *count, int *found, nn_error *err);

/* Unsqueeze/Squeeze of a computed value ([1,28,28] -> [1,1,28,28] before a
 * Conv): only size-1 axes come and go, so the data order is unchanged; the
 * result must still read as the same value (leading 1s, then the value's dims
 * without its own leading 1s), else a later op would see other axes. */
static int op_squeeze(importer *im, const node_ctx *c, int unsq, nn_error *err)
{
    static const char *const attrs[] = {"axes", NULL};
    int64_t axes[MAX_RANK], d[MAX_RANK], nd[MAX_RANK];
    int na, found, rc;
    if ((rc = check_attrs(c->n, c->label, attrs, err)) || (rc = need_act_at(c, 0, err)) ||
        (rc = int_list(im, c->n, c->label, "axes", 1, axes, &na, &found, err)))
        return rc;
    if (im->col) return nn_fail(err, NN_EUNSUPPORTED, "%s: a column [F,1] value cannot be reshaped this way", c->label);
    if (!found) return nn_fail(err, NN_EUNSUPPORTED, "%s: 'axes' must be given", c->label);
    int r = real_dims(im, d), out = unsq ? r + na : r - na, mark[MAX_RANK] = {0};
    if (out < 1 || out > 4) return nn_fail(err, NN_EUNSUPPORTED, "%s: the result would have rank %d (1 to 4 supported)", c->label, out);
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + (unsq ? out : r) : axes[i];
        if (a < 0 || a >= (unsq ? out : r) || mark[a] || (!unsq && d[a] != 1))
            return nn_fail(err, NN_EFORMAT, "%s: axis %lld is invalid", c->label, (long long)axes[i]);
        mark[a] = 1;
    }
    int o = 0;
    for (int i = 0, j = 0; i < (unsq ? out : r); i++) {
        if (unsq) nd[o++] = mark[i] ? 1 : d[j++];
        else if (!mark[i]) nd[o++] = d[i];
    }
    int64_t ld[4];
    int lr = cur_dims(im, ld), ls = 0, ns = 0;
    while (ls < lr && ld[ls] == 1) ls++;
    while (ns < out && nd[ns] == 1) ns++;
    int same = lr - ls == out - ns;
    for (int i = 0; same && i < out - ns; i++) same = nd[ns + i] == ld[ls + i];
    if (!same) {
        char ft[128], tt[128];
        dims_text(d, r, ft, sizeof ft);
        dims_text(nd, out, tt, sizeof tt);
        return nn_fail(err, NN_EUNSUPPORTED, "%s: from %s to %s moves an axis of the value (only leading size-1 axes may change)",
                       c->label, ft, tt);
    }
    im->xrank = out;
    if (im->affine_out && !strcmp(im->affine_out, im->cur)) im->affine_out = c->n->output[0];
    return NN_OK;
}

/* Softmax or LogSoftmax computing the graph output is dropped: both are strictly
 * increasing in each logit's share, so the argmax (all nncert certifies) is the
 * logits'. That holds only when the softmax runs over every output value; a
 * softmax elsewhere changes what the next layer sees and is refused. */
static int op_softmax(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"axis", NULL};
    int rc = check_attrs(c->n, c->label, attrs, err);
    if (rc) return rc;
    if (strcmp(c->n->output[0], im->g->output[0]->name))
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s is only supported as the last node, computing the graph output (dropped: the argmax is unchanged)",
                       c->label);
    int64_t d[MAX_RANK], axis;
    int r = real_dims(im, d);
    /* before opset 13 the value is coerced to 2-D at axis (default 1), after it
     * the softmax runs along axis alone (default -1) */
    int coerce = im->opset < 13;
    if ((rc = attr_int(c->n, c->label, "axis", coerce ? 1 : -1, &axis, err))) return rc;
    if (axis < 0) axis += r;
    int64_t total = 1, lead = 1;
    for (int i = 0; i < r; i++) {
        total *= d[i];
        if (i < axis) lead *= d[i];
    }
    int whole = axis >= 0 && axis < r && (coerce ? lead == 1 : d[axis] == total);
    if (!whole)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: attribute 'axis' = %lld does not take the softmax over all %lld outputs",
                       c->label, (long long)axis, (long long)total);
    im->note = !strcmp(c->n->op_type, "Softmax") ? "the final Softmax was dropped (the argmax is unchanged; outputs are logits)"
                                                  : "the final LogSoftmax was dropped (the argmax is unchanged; outputs are logits)";
    return NN_OK;
}

static int dispatch(importer *im, const node_ctx *c, nn_error *err)
{
    const char *op = c->n->op_type;
    int rc;
    if (strcmp(op, "Identity") && strcmp(op, "Dropout") && strcmp(op, "Pad") && strcmp(op, "Unsqueeze") &&
        strcmp(op, "Squeeze") && strcmp(op, "Add") && strcmp(op, "Sub") && strcmp(op, "Mul") &&
        strcmp(op, "Div") && (rc = flush_normalize(im, c->label, err)))
        return rc;
    if (!strcmp(op, "Gemm")) return op_gemm_matmul(im, c, 1, err);
    if (!strcmp(op, "MatMul")) return op_gemm_matmul(im, c, 0, err);
    if (!strcmp(op, "Conv")) return op_conv(im, c, err);
    if (!strcmp(op, "MaxPool")) return op_pool(im, c, LAYER_MAXPOOL2D, 0, err);
    if (!strcmp(op, "AveragePool")) return op_pool(im, c, LAYER_AVGPOOL2D, 0, err);
    if (!strcmp(op, "GlobalAveragePool")) return op_pool(im, c, LAYER_AVGPOOL2D, 1, err);
    if (!strcmp(op, "Flatten")) return op_flatten(im, c, err);
    if (!strcmp(op, "Reshape")) return op_reshape(im, c, err);
    if (!strcmp(op, "Relu")) return op_activation(im, c, LAYER_RELU, err);
    if (!strcmp(op, "LeakyRelu")) return op_activation(im, c, LAYER_LEAKY_RELU, err);
    if (!strcmp(op, "Sigmoid")) return op_activation(im, c, LAYER_SIGMOID, err);
    if (!strcmp(op, "Tanh")) return op_activation(im, c, LAYER_TANH, err);
    if (!strcmp(op, "Atan")) return op_activation(im, c, LAYER_ARCTAN, err);
    if (!strcmp(op, "BatchNormalization")) return op_batchnorm(im, c, err);
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div"))
        return op_elementwise(im, c, op, err);
    if (!strcmp(op, "Pad")) return op_pad(im, c, err);
    if (!strcmp(op, "Transpose")) return op_transpose(im, c, err);
    if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) return op_squeeze(im, c, !strcmp(op, "Unsqueeze"), err);
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) return op_softmax(im, c, err);
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        static const char *const dattrs[] = {"ratio", "seed", "is_test", NULL};
        if ((rc = check_attrs(c->n, c->label, !strcmp(op, "Dropout") ? dattrs : NULL, err))) return rc;
        /* Inference-mode Dropout is the identity unless training_mode (input 2) is given. */
        if (!strcmp(op, "Dropout") && c->n->n_input > 2 && c->n->input[2] && c->n->input[2][0]) {
            konst *tm = find_const(im, c->n->input[2]);
            int zero = tm && tm->numel == 1 && ((tm->ival && tm->ival[0] == 0) || (tm->val && tm->val[0] == 0));
            if (!zero) return nn_fail(err, NN_EUNSUPPORTED, "%s: training_mode must be a constant false", c->label);
        }
        if (im->affine_out && !strcmp(im->affine_out, im->cur)) im->affine_out = c->n->output[0];
        return NN_OK;
    }
    if (!strcmp(op, "Clip"))
        return nn_fail(err, NN_EUNSUPPORTED, "%s is not supported: a clip (ReLU6, Hardtanh) has no relaxation in nncert's "
                       "bound engine; supported ops: %s", c->label, SUPPORTED_OPS);
    return nn_fail(err, NN_EUNSUPPORTED, "%s is not supported; supported ops: %s", c->label, SUPPORTED_OPS);
}

/* --------------------------------------------------------------- the walk */

static struct onnx_value *find_value(importer *im, const char *name)
{
    for (int i = 0; i < im->nvals; i++)
        if (!strcmp(im->vals[i].name, name)) return &im->vals[i];
    return NULL;
}

static int add_value(importer *im, const char *name, int layer, nn_error *err)
{
    if (im->nvals == im->capvals) {
        int cap = im->capvals ? 2 * im->capvals : 64;
        struct onnx_value *v = realloc(im->vals, (size_t)cap * sizeof *v);
        if (!v) return nn_fail(err, NN_ENOMEM, "out of memory (value table)");
        im->vals = v;
        im->capvals = cap;
    }
    im->vals[im->nvals++] = (struct onnx_value){name, layer, im->rank, im->xrank, im->col, im->shape};
    return NN_OK;
}

/* Continue from computed value v (not the one just computed): its shape and rank,
 * no folding into its layer, and the next layer reads it. */
static void switch_to(importer *im, const struct onnx_value *v)
{
    im->cur = v->name;
    im->rank = v->rank;
    im->xrank = v->xrank;
    im->col = v->col;
    im->shape = v->shape;
    im->affine_out = NULL;
    im->next_input = v->layer == im->m->n_layers - 1 ? -2 : v->layer;
}

/* Shape of a computed value: a constant, since every value's dims are known
 * (the batch dimension is 1: nncert evaluates one input at a time, so a
 * symbolic N is 1 for every evaluation it makes). */
static int op_shape(importer *im, const Onnx__NodeProto *n, const char *label, const struct onnx_value *v, nn_error *err)
{
    static const char *const attrs[] = {"start", "end", NULL};
    int rc = check_attrs(n, label, attrs, err);
    if (rc) return rc;
    if (v->layer < 0 && im->nhwc)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: the shape of an [N,H,W,C] graph input is not supported", label);
    importer view = *im;
    view.rank = v->rank;
    view.xrank = v->xrank;
    view.col = v->col;
    view.shape = v->shape;
    int64_t d[MAX_RANK], start, end;
    int r = real_dims(&view, d);
    if ((rc = attr_int(n, label, "start", 0, &start, err)) || (rc = attr_int(n, label, "end", r, &end, err))) return rc;
    /* opset 15: negative bounds count from the end, and both are clamped */
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < start ? start : end > r ? r : end;
    konst like = {.ival = d};
    int64_t len = end - start;
    konst *k = new_const(im, n->output[0], &like, 1, &len, label, err);
    if (!k) return err ? err->code : NN_ENOMEM;
    for (int64_t i = start; i < end; i++) k->ival[i - start] = d[i];
    im->nk++;
    return NN_OK;
}

/* Add of two computed values: the native add of their layers' outputs. */
static int op_residual_add(importer *im, const Onnx__NodeProto *n, const char *label, nn_error *err)
{
    int rc = check_attrs(n, label, NULL, err);
    if (rc) return rc;
    struct onnx_value *a = find_value(im, n->input[0]), *b = find_value(im, n->input[1]);
    if (!a || !b)
        return nn_fail(err, NN_EFORMAT, "%s reads '%s', which is not the output of an earlier node", label,
                       !a ? n->input[0] : n->input[1]);
    if (a->rank != b->rank)
        return nn_fail(err, NN_EUNSUPPORTED, "%s adds a %d-D value ('%s') and a %d-D value ('%s')", label, a->rank,
                       a->name, b->rank, b->name);
    if (a->layer < 0 || b->layer < 0)
        return nn_fail(err, NN_EUNSUPPORTED, "%s adds the graph input itself: not supported", label);
    if (a->col != b->col)
        return nn_fail(err, NN_EUNSUPPORTED, "%s adds a row [1,F] and a column [F,1]: broadcasting would give a matrix", label);
    if ((rc = flush_normalize(im, label, err))) return rc;
    nn_layer l = layer_make(LAYER_ADD);
    l.n_inputs = 2;
    l.input[0] = a->layer;
    l.input[1] = b->layer;
    switch_to(im, a);
    return append_layer(im, &l, label, err);
}

/* Is the only reader of the graph input a Transpose NHWC -> NCHW (perm 0,3,1,2)?
 * TensorFlow exporters write images channels-last and transpose them first. */
static int read_by_nhwc_transpose(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (n->n_input < 1 || !n->input[0] || strcmp(n->input[0], name)) continue;
        if (!n->op_type || strcmp(n->op_type, "Transpose")) return 0;
        const Onnx__AttributeProto *a = find_attr(n, "perm");
        return a && a->n_ints == 4 && a->ints[0] == 0 && a->ints[1] == 3 && a->ints[2] == 1 && a->ints[3] == 2;
    }
    return 0;
}

/* The graph input: rank 1 [F], rank 2 [N,F] or a column [F,1], rank 3 [N,1,F] (a flat vector) or
 * [N,H,W] (a one-channel image), rank 4 [N,C,H,W], or [N,H,W,C] when read by a
 * Transpose to NCHW (the native input is then the transposed C x H x W image).
 * The batch dimension N must be 1 or symbolic. */
static int input_shape(importer *im, const Onnx__ValueInfoProto *vi, nn_error *err)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type || !tp->tensor_type->shape)
        return nn_fail(err, NN_EFORMAT, "graph input '%s' has no tensor shape", vi->name);
    const Onnx__TensorShapeProto *s = tp->tensor_type->shape;
    int et = tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
    if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && et != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return nn_fail(err, NN_EUNSUPPORTED, "graph input '%s' has element type %d (FLOAT or DOUBLE expected)", vi->name, et);
    if (s->n_dim < 1 || s->n_dim > 4)
        return nn_fail(err, NN_EUNSUPPORTED,
                       "graph input '%s' has rank %zu; supported are [F], [N,F], [N,1,F], [N,H,W], [N,C,H,W] and [N,H,W,C] "
                       "read by a Transpose to NCHW", vi->name, s->n_dim);
    int d[4] = {0};
    size_t first = s->n_dim == 1 ? 0 : 1; /* rank 1 has no batch dimension */
    for (size_t i = first; i < s->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = s->dim[i];
        if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dim->dim_value < 1 ||
            dim->dim_value > INT32_MAX)
            return nn_fail(err, NN_EUNSUPPORTED, "graph input '%s': dimension %zu must be a fixed positive size", vi->name, i);
        d[i] = (int)dim->dim_value;
    }
    const Onnx__TensorShapeProto__Dimension *b = s->dim[0];
    /* [F,1] with a fixed F > 1 is no batch of F: a column vector (same data order) */
    if (s->n_dim == 2 && d[1] == 1 && b->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        b->dim_value > 1 && b->dim_value <= INT32_MAX) {
        im->rank = im->xrank = 2;
        im->col = 1;
        im->m->input = im->shape = (nn_shape){1, 1, (int)b->dim_value};
        return NN_OK;
    }
    if (first == 1 && b->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && b->dim_value != 1)
        return nn_fail(err, NN_EUNSUPPORTED, "graph input '%s': batch dimension is %lld (expected 1 or symbolic)", vi->name,
                       (long long)b->dim_value);
    im->xrank = (int)s->n_dim;
    switch (s->n_dim) {
    case 1: im->rank = 2; im->m->input = (nn_shape){1, 1, d[0]}; break;
    case 2: im->rank = 2; im->m->input = (nn_shape){1, 1, d[1]}; break;
    case 3:
        /* [N,1,F] is a flat vector whatever reads it; [N,H,W] can only be
         * flattened or reshaped, and as a 1 x H x W image it keeps its shape */
        im->rank = d[1] == 1 ? 2 : 4;
        im->m->input = d[1] == 1 ? (nn_shape){1, 1, d[2]} : (nn_shape){1, d[1], d[2]};
        break;
    default:
        im->rank = 4;
        im->nhwc = read_by_nhwc_transpose(im->g, vi->name);
        im->input_nhwc = im->nhwc && d[3] > 1 && d[1] * d[2] > 1;
        im->m->input = im->nhwc ? (nn_shape){d[3], d[1], d[2]} : (nn_shape){d[1], d[2], d[3]};
    }
    im->shape = im->m->input;
    return NN_OK;
}

/* Transpose of a computed value: only the NHWC -> NCHW one on the graph input,
 * which input_shape already applied to the native input's shape. */
static int op_transpose(importer *im, const node_ctx *c, nn_error *err)
{
    static const char *const attrs[] = {"perm", NULL};
    int rc = check_attrs(c->n, c->label, attrs, err);
    if (rc) return rc;
    if (!im->nhwc || im->m->n_layers || im->norm_n || strcmp(c->act, im->vals[0].name))
        return nn_fail(err, NN_EUNSUPPORTED,
                       "%s: a Transpose of a computed value is only supported as perm (0,3,1,2) on an [N,H,W,C] graph input",
                       c->label);
    im->nhwc = 0;
    return NN_OK;
}

static int walk(importer *im, nn_error *err)
{
    const Onnx__GraphProto *g = im->g;
    char label[512];
    int rc;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        char what[400];
        snprintf(what, sizeof what, "initializer '%s'", t->name ? t->name : "?");
        if (!t->name || !t->name[0]) return nn_fail(err, NN_EFORMAT, "initializer #%zu has no name", i);
        if ((rc = add_tensor_const(im, t->name, t, what, err))) return rc;
    }
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        if (!g->input[i]->name || find_const(im, g->input[i]->name)) continue;
        if (in)
            return nn_fail(err, NN_EUNSUPPORTED, "the graph has several inputs ('%s', '%s'); nncert needs exactly one",
                           in->name, g->input[i]->name);
        in = g->input[i];
    }
    if (!in) return nn_fail(err, NN_EFORMAT, "the graph has no input besides its initializers");
    if (g->n_output != 1 || !g->output[0]->name)
        return nn_fail(err, NN_EUNSUPPORTED, "the graph has %zu outputs; nncert needs exactly one", g->n_output);
    if ((rc = input_shape(im, in, err))) return rc;
    im->cur = in->name;
    im->next_input = -2;
    if ((rc = add_value(im, in->name, -1, err))) return rc;
    if (use_count(g, im->cur) != 1)
    {
        char readers[256];
        consumers(g, im->cur, readers, sizeof readers);
        return nn_fail(err, NN_EUNSUPPORTED, "graph input '%s' is read %d times%s: not a sequential network", im->cur,
                       use_count(g, im->cur), readers);
    }

    for (size_t ni = 0; ni < g->n_node; ni++) {
        const Onnx__NodeProto *n = g->node[ni];
        node_label(n, (int)ni, label, sizeof label);
        if (!n->op_type) return nn_fail(err, NN_EFORMAT, "%s: has no op_type", label);
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
            return nn_fail(err, NN_EUNSUPPORTED, "%s: operator domain '%s' is not supported", label, n->domain);
        int act_pos = -1, n_act = 0;
        for (size_t j = 0; j < n->n_input; j++) {
            const char *v = n->input[j];
            if (!v || !v[0] || find_const(im, v)) continue;
            if (n_act++ == 0) act_pos = (int)j;
            else if (strcmp(n->op_type, "Add") || n->n_input != 2)
                return nn_fail(err, NN_EUNSUPPORTED,
                               "%s combines two computed values ('%s' and '%s'): only Add of two values (a residual "
                               "connection) is supported", label, n->input[act_pos], v);
        }
        if (n_act == 0) {
            if ((rc = fold_constant_node(im, n, label, err))) return rc;
            continue;
        }
        if (n->n_output < 1 || !n->output[0] || !n->output[0][0]) return nn_fail(err, NN_EFORMAT, "%s has no output", label);
        for (size_t j = 1; j < n->n_output; j++)
            if (n->output[j] && n->output[j][0] && use_count(g, n->output[j]))
                return nn_fail(err, NN_EUNSUPPORTED, "%s: its output %zu ('%s') is used; only the first output is supported",
                               label, j, n->output[j]);
        const char *v = n->input[act_pos];
        struct onnx_value *src = find_value(im, v);
        if (!src)
            return nn_fail(err, NN_EFORMAT, "%s reads '%s', which is neither the graph input, an initializer nor the "
                           "output of an earlier node", label, v);
        if (im->pad_out && (n_act != 1 || strcmp(v, im->pad_out) || (strcmp(n->op_type, "Conv") && strcmp(n->op_type, "AveragePool"))))
            return nn_fail(err, NN_EUNSUPPORTED, "%s: non-zero pads are supported only when a Conv or an AveragePool "
                           "reads the result, next (%s follows)", im->pad_label, label);
        if (!strcmp(n->op_type, "Shape")) {
            if ((rc = op_shape(im, n, label, src, err))) return rc;
            continue;
        }
        int layers_before = im->m->n_layers, from = src->layer;
        if (n_act == 2) {
            rc = op_residual_add(im, n, label, err);
        } else {
            if (strcmp(v, im->cur) != 0) switch_to(im, src);
            node_ctx c = {n, label, v, act_pos};
            rc = dispatch(im, &c, err);
        }
        if (rc) return rc;
        im->cur = n->output[0];
        /* a layer whose output several nodes read takes no folding */
        if (use_count(g, n->output[0]) != 1) im->affine_out = NULL;
        if ((rc = add_value(im, n->output[0], im->m->n_layers > layers_before ? im->m->n_layers - 1 : from, err)))
            return rc;
    }
    struct onnx_value *out = find_value(im, g->output[0]->name);
    if (!out)
        return nn_fail(err, NN_EFORMAT, "the graph output '%s' is not computed by any node from input '%s'",
                       g->output[0]->name, in->name);
    if (im->pad_out)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: non-zero pads are supported only when a Conv or an AveragePool reads the "
                       "result, next (nothing follows)", im->pad_label);
    if ((rc = flush_normalize(im, "end of graph", err))) return rc;
    if (out->layer != im->m->n_layers - 1)
        return nn_fail(err, NN_EUNSUPPORTED, "the graph output '%s' is not the last value computed ('%s' is)",
                       g->output[0]->name, im->cur);
    return NN_OK;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int set_identity(nn_model *m, const Onnx__ModelProto *mp, const char *name, nn_error *err)
{
    const char *b = base_name(name);
    size_t len = strlen(b);
    if (len > 5 && !strcmp(b + len - 5, ".onnx")) len -= 5;
    const char *gname = mp->graph->name;
    int use_graph = gname && gname[0] && strcmp(gname, "torch_jit") && strcmp(gname, "main_graph") && strcmp(gname, "torch-jit-export");
    size_t n = use_graph ? strlen(gname) : len;
    m->name = malloc(n + 1);
    m->source = malloc(strlen(name) + 1);
    if (!m->name || !m->source) return nn_fail(err, NN_ENOMEM, "out of memory naming the model");
    memcpy(m->name, use_graph ? gname : b, n);
    m->name[n] = '\0';
    strcpy(m->source, name);
    int rc = model_set_meta_string(m, "imported_from", b, err);
    if (!rc && mp->producer_name && mp->producer_name[0]) {
        char prod[256];
        snprintf(prod, sizeof prod, "%s %s", mp->producer_name, mp->producer_version ? mp->producer_version : "");
        rc = model_set_meta_string(m, "onnx_producer", prod, err);
    }
    for (size_t i = 0; !rc && i < mp->n_opset_import; i++)
        if (!mp->opset_import[i]->domain || !mp->opset_import[i]->domain[0])
            rc = model_set_meta_double(m, "onnx_opset", (double)mp->opset_import[i]->version, META_INT, err);
    return rc;
}

int onnx_import_buffer(const unsigned char *bytes, size_t len, const char *name, nn_model *m, nn_error *err)
{
    model_init(m);
    if (!name) name = "(buffer)";
    if (len == 0) return nn_fail(err, NN_EFORMAT, "%s: the file is empty, not an ONNX model", name);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
    if (!mp) return nn_fail(err, NN_EFORMAT, "%s: not a valid ONNX protobuf (truncated or corrupt)", name);
    int rc;
    importer im;
    memset(&im, 0, sizeof im);
    im.m = m;
    if (!mp->graph || mp->graph->n_node == 0) {
        rc = nn_fail(err, NN_EFORMAT, "%s: the ONNX model has no graph nodes (truncated or not a model)", name);
    } else {
        im.g = mp->graph;
        for (size_t i = 0; i < mp->n_opset_import; i++)
            if (!mp->opset_import[i]->domain || !mp->opset_import[i]->domain[0]) im.opset = mp->opset_import[i]->version;
        rc = walk(&im, err);
        if (!rc) rc = model_finalize(m, err);
        if (!rc) rc = set_identity(m, mp, name, err);
        if (!rc && im.note) rc = model_set_meta_string(m, "import_note", im.note, err);
        /* whoever numbers the inputs by the ONNX tensor (VNN-LIB's X_i) must know */
        if (!rc && im.input_nhwc) rc = model_set_meta_string(m, "input_layout", "nhwc", err);
        if (rc) nn_error_prefix(err, "%s: ", name);
    }
    for (int i = 0; i < im.nk; i++) konst_free(&im.k[i]);
    free(im.k);
    free(im.norm_mean);
    free(im.norm_std);
    free(im.vals);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (rc) model_free(m);
    return rc;
}

int onnx_import_file(const char *path, nn_model *m, nn_error *err)
{
    model_init(m);
    FILE *f = fopen(path, "rb");
    if (!f) return nn_fail(err, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return nn_fail(err, NN_ENOMEM, "%s: out of memory reading the file", path);
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return nn_fail(err, NN_EIO, "%s: read error", path);
    }
    int rc = onnx_import_buffer(buf, len, path, m, err);
    free(buf);
    return rc;
}
