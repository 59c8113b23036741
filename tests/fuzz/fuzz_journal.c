/* Fuzz harness: the results journal (journal.c) as the results store replays
 * it (cert_store_open: records, result rows, saved bounds, counterexamples and
 * certificates),
 * followed by the HDF5 file the store rebuilds from it. The job identity is
 * taken from the input's first record when it has one, so that real journals
 * seed rows past the identity check. Seeds: tests/fuzz/corpus/fuzz_journal/. */
#include <stdint.h>

#include "cert_store.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_hdf5_limits();
    char path[600], journal[600];
    fuzz_write_file("results.h5.journal", data, size, journal, sizeof journal);
    snprintf(path, sizeof path, "%s/results.h5", fuzz_tmp_dir());
    unlink(path);

    char key[4096] = "fuzz job";
    if (size >= 20 && memcmp(data, "NNCJRNL1", 8) == 0) {
        size_t len = (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 | (size_t)data[11] << 24;
        if (len < sizeof key && len <= size - 16) {
            memcpy(key, data + 16, len);
            key[len] = '\0';
        }
    }
    static const int layer[] = {1, 3};
    static const size_t layer_size[] = {20, 20};
    cert_store_options o = {.path = path, .job_key = key, .slots = 1, .n_layers = 2, .layer = layer,
                            .layer_size = layer_size, .attack = 1, .attack_in = 784, .attack_out = 10,
                            .cert_classes = 10, .cert_path_width = 60, .flush_seconds = 1e9, .ranks = 2};
    cert_store *s = NULL;
    nn_error err;
    int rc = cert_store_open(&s, &o, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) {
        rc = cert_store_close(s, 1, &err);
        fuzz_check_refusal(rc, &err);
    }
    return 0;
}
