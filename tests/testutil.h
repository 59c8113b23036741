/* testutil: helpers shared by the cmocka unit tests (header-only).
 * Deterministic random numbers, temporary paths and the repository root, so a
 * test can find models/ and data whatever directory it is started from; random
 * parameter vectors and layer appends for tests that build models. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "blas_threads.h"
#include "model.h"

/* The sanitizer build (make SAN=1) runs a few of the heaviest tests at a
 * reduced size: there the point is memory and undefined-behaviour errors on every
 * code path, which a subset of the same seeded cases reaches, at 3-10x the cost
 * per operation; the normal build runs them whole. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_SANITIZER 1
#else
#define TEST_UNDER_SANITIZER 0
#endif

/* One BLAS thread, as nncert runs by default, whatever OPENBLAS_NUM_THREADS
 * says: tests whose bits depend on it set it themselves (a thread count splits
 * a GEMM by its shape, and rows are block-free only single-threaded). */
static inline int test_blas_one_thread(void)
{
    nn_error err;
    if (!blas_threads_set(1, &err)) return 0;
    fprintf(stderr, "%s\n", err.msg);
    return 1;
}

/* splitmix64: a small, seedable generator so every test run sees the same numbers. */
typedef struct { uint64_t state; } test_rng;

static inline uint64_t test_rng_next(test_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double test_rng_uniform(test_rng *r) { return (double)(test_rng_next(r) >> 11) * 0x1.0p-53; }

static inline double test_rng_range(test_rng *r, double lo, double hi) { return lo + (hi - lo) * test_rng_uniform(r); }

/* n values uniform in [lo, hi) (malloc'd, at least one element; caller frees or
 * hands it to a layer). */
static inline double *test_rand_vec(test_rng *r, size_t n, double lo, double hi)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) v[i] = test_rng_range(r, lo, hi);
    return v;
}

/* Appends layer l to m (which takes over its arrays); fails the test if refused. */
static inline void test_add_layer(nn_model *m, nn_layer l)
{
    nn_error err;
    assert_int_equal(model_append(m, &l, &err), NN_OK);
}

/* Path of a file relative to the repository root (tests run from it or from build/tests). */
static inline const char *test_path(const char *relative)
{
    static char buf[4096];
    const char *prefixes[] = {"", "../", "../../", "../../../"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", prefixes[i], relative);
        if (access(buf, F_OK) == 0) return buf;
    }
    snprintf(buf, sizeof buf, "%s", relative);
    return buf;
}

/* A fresh temporary file name under /tmp (the file is not created). */
static inline const char *test_tmpname(const char *suffix)
{
    static char buf[256];
    static int counter;
    snprintf(buf, sizeof buf, "/tmp/nncert-test-%d-%d%s", (int)getpid(), counter++, suffix);
    return buf;
}

#endif
