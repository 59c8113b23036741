/* 'nncert inspect MODEL': layers, shapes, hyper-parameters and parameter counts
 * of a native HDF5 or ONNX model, as the engine sees it after loading. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "model.h"
#include "model_io.h"

static const char *const cmd = "inspect";

static void help(void)
{
    printf("usage: nncert inspect MODEL\n\n"
           "Loads MODEL (native HDF5, or ONNX when the name ends in .onnx) and prints one\n"
           "line per layer: index, type, input -> output shape (CxHxW), parameter count\n"
           "and hyper-parameters; then the total parameter count, input and output\n"
           "shapes, the model name and the /meta attributes (accuracy, data set, ...).\n\n"
           "options:\n"
           "  -h, --help   show this help\n\n"
           "exit status: 0 on success, 1 when the model cannot be loaded, 2 on usage errors.\n");
}

static const char *shape_text(nn_shape s, char buf[48])
{
    snprintf(buf, 48, "%dx%dx%d", s.c, s.h, s.w);
    return buf;
}

static void hyper_text(const nn_model *m, int i, char *buf, size_t n)
{
    const nn_layer *l = &m->layers[i];
    buf[0] = '\0';
    /* where a layer of a residual graph reads from (-1: the model input) */
    if (l->type == LAYER_ADD) {
        snprintf(buf, n, "inputs %d + %d", model_layer_input(m, i, 0), model_layer_input(m, i, 1));
        return;
    }
    if (model_layer_input(m, i, 0) != i - 1) {
        int k = snprintf(buf, n, "input %d  ", model_layer_input(m, i, 0));
        buf += k, n -= (size_t)k;
    }
    switch (l->type) {
    case LAYER_CONV2D:
        snprintf(buf, n, "kernel %dx%d stride %dx%d pad %d,%d,%d,%d dilation %dx%d", l->kernel[0], l->kernel[1],
                 l->stride[0], l->stride[1], l->pad[0], l->pad[1], l->pad[2], l->pad[3], l->dilation[0],
                 l->dilation[1]);
        break;
    case LAYER_MAXPOOL2D:
    case LAYER_AVGPOOL2D: {
        int k = snprintf(buf, n, "kernel %dx%d stride %dx%d pad %d,%d,%d,%d", l->kernel[0], l->kernel[1],
                         l->stride[0], l->stride[1], l->pad[0], l->pad[1], l->pad[2], l->pad[3]);
        if (layer_counts_padding(l) && k > 0 && (size_t)k < n)
            snprintf(buf + k, n - (size_t)k, " count_pad %d,%d,%d,%d", l->count_pad[0], l->count_pad[1],
                     l->count_pad[2], l->count_pad[3]);
        break;
    }
    case LAYER_LEAKY_RELU: snprintf(buf, n, "alpha %g", l->alpha); break;
    case LAYER_PARAM_RAMP: snprintf(buf, n, "eta %g", l->alpha); break;
    default: break;
    }
}

static void print_model(const nn_model *m)
{
    char a[48], b[48], hyper[160];
    printf("%-5s  %-10s  %-13s    %-13s  %10s  %s\n", "layer", "type", "input", "output", "params",
           "hyper-parameters");
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        hyper_text(m, i, hyper, sizeof hyper);
        printf("%03d    %-10s  %-13s -> %-13s  %10zu%s%s\n", i, layer_type_name(l->type), shape_text(l->in, a),
               shape_text(l->out, b), layer_param_count(l), hyper[0] ? "  " : "", hyper);
    }
    printf("total parameters: %zu\n", model_param_count(m));
    printf("input shape: %s (%zu values)\n", shape_text(m->input, a), model_input_size(m));
    printf("output size: %zu\n", model_output_size(m));
    printf("name: %s\n", m->name && m->name[0] ? m->name : "(none)");
    for (int i = 0; i < m->n_meta; i++) {
        const nn_meta *e = &m->meta[i];
        if (e->kind == META_STRING)
            printf("meta %s: %s\n", e->key, e->str ? e->str : "");
        else if (e->kind == META_INT)
            printf("meta %s: %.0f\n", e->key, e->num);
        else
            printf("meta %s: %.15g\n", e->key, e->num);
    }
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && (!strcmp(arg, "-h") || !strcmp(arg, "--help"))) {
            help();
            return CLI_EXIT_OK;
        }
        if (!options_done && !strcmp(arg, "--")) {
            options_done = 1;
        } else if (!options_done && arg[0] == '-' && arg[1]) {
            return cli_usage_error(cmd, "unknown option '%s'", arg);
        } else if (path) {
            return cli_usage_error(cmd, "expected one MODEL, got '%s' and '%s'", path, arg);
        } else {
            path = arg;
        }
    }
    if (!path) return cli_usage_error(cmd, "missing MODEL (a native .h5 or an .onnx file)");

    nn_model m;
    nn_error err;
    if (model_load(path, &m, &err)) return cli_report(cmd, &err);
    print_model(&m);
    model_free(&m);
    return CLI_EXIT_OK;
}
