/* fuzz_util: what the fuzz harnesses (tests/fuzz/fuzz_*.c) share: a private
 * temporary file for loaders that take a path, the rule that a refused input
 * comes with a message, and a forward pass over every model a loader accepts. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "forward.h"
#include "model.h"
#include "nn_error.h"

static char fuzz_dir[512];

/* Removes the scratch directory and whatever the harness left in it. */
static inline void fuzz_tmp_cleanup(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", fuzz_dir);
}

/* A directory for this process's scratch files: /dev/shm when there is one
 * (tmpfs: no disk writes at thousands of inputs a second), else $TMPDIR or /tmp. */
static inline const char *fuzz_tmp_dir(void)
{
    if (!fuzz_dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/nncert-fuzz.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(fuzz_dir)) abort();
        atexit(fuzz_tmp_cleanup);
    }
    return fuzz_dir;
}

/* path = fuzz_tmp_dir()/name; the file holds exactly data[0, size). */
static inline void fuzz_write_file(const char *name, const uint8_t *data, size_t size, char *path, size_t path_size)
{
    snprintf(path, path_size, "%s/%s", fuzz_tmp_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) abort();
}

/* Inputs that hold two files: a big-endian 4-byte length L at data, then L bytes
 * of the first file (fewer if the input ends) and the rest the second. Consumes
 * the length; returns L. The caller checked that 4 bytes are there. */
static inline size_t fuzz_take_length(const uint8_t **data, size_t *size)
{
    const uint8_t *d = *data;
    size_t len = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
    *data += 4;
    *size -= 4;
    return len < *size ? len : *size;
}

/* HDF5 readers try each file in a child first (h5_sandbox.h); its time limit
 * must stay under libFuzzer's -timeout so that a hang is HDF5's, reported as
 * a refusal, not the harness's. */
static inline void fuzz_hdf5_limits(void) { setenv("NNCERT_HDF5_TIMEOUT", "3", 0); }

/* A refused input must say why: a code that is not NN_OK and a message. */
static inline void fuzz_check_refusal(int rc, const nn_error *err)
{
    if (rc == NN_OK) return;
    if (err->code == NN_OK || err->code != (nn_code)rc || !err->msg[0]) {
        fprintf(stderr, "refused with code %d but error {%d, \"%s\"}\n", rc, (int)err->code, err->msg);
        abort();
    }
}

/* A data set loader's window (dataset.h): an accepted one has images in [0, 1]
 * and, checked against 10 classes, labels accepted or refused with a message. */
static inline void fuzz_load_dataset(const char *spec, size_t start, size_t count)
{
    nn_error err;
    nn_dataset ds;
    int rc = dataset_load(spec, start, count, &ds, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) {
        size_t values = ds.n * shape_size(ds.shape);
        for (size_t i = 0; i < values; i++)
            if (!(ds.images[i] >= 0 && ds.images[i] <= 1)) abort();
        rc = dataset_check_labels(&ds, 10, &err);
        fuzz_check_refusal(rc, &err);
    }
    dataset_free(&ds);
}

/* Rough multiply-adds of one forward pass, to skip models that are valid but
 * too big to run thousands of times a second. */
static inline double fuzz_forward_cost(const nn_model *m)
{
    double cost = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        double out = (double)l->out.c * l->out.h * l->out.w;
        if (l->type == LAYER_CONV2D) cost += (double)layer_param_count(l) * l->out.h * l->out.w;
        else if (l->type == LAYER_DENSE) cost += (double)layer_param_count(l);
        else if (l->type == LAYER_MAXPOOL2D || l->type == LAYER_AVGPOOL2D) cost += out * l->kernel[0] * l->kernel[1];
        else cost += out;
    }
    return cost;
}

/* A model a loader accepted must run: one forward pass of a mid-grey image. */
static inline void fuzz_run_model(const nn_model *m)
{
    if (fuzz_forward_cost(m) > 2e6) return;
    size_t n_in = model_input_size(m), n_out = model_output_size(m);
    double *x = malloc(n_in * sizeof *x), *y = malloc(n_out * sizeof *y);
    if (!x || !y) abort();
    for (size_t i = 0; i < n_in; i++) x[i] = 0.5;
    nn_error err;
    int rc = forward_run(m, x, 1, y, &err);
    fuzz_check_refusal(rc, &err);
    free(x);
    free(y);
}

#endif
