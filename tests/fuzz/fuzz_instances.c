/* Fuzz harness: VNN-COMP instance lists (instances.c, instances.csv). The input
 * is the file; an accepted list has, for every line, an ONNX and a VNN-LIB name
 * resolved to a path and a timeout above 0. Seeds: tests/fuzz/corpus/fuzz_instances/. */
#include <math.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "instances.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    fuzz_write_file("instances.csv", data, size, path, sizeof path);
    instances in;
    nn_error err;
    int rc = instances_read(path, &in, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK)
        for (size_t i = 0; i < in.n; i++)
            if (!in.onnx[i] || !in.vnnlib[i] || !in.onnx_path[i] || !in.vnnlib_path[i] || !(in.timeout[i] > 0) ||
                !isfinite(in.timeout[i]))
                abort();
    instances_free(&in);
    return 0;
}
