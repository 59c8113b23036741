/* OpenBLAS's kernel set (include/blas_core.h; doc/bounds.md "BLAS kernels").
 *
 * Debian 12's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH: it picks its kernels
 * by CPU model when it is loaded, and a model it does not know (measured: the
 * Xeon of the project's machine, with AVX-512 and AVX-512 FP16) gets Prescott's
 * SSE3 kernels, 3-4 times slower in double-precision GEMM than SkylakeX's. The
 * choice is made before main and cannot be changed afterwards, except through
 * OPENBLAS_CORETYPE at load time, so a fallback is mended by executing the
 * program once more with the variable set. The kernels change a GEMM's
 * rounding, never its error bound (the engine's budgets hold for any order of
 * summation and for fused multiply-adds), so a certificate stays sound with
 * either; the bits are those of the kernel set the results file names. */
#include "blas_core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);
char *openblas_get_config(void);

/* Kernel sets OpenBLAS falls back to, or that a newer CPU outruns. */
static int generic(const char *core)
{
    static const char *const names[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
                                        "Katmai", "Coppermine", "Northwood", "Banias", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(core, names[i])) return 1;
    return 0;
}

/* The best kernel set for this CPU and OS (libgcc checks the OS saves the
 * registers, XGETBV), or NULL when the fallback is as good as any. */
static const char *best_core(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void blas_core_select(char **argv)
{
    /* once per program: the marker survives the exec */
    if (getenv("OPENBLAS_CORETYPE") || getenv("NNCERT_BLAS_CORE_SELECTED")) return;
    const char *core = openblas_get_corename(), *config = openblas_get_config();
    const char *best = best_core();
    if (!core || !config || !strstr(config, "DYNAMIC_ARCH") || !generic(core) || !best) return;
    if (setenv("OPENBLAS_CORETYPE", best, 1) || setenv("NNCERT_BLAS_CORE_SELECTED", best, 1)) return;
    execv("/proc/self/exe", argv);
    /* no exec (no /proc): the fallback kernels, slower but correct */
    unsetenv("OPENBLAS_CORETYPE");
}

const char *blas_core_name(void)
{
    const char *core = openblas_get_corename();
    return core ? core : "unknown";
}
