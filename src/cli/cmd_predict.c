/* 'nncert predict MODEL --data D': the exact forward pass over a data set, with
 * accuracy and throughput, and optionally every logit to a text file.
 * Timing covers the forward pass and argmax only, not loading. */
#include "cli.h"
#include "nn_clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_threads.h"
#include "dataset.h"
#include "forward.h"
#include "model.h"
#include "cert_job.h"
#include "model_io.h"

static const char *const cmd = "predict";

static void help(void)
{
    printf("usage: nncert predict MODEL --data D [--start S] [--count N] [--batch B] [--logits FILE]\n"
           "                      [--threads N] [--mean M1,M2,.. --std S1,S2,..]\n\n"
           "Runs MODEL (native HDF5, Keras 2 HDF5, or ONNX when the name ends in .onnx) on images\n"
           "[S, S+N) of data set D and prints: images, correct, accuracy (%%), seconds\n"
           "(forward pass only) and images/s.\n\n"
           "options:\n"
           "  --data D        fashion-mnist:test|train, fashion-mnist-rgb32:test|train (padded\n"
           "                  to 3x32x32), mnist:test|train, an IDX image file\n"
           "                  (labels found by replacing images-idx3 with labels-idx1), or\n"
           "                  IMAGES,LABELS, cifar10:DIR[:test|:train] (CIFAR-10 binary\n"
           "                  batches) or npy:X.npy,labels=Y.npy[,layout=nhwc]\n"
           "  --mean M1,..    input normalization (x - mean) / std per channel, put in\n"
           "  --std S1,..     front of the model (one value serves every channel)\n"
           "  --start S       first image index (default 0)\n"
           "  --count N       number of images; 0 means to the end (default 0)\n"
           "  --batch B       images per forward_run call (default 4096; memory is bounded\n"
           "                  by internal chunking whatever B is)\n"
           "  --logits FILE   write one line per image: INDEX LABEL PRED l0 l1 ... (%%.17g)\n"
           "  --threads N     BLAS threads of the forward pass (default 1, whatever\n"
           "                  OPENBLAS_NUM_THREADS says; more only help large batches of\n"
           "                  convolutions when cores are idle)\n"
           "  -h, --help      show this help\n\n"
           "The image shape must equal the model's input shape, or have the same size\n"
           "when one of them is a flat vector (an MLP on 1x1x784 takes 1x28x28 images).\n\n"
           "exit status: 0 on success, 1 when the model or data cannot be used, 2 on usage errors.\n");
}

/* At most one dimension above 1: a vector whatever the C,H,W split. */
static int shape_is_flat(nn_shape s) { return (s.c > 1) + (s.h > 1) + (s.w > 1) <= 1; }

static int shapes_compatible(nn_shape model, nn_shape data)
{
    if (model.c == data.c && model.h == data.h && model.w == data.w) return 1;
    return shape_size(model) == shape_size(data) && (shape_is_flat(model) || shape_is_flat(data));
}

/* "--opt VALUE" or "--opt=VALUE": returns the value and advances *i, NULL if
 * arg is not this option; *missing is set when the value is absent. */
static const char *option_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t n = strlen(opt);
    const char *arg = argv[*i];
    if (strncmp(arg, opt, n) != 0) return NULL;
    if (arg[n] == '=') return arg + n + 1;
    if (arg[n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

typedef struct {
    const char *model, *data, *logits, *mean, *std;
    long start, count, batch;
    long threads;
} predict_opts;

/* Returns -1 when the options are fine, else the exit status to use. */
static int parse(int argc, char **argv, predict_opts *o)
{
    static const char *const valued[] = {"--data",    "--start", "--count", "--batch",
                                         "--logits",  "--threads", "--mean", "--std"};
    *o = (predict_opts){NULL, NULL, NULL, NULL, NULL, 0, 0, 4096, 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            help();
            return CLI_EXIT_OK;
        }
        int matched = 0, missing = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !matched; k++) {
            const char *v = option_value(argc, argv, &i, valued[k], &missing);
            if (missing) return cli_usage_error(cmd, "%s needs a value", valued[k]);
            if (!v) continue;
            matched = 1;
            if (k == 0) o->data = v;
            else if (k == 4) o->logits = v;
            else if (k == 6) o->mean = v;
            else if (k == 7) o->std = v;
            else if (k == 1 && cli_parse_int(cmd, "--start", v, 0, 1L << 40, &o->start)) return CLI_EXIT_USAGE;
            else if (k == 2 && cli_parse_int(cmd, "--count", v, 0, 1L << 40, &o->count)) return CLI_EXIT_USAGE;
            else if (k == 3 && cli_parse_int(cmd, "--batch", v, 1, 1L << 20, &o->batch)) return CLI_EXIT_USAGE;
            else if (k == 5 && cli_parse_int(cmd, "--threads", v, 1, BLAS_THREADS_MAX, &o->threads))
                return CLI_EXIT_USAGE;
        }
        if (matched) continue;
        if (arg[0] == '-' && arg[1]) return cli_usage_error(cmd, "unknown option '%s'", arg);
        if (o->model) return cli_usage_error(cmd, "expected one MODEL, got '%s' and '%s'", o->model, arg);
        o->model = arg;
    }
    if (!o->model) return cli_usage_error(cmd, "missing MODEL (a native .h5 or an .onnx file)");
    if (!o->data) return cli_usage_error(cmd, "missing --data (e.g. --data fashion-mnist:test)");
    if (o->logits && !o->logits[0]) return cli_usage_error(cmd, "--logits needs a file name");
    input_norm norm;
    nn_error err;
    if (input_norm_parse(o->mean, o->std, &norm, &err)) return cli_usage_error(cmd, "%s", err.msg);
    input_norm_free(&norm);
    return -1;
}

static int write_logits(FILE *f, const nn_dataset *ds, size_t r0, size_t nb, const double *logits, size_t n_out,
                        const int *pred)
{
    for (size_t r = 0; r < nb; r++) {
        fprintf(f, "%zu %d %d", ds->first + r0 + r, ds->labels[r0 + r], pred[r]);
        for (size_t j = 0; j < n_out; j++) fprintf(f, " %.17g", logits[r * n_out + j]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o;
    int st = parse(argc, argv, &o);
    if (st >= 0) return st;
    if ((st = cli_set_threads(cmd, (int)o.threads)) >= 0) return st;
    if (o.logits && (st = cli_guard_output(cmd, o.logits, o.model, o.data, NULL)) >= 0) return st;

    nn_model m;
    nn_dataset ds;
    nn_error err;
    memset(&ds, 0, sizeof ds);
    input_norm norm;
    model_init(&m);
    int lrc = input_norm_parse(o.mean, o.std, &norm, &err);
    if (!lrc && !(lrc = model_load(o.model, &m, &err))) lrc = input_norm_apply(&norm, &m, &err);
    input_norm_free(&norm);
    if (lrc) {
        model_free(&m);
        return cli_report(cmd, &err);
    }
    if (dataset_load(o.data, (size_t)o.start, (size_t)o.count, &ds, &err)) {
        model_free(&m);
        return cli_report(cmd, &err);
    }

    size_t n_in = model_input_size(&m), n_out = model_output_size(&m), batch = (size_t)o.batch;
    double *logits = NULL;
    int *pred = NULL;
    FILE *lf = NULL;
    int status = CLI_EXIT_FAIL;
    if (!shapes_compatible(m.input, ds.shape)) {
        fprintf(stderr, "nncert predict: %s has images of shape %dx%dx%d but model %s expects input %dx%dx%d\n",
                ds.source, ds.shape.c, ds.shape.h, ds.shape.w, o.model, m.input.c, m.input.h, m.input.w);
        goto done;
    }
    if (ds.n == 0) {
        fprintf(stderr, "nncert predict: %s: no images selected\n", ds.source);
        goto done;
    }
    if (dataset_check_labels(&ds, n_out, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    if (batch > ds.n) batch = ds.n;
    logits = nn_malloc(batch * n_out * sizeof *logits, "logits", &err);
    pred = logits ? nn_malloc(batch * sizeof *pred, "predictions", &err) : NULL;
    if (!pred) {
        cli_report(cmd, &err);
        goto done;
    }
    if (o.logits && !(lf = fopen(o.logits, "w"))) {
        fprintf(stderr, "nncert predict: cannot write logits file %s: %s\n", o.logits, strerror(errno));
        goto done;
    }

    size_t correct = 0;
    double seconds = 0;
    for (size_t r0 = 0; r0 < ds.n; r0 += batch) {
        size_t nb = ds.n - r0 < batch ? ds.n - r0 : batch;
        double t0 = nn_wall_seconds();
        if (forward_run(&m, ds.images + r0 * n_in, nb, logits, &err)) {
            nn_error_prefix(&err, "%s on %s images %zu..%zu: ", o.model, ds.source, ds.first + r0,
                            ds.first + r0 + nb - 1);
            cli_report(cmd, &err);
            goto done;
        }
        for (size_t r = 0; r < nb; r++) {
            pred[r] = forward_argmax(logits + r * n_out, n_out);
            correct += pred[r] == ds.labels[r0 + r];
        }
        seconds += nn_wall_seconds() - t0;
        if (lf && write_logits(lf, &ds, r0, nb, logits, n_out, pred)) {
            fprintf(stderr, "nncert predict: error writing logits file %s: %s\n", o.logits, strerror(errno));
            goto done;
        }
    }
    if (lf) {
        int rc = fclose(lf);
        lf = NULL;
        if (rc) {
            fprintf(stderr, "nncert predict: error writing logits file %s: %s\n", o.logits, strerror(errno));
            goto done;
        }
    }
    printf("model: %s\n", o.model);
    printf("data: %s images %zu..%zu of %zu\n", ds.source, ds.first, ds.first + ds.n - 1, ds.total);
    printf("images: %zu\n", ds.n);
    printf("correct: %zu\n", correct);
    printf("accuracy: %.2f %%\n", 100.0 * (double)correct / (double)ds.n);
    printf("seconds: %.6f\n", seconds);
    printf("images/s: %.1f\n", seconds > 0 ? (double)ds.n / seconds : 0.0);
    status = CLI_EXIT_OK;
done:
    if (lf) fclose(lf);
    free(logits);
    free(pred);
    dataset_free(&ds);
    model_free(&m);
    return status;
}
