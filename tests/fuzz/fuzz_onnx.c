/* Fuzz harness: ONNX import from memory (onnx_import_buffer), then one forward
 * pass of any model it accepts. Seeds: tests/fuzz/corpus/fuzz_onnx/. */
#include <stdint.h>

#include "fuzz_util.h"
#include "onnx_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_model m;
    nn_error err;
    int rc = onnx_import_buffer(data, size, "fuzz.onnx", &m, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) fuzz_run_model(&m);
    model_free(&m);
    return 0;
}
