/* model: the in-memory network — an ordered list of layers with C,H,W shapes.
 * Every reader (native HDF5, ONNX) produces an nn_model and every engine
 * (forward pass, bounds, attacks) consumes one; parameters are double precision. */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include "nn_error.h"

typedef enum {
    LAYER_NORMALIZE,   /* y = (x - mean_c) / std_c per channel */
    LAYER_DENSE,       /* y = W x + b, W [out, in] row-major */
    LAYER_CONV2D,      /* W [Co, Ci, kH, kW], stride, padding, dilation */
    LAYER_MAXPOOL2D,   /* max over windows; padding cells are not inputs */
    LAYER_AVGPOOL2D,   /* mean over windows; divisor: real cells and count_pad cells */
    LAYER_FLATTEN,     /* no-op on C,H,W memory order */
    LAYER_RELU,
    LAYER_TANH,
    LAYER_SIGMOID,
    LAYER_ARCTAN,
    LAYER_LEAKY_RELU,  /* alpha */
    LAYER_PARAM_RAMP,  /* eta (in alpha), r per neuron */
    LAYER_ADD,         /* y = a + b, the outputs of two earlier layers (a residual connection) */
    LAYER_TYPE_COUNT
} layer_type;

typedef struct {
    int c, h, w;       /* channels, height, width; an MLP vector is (n,1,1) */
} nn_shape;

typedef struct {
    layer_type type;
    nn_shape in, out;  /* filled by model_finalize() */
    double *weight;    /* dense [out,in]; conv2d [Co,Ci,kH,kW]; else NULL */
    double *bias;      /* dense [out]; conv2d [Co]; else NULL */
    double *mean;      /* normalize [C] */
    double *std;       /* normalize [C], all > 0 */
    double *r;         /* param_ramp [in size], one ramp end per neuron */
    double alpha;      /* leaky_relu slope; param_ramp eta */
    int out_channels;  /* conv2d Co; dense output size */
    int in_features;   /* as stored: dense input size, conv2d Ci, normalize C,
                          param_ramp len(r); model_finalize checks it */
    int kernel[2];     /* conv2d/pools kH, kW */
    int stride[2];     /* conv2d/pools, (1,1) by default for conv */
    int pad[4];        /* top, left, bottom, right */
    int count_pad[4];  /* avgpool2d: padding cells per side (each <= pad) that count in
                          the divisor (ONNX/PyTorch count_include_pad); 0: real cells only */
    int dilation[2];   /* conv2d, (1,1) by default */
    /* Where the layer's input comes from. n_inputs = 0 (the default): the output
     * of the layer just before (the model input for layer 0), a sequential model.
     * Otherwise input[0 .. n_inputs) are indices of earlier layers whose outputs
     * it reads, -1 for the model input; add reads two. */
    int n_inputs;
    int input[2];
} nn_layer;

typedef enum { META_STRING, META_DOUBLE, META_INT } meta_kind;

typedef struct {
    char *key;
    meta_kind kind;
    char *str;         /* META_STRING */
    double num;        /* META_DOUBLE and META_INT */
} nn_meta;

typedef struct {
    char *name;        /* free text, may be "" */
    nn_shape input;    /* C,H,W of one input image */
    int n_layers;
    nn_layer *layers;  /* owned; applied in index order */
    int n_meta;
    nn_meta *meta;     /* owned; /meta attributes of the native file */
    char *source;      /* path the model was read from, for messages */
} nn_model;

/* Prototypes */
void model_init(nn_model *m);
void model_free(nn_model *m);
/* Append a layer; the model takes ownership of its arrays (on failure too). */
int model_append(nn_model *m, const nn_layer *layer, nn_error *err);
/* A zeroed layer of the given type with the schema's defaults set. */
nn_layer layer_make(layer_type type);
void layer_free(nn_layer *layer);
/* Compute every layer's in/out shape from m->input and check that parameters
 * fit those shapes and are finite. Errors name the layer index and problem. */
int model_finalize(nn_model *m, nn_error *err);
int model_set_meta_string(nn_model *m, const char *key, const char *value, nn_error *err);
int model_set_meta_double(nn_model *m, const char *key, double value, meta_kind kind, nn_error *err);
const nn_meta *model_get_meta(const nn_model *m, const char *key);

size_t shape_size(nn_shape s);
size_t model_input_size(const nn_model *m);
size_t model_output_size(const nn_model *m);
size_t layer_param_count(const nn_layer *layer);
size_t model_param_count(const nn_model *m);

const char *layer_type_name(layer_type t);
/* Returns -1 for an unknown name. */
int layer_type_parse(const char *name);
/* Element-wise monotone activation (relu, tanh, ...). */
int layer_is_activation(layer_type t);
/* Affine map of its input: dense, conv2d, normalize, avgpool2d, flatten. */
int layer_is_affine(layer_type t);
/* Needs a relaxation in the bound engine: an activation or a maxpool. */
int layer_is_nonlinear(layer_type t);
/* Works on windows of a C,H,W map: conv2d, avgpool2d, maxpool2d. */
int layer_is_spatial(layer_type t);
/* An avgpool2d whose divisor counts some padding cells (a count_pad entry > 0). */
int layer_counts_padding(const nn_layer *layer);
/* Index of the layer whose output is input k of layer i (-1: the model input). */
int model_layer_input(const nn_model *m, int i, int k);
/* Every layer reads the output of the one before and none is an add: a chain. */
int model_is_sequential(const nn_model *m);
/* Put y = (x - mean) / std first (std > 0, finite: checked by model_finalize).
 * n values: one per input channel, one for all, or, on a flat input of F values,
 * one per block of F/n consecutive values (the channels of C,H,W data). */
int model_prepend_normalize(nn_model *m, const double *mean, const double *std, int n, nn_error *err);

#endif
