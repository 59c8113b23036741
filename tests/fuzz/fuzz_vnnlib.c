/* Fuzz harness: the VNN-LIB reader (vnnlib.c). The input is parsed as text by
 * vnnlib_parse and, when it starts with gzip's magic, read from a file by
 * vnnlib_read (which inflates it). A property it accepts must be well formed:
 * finite boxes with lo <= hi (the inner box inside the outer one), finite
 * constraint rows, and every disjunct naming a box and a conjunction that exist.
 * Seeds: tests/fuzz/corpus/fuzz_vnnlib/. */
#include <math.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "vnnlib.h"

static void check_spec(const prop_spec *p)
{
    for (size_t k = 0; k < p->n_boxes * p->n_x; k++) {
        if (!(isfinite(p->lo[k]) && isfinite(p->hi[k]) && p->lo[k] <= p->hi[k])) abort();
        if (p->lo_in && p->lo_in[k] <= p->hi_in[k] && !(p->lo_in[k] >= p->lo[k] && p->hi_in[k] <= p->hi[k])) abort();
    }
    for (size_t k = 0; k < p->n_rows * p->n_y; k++)
        if (!isfinite(p->row[k])) abort();
    if (p->n_conj && p->conj_start[p->n_conj] != p->n_rows) abort();
    for (size_t c = 0; c < p->n_cases; c++)
        if (p->case_box[c] >= p->n_boxes || p->case_conj[c] >= p->n_conj) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vnnlib_limits lim;
    vnnlib_limits_default(&lim);
    /* small enough that a normal form blown up by nested ors stays fast */
    lim.max_cases = 4096;
    lim.max_refs = 65536;
    prop_spec p;
    nn_error err;
    int rc = vnnlib_parse((const char *)data, size, "fuzz.vnnlib", &lim, &p, &err);
    fuzz_check_refusal(rc, &err);
    if (rc == NN_OK) check_spec(&p);
    prop_spec_free(&p);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        char path[600];
        fuzz_write_file("prop.vnnlib.gz", data, size, path, sizeof path);
        rc = vnnlib_read(path, &lim, &p, &err);
        fuzz_check_refusal(rc, &err);
        if (rc == NN_OK) check_spec(&p);
        prop_spec_free(&p);
    }
    return 0;
}
