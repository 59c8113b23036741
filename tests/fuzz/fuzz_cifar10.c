/* Fuzz harness: the CIFAR-10 binary batch reader (cifar10.c) through the data
 * set loader ("cifar10:FILE"). Byte 0 picks the window (bits 0-1: start,
 * bits 2-3: count); the rest is the batch file. Images of an accepted window
 * lie in [0, 1] and its labels in 0..9. Seeds: tests/fuzz/corpus/fuzz_cifar10/. */
#include <stdint.h>

#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const size_t start = data[0] & 3, count = (data[0] >> 2) & 3;
    char path[600], spec[700];
    fuzz_write_file("batch.bin", data + 1, size - 1, path, sizeof path);
    snprintf(spec, sizeof spec, "cifar10:%s", path);
    fuzz_load_dataset(spec, start, count);
    return 0;
}
