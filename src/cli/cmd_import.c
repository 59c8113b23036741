/* 'nncert import IN OUT.h5': converts an ONNX network or a Keras 2 HDF5 model to
 * the native HDF5 model file (doc/formats.md "Peer formats", "Keras"). BatchNormalization, bias Adds and input Sub/Div are
 * folded on the way, so the native file holds exactly the layers the engines run;
 * residual Adds become add layers (a version 2 file). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model.h"
#include "model_io.h"
#include "keras_import.h"
#include "onnx_import.h"

static const char *const cmd = "import";

static void help(void)
{
    printf("usage: nncert import IN.onnx|IN.h5 OUT.h5 [--name NAME] [--keras-config ARCH.json]\n\n"
           "Reads a sequential ONNX network, or a Keras 2 HDF5 model, and writes it as a\n"
           "native nncert model file.\n\n"
           "ONNX: "
           "Supported ops: Gemm, MatMul(+Add), Conv (any group), MaxPool, AveragePool,\n"
           "GlobalAveragePool, Flatten, flattening Reshape, Relu, LeakyRelu, Sigmoid, Tanh,\n"
           "Atan, BatchNormalization (folded into the preceding Gemm/MatMul/Conv),\n"
           "Sub/Add/Mul/Div by constants on the input (stored as a normalize layer),\n"
           "Constant, Identity, Dropout, zero Pad (before Conv/AveragePool), Transpose of\n"
           "constants, the integer Shape/Gather/Unsqueeze/Concat/Cast arithmetic of a\n"
           "flatten, auto_pad SAME_*, ceil_mode and count_include_pad on pools,\n"
           "float16 weights, and Add of two values (a residual connection).\n"
           "Inputs [F], [N,F], [N,1,F], [N,H,W], [N,C,H,W], and [N,H,W,C] read by a\n"
           "Transpose to NCHW. A final Softmax or LogSoftmax is dropped (the argmax is\n"
           "unchanged): a note says so on stderr and in /meta as import_note.\n"
           "See doc/formats.md, \"Peer formats\", for the restrictions.\n\n"
           "Keras (model.save files: the root attribute model_config; see doc/formats.md,\n"
           "\"Keras\"): Sequential models and functional chains of InputLayer, Dense,\n"
           "Conv2D (valid/same, strides, dilation), MaxPooling2D, AveragePooling2D,\n"
           "Flatten, Activation, ReLU, LeakyReLU, BatchNormalization, Dropout, Reshape to a\n"
           "vector, CROWN's arctan Lambda, activations relu, tanh, sigmoid, arctan,\n"
           "linear; channels-last weights are converted to C,H,W. A final softmax is\n"
           "dropped with a note. Files of model.save_weights need --keras-config.\n"
           "The input file name is stored in /meta as imported_from.\n\n"
           "options:\n"
           "  --name NAME  model name stored in the file (default: the ONNX graph name,\n"
           "               or the file name without .onnx; the Keras model name)\n"
           "  --keras-config ARCH.json  the architecture (model.to_json()) of a Keras\n"
           "               file; needed for weights-only files (model.save_weights)\n"
           "  -h, --help   show this help\n\n"
           "exit status: 0 on success, 1 when the model cannot be read or written,\n"
           "2 on usage errors.\n");
}

int cmd_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *name = NULL, *arch = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help();
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--name") || !strncmp(a, "--name=", 7)) {
            if (a[6] == '=') name = a + 7;
            else if (i + 1 < argc) name = argv[++i];
            else return cli_usage_error(cmd, "--name needs a value");
        } else if (!strcmp(a, "--keras-config") || !strncmp(a, "--keras-config=", 15)) {
            if (a[14] == '=') arch = a + 15;
            else if (i + 1 < argc) arch = argv[++i];
            else return cli_usage_error(cmd, "--keras-config needs a file");
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", a);
        }
    }
    if (!in || !out) return cli_usage_error(cmd, "needs an input .onnx file (or a Keras .h5 file) and an output .h5 file");
    int st = cli_guard_output(cmd, out, in, NULL, NULL);
    if (st >= 0) return st;

    nn_model m;
    nn_error err;
    nn_error_clear(&err);
    size_t n_in = strlen(in);
    int onnx = n_in >= 5 && !strcasecmp(in + n_in - 5, ".onnx");
    if (onnx && arch) return cli_usage_error(cmd, "--keras-config is for Keras files, not '%s'", in);
    if (onnx ? onnx_import_file(in, &m, &err) : keras_import_file(in, arch, &m, &err)) return cli_report(cmd, &err);
    /* the library prints nothing: say here what the import changed */
    const nn_meta *note = model_get_meta(&m, "import_note");
    if (note && note->str) fprintf(stderr, "%s: note: %s\n", in, note->str);
    int rc = CLI_EXIT_OK;
    if (name) {
        char *copy = strdup(name);
        if (!copy) {
            nn_fail(&err, NN_ENOMEM, "out of memory");
            model_free(&m);
            return cli_report(cmd, &err);
        }
        free(m.name);
        m.name = copy;
    }
    /* The importer records the file name; set it here too so the contract of this
     * command does not depend on that detail. */
    const char *base = strrchr(in, '/');
    if (model_set_meta_string(&m, "imported_from", base ? base + 1 : in, &err) || model_write_h5(out, &m, &err))
        rc = cli_report(cmd, &err);
    else
        printf("%s: %d layers, %zu parameters, input %dx%dx%d -> %zu outputs, written to %s\n", in, m.n_layers,
               model_param_count(&m), m.input.c, m.input.h, m.input.w, model_output_size(&m), out);
    model_free(&m);
    return rc;
}
