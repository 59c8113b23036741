/* Fuzz harness: a branch-and-bound checkpoint as `nncert verify --checkpoint`
 * reads it (checkpoint_read: header, identity, checksum) and resumes it
 * (prop_verify with bab.resume: bab_snapshot_decode, then the checks against
 * the property and the model, then the search on the domains it holds, a few
 * rounds at most). An input that starts like a checkpoint file is that file,
 * its identity taken from its own header so real files get past the identity
 * check; any other input is the snapshot inside a file written around it
 * (checkpoint_write), since a mutated file rarely keeps its CRC-32 and the
 * decoder behind it is what needs the fuzzing. The search runs once by ReLU
 * phases and once by input halves, so either kind of snapshot is resumed.
 * Needs the repository root as the working folder (the ACAS Xu-like 2x[12]
 * net and property 1 of benchmarks/zoo_bab). Seeds:
 * tests/fuzz/corpus/fuzz_bab_checkpoint/ (files and bare snapshots). */
#include <stdint.h>

#include "checkpoint_file.h"
#include "fuzz_util.h"
#include "model_io.h"
#include "property.h"
#include "vnnlib.h"

static nn_model model;
static prop_spec spec;
static int loaded;

static void load_once(void)
{
    if (loaded) return;
    nn_error err;
    prop_spec_init(&spec);
    if (model_load("models/acas/acasxu_like_2x12.onnx", &model, &err) ||
        vnnlib_read("benchmarks/zoo_bab/vnnlib/acas_prop_1.vnnlib", NULL, &spec, &err)) {
        fprintf(stderr, "fuzz_bab_checkpoint: run from the repository root: %s\n", err.msg);
        abort();
    }
    loaded = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_once();
    char path[600], identity[4096] = "fuzz job";
    nn_error err;
    fuzz_write_file("search.ckpt", data, size, path, sizeof path);
    if (size >= 12 && (memcmp(data, "NNCKPT01", 8) == 0 || memcmp(data, "NNCKPT02", 8) == 0)) {
        size_t len = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 | (size_t)data[11] << 24;
        if (len < sizeof identity && len <= size - 12) {
            memcpy(identity, data + 12, len);
            identity[len] = '\0';
        }
    } else if (checkpoint_write(path, identity, "fuzz", data, size, &err)) {
        fprintf(stderr, "fuzz_bab_checkpoint: %s\n", err.msg);
        abort();
    }
    unsigned char *bytes = NULL;
    size_t len = 0;
    int found = 0;
    char build[256];
    int rc = checkpoint_read(path, identity, &bytes, &len, &found, build, sizeof build, &err);
    fuzz_check_refusal(rc, &err);
    if (rc || !found) return 0;
    for (int relu = 0; relu < 2; relu++) {
        prop_options o;
        prop_options_default(&o);
        o.steps = 5, o.restarts = 1, o.timeout = 2;
        o.bab.enabled = 1;
        o.bab.split = relu ? BAB_SPLIT_RELU : BAB_SPLIT_INPUT;
        o.bab.max_domains = 64;
        o.bab.resume = bytes, o.bab.resume_len = len;
        prop_result r;
        rc = prop_verify(&model, &spec, &o, &r, &err);
        fuzz_check_refusal(rc, &err);
        if (rc == NN_OK) prop_result_free(&r);
    }
    free(bytes);
    return 0;
}
