/* The in-memory network: ownership, shape inference and validation.
 *
 * Readers fill layers with whatever the file holds; model_finalize() is the one
 * place that decides whether those parameters make a network, so every reader
 * reports the same problem with the same words. Output sizes follow PyTorch:
 * floor((H + pad_top + pad_bottom - dilation*(k-1) - 1) / stride) + 1. */
#include "model.h"
#include "activation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[LAYER_TYPE_COUNT] = {
    [LAYER_NORMALIZE] = "normalize",   [LAYER_DENSE] = "dense",
    [LAYER_CONV2D] = "conv2d",         [LAYER_MAXPOOL2D] = "maxpool2d",
    [LAYER_AVGPOOL2D] = "avgpool2d",   [LAYER_FLATTEN] = "flatten",
    [LAYER_RELU] = "relu",             [LAYER_TANH] = "tanh",
    [LAYER_SIGMOID] = "sigmoid",       [LAYER_ARCTAN] = "arctan",
    [LAYER_LEAKY_RELU] = "leaky_relu", [LAYER_PARAM_RAMP] = "param_ramp",
    [LAYER_ADD] = "add",
};

const char *layer_type_name(layer_type t)
{
    return (t >= 0 && t < LAYER_TYPE_COUNT) ? type_names[t] : "?";
}

int layer_type_parse(const char *name)
{
    for (int t = 0; t < LAYER_TYPE_COUNT; t++)
        if (strcmp(name, type_names[t]) == 0) return t;
    return -1;
}

int layer_is_activation(layer_type t) { return act_def_of(t) != NULL; }

int layer_is_affine(layer_type t)
{
    return t == LAYER_DENSE || t == LAYER_CONV2D || t == LAYER_NORMALIZE ||
           t == LAYER_AVGPOOL2D || t == LAYER_FLATTEN;
}

int layer_is_nonlinear(layer_type t) { return layer_is_activation(t) || t == LAYER_MAXPOOL2D; }

int layer_is_spatial(layer_type t) { return t == LAYER_CONV2D || t == LAYER_AVGPOOL2D || t == LAYER_MAXPOOL2D; }

int layer_counts_padding(const nn_layer *layer)
{
    const int *c = layer->count_pad;
    return layer->type == LAYER_AVGPOOL2D && (c[0] || c[1] || c[2] || c[3]);
}

int model_layer_input(const nn_model *m, int i, int k)
{
    const nn_layer *l = &m->layers[i];
    return l->n_inputs == 0 ? (k == 0 ? i - 1 : -2) : (k < l->n_inputs ? l->input[k] : -2);
}

int model_is_sequential(const nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->type == LAYER_ADD || (l->n_inputs != 0 && !(l->n_inputs == 1 && l->input[0] == i - 1))) return 0;
    }
    return 1;
}

size_t shape_size(nn_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

void model_init(nn_model *m) { memset(m, 0, sizeof *m); }

nn_layer layer_make(layer_type type)
{
    nn_layer l;
    memset(&l, 0, sizeof l);
    l.type = type;
    l.stride[0] = l.stride[1] = 1;
    l.dilation[0] = l.dilation[1] = 1;
    return l;
}

void layer_free(nn_layer *l)
{
    free(l->weight);
    free(l->bias);
    free(l->mean);
    free(l->std);
    free(l->r);
    l->weight = l->bias = l->mean = l->std = l->r = NULL;
}

void model_free(nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) layer_free(&m->layers[i]);
    for (int i = 0; i < m->n_meta; i++) {
        free(m->meta[i].key);
        free(m->meta[i].str);
    }
    free(m->layers);
    free(m->meta);
    free(m->name);
    free(m->source);
    model_init(m);
}

int model_append(nn_model *m, const nn_layer *layer, nn_error *err)
{
    nn_layer *grown = realloc(m->layers, (size_t)(m->n_layers + 1) * sizeof *grown);
    if (!grown) {
        nn_layer copy = *layer;
        layer_free(&copy);
        return nn_fail(err, NN_ENOMEM, "out of memory adding layer %d", m->n_layers);
    }
    m->layers = grown;
    m->layers[m->n_layers++] = *layer;
    return NN_OK;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static nn_meta *meta_slot(nn_model *m, const char *key, nn_error *err)
{
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) {
            free(m->meta[i].str);
            m->meta[i].str = NULL;
            return &m->meta[i];
        }
    nn_meta *grown = realloc(m->meta, (size_t)(m->n_meta + 1) * sizeof *grown);
    if (!grown) {
        nn_fail(err, NN_ENOMEM, "out of memory adding meta attribute '%s'", key);
        return NULL;
    }
    m->meta = grown;
    nn_meta *slot = &m->meta[m->n_meta];
    memset(slot, 0, sizeof *slot);
    if (!(slot->key = dup_string(key))) {
        nn_fail(err, NN_ENOMEM, "out of memory adding meta attribute '%s'", key);
        return NULL;
    }
    m->n_meta++;
    return slot;
}

int model_set_meta_string(nn_model *m, const char *key, const char *value, nn_error *err)
{
    nn_meta *slot = meta_slot(m, key, err);
    if (!slot) return err ? err->code : NN_ENOMEM;
    slot->kind = META_STRING;
    if (!(slot->str = dup_string(value)))
        return nn_fail(err, NN_ENOMEM, "out of memory storing meta attribute '%s'", key);
    return NN_OK;
}

int model_set_meta_double(nn_model *m, const char *key, double value, meta_kind kind, nn_error *err)
{
    nn_meta *slot = meta_slot(m, key, err);
    if (!slot) return err ? err->code : NN_ENOMEM;
    slot->kind = kind == META_INT ? META_INT : META_DOUBLE;
    slot->num = value;
    return NN_OK;
}

const nn_meta *model_get_meta(const nn_model *m, const char *key)
{
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) return &m->meta[i];
    return NULL;
}

size_t model_input_size(const nn_model *m) { return shape_size(m->input); }

size_t model_output_size(const nn_model *m)
{
    return m->n_layers ? shape_size(m->layers[m->n_layers - 1].out) : shape_size(m->input);
}

size_t layer_param_count(const nn_layer *l)
{
    switch (l->type) {
    case LAYER_DENSE:
        return (size_t)l->out_channels * shape_size(l->in) + (size_t)l->out_channels;
    case LAYER_CONV2D:
        return (size_t)l->out_channels * (size_t)l->in.c * (size_t)l->kernel[0] * (size_t)l->kernel[1] +
               (size_t)l->out_channels;
    case LAYER_NORMALIZE:
        return 2 * (size_t)l->in.c;
    case LAYER_PARAM_RAMP:
        return shape_size(l->in);
    default:
        return 0;
    }
}

size_t model_param_count(const nn_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_layers; i++) n += layer_param_count(&m->layers[i]);
    return n;
}

/* Name of the first non-finite entry of a parameter array, or -1. */
static long first_nonfinite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return (long)i;
    return -1;
}

static int check_finite(const double *v, size_t n, int index, const nn_layer *l, const char *what,
                        nn_error *err)
{
    if (!v) return nn_fail(err, NN_EFORMAT, "layer %03d (%s): missing %s", index, layer_type_name(l->type), what);
    long bad = first_nonfinite(v, n);
    if (bad >= 0)
        return nn_fail(err, NN_EVALUE, "layer %03d (%s): %s[%ld] is %g (NaN/Inf parameters are not allowed)",
                       index, layer_type_name(l->type), what, bad, v[bad]);
    return NN_OK;
}

/* Output extent of a window sweep; <= 0 means the window does not fit. */
static int sweep_extent(int in, int pad_lo, int pad_hi, int kernel, int stride, int dilation)
{
    long span = (long)dilation * (kernel - 1) + 1;
    long room = (long)in + pad_lo + pad_hi - span;
    if (room < 0) return 0;
    return (int)(room / stride + 1);
}

static int finalize_window(int index, nn_layer *l, int dilation_allowed, nn_error *err)
{
    const char *name = layer_type_name(l->type);
    if (l->kernel[0] < 1 || l->kernel[1] < 1)
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): kernel %dx%d must be positive", index, name,
                       l->kernel[0], l->kernel[1]);
    if (l->stride[0] < 1 || l->stride[1] < 1)
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): stride %dx%d must be positive", index, name,
                       l->stride[0], l->stride[1]);
    for (int k = 0; k < 4; k++)
        if (l->pad[k] < 0)
            return nn_fail(err, NN_EFORMAT, "layer %03d (%s): padding[%d] = %d is negative", index, name, k,
                           l->pad[k]);
    if (!dilation_allowed && (l->dilation[0] != 1 || l->dilation[1] != 1))
        return nn_fail(err, NN_EUNSUPPORTED, "layer %03d (%s): dilation is not supported for pooling", index,
                       name);
    if (l->dilation[0] < 1 || l->dilation[1] < 1)
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): dilation %dx%d must be positive", index, name,
                       l->dilation[0], l->dilation[1]);
    for (int k = 0; k < 4; k++)
        if (l->count_pad[k] != 0 && (l->type != LAYER_AVGPOOL2D || l->count_pad[k] < 0 || l->count_pad[k] > l->pad[k]))
            return nn_fail(err, NN_EFORMAT, "layer %03d (%s): count_padding[%d] = %d %s", index, name, k,
                           l->count_pad[k], l->type != LAYER_AVGPOOL2D ? "(only avgpool2d counts padding cells)"
                                                                      : "must lie between 0 and the padding");
    const int *cp = l->count_pad;
    /* A pooling window made only of padding has no input to take the max of. An
     * average may also take counted padding cells (they add 0 to the sum and 1 to
     * the divisor), so its padding may reach further: every window must hold a
     * real or counted cell (the first one starts at -pad, the last one below). */
    if (l->type == LAYER_MAXPOOL2D &&
        (l->pad[0] >= l->kernel[0] || l->pad[2] >= l->kernel[0] || l->pad[1] >= l->kernel[1] || l->pad[3] >= l->kernel[1]))
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): padding must be smaller than the kernel %dx%d", index, name,
                       l->kernel[0], l->kernel[1]);
    if (l->type == LAYER_AVGPOOL2D && (l->pad[0] - cp[0] >= l->kernel[0] || l->pad[1] - cp[1] >= l->kernel[1]))
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): uncounted padding must be smaller than the kernel %dx%d",
                       index, name, l->kernel[0], l->kernel[1]);
    int ho = sweep_extent(l->in.h, l->pad[0], l->pad[2], l->kernel[0], l->stride[0], l->dilation[0]);
    int wo = sweep_extent(l->in.w, l->pad[1], l->pad[3], l->kernel[1], l->stride[1], l->dilation[1]);
    if (ho <= 0 || wo <= 0)
        return nn_fail(err, NN_ESHAPE, "layer %03d (%s): kernel %dx%d does not fit input %dx%dx%d", index, name,
                       l->kernel[0], l->kernel[1], l->in.c, l->in.h, l->in.w);
    if (l->type == LAYER_AVGPOOL2D && ((long)(ho - 1) * l->stride[0] - l->pad[0] >= (long)l->in.h + cp[2] ||
                                       (long)(wo - 1) * l->stride[1] - l->pad[1] >= (long)l->in.w + cp[3]))
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): the last window would hold only uncounted padding", index,
                       name);
    l->out.h = ho;
    l->out.w = wo;
    return NN_OK;
}

static int finalize_layer(int index, nn_layer *l, nn_error *err)
{
    const char *name = layer_type_name(l->type);
    size_t n_in = shape_size(l->in);
    int rc;
    l->out = l->in;
    switch (l->type) {
    case LAYER_NORMALIZE:
        if (l->in_features != l->in.c)
            return nn_fail(err, NN_ESHAPE, "layer %03d (normalize): mean/std have %d entries, input has %d channels",
                           index, l->in_features, l->in.c);
        if ((rc = check_finite(l->mean, (size_t)l->in.c, index, l, "mean", err))) return rc;
        if ((rc = check_finite(l->std, (size_t)l->in.c, index, l, "std", err))) return rc;
        for (int c = 0; c < l->in.c; c++)
            if (!(l->std[c] > 0))
                return nn_fail(err, NN_EVALUE, "layer %03d (normalize): std[%d] = %g must be positive", index, c,
                               l->std[c]);
        return NN_OK;
    case LAYER_DENSE:
        if (l->out_channels < 1)
            return nn_fail(err, NN_ESHAPE, "layer %03d (dense): output size %d must be positive", index,
                           l->out_channels);
        if ((size_t)l->in_features != n_in)
            return nn_fail(err, NN_ESHAPE,
                           "layer %03d (dense): weight is [%d,%d] but the input has %zu values (%dx%dx%d)", index,
                           l->out_channels, l->in_features, n_in, l->in.c, l->in.h, l->in.w);
        if ((rc = check_finite(l->weight, (size_t)l->out_channels * n_in, index, l, "weight", err))) return rc;
        if ((rc = check_finite(l->bias, (size_t)l->out_channels, index, l, "bias", err))) return rc;
        l->out = (nn_shape){l->out_channels, 1, 1};
        return NN_OK;
    case LAYER_CONV2D:
        if (l->out_channels < 1)
            return nn_fail(err, NN_ESHAPE, "layer %03d (conv2d): %d output channels", index, l->out_channels);
        if (l->in_features != l->in.c)
            return nn_fail(err, NN_ESHAPE, "layer %03d (conv2d): weight expects %d input channels, input has %d",
                           index, l->in_features, l->in.c);
        if ((rc = finalize_window(index, l, 1, err))) return rc;
        if ((rc = check_finite(l->weight, (size_t)l->out_channels * l->in.c * l->kernel[0] * l->kernel[1], index,
                               l, "weight", err)))
            return rc;
        if ((rc = check_finite(l->bias, (size_t)l->out_channels, index, l, "bias", err))) return rc;
        l->out.c = l->out_channels;
        return NN_OK;
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D:
        return finalize_window(index, l, 0, err);
    case LAYER_FLATTEN:
        l->out = (nn_shape){(int)n_in, 1, 1};
        return NN_OK;
    case LAYER_RELU:
    case LAYER_TANH:
    case LAYER_SIGMOID:
    case LAYER_ARCTAN:
        return NN_OK;
    case LAYER_LEAKY_RELU:
        if (!(l->alpha >= 0 && l->alpha <= 1))
            return nn_fail(err, NN_EVALUE, "layer %03d (leaky_relu): alpha = %g must lie in [0, 1]", index, l->alpha);
        return NN_OK;
    case LAYER_PARAM_RAMP:
        if (!(l->alpha >= 0 && l->alpha <= 1))
            return nn_fail(err, NN_EVALUE, "layer %03d (param_ramp): eta = %g must lie in [0, 1]", index, l->alpha);
        if ((size_t)l->in_features != n_in)
            return nn_fail(err, NN_ESHAPE, "layer %03d (param_ramp): r has %d entries, input has %zu neurons", index,
                           l->in_features, n_in);
        if ((rc = check_finite(l->r, n_in, index, l, "r", err))) return rc;
        for (size_t i = 0; i < n_in; i++)
            if (l->r[i] < 0)
                return nn_fail(err, NN_EVALUE, "layer %03d (param_ramp): r[%zu] = %g must be >= 0", index, i,
                               l->r[i]);
        return NN_OK;
    case LAYER_ADD: /* shapes were matched with the second input in model_finalize */
        return NN_OK;
    default:
        return nn_fail(err, NN_EUNSUPPORTED, "layer %03d: unknown layer type %d (%s)", index, (int)l->type, name);
    }
}

static nn_shape output_of(const nn_model *m, int k) { return k < 0 ? m->input : m->layers[k].out; }

/* The inputs of layer i: earlier layers or the model input, as many as its type
 * reads; the input shape is the first one's output, and an add's two agree. */
static int finalize_inputs(const nn_model *m, int i, nn_error *err)
{
    const nn_layer *l = &m->layers[i];
    const char *name = layer_type_name(l->type);
    int want = l->type == LAYER_ADD ? 2 : 1;
    if (l->n_inputs < 0 || l->n_inputs > 2 || (l->n_inputs != 0 && l->n_inputs != want) ||
        (l->n_inputs == 0 && want == 2))
        return nn_fail(err, NN_EFORMAT, "layer %03d (%s): %d inputs given, it reads %d", i, name, l->n_inputs, want);
    for (int k = 0; k < l->n_inputs; k++)
        if (l->input[k] < -1 || l->input[k] >= i)
            return nn_fail(err, NN_EFORMAT,
                           "layer %03d (%s): input %d is layer %d; inputs must be earlier layers or -1 (the model "
                           "input)", i, name, k, l->input[k]);
    if (want == 2) {
        nn_shape a = output_of(m, l->input[0]), b = output_of(m, l->input[1]);
        if (a.c != b.c || a.h != b.h || a.w != b.w)
            return nn_fail(err, NN_ESHAPE, "layer %03d (add): its inputs have shapes %dx%dx%d (layer %d) and "
                           "%dx%dx%d (layer %d)", i, a.c, a.h, a.w, l->input[0], b.c, b.h, b.w, l->input[1]);
    }
    return NN_OK;
}

int model_finalize(nn_model *m, nn_error *err)
{
    if (m->input.c < 1 || m->input.h < 1 || m->input.w < 1)
        return nn_fail(err, NN_ESHAPE, "input_shape %dx%dx%d must be positive", m->input.c, m->input.h, m->input.w);
    if (m->n_layers < 1) return nn_fail(err, NN_EFORMAT, "the model has no layers");
    for (int i = 0; i < m->n_layers; i++) {
        int rc = finalize_inputs(m, i, err);
        if (rc) return rc;
        m->layers[i].in = output_of(m, model_layer_input(m, i, 0));
        if ((rc = finalize_layer(i, &m->layers[i], err))) return rc;
    }
    return NN_OK;
}

/* The normalization of --mean/--std as the model's first layer, so that inputs,
 * regions and counterexamples stay in pixel space (doc/formats.md "Input
 * normalization"). */
int model_prepend_normalize(nn_model *m, const double *mean, const double *std, int n, nn_error *err)
{
    const nn_shape in = m->input;
    const size_t size = shape_size(in);
    const int flat = in.h == 1 && in.w == 1;
    /* per channel; one value for all; or, on a flat input, n blocks in C,H,W order */
    int channels = in.c, per = 1;
    if (n != in.c && n != 1) {
        if (!flat || n < 1 || size % (size_t)n)
            return nn_fail(err, NN_ESHAPE, "%d mean/std values do not fit the model input %dx%dx%d: give one per "
                           "channel (%d) or one for all", n, in.c, in.h, in.w, in.c);
        per = (int)(size / (size_t)n);
    }
    nn_layer l = layer_make(LAYER_NORMALIZE);
    l.in_features = channels;
    l.mean = nn_malloc((size_t)channels * sizeof *l.mean, "normalize mean", err);
    l.std = l.mean ? nn_malloc((size_t)channels * sizeof *l.std, "normalize std", err) : NULL;
    if (!l.std) {
        layer_free(&l);
        return NN_ENOMEM;
    }
    for (int c = 0; c < channels; c++) {
        int k = n == 1 ? 0 : c / per;
        l.mean[c] = mean[k];
        l.std[c] = std[k];
    }
    if (model_append(m, &l, err)) return err->code;
    /* move it to the front; earlier-layer indices of graph models shift by one */
    nn_layer first = m->layers[m->n_layers - 1];
    memmove(m->layers + 1, m->layers, (size_t)(m->n_layers - 1) * sizeof *m->layers);
    m->layers[0] = first;
    for (int i = 1; i < m->n_layers; i++)
        for (int k = 0; k < m->layers[i].n_inputs; k++) m->layers[i].input[k] += 1;
    return model_finalize(m, err);
}
