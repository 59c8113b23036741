/* Fuzz harness: HDF5 results files as the readers of outside results see
 * them: `nncert report` (report_add_file, report_compute), a results store resuming a file
 * that has no journal (cert_store_open reads the rows back) and the
 * certificates table that certify --reverify reads (h5_table_read_in). Each input is
 * written to a scratch file first (HDF5 opens files by name).
 * Seeds: tests/fuzz/corpus/fuzz_results_h5/. */
#include <stdint.h>

#include "cert_store.h"
#include "fuzz_util.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_hdf5_limits();
    char path[600], journal[700];
    fuzz_write_file("results.h5", data, size, path, sizeof path);
    snprintf(journal, sizeof journal, "%s.journal", path);
    unlink(journal);

    nn_error err;
    report r;
    report_init(&r);
    int rc = report_add_file(&r, path, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) {
        rc = report_compute(&r, NULL, 0, &err);
        fuzz_check_refusal(rc, &err);
    }
    report_free(&r);

    /* The store's identity check needs the file's own job_key; any other key is
     * refused before the rows are read, which the same call also covers. */
    char *key = NULL;
    const char *name = "job_key";
    if (h5_read_attrs(path, &name, 1, &key, &err)) key = NULL;
    cert_store_options o = {.path = path, .job_key = key ? key : "fuzz job", .slots = 1, .flush_seconds = 1e9,
                            .ranks = 1};
    cert_store *s = NULL;
    rc = cert_store_open(&s, &o, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) {
        rc = cert_store_close(s, 1, &err);
        fuzz_check_refusal(rc, &err);
    }
    free(key);

    /* certify --reverify's reader of /certificates (cert_check.c), vector
     * columns included, at the widths of a 10-class bisect job */
    const h5_column cols[] = {{"index", H5COL_INT, 1},      {"eps", H5COL_DOUBLE, 1},
                              {"image_hash", H5COL_INT, 1}, {"path", H5COL_DOUBLE, 60},
                              {"lower", H5COL_DOUBLE, 10}};
    void *cd[5];
    size_t n;
    rc = h5_table_read_in(path, "certificates", cols, 5, cd, &n, &err);
    fuzz_check_refusal(rc, &err);
    for (int c = 0; rc == NN_OK && c < 5; c++) free(cd[c]);
    return 0;
}
