/* testutil: helpers shared by the cmocka unit tests (header-only).
 * Deterministic random numbers, temporary paths and the repository root, so a
 * test can find models/ and data whatever directory it is started from. */
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
