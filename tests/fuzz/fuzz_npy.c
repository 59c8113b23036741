/* Fuzz harness: the NumPy .npy reader (npy.c) and the data set loader on top
 * of it ("npy:IMAGES,labels=LABELS"). Input layout: byte 0 picks the window
 * (bits 0-1: start, bits 2-3: count) and the layout (bit 4: nhwc), bytes 1-4
 * are the big-endian length L of the images file, then L bytes of it, and the
 * rest is the labels file. An accepted header's window of values must read;
 * images of an accepted data set lie in [0, 1]. Seeds: tests/fuzz/corpus/fuzz_npy/. */
#include <math.h>
#include <stdint.h>

#include "dataset.h"
#include "fuzz_util.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    const size_t start = data[0] & 3, count = (data[0] >> 2) & 3;
    const int nhwc = (data[0] >> 4) & 1;
    data++, size--;
    size_t len = fuzz_take_length(&data, &size);
    char images[600], labels[600], spec[1400];
    fuzz_write_file("images.npy", data, len, images, sizeof images);
    fuzz_write_file("labels.npy", data + len, size - len, labels, sizeof labels);

    nn_error err;
    npy_header h;
    int rc = npy_read_header(images, &h, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK && h.count) {
        size_t n = h.count < 64 ? h.count : 64, first = h.count - n;
        double v[64];
        rc = npy_read_values(images, &h, first, n, v, &err);
        fuzz_check_refusal(rc, &err);
    }

    snprintf(spec, sizeof spec, "npy:%s,labels=%s%s", images, labels, nhwc ? ",layout=nhwc" : "");
    fuzz_load_dataset(spec, start, count);
    return 0;
}
