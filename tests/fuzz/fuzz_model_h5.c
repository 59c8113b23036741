/* Fuzz harness: the native HDF5 model reader (model_read_h5). HDF5 opens files
 * by name, so each input is written to a scratch file on tmpfs first; a model
 * it accepts must run one forward pass. Seeds: tests/fuzz/corpus/fuzz_model_h5/. */
#include <stdint.h>

#include "fuzz_util.h"
#include "model_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_hdf5_limits();
    char path[600];
    fuzz_write_file("model.h5", data, size, path, sizeof path);
    nn_model m;
    nn_error err;
    int rc = model_read_h5(path, &m, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) fuzz_run_model(&m);
    model_free(&m);
    return 0;
}
