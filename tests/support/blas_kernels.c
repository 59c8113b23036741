/* Linked into every test program: the BLAS kernels nncert itself runs
 * (blas_core_select, doc/bounds.md "BLAS kernels"), chosen before main, so the
 * rounding and soundness tests check the GEMMs the command line uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_core.h"

__attribute__((constructor)) static void test_blas_kernels(void)
{
    /* the program's own arguments for the exec, from /proc (none: no exec) */
    static char buf[8192];
    char *argv[64];
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n == 0 || n == sizeof buf - 1) return;
    buf[n] = '\0';
    int argc = 0;
    for (size_t i = 0; i < n && argc < 63; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
    argv[argc] = NULL;
    blas_core_select(argv);
}
