/* Fuzz harness: INI job files (job_config.c, inih) under the certify schema,
 * then the checks of cert_job_resolve. A job that loads must survive the round
 * trip job_text -> job_load_text unchanged (the results identity relies on it).
 * Seeds: tests/fuzz/corpus/fuzz_job/. */
#include <stdint.h>

#include "cert_job.h"
#include "fuzz_util.h"
#include "job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    const job_key *keys;
    int n_keys = cert_job_schema(&keys);
    job j, back;
    nn_error err;
    if (job_init(&j, keys, n_keys, &err) || job_init(&back, keys, n_keys, &err)) abort();
    int rc = job_load_text(&j, text, "fuzz.ini", &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) {
        cert_job c;
        rc = cert_job_resolve(&j, &c, &err);
        fuzz_check_refusal(rc, &err);
        cert_job_free(&c);
        char *canon = job_text(&j, 0);
        if (!canon) abort();
        rc = job_load_text(&back, canon, "canonical text", &err);
        char *again = rc ? NULL : job_text(&back, 0);
        if (rc || !again || strcmp(canon, again)) {
            fprintf(stderr, "job text does not round-trip: %s\n--- text:\n%s\n--- back:\n%s\n", rc ? err.msg : "",
                    canon, again ? again : "(none)");
            abort();
        }
        free(canon);
        free(again);
    }
    job_free(&back);
    job_free(&j);
    free(text);
    return 0;
}
