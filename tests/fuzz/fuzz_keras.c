/* Fuzz harness: the Keras 2 HDF5 importer (keras_import.c: HDF5 layout, the
 * architecture JSON through cJSON, layer conversion to C,H,W). Input layout:
 * bytes 0-3 are the big-endian length L of the HDF5 file, then L bytes of it,
 * and the rest, when there is any, is an architecture JSON file given as
 * --keras-config gives it (a weights-only file). A model it accepts must run
 * one forward pass. Seeds: tests/fuzz/corpus/fuzz_keras/. */
#include <stdint.h>

#include "fuzz_util.h"
#include "keras_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    fuzz_hdf5_limits();
    size_t len = fuzz_take_length(&data, &size);
    char path[600], arch[600];
    fuzz_write_file("model.h5", data, len, path, sizeof path);
    int with_arch = size > len;
    if (with_arch) fuzz_write_file("arch.json", data + len, size - len, arch, sizeof arch);
    (void)keras_file_detect(path);
    nn_model m;
    nn_error err;
    int rc = keras_import_file(path, with_arch ? arch : NULL, &m, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) fuzz_run_model(&m);
    model_free(&m);
    return 0;
}
