/* Fuzz harness: the IDX readers (idx.c) and the data set loader on top of them
 * (dataset_load with an "IMAGES,LABELS" pair). Input layout: byte 0 picks the
 * window (bits 0-1: start, bits 2-3: count), bytes 1-4 are the big-endian
 * length L of the image file, then L bytes of image file (raw or gzip) and the
 * rest is the label file. Seeds: tests/fuzz/corpus/fuzz_idx/. */
#include <stdint.h>

#include "dataset.h"
#include "fuzz_util.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    const size_t start = data[0] & 3, count = (data[0] >> 2) & 3;
    data++, size--;
    size_t len = fuzz_take_length(&data, &size);
    char images[600], labels[600], spec[1300];
    fuzz_write_file("images", data, len, images, sizeof images);
    fuzz_write_file("labels", data + len, size - len, labels, sizeof labels);
    snprintf(spec, sizeof spec, "%s,%s", images, labels);

    fuzz_load_dataset(spec, start, count);
    nn_error err;
    nn_dataset ds;
    int rc = dataset_load_labels(spec, start, count, &ds, &err);
    fuzz_check_refusal(rc, &err);
    dataset_free(&ds);

    /* Every rank the reader knows, on the image file, from the first window. */
    static const int ranks[] = {1, 3, 4, IDX_IMAGES};
    for (size_t k = 0; k < sizeof ranks / sizeof *ranks; k++) {
        idx_header hdr;
        unsigned char *bytes = NULL;
        size_t n_read = 0;
        rc = idx_read_u8(images, ranks[k], start, count, &hdr, &bytes, &n_read, &err);
        fuzz_check_refusal(rc, &err);
        if (rc == NN_OK && n_read && bytes[n_read * hdr.item_bytes - 1] == 0xA5) n_read = 0;  /* touch the last byte */
        free(bytes);
    }
    return 0;
}
